// Command compare scores image pairs with a trained Siamese model.
//
//	compare -model model.safetensors a.jpg b.jpg
//
// prints the score (the probability that the two images show the same
// thing) and the verdict at the model's calibrated threshold;
//
//	compare -model model.safetensors -k 5 query.jpg REFS_DIR
//
// embeds every image in REFS_DIR once and prints the k references that
// score highest against the query, best first;
//
//	compare -model model.safetensors -index refs.index -k 5 query.jpg
//
// does the same with an index file that examples/index built from the
// references' search vectors, embedding the query alone: the k nearest
// the index finds (approximately: see package index), with the model's
// scores.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/internal/modelfile"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file written by examples/train or siamese.Model.Save (required)")
	k := fs.Int("k", 5, "number of references to list when the second argument is a folder (0: all)")
	indexPath := fs.String("index", "", "index file of the references (examples/index), searched instead of a folder: then QUERY is the only argument")
	threshold := fs.Float64("threshold", -1, "verdict threshold in [0, 1]; not given: the model's own (calibrated when trained with examples/train)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: compare -model M IMAGE_A IMAGE_B\n       compare -model M [-k N] QUERY REFS_DIR\n       compare -model M -index FILE [-k N] QUERY\n\nThe score is the probability that two images show the same thing.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *indexPath != "" && (*modelPath == "" || fs.NArg() != 1) {
		fmt.Fprintln(stderr, "compare: with -index, need -model and one argument (the query)")
		fs.Usage()
		return 2
	}
	if *indexPath == "" && (*modelPath == "" || fs.NArg() != 2) {
		fmt.Fprintln(stderr, "compare: need -model and two arguments")
		fs.Usage()
		return 2
	}
	if *indexPath != "" && *k == 0 {
		fmt.Fprintln(stderr, "compare: -k 0 (every reference) needs a folder: an index gives the k nearest")
		return 2
	}
	if *k < 0 {
		fmt.Fprintf(stderr, "compare: -k %d: want 0 (all references) or more\n", *k)
		return 2
	}
	thresholdGiven := false
	fs.Visit(func(f *flag.Flag) { thresholdGiven = thresholdGiven || f.Name == "threshold" })
	if thresholdGiven && !(*threshold >= 0 && *threshold <= 1) {
		fmt.Fprintf(stderr, "compare: -threshold %g outside [0, 1]\n", *threshold)
		return 2
	}
	m, err := modelfile.Load(*modelPath)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if thresholdGiven {
		if err := m.SetThreshold(*threshold); err != nil {
			fmt.Fprintln(stderr, "compare:", err)
			return 2
		}
	}
	query, err := preprocess.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if *indexPath != "" {
		return searchIndex(m, query, *indexPath, *k, stdout, stderr)
	}
	second := fs.Arg(1)
	if st, err := os.Stat(second); err == nil && st.IsDir() {
		return rank(m, query, second, *k, stdout, stderr)
	}
	other, err := preprocess.Load(second)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	s, err := m.Compare(query, other)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	verdict := "different"
	if m.Same(s) {
		verdict = "same"
	}
	fmt.Fprintf(stdout, "score %.4f  %s (threshold %.4f)\n", float64(s), verdict, m.Threshold())
	return 0
}

func rank(m *siamese.Model, query image.Image, dir string, k int, stdout, stderr io.Writer) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	var ids []string
	var imgs []image.Image
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !preprocess.IsImageFile(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		img, err := preprocess.Load(p)
		if err != nil {
			fmt.Fprintln(stderr, "compare:", err)
			return 1
		}
		ids, imgs = append(ids, p), append(imgs, img)
	}
	if len(imgs) == 0 {
		fmt.Fprintf(stderr, "compare: no images in %s\n", dir)
		return 1
	}
	sort.Sort(byID{ids, imgs})
	g, err := m.NewGallery(ids, imgs)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	matches, err := g.Search(query, k)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	printMatches(m, matches, stdout)
	return 0
}

// searchIndex prints the k references of the index file at path nearest
// to the query, with the model's scores.
func searchIndex(m *siamese.Model, query image.Image, path string, k int, stdout, stderr io.Writer) int {
	ix, err := index.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if err := ix.CheckModel(m); err != nil {
		fmt.Fprintf(stderr, "compare: %s: %v\n", path, err)
		return 1
	}
	q, err := m.SearchVectors(siamese.First, []image.Image{query})
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	hits, err := ix.Search(q[0], k)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	printMatches(m, index.Matches(m, hits), stdout)
	return 0
}

func printMatches(m *siamese.Model, matches []siamese.Match, stdout io.Writer) {
	for i, mt := range matches {
		verdict := "different"
		if m.Same(mt.Score) {
			verdict = "same"
		}
		fmt.Fprintf(stdout, "%2d. %.4f  %-9s  %s\n", i+1, float64(mt.Score), verdict, mt.ID)
	}
}

type byID struct {
	ids  []string
	imgs []image.Image
}

func (b byID) Len() int           { return len(b.ids) }
func (b byID) Less(i, j int) bool { return b.ids[i] < b.ids[j] }
func (b byID) Swap(i, j int) {
	b.ids[i], b.ids[j] = b.ids[j], b.ids[i]
	b.imgs[i], b.imgs[j] = b.imgs[j], b.imgs[i]
}
