package cli

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/nn"
	"github.com/spf13/cobra"
)

// benchOutput is the JSON line amc bench prints last.
type benchOutput struct {
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Iterations   int     `json:"iterations"`
	MedianMS     float64 `json:"median_ms"`
	ImagesPerSec float64 `json:"images_per_sec"`
	GMACPerSec   float64 `json:"gmac_per_sec"`
	BLAS         string  `json:"blas"`
	Workers      int     `json:"workers"`
}

func newBenchCmd() *cobra.Command {
	var (
		mf      modelFlags
		batch   int
		minSec  float64
		workers int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "bench (--model NAME | --pruned DIR) [--batch N]",
		Short: "Forward-pass throughput of the Go engine on random weights and inputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 || minSec <= 0 {
				return fmt.Errorf("--batch must be >= 1 and --seconds > 0")
			}
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			g := m.Graph
			cnt, err := g.Count()
			if err != nil {
				return err
			}
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			pl, err := nn.Compile(g, m.Params, workers)
			if err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, batch*g.Input.Size())
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := 0; i < 2; i++ { // warm-up: buffers, caches, BLAS threads
				if _, err := pl.Forward(x, batch); err != nil {
					return err
				}
			}
			var times []float64
			start := time.Now()
			for len(times) < 5 || time.Since(start).Seconds() < minSec {
				t0 := time.Now()
				pl.Forward(x, batch)
				times = append(times, time.Since(t0).Seconds())
			}
			sort.Float64s(times)
			med := times[len(times)/2]
			out := benchOutput{Model: m.Name, Batch: batch, Iterations: len(times), MedianMS: med * 1e3,
				ImagesPerSec: float64(batch) / med, GMACPerSec: float64(cnt.MACs) * float64(batch) / med / 1e9,
				BLAS: nn.BLASName, Workers: workers}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	mf.register(cmd, false)
	f := cmd.Flags()
	f.IntVar(&batch, "batch", 100, "batch size")
	f.Float64Var(&minSec, "seconds", 2, "minimum measuring time")
	f.IntVar(&workers, "workers", 0, "worker goroutines (0: GOMAXPROCS)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object as the last line")
	limitFlags(cmd, map[string]numcheck.Range{"batch": batchRange, "seconds": numcheck.Above(0), "workers": workerRange})
	return cmd
}

func newGraphCmd() *cobra.Command {
	var mf modelFlags
	cmd := &cobra.Command{
		Use:   "graph (--model NAME | --pruned DIR)",
		Short: "Print a model's layer graph as JSON (nodes in execution order, PyTorch parameter names)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), m.Graph)
		},
	}
	mf.register(cmd, false)
	return cmd
}
