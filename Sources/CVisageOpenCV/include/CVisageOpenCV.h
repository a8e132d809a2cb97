// C interface to the parts of OpenCV 4 that Visage uses. Every function catches every
// C++ exception (cv::Exception included) and reports it through `vcv_error`; nothing
// throws across this boundary. Pixel memory is described by `vcv_view` (borrowed) or
// owned by an opaque `vcv_image` (a cv::Mat), which Swift frees with vcv_image_release.
#ifndef CVISAGE_OPENCV_H
#define CVISAGE_OPENCV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Error report. code == 0: success. Otherwise message holds one human-readable line.
typedef struct vcv_error {
    int32_t code;
    char message[512];
} vcv_error;

enum {
    VCV_OK = 0,
    VCV_ERR_OPENCV = 1,      ///< cv::Exception
    VCV_ERR_DECODE = 2,      ///< data is not a decodable image
    VCV_ERR_IO = 3,          ///< cannot open/read/write
    VCV_ERR_ARGUMENT = 4,    ///< invalid argument (sizes, types)
    VCV_ERR_UNKNOWN = 5,     ///< any other exception
};

/// Element depth, numerically equal to OpenCV's CV_8U / CV_32F.
enum { VCV_DEPTH_U8 = 0, VCV_DEPTH_F32 = 5 };

/// Borrowed pixel memory: rows of `stride` bytes, `channels` interleaved elements of `depth`.
typedef struct vcv_view {
    void *data;
    int32_t width;
    int32_t height;
    int32_t channels;
    int32_t depth;
    size_t stride;
} vcv_view;

typedef struct vcv_image vcv_image;   ///< owns a cv::Mat
typedef struct vcv_video vcv_video;   ///< owns a cv::VideoCapture

/// Decode modes for vcv_decode_*.
enum { VCV_DECODE_COLOR = 0, VCV_DECODE_GRAY = 1, VCV_DECODE_UNCHANGED = 2 };

const char *vcv_opencv_version(void);
int32_t vcv_num_threads(void);
void vcv_set_num_threads(int32_t n);

// Owned images -------------------------------------------------------------------------
vcv_image *vcv_image_create(int32_t width, int32_t height, int32_t channels, int32_t depth, vcv_error *err);
void vcv_image_view(const vcv_image *image, vcv_view *out);
void vcv_image_release(vcv_image *image);

// Codecs ---------------------------------------------------------------------------------
vcv_image *vcv_decode_file(const char *path, int32_t mode, vcv_error *err);
vcv_image *vcv_decode_memory(const uint8_t *bytes, size_t length, int32_t mode, vcv_error *err);
/// Encodes by extension (".png", ".jpg", ...). `quality`: JPEG/WebP quality 0-100, or -1 for the default.
int32_t vcv_encode_file(const char *path, const vcv_view *image, int32_t quality, vcv_error *err);
/// Encodes to memory; on success *out is malloc'd and must be freed with vcv_free.
int32_t vcv_encode_memory(const char *extension, const vcv_view *image, int32_t quality,
                          uint8_t **out, size_t *length, vcv_error *err);
void vcv_free(void *pointer);

// Image processing (dst is preallocated by the caller, except where noted) ---------------
int32_t vcv_resize(const vcv_view *src, vcv_view *dst, int32_t interpolation, vcv_error *err);
/// `code` is an OpenCV cv::ColorConversionCodes value; dst must have the resulting channel count.
int32_t vcv_cvt_color(const vcv_view *src, vcv_view *dst, int32_t code, vcv_error *err);
/// m: 2x3 row-major forward matrix (src -> dst). flags: interpolation | WARP_INVERSE_MAP.
int32_t vcv_warp_affine(const vcv_view *src, vcv_view *dst, const double m[6], int32_t flags,
                        int32_t border_mode, const double border_value[4], vcv_error *err);
int32_t vcv_invert_affine(const double m[6], double out[6], vcv_error *err);
int32_t vcv_gaussian_blur(const vcv_view *src, vcv_view *dst, int32_t kernel_w, int32_t kernel_h,
                          double sigma_x, double sigma_y, vcv_error *err);
int32_t vcv_erode(const vcv_view *src, vcv_view *dst, int32_t kernel_w, int32_t kernel_h,
                  int32_t iterations, vcv_error *err);
/// Poisson blending of `src` into `dst` around center (cx, cy); `out` has dst's size. flags: cv::NORMAL_CLONE=1, MIXED_CLONE=2.
int32_t vcv_seamless_clone(const vcv_view *src, const vcv_view *dst, const vcv_view *mask,
                           int32_t cx, int32_t cy, vcv_view *out, int32_t flags, vcv_error *err);
/// Similarity (4-DoF) fit from n point pairs (x,y interleaved). method: 8 = RANSAC, 4 = LMEDS.
int32_t vcv_estimate_affine_partial_2d(const float *from, const float *to, int32_t n, int32_t method,
                                       double out[6], vcv_error *err);

/// Camera pose from n 3D-2D correspondences (solvePnP, iterative). camera = {fx, fy, cx, cy}, no distortion.
/// rvec/tvec are in/out: with use_guess != 0 their values start the iteration.
int32_t vcv_solve_pnp(const float *object_points, const float *image_points, int32_t n, const double camera[4],
                      int32_t use_guess, double rvec[3], double tvec[3], vcv_error *err);
/// Rotation vector -> 3x3 row-major rotation matrix.
int32_t vcv_rodrigues(const double rvec[3], double matrix[9], vcv_error *err);

// Video ------------------------------------------------------------------------------------
vcv_video *vcv_video_open(const char *path, vcv_error *err);
/// Opens camera `index`; width/height/fps <= 0 leave the driver's choice; mjpg != 0 asks for MJPG.
vcv_video *vcv_camera_open(int32_t index, int32_t width, int32_t height, double fps, int32_t mjpg, vcv_error *err);
void vcv_video_info(vcv_video *video, double *fps, int32_t *width, int32_t *height, int64_t *frame_count);
/// Next frame as BGR; returns NULL with err->code == 0 at the end of the stream.
vcv_image *vcv_video_read(vcv_video *video, vcv_error *err);
void vcv_video_release(vcv_video *video);

// Drawing (in place, for debug output) -----------------------------------------------------
void vcv_draw_rect(vcv_view *image, int32_t x, int32_t y, int32_t w, int32_t h, const double color[4], int32_t thickness);
void vcv_draw_circle(vcv_view *image, int32_t cx, int32_t cy, int32_t radius, const double color[4], int32_t thickness);
void vcv_draw_line(vcv_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1, const double color[4], int32_t thickness);
void vcv_draw_text(vcv_view *image, const char *text, int32_t x, int32_t y, double scale, const double color[4], int32_t thickness);

// Remapping (piecewise affine warps)
/// cv::remap with two CV_32FC1 maps (x and y, the size of dst): dst(y, x) = src(map_y(y, x), map_x(y, x)).
int32_t vcv_remap(const vcv_view *src, vcv_view *dst, const vcv_view *map_x, const vcv_view *map_y,
                  int32_t interpolation, int32_t border_mode, const double border_value[4], vcv_error *err);

// Capture into caller-owned buffers
/// Reads the next frame into the caller's BGR buffer (no allocation when the stream's frames have
/// the buffer's size). Returns 1 when a frame was read, 0 at the end of the stream (err->code == 0).
int32_t vcv_video_read_into(vcv_video *video, vcv_view *dst, vcv_error *err);
/// The capture's pixel format as a FOURCC code (0 when the backend does not say).
int32_t vcv_video_fourcc(vcv_video *video);
/// The rotation the file's metadata asks for, as the capture reads it (CAP_PROP_ORIENTATION_META;
/// 0 when none). Its sign differs between OpenCV versions; we only ask whether it is non-zero.
int32_t vcv_video_orientation(vcv_video *video);

// Face paste-back helpers
/// The pixels that cv::warpAffine(src, full, m, full_size, flags, border) would write at
/// [origin_x, origin_x + dst.width) x [origin_y, origin_y + dst.height) of a full-size destination, computed for
/// that rectangle only (same fixed-point coordinates, same remap). Bilinear only. m: 2x3 forward matrix
/// (src -> full dst) unless flags has WARP_INVERSE_MAP (16).
int32_t vcv_warp_affine_region(const vcv_view *src, vcv_view *dst, const double m[6], int32_t flags,
                               int32_t border_mode, const double border_value[4], int32_t origin_x, int32_t origin_y,
                               vcv_error *err);
/// cv::addWeighted(src1, alpha, src2, beta, gamma, dst) with dst preallocated (same size and type).
int32_t vcv_add_weighted(const vcv_view *src1, double alpha, const vcv_view *src2, double beta, double gamma,
                         vcv_view *dst, vcv_error *err);
/// estimateAffinePartial2D with an explicit reprojection threshold (RANSAC's inlier distance; FaceFusion uses 100).
int32_t vcv_estimate_affine_partial_2d_threshold(const float *from, const float *to, int32_t n, int32_t method,
                                                 double threshold, double out[6], vcv_error *err);

#ifdef __cplusplus
}
#endif
#endif
