package siamese

import (
	"fmt"

	"github.com/gosiamese/gosiamese/resnet"
	"gorgonia.org/tensor"
)

// Precision returns the arithmetic the model's encoders embed images in:
// resnet.FP32 unless SetPrecision chose another.
func (m *Model) Precision() resnet.Precision {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.prec
}

// SetPrecision sets the arithmetic of the encoders when the model embeds
// and compares images (Embed, EmbedBatch, Compare, Network.EmbedImages,
// ...); default resnet.FP32. It is a run-time choice, not saved with the
// model, and training graphs are not affected.
//
// resnet.BF16 runs each encoder through resnet.Encoder.InferWith in
// bfloat16 (the onednn build tag and a CPU with native bfloat16) and the
// hidden layers after it in float32: faster, with embeddings about 1% off
// float32's (the README gives the measured error and one-shot accuracy).
// Where BF16 cannot run, SetPrecision returns an error wrapping
// resnet.ErrPrecisionUnavailable and leaves the precision as it was:
// nothing falls back to float32 silently.
func (m *Model) SetPrecision(p resnet.Precision) error {
	if err := resnet.PrecisionAvailable(p); err != nil {
		return fmt.Errorf("siamese: %w", err)
	}
	if p != resnet.FP32 {
		for t := range 2 {
			if m.enc[t] != nil && m.enc[t].Config().NumClasses > 0 {
				return fmt.Errorf("siamese: %v embeddings need encoders without a classifier top", p)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prec = p
	return nil
}

// embedReduced embeds preprocessed images x (N, C, S, S) by tower t with
// the encoder in m.prec and the hidden layers in float32. The caller holds
// m.mu for reading.
func (m *Model) embedReduced(t int, x *tensor.Dense) ([]Embedding, error) {
	n := x.Shape()[0]
	feats, _, err := m.enc[t&1].InferWith(x, resnet.InferOptions{Precision: m.prec})
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	f := len(feats) / n
	if f != m.cfg.encoderOutput() {
		return nil, fmt.Errorf("siamese: encoder output of %d values, want %d", f, m.cfg.encoderOutput())
	}
	out := make([]Embedding, n)
	for i := range n {
		y := feats[i*f : (i+1)*f : (i+1)*f]
		for _, d := range m.head[t&1] {
			b := make([]float32, d.Weight.Shape()[0])
			if d.Bias != nil {
				b = d.Bias.Float32s()
			}
			y = denseReLU(d.Weight.Float32s(), b, y)
		}
		out[i] = y
	}
	return out, nil
}

// denseReLU returns max(w x + b, 0) for w of shape (len(b), len(x)), as
// the towers' hidden layers compute in inference (Dropout is then the
// identity), accumulating in float64.
func denseReLU(w, b, x []float32) []float32 {
	y := make([]float32, len(b))
	for o := range y {
		row := w[o*len(x) : (o+1)*len(x)]
		s := float64(b[o])
		for i, v := range x {
			s += float64(row[i]) * float64(v)
		}
		y[o] = float32(max(s, 0))
	}
	return y
}
