package models

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/amcbench/amc/nn"
)

// BenchmarkForward measures the compiled engine on random weights and inputs;
// it reports images/s and GMAC/s. Run with `make bench` or
// `go test -tags openblas -run '^$' -bench Forward ./models/`.
func BenchmarkForward(b *testing.B) {
	for _, name := range []string{"resnet20", "resnet56", "vgg16", "mobilenet_v1", "mobilenet_v2"} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch%d", name, batch), func(b *testing.B) {
				g, err := Build(name)
				if err != nil {
					b.Fatal(err)
				}
				cnt, _ := g.Count()
				pl, err := nn.Compile(g, g.InitParams(1), 0)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				x := make([]float32, batch*g.Input.Size())
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				pl.Forward(x, batch)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := pl.Forward(x, batch); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(batch*b.N)/sec, "img/s")
				b.ReportMetric(float64(cnt.MACs)*float64(batch*b.N)/sec/1e9, "GMAC/s")
			})
		}
	}
}
