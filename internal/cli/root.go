// Package cli implements the amc command line.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Execute runs the amc command with the process arguments and returns the
// exit code.
func Execute() int {
	root := NewRoot(os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "amc: %v\n", err)
		return 1
	}
	return 0
}

// NewRoot builds the command tree writing to the given streams.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "amc",
		Short: "AMC (AutoML for Model Compression) benchmark harness",
		Long: "amc reproduces AMC (He et al., ECCV 2018) on CIFAR and ImageNet networks: a Go inference engine,\n" +
			"the CIFAR model zoo and the paper's ImageNet networks, PyTorch and safetensors weights, CIFAR-10 and ImageNet (ImageFolder) data.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newTrainCmd(), newFinetuneCmd(), newMergeCmd(), newModelsCmd(), newEvalCmd(), newConvertCmd(), newInfoCmd(), newBenchCmd(), newGraphCmd(), newDataCmd(), newExportCmd(), newLatencyGridCmd(), newStrategiesCmd(), newEnvCmd(), newFetchCmd(),
		newGroupsCmd(), newPruneCmd(), newMeasureCmd(), newSearchCmd(), newRunCmd(), newReportCmd())
	return root
}

// printJSON writes v as one line of JSON: the machine-readable last line.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
