package nn

import (
	"fmt"
	"math"
)

// Reference runs the graph the plain way: node by node in NCHW layout with
// float64 accumulation, batch norm unfolded, nothing fused. It is slow and
// exists to check the fast path (Plan). x holds n samples in NHWC layout; the
// result holds n rows of the output node's values (in NCHW order per sample).
func Reference(g *Graph, p Params, x []float32, n int) ([]float32, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	if err := g.Check(p); err != nil {
		return nil, err
	}
	in := g.Input
	if len(x) != n*in.Size() {
		return nil, fmt.Errorf("reference: input has %d values, want %d x %v", len(x), n, in)
	}
	vals := make([][]float64, len(g.Nodes))
	v0 := make([]float64, len(x))
	for b := 0; b < n; b++ {
		for h := 0; h < in.H; h++ {
			for w := 0; w < in.W; w++ {
				for c := 0; c < in.C; c++ {
					v0[((b*in.C+c)*in.H+h)*in.W+w] = float64(x[((b*in.H+h)*in.W+w)*in.C+c])
				}
			}
		}
	}
	vals[0] = v0
	for i := 1; i < len(g.Nodes); i++ {
		nd := g.Nodes[i]
		src, is := vals[nd.Inputs[0]], shapes[nd.Inputs[0]]
		os := shapes[i]
		out := make([]float64, n*os.Size())
		switch nd.Op {
		case OpConv:
			wt := p[nd.Name+".weight"].Data
			cpg, opg := nd.InC/nd.Groups, nd.OutC/nd.Groups
			k := nd.Kernel
			for b := 0; b < n; b++ {
				for oc := 0; oc < nd.OutC; oc++ {
					grp := oc / opg
					for oy := 0; oy < os.H; oy++ {
						for ox := 0; ox < os.W; ox++ {
							var s float64
							for ic := 0; ic < cpg; ic++ {
								c := grp*cpg + ic
								for ky := 0; ky < k; ky++ {
									iy := oy*nd.Stride - nd.Pad + ky
									if iy < 0 || iy >= is.H {
										continue
									}
									for kx := 0; kx < k; kx++ {
										ix := ox*nd.Stride - nd.Pad + kx
										if ix < 0 || ix >= is.W {
											continue
										}
										s += src[((b*is.C+c)*is.H+iy)*is.W+ix] * float64(wt[((oc*cpg+ic)*k+ky)*k+kx])
									}
								}
							}
							if nd.Bias {
								s += float64(p[nd.Name+".bias"].Data[oc])
							}
							out[((b*os.C+oc)*os.H+oy)*os.W+ox] = s
						}
					}
				}
			}
		case OpBatchNorm:
			gam, bet := p[nd.Name+".weight"].Data, p[nd.Name+".bias"].Data
			mu, va := p[nd.Name+".running_mean"].Data, p[nd.Name+".running_var"].Data
			hw := os.H * os.W
			for b := 0; b < n; b++ {
				for c := 0; c < os.C; c++ {
					sd := math.Sqrt(float64(va[c]) + float64(nd.Eps))
					for j := 0; j < hw; j++ {
						idx := (b*os.C+c)*hw + j
						out[idx] = (src[idx]-float64(mu[c]))/sd*float64(gam[c]) + float64(bet[c])
					}
				}
			}
		case OpReLU, OpReLU6:
			for j, v := range src {
				v = math.Max(v, 0)
				if nd.Op == OpReLU6 {
					v = math.Min(v, 6)
				}
				out[j] = v
			}
		case OpAdd:
			o := vals[nd.Inputs[1]]
			for j := range out {
				out[j] = src[j] + o[j]
			}
		case OpShortcutA:
			m := nd.ShortcutMap(is.C)
			for b := 0; b < n; b++ {
				for j, c := range m {
					if c < 0 {
						continue
					}
					for y := 0; y < os.H; y++ {
						for xx := 0; xx < os.W; xx++ {
							out[((b*os.C+j)*os.H+y)*os.W+xx] = src[((b*is.C+c)*is.H+y*nd.Stride)*is.W+xx*nd.Stride]
						}
					}
				}
			}
		case OpMaxPool, OpAvgPool:
			for b := 0; b < n; b++ {
				for c := 0; c < os.C; c++ {
					for y := 0; y < os.H; y++ {
						for xx := 0; xx < os.W; xx++ {
							s := math.Inf(-1)
							if nd.Op == OpAvgPool {
								s = 0
							}
							for ky := 0; ky < nd.Kernel; ky++ {
								for kx := 0; kx < nd.Kernel; kx++ {
									iy, ix := y*nd.Stride+ky-nd.Pad, xx*nd.Stride+kx-nd.Pad
									if iy < 0 || ix < 0 || iy >= is.H || ix >= is.W {
										continue // padding (max pooling only) never wins
									}
									v := src[((b*is.C+c)*is.H+iy)*is.W+ix]
									if nd.Op == OpAvgPool {
										s += v
									} else {
										s = math.Max(s, v)
									}
								}
							}
							if nd.Op == OpAvgPool {
								s /= float64(nd.Kernel * nd.Kernel)
							}
							out[((b*os.C+c)*os.H+y)*os.W+xx] = s
						}
					}
				}
			}
		case OpGlobalAvgPool:
			hw := is.H * is.W
			for b := 0; b < n; b++ {
				for c := 0; c < is.C; c++ {
					var s float64
					for j := 0; j < hw; j++ {
						s += src[(b*is.C+c)*hw+j]
					}
					out[b*is.C+c] = s / float64(hw)
				}
			}
		case OpFlatten:
			copy(out, src)
		case OpLinear:
			wt := p[nd.Name+".weight"].Data
			for b := 0; b < n; b++ {
				for o := 0; o < nd.OutC; o++ {
					var s float64
					for j := 0; j < nd.InC; j++ {
						s += src[b*nd.InC+j] * float64(wt[o*nd.InC+j])
					}
					if nd.Bias {
						s += float64(p[nd.Name+".bias"].Data[o])
					}
					out[b*nd.OutC+o] = s
				}
			}
		default:
			return nil, fmt.Errorf("reference: node %s: unsupported op %s", nd.Name, nd.Op)
		}
		vals[i] = out
	}
	res := vals[g.Output()]
	y := make([]float32, len(res))
	for i, v := range res {
		y[i] = float32(v)
	}
	return y, nil
}
