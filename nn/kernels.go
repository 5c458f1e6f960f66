package nn

import "math"

// tileRows picks how many output pixels one task covers.
func (pl *Plan) tileRows(m int) int {
	t := (m + pl.workers - 1) / pl.workers
	return max(32, min(tileMax, t))
}

func (pl *Plan) scratchFor(worker, size int) []float32 {
	if len(pl.scratch[worker]) < size {
		pl.scratch[worker] = make([]float32, size)
	}
	return pl.scratch[worker][:size]
}

func (pl *Plan) run(st *step, n int) {
	src := pl.bufs[st.src][:n*st.in.Size()]
	dst := pl.bufs[st.dst][:n*st.out.Size()]
	switch st.kind {
	case stConv, stDepthwise:
		st.cols = 0
		if st.wino = pl.winogradNow(st, n); st.wino {
			T := pl.winogradTiles(st, n)
			pl.parallel((winoTiles(st.out, n)+T-1)/T, st, src, dst, n)
			return
		}
		m := n * st.out.H * st.out.W
		if st.cols = pl.gemmColumnTasks(st, m); st.cols > 0 {
			pl.parallel(st.cols, st, src, dst, n)
			return
		}
		pl.parallel((m+pl.tileRows(m)-1)/pl.tileRows(m), st, src, dst, n)
	case stScaleShift:
		pl.parallel(n, st, src, dst, n)
	case stAct:
		copy(dst, src)
		applyAct(dst, st.act)
	case stAdd:
		pl.parallel(n, st, src, dst, n)
	case stShortcutA:
		in, out := st.in, st.out
		for b := 0; b < n; b++ {
			for y := 0; y < out.H; y++ {
				for x := 0; x < out.W; x++ {
					d := dst[((b*out.H+y)*out.W+x)*out.C:][:out.C]
					s := src[((b*in.H+y*st.stride)*in.W+x*st.stride)*in.C:][:in.C]
					for j, c := range st.chanMap {
						if c >= 0 {
							d[j] = s[c]
						} else {
							d[j] = 0
						}
					}
				}
			}
		}
	case stPool:
		pl.parallel(n*st.out.H, st, src, dst, n)
	case stGlobalAvg:
		hw, c := st.in.H*st.in.W, st.in.C
		inv := 1 / float32(hw)
		for b := 0; b < n; b++ {
			d := dst[b*c : (b+1)*c]
			clear(d)
			for j := 0; j < hw; j++ {
				s := src[(b*hw+j)*c:][:c]
				for k, v := range s {
					d[k] += v
				}
			}
			for k := range d {
				d[k] *= inv
			}
		}
	case stFlatten:
		nhwcToNCHW(dst, src, n, st.in)
	case stLinear:
		sgemm(true, n, st.out.C, st.in.C, src, st.in.C, st.w, st.in.C, dst, st.out.C)
		addBiasAct(dst, n, st.out.C, st.out.C, st.bias, nil, actNone)
	}
}

// tile runs one task of a step: a tile of output pixels (or, for column
// tasks, a block of output channels) for convolutions, a sample for
// element-wise steps, an output row for pooling.
func (pl *Plan) tile(worker, t int, st *step, src, dst []float32, n int) {
	switch st.kind {
	case stConv:
		if st.wino {
			pl.winogradTile(worker, t, st, src, dst, n)
			return
		}
		if st.cols > 0 {
			pl.convColumns(t, st, src, dst, n)
			return
		}
		pl.convTile(worker, t, st, src, dst, n)
	case stDepthwise:
		pl.depthwiseTile(t, st, src, dst, n)
	case stPool:
		poolRow(t, st, src, dst)
	case stScaleShift:
		c, sz := st.in.C, st.in.Size()
		s, d := src[t*sz:(t+1)*sz], dst[t*sz:(t+1)*sz]
		for j := 0; j < len(s); j += c {
			for k := 0; k < c; k++ {
				d[j+k] = s[j+k]*st.w[k] + st.bias[k]
			}
			applyAct(d[j:j+c], st.act)
		}
	case stAdd:
		o := pl.bufs[st.src2]
		lo, hi := t*st.out.Size(), (t+1)*st.out.Size()
		for j := lo; j < hi; j++ {
			dst[j] = src[j] + o[j]
		}
		applyAct(dst[lo:hi], st.act)
	}
}

// poolRow runs output row t (counted over the batch) of a max or average
// pooling step.
func poolRow(t int, st *step, src, dst []float32) {
	in, out := st.in, st.out
	c := in.C
	inv := 1 / float32(st.k*st.k)
	b, y := t/out.H, t%out.H
	for x := 0; x < out.W; x++ {
		d := dst[((b*out.H+y)*out.W+x)*c:][:c]
		for k := range d {
			if st.maxPool {
				d[k] = float32(math.Inf(-1))
			} else {
				d[k] = 0
			}
		}
		for ky := 0; ky < st.k; ky++ {
			for kx := 0; kx < st.k; kx++ {
				iy, ix := y*st.stride+ky-st.pad, x*st.stride+kx-st.pad
				if iy < 0 || ix < 0 || iy >= in.H || ix >= in.W {
					continue // padding (max pooling only) never wins
				}
				s := src[((b*in.H+iy)*in.W+ix)*c:][:c]
				for k, v := range s {
					if st.maxPool {
						if v > d[k] {
							d[k] = v
						}
					} else {
						d[k] += v
					}
				}
			}
		}
		if !st.maxPool {
			for k := range d {
				d[k] *= inv
			}
		}
	}
}

// convTile runs a dense or grouped convolution on one tile of output pixels
// as im2col + SGEMM; 1x1 stride-1 convolutions read the input directly.
func (pl *Plan) convTile(worker, t int, st *step, src, dst []float32, n int) {
	in, out := st.in, st.out
	cpg, opg := in.C/st.groups, out.C/st.groups
	K := st.k * st.k * cpg
	m := n * out.H * out.W
	rows := pl.tileRows(m)
	r0 := t * rows
	r1 := min(m, r0+rows)
	c := dst[r0*out.C : r1*out.C]
	if st.k == 1 && st.stride == 1 && st.pad == 0 && st.groups == 1 {
		gemmNNImpl(r1-r0, out.C, K, src[r0*in.C:r1*in.C], in.C, st.w, out.C, c, out.C)
	} else {
		col := pl.scratchFor(worker, (r1-r0)*K)
		for g := 0; g < st.groups; g++ {
			im2colImpl(col, src, in, out, st.k, st.stride, st.pad, r0, r1, g*cpg, cpg)
			gemmNNImpl(r1-r0, opg, K, col, K, st.w[g*K*opg:(g+1)*K*opg], opg, c[g*opg:], out.C)
		}
	}
	var res []float32
	if st.res >= 0 {
		res = pl.bufs[st.res][r0*out.C : r1*out.C]
	}
	biasActImpl(c, r1-r0, out.C, out.C, st.bias, res, st.act)
}

// gemmColumnTasks says in how many tasks of output channels (columns) to split
// a 1x1 stride-1 convolution of m output pixels, or 0 to split it in tiles
// of pixels (rows) as usual. Tiles of rows each read all the weights, tasks of
// columns each read all the input: with few pixels and many channels (batch 1
// deep in a network: 7x7 x 2048), splitting by columns reads the weights
// once instead of once per tile. With amc's AVX-512 product (gemmNNExact)
// each output is the same chain of multiply-adds either way; with a BLAS's
// product the rounding may depend on the split, as it already does on the
// tiles of rows.
func (pl *Plan) gemmColumnTasks(st *step, m int) int {
	if st.kind != stConv || st.k != 1 || st.stride != 1 || st.pad != 0 || st.groups != 1 || pl.workers < 2 {
		return 0
	}
	rowTiles := (m + pl.tileRows(m) - 1) / pl.tileRows(m)
	tasks := min(2*pl.workers, (st.out.C+31)/32)
	if tasks < 2 || tasks*m >= rowTiles*st.out.C {
		return 0
	}
	return tasks
}

// convColumns runs column task t of a 1x1 stride-1 convolution (see
// gemmColumnTasks): output channels in blocks of 32, all pixels.
func (pl *Plan) convColumns(t int, st *step, src, dst []float32, n int) {
	in, out := st.in, st.out
	blocks := (out.C + 31) / 32
	j0, j1 := t*blocks/st.cols*32, min(out.C, (t+1)*blocks/st.cols*32)
	if j1 <= j0 {
		return
	}
	m := n * out.H * out.W
	gemmNNImpl(m, j1-j0, in.C, src[:m*in.C], in.C, st.w[j0:], out.C, dst[j0:], out.C)
	var res []float32
	if st.res >= 0 {
		res = pl.bufs[st.res][j0:]
	}
	biasActImpl(dst[j0:], m, j1-j0, out.C, st.bias[j0:j1], res, st.act)
}

// im2colGo writes rows r0..r1 (output pixels) of the patch matrix: each row is
// the k x k x cn input patch (channels c0..c0+cn) in (ky, kx, c) order. When
// the patch covers all channels, the k pixels of one kernel row are adjacent
// in NHWC memory and are copied in one piece.
func im2colGo(col, src []float32, in, out Shape, k, stride, pad, r0, r1, c0, cn int) {
	ohw := out.H * out.W
	K := k * k * cn
	whole := cn == in.C
	for r := r0; r < r1; r++ {
		b, p := r/ohw, r%ohw
		oy, ox := p/out.W, p%out.W
		row := col[(r-r0)*K : (r-r0+1)*K]
		x0 := ox*stride - pad
		for ky := 0; ky < k; ky++ {
			iy := oy*stride - pad + ky
			seg := row[ky*k*cn : (ky+1)*k*cn]
			if iy < 0 || iy >= in.H {
				clear(seg)
				continue
			}
			base := (b*in.H + iy) * in.W
			if whole && x0 >= 0 && x0+k <= in.W {
				copy(seg, src[(base+x0)*in.C:(base+x0+k)*in.C])
				continue
			}
			for kx := 0; kx < k; kx++ {
				ix := x0 + kx
				d := seg[kx*cn : (kx+1)*cn]
				if ix < 0 || ix >= in.W {
					clear(d)
					continue
				}
				copy(d, src[(base+ix)*in.C+c0:][:cn])
			}
		}
	}
}

// depthwiseTile runs a depthwise convolution directly on NHWC data for one
// tile of output pixels, vectorised over channels.
func (pl *Plan) depthwiseTile(t int, st *step, src, dst []float32, n int) {
	m := n * st.out.H * st.out.W
	rows := pl.tileRows(m)
	r0 := t * rows
	dwRowsImpl(dst, src, st.w, st.bias, st.in, st.out, st.k, st.stride, st.pad, r0, min(m, r0+rows), st.act)
}

// DepthwiseRows writes output pixels r0..r1 (counted over the batch) of a
// depthwise convolution of NHWC src (shape in) into dst (shape out): weights
// w as [ky][kx][c], plus bias, no activation; the vectorised C loop in the
// cgo build. The trainer's forward pass uses it.
func DepthwiseRows(dst, src, w, bias []float32, in, out Shape, k, stride, pad, r0, r1 int) {
	dwRowsImpl(dst, src, w, bias, in, out, k, stride, pad, r0, r1, actNone)
}

// dwRowsGo writes output pixels r0..r1 (counted over the batch) of a
// depthwise convolution with weights w ([ky][kx][c]), plus bias, activated.
func dwRowsGo(dst, src, w, bias []float32, in, out Shape, k, stride, pad, r0, r1 int, a act) {
	c := in.C
	ohw := out.H * out.W
	for r := r0; r < r1; r++ {
		b, p := r/ohw, r%ohw
		oy, ox := p/out.W, p%out.W
		d := dst[r*c : (r+1)*c]
		copy(d, bias)
		for ky := 0; ky < k; ky++ {
			iy := oy*stride - pad + ky
			if iy < 0 || iy >= in.H {
				continue
			}
			for kx := 0; kx < k; kx++ {
				ix := ox*stride - pad + kx
				if ix < 0 || ix >= in.W {
					continue
				}
				s := src[((b*in.H+iy)*in.W+ix)*c:][:c]
				wk := w[(ky*k+kx)*c:][:c]
				for j, v := range s {
					d[j] += v * wk[j]
				}
			}
		}
		applyAct(d, a)
	}
}

// tileMax caps the output pixels per task: measured on ResNet-20/56 at batch
// 100, 256-768 perform alike and 2048+ lose 20-40% (the im2col tile falls out
// of cache).
const tileMax = 512

// The memory-bound loops, replaced by vectorised C versions in the cgo build.
var (
	im2colImpl    = im2colGo
	biasActImpl   = addBiasAct
	winoInImpl    = winoInGo
	winoOutImpl   = winoOutGo
	winoMulImpl   = winoMulGo
	winoDyImpl    = winoDyGo
	winoWGradImpl = winoWGradGo
	// winoWGradInPlace says whether winoWGradImpl reads its operands in
	// place (no packing), so that short calls cost no more per tile.
	winoWGradInPlace = func() bool { return false }
	dwRowsImpl       = dwRowsGo
	// gemmNNImpl computes C = A B for the convolutions that are not
	// Winograd's (row-major, no transposes).
	gemmNNImpl = gemmNNBLAS
	// gemmNNExact says whether gemmNNImpl's outputs do not depend on how
	// its rows and columns are split (amc's AVX-512 product).
	gemmNNExact = func() bool { return false }
)

func gemmNNBLAS(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	sgemm(false, m, n, k, a, lda, b, ldb, c, ldc)
}

// Patches writes the im2col rows r0..r1 (output pixels, counted over the
// batch) of convolution n applied to NHWC input src of shape in: each row is
// a k x k x InC patch in (ky, kx, c) order, the layout Plan's weights use.
func Patches(dst, src []float32, in Shape, n *Node, out Shape, r0, r1 int) {
	im2colImpl(dst, src, in, out, n.Kernel, n.Stride, n.Pad, r0, r1, 0, in.C)
}
