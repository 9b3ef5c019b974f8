package eval_test

import (
	"fmt"
	"image"
	"math"

	"github.com/gosiamese/gosiamese/eval"
)

// Scores of eight pairs, label 1 for "same": the metrics of a model that
// mostly, not always, scores same pairs higher. By hand: of the 16
// (same, different) pairs of pairs, the same pair scores higher in 14
// (0.7 and 0.6 lose to 0.8): AUC 14/16. Accepting scores >= 0.7 lets in
// one of four different pairs (0.8) and rejects one of four same pairs
// (0.6): both error rates are 1/4 there. At 0.5 only 0.8 is misjudged:
// accuracy 7/8. Accepting from 0.6 finds all four same pairs with one
// false accept: F1 = 2*4 / (2*4 + 1 + 0) = 8/9.
func Example() {
	scores := []float64{0.95, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.1}
	labels := []float64{1, 1, 0, 1, 1, 0, 0, 0}

	auc, err := eval.AUC(scores, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	eer, at, _ := eval.EER(scores, labels)
	acc, _ := eval.Accuracy(scores, labels, 0.5)
	th, f1, _ := eval.CalibrateF1(scores, labels)
	far, _ := eval.CalibrateFAR(scores, labels, 0)

	fmt.Printf("AUC %.4f\n", auc)
	fmt.Printf("EER %.2f at threshold %.2f\n", eer, at)
	fmt.Printf("accuracy at 0.5: %.3f\n", acc)
	fmt.Printf("best F1 %.3f at threshold %.2f\n", f1, th)
	fmt.Printf("no false accepts from threshold %.2f\n", far)

	_, err = eval.AUC(scores, []float64{1, 1, 1, 1, 1, 1, 1, 1})
	fmt.Println(err)
	// Output:
	// AUC 0.8750
	// EER 0.25 at threshold 0.70
	// accuracy at 0.5: 0.875
	// best F1 0.889 at threshold 0.60
	// no false accepts from threshold 0.90
	// eval: only one class present: 8 pairs labelled same, 0 different
}

// Retrieval of a gallery by score: one query of class 0 ranks the gallery
// (classes 1, 0, 1, 0) by score as 0 (0.9), 1 (0.8), 0 (0.6), 1 (0.1):
// its first item is relevant (recall@1 and precision@1 1), and of its R = 2
// relevant items one is in the first two: MAP@R = (1/1)/2 = 0.5.
func ExampleRetrievalScores() {
	scores := [][]float64{{0.8, 0.9, 0.1, 0.6}}
	r, err := eval.RetrievalScores(scores, []int{0}, []int{1, 0, 1, 0}, 1, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	// Output:
	// recall@1 1.000  recall@2 1.000  precision@1 1.000  MAP@R 0.500 (1 queries)
}

// pixelScorer embeds a grey image as its pixel values and scores a pair by
// the negated L1 distance of its embeddings.
type pixelScorer struct{}

func (pixelScorer) Embed(imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		for _, p := range img.(*image.Gray).Pix {
			out[i] = append(out[i], float32(p))
		}
	}
	return out, nil
}

func (pixelScorer) Score(a, b []float32) (float64, error) {
	var d float64
	for i := range a {
		d += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return -d, nil
}

// Two views of 1x2 grey images, the image and the image with 100 added
// to its first pixel (capped at 255), compared view by view. Images
// (10, 20) and (200, 20) differ by 190 in the first view and by 145 in
// the second (110 against 255): the score is -(190 + 145)/2.
func ExampleViews() {
	gray := func(a, b uint8) *image.Gray {
		return &image.Gray{Pix: []uint8{a, b}, Stride: 2, Rect: image.Rect(0, 0, 2, 1)}
	}
	brighter := func(img image.Image, v int) image.Image {
		g := img.(*image.Gray)
		if v == 0 {
			return g
		}
		return gray(uint8(min(int(g.Pix[0])+100, 255)), g.Pix[1])
	}
	s, err := eval.Views(pixelScorer{}, 2, brighter)
	if err != nil {
		fmt.Println(err)
		return
	}
	es, err := s.Embed([]image.Image{gray(10, 20), gray(200, 20)})
	if err != nil {
		fmt.Println(err)
		return
	}
	score, _ := s.Score(es[0], es[1])
	fmt.Println("embeddings:", es[0], es[1])
	fmt.Println("score:", score)
	// Output:
	// embeddings: [10 20 110 20] [200 20 255 20]
	// score: -167.5
}
