package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallNet has every op kind the zoo uses: dense, strided and depthwise convs,
// batch norm (folded and standalone), ReLU/ReLU6, option-A shortcut, residual
// add, max and average pooling, global pooling, flatten and linear.
func smallNet() *Graph {
	g := NewGraph(Shape{C: 3, H: 12, W: 12})
	x := g.Conv("c1", 0, 3, 8, 3, 1, 1, 1)
	x = g.BN("b1", x, 8)
	x = g.Act("r1", OpReLU, x)
	y := g.Conv("c2", x, 8, 8, 3, 2, 1, 8)
	y = g.BN("b2", y, 8)
	y = g.Act("r2", OpReLU6, y)
	y = g.Conv("c3", y, 8, 12, 1, 1, 0, 1)
	y = g.BN("b3", y, 12)
	s := g.Add(&Node{Name: "sc", Op: OpShortcutA, Inputs: []int{x}, OutC: 12, Stride: 2})
	x = g.Add(&Node{Name: "add", Op: OpAdd, Inputs: []int{y, s}})
	x = g.Act("r3", OpReLU, x)
	x = g.Conv("c4", x, 12, 12, 3, 1, 1, 2)
	x = g.BN("b4", x, 12)
	x = g.Act("r4", OpReLU, x)
	x = g.Add(&Node{Name: "mp", Op: OpMaxPool, Inputs: []int{x}, Kernel: 3, Stride: 2, Pad: 1}) // ResNet-50's: padding never wins
	x = g.BN("b5", x, 12)
	x = g.Add(&Node{Name: "ap", Op: OpAvgPool, Inputs: []int{x}, Kernel: 2, Stride: 1})
	x = g.Add(&Node{Name: "fl", Op: OpFlatten, Inputs: []int{x}})
	g.Add(&Node{Name: "fc", Op: OpLinear, Inputs: []int{x}, InC: 48, OutC: 5, Bias: true})
	return g
}

func randomize(p Params, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for name, t := range p {
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * 0.5)
			if strings.HasSuffix(name, ".running_var") { // a variance is positive (this once compared NaN with NaN)
				t.Data[i] = float32(0.5 + rng.Float64())
			}
		}
	}
}

func randInput(n int, s Shape, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*s.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestPlanMatchesReference(t *testing.T) {
	g := smallNet()
	p := g.InitParams(1)
	randomize(p, 3)
	for _, workers := range []int{1, 3} {
		pl, err := Compile(g, p, workers)
		require.NoError(t, err)
		for _, n := range []int{1, 4, 2} { // growing then shrinking batch
			x := randInput(n, g.Input, uint64(n))
			want, err := Reference(g, p, x, n)
			require.NoError(t, err)
			got, err := pl.Forward(x, n)
			require.NoError(t, err)
			require.Len(t, got, n*5)
			for i := range want {
				require.False(t, math.IsNaN(float64(want[i])), "the reference is finite")
				assert.InDelta(t, want[i], got[i], 1e-4, "workers %d batch %d output %d", workers, n, i)
			}
		}
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	g := smallNet()
	pl, err := Compile(g, g.InitParams(1), 1)
	require.NoError(t, err)
	_, err = pl.Forward(make([]float32, 10), 1)
	assert.ErrorContains(t, err, "want 1 samples")
	_, err = pl.Forward(nil, 0)
	assert.Error(t, err)
}

func TestCheckListsDifferences(t *testing.T) {
	g := smallNet()
	p := g.InitParams(1)
	delete(p, "c1.weight")
	p["c2.weight"] = NewTensor(8, 2, 3, 3)
	p["extra.weight"] = NewTensor(1)
	err := g.Check(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c1.weight [8 3 3 3]")
	assert.Contains(t, err.Error(), "c2.weight: model [8 1 3 3], weights [8 2 3 3]")
	assert.Contains(t, err.Error(), "extra.weight")
	_, err = Compile(g, p, 1)
	assert.Error(t, err)
}

func TestShapesRejectMalformedGraphs(t *testing.T) {
	cases := []struct {
		name  string
		build func() *Graph
		want  string
	}{
		{"channel mismatch", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 8, W: 8})
			g.Conv("c", 0, 4, 8, 3, 1, 1, 1)
			return g
		}, "expects 4 input channels"},
		{"bad groups", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 8, W: 8})
			g.Conv("c", 0, 3, 8, 3, 1, 1, 2)
			return g
		}, "groups"},
		{"forward reference", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 8, W: 8})
			g.Add(&Node{Name: "r", Op: OpReLU, Inputs: []int{5}})
			return g
		}, "not an earlier node"},
		{"kernel too big", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 2, W: 2})
			g.Conv("c", 0, 3, 8, 5, 1, 0, 1)
			return g
		}, "too small"},
		{"padded average pooling", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 8, W: 8})
			g.Add(&Node{Name: "ap", Op: OpAvgPool, Inputs: []int{0}, Kernel: 3, Stride: 2, Pad: 1})
			return g
		}, "only max pooling pads"},
		{"padding over half the kernel", func() *Graph {
			g := NewGraph(Shape{C: 3, H: 8, W: 8})
			g.Add(&Node{Name: "mp", Op: OpMaxPool, Inputs: []int{0}, Kernel: 3, Stride: 2, Pad: 2})
			return g
		}, "at most half"},
	}
	for _, c := range cases {
		_, err := c.build().Shapes()
		assert.ErrorContains(t, err, c.want, c.name)
	}
}

// naiveGemm is sgemm without a BLAS, so that allocation counts measure the
// engine alone (gonum's pure-Go Sgemm allocates internally; OpenBLAS does not).
func naiveGemm(transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for l := 0; l < k; l++ {
				if transB {
					s += a[i*lda+l] * b[j*ldb+l]
				} else {
					s += a[i*lda+l] * b[l*ldb+j]
				}
			}
			c[i*ldc+j] = s
		}
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	if BLASName == "gonum" {
		sgemm = naiveGemm
		defer func() { sgemm = sgemmBLAS }()
	}
	g := smallNet()
	p := g.InitParams(1)
	for _, workers := range []int{1, 2, 4} {
		pl, err := Compile(g, p, workers)
		require.NoError(t, err)
		x := randInput(3, g.Input, 1)
		_, err = pl.Forward(x, 3) // sizes the buffers
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(5, func() { pl.Forward(x, 3) })
		assert.Zero(t, allocs, "workers %d", workers)
	}
}

// Plans compiled from one graph run concurrently without interfering.
func TestPlansRunConcurrently(t *testing.T) {
	g := smallNet()
	p := g.InitParams(1)
	randomize(p, 5)
	x := randInput(4, g.Input, 9)
	want, err := Reference(g, p, x, 4)
	require.NoError(t, err)
	errs := make(chan error, 4)
	outs := make(chan []float32, 4)
	for k := 0; k < 4; k++ {
		go func() {
			pl, err := Compile(g, p, 2)
			if err != nil {
				errs <- err
				return
			}
			var y []float32
			for i := 0; i < 20; i++ {
				if y, err = pl.Forward(x, 4); err != nil {
					errs <- err
					return
				}
			}
			outs <- append([]float32(nil), y...)
		}()
	}
	for k := 0; k < 4; k++ {
		select {
		case err := <-errs:
			t.Fatal(err)
		case y := <-outs:
			for i := range want {
				assert.InDelta(t, want[i], y[i], 1e-4)
			}
		}
	}
}

// Padding never wins a max pool, also where every value in a window is
// negative (padding taken as zero would win there).
func TestPaddedMaxPoolMatchesReferenceOnNegatives(t *testing.T) {
	g := NewGraph(Shape{C: 2, H: 7, W: 7})
	g.Add(&Node{Name: "mp", Op: OpMaxPool, Inputs: []int{0}, Kernel: 3, Stride: 2, Pad: 1})
	p := g.InitParams(1)
	x := randInput(2, g.Input, 9)
	for i := range x {
		x[i] = -1 - x[i]*x[i] // all negative
	}
	want, err := Reference(g, p, x, 2)
	require.NoError(t, err)
	pl, err := Compile(g, p, 1)
	require.NoError(t, err)
	got, err := pl.Forward(x, 2)
	require.NoError(t, err)
	require.Len(t, got, 2*2*4*4)
	for i := range want {
		require.Less(t, want[i], float32(0), "the reference's maximum is an input, not padding")
		assert.Equal(t, want[i], got[i], "output %d", i)
	}
}

// Few pixels and many channels (batch 1 deep in a network) split 1x1
// convolutions by output channels (gemmColumnTasks): the plans that do,
// with a fused residual and a column count that ends in a partial block of
// 32, give the reference's outputs, and, with amc's AVX-512 product, the
// same bits as one worker's single task.
func TestColumnTasksMatchReference(t *testing.T) {
	g := NewGraph(Shape{C: 40, H: 3, W: 3})
	a := g.Conv("a", 0, 40, 200, 1, 1, 0, 1)
	a = g.BN("ab", a, 200)
	a = g.Act("ar", OpReLU, a)
	b := g.Conv("b", a, 200, 200, 1, 1, 0, 1)
	b = g.BN("bb", b, 200)
	x := g.Add(&Node{Name: "add", Op: OpAdd, Inputs: []int{b, a}})
	x = g.Act("r", OpReLU6, x)
	x = g.Add(&Node{Name: "gap", Op: OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&Node{Name: "fl", Op: OpFlatten, Inputs: []int{x}})
	g.Add(&Node{Name: "fc", Op: OpLinear, Inputs: []int{x}, InC: 200, OutC: 7, Bias: true})
	p := g.InitParams(1)
	randomize(p, 5)
	var first []float32
	for _, workers := range []int{1, 2, 3} {
		pl, err := Compile(g, p, workers)
		require.NoError(t, err)
		x := randInput(1, g.Input, 9)
		want, err := Reference(g, p, x, 1)
		require.NoError(t, err)
		got, err := pl.Forward(x, 1)
		require.NoError(t, err)
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-4*max(1, math.Abs(float64(want[i]))), "workers %d output %d", workers, i)
		}
		split := 0
		for _, st := range pl.steps {
			if st.kind == stConv && st.cols > 0 {
				split++
			}
		}
		if workers == 1 {
			assert.Zero(t, split, "one worker splits nothing")
			first = append([]float32(nil), got...)
			continue
		}
		assert.Equal(t, 2, split, "workers %d: both 1x1 convolutions split by columns", workers)
		if gemmNNExact() {
			assert.Equal(t, first, got, "workers %d: the same values as one worker, bit for bit", workers)
		}
	}
}
