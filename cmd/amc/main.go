// Command amc is the AMC benchmark harness: see `amc --help`.
package main

import (
	"os"

	"github.com/amcbench/amc/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
