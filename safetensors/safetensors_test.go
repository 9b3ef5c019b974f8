package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// build assembles a file from a header string and a data buffer.
func build(header string, data []byte) []byte {
	out := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(out, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func newReader(t *testing.T, b []byte) (*File, error) {
	t.Helper()
	return NewReader(bytes.NewReader(b), int64(len(b)))
}

func le16(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func validFile(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{
		F32("b", []int{2, 2}, []float32{1, 2, 3, 4}),
		F32("a", []int{3}, []float32{-1, 0.5, 7}),
		{Name: "i", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	a := []float32{1, -2.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32, 3e38, 0}
	b := []float32{42}
	c := []float32{}
	meta := map[string]string{"format": "pt", "Zed": "z", "quote": "a\"b\\c<>&\n"}
	tensors := []Tensor{
		F32("layer.weight", []int{2, 3}, a),
		F32("Bias", []int{1}, b),
		F32("empty", []int{0, 5}, c),
		F32("scalar", []int{}, []float32{9}),
	}
	if err := WriteFile(path, tensors, meta); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(raw)
	if hlen%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", hlen)
	}
	header := string(raw[8 : 8+hlen])
	if !strings.HasSuffix(strings.TrimRight(header, " "), "}") {
		t.Errorf("header %q not padded with spaces", header)
	}
	// Keys in sorted order: "Bias" < "__metadata__" < "empty" < ...
	var idx []int
	for _, k := range []string{`"Bias"`, `"__metadata__"`, `"empty"`, `"layer.weight"`, `"scalar"`} {
		i := strings.Index(header, k)
		if i < 0 {
			t.Fatalf("header %q lacks %s", header, k)
		}
		idx = append(idx, i)
	}
	if !slices.IsSorted(idx) {
		t.Errorf("header keys not sorted: %q", header)
	}
	// Data contiguous in sorted name order: Bias, empty, layer.weight, scalar.
	wantData := slices.Concat(tensors[1].Data, tensors[2].Data, tensors[0].Data, tensors[3].Data)
	if got := raw[8+hlen:]; !bytes.Equal(got, wantData) {
		t.Errorf("data buffer %v, want %v", got, wantData)
	}

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.Names(), []string{"Bias", "empty", "layer.weight", "scalar"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("Metadata = %v, want %v", f.Metadata, meta)
	}
	wantOff := map[string][2]int64{"Bias": {0, 4}, "empty": {4, 4}, "layer.weight": {4, 28}, "scalar": {28, 32}}
	for _, tt := range tensors {
		info, ok := f.Info(tt.Name)
		if !ok {
			t.Fatalf("Info(%q) missing", tt.Name)
		}
		if info.Name != tt.Name || info.DType != "F32" || !reflect.DeepEqual(info.Shape, tt.Shape) {
			t.Errorf("Info(%q) = %+v", tt.Name, info)
		}
		if off := wantOff[tt.Name]; info.Begin != off[0] || info.End != off[1] {
			t.Errorf("Info(%q) offsets [%d,%d], want %v", tt.Name, info.Begin, info.End, off)
		}
		if n := info.NumElements(); n*4 != int64(len(tt.Data)) {
			t.Errorf("NumElements(%q) = %d", tt.Name, n)
		}
		got, err := f.Bytes(tt.Name)
		if err != nil || !bytes.Equal(got, tt.Data) {
			t.Errorf("Bytes(%q) = %v, %v; want %v", tt.Name, got, err, tt.Data)
		}
	}
	for name, want := range map[string][]float32{"layer.weight": a, "Bias": b, "empty": c, "scalar": {9}} {
		got, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Float32(%q) = %v, want %v", name, got, want)
		}
		info, _ := f.Info(name)
		if !reflect.DeepEqual(shape, info.Shape) {
			t.Errorf("Float32(%q) shape %v, want %v", name, shape, info.Shape)
		}
	}
	// Info must return a copy.
	info, _ := f.Info("layer.weight")
	info.Shape[0] = 99
	if info2, _ := f.Info("layer.weight"); info2.Shape[0] != 2 {
		t.Error("Info shape aliases internal state")
	}
	if _, ok := f.Info("nope"); ok {
		t.Error("Info(nope) found")
	}
	if _, err := f.Bytes("nope"); err == nil {
		t.Error("Bytes(nope) succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNoMetadata(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "\x08\x00\x00\x00\x00\x00\x00\x00{}      " {
		t.Fatalf("empty file = %q", got)
	}
	f, err := newReader(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != 0 || f.Metadata == nil || len(f.Metadata) != 0 {
		t.Errorf("Names %v Metadata %v", f.Names(), f.Metadata)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close on NewReader file: %v", err)
	}
}

func TestHalfPrecision(t *testing.T) {
	f16 := le16(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x8000, 0x03FF, 0x0400, 0x3555, 0x7E00)
	bf16 := le16(0x3F80, 0xC000, 0x7F80, 0x0001, 0x4049)
	f64 := make([]byte, 16)
	binary.LittleEndian.PutUint64(f64, math.Float64bits(1.5))
	binary.LittleEndian.PutUint64(f64[8:], math.Float64bits(-1e300))
	data := append(append(append([]byte{}, f16...), bf16...), f64...)
	header := `{"h":{"dtype":"F16","shape":[11],"data_offsets":[0,22]},` +
		`"b":{"shape":[5],"dtype":"BF16","data_offsets":[22,32]},` +
		`"d":{"dtype":"F64","shape":[2,1],"data_offsets":[32,48]}}   `
	path := filepath.Join(t.TempDir(), "half.safetensors")
	if err := os.WriteFile(path, build(header, data), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	got, shape, err := f.Float32("h")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shape, []int{11}) {
		t.Errorf("shape %v", shape)
	}
	want := []float32{1, -2, 65504, float32(math.Ldexp(1, -24)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.Copysign(0, -1)), float32(math.Ldexp(1023, -24)), float32(math.Ldexp(1, -14)),
		float32(math.Ldexp(0x155+0x400, 13-25))} // 0x3555 = 1365/4096
	for i, w := range want {
		if math.Float32bits(got[i]) != math.Float32bits(w) {
			t.Errorf("F16 element %d (0x%04x) = %g (0x%08x), want %g (0x%08x)", i,
				binary.LittleEndian.Uint16(f16[2*i:]), got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
		}
	}
	if last := got[len(got)-1]; !math.IsNaN(float64(last)) {
		t.Errorf("F16 0x7E00 = %g, want NaN", last)
	}

	got, _, err = f.Float32("b")
	if err != nil {
		t.Fatal(err)
	}
	wantB := []float32{1, -2, float32(math.Inf(1)), math.Float32frombits(0x00010000), 3.140625}
	for i, w := range wantB {
		if math.Float32bits(got[i]) != math.Float32bits(w) {
			t.Errorf("BF16 element %d = %g, want %g", i, got[i], w)
		}
	}

	got, shape, err = f.Float32("d")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shape, []int{2, 1}) || got[0] != 1.5 || !math.IsInf(float64(got[1]), -1) {
		t.Errorf("F64 = %v %v", got, shape)
	}
}

// TestF16Exhaustive checks every binary16 value against an independent
// float64 computation.
func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		e, m := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0:
			want = sign * math.Ldexp(float64(m), -24)
		case e == 31 && m == 0:
			want = math.Inf(int(sign))
		case e == 31:
			want = math.NaN()
		default:
			want = sign * math.Ldexp(float64(m+1024), e-25)
		}
		got := f16ToF32(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("0x%04x: got %g, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("0x%04x: got %g, want %g", h, got, want)
		}
	}
}

func TestIntegerTensor(t *testing.T) {
	data := make([]byte, 16)
	binary.LittleEndian.PutUint64(data, 7)
	binary.LittleEndian.PutUint64(data[8:], math.MaxUint64)
	f, err := newReader(t, build(`{"idx":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Bytes("idx")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Bytes = %v, %v", got, err)
	}
	_, _, err = f.Float32("idx")
	if err == nil {
		t.Fatal("Float32 of I64 succeeded")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "safetensors: ") || !strings.Contains(msg, `"idx"`) || !strings.Contains(msg, "I64") {
		t.Errorf("error %q should name tensor and dtype", msg)
	}
}

func TestCorrupt(t *testing.T) {
	valid := validFile(t)
	ent := func(dtype, shape, offs string) string {
		return `{"t":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offs + `}}`
	}
	lenOnly := func(n uint64, rest string) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, n)
		return append(b, rest...)
	}
	d16 := make([]byte, 16)
	cases := []struct {
		name string
		in   []byte
		want string // substring of the error; alternatives separated by "|"
	}{
		{"empty", nil, "shorter than"},
		{"truncated length", valid[:5], "shorter than"},
		{"truncated header", valid[:20], "header length"},
		{"truncated data", valid[:len(valid)-1], "out of range"},
		{"header longer than file", lenOnly(1000, "{}"), "exceeds the 2 bytes"},
		{"header length 2^63", lenOnly(1<<63, "{}"), "exceeds the maximum"},
		{"header length 2^64-1", lenOnly(math.MaxUint64, "{}"), "exceeds the maximum"},
		{"header length 1", lenOnly(1, "{}"), "less than 2"},
		{"header length 0", lenOnly(0, "{}"), "less than 2"},
		{"invalid JSON", build(`{"t":`, nil), "invalid header JSON"},
		{"invalid JSON 2", build(`{"t":{"dtype":"F32",}}`, nil), "invalid header JSON"},
		{"not an object", build(` [1,2]`, nil), "header must be a JSON object"},
		{"trailing garbage", build(`{} x`, nil), "invalid header JSON after"},
		{"two objects", build(`{}{}`, nil), "trailing data"},
		{"invalid UTF-8", build("{\"\xff\":{}}", nil), "UTF-8"},
		{"unknown dtype", build(ent("F8", "[2]", "[0,2]"), d16), `unknown dtype string "F8"`},
		{"dtype not string", build(`{"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, d16), "dtype must be a string"},
		{"negative dim", build(ent("F32", "[2,-1]", "[0,8]"), d16), "negative dimension -1"},
		{"float dim", build(ent("F32", "[1.5]", "[0,8]"), d16), "number 1.5"},
		{"huge dim", build(ent("F32", "[99999999999999999999]", "[0,8]"), d16), "64-bit integers"},
		{"shape not array", build(ent("F32", `"2"`, "[0,8]"), d16), "shape must be a JSON array"},
		{"offsets out of range", build(ent("F32", "[4]", "[4,20]"), d16), "data_offsets [4,20] out of range"},
		{"negative offset", build(ent("U8", "[4]", "[-4,0]"), d16), "out of range"},
		{"begin after end", build(ent("U8", "[0]", "[8,4]"), d16), "out of range"},
		{"one offset", build(ent("U8", "[0]", "[0]"), d16), "exactly two"},
		{"three offsets", build(ent("U8", "[0]", "[0,0,0]"), d16), "exactly two"},
		{"size mismatch", build(ent("F32", "[2,2]", "[0,8]"), d16), "data_offsets [0,8] hold 8 bytes, shape [2 2] F32 needs 16"},
		{"shape overflow", build(ent("F32", "[1099511627776,1099511627776]", "[0,16]"), d16), "more than|does not fit in an int"},
		{"bytes overflow", build(ent("F64", "[1152921504606846976, 2]", "[0,16]"), d16), "more than|does not fit in an int"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, d16), "overlap"},
		{"identical", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, d16), "overlap"},
		{"duplicate tensor", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, d16), `duplicate tensor name "a"`},
		{"duplicate field", build(`{"a":{"dtype":"U8","shape":[1],"dtype":"U8","data_offsets":[0,1]}}`, d16), `duplicate field "dtype"`},
		{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate __metadata__"},
		{"duplicate metadata key", build(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `duplicate key "k"`},
		{"metadata non-string", build(`{"__metadata__":{"k":1}}`, nil), `value of "k" must be a string`},
		{"metadata nested", build(`{"__metadata__":{"k":{}}}`, nil), `value of "k" must be a string`},
		{"metadata null", build(`{"__metadata__":null}`, nil), "__metadata__ must be a JSON object"},
		{"unknown field", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0}}`, d16), `unknown field string "extra"`},
		{"missing field", build(`{"a":{"dtype":"U8","shape":[1]}}`, d16), "missing field(s) data_offsets"},
		{"entry not object", build(`{"a":[1]}`, d16), "entry must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f *File
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				f, err = newReader(t, c.in)
			}()
			if err == nil {
				t.Fatalf("accepted corrupt file; tensors %v", f.Names())
			}
			msg := err.Error()
			matched := false
			for _, w := range strings.Split(c.want, "|") {
				matched = matched || strings.Contains(msg, w)
			}
			if !strings.HasPrefix(msg, "safetensors: ") || !matched {
				t.Errorf("error %q, want prefix \"safetensors: \" and substring %q", msg, c.want)
			}
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotSafetensors) {
				t.Errorf("error %q: want ErrCorrupt and not ErrNotSafetensors", msg)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	// Cases that are unusual but valid.
	big := "1099511627776" // 2^40; does not fit in a 32-bit int
	if strconv.IntSize == 32 {
		big = "2147483647"
	}
	cases := map[string][]byte{
		"gap and reorder": build(`{"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, make([]byte, 8)),
		"empty inside":    build(`{"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[0,`+big+`,`+big+`],"data_offsets":[3,3]}}`, make([]byte, 8)),
		"whitespace":      build(" {\n\"__metadata__\" : { } }\t\n  ", nil),
	}
	for name, in := range cases {
		if _, err := newReader(t, in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// stubReaderAt claims to be a huge file whose first bytes are prefix.
type stubReaderAt struct{ prefix []byte }

func (s stubReaderAt) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		if int(off)+i < len(s.prefix) {
			p[i] = s.prefix[int(off)+i]
		} else {
			p[i] = ' '
		}
	}
	return len(p), nil
}

func TestNoLargeAllocation(t *testing.T) {
	measure := func(in []byte, size int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := NewReader(stubReaderAt{in}, size); err == nil {
			t.Fatal("accepted")
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	// A header length just under the limit but longer than the file.
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint64(hdr, MaxHeaderSize)
	if n := measure(hdr, 16); n > 1<<20 {
		t.Errorf("allocated %d bytes for a header longer than the file", n)
	}
	// A header length over the limit in a (claimed) huge file.
	binary.LittleEndian.PutUint64(hdr, MaxHeaderSize+1)
	if n := measure(hdr, 1<<50); n > 1<<20 {
		t.Errorf("allocated %d bytes for an oversized header", n)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(path, build(`{"x":1}`, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.HasPrefix(err.Error(), "safetensors: ") || !strings.Contains(err.Error(), path) {
		t.Errorf("Open(bad) error %v should mention %s", err, path)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) error %v", err)
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open(directory) succeeded")
	}
}

func TestWriteValidation(t *testing.T) {
	good := F32("g", []int{1}, []float32{1})
	cases := map[string][]Tensor{
		"duplicate":       {good, F32("g", []int{1}, []float32{2})},
		"length mismatch": {{Name: "x", DType: "F32", Shape: []int{3}, Data: make([]byte, 8)}},
		"unknown dtype":   {{Name: "x", DType: "F8", Shape: []int{1}, Data: make([]byte, 1)}},
		"negative dim":    {{Name: "x", DType: "U8", Shape: []int{-1}}},
		"overflow":        {{Name: "x", DType: "U8", Shape: []int{math.MaxInt, math.MaxInt, math.MaxInt}}},
		"reserved name":   {{Name: "__metadata__", DType: "U8", Shape: []int{0}}},
		"empty name":      {{Name: "", DType: "U8", Shape: []int{0}}},
	}
	for name, ts := range cases {
		var buf bytes.Buffer
		err := Write(&buf, ts, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "safetensors: ") {
			t.Errorf("%s: Write error %v", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", name, buf.Len())
		}
	}
}

func TestF32Panics(t *testing.T) {
	for _, shape := range [][]int{{2, 2}, {-1}, {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("F32 with shape %v and 3 values did not panic", shape)
				}
			}()
			F32("x", shape, []float32{1, 2, 3})
		}()
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(path, []Tensor{F32("a", []int{2}, []float32{1, 2})}, nil); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := []Tensor{F32("a", []int{1}, []float32{3}), {Name: "b", DType: "F32", Shape: []int{4}, Data: make([]byte, 3)}}
	if err := WriteFile(path, bad, nil); err == nil {
		t.Fatal("WriteFile with mismatched tensor succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("failed WriteFile modified the existing file")
	}
	// A failure during writing (not validation): the target directory
	// does not exist.
	if err := WriteFile(filepath.Join(dir, "nodir", "x.safetensors"), nil, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "m.safetensors" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only m.safetensors (temp file left behind?)", names)
	}
	// Overwriting succeeds and replaces the content.
	if err := WriteFile(path, []Tensor{F32("z", []int{1}, []float32{5})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !reflect.DeepEqual(got, []string{"z"}) {
		t.Errorf("after overwrite Names = %v", got)
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for _, n := range []int{0, 8, 20, 1000} {
		err := Write(&errWriter{n}, []Tensor{F32("a", []int{300}, make([]float32, 300))}, nil)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("n=%d: error %v", n, err)
		}
	}
}

func FuzzNewReader(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		F32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		{Name: "h", DType: "F16", Shape: []int{2}, Data: le16(0x3C00, 0x7C00)},
		{Name: "i", DType: "I8", Shape: []int{0}},
	}, map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	valid := buf.Bytes()
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:12])
	f.Add([]byte("garbage garbage garbage"))
	f.Add(build(`{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F64","shape":[],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add(build(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		var tensors []Tensor
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			if !ok {
				t.Fatalf("Info(%q) missing", name)
			}
			b, err := file.Bytes(name)
			if err != nil {
				t.Fatalf("Bytes(%q): %v", name, err)
			}
			if int64(len(b)) != info.End-info.Begin || int64(len(b)) != info.NumElements()*int64(info.DType.Size()) {
				t.Fatalf("Bytes(%q) returned %d bytes for %+v", name, len(b), info)
			}
			if vals, _, err := file.Float32(name); err == nil && int64(len(vals)) != info.NumElements() {
				t.Fatalf("Float32(%q) returned %d values for %+v", name, len(vals), info)
			}
			tensors = append(tensors, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: b})
		}
		// Anything accepted must survive a re-encode.
		var out bytes.Buffer
		if err := Write(&out, tensors, file.Metadata); err != nil {
			t.Fatalf("re-encoding accepted file: %v", err)
		}
		again, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("re-reading re-encoded file: %v", err)
		}
		if !reflect.DeepEqual(again.Names(), file.Names()) || !reflect.DeepEqual(again.Metadata, file.Metadata) {
			t.Fatalf("re-encoded file differs")
		}
		for _, tt := range tensors {
			b, err := again.Bytes(tt.Name)
			if err != nil || !bytes.Equal(b, tt.Data) {
				t.Fatalf("re-encoded %q differs", tt.Name)
			}
		}
	})
}
