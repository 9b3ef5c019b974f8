package resnet

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ../testdata/resnet_state_dicts.txt lists the state dict (name, dtype,
// shape, in order) of torchvision 0.14's resnet18 ... resnet152 with their
// 1000-class top; ../testdata/torchvision_state_dicts.py writes it.
const stateDictsFile = "../testdata/resnet_state_dicts.txt"

type goldenEntry struct {
	name  string
	dtype string
	shape []int
}

// goldenStateDicts reads the golden file into arch -> entries in order.
func goldenStateDicts(t *testing.T) map[string][]goldenEntry {
	t.Helper()
	f, err := os.Open(stateDictsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]goldenEntry{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 {
			t.Fatalf("%s:%d: %d fields, want 4", stateDictsFile, line, len(fs))
		}
		e := goldenEntry{name: fs[1], dtype: fs[2], shape: []int{}}
		if fs[3] != "-" {
			for _, s := range strings.Split(fs[3], ",") {
				d, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("%s:%d: %v", stateDictsFile, line, err)
				}
				e.shape = append(e.shape, d)
			}
		}
		out[fs[0]] = append(out[fs[0]], e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var depths = []int{18, 34, 50, 101, 152}

func TestParamsMatchTorchvision(t *testing.T) {
	golden := goldenStateDicts(t)
	for _, d := range depths {
		t.Run(fmt.Sprintf("resnet%d", d), func(t *testing.T) {
			var want []goldenEntry
			for _, e := range golden[fmt.Sprintf("resnet%d", d)] {
				if strings.HasSuffix(e.name, ".num_batches_tracked") {
					if e.dtype != "I64" || len(e.shape) != 0 {
						t.Errorf("golden %s: %s %v, want an I64 scalar", e.name, e.dtype, e.shape)
					}
					continue
				}
				if e.dtype != "F32" {
					t.Errorf("golden %s: dtype %s", e.name, e.dtype)
				}
				want = append(want, e)
			}
			if len(want) == 0 {
				t.Fatalf("no golden entries for depth %d", d)
			}

			e, err := New(Config{Depth: d, NumClasses: 1000})
			if err != nil {
				t.Fatal(err)
			}
			compareParams(t, e.Params(), want)

			// Without a top: the same list less fc.*.
			var headless []goldenEntry
			for _, g := range want {
				if !strings.HasPrefix(g.name, "fc.") {
					headless = append(headless, g)
				}
			}
			if len(headless) != len(want)-2 {
				t.Errorf("golden list has %d fc entries, want 2", len(want)-len(headless))
			}
			e, err = New(Config{Depth: d})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range e.Params() {
				if strings.HasPrefix(p.Name, "fc.") {
					t.Errorf("encoder without top has %s", p.Name)
				}
			}
			compareParams(t, e.Params(), headless)
			if e.Param("fc.weight") != nil {
				t.Error(`Param("fc.weight") is not nil without a top`)
			}
			if p := e.Param("conv1.weight"); p == nil || p.Name != "conv1.weight" {
				t.Error(`Param("conv1.weight") does not return conv1.weight`)
			}

			wantFeatures := 2048
			if d < 50 {
				wantFeatures = 512
			}
			if got := e.Features(); got != wantFeatures {
				t.Errorf("Features() = %d, want %d", got, wantFeatures)
			}
			if got := (Config{Depth: d}).Features(); got != wantFeatures {
				t.Errorf("Config.Features() = %d, want %d", got, wantFeatures)
			}
		})
	}
}

// compareParams reports every difference between ps and want in names,
// order and shapes (at most a few lines of mismatch, then a summary).
func compareParams(t *testing.T, ps []*layers.Param, want []goldenEntry) {
	t.Helper()
	if len(ps) != len(want) {
		t.Errorf("%d params, torchvision has %d", len(ps), len(want))
	}
	bad := 0
	for i := range min(len(ps), len(want)) {
		p, w := ps[i], want[i]
		if p.Name != w.name || !slices.Equal([]int(p.Value.Shape()), w.shape) {
			if bad < 5 {
				t.Errorf("param %d: %s %v, torchvision has %s %v", i, p.Name, []int(p.Value.Shape()), w.name, w.shape)
			}
			bad++
		}
		if p.Value.Dtype() != tensor.Float32 {
			t.Errorf("%s: dtype %v", p.Name, p.Value.Dtype())
		}
		wantState := strings.HasSuffix(p.Name, ".running_mean") || strings.HasSuffix(p.Name, ".running_var")
		if p.State != wantState {
			t.Errorf("%s: State = %v, want %v", p.Name, p.State, wantState)
		}
	}
	if bad > 5 {
		t.Errorf("... %d mismatches in all", bad)
	}
	if bad > 0 {
		// Tell an ordering problem from a naming or shape one.
		have := map[string][]int{}
		for _, p := range ps {
			have[p.Name] = []int(p.Value.Shape())
		}
		same := len(have) == len(want)
		for _, w := range want {
			if s, ok := have[w.name]; !ok || !slices.Equal(s, w.shape) {
				same = false
			}
		}
		if same {
			t.Errorf("names and shapes agree with torchvision; only the order differs")
		}
	}
}

// fillNamed gives every parameter of e deterministic values from its name
// (running variances positive), so that forward passes are non-trivial.
func fillNamed(e *Encoder) {
	for _, p := range e.Params() {
		lo, hi := -0.3, 0.3
		switch {
		case strings.HasSuffix(p.Name, "running_var"):
			lo, hi = 0.5, 2
		case strings.HasSuffix(p.Name, "bn1.weight"), strings.HasSuffix(p.Name, "bn2.weight"), strings.HasSuffix(p.Name, "bn3.weight"):
			lo, hi = 0.5, 1.5
		}
		copy(p.Float32s(), detrand.Uniform(p.Name, p.Value.Shape().TotalSize(), lo, hi))
	}
}

func inputTensor(name string, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(detrand.Uniform(name, n, -2, 2)))
}

// forwardOnce runs e once in an Inference graph over x and returns the
// output's shape and data.
func forwardOnce(t *testing.T, e *Encoder, x *tensor.Dense) (tensor.Shape, []float32) {
	t.Helper()
	g := layers.NewGraph(layers.Inference, 1)
	y, err := e.Forward(g, G.NodeFromAny(g.G, x, G.WithName("x")))
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return y.Shape().Clone(), append([]float32(nil), y.Value().Data().([]float32)...)
}

func TestForwardShapes(t *testing.T) {
	cases := []struct {
		cfg  Config
		want tensor.Shape
	}{
		{Config{Depth: 50, Width: 8}, tensor.Shape{2, 256}},
		{Config{Depth: 50, Width: 8, Pooling: PoolNone}, tensor.Shape{2, 256, 2, 2}},
		{Config{Depth: 50, Width: 8, Pooling: PoolMax}, tensor.Shape{2, 256}},
		{Config{Depth: 50, Width: 8, NumClasses: 10}, tensor.Shape{2, 10}},
		{Config{Depth: 18, Width: 8}, tensor.Shape{2, 64}},
		{Config{Depth: 18, Width: 8, InChannels: 1, Pooling: PoolNone}, tensor.Shape{2, 64, 2, 2}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("depth%d_in%d_%v_classes%d", c.cfg.Depth, c.cfg.InChannels, c.cfg.Pooling, c.cfg.NumClasses), func(t *testing.T) {
			e, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			fillNamed(e)
			in := e.Config().InChannels
			shape, data := forwardOnce(t, e, inputTensor("x", 2, in, 64, 64))
			if !shape.Eq(c.want) {
				t.Errorf("output shape %v, want %v", shape, c.want)
			}
			if len(data) != c.want.TotalSize() {
				t.Errorf("%d values, want %d", len(data), c.want.TotalSize())
			}
			feat := c.want[1]
			if got := e.Features(); got != feat {
				t.Errorf("Features() = %d, want %d", got, feat)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		name string
		cfg  Config
		want string
	}{
		{"depth 20", Config{Depth: 20}, "depth 20"},
		{"depth 0", Config{}, "depth 0"},
		{"negative channels", Config{Depth: 18, InChannels: -1}, "channels -1"},
		{"negative width", Config{Depth: 18, Width: -8}, "width -8"},
		{"classes with max pooling", Config{Depth: 18, NumClasses: 10, Pooling: PoolMax}, "avg pooling"},
		{"classes with no pooling", Config{Depth: 18, NumClasses: 10, Pooling: PoolNone}, "avg pooling"},
		{"negative classes", Config{Depth: 18, NumClasses: -1}, "classes -1"},
		{"bad pooling", Config{Depth: 18, Pooling: Pooling(7)}, "pooling"},
		{"momentum 2", Config{Depth: 18, BNMomentum: 2}, "momentum 2"},
		{"negative momentum", Config{Depth: 18, BNMomentum: -0.1}, "momentum"},
		{"negative eps", Config{Depth: 18, BNEps: -1}, "epsilon"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", c.cfg)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate error %q does not mention %q", err, c.want)
			}
			if e, err := New(c.cfg); err == nil || e != nil {
				t.Errorf("New(%+v) = %v, %v; want nil and an error", c.cfg, e, err)
			}
		})
	}
	// Several problems are all reported.
	err := Config{Depth: 20, BNMomentum: 2}.Validate()
	if err == nil || !strings.Contains(err.Error(), "depth 20") || !strings.Contains(err.Error(), "momentum") {
		t.Errorf("Validate with two problems: %v", err)
	}
	for _, d := range depths {
		for _, c := range []Config{
			{Depth: d},
			{Depth: d, NumClasses: 1000},
			{Depth: d, InChannels: 1, Pooling: PoolMax, Width: 8, BNMomentum: 1, BNEps: 1e-3},
			{Depth: d, Pooling: PoolNone},
		} {
			if err := c.Validate(); err != nil {
				t.Errorf("Validate(%+v) = %v", c, err)
			}
		}
	}
	d := Config{Depth: 50}.WithDefaults()
	if d.InChannels != 3 || d.Width != 64 || d.BNEps != 1e-5 || d.BNMomentum != 0.1 || d.Pooling != PoolAvg || d.NumClasses != 0 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestParseArch(t *testing.T) {
	presets := map[int]Config{18: ResNet18(), 34: ResNet34(), 50: ResNet50(), 101: ResNet101(), 152: ResNet152()}
	for _, d := range depths {
		s := fmt.Sprintf("resnet%d", d)
		c, err := ParseArch(s)
		if err != nil {
			t.Errorf("ParseArch(%q): %v", s, err)
			continue
		}
		if c != presets[d] || c.Depth != d {
			t.Errorf("ParseArch(%q) = %+v, want %+v", s, c, presets[d])
		}
	}
	for _, s := range []string{"", "resnet", "resnet20", "ResNet50", "resnet50 ", " resnet50", "resnet-50", "50", "resnet0050", "vgg16"} {
		if c, err := ParseArch(s); err == nil {
			t.Errorf("ParseArch(%q) = %+v, want an error", s, c)
		} else if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("ParseArch(%q) error %q does not quote the input", s, err)
		}
	}
}

func TestParsePooling(t *testing.T) {
	for _, p := range []Pooling{PoolAvg, PoolMax, PoolNone} {
		got, err := ParsePooling(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePooling(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if s := Pooling(9).String(); s != "Pooling(9)" {
		t.Errorf("Pooling(9).String() = %q", s)
	}
	for _, s := range []string{"", "AVG", "average", "mean", "max ", "None", "Pooling(9)", "0"} {
		if p, err := ParsePooling(s); err == nil {
			t.Errorf("ParsePooling(%q) = %v, want an error", s, p)
		}
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		shape []int
		want  string
	}{
		{"one channel", []int{2, 1, 64, 64}, "(N, 3, H, W)"},
		{"four channels", []int{2, 4, 64, 64}, "(N, 3, H, W)"},
		{"3-d", []int{3, 64, 64}, "(N, 3, H, W)"},
		{"31 high", []int{2, 3, 31, 64}, "smaller than 32x32"},
		{"16 wide", []int{2, 3, 64, 16}, "smaller than 32x32"},
		{"tiny", []int{1, 3, 1, 1}, "smaller than 32x32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Forward panicked: %v", r)
				}
			}()
			g := layers.NewGraph(layers.Inference, 1)
			x := G.NewTensor(g.G, tensor.Float32, len(c.shape), G.WithShape(c.shape...), G.WithName("x"))
			y, err := e.Forward(g, x)
			if err == nil {
				t.Fatalf("Forward on %v = %v, want an error", c.shape, y.Shape())
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// The smallest accepted input.
	g := layers.NewGraph(layers.Inference, 1)
	x := G.NewTensor(g.G, tensor.Float32, 4, G.WithShape(1, 3, 32, 32), G.WithName("x"))
	y, err := e.Forward(g, x)
	if err != nil {
		t.Fatalf("Forward on 32x32: %v", err)
	}
	if want := (tensor.Shape{1, 64}); !y.Shape().Eq(want) {
		t.Errorf("32x32 output %v, want %v", y.Shape(), want)
	}
}

// Attaching the encoder twice to one Training graph (a Siamese pair) binds
// each parameter once, and the graph runs.
func TestSharedTwiceInOneGraph(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8, NumClasses: 5})
	if err != nil {
		t.Fatal(err)
	}
	fillNamed(e)
	g := layers.NewGraph(layers.Training, 1)
	a := G.NodeFromAny(g.G, inputTensor("a", 2, 3, 32, 32), G.WithName("a"))
	b := G.NodeFromAny(g.G, inputTensor("b", 2, 3, 32, 32), G.WithName("b"))
	ya, err := e.Forward(g, a)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := e.Forward(g, b)
	if err != nil {
		t.Fatal(err)
	}
	learnable := 0
	for _, p := range e.Params() {
		if !p.State {
			learnable++
		}
	}
	nodes, ps := g.Learnables()
	if len(nodes) != learnable || len(ps) != learnable {
		t.Errorf("Learnables: %d nodes, %d params; the encoder has %d learnable params", len(nodes), len(ps), learnable)
	}
	seen := map[*layers.Param]bool{}
	seenNode := map[*G.Node]bool{}
	for i, p := range ps {
		if seen[p] {
			t.Errorf("%s bound twice", p.Name)
		}
		seen[p] = true
		if seenNode[nodes[i]] {
			t.Errorf("node of %s used by two params", p.Name)
		}
		seenNode[nodes[i]] = true
		if e.Param(p.Name) != p {
			t.Errorf("learnable %s is not the encoder's", p.Name)
		}
	}
	// BatchNorm's running statistics are held by its op, not bound as nodes.
	if got := len(g.Params()); got != learnable {
		t.Errorf("graph binds %d params, encoder has %d learnable", got, learnable)
	}
	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if !ya.Shape().Eq(tensor.Shape{2, 5}) || !yb.Shape().Eq(tensor.Shape{2, 5}) {
		t.Errorf("output shapes %v, %v", ya.Shape(), yb.Shape())
	}
}

// Graphs bind parameter values by pointer: a change to a parameter's data
// is seen by a graph built before it.
func TestGraphSharesParamStorage(t *testing.T) {
	e, err := New(Config{Depth: 18, Width: 8, NumClasses: 4})
	if err != nil {
		t.Fatal(err)
	}
	fillNamed(e)
	g := layers.NewGraph(layers.Inference, 1)
	x := G.NodeFromAny(g.G, inputTensor("x", 2, 3, 32, 32), G.WithName("x"))
	y, err := e.Forward(g, x)
	if err != nil {
		t.Fatal(err)
	}
	bound := map[*layers.Param]bool{}
	for _, p := range g.Params() {
		bound[p] = true
	}
	for _, p := range e.Params() {
		if !p.State && !bound[p] {
			t.Errorf("learnable %s is not bound to the graph", p.Name)
		}
	}
	for _, p := range g.Params() {
		n := g.Node(p)
		v, ok := n.Value().(*tensor.Dense)
		if !ok || v != p.Value {
			t.Errorf("%s: node value %p is not the parameter's %p", p.Name, n.Value(), p.Value)
		}
	}
	// Another graph from the same encoder binds the same tensors.
	g2 := layers.NewGraph(layers.Training, 2)
	if _, err := e.Forward(g2, G.NodeFromAny(g2.G, inputTensor("x", 2, 3, 32, 32), G.WithName("x"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range g2.Params() {
		if v, _ := g2.Node(p).Value().(*tensor.Dense); v != p.Value {
			t.Errorf("%s: second graph's node does not hold the parameter's tensor", p.Name)
		}
	}

	vm := G.NewTapeMachine(g.G)
	defer vm.Close()
	runY := func() []float32 {
		t.Helper()
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), y.Value().Data().([]float32)...)
	}
	before := runY()
	for i := range e.Param("fc.bias").Float32s() {
		e.Param("fc.bias").Float32s()[i] += 1
	}
	after := runY()
	for i := range before {
		if d := after[i] - before[i]; d < 0.999 || d > 1.001 {
			t.Errorf("logit %d: %g -> %g after fc.bias += 1, want +1", i, before[i], after[i])
		}
	}
	// A change deep in the network shows too.
	w := e.Param("conv1.weight").Float32s()
	for i := range w {
		w[i] *= -1
	}
	if flipped := runY(); slices.Equal(flipped, after) {
		t.Error("output unchanged after negating conv1.weight")
	}
}
