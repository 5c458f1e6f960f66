package weights

import (
	"fmt"
	"math"
	"math/bits"
)

// checkView checks a tensor's declared size, stride and storage offset
// against the n values its storage holds, before the dense copy is
// allocated, and returns its element count. gopickle hands these numbers
// over as the file declares them, so a 350-byte file can declare a
// 2^19 x 2^19 stride-0 view of one value; copying that densely would need
// a terabyte, and the runtime's out-of-memory is fatal, not a panic. It
// refuses negative sizes, strides and offsets, a view that reaches past the
// end of its storage, and a view holding more values than its storage does
// (a stride-0 or overlapping view: a saved parameter never is one, and amc
// would copy every repeated value). All arithmetic is overflow-safe.
func checkView(size, stride []int, offset, n int) (int64, error) {
	if len(size) != len(stride) {
		return 0, fmt.Errorf("size %v and stride %v differ in rank", size, stride)
	}
	if offset < 0 {
		return 0, fmt.Errorf("negative storage offset %d", offset)
	}
	empty := false
	for d := range size {
		if size[d] < 0 {
			return 0, fmt.Errorf("negative size %v", size)
		}
		if stride[d] < 0 {
			return 0, fmt.Errorf("negative stride %v", stride)
		}
		empty = empty || size[d] == 0
	}
	if empty {
		return 0, nil
	}
	// The last value touched is offset + sum((size-1)*stride); it must lie
	// in the storage.
	last, past := int64(offset), false
	for d := range size {
		if size[d] > 1 && stride[d] > 0 {
			if int64(size[d]-1) > (math.MaxInt64-last)/int64(stride[d]) {
				past = true
				break
			}
			last += int64(size[d]-1) * int64(stride[d])
		}
	}
	if past || last >= int64(n) {
		return 0, fmt.Errorf("size %v, stride %v and offset %d reach past the end of its storage of %d values", size, stride, offset, n)
	}
	numel, overflow := uint64(1), false
	for _, s := range size {
		hi, lo := bits.Mul64(numel, uint64(s))
		if hi != 0 || lo > math.MaxInt64 {
			overflow = true
			break
		}
		numel = lo
	}
	if overflow {
		return 0, fmt.Errorf("size %v holds more than %d values, but its storage only %d (stride %v); amc copies tensors densely, so a view larger than its storage is refused", size, int64(math.MaxInt64), n, stride)
	}
	if numel > uint64(n) {
		return 0, fmt.Errorf("size %v holds %d values, but its storage only %d (stride %v); amc copies tensors densely, so a view larger than its storage is refused", size, numel, n, stride)
	}
	return int64(numel), nil
}
