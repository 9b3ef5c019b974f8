package train_test

import (
	"context"
	"fmt"
	"image"
	"image/color"

	"github.com/disintegration/imaging"

	"github.com/gosiamese/gosiamese/data"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/gosiamese/gosiamese/train"
)

// Train a small Siamese model on two classes of images held in memory,
// validating on fixed pairs.
func Example() {
	var imgs []image.Image
	var classes []int
	for c, col := range []color.NRGBA{{200, 40, 40, 255}, {40, 40, 200, 255}} {
		for k := range 4 {
			img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
			for i := range 32 * 32 {
				v := col
				v.G = uint8(20 * k)
				img.SetNRGBA(i%32, i/32, v)
			}
			imgs, classes = append(imgs, img), append(classes, c)
		}
	}
	ds, _ := data.NewMemory(imgs, classes, []string{"red", "blue"})
	m, _ := siamese.New(siamese.Config{
		Encoder: resnet.Config{Depth: 18, Width: 8},
		Hidden:  []int{16},
		Input:   preprocess.Config{Size: 32},
	})
	src, _ := train.NewSampledBatches(ds, nil, m.Config().Input, data.Augment{}, 2, 1)
	pairs, _ := data.FixedPairs(ds, nil, 8, 2)
	val, _ := train.NewPairValidation(ds, pairs)
	tr, err := train.New(m, src, val, train.Config{Epochs: 2, StepsPerEpoch: 3, BatchSize: 4})
	if err != nil {
		panic(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		panic(err)
	}
	h := tr.History()
	fmt.Println(len(h), "epochs, step", tr.Step(), "pairs", h[len(h)-1].Pairs)
	// Output: 2 epochs, step 6 pairs 24
}

// Train by a preset recipe, here the default one shrunk to a small
// encoder and budget, on a generated dataset of ten classes.
func ExampleFit() {
	var imgs []image.Image
	var classes []int
	for c := range 10 {
		for k := range 4 {
			img := image.NewGray(image.Rect(0, 0, 32, 32))
			for i := range img.Pix {
				x, y := i%32, i/32
				if (x*(c+1)+y*(k+2))%(c+3) == 0 {
					img.Pix[i] = 255
				}
			}
			imgs, classes = append(imgs, img), append(classes, c)
		}
	}
	ds, _ := data.NewMemory(imgs, classes, nil)
	r, _ := train.Preset("oneshot")
	r.Model.Encoder = resnet.Config{Depth: 18, Width: 8}
	r.ValFraction, r.ValPairs = 0.3, 20
	p := *r.Pretrain
	p.Epochs, p.StepsPerEpoch, p.BatchSize = 1, 3, 8
	r.Pretrain = &p
	r.Pairs.Epochs, r.Pairs.StepsPerEpoch = 1, 5
	m, rep, err := train.Fit(context.Background(), r, train.Data{Images: ds}, train.FitOptions{Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("holdout %s: %d training classes; %d classes held out whole and images of the others held out, %d classes in validation; %s distance\n",
		rep.Holdout, rep.TrainClasses, rep.HeldClasses, rep.ValClasses, m.Config().Distance)
	// Output: holdout both: 7 training classes; 3 classes held out whole and images of the others held out, 10 classes in validation; cosine distance
}

// Train the towers of a small model with the batch-hard triplet loss on
// batches of 3 classes with 2 images each, drawn from ten generated
// classes, choosing the epoch by 3-way one-shot tasks on held-out classes.
func ExampleMetricTrainer() {
	var imgs []image.Image
	var classes []int
	for c := range 10 {
		for k := range 3 {
			img := image.NewGray(image.Rect(0, 0, 32, 32))
			for i := range img.Pix {
				if (i%32*(c+1)+i/32*(k+2))%(c+3) == 0 {
					img.Pix[i] = 255
				}
			}
			imgs, classes = append(imgs, img), append(classes, c)
		}
	}
	ds, _ := data.NewMemory(imgs, classes, nil)
	m, _ := siamese.New(siamese.Config{
		Encoder:  resnet.Config{Depth: 18, Width: 8},
		Hidden:   []int{},
		Distance: siamese.Cosine,
		Input:    preprocess.Config{Size: 32, Channels: 1},
	})
	trainIdx, valIdx := data.SplitClasses(ds, 0.3, 1)
	batches, err := train.NewClassBalancedImages(ds, trainIdx, m.Config().Input, data.Augment{}, false, 3, 2, 2, 1)
	if err != nil {
		panic(err)
	}
	val, _ := train.NewOneShotValidation(ds, valIdx, 3, 5, 1)
	mt, err := train.NewMetricTrainer(m, batches, val, train.MetricConfig{
		Loss: train.TripletBatchHard, P: 3, M: 2, Epochs: 2, StepsPerEpoch: 3,
	})
	if err != nil {
		panic(err)
	}
	if err := mt.Run(context.Background()); err != nil {
		panic(err)
	}
	h := mt.History()
	fmt.Println(len(h), "epochs,", h[len(h)-1].Images, "images")
	// Output: 2 epochs, 36 images
}

// Test-time augmentation for one-shot matching: each image embedded as the
// mean of 8 distorted copies of itself and of each of its quarter turns,
// and two images compared turn by turn (the setting chosen for the
// oneshot-long models on Omniglot). An image compared with itself scores
// what the head gives distance 0, the most it can give (0.5 for this
// untrained head); its mirror image scores less.
func ExampleTTA() {
	m, _ := siamese.New(siamese.Config{
		Encoder:  resnet.Config{Depth: 18, Width: 8},
		Hidden:   []int{},
		Dropout:  -1,
		Distance: siamese.Cosine,
		Input:    preprocess.Config{Size: 32, Channels: 1},
		Seed:     1,
	})
	tta := train.TTA{Copies: 8, Augment: data.KochAugment(), QuarterTurns: true, Seed: 1}
	s, err := tta.Scorer(m)
	if err != nil {
		panic(err)
	}
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(255 - 8*(i%32)*(i/32%4))
	}
	es, err := s.Embed([]image.Image{img})
	if err != nil {
		panic(err)
	}
	plain, _ := train.OneShotScorer(m).Embed([]image.Image{img})
	self, _ := s.Score(es[0], es[0])
	mirror, _ := s.Embed([]image.Image{imaging.FlipH(img)})
	other, _ := s.Score(es[0], mirror[0])
	fmt.Printf("%d values per image (4 turns), %d without augmentation\n", len(es[0]), len(plain[0]))
	fmt.Printf("itself: %.4f, the head at distance 0: %.4f\n", self, m.ScoreDistance(0))
	fmt.Println("its mirror image scores less:", other < self)
	// Output:
	// 256 values per image (4 turns), 64 without augmentation
	// itself: 0.5000, the head at distance 0: 0.5000
	// its mirror image scores less: true
}
