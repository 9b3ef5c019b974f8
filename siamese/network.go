package siamese

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/resnet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tower names one of the two towers: First sees the first image of a
// pair, Second the second. They are one tower unless Config.SeparateTowers.
type Tower int

const (
	First Tower = iota
	Second
)

// Network is a Model seen by training code: its parameters, and the
// pieces of its graph (embeddings, logits) to attach to a layers.Graph.
// It shares everything with its Model; changing a parameter changes the
// Model's scores.
type Network struct{ m *Model }

// Network returns the model's network, for training.
func (m *Model) Network() *Network { return &Network{m} }

// Encoder returns the encoder of tower t (one encoder unless the towers
// are separate).
func (n *Network) Encoder(t Tower) *resnet.Encoder { return n.m.enc[t&1] }

// Params returns every parameter and state tensor of the model under the
// names it is saved with: "encoder.<torchvision name>", "head.<i>.weight",
// "out.weight", ...; with separate towers also "encoder_b." and "head_b.".
// The Values are the model's own tensors, not copies.
func (n *Network) Params() []*layers.Param { return n.m.params() }

// EncoderOutputSize is the number of values the encoder gives per image
// (flattened), the input size of EmbeddingsOfFeatures.
func (n *Network) EncoderOutputSize() int { return n.m.cfg.encoderOutput() }

// Embeddings attaches tower t to g and returns the embeddings (N, F) of
// images x (N, C, H, W).
func (n *Network) Embeddings(g *layers.Graph, t Tower, x *G.Node) (*G.Node, error) {
	return n.m.tower(g, int(t), x)
}

// EmbeddingsOfFeatures attaches tower t's head alone (the hidden Dense +
// ReLU + Dropout layers) to g, on encoder outputs f: (N, Features) pooled
// or a feature map, which is flattened. With a frozen encoder, training
// can compute the encoder outputs once and train only this part.
func (n *Network) EmbeddingsOfFeatures(g *layers.Graph, t Tower, f *G.Node) (*G.Node, error) {
	return n.m.towerHead(g, int(t), f)
}

// PairEmbeddings attaches both towers to g for the pairs (a, b), each
// (N, C, H, W), and returns the two embeddings. With shared towers the
// two inputs run through the encoder as one batch of 2N, so a single set
// of parameters (and of BatchNorm statistics) serves both and the
// gradients of both halves add up.
func (n *Network) PairEmbeddings(g *layers.Graph, a, b *G.Node) (ea, eb *G.Node, err error) {
	return n.m.pairwise(g, a, b, n.m.tower)
}

// PairEmbeddingsOfFeatures is PairEmbeddings on encoder outputs (see
// EmbeddingsOfFeatures), arranged as PairEmbeddings arranges them, so that
// a run on cached encoder outputs draws the same Dropout masks as one
// through the whole model.
func (n *Network) PairEmbeddingsOfFeatures(g *layers.Graph, fa, fb *G.Node) (ea, eb *G.Node, err error) {
	return n.m.pairwise(g, fa, fb, n.m.towerHead)
}

// Logits attaches the distance and the output layer to g and returns the
// logits (N, 1) for embeddings ea, eb (N, F): bias - Σ|u_i| d_i(ea, eb).
// The score is sigmoid(logit); train with loss.BCEWithLogits on the
// logits, not on the score.
func (n *Network) Logits(g *layers.Graph, ea, eb *G.Node) (*G.Node, error) {
	return n.m.logits(g, ea, eb)
}

// PairLogits attaches the whole model to g for pairs (a, b) and returns
// the logits (N, 1). In a Training graph Dropout is active and BatchNorm
// learns from the batch (except frozen stages); scoring uses a separate
// Inference graph.
func (n *Network) PairLogits(g *layers.Graph, a, b *G.Node) (*G.Node, error) {
	ea, eb, err := n.PairEmbeddings(g, a, b)
	if err != nil {
		return nil, err
	}
	return n.m.logits(g, ea, eb)
}

// ChangeParams runs f with the model locked against concurrent scoring,
// for code that changes parameters in place (an optimiser step, a load).
func (n *Network) ChangeParams(f func() error) error {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	return f()
}

// EmbedImages returns the embeddings of imgs by tower t, on the inference
// graph Model.EmbedBatch uses.
func (n *Network) EmbedImages(t Tower, imgs []image.Image) ([]Embedding, error) {
	if len(imgs) == 0 {
		return nil, errors.New("siamese: no images to embed")
	}
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	return n.m.embedImages(context.Background(), int(t&1), imgs)
}

// EmbedPreprocessed embeds images already preprocessed with the model's
// Input configuration: x of shape (N, C, Size, Size), one embedding per
// image by the first tower. Training code holds validation images so.
func (n *Network) EmbedPreprocessed(x *tensor.Dense) ([]Embedding, error) {
	return n.m.embedPreprocessed(x)
}

// Logit returns the head's logit for two embeddings: the score is
// sigmoid(Logit).
func (n *Network) Logit(a, b Embedding) (float64, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	return n.m.logitLocked(a, b)
}

// SaveWith is Model.Save plus the caller's own tensors and metadata keys,
// written in the same atomic step: a training checkpoint is a model file
// that also holds an optimiser's state. Their names must not be the
// model's: tensors outside "encoder.", "encoder_b.", "head.", "head_b."
// and "out.", metadata keys other than the model's. Load ignores them.
func (n *Network) SaveWith(path string, extra []*layers.Param, extraMeta map[string]string) error {
	return n.m.save(path, extra, extraMeta)
}

// params lists the model's tensors under their saved names (see
// Network.Params).
func (m *Model) params() []*layers.Param {
	var ps []*layers.Param
	towers := 1
	if m.cfg.SeparateTowers {
		towers = 2
	}
	for t := range towers {
		for _, p := range m.enc[t].Params() {
			q := *p
			q.Name = encoderPrefix(t) + p.Name
			ps = append(ps, &q)
		}
		for _, d := range m.head[t] {
			ps = append(ps, d.Weight, d.Bias)
		}
	}
	return append(ps, m.out.Weight, m.out.Bias)
}

// tower attaches tower t (0 or 1) to g and returns the embeddings (N, F)
// of x (N, C, H, W).
func (m *Model) tower(g *layers.Graph, t int, x *G.Node) (*G.Node, error) {
	t &= 1
	y, err := m.enc[t].Forward(g, x)
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	return m.towerHead(g, t, y)
}

// towerHead attaches tower t's hidden layers to g, on encoder outputs f.
func (m *Model) towerHead(g *layers.Graph, t int, f *G.Node) (*G.Node, error) {
	t &= 1
	y, err := layers.Flatten(f)
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	if got, want := y.Shape()[1], m.cfg.encoderOutput(); got != want {
		return nil, fmt.Errorf("siamese: encoder output of %d values, want %d", got, want)
	}
	for _, d := range m.head[t] {
		if y, err = d.Forward(g, y); err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		if y, err = layers.ReLU(y); err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		if m.cfg.Dropout > 0 {
			if y, err = (layers.Dropout{P: m.cfg.Dropout}).Forward(g, y); err != nil {
				return nil, fmt.Errorf("siamese: %w", err)
			}
		}
	}
	return y, nil
}

// pairwise applies tower to a (tower 0) and b (tower 1): as one batch
// through tower 0 when the towers are shared.
func (m *Model) pairwise(g *layers.Graph, a, b *G.Node, tower func(*layers.Graph, int, *G.Node) (*G.Node, error)) (ea, eb *G.Node, err error) {
	if !a.Shape().Eq(b.Shape()) {
		return nil, nil, fmt.Errorf("siamese: inputs of shapes %v and %v", a.Shape(), b.Shape())
	}
	if m.cfg.SeparateTowers {
		if ea, err = tower(g, 0, a); err != nil {
			return nil, nil, err
		}
		eb, err = tower(g, 1, b)
		return ea, eb, err
	}
	n := a.Shape()[0]
	ab, err := G.Concat(0, a, b)
	if err != nil {
		return nil, nil, fmt.Errorf("siamese: %w", err)
	}
	e, err := tower(g, 0, ab)
	if err != nil {
		return nil, nil, err
	}
	if ea, err = G.Slice(e, G.S(0, n)); err != nil {
		return nil, nil, fmt.Errorf("siamese: %w", err)
	}
	if eb, err = G.Slice(e, G.S(n, 2*n)); err != nil {
		return nil, nil, fmt.Errorf("siamese: %w", err)
	}
	return ea, eb, nil
}

// logits attaches the distance and the output layer (see Network.Logits).
func (m *Model) logits(g *layers.Graph, ea, eb *G.Node) (*G.Node, error) {
	var d *G.Node
	var err error
	switch m.cfg.Distance {
	case L1:
		d, err = layers.L1(ea, eb)
	case L2:
		if d, err = layers.L1(ea, eb); err == nil {
			d, err = G.HadamardProd(d, d)
		}
	case Cosine:
		d, err = layers.CosineDistance(ea, eb)
	}
	if err != nil {
		return nil, fmt.Errorf("siamese: distance: %w", err)
	}
	absU, err := layers.L1(g.Node(m.out.Weight), g.Node(m.zeros))
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	wt, err := G.Transpose(absU)
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	dw, err := G.Mul(d, wt) // (N, 1) = Σ|u_i| d_i
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	bias, err := G.Reshape(g.Node(m.out.Bias), tensor.Shape{1, 1})
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	logits, err := G.BroadcastSub(bias, dw, []byte{0}, nil)
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	return logits, nil
}
