//go:build openblas && cgo

package train

// #cgo CFLAGS: -O3
// #include "kernels_c.h"
import "C"

import (
	"unsafe"

	"github.com/amcbench/amc/nn"
)

func init() {
	bnStatsImpl = bnStatsC
	bnNormImpl = bnNormC
	bnGradStatsImpl = bnGradStatsC
	bnDXImpl = bnDXC
	actImpl = actC
	actGradImpl = actGradC
	addImpl = addC
	col2imImpl = col2imC
	dwBackwardImpl = dwBackwardC
}

// The wrappers check every slice's length in Go (a short slice panics here,
// as the Go versions would, instead of reading past it in C).

func fp(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func dp(s []float64) *C.double { return (*C.double)(unsafe.Pointer(&s[0])) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func bnStatsC(x []float32, c int, s, q []float64, bs, bq []float32) {
	rows := len(x) / c
	if rows == 0 {
		return
	}
	_, _, _, _ = s[c-1], q[c-1], bs[c-1], bq[c-1]
	C.amc_bn_stats(fp(x), C.long(rows), C.long(c), dp(s), dp(q), fp(bs), fp(bq))
}

func bnNormC(src, dst []float32, c int, scale, shift []float32, act actKind) {
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	_, _ = scale[c-1], shift[c-1]
	C.amc_bn_norm(fp(src), fp(dst), C.long(len(src)/c), C.long(c), fp(scale), fp(shift), C.int(act))
}

// outPtr is out's data for a fused activation (checked to cover n values),
// nil without one (the C kernels then do not read it).
func outPtr(out []float32, n int, act actKind) *C.float {
	if act == actNone {
		return nil
	}
	_ = out[n-1]
	return fp(out)
}

func bnGradStatsC(dy, out, x []float32, c int, mean, invstd []float32, act actKind, gs, bs []float64, bg, bb []float32) {
	rows := len(dy) / c
	if rows == 0 {
		return
	}
	n := rows * c
	_ = x[n-1]
	_, _, _, _, _, _ = mean[c-1], invstd[c-1], gs[c-1], bs[c-1], bg[c-1], bb[c-1]
	C.amc_bn_grad_stats(fp(dy), outPtr(out, n, act), fp(x), C.long(rows), C.long(c), fp(mean), fp(invstd), C.int(act),
		dp(gs), dp(bs), fp(bg), fp(bb))
}

func bnDXC(d, x, dy, out []float32, c int, mean, invstd, k, ka, kb []float32, act actKind, first bool) {
	if len(d) == 0 {
		return
	}
	_, _ = x[len(d)-1], dy[len(d)-1]
	_, _, _, _, _ = mean[c-1], invstd[c-1], k[c-1], ka[c-1], kb[c-1]
	C.amc_bn_dx(fp(d), fp(x), fp(dy), outPtr(out, len(d), act), C.long(len(d)/c), C.long(c), fp(mean), fp(invstd),
		fp(k), fp(ka), fp(kb), C.int(act), cbool(first))
}

func actC(dst, src []float32, relu6 bool) {
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	C.amc_act(fp(dst), fp(src), C.long(len(src)), cbool(relu6))
}

func actGradC(d, out, dy []float32, relu6, first bool) {
	if len(d) == 0 {
		return
	}
	_, _ = out[len(d)-1], dy[len(d)-1]
	C.amc_act_grad(fp(d), fp(out), fp(dy), C.long(len(d)), cbool(relu6), cbool(first))
}

func addC(dst, a, b []float32) {
	if len(a) == 0 {
		return
	}
	_ = dst[len(a)-1]
	if b != nil {
		_ = b[len(a)-1]
	}
	C.amc_add(fp(dst), fp(a), fp(b), C.long(len(a)))
}

func col2imC(dx, cols []float32, b int, in, out nn.Shape, k, stride, pad int) {
	if b == 0 {
		return
	}
	_ = dx[b*in.Size()-1]
	_ = cols[b*out.H*out.W*k*k*in.C-1]
	C.amc_col2im(fp(dx), fp(cols), C.long(b), C.long(in.H), C.long(in.W), C.long(in.C), C.long(out.H), C.long(out.W),
		C.long(k), C.long(stride), C.long(pad))
}

func dwBackwardC(dwt, dx, in, dy, wt []float32, g dwGeom, s0, s1 int, zero bool) {
	if s1 <= s0 {
		return
	}
	_ = dwt[g.K*g.K*g.C-1]
	if dx != nil {
		_ = dx[s1*g.H*g.W*g.C-1]
	}
	_ = in[s1*g.H*g.W*g.C-1]
	_ = dy[s1*g.Ho*g.Wo*g.C-1]
	_ = wt[g.K*g.K*g.C-1]
	C.amc_dw_backward(fp(dwt), fp(dx), fp(in), fp(dy), fp(wt), C.long(g.H), C.long(g.W), C.long(g.Ho), C.long(g.Wo),
		C.long(g.C), C.long(g.K), C.long(g.stride), C.long(g.pad), C.long(s0), C.long(s1), cbool(zero))
}
