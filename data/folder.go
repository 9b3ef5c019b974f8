package data

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gosiamese/gosiamese/preprocess"
)

// FolderOptions configures Folder. The zero value is the default.
type FolderOptions struct {
	// Strict makes the first unreadable or corrupt image file an error
	// naming it. By default (false) such files are skipped and listed in
	// the Report.
	Strict bool
}

// Folder loads a labelled image folder, root/<class>/<image>, with classes
// and images sorted by name. Files that preprocess.IsImageFile rejects,
// hidden entries, nested folders and files directly in root are ignored
// (counted in Report.Ignored). Each image's header is checked when the
// folder is scanned, so that a file that cannot be read, does not decode
// or claims an empty image or one over preprocess.MaxPixels is skipped
// (listed in Report.Skipped) or, with opts.Strict, an error; pixels are
// decoded later, by Image. A root without images is an error.
func Folder(root string, opts FolderOptions) (*Images, Report, error) {
	var rep Report
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, rep, fmt.Errorf("data: %s: %w", root, unpath(err))
	}
	d := &Images{}
	for _, e := range entries { // ReadDir sorts by name.
		name := e.Name()
		if hidden(name) {
			rep.Ignored++
			continue
		}
		dir := filepath.Join(root, name)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			rep.Ignored++
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, rep, fmt.Errorf("data: %s: %w", dir, unpath(err))
		}
		class := len(d.classNames)
		n := 0
		for _, f := range files {
			fname := f.Name()
			path := filepath.Join(dir, fname)
			if hidden(fname) || !preprocess.IsImageFile(fname) {
				rep.Ignored++
				continue
			}
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				rep.Ignored++
				continue
			}
			if err := checkFile(path); err != nil {
				if opts.Strict {
					return nil, rep, fmt.Errorf("data: %s: %w", path, err)
				}
				rep.Skipped = append(rep.Skipped, SkippedFile{Name: path, Err: err})
				continue
			}
			d.names = append(d.names, path)
			d.paths = append(d.paths, path)
			d.classes = append(d.classes, class)
			n++
		}
		if n > 0 {
			d.classNames = append(d.classNames, name)
		}
	}
	if len(d.names) == 0 {
		return nil, rep, fmt.Errorf("data: %s: no images in class folders (%d skipped, %d ignored)", root, len(rep.Skipped), rep.Ignored)
	}
	return d, rep, nil
}

// hidden reports whether a file or folder name is hidden (starts with a
// dot) or is macOS archive debris.
func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || name == "__MACOSX"
}

// sortByClass orders the images of d by class name, then by name, and
// renumbers the classes in that order. classOf gives each image's class
// name.
func (d *Images) sortByClass(classOf []string) {
	idx := make([]int, len(d.names))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		if classOf[ia] != classOf[ib] {
			return classOf[ia] < classOf[ib]
		}
		return d.names[ia] < d.names[ib]
	})
	names := make([]string, len(idx))
	var paths []string
	if d.paths != nil {
		paths = make([]string, len(idx))
	}
	var blobs [][]byte
	if d.blobs != nil {
		blobs = make([][]byte, len(idx))
	}
	d.classes = make([]int, len(idx))
	d.classNames = d.classNames[:0]
	for k, i := range idx {
		names[k] = d.names[i]
		if paths != nil {
			paths[k] = d.paths[i]
		}
		if blobs != nil {
			blobs[k] = d.blobs[i]
		}
		if n := len(d.classNames); n == 0 || d.classNames[n-1] != classOf[i] {
			d.classNames = append(d.classNames, classOf[i])
		}
		d.classes[k] = len(d.classNames) - 1
	}
	d.names, d.paths, d.blobs = names, paths, blobs
}
