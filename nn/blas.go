package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// BLASName says which BLAS the engine's matrix products use: "gonum" (pure
// Go) unless the binary was built with the openblas tag.
var BLASName = "gonum"

// sgemm computes C = A * op(B) for row-major matrices: A is m x k, op(B) is
// k x n (B is stored n x k when transB), C is m x n. It goes through gonum's
// swappable blas32 implementation (blas32.Use).
var sgemm = sgemmBLAS

func sgemmBLAS(transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	tb := blas.NoTrans
	if transB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(blas.NoTrans, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// gemmImpl is amc's own product (the cgo build's AVX-512 kernel): it computes
// C = op(A) op(B) (+ C when accumulate) and reports true, or reports false
// where it is not available.
var gemmImpl = func(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, accumulate bool, c []float32, ldc int) bool {
	return false
}

// Gemm computes C = op(A) op(B) + beta C for row-major matrices (op(A) is
// m x k, op(B) is k x n; tA and tB transpose A and B as stored): with amc's
// AVX-512 kernel where the CPU has it, beta is 0 or 1 and AMC_AVX512 is not 0
// (each output then one chain of multiply-adds over k in order, so splitting
// C's rows or columns among callers changes no bit), else with blas32's
// implementation (OpenBLAS in the cgo build). For the trainer's products.
func Gemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if (beta == 0 || beta == 1) && gemmImpl(tA, tB, m, n, k, a, lda, b, ldb, beta == 1, c, ldc) {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}
