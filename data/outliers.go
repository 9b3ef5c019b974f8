package data

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strconv"
)

// OutlierClass is the name of the class WithOutliers adds.
const OutlierClass = "(outliers)"

// outlierSize is the side of every synthetic outlier image; preprocessing
// resizes it to a model's input like any other image.
const outlierSize = 64

// Outliers is a Dataset followed by synthetic images that show nothing:
// constant colours, noise, sparse dots, stripes, checkerboards and smooth
// random fields, all in one extra class, OutlierClass. Training a
// classifier with such a class (outlier exposure) teaches the embedding to
// put a blank page, sensor noise or a texture away from every real class,
// so that a Siamese model does not call it "the same" as a real image.
//
// Images 0 to Base().Len()-1 are the base set's, with its classes;
// the outliers follow. Outlier k depends on the seed and k alone.
type Outliers struct {
	base Dataset
	n    int
	seed uint64
}

// WithOutliers returns ds followed by n synthetic outlier images (n < 0
// counts as 0), drawn by seed.
func WithOutliers(ds Dataset, n int, seed uint64) *Outliers {
	return &Outliers{base: ds, n: max(n, 0), seed: seed}
}

// Base returns the data set the outliers follow.
func (o *Outliers) Base() Dataset { return o.base }

// Outliers returns the number of outlier images.
func (o *Outliers) Outliers() int { return o.n }

func (o *Outliers) Len() int { return o.base.Len() + o.n }

func (o *Outliers) Class(i int) int {
	if i >= o.base.Len() && i < o.Len() {
		return o.base.NumClasses()
	}
	return o.base.Class(i)
}

func (o *Outliers) NumClasses() int { return o.base.NumClasses() + 1 }

func (o *Outliers) ClassName(c int) string {
	if c == o.base.NumClasses() {
		return OutlierClass
	}
	return o.base.ClassName(c)
}

func (o *Outliers) Name(i int) string {
	if i >= o.base.Len() && i < o.Len() {
		return OutlierClass + "#" + strconv.Itoa(i-o.base.Len())
	}
	return o.base.Name(i)
}

func (o *Outliers) Image(i int) (image.Image, error) {
	if i < o.base.Len() {
		return o.base.Image(i)
	}
	if i >= o.Len() {
		return nil, fmt.Errorf("data: image index %d out of range [0, %d)", i, o.Len())
	}
	return OutlierImage(o.seed, uint64(i-o.base.Len())), nil
}

// OutlierImage returns synthetic outlier image k of the stream keyed by
// seed: one of six kinds in turn (constant, uniform noise, sparse dots,
// stripes, checkerboard, smooth random field), each with random levels,
// colours and scales; half the constant images are black or white and
// half the noise images span the whole range.
func OutlierImage(seed, k uint64) *image.NRGBA {
	rng := rand.New(derive(seed, domainOutlier, k))
	img := image.NewNRGBA(image.Rect(0, 0, outlierSize, outlierSize))
	// Two random colours, grey half of the time.
	pick := func() color.NRGBA {
		if rng.IntN(2) == 0 {
			v := uint8(rng.IntN(256))
			return color.NRGBA{v, v, v, 255}
		}
		return color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
	}
	mix := func(a, b color.NRGBA, t float64) color.NRGBA {
		l := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
		return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
	}
	c0, c1 := pick(), pick()
	set := func(f func(x, y int) color.NRGBA) {
		for y := range outlierSize {
			for x := range outlierSize {
				img.SetNRGBA(x, y, f(x, y))
			}
		}
	}
	// Half the constant and noise images take the extremes: a black or a
	// white page, noise over the whole range.
	extreme := rng.IntN(2) == 0
	black, white := color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}
	switch k % 6 {
	case 0: // constant
		if extreme {
			c0 = [2]color.NRGBA{black, white}[rng.IntN(2)]
		}
		set(func(int, int) color.NRGBA { return c0 })
	case 1: // uniform noise between the two colours
		if extreme {
			c0, c1 = black, white
		}
		set(func(int, int) color.NRGBA { return mix(c0, c1, rng.Float64()) })
	case 2: // sparse dots on a background
		p := 0.01 + 0.3*rng.Float64()
		set(func(int, int) color.NRGBA {
			if rng.Float64() < p {
				return c1
			}
			return c0
		})
	case 3: // stripes at a random angle and period
		th := math.Pi * rng.Float64()
		period := 2 + 14*rng.Float64()
		cs, sn := math.Cos(th), math.Sin(th)
		set(func(x, y int) color.NRGBA {
			return mix(c0, c1, 0.5+0.5*math.Sin(2*math.Pi*(float64(x)*cs+float64(y)*sn)/period))
		})
	case 4: // checkerboard
		cell := 1 + rng.IntN(12)
		set(func(x, y int) color.NRGBA {
			if (x/cell+y/cell)%2 == 0 {
				return c0
			}
			return c1
		})
	default: // smooth random field: a coarse grid of levels, bilinear
		g := 2 + rng.IntN(6)
		grid := make([]float64, (g+1)*(g+1))
		for i := range grid {
			grid[i] = rng.Float64()
		}
		step := float64(outlierSize) / float64(g)
		set(func(x, y int) color.NRGBA {
			fx, fy := float64(x)/step, float64(y)/step
			ix, iy := min(int(fx), g-1), min(int(fy), g-1)
			tx, ty := fx-float64(ix), fy-float64(iy)
			at := func(a, b int) float64 { return grid[(iy+b)*(g+1)+ix+a] }
			v := (at(0, 0)*(1-tx)+at(1, 0)*tx)*(1-ty) + (at(0, 1)*(1-tx)+at(1, 1)*tx)*ty
			return mix(c0, c1, v)
		})
	}
	return img
}
