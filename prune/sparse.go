package prune

import (
	"fmt"
	"math"
	"sort"

	"github.com/amcbench/amc/nn"
)

// Sparsify applies fine-grained (unstructured) magnitude pruning: in each
// named conv or linear layer, the smallest-magnitude weights are set to real
// zeros so that the fraction density[layer] of them stays nonzero. Modified
// tensors are copies; p is not changed.
func Sparsify(g *nn.Graph, p nn.Params, density map[string]float64) (nn.Params, error) {
	return SparsifyOrdered(g, p, density, nil)
}

// SparsifyOrdered is Sparsify with each layer's MagnitudeOrder taken from
// orders (computed here for layers it lacks), for callers that sparsify the
// same weights many times, such as a search.
func SparsifyOrdered(g *nn.Graph, p nn.Params, density map[string]float64, orders map[string][]int) (nn.Params, error) {
	out := nn.Params{}
	for k, v := range p {
		out[k] = v
	}
	for name, d := range density {
		n := g.Node(name)
		if n == nil || (n.Op != nn.OpConv && n.Op != nn.OpLinear) {
			return nil, fmt.Errorf("sparsify: %q is not a conv or linear layer of the model", name)
		}
		if !(d > 0 && d <= 1) {
			return nil, fmt.Errorf("sparsify: layer %s: density %v must be in (0, 1]", name, d)
		}
		w := p[name+".weight"]
		order, ok := orders[name]
		if !ok {
			order = MagnitudeOrder(w.Data)
		} else if len(order) != len(w.Data) {
			return nil, fmt.Errorf("sparsify: layer %s: magnitude order of %d weights for %d", name, len(order), len(w.Data))
		}
		keep := int(math.Round(d * float64(len(w.Data))))
		keep = max(1, keep)
		nw := cloneTensor(w)
		for _, i := range order[keep:] {
			nw.Data[i] = 0
		}
		out[name+".weight"] = nw
	}
	return out, nil
}

// MagnitudeOrder lists the indices of w from the largest magnitude down
// (equal magnitudes in index order): magnitude pruning keeps a prefix.
func MagnitudeOrder(w []float32) []int {
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return abs32(w[order[a]]) > abs32(w[order[b]]) })
	return order
}

// Layers lists the conv and linear layers of g (the targets of fine-grained pruning).
func Layers(g *nn.Graph) []string {
	var l []string
	for _, n := range g.Nodes {
		if n.Op == nn.OpConv || n.Op == nn.OpLinear {
			l = append(l, n.Name)
		}
	}
	return l
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// SparseStats counts a model's nonzero parameters and the bytes of a dense
// and of a sparse encoding.
type SparseStats struct {
	Params      int64 `json:"params"`       // learnable parameters
	Nonzero     int64 `json:"nonzero"`      // learnable parameters that are not zero
	DenseBytes  int64 `json:"dense_bytes"`  // float32, every learnable parameter
	SparseBytes int64 `json:"sparse_bytes"` // CSR conv/linear weights + dense rest
}

// Sparsity measures params: conv and linear weights are stored in CSR form
// (rows = output channels; float32 values, uint16 column indices where the
// row is shorter than 65,536, else uint32; uint32 row pointers); everything
// else dense float32.
func Sparsity(g *nn.Graph, p nn.Params) SparseStats {
	var s SparseStats
	for _, spec := range g.ParamSpecs() {
		if !spec.Learnable {
			continue
		}
		t := p[spec.Name]
		var nz int64
		for _, v := range t.Data {
			if v != 0 {
				nz++
			}
		}
		s.Params += int64(len(t.Data))
		s.Nonzero += nz
		s.DenseBytes += 4 * int64(len(t.Data))
		node := g.Node(spec.Name[:len(spec.Name)-len(".weight")])
		if len(spec.Shape) >= 2 && node != nil && (node.Op == nn.OpConv || node.Op == nn.OpLinear) {
			rows := int64(spec.Shape[0])
			cols := int64(len(t.Data)) / rows
			idx := int64(2)
			if cols >= 1<<16 {
				idx = 4
			}
			s.SparseBytes += nz*(4+idx) + 4*(rows+1)
		} else {
			s.SparseBytes += 4 * int64(len(t.Data))
		}
	}
	return s
}
