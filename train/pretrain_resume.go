package train

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
	"github.com/gosiamese/gosiamese/siamese"
	"gorgonia.org/tensor"
)

// checkpoint writes PretrainCheckpoint in Dir: the model, the classifier,
// the optimizer's moments, the best epoch's parameters and the state, in
// one atomic file.
func (p *Pretrainer) checkpoint() error {
	if p.cfg.Dir == "" || p.opt == nil {
		return nil
	}
	p.st.OptSteps = p.opt.t
	extra := append(p.obj.params(), p.opt.state()...)
	if p.best != nil {
		for i, q := range p.m.Network().Params() {
			extra = append(extra, &layers.Param{Name: p.files.best + q.Name, Value: tensorLike(q, p.best[i])})
		}
	}
	return saveCheckpoint(p.m, filepath.Join(p.cfg.Dir, p.files.ckpt), extra,
		map[string]any{p.files.stateKey: p.st, p.files.configKey: p.files.config()})
}

// withoutIO returns c without its writer and folder, the parts a resumed
// run may change.
func (c PretrainConfig) withoutIO() PretrainConfig {
	c.Progress, c.Dir = nil, ""
	return c
}

// Resume restores into p the run whose checkpoint is path (PretrainCheckpoint
// in the interrupted run's Dir): the model's weights and BatchNorm
// statistics, the classifier, the optimizer's moments, the best epoch so
// far and the progress. p must be made as the interrupted run's Pretrainer
// was: a model of the same configuration, the same data and validation
// (with the same seeds) and the same PretrainConfig (Dir and Progress may
// differ). Run then continues from the checkpoint's step and ends where an
// uninterrupted run would, bit for bit. Nothing in p changes when Resume
// fails.
func (p *Pretrainer) Resume(path string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("train: %s: resume %s: "+format, append([]any{p.files.what, path}, args...)...)
	}
	h, err := siamese.ReadHeader(path)
	if err != nil {
		return fmt.Errorf("train: %s: resume: %w", p.files.what, err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("train: %s: resume: %w", p.files.what, err)
	}
	defer f.Close()
	sj, cj := f.Metadata[p.files.stateKey], f.Metadata[p.files.configKey]
	if sj == "" || cj == "" {
		return fail("not a %s checkpoint (no %s)", p.files.what, p.files.stateKey)
	}
	want, err := json.Marshal(p.files.config())
	if err != nil {
		return fail("%v", err)
	}
	if cj != string(want) {
		return fail("written with the %s settings %s, not %s", p.files.what, cj, want)
	}
	if a, b := modelConfigJSON(h.Config), modelConfigJSON(p.m.Config()); a != b {
		return fail("a model configured as %s, not %s", a, b)
	}
	var st pretrainState
	if err := json.Unmarshal([]byte(sj), &st); err != nil {
		return fail("state: %v", err)
	}
	if total := uint64(p.cfg.StepsPerEpoch) * uint64(p.cfg.Epochs); st.Step > total || len(st.History) != int(st.Step/uint64(p.cfg.StepsPerEpoch)) {
		return fail("state at step %d with %d epochs logged does not fit %d epochs of %d steps", st.Step, len(st.History), p.cfg.Epochs, p.cfg.StepsPerEpoch)
	}
	read := func(name string, like *layers.Param) ([]float32, error) {
		v, shape, err := f.Float32(name)
		if err != nil {
			return nil, fail("%v", err)
		}
		if !slices.Equal(shape, []int(like.Value.Shape())) {
			return nil, fail("%s has shape %v, want %v", name, shape, like.Value.Shape())
		}
		return v, nil
	}
	params := p.m.Network().Params()
	cur := make([][]float32, len(params))
	for i, q := range params {
		if cur[i], err = read(q.Name, q); err != nil {
			return err
		}
	}
	own := p.obj.params()
	ownV := make([][]float32, len(own))
	for i, q := range own {
		if ownV[i], err = read(q.Name, q); err != nil {
			return err
		}
	}
	var best [][]float32
	if st.HasBest && p.val != nil {
		for _, q := range params {
			v, err := read(p.files.best+q.Name, q)
			if err != nil {
				return err
			}
			best = append(best, v)
		}
	}
	resumed := map[string][]float32{}
	for _, name := range f.Names() {
		if strings.HasPrefix(name, optStatePrefix) {
			v, _, err := f.Float32(name)
			if err != nil {
				return fail("%v", err)
			}
			resumed[name] = v
		}
	}
	_ = p.m.Network().ChangeParams(func() error {
		for i, q := range params {
			copy(q.Float32s(), cur[i])
		}
		return nil
	})
	for i, q := range own {
		copy(q.Float32s(), ownV[i])
	}
	p.st, p.best, p.resumed = st, best, resumed
	return nil
}

// tensorLike returns a tensor of q's shape backed by d.
func tensorLike(q *layers.Param, d []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(q.Value.Shape().Clone()...), tensor.WithBacking(d))
}

// modelConfigJSON is a model configuration as a checkpoint compares it.
func modelConfigJSON(c siamese.Config) string {
	c.EncoderWeights = ""
	b, _ := json.Marshal(c.WithDefaults())
	return string(b)
}

// pretrainEpochJSON is PretrainEpoch with the validation accuracy as a
// pointer, since JSON has no NaN: a missing validation is null.
type pretrainEpochJSON struct {
	Epoch                 int
	Step, Images          uint64
	TrainLoss, TrainAcc   float64
	ValOneShot            *float64
	LearningRate, Seconds float64
}

// MarshalJSON writes a NaN validation accuracy as null.
func (e PretrainEpoch) MarshalJSON() ([]byte, error) {
	return json.Marshal(pretrainEpochJSON{e.Epoch, e.Step, e.Images, e.TrainLoss, e.TrainAcc, nullNaN(e.ValOneShot), e.LearningRate, e.Seconds})
}

// UnmarshalJSON reads a null validation accuracy as NaN.
func (e *PretrainEpoch) UnmarshalJSON(b []byte) error {
	var j pretrainEpochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = PretrainEpoch{Epoch: j.Epoch, Step: j.Step, Images: j.Images, TrainLoss: j.TrainLoss, TrainAcc: j.TrainAcc,
		ValOneShot: nanNull(j.ValOneShot), LearningRate: j.LearningRate, Seconds: j.Seconds}
	return nil
}
