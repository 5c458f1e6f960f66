package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Tensor is a dense float32 array in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor allocates a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Params maps parameter names (PyTorch state-dict style) to tensors.
type Params map[string]*Tensor

// Count reports a graph's cost by the conventions of docs/cifar-models.md.
type Count struct {
	MACs             int64 // multiply-accumulates of convolutions and linear layers
	Params           int64 // learnable parameters, batch norm included
	ConvLinearParams int64 // learnable parameters of convolutions and linear layers
}

// Count computes MACs and parameter counts from the graph's shapes.
func (g *Graph) Count() (Count, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return Count{}, err
	}
	var c Count
	for i, n := range g.Nodes {
		c.MACs += NodeMACs(n, shapes[i])
	}
	for _, s := range g.ParamSpecs() {
		if !s.Learnable {
			continue
		}
		k := int64(numel(s.Shape))
		c.Params += k
		if n := g.Node(s.Name[:strings.LastIndex(s.Name, ".")]); n != nil && n.Op != OpBatchNorm {
			c.ConvLinearParams += k
		}
	}
	return c, nil
}

// NodeMACs is the multiply-accumulate count of one node given its output shape.
func NodeMACs(n *Node, out Shape) int64 {
	switch n.Op {
	case OpConv:
		return int64(out.H) * int64(out.W) * int64(n.OutC) * int64(n.InC/n.Groups) * int64(n.Kernel*n.Kernel)
	case OpLinear:
		return int64(n.InC) * int64(n.OutC)
	}
	return 0
}

// Check compares params with what the graph needs. The error lists every
// missing name, unexpected name and shape mismatch.
func (g *Graph) Check(p Params) error {
	var missing, shapes []string
	want := map[string]bool{}
	for _, s := range g.ParamSpecs() {
		want[s.Name] = true
		t, ok := p[s.Name]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s %v", s.Name, s.Shape))
			continue
		}
		if !equalInts(t.Shape, s.Shape) {
			shapes = append(shapes, fmt.Sprintf("%s: model %v, weights %v", s.Name, s.Shape, t.Shape))
		} else if len(t.Data) != numel(s.Shape) {
			shapes = append(shapes, fmt.Sprintf("%s: %d values for shape %v", s.Name, len(t.Data), s.Shape))
		}
	}
	var extra []string
	for name, t := range p {
		if !want[name] {
			extra = append(extra, fmt.Sprintf("%s %v", name, t.Shape))
		}
	}
	if len(missing)+len(shapes)+len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	var b strings.Builder
	b.WriteString("weights do not fit the model")
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n  %s (%d):", title, len(items))
		for i, it := range items {
			if i == 10 {
				fmt.Fprintf(&b, "\n    ... and %d more", len(items)-10)
				break
			}
			b.WriteString("\n    " + it)
		}
	}
	list("shape mismatches", shapes)
	list("missing from the weights", missing)
	list("in the weights but not in the model", extra)
	return fmt.Errorf("%s", b.String())
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// InitParams returns freshly initialised parameters for the graph: Kaiming
// normal (fan-out) conv weights, uniform linear weights, unit batch norm.
func (g *Graph) InitParams(seed uint64) Params {
	rng := rand.New(rand.NewPCG(seed, 0x616d63))
	p := Params{}
	for _, s := range g.ParamSpecs() {
		t := NewTensor(s.Shape...)
		p[s.Name] = t
		node := g.Node(s.Name[:strings.LastIndex(s.Name, ".")])
		field := s.Name[strings.LastIndex(s.Name, ".")+1:]
		switch {
		case node.Op == OpBatchNorm && (field == "weight" || field == "running_var"):
			fill(t.Data, 1)
		case node.Op == OpConv && field == "weight":
			std := math.Sqrt(2 / float64(node.OutC/node.Groups*node.Kernel*node.Kernel))
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * std)
			}
		case node.Op == OpLinear:
			bound := 1 / math.Sqrt(float64(node.InC))
			for i := range t.Data {
				t.Data[i] = float32((rng.Float64()*2 - 1) * bound)
			}
		}
	}
	return p
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}
