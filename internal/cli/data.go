package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/numcheck"
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
		Short: "Data set tools (decode and cache, export the decoded splits for the PyTorch bridge, write a synthetic ImageNet)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDataExportCmd(), newDataPrepareCmd(), newDataSyntheticCmd())
	return cmd
}

// prepareOutput is the JSON amc data prepare prints.
type prepareOutput struct {
	Dataset     string         `json:"dataset"`
	Fingerprint string         `json:"data_fingerprint"`
	HeldoutRule string         `json:"heldout_rule"`
	Images      map[string]int `json:"images"`
	Seconds     float64        `json:"seconds"`
	ImagesPerS  float64        `json:"images_per_s"`
	Workers     int            `json:"workers"`
}

func newDataPrepareCmd() *cobra.Command {
	var df dataFlags
	cmd := &cobra.Command{
		Use:   "prepare [--data NAME]",
		Short: "Decode a data set's splits once into the cache (ImageNet: the reward set, calibration pool and val) and print its fingerprint",
		Long: "Reads and decodes every split amc uses, with progress, and writes the decoded caches, so that\n" +
			"runs (and every shard of a sweep) start from the cache. Prints the split sizes, the content\n" +
			"fingerprint and the decoding rate (images/s on GOMAXPROCS workers; near zero time when the\n" +
			"cache was already there).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			ds, fp, err := df.openFingerprinted()
			if err != nil {
				return err
			}
			out := prepareOutput{Dataset: ds.Name(), Fingerprint: fp, HeldoutRule: ds.HeldoutRule(), Images: map[string]int{}, Workers: runtime.GOMAXPROCS(0)}
			total := 0
			for _, sp := range []datasets.Split{datasets.Train, datasets.Heldout, datasets.Test} {
				im, err := ds.Load(sp)
				if err != nil {
					return err
				}
				out.Images[string(sp)] = im.N
				total += im.N
			}
			out.Seconds = time.Since(start).Seconds()
			out.ImagesPerS = float64(total) / max(out.Seconds, 1e-9)
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	df.register(cmd)
	return cmd
}

func newDataSyntheticCmd() *cobra.Command {
	var out string
	var classes, train, val int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "synthetic --out DIR [--classes 4] [--train 8] [--val 3] [--seed 1]",
		Short: "Write a small synthetic ImageNet (DIR/imagenet/train|val/CLASS/*.JPEG) to try the ImageNet specs without ImageNet",
		Long: "Random-sized JPEGs (and a few PNG and greyscale files) with class-coloured content; then\n" +
			"  amc run experiments/imagenet/SPEC.yaml --data-dir DIR ...\n" +
			"runs a spec end to end (with random weights: see experiments/imagenet/README.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			if err := datasets.WriteSyntheticImageFolder(out, classes, train, val, seed); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d classes, %d training and %d val images per class)\n", filepath.Join(out, "imagenet"), classes, train, val)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "data root to write imagenet/ under")
	cmd.Flags().IntVar(&classes, "classes", 4, "class folders")
	cmd.Flags().IntVar(&train, "train", 8, "training images per class (at least 6)")
	cmd.Flags().IntVar(&val, "val", 3, "val images per class")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed (the same seed writes the same files)")
	limitFlags(cmd, map[string]numcheck.Range{"classes": numcheck.Between(2, 65536).Ints(), "train": numcheck.Between(6, 1e6).Ints(),
		"val": numcheck.Between(1, 1e6).Ints(), "seed": anyInt})
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
			ds, fp, err := df.openFingerprinted()
			if err != nil {
				return err
			}
			m := exportManifest{Format: datasets.ExportFormat, Dataset: ds.Name(), Fingerprint: fp, HeldoutRule: ds.HeldoutRule(),
				Layout: "NHWC uint8 (RGB); labels uint8 (uint16 where a label exceeds 255)", Normalization: datasets.ImageNetNorm, Splits: map[string]datasets.ExportedSplit{}}
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
