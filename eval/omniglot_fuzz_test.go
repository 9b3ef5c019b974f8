package eval

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzOmniglotRuns reads a fake run layout whose class_labels.txt holds
// arbitrary bytes, at the top of the file system (run01/...) or one folder
// down (all_runs/run01/...). Nothing may panic, errors carry the package
// prefix, and accepted runs are consistent.
//
//	go test ./eval -run '^$' -fuzz FuzzOmniglotRuns -fuzztime 15s
func FuzzOmniglotRuns(f *testing.F) {
	for _, s := range []string{
		"run01/test/item01.png run01/training/class01.png\nrun01/test/item02.png run01/training/class02.png\n",
		"test/item02.png training/class01.png\r\n\r\ntest/item01.png training/class02.png\r\n",
		"run01/test/item01.png run01/training/class01.png\n",
		"test/item01.png training/class01.png\ntest/item01.png training/class02.png\n",
		"test/item01.png test/item01.png\n",
		"test/item01.png training/class01.png\ntraining/class01.png training/class02.png\n",
		"../run02/test/item01.png training/class01.png\n",
		"/etc/passwd training/class01.png\n",
		"test/item01.png training/class09.png\n",
		"test/item01.png class_labels.txt\n",
		"test/item01.png training\n",
		"test/item01.png training/class01.png extra\n",
		"./test//item01.png training/./class01.png\n",
		"run01 training/class01.png\n",
		"\n\n",
		"",
		"\x00\xff\t\v\f \u00a0\u2028",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		f.Fatal(err)
	}
	img := buf.Bytes()
	f.Fuzz(func(t *testing.T, labels []byte, nested bool) {
		root := ""
		if nested {
			root = "all_runs/"
		}
		fsys := fstest.MapFS{}
		for _, name := range []string{"test/item01.png", "test/item02.png", "training/class01.png", "training/class02.png"} {
			fsys[root+"run01/"+name] = &fstest.MapFile{Data: img}
		}
		fsys[root+"run01/test/corrupt.png"] = &fstest.MapFile{Data: img[:len(img)/2]}
		fsys[root+"run01/"+labelsFile] = &fstest.MapFile{Data: labels}

		runs, err := LoadOmniglotRunsFS(fsys)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "eval: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if len(runs) != 1 || runs[0].Name != "run01" {
			t.Fatalf("got %d runs, want run01", len(runs))
		}
		r := runs[0]
		if len(r.Tasks) == 0 || len(r.Tasks) != len(r.TestFiles) || len(r.TrainFiles) == 0 {
			t.Fatalf("%d tasks, %d test files, %d training files", len(r.Tasks), len(r.TestFiles), len(r.TrainFiles))
		}
		for i, task := range r.Tasks {
			if task.Test == nil || len(task.Train) != len(r.TrainFiles) || task.Answer < 0 || task.Answer >= len(task.Train) {
				t.Fatalf("task %d: %d training images, answer %d", i, len(task.Train), task.Answer)
			}
			for _, tr := range r.TrainFiles {
				if tr == r.TestFiles[i] {
					t.Fatalf("%s is both a test and a training image", tr)
				}
			}
		}
	})
}
