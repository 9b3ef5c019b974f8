package siamese

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/resnet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Model is a Siamese network: two towers (one shared encoder and head by
// default) embed two images, a distance compares the embeddings, and a
// one-unit Dense layer with a sigmoid turns the distance features into a
// Score, the probability that the images show the same thing.
//
// The output layer's weights on the distance features are kept
// non-positive (it computes bias - Σ|u_i| d_i), so the score can only fall
// as the embeddings part: an image compared with itself gets the highest
// score the model can give, whatever it learned.
//
// Scoring and embedding use inference graphs (no Dropout, BatchNorm on
// running statistics), so the same pair gets the same score every time.
// All methods are safe for concurrent use.
type Model struct {
	cfg   Config
	enc   [2]*resnet.Encoder // enc[1] == enc[0] unless SeparateTowers
	head  [2][]*layers.Dense // hidden layers per tower, shared likewise
	out   *layers.Dense      // Weight (1, F) holds u, the output weights are -|u|
	zeros *layers.Param      // (1, F) zeros, the reference for |u|

	mu        sync.RWMutex // guards the parameters and threshold against Update
	threshold float64
	info      map[string]string
	embedders embedCache
}

// New builds a model with freshly initialised parameters, loading
// cfg.EncoderWeights into the encoder(s) when given.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	m := &Model{cfg: cfg, threshold: 0.5, info: map[string]string{}}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5369616d657365)) // "Siamese"
	towers := 1
	if cfg.SeparateTowers {
		towers = 2
	}
	for t := range towers {
		ec := cfg.Encoder
		ec.Seed = rng.Uint64()
		enc, err := resnet.New(ec)
		if err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		if cfg.EncoderWeights != "" {
			if err := enc.LoadFile(cfg.EncoderWeights); err != nil {
				return nil, fmt.Errorf("siamese: encoder weights: %w", err)
			}
		}
		if err := enc.Freeze(cfg.FrozenStages); err != nil {
			return nil, fmt.Errorf("siamese: %w", err)
		}
		m.enc[t] = enc
		in := cfg.encoderOutput()
		for i, h := range cfg.Hidden {
			d := layers.NewDense(fmt.Sprintf("%s.%d", headName(t), i), in, h)
			layers.InitGlorotUniform(d, rng)
			m.head[t] = append(m.head[t], d)
			in = h
		}
	}
	if towers == 1 {
		m.enc[1], m.head[1] = m.enc[0], m.head[0]
	}
	features := cfg.embeddingSize()
	if cfg.Distance == Cosine {
		features = 1
	}
	m.out = layers.NewDense("out", features, 1)
	layers.InitNormal(m.out.Weight, 1e-3, rng)
	m.zeros = layers.NewParam("out.zeros", 1, features)
	m.zeros.State = true
	return m, nil
}

func headName(tower int) string {
	if tower == 1 {
		return "head_b"
	}
	return "head"
}

func encoderPrefix(tower int) string {
	if tower == 1 {
		return "encoder_b."
	}
	return "encoder."
}

// Config returns the model's configuration, defaults filled in.
func (m *Model) Config() Config {
	c := m.cfg
	c.Hidden = append([]int{}, c.Hidden...)
	return c
}

// Encoder returns the encoder of tower 0 or 1 (the same one unless the
// towers are separate).
func (m *Model) Encoder(tower int) *resnet.Encoder { return m.enc[tower&1] }

// Params returns every parameter and state tensor of the model under the
// names it is saved with: "encoder.<torchvision name>", "head.<i>.weight",
// "out.weight", ...; with separate towers also "encoder_b." and "head_b.".
// The Values are the model's own tensors, not copies.
func (m *Model) Params() []*layers.Param {
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

// Tower attaches tower t (0 or 1) to g and returns the embeddings (N, F) of
// x (N, C, H, W).
func (m *Model) Tower(g *layers.Graph, t int, x *G.Node) (*G.Node, error) {
	t &= 1
	y, err := m.enc[t].Forward(g, x)
	if err != nil {
		return nil, fmt.Errorf("siamese: %w", err)
	}
	return m.TowerHead(g, t, y)
}

// TowerHead attaches tower t's head alone (the hidden Dense + ReLU +
// Dropout layers) to g, on encoder outputs f: (N, Features) pooled or a
// feature map, which is flattened. With a frozen encoder, training can
// compute the encoder outputs once and train only this part.
func (m *Model) TowerHead(g *layers.Graph, t int, f *G.Node) (*G.Node, error) {
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

// EncoderOutput returns the number of values the encoder gives per image
// (flattened), the input size of TowerHead.
func (m *Model) EncoderOutput() int { return m.cfg.encoderOutput() }

// Embed2 attaches both towers to g for the pairs (a, b), each (N, C, H, W),
// and returns the two embeddings. With shared towers the two inputs run
// through the encoder as one batch of 2N, so a single set of parameters
// (and of BatchNorm statistics) serves both and the gradients of both
// halves add up.
func (m *Model) Embed2(g *layers.Graph, a, b *G.Node) (ea, eb *G.Node, err error) {
	return m.pairwise(g, a, b, m.Tower)
}

// Embed2Features is Embed2 for encoder outputs (see TowerHead): it attaches
// both towers' heads alone, arranged as Embed2 arranges them, so that a
// training run on cached encoder outputs draws the same Dropout masks as
// one through the whole model.
func (m *Model) Embed2Features(g *layers.Graph, fa, fb *G.Node) (ea, eb *G.Node, err error) {
	return m.pairwise(g, fa, fb, m.TowerHead)
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

// HeadLogits attaches the distance and the output layer to g and returns
// the logits (N, 1) for embeddings ea, eb (N, F): bias - Σ|u_i| d_i(ea, eb).
// The score is sigmoid(logit); train with loss.BCEWithLogits on the
// logits, not on the score.
func (m *Model) HeadLogits(g *layers.Graph, ea, eb *G.Node) (*G.Node, error) {
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

// Forward attaches the whole model to g for pairs (a, b) and returns the
// logits (N, 1). In a Training graph Dropout is active and BatchNorm
// learns from the batch (except frozen stages); build a separate
// Inference graph for scoring.
func (m *Model) Forward(g *layers.Graph, a, b *G.Node) (*G.Node, error) {
	ea, eb, err := m.Embed2(g, a, b)
	if err != nil {
		return nil, err
	}
	return m.HeadLogits(g, ea, eb)
}

// Update runs f with the model locked against concurrent scoring, for
// code that changes parameters in place (an optimiser step, a load).
func (m *Model) Update(f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return f()
}
