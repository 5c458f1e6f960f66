package onnx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/internal/testpython"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ortCheck is the npm folder with onnxruntime-node (make deps installs it).
var ortCheck = filepath.Join("..", "scripts", "onnx-check")

// findRuntime returns node's path, skipping (failing under CI=true) where
// node or onnxruntime-node is missing.
func findRuntime(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(ortCheck, "node_modules", "onnxruntime-node"))
	}
	if err != nil {
		testpython.Missing(t, fmt.Sprintf("node and onnxruntime-node are needed for the ONNX parity test (make deps runs npm ci in %s): %v", ortCheck, err))
	}
	return node
}

// randomize gives every parameter random values, batch-norm statistics
// included (positive variances), so that no operator is an identity.
func randomize(p nn.Params, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	for name, t := range p {
		for i := range t.Data {
			switch {
			case filepath.Ext(name) == ".running_var":
				t.Data[i] = float32(0.5 + rng.Float64())
			case filepath.Ext(name) == ".weight" && len(t.Shape) == 1: // batch-norm scale
				t.Data[i] = float32(0.5 + rng.Float64())
			default:
				t.Data[i] *= float32(0.5 + rng.Float64())
				t.Data[i] += float32(rng.NormFloat64() * 0.01)
			}
		}
	}
}

type network struct {
	name string
	g    *nn.Graph
	p    nn.Params
}

// networks are zoo models of every op the exporter maps, and pruned ones.
func networks(t *testing.T) []network {
	var out []network
	for _, name := range []string{"resnet20", "plain20", "vgg16", "mobilenet_v1", "mobilenet_v2", "imagenet_resnet50", "imagenet_mobilenet_v2"} {
		g, err := models.Build(name)
		require.NoError(t, err)
		p := g.InitParams(1)
		randomize(p, 2)
		out = append(out, network{name, g, p})
	}
	// Channel pruning: ResNet-20 with its option-A shortcuts remapped, per
	// block and with residual groups; MobileNet-V2 with its depthwise groups.
	for _, c := range []struct {
		name     string
		residual bool
	}{{"resnet20", false}, {"resnet20", true}, {"mobilenet_v2", false}} {
		g, err := models.Build(c.name)
		require.NoError(t, err)
		p := g.InitParams(3)
		randomize(p, 4)
		a, err := prune.Analyze(g, prune.Options{Residual: c.residual})
		require.NoError(t, err)
		counts, err := a.Counts(a.Uniform(0.5), 1)
		require.NoError(t, err)
		pg, pp, err := a.Apply(p, a.Select(p, counts, prune.L1In{}))
		require.NoError(t, err)
		out = append(out, network{fmt.Sprintf("%s pruned (residual groups %v)", c.name, c.residual), pg, pp})
	}
	// Fine-grained: 80% of every convolution's and linear layer's weights zero.
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	p := g.InitParams(5)
	randomize(p, 6)
	rng := rand.New(rand.NewPCG(7, 7))
	for name, t := range p {
		if filepath.Ext(name) == ".weight" && len(t.Shape) > 1 {
			for i := range t.Data {
				if rng.Float64() < 0.8 {
					t.Data[i] = 0
				}
			}
		}
	}
	return append(out, network{"resnet20 fine-grained 80%", g, p})
}

// The exported models give the Go engine's logits in an independent
// runtime, onnxruntime (CPU, graph optimisations off), within 1e-4 x max
// |logit|: every zoo op, depthwise and grouped convolutions, padded max
// pooling, option-A shortcuts after pruning, sparse weights.
func TestExportMatchesOnnxRuntime(t *testing.T) {
	node := findRuntime(t)
	dir := t.TempDir()
	for i, n := range networks(t) {
		t.Run(n.name, func(t *testing.T) {
			in := n.g.Input
			batch := 3
			if in.H > 64 {
				batch = 2
			}
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			nhwc := make([]float32, batch*in.H*in.W*in.C)
			for k := range nhwc {
				nhwc[k] = float32(rng.NormFloat64())
			}
			pl, err := nn.Compile(n.g, n.p, 0)
			require.NoError(t, err)
			logits, err := pl.Forward(nhwc, batch)
			require.NoError(t, err)
			want := append([]float32(nil), logits...)
			nchw := make([]float32, len(nhwc))
			for b := range batch {
				for y := range in.H {
					for x := range in.W {
						for c := range in.C {
							nchw[((b*in.C+c)*in.H+y)*in.W+x] = nhwc[((b*in.H+y)*in.W+x)*in.C+c]
						}
					}
				}
			}
			model := filepath.Join(dir, fmt.Sprintf("m%d.onnx", i))
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, n.g, n.p, Options{Name: n.name, Metadata: map[string]string{"amc.test": "1"}}))
			require.NoError(t, os.WriteFile(model, buf.Bytes(), 0o644))
			inFile, outFile := model+".in", model+".out"
			require.NoError(t, os.WriteFile(inFile, f32bytes(nchw), 0o644))
			cmd := exec.Command(node, filepath.Join(ortCheck, "check.mjs"), model, inFile,
				fmt.Sprint(batch), fmt.Sprint(in.C), fmt.Sprint(in.H), fmt.Sprint(in.W), outFile)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			raw, err := os.ReadFile(outFile)
			require.NoError(t, err)
			got := make([]float32, len(raw)/4)
			for k := range got {
				got[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			}
			require.Len(t, got, len(want))
			var maxAbs, maxDiff float64
			for k := range want {
				maxAbs = max(maxAbs, math.Abs(float64(want[k])))
				maxDiff = max(maxDiff, math.Abs(float64(want[k]-got[k])))
			}
			require.Greater(t, maxAbs, 0.0)
			assert.LessOrEqual(t, maxDiff, 1e-4*maxAbs, "max |difference| %.3g, max |logit| %.3g", maxDiff, maxAbs)
			t.Logf("max |diff| / max |logit| = %.2g (%s)", maxDiff/maxAbs, bytes.TrimSpace(out))
		})
	}
}

// Ops without an ONNX mapping and wrong parameters are errors, not models.
func TestExportErrors(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	p := g.InitParams(1)
	delete(p, "conv1.weight")
	assert.ErrorContains(t, Export(&bytes.Buffer{}, g, p, Options{}), "parameter conv1.weight missing")
	p = g.InitParams(1)
	p["linear.weight"] = nn.NewTensor(3, 3)
	assert.ErrorContains(t, Export(&bytes.Buffer{}, g, p, Options{}), "parameter linear.weight has 9 values")

	// Names that would define one tensor twice are refused, not written.
	for _, c := range []struct{ rename, to, msg string }{
		{"layer1.0.conv2", "layer1.0.conv1", `tensor "layer1.0.conv1.weight" is defined twice`},
		{"linear", "logits", `tensor "logits" is defined twice`},
		{"conv1", "input", `tensor "input" is defined twice, by the graph's input`},
	} {
		g, err := models.Build("resnet20")
		require.NoError(t, err)
		p := g.InitParams(1)
		for _, nd := range g.Nodes {
			if nd.Name == c.rename {
				for _, suf := range []string{".weight", ".bias"} {
					if v, ok := p[c.rename+suf]; ok {
						p[c.to+suf] = v
					}
				}
				nd.Name = c.to
			}
		}
		var buf bytes.Buffer
		assert.ErrorContains(t, Export(&buf, g, p, Options{}), c.msg, c.rename)
		assert.Zero(t, buf.Len(), "nothing written")
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}
