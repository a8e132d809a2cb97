#include "CVisageKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

int visage_kernels_have_avx(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") ? 1 : 0;
}

/* Every kernel below keeps several independent sums in flight: an add's result is ready three or four cycles
 * after it starts, so one running sum per loop waits on itself while the adder idles. Each lane still sums its
 * own terms in the same order, so splitting the work across more accumulators changes no bit. */

/* Neurons n0..n0+3 × `V` vectors of eight positions from p. */
#define NEURON_TILE(V)                                                                                      \
    static inline __attribute__((always_inline, target("avx"))) void neuron_tile_##V(                        \
        const float *w0, const float *w1, const float *w2, const float *w3, long length,                     \
        const float *columns, long stride, long p, float *z, long n0) {                                     \
        __m256 a0[V], a1[V], a2[V], a3[V];                                                                  \
        for (int v = 0; v < V; v++) a0[v] = a1[v] = a2[v] = a3[v] = _mm256_setzero_ps();                  \
        const float *c = columns + p;                                                                       \
        for (long k = 0; k < length; k++, c += stride) {                                                    \
            const __m256 b0 = _mm256_set1_ps(w0[k]), b1 = _mm256_set1_ps(w1[k]);                            \
            const __m256 b2 = _mm256_set1_ps(w2[k]), b3 = _mm256_set1_ps(w3[k]);                            \
            for (int v = 0; v < V; v++) {                                                                   \
                const __m256 x = _mm256_loadu_ps(c + 8 * v);                                                \
                a0[v] = _mm256_add_ps(a0[v], _mm256_mul_ps(x, b0));                                         \
                a1[v] = _mm256_add_ps(a1[v], _mm256_mul_ps(x, b1));                                         \
                a2[v] = _mm256_add_ps(a2[v], _mm256_mul_ps(x, b2));                                         \
                a3[v] = _mm256_add_ps(a3[v], _mm256_mul_ps(x, b3));                                         \
            }                                                                                               \
        }                                                                                                   \
        for (int v = 0; v < V; v++) {                                                                       \
            _mm256_storeu_ps(z + n0 * stride + p + 8 * v, a0[v]);                                           \
            _mm256_storeu_ps(z + (n0 + 1) * stride + p + 8 * v, a1[v]);                                     \
            _mm256_storeu_ps(z + (n0 + 2) * stride + p + 8 * v, a2[v]);                                     \
            _mm256_storeu_ps(z + (n0 + 3) * stride + p + 8 * v, a3[v]);                                     \
        }                                                                                                   \
    }
NEURON_TILE(1)
NEURON_TILE(2)

/* One neuron × `V` vectors of eight positions from p. */
#define SINGLE_NEURON_TILE(V)                                                                               \
    static inline __attribute__((always_inline, target("avx"))) void single_neuron_tile_##V(                 \
        const float *w, long length, const float *columns, long stride, long p, float *z) {                 \
        __m256 a[V];                                                                                        \
        for (int v = 0; v < V; v++) a[v] = _mm256_setzero_ps();                                             \
        const float *c = columns + p;                                                                       \
        for (long k = 0; k < length; k++, c += stride) {                                                    \
            const __m256 b = _mm256_set1_ps(w[k]);                                                          \
            for (int v = 0; v < V; v++) a[v] = _mm256_add_ps(a[v], _mm256_mul_ps(_mm256_loadu_ps(c + 8 * v), b)); \
        }                                                                                                   \
        for (int v = 0; v < V; v++) _mm256_storeu_ps(z + p + 8 * v, a[v]);                                  \
    }
SINGLE_NEURON_TILE(1)
SINGLE_NEURON_TILE(4)

__attribute__((target("avx")))
void visage_ccnf_neuron_sums_avx(const float *weights, long neurons, long length,
                                 const float *columns, long stride, long positions, float *z) {
    const long width = (positions + 7) / 8 * 8;
    long n0 = 0;
    for (; n0 + 4 <= neurons; n0 += 4) {
        const float *w0 = weights + n0 * length, *w1 = w0 + length, *w2 = w1 + length, *w3 = w2 + length;
        long p = 0;
        for (; p + 16 <= width; p += 16) neuron_tile_2(w0, w1, w2, w3, length, columns, stride, p, z, n0);
        for (; p < width; p += 8) neuron_tile_1(w0, w1, w2, w3, length, columns, stride, p, z, n0);
    }
    for (; n0 < neurons; n0++) {
        const float *w = weights + n0 * length;
        long p = 0;
        for (; p + 32 <= width; p += 32) single_neuron_tile_4(w, length, columns, stride, p, z + n0 * stride);
        for (; p < width; p += 8) single_neuron_tile_1(w, length, columns, stride, p, z + n0 * stride);
    }
}

/* `V` vectors of eight outputs from p; the last `partial` lanes count (8 = whole vector) for the last one. */
#define SIGMA_BLOCK(V)                                                                                      \
    static inline __attribute__((always_inline, target("avx"))) void sigma_block_##V(                        \
        const float *sigma_t, long stride, long positions, const float *r, float *out, long p) {            \
        __m256 a[V];                                                                                        \
        for (int v = 0; v < V; v++) a[v] = _mm256_setzero_ps();                                             \
        const float *column = sigma_t + p;                                                                  \
        for (long q = 0; q < positions; q++, column += stride) {                                            \
            const __m256 b = _mm256_set1_ps(r[q]);                                                          \
            for (int v = 0; v < V; v++) a[v] = _mm256_add_ps(a[v], _mm256_mul_ps(_mm256_loadu_ps(column + 8 * v), b)); \
        }                                                                                                   \
        for (int v = 0; v < V; v++) {                                                                       \
            const long at = p + 8 * v;                                                                      \
            if (at + 8 <= positions) {                                                                      \
                _mm256_storeu_ps(out + at, a[v]);                                                           \
            } else {                                                                                        \
                /* The caller's buffer ends at `positions`: store only the lanes inside it. */              \
                float lanes[8];                                                                             \
                _mm256_storeu_ps(lanes, a[v]);                                                              \
                for (long i = 0; at + i < positions; i++) out[at + i] = lanes[i];                            \
            }                                                                                               \
        }                                                                                                   \
    }
SIGMA_BLOCK(1)
SIGMA_BLOCK(2)
SIGMA_BLOCK(3)
SIGMA_BLOCK(4)
SIGMA_BLOCK(5)
SIGMA_BLOCK(6)
SIGMA_BLOCK(7)
SIGMA_BLOCK(8)

__attribute__((target("avx")))
void visage_ccnf_sigma_product_avx(const float *sigma_t, long stride, long positions, const float *r, float *out) {
    const long vectors = (positions + 7) / 8;
    long v = 0;
    for (; v + 8 <= vectors; v += 8) sigma_block_8(sigma_t, stride, positions, r, out, 8 * v);
    switch (vectors - v) {
    case 7: sigma_block_7(sigma_t, stride, positions, r, out, 8 * v); break;
    case 6: sigma_block_6(sigma_t, stride, positions, r, out, 8 * v); break;
    case 5: sigma_block_5(sigma_t, stride, positions, r, out, 8 * v); break;
    case 4: sigma_block_4(sigma_t, stride, positions, r, out, 8 * v); break;
    case 3: sigma_block_3(sigma_t, stride, positions, r, out, 8 * v); break;
    case 2: sigma_block_2(sigma_t, stride, positions, r, out, 8 * v); break;
    case 1: sigma_block_1(sigma_t, stride, positions, r, out, 8 * v); break;
    default: break;
    }
}

/* Four runs of eight neighbouring positions (row i, from column jb) at once: their means and inverse norms. */
__attribute__((target("avx")))
static void patch_statistics_4(const float *aoi, long side, long width, long height, const long *chain_i,
                               const long *chain_jb, long window, float *means, float *inverse_norms) {
    const __m256 patch_size = _mm256_set1_ps((float)(width * height));
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256d one_d = _mm256_set1_pd(1.0);
    const float *b0 = aoi + chain_i[0] * side + chain_jb[0], *b1 = aoi + chain_i[1] * side + chain_jb[1];
    const float *b2 = aoi + chain_i[2] * side + chain_jb[2], *b3 = aoi + chain_i[3] * side + chain_jb[3];
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long yy = 0; yy < height; yy++)
        for (long xx = 0; xx < width; xx++) {
            const long at = yy * side + xx;
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(b0 + at));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(b1 + at));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(b2 + at));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(b3 + at));
        }
    const __m256 m0 = _mm256_div_ps(s0, patch_size), m1 = _mm256_div_ps(s1, patch_size);
    const __m256 m2 = _mm256_div_ps(s2, patch_size), m3 = _mm256_div_ps(s3, patch_size);
    __m256 q0 = _mm256_setzero_ps(), q1 = q0, q2 = q0, q3 = q0;
    for (long yy = 0; yy < height; yy++)
        for (long xx = 0; xx < width; xx++) {
            const long at = yy * side + xx;
            const __m256 v0 = _mm256_sub_ps(_mm256_loadu_ps(b0 + at), m0);
            const __m256 v1 = _mm256_sub_ps(_mm256_loadu_ps(b1 + at), m1);
            const __m256 v2 = _mm256_sub_ps(_mm256_loadu_ps(b2 + at), m2);
            const __m256 v3 = _mm256_sub_ps(_mm256_loadu_ps(b3 + at), m3);
            q0 = _mm256_add_ps(q0, _mm256_mul_ps(v0, v0));
            q1 = _mm256_add_ps(q1, _mm256_mul_ps(v1, v1));
            q2 = _mm256_add_ps(q2, _mm256_mul_ps(v2, v2));
            q3 = _mm256_add_ps(q3, _mm256_mul_ps(v3, v3));
        }
    const __m256 mean[4] = {m0, m1, m2, m3}, squares[4] = {q0, q1, q2, q3};
    /* Stored in chain order: a run's lanes past its row spill into the next row's positions, which that row's
     * own run (a later chain) overwrites. */
    for (int c = 0; c < 4; c++) {
        __m256 norm = _mm256_sqrt_ps(squares[c]);
        norm = _mm256_blendv_ps(norm, one, _mm256_cmp_ps(norm, zero, _CMP_EQ_OQ));
        const __m128 low = _mm256_castps256_ps128(norm), high = _mm256_extractf128_ps(norm, 1);
        const __m128 inv_low = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(low)));
        const __m128 inv_high = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(high)));
        const __m256 inverse = _mm256_insertf128_ps(_mm256_castps128_ps256(inv_low), inv_high, 1);
        _mm256_storeu_ps(means + chain_i[c] * window + chain_jb[c], mean[c]);
        _mm256_storeu_ps(inverse_norms + chain_i[c] * window + chain_jb[c], inverse);
    }
}

/* The Swift normaliser (`normalisedColumns`) eight positions at a time: per-position mean and sum of squares in
 * the patch's element order, norm 0 → 1, inverse norm through double as OpenFace divides, then the normalised
 * columns. Same operations in the same order (no FMA), so the same bits. */
__attribute__((target("avx")))
void visage_ccnf_normalised_columns_avx(const float *aoi, long window, long width, long height, long stride,
                                        float *means, float *inverse_norms, float *columns) {
    const long side = window + width - 1;
    /* Runs of eight positions in the portable loop's order (row i, then column jb); the last group of four
     * repeats its last run, which computes and stores the same values again. */
    long chain_i[4], chain_jb[4];
    int filled = 0;
    for (long i = 0; i < window; i++) {
        for (long jb = 0; jb < window; jb += 8) {
            chain_i[filled] = i;
            chain_jb[filled] = jb;
            if (++filled == 4) {
                patch_statistics_4(aoi, side, width, height, chain_i, chain_jb, window, means, inverse_norms);
                filled = 0;
            }
        }
    }
    if (filled > 0) {
        for (int c = filled; c < 4; c++) { chain_i[c] = chain_i[filled - 1]; chain_jb[c] = chain_jb[filled - 1]; }
        patch_statistics_4(aoi, side, width, height, chain_i, chain_jb, window, means, inverse_norms);
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

int visage_kernels_have_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

/* `CCNFLogistic.exp` on four doubles: clamp, x = k ln2 + r, Taylor to degree 11 by Horner, times 2^k. Separate
 * multiplies and adds as the Swift code does them (this file never enables FMA). */
__attribute__((target("avx2")))
static inline __m256d logistic_exp(__m256d x) {
    x = _mm256_min_pd(_mm256_max_pd(x, _mm256_set1_pd(-110.0)), _mm256_set1_pd(100.0));
    const __m256d shifter = _mm256_set1_pd(6755399441055744.0);
    const __m256d t = _mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)), shifter);
    const __m256d k = _mm256_sub_pd(t, shifter);
    const __m256d r = _mm256_sub_pd(_mm256_sub_pd(x, _mm256_mul_pd(k, _mm256_set1_pd(0.6931471803691238))),
                                    _mm256_mul_pd(k, _mm256_set1_pd(1.9082149292705877e-10)));
    static const double c[11] = {1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120,
                                 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    __m256d p = _mm256_set1_pd(1.0 / 39916800);
    for (int i = 0; i < 11; i++) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(c[i]));
    const __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
}

/* 2α / (1 + e) with e = Float(exp(−z)) widened back, four lanes, rounded to float. */
__attribute__((target("avx2")))
static inline __m128 logistic_half(__m128 z, __m256d two_alpha) {
    const __m128 negated = _mm_sub_ps(_mm_setzero_ps(), z);
    const __m128 e = _mm256_cvtpd_ps(logistic_exp(_mm256_cvtps_pd(negated)));
    return _mm256_cvtpd_ps(_mm256_div_pd(two_alpha, _mm256_add_pd(_mm256_set1_pd(1.0), _mm256_cvtps_pd(e))));
}

__attribute__((target("avx2")))
void visage_ccnf_accumulate_logistics_avx2(const float *z, const double *two_alphas, long neurons, long stride,
                                           long positions, float *r) {
    for (long p = 0; p < positions; p += 16) {
        /* Two vectors of eight positions at once: their exp chains are independent. The second may lie wholly
         * in r's padding (positions rounded up to 8 plus 8), as the Swift loop's last vector may. */
        __m256 s0 = _mm256_loadu_ps(r + p), s1 = _mm256_loadu_ps(r + p + 8);
        for (long n = 0; n < neurons; n++) {
            const __m256d two_alpha = _mm256_set1_pd(two_alphas[n]);
            const __m256 z0 = _mm256_loadu_ps(z + n * stride + p), z1 = _mm256_loadu_ps(z + n * stride + p + 8);
            const __m128 l0 = logistic_half(_mm256_castps256_ps128(z0), two_alpha);
            const __m128 h0 = logistic_half(_mm256_extractf128_ps(z0, 1), two_alpha);
            const __m128 l1 = logistic_half(_mm256_castps256_ps128(z1), two_alpha);
            const __m128 h1 = logistic_half(_mm256_extractf128_ps(z1, 1), two_alpha);
            s0 = _mm256_add_ps(s0, _mm256_insertf128_ps(_mm256_castps128_ps256(l0), h0, 1));
            s1 = _mm256_add_ps(s1, _mm256_insertf128_ps(_mm256_castps128_ps256(l1), h1, 1));
        }
        _mm256_storeu_ps(r + p, s0);
        _mm256_storeu_ps(r + p + 8, s1);
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
int visage_kernels_have_avx2(void) { return 0; }
void visage_ccnf_accumulate_logistics_avx2(const float *z, const double *two_alphas, long neurons, long stride,
                                           long positions, float *r) {
    (void)z; (void)two_alphas; (void)neurons; (void)stride; (void)positions; (void)r;
}

#endif
