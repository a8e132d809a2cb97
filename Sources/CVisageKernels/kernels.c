#include "CVisageKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

int visage_kernels_have_avx(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") ? 1 : 0;
}

/* Four neurons × eight positions per step keep eight accumulators and one column load in registers. */
__attribute__((target("avx")))
void visage_ccnf_neuron_sums_avx(const float *weights, long neurons, long length,
                                 const float *columns, long stride, long positions, float *z) {
    long n0 = 0;
    for (; n0 + 4 <= neurons; n0 += 4) {
        const float *w0 = weights + n0 * length, *w1 = w0 + length, *w2 = w1 + length, *w3 = w2 + length;
        for (long p = 0; p < positions; p += 8) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            const float *c = columns + p;
            for (long k = 0; k < length; k++, c += stride) {
                __m256 v = _mm256_loadu_ps(c);
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(v, _mm256_set1_ps(w0[k])));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(v, _mm256_set1_ps(w1[k])));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(v, _mm256_set1_ps(w2[k])));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(v, _mm256_set1_ps(w3[k])));
            }
            _mm256_storeu_ps(z + n0 * stride + p, a0);
            _mm256_storeu_ps(z + (n0 + 1) * stride + p, a1);
            _mm256_storeu_ps(z + (n0 + 2) * stride + p, a2);
            _mm256_storeu_ps(z + (n0 + 3) * stride + p, a3);
        }
    }
    for (; n0 < neurons; n0++) {
        const float *w = weights + n0 * length;
        for (long p = 0; p < positions; p += 8) {
            __m256 a = _mm256_setzero_ps();
            const float *c = columns + p;
            for (long k = 0; k < length; k++, c += stride)
                a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(c), _mm256_set1_ps(w[k])));
            _mm256_storeu_ps(z + n0 * stride + p, a);
        }
    }
}

__attribute__((target("avx")))
void visage_ccnf_sigma_product_avx(const float *sigma_t, long stride, long positions, const float *r, float *out) {
    long p = 0;
    for (; p + 32 <= positions; p += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *column = sigma_t + p;
        for (long q = 0; q < positions; q++, column += stride) {
            __m256 v = _mm256_set1_ps(r[q]);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(column), v));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(column + 8), v));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(column + 16), v));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(column + 24), v));
        }
        _mm256_storeu_ps(out + p, a0);
        _mm256_storeu_ps(out + p + 8, a1);
        _mm256_storeu_ps(out + p + 16, a2);
        _mm256_storeu_ps(out + p + 24, a3);
    }
    for (; p < positions; p += 8) {
        __m256 a = _mm256_setzero_ps();
        const float *column = sigma_t + p;
        for (long q = 0; q < positions; q++, column += stride)
            a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(column), _mm256_set1_ps(r[q])));
        /* The caller's buffer ends at `positions`: store only the lanes inside it. */
        float lanes[8];
        _mm256_storeu_ps(lanes, a);
        long count = positions - p < 8 ? positions - p : 8;
        for (long i = 0; i < count; i++) out[p + i] = lanes[i];
    }
}

/* The Swift normaliser (`normalisedColumns`) eight positions at a time: per-position mean and sum of squares in
 * the patch's element order, norm 0 → 1, inverse norm through double as OpenFace divides, then the normalised
 * columns. Same operations in the same order (no FMA), so the same bits. */
__attribute__((target("avx")))
void visage_ccnf_normalised_columns_avx(const float *aoi, long window, long width, long height, long stride,
                                        float *means, float *inverse_norms, float *columns) {
    const long side = window + width - 1;
    const __m256 patch_size = _mm256_set1_ps((float)(width * height));
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256d one_d = _mm256_set1_pd(1.0);
    for (long i = 0; i < window; i++) {
        for (long jb = 0; jb < window; jb += 8) {
            const float *base = aoi + i * side + jb;
            __m256 sum = _mm256_setzero_ps();
            for (long yy = 0; yy < height; yy++)
                for (long xx = 0; xx < width; xx++) sum = _mm256_add_ps(sum, _mm256_loadu_ps(base + yy * side + xx));
            const __m256 mean = _mm256_div_ps(sum, patch_size);
            __m256 squares = _mm256_setzero_ps();
            for (long yy = 0; yy < height; yy++)
                for (long xx = 0; xx < width; xx++) {
                    const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(base + yy * side + xx), mean);
                    squares = _mm256_add_ps(squares, _mm256_mul_ps(v, v));
                }
            __m256 norm = _mm256_sqrt_ps(squares);
            norm = _mm256_blendv_ps(norm, one, _mm256_cmp_ps(norm, zero, _CMP_EQ_OQ));
            const __m128 low = _mm256_castps256_ps128(norm), high = _mm256_extractf128_ps(norm, 1);
            const __m128 inv_low = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(low)));
            const __m128 inv_high = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(high)));
            const __m256 inverse = _mm256_insertf128_ps(_mm256_castps128_ps256(inv_low), inv_high, 1);
            _mm256_storeu_ps(means + i * window + jb, mean);
            _mm256_storeu_ps(inverse_norms + i * window + jb, inverse);
        }
    }
    for (long k = 0; k < stride; k++) columns[k] = 1.0f;
    for (long yy = 0; yy < height; yy++)
        for (long xx = 0; xx < width; xx++) {
            float *dst = columns + (1 + yy * width + xx) * stride;
            for (long i = 0; i < window; i++) {
                const float *src = aoi + (i + yy) * side + xx;
                for (long jb = 0; jb < window; jb += 8) {
                    const long p = i * window + jb;
                    const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(src + jb), _mm256_loadu_ps(means + p));
                    _mm256_storeu_ps(dst + p, _mm256_mul_ps(v, _mm256_loadu_ps(inverse_norms + p)));
                }
            }
        }
}

#else

int visage_kernels_have_avx(void) { return 0; }
void visage_ccnf_neuron_sums_avx(const float *weights, long neurons, long length,
                                 const float *columns, long stride, long positions, float *z) {
    (void)weights; (void)neurons; (void)length; (void)columns; (void)stride; (void)positions; (void)z;
}
void visage_ccnf_sigma_product_avx(const float *sigma_t, long stride, long positions, const float *r, float *out) {
    (void)sigma_t; (void)stride; (void)positions; (void)r; (void)out;
}
void visage_ccnf_normalised_columns_avx(const float *aoi, long window, long width, long height, long stride,
                                        float *means, float *inverse_norms, float *columns) {
    (void)aoi; (void)window; (void)width; (void)height; (void)stride; (void)means; (void)inverse_norms; (void)columns;
}

#endif
