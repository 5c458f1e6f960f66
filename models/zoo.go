// Package models is the model zoo: the CIFAR networks of
// docs/cifar-models.md and the paper's ImageNet networks (imagenet_*),
// built as nn graphs with PyTorch parameter names.
package models

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/nn"
)

// Spec describes a zoo network.
type Spec struct {
	Name     string
	Doc      string
	ImageNet bool // 224x224 inputs, 1,000 classes (otherwise CIFAR's 32x32, 10)
	build    func(width float64) (*nn.Graph, error)
}

var zoo = map[string]Spec{}

func register(s Spec) { zoo[s.Name] = s }

func init() {
	for _, n := range []int{3, 5, 7, 9, 18} {
		n := n
		register(Spec{Name: fmt.Sprintf("resnet%d", 6*n+2), Doc: fmt.Sprintf("CIFAR ResNet-%d (option-A shortcuts)", 6*n+2),
			build: func(w float64) (*nn.Graph, error) { return ResNet(n, w, true), nil }})
	}
	register(Spec{Name: "plain20", Doc: "ResNet-20 without shortcuts",
		build: func(w float64) (*nn.Graph, error) { return ResNet(3, w, false), nil }})
	register(Spec{Name: "vgg16", Doc: "VGG-16 with batch norm, CIFAR head", build: VGG16})
	register(Spec{Name: "mobilenet_v1", Doc: "MobileNet-V1, CIFAR strides", build: MobileNetV1})
	register(Spec{Name: "mobilenet_v2", Doc: "MobileNet-V2, CIFAR strides", build: MobileNetV2})
	register(Spec{Name: "imagenet_vgg16", Doc: "torchvision vgg16, 224x224, 1000 classes", ImageNet: true,
		build: func(w float64) (*nn.Graph, error) { return ImageNetVGG16(w, false) }})
	register(Spec{Name: "imagenet_vgg16_bn", Doc: "torchvision vgg16_bn, 224x224, 1000 classes", ImageNet: true,
		build: func(w float64) (*nn.Graph, error) { return ImageNetVGG16(w, true) }})
	register(Spec{Name: "imagenet_mobilenet_v1", Doc: "the paper's MobileNet-V1, 224x224, 1000 classes", ImageNet: true, build: ImageNetMobileNetV1})
	register(Spec{Name: "imagenet_resnet50", Doc: "torchvision resnet50, 224x224, 1000 classes", ImageNet: true, build: ImageNetResNet50})
	register(Spec{Name: "imagenet_mobilenet_v2", Doc: "torchvision mobilenet_v2, 224x224, 1000 classes", ImageNet: true, build: ImageNetMobileNetV2})
}

// Names lists the zoo's base names, sorted.
func Names() []string {
	var names []string
	for n := range zoo {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return natLess(names[i], names[j]) })
	return names
}

// CIFARNames lists the CIFAR networks' base names, sorted.
func CIFARNames() []string {
	var names []string
	for _, n := range Names() {
		if !zoo[n].ImageNet {
			names = append(names, n)
		}
	}
	return names
}

// Lookup returns a zoo entry by base name.
func Lookup(name string) (Spec, bool) {
	s, ok := zoo[name]
	return s, ok
}

// ParseName splits "mobilenet_v2@0.5" into the base name and width (1 when
// absent) and checks both.
func ParseName(full string) (string, float64, error) {
	base, width := full, 1.0
	if i := strings.IndexByte(full, '@'); i >= 0 {
		base = full[:i]
		w, err := strconv.ParseFloat(full[i+1:], 64)
		if err != nil || !(w > 0 && w <= 4) { // NaN too
			return "", 0, fmt.Errorf("model %q: width %q must be a number in (0, 4], as in mobilenet_v2@0.5", full, full[i+1:])
		}
		width = w
	}
	if _, ok := zoo[base]; !ok {
		return "", 0, fmt.Errorf("unknown model %q%s; valid models: %s (append @WIDTH for a width multiplier)",
			base, suggest.DidYouMean(base, Names()), strings.Join(Names(), ", "))
	}
	return base, width, nil
}

// Build returns the graph of a zoo model, "NAME" or "NAME@WIDTH".
func Build(full string) (*nn.Graph, error) {
	base, width, err := ParseName(full)
	if err != nil {
		return nil, err
	}
	g, err := zoo[base].build(width)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", full, err)
	}
	if _, err := g.Shapes(); err != nil {
		return nil, fmt.Errorf("model %s: %w", full, err)
	}
	return g, nil
}

// natLess orders "resnet20" before "resnet110".
func natLess(a, b string) bool {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if pa != pb {
		return pa < pb
	}
	return na < nb
}

func splitNum(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(s[i:])
	return s[:i], n
}

func roundWidth(c int, w float64) int {
	r := int(float64(c)*w + 0.5)
	if r < 1 {
		r = 1
	}
	return r
}
