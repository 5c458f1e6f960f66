// Package nn holds the network representation shared by the whole harness: a
// graph of named layers (Graph), the parameters that fill it (Params), shape
// inference, MAC and parameter counting, and two ways to run it: a plain
// reference interpreter (Reference) and a compiled fast path (Plan).
package nn

import (
	"fmt"
)

// OpKind says what a Node computes.
type OpKind int

// The layer types of the CIFAR zoo.
const (
	OpInput OpKind = iota
	OpConv
	OpBatchNorm
	OpReLU
	OpReLU6
	OpAdd
	OpShortcutA
	OpMaxPool
	OpAvgPool
	OpGlobalAvgPool
	OpFlatten
	OpLinear
)

var opNames = map[OpKind]string{
	OpInput: "input", OpConv: "conv", OpBatchNorm: "batchnorm", OpReLU: "relu", OpReLU6: "relu6",
	OpAdd: "add", OpShortcutA: "shortcutA", OpMaxPool: "maxpool", OpAvgPool: "avgpool",
	OpGlobalAvgPool: "globalavgpool", OpFlatten: "flatten", OpLinear: "linear",
}

// String returns the op's lower-case name.
func (k OpKind) String() string {
	if s, ok := opNames[k]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", int(k))
}

// MarshalText writes the op's name.
func (k OpKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads an op name.
func (k *OpKind) UnmarshalText(b []byte) error {
	for op, name := range opNames {
		if name == string(b) {
			*k = op
			return nil
		}
	}
	return fmt.Errorf("unknown op %q", b)
}

// Node is one layer. Layers with parameters are named like the PyTorch module
// that holds them (for example "layer1.0.conv1"), so that their parameters are
// Name+".weight" and so on; other layers get descriptive names.
type Node struct {
	Name   string `json:"name"`
	Op     OpKind `json:"op"`
	Inputs []int  `json:"inputs,omitempty"` // indices of the nodes feeding this one

	// Conv: InC/OutC channels, square Kernel, Stride, Pad, Groups.
	// Linear: InC inputs, OutC outputs. BatchNorm: OutC channels.
	// ShortcutA: OutC output channels, Stride subsampling.
	// MaxPool/AvgPool: Kernel, Stride; MaxPool also Pad (padding never wins).
	InC    int     `json:"in_channels,omitempty"`
	OutC   int     `json:"out_channels,omitempty"`
	Kernel int     `json:"kernel,omitempty"`
	Stride int     `json:"stride,omitempty"`
	Pad    int     `json:"padding,omitempty"`
	Groups int     `json:"groups,omitempty"`
	Bias   bool    `json:"bias,omitempty"` // conv or linear has a bias
	Eps    float32 `json:"eps,omitempty"`  // batch norm epsilon
	// ShortcutA after channel pruning: output channel j copies input channel
	// Map[j], or is zero where Map[j] is -1. Nil means option A's symmetric
	// zero padding.
	Map []int `json:"map,omitempty"`
}

// Shape is an activation's shape for one sample: channels, height, width.
// A flattened vector has H = W = 1.
type Shape struct {
	C int `json:"c"`
	H int `json:"h"`
	W int `json:"w"`
}

// Size is the number of values in one sample.
func (s Shape) Size() int { return s.C * s.H * s.W }

// Graph is a network as a list of nodes in execution order; node 0 is the input.
// The last node is the output.
type Graph struct {
	Input Shape   `json:"input"`
	Nodes []*Node `json:"nodes"`
}

// NewGraph starts a graph whose input has the given shape.
func NewGraph(in Shape) *Graph {
	return &Graph{Input: in, Nodes: []*Node{{Name: "input", Op: OpInput}}}
}

// Add appends a node and returns its index.
func (g *Graph) Add(n *Node) int {
	g.Nodes = append(g.Nodes, n)
	return len(g.Nodes) - 1
}

// Conv appends a convolution (no bias) reading node in.
func (g *Graph) Conv(name string, in, inC, outC, kernel, stride, pad, groups int) int {
	return g.Add(&Node{Name: name, Op: OpConv, Inputs: []int{in}, InC: inC, OutC: outC,
		Kernel: kernel, Stride: stride, Pad: pad, Groups: groups})
}

// BN appends a batch norm over c channels (eps 1e-5).
func (g *Graph) BN(name string, in, c int) int {
	return g.Add(&Node{Name: name, Op: OpBatchNorm, Inputs: []int{in}, OutC: c, Eps: 1e-5})
}

// Act appends an activation (OpReLU or OpReLU6).
func (g *Graph) Act(name string, op OpKind, in int) int {
	return g.Add(&Node{Name: name, Op: op, Inputs: []int{in}})
}

// Output is the index of the output node.
func (g *Graph) Output() int { return len(g.Nodes) - 1 }

// Shapes infers every node's output shape, checking that the graph is well formed.
func (g *Graph) Shapes() ([]Shape, error) {
	out := make([]Shape, len(g.Nodes))
	for i, n := range g.Nodes {
		if i == 0 {
			if n.Op != OpInput {
				return nil, fmt.Errorf("graph: node 0 must be the input, got %s", n.Op)
			}
			out[0] = g.Input
			continue
		}
		if n.Op == OpInput {
			return nil, fmt.Errorf("graph: node %d (%s): only node 0 may be an input", i, n.Name)
		}
		want := 1
		if n.Op == OpAdd {
			want = 2
		}
		if len(n.Inputs) != want {
			return nil, fmt.Errorf("graph: node %d (%s, %s): %d inputs, want %d", i, n.Name, n.Op, len(n.Inputs), want)
		}
		for _, j := range n.Inputs {
			if j < 0 || j >= i {
				return nil, fmt.Errorf("graph: node %d (%s): input %d is not an earlier node", i, n.Name, j)
			}
		}
		in := out[n.Inputs[0]]
		s, err := nodeShape(n, in)
		if err != nil {
			return nil, fmt.Errorf("graph: node %d (%s, %s): %w", i, n.Name, n.Op, err)
		}
		if n.Op == OpAdd && out[n.Inputs[1]] != in {
			return nil, fmt.Errorf("graph: node %d (%s): adding shapes %v and %v", i, n.Name, in, out[n.Inputs[1]])
		}
		out[i] = s
	}
	return out, nil
}

func nodeShape(n *Node, in Shape) (Shape, error) {
	switch n.Op {
	case OpConv:
		if n.InC != in.C {
			return Shape{}, fmt.Errorf("expects %d input channels, gets %d", n.InC, in.C)
		}
		if n.Groups < 1 || n.InC%n.Groups != 0 || n.OutC%n.Groups != 0 || n.OutC < 1 {
			return Shape{}, fmt.Errorf("channels %d->%d do not divide into %d groups", n.InC, n.OutC, n.Groups)
		}
		if n.Kernel < 1 || n.Stride < 1 || n.Pad < 0 {
			return Shape{}, fmt.Errorf("bad kernel %d, stride %d or padding %d", n.Kernel, n.Stride, n.Pad)
		}
		h := (in.H+2*n.Pad-n.Kernel)/n.Stride + 1
		w := (in.W+2*n.Pad-n.Kernel)/n.Stride + 1
		if h < 1 || w < 1 {
			return Shape{}, fmt.Errorf("input %dx%d too small for kernel %d", in.H, in.W, n.Kernel)
		}
		return Shape{n.OutC, h, w}, nil
	case OpBatchNorm:
		if n.OutC != in.C {
			return Shape{}, fmt.Errorf("has %d channels, input has %d", n.OutC, in.C)
		}
		return in, nil
	case OpReLU, OpReLU6, OpAdd:
		return in, nil
	case OpShortcutA:
		if n.Map != nil {
			if len(n.Map) != n.OutC || n.Stride < 1 {
				return Shape{}, fmt.Errorf("channel map has %d entries for %d channels", len(n.Map), n.OutC)
			}
			for _, m := range n.Map {
				if m < -1 || m >= in.C {
					return Shape{}, fmt.Errorf("channel map entry %d outside [-1, %d)", m, in.C)
				}
			}
		} else if n.OutC < in.C || (n.OutC-in.C)%2 != 0 || n.Stride < 1 {
			return Shape{}, fmt.Errorf("cannot pad %d channels to %d", in.C, n.OutC)
		}
		return Shape{n.OutC, (in.H + n.Stride - 1) / n.Stride, (in.W + n.Stride - 1) / n.Stride}, nil
	case OpMaxPool, OpAvgPool:
		if n.Pad < 0 || (n.Pad > 0 && (n.Op == OpAvgPool || 2*n.Pad > n.Kernel)) {
			return Shape{}, fmt.Errorf("padding %d: only max pooling pads, by at most half its kernel %d", n.Pad, n.Kernel)
		}
		if n.Kernel < 1 || n.Stride < 1 || in.H+2*n.Pad < n.Kernel || in.W+2*n.Pad < n.Kernel {
			return Shape{}, fmt.Errorf("kernel %d stride %d padding %d on %dx%d", n.Kernel, n.Stride, n.Pad, in.H, in.W)
		}
		return Shape{in.C, (in.H+2*n.Pad-n.Kernel)/n.Stride + 1, (in.W+2*n.Pad-n.Kernel)/n.Stride + 1}, nil
	case OpGlobalAvgPool:
		return Shape{in.C, 1, 1}, nil
	case OpFlatten:
		return Shape{in.Size(), 1, 1}, nil
	case OpLinear:
		if in.H != 1 || in.W != 1 || in.C != n.InC {
			return Shape{}, fmt.Errorf("expects %d features, gets %v", n.InC, in)
		}
		return Shape{n.OutC, 1, 1}, nil
	}
	return Shape{}, fmt.Errorf("unknown op %s", n.Op)
}

// ParamSpec names one tensor a graph needs and its shape.
type ParamSpec struct {
	Name      string
	Shape     []int
	Learnable bool // false for batch-norm running statistics
}

// ParamSpecs lists the tensors the graph needs, in PyTorch state-dict order.
func (g *Graph) ParamSpecs() []ParamSpec {
	var specs []ParamSpec
	for _, n := range g.Nodes {
		switch n.Op {
		case OpConv:
			specs = append(specs, ParamSpec{n.Name + ".weight", []int{n.OutC, n.InC / n.Groups, n.Kernel, n.Kernel}, true})
			if n.Bias {
				specs = append(specs, ParamSpec{n.Name + ".bias", []int{n.OutC}, true})
			}
		case OpLinear:
			specs = append(specs, ParamSpec{n.Name + ".weight", []int{n.OutC, n.InC}, true})
			if n.Bias {
				specs = append(specs, ParamSpec{n.Name + ".bias", []int{n.OutC}, true})
			}
		case OpBatchNorm:
			c := []int{n.OutC}
			specs = append(specs,
				ParamSpec{n.Name + ".weight", c, true}, ParamSpec{n.Name + ".bias", c, true},
				ParamSpec{n.Name + ".running_mean", c, false}, ParamSpec{n.Name + ".running_var", c, false})
		}
	}
	return specs
}

// ShortcutMap returns the channel map of a ShortcutA node reading inC
// channels: Map itself, or option A's symmetric padding.
func (n *Node) ShortcutMap(inC int) []int {
	if n.Map != nil {
		return n.Map
	}
	m := make([]int, n.OutC)
	pad := (n.OutC - inC) / 2
	for j := range m {
		m[j] = -1
		if c := j - pad; c >= 0 && c < inC {
			m[j] = c
		}
	}
	return m
}

// Clone returns a deep copy of the graph.
func (g *Graph) Clone() *Graph {
	c := &Graph{Input: g.Input, Nodes: make([]*Node, len(g.Nodes))}
	for i, n := range g.Nodes {
		cp := *n
		cp.Inputs = append([]int(nil), n.Inputs...)
		if n.Map != nil {
			cp.Map = append([]int(nil), n.Map...)
		}
		c.Nodes[i] = &cp
	}
	return c
}

// Node returns the node with the given name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
