package cli

import (
	"fmt"

	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/weights"
	"github.com/nlpodyssey/safetensors"
	"github.com/spf13/cobra"
)

func newConvertCmd() *cobra.Command {
	var model, in, out, dtype string
	cmd := &cobra.Command{
		Use:   "convert --model NAME --weights IN --out OUT.safetensors [--dtype f16]",
		Short: "Check a weights file against a zoo model and save it as safetensors (float32, or float16 at half the size)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			m, err := loadModel(model, in)
			if err != nil {
				return err
			}
			meta := map[string]string{weights.MetaModel: model, weights.MetaNormalization: weights.NormalizationMeta(m.Norm)}
			// The copy names the original it was made from (the original's own source, for a copy of a copy).
			src := m.File.Meta[weights.MetaSource]
			if src == "" {
				if src, err = filesum.SHA256(in); err != nil {
					return err
				}
			}
			meta[weights.MetaSource] = src
			dt, ok := map[string]safetensors.DType{"f32": safetensors.F32, "f16": safetensors.F16}[dtype]
			if !ok {
				return fmt.Errorf("--dtype %q: want f32 or f16", dtype)
			}
			if err := weights.SaveSafetensorsAs(out, m.Params, meta, dt); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d tensors, %s, %s)\n", out, len(m.Params), model, dtype)
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "zoo model")
	cmd.Flags().StringVar(&in, "weights", "", "input weights")
	cmd.Flags().StringVar(&out, "out", "", "output .safetensors path")
	cmd.Flags().StringVar(&dtype, "dtype", "f32", "f32, or f16 (half the size; amc and the bridge read both; check the accuracy with amc eval)")
	cmd.MarkFlagRequired("model")
	return cmd
}
