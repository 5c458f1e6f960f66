// Package train trains and fine-tunes the zoo's networks in Go: a
// training-mode forward pass (batch-statistics batch norm) that keeps what
// the backward pass needs, backpropagation for every layer type of the zoo
// on the same BLAS as the inference engine, SGD with Nesterov momentum,
// weight decay and a cosine schedule, and a resumable epoch loop.
//
// gorgonia is not used here: its convolution forward+backward measured 3-7
// GMAC/s on this project's machine, against ~80 for PyTorch; these kernels
// are Winograd and im2col + SGEMM as in the inference engine (amc's AVX-512
// kernels where the CPU has AVX-512F, else OpenBLAS in the cgo build).
package train

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/amcbench/amc/nn"
)

// Net is a graph with its parameters and gradients, ready for training
// steps. Activations are NHWC float32.
type Net struct {
	G       *nn.Graph
	Params  nn.Params
	Grads   map[string][]float32
	shapes  []nn.Shape
	n       int         // batch the buffers hold
	act     [][]float32 // per node: output
	grad    [][]float32 // per node: gradient of the loss with respect to the output
	touched []bool      // per node: its gradient has been written in this backward pass
	bn      []bnCache   // per node (batch norm only)
	// bnAct[i], for a batch norm whose output feeds only a ReLU or ReLU6,
	// is that activation's node, and actBN maps it back (0 elsewhere): the
	// norm's kernels write the activation's output and apply its gradient
	// mask, so the norm's own output and gradient are never stored.
	bnAct, actBN []int
	argmax       [][]int32 // per node (max pooling only)
	// per chunk: a convolution tile's im2col matrix and its gradient
	tileCols, tileDCols [][]float32
	winoScratch         [nChunks][]float32
	// per chunk: the Winograd weight gradient's partial sums (winoGradBuf),
	// kept between layers and steps instead of allocated per call
	winoGradParts [nChunks][]float32
	// per step: conv weights reordered to [out][ky][kx][in], and (keys with
	// #wino, #winoT, #dw) Winograd-transformed and depthwise [ky][kx][c] ones
	wr map[string][]float32
	// the arrays behind wr's entries, kept between steps (stepBuf)
	wrBufs  map[string][]float32
	workers int
	// BNMomentum is the running-statistics momentum (PyTorch's 0.1).
	BNMomentum float32
	// Frozen, if set, lists parameters whose zero entries stay zero
	// (fine-grained pruned models): their gradient is masked.
	Masks map[string][]bool
}

// bnCache is what a batch norm's backward pass needs from its forward one:
// the batch statistics (the normalised input is recomputed from the norm's
// input, which stays in its producer's output buffer).
type bnCache struct {
	mean   []float32
	invstd []float32
}

// NewNet prepares g with parameters p (used in place: training updates
// them). Grouped convolutions must be depthwise.
func NewNet(g *nn.Graph, p nn.Params) (*Net, error) {
	if err := g.Check(p); err != nil {
		return nil, err
	}
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	for _, nd := range g.Nodes {
		if nd.Op == nn.OpConv && nd.Groups > 1 && !(nd.Groups == nd.InC && nd.Groups == nd.OutC) {
			return nil, fmt.Errorf("train: %s: grouped convolutions other than depthwise are not supported", nd.Name)
		}
	}
	net := &Net{G: g, Params: p, Grads: map[string][]float32{}, shapes: shapes, wr: map[string][]float32{}, wrBufs: map[string][]float32{},
		workers: runtime.GOMAXPROCS(0), BNMomentum: 0.1}
	net.bnAct, net.actBN = fusedActivations(g)
	for _, s := range g.ParamSpecs() {
		if s.Learnable {
			net.Grads[s.Name] = make([]float32, len(p[s.Name].Data))
		}
	}
	return net, nil
}

// fusedActivations pairs each batch norm whose output is read by exactly
// one node, a ReLU or ReLU6, with that node (see Net.bnAct).
func fusedActivations(g *nn.Graph) (bnAct, actBN []int) {
	readers := make([]int, len(g.Nodes))
	for _, nd := range g.Nodes {
		for _, in := range nd.Inputs {
			readers[in]++
		}
	}
	bnAct, actBN = make([]int, len(g.Nodes)), make([]int, len(g.Nodes))
	for j, nd := range g.Nodes {
		if actOf(nd.Op) == actNone || len(nd.Inputs) != 1 {
			continue
		}
		i := nd.Inputs[0]
		if i > 0 && g.Nodes[i].Op == nn.OpBatchNorm && readers[i] == 1 {
			bnAct[i], actBN[j] = j, i
		}
	}
	return bnAct, actBN
}

// fusedAct is the activation batch norm i is fused with (actNone if none).
func (net *Net) fusedAct(i int) actKind {
	if j := net.bnAct[i]; j != 0 {
		return actOf(net.G.Nodes[j].Op)
	}
	return actNone
}

func (net *Net) size(batch int) {
	if batch <= net.n {
		return
	}
	net.n = batch
	L := len(net.G.Nodes)
	net.act = make([][]float32, L)
	net.grad = make([][]float32, L)
	net.touched = make([]bool, L)
	net.bn = make([]bnCache, L)
	net.argmax = make([][]int32, L)
	for i, nd := range net.G.Nodes {
		s := net.shapes[i]
		if net.bnAct[i] == 0 { // a fused norm writes into its activation's buffers
			net.act[i] = make([]float32, batch*s.Size())
			net.grad[i] = make([]float32, batch*s.Size())
		}
		switch nd.Op {
		case nn.OpBatchNorm:
			net.bn[i] = bnCache{mean: make([]float32, s.C), invstd: make([]float32, s.C)}
		case nn.OpMaxPool:
			net.argmax[i] = make([]int32, batch*s.Size())
		}
	}
	net.tileCols = make([][]float32, nChunks)
	net.tileDCols = make([][]float32, nChunks)
}

// tileRows is the target number of output rows (pixels) per convolution
// tile: a tile's im2col matrix stays in cache between the matrix products.
const tileRows = 512

// tiles splits b samples into groups of whole samples with about tileRows
// output rows each (whole samples, so that tiles never share input pixels).
func tiles(b, rowsPerSample int) (per, n int) {
	per = max(1, tileRows/rowsPerSample)
	return per, (b + per - 1) / per
}

// scratch returns chunk ci's tile buffers of at least n values each.
func (net *Net) scratch(ci, n int) (cols, dcols []float32) {
	if len(net.tileCols[ci]) < n { // each chunk touches only its own entry
		net.tileCols[ci] = make([]float32, n)
		net.tileDCols[ci] = make([]float32, n)
	}
	return net.tileCols[ci][:n], net.tileDCols[ci][:n]
}

// sgemm is nn.Gemm: amc's AVX-512 product where the CPU has it, else BLAS.
func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nn.Gemm(tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// convForward computes a dense (groups 1) convolution tile by tile: im2col
// of a few samples, then one matrix product, in each of the workers.
func (net *Net) convForward(nd *nn.Node, in, out []float32, b int, is, os nn.Shape) {
	kk := nd.Kernel * nd.Kernel * nd.InC
	if useWinograd && nd.InC+nd.OutC <= winoMaxCK && nn.WinogradApplies(nd.Kernel, nd.Stride, nd.Pad, nd.Groups, nd.InC, nd.OutC, os, b) {
		net.winograd(out, in, nil, net.winoWeights(nd, false), is, os, b)
		return
	}
	w := net.reorder(nd)
	if isPointwise(nd) {
		net.gemm(false, true, b*os.H*os.W, nd.OutC, kk, in, kk, w, kk, 0, out, nd.OutC)
		return
	}
	rps := os.H * os.W
	per, nt := tiles(b, rps)
	net.chunked(nt, func(ci, lo, hi int) {
		cols, _ := net.scratch(ci, per*rps*kk)
		for t := lo; t < hi; t++ {
			s0, s1 := t*per, min(b, (t+1)*per)
			rows := (s1 - s0) * rps
			nn.Patches(cols, in, is, nd, os, s0*rps, s1*rps)
			sgemm(false, true, rows, nd.OutC, kk, cols, kk, w, kk, 0, out[s0*rps*nd.OutC:], nd.OutC)
		}
	})
}

// convBackward accumulates the weight gradient (dWr, [out][kk]) and, if
// dx is not nil, the input gradient, tile by tile; first says dx has not
// been written in this pass.
func (net *Net) convBackward(nd *nn.Node, in, dy, dx []float32, b int, is, os nn.Shape, first bool) []float32 {
	kk := nd.Kernel * nd.Kernel * nd.InC
	if isPointwise(nd) {
		w := net.reorder(nd)
		dwr := make([]float32, nd.OutC*kk)
		net.gemm(true, false, nd.OutC, kk, b*os.H*os.W, dy, nd.OutC, in, kk, 0, dwr, kk)
		if dx != nil {
			beta := float32(1)
			if first {
				beta = 0
			}
			net.gemm(false, false, b*os.H*os.W, kk, nd.OutC, dy, nd.OutC, w, kk, beta, dx, kk)
		}
		return dwr
	}
	// The input gradient of a 3x3 stride-1 convolution is the same kind of
	// convolution of dy (weights flipped, in and out swapped): Winograd.
	if dx != nil && useWinograd && nd.InC+nd.OutC <= winoMaxCK && nn.WinogradApplies(nd.Kernel, nd.Stride, nd.Pad, nd.Groups, nd.OutC, nd.InC, is, b) {
		var res []float32
		if !first {
			res = dx
		}
		net.winograd(dx, dy, res, net.winoWeights(nd, true), os, is, b)
		dx = nil
	}
	if useWinograd && nd.InC+nd.OutC <= winoMaxCK && nn.WinogradApplies(nd.Kernel, nd.Stride, nd.Pad, nd.Groups, nd.InC, nd.OutC, os, b) {
		dwr := net.winogradWeightGrad(nd, in, dy, is, os, b)
		if dx == nil {
			return dwr
		}
		net.convBackwardTiles(nd, in, dy, dx, b, is, os, first, false)
		return dwr
	}
	return net.convBackwardTiles(nd, in, dy, dx, b, is, os, first, true)
}

// winogradWeightGrad returns a 3x3 stride-1 convolution's weight gradient
// as [out][ky][kx][in], through Winograd's transforms: per chunk of tasks a
// transformed gradient, summed in chunk order, then transformed back. The
// tasks and chunks do not depend on the number of workers, so neither does
// the result's rounding.
func (net *Net) winogradWeightGrad(nd *nn.Node, in, dy []float32, is, os nn.Shape, b int) []float32 {
	C, K := nd.InC, nd.OutC
	per, tasks, size := nn.WinogradGradTasks(is, os, b)
	var parts [nChunks][]float32
	net.chunked(tasks, func(ci, lo, hi int) {
		du := net.winoGradBuf(ci, 16*C*K)
		for t := lo; t < hi; t++ {
			nn.WinogradWeightGrad(du, in, dy, net.winoBuf(ci, size), is, os, b, per, t)
		}
		parts[ci] = du
	})
	var du []float32
	for _, p := range parts {
		if du == nil {
			du = p
			continue
		}
		for j, v := range p {
			du[j] += v
		}
	}
	dg := nn.WinogradGradWeights(du, C, K) // (ky, kx, c) x K
	dwr := make([]float32, len(dg))
	for j := 0; j < 9; j++ {
		for c := 0; c < C; c++ {
			for k, v := range dg[(j*C+c)*K:][:K] {
				dwr[(k*9+j)*C+c] = v
			}
		}
	}
	return dwr
}

// convBackwardTiles is convBackward on im2col tiles: the weight gradient
// (if weights) and the input gradient (if dx is not nil).
func (net *Net) convBackwardTiles(nd *nn.Node, in, dy, dx []float32, b int, is, os nn.Shape, first, weights bool) []float32 {
	kk := nd.Kernel * nd.Kernel * nd.InC
	w := net.reorder(nd)
	rps := os.H * os.W
	per, nt := tiles(b, rps)
	var parts [nChunks][]float32
	net.chunked(nt, func(ci, lo, hi int) {
		cols, dcols := net.scratch(ci, per*rps*kk)
		var part []float32
		if weights {
			part = make([]float32, nd.OutC*kk)
		}
		for t := lo; t < hi; t++ {
			s0, s1 := t*per, min(b, (t+1)*per)
			rows := (s1 - s0) * rps
			g := dy[s0*rps*nd.OutC:]
			if weights {
				nn.Patches(cols, in, is, nd, os, s0*rps, s1*rps)
				sgemm(true, false, nd.OutC, kk, rows, g, nd.OutC, cols, kk, 1, part, kk)
			}
			if dx != nil {
				sgemm(false, false, rows, kk, nd.OutC, g, nd.OutC, w, kk, 0, dcols, kk)
				d := dx[s0*is.Size() : s1*is.Size()]
				if first {
					clear(d)
				}
				col2imImpl(d, dcols, s1-s0, is, os, nd.Kernel, nd.Stride, nd.Pad)
			}
		}
		parts[ci] = part
	})
	if !weights {
		return nil
	}
	dwr := parts[0]
	for _, p := range parts[1:] {
		for j, v := range p {
			dwr[j] += v
		}
	}
	return dwr
}

// useWinograd lets the tests compare the Winograd path with im2col.
var useWinograd = true

// winoMaxCK bounds input plus output channels on the trainer's Winograd
// path, below the inference engine's bound: VGG-16's 512-channel layers
// trained slower with it (VGG-16 step at batch 128, 2026-12-03, three
// interleaved runs each: 72-79 img/s with this bound, 65-66 without).
const winoMaxCK = 256

// winograd computes the 3x3 stride-1 pad-1 convolution of src (b samples
// of shape is) with transformed weights u into dst (shape os), adding res
// unless it is nil (it may be dst), on the workers.
func (net *Net) winograd(dst, src, res, u []float32, is, os nn.Shape, b int) {
	per, tasks, size := nn.WinogradTasks(is, os, b, net.workers)
	net.chunked(tasks, func(ci, lo, hi int) {
		for t := lo; t < hi; t++ {
			nn.WinogradRun(dst, src, res, u, net.winoBuf(ci, size), is, os, b, per, t)
		}
	})
}

// winoBuf returns chunk ci's Winograd scratch of size floats.
func (net *Net) winoBuf(ci, size int) []float32 {
	if len(net.winoScratch[ci]) < size { // each chunk touches only its own entry
		net.winoScratch[ci] = make([]float32, size)
	}
	return net.winoScratch[ci][:size]
}

// winoGradBuf returns chunk ci's buffer for a Winograd weight gradient's
// partial sums, n floats, zeroed. It is reused by the next layer, so its
// contents must be consumed before then (winogradWeightGrad sums the chunks
// into the first one's buffer and transforms that into a fresh gradient
// before it returns).
func (net *Net) winoGradBuf(ci, n int) []float32 {
	if len(net.winoGradParts[ci]) < n { // each chunk touches only its own entry
		net.winoGradParts[ci] = make([]float32, n)
	}
	b := net.winoGradParts[ci][:n]
	clear(b)
	return b
}

// stepBuf returns a buffer of n floats for the step-cached value key (its
// contents are whatever the last step left: every caller must overwrite all
// of it; TestReusedStepBuffersMatchFreshNet checks the zoo's layers),
// the same array every step, so that the step's weight layouts are not
// allocated again each step.
func (net *Net) stepBuf(key string, n int) []float32 {
	if len(net.wrBufs[key]) < n {
		net.wrBufs[key] = make([]float32, n)
	}
	return net.wrBufs[key][:n]
}

// winoWeights returns 3x3 conv node nd's weights transformed for Winograd
// (cached for the step): for the forward pass, or (backward) for the input
// gradient, the kernel flipped with input and output channels swapped.
func (net *Net) winoWeights(nd *nn.Node, backward bool) []float32 {
	key := nd.Name + "#wino"
	if backward {
		key += "T"
	}
	if u, ok := net.wr[key]; ok {
		return u
	}
	src := net.Params[nd.Name+".weight"].Data // [K][C][3][3]
	C, K := nd.InC, nd.OutC
	w := net.stepBuf(key+"#w", len(src)) // (ky, kx, in) x out
	for k := 0; k < K; k++ {
		for c := 0; c < C; c++ {
			for j := 0; j < 9; j++ {
				v := src[(k*C+c)*9+j]
				if backward { // in = k, out = c, tap 8-j
					w[((8-j)*K+k)*C+c] = v
				} else {
					w[(j*C+c)*K+k] = v
				}
			}
		}
	}
	var u []float32
	if backward {
		u = nn.WinogradWeightsInto(net.stepBuf(key, nn.WinogradWeightsLen(K, C)), w, K, C)
	} else {
		u = nn.WinogradWeightsInto(net.stepBuf(key, nn.WinogradWeightsLen(C, K)), w, C, K)
	}
	net.wr[key] = u
	return u
}

// Input returns the input buffer for batch samples (NHWC), to be filled
// before Forward.
func (net *Net) Input(batch int) []float32 {
	net.size(batch)
	return net.act[0][:batch*net.shapes[0].Size()]
}

// Forward runs the training-mode forward pass on the batch in Input and
// returns the logits (batch x classes). Batch norm uses the batch's
// statistics and updates the running ones.
func (net *Net) Forward(batch int) []float32 {
	net.size(batch)
	for k := range net.wr {
		delete(net.wr, k)
	}
	for i := 1; i < len(net.G.Nodes); i++ {
		net.forwardNode(i, batch)
	}
	out := len(net.G.Nodes) - 1
	return net.act[out][:batch*net.shapes[out].Size()]
}

// Backward propagates dlogits (batch x classes) and sets Grads (they are
// overwritten, not accumulated).
func (net *Net) Backward(batch int, dlogits []float32) {
	clear(net.touched)
	for _, g := range net.Grads {
		clear(g)
	}
	out := len(net.G.Nodes) - 1
	copy(net.grad[out], dlogits)
	net.touched[out] = true
	for i := out; i >= 1; i-- {
		net.backwardNode(i, batch)
	}
	for name, m := range net.Masks {
		g := net.Grads[name]
		for j, keep := range m {
			if !keep {
				g[j] = 0
			}
		}
	}
}

// gemm computes C = op(A) op(B) + beta C (row-major), cut into nChunks
// pieces along the rows of C, or along its columns when it has few rows,
// that run on the workers. The pieces do not depend on the number of
// workers, so neither do the results, whichever product computes them
// (OpenBLAS's rounding may depend on a call's shape; amc's AVX-512 one does
// not).
func (net *Net) gemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if int64(m)*int64(n)*int64(k) < 1<<18 {
		sgemm(tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m >= 4*nChunks {
		net.chunked(m, func(_, i0, i1 int) {
			aOff := i0 * lda
			if tA {
				aOff = i0
			}
			sgemm(tA, tB, i1-i0, n, k, a[aOff:], lda, b, ldb, beta, c[i0*ldc:], ldc)
		})
		return
	}
	net.chunked(n, func(_, j0, j1 int) {
		bOff := j0
		if tB {
			bOff = j0 * ldb
		}
		sgemm(tA, tB, m, j1-j0, k, a, lda, b[bOff:], ldb, beta, c[j0:], ldc)
	})
}

// reorder returns conv node nd's weights as [out][ky][kx][in] (cached for
// the step).
func (net *Net) reorder(nd *nn.Node) []float32 {
	if w, ok := net.wr[nd.Name]; ok {
		return w
	}
	src := net.Params[nd.Name+".weight"].Data
	K, I, O := nd.Kernel, nd.InC, nd.OutC
	w := net.stepBuf(nd.Name, len(src))
	for o := 0; o < O; o++ {
		for i := 0; i < I; i++ {
			for k := 0; k < K*K; k++ {
				w[(o*K*K+k)*I+i] = src[(o*I+i)*K*K+k]
			}
		}
	}
	net.wr[nd.Name] = w
	return w
}

func isPointwise(nd *nn.Node) bool { return nd.Kernel == 1 && nd.Stride == 1 && nd.Pad == 0 }

func (net *Net) forwardNode(i, b int) {
	if net.actBN[i] != 0 {
		return // its batch norm wrote the output
	}
	nd := net.G.Nodes[i]
	os := net.shapes[i]
	var out []float32
	if j := net.bnAct[i]; j != 0 {
		out = net.act[j][:b*os.Size()]
	} else {
		out = net.act[i][:b*os.Size()]
	}
	var in []float32
	var is nn.Shape
	if len(nd.Inputs) > 0 {
		is = net.shapes[nd.Inputs[0]]
		in = net.act[nd.Inputs[0]][:b*is.Size()]
	}
	switch nd.Op {
	case nn.OpConv:
		if nd.Groups > 1 {
			net.depthwiseForward(nd, in, out, b, is, os)
		} else {
			net.convForward(nd, in, out, b, is, os)
		}
		if nd.Bias {
			bias := net.Params[nd.Name+".bias"].Data
			for r := 0; r < b*os.H*os.W; r++ {
				row := out[r*os.C:][:os.C]
				for c, v := range bias {
					row[c] += v
				}
			}
		}
	case nn.OpBatchNorm:
		net.bnForward(i, nd, in, out, b, os, net.fusedAct(i))
	case nn.OpReLU, nn.OpReLU6:
		net.chunked(len(out), func(_, lo, hi int) {
			actImpl(out[lo:hi], in[lo:hi], nd.Op == nn.OpReLU6)
		})
	case nn.OpAdd:
		in2 := net.act[nd.Inputs[1]][:len(out)]
		net.chunked(len(out), func(_, lo, hi int) {
			addImpl(out[lo:hi], in[lo:hi], in2[lo:hi])
		})
	case nn.OpShortcutA:
		m := nd.ShortcutMap(is.C)
		for s := 0; s < b; s++ {
			for y := 0; y < os.H; y++ {
				for x := 0; x < os.W; x++ {
					src := in[((s*is.H+y*nd.Stride)*is.W+x*nd.Stride)*is.C:]
					dst := out[((s*os.H+y)*os.W+x)*os.C:][:os.C]
					for j, c := range m {
						if c < 0 {
							dst[j] = 0
						} else {
							dst[j] = src[c]
						}
					}
				}
			}
		}
	case nn.OpMaxPool, nn.OpAvgPool:
		net.poolForward(i, nd, in, out, b, is, os)
	case nn.OpGlobalAvgPool:
		hw := is.H * is.W
		inv := 1 / float32(hw)
		for s := 0; s < b; s++ {
			dst := out[s*os.C:][:os.C]
			clear(dst)
			for p := 0; p < hw; p++ {
				for c, v := range in[(s*hw+p)*is.C:][:is.C] {
					dst[c] += v
				}
			}
			for c := range dst {
				dst[c] *= inv
			}
		}
	case nn.OpFlatten: // NHWC -> PyTorch's (C, H, W) order
		for s := 0; s < b; s++ {
			for c := 0; c < is.C; c++ {
				for p := 0; p < is.H*is.W; p++ {
					out[s*is.Size()+c*is.H*is.W+p] = in[s*is.Size()+p*is.C+c]
				}
			}
		}
	case nn.OpLinear:
		w := net.Params[nd.Name+".weight"].Data
		net.gemm(false, true, b, nd.OutC, nd.InC, in, nd.InC, w, nd.InC, 0, out, nd.OutC)
		if nd.Bias {
			bias := net.Params[nd.Name+".bias"].Data
			for s := 0; s < b; s++ {
				for c, v := range bias {
					out[s*nd.OutC+c] += v
				}
			}
		}
	}
}

func (net *Net) depthwiseForward(nd *nn.Node, in, out []float32, b int, is, os nn.Shape) {
	wt, zero, rps := net.dwWeights(nd), make([]float32, os.C), os.H*os.W
	net.chunked(b, func(_, lo, hi int) {
		nn.DepthwiseRows(out, in, wt, zero, is, os, nd.Kernel, nd.Stride, nd.Pad, lo*rps, hi*rps)
	})
}

func dwGeometry(nd *nn.Node, is, os nn.Shape) dwGeom {
	return dwGeom{H: is.H, W: is.W, Ho: os.H, Wo: os.W, C: os.C, K: nd.Kernel, stride: nd.Stride, pad: nd.Pad}
}

// dwWeights returns depthwise node nd's weights ([C][1][K][K]) as
// [ky][kx][c] (cached for the step).
func (net *Net) dwWeights(nd *nn.Node) []float32 {
	key := nd.Name + "#dw"
	if w, ok := net.wr[key]; ok {
		return w
	}
	src := net.Params[nd.Name+".weight"].Data
	KK, C := nd.Kernel*nd.Kernel, nd.OutC
	w := net.stepBuf(key, len(src))
	for c := 0; c < C; c++ {
		for k := 0; k < KK; k++ {
			w[k*C+c] = src[c*KK+k]
		}
	}
	net.wr[key] = w
	return w
}

// nChunks is the fixed number of pieces row-wise reductions are split
// into: partial sums are combined in chunk order, so results do not depend
// on the number of workers or on scheduling.
const nChunks = 8

// bnBlock is how many rows batch norm sums in float32 before adding the
// partial sums into float64 accumulators.
const bnBlock = 64

// chunked runs f over [0, n) cut into nChunks pieces, on the workers.
func (net *Net) chunked(n int, f func(ci, lo, hi int)) {
	step := (n + nChunks - 1) / nChunks
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, net.workers))
	for ci := 0; ci < nChunks; ci++ {
		lo, hi := ci*step, min(n, (ci+1)*step)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(ci, lo, hi int) {
			defer func() { <-sem; wg.Done() }()
			f(ci, lo, hi)
		}(ci, lo, hi)
	}
	wg.Wait()
}

// bnForward normalises in with its batch statistics into out, through the
// fused activation act (actNone when the norm is not fused).
func (net *Net) bnForward(i int, nd *nn.Node, in, out []float32, b int, os nn.Shape, act actKind) {
	C := os.C
	cnt := b * os.H * os.W
	gamma := net.Params[nd.Name+".weight"].Data
	beta := net.Params[nd.Name+".bias"].Data
	rm := net.Params[nd.Name+".running_mean"].Data
	rv := net.Params[nd.Name+".running_var"].Data
	var sums, sqs [nChunks][]float64
	net.chunked(cnt, func(ci, lo, hi int) {
		s, q := make([]float64, C), make([]float64, C)
		bnStatsImpl(in[lo*C:hi*C], C, s, q, make([]float32, C), make([]float32, C))
		sums[ci], sqs[ci] = s, q
	})
	mean := make([]float64, C)
	vari := make([]float64, C)
	for ci := range sums {
		for c := range sums[ci] {
			mean[c] += sums[ci][c]
			vari[c] += sqs[ci][c]
		}
	}
	cache := net.bn[i]
	mean32 := cache.mean
	m := float64(net.BNMomentum)
	for c := range mean {
		mean[c] /= float64(cnt)
		vari[c] = math.Max(0, vari[c]/float64(cnt)-mean[c]*mean[c])
		cache.invstd[c] = float32(1 / math.Sqrt(vari[c]+float64(nd.Eps)))
		mean32[c] = float32(mean[c])
		unbiased := vari[c]
		if cnt > 1 {
			unbiased *= float64(cnt) / float64(cnt-1)
		}
		rm[c] = float32((1-m)*float64(rm[c]) + m*mean[c])
		rv[c] = float32((1-m)*float64(rv[c]) + m*unbiased)
	}
	invstd := cache.invstd
	scale, shift := make([]float32, C), make([]float32, C)
	for c := range scale {
		scale[c] = gamma[c] * invstd[c]
		shift[c] = beta[c] - scale[c]*mean32[c]
	}
	net.chunked(cnt, func(_, lo, hi int) {
		bnNormImpl(in[lo*C:hi*C], out[lo*C:hi*C], C, scale, shift, act)
	})
}

func (net *Net) poolForward(i int, nd *nn.Node, in, out []float32, b int, is, os nn.Shape) {
	C, K := os.C, nd.Kernel
	inv := 1 / float32(K*K)
	for s := 0; s < b; s++ {
		for oy := 0; oy < os.H; oy++ {
			for ox := 0; ox < os.W; ox++ {
				o := ((s*os.H+oy)*os.W + ox) * C
				for c := 0; c < C; c++ {
					best, arg := float32(math.Inf(-1)), int32(-1)
					var sum float32
					for ky := 0; ky < K; ky++ {
						for kx := 0; kx < K; kx++ {
							iy, ix := oy*nd.Stride+ky-nd.Pad, ox*nd.Stride+kx-nd.Pad
							if iy < 0 || ix < 0 || iy >= is.H || ix >= is.W {
								continue // padding (max pooling only) never wins
							}
							idx := ((s*is.H+iy)*is.W+ix)*C + c
							v := in[idx]
							sum += v
							if v > best {
								best, arg = v, int32(idx)
							}
						}
					}
					if nd.Op == nn.OpMaxPool {
						out[o+c] = best
						net.argmax[i][o+c] = arg
					} else {
						out[o+c] = sum * inv
					}
				}
			}
		}
	}
}

func (net *Net) backwardNode(i, b int) {
	nd := net.G.Nodes[i]
	os := net.shapes[i]
	if len(nd.Inputs) == 0 {
		return
	}
	// A fused norm reads its activation's gradient and output (bnAct).
	fused := i
	if j := net.bnAct[i]; j != 0 {
		fused = j
	}
	dy := net.grad[fused][:b*os.Size()]
	if !net.touched[fused] { // nothing reads this node's output
		clear(dy)
		net.touched[fused] = true
	}
	if net.actBN[i] != 0 {
		return // its batch norm applies the activation's gradient
	}
	src := nd.Inputs[0]
	is := net.shapes[src]
	in := net.act[src][:b*is.Size()]
	dx := net.grad[src][:b*is.Size()]
	needDX := src != 0 // the input image needs no gradient
	// The first writer of a gradient buffer overwrites it (no clearing
	// pass); later writers add.
	first := !net.touched[src]
	net.touched[src] = true
	zeroFirst := func() {
		if first {
			clear(dx)
		}
	}
	switch nd.Op {
	case nn.OpConv:
		if nd.Bias {
			db := net.Grads[nd.Name+".bias"]
			for r := 0; r < b*os.H*os.W; r++ {
				for c, v := range dy[r*os.C:][:os.C] {
					db[c] += v
				}
			}
		}
		if nd.Groups > 1 {
			net.depthwiseBackward(nd, in, dy, dx, b, is, os, needDX, first)
			return
		}
		var dxp []float32
		if needDX {
			dxp = dx
		}
		dwr := net.convBackward(nd, in, dy, dxp, b, is, os, first)
		dw := net.Grads[nd.Name+".weight"]
		K, I := nd.Kernel, nd.InC
		for o := 0; o < nd.OutC; o++ {
			for ci := 0; ci < I; ci++ {
				for k := 0; k < K*K; k++ {
					dw[(o*I+ci)*K*K+k] += dwr[(o*K*K+k)*I+ci]
				}
			}
		}
	case nn.OpBatchNorm:
		C := os.C
		cnt := b * os.H * os.W
		gamma := net.Params[nd.Name+".weight"].Data
		dg, db := net.Grads[nd.Name+".weight"], net.Grads[nd.Name+".bias"]
		cache := net.bn[i]
		act, out := net.fusedAct(i), []float32(nil)
		if act != actNone {
			out = net.act[net.bnAct[i]][:len(dy)]
		}
		sub := func(s []float32, lo, hi int) []float32 {
			if s == nil {
				return nil
			}
			return s[lo*C : hi*C]
		}
		var pg, pb [nChunks][]float64
		net.chunked(cnt, func(ci, lo, hi int) {
			g, bb := make([]float64, C), make([]float64, C)
			bnGradStatsImpl(dy[lo*C:hi*C], sub(out, lo, hi), in[lo*C:hi*C], C, cache.mean, cache.invstd, act, g, bb,
				make([]float32, C), make([]float32, C))
			pg[ci], pb[ci] = g, bb
		})
		sg := make([]float32, C)
		sb := make([]float32, C)
		for c := 0; c < C; c++ {
			var g, bb float64
			for ci := range pg {
				if pg[ci] != nil {
					g += pg[ci][c]
					bb += pb[ci][c]
				}
			}
			sg[c], sb[c] = float32(g), float32(bb)
			dg[c] += sg[c]
			db[c] += sb[c]
		}
		inv := 1 / float32(cnt)
		k := make([]float32, C)
		for c := range k {
			k[c] = gamma[c] * cache.invstd[c]
		}
		// dx = k (dy - (sb + xhat sg) / cnt) = k dy - k sg/cnt xhat - k sb/cnt
		ka, kb := make([]float32, C), make([]float32, C)
		for c := range k {
			ka[c] = k[c] * sg[c] * inv
			kb[c] = k[c] * sb[c] * inv
		}
		net.chunked(cnt, func(_, lo, hi int) {
			bnDXImpl(dx[lo*C:hi*C], in[lo*C:hi*C], dy[lo*C:hi*C], sub(out, lo, hi), C, cache.mean, cache.invstd, k, ka, kb, act, first)
		})
	case nn.OpReLU, nn.OpReLU6:
		out := net.act[i][:len(dy)]
		net.chunked(len(dy), func(_, lo, hi int) {
			actGradImpl(dx[lo:hi], out[lo:hi], dy[lo:hi], nd.Op == nn.OpReLU6, first)
		})
	case nn.OpAdd:
		for k, src2 := range nd.Inputs {
			d := net.grad[src2][:len(dy)]
			if k > 0 {
				first = !net.touched[src2]
				net.touched[src2] = true
			}
			if first {
				copy(d, dy)
			} else {
				net.chunked(len(dy), func(_, lo, hi int) { addImpl(d[lo:hi], dy[lo:hi], nil) })
			}
		}
	case nn.OpShortcutA:
		zeroFirst()
		m := nd.ShortcutMap(is.C)
		for s := 0; s < b; s++ {
			for y := 0; y < os.H; y++ {
				for x := 0; x < os.W; x++ {
					d := dx[((s*is.H+y*nd.Stride)*is.W+x*nd.Stride)*is.C:]
					g := dy[((s*os.H+y)*os.W+x)*os.C:][:os.C]
					for j, c := range m {
						if c >= 0 {
							d[c] += g[j]
						}
					}
				}
			}
		}
	case nn.OpMaxPool:
		zeroFirst()
		for j, v := range dy {
			dx[net.argmax[i][j]] += v
		}
	case nn.OpAvgPool:
		zeroFirst()
		C, K := os.C, nd.Kernel
		inv := 1 / float32(K*K)
		for s := 0; s < b; s++ {
			for oy := 0; oy < os.H; oy++ {
				for ox := 0; ox < os.W; ox++ {
					g := dy[((s*os.H+oy)*os.W+ox)*C:][:C]
					for ky := 0; ky < K; ky++ {
						for kx := 0; kx < K; kx++ {
							d := dx[((s*is.H+oy*nd.Stride+ky)*is.W+ox*nd.Stride+kx)*C:][:C]
							for c, v := range g {
								d[c] += v * inv
							}
						}
					}
				}
			}
		}
	case nn.OpGlobalAvgPool:
		zeroFirst()
		hw := is.H * is.W
		inv := 1 / float32(hw)
		for s := 0; s < b; s++ {
			g := dy[s*os.C:][:os.C]
			for p := 0; p < hw; p++ {
				d := dx[(s*hw+p)*is.C:][:is.C]
				for c, v := range g {
					d[c] += v * inv
				}
			}
		}
	case nn.OpFlatten:
		zeroFirst()
		for s := 0; s < b; s++ {
			for c := 0; c < is.C; c++ {
				for p := 0; p < is.H*is.W; p++ {
					dx[s*is.Size()+p*is.C+c] += dy[s*is.Size()+c*is.H*is.W+p]
				}
			}
		}
	case nn.OpLinear:
		if nd.Bias {
			db := net.Grads[nd.Name+".bias"]
			for s := 0; s < b; s++ {
				for c, v := range dy[s*nd.OutC:][:nd.OutC] {
					db[c] += v
				}
			}
		}
		net.gemm(true, false, nd.OutC, nd.InC, b, dy, nd.OutC, in, nd.InC, 1, net.Grads[nd.Name+".weight"], nd.InC)
		if needDX {
			beta := float32(1)
			if first {
				beta = 0
			}
			net.gemm(false, false, b, nd.InC, nd.OutC, dy, nd.OutC, net.Params[nd.Name+".weight"].Data, nd.InC, beta, dx, nd.InC)
		}
	}
}

// depthwiseBackward adds node nd's weight gradient into Grads and, if
// needDX, its input gradient into dx (written instead when first).
func (net *Net) depthwiseBackward(nd *nn.Node, in, dy, dx []float32, b int, is, os nn.Shape, needDX, first bool) {
	wt, g := net.dwWeights(nd), dwGeometry(nd, is, os)
	if !needDX {
		dx = nil
	}
	// Weight gradients per chunk of samples ([ky][kx][c]), summed in chunk
	// order so that the result does not depend on scheduling; chunks are
	// whole samples, so their input gradients do not overlap.
	var parts [nChunks][]float32
	net.chunked(b, func(ci, lo, hi int) {
		part := make([]float32, len(wt))
		dwBackwardImpl(part, dx, in, dy, wt, g, lo, hi, first)
		parts[ci] = part
	})
	dw := net.Grads[nd.Name+".weight"]
	KK, C := g.K*g.K, g.C
	for _, p := range parts {
		if p == nil {
			continue
		}
		for k := 0; k < KK; k++ {
			for c, v := range p[k*C:][:C] {
				dw[c*KK+k] += v
			}
		}
	}
}

// SoftmaxCrossEntropy returns the mean cross-entropy of logits (batch x
// classes) against labels, the gradient with respect to the logits (into
// dlogits), and the number of correct top-1 predictions.
func SoftmaxCrossEntropy(logits []float32, labels []int, classes int, dlogits []float32) (loss float64, correct int) {
	b := len(labels)
	for s := 0; s < b; s++ {
		row := logits[s*classes:][:classes]
		d := dlogits[s*classes:][:classes]
		mx := row[0]
		arg := 0
		for c, v := range row {
			if v > mx {
				mx, arg = v, c
			}
		}
		if arg == labels[s] {
			correct++
		}
		var sum float64
		for c, v := range row {
			e := math.Exp(float64(v - mx))
			d[c] = float32(e)
			sum += e
		}
		for c := range d {
			d[c] = float32(float64(d[c]) / sum / float64(b))
		}
		d[labels[s]] -= 1 / float32(b)
		loss += -(float64(row[labels[s]]-mx) - math.Log(sum))
	}
	return loss / float64(b), correct
}
