package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// tiny is the small model and short run every smoke test trains.
var tiny = []string{"-recipe", "original", "-arch", "resnet18", "-width", "8", "-size", "32", "-hidden", "16", "-epochs", "1", "-steps", "2", "-batch", "4", "-valpairs", "8", "-workers", "2"}

func args(extra ...string) []string { return append(slices.Clone(tiny), extra...) }

// pattern draws image k of class c: stripes whose angle and colour are the
// class's, shifted by k.
func pattern(c, k, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	angle := float64(c) * math.Pi / 5
	for y := range size {
		for x := range size {
			v := math.Sin(0.6*(float64(x)*math.Cos(angle)+float64(y)*math.Sin(angle)) + float64(k))
			g := uint8(128 + 100*v)
			img.SetNRGBA(x, y, color.NRGBA{g, uint8(50 * c), 255 - g, 255})
		}
	}
	return img
}

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// classFolder writes classes x perClass PNGs, one sub-folder per class.
func classFolder(t *testing.T, classes, perClass int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	for c := range classes {
		for k := range perClass {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("class%d", c), fmt.Sprintf("%02d.png", k)), pngBytes(t, pattern(c, k, 40)))
		}
	}
	return dir
}

// runOK runs the program and fails the test unless it exits 0.
func runOK(t *testing.T, a ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if rc := run(a, &out, &errOut); rc != 0 {
		t.Fatalf("train %s: exit %d\nstderr:\n%s", strings.Join(a, " "), rc, errOut.String())
	}
	return out.String(), errOut.String()
}

// logRows reads log.csv without its header.
func logRows(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0][0] != "epoch" {
		t.Fatalf("log.csv has no header: %v", rows)
	}
	return rows[1:]
}

// TestTrainFolder trains on a class folder holding a corrupt file (skipped
// with a warning) and checks the report against the files written.
func TestTrainFolder(t *testing.T) {
	images := classFolder(t, 4, 3)
	writeFile(t, filepath.Join(images, "class1", "bad.png"), []byte("not a png"))
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, args("-folder", images, "-val", "0.5", "-out", out, "-invert", "-norm", "unit")...)

	if !strings.Contains(stderr, "skipped 1 unreadable images") || !strings.Contains(stderr, "bad.png") {
		t.Errorf("no warning about bad.png on stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "epoch 1  step 2") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	for _, f := range []string{"best.safetensors", "last.safetensors", "log.csv", "curves.png", "roc.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	rows := logRows(t, out)
	if len(rows) != 1 || rows[0][0] != "1" || rows[0][1] != "2" || rows[0][2] != "8" {
		t.Errorf("log rows %v, want one epoch of 2 steps and 8 pairs", rows)
	}
	m, err := siamese.Load(filepath.Join(out, "best.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	if c.Encoder.Depth != 18 || c.Encoder.Width != 8 || c.Input.Size != 32 || c.Input.Channels != 3 || !slices.Equal(c.Hidden, []int{16}) ||
		!c.Input.Invert || c.Input.Norm != preprocess.UnitRange {
		t.Errorf("saved model config %+v does not follow the flags", c)
	}
	if !strings.Contains(stdout+stderr, "inverted unit input") {
		t.Errorf("the model line does not say the input is inverted:\n%s", stdout+stderr)
	}
	if !strings.Contains(m.Info()["data"], "12 images in 4 classes") {
		t.Errorf("model info %v", m.Info())
	}

	// The report: best epoch's metrics as logged, the model's threshold.
	re := regexp.MustCompile(`best epoch 1: validation accuracy ([0-9.]+) \(at threshold 0.5\), AUC ([0-9.]+), EER ([0-9.]+)`)
	g := re.FindStringSubmatch(stdout)
	if g == nil {
		t.Fatalf("no best-epoch line in\n%s", stdout)
	}
	for i, col := range []int{5, 6, 7} { // val_accuracy, val_auc, val_eer
		want, _ := strconv.ParseFloat(rows[0][col], 64)
		if got, _ := strconv.ParseFloat(g[i+1], 64); math.Abs(got-want) > 5e-5 {
			t.Errorf("report says %s = %v, log.csv %v", []string{"accuracy", "AUC", "EER"}[i], got, want)
		}
	}
	thr := regexp.MustCompile(`calibrated threshold ([0-9.]+)`).FindStringSubmatch(stdout)
	if thr == nil {
		t.Fatalf("no threshold in\n%s", stdout)
	}
	if got, _ := strconv.ParseFloat(thr[1], 64); math.Abs(got-m.Threshold()) > 5e-5 || m.Threshold() == 0.5 {
		t.Errorf("report's threshold %v, model's %v (want a calibrated one)", got, m.Threshold())
	}
	for _, want := range []string{filepath.Join(out, "best.safetensors"), filepath.Join(out, "roc.png"), filepath.Join(out, "curves.png")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report does not name %s:\n%s", want, stdout)
		}
	}

	// A second run into the same folder would overwrite the checkpoint.
	var o, e bytes.Buffer
	if rc := run(args("-folder", images, "-val", "0.5", "-out", out), &o, &e); rc != 1 || !strings.Contains(e.String(), "-resume") || !strings.Contains(e.String(), "-force") {
		t.Errorf("rerun into %s: exit %d, stderr %q; want 1 and hints to -resume and -force", out, rc, e.String())
	}
	// -force replaces it: a new run, trained afresh with another seed.
	before, _ := os.ReadFile(filepath.Join(out, "best.safetensors"))
	e.Reset()
	if rc := run(args("-folder", images, "-val", "0.5", "-out", out, "-seed", "7", "-force"), &o, &e); rc != 0 {
		t.Fatalf("-force: exit %d: %s", rc, e.String())
	}
	if after, _ := os.ReadFile(filepath.Join(out, "best.safetensors")); bytes.Equal(before, after) {
		t.Error("-force left best.safetensors as it was")
	}
	if rows := logRows(t, out); len(rows) != 1 {
		t.Errorf("log after -force: %v, want the new run's one epoch", rows)
	}
}

// interruptAtOnce makes the program's runs see Ctrl-C before their first
// step, until the test ends or interruptContext is set back to the value
// it returns.
func interruptAtOnce(t *testing.T) (saved func() (context.Context, context.CancelFunc)) {
	saved = interruptContext
	t.Cleanup(func() { interruptContext = saved })
	interruptContext = func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	return saved
}

// sameModels fails unless the model files of an uninterrupted and a
// resumed run hold the same values.
func sameModels(t *testing.T, uninterrupted, resumed string) {
	t.Helper()
	a, err := siamese.Load(uninterrupted)
	if err != nil {
		t.Fatal(err)
	}
	b, err := siamese.Load(resumed)
	if err != nil {
		t.Fatal(err)
	}
	pb := b.Network().Params()
	for i, p := range a.Network().Params() {
		if !slices.Equal(p.Float32s(), pb[i].Float32s()) {
			t.Fatalf("%s differs between the uninterrupted and the resumed run", p.Name)
		}
	}
}

// TestTrainInterruptResume interrupts a run before its first step, resumes
// it with -out and -resume alone, and compares it with an uninterrupted
// run: the flags must come back from the checkpoint, augmentation and
// seed included.
func TestTrainInterruptResume(t *testing.T) {
	images := classFolder(t, 4, 3)
	flags := args("-folder", images, "-val", "0.5", "-epochs", "2", "-steps", "1", "-augment", "-seed", "7")
	dir := t.TempDir()
	full, part := filepath.Join(dir, "full"), filepath.Join(dir, "part")
	runOK(t, append(flags, "-out", full)...)

	saved := interruptAtOnce(t)
	var out, errOut bytes.Buffer
	rc := run(append(flags, "-out", part), &out, &errOut)
	interruptContext = saved
	if rc != exitInterrupted || !strings.Contains(errOut.String(), "resume with: train -out "+part+" -resume") {
		t.Fatalf("interrupted run: exit %d, stderr:\n%s", rc, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(part, "last.safetensors")); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}

	// Changing a setting on resume is refused.
	out.Reset()
	errOut.Reset()
	if rc := run([]string{"-out", part, "-resume", "-steps", "3"}, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "-steps 3 differs") {
		t.Errorf("resume with another -steps: exit %d, stderr %q", rc, errOut.String())
	}

	stdout, _ := runOK(t, "-out", part, "-resume", "-workers", "1")
	if !strings.Contains(stdout, "trained 2 epochs: 2 steps, 8 pairs") {
		t.Errorf("resumed report:\n%s", stdout)
	}
	sameModels(t, filepath.Join(full, "last.safetensors"), filepath.Join(part, "last.safetensors"))
	if ra, rb := logRows(t, full), logRows(t, part); len(ra) != 2 || len(rb) != 2 || ra[1][6] != rb[1][6] {
		t.Errorf("logs differ: %v vs %v", ra, rb)
	}
}

// omniglotZip writes a zip of alphabet/character/image PNGs under top/.
func omniglotZip(t *testing.T, path, top string, classes map[string]int) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for class, c := range classes {
		for k := range 3 {
			w, err := zw.Create(fmt.Sprintf("%s/%s/%04d_%02d.png", top, class, c, k+1))
			if err != nil {
				t.Fatal(err)
			}
			g, src := image.NewGray(image.Rect(0, 0, 40, 40)), pattern(c, k, 40)
			for i := range g.Pix {
				g.Pix[i] = src.Pix[4*i]
			}
			w.Write(pngBytes(t, g))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.Bytes())
}

// TestTrainOmniglotCombined combines two archives that share an alphabet,
// as Omniglot's two small background sets share Greek and Latin.
func TestTrainOmniglotCombined(t *testing.T) {
	dir := t.TempDir()
	z1, z2 := filepath.Join(dir, "bg1.zip"), filepath.Join(dir, "bg2.zip")
	omniglotZip(t, z1, "bg1", map[string]int{"Alpha/character01": 0, "Alpha/character02": 1, "Beta/character01": 2})
	omniglotZip(t, z2, "bg2", map[string]int{"Beta/character01": 2, "Gamma/character01": 3, "Gamma/character02": 4})

	d1, _, err := data.Omniglot(z1)
	if err != nil {
		t.Fatal(err)
	}
	d2, _, err := data.Omniglot(z2)
	if err != nil {
		t.Fatal(err)
	}
	u, v := data.NewUnion(d1, d2), data.NewUnion(d2, d1)
	if u.Len() != 15 || u.NumClasses() != 5 || u.Dropped() != 3 {
		t.Fatalf("union: %d images, %d classes, %d dropped; want 15, 5, 3", u.Len(), u.NumClasses(), u.Dropped())
	}
	for i := range u.Len() {
		if u.ClassName(u.Class(i)) != v.ClassName(v.Class(i)) || filepath.Base(u.Name(i)) != filepath.Base(v.Name(i)) {
			t.Fatalf("image %d: %s (%s) in one order, %s (%s) in the other", i, u.Name(i), u.ClassName(u.Class(i)), v.Name(i), v.ClassName(v.Class(i)))
		}
		if _, err := u.Image(i); err != nil {
			t.Fatal(err)
		}
	}
	if u.ClassName(2) != "Beta/character01" || u.Class(6) != 2 || u.Class(9) != 3 {
		t.Errorf("class names %q, classes of images 6 and 9: %d, %d", u.ClassName(2), u.Class(6), u.Class(9))
	}
	if _, err := u.Image(15); err == nil {
		t.Error("image 15 of 15: no error")
	}

	for _, sources := range [][]string{{"-omniglot", z1 + "," + z2}, {"-omniglot", z1, "-omniglot", z2}} {
		out := filepath.Join(t.TempDir(), "run")
		_, stderr := runOK(t, args(append(sources, "-channels", "1", "-val", "0.4", "-augment", "-out", out)...)...)
		if !strings.Contains(stderr, "15 images in 5 classes (3 images present in more than one source kept once)") ||
			!strings.Contains(stderr, "holdout classes:") {
			t.Errorf("%v: stderr:\n%s", sources, stderr)
		}
		m, err := siamese.ReadHeader(filepath.Join(out, "best.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Input.Channels != 1 {
			t.Errorf("model has %d channels, want 1", m.Config.Input.Channels)
		}
	}
}

// idxFile writes an IDX file, gzipped.
func idxFile(t *testing.T, path string, magic uint32, dims []uint32, payload []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	binary.Write(zw, binary.BigEndian, magic)
	binary.Write(zw, binary.BigEndian, dims)
	zw.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.Bytes())
}

func TestTrainMNIST(t *testing.T) {
	dir := t.TempDir()
	var pix, labels []byte
	for c := range 4 {
		for k := range 4 {
			img := pattern(c, k, 28)
			for i := range 28 * 28 {
				pix = append(pix, img.Pix[4*i])
			}
			labels = append(labels, byte(c))
		}
	}
	idxFile(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), 0x803, []uint32{16, 28, 28}, pix)
	idxFile(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), 0x801, []uint32{16}, labels)
	_, stderr := runOK(t, args("-mnist", dir, "-channels", "1", "-val", "0.5", "-out", filepath.Join(t.TempDir(), "run"))...)
	if !strings.Contains(stderr, "16 images in 4 classes") || !strings.Contains(stderr, "8 training images in 2 classes") {
		t.Errorf("stderr:\n%s", stderr)
	}

	// The epoch's length from -epochpairs (9 pairs: 3 steps of 4) or
	// from the data (16 images, 8 for training: 2 steps).
	for _, c := range []struct {
		flag  []string
		steps string
	}{{[]string{"-epochpairs", "9"}, "3"}, {nil, "2"}} {
		out := filepath.Join(t.TempDir(), "run")
		runOK(t, args(append([]string{"-mnist", dir, "-channels", "1", "-val", "0.5", "-steps", "0", "-out", out}, c.flag...)...)...)
		if rows := logRows(t, out); len(rows) != 1 || rows[0][1] != c.steps {
			t.Errorf("%v: log %v, want one epoch of %s steps", c.flag, rows, c.steps)
		}
	}
}

// TestTrainGoMNIST trains on the MNIST copy in the module cache, if there.
func TestTrainGoMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 60,000 images")
	}
	if _, err := data.FindGoMNIST(); err != nil {
		t.Skip(err)
	}
	_, stderr := runOK(t, args("-mnist", "gomnist", "-channels", "1", "-out", filepath.Join(t.TempDir(), "run"))...)
	if !strings.Contains(stderr, "60000 images in 10 classes") || !strings.Contains(stderr, "holdout classes: 47884 images of 8 classes for training") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestTrainWeightsFrozen starts from pretrained encoder weights with the
// whole encoder frozen: the trained model's encoder must be those weights,
// unchanged, and its head must have moved.
func TestTrainWeightsFrozen(t *testing.T) {
	enc, err := resnet.New(resnet.Config{Depth: 18, Width: 8, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "encoder.safetensors")
	if err := enc.SaveFile(weights); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	runOK(t, args("-folder", classFolder(t, 4, 3), "-val", "0.5", "-weights", weights, "-frozen", "5", "-lr", "0.01", "-out", out)...)
	m, err := siamese.Load(filepath.Join(out, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config().FrozenStages != 5 {
		t.Errorf("frozen stages %d, want 5", m.Config().FrozenStages)
	}
	want := enc.Params()
	for i, p := range m.Network().Encoder(0).Params() {
		if p.Name != want[i].Name || !slices.Equal(p.Float32s(), want[i].Float32s()) {
			t.Fatalf("encoder parameter %s differs from the -weights file's %s", p.Name, want[i].Name)
		}
	}
	fresh, err := siamese.New(m.Config())
	if err != nil {
		t.Fatal(err)
	}
	var moved bool
	fp := fresh.Network().Params()
	for i, p := range m.Network().Params() {
		if strings.HasPrefix(p.Name, "head.") && !slices.Equal(p.Float32s(), fp[i].Float32s()) {
			moved = true
		}
	}
	if !moved {
		t.Error("the head did not train")
	}
}

func TestTrainPairsCSV(t *testing.T) {
	dir := t.TempDir()
	for c := range 3 {
		for k := range 3 {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("c%d_%d.png", c, k)), pngBytes(t, pattern(c, k, 36)))
		}
	}
	csvText := "path_a,path_b,same\n"
	for c := range 3 {
		csvText += fmt.Sprintf("c%d_0.png,c%d_1.png,1\nc%d_1.png,c%d_2.png,true\n", c, c, c, c)
		csvText += fmt.Sprintf("c%d_0.png,c%d_0.png,0\nc%d_2.png,c%d_1.png,false\n", c, (c+1)%3, c, (c+2)%3)
	}
	pairsCSV := filepath.Join(dir, "pairs.csv")
	writeFile(t, pairsCSV, []byte(csvText))
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, args("-pairs", pairsCSV, "-out", out)...)
	if !strings.Contains(stderr, "12 pairs of 9 images") || !strings.Contains(stderr, "10 training pairs, 2 validation pairs") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "calibrated threshold") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// TestTrainNoArguments: train alone prints its usage, not an error about
// a file named "".
func TestTrainNoArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run(nil, &out, &errOut); rc != exitUsage {
		t.Errorf("exit %d, want %d", rc, exitUsage)
	}
	if e := errOut.String(); !strings.Contains(e, "usage: train (-folder DIR") || !strings.Contains(e, "  -folder dir") || strings.Contains(e, "no such file") {
		t.Errorf("stderr does not show the usage:\n%s", e)
	}
}

func TestTrainHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run([]string{"-h"}, &out, &errOut); rc != 0 {
		t.Fatalf("-h: exit %d", rc)
	}
	var o options
	newFlagSet(&o, &bytes.Buffer{}).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(errOut.String(), "  -"+f.Name) || f.Usage == "" {
			t.Errorf("-h does not explain -%s", f.Name)
		}
	})
	if !strings.Contains(errOut.String(), "usage: train") {
		t.Errorf("help:\n%s", errOut.String())
	}
}

func TestTrainErrors(t *testing.T) {
	images := classFolder(t, 4, 3)
	corrupt := classFolder(t, 4, 3)
	writeFile(t, filepath.Join(corrupt, "class2", "broken.png"), []byte("\x89PNG garbage"))
	dir := t.TempDir()
	badZip := filepath.Join(dir, "bad.zip")
	writeFile(t, badZip, []byte("not a zip"))
	badCSV := filepath.Join(dir, "bad.csv")
	writeFile(t, badCSV, []byte("path_a,path_b,same\nmissing.png,other.png,1\n"))
	out := func() string { return filepath.Join(t.TempDir(), "run") }
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-bogus"}, 2, "bogus"},
		{nil, 2, "no data: give one of -folder"},
		{[]string{"-out", out()}, 2, "no data: give one of -folder"},
		{[]string{"-folder", images, "-omniglot", badZip}, 2, "exactly one of"},
		{args("-folder", images, "-workers", "-1"), 2, "-workers -1"},
		{[]string{"-folder", images, "-workers", "-1"}, 2, "-workers -1"},
		{[]string{"-recipe", "oneshot", "-out", dir, "-resume"}, 2, "its data flag"},
		{args(), 2, "no data"},
		{args("-folder", images, "-force", "-resume"), 2, "give one"},
		{args("-folder", images, "-mnist", dir), 2, "exactly one of"},
		{args("-folder", images, "extra"), 2, `unexpected argument "extra"`},
		{args("-folder", images, "-arch", "resnet19"), 2, "resnet19"},
		{args("-folder", images, "-hidden", "16,x"), 2, "-hidden"},
		{args("-folder", images, "-frozen", "6"), 2, "frozen stages 6"},
		{args("-folder", images, "-channels", "2"), 2, "channels"},
		{args("-folder", images, "-val", "1"), 2, "-val 1"},
		{args("-folder", images, "-val", "0"), 2, "-val 0"},
		{args("-folder", images, "-epochpairs", "8"), 2, "not both"},
		{args("-folder", images, "-optimizer", "rmsprop"), 2, "rmsprop"},
		{args("-folder", images, "-schedule", "linear"), 2, "linear"},
		{args("-folder", images, "-distance", "l3"), 2, "l3"},
		{args("-folder", filepath.Join(dir, "missing"), "-out", out()), 1, filepath.Join(dir, "missing")},
		{args("-folder", corrupt, "-strict", "-out", out()), 1, "broken.png"},
		{args("-folder", classFolder(t, 3, 3), "-val", "0.2", "-out", out()), 1, "at least 2"},
		{args("-folder", images, "-val", "0.5", "-weights", filepath.Join(dir, "none.safetensors"), "-out", out()), 1, "none.safetensors"},
		{args("-folder", images, "-weights", modeltest.Siamese(t, dir, 0)), 2, "is a Siamese model file"},
		{args("-omniglot", badZip, "-out", out()), 1, "bad.zip"},
		{args("-mnist", dir, "-out", out()), 1, "train-images-idx3-ubyte"},
		{args("-pairs", filepath.Join(dir, "none.csv"), "-out", out()), 1, "none.csv"},
		{args("-pairs", badCSV, "-out", out()), 1, "missing.png"},
		{[]string{"-out", dir, "-resume"}, 1, filepath.Join(dir, "last.safetensors")},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		rc := run(c.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		last := lines[len(lines)-1] // after the data and model lines
		if c.rc == 2 {
			last = lines[0] // before the usage, if any
		}
		if rc != c.rc || !strings.Contains(last, c.want) || strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine 1 [") || stdout.Len() > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and a line with %q", c.args, rc, stderr.String(), c.rc, c.want)
		}
	}
}

// TestTrainRecipe trains by the default recipe (ResNet-50) at a tiny
// budget, and refuses the flags of -recipe original next to it.
func TestTrainRecipe(t *testing.T) {
	images := classFolder(t, 6, 3)
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, "-folder", images, "-val", "0.34", "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-valpairs", "8", "-out", out)
	if !strings.Contains(stderr, "recipe oneshot:") || !strings.Contains(stderr, "pretraining epoch 1") || !strings.Contains(stdout, "pretraining: 64 images; best 2-way one-shot accuracy on validation (10 images of 6 classes, 2 held out whole)") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, f := range []string{"pretrain.safetensors", "pretrain-log.csv", "best.safetensors", "log.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	m, err := siamese.Load(filepath.Join(out, "best.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Encoder.Depth != 50 || c.Distance != siamese.Cosine || c.Input.Channels != 1 || m.Info()["recipe"] != "oneshot" {
		t.Errorf("config %+v, info %v", c, m.Info())
	}
	// Interrupted before its first step, the run prints the command that
	// continues it, refuses to be started over, and resumed ends where the
	// uninterrupted run did.
	saved := interruptAtOnce(t)
	part := filepath.Join(filepath.Dir(out), "part")
	flags := []string{"-folder", images, "-val", "0.34", "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-valpairs", "8", "-out", part}
	var so, se bytes.Buffer
	rc := run(flags, &so, &se)
	interruptContext = saved
	_, resume, found := strings.Cut(se.String(), "resume with: ")
	if rc != exitInterrupted || !found {
		t.Fatalf("interrupted run: exit %d, stderr:\n%s", rc, se.String())
	}
	resume, _, _ = strings.Cut(resume, "\n")
	words := strings.Fields(resume)
	if len(words) < 2 || words[0] != "train" || words[len(words)-1] != "-resume" {
		t.Fatalf("resume command %q", resume)
	}
	se.Reset()
	if rc := run(flags, &so, &se); rc != exitFail || !strings.Contains(se.String(), "holds an unfinished run") {
		t.Errorf("a new run over the interrupted one: exit %d, stderr %q", rc, se.String())
	}
	runOK(t, words[1:]...)
	sameModels(t, filepath.Join(out, "best.safetensors"), filepath.Join(part, "best.safetensors"))

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-folder", images, "-hidden", "8", "-lr", "0.1"}, "-hidden, -lr: only with -recipe original"},
		{[]string{"-pairs", "x.csv"}, "needs classes"},
		{[]string{"-folder", images, "-recipe", "best"}, `no recipe "best"`},
	} {
		var so, se bytes.Buffer
		if rc := run(c.args, &so, &se); rc != exitUsage || !strings.Contains(se.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, se.String(), exitUsage, c.want)
		}
	}
}

// TestTrainRecipeTriplet trains oneshot-triplet with another metric loss
// at a tiny budget: the metric stage runs and writes its files, and the
// held-out retrieval is printed. Metric flags on a recipe without the
// stage, and an unknown loss, are refused.
func TestTrainRecipeTriplet(t *testing.T) {
	images := classFolder(t, 6, 3)
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, "-folder", images, "-val", "0.34", "-recipe", "oneshot-triplet", "-metric-loss", "contrastive", "-metric-epochs", "1", "-metric-steps", "1", "-pair-epochs", "1", "-valpairs", "8", "-out", out)
	if !strings.Contains(stderr, "metric learning epoch 1") || !strings.Contains(stdout, "metric learning (contrastive): 64 images; best 2-way one-shot accuracy on validation (10 images of 6 classes, 2 held out whole)") ||
		!strings.Contains(stdout, "retrieval on 10 held-out images: recall@1 ") || !strings.Contains(stdout, "MAP@R") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, f := range []string{"metric.safetensors", "metric-log.csv", "metric-last.safetensors", "best.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-folder", images, "-metric-loss", "triplet-all"}, `recipe "oneshot" has no metric learning stage`},
		{[]string{"-folder", images, "-recipe", "oneshot-triplet", "-metric-loss", "quadruplet"}, `unknown metric loss "quadruplet"`},
		{[]string{"-folder", images, "-recipe", "oneshot-triplet", "-metric-margin", "-1"}, "must not be negative"},
	} {
		var so, se bytes.Buffer
		if rc := run(c.args, &so, &se); rc != exitUsage || !strings.Contains(se.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, se.String(), exitUsage, c.want)
		}
	}
}

// ppmBytes encodes img as a binary PPM (P6), or, grey, as a binary PGM (P5).
func ppmBytes(img *image.NRGBA, grey bool) []byte {
	b := img.Bounds()
	magic, channels := "P6", 3
	if grey {
		magic, channels = "P5", 1
	}
	out := []byte(fmt.Sprintf("%s\n%d %d\n255\n", magic, b.Dx(), b.Dy()))
	for i := 0; i < len(img.Pix); i += 4 {
		out = append(out, img.Pix[i:i+channels]...)
	}
	return out
}

// TestTrainFolderNetpbm trains on class folders of PGM and PPM files, the
// form many face sets come in.
func TestTrainFolderNetpbm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "faces")
	for c := range 4 {
		for k := range 3 {
			ext := []string{".pgm", ".ppm", ".PGM"}[k]
			writeFile(t, filepath.Join(dir, fmt.Sprintf("s%d", c+1), fmt.Sprintf("%d%s", k+1, ext)), ppmBytes(pattern(c, k, 40), ext != ".ppm"))
		}
	}
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, args("-folder", dir, "-val", "0.5", "-channels", "1", "-out", out)...)
	if !strings.Contains(stderr, "12 images in 4 classes") || strings.Contains(stderr, "skipped") {
		t.Errorf("the PGM and PPM files were not all read:\n%s", stderr)
	}
	if !strings.Contains(stdout, "best epoch 1") {
		t.Errorf("no report:\n%s", stdout)
	}
}

// TestTrainTestFolder scores the trained model on a class folder of its
// own after training: every pair of its images and one-shot tasks.
func TestTrainTestFolder(t *testing.T) {
	images := classFolder(t, 6, 3)
	test := classFolder(t, 3, 3)
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr := runOK(t, "-folder", images, "-test", test, "-val", "0.34", "-pretrain-epochs", "1", "-pretrain-steps", "1", "-pair-epochs", "1", "-valpairs", "8", "-out", out)
	for _, want := range []string{"test " + test + ": 9 images of 3 classes, 36 pairs (9 same, 27 different)", "test: AUC ", "at the saved threshold", "(same pairs ", "test: 3-way one-shot accuracy "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
	var o, e bytes.Buffer
	if rc := run([]string{"-folder", images, "-test", filepath.Join(test, "nothing"), "-out", filepath.Join(t.TempDir(), "x")}, &o, &e); rc != exitUsage || !strings.Contains(e.String(), "-test") {
		t.Errorf("missing -test folder: exit %d, stderr %q", rc, e.String())
	}
}
