package siamese

import (
	"image"
	"math"
	"testing"

	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestConfigDefaultsAreTheKerasOriginal(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.Encoder.Depth != 50 || c.Input.Size != 64 || c.Input.Channels != 3 || c.Dropout != 0.2 || c.Distance != L1 {
		t.Errorf("defaults %+v", c)
	}
	if len(c.Hidden) != 2 || c.Hidden[0] != 1024 || c.Hidden[1] != 512 {
		t.Errorf("hidden %v, want [1024 512]", c.Hidden)
	}
	bad := []Config{
		{Hidden: []int{0}},
		{Dropout: 1},
		{Distance: 7},
		{FrozenStages: 6},
		{Input: preprocessConfig(16)},
		{Encoder: tinyConfig().Encoder, Input: preprocessConfig(32), EncoderWeights: ""},
	}
	bad[5].Encoder.NumClasses = 10
	for i, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("config %d %+v accepted", i, c)
		}
	}
	c = tinyConfig()
	c.Encoder.InChannels = 1
	if _, err := New(c); err == nil {
		t.Error("a 1-channel encoder with 3-channel preprocessing was accepted")
	}
}

// trainGraph builds a training-mode graph over fixed inputs and returns
// the logits node, the graph and the input tensors.
func pairInputs(n int) (*tensor.Dense, *tensor.Dense) {
	mk := func(off int) *tensor.Dense {
		v := make([]float32, n*3*32*32)
		for i := range v {
			v[i] = float32((i*7+off)%23)/11 - 1
		}
		return tensor.New(tensor.WithShape(n, 3, 32, 32), tensor.WithBacking(v))
	}
	return mk(0), mk(5)
}

// logitsAndGrads runs m.Forward on one graph in mode and returns the
// logits, and the gradient of sum(logits) for every learnable by name.
func logitsAndGrads(t *testing.T, m *Model, mode layers.Mode, seed uint64, runs int) ([][]float32, map[string][]float32) {
	t.Helper()
	g := layers.NewGraph(mode, seed)
	at, bt := pairInputs(3)
	a := G.NodeFromAny(g.G, at, G.WithName("a"))
	b := G.NodeFromAny(g.G, bt, G.WithName("b"))
	logits, err := m.Network().PairLogits(g, a, b)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(logits)
	if err != nil {
		t.Fatal(err)
	}
	nodes, params := g.Learnables()
	grads, err := G.Grad(loss, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	var lv G.Value
	G.Read(logits, &lv)
	gvs := make([]G.Value, len(grads))
	for i := range grads {
		G.Read(grads[i], &gvs[i])
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	var outs [][]float32
	for range runs {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, append([]float32(nil), lv.Data().([]float32)...))
	}
	// Key gradients by the model's parameter names ("encoder_b.conv1.weight").
	names := map[*tensor.Dense]string{}
	for _, p := range m.Network().Params() {
		names[p.Value] = p.Name
	}
	gm := map[string][]float32{}
	for i, p := range params {
		gm[names[p.Value]] = append([]float32(nil), gvs[i].Data().([]float32)...)
	}
	return outs, gm
}

// TestWeightSharing checks that shared towers hold one parameter set and
// that the gradient of a shared parameter is the sum of the gradients the
// two towers would get separately.
func TestWeightSharing(t *testing.T) {
	shared := tinyModel(t, func(c *Config) { c.Dropout = -1 })
	sep := tinyModel(t, func(c *Config) { c.Dropout = -1; c.SeparateTowers = true })
	// Give the separate towers the shared model's weights.
	byName := map[string]*layers.Param{}
	for _, p := range shared.Network().Params() {
		byName[p.Name] = p
	}
	for _, p := range sep.Network().Params() {
		name := p.Name
		for _, pre := range [][2]string{{"encoder_b.", "encoder."}, {"head_b.", "head."}} {
			if len(name) > len(pre[0]) && name[:len(pre[0])] == pre[0] {
				name = pre[1] + name[len(pre[0]):]
			}
		}
		copy(p.Float32s(), byName[name].Float32s())
	}
	if n, ns := len(shared.Network().Params()), len(sep.Network().Params()); ns != 2*n-2 {
		t.Fatalf("shared model has %d parameters, separate %d; want separate = 2*shared - 2 (one output layer)", n, ns)
	}
	// Inference mode: BatchNorm uses running statistics, so a batch of 2N
	// through one tower is the same function as N through each.
	lsh, gsh := logitsAndGrads(t, shared, layers.Inference, 1, 1)
	lsep, gsep := logitsAndGrads(t, sep, layers.Inference, 1, 1)
	for i := range lsh[0] {
		if math.Abs(float64(lsh[0][i]-lsep[0][i])) > 1e-5 {
			t.Fatalf("logit %d: shared %g, separate %g", i, lsh[0][i], lsep[0][i])
		}
	}
	for _, name := range []string{"encoder.conv1.weight", "encoder.layer4.1.conv2.weight", "head.0.weight", "head.1.bias"} {
		bname := "encoder_b." + name[len("encoder."):]
		if name[:5] == "head." {
			bname = "head_b." + name[len("head."):]
		}
		a, b, s := gsep[name], gsep[bname], gsh[name]
		if s == nil || a == nil || b == nil {
			t.Fatalf("%s: missing gradient (shared %v, tower a %v, tower b %v)", name, s != nil, a != nil, b != nil)
		}
		var maxd, maxs float64
		for i := range s {
			maxd = max(maxd, math.Abs(float64(s[i]-(a[i]+b[i]))))
			maxs = max(maxs, math.Abs(float64(s[i])))
		}
		if maxs == 0 || maxd > 1e-4*maxs {
			t.Errorf("%s: shared gradient differs from the sum of the towers' by %.3g (max %.3g)", name, maxd, maxs)
		}
	}
}

func TestDropoutOnlyInTraining(t *testing.T) {
	m := tinyModel(t, nil)
	train, _ := logitsAndGrads(t, m, layers.Training, 7, 2)
	if equal(train[0], train[1]) {
		t.Error("two training runs gave equal logits: Dropout is not active")
	}
	again, _ := logitsAndGrads(t, m, layers.Training, 7, 2)
	if !equal(train[0], again[0]) || !equal(train[1], again[1]) {
		t.Error("the same seed gave different training logits")
	}
	infer, _ := logitsAndGrads(t, m, layers.Inference, 7, 2)
	if !equal(infer[0], infer[1]) {
		t.Error("inference logits changed between runs")
	}
	noDrop := tinyModel(t, func(c *Config) { c.Dropout = -1 })
	nd, _ := logitsAndGrads(t, noDrop, layers.Training, 7, 2)
	if !equal(nd[0], nd[1]) {
		t.Error("without Dropout, two training runs differ")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBatchNormModes(t *testing.T) {
	m := tinyModel(t, nil)
	rm := m.Network().Encoder(0).Param("bn1.running_mean")
	before := append([]float32(nil), rm.Float32s()...)
	if _, err := m.Compare(noise(1, 40, 40), noise(2, 40, 40)); err != nil {
		t.Fatal(err)
	}
	if !equal(before, rm.Float32s()) {
		t.Fatal("scoring changed BatchNorm's running statistics")
	}
	logitsAndGrads(t, m, layers.Training, 1, 1)
	if equal(before, rm.Float32s()) {
		t.Fatal("a training run left BatchNorm's running statistics alone")
	}
	frozen := tinyModel(t, func(c *Config) { c.FrozenStages = 5 })
	rm = frozen.Network().Encoder(0).Param("bn1.running_mean")
	before = append([]float32(nil), rm.Float32s()...)
	_, grads := logitsAndGrads(t, frozen, layers.Training, 1, 1)
	if !equal(before, rm.Float32s()) {
		t.Error("a frozen encoder's BatchNorm moved in training")
	}
	for name := range grads {
		if len(name) < 4 || (name[:5] != "head." && name[:4] != "out.") {
			t.Errorf("frozen encoder: gradient computed for %s", name)
		}
	}
}

// TestSelfScoresHighest: whatever the weights, an image compared with
// itself scores at least as high as with any other image.
func TestSelfScoresHighest(t *testing.T) {
	for _, d := range []Distance{L1, L2, Cosine} {
		m := tinyModel(t, func(c *Config) { c.Distance = d })
		// Output weights of both signs and large size, as training might leave them.
		u := m.out.Weight.Float32s()
		for i := range u {
			u[i] = float32(i%5) - 2
		}
		m.out.Bias.Float32s()[0] = 1.5
		q := noise(10, 48, 40)
		self, err := m.Compare(q, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 / (1 + math.Exp(-1.5)); math.Abs(float64(self)-want) > 1e-12 {
			t.Errorf("%v: self score %g, want sigmoid(bias) = %g", d, self, want)
		}
		imgs := []image.Image{noise(11, 48, 40), ramp(40, 40, colorRed), ramp(64, 32, colorBlue), noise(12, 32, 32)}
		for i, other := range imgs {
			s, err := m.Compare(q, other)
			if err != nil {
				t.Fatal(err)
			}
			if s > self {
				t.Errorf("%v: image %d scores %g against the query, above the query itself (%g)", d, i, s, self)
			}
		}
	}
}
