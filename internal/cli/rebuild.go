package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/prune"
	"github.com/spf13/cobra"
)

// rebuildFlags are the prune flags a rebuild takes from prune.json (and the
// run's summary.json) instead.
var rebuildFlags = []string{"policy", "model", "pruned", "density", "residual", "multiple", "criterion",
	"no-reconstruct", "calib-images", "calib-positions", "ridge", "seed"}

// rebuild re-makes the pruned network of dir/prune.json from its unpruned
// weights: a search's committed best/ folder keeps prune.json but not the
// weights. The re-fit is the one prune.json records or, for a search's
// best/ whose prune.json predates that record, the one of the run's
// summary.json beside it (dir/..); the weights and the data must be the
// ones the run recorded, by content.
func rebuild(cmd *cobra.Command, dir, out, weightsPath string, df *dataFlags, asJSON bool) error {
	for _, f := range rebuildFlags {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--rebuild takes the cut and its re-fit from %s: drop --%s", filepath.Join(dir, prune.SpecFile), f)
		}
	}
	spec, err := prune.ReadSpec(dir)
	if err != nil {
		return err
	}
	run, err := runBeside(dir)
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
	res := pruneOutput{Out: out}
	if rc != nil {
		if rc.Split != string(datasets.Train) {
			return fmt.Errorf("%s: re-fit on split %q; amc re-fits on %q only", dir, rc.Split, datasets.Train)
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
		cal, err := prune.Calibrate(a, m.Params, train, m.Norm, rc.Images, rc.Positions, rc.Seed)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := cal.Reconstruct(pg, pp, kept, rc.Ridge); err != nil {
			return err
		}
		res.Reconstructed, res.CalibSeconds, res.ReconSeconds = true, cal.Seconds, time.Since(t0).Seconds()
		rc = &prune.ReconstructionSpec{Data: rc.Data, Split: rc.Split, Images: rc.Images, Positions: rc.Positions,
			Ridge: rc.Ridge, Seed: rc.Seed, Seconds: cal.Seconds + res.ReconSeconds}
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
	res.MACs, res.Params = after.MACs, after.Params
	res.MACsRatio = float64(after.MACs) / float64(before.MACs)
	res.ParamsRatio = float64(after.Params) / float64(before.Params)
	res.Nonzero = prune.Sparsity(pg, pp).Nonzero
	if asJSON {
		return printJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %s as %s: MACs %d (%.1f%% of %d), params %d (%.1f%%), nonzero %d, reconstructed %v\n",
		dir, out, after.MACs, 100*res.MACsRatio, before.MACs, after.Params, 100*res.ParamsRatio, res.Nonzero, res.Reconstructed)
	return nil
}

// runBeside reads the search run's summary.json in dir's parent, if there is one.
func runBeside(dir string) (*harness.Summary, error) {
	p := filepath.Join(filepath.Dir(filepath.Clean(dir)), "summary.json")
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	s, err := harness.ReadSummary(p)
	if err != nil {
		return nil, fmt.Errorf("the run beside %s: %w", dir, err)
	}
	return s, nil
}
