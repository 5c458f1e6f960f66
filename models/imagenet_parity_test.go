package models_test

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/internal/testpython"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceScript saves, for random weights and batch-norm statistics and
// two random 224x224 images, torchvision's mobilenet_v2 and resnet50 and the paper's
// MobileNet-V1 (../shared/docs/imagenet-models.md, written here in PyTorch
// with amc's tensor names) as .pth files, with the inputs and logits.
const referenceScript = `
import sys, torch, torch.nn as nn, torch.nn.functional as F, torchvision
torch.manual_seed(0)
torch.set_num_threads(2)
out = sys.argv[1]

class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(i, i, 3, stride, 1, groups=i, bias=False)
        self.bn1 = nn.BatchNorm2d(i)
        self.conv2 = nn.Conv2d(i, o, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))

class MobileNetV1(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        cfg = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)] + \
              [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
        self.layers = nn.Sequential(*[Block(i, o, s) for i, o, s in cfg])
        self.linear = nn.Linear(1024, 1000)
    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

x = torch.randn(2, 3, 224, 224)
x.numpy().tofile(out + "/x.f32")
for name, m in [("mobilenet_v2", torchvision.models.mobilenet_v2()), ("mobilenet_v1", MobileNetV1()),
                ("resnet50", torchvision.models.resnet50())]:
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5); mod.bias.normal_(0, 0.1)
                mod.running_mean.normal_(0, 0.1); mod.running_var.uniform_(0.5, 1.5)
    m.eval()
    with torch.no_grad():
        m(x).numpy().tofile(out + "/" + name + ".f32")
    torch.save(m.state_dict(), out + "/" + name + ".pth")
`

func readF32(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// amc's ImageNet ResNet-50 and MobileNets give PyTorch's logits
// (torchvision's own resnet50 and mobilenet_v2, with their tensor names)
// within 1e-4 x max |logit|. VGG-16's 528 MB of weights are left to the
// counts test.
func TestImageNetLogitsMatchPyTorch(t *testing.T) {
	py := testpython.Find(t, "the ImageNet networks' parity test (Debian: python3-torch python3-torchvision; make test installs them as root)", "torch", "torchvision")
	dir := t.TempDir()
	script := filepath.Join(dir, "reference.py")
	require.NoError(t, os.WriteFile(script, []byte(referenceScript), 0o644))
	cmd := exec.Command(py, script, dir)
	cmd.Env = append(os.Environ(), "MALLOC_MMAP_THRESHOLD_=4294967296", "MALLOC_TRIM_THRESHOLD_=17179869184")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	nchw := readF32(t, filepath.Join(dir, "x.f32"))
	const n, c, hw = 2, 3, 224 * 224
	nhwc := make([]float32, len(nchw))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				nhwc[(b*hw+p)*c+ch] = nchw[(b*c+ch)*hw+p]
			}
		}
	}
	for _, name := range []string{"mobilenet_v2", "mobilenet_v1", "resnet50"} {
		t.Run(name, func(t *testing.T) {
			g, err := models.Build("imagenet_" + name)
			require.NoError(t, err)
			f, err := weights.Load(filepath.Join(dir, name+".pth"))
			require.NoError(t, err)
			require.NoError(t, g.Check(f.Params))
			pl, err := nn.Compile(g, f.Params, 0)
			require.NoError(t, err)
			got, err := pl.Forward(nhwc, n)
			require.NoError(t, err)
			want := readF32(t, filepath.Join(dir, name+".f32"))
			require.Len(t, got, len(want))
			var scale, diff float64
			for i := range want {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				diff = math.Max(diff, math.Abs(float64(got[i]-want[i])))
			}
			assert.LessOrEqual(t, diff, 1e-4*scale, "max |logit diff| %.3g, max |logit| %.3g", diff, scale)
			t.Logf("max |logit diff| %.3g = %.2g x max |logit| %.3g", diff, diff/scale, scale)
		})
	}
}
