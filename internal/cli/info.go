package cli

import (
	"fmt"
	"runtime"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/nn"
	"github.com/spf13/cobra"
)

func newInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Print the engine's BLAS, core count, data roots and cache directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := datasets.CacheDir("")
			if err != nil {
				cache = err.Error()
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "blas:       %s\n", nn.BLASName)
			fmt.Fprintf(w, "gomaxprocs: %d\n", runtime.GOMAXPROCS(0))
			fmt.Fprintf(w, "go:         %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "data roots: %v\n", datasets.DataRoots(""))
			fmt.Fprintf(w, "cache:      %s\n", cache)
			return nil
		},
	}
}
