package cli

import (
	"fmt"

	"github.com/amcbench/amc/weights"
	"github.com/spf13/cobra"
)

func newConvertCmd() *cobra.Command {
	var model, in, out string
	cmd := &cobra.Command{
		Use:   "convert --model NAME --weights IN --out OUT.safetensors",
		Short: "Check a weights file against a zoo model and save it as safetensors",
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
			if err := weights.SaveSafetensors(out, m.Params, meta); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d tensors, %s)\n", out, len(m.Params), model)
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "zoo model")
	cmd.Flags().StringVar(&in, "weights", "", "input weights")
	cmd.Flags().StringVar(&out, "out", "", "output .safetensors path")
	cmd.MarkFlagRequired("model")
	return cmd
}
