package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/bulk"
	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/internal/detrand"
	"github.com/gosiamese/gosiamese/internal/modeltest"
	"github.com/gosiamese/gosiamese/siamese"
)

// embedFolder embeds six noise images with the model at model into
// dir/emb, as embed -out does, search vectors or plain embeddings.
func embedFolder(t *testing.T, dir, model string, search bool) string {
	t.Helper()
	var paths []string
	for i := range 6 {
		p := filepath.Join(dir, fmt.Sprintf("img%d.png", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, detrand.Image(p, 32, 32)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, p)
	}
	m, err := siamese.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, fmt.Sprintf("emb-%v", search))
	if _, err := bulk.Run(context.Background(), m, paths, bulk.Config{Dir: out, Search: search, Format: bulk.JSONL}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIndex(t *testing.T) {
	dir := t.TempDir()
	model := modeltest.Siamese(t, dir, 0)
	search := embedFolder(t, dir, model, true)
	plain := embedFolder(t, dir, model, false)
	file := filepath.Join(dir, "refs.index")
	var out, errOut bytes.Buffer
	if rc := run([]string{"-in", search, "-out", file, "-lists", "2"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if !strings.Contains(out.String(), "6 vectors of 16, metric l1, 2 lists, 1 probed") {
		t.Errorf("output %q", out.String())
	}
	ix, err := index.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := siamese.Load(model)
	if err := ix.CheckModel(m); err != nil {
		t.Error(err)
	}
	// Plain embeddings need the model; with it they give the same file.
	folded := filepath.Join(dir, "folded.index")
	if rc := run([]string{"-in", plain, "-out", folded, "-lists", "2"}, &out, &errOut); rc != 1 || !strings.Contains(errOut.String(), "plain embeddings") {
		t.Errorf("plain embeddings without -model: exit %d, %q", rc, errOut.String())
	}
	if rc := run([]string{"-in", plain, "-out", folded, "-lists", "2", "-model", model}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	a, _ := os.ReadFile(file)
	b, _ := os.ReadFile(folded)
	if !bytes.Equal(a, b) {
		t.Error("the index of plain embeddings folded with -model differs from that of search vectors")
	}
	other := modeltest.Siamese(t, t.TempDir(), 1)
	cases := []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"-in", search}, 2, "need -in and -out"},
		{[]string{"-in", search, "-out", file, "x"}, 2, "no arguments"},
		{[]string{"-in", search, "-out", file, "-lists", "-1"}, 2, "negative"},
		{[]string{"-in", dir, "-out", file}, 1, "manifest.json"},
		{[]string{"-in", search, "-out", file, "-model", other}, 1, "another model"},
		{[]string{"-in", search, "-out", file, "-lists", "7"}, 1, "Lists"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		rc := run(c.args, &out, &errOut)
		if rc != c.rc || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, rc, errOut.String(), c.rc, c.want)
		}
	}
}
