package siamese_test

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/gosiamese/gosiamese/siamese"
)

// Search vectors go into an external vector store (Faiss, Qdrant, Milvus,
// pgvector) under the metric SearchMetric names: its plain distance then
// ranks references as Gallery.Search ranks them.
func ExampleModel_FoldHead() {
	m := smallModel()
	imgs := []image.Image{square(color.NRGBA{200, 30, 30, 255}), square(color.NRGBA{30, 30, 200, 255})}
	refs, err := m.SearchVectors(siamese.Second, imgs) // to store
	if err != nil {
		panic(err)
	}
	q, err := m.SearchVectors(siamese.First, imgs[:1]) // to query with
	if err != nil {
		panic(err)
	}
	l1 := func(a, b []float32) (s float64) {
		for i := range a {
			s += math.Abs(float64(a[i] - b[i]))
		}
		return s
	}
	fmt.Println("metric:", m.SearchMetric(), "dimensions:", len(q[0]))
	fmt.Println("red nearer than blue:", l1(q[0], refs[0]) < l1(q[0], refs[1]))
	// Output:
	// metric: l1 dimensions: 16
	// red nearer than blue: true
}
