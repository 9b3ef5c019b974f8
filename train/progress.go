package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports training progress: a bar with pairs/s, loss and ETA on
// a terminal, plain lines elsewhere (logs, CI).
type progress struct {
	w         io.Writer
	bar       *progressbar.ProgressBar
	total     uint64
	done      uint64
	start     time.Time
	lastLog   time.Time
	loss      float64 // exponential moving average
	batch     int
	startDone uint64
	unit      string // what a step's batch counts: "pairs" or "images"
}

// newProgress counts pairs: total and done are numbers of steps of batch
// pairs.
func newProgress(w io.Writer, totalSteps, doneSteps uint64, batch int) *progress {
	return newProgressOf(w, totalSteps, doneSteps, batch, "pairs")
}

// newProgressOf is newProgress counting unit ("pairs", "images").
func newProgressOf(w io.Writer, totalSteps, doneSteps uint64, batch int, unit string) *progress {
	total, done := totalSteps*uint64(batch), doneSteps*uint64(batch)
	p := &progress{w: w, total: total, done: done, start: time.Now(), lastLog: time.Now(), batch: batch, startDone: done, unit: unit}
	if w == nil {
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("training"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		_ = p.bar.Set64(int64(done))
	}
	return p
}

func (p *progress) step(loss float64) {
	if p.w == nil {
		return
	}
	p.done += uint64(p.batch)
	if p.loss == 0 {
		p.loss = loss
	}
	p.loss = 0.98*p.loss + 0.02*loss
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("loss %.4f", p.loss))
		_ = p.bar.Add(p.batch)
		return
	}
	if time.Since(p.lastLog) >= 30*time.Second {
		p.lastLog = time.Now()
		rate := float64(p.done-p.startDone) / time.Since(p.start).Seconds()
		eta := time.Duration(float64(p.total-p.done) / max(rate, 1e-9) * float64(time.Second))
		fmt.Fprintf(p.w, "%s %d/%d  loss %.4f  %.1f %s/s  ETA %s\n", p.unit, p.done, p.total, p.loss, rate, p.unit, eta.Round(time.Second))
	}
}

// line prints an epoch's line, clearing the bar first.
func (p *progress) line(s string) {
	if p.w == nil || s == "" {
		return
	}
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, s)
}

// epochLine is the progress line of a pair-stage epoch.
func epochLine(es EpochStats) string {
	return fmt.Sprintf("epoch %d  step %d  train loss %.4f  val loss %.4f  acc %.4f  AUC %.4f  EER %.4f  lr %.3g  %.1fs",
		es.Epoch, es.Step, es.TrainLoss, es.ValLoss, es.ValAccuracy, es.ValAUC, es.ValEER, es.LearningRate, es.Seconds)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
