package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports done/total on stderr: a live bar on a terminal, a plain
// line every tenth of the way otherwise (logs, CI, pipes).
type progress struct {
	bar    *progressbar.ProgressBar
	w      io.Writer
	desc   string
	unit   string
	next   int
	start  time.Time
	closed bool
}

func newProgress(w io.Writer, total int, desc string) *progress {
	return newProgressUnit(w, total, desc, "img")
}

// newProgressUnit is newProgress counting another unit ("ep" for episodes).
func newProgressUnit(w io.Writer, total int, desc, unit string) *progress {
	p := &progress{w: w, desc: desc, unit: unit, start: time.Now()}
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

func (p *progress) update(done, total int) {
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

func (p *progress) finish() {
	if p.bar != nil && !p.closed {
		p.bar.Finish()
		p.closed = true
	}
}
