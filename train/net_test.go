package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lossAt(t *testing.T, net *Net, x []float32, labels []int) (float64, []float32) {
	copy(net.Input(len(labels)), x)
	logits := net.Forward(len(labels))
	d := make([]float32, len(logits))
	loss, _ := SoftmaxCrossEntropy(logits, labels, 10, d)
	return loss, d
}

// smallNets covers every layer type of the zoo in shallow networks, where a
// float32 finite difference is accurate: convolutions with bias, stride and
// padding, 1x1, depthwise, batch norm, ReLU, ReLU6, residual adds, the
// option-A shortcut, max and average pooling, global pooling, flatten of a
// 2x2 map (PyTorch's channel-major order) and linear layers.
func smallNets() map[string]*nn.Graph {
	a := nn.NewGraph(nn.Shape{C: 3, H: 8, W: 8})
	x := a.Conv("c1", 0, 3, 6, 3, 1, 1, 1)
	a.Nodes[x].Bias = true
	x = a.BN("bn1", x, 6)
	x = a.Act("r1", nn.OpReLU, x)
	sc := a.Add(&nn.Node{Name: "sc", Op: nn.OpShortcutA, Inputs: []int{x}, OutC: 10, Stride: 2})
	y := a.Conv("c2", x, 6, 10, 3, 2, 1, 1)
	y = a.BN("bn2", y, 10)
	y = a.Add(&nn.Node{Name: "add", Op: nn.OpAdd, Inputs: []int{y, sc}})
	y = a.Act("r2", nn.OpReLU, y)
	y = a.Add(&nn.Node{Name: "mp", Op: nn.OpMaxPool, Inputs: []int{y}, Kernel: 3, Stride: 2, Pad: 1}) // padded, as ResNet-50's
	y = a.Add(&nn.Node{Name: "gap", Op: nn.OpGlobalAvgPool, Inputs: []int{y}})
	y = a.Add(&nn.Node{Name: "fl", Op: nn.OpFlatten, Inputs: []int{y}})
	a.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{y}, InC: 10, OutC: 10, Bias: true})

	m := nn.NewGraph(nn.Shape{C: 3, H: 8, W: 8})
	x = m.Conv("c1", 0, 3, 8, 3, 1, 1, 1)
	x = m.BN("bn1", x, 8)
	in := m.Act("r1", nn.OpReLU6, x)
	x = m.Conv("exp", in, 8, 16, 1, 1, 0, 1)
	x = m.BN("bn2", x, 16)
	x = m.Act("r2", nn.OpReLU6, x)
	x = m.Conv("dw", x, 16, 16, 3, 1, 1, 16)
	x = m.BN("bn3", x, 16)
	x = m.Act("r3", nn.OpReLU6, x)
	x = m.Conv("pw", x, 16, 8, 1, 1, 0, 1)
	x = m.BN("bn4", x, 8)
	x = m.Add(&nn.Node{Name: "add", Op: nn.OpAdd, Inputs: []int{x, in}})
	x = m.Conv("dw2", x, 8, 8, 3, 2, 1, 8)
	x = m.Add(&nn.Node{Name: "ap", Op: nn.OpAvgPool, Inputs: []int{x}, Kernel: 2, Stride: 2})
	x = m.Add(&nn.Node{Name: "fl", Op: nn.OpFlatten, Inputs: []int{x}})
	m.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: 32, OutC: 10, Bias: true})

	// Two 3x3 stride-1 convolutions of one tensor (the Winograd path, the
	// second's input gradient added to the first's) on an odd-sized map.
	w := nn.NewGraph(nn.Shape{C: 3, H: 7, W: 7})
	x = w.Conv("c1", 0, 3, 6, 3, 1, 1, 1)
	in = w.Act("r1", nn.OpReLU, x)
	x = w.Conv("ca", in, 6, 5, 3, 1, 1, 1)
	x = w.BN("bna", x, 5)
	y = w.Conv("cb", in, 6, 5, 3, 1, 1, 1)
	x = w.Add(&nn.Node{Name: "add", Op: nn.OpAdd, Inputs: []int{x, y}})
	x = w.Act("r2", nn.OpReLU, x)
	x = w.Add(&nn.Node{Name: "gap", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = w.Add(&nn.Node{Name: "fl", Op: nn.OpFlatten, Inputs: []int{x}})
	w.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: 5, OutC: 10, Bias: true})
	// The edges of batch norm fusion (Net.bnAct): a norm read by its ReLU and
	// by an addition (not fused), a fused ReLU6, and a norm of the logits
	// fused with the ReLU that is the graph's output.
	e := nn.NewGraph(nn.Shape{C: 3, H: 6, W: 6})
	x = e.Conv("c1", 0, 3, 6, 3, 1, 1, 1)
	x = e.BN("bn1", x, 6)
	y = e.Act("r1", nn.OpReLU, x)
	x = e.Add(&nn.Node{Name: "add", Op: nn.OpAdd, Inputs: []int{x, y}})
	x = e.Conv("c2", x, 6, 6, 3, 1, 1, 1)
	x = e.BN("bn2", x, 6)
	x = e.Act("r2", nn.OpReLU6, x)
	x = e.Add(&nn.Node{Name: "gap", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = e.Add(&nn.Node{Name: "fl", Op: nn.OpFlatten, Inputs: []int{x}})
	x = e.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: 6, OutC: 10, Bias: true})
	x = e.BN("bn3", x, 10)
	e.Act("r3", nn.OpReLU, x)
	return map[string]*nn.Graph{"residual": a, "mobile": m, "winograd": w, "fusion-edges": e}
}

// The gradient of every parameter tensor agrees with a central finite
// difference of the loss along a random direction in that tensor.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for name, g := range smallNets() {
		p := g.InitParams(7)
		net, err := NewNet(g, p)
		require.NoError(t, err, name)
		rng := rand.New(rand.NewPCG(1, 2))
		const b = 8
		x := make([]float32, b*g.Input.Size())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		labels := []int{1, 3, 5, 7, 9, 0, 2, 4}
		_, d := lossAt(t, net, x, labels)
		net.Backward(b, d)
		names := make([]string, 0, len(net.Grads))
		for k := range net.Grads {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			// ReLU kinks make a float32 central difference noisy: for each
			// of three random directions the best of three step sizes is
			// taken, and two of the three directions must agree within 2%.
			agree := 0
			var report string
			for dirTrial := 0; dirTrial < 3; dirTrial++ {
				v := make([]float32, len(net.Grads[k]))
				var norm, gv float64
				for i := range v {
					v[i] = float32(rng.NormFloat64())
					norm += float64(v[i]) * float64(v[i])
				}
				for i := range v {
					v[i] /= float32(math.Sqrt(norm))
					gv += float64(v[i]) * float64(net.Grads[k][i])
				}
				w := p[k].Data
				shift := func(eps float32) {
					for i := range w {
						w[i] += eps * v[i]
					}
				}
				best := math.Inf(1)
				for _, eps := range []float32{1e-3, 5e-4, 3e-4} {
					shift(eps)
					lp, _ := lossAt(t, net, x, labels)
					shift(-2 * eps)
					lm, _ := lossAt(t, net, x, labels)
					shift(eps)
					best = math.Min(best, math.Abs((lp-lm)/float64(2*eps)-gv))
				}
				if best <= 0.02*math.Abs(gv)+1e-4 {
					agree++
				}
				report += fmt.Sprintf(" [backprop %.5g, off by %.3g]", gv, best)
			}
			assert.GreaterOrEqual(t, agree, 2, "%s %s:%s", name, k, report)
		}
	}
}

// Per-layer check: only one tensor perturbed, for each kind of layer.
func TestGradientPerTensor(t *testing.T) {
	g := smallNets()["residual"]
	p := g.InitParams(3)
	net, err := NewNet(g, p)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	const b = 3
	x := make([]float32, b*g.Input.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int{0, 4, 9}
	_, d := lossAt(t, net, x, labels)
	net.Backward(b, d)
	for _, k := range []string{"c1.weight", "c1.bias", "bn1.weight", "bn1.bias", "c2.weight", "bn2.bias", "fc.weight", "fc.bias"} {
		grad := append([]float32(nil), net.Grads[k]...)
		w := p[k].Data
		for trial := 0; trial < 3; trial++ {
			i := rng.IntN(len(w))
			const eps = 1e-3
			w[i] += eps
			lp, _ := lossAt(t, net, x, labels)
			w[i] -= 2 * eps
			lm, _ := lossAt(t, net, x, labels)
			w[i] += eps
			num := (lp - lm) / (2 * eps)
			assert.InDelta(t, num, float64(grad[i]), 0.05*math.Abs(num)+2e-4, "%s[%d]", k, i)
		}
	}
}

// A few SGD steps on one batch drive its loss down (the network can fit).
func TestTrainingStepsReduceLoss(t *testing.T) {
	g, err := models.Build("resnet20@0.5")
	require.NoError(t, err)
	p := g.InitParams(1)
	net, err := NewNet(g, p)
	require.NoError(t, err)
	opt := NewSGD(net, SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4})
	rng := rand.New(rand.NewPCG(9, 9))
	const b = 16
	x := make([]float32, b*g.Input.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, b)
	for i := range labels {
		labels[i] = i % 10
	}
	first, _ := lossAt(t, net, x, labels)
	var last float64
	for step := 0; step < 30; step++ {
		l, d := lossAt(t, net, x, labels)
		last = l
		net.Backward(b, d)
		opt.Step(0.05)
	}
	assert.Less(t, last, first/4, "loss %.3f -> %.3f", first, last)
	_ = nn.Params{}
}

// Without batch norm the training forward pass is the inference one: it
// equals the reference interpreter's, padded max pooling included.
func TestForwardMatchesReferenceWithoutBatchNorm(t *testing.T) {
	g := nn.NewGraph(nn.Shape{C: 3, H: 9, W: 9})
	x := g.Conv("c1", 0, 3, 4, 3, 1, 1, 1)
	g.Nodes[x].Bias = true
	// No ReLU before the pool: with negative inputs, padding taken as zero
	// would win and show.
	x = g.Add(&nn.Node{Name: "mp", Op: nn.OpMaxPool, Inputs: []int{x}, Kernel: 3, Stride: 2, Pad: 1})
	x = g.Act("r1", nn.OpReLU, x)
	x = g.Add(&nn.Node{Name: "fl", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: 4 * 5 * 5, OutC: 6, Bias: true})
	p := g.InitParams(3)
	net, err := NewNet(g, p)
	require.NoError(t, err)
	const b = 2
	in := net.Input(b)
	rng := rand.New(rand.NewPCG(4, 5))
	for i := range in {
		in[i] = float32(rng.NormFloat64())
	}
	want, err := nn.Reference(g, p, in, b)
	require.NoError(t, err)
	got := net.Forward(b)
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-5, "output %d", i)
	}
}

// The Winograd path (3x3 stride-1 convolutions: forward, input and weight
// gradients) gives the logits and gradients of the im2col path within
// float32 rounding, on a whole ResNet-20 (every stage, residual sums).
func TestWinogradMatchesIm2col(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	const b = 4
	x := make([]float32, b*g.Input.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int{1, 2, 3, 4}
	run := func(wino bool) ([]float32, map[string][]float32) {
		defer func(old bool) { useWinograd = old }(useWinograd)
		useWinograd = wino
		net, err := NewNet(g, g.InitParams(1))
		require.NoError(t, err)
		_, d := lossAt(t, net, x, labels)
		logits := append([]float32(nil), net.act[len(g.Nodes)-1][:b*10]...)
		net.Backward(b, d)
		return logits, net.Grads
	}
	l0, g0 := run(false)
	l1, g1 := run(true)
	maxAbs := func(v []float32) (m float64) {
		for _, x := range v {
			m = math.Max(m, math.Abs(float64(x)))
		}
		return m
	}
	for i := range l0 {
		assert.InDelta(t, l0[i], l1[i], 1e-4*maxAbs(l0), "logit %d", i)
	}
	for k, want := range g0 {
		tol := 2e-4 * maxAbs(want)
		for i := range want {
			if math.Abs(float64(want[i]-g1[k][i])) > tol {
				assert.Failf(t, "gradients differ", "%s[%d]: im2col %g, Winograd %g", k, i, want[i], g1[k][i])
				break
			}
		}
	}
}

// Gradients do not depend on the number of workers, bit for bit (a run
// resumed on another machine continues the same computation): every split
// of a reduction is fixed by nChunks, the Winograd weight gradient's too.
//
// MobileNet-V1's pointwise layers are products big enough that net.gemm
// splits them among the workers, by rows or by columns.
func TestGradientsIndependentOfWorkers(t *testing.T) {
	for _, name := range []string{"resnet20", "mobilenet_v1"} {
		const b = 8
		g, x, labels := zooBatch(t, name, b, 9, 10)
		grads := func(workers int) map[string][]float32 {
			net, err := NewNet(g, g.InitParams(1))
			require.NoError(t, err)
			net.workers = workers
			_, d := lossAt(t, net, x, labels)
			net.Backward(b, d)
			return net.Grads
		}
		one, three := grads(1), grads(3)
		for k, v := range one {
			require.Equal(t, v, three[k], "%s %s", name, k)
		}
	}
}

// The step's cached weight layouts live in arrays reused every step
// (stepBuf, winoGradBuf): after a few SGD steps on one Net, one more step
// gives the same logits and gradients, bit for bit, as a fresh Net given the
// same parameters, on networks with Winograd, im2col, pointwise and
// depthwise layers.
func TestReusedStepBuffersMatchFreshNet(t *testing.T) {
	for _, name := range []string{"resnet20", "mobilenet_v1"} {
		const b = 8
		g, x, labels := zooBatch(t, name, b, 31, 32)
		net, err := NewNet(g, g.InitParams(1))
		require.NoError(t, err)
		opt := NewSGD(net, SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4})
		for step := 0; step < 3; step++ {
			_, d := lossAt(t, net, x, labels)
			net.Backward(b, d)
			opt.Step(0.05)
		}
		p := g.InitParams(2)
		for k, v := range net.Params {
			copy(p[k].Data, v.Data)
		}
		fresh, err := NewNet(g, p)
		require.NoError(t, err)
		_, d1 := lossAt(t, net, x, labels)
		net.Backward(b, d1)
		_, d2 := lossAt(t, fresh, x, labels)
		fresh.Backward(b, d2)
		require.Equal(t, d2, d1, "%s: logits' gradients", name)
		for k, v := range fresh.Grads {
			require.Equal(t, v, net.Grads[k], "%s %s", name, k)
		}
	}
}

// zooBatch builds zoo network name and a batch of b random inputs (seeded)
// with labels 1..b.
func zooBatch(t *testing.T, name string, b int, seed1, seed2 uint64) (*nn.Graph, []float32, []int) {
	g, err := models.Build(name)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed1, seed2))
	x := make([]float32, b*g.Input.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, b)
	for i := range labels {
		labels[i] = i + 1
	}
	return g, x, labels
}

// Fusing each batch norm with the ReLU or ReLU6 that alone reads it (one
// pass writing the activation's output, its gradient mask applied inside
// the norm's backward kernels) changes no bit of training: parameters and
// losses after a few SGD steps equal those of the separate passes, on
// networks with ReLU (ResNet, whose norms before an addition stay unfused),
// ReLU6 (MobileNet-V2), ReLU after depthwise layers (MobileNet-V1) and the
// fusion's edge cases (smallNets' "fusion-edges").
func TestFusedBatchNormActivationMatchesSeparate(t *testing.T) {
	graphs := map[string]*nn.Graph{"fusion-edges": smallNets()["fusion-edges"]}
	for _, name := range []string{"resnet20", "mobilenet_v2@0.25", "mobilenet_v1@0.25"} {
		g, err := models.Build(name)
		require.NoError(t, err)
		graphs[name] = g
	}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			run := func(fuse bool) (nn.Params, []float64) {
				net, err := NewNet(g, g.InitParams(1))
				require.NoError(t, err)
				fused := map[string]string{}
				for i, j := range net.bnAct {
					if j != 0 {
						fused[g.Nodes[i].Name] = g.Nodes[j].Name
					}
				}
				require.NotEmpty(t, fused, "the network has norms to fuse")
				if name == "fusion-edges" {
					assert.Equal(t, map[string]string{"bn2": "r2", "bn3": "r3"}, fused, "bn1 is read twice")
				}
				if !fuse {
					net.bnAct, net.actBN = make([]int, len(g.Nodes)), make([]int, len(g.Nodes))
				}
				opt := NewSGD(net, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4})
				const batch = 6
				rng := rand.New(rand.NewPCG(5, 6))
				labels := []int{0, 1, 2, 3, 4, 5}
				d := make([]float32, batch*10)
				var losses []float64
				for step := 0; step < 3; step++ {
					x := net.Input(batch)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					loss, _ := SoftmaxCrossEntropy(net.Forward(batch), labels, 10, d)
					net.Backward(batch, d)
					opt.Step(0.1)
					losses = append(losses, loss)
				}
				return net.Params, losses
			}
			pf, lf := run(true)
			ps, ls := run(false)
			assert.Equal(t, ls, lf, "losses")
			for k, v := range ps {
				for i, want := range v.Data {
					if got := pf[k].Data[i]; math.Float32bits(got) != math.Float32bits(want) {
						t.Errorf("%s[%d]: fused %v, separate %v", k, i, got, want)
						break
					}
				}
			}
		})
	}
}
