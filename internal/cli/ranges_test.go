package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every numeric flag of every command declares its accepted range, so
// that none is used unchecked.
func TestEveryNumericFlagHasARange(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			switch f.Value.Type() {
			case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
				"float32", "float64", "intSlice", "int32Slice", "int64Slice", "uintSlice", "float32Slice", "float64Slice", "count", "duration":
				assert.NotEmpty(t, f.Annotations[rangeAnnotation], "amc %s --%s (%s) has no range (limitFlags)", c.Name(), f.Name, f.Value.Type())
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot(nil, nil))
}

// Numbers out of range, NaN and infinities are refused before any work,
// each error naming the flag, the value and the accepted range; nothing
// is written.
func TestNumericFlagsRefused(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(spec, []byte("name: s\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: random}]\n"), 0o644))
	search := []string{"search", "--model", "resnet20", "--weights", "w.safetensors", "--data-dir", "nowhere"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"train negative pad", []string{"train", "--model", "resnet20", "--pad", "-3"}, "--pad -3: want an integer >= 0"},
		{"finetune negative pad", []string{"finetune", "--pruned", "p", "--pad", "-3"}, "--pad -3: want an integer >= 0"},
		{"train NaN weight decay", []string{"train", "--model", "resnet20", "--wd", "NaN"}, "--wd NaN: want a number >= 0"},
		{"finetune negative weight decay", []string{"finetune", "--pruned", "p", "--wd", "-1"}, "--wd -1: want a number >= 0"},
		{"train infinite lr", []string{"train", "--model", "resnet20", "--lr", "Inf"}, "--lr +Inf: want a number > 0"},
		{"train momentum 1", []string{"train", "--model", "resnet20", "--momentum", "1"}, "--momentum 1: want a number in [0, 1)"},
		{"train negative images", []string{"train", "--model", "resnet20", "--train-images", "-5"}, "--train-images -5: want an integer >= 0 (0: all)"},
		{"train NaN warm-up", []string{"train", "--model", "resnet20", "--warmup-epochs", "NaN"}, "--warmup-epochs NaN"},
		{"train no epochs", []string{"train", "--model", "resnet20", "--epochs", "0"}, "--epochs 0: want an integer >= 1"},
		{"train two at once", []string{"train", "--model", "resnet20", "--batch", "0", "--wd", "NaN"}, "--batch 0: want an integer >= 1\n--wd NaN"},
		{"run negative episodes", []string{"run", spec, "--out", "o", "--episodes", "-5"}, "--episodes -5: want an integer >= 0 (0: the spec's)"},
		{"run negative reward images", []string{"run", spec, "--out", "o", "--reward-images", "-1"}, "--reward-images -1"},
		{"run negative final images", []string{"run", spec, "--out", "o", "--final-images", "-1"}, "--final-images -1"},
		{"search negative warmup", append(search, "--warmup", "-5", "--out", "o"), "--warmup -5: want an integer >= 0"},
		{"search one latency point", append(search, "--latency-points", "1", "--out", "o"), "--latency-points 1: want an integer >= 2"},
		{"search NaN lower bound", append(search, "--lbound", "NaN", "--out", "o"), "--lbound NaN: want a number in (0, 1]"},
		{"search lower bound 0", append(search, "--lbound", "0", "--out", "o"), "--lbound 0: want a number in (0, 1]"},
		{"search negative reward images", append(search, "--reward-images", "-5", "--out", "o"), "--reward-images -5: want an integer >= 0 (0: all)"},
		{"search negative final images", append(search, "--final-images", "-7", "--out", "o"), "--final-images -7"},
		{"search NaN ridge", append(search, "--ridge", "NaN", "--out", "o"), "--ridge NaN"},
		{"search zero latency workers", append(search, "--latency-workers", "0", "--out", "o"), "--latency-workers 0: want an integer in [1, 1024]"},
		{"search positions", append(search, "--calib-positions", "100000", "--out", "o"), "--calib-positions 100000: want an integer in [1, 1024] (resnet20's 32x32 input has 1024 positions)"},
		{"search accuracy with a budget", append(search, "--protocol", "accuracy", "--budget", "macs=0.5", "--out", "o"), "--budget macs=0.5: a budget only goes with --protocol constrained"},
		{"prune positions", []string{"prune", "--model", "resnet20", "--policy", "uniform:0.5", "--out", "o", "--calib-positions", "1025"}, "--calib-positions 1025: want an integer in [1, 1024]"},
		{"prune zero multiple", []string{"prune", "--model", "resnet20", "--policy", "uniform:0.5", "--out", "o", "--multiple", "0"}, "--multiple 0"},
		{"measure NaN width", []string{"measure", "--model", "resnet20@NaN"}, `model "resnet20@NaN": width "NaN" must be a number in (0, 4]`},
		{"measure negative workers", []string{"measure", "--model", "resnet20", "--workers", "-1"}, "--workers -1: want an integer in [0, 1024] (0: GOMAXPROCS)"},
		{"eval negative limit", []string{"eval", "--model", "resnet20", "--limit", "-1"}, "--limit -1: want an integer >= 0 (0: all)"},
		{"eval huge batch", []string{"eval", "--model", "resnet20", "--batch", "100000"}, "--batch 100000: want an integer in [1, 4096]"},
		{"bench infinite seconds", []string{"bench", "--model", "resnet20", "--seconds", "Inf"}, "--seconds +Inf: want a number > 0"},
		{"bench NaN seconds", []string{"bench", "--model", "resnet20", "--seconds", "NaN"}, "--seconds NaN"},
		{"models NaN width", []string{"models", "--long", "--width", "NaN"}, "--width NaN: want a number in (0, 4]"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		t.Chdir(dir)
		_, _, err := run(c.args...)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		entries, _ := os.ReadDir(dir)
		assert.Empty(t, entries, "%s: nothing written", c.name)
	}
}
