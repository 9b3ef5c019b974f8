package bulk

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gosiamese/gosiamese/preprocess"
)

// Folder returns the paths of the image files (preprocess.IsImageFile)
// under root, at any depth, in lexical order. Hidden files and folders
// (names starting with ".") are left out.
func Folder(root string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := p != root && strings.HasPrefix(d.Name(), ".")
		switch {
		case d.IsDir() && hidden:
			return filepath.SkipDir
		case !d.IsDir() && !hidden && preprocess.IsImageFile(p):
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("bulk: %s: no image files", root)
	}
	return paths, nil
}

// ReadList reads image paths from r, one a line, as a list file or
// standard input gives them: blank lines and lines starting with "#" are
// left out, and spaces around a path are trimmed (a CR of CRLF line ends
// too).
func ReadList(r io.Reader) ([]string, error) {
	var paths []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			paths = append(paths, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bulk: reading the list of paths: %w", err)
	}
	return paths, nil
}
