// Command collapse_tail counts, in a run's episodes.parquet, the search
// episodes after a warm-up at chance level (reward-set top-1 below 12%) and
// how many of them have every one of the last K groups within 0.03 of the
// lower bound: the budget cap's signature when a policy keeps the early
// groups nearly whole (results/ddpg-collapse).
//
//	go run ./scripts/collapse_tail -warmup 50 -k 6 -lbound 0.2 results/ddpg-collapse/ddpg-collapse-plain20/ddpg-s1/episodes.parquet
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/amcbench/amc/search"
)

func main() {
	warmup := flag.Int("warmup", 50, "episodes before this index are skipped")
	k := flag.Int("k", 6, "the last K groups")
	lbound := flag.Float64("lbound", 0.2, "the lower bound of the preserve ratio")
	flag.Parse()
	for _, path := range flag.Args() {
		rows, err := search.ReadEpisodes(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var chance, chanceTail, good, goodTail int
		for _, r := range rows {
			if int(r.Episode) < *warmup || !r.Explore || len(r.Ratios) < *k {
				continue
			}
			tail := true
			for _, v := range r.Ratios[len(r.Ratios)-*k:] {
				tail = tail && v < *lbound+0.03
			}
			if r.RewardTop1 < 12 {
				chance++
				if tail {
					chanceTail++
				}
			} else {
				good++
				if tail {
					goodTail++
				}
			}
		}
		fmt.Printf("%s: %d episodes at chance, %d of them with the last %d groups at the bound; %d above chance, %d of them\n",
			path, chance, chanceTail, *k, good, goodTail)
	}
}
