package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/prune"
	"github.com/spf13/cobra"
)

// rebuildFlags are the prune flags a rebuild takes from prune.json (and the
// run's summary.json) instead.
var rebuildFlags = []string{"policy", "model", "pruned", "density", "residual", "multiple", "criterion",
	"calib-images", "calib-positions", "ridge", "seed"}

// rebuildOutput is the JSON line amc prune --rebuild prints last.
type rebuildOutput struct {
	pruneOutput
	// SameWeights says whether the weights made are the run's, byte for
	// byte: "yes", "no" (another BLAS or amc version re-fitted them
	// differently), or "not recorded" (runs made before summaries kept
	// best_weights_sha256, and folders that are not a run's best/).
	SameWeights string `json:"same_weights"`
}

// rebuild re-makes the pruned network of dir/prune.json from its unpruned
// weights: a search's committed best/ folder keeps prune.json but not the
// weights. The re-fit is the one prune.json records or, for a search's
// best/ whose prune.json predates that record, the one of the run's
// summary.json beside it (dir/..); the weights and the data must be the
// ones the run recorded, by content. A cut whose re-fit is recorded nowhere
// is refused unless noRecon says to make it without one.
func rebuild(cmd *cobra.Command, dir, out, weightsPath string, df *dataFlags, noRecon, asJSON bool) error {
	for _, f := range rebuildFlags {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--rebuild takes the cut and its re-fit from %s: drop --%s", filepath.Join(dir, prune.SpecFile), f)
		}
	}
	spec, err := prune.ReadSpec(dir)
	if err != nil {
		return err
	}
	run, err := runBeside(dir, spec)
	if err != nil {
		return err
	}
	if weightsPath == "" {
		weightsPath = spec.SourceWeights
	}
	if weightsPath == "" {
		return fmt.Errorf("%s names no source weights: give --weights", filepath.Join(dir, prune.SpecFile))
	}
	if run != nil && run.WeightsSHA256 != "" {
		sum, err := filesum.SHA256(weightsPath)
		if err != nil {
			return fmt.Errorf("weights: %w (give --weights for the file the run used)", err)
		}
		if sum != run.WeightsSHA256 {
			return fmt.Errorf("weights %s have SHA-256 %s, but the run used %s", weightsPath, sum, run.WeightsSHA256)
		}
	}
	m, err := loadModel(spec.BaseModel, weightsPath)
	if err != nil {
		return err
	}
	a, kept, pg, pp, err := prune.Replay(spec, m.Graph, m.Params)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	rc := spec.Reconstruction
	if rc == nil && run != nil && run.RunID != nil && !run.RunID.NoRecon && len(spec.Groups) > 0 {
		// The harness re-fits with calibration seed 1 (harness/task.go).
		id := run.RunID
		rc = &prune.ReconstructionSpec{Data: run.Data, Split: string(datasets.Train), Images: id.CalImages,
			Positions: id.CalPos, Ridge: id.Ridge, Seed: 1}
	}
	switch {
	case rc != nil && len(spec.Groups) == 0:
		return fmt.Errorf("%s records a re-fit but no group's kept channels: nothing to re-fit", filepath.Join(dir, prune.SpecFile))
	case rc != nil && noRecon:
		return fmt.Errorf("the re-fit of %s is recorded (there or in the run's summary.json): drop --no-reconstruct", filepath.Join(dir, prune.SpecFile))
	case rc == nil && len(spec.Groups) > 0 && !noRecon && (run == nil || run.RunID == nil || !run.RunID.NoRecon):
		return fmt.Errorf("%s records no re-fit, and no run's summary.json beside it says which (runs made before summaries kept run_id): "+
			"the search's weights cannot be made again; --no-reconstruct makes the cut without a re-fit (not the search's network)", filepath.Join(dir, prune.SpecFile))
	}
	res := rebuildOutput{pruneOutput: pruneOutput{Out: out}, SameWeights: "not recorded"}
	if rc != nil {
		if rc.Split != string(datasets.Train) {
			return fmt.Errorf("%s: re-fit on split %q; amc re-fits on %q only", dir, rc.Split, datasets.Train)
		}
		in := m.Graph.Input
		for _, err := range []error{count.CheckInt("reconstruction images", int64(rc.Images)),
			positionsRange(in.H, in.W, spec.BaseModel).CheckInt("reconstruction positions", int64(rc.Positions)),
			numcheck.AtLeast(0).Check("reconstruction ridge", rc.Ridge)} {
			if err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(dir, prune.SpecFile), err)
			}
		}
		if cmd.Flags().Changed("data") && df.data != rc.Data {
			return fmt.Errorf("the network was re-fitted on %s, not --data %s", rc.Data, df.data)
		}
		df.data = rc.Data
		ds, fp, err := df.openFingerprinted()
		if err != nil {
			return err
		}
		if run != nil && run.DataFingerprint != "" && fp != run.DataFingerprint {
			return fmt.Errorf("data %s has fingerprint %s, but the run used %s", rc.Data, fp, run.DataFingerprint)
		}
		train, err := ds.Load(datasets.Train)
		if err != nil {
			return err
		}
		if rc, err = refit(a, m, train, pg, pp, kept, *rc, &res.pruneOutput); err != nil {
			return err
		}
	}
	if spec.Density != nil {
		if pp, err = prune.Sparsify(pg, pp, spec.Density); err != nil {
			return err
		}
	}
	before, _ := m.Graph.Count()
	after, err := pg.Count()
	if err != nil {
		return err
	}
	if after.MACs != spec.MACs || after.Params != spec.Params {
		return fmt.Errorf("%s records %d MACs and %d params; the rebuilt network has %d and %d", filepath.Join(dir, prune.SpecFile),
			spec.MACs, spec.Params, after.MACs, after.Params)
	}
	ns := *spec
	ns.SourceWeights, ns.Reconstruction = weightsPath, rc
	if err := prune.Save(out, &ns, pp); err != nil {
		return err
	}
	if run != nil && run.BestWeightsSHA256 != "" {
		sum, err := filesum.SHA256(filepath.Join(out, prune.WeightsFile))
		if err != nil {
			return err
		}
		res.SameWeights = map[bool]string{true: "yes", false: "no"}[sum == run.BestWeightsSHA256]
		if res.SameWeights == "no" {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: the weights made differ from the run's (SHA-256 %s, not %s): another BLAS or amc version re-fitted them; compare amc eval's test top-1 with the run's\n",
				sum, run.BestWeightsSHA256)
		}
	}
	res.setCounts(before, after, pg, pp)
	if asJSON {
		return printJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %s as %s: MACs %d (%.1f%% of %d), params %d (%.1f%%), nonzero %d, reconstructed %v, the run's weights byte for byte: %s\n",
		dir, out, after.MACs, 100*res.MACsRatio, before.MACs, after.Params, 100*res.ParamsRatio, res.Nonzero, res.Reconstructed, res.SameWeights)
	return nil
}

// runBeside reads the search run's summary.json when dir is its best/
// folder: the summary must describe dir's network (the same kept channels
// per group), or it is another run's and is refused.
func runBeside(dir string, spec *prune.Spec) (*harness.Summary, error) {
	dir = filepath.Clean(dir)
	if filepath.Base(dir) != "best" {
		return nil, nil
	}
	p := filepath.Join(filepath.Dir(dir), "summary.json")
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	s, err := harness.ReadSummary(p)
	if err != nil {
		return nil, fmt.Errorf("the run beside %s: %w", dir, err)
	}
	if s.Model != spec.BaseModel {
		return nil, fmt.Errorf("%s is a run of %s, but %s prunes %s", p, s.Model, filepath.Join(dir, prune.SpecFile), spec.BaseModel)
	}
	for _, g := range spec.Groups {
		if k, ok := s.BestKept[g.Name]; ok && k != len(g.Kept) {
			return nil, fmt.Errorf("%s keeps %d channels of %s, %s keeps %d: not this run's network", p, k, g.Name, filepath.Join(dir, prune.SpecFile), len(g.Kept))
		}
	}
	return s, nil
}
