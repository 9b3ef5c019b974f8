package data

import (
	"bytes"
	"image"
	"testing"
)

func TestWithOutliers(t *testing.T) {
	base := memoryDataset(t, 4, 3, 2) // two classes of 3 and 2 images
	o := WithOutliers(base, 12, 5)
	if o.Len() != 17 || o.NumClasses() != 3 || o.Outliers() != 12 || o.Base() != base {
		t.Fatalf("len %d, classes %d, outliers %d", o.Len(), o.NumClasses(), o.Outliers())
	}
	for i := range base.Len() {
		a, _ := base.Image(i)
		b, err := o.Image(i)
		if err != nil || o.Class(i) != base.Class(i) || o.Name(i) != base.Name(i) || a != b {
			t.Errorf("image %d is not the base set's", i)
		}
	}
	if o.ClassName(2) != OutlierClass || o.ClassName(0) != base.ClassName(0) || o.Class(5) != 2 || o.Class(16) != 2 || o.Class(17) != -1 {
		t.Errorf("classes: %q %q, class of 5 %d, of 16 %d, of 17 %d", o.ClassName(2), o.ClassName(0), o.Class(5), o.Class(16), o.Class(17))
	}
	if _, err := o.Image(17); err == nil {
		t.Error("image 17 of 17: no error")
	}
	// Each outlier depends on the seed and its position alone; the six
	// kinds differ from each other, and another seed gives other images.
	seen := map[string]int{}
	for k := range 12 {
		img, err := o.Image(5 + k)
		if err != nil {
			t.Fatal(err)
		}
		pix := img.(*image.NRGBA).Pix
		again, _ := WithOutliers(base, 12, 5).Image(5 + k)
		if !bytes.Equal(pix, again.(*image.NRGBA).Pix) {
			t.Errorf("outlier %d differs between two data sets of the same seed", k)
		}
		other, _ := WithOutliers(base, 12, 6).Image(5 + k)
		if bytes.Equal(pix, other.(*image.NRGBA).Pix) {
			t.Errorf("outlier %d is the same for seeds 5 and 6", k)
		}
		if j, ok := seen[string(pix)]; ok {
			t.Errorf("outliers %d and %d are the same image", j, k)
		}
		seen[string(pix)] = k
	}
	// Kind 0 is a constant image, kind 1 noise.
	c := OutlierImage(5, 0)
	n := OutlierImage(5, 1)
	if !uniform(c.Pix) || uniform(n.Pix) {
		t.Errorf("outlier 0 constant: %v, outlier 1 constant: %v", uniform(c.Pix), uniform(n.Pix))
	}
	if WithOutliers(base, -3, 1).Len() != base.Len() {
		t.Error("a negative count added images")
	}
}

// uniform reports whether every pixel of an NRGBA buffer is the first.
func uniform(pix []byte) bool {
	for i := 4; i < len(pix); i += 4 {
		if !bytes.Equal(pix[i:i+4], pix[:4]) {
			return false
		}
	}
	return true
}
