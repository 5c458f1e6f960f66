package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/amcbench/amc/compare"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// frontPoint is one strategy at one budget: resource ratio (mean over
// seeds) and accuracy (IQM with its interval).
type frontPoint struct {
	x  float64
	iv compare.Interval
}

// frontXY adapts points to gonum's XYer and YErrorer.
type frontXY []frontPoint

func (f frontXY) Len() int                    { return len(f) }
func (f frontXY) XY(i int) (float64, float64) { return f[i].x, f[i].iv.Point }
func (f frontXY) YError(i int) (float64, float64) {
	if !f[i].iv.HasInterval() {
		return 0, 0
	}
	return f[i].iv.Point - f[i].iv.Lo, f[i].iv.Hi - f[i].iv.Point
}

// writeFronts adds, for every spec family (a spec with a budgets: list),
// a Pareto front over budgets: a table and a plot of each strategy's
// accuracy on the unseen held-out images (test for runs without them)
// against the resource ratio it reached, one point per budget.
func writeFronts(b *strings.Builder, dir string, runs []Run, refs []Reference) error {
	fams := map[string][]string{}
	for _, r := range runs {
		if r.Family != "" && !slices.Contains(fams[r.Family], r.Spec) {
			fams[r.Family] = append(fams[r.Family], r.Spec)
		}
	}
	names := make([]string, 0, len(fams))
	for f, specs := range fams {
		if len(specs) >= 2 {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	opt := compare.DefaultOptions()
	for _, fam := range names {
		specs := fams[fam]
		// Each member's budget, from its runs (RESOURCE=F).
		budgets := map[string]float64{}
		kind := ""
		for _, r := range runs {
			if r.Family != fam {
				continue
			}
			k, f, ok := strings.Cut(r.Budget, "=")
			v, err := strconv.ParseFloat(f, 64)
			if !ok || err != nil {
				return fmt.Errorf("report: run %s has budget %q: want RESOURCE=F", r.RunDir, r.Budget)
			}
			if kind != "" && k != kind {
				return fmt.Errorf("report: family %s mixes %s and %s budgets", fam, kind, k)
			}
			kind, budgets[r.Spec] = k, v
		}
		ratio := func(r Run) float64 {
			switch kind {
			case "params":
				return r.ParamsRatio
			case "latency":
				return r.Latency()
			}
			return r.MACsRatio
		}
		unseen := true
		for _, r := range runs {
			if r.Family == fam && r.UnseenImages == 0 {
				unseen = false
			}
		}
		col, colName := func(r Run) float64 { return r.TestTop1 }, "test"
		if unseen {
			col, colName = func(r Run) float64 { return r.UnseenTop1 }, "held-out unseen by the search"
		}
		sort.Slice(specs, func(i, j int) bool { return budgets[specs[i]] < budgets[specs[j]] })
		pts := map[string]frontXY{}
		cell := map[string]map[string]frontPoint{} // strategy -> spec -> point
		var order []string
		base, baseSet := 0.0, false
		fixed := map[string]bool{} // one-episode strategies (fixed policies)
		for _, spec := range specs {
			vals, xs := map[string][]float64{}, map[string][]float64{}
			for _, r := range runs {
				if r.Spec != spec {
					continue
				}
				if !slices.Contains(order, r.Strategy) {
					order = append(order, r.Strategy)
				}
				vals[r.Strategy] = append(vals[r.Strategy], col(r))
				fixed[r.Strategy] = r.Episodes == 1
				xs[r.Strategy] = append(xs[r.Strategy], ratio(r))
				if !baseSet && r.BaseTestTop1 > 0 {
					base, baseSet = r.BaseTestTop1, true
					if unseen {
						base = r.BaseUnseenTop1
					}
				}
			}
			for s, v := range vals {
				if fixed[s] && slices.Min(v) == slices.Max(v) {
					v = v[:1] // a fixed policy: one value
				}
				iv, err := compare.Bootstrap(v, compare.IQM, opt)
				if err != nil {
					return err
				}
				pt := frontPoint{x: compare.Mean(xs[s]), iv: iv}
				pts[s] = append(pts[s], pt)
				if cell[s] == nil {
					cell[s] = map[string]frontPoint{}
				}
				cell[s][spec] = pt
			}
		}
		rank := func(s string) int { // known strategies first, in their fixed order
			if i := slices.Index(strategyOrder, s); i >= 0 {
				return i
			}
			return len(strategyOrder)
		}
		sort.SliceStable(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
		fmt.Fprintf(b, "\n## %s: Pareto front over %d %s budgets\n\n%s top-1 before fine-tuning, IQM over seeds [95%% interval], at the %s ratio reached (mean over seeds).\n\n| strategy |",
			fam, len(specs), kind, colName, kind)
		for _, spec := range specs {
			fmt.Fprintf(b, " %s=%g |", kind, budgets[spec])
		}
		b.WriteString("\n|---|" + strings.Repeat("---:|", len(specs)) + "\n")
		for _, s := range order {
			fmt.Fprintf(b, "| %s |", s)
			for _, spec := range specs {
				if p, ok := cell[s][spec]; ok {
					fmt.Fprintf(b, " %s at %.3f |", p.iv, p.x)
				} else {
					b.WriteString(" - |") // no finished run at this budget
				}
			}
			b.WriteString("\n")
		}
		// The family's references: every budget's spec evaluated the same
		// networks on the same images; the first budget's that has them
		// are drawn (none against another device's latency: those are
		// measured here).
		var famRefs []Reference
		for _, spec := range specs {
			if famRefs = specRefs(refs, spec); len(famRefs) > 0 {
				break
			}
		}
		for _, r := range runs {
			if r.Family == fam && kind == "latency" && r.LatencyTableSHA256 != "" {
				famRefs = nil
			}
		}
		var rpts []refPoint
		for _, r := range famRefs {
			x := map[string]float64{"macs": r.MACsRatio, "params": r.ParamsRatio, "latency": r.LatencyRatio}[kind]
			y := r.TestTop1
			if unseen {
				y = r.UnseenTop1
			}
			rpts = append(rpts, refPoint{r.Name, x, y})
			fmt.Fprintf(b, "| reference %s (%s, trained at its size) | %.2f at %.3f%s |\n", r.Name, r.Model, y, x, strings.Repeat(" |", len(specs)-1))
		}
		png, err := plotFront(dir, fam, kind, colName, order, pts, base, baseSet, rpts)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "\n![Pareto front over budgets](%s)\n", png)
	}
	return nil
}

func plotFront(dir, fam, kind, colName string, order []string, pts map[string]frontXY, base float64, baseSet bool, refs []refPoint) (string, error) {
	p := plot.New()
	p.Title.Text = fam + ": accuracy against " + map[string]string{"macs": "MACs", "params": "params", "latency": "latency"}[kind] + " (one point per budget)"
	short := map[string]string{"macs": "MACs", "params": "params", "latency": "latency"}[kind]
	p.X.Label.Text = short + " / original (mean over seeds)"
	p.Y.Label.Text = "top-1 (%): " + map[bool]string{true: "unseen held-out", false: "test"}[colName != "test"] + ", IQM, 95% interval"
	for _, s := range order {
		xy := pts[s]
		sort.Slice(xy, func(i, j int) bool { return xy[i].x < xy[j].x })
		c, g := style(s)
		l, sc, err := plotter.NewLinePoints(xy)
		if err != nil {
			return "", err
		}
		l.Color, sc.Color, sc.Shape, sc.Radius = c, c, g, vg.Points(3)
		eb, err := plotter.NewYErrorBars(xy)
		if err != nil {
			return "", err
		}
		eb.Color = c
		p.Add(l, sc, eb)
		p.Legend.Add(s, l, sc)
	}
	if baseSet {
		u, err := plotter.NewScatter(plotter.XYs{{X: 1, Y: base}})
		if err != nil {
			return "", err
		}
		u.Shape, u.Color, u.Radius = draw.CrossGlyph{}, color.Black, vg.Points(5)
		p.Add(u)
		p.Legend.Add("unpruned", u)
	}
	if err := addReferences(p, refs); err != nil {
		return "", err
	}
	p.X.Max = math.Max(p.X.Max, 1.02)
	p.Legend.Top, p.Legend.Left = false, false // lower right: few points have low accuracy at a large budget
	return save(p, dir, fam+"-front.png")
}
