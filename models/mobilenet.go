package models

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

// MobileNetV1 builds the CIFAR MobileNet-V1 (width multiplier w).
func MobileNetV1(w float64) (*nn.Graph, error) {
	return mobileNetV1(nn.Shape{C: 3, H: 32, W: 32}, 1, 10, w)
}

// mobileNetV1 is MobileNet-V1 on inputs of shape in, its first convolution
// with the given stride, with classes outputs.
func mobileNetV1(input nn.Shape, stride, classes int, w float64) (*nn.Graph, error) {
	type blk struct{ out, stride int }
	cfg := []blk{{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}}
	g := nn.NewGraph(input)
	in := roundWidth(32, w)
	x := g.Conv("conv1", 0, 3, in, 3, stride, 1, 1)
	x = g.BN("bn1", x, in)
	x = g.Act("relu", nn.OpReLU, x)
	for i, b := range cfg {
		out := roundWidth(b.out, w)
		p := fmt.Sprintf("layers.%d", i)
		x = g.Conv(p+".conv1", x, in, in, 3, b.stride, 1, in)
		x = g.BN(p+".bn1", x, in)
		x = g.Act(p+".relu1", nn.OpReLU, x)
		x = g.Conv(p+".conv2", x, in, out, 1, 1, 0, 1)
		x = g.BN(p+".bn2", x, out)
		x = g.Act(p+".relu2", nn.OpReLU, x)
		in = out
	}
	x = g.Add(&nn.Node{Name: "avgpool", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "linear", Op: nn.OpLinear, Inputs: []int{x}, InC: in, OutC: classes, Bias: true})
	return g, nil
}

// makeDivisible rounds v to a multiple of d, never below d and never more
// than 10% below v (the MobileNet-V2 rule).
func makeDivisible(v float64, d int) int {
	n := int(v+float64(d)/2) / d * d
	if n < d {
		n = d
	}
	if float64(n) < 0.9*v {
		n += d
	}
	return n
}

// MobileNetV2 builds the CIFAR MobileNet-V2 (width multiplier w).
func MobileNetV2(w float64) (*nn.Graph, error) {
	type stage struct{ t, c, n, s int }
	cfg := []stage{{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
	g := nn.NewGraph(nn.Shape{C: 3, H: 32, W: 32})
	in := makeDivisible(32*w, 8)
	x := g.Conv("conv1", 0, 3, in, 3, 1, 1, 1)
	x = g.BN("bn1", x, in)
	x = g.Act("relu", nn.OpReLU6, x)
	i := 0
	for _, st := range cfg {
		out := makeDivisible(float64(st.c)*w, 8)
		for r := 0; r < st.n; r++ {
			stride := 1
			if r == 0 {
				stride = st.s
			}
			p := fmt.Sprintf("layers.%d", i)
			hid := in * st.t
			blockIn := x
			y := g.Conv(p+".conv1", x, in, hid, 1, 1, 0, 1)
			y = g.BN(p+".bn1", y, hid)
			y = g.Act(p+".relu1", nn.OpReLU6, y)
			y = g.Conv(p+".conv2", y, hid, hid, 3, stride, 1, hid)
			y = g.BN(p+".bn2", y, hid)
			y = g.Act(p+".relu2", nn.OpReLU6, y)
			y = g.Conv(p+".conv3", y, hid, out, 1, 1, 0, 1)
			y = g.BN(p+".bn3", y, out)
			if stride == 1 && in == out {
				y = g.Add(&nn.Node{Name: p + ".add", Op: nn.OpAdd, Inputs: []int{y, blockIn}})
			}
			x, in = y, out
			i++
		}
	}
	last := 1280
	if w > 1 {
		last = makeDivisible(1280*w, 8)
	}
	x = g.Conv("conv2", x, in, last, 1, 1, 0, 1)
	x = g.BN("bn2", x, last)
	x = g.Act("relu2", nn.OpReLU6, x)
	x = g.Add(&nn.Node{Name: "avgpool", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "linear", Op: nn.OpLinear, Inputs: []int{x}, InC: last, OutC: 10, Bias: true})
	return g, nil
}
