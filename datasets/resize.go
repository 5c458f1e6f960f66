package datasets

import (
	"fmt"
	"image"
	"math"
)

// The standard ImageNet evaluation transform, torchvision's
// Resize(256) + CenterCrop(224) on a PIL image, reimplemented so that the
// same RGB pixels give the same bytes: Pillow's bilinear resampling (a
// triangle filter stretched by the scale factor when shrinking, so it
// antialiases; coefficients in 22-bit fixed point; the horizontal pass first,
// rounded to 8 bits, then the vertical pass), torchvision's output size
// (short side 256, long side truncated) and its centre crop (offsets rounded
// half to even, as Python's round). Only the output pixels inside the crop
// are computed: each is a function of its own coefficients alone, so this
// equals resizing the whole image and cropping (TestEvalTransformMatchesPillow
// checks it against torchvision on the same pixels).

const (
	// EvalResize is the short side images are resized to before the crop.
	EvalResize = 256
	// EvalCrop is the side of the centre crop: the networks' input.
	EvalCrop = 224
	// pilPrecision is Pillow's PRECISION_BITS for 8-bit images.
	pilPrecision = 32 - 8 - 2
)

// rgbImage is an 8-bit RGB image, rows of W*3 bytes.
type rgbImage struct {
	W, H int
	Pix  []uint8
}

// resizedSize is torchvision's output size for Resize(size) with an int size:
// the short side becomes size, the long side size*long/short truncated.
func resizedSize(w, h, size int) (int, int) {
	short, long := w, h
	if h < w {
		short, long = h, w
	}
	newLong := int(float64(size*long) / float64(short))
	if w <= h {
		return size, newLong
	}
	return newLong, size
}

// cropOffset is torchvision's centre-crop offset: round((in-crop)/2), half
// to even.
func cropOffset(in, crop int) int {
	return int(math.RoundToEven(float64(in-crop) / 2))
}

// pilCoeffs are Pillow's resampling coefficients from inSize to outSize
// samples for output samples [first, first+n): for each, the first input
// sample and the fixed-point weights of the inputs from there.
type pilCoeffs struct {
	start []int
	k     [][]int32
}

func bilinear(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// newPilCoeffs follows Pillow's precompute_coeffs and
// normalize_coeffs_8bpc (libImaging/Resample.c) for the bilinear filter.
func newPilCoeffs(inSize, outSize, first, n int) pilCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := 1.0 * filterscale
	c := pilCoeffs{start: make([]int, n), k: make([][]int32, n)}
	w := make([]float64, 0, int(math.Ceil(support))*2+1)
	for j := range n {
		xx := first + j
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		w = w[:0]
		total := 0.0
		for x := range xmax {
			v := bilinear((float64(x+xmin) - center + 0.5) * ss)
			w = append(w, v)
			total += v
		}
		k := make([]int32, len(w))
		for x, v := range w {
			if total != 0 {
				v /= total
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<pilPrecision))
			} else {
				k[x] = int32(0.5 + v*(1<<pilPrecision))
			}
		}
		c.start[j], c.k[j] = xmin, k
	}
	return c
}

// clip8 is Pillow's rounding of a fixed-point sum to 8 bits.
func clip8(in int32) uint8 {
	if in >= 1<<pilPrecision<<8 {
		return 255
	}
	if in <= 0 {
		return 0
	}
	return uint8(in >> pilPrecision)
}

// evalTransform resizes src (short side EvalResize) and centre-crops it to
// EvalCrop x EvalCrop into dst (HWC, 3 channels).
func evalTransform(dst []uint8, src rgbImage) error {
	if src.W < 1 || src.H < 1 || len(src.Pix) != src.W*src.H*3 {
		return fmt.Errorf("image of %dx%d with %d bytes", src.W, src.H, len(src.Pix))
	}
	rw, rh := resizedSize(src.W, src.H, EvalResize)
	if rw < EvalCrop || rh < EvalCrop {
		return fmt.Errorf("image of %dx%d resizes to %dx%d, smaller than the %d crop", src.W, src.H, rw, rh, EvalCrop)
	}
	left, top := cropOffset(rw, EvalCrop), cropOffset(rh, EvalCrop)
	hc := newPilCoeffs(src.W, rw, left, EvalCrop)
	vc := newPilCoeffs(src.H, rh, top, EvalCrop)
	// The input rows the vertical pass reads.
	y0 := vc.start[0]
	y1 := vc.start[EvalCrop-1] + len(vc.k[EvalCrop-1])
	const half = int32(1) << (pilPrecision - 1)
	// Horizontal pass (Pillow skips it when the width is unchanged; its
	// identity weights give the same bytes, so it always runs here).
	mid := make([]uint8, (y1-y0)*EvalCrop*3)
	for y := y0; y < y1; y++ {
		row := src.Pix[y*src.W*3 : (y+1)*src.W*3]
		out := mid[(y-y0)*EvalCrop*3:]
		for x := range EvalCrop {
			s0, s1, s2 := half, half, half
			p := row[hc.start[x]*3:]
			for i, k := range hc.k[x] {
				s0 += int32(p[3*i]) * k
				s1 += int32(p[3*i+1]) * k
				s2 += int32(p[3*i+2]) * k
			}
			out[3*x], out[3*x+1], out[3*x+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
	// Vertical pass.
	for y := range EvalCrop {
		out := dst[y*EvalCrop*3 : (y+1)*EvalCrop*3]
		base := vc.start[y] - y0
		ks := vc.k[y]
		for x := range EvalCrop * 3 {
			s := half
			for i, k := range ks {
				s += int32(mid[(base+i)*EvalCrop*3+x]) * k
			}
			out[x] = clip8(s)
		}
	}
	return nil
}

// toRGB converts a decoded image to 8-bit RGB. JPEG's YCbCr is converted
// as libjpeg does by default (hence Pillow): 4:2:0 and 4:2:2 chroma
// upsampled by libjpeg's "fancy" triangle filter (jdsample.c), then its
// fixed-point YCbCr equations (jdcolor.c); other subsamplings take each
// pixel's covering chroma sample. Go's IDCT is not libjpeg's, so pixels
// still differ slightly (results/speed/decode.md). Grey images are
// replicated; other models go through Go's colour conversion.
func toRGB(img image.Image) rgbImage {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := rgbImage{W: w, H: h, Pix: make([]uint8, w*h*3)}
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(out, m)
	case *image.Gray:
		for y := range h {
			row := m.Pix[(y)*m.Stride:]
			o := out.Pix[y*w*3:]
			for x := range w {
				v := row[x]
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.RGBA:
		dropAlpha(out, m.Pix, m.Stride)
	case *image.NRGBA:
		dropAlpha(out, m.Pix, m.Stride)
	default: // CMYK, 16-bit and paletted images: rare in ImageNet
		for y := range h {
			o := out.Pix[y*w*3:]
			for x := range w {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				o[3*x], o[3*x+1], o[3*x+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
			}
		}
	}
	return out
}

// dropAlpha copies 8-bit RGBA rows (pix, stride) into out without their
// alpha, as Pillow's convert("RGB") does.
func dropAlpha(out rgbImage, pix []uint8, stride int) {
	for y := range out.H {
		row := pix[y*stride:]
		o := out.Pix[y*out.W*3:]
		for x := range out.W {
			o[3*x], o[3*x+1], o[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
		}
	}
}

// ycbcrToRGB converts a YCbCr image into out.
func ycbcrToRGB(out rgbImage, m *image.YCbCr) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var up func(plane []uint8, y int) []uint8 // chroma row y, upsampled to w samples
	cw, ch := (w+1)/2, (h+1)/2
	// A chroma plane's row r, from the image's origin.
	row := func(plane []uint8, r int) []uint8 {
		off := m.COffset(b.Min.X, b.Min.Y) + r*m.CStride
		return plane[off : off+cw]
	}
	buf := make([]uint8, 2*cw)
	switch { // libjpeg's jinit_upsampler: fancy only where the chroma is wider than 2
	case m.SubsampleRatio == image.YCbCrSubsampleRatio420 && b.Min.X%2 == 0 && b.Min.Y%2 == 0 && cw > 2:
		// jdsample.c h2v2_fancy_upsample: each output row mixes its nearest
		// chroma row (x3) with the next nearest (x1), then columns the
		// same way; the first and last rows are their own neighbours.
		up = func(plane []uint8, y int) []uint8 {
			r := y / 2
			other := r - 1 // above, for the upper output row of a pair
			if y%2 == 1 {
				other = r + 1
			}
			other = min(max(other, 0), ch-1)
			in0, in1 := row(plane, r), row(plane, other)
			col := func(i int) int32 { return int32(in0[i])*3 + int32(in1[i]) }
			this, next := col(0), col(1)
			buf[0] = uint8((this*4 + 8) >> 4)
			buf[1] = uint8((this*3 + next + 7) >> 4)
			last := this
			this = next
			for i := 1; i < cw-1; i++ {
				next = col(i + 1)
				buf[2*i] = uint8((this*3 + last + 8) >> 4)
				buf[2*i+1] = uint8((this*3 + next + 7) >> 4)
				last, this = this, next
			}
			buf[2*cw-2] = uint8((this*3 + last + 8) >> 4)
			buf[2*cw-1] = uint8((this*4 + 7) >> 4)
			return buf
		}
	case m.SubsampleRatio == image.YCbCrSubsampleRatio422 && b.Min.X%2 == 0 && cw > 2:
		// jdsample.c h2v1_fancy_upsample.
		up = func(plane []uint8, y int) []uint8 {
			in := row(plane, y)
			buf[0] = in[0]
			buf[1] = uint8((int32(in[0])*3 + int32(in[1]) + 2) >> 2)
			for i := 1; i < cw-1; i++ {
				v := int32(in[i]) * 3
				buf[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
				buf[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
			}
			buf[2*cw-2] = uint8((int32(in[cw-1])*3 + int32(in[cw-2]) + 1) >> 2)
			buf[2*cw-1] = in[cw-1]
			return buf
		}
	}
	cb := make([]uint8, w)
	for y := range h {
		yi := m.YOffset(b.Min.X, b.Min.Y+y)
		o := out.Pix[y*w*3:]
		cr := cb
		if up != nil {
			copy(cb, up(m.Cb, y))
			cr = up(m.Cr, y)
		}
		for x := range w {
			var r, g, bl uint8
			if up != nil {
				r, g, bl = ycc(m.Y[yi+x], cb[x], cr[x])
			} else {
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl = ycc(m.Y[yi+x], m.Cb[ci], m.Cr[ci])
			}
			o[3*x], o[3*x+1], o[3*x+2] = r, g, bl
		}
	}
}

// ycc is libjpeg's YCbCr -> RGB conversion (jdcolor.c, SCALEBITS 16).
func ycc(y, cb, cr uint8) (uint8, uint8, uint8) {
	const half = 1 << 15
	c, d := int32(cb)-128, int32(cr)-128
	yy := int32(y)
	r := yy + (91881*d+half)>>16
	g := yy + (-22554*c-46802*d+half)>>16
	b := yy + (116130*c+half)>>16
	return clamp8(r), clamp8(g), clamp8(b)
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
