package prune

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

// Apply builds the physically smaller network that keeps, for each group,
// the channels kept[i] (original indices, increasing). Weights are sliced;
// nothing is masked.
func (a *Analysis) Apply(p nn.Params, kept [][]int) (*nn.Graph, nn.Params, error) {
	if len(kept) != len(a.Groups) {
		return nil, nil, fmt.Errorf("prune: %d kept lists for %d groups", len(kept), len(a.Groups))
	}
	for i, g := range a.Groups {
		k := kept[i]
		if len(k) == 0 {
			return nil, nil, fmt.Errorf("prune: group %s keeps no channels", g.Name)
		}
		for j, c := range k {
			if c < 0 || c >= g.Channels || (j > 0 && c <= k[j-1]) {
				return nil, nil, fmt.Errorf("prune: group %s: kept channels must be increasing indices below %d", g.Name, g.Channels)
			}
		}
	}
	keep := a.keepBySpace(kept) // nil: all channels
	idx := func(space, c int) []int {
		if keep[space] != nil {
			return keep[space]
		}
		return seq(c)
	}
	g := a.Graph.Clone()
	out := nn.Params{}
	for name, t := range p {
		out[name] = t
	}
	for i := 1; i < len(g.Nodes); i++ {
		n := g.Nodes[i]
		so, si := a.space[i], a.space[n.Inputs[0]]
		if keep[so] == nil && keep[si] == nil {
			continue
		}
		orig := a.Graph.Nodes[i]
		switch n.Op {
		case nn.OpConv:
			ko := idx(so, orig.OutC)
			kk := orig.Kernel * orig.Kernel
			w := p[n.Name+".weight"]
			if orig.Groups == 1 {
				ki := idx(si, orig.InC)
				nw := nn.NewTensor(len(ko), len(ki), orig.Kernel, orig.Kernel)
				for o, oc := range ko {
					for c, ic := range ki {
						copy(nw.Data[(o*len(ki)+c)*kk:(o*len(ki)+c+1)*kk], w.Data[(oc*orig.InC+ic)*kk:(oc*orig.InC+ic+1)*kk])
					}
				}
				out[n.Name+".weight"] = nw
				n.InC, n.OutC = len(ki), len(ko)
			} else { // depthwise (grouped convs sit in fixed spaces)
				nw := nn.NewTensor(len(ko), 1, orig.Kernel, orig.Kernel)
				for o, oc := range ko {
					copy(nw.Data[o*kk:(o+1)*kk], w.Data[oc*kk:(oc+1)*kk])
				}
				out[n.Name+".weight"] = nw
				n.InC, n.OutC, n.Groups = len(ko), len(ko), len(ko)
			}
			if n.Bias {
				out[n.Name+".bias"] = gather(p[n.Name+".bias"], ko)
			}
		case nn.OpBatchNorm:
			ko := idx(so, orig.OutC)
			for _, f := range []string{".weight", ".bias", ".running_mean", ".running_var"} {
				out[n.Name+f] = gather(p[n.Name+f], ko)
			}
			n.OutC = len(ko)
		case nn.OpLinear:
			hw := a.flatHW[n.Inputs[0]]
			ki := idx(si, orig.InC/hw)
			nw := nn.NewTensor(orig.OutC, len(ki)*hw)
			w := p[n.Name+".weight"].Data
			for o := 0; o < orig.OutC; o++ {
				for c, ic := range ki {
					copy(nw.Data[o*len(ki)*hw+c*hw:][:hw], w[o*orig.InC+ic*hw:][:hw])
				}
			}
			out[n.Name+".weight"] = nw
			n.InC = len(ki) * hw
		case nn.OpShortcutA:
			inC := a.Shapes[orig.Inputs[0]].C
			m := orig.ShortcutMap(inC)
			ki := idx(si, inC)
			pos := map[int]int{}
			for j, c := range ki {
				pos[c] = j
			}
			ko := idx(so, orig.OutC)
			nm := make([]int, len(ko))
			for j, oc := range ko {
				nm[j] = -1
				if c := m[oc]; c >= 0 {
					if q, ok := pos[c]; ok {
						nm[j] = q
					}
				}
			}
			n.Map, n.OutC = nm, len(ko)
		}
	}
	if _, err := g.Shapes(); err != nil {
		return nil, nil, fmt.Errorf("prune: pruned graph: %w", err)
	}
	if err := g.Check(out); err != nil {
		return nil, nil, fmt.Errorf("prune: pruned weights: %w", err)
	}
	return g, out, nil
}

func gather(t *nn.Tensor, idx []int) *nn.Tensor {
	nt := nn.NewTensor(len(idx))
	for j, i := range idx {
		nt.Data[j] = t.Data[i]
	}
	return nt
}
