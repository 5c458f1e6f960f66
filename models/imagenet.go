package models

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

// The paper's ImageNet networks at 224x224 with 1,000 classes, named
// imagenet_*: torchvision's VGG-16, VGG-16-BN and MobileNet-V2 with
// torchvision's tensor names, and the paper's MobileNet-V1
// (../shared/docs/imagenet-models.md; it has no public checkpoint, so its
// names are the CIFAR MobileNet-V1's), and torchvision's ResNet-50.

var imagenetInput = nn.Shape{C: 3, H: 224, W: 224}

// ImageNetVGG16 builds torchvision's vgg16 (bn false) or vgg16_bn: the
// features of the CIFAR VGG-16 with biased convolutions, then (the feature
// map is already 7x7, so the adaptive average pool is the identity) the
// classifier's three linear layers; dropout is the identity at inference.
func ImageNetVGG16(w float64, bn bool) (*nn.Graph, error) {
	g := nn.NewGraph(imagenetInput)
	x, in := vggFeatures(g, w, true, bn)
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	hidden := roundWidth(4096, w)
	x = g.Add(&nn.Node{Name: "classifier.0", Op: nn.OpLinear, Inputs: []int{x}, InC: in * 7 * 7, OutC: hidden, Bias: true})
	x = g.Act("classifier.1", nn.OpReLU, x)
	x = g.Add(&nn.Node{Name: "classifier.3", Op: nn.OpLinear, Inputs: []int{x}, InC: hidden, OutC: hidden, Bias: true})
	x = g.Act("classifier.4", nn.OpReLU, x)
	g.Add(&nn.Node{Name: "classifier.6", Op: nn.OpLinear, Inputs: []int{x}, InC: hidden, OutC: 1000, Bias: true})
	return g, nil
}

// ImageNetMobileNetV1 builds the paper's MobileNet-V1: the CIFAR
// MobileNet-V1's layers and names with ImageNet strides (the first
// convolution strides 2) and 1,000 classes.
func ImageNetMobileNetV1(w float64) (*nn.Graph, error) {
	return mobileNetV1(imagenetInput, 2, 1000, w)
}

// ImageNetMobileNetV2 builds torchvision's mobilenet_v2 (width multiplier
// w, round to 8): features.0 the stem, features.1-17 the inverted
// residuals, features.18 the last 1x1 convolution, classifier.1 the linear
// layer (classifier.0 is dropout, the identity at inference).
func ImageNetMobileNetV2(w float64) (*nn.Graph, error) {
	type stage struct{ t, c, n, s int }
	cfg := []stage{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
	g := nn.NewGraph(imagenetInput)
	in := makeDivisible(32*w, 8)
	x := g.Conv("features.0.0", 0, 3, in, 3, 2, 1, 1)
	x = g.BN("features.0.1", x, in)
	x = g.Act("features.0.2", nn.OpReLU6, x)
	f := 1
	for _, st := range cfg {
		out := makeDivisible(float64(st.c)*w, 8)
		for r := 0; r < st.n; r++ {
			stride := 1
			if r == 0 {
				stride = st.s
			}
			p := fmt.Sprintf("features.%d.conv", f)
			hid := in * st.t
			blockIn, y, k := x, x, 0
			if st.t != 1 { // the expansion, a ConvBNReLU
				y = g.Conv(fmt.Sprintf("%s.%d.0", p, k), y, in, hid, 1, 1, 0, 1)
				y = g.BN(fmt.Sprintf("%s.%d.1", p, k), y, hid)
				y = g.Act(fmt.Sprintf("%s.%d.2", p, k), nn.OpReLU6, y)
				k++
			}
			y = g.Conv(fmt.Sprintf("%s.%d.0", p, k), y, hid, hid, 3, stride, 1, hid)
			y = g.BN(fmt.Sprintf("%s.%d.1", p, k), y, hid)
			y = g.Act(fmt.Sprintf("%s.%d.2", p, k), nn.OpReLU6, y)
			y = g.Conv(fmt.Sprintf("%s.%d", p, k+1), y, hid, out, 1, 1, 0, 1)
			y = g.BN(fmt.Sprintf("%s.%d", p, k+2), y, out)
			if stride == 1 && in == out {
				y = g.Add(&nn.Node{Name: fmt.Sprintf("features.%d.add", f), Op: nn.OpAdd, Inputs: []int{y, blockIn}})
			}
			x, in = y, out
			f++
		}
	}
	last := makeDivisible(1280*max(1, w), 8)
	x = g.Conv(fmt.Sprintf("features.%d.0", f), x, in, last, 1, 1, 0, 1)
	x = g.BN(fmt.Sprintf("features.%d.1", f), x, last)
	x = g.Act(fmt.Sprintf("features.%d.2", f), nn.OpReLU6, x)
	x = g.Add(&nn.Node{Name: "avgpool", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "classifier.1", Op: nn.OpLinear, Inputs: []int{x}, InC: last, OutC: 1000, Bias: true})
	return g, nil
}

// ImageNetResNet50 builds torchvision's resnet50 (v1.5: the bottleneck
// strides in its 3x3 convolution) with torchvision's tensor names; width w
// scales every convolution's output channels.
func ImageNetResNet50(w float64) (*nn.Graph, error) {
	g := nn.NewGraph(imagenetInput)
	stem := roundWidth(64, w)
	x := g.Conv("conv1", 0, 3, stem, 7, 2, 3, 1)
	x = g.BN("bn1", x, stem)
	x = g.Act("relu", nn.OpReLU, x)
	x = g.Add(&nn.Node{Name: "maxpool", Op: nn.OpMaxPool, Inputs: []int{x}, Kernel: 3, Stride: 2, Pad: 1})
	in := stem
	for l, st := range []struct{ width, blocks, stride int }{{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}} {
		mid, out := roundWidth(st.width, w), roundWidth(4*st.width, w)
		for i := 0; i < st.blocks; i++ {
			stride := 1
			if i == 0 {
				stride = st.stride
			}
			p := fmt.Sprintf("layer%d.%d", l+1, i)
			// The shortcut comes first, so that conv3, bn3, the add and the
			// ReLU are consecutive nodes (the engine fuses them).
			sc := x
			if i == 0 {
				sc = g.Conv(p+".downsample.0", x, in, out, 1, stride, 0, 1)
				sc = g.BN(p+".downsample.1", sc, out)
			}
			y := g.Conv(p+".conv1", x, in, mid, 1, 1, 0, 1)
			y = g.BN(p+".bn1", y, mid)
			y = g.Act(p+".relu1", nn.OpReLU, y)
			y = g.Conv(p+".conv2", y, mid, mid, 3, stride, 1, 1)
			y = g.BN(p+".bn2", y, mid)
			y = g.Act(p+".relu2", nn.OpReLU, y)
			y = g.Conv(p+".conv3", y, mid, out, 1, 1, 0, 1)
			y = g.BN(p+".bn3", y, out)
			y = g.Add(&nn.Node{Name: p + ".add", Op: nn.OpAdd, Inputs: []int{y, sc}})
			x = g.Act(p+".relu3", nn.OpReLU, y)
			in = out
		}
	}
	x = g.Add(&nn.Node{Name: "avgpool", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "fc", Op: nn.OpLinear, Inputs: []int{x}, InC: in, OutC: 1000, Bias: true})
	return g, nil
}
