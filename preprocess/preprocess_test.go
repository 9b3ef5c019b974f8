package preprocess

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// near reports whether got is within a small relative tolerance of want.
func near(got, want float32) bool {
	tol := 2e-6 * math.Max(1, math.Abs(float64(want)))
	return math.Abs(float64(got)-float64(want)) <= tol
}

func checkNear(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len = %d, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("%s: [%d] = %.7g, want %.7g", name, i, got[i], want[i])
		}
	}
}

func checkExact(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len = %d, want %d", name, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: [%d] = %.9g, want exactly %.9g", name, i, got[i], want[i])
		}
	}
}

// tiny2x2 is red, green / blue, and a half-transparent (0.2,0.4,0.6).
func tiny2x2() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	m.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	m.SetNRGBA(1, 0, color.NRGBA{0, 255, 0, 255})
	m.SetNRGBA(0, 1, color.NRGBA{0, 0, 255, 255})
	m.SetNRGBA(1, 1, color.NRGBA{51, 102, 153, 128})
	return m
}

func TestNormalizationsOn2x2(t *testing.T) {
	img := tiny2x2()
	cases := []struct {
		norm Normalization
		want []float32
	}{
		{UnitRange, []float32{
			1, 0, 0, 0.2, // R
			0, 1, 0, 0.4, // G
			0, 0, 1, 0.6, // B
		}},
		{ImageNet, []float32{
			// (v-0.485)/0.229
			2.2489083, -2.1179039, -2.1179039, -1.2445415,
			// (v-0.456)/0.224
			-2.0357143, 2.4285714, -2.0357143, -0.25,
			// (v-0.406)/0.225
			-1.8044444, -1.8044444, 2.64, 0.86222222,
		}},
		{Caffe, []float32{
			// B*255 - 103.939
			-103.939, -103.939, 151.061, 49.061,
			// G*255 - 116.779
			-116.779, 138.221, -116.779, -14.779,
			// R*255 - 123.68
			131.32, -123.68, -123.68, -72.68,
		}},
	}
	for _, c := range cases {
		got, err := Pixels(img, Config{Size: 2, Norm: c.norm})
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, c.norm.String(), got, c.want)
	}
}

func TestGrey(t *testing.T) {
	img := tiny2x2()
	cases := []struct {
		norm Normalization
		want []float32
	}{
		// 0.299, 0.587, 0.114, 0.2*0.299+0.4*0.587+0.6*0.114
		{UnitRange, []float32{0.299, 0.587, 0.114, 0.363}},
		{ImageNet, []float32{
			(0.299 - 0.449) / 0.226, (0.587 - 0.449) / 0.226,
			(0.114 - 0.449) / 0.226, (0.363 - 0.449) / 0.226,
		}},
		{Caffe, []float32{
			76.245 - 114.799, 149.685 - 114.799, 29.07 - 114.799, 92.565 - 114.799,
		}},
	}
	for _, c := range cases {
		got, err := Pixels(img, Config{Size: 2, Channels: 1, Norm: c.norm})
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, "grey "+c.norm.String(), got, c.want)
	}

	// A grey image keeps its level exactly in every path.
	g := image.NewGray(image.Rect(0, 0, 1, 1))
	g.SetGray(0, 0, color.Gray{77})
	for _, ch := range []int{1, 3} {
		got, err := Pixels(g, Config{Size: 1, Channels: ch, Norm: UnitRange})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != float32(77)/255 {
				t.Errorf("channels %d: [%d] = %.9g, want %.9g", ch, i, v, float32(77)/255)
			}
		}
	}
	got, _ := Pixels(g, Config{Size: 1, Channels: 1, Norm: Caffe})
	if got[0] != 77-float32(114.799) {
		t.Errorf("grey caffe = %.9g, want %.9g", got[0], 77-float32(114.799))
	}
}

func TestImageKinds(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{
		color.RGBA{0, 0, 0, 255}, color.RGBA{10, 20, 30, 255},
	})
	pal.SetColorIndex(0, 0, 1)

	red := image.NewCMYK(image.Rect(0, 0, 1, 1))
	red.SetCMYK(0, 0, color.CMYK{0, 255, 255, 0})
	// K=128: every channel is 65535 - 128*257 = 32639.
	grey := image.NewCMYK(image.Rect(0, 0, 1, 1))
	grey.SetCMYK(0, 0, color.CMYK{0, 0, 0, 128})

	g16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	g16.SetGray16(0, 0, color.Gray16{1000})

	// Premultiplied half-transparent (0.5, 0.25, 0): colour must survive.
	rgba := image.NewRGBA(image.Rect(0, 0, 1, 1))
	rgba.SetRGBA(0, 0, color.RGBA{64, 32, 0, 128})

	n64 := image.NewNRGBA64(image.Rect(0, 0, 1, 1))
	n64.SetNRGBA64(0, 0, color.NRGBA64{1, 2, 3, 1}) // nearly transparent

	cases := []struct {
		name string
		img  image.Image
		want []float32 // unit range, CHW
	}{
		{"paletted", pal, []float32{10.0 / 255, 20.0 / 255, 30.0 / 255}},
		{"cmyk red", red, []float32{1, 0, 0}},
		{"cmyk grey", grey, []float32{32639.0 / 65535, 32639.0 / 65535, 32639.0 / 65535}},
		{"gray16", g16, []float32{1000.0 / 65535, 1000.0 / 65535, 1000.0 / 65535}},
		// 64*257*65535/(128*257) = 32767 (integer division), 32*257*65535/32896 = 16383.
		{"rgba-alpha", rgba, []float32{32767.0 / 65535, 16383.0 / 65535, 0}},
		{"nrgba64-alpha", n64, []float32{1.0 / 65535, 2.0 / 65535, 3.0 / 65535}},
	}
	for _, c := range cases {
		cfg := Config{Size: 1, Norm: UnitRange}
		got, err := Pixels(c.img, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, c.name, got, c.want)
	}
}

// hidden hides the concrete image type, forcing the general read path.
type hidden struct{ image.Image }

func randomImages(rng *rand.Rand, w, h int) map[string]image.Image {
	r := image.Rect(3, 5, 3+w, 5+h) // non-zero origin on purpose
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	gray := image.NewGray(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	rng.Read(nrgba.Pix)
	rng.Read(gray.Pix)
	rng.Read(ycc.Y)
	rng.Read(ycc.Cb)
	rng.Read(ycc.Cr)
	for i := 0; i < len(rgba.Pix); i += 4 {
		a := uint8(rng.Intn(256))
		if i%12 == 0 {
			a = 255
		}
		rgba.Pix[i+3] = a
		for k := 0; k < 3; k++ {
			rgba.Pix[i+k] = uint8(rng.Intn(int(a) + 1))
		}
	}
	return map[string]image.Image{"nrgba": nrgba, "rgba": rgba, "gray": gray, "ycbcr": ycc}
}

func TestFastPathsMatchGeneral(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for name, img := range randomImages(rng, 9, 7) {
		for _, ch := range []int{1, 3} {
			for _, norm := range []Normalization{ImageNet, Caffe, UnitRange} {
				for _, size := range []int{7, 4} { // crop only, and resize (general path on NRGBA)
					cfg := Config{Size: size, Channels: ch, Norm: norm}
					fast, err := Pixels(img, cfg)
					if err != nil {
						t.Fatal(err)
					}
					slow, err := Pixels(hidden{img}, cfg)
					if err != nil {
						t.Fatal(err)
					}
					checkExact(t, name+" "+norm.String(), fast, slow)
				}
			}
		}
	}
}

func TestPassThrough(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	m := image.NewNRGBA(image.Rect(0, 0, 5, 5))
	rng.Read(m.Pix)
	for _, noCrop := range []bool{false, true} {
		got, err := Pixels(m, Config{Size: 5, Norm: UnitRange, Filter: Lanczos, NoCrop: noCrop})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 3*25)
		for y := 0; y < 5; y++ {
			for x := 0; x < 5; x++ {
				c := m.NRGBAAt(x, y)
				want[y*5+x] = float32(c.R) / 255
				want[25+y*5+x] = float32(c.G) / 255
				want[50+y*5+x] = float32(c.B) / 255
			}
		}
		checkExact(t, "pass-through", got, want)
	}
}

func TestCenterOffset(t *testing.T) {
	cases := []struct{ n, size, want int }{
		{4, 4, 0}, {5, 4, 0}, {6, 4, 1}, {7, 4, 2}, {9, 4, 2}, {11, 4, 4}, {13, 4, 4},
	}
	for _, c := range cases {
		if got := centreOffset(c.n, c.size); got != c.want {
			t.Errorf("centreOffset(%d, %d) = %d, want %d", c.n, c.size, got, c.want)
		}
	}
}

func TestPlan(t *testing.T) {
	cases := []struct {
		w, h, size int
		noCrop     bool
		want       geometry
	}{
		{6, 4, 4, false, geometry{resize: false, resW: 6, resH: 4, left: 1, top: 0}},
		{4, 7, 4, false, geometry{resize: false, resW: 4, resH: 7, left: 0, top: 2}},
		{8, 4, 2, false, geometry{resize: true, resW: 4, resH: 2, left: 1, top: 0}},
		// int(4*10/7) = int(5.71) = 5 (truncated); left = round(0.5) = 0.
		{10, 7, 4, false, geometry{resize: true, resW: 5, resH: 4, left: 0, top: 0}},
		{7, 10, 4, false, geometry{resize: true, resW: 4, resH: 5, left: 0, top: 0}},
		// int(224*500/375) = int(298.67) = 298; left = round(37.0) = 37.
		{500, 375, 224, false, geometry{resize: true, resW: 298, resH: 224, left: 37, top: 0}},
		{3, 3, 5, false, geometry{resize: true, resW: 5, resH: 5}},
		{10, 7, 4, true, geometry{resize: true, resW: 4, resH: 4}},
		{4, 4, 4, true, geometry{resW: 4, resH: 4}},
	}
	for _, c := range cases {
		got := plan(c.w, c.h, Config{Size: c.size, NoCrop: c.noCrop})
		c.want.width, c.want.height = c.w, c.h
		if got != c.want {
			t.Errorf("plan(%dx%d, size %d, noCrop %v) = %+v, want %+v", c.w, c.h, c.size, c.noCrop, got, c.want)
		}
	}
}

func TestCropGeometry6x4(t *testing.T) {
	// 6 wide, 4 high; Size 4: no resize, left = round(1.0) = 1, top = 0.
	m := image.NewGray(image.Rect(0, 0, 6, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			m.SetGray(x, y, color.Gray{uint8(10*y + x)})
		}
	}
	got, err := Pixels(m, Config{Size: 4, Channels: 1, Norm: UnitRange})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 16)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			want[y*4+x] = float32(10*y+x+1) / 255
		}
	}
	checkExact(t, "crop 6x4", got, want)

	// Transposed: 4 wide, 7 high; top = round(1.5) = 2.
	m = image.NewGray(image.Rect(0, 0, 4, 7))
	for y := 0; y < 7; y++ {
		for x := 0; x < 4; x++ {
			m.SetGray(x, y, color.Gray{uint8(10*y + x)})
		}
	}
	got, err = Pixels(m, Config{Size: 4, Channels: 1, Norm: UnitRange})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			want[y*4+x] = float32(10*(y+2)+x) / 255
		}
	}
	checkExact(t, "crop 4x7", got, want)
}

func TestResizeUniform(t *testing.T) {
	// A uniform image stays uniform through every filter and geometry.
	m := image.NewNRGBA(image.Rect(0, 0, 13, 9))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 200, 100, 50, 255
	}
	for _, f := range []Filter{Linear, Lanczos, CatmullRom, Box, Nearest} {
		for _, noCrop := range []bool{false, true} {
			got, err := Pixels(m, Config{Size: 4, Norm: UnitRange, Filter: f, NoCrop: noCrop})
			if err != nil {
				t.Fatalf("filter %v: %v", f, err)
			}
			if len(got) != 48 {
				t.Fatalf("len = %d", len(got))
			}
			for i, v := range got {
				want := []float32{200.0 / 255, 100.0 / 255, 50.0 / 255}[i/16]
				if !near(v, want) {
					t.Fatalf("filter %q noCrop %v: [%d] = %v, want %v", f, noCrop, i, v, want)
				}
			}
		}
	}
}

func TestResizeDropsAlpha(t *testing.T) {
	// Same colour everywhere, alpha varying down to 0: after dropping alpha
	// (PIL convert("RGB")) the image is uniform, so any resize keeps it.
	for _, kind := range []string{"nrgba", "rgba"} {
		var img image.Image
		switch kind {
		case "nrgba":
			m := image.NewNRGBA(image.Rect(0, 0, 8, 6))
			for i := 0; i < len(m.Pix); i += 4 {
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 40, 80, 120, uint8(i*7)
			}
			img = m
		case "rgba":
			// Premultiplied (40,80,120) at alpha 255 and 51 (=0.2): 8,16,24.
			m := image.NewRGBA(image.Rect(0, 0, 8, 6))
			for i := 0; i < len(m.Pix); i += 8 {
				copy(m.Pix[i:], []uint8{40, 80, 120, 255, 8, 16, 24, 51})
			}
			img = m
		}
		got, err := Pixels(img, Config{Size: 3, Norm: UnitRange})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			want := []float32{40.0 / 255, 80.0 / 255, 120.0 / 255}[i/9]
			if !near(v, want) {
				t.Fatalf("%s: [%d] = %v, want %v", kind, i, v, want)
			}
		}
	}
}

func TestResizeIgnoresAlphaWeights(t *testing.T) {
	// Alternating columns of opaque grey 200 and fully transparent black.
	// PIL's convert("RGB") keeps the black, so box-averaging pairs of
	// columns gives 100; alpha-weighted resampling would give 200.
	m := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x += 2 {
			m.SetNRGBA(x, y, color.NRGBA{200, 200, 200, 255})
			m.SetNRGBA(x+1, y, color.NRGBA{0, 0, 0, 0})
		}
	}
	got, err := Pixels(m, Config{Size: 3, Norm: UnitRange, Filter: Box})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if !near(v, 100.0/255) {
			t.Fatalf("[%d] = %v, want %v", i, v, 100.0/255)
		}
	}
}

func TestBatch(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	imgs := []image.Image{tiny2x2()}
	for _, m := range randomImages(rng, 9, 7) {
		imgs = append(imgs, m)
	}
	cfg := Config{Size: 3, Norm: ImageNet}
	data, err := Batch(imgs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != len(imgs)*27 {
		t.Fatalf("%d values, want %d images of 3x3x3", len(data), len(imgs))
	}
	for i, img := range imgs {
		want, err := Pixels(img, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkExact(t, "batch", data[i*27:(i+1)*27], want)
	}

	grey, err := Batch(imgs[:1], Config{Size: 2, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(grey) != 4 {
		t.Fatalf("grey: %d values, want 1x2x2", len(grey))
	}

	if _, err := Batch(nil, cfg); err == nil {
		t.Error("empty batch: no error")
	}
	_, err = Batch([]image.Image{tiny2x2(), nil}, cfg)
	if err == nil || !strings.Contains(err.Error(), "image 1") || !strings.HasPrefix(err.Error(), "preprocess: ") {
		t.Errorf("nil in batch: err = %v", err)
	}
	if _, err := Batch(imgs, Config{}); err == nil {
		t.Error("size 0 batch: no error")
	}
}

func TestBadInput(t *testing.T) {
	good := tiny2x2()
	var nilNRGBA *image.NRGBA
	cases := []struct {
		name string
		img  image.Image
		cfg  Config
	}{
		{"nil image", nil, Config{Size: 2}},
		{"typed nil image", nilNRGBA, Config{Size: 2}},
		{"zero-size image", image.NewRGBA(image.Rect(0, 0, 0, 5)), Config{Size: 2}},
		{"empty image", &image.Gray{}, Config{Size: 2}},
		{"size 0", good, Config{}},
		{"size -1", good, Config{Size: -1}},
		{"channels 2", good, Config{Size: 2, Channels: 2}},
		{"channels 4", good, Config{Size: 2, Channels: 4}},
		{"bad norm", good, Config{Size: 2, Norm: Normalization(7)}},
		{"bad filter", good, Config{Size: 2, Filter: Filter(9)}},
	}
	for _, c := range cases {
		got, err := Pixels(c.img, c.cfg)
		if err == nil {
			t.Errorf("%s: no error, got %d values", c.name, len(got))
			continue
		}
		if !strings.HasPrefix(err.Error(), "preprocess: ") {
			t.Errorf("%s: error %q lacks prefix", c.name, err)
		}
	}
}

func TestConfig(t *testing.T) {
	d := Config{Size: 3}.WithDefaults()
	if d.Channels != 3 || d.Filter != Linear || d.Norm != ImageNet || d.NoCrop {
		t.Errorf("WithDefaults = %+v", d)
	}
	if err := (Config{Size: 3}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := (Config{Size: 3, Channels: 1, Norm: Caffe, Filter: Nearest}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := (Config{Size: 0}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "preprocess: ") {
		t.Errorf("Validate size 0: %v", err)
	}
}

func TestNormalizationNames(t *testing.T) {
	for _, n := range []Normalization{ImageNet, Caffe, UnitRange} {
		p, err := ParseNormalization(n.String())
		if err != nil || p != n {
			t.Errorf("ParseNormalization(%q) = %v, %v", n.String(), p, err)
		}
	}
	want := map[Normalization]string{ImageNet: "imagenet", Caffe: "caffe", UnitRange: "unit"}
	for n, s := range want {
		if n.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(n), n.String(), s)
		}
	}
	if p, err := ParseNormalization(" ImageNet "); err != nil || p != ImageNet {
		t.Errorf("case-insensitive parse: %v, %v", p, err)
	}
	if _, err := ParseNormalization("torch"); err == nil || !strings.HasPrefix(err.Error(), "preprocess: ") {
		t.Errorf("bad name: err = %v", err)
	}
	if s := Normalization(9).String(); s != "Normalization(9)" {
		t.Errorf("unknown String = %q", s)
	}
}

// negative returns img with every 8-bit colour value v replaced by 255 - v
// and alpha kept.
func negative(img *image.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for i := 0; i < len(img.Pix); i += 4 {
		p := img.Pix[i : i+4]
		copy(out.Pix[i:i+4], []uint8{255 - p[0], 255 - p[1], 255 - p[2], p[3]})
	}
	return out
}

// TestInvert checks that Invert reads an image as its negative does, for
// every normalisation and channel count, with and without a crop (not
// after resampling, which rounds to 8 bits before the inversion), and
// that Omniglot-style black ink on white becomes 1 on 0 under UnitRange.
func TestInvert(t *testing.T) {
	img := tiny2x2()
	big := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range big.Pix {
		big.Pix[i] = uint8(37*i + 11)
		if i%4 == 3 {
			big.Pix[i] = 255
		}
	}
	for _, m := range []*image.NRGBA{img, big} {
		for _, norm := range []Normalization{ImageNet, Caffe, UnitRange} {
			for _, ch := range []int{1, 3} {
				cfg := Config{Size: m.Bounds().Dy(), Channels: ch, Norm: norm}
				want, err := Pixels(negative(m), cfg)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Invert = true
				got, err := Pixels(m, cfg)
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := Pixels(m, Config{Size: m.Bounds().Dy(), Channels: ch, Norm: norm})
				name := fmt.Sprintf("%dx%d %v %d channels", m.Bounds().Dx(), m.Bounds().Dy(), norm, ch)
				if slices.Equal(got, plain) {
					t.Errorf("%s: Invert changed nothing", name)
				}
				checkNear(t, name, got, want)
			}
		}
	}
	ink := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(ink.Pix, []uint8{0, 255, 255, 255}) // a black dot on white paper
	got, err := Pixels(ink, Config{Size: 2, Channels: 1, Norm: UnitRange, Invert: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float32{1, 0, 0, 0}) {
		t.Errorf("black ink on white, inverted: %v, want [1 0 0 0]", got)
	}
}

// TestFilterText: filters read and write their names, so a model file's
// configuration, which stores them as strings, reads back the same.
func TestFilterText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Filter
	}{{"", Linear}, {"linear", Linear}, {" Lanczos ", Lanczos}, {"catmullrom", CatmullRom}, {"BOX", Box}, {"nearest", Nearest}} {
		f, err := ParseFilter(c.in)
		if err != nil || f != c.want {
			t.Errorf("ParseFilter(%q) = %v, %v; want %v", c.in, f, err, c.want)
		}
	}
	if _, err := ParseFilter("bicubic"); err == nil || !strings.Contains(err.Error(), "bicubic") {
		t.Errorf("ParseFilter(bicubic): %v", err)
	}
	b, err := json.Marshal(Config{Size: 4, Filter: CatmullRom})
	if err != nil || !strings.Contains(string(b), `"Filter":"catmullrom"`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"Size":4,"Filter":"box"}`), &c); err != nil || c.Filter != Box {
		t.Errorf("read %+v, %v", c, err)
	}
	if _, err := json.Marshal(Config{Filter: Filter(9)}); err == nil {
		t.Error("an unknown filter was written")
	}
	if Filter(9).String() != "Filter(9)" {
		t.Errorf("String of an unknown filter: %s", Filter(9))
	}
}
