package prune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomGraph builds a random small CNN: a stem convolution, then plain
// (conv, BN, ReLU or ReLU6, sometimes pooling), residual (identity or
// option-A shortcut) and depthwise-separable blocks (with an inverted-
// residual add when shapes allow), different kernels, strides and widths,
// then global pooling and a linear classifier.
func randomGraph(rng *rand.Rand) *nn.Graph {
	hw := []int{8, 12, 16}[rng.IntN(3)]
	g := nn.NewGraph(nn.Shape{C: 3, H: hw, W: hw})
	width := func() int { return 2 * (2 + rng.IntN(11)) } // even, 4..24
	act := func() nn.OpKind { return []nn.OpKind{nn.OpReLU, nn.OpReLU6}[rng.IntN(2)] }
	c := width()
	k := []int{1, 3}[rng.IntN(2)]
	x := g.Conv("stem", 0, 3, c, k, 1, k/2, 1)
	x = g.BN("stem_bn", x, c)
	x = g.Act("stem_act", act(), x)
	blocks := 2 + rng.IntN(5)
	for b := 0; b < blocks; b++ {
		p := fmt.Sprintf("b%d", b)
		stride := 1
		if hw >= 4 && hw%2 == 0 && rng.IntN(3) == 0 {
			stride = 2
		}
		switch rng.IntN(3) {
		case 0: // plain
			out := width()
			k := []int{1, 3}[rng.IntN(2)]
			x = g.Conv(p+".conv", x, c, out, k, stride, k/2, 1)
			x = g.BN(p+".bn", x, out)
			x = g.Act(p+".act", act(), x)
			c = out
			if stride == 2 {
				hw /= 2
			}
			if hw >= 4 && hw%2 == 0 && rng.IntN(4) == 0 {
				op := []nn.OpKind{nn.OpMaxPool, nn.OpAvgPool}[rng.IntN(2)]
				x = g.Add(&nn.Node{Name: p + ".pool", Op: op, Inputs: []int{x}, Kernel: 2, Stride: 2})
				hw /= 2
			}
		case 1: // residual basic block
			out := c
			if stride == 2 || rng.IntN(3) == 0 {
				out = c + 2*rng.IntN(c/2+1) // option A: out >= in, even difference
			}
			sc := x
			if stride != 1 || out != c {
				sc = g.Add(&nn.Node{Name: p + ".shortcut", Op: nn.OpShortcutA, Inputs: []int{x}, OutC: out, Stride: stride})
			}
			y := g.Conv(p+".conv1", x, c, out, 3, stride, 1, 1)
			y = g.BN(p+".bn1", y, out)
			y = g.Act(p+".act1", nn.OpReLU, y)
			y = g.Conv(p+".conv2", y, out, out, 3, 1, 1, 1)
			y = g.BN(p+".bn2", y, out)
			y = g.Add(&nn.Node{Name: p + ".add", Op: nn.OpAdd, Inputs: []int{y, sc}})
			x = g.Act(p+".act2", nn.OpReLU, y)
			c = out
			if stride == 2 {
				hw /= 2
			}
		default: // depthwise separable, inverted residual when shapes allow
			in := x
			exp := c
			if rng.IntN(2) == 0 { // expansion 1x1
				exp = c * (2 + rng.IntN(3))
				x = g.Conv(p+".expand", x, c, exp, 1, 1, 0, 1)
				x = g.BN(p+".bn0", x, exp)
				x = g.Act(p+".act0", nn.OpReLU6, x)
			}
			x = g.Conv(p+".dw", x, exp, exp, 3, stride, 1, exp)
			x = g.BN(p+".bn1", x, exp)
			x = g.Act(p+".act1", nn.OpReLU6, x)
			out := c
			if rng.IntN(2) == 0 {
				out = width()
			}
			x = g.Conv(p+".pw", x, exp, out, 1, 1, 0, 1)
			x = g.BN(p+".bn2", x, out)
			if stride == 1 && out == c && rng.IntN(2) == 0 {
				x = g.Add(&nn.Node{Name: p + ".add", Op: nn.OpAdd, Inputs: []int{x, in}})
			}
			c = out
			if stride == 2 {
				hw /= 2
			}
		}
	}
	x = g.Add(&nn.Node{Name: "gap", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: c, OutC: 10, Bias: true})
	return g
}

// Property test over 240 random architectures: the fast engine agrees with
// the reference; random policies give networks that run (fast path ==
// reference), whose MACs and params are exactly the predicted ones, and
// lowering one group's count never raises MACs.
func TestRandomGraphsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	const graphs = 240
	for i := 0; i < graphs; i++ {
		g := randomGraph(rng)
		name := fmt.Sprintf("graph %d (%d nodes)", i, len(g.Nodes))
		_, err := g.Shapes()
		require.NoError(t, err, name)
		p := g.InitParams(uint64(i))
		require.NoError(t, g.Check(p), name)
		x := input(g, 2, uint64(i))
		want, err := nn.Reference(g, p, x, 2)
		require.NoError(t, err, name)
		got := forward(t, g, p, x, 2)
		require.Len(t, got, len(want), name)
		for j := range want {
			require.InDelta(t, want[j], got[j], 1e-4*math.Max(1, math.Abs(float64(want[j]))), "%s: output %d", name, j)
		}

		a, err := Analyze(g, Options{Residual: rng.IntN(2) == 0})
		require.NoError(t, err, name)
		if len(a.Groups) == 0 {
			continue
		}
		pol := Policy{}
		for _, grp := range a.Groups {
			pol[grp.Name] = 0.05 + 0.95*rng.Float64()
		}
		counts, err := a.Counts(pol, []int{1, 2}[rng.IntN(2)])
		require.NoError(t, err, name)
		pg, pp, err := a.Apply(p, a.Select(p, counts, L1In{}))
		require.NoError(t, err, name)
		cnt, err := pg.Count()
		require.NoError(t, err, name)
		assert.Equal(t, a.PredictMACs(counts), cnt.MACs, name)
		assert.Equal(t, a.PredictParams(counts), cnt.Params, name)
		full, err := g.Count()
		require.NoError(t, err)
		assert.LessOrEqual(t, cnt.MACs, full.MACs, name)
		want, err = nn.Reference(pg, pp, x, 2)
		require.NoError(t, err, name)
		got = forward(t, pg, pp, x, 2)
		for j := range want {
			require.InDelta(t, want[j], got[j], 1e-4*math.Max(1, math.Abs(float64(want[j]))), "%s pruned: output %d", name, j)
		}
		for k := range counts {
			if counts[k] > 1 {
				lower := append([]int(nil), counts...)
				lower[k]--
				assert.LessOrEqual(t, a.PredictMACs(lower), a.PredictMACs(counts), "%s group %d", name, k)
			}
		}
	}
}
