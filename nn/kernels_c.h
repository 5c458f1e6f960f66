// C versions of the engine's memory-bound loops, used by the OpenBLAS (cgo)
// build; gcc vectorises them, which Go's compiler does not. The pure-Go
// versions in kernels.go and plan.go compute the same values.
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define AMC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AMC_CLONES
#endif

// c[r][j] = act(c[r][j] + bias[j] (+ res[r][j])) for j < cols, rows ld floats
// apart in c and res; act 0 none, 1 relu, 2 relu6.
static AMC_CLONES void amc_bias_act(float *c, long rows, long cols, long ld, const float *bias, const float *res,
                                    int act) {
	for (long r = 0; r < rows; r++) {
		float *row = c + r * ld;
		const float *rr = res ? res + r * ld : 0;
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

// Winograd F(2x2, 3x3) transforms; see winoInGo and winoOutGo in winograd.go
// (same layouts: v[xi][t][c] with xi stride TC, m[xi][t][k] with xi stride TK
// and rows ld apart). One tile's 16 input pixels (or 4 output pixels) are
// NHWC rows; the transforms run across channels, 8 at a time with AVX2.
// amc_cpu_avx2 says whether the AVX2 versions below may run on this CPU.
// amc_wino_avx512 says whether amc's kernels (the Winograd transforms and
// products, the weight gradient, the SGEMM) may use AVX-512 where the CPU
// has it (AMC_AVX512=0 turns it off; the tests compare the two).
// The flag is static: only nn/blas_openblas.go may include this header in
// package nn (a second cgo file would get its own copy of the flag).
static int amc_wino_avx512 = 1;
static void amc_set_wino_avx512(int on) { amc_wino_avx512 = on; }
static int amc_get_wino_avx512(void) { return amc_wino_avx512; }

static inline int amc_cpu_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
	return __builtin_cpu_supports("avx512f");
#else
	return 0;
#endif
}

// amc_use_avx512 says whether the AVX-512 kernels run: allowed and
// present. Every dispatch below, and the Go side, asks this.
static inline int amc_use_avx512(void) { return amc_wino_avx512 && amc_cpu_avx512(); }

static inline int amc_cpu_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__)
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

static inline void amc_wino_in_tile(float *o, const float *const *r, long TC, long c0, long C) {
	for (long c = c0; c < C; c++) {
		float d[16], q[16];
		for (int i = 0; i < 16; i++) d[i] = r[i][c];
		for (int j = 0; j < 4; j++) { // B^T d
			q[0 + j] = d[0 + j] - d[8 + j];
			q[4 + j] = d[4 + j] + d[8 + j];
			q[8 + j] = d[8 + j] - d[4 + j];
			q[12 + j] = d[4 + j] - d[12 + j];
		}
		for (int i = 0; i < 4; i++) { // (B^T d) B
			o[(i * 4 + 0) * TC + c] = q[i * 4 + 0] - q[i * 4 + 2];
			o[(i * 4 + 1) * TC + c] = q[i * 4 + 1] + q[i * 4 + 2];
			o[(i * 4 + 2) * TC + c] = q[i * 4 + 2] - q[i * 4 + 1];
			o[(i * 4 + 3) * TC + c] = q[i * 4 + 1] - q[i * 4 + 3];
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static long amc_wino_in_tile_avx512(float *o, const float *const *r, long TC, long C) {
	long c = 0;
	for (; c + 16 <= C; c += 16) {
		__m512 d[16], q[16];
		for (int i = 0; i < 16; i++) d[i] = _mm512_loadu_ps(r[i] + c);
		for (int j = 0; j < 4; j++) {
			q[0 + j] = _mm512_sub_ps(d[0 + j], d[8 + j]);
			q[4 + j] = _mm512_add_ps(d[4 + j], d[8 + j]);
			q[8 + j] = _mm512_sub_ps(d[8 + j], d[4 + j]);
			q[12 + j] = _mm512_sub_ps(d[4 + j], d[12 + j]);
		}
		for (int i = 0; i < 4; i++) {
			_mm512_storeu_ps(o + (i * 4 + 0) * TC + c, _mm512_sub_ps(q[i * 4 + 0], q[i * 4 + 2]));
			_mm512_storeu_ps(o + (i * 4 + 1) * TC + c, _mm512_add_ps(q[i * 4 + 1], q[i * 4 + 2]));
			_mm512_storeu_ps(o + (i * 4 + 2) * TC + c, _mm512_sub_ps(q[i * 4 + 2], q[i * 4 + 1]));
			_mm512_storeu_ps(o + (i * 4 + 3) * TC + c, _mm512_sub_ps(q[i * 4 + 1], q[i * 4 + 3]));
		}
	}
	return c;
}
__attribute__((target("avx2"))) static long amc_wino_in_tile_avx2(float *o, const float *const *r, long TC, long c0, long C) {
	long c = c0;
	for (; c + 8 <= C; c += 8) {
		__m256 d[16], q[16];
		for (int i = 0; i < 16; i++) d[i] = _mm256_loadu_ps(r[i] + c);
		for (int j = 0; j < 4; j++) {
			q[0 + j] = _mm256_sub_ps(d[0 + j], d[8 + j]);
			q[4 + j] = _mm256_add_ps(d[4 + j], d[8 + j]);
			q[8 + j] = _mm256_sub_ps(d[8 + j], d[4 + j]);
			q[12 + j] = _mm256_sub_ps(d[4 + j], d[12 + j]);
		}
		for (int i = 0; i < 4; i++) {
			_mm256_storeu_ps(o + (i * 4 + 0) * TC + c, _mm256_sub_ps(q[i * 4 + 0], q[i * 4 + 2]));
			_mm256_storeu_ps(o + (i * 4 + 1) * TC + c, _mm256_add_ps(q[i * 4 + 1], q[i * 4 + 2]));
			_mm256_storeu_ps(o + (i * 4 + 2) * TC + c, _mm256_sub_ps(q[i * 4 + 2], q[i * 4 + 1]));
			_mm256_storeu_ps(o + (i * 4 + 3) * TC + c, _mm256_sub_ps(q[i * 4 + 1], q[i * 4 + 3]));
		}
	}
	return c;
}
#endif

static void amc_wino_in(float *v, const float *src, const float *zero, long inH, long inW, long C, long th, long tw,
                        long t0, long t1, long TC) {
	int avx2 = amc_cpu_avx2(), avx512 = amc_use_avx512();
	for (long t = t0; t < t1; t++) {
		long b = t / (th * tw), p = t % (th * tw);
		long y0 = 2 * (p / tw) - 1, x0 = 2 * (p % tw) - 1;
		const float *r[16];
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++) {
				long y = y0 + i, x = x0 + j;
				r[i * 4 + j] = (y < 0 || x < 0 || y >= inH || x >= inW) ? zero : src + ((b * inH + y) * inW + x) * C;
			}
		float *o = v + (t - t0) * C;
		long c0 = 0;
#if defined(__x86_64__) && defined(__GNUC__)
		if (avx512) c0 = amc_wino_in_tile_avx512(o, r, TC, C);
		if (avx2) c0 = amc_wino_in_tile_avx2(o, r, TC, c0, C);
#endif
		amc_wino_in_tile(o, r, TC, c0, C);
	}
}

static inline float amc_act(float y, int act) {
	if (act >= 1) y = y > 0 ? y : 0;
	if (act == 2) y = y < 6 ? y : 6;
	return y;
}

static inline void amc_wino_out_tile(float *const *d, const float *const *rs, const float *mm, const float *bias,
                                     long TK, long k0, long K, int act) {
	for (long k = k0; k < K; k++) {
		float a[16], s[8];
		for (int i = 0; i < 16; i++) a[i] = mm[i * TK + k];
		for (int j = 0; j < 4; j++) { // A^T M
			s[j] = a[j] + a[4 + j] + a[8 + j];
			s[4 + j] = a[4 + j] - a[8 + j] - a[12 + j];
		}
		float bk = bias[k]; // (A^T M) A
		d[0][k] = amc_act(s[0] + s[1] + s[2] + bk + rs[0][k], act);
		d[1][k] = amc_act(s[1] - s[2] - s[3] + bk + rs[1][k], act);
		d[2][k] = amc_act(s[4] + s[5] + s[6] + bk + rs[2][k], act);
		d[3][k] = amc_act(s[5] - s[6] - s[7] + bk + rs[3][k], act);
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static inline __m512 amc_act16(__m512 y, int act) {
	if (act >= 1) y = _mm512_max_ps(y, _mm512_setzero_ps());
	if (act == 2) y = _mm512_min_ps(y, _mm512_set1_ps(6));
	return y;
}

__attribute__((target("avx512f"))) static long amc_wino_out_tile_avx512(float *const *d, const float *const *rs,
                                                                   const float *mm, const float *bias, long TK,
                                                                   long K, int act) {
	long k = 0;
	for (; k + 16 <= K; k += 16) {
		__m512 a[16], s[8];
		for (int i = 0; i < 16; i++) a[i] = _mm512_loadu_ps(mm + i * TK + k);
		for (int j = 0; j < 4; j++) {
			s[j] = _mm512_add_ps(_mm512_add_ps(a[j], a[4 + j]), a[8 + j]);
			s[4 + j] = _mm512_sub_ps(_mm512_sub_ps(a[4 + j], a[8 + j]), a[12 + j]);
		}
		__m512 bk = _mm512_loadu_ps(bias + k);
		__m512 y0 = _mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]);
		__m512 y1 = _mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]);
		__m512 y2 = _mm512_add_ps(_mm512_add_ps(s[4], s[5]), s[6]);
		__m512 y3 = _mm512_sub_ps(_mm512_sub_ps(s[5], s[6]), s[7]);
		y0 = _mm512_add_ps(_mm512_add_ps(y0, bk), _mm512_loadu_ps(rs[0] + k));
		y1 = _mm512_add_ps(_mm512_add_ps(y1, bk), _mm512_loadu_ps(rs[1] + k));
		y2 = _mm512_add_ps(_mm512_add_ps(y2, bk), _mm512_loadu_ps(rs[2] + k));
		y3 = _mm512_add_ps(_mm512_add_ps(y3, bk), _mm512_loadu_ps(rs[3] + k));
		_mm512_storeu_ps(d[0] + k, amc_act16(y0, act));
		_mm512_storeu_ps(d[1] + k, amc_act16(y1, act));
		_mm512_storeu_ps(d[2] + k, amc_act16(y2, act));
		_mm512_storeu_ps(d[3] + k, amc_act16(y3, act));
	}
	return k;
}
__attribute__((target("avx2"))) static inline __m256 amc_act8(__m256 y, int act) {
	if (act >= 1) y = _mm256_max_ps(y, _mm256_setzero_ps());
	if (act == 2) y = _mm256_min_ps(y, _mm256_set1_ps(6));
	return y;
}

__attribute__((target("avx2"))) static long amc_wino_out_tile_avx2(float *const *d, const float *const *rs,
                                                                   const float *mm, const float *bias, long TK,
                                                                   long k0, long K, int act) {
	long k = k0;
	for (; k + 8 <= K; k += 8) {
		__m256 a[16], s[8];
		for (int i = 0; i < 16; i++) a[i] = _mm256_loadu_ps(mm + i * TK + k);
		for (int j = 0; j < 4; j++) {
			s[j] = _mm256_add_ps(_mm256_add_ps(a[j], a[4 + j]), a[8 + j]);
			s[4 + j] = _mm256_sub_ps(_mm256_sub_ps(a[4 + j], a[8 + j]), a[12 + j]);
		}
		__m256 bk = _mm256_loadu_ps(bias + k);
		__m256 y0 = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), s[2]);
		__m256 y1 = _mm256_sub_ps(_mm256_sub_ps(s[1], s[2]), s[3]);
		__m256 y2 = _mm256_add_ps(_mm256_add_ps(s[4], s[5]), s[6]);
		__m256 y3 = _mm256_sub_ps(_mm256_sub_ps(s[5], s[6]), s[7]);
		y0 = _mm256_add_ps(_mm256_add_ps(y0, bk), _mm256_loadu_ps(rs[0] + k));
		y1 = _mm256_add_ps(_mm256_add_ps(y1, bk), _mm256_loadu_ps(rs[1] + k));
		y2 = _mm256_add_ps(_mm256_add_ps(y2, bk), _mm256_loadu_ps(rs[2] + k));
		y3 = _mm256_add_ps(_mm256_add_ps(y3, bk), _mm256_loadu_ps(rs[3] + k));
		_mm256_storeu_ps(d[0] + k, amc_act8(y0, act));
		_mm256_storeu_ps(d[1] + k, amc_act8(y1, act));
		_mm256_storeu_ps(d[2] + k, amc_act8(y2, act));
		_mm256_storeu_ps(d[3] + k, amc_act8(y3, act));
	}
	return k;
}
#endif

static void amc_wino_out(float *dst, const float *m, const float *res, const float *zero, float *trash,
                         const float *bias, long outH, long outW, long K, long th, long tw, long t0, long t1, long TK,
                         long ld, int act) {
	int avx2 = amc_cpu_avx2(), avx512 = amc_use_avx512();
	for (long t = t0; t < t1; t++) {
		long b = t / (th * tw), p = t % (th * tw);
		long y0 = 2 * (p / tw), x0 = 2 * (p % tw);
		float *d[4];
		const float *rs[4];
		for (int q = 0; q < 4; q++) {
			long y = y0 + q / 2, x = x0 + q % 2;
			if (y >= outH || x >= outW) {
				d[q] = trash;
				rs[q] = zero;
			} else {
				long off = ((b * outH + y) * outW + x) * K;
				d[q] = dst + off;
				rs[q] = res ? res + off : zero;
			}
		}
		const float *mm = m + (t - t0) * ld;
		long k0 = 0;
#if defined(__x86_64__) && defined(__GNUC__)
		if (avx512) k0 = amc_wino_out_tile_avx512(d, rs, mm, bias, TK, K, act);
		if (avx2) k0 = amc_wino_out_tile_avx2(d, rs, mm, bias, TK, k0, K, act);
#endif
		amc_wino_out_tile(d, rs, mm, bias, TK, k0, K, act);
	}
}

// Winograd products M[xi] = V[xi] U[xi] (Tp x C times C x Kp; Tp a multiple
// of 4, Kp of 8) for the 16 positions; see winoMulGo in winograd.go. OpenBLAS
// is slow on these thin shapes (Kp and C are often 16-64), so this is a
// register-blocked kernel: 4 tiles x 16 columns of accumulators, one row of
// U loaded per input channel and used by 4 tiles.
static void amc_wino_mul_generic(float *m, const float *v, const float *u, long Tp, long C, long Kp, long vs, long ms) {
	for (int xi = 0; xi < 16; xi++) {
		const float *vv = v + xi * vs, *uu = u + xi * C * Kp;
		float *mm = m + xi * ms;
		for (long t = 0; t < Tp; t++) {
			float *row = mm + t * Kp;
			memset(row, 0, sizeof(float) * Kp);
			for (long c = 0; c < C; c++) {
				float a = vv[t * C + c];
				const float *ur = uu + c * Kp;
				for (long k = 0; k < Kp; k++) row[k] += a * ur[k];
			}
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void amc_wino_mul_avx2(float *m, const float *v, const float *u, long Tp,
                                                                  long C, long Kp, long vs, long ms) {
	for (int xi = 0; xi < 16; xi++) {
		const float *vv = v + xi * vs, *uu = u + xi * C * Kp;
		float *mm = m + xi * ms;
		for (long t = 0; t < Tp; t += 4) {
			const float *v0 = vv + t * C, *v1 = v0 + C, *v2 = v1 + C, *v3 = v2 + C;
			long k = 0;
			for (; k + 16 <= Kp; k += 16) {
				__m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(),
				       a11 = _mm256_setzero_ps(), a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(),
				       a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
				const float *ur = uu + k;
				for (long c = 0; c < C; c++, ur += Kp) {
					__m256 u0 = _mm256_loadu_ps(ur), u1 = _mm256_loadu_ps(ur + 8);
					__m256 b = _mm256_broadcast_ss(v0 + c);
					a00 = _mm256_fmadd_ps(b, u0, a00);
					a01 = _mm256_fmadd_ps(b, u1, a01);
					b = _mm256_broadcast_ss(v1 + c);
					a10 = _mm256_fmadd_ps(b, u0, a10);
					a11 = _mm256_fmadd_ps(b, u1, a11);
					b = _mm256_broadcast_ss(v2 + c);
					a20 = _mm256_fmadd_ps(b, u0, a20);
					a21 = _mm256_fmadd_ps(b, u1, a21);
					b = _mm256_broadcast_ss(v3 + c);
					a30 = _mm256_fmadd_ps(b, u0, a30);
					a31 = _mm256_fmadd_ps(b, u1, a31);
				}
				float *o = mm + t * Kp + k;
				_mm256_storeu_ps(o, a00);
				_mm256_storeu_ps(o + 8, a01);
				_mm256_storeu_ps(o + Kp, a10);
				_mm256_storeu_ps(o + Kp + 8, a11);
				_mm256_storeu_ps(o + 2 * Kp, a20);
				_mm256_storeu_ps(o + 2 * Kp + 8, a21);
				_mm256_storeu_ps(o + 3 * Kp, a30);
				_mm256_storeu_ps(o + 3 * Kp + 8, a31);
			}
			if (k < Kp) { // Kp is a multiple of 8: one block of 8 columns left
				__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
				       a3 = _mm256_setzero_ps();
				const float *ur = uu + k;
				for (long c = 0; c < C; c++, ur += Kp) {
					__m256 u0 = _mm256_loadu_ps(ur);
					a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v0 + c), u0, a0);
					a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(v1 + c), u0, a1);
					a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(v2 + c), u0, a2);
					a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(v3 + c), u0, a3);
				}
				float *o = mm + t * Kp + k;
				_mm256_storeu_ps(o, a0);
				_mm256_storeu_ps(o + Kp, a1);
				_mm256_storeu_ps(o + 2 * Kp, a2);
				_mm256_storeu_ps(o + 3 * Kp, a3);
			}
		}
	}
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// The AVX-512 version: 32 registers hold 4 tiles x 32 columns of
// accumulators (the AVX2 one has 16 columns); the last 8 or 16 columns use
// a masked block. Each output is the same chain of fused multiply-adds over
// the channels in both versions, so their results are identical.
__attribute__((target("avx512f"))) static void amc_wino_mul_avx512(float *m, const float *v, const float *u, long Tp,
                                                                  long C, long Kp, long vs, long ms) {
	for (int xi = 0; xi < 16; xi++) {
		const float *vv = v + xi * vs, *uu = u + xi * C * Kp;
		float *mm = m + xi * ms;
		for (long t = 0; t < Tp; t += 4) {
			const float *v0 = vv + t * C, *v1 = v0 + C, *v2 = v1 + C, *v3 = v2 + C;
			long k = 0;
			for (; k + 32 <= Kp; k += 32) {
				__m512 a00 = _mm512_setzero_ps(), a01 = _mm512_setzero_ps(), a10 = _mm512_setzero_ps(),
				       a11 = _mm512_setzero_ps(), a20 = _mm512_setzero_ps(), a21 = _mm512_setzero_ps(),
				       a30 = _mm512_setzero_ps(), a31 = _mm512_setzero_ps();
				const float *ur = uu + k;
				for (long c = 0; c < C; c++, ur += Kp) {
					__m512 u0 = _mm512_loadu_ps(ur), u1 = _mm512_loadu_ps(ur + 16);
					__m512 b = _mm512_set1_ps(v0[c]);
					a00 = _mm512_fmadd_ps(b, u0, a00);
					a01 = _mm512_fmadd_ps(b, u1, a01);
					b = _mm512_set1_ps(v1[c]);
					a10 = _mm512_fmadd_ps(b, u0, a10);
					a11 = _mm512_fmadd_ps(b, u1, a11);
					b = _mm512_set1_ps(v2[c]);
					a20 = _mm512_fmadd_ps(b, u0, a20);
					a21 = _mm512_fmadd_ps(b, u1, a21);
					b = _mm512_set1_ps(v3[c]);
					a30 = _mm512_fmadd_ps(b, u0, a30);
					a31 = _mm512_fmadd_ps(b, u1, a31);
				}
				float *o = mm + t * Kp + k;
				_mm512_storeu_ps(o, a00);
				_mm512_storeu_ps(o + 16, a01);
				_mm512_storeu_ps(o + Kp, a10);
				_mm512_storeu_ps(o + Kp + 16, a11);
				_mm512_storeu_ps(o + 2 * Kp, a20);
				_mm512_storeu_ps(o + 2 * Kp + 16, a21);
				_mm512_storeu_ps(o + 3 * Kp, a30);
				_mm512_storeu_ps(o + 3 * Kp + 16, a31);
			}
			for (; k < Kp; k += 16) { // Kp is a multiple of 8: blocks of 16, the last maybe 8
				__mmask16 mk = Kp - k >= 16 ? 0xFFFF : 0x00FF;
				__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
				       a3 = _mm512_setzero_ps();
				const float *ur = uu + k;
				for (long c = 0; c < C; c++, ur += Kp) {
					__m512 u0 = _mm512_maskz_loadu_ps(mk, ur);
					a0 = _mm512_fmadd_ps(_mm512_set1_ps(v0[c]), u0, a0);
					a1 = _mm512_fmadd_ps(_mm512_set1_ps(v1[c]), u0, a1);
					a2 = _mm512_fmadd_ps(_mm512_set1_ps(v2[c]), u0, a2);
					a3 = _mm512_fmadd_ps(_mm512_set1_ps(v3[c]), u0, a3);
				}
				float *o = mm + t * Kp + k;
				_mm512_mask_storeu_ps(o, mk, a0);
				_mm512_mask_storeu_ps(o + Kp, mk, a1);
				_mm512_mask_storeu_ps(o + 2 * Kp, mk, a2);
				_mm512_mask_storeu_ps(o + 3 * Kp, mk, a3);
			}
		}
	}
}
#endif

static void amc_wino_mul(float *m, const float *v, const float *u, long Tp, long C, long Kp, long vs, long ms) {
#if defined(__x86_64__) && defined(__GNUC__)
	if (amc_use_avx512()) {
		amc_wino_mul_avx512(m, v, u, Tp, C, Kp, vs, ms);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		amc_wino_mul_avx2(m, v, u, Tp, C, Kp, vs, ms);
		return;
	}
#endif
	amc_wino_mul_generic(m, v, u, Tp, C, Kp, vs, ms);
}

// Winograd weight gradient's output-gradient transform dM = A dY Aᵀ (2x2 to
// 4x4) for tiles t0..t1; see winoDyGo in winograd.go (dm[xi][t][k], xi
// stride ms, tiles K apart; pixels past an odd edge read zero). With
// AVX-512 16 channels at a time (the tail masked); additions and negations
// (sign flips) only, so every width gives the same bits.
static inline void amc_wino_dy_tile(float *restrict o, const float *restrict r0, const float *restrict r1,
                                    const float *restrict r2, const float *restrict r3, long k0, long K, long ms) {
	for (long k = k0; k < K; k++) {
		float a[4][2] = {// A dY: rows of dY, their sum and difference, minus the second
		                 {r0[k], r1[k]},
		                 {r0[k] + r2[k], r1[k] + r3[k]},
		                 {r0[k] - r2[k], r1[k] - r3[k]},
		                 {-r2[k], -r3[k]}};
		for (int i = 0; i < 4; i++) { // (A dY) Aᵀ
			o[(i * 4 + 0) * ms + k] = a[i][0];
			o[(i * 4 + 1) * ms + k] = a[i][0] + a[i][1];
			o[(i * 4 + 2) * ms + k] = a[i][0] - a[i][1];
			o[(i * 4 + 3) * ms + k] = -a[i][1];
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static void amc_wino_dy_tile_avx512(float *o, const float *r0, const float *r1,
                                                                      const float *r2, const float *r3, long K,
                                                                      long ms) {
	const __m512i sign = _mm512_set1_epi32((int)0x80000000);
#define AMC_NEG16(x) _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), sign))
	for (long k = 0; k < K; k += 16) {
		__mmask16 mk = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
		__m512 d0 = _mm512_maskz_loadu_ps(mk, r0 + k), d1 = _mm512_maskz_loadu_ps(mk, r1 + k),
		       d2 = _mm512_maskz_loadu_ps(mk, r2 + k), d3 = _mm512_maskz_loadu_ps(mk, r3 + k);
		__m512 a[4][2] = {{d0, d1},
		                  {_mm512_add_ps(d0, d2), _mm512_add_ps(d1, d3)},
		                  {_mm512_sub_ps(d0, d2), _mm512_sub_ps(d1, d3)},
		                  {AMC_NEG16(d2), AMC_NEG16(d3)}};
		for (int i = 0; i < 4; i++) {
			_mm512_mask_storeu_ps(o + (i * 4 + 0) * ms + k, mk, a[i][0]);
			_mm512_mask_storeu_ps(o + (i * 4 + 1) * ms + k, mk, _mm512_add_ps(a[i][0], a[i][1]));
			_mm512_mask_storeu_ps(o + (i * 4 + 2) * ms + k, mk, _mm512_sub_ps(a[i][0], a[i][1]));
			_mm512_mask_storeu_ps(o + (i * 4 + 3) * ms + k, mk, AMC_NEG16(a[i][1]));
		}
	}
#undef AMC_NEG16
}
__attribute__((target("avx2"))) static void amc_wino_dy_tile_avx2(float *o, const float *r0, const float *r1,
                                                                  const float *r2, const float *r3, long K, long ms) {
	amc_wino_dy_tile(o, r0, r1, r2, r3, 0, K, ms);
}
#endif

static void amc_wino_dy(float *dm, const float *dy, const float *zero, long outH, long outW, long K, long th, long tw,
                        long t0, long t1, long ms) {
#if defined(__x86_64__) && defined(__GNUC__)
	int avx2 = amc_cpu_avx2(), avx512 = amc_use_avx512();
#endif
	for (long t = t0; t < t1; t++) {
		long b = t / (th * tw), p = t % (th * tw);
		long y0 = 2 * (p / tw), x0 = 2 * (p % tw);
		const float *r[4];
		for (int q = 0; q < 4; q++) {
			long y = y0 + q / 2, x = x0 + q % 2;
			r[q] = (y >= outH || x >= outW) ? zero : dy + ((b * outH + y) * outW + x) * K;
		}
		float *o = dm + (t - t0) * K;
#if defined(__x86_64__) && defined(__GNUC__)
		if (avx512) {
			amc_wino_dy_tile_avx512(o, r[0], r[1], r[2], r[3], K, ms);
			continue;
		}
		if (avx2) {
			amc_wino_dy_tile_avx2(o, r[0], r[1], r[2], r[3], K, ms);
			continue;
		}
#endif
		amc_wino_dy_tile(o, r[0], r[1], r[2], r[3], 0, K, ms);
	}
}

// Winograd weight gradient's products du[xi] += V[xi]ᵀ dM[xi] (C x T times
// T x K, summed over the task's T tiles) for the 16 positions, where the CPU
// has AVX-512F (returns 0 otherwise, and the caller uses SGEMM). OpenBLAS
// packs both operands of these thin products (C and K are often 16-64, T in
// the thousands) on every call; this kernel reads them in place (its caller,
// WinogradWeightGrad, hands it parts of a task small enough to stay in L2):
// 4 rows of du x 64 columns in registers while 64 columns are left, then
// 8 x 32, or 16 x 16 where at most 16 are; per tile a row of dM loaded and
// one broadcast from V per row. Each du element is its own chain of fused
// multiply-adds over the tiles in order, so the result does not depend on
// the blocking.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static void amc_wino_wgrad_pos(float *uu, const float *vv, const float *dd, long T,
                                                                 long C, long K) {
	long k = 0;
	for (; k + 64 <= K; k += 64) { // 4 rows x 64 columns: 4 loads and 4 broadcasts per 16 multiply-adds
		long c = 0;
		for (; c + 4 <= C; c += 4) {
			__m512 a[4][4];
			for (int r = 0; r < 4; r++)
				for (int j = 0; j < 4; j++) a[r][j] = _mm512_loadu_ps(uu + (c + r) * K + k + 16 * j);
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K) {
				__m512 d[4];
				for (int j = 0; j < 4; j++) d[j] = _mm512_loadu_ps(dr + 16 * j);
				for (int r = 0; r < 4; r++) {
					__m512 b = _mm512_set1_ps(vr[r]);
					for (int j = 0; j < 4; j++) a[r][j] = _mm512_fmadd_ps(b, d[j], a[r][j]);
				}
			}
			for (int r = 0; r < 4; r++)
				for (int j = 0; j < 4; j++) _mm512_storeu_ps(uu + (c + r) * K + k + 16 * j, a[r][j]);
		}
		for (; c < C; c++) { // the last C mod 4 rows, one at a time
			__m512 a[4];
			for (int j = 0; j < 4; j++) a[j] = _mm512_loadu_ps(uu + c * K + k + 16 * j);
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K) {
				__m512 b = _mm512_set1_ps(*vr);
				for (int j = 0; j < 4; j++) a[j] = _mm512_fmadd_ps(b, _mm512_loadu_ps(dr + 16 * j), a[j]);
			}
			for (int j = 0; j < 4; j++) _mm512_storeu_ps(uu + c * K + k + 16 * j, a[j]);
		}
	}
	if (K - k <= 16) { // 16 rows x up to 16 columns: one load and 16 broadcasts per 16 multiply-adds
		__mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
		long c = 0;
		for (; K > k && c + 16 <= C; c += 16) {
			__m512 a[16];
			for (int r = 0; r < 16; r++) a[r] = _mm512_maskz_loadu_ps(mk, uu + (c + r) * K + k);
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K) {
				__m512 d = _mm512_maskz_loadu_ps(mk, dr);
				for (int r = 0; r < 16; r++) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(vr[r]), d, a[r]);
			}
			for (int r = 0; r < 16; r++) _mm512_mask_storeu_ps(uu + (c + r) * K + k, mk, a[r]);
		}
		for (; K > k && c < C; c++) { // the last C mod 16 rows, one at a time
			__m512 a = _mm512_maskz_loadu_ps(mk, uu + c * K + k);
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K)
				a = _mm512_fmadd_ps(_mm512_set1_ps(*vr), _mm512_maskz_loadu_ps(mk, dr), a);
			_mm512_mask_storeu_ps(uu + c * K + k, mk, a);
		}
		return;
	}
	for (; k < K; k += 32) {
		long n = K - k < 32 ? K - k : 32;
		__mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
		__mmask16 m1 = n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : 0;
		long c = 0;
		for (; c + 8 <= C; c += 8) {
			__m512 a[8][2];
			for (int r = 0; r < 8; r++) {
				a[r][0] = _mm512_maskz_loadu_ps(m0, uu + (c + r) * K + k);
				a[r][1] = _mm512_maskz_loadu_ps(m1, uu + (c + r) * K + k + 16);
			}
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K) {
				__m512 d0 = _mm512_maskz_loadu_ps(m0, dr), d1 = _mm512_maskz_loadu_ps(m1, dr + 16);
				for (int r = 0; r < 8; r++) {
					__m512 b = _mm512_set1_ps(vr[r]);
					a[r][0] = _mm512_fmadd_ps(b, d0, a[r][0]);
					a[r][1] = _mm512_fmadd_ps(b, d1, a[r][1]);
				}
			}
			for (int r = 0; r < 8; r++) {
				_mm512_mask_storeu_ps(uu + (c + r) * K + k, m0, a[r][0]);
				_mm512_mask_storeu_ps(uu + (c + r) * K + k + 16, m1, a[r][1]);
			}
		}
		for (; c < C; c++) { // the last C mod 8 rows, one at a time
			__m512 a0 = _mm512_maskz_loadu_ps(m0, uu + c * K + k), a1 = _mm512_maskz_loadu_ps(m1, uu + c * K + k + 16);
			const float *vr = vv + c, *dr = dd + k;
			for (long t = 0; t < T; t++, vr += C, dr += K) {
				__m512 b = _mm512_set1_ps(*vr);
				a0 = _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(m0, dr), a0);
				a1 = _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(m1, dr + 16), a1);
			}
			_mm512_mask_storeu_ps(uu + c * K + k, m0, a0);
			_mm512_mask_storeu_ps(uu + c * K + k + 16, m1, a1);
		}
	}
}
#endif

static int amc_wino_wgrad(float *du, const float *v, const float *dm, long T, long C, long K, long vs, long ms) {
#if defined(__x86_64__) && defined(__GNUC__)
	if (amc_use_avx512()) {
		for (int xi = 0; xi < 16; xi++) amc_wino_wgrad_pos(du + xi * C * K, v + xi * vs, dm + xi * ms, T, C, K);
		return 1;
	}
#endif
	return 0;
}


// Dense products C = op(A) op(B) (+ C) for the convolutions that are not
// Winograd's (1x1, strided, 7x7, im2col) and the trainer's im2col products:
// OpenBLAS's kernel for this machine's forced core type is AVX2, and these
// shapes (n 16-2048, k up to 4608) leave half of an AVX-512 core idle.
// Element (i, q) of op(A) is a[i*ars + q*acs] and element (q, j) of op(B) is
// b[q*brs + j*bcs], so one kernel serves A B, A Bᵀ and Aᵀ B. op(B) is packed
// in panels of AMC_GEMM_KC rows x 32 columns (32 KB, L1-resident) that 12
// rows of op(A) at a time multiply; each output is one chain of fused
// multiply-adds over k in order (continuing from C's value when acc is set),
// whatever the blocking, so results do not depend on how callers split the
// rows or the columns.
#define AMC_GEMM_KC 256
#if defined(__x86_64__) && defined(__GNUC__)
#define AMC_GEMM_MICRO(R, NV)                                                                                          \
	{                                                                                                                  \
		__m512 acc[R][NV];                                                                                             \
		for (int r = 0; r < R; r++)                                                                                    \
			for (int v = 0; v < NV; v++)                                                                               \
				acc[r][v] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mk[v], c + r * ldc + 16 * v);         \
		const float *ar = a;                                                                                           \
		const float *pp = panel;                                                                                       \
		for (long q = 0; q < kb; q++, ar += acs, pp += 32) {                                                           \
			__m512 b[NV];                                                                                              \
			for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(pp + 16 * v);                                           \
			for (int r = 0; r < R; r++) {                                                                              \
				__m512 x = _mm512_set1_ps(ar[r * ars]);                                                                \
				for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, b[v], acc[r][v]);                          \
			}                                                                                                          \
		}                                                                                                              \
		for (int r = 0; r < R; r++)                                                                                    \
			for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mk[v], acc[r][v]);               \
	}

// All m rows of one panel: a points at op(A)[0][p], c at C[0][j].
__attribute__((target("avx512f"))) static void amc_gemm_rows2(long m, const float *a, long ars, long acs,
                                                             const float *panel, long kb, float *c, long ldc,
                                                             const __mmask16 *mk, int first) {
	long i = 0;
	for (; i + 12 <= m; i += 12, a += 12 * ars, c += 12 * ldc) AMC_GEMM_MICRO(12, 2)
	for (; i + 4 <= m; i += 4, a += 4 * ars, c += 4 * ldc) AMC_GEMM_MICRO(4, 2)
	for (; i < m; i++, a += ars, c += ldc) AMC_GEMM_MICRO(1, 2)
}

__attribute__((target("avx512f"))) static void amc_gemm_rows1(long m, const float *a, long ars, long acs,
                                                             const float *panel, long kb, float *c, long ldc,
                                                             const __mmask16 *mk, int first) {
	long i = 0;
	for (; i + 16 <= m; i += 16, a += 16 * ars, c += 16 * ldc) AMC_GEMM_MICRO(16, 1)
	for (; i + 4 <= m; i += 4, a += 4 * ars, c += 4 * ldc) AMC_GEMM_MICRO(4, 1)
	for (; i < m; i++, a += ars, c += ldc) AMC_GEMM_MICRO(1, 1)
}

__attribute__((target("avx512f"))) static void amc_sgemm_avx512(long m, long n, long k, const float *a, long ars,
                                                               long acs, const float *b, long brs, long bcs, float *c,
                                                               long ldc, int accumulate) {
	float panel[AMC_GEMM_KC * 32] __attribute__((aligned(64)));
	for (long j = 0; j < n; j += 32) {
		long nb = n - j < 32 ? n - j : 32;
		__mmask16 mk[2] = {nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1),
		                   nb >= 32 ? (__mmask16)0xFFFF : nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : (__mmask16)0};
		if (k == 0) {
			if (!accumulate)
				for (long i = 0; i < m; i++) {
					_mm512_mask_storeu_ps(c + i * ldc + j, mk[0], _mm512_setzero_ps());
					_mm512_mask_storeu_ps(c + i * ldc + j + 16, mk[1], _mm512_setzero_ps());
				}
			continue;
		}
		for (long p = 0; p < k; p += AMC_GEMM_KC) {
			long kb = k - p < AMC_GEMM_KC ? k - p : AMC_GEMM_KC;
			if (bcs == 1) { // rows of op(B) are contiguous: masked vector loads
				for (long q = 0; q < kb; q++) {
					const float *br = b + (p + q) * brs + j;
					_mm512_store_ps(panel + q * 32, _mm512_maskz_loadu_ps(mk[0], br));
					_mm512_store_ps(panel + q * 32 + 16, _mm512_maskz_loadu_ps(mk[1], br + 16));
				}
			} else { // op(B) = Bᵀ: each of its columns is contiguous in b
				if (nb < 32) memset(panel, 0, sizeof(float) * 32 * kb);
				for (long jj = 0; jj < nb; jj++) {
					const float *bc = b + (j + jj) * bcs + p * brs;
					for (long q = 0; q < kb; q++) panel[q * 32 + jj] = bc[q * brs];
				}
			}
			const float *ap = a + p * acs;
			int first = p == 0 && !accumulate;
			if (nb > 16)
				amc_gemm_rows2(m, ap, ars, acs, panel, kb, c + j, ldc, mk, first);
			else
				amc_gemm_rows1(m, ap, ars, acs, panel, kb, c + j, ldc, mk, first);
		}
	}
}
#endif

// amc_sgemm computes C = op(A) op(B) (+ C if accumulate) with the AVX-512
// kernel where it is allowed and returns 1; else it returns 0 and the caller
// uses BLAS.
static int amc_sgemm(long m, long n, long k, const float *a, long ars, long acs, const float *b, long brs, long bcs,
                     float *c, long ldc, int accumulate) {
#if defined(__x86_64__) && defined(__GNUC__)
	if (amc_use_avx512()) {
		amc_sgemm_avx512(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, accumulate);
		return 1;
	}
#endif
	return 0;
}
// Depthwise convolution, output pixels r0..r1 (over the batch), plus bias,
// activated; see dwRowsGo in kernels.go (weights [ky][kx][c]).
static AMC_CLONES void amc_dw_rows(float *restrict dst, const float *restrict src, const float *restrict w,
                                   const float *restrict bias, long inH, long inW, long C, long outH, long outW, long k,
                                   long stride, long pad, long r0, long r1, int act) {
	long ohw = outH * outW;
	for (long r = r0; r < r1; r++) {
		long b = r / ohw, p = r % ohw, oy = p / outW, ox = p % outW;
		float *d = dst + r * C;
		for (long c = 0; c < C; c++) d[c] = bias[c];
		for (long ky = 0; ky < k; ky++) {
			long iy = oy * stride - pad + ky;
			if (iy < 0 || iy >= inH) continue;
			for (long kx = 0; kx < k; kx++) {
				long ix = ox * stride - pad + kx;
				if (ix < 0 || ix >= inW) continue;
				const float *s = src + ((b * inH + iy) * inW + ix) * C, *wk = w + (ky * k + kx) * C;
				for (long c = 0; c < C; c++) d[c] += s[c] * wk[c];
			}
		}
		if (act >= 1) // NaN passes, as in applyAct
			for (long c = 0; c < C; c++) d[c] = d[c] < 0 ? 0 : d[c];
		if (act == 2)
			for (long c = 0; c < C; c++) d[c] = d[c] > 6 ? 6 : d[c];
	}
}
