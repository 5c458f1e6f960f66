package cli

import (
	"fmt"
	"sort"

	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/models"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// rangeAnnotation marks a flag whose range limitFlags declared (what
// TestEveryNumericFlagHasARange looks for).
const rangeAnnotation = "amc-range"

// Bounds of inference flags: a larger batch or thread count only grows
// memory.
const (
	maxBatch   = 4096
	maxWorkers = 1024
)

// Ranges shared by several commands.
var (
	count       = numcheck.AtLeast(1).Ints()
	countOrZero = numcheck.AtLeast(0).Ints()
	anyInt      = numcheck.Any().Ints()
	batchRange  = numcheck.Between(1, maxBatch).Ints()
	workerRange = numcheck.Between(0, maxWorkers).Ints().Means("0: GOMAXPROCS")
	threads     = numcheck.Between(1, maxWorkers).Ints()
)

// limitFlags declares the accepted ranges of cmd's numeric flags. They are
// checked after parsing, before the command runs, and every failure is
// reported with the flag, its value and the range.
func limitFlags(cmd *cobra.Command, ranges map[string]numcheck.Range) {
	for name, r := range ranges {
		if cmd.Flags().Lookup(name) == nil {
			panic(fmt.Sprintf("limitFlags: %s has no flag --%s", cmd.Name(), name)) // a programming error
		}
		_ = cmd.Flags().SetAnnotation(name, rangeAnnotation, []string{r.String()})
	}
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if err := checkFlagRanges(c.Flags(), ranges); err != nil {
			return err
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

// checkFlagRanges checks the flags' values (in name order; every error).
func checkFlagRanges(fs *pflag.FlagSet, ranges map[string]numcheck.Range) error {
	names := make([]string, 0, len(ranges))
	for n := range ranges {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		r, flag := ranges[n], "--"+n
		var err error
		switch fs.Lookup(n).Value.Type() {
		case "int":
			v, _ := fs.GetInt(n)
			err = r.CheckInt(flag, int64(v))
		case "int64":
			v, _ := fs.GetInt64(n)
			err = r.CheckInt(flag, v)
		case "uint64":
			v, _ := fs.GetUint64(n)
			err = r.CheckUint(flag, v)
		case "float64":
			v, _ := fs.GetFloat64(n)
			err = r.Check(flag, v)
		case "int64Slice":
			vs, _ := fs.GetInt64Slice(n)
			for _, v := range vs {
				if err = r.CheckInt(flag, v); err != nil {
					break
				}
			}
		default:
			err = fmt.Errorf("%s: no range check for a flag of type %s", flag, fs.Lookup(n).Value.Type())
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return numcheck.All(errs...)
}

// checkPositions bounds calibration positions per image by the model's
// input positions (1,024 for a 32x32 CIFAR input): more only repeats
// positions, and grew memory without bound.
func checkPositions(flag string, positions int, model string) error {
	g, err := models.Build(model)
	if err != nil {
		return err
	}
	return positionsRange(g.Input.H, g.Input.W, model).CheckInt(flag, int64(positions))
}

func positionsRange(h, w int, model string) numcheck.Range {
	return numcheck.Between(1, float64(h*w)).Ints().Means(fmt.Sprintf("%s's %dx%d input has %d positions", model, h, w, h*w))
}

// runFlagRanges are amc run's: zero keeps the spec's value.
var runFlagRanges = map[string]numcheck.Range{
	"episodes":      countOrZero.Means("0: the spec's"),
	"seeds":         anyInt,
	"reward-images": countOrZero.Means("0: the spec's"),
	"final-images":  countOrZero.Means("0: the spec's"),
}
