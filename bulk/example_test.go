package bulk_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/resnet"
	"github.com/gosiamese/gosiamese/siamese"
)

// Embed a folder of images into Parquet shards, then read one back.
func ExampleRun() {
	tmp, _ := os.MkdirTemp("", "bulk")
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "photos")
	os.MkdirAll(filepath.Join(src, "cats"), 0o755)
	for i := range 3 {
		img := image.NewGray(image.Rect(0, 0, 40, 40))
		for p := range img.Pix {
			img.Pix[p] = uint8(p * (i + 1))
		}
		f, _ := os.Create(filepath.Join(src, "cats", fmt.Sprintf("%d.png", i)))
		png.Encode(f, img)
		f.Close()
	}
	os.WriteFile(filepath.Join(src, "readme.png"), []byte("not an image"), 0o644)

	m, err := siamese.New(siamese.Config{Encoder: resnet.Config{Depth: 18, Width: 8}, Hidden: []int{16}, Input: preprocess.Config{Size: 32}, Seed: 1})
	if err != nil {
		panic(err)
	}
	paths, err := bulk.Folder(src)
	if err != nil {
		panic(err)
	}
	res, err := bulk.Run(context.Background(), m, paths, bulk.Config{Dir: filepath.Join(tmp, "out")})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Embedded, "embedded in", filepath.Base(res.Shards[0]))
	for _, s := range res.Skipped {
		fmt.Println("skipped", filepath.Base(s.Path)+":", s.Reason)
	}
	rows, err := bulk.ReadShard(res.Shards[0])
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(rows[0].Path), len(rows[0].Embedding), "values")
	// Output:
	// 3 embedded in part-00000.parquet
	// skipped readme.png: not an image
	// 0.png 16 values
}
