package siamese

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/resnet"
)

// Model is a Siamese network that scores how alike two images are: two
// towers (one shared encoder and head by default) embed them, and a
// one-unit layer turns their distance into a Score, the probability of
// "same". The output weights are kept non-positive, so an image compared
// with itself gets the highest score the model can give. Scores come from
// inference graphs and repeat exactly. All methods are safe for concurrent
// use.
type Model struct {
	cfg   Config
	enc   [2]*resnet.Encoder // enc[1] == enc[0] unless SeparateTowers
	head  [2][]*layers.Dense // hidden layers per tower, shared likewise
	out   *layers.Dense      // Weight (1, F) holds u, the output weights are -|u|
	zeros *layers.Param      // (1, F) zeros, the reference for |u|

	mu        sync.RWMutex // guards the parameters and threshold against ChangeParams
	threshold float64
	info      map[string]string
	embedders embedCache
	prec      resnet.Precision // of the encoders when embedding (SetPrecision)
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
