package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/spf13/cobra"
)

// exportManifest is DIR/export.json of amc data export.
type exportManifest struct {
	Format        string                            `json:"format"`
	Dataset       string                            `json:"dataset"`
	Fingerprint   string                            `json:"data_fingerprint"`
	HeldoutRule   string                            `json:"heldout_rule"`
	Layout        string                            `json:"layout"`
	Classes       []string                          `json:"classes"`
	Normalization datasets.Normalization            `json:"normalization"`
	Splits        map[string]datasets.ExportedSplit `json:"splits"`
}

// ExportManifestFile is the manifest amc data export writes beside the arrays.
const ExportManifestFile = "export.json"

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Data set tools (export the decoded splits for the PyTorch bridge)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDataExportCmd())
	return cmd
}

func newDataExportCmd() *cobra.Command {
	var df dataFlags
	var out, splits string
	cmd := &cobra.Command{
		Use:   "export --out DIR [--data NAME] [--splits train,heldout,test]",
		Short: "Write the decoded splits as NumPy arrays (the exact pixels, labels and split amc uses)",
		Long: "Writes DIR/SPLIT-images.npy (uint8, N x 32 x 32 x 3, NHWC), DIR/SPLIT-labels.npy (uint8, N) and\n" +
			"DIR/export.json (data set, content fingerprint, held-out rule, file checksums). The PyTorch\n" +
			"bridge (python/amc_bridge, docs/bridge.md) trains and evaluates on these files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			var want []datasets.Split
			for _, s := range strings.Split(splits, ",") {
				sp, err := datasets.ParseSplit(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("--splits: %w", err)
				}
				want = append(want, sp)
			}
			ds, err := df.open()
			if err != nil {
				return err
			}
			fp, err := ds.Fingerprint()
			if err != nil {
				return err
			}
			m := exportManifest{Format: datasets.ExportFormat, Dataset: ds.Name(), Fingerprint: fp, HeldoutRule: ds.HeldoutRule(),
				Layout: "NHWC uint8 (RGB); labels uint8", Normalization: datasets.ImageNetNorm, Splits: map[string]datasets.ExportedSplit{}}
			for _, sp := range want {
				im, err := ds.Load(sp)
				if err != nil {
					return err
				}
				e, err := datasets.Export(im, out)
				if err != nil {
					return err
				}
				m.Splits[string(sp)], m.Classes = e, im.Classes
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d images\n", filepath.Join(out, e.ImagesFile), e.Images)
			}
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.WriteBytes(filepath.Join(out, ExportManifestFile), append(b, '\n')); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), m)
		},
	}
	df.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "output folder")
	cmd.Flags().StringVar(&splits, "splits", "train,heldout,test", "comma-separated splits to export")
	return cmd
}
