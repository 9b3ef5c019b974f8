package data

import (
	"fmt"
	"image"
	"path"
	"path/filepath"
	"sort"
)

// Union is several labelled data sets as one (Omniglot's background
// archives): classes with the same name are one class, and an image whose
// file name already appears in its class (the same Omniglot drawing in two
// archives, as the Greek and Latin alphabets of
// images_background_small1.zip and images_background_small2.zip) is kept
// once, from the first set that has it. Classes are sorted by name and the
// images of a class by file name, so the order of the sets does not change
// the indices.
type Union struct {
	parts      []Dataset
	part, idx  []int // image i is image idx[i] of parts[part[i]]
	classes    []int
	classNames []string
	dropped    int // images left out as already present
}

func NewUnion(parts ...Dataset) *Union {
	type ref struct {
		part, idx int
		base      string
	}
	byClass := map[string][]ref{}
	seen := map[[2]string]bool{}
	u := &Union{parts: parts}
	for p, ds := range parts {
		for i := range ds.Len() {
			class := ds.ClassName(ds.Class(i))
			base := path.Base(filepath.ToSlash(ds.Name(i)))
			if key := [2]string{class, base}; seen[key] {
				u.dropped++
				continue
			} else {
				seen[key] = true
			}
			byClass[class] = append(byClass[class], ref{p, i, base})
		}
	}
	for name := range byClass {
		u.classNames = append(u.classNames, name)
	}
	sort.Strings(u.classNames)
	for c, name := range u.classNames {
		refs := byClass[name]
		sort.SliceStable(refs, func(a, b int) bool { return refs[a].base < refs[b].base })
		for _, r := range refs {
			u.part, u.idx, u.classes = append(u.part, r.part), append(u.idx, r.idx), append(u.classes, c)
		}
	}
	return u
}

// Dropped returns the number of images left out as already present.
func (u *Union) Dropped() int { return u.dropped }

func (u *Union) Len() int { return len(u.classes) }

func (u *Union) Class(i int) int {
	if i < 0 || i >= len(u.classes) {
		return -1
	}
	return u.classes[i]
}

func (u *Union) NumClasses() int { return len(u.classNames) }

func (u *Union) ClassName(c int) string {
	if c < 0 || c >= len(u.classNames) {
		return ""
	}
	return u.classNames[c]
}

func (u *Union) Name(i int) string {
	if i < 0 || i >= len(u.classes) {
		return ""
	}
	return u.parts[u.part[i]].Name(u.idx[i])
}

func (u *Union) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(u.classes) {
		return nil, fmt.Errorf("data: image index %d out of range [0, %d)", i, len(u.classes))
	}
	return u.parts[u.part[i]].Image(u.idx[i])
}
