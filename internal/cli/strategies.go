package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/amcbench/amc/agent"
	"github.com/spf13/cobra"
)

// strategyInfo is one line of amc strategies --json.
type strategyInfo struct {
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	Doc    string         `json:"doc"`
	Params map[string]any `json:"params,omitempty"` // defaults (run-dependent ones as null)
}

var kindNames = map[agent.Kind]string{agent.Learner: "learner", agent.Sampler: "sampler", agent.Fixed: "fixed"}

func newStrategiesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "strategies",
		Short: "List the registered strategies (agents and baselines) with their params and defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			for _, name := range agent.Names() {
				s, _ := agent.Lookup(name)
				info := strategyInfo{Name: name, Kind: kindNames[s.Kind], Doc: s.Doc}
				if s.Params != nil {
					info.Params = agent.ParamValues(s.Params())
				}
				if asJSON {
					if err := printJSON(out, info); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(out, "%s (%s): %s\n", name, info.Kind, info.Doc)
				for _, k := range s.ParamNames() {
					v, _ := json.Marshal(info.Params[k])
					if string(v) == "null" {
						v = []byte("(depends on the run: see above)")
					}
					fmt.Fprintf(out, "    %s: %s\n", k, v)
				}
			}
			if !asJSON {
				fmt.Fprintln(out, strings.TrimSpace(`
Give params in a spec as {name: ddpg, params: {warmup: 50}}, or to amc search as --param warmup=50.
An agent in another language runs as {name: my-agent, command: [python3, agent.py]} (docs/external-agents.md).`))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON line per strategy")
	return cmd
}
