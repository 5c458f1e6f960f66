package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/onnx"
	"github.com/amcbench/amc/prune"
	"github.com/spf13/cobra"
)

// gridFile is one network of a latency grid: the unpruned network (kind
// "full"), the model with only group Group cut to Count channels
// ("group"), or check network Check with every group cut to Counts
// ("check").
type gridFile struct {
	Kind   string `json:"kind"`
	Group  int    `json:"group"`
	Name   string `json:"group_name,omitempty"`
	Count  int    `json:"count,omitempty"`
	Check  int    `json:"check"`
	Counts []int  `json:"counts,omitempty"`
	File   string `json:"file"`
}

func newLatencyGridCmd() *cobra.Command {
	var mf modelFlags
	var out string
	var residual bool
	var lower float64
	var points, checks int
	cmd := &cobra.Command{
		Use:   "latency-grid --model NAME [--weights W] --out DIR [--points 8] [--lower-bound 0.2] [--residual]",
		Short: "Write the networks to time on another device (ONNX) and a latency table to fill, for a spec's latency.file",
		Long: "For every prunable group and --points channel counts from the lower bound to the full width, writes\n" +
			"DIR/gGG-cCOUNT.onnx, the network with only that group cut (latency does not depend on the weights:\n" +
			"random ones without --weights), DIR/full.onnx, DIR/grid.json (which file is which), and\n" +
			"DIR/check-K.onnx (every group cut at random: the checks that fit the table's scale),\n" +
			"DIR/latency-table.json with every time 0. Time the files on the device at the batch you deploy,\n" +
			"write the seconds into latency-table.json (full_seconds: full.onnx; seconds[g][k]: the file of\n" +
			"group g at counts[g][k], the last of each group being full.onnx's; check_seconds[k]: check-K.onnx),\n" +
			"and name it in the spec as latency: {file: ...} (docs/onnx.md). Each file holds the weights:\n" +
			"(1 + groups x (points-1) + checks) copies of the model in all (VGG-16 at 8 points: about 50 GB).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			a, err := prune.Analyze(m.Graph, prune.Options{Residual: residual})
			if err != nil {
				return err
			}
			write := func(name string, f func(io.Writer) error) error {
				return atomicfile.Write(filepath.Join(out, name), f)
			}
			full := a.FullCounts()
			export := func(name string, counts []int) error {
				g, p := m.Graph, m.Params
				if counts != nil {
					if g, p, err = a.Apply(m.Params, a.Select(m.Params, counts, prune.L1In{})); err != nil {
						return err
					}
				}
				return write(name, func(w io.Writer) error {
					return onnx.Export(w, g, p, onnx.Options{Name: m.Name, Metadata: map[string]string{"amc.model": m.Name}})
				})
			}
			files := []gridFile{{Kind: "full", Group: -1, Check: -1, File: "full.onnx"}}
			if err := export("full.onnx", nil); err != nil {
				return err
			}
			lt := env.LatencyTable{Batch: 1, Workers: 1, Points: points}
			for i, grp := range a.Groups {
				lo := prune.KeepCount(grp.Channels, lower, 1)
				var grid []int
				for k := range points {
					c := lo + int(math.Round(float64(k)*float64(grp.Channels-lo)/float64(points-1)))
					if len(grid) == 0 || c > grid[len(grid)-1] {
						grid = append(grid, c)
					}
				}
				for _, c := range grid[:len(grid)-1] {
					counts := append([]int(nil), full...)
					counts[i] = c
					name := fmt.Sprintf("g%02d-c%d.onnx", i, c)
					if err := export(name, counts); err != nil {
						return fmt.Errorf("group %s at %d channels: %w", grp.Name, c, err)
					}
					files = append(files, gridFile{Kind: "group", Group: i, Name: grp.Name, Count: c, Check: -1, File: name})
				}
				lt.Counts = append(lt.Counts, grid)
				lt.Seconds = append(lt.Seconds, make([]float64, len(grid)))
				lt.MinCounts = append(lt.MinCounts, lo)
			}
			// Whole networks with every group cut at random: the check
			// times that fit the table's scale (cuts in several groups
			// interact: a convolution's cost is its input times its output
			// channels).
			lt.CheckCounts = env.CheckCounts(a, lt.MinCounts, checks)
			lt.CheckSeconds = make([]float64, checks)
			for k, counts := range lt.CheckCounts {
				name := fmt.Sprintf("check-%d.onnx", k)
				if err := export(name, counts); err != nil {
					return fmt.Errorf("check network %d: %w", k, err)
				}
				files = append(files, gridFile{Kind: "check", Group: -1, Check: k, Counts: counts, File: name})
			}
			for name, v := range map[string]any{"grid.json": files, "latency-table.json": lt} {
				b, _ := json.MarshalIndent(v, "", " ")
				if err := atomicfile.WriteBytes(filepath.Join(out, name), append(b, '\n')); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d networks, grid.json and latency-table.json (times to fill) in %s\n", len(files), out)
			return nil
		},
	}
	mf.register(cmd, false)
	cmd.Flags().StringVar(&out, "out", "", "output folder")
	cmd.Flags().IntVar(&points, "points", 8, "channel counts per group, lower bound to full width")
	cmd.Flags().IntVar(&checks, "checks", 6, "whole networks with random counts, timed to fit the table's scale")
	cmd.Flags().Float64Var(&lower, "lower-bound", 0.2, "the smallest fraction of a group's channels (the spec's lower_bound)")
	cmd.Flags().BoolVar(&residual, "residual", false, "residual groups (the spec's residual_groups)")
	limitFlags(cmd, map[string]numcheck.Range{"points": numcheck.Between(2, 64).Ints(), "lower-bound": numcheck.Fraction(),
		"checks": numcheck.Between(1, 100).Ints()})
	return cmd
}
