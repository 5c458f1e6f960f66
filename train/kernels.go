package train

import "github.com/amcbench/amc/nn"

// The memory-bound loops of the training passes (batch norm, activations,
// residual adds, col2im, the depthwise backward pass; the depthwise forward
// pass is nn.DepthwiseRows). The cgo build
// (kernels_cgo.go) replaces them with C versions that gcc vectorises, which
// Go's compiler does not; both compute the same values up to float32
// rounding (TestKernelsMatchGo compares them).
var (
	bnStatsImpl     = bnStatsGo
	bnNormImpl      = bnNormGo
	bnGradStatsImpl = bnGradStatsGo
	bnDXImpl        = bnDXGo
	actImpl         = actGo
	actGradImpl     = actGradGo
	addImpl         = addGo
	col2imImpl      = col2imGo
	dwBackwardImpl  = dwBackwardGo
)

// bnStatsGo adds the per-channel sums and sums of squares of x's rows (C
// values each) into s and q: float32 partial sums over blocks of bnBlock
// rows, flushed into the float64 accumulators. bs and bq are zeroed scratch
// of C values.
func bnStatsGo(x []float32, C int, s, q []float64, bs, bq []float32) {
	rows := len(x) / C
	for r0 := 0; r0 < rows; r0 += bnBlock {
		for r := r0; r < min(rows, r0+bnBlock); r++ {
			row := x[r*C:][:C]
			bs, bq := bs[:len(row)], bq[:len(row)]
			for c, v := range row {
				bs[c] += v
				bq[c] += v * v
			}
		}
		for c := range bs {
			s[c] += float64(bs[c])
			q[c] += float64(bq[c])
			bs[c], bq[c] = 0, 0
		}
	}
}

// actKind is the activation a batch norm's kernels fuse: its output feeds
// only that ReLU or ReLU6, whose output the forward kernel writes directly
// and whose gradient mask the backward kernels apply on the fly. The C
// kernels (kernels_c.h) take these values as their int act argument.
type actKind int

const (
	actNone  actKind = 0
	actReLU  actKind = 1
	actReLU6 actKind = 2
)

// actOf returns op's actKind (actNone for anything but ReLU and ReLU6).
func actOf(op nn.OpKind) actKind {
	switch op {
	case nn.OpReLU:
		return actReLU
	case nn.OpReLU6:
		return actReLU6
	}
	return actNone
}

// bnNormGo writes dst = act(scale x + shift), row by row (C channels); act
// is applied as actGo does.
func bnNormGo(src, dst []float32, C int, scale, shift []float32, act actKind) {
	dst = dst[:len(src)]
	c := 0
	for j, v := range src { // flat: much faster than a loop per pixel with few channels
		dst[j] = scale[c]*v + shift[c]
		if c++; c == C {
			c = 0
		}
	}
	if act != actNone {
		actGo(dst, dst, act == actReLU6)
	}
}

// bnGradRow returns the gradient that reaches a batch norm in one row: dy,
// or, when the norm's activation is fused (act is not actNone), dy where the
// activation's output out is inside its linear range and zero elsewhere (as
// actGradGo), written into buf.
func bnGradRow(dy, out, buf []float32, act actKind) []float32 {
	if act == actNone {
		return dy
	}
	actGradGo(buf[:len(dy)], out[:len(dy)], dy, act == actReLU6, true)
	return buf[:len(dy)]
}

// bnGradStatsGo adds the per-channel sums of g xhat and of g into sumGX and
// sumG, blocked as bnStatsGo, where g is bnGradRow's gradient and xhat = (x -
// mean) invstd is recomputed from the norm's input x (out is read only when
// act is not actNone). bg and bb are zeroed scratch of C values.
func bnGradStatsGo(dy, out, x []float32, C int, mean, invstd []float32, act actKind, sumGX, sumG []float64, bg, bb []float32) {
	rows := len(dy) / C
	buf := make([]float32, C)
	bg, bb, mean, invstd = bg[:C], bb[:C], mean[:C], invstd[:C]
	for r0 := 0; r0 < rows; r0 += bnBlock {
		for r := r0; r < min(rows, r0+bnBlock); r++ {
			var o []float32
			if act != actNone {
				o = out[r*C:][:C]
			}
			g, xr := bnGradRow(dy[r*C:][:C], o, buf, act), x[r*C:][:C]
			for c, v := range g {
				bg[c] += v * ((xr[c] - mean[c]) * invstd[c])
				bb[c] += v
			}
		}
		for c := range bg {
			sumGX[c] += float64(bg[c])
			sumG[c] += float64(bb[c])
			bg[c], bb[c] = 0, 0
		}
	}
}

// bnDXGo writes (first) or adds k g - ka xhat - kb into d, per channel, with
// g and xhat as in bnGradStatsGo.
func bnDXGo(d, x, dy, out []float32, C int, mean, invstd, k, ka, kb []float32, act actKind, first bool) {
	rows := len(d) / C
	buf := make([]float32, C)
	mean, invstd, k, ka, kb = mean[:C], invstd[:C], k[:C], ka[:C], kb[:C]
	for r := 0; r < rows; r++ {
		var o []float32
		if act != actNone {
			o = out[r*C:][:C]
		}
		g, xr, dr := bnGradRow(dy[r*C:][:C], o, buf, act), x[r*C:][:C], d[r*C:][:C]
		for c, v := range g {
			v = k[c]*v - ka[c]*((xr[c]-mean[c])*invstd[c]) - kb[c]
			if first {
				dr[c] = v
			} else {
				dr[c] += v
			}
		}
	}
}

// actGo writes max(x, 0) into dst, capped at 6 for ReLU6.
func actGo(dst, src []float32, relu6 bool) {
	dst = dst[:len(src)]
	if relu6 {
		for j, v := range src {
			dst[j] = min(max(v, 0), 6)
		}
		return
	}
	for j, v := range src {
		if v < 0 { // NaN passes, as in the C version (a diverging run shows a NaN loss)
			v = 0
		}
		dst[j] = v
	}
}

// actGradGo writes (first) or adds dy where the activation's output is
// inside its linear range (0 < out, and out < 6 for ReLU6), zero elsewhere.
func actGradGo(d, out, dy []float32, relu6, first bool) {
	out, dy = out[:len(d)], dy[:len(d)]
	for j, o := range out {
		var v float32
		if o > 0 && (!relu6 || o < 6) {
			v = dy[j]
		}
		if first {
			d[j] = v
		} else {
			d[j] += v
		}
	}
}

// addGo writes a + b into dst, or adds a into dst when b is nil.
func addGo(dst, a, b []float32) {
	dst = dst[:len(a)]
	if b == nil {
		for j, v := range a {
			dst[j] += v
		}
		return
	}
	b = b[:len(a)]
	for j, v := range a {
		dst[j] = v + b[j]
	}
}

// col2imGo adds cols back into dx (NHWC), the transpose of im2col: b
// samples, cols [b*Ho*Wo][K*K*C] with channels fastest.
func col2imGo(dx, cols []float32, b int, in, out nn.Shape, K, stride, pad int) {
	C := in.C
	row := K * K * C
	for s := 0; s < b; s++ {
		xs := dx[s*in.H*in.W*C:]
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				src := cols[((s*out.H+oy)*out.W+ox)*row:][:row]
				ix0 := ox*stride - pad
				for ky := 0; ky < K; ky++ {
					iy := oy*stride - pad + ky
					if iy < 0 || iy >= in.H {
						continue
					}
					sk := src[ky*K*C:][:K*C]
					if stride == 1 && ix0 >= 0 && ix0+K <= in.W {
						d := xs[(iy*in.W+ix0)*C:][:len(sk)]
						for j, v := range sk {
							d[j] += v
						}
						continue
					}
					for kx := 0; kx < K; kx++ {
						ix := ix0 + kx
						if ix < 0 || ix >= in.W {
							continue
						}
						d := xs[(iy*in.W+ix)*C:][:C]
						for c, v := range sk[kx*C:][:C] {
							d[c] += v
						}
					}
				}
			}
		}
	}
}

// dwGeom is a depthwise convolution's geometry: samples s0..s1 of NHWC
// input (H x W) and output (Ho x Wo), C channels, K x K kernel.
type dwGeom struct {
	H, W, Ho, Wo, C, K, stride, pad int
}

// dwBackwardGo adds the weight gradient of samples s0..s1 into dwt
// ([ky][kx][c]) and, if dx is not nil, their input gradient into dx
// (written instead of added when zero is set).
func dwBackwardGo(dwt, dx, in, dy, wt []float32, g dwGeom, s0, s1 int, zero bool) {
	C, K := g.C, g.K
	for s := s0; s < s1; s++ {
		if zero && dx != nil {
			clear(dx[s*g.H*g.W*C:][:g.H*g.W*C])
		}
		for oy := 0; oy < g.Ho; oy++ {
			for ox := 0; ox < g.Wo; ox++ {
				gy := dy[((s*g.Ho+oy)*g.Wo+ox)*C:][:C]
				for ky := 0; ky < K; ky++ {
					iy := oy*g.stride - g.pad + ky
					if iy < 0 || iy >= g.H {
						continue
					}
					for kx := 0; kx < K; kx++ {
						ix := ox*g.stride - g.pad + kx
						if ix < 0 || ix >= g.W {
							continue
						}
						off := ((s*g.H+iy)*g.W + ix) * C
						src := in[off:][:C]
						k := (ky*K + kx) * C
						dw := dwt[k:][:C]
						for c, v := range gy {
							dw[c] += v * src[c]
						}
						if dx != nil {
							d, w := dx[off:][:C], wt[k:][:C]
							for c, v := range gy {
								d[c] += v * w[c]
							}
						}
					}
				}
			}
		}
	}
}
