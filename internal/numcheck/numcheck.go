// Package numcheck holds the accepted ranges of amc's numeric inputs, the
// command-line flags and the spec fields alike, and the errors that name the
// input and its range. NaN and infinities are never accepted.
package numcheck

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Range is the set of values a number may take: an interval whose ends may
// be open or infinite, optionally whole numbers only, with a note on what
// special values mean ("0: all"). The zero Range accepts only 0.
type Range struct {
	Min, Max         float64 // bounds; -Inf and +Inf for none
	MinOpen, MaxOpen bool    // the bound itself is excluded
	Int              bool    // whole numbers only
	Note             string  // printed after the range, in parentheses
}

// AtLeast is [min, +Inf).
func AtLeast(min float64) Range { return Range{Min: min, Max: math.Inf(1)} }

// Above is (min, +Inf).
func Above(min float64) Range { return Range{Min: min, Max: math.Inf(1), MinOpen: true} }

// Between is [min, max].
func Between(min, max float64) Range { return Range{Min: min, Max: max} }

// Fraction is (0, 1].
func Fraction() Range { return Range{Min: 0, Max: 1, MinOpen: true} }

// Any accepts every finite number.
func Any() Range { return Range{Min: math.Inf(-1), Max: math.Inf(1)} }

// Ints is r restricted to whole numbers.
func (r Range) Ints() Range { r.Int = true; return r }

// Means is r with a note on what special values mean, as in "0: all".
func (r Range) Means(note string) Range { r.Note = note; return r }

// Contains says whether v is in r (never for NaN or infinities).
func (r Range) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if r.Int && v != math.Trunc(v) {
		return false
	}
	if v < r.Min || (r.MinOpen && v == r.Min) || v > r.Max || (r.MaxOpen && v == r.Max) {
		return false
	}
	return true
}

// String describes r: "an integer >= 1", "a number in (0, 1]", "an integer
// >= 0 (0: all)".
func (r Range) String() string {
	what := "a number"
	if r.Int {
		what = "an integer"
	}
	lo, hi := !math.IsInf(r.Min, -1), !math.IsInf(r.Max, 1)
	var s string
	switch {
	case lo && hi:
		open, close := "[", "]"
		if r.MinOpen {
			open = "("
		}
		if r.MaxOpen {
			close = ")"
		}
		s = fmt.Sprintf("%s in %s%s, %s%s", what, open, format(r.Min), format(r.Max), close)
	case lo && r.MinOpen:
		s = fmt.Sprintf("%s > %s", what, format(r.Min))
	case lo:
		s = fmt.Sprintf("%s >= %s", what, format(r.Min))
	case hi && r.MaxOpen:
		s = fmt.Sprintf("%s < %s", what, format(r.Max))
	case hi:
		s = fmt.Sprintf("%s <= %s", what, format(r.Max))
	default:
		s = "a finite " + what[2:]
		if r.Int {
			s = "an integer"
		}
	}
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	return s
}

func format(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Check returns nil if v is in r, or an error naming the input (a flag
// such as "--episodes" or a spec field such as "calibration.positions"),
// its value and the accepted range.
func (r Range) Check(name string, v float64) error {
	if r.Contains(v) {
		return nil
	}
	return &Error{Name: name, Value: format(v), Range: r}
}

// CheckInt is Check for an integer value (printed exactly).
func (r Range) CheckInt(name string, v int64) error {
	if r.Contains(float64(v)) {
		return nil
	}
	return &Error{Name: name, Value: strconv.FormatInt(v, 10), Range: r}
}

// CheckUint is Check for an unsigned integer value (printed exactly).
func (r Range) CheckUint(name string, v uint64) error {
	if r.Contains(float64(v)) {
		return nil
	}
	return &Error{Name: name, Value: strconv.FormatUint(v, 10), Range: r}
}

// Error is a number outside its range.
type Error struct {
	Name  string // the flag or field
	Value string // as given
	Range Range
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: want %s", e.Name, e.Value, e.Range)
}

// All joins the errors that are not nil (nil if none), one per line.
func All(errs ...error) error { return errors.Join(errs...) }
