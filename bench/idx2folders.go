//go:build ignore

// Idx2folders writes the images of an IDX (MNIST-format) file pair as PNGs in
// one sub-folder per class, for the classes named: a data.Folder tree, such as
// Fashion-MNIST's seven training classes and three unseen test classes:
//
//	F=/usr/share/datasets/fashion-mnist  # Debian's dataset-fashion-mnist
//	N=tshirt,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,ankleboot
//	go run bench/idx2folders.go -images $F/train-images-idx3-ubyte.gz -labels $F/train-labels-idx1-ubyte.gz -classes 0,1,2,3,4,5,6 -names $N -out fashion/train
//	go run bench/idx2folders.go -images $F/t10k-images-idx3-ubyte.gz -labels $F/t10k-labels-idx1-ubyte.gz -classes 7,8,9 -names $N -out fashion/test
package main

import (
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func read(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		g, err := gzip.NewReader(f)
		if err != nil {
			log.Fatal(err)
		}
		r = g
	}
	b, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func main() {
	images := flag.String("images", "", "idx3 images file")
	labels := flag.String("labels", "", "idx1 labels file")
	out := flag.String("out", "", "output folder")
	classes := flag.String("classes", "", "comma-separated labels to write")
	names := flag.String("names", "", "comma-separated folder names for labels 0..9")
	flag.Parse()
	im, lb := read(*images), read(*labels)
	if len(im) < 16 || binary.BigEndian.Uint32(im) != 2051 || len(lb) < 8 || binary.BigEndian.Uint32(lb) != 2049 {
		log.Fatal("idx2folders: want an idx3 images file and an idx1 labels file")
	}
	n := int(binary.BigEndian.Uint32(im[4:]))
	h, w := int(binary.BigEndian.Uint32(im[8:])), int(binary.BigEndian.Uint32(im[12:]))
	if int(binary.BigEndian.Uint32(lb[4:])) != n || len(lb) < 8+n || len(im) < 16+n*h*w {
		log.Fatal("idx2folders: the files' counts and sizes do not match")
	}
	want := map[int]bool{}
	for _, s := range strings.Split(*classes, ",") {
		c, err := strconv.Atoi(s)
		if err != nil {
			log.Fatal(err)
		}
		want[c] = true
	}
	nm := strings.Split(*names, ",")
	count := 0
	for i := 0; i < n; i++ {
		c := int(lb[8+i])
		if !want[c] {
			continue
		}
		dir := filepath.Join(*out, fmt.Sprintf("%d-%s", c, nm[c]))
		os.MkdirAll(dir, 0o755)
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, im[16+i*h*w:16+(i+1)*h*w])
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, g); err != nil {
			log.Fatal(err)
		}
		f.Close()
		count++
	}
	fmt.Println(count, "images written to", *out)
}
