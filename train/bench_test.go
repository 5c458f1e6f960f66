package train

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/amcbench/amc/models"
)

// BenchmarkTrainStep times one SGD step (forward, backward, update) at
// batch 128, after one untimed step; images/s is reported. AMC_BENCH_MODELS (comma-separated zoo
// names) chooses the networks; default ResNet-20 and ResNet-56.
func BenchmarkTrainStep(b *testing.B) {
	names := []string{"resnet20", "resnet56"}
	if env := os.Getenv("AMC_BENCH_MODELS"); env != "" {
		names = strings.Split(env, ",")
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			g, err := models.Build(name)
			if err != nil {
				b.Fatal(err)
			}
			net, err := NewNet(g, g.InitParams(1))
			if err != nil {
				b.Fatal(err)
			}
			opt := NewSGD(net, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4})
			const batch = 128
			rng := rand.New(rand.NewPCG(1, 1))
			x := net.Input(batch)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = i % 10
			}
			d := make([]float32, batch*10)
			step := func() {
				logits := net.Forward(batch)
				SoftmaxCrossEntropy(logits, labels, 10, d)
				net.Backward(batch, d)
				opt.Step(0.1)
			}
			// One untimed step first: it touches every buffer for the first
			// time (page faults on about 1.5 GB for ResNet-20 at batch 128,
			// a fifth of a 15-step run's time), as a training run does once.
			// PyTorch's reference reports its median step.
			step()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
