package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/search"
)

// ReferencesDir is the folder, under a spec's output folder, of its
// reference networks' evaluations (one NAME.json each).
const ReferencesDir = "references"

// ReferencePath is where RunSpecs writes the evaluation of spec's
// reference name under the sweep folder out.
func ReferencePath(out, spec, name string) string {
	return filepath.Join(out, spec, ReferencesDir, name+".json")
}

// Reference evaluates ref, a network trained at its own size, as the task's
// runs are evaluated: top-1 on the reward set, on the held-out images the
// searches never saw and on the test split (at most the spec's
// final_images), its MACs and params, and its Go-engine latency measured
// alternately with the spec's unpruned network (median of three, the runs'
// batch and threads), all as ratios to that network. It writes the result
// to path as JSON. An evaluation already at path of the same reference
// (name, model, weights by content) for the same spec and task is returned
// as it is (delete the file to measure it again); any other is measured
// again.
func (t *Task) Reference(ref experiments.Reference, path string) (*search.ReferenceRow, error) {
	id, err := t.taskID()
	if err != nil {
		return nil, err
	}
	sum, err := filesum.SHA256(ref.Weights)
	if err != nil {
		return nil, fmt.Errorf("reference %s: weights: %w", ref.Name, err)
	}
	if b, err := os.ReadFile(path); err == nil {
		var old search.ReferenceRow
		if json.Unmarshal(b, &old) == nil && old.WeightsSHA256 == sum && old.TaskFingerprint == id.Fingerprint() && old.Name == ref.Name &&
			old.Model == ref.Model && old.Spec == t.spec.Name {
			fmt.Fprintf(t.log, "%s: evaluated before, kept\n", path)
			return &old, nil
		}
		fmt.Fprintf(t.log, "%s: of another reference, spec or task: measured again\n", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
	}
	rm, err := LoadModel(ref.Model, ref.Weights)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
	}
	var base *Model
	var reward, unseen *datasets.Images
	if pr := t.prep; pr != nil {
		base, reward, unseen = pr.m, pr.rewardSet, pr.unseen
	} else {
		if base, err = LoadModel(t.spec.Model, t.spec.Weights); err != nil {
			return nil, err
		}
		held, err := t.ds.Load(datasets.Heldout)
		if err != nil {
			return nil, err
		}
		reward, unseen = t.splitHeldout(held)
	}
	test, err := t.ds.Load(datasets.Test)
	if err != nil {
		return nil, err
	}
	pl, err := nn.Compile(rm.Graph, rm.Params, 0)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
	}
	fmt.Fprintf(t.log, "reference %s (%s): evaluating\n", ref.Name, ref.Model)
	rr, err := evaluate.Run(pl, reward, rm.Norm, evaluate.Options{})
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
	}
	var ur evaluate.Result
	if unseen != nil {
		if ur, err = evaluate.Run(pl, unseen, rm.Norm, evaluate.Options{Limit: t.spec.FinalImages}); err != nil {
			return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
		}
	}
	tr, err := evaluate.Run(pl, test, rm.Norm, evaluate.Options{Limit: t.spec.FinalImages})
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
	}
	rc, err := rm.Graph.Count()
	if err != nil {
		return nil, err
	}
	bc, err := base.Graph.Count()
	if err != nil {
		return nil, err
	}
	latMS, baseMS, err := t.latencyPair(rm.Graph, rm.Params, base.Graph, base.Params)
	if err != nil {
		return nil, fmt.Errorf("reference %s: latency: %w", ref.Name, err)
	}
	row := &search.ReferenceRow{Spec: t.spec.Name, Family: t.spec.Family, Name: ref.Name, Model: ref.Model,
		WeightsSHA256: sum, Data: t.spec.Data, DataFingerprint: id.DataFingerprint, HeldoutRule: id.HeldoutRule, TaskFingerprint: id.Fingerprint(),
		RewardTop1: rr.Top1, RewardImages: int64(rr.N), UnseenTop1: ur.Top1, UnseenImages: int64(ur.N), TestTop1: tr.Top1, TestImages: int64(tr.N),
		MACs: rc.MACs, Params: rc.Params, MACsRatio: float64(rc.MACs) / float64(bc.MACs), ParamsRatio: float64(rc.Params) / float64(bc.Params),
		LatencyMS: latMS, BaseLatencyMS: baseMS, LatencyRatio: latMS / baseMS, LatencyBatch: int64(t.latBatch()), LatencyWorkers: int64(t.latWorkers())}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(row, "", "  ")
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return nil, err
	}
	fmt.Fprintf(t.log, "reference %s: %.2f%% test, %.2f%% unseen held-out, %.3f of the MACs, %.3f of the latency\n",
		ref.Name, row.TestTop1, row.UnseenTop1, row.MACsRatio, row.LatencyRatio)
	return row, nil
}
