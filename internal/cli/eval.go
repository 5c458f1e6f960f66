package cli

import (
	"fmt"
	"runtime"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/internal/progress"
	"github.com/amcbench/amc/nn"
	"github.com/spf13/cobra"
)

// dataFlags are the flags of every command that reads a data set.
type dataFlags struct {
	data, dataDir, cacheDir string
}

func (d *dataFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.data, "data", "cifar10", "data set: cifar10 (the lossless standard binary distribution; held-out = per class the 500 images with the smallest pixel SHA-256), cifar10-jpeg (the older lossy JPEG copy; held-out = 4500-4999.jpg of each class) or imagenet (ImageFolder layout under DATA/imagenet; held-out = the paper's reward set, 3 training images per class; test = val)")
	cmd.Flags().StringVar(&d.dataDir, "data-dir", "", "data root (default $AMC_DATA, else ./data, else ../shared/data)")
	cmd.Flags().StringVar(&d.cacheDir, "cache-dir", "", "decoded-data cache (default $AMC_CACHE, else the user cache dir)")
}

func (d *dataFlags) open() (datasets.Dataset, error) {
	return datasets.Open(d.data, datasets.Options{DataDir: d.dataDir, CacheDir: d.cacheDir})
}

// openFingerprinted opens the data set and reads its fingerprint (which
// decodes it, or reads its cache).
func (d *dataFlags) openFingerprinted() (datasets.Dataset, string, error) {
	ds, err := d.open()
	if err != nil {
		return nil, "", err
	}
	fp, err := ds.Fingerprint()
	return ds, fp, err
}

// evalOutput is the JSON line amc eval prints last.
type evalOutput struct {
	Model   string `json:"model"`
	Weights string `json:"weights"`
	Data    string `json:"data"`
	Split   string `json:"split"`
	evaluate.Result
	BLAS    string `json:"blas"`
	Workers int    `json:"workers"`
}

func newEvalCmd() *cobra.Command {
	var (
		df                 dataFlags
		mf                 modelFlags
		split              string
		limit, batch, work int
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "eval (--model NAME --weights PATH | --pruned DIR) [--data NAME] [--split test|heldout|train]",
		Short: "Top-1/top-5 accuracy of a network on a data split",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, err := datasets.ParseSplit(split)
			if err != nil {
				return err
			}
			if limit < 0 || batch < 1 {
				return fmt.Errorf("--limit must be >= 0 and --batch >= 1")
			}
			m, err := mf.load(false)
			if err != nil {
				return err
			}
			ds, err := df.open()
			if err != nil {
				return err
			}
			im, err := ds.Load(sp)
			if err != nil {
				return err
			}
			if work <= 0 {
				work = runtime.GOMAXPROCS(0)
			}
			pl, err := nn.Compile(m.Graph, m.Params, work)
			if err != nil {
				return err
			}
			n := im.N
			if limit > 0 {
				n = min(n, limit)
			}
			pr := progress.New(cmd.ErrOrStderr(), n, fmt.Sprintf("eval %s on %s/%s", m.Name, df.data, sp))
			res, err := evaluate.Run(pl, im, m.Norm, evaluate.Options{Batch: batch, Limit: limit, Progress: pr.Update})
			pr.Finish()
			if err != nil {
				return err
			}
			out := evalOutput{Model: m.Name, Weights: mf.weights, Data: df.data, Split: string(sp), Result: res,
				BLAS: nn.BLASName, Workers: work}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s/%s: top-1 %.2f%%  top-5 %.2f%%  (%d images, %.1f s, %.0f img/s, %s BLAS)\n",
				m.Name, df.data, sp, res.Top1, res.Top5, res.N, res.Seconds, res.ImagesPerSec, nn.BLASName)
			return nil
		},
	}
	df.register(cmd)
	mf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&split, "split", "test", "split: test, heldout or train")
	f.IntVar(&limit, "limit", 0, "evaluate only the first N images (0: all)")
	f.IntVar(&batch, "batch", 100, "images per forward pass")
	f.IntVar(&work, "workers", 0, "worker goroutines (0: GOMAXPROCS)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object as the last line")
	limitFlags(cmd, map[string]numcheck.Range{"limit": countOrZero.Means("0: all"), "batch": batchRange, "workers": workerRange})
	return cmd
}
