package eval

import (
	"errors"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

// meanScorer embeds an image as its mean grey level and scores a pair by
// 1 / (1 + |difference|): images of closer brightness are more alike.
type meanScorer struct {
	calls, images int
	embedErr      error
	nan           bool
}

func (m *meanScorer) Embed(imgs []image.Image) ([][]float32, error) {
	m.calls++
	m.images += len(imgs)
	if m.embedErr != nil {
		return nil, m.embedErr
	}
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		b := img.Bounds()
		var sum float64
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
		}
		out[i] = []float32{float32(sum / float64(b.Dx()*b.Dy()))}
	}
	return out, nil
}

func (m *meanScorer) Score(a, b []float32) (float64, error) {
	if m.nan {
		return math.NaN(), nil
	}
	return 1 / (1 + math.Abs(float64(a[0])-float64(b[0]))), nil
}

func grey(v uint8) image.Image {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestOneShot(t *testing.T) {
	train := []image.Image{grey(10), grey(200), grey(105), grey(90)}
	tasks := []Task{
		{Test: grey(100), Train: train, Answer: 2}, // 105 is nearest: right
		{Test: grey(12), Train: train, Answer: 0},  // right
		{Test: grey(180), Train: train, Answer: 3}, // predicts 1: wrong
		{Test: grey(97), Train: train, Answer: 2},  // 90 and 105 are 7 and 8 away: predicts 3, wrong
	}
	s := &meanScorer{}
	r, err := OneShot(s, tasks)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{2, 0, 1, 3}
	for i := range want {
		if r.Predicted[i] != want[i] || r.Correct[i] != (want[i] == tasks[i].Answer) {
			t.Errorf("task %d: predicted %d (correct %v), want %d", i, r.Predicted[i], r.Correct[i], want[i])
		}
	}
	if r.Accuracy != 0.5 {
		t.Errorf("accuracy %v, want 0.5", r.Accuracy)
	}
	// The shared training images are embedded once, in one call.
	if s.calls != 1 || s.images != 4+4 {
		t.Errorf("%d EmbedBatch calls embedding %d images, want 1 and 8", s.calls, s.images)
	}
}

func TestOneShotTies(t *testing.T) {
	// Training images 1 and 3 are equally near (and distinct values):
	// the lowest index wins.
	tasks := []Task{{Test: grey(50), Train: []image.Image{grey(0), grey(60), grey(200), grey(60)}, Answer: 3}}
	r, err := OneShot(&meanScorer{}, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if r.Predicted[0] != 1 || r.Correct[0] || r.Accuracy != 0 {
		t.Errorf("got %+v, want prediction 1, wrong", r)
	}
}

// unhashable is an image type that cannot be a map key.
type unhashable struct {
	image.Image
	_ []int
}

func TestOneShotUnhashableImages(t *testing.T) {
	a := unhashable{Image: grey(10)}
	tasks := []Task{{Test: unhashable{Image: grey(12)}, Train: []image.Image{grey(100), a, a}, Answer: 1}}
	r, err := OneShot(&meanScorer{}, tasks)
	if err != nil || r.Predicted[0] != 1 {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestOneShotErrors(t *testing.T) {
	train := []image.Image{grey(1), grey(2)}
	var nilImg *image.Gray
	for _, tc := range []struct {
		name  string
		s     Scorer
		tasks []Task
		want  string
	}{
		{"nil scorer", nil, []Task{{Test: grey(1), Train: train}}, "nil Scorer"},
		{"no tasks", &meanScorer{}, nil, "no tasks"},
		{"no test", &meanScorer{}, []Task{{Train: train}}, "task 0: no test image"},
		{"nil pointer test", &meanScorer{}, []Task{{Test: nilImg, Train: train}}, "task 0: no test image"},
		{"no train", &meanScorer{}, []Task{{Test: grey(1)}}, "task 0: no training images"},
		{"nil train", &meanScorer{}, []Task{{Test: grey(1), Train: []image.Image{grey(1), nil}}}, "task 0: training image 1 is nil"},
		{"answer", &meanScorer{}, []Task{{Test: grey(1), Train: train}, {Test: grey(1), Train: train, Answer: 2}}, "task 1: answer 2 outside [0, 2)"},
		{"negative answer", &meanScorer{}, []Task{{Test: grey(1), Train: train, Answer: -1}}, "answer -1"},
		{"embed error", &meanScorer{embedErr: errors.New("siamese: boom")}, []Task{{Test: grey(1), Train: train}}, "eval: embed: siamese: boom"},
		{"NaN", &meanScorer{nan: true}, []Task{{Test: grey(1), Train: train}}, "task 0, training image 0: score is NaN"},
	} {
		_, err := OneShot(tc.s, tc.tasks)
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestEvaluateRuns(t *testing.T) {
	train := []image.Image{grey(10), grey(200), grey(105), grey(90)}
	runs := []Run{
		{Name: "run01", Tasks: []Task{
			{Test: grey(100), Train: train, Answer: 2},
			{Test: grey(12), Train: train, Answer: 0},
		}},
		{Name: "run02", Tasks: []Task{
			{Test: grey(100), Train: train, Answer: 2},
			{Test: grey(180), Train: train, Answer: 3},
			{Test: grey(190), Train: train, Answer: 3},
			{Test: grey(11), Train: train, Answer: 0},
		}},
	}
	s := &meanScorer{}
	r, err := EvaluateRuns(s, runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 2 || r.Runs[0].Accuracy != 1 || r.Runs[1].Accuracy != 0.5 || r.Runs[1].ErrorRate != 0.5 || r.Runs[0].Name != "run01" {
		t.Fatalf("runs %+v", r.Runs)
	}
	// The mean of the runs' rates, not of all tasks (4/6).
	if r.MeanAccuracy != 0.75 || r.MeanErrorRate != 0.25 {
		t.Errorf("means %v %v, want 0.75 0.25", r.MeanAccuracy, r.MeanErrorRate)
	}
	if s.calls != 2 || s.images != 6+8 {
		t.Errorf("%d calls, %d images; want 2 and 14", s.calls, s.images)
	}
	want := " run 01 (error 0.0%)\n run 02 (error 50.0%)\naverage error 25.0%\n"
	if r.String() != want {
		t.Errorf("String() = %q, want %q", r.String(), want)
	}
	runs[1].Tasks[1].Answer = 9
	if _, err := EvaluateRuns(s, runs); err == nil || !strings.Contains(err.Error(), "eval: run run02: task 1: answer 9") {
		t.Errorf("error %v", err)
	}
	if _, err := EvaluateRuns(s, nil); err == nil {
		t.Error("no error for no runs")
	}
}

func square(c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			if x > 12 && x < 36 && y > 12 && y < 36 {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

func clone(img *image.NRGBA) *image.NRGBA {
	c := *img
	c.Pix = append([]uint8(nil), img.Pix...)
	return &c
}

// labelled is a Labelled of grey images: image i has class classes[i]
// and grey level i, and counts its decodes.
type labelled struct {
	classes []int
	decodes map[int]int
}

func (l *labelled) Len() int        { return len(l.classes) }
func (l *labelled) Class(i int) int { return l.classes[i] }
func (l *labelled) Image(i int) (image.Image, error) {
	if l.decodes == nil {
		l.decodes = map[int]int{}
	}
	l.decodes[i]++
	return grey(uint8(i)), nil
}

func TestEpisodes(t *testing.T) {
	src := &labelled{classes: []int{0, 0, 1, 1, 1, 2, 2, 3}}
	tasks, err := Episodes(src, nil, 3, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 12 {
		t.Fatalf("%d tasks, want 4 episodes of 3", len(tasks))
	}
	level := func(img image.Image) int { return int(img.(*image.Gray).Pix[0]) }
	for k, task := range tasks {
		if len(task.Train) != 3 || task.Answer != k%3 {
			t.Fatalf("task %d: %d candidates, answer %d", k, len(task.Train), task.Answer)
		}
		classes := map[int]bool{}
		for _, img := range task.Train {
			c := src.classes[level(img)]
			if c == 3 {
				t.Errorf("task %d: class 3 has one image and cannot be drawn", k)
			}
			classes[c] = true
		}
		if len(classes) != 3 {
			t.Errorf("task %d: candidates of classes %v, want three different", k, classes)
		}
		q, r := level(task.Test), level(task.Train[task.Answer])
		if q == r || src.classes[q] != src.classes[r] {
			t.Errorf("task %d: query %d and reference %d", k, q, r)
		}
	}
	for i, n := range src.decodes {
		if n != 1 {
			t.Errorf("image %d decoded %d times", i, n)
		}
	}
	// The draw depends on the seed alone.
	again, err := Episodes(&labelled{classes: src.classes}, nil, 3, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	for k := range tasks {
		if level(again[k].Test) != level(tasks[k].Test) {
			t.Fatalf("task %d differs between two draws with one seed", k)
		}
	}
	if _, err := Episodes(src, []int{0, 1, 2, 3}, 3, 1, 1); err == nil || !strings.Contains(err.Error(), "2 classes") {
		t.Errorf("3 ways from 2 classes: %v", err)
	}
	if _, err := Episodes(src, nil, 1, 1, 1); err == nil {
		t.Error("no error for 1 way")
	}
}

func TestRunPairs(t *testing.T) {
	train := []image.Image{grey(10), grey(200), grey(105), grey(90)}
	run := Run{Name: "run01", Tasks: []Task{
		{Test: grey(100), Train: train, Answer: 2},
		{Test: grey(12), Train: train, Answer: 0},
		{Test: grey(180), Train: train, Answer: 3},
		{Test: grey(60), Train: train, Answer: 3},
	}}
	s := &meanScorer{}
	scores, labels, err := RunPairs(s, []Run{run, run})
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 16 || len(labels) != 16 {
		t.Fatalf("%d scores, %d labels; want 16 each", len(scores), len(labels))
	}
	// Task i's different candidate is the (Answer+1+i mod 3)-th after
	// the answer: 2+1+0 = 3, 0+1+1 = 2, 3+1+2 = 6 mod 4 = 2, 3+1+0 = 0 mod 4.
	others := []int{3, 2, 2, 0}
	for r := range 2 {
		for i, task := range run.Tasks {
			same, diff := scores[r*8+2*i], scores[r*8+2*i+1]
			if labels[r*8+2*i] != 1 || labels[r*8+2*i+1] != 0 {
				t.Fatalf("run %d task %d: labels %v, want 1 then 0", r, i, labels[r*8+2*i:r*8+2*i+2])
			}
			emb, _ := s.Embed([]image.Image{task.Test, task.Train[task.Answer], task.Train[others[i]]})
			wantSame, _ := s.Score(emb[0], emb[1])
			wantDiff, _ := s.Score(emb[0], emb[2])
			if same != wantSame || diff != wantDiff {
				t.Errorf("run %d task %d: scores %g, %g; want %g (answer) and %g (training image %d)", r, i, same, diff, wantSame, wantDiff, others[i])
			}
			if others[i] == task.Answer {
				t.Fatalf("test's table: task %d's different image is its answer", i)
			}
		}
	}

	if _, _, err := RunPairs(s, nil); err == nil {
		t.Error("no runs: no error")
	}
	if _, _, err := RunPairs(nil, []Run{run}); err == nil {
		t.Error("nil Scorer: no error")
	}
	one := Run{Name: "run02", Tasks: []Task{{Test: grey(1), Train: train[:1]}}}
	if _, _, err := RunPairs(s, []Run{one}); err == nil || !strings.Contains(err.Error(), "run02") {
		t.Errorf("one training image: error %v, want one naming run02", err)
	}
	bad := Run{Name: "run03", Tasks: []Task{{Test: grey(1), Train: train, Answer: 4}}}
	if _, _, err := RunPairs(s, []Run{bad}); err == nil || !strings.Contains(err.Error(), "answer 4") {
		t.Errorf("answer out of range: error %v", err)
	}
	if _, _, err := RunPairs(&meanScorer{nan: true}, []Run{run}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN scores: error %v", err)
	}
}
