package datasets

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Augment never panics on a pad out of range (a negative pad used to panic
// in rand.IntN): a negative pad is no pad, a huge one the image's size.
func TestAugmentPadOutOfRange(t *testing.T) {
	im := &Images{N: 2, H: 4, W: 4, C: 3, Pixels: make([]uint8, 2*48), Labels: make([]uint16, 2)}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i%250 + 1)
	}
	for _, pad := range []int{-3, 0, 2, 4, 1 << 40, math.MaxInt} {
		dst := make([]uint8, 2*48)
		assert.NotPanics(t, func() { im.Augment(dst, []int{0, 1}, pad, rand.New(rand.NewPCG(1, 2))) }, "pad %d", pad)
	}
	// A negative pad gives the unpadded image (flipped or not).
	dst := make([]uint8, 48)
	im.Augment(dst, []int{0}, -3, rand.New(rand.NewPCG(1, 2)))
	for _, v := range dst {
		assert.NotZero(t, v, "no padding pixels")
	}
}
