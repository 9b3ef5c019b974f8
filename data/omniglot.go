package data

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gosiamese/gosiamese/preprocess"
)

// MaxArchiveBytes bounds the total uncompressed size of the images Omniglot
// reads from a zip archive into memory: 1 GiB. The full Omniglot
// images_background.zip holds about 10 MB of PNGs.
const MaxArchiveBytes = 1 << 30

// Omniglot loads the Omniglot data set (Lake et al. 2015), laid out as
// alphabet/character/image, from a folder or straight from a .zip such as
// images_background.zip. A file's class is the two folders above it, such
// as "Latin/character01", so a top folder is ignored; classes and images
// are sorted by name. From a zip, the encoded images are read into memory
// once (CRC checked; at most MaxArchiveBytes) and named
// "archive.zip:entry". Headers are checked at load time and corrupt files
// skipped and reported, as in Folder.
func Omniglot(path string) (*Images, Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, Report{}, fmt.Errorf("data: %s: %w", path, unpath(err))
	}
	var (
		d   *Images
		rep Report
	)
	if st.IsDir() {
		d, rep, err = omniglotDir(path)
	} else {
		d, rep, err = omniglotZip(path)
	}
	if err != nil {
		return nil, rep, err
	}
	if d.Len() == 0 {
		return nil, rep, fmt.Errorf("data: %s: no images in alphabet/character folders (%d skipped, %d ignored)", path, len(rep.Skipped), rep.Ignored)
	}
	return d, rep, nil
}

// omniglotClass returns "alphabet/character" for a slash-separated path
// relative to the data set's root, or ok == false when the path is not an
// image at depth three or more or has a hidden component.
func omniglotClass(rel string) (class string, ok bool) {
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if p == "" || hidden(p) {
			return "", false
		}
	}
	if len(parts) < 3 || !preprocess.IsImageFile(rel) {
		return "", false
	}
	n := len(parts)
	return parts[n-3] + "/" + parts[n-2], true
}

// omniglotDir walks a folder.
func omniglotDir(root string) (*Images, Report, error) {
	var rep Report
	d := &Images{}
	var classOf []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("data: %s: %w", p, unpath(err))
		}
		if p == root {
			return nil
		}
		if hidden(e.Name()) {
			rep.Ignored++
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("data: %s: %w", p, err)
		}
		class, ok := omniglotClass(filepath.ToSlash(rel))
		if !ok {
			rep.Ignored++
			return nil
		}
		if err := checkFile(p); err != nil {
			rep.Skipped = append(rep.Skipped, SkippedFile{Name: p, Err: err})
			return nil
		}
		d.names = append(d.names, p)
		d.paths = append(d.paths, p)
		classOf = append(classOf, class)
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	d.sortByClass(classOf)
	return d, rep, nil
}

// omniglotZip reads an archive.
func omniglotZip(name string) (*Images, Report, error) {
	var rep Report
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, rep, fmt.Errorf("data: %s: %w", name, unpath(err))
	}
	defer zr.Close()

	type entry struct {
		f     *zip.File
		class string
	}
	var (
		entries []entry
		total   uint64
		seen    = map[string]bool{}
	)
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		class, ok := omniglotClass(f.Name)
		if !ok || seen[f.Name] {
			rep.Ignored++
			continue
		}
		seen[f.Name] = true
		total += f.UncompressedSize64
		if total > MaxArchiveBytes {
			return nil, rep, fmt.Errorf("data: %s: images exceed %d bytes uncompressed", name, MaxArchiveBytes)
		}
		entries = append(entries, entry{f, class})
	}

	d := &Images{blobs: [][]byte{}}
	var classOf []string
	for _, e := range entries {
		full := name + ":" + e.f.Name
		b, err := readEntry(e.f)
		if err == nil {
			err = checkHeader(b)
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, SkippedFile{Name: full, Err: err})
			continue
		}
		d.names = append(d.names, full)
		d.blobs = append(d.blobs, b)
		classOf = append(classOf, e.class)
	}
	d.sortByClass(classOf)
	return d, rep, nil
}

// readEntry reads a zip entry whole, checking that it holds exactly the
// declared number of bytes (and, through archive/zip, its CRC).
func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	size := f.UncompressedSize64
	b := make([]byte, 0, size)
	b, err = readAllInto(b, io.LimitReader(rc, int64(size)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) != size {
		return nil, errors.New("zip: size does not match the header")
	}
	return b, nil
}

// readAllInto appends everything from r to b.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
