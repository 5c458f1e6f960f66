package prune

import (
	"fmt"
	"maps"

	"github.com/amcbench/amc/nn"
)

// Replay re-makes the channel cut a spec records: the unpruned network g with
// weights p loses every group's channels but the spec's kept ones. It checks
// that the spec's groups are g's (names and widths, the same residual
// option) and that the layers it yields are the spec's, and returns the
// analysis, the kept channels per group (what Calibration.Reconstruct takes)
// and the cut network, not re-fitted and not sparsified. A fine-grained spec
// (no groups) returns g and p unchanged. Replay lets a search's committed
// best/prune.json, whose weights are not committed, be made again.
func Replay(spec *Spec, g *nn.Graph, p nn.Params) (*Analysis, [][]int, *nn.Graph, nn.Params, error) {
	a, err := Analyze(g, Options{Residual: spec.Residual})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(spec.Groups) == 0 {
		if len(spec.Layers) > 0 {
			return nil, nil, nil, nil, fmt.Errorf("replay: the spec changes %d layers but records no group's kept channels", len(spec.Layers))
		}
		return a, nil, g, p, nil
	}
	if len(spec.Groups) != len(a.Groups) {
		return nil, nil, nil, nil, fmt.Errorf("replay: the spec has %d groups, %s has %d (residual groups %v)",
			len(spec.Groups), spec.BaseModel, len(a.Groups), spec.Residual)
	}
	kept := make([][]int, len(a.Groups))
	for i, grp := range a.Groups {
		sg := spec.Groups[i]
		if sg.Name != grp.Name || sg.Channels != grp.Channels {
			return nil, nil, nil, nil, fmt.Errorf("replay: group %d is %s (%d channels) in the spec, %s (%d channels) in %s",
				i, sg.Name, sg.Channels, grp.Name, grp.Channels, spec.BaseModel)
		}
		kept[i] = sg.Kept
	}
	pg, pp, err := a.Apply(p, kept)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("replay: %w", err)
	}
	if got := LayerSpecs(g, pg); !maps.EqualFunc(got, spec.Layers, sameLayer) {
		return nil, nil, nil, nil, fmt.Errorf("replay: the kept channels give other layer widths than the spec records")
	}
	return a, kept, pg, pp, nil
}

func sameLayer(a, b LayerSpec) bool {
	if a.InChannels != b.InChannels || a.OutChannels != b.OutChannels || a.Groups != b.Groups || len(a.Map) != len(b.Map) {
		return false
	}
	for i := range a.Map {
		if a.Map[i] != b.Map[i] {
			return false
		}
	}
	return true
}
