// C versions of the engine's memory-bound loops, used by the OpenBLAS (cgo)
// build; gcc vectorises them, which Go's compiler does not. The pure-Go
// versions in kernels.go and plan.go compute the same values.
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define AMC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AMC_CLONES
#endif

// c[r][j] = act(c[r][j] + bias[j] (+ res[r][j])); act 0 none, 1 relu, 2 relu6.
static AMC_CLONES void amc_bias_act(float *c, long rows, long cols, const float *bias, const float *res, int act) {
	for (long r = 0; r < rows; r++) {
		float *row = c + r * cols;
		const float *rr = res ? res + r * cols : 0;
		for (long j = 0; j < cols; j++) {
			float v = row[j] + bias[j];
			if (rr) v += rr[j];
			if (act >= 1) v = v > 0 ? v : 0;
			if (act == 2) v = v < 6 ? v : 6;
			row[j] = v;
		}
	}
}

// Patch matrix rows r0..r1 for an NHWC input; see im2col in kernels.go.
static void amc_im2col(float *col, const float *src, long inH, long inW, long inC, long outH, long outW,
                       long k, long stride, long pad, long r0, long r1, long c0, long cn) {
	long ohw = outH * outW, K = k * k * cn;
	int whole = cn == inC;
	for (long r = r0; r < r1; r++) {
		long b = r / ohw, p = r % ohw, oy = p / outW, ox = p % outW;
		float *row = col + (r - r0) * K;
		long x0 = ox * stride - pad;
		for (long ky = 0; ky < k; ky++) {
			long iy = oy * stride - pad + ky;
			float *seg = row + ky * k * cn;
			if (iy < 0 || iy >= inH) {
				memset(seg, 0, sizeof(float) * k * cn);
				continue;
			}
			long base = (b * inH + iy) * inW;
			if (whole && x0 >= 0 && x0 + k <= inW) {
				memcpy(seg, src + (base + x0) * inC, sizeof(float) * k * cn);
				continue;
			}
			for (long kx = 0; kx < k; kx++) {
				long ix = x0 + kx;
				float *d = seg + kx * cn;
				if (ix < 0 || ix >= inW)
					memset(d, 0, sizeof(float) * cn);
				else
					memcpy(d, src + (base + ix) * inC + c0, sizeof(float) * cn);
			}
		}
	}
}
