package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/gosiamese/gosiamese/siamese"
)

// small builds a small index of each metric for the file tests.
func small(t testing.TB, metric siamese.Distance) (*Index, [][]float32) {
	t.Helper()
	vecs := clustered(120, 8, 6, 0.7, 21)
	ix, err := Build(metric, names(100), vecs[:100], Config{Lists: 5, Probe: 2, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	ix.SetMetadata(map[string]string{"note": "test"})
	return ix, vecs[100:]
}

// TestSaveLoad checks that a loaded index is the saved one: the same
// answers to every query bit for bit, the same settings and metadata,
// and the same bytes when saved again.
func TestSaveLoad(t *testing.T) {
	for _, metric := range metrics {
		t.Run(metric.String(), func(t *testing.T) {
			ix, qs := small(t, metric)
			path := filepath.Join(t.TempDir(), "refs.index")
			if err := ix.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if back.Metric() != metric || back.Len() != 100 || back.Dim() != 8 || back.Lists() != 5 || back.Probe() != 2 || back.Metadata()["note"] != "test" {
				t.Fatalf("loaded %v, %d vectors of %d, %d lists, probe %d, metadata %v", back.Metric(), back.Len(), back.Dim(), back.Lists(), back.Probe(), back.Metadata())
			}
			for qi, q := range qs {
				a, err := ix.Search(q, 7)
				if err != nil {
					t.Fatal(err)
				}
				b, err := back.Search(q, 7)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("query %d: saved index %v, loaded %v", qi, a, b)
				}
			}
			// Adding to both keeps them alike: the centroids came back.
			if err := ix.Add([]string{"new"}, qs[:1]); err != nil {
				t.Fatal(err)
			}
			if err := back.Add([]string{"new"}, qs[:1]); err != nil {
				t.Fatal(err)
			}
			var w1, w2 bytes.Buffer
			if _, err := ix.WriteTo(&w1); err != nil {
				t.Fatal(err)
			}
			if _, err := back.WriteTo(&w2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w1.Bytes(), w2.Bytes()) {
				t.Error("the loaded index, saved again after the same Add, differs from the original")
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func encoded(t testing.TB, ix *Index) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := ix.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReadDamaged feeds Read every prefix of a file, the file with each
// byte altered in turn, and files of other kinds, and checks each error.
func TestReadDamaged(t *testing.T) {
	ix, _ := small(t, siamese.L2)
	file := encoded(t, ix)
	if _, err := Read(bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(file); n++ {
		_, err := Read(bytes.NewReader(file[:n]))
		want := ErrDamaged
		if n < len(magic) {
			want = ErrNotIndex
		}
		if !errors.Is(err, want) {
			t.Fatalf("file cut to %d of %d bytes: %v, want %v", n, len(file), err, want)
		}
	}
	for i := len(magic); i < len(file); i++ {
		bad := bytes.Clone(file)
		bad[i] ^= 0x20
		_, err := Read(bytes.NewReader(bad))
		if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrVersion) {
			t.Fatalf("byte %d altered: %v, want ErrDamaged", i, err)
		}
	}
	if _, err := Read(bytes.NewReader(append(bytes.Clone(file), 0))); !errors.Is(err, ErrDamaged) {
		t.Errorf("a byte after the checksum: %v, want ErrDamaged", err)
	}
	for _, other := range [][]byte{nil, []byte("path,embedding\n"), []byte("PAR1\x00\x00\x00\x00")} {
		if _, err := Read(bytes.NewReader(other)); !errors.Is(err, ErrNotIndex) {
			t.Errorf("%q: %v, want ErrNotIndex", other, err)
		}
	}
	// A header of another version, with a valid checksum.
	hl := binary.LittleEndian.Uint32(file[len(magic):])
	hdr := file[len(magic)+4 : len(magic)+4+int(hl)]
	v2 := bytes.Replace(hdr, []byte(`"version":1`), []byte(`"version":2`), 1)
	if bytes.Equal(v2, hdr) {
		t.Fatalf("no version in the header %s", hdr)
	}
	if _, err := Read(bytes.NewReader(rehash(bytes.Replace(file, hdr, v2, 1)))); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v, want ErrVersion", err)
	}
	// A header that claims a billion vectors, with a valid checksum,
	// fails without allocating for them.
	big := bytes.Replace(hdr, []byte(`"count":100`), []byte(`"count":1000000000`), 1)
	big = bytes.Replace(big, []byte(`"lists":5`), []byte(`"lists":1000000`), 1)
	if !bytes.Contains(big, []byte(`"count":1000000000`)) || !bytes.Contains(big, []byte(`"lists":1000000,`)) {
		t.Fatalf("header %s not changed", big)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Read(bytes.NewReader(rehash(bytes.Replace(file, hdr, big, 1)))); !errors.Is(err, ErrDamaged) {
		t.Errorf("count of a billion: %v, want ErrDamaged", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading a file that claims a billion vectors allocated %d bytes", grew)
	}
	path := filepath.Join(t.TempDir(), "cut.index")
	if err := os.WriteFile(path, file[:len(file)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrDamaged) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Errorf("Load of a truncated file: %v, want ErrDamaged naming the file", err)
	}
}

// rehash replaces the checksum at the end of file by the right one.
func rehash(file []byte) []byte {
	body := file[:len(file)-32]
	h := sha256Sum(body)
	return append(bytes.Clone(body), h[:]...)
}

// TestCheckModel checks that an index of one model's search vectors
// refuses another model.
func TestCheckModel(t *testing.T) {
	m := tinyModel(t, siamese.L1, 1)
	other := tinyModel(t, siamese.L1, 2)
	cosine := tinyModel(t, siamese.Cosine, 1)
	vecs := clustered(30, 16, 3, 0.5, 1)
	ix, err := Build(siamese.L1, names(30), vecs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.CheckModel(m); err != nil {
		t.Errorf("an index without a model and a model of its metric and length: %v", err)
	}
	if err := ix.CheckModel(cosine); !errors.Is(err, ErrModel) {
		t.Errorf("a cosine model for an L1 index: %v, want ErrModel", err)
	}
	meta, err := modelMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	ix.SetMetadata(meta)
	if err := ix.CheckModel(m); err != nil {
		t.Errorf("the index's own model: %v", err)
	}
	if err := ix.CheckModel(other); !errors.Is(err, ErrModel) {
		t.Errorf("another model of the same kind: %v, want ErrModel", err)
	}
}

// FuzzRead checks that Read returns an index or an error, never panics,
// whatever the bytes, and that an index it returns answers queries.
func FuzzRead(f *testing.F) {
	for _, metric := range metrics {
		ix, _ := small(f, metric)
		file := encoded(f, ix)
		f.Add(file)
		f.Add(file[:len(file)/2])
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := ix.Search(make([]float32, ix.Dim()), 3); err != nil {
			t.Fatalf("a loaded index fails a search: %v", err)
		}
	})
}
