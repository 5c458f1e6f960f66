package suggest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosest(t *testing.T) {
	names := []string{"resnet20", "resnet56", "mobilenet_v2", "vgg16"}
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"resnet21", "resnet20", true},
		{"RESNET56", "resnet56", true},
		{"mobilenetv2", "mobilenet_v2", true},
		{"vgg", "vgg16", true},
		{"alexnet", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := Closest(c.in, names)
		assert.Equal(t, c.ok, ok, c.in)
		if c.ok {
			assert.Equal(t, c.want, got, c.in)
		}
	}
	assert.Equal(t, ` (did you mean "resnet20"?)`, DidYouMean("resnet2", names))
	assert.Equal(t, "", DidYouMean("zzzzzzzzzz", names))
}
