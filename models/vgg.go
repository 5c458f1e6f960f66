package models

import (
	"fmt"

	"github.com/amcbench/amc/nn"
)

var vgg16Config = []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}

// VGG16 builds CIFAR VGG-16 with batch norm; `features` indices count every
// conv, batch norm, ReLU and max-pool as torchvision does.
func VGG16(w float64) (*nn.Graph, error) {
	g := nn.NewGraph(nn.Shape{C: 3, H: 32, W: 32})
	x, in := vggFeatures(g, w, false, true)
	x = g.Add(&nn.Node{Name: "flatten", Op: nn.OpFlatten, Inputs: []int{x}})
	g.Add(&nn.Node{Name: "classifier", Op: nn.OpLinear, Inputs: []int{x}, InC: in, OutC: 10, Bias: true})
	return g, nil
}

// vggFeatures appends VGG-16's `features` (width w) to g, its convolutions
// with a bias or not, each followed by a batch norm or not, then a ReLU;
// indices count every module as torchvision does. It returns the last node
// and its channels.
func vggFeatures(g *nn.Graph, w float64, bias, bn bool) (x, in int) {
	x, in, k := 0, 3, 0
	for _, c := range vgg16Config {
		if c == 0 {
			x = g.Add(&nn.Node{Name: fmt.Sprintf("features.%d", k), Op: nn.OpMaxPool, Inputs: []int{x}, Kernel: 2, Stride: 2})
			k++
			continue
		}
		c = roundWidth(c, w)
		x = g.Conv(fmt.Sprintf("features.%d", k), x, in, c, 3, 1, 1, 1)
		g.Nodes[x].Bias = bias
		k++
		if bn {
			x = g.BN(fmt.Sprintf("features.%d", k), x, c)
			k++
		}
		x = g.Act(fmt.Sprintf("features.%d", k), nn.OpReLU, x)
		k++
		in = c
	}
	return x, in
}
