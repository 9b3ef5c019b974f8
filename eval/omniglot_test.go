package eval

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// The Omniglot files are read from ../../shared/omniglot when present (see
// its README); they are not part of this repository.
const omniglotRuns = "../../shared/omniglot/all_runs.zip"

func pngBytes(t *testing.T, v uint8) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, grey(v)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeRuns is a two-run, 3-way layout in Lake's format: the labels file
// names paths from the folder holding the runs (run01) or from the run
// folder (run02), with CRLF line ends and a blank line.
func fakeRuns(t *testing.T) fstest.MapFS {
	fsys := fstest.MapFS{}
	add := func(name string, v uint8) { fsys[name] = &fstest.MapFile{Data: pngBytes(t, v)} }
	for _, run := range []string{"run01", "run02"} {
		add(run+"/training/class01.png", 10)
		add(run+"/training/class02.png", 100)
		add(run+"/training/class03.png", 200)
		add(run+"/test/item01.png", 190)
		add(run+"/test/item02.png", 15)
		add(run+"/test/item03.png", 90)
	}
	fsys["run01/class_labels.txt"] = &fstest.MapFile{Data: []byte(
		"run01/test/item02.png run01/training/class01.png\n" +
			"run01/test/item01.png run01/training/class03.png\n" +
			"run01/test/item03.png run01/training/class02.png\n")}
	fsys["run02/class_labels.txt"] = &fstest.MapFile{Data: []byte(
		"test/item01.png training/class03.png\r\n\r\n" +
			"test/item02.png training/class02.png\r\n" + // wrong on purpose: item02 (15) looks like class01 (10)
			"test/item03.png training/class01.png\r\n")} // and item03 (90) like class02 (100)
	return fsys
}

func TestLoadRunsFS(t *testing.T) {
	runs, err := LoadOmniglotRunsFS(fakeRuns(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Name != "run01" || runs[1].Name != "run02" {
		t.Fatalf("runs %+v", runs)
	}
	r := runs[0]
	wantTest := []string{"test/item01.png", "test/item02.png", "test/item03.png"}
	wantTrain := []string{"training/class01.png", "training/class02.png", "training/class03.png"}
	if strings.Join(r.TestFiles, " ") != strings.Join(wantTest, " ") || strings.Join(r.TrainFiles, " ") != strings.Join(wantTrain, " ") {
		t.Fatalf("files %v %v", r.TestFiles, r.TrainFiles)
	}
	for i, want := range []int{2, 0, 1} {
		if r.Tasks[i].Answer != want || len(r.Tasks[i].Train) != 3 {
			t.Errorf("task %d: answer %d of %d, want %d of 3", i, r.Tasks[i].Answer, len(r.Tasks[i].Train), want)
		}
	}
	if &r.Tasks[0].Train[0] != &r.Tasks[2].Train[0] {
		t.Error("tasks of a run do not share their training images")
	}
	res, err := EvaluateRuns(&meanScorer{}, runs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs[0].Accuracy != 1 || math.Abs(res.Runs[1].Accuracy-1./3) > 1e-15 {
		t.Errorf("accuracies %v %v, want 1 and 1/3", res.Runs[0].Accuracy, res.Runs[1].Accuracy)
	}
}

// TestLoadRunsFiles reads the same layout from a folder and from a zip
// whose runs sit in an all_runs folder.
func TestLoadRunsFiles(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, f := range fakeRuns(t) {
		p := filepath.Join(dir, "all_runs", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create("all_runs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(dir, "all_runs.zip")
	if err := os.WriteFile(zp, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "all_runs"), zp} {
		runs, err := LoadOmniglotRuns(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(runs) != 2 || len(runs[1].Tasks) != 3 || runs[1].Tasks[0].Answer != 2 {
			t.Errorf("%s: runs %+v", p, runs)
		}
	}
	for _, p := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "all_runs", "run01", "class_labels.txt"), dir + "/all_runs/run01"} {
		if _, err := LoadOmniglotRuns(p); err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("%s: error %v", p, err)
		}
	}
}

func TestLoadRunsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, labels, want string
	}{
		{"one field", "run01/test/item01.png run01/training/class03.png\nrun01/test/item02.png\n", "run01/class_labels.txt:2: want 2 paths"},
		{"three fields", "test/item01.png training/class03.png x\n", "run01/class_labels.txt:1: want 2 paths (test image, training image), got 3 fields"},
		{"duplicate", "\ntest/item01.png training/class03.png\ntest/item01.png training/class01.png\n", "run01/class_labels.txt:3: test image test/item01.png listed twice"},
		{"outside", "../run02/test/item01.png training/class03.png\n", "run01/class_labels.txt:1: test image \"../run02/test/item01.png\" is outside the run folder"},
		{"absolute", "test/item01.png /etc/passwd\n", "run01/class_labels.txt:1: training image \"/etc/passwd\" is outside"},
		{"same file", "test/item01.png test/item01.png\n", "run01/class_labels.txt:1: test and training image are the same file"},
		{"empty", "\n\n", "run01/class_labels.txt: no pairs"},
		{"missing image", "test/item01.png training/class09.png\n", "eval: run01/training/class09.png: file does not exist"},
		{"not an image", "test/item01.png class_labels.txt\n", "eval: run01/class_labels.txt: preprocess: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fakeRuns(t)
			fsys["run01/class_labels.txt"] = &fstest.MapFile{Data: []byte(tc.labels)}
			_, err := LoadOmniglotRunsFS(fsys)
			if err == nil || !strings.HasPrefix(err.Error(), "eval: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadOmniglotRunsFS(fstest.MapFS{"x.txt": {}}); err == nil || !strings.Contains(err.Error(), "no runNN/class_labels.txt") {
		t.Errorf("empty layout: %v", err)
	}
}

// pixelScorer is raw-pixel nearest neighbour: the embedding is the grey
// levels, the score 1 / (1 + squared L2 distance).
type pixelScorer struct{}

func (pixelScorer) Embed(imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		b := img.Bounds()
		e := make([]float32, 0, b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				e = append(e, float32(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)/255)
			}
		}
		out[i] = e
	}
	return out, nil
}

func (pixelScorer) Score(a, b []float32) (float64, error) {
	var d float64
	for i := range a {
		x := float64(a[i]) - float64(b[i])
		d += x * x
	}
	return 1 / (1 + d), nil
}

func TestOmniglotRuns(t *testing.T) {
	if _, err := os.Stat(omniglotRuns); err != nil {
		t.Skipf("Omniglot runs not present (%v): see ../shared/omniglot/README.md beside the repository", err)
	}
	runs, err := LoadOmniglotRuns(omniglotRuns)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 20 {
		t.Fatalf("%d runs, want 20", len(runs))
	}
	for i, r := range runs {
		if want := "run" + string(rune('0'+(i+1)/10)) + string(rune('0'+(i+1)%10)); r.Name != want {
			t.Errorf("run %d is %s, want %s", i, r.Name, want)
		}
		if len(r.Tasks) != 20 || len(r.TrainFiles) != 20 {
			t.Fatalf("%s: %d tasks, %d training images", r.Name, len(r.Tasks), len(r.TrainFiles))
		}
		answers := map[int]bool{}
		for j, task := range r.Tasks {
			if len(task.Train) != 20 || task.Answer < 0 || task.Answer >= 20 {
				t.Fatalf("%s task %d: answer %d of %d", r.Name, j, task.Answer, len(task.Train))
			}
			if b := task.Test.Bounds(); b.Dx() != 105 || b.Dy() != 105 {
				t.Fatalf("%s task %d: test image %v", r.Name, j, b)
			}
			answers[task.Answer] = true
		}
		// Each character is the answer of exactly one test image.
		if len(answers) != 20 {
			t.Errorf("%s: %d distinct answers", r.Name, len(answers))
		}
	}
	if testing.Short() {
		return
	}
	// Raw-pixel nearest neighbour: the omniglot README measured 81.0%
	// error on these files.
	res, err := EvaluateRuns(pixelScorer{}, runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw pixel L2 nearest neighbour:\n%s", res)
	if got := math.Round(1000*res.MeanErrorRate) / 10; got != 81.0 {
		t.Errorf("pixel nearest neighbour error %.1f%%, want 81.0%%", got)
	}
	// The modified Hausdorff distance of Lake's demo script
	// (demo_classification.py): 38.8% error.
	res, err = EvaluateRuns(hausdorffScorer{}, runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("modified Hausdorff distance:\n%s", res)
	if got := math.Round(1000*res.MeanErrorRate) / 10; got != 38.8 {
		t.Errorf("modified Hausdorff error %.1f%%, want 38.8%%", got)
	}
}

// hausdorffScorer is the baseline of Lake's demo script: an image's
// embedding is its ink pixels' (row, column) coordinates minus their mean,
// and a pair scores 1 / (1 + modified Hausdorff distance), the larger of
// the two mean distances from a point to the nearest point of the other
// image.
type hausdorffScorer struct{}

func (hausdorffScorer) Embed(imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		b := img.Bounds()
		var pts []float64
		var mr, mc float64
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 { // ink is black
					pts = append(pts, float64(y), float64(x))
					mr += float64(y)
					mc += float64(x)
				}
			}
		}
		n := float64(len(pts) / 2)
		e := make([]float32, len(pts))
		for j := 0; j < len(pts); j += 2 {
			e[j], e[j+1] = float32(pts[j]-mr/n), float32(pts[j+1]-mc/n)
		}
		out[i] = e
	}
	return out, nil
}

func (hausdorffScorer) Score(a, b []float32) (float64, error) {
	return 1 / (1 + math.Max(meanMinDist(a, b), meanMinDist(b, a))), nil
}

// meanMinDist is the mean over a's points of the distance to the nearest
// point of b. Points come in row order (Embed scans rows), so the
// search goes outwards from a's row in b and stops when the row gap alone
// exceeds the best distance.
func meanMinDist(a, b []float32) float64 {
	n := len(b) / 2
	var sum float64
	for i := 0; i < len(a); i += 2 {
		r, c := float64(a[i]), float64(a[i+1])
		start := sort.Search(n, func(j int) bool { return float64(b[2*j]) >= r })
		best := math.Inf(1)
		for j := start; j < n; j++ {
			dr := float64(b[2*j]) - r
			if dr*dr >= best {
				break
			}
			dc := float64(b[2*j+1]) - c
			best = math.Min(best, dr*dr+dc*dc)
		}
		for j := start - 1; j >= 0; j-- {
			dr := r - float64(b[2*j])
			if dr*dr >= best {
				break
			}
			dc := float64(b[2*j+1]) - c
			best = math.Min(best, dr*dr+dc*dc)
		}
		sum += math.Sqrt(best)
	}
	return sum / float64(len(a)/2)
}
