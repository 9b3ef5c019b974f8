package eval

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
)

// Labelled is a collection of images with classes, such as a data.Dataset.
type Labelled interface {
	Len() int
	Class(i int) int
	Image(i int) (image.Image, error)
}

// Episodes draws N-way one-shot tasks from the images of src listed in
// indices (nil: all of them). Each episode picks ways classes and, from
// each, two different images: the class's reference and a query. Each
// query becomes a task whose candidates are the episode's references, so
// an episode gives ways tasks sharing one Train slice. Classes with fewer
// than two images are skipped. The draw depends on seed alone, and each
// image is decoded once.
func Episodes(src Labelled, indices []int, ways, episodes int, seed uint64) ([]Task, error) {
	if src == nil || ways < 2 || episodes < 1 {
		return nil, fmt.Errorf("eval: episodes: %d ways, %d episodes (want images, at least 2 ways and 1 episode)", ways, episodes)
	}
	if indices == nil {
		indices = make([]int, src.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	byClass := map[int][]int{}
	for _, i := range indices {
		byClass[src.Class(i)] = append(byClass[src.Class(i)], i)
	}
	var classes []int
	for c, is := range byClass {
		if len(is) >= 2 {
			classes = append(classes, c)
		}
	}
	if len(classes) < ways {
		return nil, fmt.Errorf("eval: episodes: %d classes with two or more images, want at least %d", len(classes), ways)
	}
	slices.Sort(classes)
	rng := rand.New(rand.NewPCG(seed, 0x6f6e6573686f74)) // "oneshot"
	decoded := map[int]image.Image{}
	get := func(i int) (image.Image, error) {
		if img, ok := decoded[i]; ok {
			return img, nil
		}
		img, err := src.Image(i)
		if err != nil {
			return nil, fmt.Errorf("eval: episodes: %w", err)
		}
		decoded[i] = img
		return img, nil
	}
	var tasks []Task
	for range episodes {
		perm := rng.Perm(len(classes))[:ways]
		refs := make([]image.Image, ways)
		queries := make([]image.Image, ways)
		for w, ci := range perm {
			is := byClass[classes[ci]]
			pick := rng.Perm(len(is))
			var err error
			if refs[w], err = get(is[pick[0]]); err != nil {
				return nil, err
			}
			if queries[w], err = get(is[pick[1]]); err != nil {
				return nil, err
			}
		}
		for w := range ways {
			tasks = append(tasks, Task{Test: queries[w], Train: refs, Answer: w})
		}
	}
	return tasks, nil
}
