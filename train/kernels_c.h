// C versions of the training passes' memory-bound loops, used by the
// OpenBLAS (cgo) build; gcc vectorises them along the channels, which Go's
// compiler does not. kernels.go holds the Go versions (same arguments, same
// values up to float32 rounding) and documents each one.
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define AMC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AMC_CLONES
#endif

#define AMC_BN_BLOCK 64 // bnBlock in net.go

static AMC_CLONES void amc_bn_stats(const float *restrict x, long rows, long C, double *restrict s, double *restrict q,
                                    float *restrict bs, float *restrict bq) {
	for (long r0 = 0; r0 < rows; r0 += AMC_BN_BLOCK) {
		long r1 = r0 + AMC_BN_BLOCK < rows ? r0 + AMC_BN_BLOCK : rows;
		for (long r = r0; r < r1; r++) {
			const float *row = x + r * C;
			for (long c = 0; c < C; c++) {
				float v = row[c];
				bs[c] += v;
				bq[c] += v * v;
			}
		}
		for (long c = 0; c < C; c++) {
			s[c] += bs[c];
			q[c] += bq[c];
			bs[c] = 0;
			bq[c] = 0;
		}
	}
}

// act: 0 none, 1 ReLU, 2 ReLU6 (actKind in kernels.go). Each case has its own
// loop so that gcc vectorises it.

static AMC_CLONES void amc_bn_norm(const float *restrict src, float *restrict dst, long rows, long C,
                                   const float *restrict scale, const float *restrict shift, int act) {
	for (long r = 0; r < rows; r++) {
		const float *x = src + r * C;
		float *y = dst + r * C;
		switch (act) {
		case 2:
			for (long c = 0; c < C; c++) {
				float v = scale[c] * x[c] + shift[c];
				v = v < 0 ? 0 : v; // NaN passes, as in amc_act
				y[c] = v > 6 ? 6 : v;
			}
			break;
		case 1:
			for (long c = 0; c < C; c++) {
				float v = scale[c] * x[c] + shift[c];
				y[c] = v < 0 ? 0 : v;
			}
			break;
		default:
			for (long c = 0; c < C; c++) y[c] = scale[c] * x[c] + shift[c];
		}
	}
}

// AMC_BN_LOOP(BODY) runs BODY over a row's C channels with gr, the gradient
// reaching the norm (bnGradRow in kernels.go): dy masked by the fused
// activation's linear range. dy and out are loaded unconditionally, so the
// masks become blends.
#define AMC_BN_LOOP(BODY)                                                                                   \
	switch (act) {                                                                                      \
	case 2:                                                                                             \
		for (long c = 0; c < C; c++) {                                                              \
			float o = orow[c], g0 = g[c];                                                       \
			float gr = ((o > 0) & (o < 6)) ? g0 : 0;                                            \
			BODY                                                                                \
		}                                                                                           \
		break;                                                                                      \
	case 1:                                                                                             \
		for (long c = 0; c < C; c++) {                                                              \
			float o = orow[c], g0 = g[c];                                                       \
			float gr = o > 0 ? g0 : 0;                                                          \
			BODY                                                                                \
		}                                                                                           \
		break;                                                                                      \
	default:                                                                                            \
		for (long c = 0; c < C; c++) {                                                              \
			float gr = g[c];                                                                    \
			BODY                                                                                \
		}                                                                                           \
	}

static AMC_CLONES void amc_bn_grad_stats(const float *restrict dy, const float *restrict out, const float *restrict src,
                                         long rows, long C, const float *restrict mean, const float *restrict invstd, int act,
                                         double *restrict gs, double *restrict bs, float *restrict bg,
                                         float *restrict bb) {
	for (long r0 = 0; r0 < rows; r0 += AMC_BN_BLOCK) {
		long r1 = r0 + AMC_BN_BLOCK < rows ? r0 + AMC_BN_BLOCK : rows;
		for (long r = r0; r < r1; r++) {
			const float *g = dy + r * C, *x = src + r * C, *orow = out ? out + r * C : 0;
			AMC_BN_LOOP(bg[c] += gr * ((x[c] - mean[c]) * invstd[c]); bb[c] += gr;)
		}
		for (long c = 0; c < C; c++) {
			gs[c] += bg[c];
			bs[c] += bb[c];
			bg[c] = 0;
			bb[c] = 0;
		}
	}
}

static AMC_CLONES void amc_bn_dx(float *restrict d, const float *restrict src, const float *restrict dy,
                                 const float *restrict out, long rows, long C, const float *restrict mean,
                                 const float *restrict invstd, const float *restrict k, const float *restrict ka,
                                 const float *restrict kb, int act, int first) {
	for (long r = 0; r < rows; r++) {
		float *dr = d + r * C;
		const float *x = src + r * C, *g = dy + r * C, *orow = out ? out + r * C : 0;
		if (first) {
			AMC_BN_LOOP(dr[c] = k[c] * gr - ka[c] * ((x[c] - mean[c]) * invstd[c]) - kb[c];)
		} else {
			AMC_BN_LOOP(dr[c] += k[c] * gr - ka[c] * ((x[c] - mean[c]) * invstd[c]) - kb[c];)
		}
	}
}

#undef AMC_BN_LOOP

static AMC_CLONES void amc_act(float *restrict dst, const float *restrict src, long n, int relu6) {
	// Written so that NaN passes through, as in actGo (a diverging run must
	// show a NaN loss).
	if (relu6) {
		for (long j = 0; j < n; j++) {
			float v = src[j] < 0 ? 0 : src[j];
			dst[j] = v > 6 ? 6 : v;
		}
		return;
	}
	for (long j = 0; j < n; j++) dst[j] = src[j] < 0 ? 0 : src[j];
}

static AMC_CLONES void amc_act_grad(float *restrict d, const float *restrict out, const float *restrict dy, long n, int relu6,
                                    int first) {
	if (first) {
		for (long j = 0; j < n; j++) d[j] = out[j] > 0 && (!relu6 || out[j] < 6) ? dy[j] : 0;
	} else {
		for (long j = 0; j < n; j++) d[j] += out[j] > 0 && (!relu6 || out[j] < 6) ? dy[j] : 0;
	}
}

static AMC_CLONES void amc_add(float *restrict dst, const float *restrict a, const float *restrict b, long n) {
	if (!b) {
		for (long j = 0; j < n; j++) dst[j] += a[j];
		return;
	}
	for (long j = 0; j < n; j++) dst[j] = a[j] + b[j];
}

static AMC_CLONES void amc_col2im(float *restrict dx, const float *restrict cols, long b, long H, long W, long C, long Ho,
                                  long Wo, long K, long stride, long pad) {
	long row = K * K * C;
	for (long s = 0; s < b; s++) {
		float *xs = dx + s * H * W * C;
		for (long oy = 0; oy < Ho; oy++) {
			for (long ox = 0; ox < Wo; ox++) {
				const float *src = cols + ((s * Ho + oy) * Wo + ox) * row;
				long ix0 = ox * stride - pad;
				for (long ky = 0; ky < K; ky++) {
					long iy = oy * stride - pad + ky;
					if (iy < 0 || iy >= H) continue;
					const float *sk = src + ky * K * C;
					if (stride == 1 && ix0 >= 0 && ix0 + K <= W) {
						float *d = xs + (iy * W + ix0) * C;
						for (long j = 0; j < K * C; j++) d[j] += sk[j];
						continue;
					}
					for (long kx = 0; kx < K; kx++) {
						long ix = ix0 + kx;
						if (ix < 0 || ix >= W) continue;
						float *d = xs + (iy * W + ix) * C;
						const float *sc = sk + kx * C;
						for (long c = 0; c < C; c++) d[c] += sc[c];
					}
				}
			}
		}
	}
}

static AMC_CLONES void amc_dw_backward(float *restrict dwt, float *restrict dx, const float *restrict in,
                                       const float *restrict dy, const float *restrict wt, long H, long W, long Ho, long Wo,
                                       long C, long K, long stride, long pad, long s0, long s1, int zero) {
	for (long s = s0; s < s1; s++) {
		// Zeroing a sample's input gradient just before accumulating into
		// it leaves it in cache, instead of a separate pass over the batch.
		if (zero && dx) memset(dx + s * H * W * C, 0, sizeof(float) * H * W * C);
		for (long oy = 0; oy < Ho; oy++) {
			for (long ox = 0; ox < Wo; ox++) {
				const float *g = dy + ((s * Ho + oy) * Wo + ox) * C;
				for (long ky = 0; ky < K; ky++) {
					long iy = oy * stride - pad + ky;
					if (iy < 0 || iy >= H) continue;
					for (long kx = 0; kx < K; kx++) {
						long ix = ox * stride - pad + kx;
						if (ix < 0 || ix >= W) continue;
						long off = ((s * H + iy) * W + ix) * C, k = (ky * K + kx) * C;
						const float *src = in + off;
						float *dw = dwt + k;
						for (long c = 0; c < C; c++) dw[c] += g[c] * src[c];
						if (dx) {
							float *d = dx + off;
							const float *w = wt + k;
							for (long c = 0; c < C; c++) d[c] += g[c] * w[c];
						}
					}
				}
			}
		}
	}
}
