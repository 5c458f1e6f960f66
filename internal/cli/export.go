package cli

import (
	"fmt"
	"io"

	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/onnx"
	"github.com/amcbench/amc/weights"
	"github.com/spf13/cobra"
)

func newExportCmd() *cobra.Command {
	var mf modelFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export --onnx OUT.onnx (--model NAME --weights W | --pruned DIR)",
		Short: "Write a network (unpruned, pruned or fine-tuned) as an ONNX model for other runtimes",
		Long: "The model takes the normalised input, float32 N x C x H x W (the batch is free), and gives the\n" +
			"logits, N x classes; the normalisation (mean and standard deviation on the 0..255 scale) is in\n" +
			"its metadata as amc.normalization. Opset 13, standard operators only (docs/onnx.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--onnx OUT.onnx is required")
			}
			m, err := mf.load(false)
			if err != nil {
				return err
			}
			meta := map[string]string{"amc.model": m.Name, weights.MetaNormalization: weights.NormalizationMeta(m.Norm)}
			err = atomicfile.Write(out, func(w io.Writer) error {
				return onnx.Export(w, m.Graph, m.Params, onnx.Options{Name: m.Name, Metadata: meta})
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", out, m.Name)
			return nil
		},
	}
	mf.register(cmd, true)
	cmd.Flags().StringVar(&out, "onnx", "", "output ONNX file")
	return cmd
}
