package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/spf13/cobra"
)

func newGroupsCmd() *cobra.Command {
	var model string
	var residual, asJSON bool
	cmd := &cobra.Command{
		Use:   "groups --model NAME [--residual]",
		Short: "List a model's prunable channel groups (name, channels, MACs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := models.Build(model)
			if err != nil {
				return err
			}
			a, err := prune.Analyze(g, prune.Options{Residual: residual})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), a.Groups)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "index\tname\tchannels\tMACs\tparams\tin\th x w\tstride\tkernel\tlayers (write/pass/read)")
			for _, grp := range a.Groups {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%dx%d\t%d\t%d\t%d/%d/%d\n", grp.Index, grp.Name, grp.Channels, grp.MACs, grp.Params,
					grp.InC, grp.H, grp.W, grp.Stride, grp.Kernel, len(grp.Producers), len(grp.Passthrough), len(grp.Consumers)+len(grp.Shortcuts))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "zoo model")
	cmd.Flags().BoolVar(&residual, "residual", false, "also cut channels joined by residual adds (all joined layers together)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the groups as JSON")
	cmd.MarkFlagRequired("model")
	return cmd
}

// pruneOutput is the JSON line amc prune prints last.
type pruneOutput struct {
	Out           string  `json:"out"`
	MACs          int64   `json:"macs"`
	Params        int64   `json:"params"`
	MACsRatio     float64 `json:"macs_ratio"`
	ParamsRatio   float64 `json:"params_ratio"`
	Nonzero       int64   `json:"nonzero_params"`
	Reconstructed bool    `json:"reconstructed"`
	CalibSeconds  float64 `json:"calibration_seconds"`
	ReconSeconds  float64 `json:"reconstruction_seconds"`
	UniformRatio  float64 `json:"uniform_ratio,omitempty"`
}

func newPruneCmd() *cobra.Command {
	var (
		df                                dataFlags
		mf                                modelFlags
		policyArg, out, critName, density string
		rebuildDir                        string
		residual, asJSON, noRecon         bool
		multiple, calImages, calPositions int
		ridge                             float64
		seed                              uint64
	)
	cmd := &cobra.Command{
		Use:   "prune (--model NAME [--weights PATH] --policy uniform:R|uniform-macs:F|POLICY.json [--data NAME] | --rebuild DIR) --out DIR",
		Short: "Physically remove channels (and optionally apply weight sparsity) and save the smaller model",
		Long: "Without weights the model is randomly initialised. With --data, the layers reading pruned\n" +
			"channels are re-fitted by least squares on calibration samples of the training split\n" +
			"(--no-reconstruct: selection only).\n\n" +
			"--rebuild DIR makes DIR/prune.json's network again from its unpruned weights: a search's\n" +
			"best/ folder under results/ keeps prune.json, not the weights. The cut is prune.json's; the\n" +
			"re-fit is the one it records or, for a search's best/, the run's (DIR/../summary.json), whose\n" +
			"weights and data are checked by content, and so is the result where the run recorded it. The\n" +
			"source weights' path in prune.json is relative to the working directory (or give --weights).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			if rebuildDir != "" {
				return rebuild(cmd, rebuildDir, out, mf.weights, &df, noRecon, asJSON)
			}
			if policyArg == "" {
				return fmt.Errorf("--policy is required (or --rebuild DIR)")
			}
			if mf.pruned != "" {
				return fmt.Errorf("amc prune starts from a zoo model (--model), not --pruned")
			}
			crit, ok := prune.Criteria[critName]
			if !ok {
				return fmt.Errorf("unknown criterion %q; valid: l1-in, l1-out", critName)
			}
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			in := m.Graph.Input
			if err := positionsRange(in.H, in.W, mf.model).CheckInt("--calib-positions", int64(calPositions)); err != nil {
				return err
			}
			a, err := prune.Analyze(m.Graph, prune.Options{Residual: residual})
			if err != nil {
				return err
			}
			var counts []int
			var uniform float64
			var policy prune.Policy
			switch {
			case strings.HasPrefix(policyArg, "uniform-macs:"):
				f, err := strconv.ParseFloat(strings.TrimPrefix(policyArg, "uniform-macs:"), 64)
				if err != nil || !(f > 0 && f <= 1) {
					return fmt.Errorf("policy %q: the MACs fraction must be in (0, 1], as in uniform-macs:0.5", policyArg)
				}
				uniform, counts, err = a.UniformForMACs(f, multiple)
				if err != nil {
					return err
				}
				policy = a.Uniform(uniform)
			default:
				r, isUniform, err := prune.ParseUniform(policyArg)
				if err != nil {
					return err
				}
				if isUniform {
					policy, uniform = a.Uniform(r), r
				} else if policy, err = readPolicy(policyArg); err != nil {
					return err
				}
				if counts, err = a.Counts(policy, multiple); err != nil {
					return err
				}
			}
			kept := a.Select(m.Params, counts, crit)
			pg, pp, err := a.Apply(m.Params, kept)
			if err != nil {
				return err
			}
			spec := &prune.Spec{BaseModel: mf.model, SourceWeights: mf.weights, Normalization: m.Norm,
				Residual: residual, Multiple: multiple, Criterion: crit.Name()}
			res := pruneOutput{Out: out, UniformRatio: uniform}
			if df.data != "" && !noRecon {
				ds, err := df.open()
				if err != nil {
					return err
				}
				train, err := ds.Load(datasets.Train)
				if err != nil {
					return err
				}
				want := prune.ReconstructionSpec{Data: df.data, Split: string(datasets.Train), Images: calImages, Positions: calPositions, Ridge: ridge, Seed: seed}
				if spec.Reconstruction, err = refit(a, m, train, pg, pp, kept, want, &res); err != nil {
					return err
				}
			}
			if density != "" {
				d, err := parseDensity(density, pg)
				if err != nil {
					return err
				}
				if pp, err = prune.Sparsify(pg, pp, d); err != nil {
					return err
				}
				spec.Density = d
			}
			for i, grp := range a.Groups {
				spec.Groups = append(spec.Groups, prune.GroupSpec{Name: grp.Name, Channels: grp.Channels, Ratio: policyRatio(policy, grp.Name), Kept: kept[i]})
			}
			spec.Layers = prune.LayerSpecs(m.Graph, pg)
			before, _ := m.Graph.Count()
			after, err := pg.Count()
			if err != nil {
				return err
			}
			spec.MACs, spec.Params, spec.BaseMACs, spec.BaseParams = after.MACs, after.Params, before.MACs, before.Params
			if err := prune.Save(out, spec, pp); err != nil {
				return err
			}
			res.setCounts(before, after, pg, pp)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: MACs %d (%.1f%% of %d), params %d (%.1f%%), nonzero %d, reconstructed %v\n",
				out, after.MACs, 100*res.MACsRatio, before.MACs, after.Params, 100*res.ParamsRatio, res.Nonzero, res.Reconstructed)
			return nil
		},
	}
	df.register(cmd)
	cmd.Flags().Lookup("data").DefValue = ""
	df.data = ""
	mf.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&policyArg, "policy", "", "uniform:R (keep fraction R of every group), uniform-macs:F (the uniform policy with at most F of the MACs), or a JSON file {group: ratio}")
	f.StringVar(&out, "out", "", "output folder (prune.json + model.safetensors)")
	f.BoolVar(&residual, "residual", false, "also cut channels joined by residual adds")
	f.IntVar(&multiple, "multiple", 1, "round kept channel counts to this multiple")
	f.StringVar(&critName, "criterion", "l1-in", "channel selection: l1-in (weights reading the channel, AMC) or l1-out (filters producing it)")
	f.BoolVar(&noRecon, "no-reconstruct", false, "with --data: skip least-squares reconstruction")
	f.IntVar(&calImages, "calib-images", 3000, "calibration images from the training split")
	f.IntVar(&calPositions, "calib-positions", 10, "random output positions sampled per image and layer")
	f.Float64Var(&ridge, "ridge", 1e-6, "ridge term, relative to the mean diagonal of the normal equations")
	f.Uint64Var(&seed, "seed", 1, "calibration sampling seed")
	f.StringVar(&density, "density", "", "fine-grained pruning: uniform:D keeps fraction D of every conv/linear layer's weights, or a JSON file {layer: D}")
	f.BoolVar(&asJSON, "json", false, "print one JSON object as the last line")
	f.StringVar(&rebuildDir, "rebuild", "", "make DIR/prune.json's network again (a search's best/ without its weights) instead of cutting by --policy")
	limitFlags(cmd, map[string]numcheck.Range{"multiple": count, "calib-images": count, "calib-positions": count,
		"ridge": numcheck.AtLeast(0), "seed": anyInt})
	return cmd
}

// refit re-fits, by least squares on calibration samples of train (want's
// images, positions, seed and ridge), the layers of the cut pg/pp that read
// pruned channels; it records the timings in res and returns the re-fit as
// prune.json records it.
func refit(a *prune.Analysis, m *loadedModel, train *datasets.Images, pg *nn.Graph, pp nn.Params, kept [][]int,
	want prune.ReconstructionSpec, res *pruneOutput) (*prune.ReconstructionSpec, error) {
	cal, err := prune.Calibrate(a, m.Params, train, m.Norm, want.Images, want.Positions, want.Seed)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := cal.Reconstruct(pg, pp, kept, want.Ridge); err != nil {
		return nil, err
	}
	res.Reconstructed, res.CalibSeconds, res.ReconSeconds = true, cal.Seconds, time.Since(t0).Seconds()
	want.Images, want.Positions, want.Seconds = cal.Images, cal.Positions, cal.Seconds+res.ReconSeconds
	return &want, nil
}

// setCounts fills o's MACs and params, their ratios to the unpruned
// network's, and the nonzero weights of pg/pp.
func (o *pruneOutput) setCounts(before, after nn.Count, pg *nn.Graph, pp nn.Params) {
	o.MACs, o.Params = after.MACs, after.Params
	o.MACsRatio = float64(after.MACs) / float64(before.MACs)
	o.ParamsRatio = float64(after.Params) / float64(before.Params)
	o.Nonzero = prune.Sparsity(pg, pp).Nonzero
}

func policyRatio(p prune.Policy, name string) float64 {
	if r, ok := p[name]; ok {
		return r
	}
	return 1
}

func readPolicy(path string) (prune.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w (want uniform:R, uniform-macs:F or a JSON file)", err)
	}
	var p prune.Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("policy %s: want a JSON object mapping group names to preserve ratios: %w", path, err)
	}
	return p, nil
}

// parseDensity reads uniform:D or a JSON file {layer: density}.
func parseDensity(arg string, g *nn.Graph) (map[string]float64, error) {
	layers := prune.Layers(g)
	if strings.HasPrefix(arg, "uniform:") {
		d, err := strconv.ParseFloat(strings.TrimPrefix(arg, "uniform:"), 64)
		if err != nil || !(d > 0 && d <= 1) {
			return nil, fmt.Errorf("density %q: want uniform:D with D in (0, 1]", arg)
		}
		m := map[string]float64{}
		for _, l := range layers {
			m[l] = d
		}
		return m, nil
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return nil, fmt.Errorf("density: %w (want uniform:D or a JSON file)", err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("density %s: want a JSON object mapping layer names to densities: %w", arg, err)
	}
	for name := range m {
		if g.Node(name) == nil {
			return nil, fmt.Errorf("density %s: no layer %q%s", arg, name, suggest.DidYouMean(name, layers))
		}
	}
	return m, nil
}
