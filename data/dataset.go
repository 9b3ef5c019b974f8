package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"github.com/gosiamese/gosiamese/internal/imageread"
	"github.com/gosiamese/gosiamese/preprocess"
)

// Dataset is a list of labelled images. Image indices run from 0 to Len()-1,
// class indices from 0 to NumClasses()-1.
//
// Implementations in this package are safe for concurrent use: Image may be
// called from several goroutines at once. Image decodes on every call (the
// Batcher caches decoded images when asked to); it returns an error, never
// panics, for an index out of range or an unreadable image, and the error
// names the image (Name).
type Dataset interface {
	// Len is the number of images.
	Len() int
	// Class is the class index of image i, in [0, NumClasses()).
	Class(i int) int
	// NumClasses is the number of classes.
	NumClasses() int
	// ClassName is a human-readable name of class c.
	ClassName(c int) string
	// Name identifies image i in messages: a path, a zip entry or an id.
	Name(i int) string
	// Image decodes image i.
	Image(i int) (image.Image, error)
}

// SkippedFile is a file a loader left out, with the reason.
type SkippedFile struct {
	// Name is the file's path (or archive:entry).
	Name string
	// Err says why it was skipped.
	Err error
}

// Report says what a loader left out.
type Report struct {
	// Skipped lists image files that could not be read or decoded
	// (checked with image.DecodeConfig), in scan order.
	Skipped []SkippedFile
	// Ignored counts entries that are not candidate images: hidden files
	// and folders, files with a non-image extension, files outside the
	// expected layout.
	Ignored int
}

// errIndex reports an image index out of range.
func errIndex(i, n int) error {
	return fmt.Errorf("data: image index %d out of range [0, %d)", i, n)
}

// Images is a Dataset of encoded images: files on disk, or encoded bytes
// held in memory (zip entries). It is what Folder, Omniglot and PairsCSV
// return. Images are decoded by preprocess.Decode on every call to Image,
// so any format it handles works and the JPEG EXIF orientation is applied.
type Images struct {
	names      []string // path or archive:entry, for messages
	paths      []string // file to read when blobs is nil
	blobs      [][]byte // encoded bytes held in memory, or nil
	classes    []int
	classNames []string
}

// Len returns the number of images.
func (d *Images) Len() int { return len(d.names) }

// Class returns the class of image i, or -1 when i is out of range.
func (d *Images) Class(i int) int {
	if i < 0 || i >= len(d.classes) {
		return -1
	}
	return d.classes[i]
}

// NumClasses returns the number of classes.
func (d *Images) NumClasses() int { return len(d.classNames) }

// ClassName returns the name of class c, or "" when c is out of range.
func (d *Images) ClassName(c int) string {
	if c < 0 || c >= len(d.classNames) {
		return ""
	}
	return d.classNames[c]
}

// Name returns the path (or archive:entry) of image i, or "" when i is
// out of range.
func (d *Images) Name(i int) string {
	if i < 0 || i >= len(d.names) {
		return ""
	}
	return d.names[i]
}

// Image decodes image i. Errors name the file, for example
// "data: a/b.png: preprocess: image: unknown format".
func (d *Images) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(d.names) {
		return nil, errIndex(i, len(d.names))
	}
	var b []byte
	if d.blobs != nil {
		b = d.blobs[i]
	} else {
		var err error
		b, err = os.ReadFile(d.paths[i])
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", d.names[i], unpath(err))
		}
	}
	img, err := preprocess.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", d.names[i], err)
	}
	return img, nil
}

// unpath drops the *fs.PathError wrapper (whose text repeats the path) and
// keeps the underlying error, so messages name the file once.
func unpath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkHeader decodes the image header from b (cheap: no pixels) and
// rejects empty or absurdly large images.
func checkHeader(b []byte) error {
	cfg, _, err := imageread.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return checkDims(cfg)
}

// checkDims validates the dimensions of a decoded header.
func checkDims(cfg image.Config) error {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("empty image (%dx%d)", cfg.Width, cfg.Height)
	}
	// The same bound as the decoder's, so that a file accepted at scan
	// time also decodes.
	if lim := preprocess.MaxPixels; int64(cfg.Width)*int64(cfg.Height) > lim {
		return fmt.Errorf("%dx%d pixels exceeds the limit of %d", cfg.Width, cfg.Height, lim)
	}
	return nil
}

// checkFile opens path and checks its header with checkHeader, reading
// only the header.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return unpath(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return syscall.EISDIR
	}
	cfg, _, err := imageread.DecodeConfig(f)
	if err != nil {
		return err
	}
	return checkDims(cfg)
}

// Memory is a Dataset of decoded images held in memory, handy for tests
// and for images produced by code. Image returns the stored image itself;
// callers must not modify it.
type Memory struct {
	images     []image.Image
	classes    []int
	classNames []string
}

// NewMemory returns a Dataset over images with the given classes
// (classes[i] is the class of images[i]). classNames names the classes;
// when nil the classes are named "0", "1", ... up to the largest class
// index. Errors: mismatched lengths, a negative class, a class without a
// name, a nil image.
func NewMemory(images []image.Image, classes []int, classNames []string) (*Memory, error) {
	if len(images) != len(classes) {
		return nil, fmt.Errorf("data: %d images but %d classes", len(images), len(classes))
	}
	maxc := -1
	for i, c := range classes {
		if c < 0 {
			return nil, fmt.Errorf("data: image %d: negative class %d", i, c)
		}
		if images[i] == nil {
			return nil, fmt.Errorf("data: image %d is nil", i)
		}
		maxc = max(maxc, c)
	}
	if classNames == nil {
		classNames = indexNames(maxc + 1)
	} else if maxc >= len(classNames) {
		return nil, fmt.Errorf("data: class %d has no name (%d names)", maxc, len(classNames))
	}
	return &Memory{
		images:     append([]image.Image(nil), images...),
		classes:    append([]int(nil), classes...),
		classNames: append([]string(nil), classNames...),
	}, nil
}

// indexNames returns "0", "1", ..., n-1.
func indexNames(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}

// Len returns the number of images.
func (m *Memory) Len() int { return len(m.images) }

// Class returns the class of image i, or -1 when i is out of range.
func (m *Memory) Class(i int) int {
	if i < 0 || i >= len(m.classes) {
		return -1
	}
	return m.classes[i]
}

// NumClasses returns the number of classes.
func (m *Memory) NumClasses() int { return len(m.classNames) }

// ClassName returns the name of class c, or "" when out of range.
func (m *Memory) ClassName(c int) string {
	if c < 0 || c >= len(m.classNames) {
		return ""
	}
	return m.classNames[c]
}

// Name returns "#i" for image i.
func (m *Memory) Name(i int) string { return "#" + strconv.Itoa(i) }

// Image returns image i.
func (m *Memory) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(m.images) {
		return nil, errIndex(i, len(m.images))
	}
	return m.images[i], nil
}
