//go:build openblas && cgo

package nn

// #cgo CFLAGS: -O3
// #cgo LDFLAGS: -lopenblas -lm -lpthread
// #include "kernels_c.h"
// void openblas_set_num_threads(int);
// char* openblas_get_corename(void);
import "C"

import (
	"fmt"
	"os"
	"unsafe"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	blas32.Use(netlib.Implementation{})
	BLASName = "openblas/" + C.GoString(C.openblas_get_corename())
	// The engine splits work across goroutines itself; one BLAS thread per
	// call keeps the two from fighting over the cores.
	C.openblas_set_num_threads(1)
	if os.Getenv("AMC_AVX512") == "0" {
		setWinoAVX512(false)
	}
	biasActImpl = biasActC
	im2colImpl = im2colC
	winoInImpl = winoInC
	winoOutImpl = winoOutC
	winoMulImpl = winoMulC
	winoDyImpl = winoDyC
	winoWGradImpl = winoWGradC
	gemmNNImpl = gemmNNC
	gemmImpl = gemmC
	winoWGradInPlace = func() bool { return C.amc_use_avx512() != 0 }
	gemmNNExact = func() bool { return C.amc_use_avx512() != 0 }
	dwRowsImpl = dwRowsC
}

func biasActC(c []float32, rows, cols, ld int, bias, res []float32, a act) {
	if rows*cols == 0 {
		return
	}
	_ = c[(rows-1)*ld+cols-1]
	_ = bias[cols-1]
	var rp *C.float
	if res != nil {
		_ = res[(rows-1)*ld+cols-1]
		rp = (*C.float)(unsafe.Pointer(&res[0]))
	}
	C.amc_bias_act((*C.float)(unsafe.Pointer(&c[0])), C.long(rows), C.long(cols), C.long(ld),
		(*C.float)(unsafe.Pointer(&bias[0])), rp, C.int(a))
}

func im2colC(col, src []float32, in, out Shape, k, stride, pad, r0, r1, c0, cn int) {
	if r1 <= r0 {
		return
	}
	_ = col[(r1-r0)*k*k*cn-1]
	_ = src[((r1-1)/(out.H*out.W)+1)*in.Size()-1]
	C.amc_im2col((*C.float)(unsafe.Pointer(&col[0])), (*C.float)(unsafe.Pointer(&src[0])),
		C.long(in.H), C.long(in.W), C.long(in.C), C.long(out.H), C.long(out.W),
		C.long(k), C.long(stride), C.long(pad), C.long(r0), C.long(r1), C.long(c0), C.long(cn))
}

func winoInC(v, src, zero []float32, in Shape, th, tw, t0, t1, vs int) {
	if t1 <= t0 {
		return
	}
	_ = v[15*vs+(t1-t0)*in.C-1]
	_ = src[((t1-1)/(th*tw)+1)*in.Size()-1]
	_ = zero[in.C-1]
	C.amc_wino_in((*C.float)(unsafe.Pointer(&v[0])), (*C.float)(unsafe.Pointer(&src[0])), (*C.float)(unsafe.Pointer(&zero[0])),
		C.long(in.H), C.long(in.W), C.long(in.C), C.long(th), C.long(tw), C.long(t0), C.long(t1), C.long(vs))
}

func winoOutC(dst, m, res, zero, trash, bias []float32, out Shape, th, tw, t0, t1, ms, ld int, a act) {
	if t1 <= t0 {
		return
	}
	K := out.C
	_ = m[15*ms+(t1-t0)*ld-1]
	_ = zero[K-1]
	_ = trash[K-1]
	_ = bias[K-1]
	_ = dst[len(dst)-1]
	var rp *C.float
	if res != nil {
		_ = res[len(dst)-1]
		rp = (*C.float)(unsafe.Pointer(&res[0]))
	}
	C.amc_wino_out((*C.float)(unsafe.Pointer(&dst[0])), (*C.float)(unsafe.Pointer(&m[0])), rp,
		(*C.float)(unsafe.Pointer(&zero[0])), (*C.float)(unsafe.Pointer(&trash[0])), (*C.float)(unsafe.Pointer(&bias[0])),
		C.long(out.H), C.long(out.W), C.long(K), C.long(th), C.long(tw), C.long(t0), C.long(t1), C.long(ms), C.long(ld), C.int(a))
}

func winoMulC(m, v, u []float32, Tp, c, Kp, vs, ms int) {
	if Tp == 0 {
		return
	}
	_ = m[15*ms+Tp*Kp-1]
	_ = v[15*vs+Tp*c-1]
	_ = u[16*c*Kp-1]
	C.amc_wino_mul((*C.float)(unsafe.Pointer(&m[0])), (*C.float)(unsafe.Pointer(&v[0])), (*C.float)(unsafe.Pointer(&u[0])),
		C.long(Tp), C.long(c), C.long(Kp), C.long(vs), C.long(ms))
}

func winoDyC(dm, dy, zero []float32, out Shape, th, tw, t0, t1, ms int) {
	if t1 <= t0 {
		return
	}
	_ = dm[15*ms+(t1-t0)*out.C-1]
	_ = zero[out.C-1]
	_ = dy[((t1-1)/(th*tw)+1)*out.Size()-1]
	C.amc_wino_dy((*C.float)(unsafe.Pointer(&dm[0])), (*C.float)(unsafe.Pointer(&dy[0])), (*C.float)(unsafe.Pointer(&zero[0])),
		C.long(out.H), C.long(out.W), C.long(out.C), C.long(th), C.long(tw), C.long(t0), C.long(t1), C.long(ms))
}

func winoWGradC(du, v, dm []float32, T, c, K, vs, ms int) {
	if T <= 0 {
		return
	}
	_ = du[16*c*K-1]
	_ = v[15*vs+T*c-1]
	_ = dm[15*ms+T*K-1]
	if C.amc_wino_wgrad((*C.float)(unsafe.Pointer(&du[0])), (*C.float)(unsafe.Pointer(&v[0])), (*C.float)(unsafe.Pointer(&dm[0])),
		C.long(T), C.long(c), C.long(K), C.long(vs), C.long(ms)) == 0 {
		winoWGradGo(du, v, dm, T, c, K, vs, ms)
	}
}

// gemmNNC computes C = A B (row-major) with amc's AVX-512 kernel where it is
// allowed, else with BLAS.
func gemmNNC(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !gemmC(false, false, m, n, k, a, lda, b, ldb, false, c, ldc) {
		sgemm(false, m, n, k, a, lda, b, ldb, c, ldc)
	}
}

// gemmC computes C = op(A) op(B) (+ C when accumulate) with amc's AVX-512
// kernel (amc_sgemm) and reports true, or does nothing and reports false
// where the kernel is not allowed.
func gemmC(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, accumulate bool, c []float32, ldc int) bool {
	if C.amc_use_avx512() == 0 {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	ars, acs, brs, bcs := lda, 1, ldb, 1
	aCols, bCols := k, n // columns of A and B as stored, which lda and ldb must cover (as in BLAS)
	if tA {
		ars, acs, aCols = 1, lda, m
	}
	if tB {
		brs, bcs, bCols = 1, ldb, k
	}
	if lda < max(1, aCols) || ldb < max(1, bCols) || ldc < n {
		panic(fmt.Sprintf("nn: gemm: leading dimensions %d, %d, %d too small for %dx%dx%d (tA %v, tB %v)", lda, ldb, ldc, m, n, k, tA, tB))
	}
	_ = c[(m-1)*ldc+n-1]
	ap, bp := (*C.float)(nil), (*C.float)(nil)
	if k > 0 {
		_ = a[(m-1)*ars+(k-1)*acs]
		_ = b[(k-1)*brs+(n-1)*bcs]
		ap, bp = (*C.float)(unsafe.Pointer(&a[0])), (*C.float)(unsafe.Pointer(&b[0]))
	}
	acc := C.int(0)
	if accumulate {
		acc = 1
	}
	return C.amc_sgemm(C.long(m), C.long(n), C.long(k), ap, C.long(ars), C.long(acs), bp, C.long(brs), C.long(bcs),
		(*C.float)(unsafe.Pointer(&c[0])), C.long(ldc), acc) != 0
}

func dwRowsC(dst, src, w, bias []float32, in, out Shape, k, stride, pad, r0, r1 int, a act) {
	if r1 <= r0 {
		return
	}
	c := in.C
	_ = dst[r1*c-1]
	_ = src[((r1-1)/(out.H*out.W)+1)*in.Size()-1]
	_ = w[k*k*c-1]
	_ = bias[c-1]
	C.amc_dw_rows((*C.float)(unsafe.Pointer(&dst[0])), (*C.float)(unsafe.Pointer(&src[0])), (*C.float)(unsafe.Pointer(&w[0])),
		(*C.float)(unsafe.Pointer(&bias[0])), C.long(in.H), C.long(in.W), C.long(c), C.long(out.H), C.long(out.W),
		C.long(k), C.long(stride), C.long(pad), C.long(r0), C.long(r1), C.int(a))
}

// setWinoAVX512 allows or forbids amc's AVX-512 kernels, Winograd and SGEMM
// (used where the CPU has AVX-512; AMC_AVX512=0 in the environment forbids
// them).
func setWinoAVX512(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.amc_set_wino_avx512(v)
}

// winoAVX512 says whether amc's AVX-512 kernels are allowed.
func winoAVX512() bool { return C.amc_get_wino_avx512() != 0 }

// cpuAVX512 says whether this CPU has AVX-512F.
func cpuAVX512() bool { return C.amc_cpu_avx512() != 0 }
