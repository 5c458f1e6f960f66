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
	next   int
	start  time.Time
	closed bool
}

func newProgress(w io.Writer, total int, desc string) *progress {
	p := &progress{w: w, desc: desc, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
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
		fmt.Fprintf(p.w, "%s: %d/%d (%.0f img/s)\n", p.desc, done, total, float64(done)/max(el, 1e-9))
		p.next = done*10/total + 1
	}
}

func (p *progress) finish() {
	if p.bar != nil && !p.closed {
		p.bar.Finish()
		p.closed = true
	}
}
