// Live page: the browser's camera → WebSocket → the server's live pipeline → processed frames drawn on
// a canvas, with the pipeline's stats (fps, latency, drops, the adaptive controller's settings).
import { api, upload, withToken, showError, token } from './api.js';

const $ = (id) => document.getElementById(id);
const live = { socket: null, stream: null, timer: null, sourceId: null, received: [], entered: false, busy: false };

function setRunning(running) {
  $('live-start').disabled = running;
  $('live-stop').disabled = !running;
}

function stats(message) {
  const s = message.stats || {};
  if (s.fps !== undefined) $('live-fps').textContent = s.fps.toFixed(1);
  if (s.latency_ms !== undefined) $('live-latency').textContent = `${Math.round(s.latency_ms)} ms`;
  if (s.dropped !== undefined) $('live-dropped').textContent = String(s.dropped);
  const decisions = [];
  if (s.scale !== undefined) decisions.push(`scale ${s.scale}`);
  if (s.detect_every !== undefined) decisions.push(`detect every ${s.detect_every}`);
  if (s.detector_side !== undefined) decisions.push(`detector ${s.detector_side} px`);
  if (s.decisions !== undefined) decisions.push(`${s.decisions} change(s)`);
  if (decisions.length) $('live-decisions').textContent = decisions.join(', ');
}

async function draw(blob) {
  const bitmap = await createImageBitmap(blob);
  const canvas = $('live-output');
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  const now = performance.now();
  live.received.push(now);
  while (live.received.length && live.received[0] < now - 2000) live.received.shift();
  const count = Number($('live-received').textContent) + 1;
  $('live-received').textContent = String(count);
  canvas.dataset.frames = String(count);
  canvas.dataset.fps = (live.received.length / 2).toFixed(1);
}

/** Sends the camera's current picture as a JPEG when the socket has room (the server drops the oldest). */
function sendFrame(video, scratch) {
  const socket = live.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || live.busy || socket.bufferedAmount > 0 || !video.videoWidth) return;
  live.busy = true;
  scratch.width = video.videoWidth; scratch.height = video.videoHeight;
  scratch.getContext('2d').drawImage(video, 0, 0);
  scratch.toBlob((blob) => {
    live.busy = false;
    if (blob && live.socket === socket && socket.readyState === WebSocket.OPEN) socket.send(blob);
  }, 'image/jpeg', 0.85);
}

async function start() {
  const error = $('live-error');
  showError(error, null);
  setRunning(true);
  try {
    if ($('live-swap').checked && !live.sourceId) {
      const file = $('live-source').files[0];
      if (!file) throw new Error('choose a source face photo first (or turn swap off)');
      live.sourceId = (await upload(file, 'image')).id;
    }
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    const video = $('live-camera');
    video.srcObject = live.stream;
    await video.play();
    const query = new URLSearchParams();
    if ($('live-swap').checked) query.set('swap-face', live.sourceId);
    if ($('live-many').checked) query.set('many-faces', 'true');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(withToken(`${scheme}//${location.host}/v1/live/socket?${query}`));
    socket.binaryType = 'blob';
    live.socket = socket;
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') { draw(event.data).catch(() => {}); return; }
      const message = JSON.parse(event.data);
      if (message.type === 'stats') stats(message);
      else if (message.type === 'session') {
        const tokenNote = token() ? ' (this server needs a token: add ?access_token=YOUR_TOKEN to the URL)' : '';
        $('live-mjpeg').textContent = `For OBS: add a Media Source (or Browser Source) with the URL ${location.origin}${message.mjpeg}${tokenNote}` +
          ' — it shows the same processed frames while this session runs.';
      } else if (message.type === 'error') showError(error, new Error(message.message));
      else if (message.type === 'ended') stop();
    };
    socket.onclose = (event) => {
      if (live.socket === socket && event.code !== 1000 && event.code !== 1005) {
        showError(error, new Error(`the live session closed (${event.reason || `code ${event.code}`}); check the server's log, then start again`));
      }
      if (live.socket === socket) stop();
    };
    const scratch = document.createElement('canvas');
    live.timer = setInterval(() => sendFrame(video, scratch), 1000 / 30);
  } catch (e) {
    showError(error, e.name === 'NotAllowedError' ? new Error('the browser was not allowed to use the camera') : e);
    stop();
  }
}

function stop() {
  clearInterval(live.timer); live.timer = null;
  const socket = live.socket; live.socket = null;
  if (socket && socket.readyState === WebSocket.OPEN) {
    try { socket.send(JSON.stringify({ type: 'end' })); } catch { /* closing anyway */ }
    socket.close(1000, 'stopped');
  }
  if (live.stream) { live.stream.getTracks().forEach((t) => t.stop()); live.stream = null; }
  $('live-camera').srcObject = null;
  setRunning(false);
}

export function enter() {
  if (live.entered) return;
  live.entered = true;
  $('live-start').addEventListener('click', start);
  $('live-stop').addEventListener('click', stop);
  $('live-source').addEventListener('change', () => { live.sourceId = null; });
  api('/v1/settings').then((s) => { $('live-mode').value = s.mode; }).catch(() => {});
  $('live-mode').addEventListener('change', async (e) => {
    showError($('live-error'), null);
    try { await api('/v1/settings', { method: 'PUT', json: { mode: e.target.value } }); } catch (err) { showError($('live-error'), err); }
  });
}

/** Leaving the page ends the session and frees the camera. */
export function leave() { stop(); }
