#ifndef CVISAGE_KERNELS_H
#define CVISAGE_KERNELS_H

/*
 * Wide-vector (AVX and AVX2, 8 floats) versions of the CLNF patch-response loops, chosen at run time so the binary
 * still runs on CPUs without AVX. Each output lane is computed with the same operations in the same order
 * as the portable Swift loops (multiply, then add; no fused multiply-add), so results are bit-identical.
 */

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU and OS support AVX (and this build has the AVX kernels), else 0. */
int visage_kernels_have_avx(void);

/*
 * z[n * stride + p] = sum over k (in order) of weights[n * length + k] * columns[k * stride + p],
 * for n < neurons and p < positions rounded up to 8. Reads columns up to that rounded width.
 */
void visage_ccnf_neuron_sums_avx(const float *weights, long neurons, long length,
                                 const float *columns, long stride, long positions, float *z);

/*
 * out[p] = sum over q (in order) of sigma_t[q * stride + p] * r[q], for p < positions; sigma_t holds the
 * transposed covariance with at least positions rounded up to 8 readable floats per row.
 */
void visage_ccnf_sigma_product_avx(const float *sigma_t, long stride, long positions, const float *r, float *out);

/*
 * The contrast-normalised, transposed im2col of one area of interest (side = window + width - 1, rows of
 * `side` floats, readable 8 floats past each row): means and inverse_norms per position (window² rounded up
 * to 8 plus 8 writable floats), then columns row 0 = 1 and row 1 + y·width + x = (patch element − mean) ·
 * inverse norm for every position (`stride` floats per row).
 */
void visage_ccnf_normalised_columns_avx(const float *aoi, long window, long width, long height, long stride,
                                        float *means, float *inverse_norms, float *columns);

/* 1 when the CPU and OS support AVX2 (and this build has the AVX2 kernel), else 0. */
int visage_kernels_have_avx2(void);

/*
 * r[p] += (float)(two_alphas[n] / (1 + (double)expf(-z[n * stride + p]))) for each neuron n in order, with the
 * exp of `CCNFLogistic` (exact to the float), for p < positions rounded up to 16: r and each row of z need that
 * many readable floats (the workspace's padded stride), and the lanes past `positions` are scratch.
 */
void visage_ccnf_accumulate_logistics_avx2(const float *z, const double *two_alphas, long neurons, long stride,
                                           long positions, float *r);

#ifdef __cplusplus
}
#endif

#endif
