// Command paper_cifar prints the paper's CIFAR-10 comparison (He et al.,
// ECCV 2018: 50% FLOPs on Plain-20 and ResNet-56) beside amc's runs, from a
// report folder's runs.parquet: per network, every strategy's test top-1
// before fine-tuning (IQM over seeds with its 95% stratified-bootstrap
// interval; a fixed policy is one value), P(a run of the strategy scores above
// a run of AMC's) on test with its verdict, test top-1 after fine-tuning where
// a run was fine-tuned, and the paper's figures; then issue #18's targets,
// each met or missed from these numbers. Test images are never seen by a
// search or a fine-tune, so every column here is unbiased.
//
//	go run ./scripts/paper_cifar -amc ddpg-official,ddpg results/agents/runs.parquet
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/amcbench/amc/compare"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
)

// paper holds the figures of docs/amc-method.md (the shared copy) per
// model: before and after fine-tuning, by strategy ("unpruned": baseline).
var paper = map[string]map[string][2]string{
	"resnet56": {"unpruned": {"92.8", ""}, "ddpg": {"90.1", "91.9"}, "uniform": {"87.4", ""}, "deep": {"88.4", ""}},
	"plain20":  {"unpruned": {"90.5", ""}, "ddpg": {"", "90.2"}, "uniform": {"", "89.7"}, "shallow": {"", "89.2"}, "deep": {"", "88.3"}},
}

type strat struct {
	name           string
	test           []float64
	ftTest         float64
	ftEpochs       int64
	ftSeed, nSeeds int
}

func main() {
	amcNames := flag.String("amc", "ddpg-official,ddpg", "the strategies that are AMC, by preference: the first one a spec has is compared with the others")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: paper_cifar [-amc NAMES] RUNS.parquet...")
		os.Exit(2)
	}
	var rows []search.RunRow
	for _, f := range flag.Args() {
		rs, err := parquet.ReadFile[search.RunRow](f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rows = append(rows, rs...)
	}
	var err error
	var specs []string
	for _, r := range rows {
		if !slices.Contains(specs, r.Spec) {
			specs = append(specs, r.Spec)
		}
	}
	opt := compare.DefaultOptions()
	var targets []string
	for _, spec := range specs {
		var model string
		var base float64
		byName := map[string]*strat{}
		var order []string
		for _, r := range rows {
			if r.Spec != spec {
				continue
			}
			model, base = r.Model, r.BaseTestTop1
			s := byName[r.Strategy]
			if s == nil {
				s = &strat{name: r.Strategy}
				byName[r.Strategy] = s
				order = append(order, r.Strategy)
			}
			s.test = append(s.test, r.TestTop1)
			s.nSeeds++
			if r.FineTuneEpochs > 0 {
				s.ftTest, s.ftEpochs, s.ftSeed = r.FineTunedTest, r.FineTuneEpochs, int(r.Seed)
			}
		}
		var amc *strat
		for _, n := range strings.Split(*amcNames, ",") {
			if s := byName[n]; s != nil && amc == nil {
				amc = s
			}
		}
		iqm := map[string]compare.Interval{}
		for _, n := range order {
			if iqm[n], err = compare.Bootstrap(compare.OneValue(byName[n].test), compare.IQM, opt); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		slices.SortStableFunc(order, func(a, b string) int {
			switch x, y := iqm[a].Point, iqm[b].Point; {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return 0
		})
		ref := paper[model]
		fmt.Printf("### %s (%s)\n\n", model, spec)
		fmt.Printf("| strategy | seeds | test before fine-tuning, IQM [95%% interval] | P(above %s) on test | test after fine-tuning | paper: before | paper: after |\n", nameOf(amc))
		fmt.Println("|---|---:|---:|---|---:|---:|---:|")
		fmt.Printf("| unpruned | - | %.2f | - | - | %s | - |\n", base, orDash(ref["unpruned"][0]))
		var beaten, tied, under []string
		for _, n := range order {
			s := byName[n]
			vs := "-"
			if amc != nil && s != amc {
				p, err := compare.ProbImprovement(compare.OneValue(s.test), compare.OneValue(amc.test), opt)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				v := compare.Verdict(p)
				vs = fmt.Sprintf("%s: %s", p, v)
				switch {
				case strings.HasPrefix(v, "better"):
					beaten = append(beaten, n)
				case strings.HasPrefix(v, "worse"):
					under = append(under, n)
				default:
					tied = append(tied, n)
				}
			}
			ft := "-"
			if s.ftEpochs > 0 {
				ft = fmt.Sprintf("%.2f (seed %d, %d epoch%s)", s.ftTest, s.ftSeed, s.ftEpochs, map[bool]string{true: "s"}[s.ftEpochs != 1])
			}
			pk := n
			if s == amc {
				pk = "ddpg"
			}
			fmt.Printf("| %s | %d | %s | %s | %s | %s | %s |\n", n, s.nSeeds, iqm[n], vs, ft, orDash(ref[pk][0]), orDash(ref[pk][1]))
		}
		fmt.Println()
		if amc == nil {
			targets = append(targets, fmt.Sprintf("- %s: no AMC strategy (%s) in %s", model, *amcNames, spec))
			continue
		}
		label := fmt.Sprintf("%s (%s)", model, spec)
		before := "met: every other strategy is worse on test by its interval"
		switch {
		case len(beaten) > 0:
			before = fmt.Sprintf("missed: %s better on test", strings.Join(beaten, ", "))
		case len(tied) > 0:
			before = fmt.Sprintf("not shown: %s not distinguishable from %s on test (%d seeds)", strings.Join(tied, ", "), amc.name, amc.nSeeds)
		}
		targets = append(targets, fmt.Sprintf("- %s, AMC (%s) first before fine-tuning: %s.", label, amc.name, before))
		var ftOthers []string
		for _, n := range order {
			if s := byName[n]; s != amc && s.ftEpochs > 0 {
				rel := "below AMC"
				if s.ftTest >= amc.ftTest {
					rel = "at or above AMC"
				}
				ftOthers = append(ftOthers, fmt.Sprintf("%s %.2f (%s)", n, s.ftTest, rel))
			}
		}
		switch {
		case amc.ftEpochs == 0:
			targets = append(targets, fmt.Sprintf("- %s, AMC first after fine-tuning: not produced (no fine-tuned %s run).", label, amc.name))
		case len(ftOthers) == 0:
			targets = append(targets, fmt.Sprintf("- %s, AMC first after fine-tuning: AMC %.2f, no other strategy fine-tuned.", label, amc.ftTest))
		default:
			targets = append(targets, fmt.Sprintf("- %s, AMC first after fine-tuning: AMC (%s) %.2f against %s; one fine-tune each, so one value each and no interval.",
				label, amc.name, amc.ftTest, strings.Join(ftOthers, ", ")))
		}
		if model == "resnet56" {
			if amc.ftEpochs == 0 {
				targets = append(targets, fmt.Sprintf("- %s within 0.5 points of its unpruned network after fine-tuning: not produced (no fine-tuned run).", label))
			} else {
				verdict := "met"
				if d := amc.ftTest - base; d < -0.5 {
					verdict = fmt.Sprintf("missed by %.2f", -0.5-d)
				}
				targets = append(targets, fmt.Sprintf("- %s within 0.5 points of its unpruned network after fine-tuning: %s: AMC (%s) %.2f test against %.2f (%+.2f; one fine-tune).",
					label, verdict, nameOf(amc), amc.ftTest, base, amc.ftTest-base))
			}
		}
	}
	fmt.Println("**Targets (issue #18), from the tables above:**")
	fmt.Println()
	for _, t := range targets {
		fmt.Println(t)
	}
}

func nameOf(s *strat) string {
	if s == nil {
		return "AMC"
	}
	return s.name
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
