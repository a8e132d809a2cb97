// Implements CVisageOpenCV.h. The pattern is the same everywhere: wrap borrowed memory in a
// cv::Mat header (no copy), call OpenCV inside `guarded`, which turns any exception into a
// vcv_error so that Swift sees a thrown error instead of a terminated process.
#include "CVisageOpenCV.h"

#include <opencv2/core.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct vcv_image { cv::Mat mat; };
struct vcv_video { cv::VideoCapture capture; };

namespace {

void set_error(vcv_error *err, int32_t code, const std::string &message) {
    if (!err) return;
    err->code = code;
    std::strncpy(err->message, message.c_str(), sizeof(err->message) - 1);
    err->message[sizeof(err->message) - 1] = '\0';
}

void clear_error(vcv_error *err) {
    if (!err) return;
    err->code = VCV_OK;
    err->message[0] = '\0';
}

template <typename F>
int32_t guarded(vcv_error *err, F &&body) {
    clear_error(err);
    try {
        body();
        return err ? err->code : VCV_OK;
    } catch (const cv::Exception &e) {
        // e.what() carries file/line noise; the error text and function are what a user can act on.
        set_error(err, VCV_ERR_OPENCV, "OpenCV " + e.func + ": " + e.err);
    } catch (const std::bad_alloc &) {
        set_error(err, VCV_ERR_OPENCV, "out of memory");
    } catch (const std::exception &e) {
        set_error(err, VCV_ERR_UNKNOWN, e.what());
    } catch (...) {
        set_error(err, VCV_ERR_UNKNOWN, "unknown C++ exception");
    }
    return err ? err->code : VCV_ERR_UNKNOWN;
}

cv::Mat wrap(const vcv_view *v) {
    if (!v || !v->data || v->width <= 0 || v->height <= 0 || v->channels <= 0 || v->channels > 4)
        throw std::invalid_argument("invalid image view");
    int type = CV_MAKETYPE(v->depth, v->channels);
    return cv::Mat(v->height, v->width, type, v->data, v->stride);
}

cv::Scalar scalar(const double c[4]) { return c ? cv::Scalar(c[0], c[1], c[2], c[3]) : cv::Scalar(); }

/// The output must be written where the caller's buffer is: fail instead of letting OpenCV reallocate.
void require_same_buffer(const cv::Mat &dst, const void *data) {
    if (dst.data != data) throw std::invalid_argument("destination size or type does not match the operation's result");
}

vcv_image *take(cv::Mat &&mat) {
    auto *image = new vcv_image();
    image->mat = std::move(mat);
    return image;
}

}  // namespace

extern "C" {

const char *vcv_opencv_version(void) { return CV_VERSION; }
int32_t vcv_num_threads(void) { return cv::getNumThreads(); }
void vcv_set_num_threads(int32_t n) { cv::setNumThreads(n); }

vcv_image *vcv_image_create(int32_t width, int32_t height, int32_t channels, int32_t depth, vcv_error *err) {
    vcv_image *result = nullptr;
    guarded(err, [&] {
        if (width <= 0 || height <= 0 || channels < 1 || channels > 4) throw std::invalid_argument("invalid image size");
        cv::Mat m(height, width, CV_MAKETYPE(depth, channels));
        result = take(std::move(m));
    });
    return result;
}

void vcv_image_view(const vcv_image *image, vcv_view *out) {
    const cv::Mat &m = image->mat;
    out->data = m.data;
    out->width = m.cols;
    out->height = m.rows;
    out->channels = m.channels();
    out->depth = m.depth();
    out->stride = m.step[0];
}

void vcv_image_release(vcv_image *image) { delete image; }

static int decode_flags(int32_t mode) {
    switch (mode) {
        case VCV_DECODE_GRAY: return cv::IMREAD_GRAYSCALE;
        case VCV_DECODE_UNCHANGED: return cv::IMREAD_UNCHANGED;
        default: return cv::IMREAD_COLOR;
    }
}

vcv_image *vcv_decode_file(const char *path, int32_t mode, vcv_error *err) {
    vcv_image *result = nullptr;
    guarded(err, [&] {
        cv::Mat m = cv::imread(path, decode_flags(mode));
        if (m.empty()) { set_error(err, VCV_ERR_DECODE, "not a readable image (unknown format or corrupt data)"); return; }
        if (m.depth() != CV_8U) m.convertTo(m, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
        result = take(std::move(m));
    });
    return result;
}

vcv_image *vcv_decode_memory(const uint8_t *bytes, size_t length, int32_t mode, vcv_error *err) {
    vcv_image *result = nullptr;
    guarded(err, [&] {
        if (!bytes || length == 0) { set_error(err, VCV_ERR_DECODE, "empty image data"); return; }
        cv::Mat buffer(1, static_cast<int>(length), CV_8U, const_cast<uint8_t *>(bytes));
        cv::Mat m = cv::imdecode(buffer, decode_flags(mode));
        if (m.empty()) { set_error(err, VCV_ERR_DECODE, "not a readable image (unknown format or corrupt data)"); return; }
        if (m.depth() != CV_8U) m.convertTo(m, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
        result = take(std::move(m));
    });
    return result;
}

static std::vector<int> encode_params(const std::string &ext, int32_t quality) {
    std::vector<int> params;
    if (quality < 0) return params;
    std::string e = ext;
    for (auto &c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (e == ".jpg" || e == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, quality};
    else if (e == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, quality};
    return params;
}

int32_t vcv_encode_file(const char *path, const vcv_view *image, int32_t quality, vcv_error *err) {
    return guarded(err, [&] {
        std::string p(path);
        auto dot = p.find_last_of('.');
        std::string ext = dot == std::string::npos ? "" : p.substr(dot);
        if (!cv::imwrite(p, wrap(image), encode_params(ext, quality)))
            set_error(err, VCV_ERR_IO, "could not write image '" + p + "'");
    });
}

int32_t vcv_encode_memory(const char *extension, const vcv_view *image, int32_t quality,
                          uint8_t **out, size_t *length, vcv_error *err) {
    *out = nullptr;
    *length = 0;
    return guarded(err, [&] {
        std::vector<uchar> buffer;
        if (!cv::imencode(extension, wrap(image), buffer, encode_params(extension, quality))) {
            set_error(err, VCV_ERR_IO, std::string("could not encode image as ") + extension);
            return;
        }
        *out = static_cast<uint8_t *>(std::malloc(buffer.size()));
        if (!*out) throw std::bad_alloc();
        std::memcpy(*out, buffer.data(), buffer.size());
        *length = buffer.size();
    });
}

void vcv_free(void *pointer) { std::free(pointer); }

int32_t vcv_resize(const vcv_view *src, vcv_view *dst, int32_t interpolation, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::resize(wrap(src), d, d.size(), 0, 0, interpolation);
        require_same_buffer(d, dst->data);
    });
}

int32_t vcv_cvt_color(const vcv_view *src, vcv_view *dst, int32_t code, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::cvtColor(wrap(src), d, code);
        require_same_buffer(d, dst->data);
    });
}

int32_t vcv_warp_affine(const vcv_view *src, vcv_view *dst, const double m[6], int32_t flags,
                        int32_t border_mode, const double border_value[4], vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::Mat matrix(2, 3, CV_64F, const_cast<double *>(m));
        cv::warpAffine(wrap(src), d, matrix, d.size(), flags, border_mode, scalar(border_value));
        require_same_buffer(d, dst->data);
    });
}

int32_t vcv_invert_affine(const double m[6], double out[6], vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat matrix(2, 3, CV_64F, const_cast<double *>(m));
        cv::Mat inverse(2, 3, CV_64F, out);
        cv::invertAffineTransform(matrix, inverse);
        require_same_buffer(inverse, out);
    });
}

int32_t vcv_gaussian_blur(const vcv_view *src, vcv_view *dst, int32_t kernel_w, int32_t kernel_h,
                          double sigma_x, double sigma_y, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::GaussianBlur(wrap(src), d, cv::Size(kernel_w, kernel_h), sigma_x, sigma_y);
        require_same_buffer(d, dst->data);
    });
}

int32_t vcv_erode(const vcv_view *src, vcv_view *dst, int32_t kernel_w, int32_t kernel_h,
                  int32_t iterations, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::Mat kernel = cv::Mat::ones(kernel_h, kernel_w, CV_8U);
        cv::erode(wrap(src), d, kernel, cv::Point(-1, -1), iterations);
        require_same_buffer(d, dst->data);
    });
}

int32_t vcv_seamless_clone(const vcv_view *src, const vcv_view *dst, const vcv_view *mask,
                           int32_t cx, int32_t cy, vcv_view *out, int32_t flags, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat o = wrap(out);
        cv::seamlessClone(wrap(src), wrap(dst), wrap(mask), cv::Point(cx, cy), o, flags);
        require_same_buffer(o, out->data);
    });
}

int32_t vcv_estimate_affine_partial_2d(const float *from, const float *to, int32_t n, int32_t method,
                                       double out[6], vcv_error *err) {
    return guarded(err, [&] {
        if (n < 2) throw std::invalid_argument("need at least 2 point pairs");
        std::vector<cv::Point2f> a(n), b(n);
        for (int i = 0; i < n; ++i) {
            a[i] = cv::Point2f(from[2 * i], from[2 * i + 1]);
            b[i] = cv::Point2f(to[2 * i], to[2 * i + 1]);
        }
        cv::Mat m = cv::estimateAffinePartial2D(a, b, cv::noArray(), method);
        if (m.empty()) { set_error(err, VCV_ERR_ARGUMENT, "no similarity transform fits these points"); return; }
        for (int i = 0; i < 6; ++i) out[i] = m.at<double>(i / 3, i % 3);
    });
}

int32_t vcv_solve_pnp(const float *object_points, const float *image_points, int32_t n, const double camera[4],
                      int32_t use_guess, double rvec[3], double tvec[3], vcv_error *err) {
    return guarded(err, [&] {
        if (n < 4) throw std::invalid_argument("solvePnP needs at least 4 points");
        std::vector<cv::Point3f> object(n);
        std::vector<cv::Point2f> image(n);
        for (int i = 0; i < n; ++i) {
            object[i] = cv::Point3f(object_points[3 * i], object_points[3 * i + 1], object_points[3 * i + 2]);
            image[i] = cv::Point2f(image_points[2 * i], image_points[2 * i + 1]);
        }
        cv::Matx33d k(camera[0], 0, camera[2], 0, camera[1], camera[3], 0, 0, 1);
        cv::Mat r(3, 1, CV_64F, rvec), t(3, 1, CV_64F, tvec);
        if (!cv::solvePnP(object, image, k, cv::noArray(), r, t, use_guess != 0, cv::SOLVEPNP_ITERATIVE))
            set_error(err, VCV_ERR_ARGUMENT, "solvePnP found no pose");
        require_same_buffer(r, rvec);
        require_same_buffer(t, tvec);
    });
}

int32_t vcv_rodrigues(const double rvec[3], double matrix[9], vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat r(3, 1, CV_64F, const_cast<double *>(rvec)), m(3, 3, CV_64F, matrix);
        cv::Rodrigues(r, m);
        require_same_buffer(m, matrix);
    });
}

vcv_video *vcv_video_open(const char *path, vcv_error *err) {
    vcv_video *result = nullptr;
    guarded(err, [&] {
        auto *video = new vcv_video();
        // FFmpeg first: it reads every container we care about (and image sequences), while
        // other backends (GStreamer) print assertions on files they cannot open. Then OpenCV's own
        // MJPEG/AVI reader, the one decoder of the portable bundle's OpenCV, built without FFmpeg.
        bool opened = video->capture.open(path, cv::CAP_FFMPEG) && video->capture.isOpened();
        if (!opened) opened = video->capture.open(path, cv::CAP_OPENCV_MJPEG) && video->capture.isOpened();
        if (!opened) {
            delete video;
            set_error(err, VCV_ERR_DECODE, std::string("cannot open video '") + path + "' (unknown container or codec)");
            return;
        }
        result = video;
    });
    return result;
}

vcv_video *vcv_camera_open(int32_t index, int32_t width, int32_t height, double fps, int32_t mjpg, vcv_error *err) {
    vcv_video *result = nullptr;
    guarded(err, [&] {
        auto *video = new vcv_video();
        if (!video->capture.open(index, cv::CAP_ANY) || !video->capture.isOpened()) {
            delete video;
            set_error(err, VCV_ERR_IO, "cannot open camera " + std::to_string(index));
            return;
        }
        if (mjpg) video->capture.set(cv::CAP_PROP_FOURCC, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'));
        if (width > 0) video->capture.set(cv::CAP_PROP_FRAME_WIDTH, width);
        if (height > 0) video->capture.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        if (fps > 0) video->capture.set(cv::CAP_PROP_FPS, fps);
        result = video;
    });
    return result;
}

void vcv_video_info(vcv_video *video, double *fps, int32_t *width, int32_t *height, int64_t *frame_count) {
    try {
        *fps = video->capture.get(cv::CAP_PROP_FPS);
        *width = static_cast<int32_t>(video->capture.get(cv::CAP_PROP_FRAME_WIDTH));
        *height = static_cast<int32_t>(video->capture.get(cv::CAP_PROP_FRAME_HEIGHT));
        *frame_count = static_cast<int64_t>(video->capture.get(cv::CAP_PROP_FRAME_COUNT));
    } catch (...) {
        *fps = 0; *width = 0; *height = 0; *frame_count = 0;
    }
}

vcv_image *vcv_video_read(vcv_video *video, vcv_error *err) {
    vcv_image *result = nullptr;
    guarded(err, [&] {
        cv::Mat frame;
        if (!video->capture.read(frame) || frame.empty()) return;  // end of stream
        if (frame.channels() == 1) cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
        else if (frame.channels() == 4) cv::cvtColor(frame, frame, cv::COLOR_BGRA2BGR);
        result = take(std::move(frame));
    });
    return result;
}

void vcv_video_release(vcv_video *video) { delete video; }

void vcv_draw_rect(vcv_view *image, int32_t x, int32_t y, int32_t w, int32_t h, const double color[4], int32_t thickness) {
    try { cv::Mat m = wrap(image); cv::rectangle(m, cv::Rect(x, y, w, h), scalar(color), thickness, cv::LINE_AA); } catch (...) {}
}

void vcv_draw_circle(vcv_view *image, int32_t cx, int32_t cy, int32_t radius, const double color[4], int32_t thickness) {
    try { cv::Mat m = wrap(image); cv::circle(m, cv::Point(cx, cy), radius, scalar(color), thickness, cv::LINE_AA); } catch (...) {}
}

void vcv_draw_line(vcv_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1, const double color[4], int32_t thickness) {
    try { cv::Mat m = wrap(image); cv::line(m, cv::Point(x0, y0), cv::Point(x1, y1), scalar(color), thickness, cv::LINE_AA); } catch (...) {}
}

void vcv_draw_text(vcv_view *image, const char *text, int32_t x, int32_t y, double scale, const double color[4], int32_t thickness) {
    try {
        cv::Mat m = wrap(image);
        cv::putText(m, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, scalar(color), thickness, cv::LINE_AA);
    } catch (...) {}
}

// Capture into caller-owned buffers
int32_t vcv_video_read_into(vcv_video *video, vcv_view *dst, vcv_error *err) {
    int32_t got = 0;
    guarded(err, [&] {
        cv::Mat out = wrap(dst);
        cv::Mat frame = out;
        if (!video->capture.read(frame) || frame.empty()) return;  // end of stream
        if (frame.data != out.data) {
            // The backend delivered another size or layout: convert into the caller's buffer or refuse.
            if (frame.rows != out.rows || frame.cols != out.cols)
                throw std::invalid_argument("the stream's frame size changed to " + std::to_string(frame.cols) + "x" +
                                            std::to_string(frame.rows));
            if (frame.channels() == 1) cv::cvtColor(frame, out, cv::COLOR_GRAY2BGR);
            else if (frame.channels() == 4) cv::cvtColor(frame, out, cv::COLOR_BGRA2BGR);
            else frame.copyTo(out);
            require_same_buffer(out, dst->data);
        }
        got = 1;
    });
    return got;
}

int32_t vcv_video_fourcc(vcv_video *video) {
    try { return static_cast<int32_t>(video->capture.get(cv::CAP_PROP_FOURCC)); } catch (...) { return 0; }
}

int32_t vcv_video_orientation(vcv_video *video) {
    try { return static_cast<int32_t>(video->capture.get(cv::CAP_PROP_ORIENTATION_META)); } catch (...) { return 0; }
}

}  // extern "C"

// Remapping (piecewise affine warps)
extern "C" int32_t vcv_remap(const vcv_view *src, vcv_view *dst, const vcv_view *map_x, const vcv_view *map_y,
                             int32_t interpolation, int32_t border_mode, const double border_value[4], vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::Mat mx = wrap(map_x), my = wrap(map_y);
        if (mx.type() != CV_32FC1 || my.type() != CV_32FC1 || mx.size() != d.size() || my.size() != d.size())
            throw std::invalid_argument("remap maps must be one-channel float32 images the size of the destination");
        cv::remap(wrap(src), d, mx, my, interpolation, border_mode, scalar(border_value));
        require_same_buffer(d, dst->data);
    });
}

// Face paste-back helpers ---------------------------------------------------------------------
// warpAffine over a rectangle of a (virtual) full-size destination. cv::warpAffine maps every destination
// pixel through fixed-point arithmetic whose rounding depends on the absolute pixel position (the x and y
// terms are rounded separately, then summed), so warping a region with a shifted matrix is NOT bit-identical
// to the same pixels of a full-frame warp. Here the coordinates are computed with the full-frame positions,
// following imgwarp.cpp (WarpAffineInvoker, OpenCV 4.x): matrix inverted in double unless WARP_INVERSE_MAP,
// AB_BITS = 10, round_delta = AB_SCALE / INTER_TAB_SIZE / 2, and the resulting short2 + ushort maps go to
// cv::remap exactly as warpAffine passes them.
extern "C" int32_t vcv_warp_affine_region(const vcv_view *src, vcv_view *dst, const double m[6], int32_t flags,
                                          int32_t border_mode, const double border_value[4], int32_t origin_x,
                                          int32_t origin_y, vcv_error *err) {
    return guarded(err, [&] {
        const int interpolation = flags & cv::INTER_MAX;
        if (interpolation != cv::INTER_LINEAR && interpolation != cv::INTER_AREA)
            throw std::invalid_argument("warp_affine_region supports bilinear interpolation only");
        cv::Mat d = wrap(dst);
        double M[6];
        for (int i = 0; i < 6; ++i) M[i] = m[i];
        if (!(flags & cv::WARP_INVERSE_MAP)) {   // the same double arithmetic as cv::warpAffine
            double D = M[0] * M[4] - M[1] * M[3];
            D = D != 0 ? 1. / D : 0;
            double A11 = M[4] * D, A22 = M[0] * D;
            M[0] = A11; M[1] *= -D;
            M[3] *= -D; M[4] = A22;
            double b1 = -M[0] * M[2] - M[1] * M[5];
            double b2 = -M[3] * M[2] - M[4] * M[5];
            M[2] = b1; M[5] = b2;
        }
        const int AB_BITS = std::max(10, (int)cv::INTER_BITS);
        const int AB_SCALE = 1 << AB_BITS;
        const int round_delta = AB_SCALE / cv::INTER_TAB_SIZE / 2;
        const int w = d.cols, h = d.rows;
        std::vector<int> adelta(w), bdelta(w);
        for (int x = 0; x < w; ++x) {
            adelta[x] = cv::saturate_cast<int>(M[0] * (origin_x + x) * AB_SCALE);
            bdelta[x] = cv::saturate_cast<int>(M[3] * (origin_x + x) * AB_SCALE);
        }
        cv::Mat xy(h, w, CV_16SC2), alpha(h, w, CV_16UC1);
        for (int y = 0; y < h; ++y) {
            const int Y = origin_y + y;
            const int X0 = cv::saturate_cast<int>((M[1] * Y + M[2]) * AB_SCALE) + round_delta;
            const int Y0 = cv::saturate_cast<int>((M[4] * Y + M[5]) * AB_SCALE) + round_delta;
            short *p = xy.ptr<short>(y);
            ushort *a = alpha.ptr<ushort>(y);
            for (int x = 0; x < w; ++x) {
                const int X = (X0 + adelta[x]) >> (AB_BITS - cv::INTER_BITS);
                const int Yf = (Y0 + bdelta[x]) >> (AB_BITS - cv::INTER_BITS);
                p[2 * x] = cv::saturate_cast<short>(X >> cv::INTER_BITS);
                p[2 * x + 1] = cv::saturate_cast<short>(Yf >> cv::INTER_BITS);
                a[x] = (ushort)((Yf & (cv::INTER_TAB_SIZE - 1)) * cv::INTER_TAB_SIZE + (X & (cv::INTER_TAB_SIZE - 1)));
            }
        }
        cv::remap(wrap(src), d, xy, alpha, cv::INTER_LINEAR, border_mode, scalar(border_value));
        require_same_buffer(d, dst->data);
    });
}

extern "C" int32_t vcv_add_weighted(const vcv_view *src1, double alpha, const vcv_view *src2, double beta, double gamma,
                                    vcv_view *dst, vcv_error *err) {
    return guarded(err, [&] {
        cv::Mat d = wrap(dst);
        cv::addWeighted(wrap(src1), alpha, wrap(src2), beta, gamma, d);
        require_same_buffer(d, dst->data);
    });
}

extern "C" int32_t vcv_estimate_affine_partial_2d_threshold(const float *from, const float *to, int32_t n, int32_t method,
                                                            double threshold, double out[6], vcv_error *err) {
    return guarded(err, [&] {
        if (n < 2) throw std::invalid_argument("need at least 2 point pairs");
        std::vector<cv::Point2f> a(n), b(n);
        for (int i = 0; i < n; ++i) {
            a[i] = cv::Point2f(from[2 * i], from[2 * i + 1]);
            b[i] = cv::Point2f(to[2 * i], to[2 * i + 1]);
        }
        cv::Mat m = cv::estimateAffinePartial2D(a, b, cv::noArray(), method, threshold);
        if (m.empty()) { set_error(err, VCV_ERR_ARGUMENT, "no similarity transform fits these points"); return; }
        for (int i = 0; i < 6; ++i) out[i] = m.at<double>(i / 3, i % 3);
    });
}
