package compare_test

import (
	"fmt"

	"github.com/amcbench/amc/compare"
)

// Two strategies' test accuracies over five seeds, and a fixed policy.
func Example() {
	ddpg := []float64{71.2, 70.8, 72.5, 69.9, 71.7}
	random := []float64{70.1, 69.5, 70.9, 68.8, 70.2}
	uniform := []float64{69.0}
	opt := compare.DefaultOptions()
	iqm, _ := compare.Bootstrap(ddpg, compare.IQM, opt)
	fmt.Println("ddpg IQM", iqm)
	p, _ := compare.ProbImprovement(ddpg, random, opt)
	fmt.Printf("P(ddpg > random) %s: %s\n", p, compare.Verdict(p))
	p, _ = compare.ProbImprovement(ddpg, uniform, opt)
	fmt.Printf("P(ddpg > uniform) %s: %s\n", p, compare.Verdict(p))
	// Output:
	// ddpg IQM 71.23 [70.20, 72.23]
	// P(ddpg > random) 0.84 [0.52, 1.00]: better
	// P(ddpg > uniform) 1.00 [1.00, 1.00]: better
}
