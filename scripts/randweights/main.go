// Command randweights writes a zoo model's freshly initialised weights as
// safetensors (for timing runs on random weights):
//
//	go run ./scripts/randweights MODEL OUT.safetensors
package main

import (
	"fmt"
	"os"

	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/weights"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: randweights MODEL OUT.safetensors")
		os.Exit(2)
	}
	g, err := models.Build(os.Args[1])
	if err == nil {
		err = weights.SaveSafetensors(os.Args[2], g.InitParams(1), map[string]string{weights.MetaModel: os.Args[1]})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
