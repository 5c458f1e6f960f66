package prune

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/nn"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Calibration holds, for every layer that reads a prunable group, the
// statistics of a least-squares re-fit computed once on the unpruned
// network: G = X'X and B = X'Y over sampled input patches X (with a column
// of ones for a bias) and the layer's original outputs Y = XW. Any channel
// subset's normal equations are sub-blocks of these, so an episode solves
// small systems instead of re-running the network.
type Calibration struct {
	Images    int     `json:"images"`
	Positions int     `json:"positions"` // sampled output positions per image
	Seconds   float64 `json:"seconds"`
	a         *Analysis
	layers    map[int]*calibLayer
}

type calibLayer struct {
	k     int // features per input channel: kernel*kernel (or flatten size for linear)
	inC   int
	outC  int
	dim   int       // inC*k + 1 (ones column last)
	g     []float64 // dim x dim
	b     []float64 // dim x outC
	nrows int
	// sample keeps the rows themselves, x (nrows x dim) and y (nrows x
	// outC), instead of g and b, where the rows are far fewer than the
	// features (VGG-16's first linear layer: 3,000 rows of 25,089 features,
	// a 5 GB g): Reconstruct then solves the same ridge regression in its
	// dual form, a system of the rows' size (sampleForm).
	sample bool
	x, y   []float64
}

// sampleForm says whether a layer's rows are kept instead of its normal
// equations: only for wide layers (more than 2,048 features) with fewer
// than half as many rows, so that every CIFAR network and every layer
// sampled at more positions than half its features keeps the usual form.
func sampleForm(dim, rows int) bool { return dim > 2048 && 2*rows < dim }

// Calibrate samples n images of the training split (never the held-out
// one) and `positions` random output positions per image for every layer
// that reads a prunable group, and accumulates the statistics. A layer
// whose output map has no more than `positions` positions takes each of
// them once instead, so that memory is bounded by the maps, not by the
// number asked for.
func Calibrate(a *Analysis, p nn.Params, im *datasets.Images, norm datasets.Normalization, n, positions int, seed uint64) (*Calibration, error) {
	if im.Split == datasets.Heldout || im.Split == datasets.Test {
		return nil, fmt.Errorf("calibrate: samples must come from the training split, not %s", im.Split)
	}
	if n < 1 || positions < 1 {
		return nil, fmt.Errorf("calibrate: need at least one image and one position (got %d, %d)", n, positions)
	}
	n = min(n, im.N)
	start := time.Now()
	c := &Calibration{Images: n, Positions: positions, a: a, layers: map[int]*calibLayer{}}
	var keep []int
	for _, grp := range a.Groups {
		for _, i := range grp.Consumers {
			if _, ok := c.layers[i]; ok {
				continue
			}
			nd := a.Graph.Nodes[i]
			in := a.Shapes[nd.Inputs[0]]
			l := &calibLayer{inC: in.C, outC: nd.OutC}
			if nd.Op == nn.OpLinear {
				l.k = a.flatHW[nd.Inputs[0]]
				l.inC = nd.InC / l.k
			} else {
				l.k = nd.Kernel * nd.Kernel
			}
			l.dim = l.inC*l.k + 1
			rows := min(n, im.N) * sampledRows(nd, a.Shapes[i], positions)
			if l.sample = sampleForm(l.dim, rows); l.sample {
				l.x, l.y = make([]float64, 0, rows*l.dim), make([]float64, 0, rows*l.outC)
			} else {
				l.g = make([]float64, l.dim*l.dim)
				l.b = make([]float64, l.dim*l.outC)
			}
			c.layers[i] = l
			keep = append(keep, nd.Inputs[0])
		}
	}
	order := make([]int, 0, len(c.layers))
	for i := range c.layers {
		order = append(order, i)
	}
	sort.Ints(order)
	pl, err := nn.CompileKeeping(a.Graph, p, 0, keep)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xca1))
	perm := rng.Perm(im.N)[:n]
	const batch = 50
	x := make([]float32, batch*im.H*im.W*im.C)
	labels := make([]int, batch)
	for lo := 0; lo < n; lo += batch {
		k := min(batch, n-lo)
		im.Batch(perm[lo:lo+k], norm, x, labels)
		if _, err := pl.Forward(x[:k*im.H*im.W*im.C], k); err != nil {
			return nil, err
		}
		for _, i := range order { // a fixed order keeps the sampled positions deterministic
			nd := a.Graph.Nodes[i]
			val, in := pl.Value(nd.Inputs[0])
			c.accumulate(c.layers[i], nd, p, val, in, a.Shapes[i], k, positions, rng)
		}
	}
	for _, l := range c.layers {
		if l.sample {
			continue
		}
		// Only the upper triangle was accumulated (dsyrk); mirror it.
		for r := 0; r < l.dim; r++ {
			for q := 0; q < r; q++ {
				l.g[r*l.dim+q] = l.g[q*l.dim+r]
			}
		}
	}
	c.Seconds = time.Since(start).Seconds()
	return c, nil
}

// sampledRows is the rows an image gives a layer's statistics: one for a
// linear layer, else positions output positions (each of them once where
// the map has no more).
func sampledRows(nd *nn.Node, out nn.Shape, positions int) int {
	if nd.Op == nn.OpLinear {
		return 1
	}
	return min(positions, out.H*out.W)
}

// accumulate adds one batch's sampled rows to a layer's statistics.
func (c *Calibration) accumulate(l *calibLayer, nd *nn.Node, p nn.Params, val []float32, in, out nn.Shape, n, positions int, rng *rand.Rand) {
	hw := out.H * out.W
	rowsPerImage := sampledRows(nd, out, positions)
	every := rowsPerImage == hw // every position once, in order
	rows := n * rowsPerImage
	feat := l.dim - 1
	patch := make([]float32, feat)
	X := make([]float64, rows*l.dim)
	for img := 0; img < n; img++ {
		for q := 0; q < rowsPerImage; q++ {
			r := img*rowsPerImage + q
			dst := X[r*l.dim : (r+1)*l.dim]
			if nd.Op == nn.OpLinear {
				// NHWC value -> PyTorch's flatten order (c, h, w).
				hw := l.k
				for ch := 0; ch < l.inC; ch++ {
					for s := 0; s < hw; s++ {
						dst[ch*hw+s] = float64(val[(img*hw+s)*l.inC+ch])
					}
				}
			} else {
				pos := img*hw + q
				if !every {
					pos = img*hw + rng.IntN(hw)
				}
				nn.Patches(patch, val, in, nd, out, pos, pos+1)
				// Patch order (ky, kx, c) -> weight order (c, ky, kx).
				for ch := 0; ch < l.inC; ch++ {
					for s := 0; s < l.k; s++ {
						dst[ch*l.k+s] = float64(patch[s*l.inC+ch])
					}
				}
			}
			dst[feat] = 1
		}
	}
	// Y = X W' for the original weights (no bias column), W' = weight^T.
	w := p[nd.Name+".weight"].Data
	W := make([]float64, l.dim*l.outC)
	for o := 0; o < l.outC; o++ {
		for f := 0; f < feat; f++ {
			W[f*l.outC+o] = float64(w[o*feat+f])
		}
	}
	Y := make([]float64, rows*l.outC)
	Xg := blas64.General{Rows: rows, Cols: l.dim, Stride: l.dim, Data: X}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, Xg, blas64.General{Rows: l.dim, Cols: l.outC, Stride: l.outC, Data: W},
		0, blas64.General{Rows: rows, Cols: l.outC, Stride: l.outC, Data: Y})
	if l.sample {
		l.x, l.y = append(l.x, X...), append(l.y, Y...)
		l.nrows += rows
		return
	}
	blas64.Syrk(blas.Trans, 1, Xg, 1, blas64.Symmetric{Uplo: blas.Upper, N: l.dim, Stride: l.dim, Data: l.g})
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, Xg, blas64.General{Rows: rows, Cols: l.outC, Stride: l.outC, Data: Y},
		1, blas64.General{Rows: l.dim, Cols: l.outC, Stride: l.outC, Data: l.b})
	l.nrows += rows
}

// Reconstruct re-fits, in pp (the output of Apply for the same kept
// channels), the weights of every layer that reads a pruned group, so that
// on the calibration samples its output matches the unpruned layer's in the
// least-squares sense. The constant part of what the removed channels
// contributed goes into the following batch norm's running mean (or the
// layer's bias). ridge adds ridge * mean(diag) to the diagonal. Depthwise
// convolutions are not re-fitted: each output channel reads only its own
// input channel, so removing channels leaves nothing to compensate with.
func (c *Calibration) Reconstruct(pg *nn.Graph, pp nn.Params, kept [][]int, ridge float64) error {
	keep := c.a.keepBySpace(kept)
	for i, l := range c.layers {
		nd := c.a.Graph.Nodes[i]
		si := c.a.space[nd.Inputs[0]]
		if keep[si] == nil {
			continue // input channels untouched
		}
		ki := keep[si]
		ko := keep[c.a.space[i]]
		if ko == nil {
			ko = seq(l.outC)
		}
		// Selected feature indices (channel blocks) plus the ones column.
		sel := make([]int, 0, len(ki)*l.k+1)
		for _, ch := range ki {
			for s := 0; s < l.k; s++ {
				sel = append(sel, ch*l.k+s)
			}
		}
		sel = append(sel, l.dim-1)
		var next *nn.Node
		if i+1 < len(pg.Nodes) && pg.Nodes[i+1].Op == nn.OpBatchNorm && pg.Nodes[i+1].Inputs[0] == i {
			next = pg.Nodes[i+1]
		}
		withBias := nd.Bias || next != nil
		if !withBias {
			sel = sel[:len(sel)-1]
		}
		d := len(sel)
		W, err := l.solve(sel, ko, ridge)
		if err != nil {
			return fmt.Errorf("reconstruct %s: %w", nd.Name, err)
		}
		feat := len(ki) * l.k
		nw := nn.NewTensor(pp[nd.Name+".weight"].Shape...)
		for q := range ko {
			for f := 0; f < feat; f++ {
				nw.Data[q*feat+f] = float32(W.At(f, q))
			}
		}
		pp[nd.Name+".weight"] = nw
		if !withBias {
			continue
		}
		bias := make([]float64, len(ko))
		for q := range ko {
			bias[q] = W.At(d-1, q)
		}
		if nd.Bias {
			t := cloneTensor(pp[nd.Name+".bias"])
			for q := range ko {
				t.Data[q] += float32(bias[q])
			}
			pp[nd.Name+".bias"] = t
		} else {
			// BN(y + b) = BN'(y) with running_mean' = running_mean - b.
			t := cloneTensor(pp[next.Name+".running_mean"])
			for q := range ko {
				t.Data[q] -= float32(bias[q])
			}
			pp[next.Name+".running_mean"] = t
		}
	}
	return nil
}

// solve returns the ridge regression's weights (len(sel) x len(ko)) of the
// outputs ko on the features sel: (X'X + lambda I) W = X'Y with X and Y
// restricted to them, lambda = ridge x mean(diag X'X) (1e-9 of it for ridge
// 0, which keeps Cholesky defined for dead channels). In the sample form
// the same W is X'(XX' + lambda I)^-1 Y, a system of the rows' size.
func (l *calibLayer) solve(sel, ko []int, ridge float64) (*mat.Dense, error) {
	d := len(sel)
	if l.sample {
		return l.solveDual(sel, ko, ridge)
	}
	G := mat.NewSymDense(d, nil)
	var tr float64
	for r, a := range sel {
		tr += l.g[a*l.dim+a]
		for q := r; q < d; q++ {
			G.SetSym(r, q, l.g[a*l.dim+sel[q]])
		}
	}
	B := mat.NewDense(d, len(ko), nil)
	for r, a := range sel {
		for q, o := range ko {
			B.Set(r, q, l.b[a*l.outC+o])
		}
	}
	return ridgeSolve(G, ridgeLambda(ridge, tr, d), B, "normal equations are")
}

// ridgeLambda is ridge x the mean of the d diagonal entries summing to tr
// (1e-9 of it for ridge 0, which keeps Cholesky defined for dead channels).
func ridgeLambda(ridge, tr float64, d int) float64 {
	if lambda := ridge * tr / float64(d); lambda != 0 {
		return lambda
	}
	return 1e-9 * tr / float64(d)
}

// ridgeSolve adds lambda to A's diagonal (in place) and solves A X = B by
// Cholesky; what names A with its verb for the error ("normal equations are").
func ridgeSolve(A *mat.SymDense, lambda float64, B mat.Matrix, what string) (*mat.Dense, error) {
	for r := range A.SymmetricDim() {
		A.SetSym(r, r, A.At(r, r)+lambda)
	}
	var ch mat.Cholesky
	if ok := ch.Factorize(A); !ok {
		return nil, fmt.Errorf("%s singular; use a ridge > 0", what)
	}
	var X mat.Dense
	if err := ch.SolveTo(&X, B); err != nil {
		return nil, err
	}
	return &X, nil
}

// solveDual is solve in the sample form.
func (l *calibLayer) solveDual(sel, ko []int, ridge float64) (*mat.Dense, error) {
	n, d := l.nrows, len(sel)
	if n == 0 {
		return nil, fmt.Errorf("no calibration rows")
	}
	Xs := mat.NewDense(n, d, nil)
	var tr float64
	for r := 0; r < n; r++ {
		row := l.x[r*l.dim : (r+1)*l.dim]
		for q, a := range sel {
			Xs.Set(r, q, row[a])
			tr += row[a] * row[a]
		}
	}
	lambda := ridgeLambda(ridge, tr, d)
	Ys := mat.NewDense(n, len(ko), nil)
	for r := 0; r < n; r++ {
		for q, o := range ko {
			Ys.Set(r, q, l.y[r*l.outC+o])
		}
	}
	if d <= n { // pruned narrower than the rows: the primal system is the smaller
		G := mat.NewSymDense(d, nil)
		G.SymOuterK(1, Xs.T())
		var B mat.Dense
		B.Mul(Xs.T(), Ys)
		return ridgeSolve(G, lambda, &B, "normal equations are")
	}
	K := mat.NewSymDense(n, nil)
	K.SymOuterK(1, Xs) // X X'
	Z, err := ridgeSolve(K, lambda, Ys, "the calibration rows' Gram matrix is")
	if err != nil {
		return nil, err
	}
	var W mat.Dense
	W.Mul(Xs.T(), Z)
	return &W, nil
}

// keepBySpace maps channel spaces to kept indices (nil: all kept).
func (a *Analysis) keepBySpace(kept [][]int) [][]int {
	keep := make([][]int, a.nSpace)
	for i, g := range a.Groups {
		if len(kept[i]) < g.Channels {
			keep[g.space] = kept[i]
		}
	}
	return keep
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func cloneTensor(t *nn.Tensor) *nn.Tensor {
	return &nn.Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}
