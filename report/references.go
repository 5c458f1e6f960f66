package report

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/compare"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Reference is a reference network's evaluation (references.parquet).
type Reference = search.ReferenceRow

// readReferences reads dir/references.parquet; none without the file.
func readReferences(dir string) ([]Reference, error) {
	path := filepath.Join(dir, "references.parquet")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	refs, err := parquet.ReadFile[Reference](path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return refs, nil
}

// specRefs are the references evaluated for spec.
func specRefs(refs []Reference, spec string) []Reference {
	var out []Reference
	for _, r := range refs {
		if r.Spec == spec {
			out = append(out, r)
		}
	}
	return out
}

// writeReferences tables the spec's reference networks against its
// strategies by Pareto order on MACs and accuracy: the strategies whose
// networks are more accurate with no more MACs than a reference, and those
// it beats with no more MACs of its own; before fine-tuning by the IQM on
// the ranking column, after it by the fine-tuned seed's test top-1.
func writeReferences(b *strings.Builder, refs []Reference, base string, order []string, by map[string]*agg, rankName string, rank func(*agg) []float64, unseen, otherDevice bool) {
	if len(refs) == 0 {
		return
	}
	fmt.Fprintf(b, "\nReference networks: trained at their own size, not pruned, evaluated as they are (not fine-tuned) on the same images; "+
		"MACs, params and measured latency are ratios to the unpruned %s. The last two columns order the strategies' networks and the "+
		"reference by MACs and top-1: before fine-tuning by the IQM on %s at the mean MACs over seeds, after it by the fine-tuned seed's "+
		"test top-1 at its MACs (the fair comparison for a network trained at its size); \"no more MACs\" includes equal MACs, and a "+
		"strategy in neither list is more accurate with more MACs, less accurate with fewer, or as accurate.\n\n", base, rankName)
	b.WriteString("| reference | model | held-out unseen by the search | test | reward set | MACs ratio | params ratio | latency ratio | before fine-tuning | after fine-tuning (test) |\n|---|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range refs {
		refRank := r.TestTop1
		if unseen {
			refRank = r.UnseenTop1
		}
		var before, after pareto
		for _, s := range order {
			a := by[s]
			macs := compare.Mean(a.macs)
			before.add(s, macs, compare.IQM(rank(a)), r.MACsRatio, refRank)
			if a.ftEpochs > 0 {
				after.add(s, a.ftMACs, a.ftTest, r.MACsRatio, r.TestTop1)
			}
		}
		held := "-"
		if r.UnseenImages > 0 {
			held = fmt.Sprintf("%.2f", r.UnseenTop1)
		}
		lat := fmt.Sprintf("%.3f", r.LatencyRatio)
		if otherDevice {
			lat = "- (runs on another device's latency table)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.2f | %.2f | %.3f | %.3f | %s | %s | %s |\n", r.Name, r.Model, held, r.TestTop1, r.RewardTop1,
			r.MACsRatio, r.ParamsRatio, lat, before, after)
	}
}

// pareto sorts strategies against a reference: those more accurate with no
// more MACs (above) and those less accurate with no fewer (below).
type pareto struct{ above, below []string }

func (p *pareto) add(s string, macs, acc, refMACs, refAcc float64) {
	cell := fmt.Sprintf("%s (%.2f at %.3f)", s, acc, macs)
	switch {
	case macs <= refMACs && acc > refAcc:
		p.above = append(p.above, cell)
	case macs >= refMACs && acc < refAcc:
		p.below = append(p.below, cell)
	}
}

func (p pareto) String() string {
	if len(p.above)+len(p.below) == 0 {
		return "-"
	}
	var parts []string
	if len(p.above) > 0 {
		parts = append(parts, "more accurate with no more MACs: "+strings.Join(p.above, ", "))
	}
	if len(p.below) > 0 {
		parts = append(parts, "less accurate with no fewer MACs: "+strings.Join(p.below, ", "))
	}
	return strings.Join(parts, "; ")
}

// refPoint is a reference network drawn in a plot.
type refPoint struct {
	name string
	x, y float64
}

// addReferences draws reference networks as labelled black squares.
func addReferences(p *plot.Plot, pts []refPoint) error {
	if len(pts) == 0 {
		return nil
	}
	xys := make(plotter.XYs, len(pts))
	labels := make([]string, len(pts))
	for i, r := range pts {
		xys[i] = plotter.XY{X: r.x, Y: r.y}
		labels[i] = " " + r.name
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	sc.Shape, sc.Color, sc.Radius = draw.BoxGlyph{}, color.Black, vg.Points(3.5)
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(10)
		l.TextStyle[i].XAlign = draw.XLeft
	}
	p.Add(sc, l)
	p.Legend.Add("reference network", sc)
	return nil
}
