package weights

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/amcbench/amc/nn"
)

// CheckValues refuses parameters that no trained network holds: a NaN or
// infinite value in any tensor, or a negative value in a batch norm running
// variance (a tensor whose name ends in running_var). Such weights load and
// evaluate without complaint but score wrongly (an all-NaN convolution
// scores chance, one NaN variance silently costs points), so Load applies
// this to every format. The error names the tensor and the first bad index;
// tensors are visited in name order, so it is the same on every run.
func CheckValues(p nn.Params) error {
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		variance := strings.HasSuffix(name, "running_var")
		for i, v := range p[name].Data {
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // exponent all ones: NaN or ±Inf
				return fmt.Errorf("tensor %q: value %d is %v; weights must be finite (was the network trained with a diverging loss?)", name, i, v)
			}
			if variance && v < 0 {
				return fmt.Errorf("tensor %q: value %d is %v; a variance cannot be negative", name, i, v)
			}
		}
	}
	return nil
}
