package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/siamese"
	G "gorgonia.org/gorgonia"
)

// stepGraph is a stage's compiled training graph: a loss over the
// learnable nodes, whose gradients the optimizer applies.
type stepGraph struct {
	g      *layers.Graph
	nodes  G.Nodes
	params []*layers.Param // the nodes' parameters, named as the optimizer saves them
	loss   *G.Value        // read after each step (layers.Read)
	vm     G.VM
}

// hooks are where a stage plugs into the loop. Every field is required
// except stopped.
type hooks struct {
	// feed sets the graph's inputs for step, after checking that they
	// are finite.
	feed func(step uint64) error
	// learningRate is the learning rate of step.
	learningRate func(step uint64) float64
	// afterStep records a finished step's loss (running sums, accuracy).
	afterStep func(step uint64, loss float64)
	// endEpoch runs at the end of each epoch: validation, early stopping,
	// logs, plots, the best model and the checkpoint. It returns the line
	// the progress writer shows for the epoch.
	endEpoch func(seconds, lr float64) (string, error)
	// stopped reports whether the run has ended early (early stopping).
	stopped func() bool
	// interrupted writes the checkpoint when the context is cancelled.
	interrupted func() error
}

// loop runs the steps of one stage of training. Both stages use it, so a
// non-finite input, loss, gradient or update, BatchNorm statistics to put
// back and temporary files left by a killed run are handled the same way
// in each.
type loop struct {
	prefix        string // of errors: "train" or "train: pretraining"
	m             *siamese.Model
	gr            *stepGraph
	opt           *optimizer
	step          *uint64 // steps done, kept in the stage's checkpoint
	stepsPerEpoch uint64
	epochs        int
	batch         int
	unit          string // what a batch holds: "pairs" or "images"
	dir           string // the run's folder; "" for none
	progress      io.Writer
	// watch are the values checked after an update: the model's and the
	// stage's own parameters.
	watch []*layers.Param
	hooks
}

// run trains until the configured epochs are done, stopped reports true or
// ctx is cancelled. On cancellation it calls interrupted and returns ctx's
// error (joined with interrupted's, if any).
func (l *loop) run(ctx context.Context) error {
	if l.dir != "" {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		removeStaleTemps(l.dir)
	}
	spe := l.stepsPerEpoch
	total := spe * uint64(l.epochs)
	prog := newProgressOf(l.progress, total, *l.step, l.batch, l.unit)
	defer prog.finish()
	grads := make([][]float32, len(l.gr.nodes))
	// BatchNorm's running statistics change during the forward pass; keep
	// a copy to put back when a step turns out to be non-finite.
	stats := statistics(l.m)
	saved := make([][]float32, len(stats))
	for i, p := range stats {
		saved[i] = make([]float32, len(p.Float32s()))
	}
	restore := func() {
		_ = l.m.Network().ChangeParams(func() error {
			for i, p := range stats {
				copy(p.Float32s(), saved[i])
			}
			return nil
		})
	}
	epochStart := time.Now()
	for *l.step < total && (l.stopped == nil || !l.stopped()) {
		if err := ctx.Err(); err != nil {
			if cerr := l.interrupted(); cerr != nil {
				return errors.Join(err, cerr)
			}
			return err
		}
		step := *l.step
		if err := l.feed(step); err != nil {
			return fmt.Errorf("%s: step %d: %w", l.prefix, step, err)
		}
		for i, p := range stats {
			copy(saved[i], p.Float32s())
		}
		l.gr.g.SetStep(step)
		if err := l.m.Network().ChangeParams(func() error { return layers.Run(l.gr.vm) }); err != nil {
			return fmt.Errorf("%s: step %d: %w", l.prefix, step, err)
		}
		loss := float64((*l.gr.loss).Data().(float32))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			restore()
			// Name a non-finite weight if one caused it (the inputs were
			// checked by feed).
			var where string
			if w := nonFiniteParam(l.watch); w != "" {
				where = " (" + w + ")"
			}
			return fmt.Errorf("%s: step %d: loss is %v%s; the parameters are those before the step", l.prefix, step, loss, where)
		}
		for i, n := range l.gr.nodes {
			gv, err := n.Grad()
			if err != nil {
				return fmt.Errorf("%s: step %d: %s: %w", l.prefix, step, l.gr.params[i].Name, err)
			}
			grads[i] = gv.Data().([]float32)
			if firstNonFinite(grads[i]) >= 0 {
				restore()
				return fmt.Errorf("%s: step %d: gradient of %s is not finite; the parameters are those before the step", l.prefix, step, l.gr.params[i].Name)
			}
		}
		lr := l.learningRate(step)
		finite := true
		_ = l.m.Network().ChangeParams(func() error { finite = l.opt.step(grads, lr); return nil })
		// Finite gradients can still overflow a weight (a huge learning
		// rate), and BatchNorm statistics do not enter the training loss:
		// stop here, naming the step, rather than at an epoch's end when
		// the model refuses to be saved.
		if !finite || nonFiniteParam(stats) != "" {
			return fmt.Errorf("%s: step %d: after the update (learning rate %g), %s; training stopped, checkpoints on disk are from before", l.prefix, step, lr, nonFiniteParam(l.watch))
		}
		*l.step = step + 1
		l.afterStep(step, loss)
		prog.step(loss)
		if *l.step%spe == 0 {
			line, err := l.endEpoch(time.Since(epochStart).Seconds(), lr)
			if err != nil {
				return err
			}
			prog.line(line)
			epochStart = time.Now()
		}
	}
	return nil
}

// statistics returns m's BatchNorm running statistics.
func statistics(m *siamese.Model) []*layers.Param {
	var stats []*layers.Param
	for _, p := range m.Network().Params() {
		if p.State {
			stats = append(stats, p)
		}
	}
	return stats
}

// removeStaleTemps removes the temporary files of atomic writes (models,
// logs, plots: all named ".NAME.tmp...") that a run killed while writing
// leaves in dir; the complete file each was replacing is intact.
func removeStaleTemps(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*"))
	for _, f := range stale {
		_ = os.Remove(f)
	}
}
