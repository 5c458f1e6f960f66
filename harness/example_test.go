package harness_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
)

// Run a spec from Go: every strategy and seed, resumable, gathered into
// runs.parquet and episodes.parquet.
func ExampleRunSpecs() {
	spec, err := experiments.Load("testdata/example.yaml")
	if err != nil {
		log.Fatal(err)
	}
	out, _ := os.MkdirTemp("", "amc-example")
	defer os.RemoveAll(out)
	sweep, err := harness.RunSpecs([]*experiments.Spec{spec}, out, harness.Options{DataDir: "../../shared/data"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sweep.Runs, "runs")
	runs, err := parquet.ReadFile[search.RunRow](filepath.Join(out, "runs.parquet"))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range runs {
		fmt.Printf("%s seed %d: %d episodes, MACs within budget: %v\n", r.Strategy, r.Seed, r.Episodes, r.MACsRatio <= 0.5)
	}
	// Output:
	// 2 runs
	// random seed 1: 3 episodes, MACs within budget: true
	// uniform seed 1: 1 episodes, MACs within budget: true
}

// Evaluate a network trained at its own size on a spec's images, as a
// reference for its pruned networks (a spec's references: list does this
// in amc run).
func ExampleTask_Reference() {
	spec, err := experiments.Load("testdata/example.yaml")
	if err != nil {
		log.Fatal(err)
	}
	task, err := harness.NewTask(spec, harness.Options{DataDir: "../../shared/data"})
	if err != nil {
		log.Fatal(err)
	}
	out, _ := os.MkdirTemp("", "amc-example")
	defer os.RemoveAll(out)
	deeper := experiments.Reference{Name: "resnet56", Model: "resnet56", Weights: "../checkpoints/cifar10/resnet56.safetensors"}
	r, err := task.Reference(deeper, harness.ReferencePath(out, spec.Name, deeper.Name))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %.2fx the MACs of %s, %d reward-set, %d unseen held-out and %d test images\n",
		r.Name, r.MACsRatio, spec.Model, r.RewardImages, r.UnseenImages, r.TestImages)
	// Output:
	// resnet56: 3.09x the MACs of resnet20, 100 reward-set, 100 unseen held-out and 100 test images
}
