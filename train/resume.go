package train

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/gosiamese/gosiamese/safetensors"
	"github.com/gosiamese/gosiamese/siamese"
)

// Resume continues the run whose checkpoint is path (the Checkpoint file
// Run writes): it restores the model's weights and BatchNorm statistics,
// the optimizer's moments, the step and epoch, the schedules' state and
// the history. The data and validation must be the same as in the
// interrupted run (with the same seeds); progress replaces the run's
// Config.Progress, the rest of the configuration is taken from the
// checkpoint. An interrupted run resumed ends where an uninterrupted one
// would, bit for bit.
func Resume(path string, data Batches, val Validation, progress io.Writer) (*siamese.Model, *Trainer, error) {
	m, err := siamese.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("train: resume: %w", err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("train: resume: %w", err)
	}
	defer f.Close()
	sj, cj := f.Metadata["train.state"], f.Metadata["train.config"]
	if sj == "" || cj == "" {
		return nil, nil, fmt.Errorf("train: resume: %s is a model, not a training checkpoint (no train.state)", path)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(cj), &cfg); err != nil {
		return nil, nil, fmt.Errorf("train: resume: %s: config: %w", path, err)
	}
	cfg.Progress = progress
	t, err := New(m, data, val, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal([]byte(sj), &t.st); err != nil {
		return nil, nil, fmt.Errorf("train: resume: %s: state: %w", path, err)
	}
	// The optimizer covers the parameters the training graph learns, in
	// the graph's order; rebuild that list and read each moment by name.
	gr, err := t.build()
	if err != nil {
		return nil, nil, err
	}
	gr.vm.Close()
	t.opt = newOptimizer(cfg.Optimizer, gr.params)
	t.opt.t = t.st.OptSteps
	var missing []string
	for _, p := range t.opt.state() {
		v, shape, err := f.Float32(p.Name)
		if err != nil || !slices.Equal(shape, []int(p.Value.Shape())) {
			missing = append(missing, p.Name)
			continue
		}
		copy(p.Float32s(), v)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("train: resume: %s lacks optimizer state %v", path, missing)
	}
	return m, t, nil
}
