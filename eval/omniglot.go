package eval

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/gosiamese/gosiamese/preprocess"
)

// Run is one N-way one-shot classification run: Omniglot's official runs
// are 20 tasks each, every task one test image against the same 20
// training images (one per character).
type Run struct {
	// Name is the run's folder, such as "run01".
	Name string
	// Tasks[i] classifies the test image TestFiles[i]. All tasks share
	// one Train slice (the same images, decoded once), in the order of
	// TrainFiles.
	Tasks []Task
	// TestFiles and TrainFiles are the images' paths inside the run
	// folder, such as "test/item01.png" and "training/class08.png".
	TestFiles, TrainFiles []string
}

// labelsFile is the file of each run that names the correct training
// image for each test image.
const labelsFile = "class_labels.txt"

// LoadOmniglotRuns reads Omniglot's one-shot runs (Lake et al. 2015) from
// the all_runs folder or all_runs.zip: folders runNN, possibly one level
// down, each with test/, training/ and class_labels.txt, whose lines pair
// a test image with its training image. As in Lake's
// demo_classification.py, a run's tasks are its test images in sorted
// order and the candidates its training images in sorted order. Runs come
// sorted by name; errors name the file and, in class_labels.txt, the line.
func LoadOmniglotRuns(path string) ([]Run, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if fi.IsDir() {
		runs, err := LoadOmniglotRunsFS(os.DirFS(path))
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, path)
		}
		return runs, nil
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	defer z.Close()
	runs, err := LoadOmniglotRunsFS(z)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return runs, nil
}

// LoadOmniglotRunsFS is LoadOmniglotRuns on a file system, such as an
// os.DirFS or a *zip.Reader.
func LoadOmniglotRunsFS(fsys fs.FS) ([]Run, error) {
	files, err := fs.Glob(fsys, "run*/"+labelsFile)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if len(files) == 0 {
		if files, err = fs.Glob(fsys, "*/run*/"+labelsFile); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("eval: no runNN/%s found", labelsFile)
	}
	sort.Strings(files)
	runs := make([]Run, 0, len(files))
	for _, f := range files {
		r, err := loadRun(fsys, path.Dir(f))
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// loadRun reads the run in folder dir of fsys.
func loadRun(fsys fs.FS, dir string) (Run, error) {
	name := path.Base(dir)
	lf := path.Join(dir, labelsFile)
	f, err := fsys.Open(lf)
	if err != nil {
		return Run{}, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()

	// resolve turns a path from the labels file into one relative to the
	// run folder.
	resolve := func(p string) (string, bool) {
		p = strings.TrimPrefix(path.Clean(p), name+"/")
		return p, p != "." && fs.ValidPath(p)
	}

	answer := make(map[string]string) // test file -> training file
	trainSet := make(map[string]bool)
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return Run{}, fmt.Errorf("eval: %s:%d: want 2 paths (test image, training image), got %d fields", lf, line, len(fields))
		}
		test, ok := resolve(fields[0])
		if !ok {
			return Run{}, fmt.Errorf("eval: %s:%d: test image %q is outside the run folder", lf, line, fields[0])
		}
		train, ok := resolve(fields[1])
		if !ok {
			return Run{}, fmt.Errorf("eval: %s:%d: training image %q is outside the run folder", lf, line, fields[1])
		}
		if test == train {
			return Run{}, fmt.Errorf("eval: %s:%d: test and training image are the same file %s", lf, line, test)
		}
		if _, dup := answer[test]; dup {
			return Run{}, fmt.Errorf("eval: %s:%d: test image %s listed twice", lf, line, test)
		}
		answer[test] = train
		trainSet[train] = true
	}
	if err := sc.Err(); err != nil {
		return Run{}, fmt.Errorf("eval: %s:%d: %w", lf, line+1, err)
	}
	if len(answer) == 0 {
		return Run{}, fmt.Errorf("eval: %s: no pairs", lf)
	}
	for t := range answer {
		if trainSet[t] {
			return Run{}, fmt.Errorf("eval: %s: %s is both a test and a training image", lf, t)
		}
	}

	r := Run{Name: name}
	for t := range answer {
		r.TestFiles = append(r.TestFiles, t)
	}
	for t := range trainSet {
		r.TrainFiles = append(r.TrainFiles, t)
	}
	sort.Strings(r.TestFiles)
	sort.Strings(r.TrainFiles)
	trainIndex := make(map[string]int, len(r.TrainFiles))
	train := make([]image.Image, len(r.TrainFiles))
	for i, t := range r.TrainFiles {
		trainIndex[t] = i
		if train[i], err = decode(fsys, path.Join(dir, t)); err != nil {
			return Run{}, err
		}
	}
	r.Tasks = make([]Task, len(r.TestFiles))
	for i, t := range r.TestFiles {
		img, err := decode(fsys, path.Join(dir, t))
		if err != nil {
			return Run{}, err
		}
		r.Tasks[i] = Task{Test: img, Train: train, Answer: trainIndex[answer[t]]}
	}
	return r, nil
}

// decode reads one image of fsys.
func decode(fsys fs.FS, name string) (image.Image, error) {
	f, err := fsys.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("eval: %s: %w", name, err)
	}
	defer f.Close()
	img, err := preprocess.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", name, err)
	}
	return img, nil
}
