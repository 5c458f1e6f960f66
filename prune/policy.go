package prune

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/nn"
)

// Policy maps group names (as Analysis.Groups names them) to preserve
// ratios: the fraction of the group's channels kept. Missing groups keep all.
type Policy map[string]float64

// Uniform keeps the fraction r of every group.
func (a *Analysis) Uniform(r float64) Policy {
	p := Policy{}
	for _, g := range a.Groups {
		p[g.Name] = r
	}
	return p
}

// ParseUniform reads "uniform:R".
func ParseUniform(s string) (float64, bool, error) {
	if !strings.HasPrefix(s, "uniform:") {
		return 0, false, nil
	}
	r, err := strconv.ParseFloat(strings.TrimPrefix(s, "uniform:"), 64)
	if err != nil || !(r > 0 && r <= 1) {
		return 0, true, fmt.Errorf("policy %q: the ratio must be a number in (0, 1], as in uniform:0.5", s)
	}
	return r, true, nil
}

// KeepCount is how many of c channels a preserve ratio keeps: the nearest
// multiple of `multiple`, at least one multiple (or all c if c is smaller),
// at most c.
func KeepCount(c int, ratio float64, multiple int) int {
	if multiple < 1 {
		multiple = 1
	}
	if c <= multiple {
		return c
	}
	k := int(math.Round(ratio*float64(c)/float64(multiple))) * multiple
	return max(multiple, min(c, k))
}

// Counts turns a policy into kept channel counts per group.
func (a *Analysis) Counts(p Policy, multiple int) ([]int, error) {
	names := make([]string, len(a.Groups))
	byName := map[string]bool{}
	for i, g := range a.Groups {
		names[i] = g.Name
		byName[g.Name] = true
	}
	for name, r := range p {
		if !byName[name] {
			return nil, fmt.Errorf("policy names group %q, which this model does not have%s; see amc groups",
				name, suggest.DidYouMean(name, names))
		}
		if !(r > 0 && r <= 1) {
			return nil, fmt.Errorf("policy: group %s: preserve ratio %v must be in (0, 1]", name, r)
		}
	}
	counts := make([]int, len(a.Groups))
	for i, g := range a.Groups {
		r, ok := p[g.Name]
		if !ok {
			r = 1
		}
		counts[i] = KeepCount(g.Channels, r, multiple)
	}
	return counts, nil
}

// Criterion scores a group's channels; the highest-scoring are kept.
type Criterion interface {
	Name() string
	Scores(a *Analysis, g *Group, p nn.Params) []float64
}

// L1In scores a channel by the L1 norm of the weights that read it (summed
// over the group's consumers): AMC's criterion.
type L1In struct{}

// Name implements Criterion.
func (L1In) Name() string { return "l1-in" }

// Scores implements Criterion.
func (L1In) Scores(a *Analysis, g *Group, p nn.Params) []float64 {
	s := make([]float64, g.Channels)
	for _, i := range g.Consumers {
		n := a.Graph.Nodes[i]
		w := p[n.Name+".weight"].Data
		if n.Op == nn.OpLinear {
			hw := a.flatHW[n.Inputs[0]]
			for o := 0; o < n.OutC; o++ {
				for j := 0; j < n.InC; j++ {
					s[j/hw] += math.Abs(float64(w[o*n.InC+j]))
				}
			}
			continue
		}
		kk := n.Kernel * n.Kernel
		for o := 0; o < n.OutC; o++ {
			for c := 0; c < n.InC; c++ {
				for _, v := range w[(o*n.InC+c)*kk : (o*n.InC+c+1)*kk] {
					s[c] += math.Abs(float64(v))
				}
			}
		}
	}
	return s
}

// L1Out scores a channel by the L1 norm of the filters that produce it.
type L1Out struct{}

// Name implements Criterion.
func (L1Out) Name() string { return "l1-out" }

// Scores implements Criterion.
func (L1Out) Scores(a *Analysis, g *Group, p nn.Params) []float64 {
	s := make([]float64, g.Channels)
	for _, i := range g.Producers {
		n := a.Graph.Nodes[i]
		w := p[n.Name+".weight"].Data
		per := n.InC * n.Kernel * n.Kernel
		for o := 0; o < n.OutC; o++ {
			for _, v := range w[o*per : (o+1)*per] {
				s[o] += math.Abs(float64(v))
			}
		}
	}
	return s
}

// Criteria lists the selection criteria by name.
var Criteria = map[string]Criterion{"l1-in": L1In{}, "l1-out": L1Out{}}

// Select picks the channels each group keeps: the counts[i] highest-scoring,
// in increasing index order (ties go to the lower index).
func (a *Analysis) Select(p nn.Params, counts []int, crit Criterion) [][]int {
	kept := make([][]int, len(a.Groups))
	for i, g := range a.Groups {
		idx := make([]int, g.Channels)
		for j := range idx {
			idx[j] = j
		}
		if counts[i] < g.Channels {
			s := crit.Scores(a, g, p)
			sort.SliceStable(idx, func(x, y int) bool { return s[idx[x]] > s[idx[y]] })
			idx = idx[:counts[i]]
			sort.Ints(idx)
		}
		kept[i] = idx
	}
	return kept
}

// PredictMACs computes the MACs of the network pruned to the given kept
// counts per group, without building it.
func (a *Analysis) PredictMACs(counts []int) int64 {
	ch := a.spaceChannels(counts)
	var total int64
	for i, n := range a.Graph.Nodes {
		out := a.Shapes[i]
		switch n.Op {
		case nn.OpConv:
			in := ch[a.space[n.Inputs[0]]]
			o := ch[a.space[i]]
			if n.Groups == 1 {
				total += int64(out.H*out.W) * int64(o) * int64(in) * int64(n.Kernel*n.Kernel)
			} else if a.isDepthwise(n) {
				total += int64(out.H*out.W) * int64(o) * int64(n.Kernel*n.Kernel)
			} else {
				total += nn.NodeMACs(n, out)
			}
		case nn.OpLinear:
			total += int64(ch[a.space[n.Inputs[0]]]*a.flatHW[n.Inputs[0]]) * int64(n.OutC)
		}
	}
	return total
}

func (a *Analysis) isDepthwise(n *nn.Node) bool {
	return n.Op == nn.OpConv && n.Groups > 1 && n.InC == n.Groups && n.OutC == n.Groups
}

// spaceChannels gives every channel space its channel count under counts.
func (a *Analysis) spaceChannels(counts []int) []int {
	ch := append([]int(nil), a.size...)
	for i, g := range a.Groups {
		ch[g.space] = counts[i]
	}
	return ch
}

// PredictParams computes the learnable parameters of the network pruned to
// the given kept counts per group, without building it.
func (a *Analysis) PredictParams(counts []int) int64 {
	ch := a.spaceChannels(counts)
	var total int64
	for i, n := range a.Graph.Nodes {
		switch n.Op {
		case nn.OpConv:
			in, o := int64(ch[a.space[n.Inputs[0]]]), int64(ch[a.space[i]])
			kk := int64(n.Kernel * n.Kernel)
			switch {
			case n.Groups == 1:
				total += o * in * kk
			case a.isDepthwise(n):
				total += o * kk
			default:
				total += int64(n.OutC) * int64(n.InC/n.Groups) * kk
			}
			if n.Bias {
				total += o
			}
		case nn.OpBatchNorm:
			total += 2 * int64(ch[a.space[i]])
		case nn.OpLinear:
			total += int64(ch[a.space[n.Inputs[0]]]*a.flatHW[n.Inputs[0]]) * int64(n.OutC)
			if n.Bias {
				total += int64(n.OutC)
			}
		}
	}
	return total
}
