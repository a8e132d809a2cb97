// VisageLive: the real-time pipeline behind `visage live` — capture → detect/track → swap and/or AUs →
// preview, MJPEG stream, virtual camera, recording — with bounded queues and an adaptive controller.
// docs/LIVE.md describes the stages, the modes and the controller.
