package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// PairsCSVOptions configures PairsCSV. The zero value is the default.
type PairsCSVOptions struct {
	// NoCheck skips the load-time check of every referenced image (that
	// it exists and its header decodes). By default (false) a missing or
	// corrupt image is an error naming the CSV line that first uses it.
	NoCheck bool
}

// PairsCSV reads labelled pairs from a CSV file with the columns path_a,
// path_b and same (in any order and case; others are ignored):
//
//	path_a,path_b,same
//	alice/1.jpg,alice/2.jpg,1
//	alice/1.jpg,bob/1.jpg,false
//
// same is 1, 0, true or false; 1 and true mean "same". Paths are relative
// to the CSV's folder. It returns the distinct images, each its own class,
// and the pairs as indices into them. Errors name the file and line.
func PairsCSV(path string, opts PairsCSVOptions) (*Images, []LabeledPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, unpath(err))
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true

	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("data: %s: empty file, want a header path_a,path_b,same", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	hline, _ := r.FieldPos(0)
	col := map[string]int{"path_a": -1, "path_b": -1, "same": -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if c, ok := col[h]; ok && c < 0 {
			col[h] = i
		}
	}
	for _, name := range []string{"path_a", "path_b", "same"} {
		if col[name] < 0 {
			return nil, nil, fmt.Errorf("data: %s:%d: header has no column %q (want path_a,path_b,same)", path, hline, name)
		}
	}
	need := max(col["path_a"], col["path_b"], col["same"]) + 1

	dir := filepath.Dir(path)
	d := &Images{}
	index := map[string]int{}
	var pairs []LabeledPair
	imageIndex := func(p string, line int) (int, error) {
		p = strings.TrimSpace(p)
		if p == "" {
			return 0, fmt.Errorf("data: %s:%d: empty path", path, line)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		p = filepath.Clean(p)
		if i, ok := index[p]; ok {
			return i, nil
		}
		if !opts.NoCheck {
			if err := checkFile(p); err != nil {
				return 0, fmt.Errorf("data: %s:%d: %s: %w", path, line, p, err)
			}
		}
		i := len(d.names)
		index[p] = i
		d.names = append(d.names, p)
		d.paths = append(d.paths, p)
		d.classes = append(d.classes, i)
		d.classNames = append(d.classNames, p)
		return i, nil
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("data: %s:%d: %w", path, pe.Line, pe.Err)
			}
			return nil, nil, fmt.Errorf("data: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) < need {
			return nil, nil, fmt.Errorf("data: %s:%d: %d fields, want at least %d", path, line, len(rec), need)
		}
		label, err := parseSame(rec[col["same"]])
		if err != nil {
			return nil, nil, fmt.Errorf("data: %s:%d: %w", path, line, err)
		}
		a, err := imageIndex(rec[col["path_a"]], line)
		if err != nil {
			return nil, nil, err
		}
		b, err := imageIndex(rec[col["path_b"]], line)
		if err != nil {
			return nil, nil, err
		}
		pairs = append(pairs, LabeledPair{A: a, B: b, Label: label})
	}
	if len(pairs) == 0 {
		return nil, nil, fmt.Errorf("data: %s: no pairs after the header", path)
	}
	return d, pairs, nil
}

// parseSame reads the same column: 1/true is 1, 0/false is 0.
func parseSame(s string) (float32, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true":
		return 1, nil
	case "0", "false":
		return 0, nil
	}
	return 0, fmt.Errorf("same is %q, want 1, 0, true or false", s)
}
