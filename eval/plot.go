package eval

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PlotROC draws ROC curves (false-accept rate across, true-accept rate up,
// with the chance diagonal) into a PNG file at path, one line per entry of
// curves, labelled with its name and the area under it. Names are drawn
// in sorted order. The file is written atomically: it appears complete or
// not at all.
func PlotROC(path string, curves map[string]Curve) error {
	if len(curves) == 0 {
		return errors.New("eval: PlotROC: no curves")
	}
	p, err := unitSquare("ROC", "false-accept rate", "true-accept rate", false)
	if err != nil {
		return fmt.Errorf("eval: PlotROC: %w", err)
	}
	for i, name := range sortedKeys(curves) {
		c := curves[name]
		if len(c.FPR) == 0 || len(c.FPR) != len(c.TPR) {
			return fmt.Errorf("eval: PlotROC: curve %q has %d FPR and %d TPR values", name, len(c.FPR), len(c.TPR))
		}
		xy := make(plotter.XYs, len(c.FPR))
		for j := range c.FPR {
			x, y := c.FPR[j], c.TPR[j]
			if !(x >= 0 && x <= 1 && y >= 0 && y <= 1) {
				return fmt.Errorf("eval: PlotROC: curve %q: point %d (%g, %g) outside [0, 1]", name, j, x, y)
			}
			xy[j] = plotter.XY{X: x, Y: y}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("eval: PlotROC: curve %q: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (AUC %.3f)", name, c.AUC()), l)
	}
	return savePNG(p, path, 5*vg.Inch, 5*vg.Inch)
}

// PlotCurves draws per-epoch values (such as training and validation loss
// or accuracy) into a PNG file at path: one line per entry of series,
// value i at epoch i+1, names in sorted order in the legend. Values must
// be finite. The file is written atomically.
func PlotCurves(path, title string, series map[string][]float64) error {
	if len(series) == 0 {
		return errors.New("eval: PlotCurves: no series")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, name := range sortedKeys(series) {
		v := series[name]
		if len(v) == 0 {
			return fmt.Errorf("eval: PlotCurves: series %q is empty", name)
		}
		xy := make(plotter.XYs, len(v))
		for j, y := range v {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				return fmt.Errorf("eval: PlotCurves: series %q: value %d is %g", name, j, y)
			}
			xy[j] = plotter.XY{X: float64(j + 1), Y: y}
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("eval: PlotCurves: series %q: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		pts.Color = plotutil.Color(i)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2)
		p.Add(l, pts)
		p.Legend.Add(name, l, pts)
	}
	// Headroom above the data for the legend (top right).
	span := hi - lo
	if span == 0 {
		span = math.Max(math.Abs(hi), 1)
	}
	p.Y.Min, p.Y.Max = lo-0.05*span, hi+0.1*span+0.08*span*float64(len(series))
	return savePNG(p, path, 7*vg.Inch, 4*vg.Inch)
}

// unitSquare returns a plot of [0, 1] x [0, 1] with a grid and the
// dashed grey diagonal (chance for a ROC curve, perfect calibration for a
// reliability diagram), its legend top left or bottom right.
func unitSquare(title, x, y string, legendTopLeft bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Legend.Top = legendTopLeft
	p.Legend.Left = legendTopLeft
	p.Add(plotter.NewGrid())
	diagonal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	diagonal.Color = color.Gray{Y: 150}
	diagonal.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(diagonal)
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// savePNG renders p and writes it to path atomically: into a temporary
// file in the same folder, then renamed over path.
func savePNG(p *plot.Plot, path string, w, h vg.Length) (err error) {
	if path == "" {
		return errors.New("eval: no file name for the plot")
	}
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("eval: %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("eval: %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("eval: %s: %w", path, err)
		}
	}()
	if _, err = wt.WriteTo(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// PlotReliability draws reliability diagrams into a PNG file at path: for
// each entry of diagrams (from Reliability), the fraction of pairs that
// show the same thing against the mean score of each non-empty bin, with
// the diagonal a calibrated model follows; the legend gives each entry's
// ECE. Names are drawn in sorted order. The file is written atomically.
func PlotReliability(path string, diagrams map[string][]Bin) error {
	if len(diagrams) == 0 {
		return errors.New("eval: PlotReliability: no diagrams")
	}
	p, err := unitSquare("Reliability", "score (mean of the bin)", "fraction of pairs that are the same", true)
	if err != nil {
		return fmt.Errorf("eval: PlotReliability: %w", err)
	}
	for i, name := range sortedKeys(diagrams) {
		var xy plotter.XYs
		var total int
		var gap float64
		for _, b := range diagrams[name] {
			if b.Count == 0 {
				continue
			}
			if !(b.Confidence >= 0 && b.Confidence <= 1 && b.Frequency >= 0 && b.Frequency <= 1) {
				return fmt.Errorf("eval: PlotReliability: %q: bin [%g, %g) at (%g, %g), outside [0, 1]", name, b.Lo, b.Hi, b.Confidence, b.Frequency)
			}
			xy = append(xy, plotter.XY{X: b.Confidence, Y: b.Frequency})
			total += b.Count
			gap += float64(b.Count) * math.Abs(b.Confidence-b.Frequency)
		}
		if total == 0 {
			return fmt.Errorf("eval: PlotReliability: %q has no pairs", name)
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("eval: PlotReliability: %q: %w", name, err)
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		l.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2.5)
		p.Add(l, pts)
		p.Legend.Add(fmt.Sprintf("%s (ECE %.3f)", name, gap/float64(total)), l, pts)
	}
	return savePNG(p, path, 5*vg.Inch, 5*vg.Inch)
}
