package agent

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// adam is the Adam optimiser on gorgonia nodes' values and gradients. It
// follows gorgonia's AdamSolver operation by operation (the same float64
// results), but its moment estimates and step count are exported so that a
// run can be checkpointed and resumed exactly: gorgonia's solver keeps them
// unexported.
type adam struct {
	LR    float64
	Iter  int
	M, V  [][]float64
	beta1 float64
	beta2 float64
	eps   float64
}

func newAdam(lr float64) *adam { return &adam{LR: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8} }

// step applies one update to nodes from their gradients and zeroes the
// gradients.
func (a *adam) step(nodes G.Nodes) error {
	if a.M == nil {
		for _, n := range nodes {
			a.M = append(a.M, make([]float64, len(values(n))))
			a.V = append(a.V, make([]float64, len(values(n))))
		}
	}
	if len(a.M) != len(nodes) {
		return fmt.Errorf("adam: %d moment tensors for %d weights", len(a.M), len(nodes))
	}
	a.Iter++
	c1 := 1 / (1 - math.Pow(a.beta1, float64(a.Iter)))
	c2 := 1 / (1 - math.Pow(a.beta2, float64(a.Iter)))
	omb1, omb2, negEta := 1-a.beta1, 1-a.beta2, -a.LR
	for i, n := range nodes {
		gv, err := n.Grad()
		if err != nil {
			return fmt.Errorf("adam: %s: %w", n.Name(), err)
		}
		g := gv.Data().([]float64)
		w := values(n)
		m, v := a.M[i], a.V[i]
		if len(g) != len(w) || len(m) != len(w) {
			return fmt.Errorf("adam: %s: %d gradients, %d moments for %d weights", n.Name(), len(g), len(m), len(w))
		}
		for j, gj := range g {
			m[j] = m[j]*a.beta1 + gj*omb1
			v[j] = v[j]*a.beta2 + (gj*gj)*omb2
			mh := m[j] * c1
			vh := math.Sqrt(v[j]*c2) + a.eps
			w[j] += (mh * negEta) / vh
			g[j] = 0
		}
	}
	return nil
}
