package agent

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The own Adam must give bit-identical weights to gorgonia's AdamSolver.
func TestAdamMatchesGorgoniaSolver(t *testing.T) {
	build := func() (*G.ExprGraph, mlp, G.VM, *G.Node) {
		g := G.NewGraph()
		rng := rand.New(rand.NewPCG(1, 2))
		x := G.NewMatrix(g, tensor.Float64, G.WithShape(8, 5), G.WithName("x"))
		net := newMLP(g, "n.", 5, 7, rng)
		loss := G.Must(G.Mean(G.Must(G.Square(net.forward(x)))))
		_, err := G.Grad(loss, net.nodes()...)
		require.NoError(t, err)
		return g, net, G.NewTapeMachine(g, G.BindDualValues(net.nodes()...)), x
	}
	_, n1, vm1, x1 := build()
	_, n2, vm2, x2 := build()
	s1 := G.NewAdamSolver(G.WithLearnRate(1e-3))
	s2 := newAdam(1e-3)
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 20; it++ {
		xb := make([]float64, 40)
		for i := range xb {
			xb[i] = rng.NormFloat64()
		}
		G.Let(x1, tensor.New(tensor.WithShape(8, 5), tensor.WithBacking(append([]float64(nil), xb...))))
		G.Let(x2, tensor.New(tensor.WithShape(8, 5), tensor.WithBacking(append([]float64(nil), xb...))))
		require.NoError(t, vm1.RunAll())
		require.NoError(t, vm2.RunAll())
		require.NoError(t, s1.Step(G.NodesToValueGrads(n1.nodes())))
		require.NoError(t, s2.step(n2.nodes()))
		vm1.Reset()
		vm2.Reset()
	}
	for i := range n1.nodes() {
		require.Equal(t, values(n1.nodes()[i]), values(n2.nodes()[i]))
	}
}
