package models

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

// ResNet builds the CIFAR ResNet of depth 6n+2 (width multiplier w). With
// shortcut false it is the "plain" network of the same depth.
func ResNet(n int, w float64, shortcut bool) *nn.Graph {
	g := nn.NewGraph(nn.Shape{C: 3, H: 32, W: 32})
	widths := []int{roundWidth(16, w), roundWidth(32, w), roundWidth(64, w)}
	x := g.Conv("conv1", 0, 3, widths[0], 3, 1, 1, 1)
	x = g.BN("bn1", x, widths[0])
	x = g.Act("relu", nn.OpReLU, x)
	in := widths[0]
	for l, c := range widths {
		for i := 0; i < n; i++ {
			stride := 1
			if l > 0 && i == 0 {
				stride = 2
			}
			p := fmt.Sprintf("layer%d.%d", l+1, i)
			// The shortcut comes first, so that conv2, bn2, the add and
			// the ReLU are consecutive nodes (the engine fuses them).
			sc := x
			if shortcut && (stride != 1 || in != c) {
				sc = g.Add(&nn.Node{Name: p + ".shortcut", Op: nn.OpShortcutA, Inputs: []int{x}, OutC: c, Stride: stride})
			}
			y := g.Conv(p+".conv1", x, in, c, 3, stride, 1, 1)
			y = g.BN(p+".bn1", y, c)
			y = g.Act(p+".relu1", nn.OpReLU, y)
			y = g.Conv(p+".conv2", y, c, c, 3, 1, 1, 1)
			y = g.BN(p+".bn2", y, c)
			if shortcut {
				y = g.Add(&nn.Node{Name: p + ".add", Op: nn.OpAdd, Inputs: []int{y, sc}})
			}
			x = g.Act(p+".relu2", nn.OpReLU, y)
			in = c
		}
	}
	x = g.Add(&nn.Node{Name: "avgpool", Op: nn.OpGlobalAvgPool, Inputs: []int{x}})
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "linear", Op: nn.OpLinear, Inputs: []int{x}, InC: in, OutC: 10, Bias: true})
	return g
}
