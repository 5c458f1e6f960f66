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
