package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/models"
	"github.com/spf13/cobra"
)

func newModelsCmd() *cobra.Command {
	var long bool
	var width float64
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the model zoo (one name per line; --long adds MACs and params)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if !long {
				for _, n := range models.Names() {
					fmt.Fprintln(out, n)
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "model\tMACs\tparams\tconv+linear params\t")
			for _, n := range models.Names() {
				name := n
				if width != 1 {
					name = fmt.Sprintf("%s@%g", n, width)
				}
				g, err := models.Build(name)
				if err != nil {
					return err
				}
				c, err := g.Count()
				if err != nil {
					return err
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", name, c.MACs, c.Params, c.ConvLinearParams)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "print MACs and parameter counts")
	cmd.Flags().Float64Var(&width, "width", 1, "width multiplier for --long (also: NAME@WIDTH wherever a model is named)")
	limitFlags(cmd, map[string]numcheck.Range{"width": {Min: 0, Max: 4, MinOpen: true}})
	return cmd
}
