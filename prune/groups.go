// Package prune compresses networks: it finds the groups of channels that
// must be cut together (from the layer graph, not from per-architecture
// lists), applies a per-group preserve-ratio policy by physically removing
// channels, re-fits the weights that read the pruned channels by least
// squares, applies fine-grained magnitude sparsity, and saves and loads the
// resulting models.
package prune

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

// Group is a set of coupled channels: every layer that produces, passes
// through or reads them must keep the same channel indices.
type Group struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`     // the first producing layer; "residual:" prefix for residual groups
	Channels int    `json:"channels"` // channels before pruning
	Residual bool   `json:"residual"` // joined by residual adds

	// The layer whose output the group is (the first producer): the
	// agent's per-layer state.
	InC, H, W, Stride, Kernel int

	MACs   int64 `json:"macs"`   // MACs of the layers whose cost scales with this group
	Params int64 `json:"params"` // learnable parameters that belong to this group's channels

	Producers   []int `json:"-"` // dense convs writing the channels
	Passthrough []int `json:"-"` // batch norms and depthwise convs on the channels
	Consumers   []int `json:"-"` // dense convs and linears reading the channels
	Shortcuts   []int `json:"-"` // option-A shortcuts reading the channels
	space       int
}

// Options control which groups are prunable.
type Options struct {
	// Residual also makes channels joined by residual adds prunable (all
	// joined layers together). Off by default, like the paper's ResNets.
	Residual bool
}

// Analysis is a graph's channel structure: which channel space each node's
// output lives in, and the prunable groups.
type Analysis struct {
	Graph  *nn.Graph
	Shapes []nn.Shape
	Groups []*Group
	space  []int // node -> channel space of its output (-1: none)
	nSpace int
	size   []int  // space -> channels
	fixed  []bool // space -> may not be pruned
	flatHW []int  // node -> spatial size a flatten folded into features (1 if none)
}

// Analyze derives the prunable groups of g.
func Analyze(g *nn.Graph, opt Options) (*Analysis, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	a := &Analysis{Graph: g, Shapes: shapes, space: make([]int, len(g.Nodes)), flatHW: make([]int, len(g.Nodes))}
	parent := []int{}
	residual := []bool{}
	newSpace := func(c int, fixed bool) int {
		parent = append(parent, len(parent))
		a.size = append(a.size, c)
		a.fixed = append(a.fixed, fixed)
		residual = append(residual, false)
		return len(parent) - 1
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	producers := map[int][]int{}
	a.space[0] = newSpace(g.Input.C, true) // the network input is never cut
	a.flatHW[0] = 1
	for i := 1; i < len(g.Nodes); i++ {
		n := g.Nodes[i]
		in := n.Inputs[0]
		a.flatHW[i] = 1
		switch n.Op {
		case nn.OpConv:
			cpg := n.InC / n.Groups
			switch {
			case n.Groups == 1:
				a.space[i] = newSpace(n.OutC, false)
				producers[a.space[i]] = append(producers[a.space[i]], i)
			case cpg == 1 && n.OutC == n.InC: // depthwise: same channels
				a.space[i] = a.space[in]
			default: // grouped: channels cannot move between groups
				a.fixed[find(a.space[in])] = true
				a.space[i] = newSpace(n.OutC, true)
			}
		case nn.OpLinear:
			a.space[i] = newSpace(n.OutC, true)
		case nn.OpShortcutA:
			a.space[i] = newSpace(n.OutC, false)
		case nn.OpAdd:
			x, y := find(a.space[in]), find(a.space[n.Inputs[1]])
			if x != y {
				parent[y] = x
				a.fixed[x] = a.fixed[x] || a.fixed[y]
			}
			residual[x] = true
			a.space[i] = x
		case nn.OpFlatten:
			a.space[i] = a.space[in]
			a.flatHW[i] = shapes[in].H * shapes[in].W * a.flatHW[in]
		default: // batch norm, activations, pooling
			a.space[i] = a.space[in]
			a.flatHW[i] = a.flatHW[in]
		}
	}
	// The output's channels (the classes) are never cut.
	a.fixed[find(a.space[g.Output()])] = true
	for i := range a.space {
		a.space[i] = find(a.space[i])
	}
	a.nSpace = len(parent)
	for s := range residual {
		if residual[s] && find(s) == s && !opt.Residual {
			a.fixed[s] = true
		}
	}
	// Groups: prunable spaces with at least one dense producer, in the
	// order of their first producer.
	bySpace := map[int]*Group{}
	for i, n := range g.Nodes {
		s := a.space[i]
		if i == 0 || a.fixed[s] {
			continue
		}
		grp := bySpace[s]
		if grp == nil && n.Op == nn.OpConv && n.Groups == 1 {
			in := shapes[n.Inputs[0]]
			grp = &Group{Name: n.Name, Channels: a.size[s], Residual: residual[find(s)], space: s,
				InC: n.InC, H: in.H, W: in.W, Stride: n.Stride, Kernel: n.Kernel}
			if grp.Residual {
				grp.Name = "residual:" + n.Name
			}
			bySpace[s] = grp
			a.Groups = append(a.Groups, grp)
		}
		if grp == nil {
			continue
		}
		switch {
		case n.Op == nn.OpConv && n.Groups == 1:
			grp.Producers = append(grp.Producers, i)
		case n.Op == nn.OpConv || n.Op == nn.OpBatchNorm:
			grp.Passthrough = append(grp.Passthrough, i)
		}
	}
	for i, n := range g.Nodes {
		if i == 0 {
			continue
		}
		grp := bySpace[a.space[n.Inputs[0]]]
		if grp == nil {
			continue
		}
		switch {
		case (n.Op == nn.OpConv && n.Groups == 1) || n.Op == nn.OpLinear:
			grp.Consumers = append(grp.Consumers, i)
		case n.Op == nn.OpShortcutA:
			grp.Shortcuts = append(grp.Shortcuts, i)
		}
	}
	for k, grp := range a.Groups {
		grp.Index = k
		if len(grp.Consumers) == 0 && len(grp.Shortcuts) == 0 {
			return nil, fmt.Errorf("prune: group %s has no reader", grp.Name)
		}
	}
	a.fillCosts()
	return a, nil
}

// Space returns the channel space of node i's output.
func (a *Analysis) Space(i int) int { return a.space[i] }

// fillCosts sets each group's MACs (layers whose cost scales with the
// group's channels) and params (parameters indexed by its channels).
func (a *Analysis) fillCosts() {
	for _, grp := range a.Groups {
		seen := map[int]bool{}
		for _, list := range [][]int{grp.Producers, grp.Passthrough, grp.Consumers} {
			for _, i := range list {
				if seen[i] {
					continue
				}
				seen[i] = true
				n := a.Graph.Nodes[i]
				grp.MACs += nn.NodeMACs(n, a.Shapes[i])
			}
		}
		c := int64(grp.Channels)
		for _, i := range grp.Producers {
			n := a.Graph.Nodes[i]
			grp.Params += c * int64(n.InC*n.Kernel*n.Kernel)
			if n.Bias {
				grp.Params += c
			}
		}
		for _, i := range grp.Passthrough {
			n := a.Graph.Nodes[i]
			if n.Op == nn.OpBatchNorm {
				grp.Params += 2 * c
			} else {
				grp.Params += c * int64(n.Kernel*n.Kernel)
			}
		}
		for _, i := range grp.Consumers {
			n := a.Graph.Nodes[i]
			if n.Op == nn.OpLinear {
				grp.Params += int64(n.InC) * int64(n.OutC)
			} else {
				grp.Params += c * int64(n.OutC*n.Kernel*n.Kernel)
			}
		}
	}
}
