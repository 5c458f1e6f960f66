// Package progress reports done/total on a writer: a live bar on a terminal,
// a plain line every tenth of the way otherwise.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar reports done/total on a writer: a live bar on a terminal, a plain
// line every tenth of the way otherwise (logs, CI, pipes).
type Bar struct {
	bar    *progressbar.ProgressBar
	w      io.Writer
	desc   string
	unit   string
	next   int
	start  time.Time
	closed bool
}

// New counts images towards total; w nil discards the reports.
func New(w io.Writer, total int, desc string) *Bar {
	return NewUnit(w, total, desc, "img")
}

// NewUnit is New counting another unit ("ep" for episodes).
func NewUnit(w io.Writer, total int, desc, unit string) *Bar {
	if w == nil {
		w = io.Discard
	}
	p := &Bar{w: w, desc: desc, unit: unit, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	return p
}

// Update reports done of total.
func (p *Bar) Update(done, total int) {
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if done*10 >= p.next*total {
		el := time.Since(p.start).Seconds()
		rate := float64(done) / max(el, 1e-9)
		eta := time.Duration(float64(total-done) / max(rate, 1e-9) * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(p.w, "%s: %d/%d (%.2f %s/s, ETA %s)\n", p.desc, done, total, rate, p.unit, eta)
		p.next = done*10/total + 1
	}
}

// Finish closes a live bar.
func (p *Bar) Finish() {
	if p.bar != nil && !p.closed {
		p.bar.Finish()
		p.closed = true
	}
}
