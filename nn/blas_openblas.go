//go:build openblas && cgo

package nn

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	blas32.Use(netlib.Implementation{})
	BLASName = "openblas"
	// The engine splits work across goroutines itself; one BLAS thread per
	// call keeps the two from fighting over the cores.
	C.openblas_set_num_threads(1)
}
