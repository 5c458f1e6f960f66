//go:build openblas && cgo

package nn

// #cgo CFLAGS: -O3
// #cgo LDFLAGS: -lopenblas -lm -lpthread
// #include "kernels_c.h"
// void openblas_set_num_threads(int);
// char* openblas_get_corename(void);
import "C"

import (
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
	biasActImpl = biasActC
	im2colImpl = im2colC
}

func biasActC(c []float32, rows, cols int, bias, res []float32, a act) {
	if rows*cols == 0 {
		return
	}
	_ = c[rows*cols-1]
	_ = bias[cols-1]
	var rp *C.float
	if res != nil {
		_ = res[rows*cols-1]
		rp = (*C.float)(unsafe.Pointer(&res[0]))
	}
	C.amc_bias_act((*C.float)(unsafe.Pointer(&c[0])), C.long(rows), C.long(cols),
		(*C.float)(unsafe.Pointer(&bias[0])), rp, C.int(a))
}

func im2colC(col, src []float32, in, out Shape, k, stride, pad, r0, r1, c0, cn int) {
	if r1 <= r0 {
		return
	}
	_ = col[(r1-r0)*k*k*cn-1]
	C.amc_im2col((*C.float)(unsafe.Pointer(&col[0])), (*C.float)(unsafe.Pointer(&src[0])),
		C.long(in.H), C.long(in.W), C.long(in.C), C.long(out.H), C.long(out.W),
		C.long(k), C.long(stride), C.long(pad), C.long(r0), C.long(r1), C.long(c0), C.long(cn))
}
