package cli

import (
	"fmt"
	"runtime"

	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/spf13/cobra"
)

// measureOutput is the JSON line amc measure prints last.
type measureOutput struct {
	Model       string  `json:"model"`
	MACs        int64   `json:"macs"`
	Params      int64   `json:"params"`
	Nonzero     int64   `json:"nonzero_params"`
	DenseBytes  int64   `json:"dense_bytes"`
	SparseBytes int64   `json:"sparse_bytes"`
	LatencyMS   float64 `json:"latency_ms"`
	Batch       int     `json:"batch"`
	Threads     int     `json:"threads"`
	Repeats     int     `json:"repeats"`
	BLAS        string  `json:"blas"`
}

func newMeasureCmd() *cobra.Command {
	var (
		mf                      modelFlags
		batch, repeats, workers int
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "measure (--model NAME [--weights PATH] | --pruned DIR)",
		Short: "MACs, params, nonzero params and Go-engine latency (median of repeats, batch 1 by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 || repeats < 1 {
				return fmt.Errorf("--batch and --repeats must be positive")
			}
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			cnt, err := m.Graph.Count()
			if err != nil {
				return err
			}
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			pl, err := nn.Compile(m.Graph, m.Params, workers)
			if err != nil {
				return err
			}
			lat, err := pl.Latency(batch, 3, repeats)
			if err != nil {
				return err
			}
			sp := prune.Sparsity(m.Graph, m.Params)
			out := measureOutput{Model: m.Name, MACs: cnt.MACs, Params: cnt.Params, Nonzero: sp.Nonzero,
				DenseBytes: sp.DenseBytes, SparseBytes: sp.SparseBytes, LatencyMS: lat.Seconds() * 1e3,
				Batch: batch, Threads: workers, Repeats: repeats, BLAS: nn.BLASName}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: MACs %d, params %d (nonzero %d), latency %.3f ms at batch %d (%d threads, %s)\n",
				m.Name, out.MACs, out.Params, out.Nonzero, out.LatencyMS, batch, workers, nn.BLASName)
			return nil
		},
	}
	mf.register(cmd, false)
	f := cmd.Flags()
	f.IntVar(&batch, "batch", 1, "batch size for the latency")
	f.IntVar(&repeats, "repeats", 50, "timed runs (the median is reported) after 3 warm-up runs")
	f.IntVar(&workers, "workers", 0, "worker goroutines (0: GOMAXPROCS)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object as the last line")
	limitFlags(cmd, map[string]numcheck.Range{"batch": batchRange, "repeats": count, "workers": workerRange})
	return cmd
}
