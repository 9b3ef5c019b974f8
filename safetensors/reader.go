package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// metadataKey is the reserved header key holding free-form metadata.
const metadataKey = "__metadata__"

// File is a validated safetensors file. Its header has been parsed and
// checked in full; tensor data is read on demand from the underlying reader.
// A File is safe for concurrent use by multiple goroutines if its underlying
// io.ReaderAt is (an *os.File is).
type File struct {
	// Metadata holds the header's "__metadata__" object. It is never nil;
	// it is empty when the file has no metadata.
	Metadata map[string]string

	r         io.ReaderAt
	closer    io.Closer // non-nil only when Open or OpenFS created the reader
	prefix    string    // "safetensors: " or "safetensors: <path>: "
	dataStart int64     // offset of the data buffer: 8 + header length
	tensors   map[string]TensorInfo
	names     []string // sorted
}

// Open opens the safetensors file at path and validates its header. The
// file stays open until [File.Close] is called. Errors mention path.
func Open(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return openHandle(osf, path)
}

// OpenFS is [Open] for the file name in fsys: an embed.FS, an os.DirFS,
// an fstest.MapFS or any other fs.FS. A file that implements io.ReaderAt
// (the files of those three do) is read in place and stays open until
// [File.Close]; any other is read into memory first. Errors mention name.
func OpenFS(fsys fs.FS, name string) (*File, error) {
	fl, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return openHandle(fl, name)
}

// openHandle validates the header of the open file fl, which it closes on
// error. name begins the errors.
func openHandle(fl fs.File, name string) (*File, error) {
	st, err := fl.Stat()
	if err != nil {
		fl.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		fl.Close()
		return nil, fmt.Errorf("safetensors: %s: not a regular file", name)
	}
	r, ok := fl.(io.ReaderAt)
	size := st.Size()
	if !ok {
		b, err := io.ReadAll(fl)
		fl.Close()
		if err != nil {
			return nil, fmt.Errorf("safetensors: %s: %w", name, err)
		}
		r, size, fl = bytes.NewReader(b), int64(len(b)), nil
	}
	f, err := newFile(r, size, "safetensors: "+name+": ")
	if err != nil {
		if fl != nil {
			fl.Close()
		}
		return nil, err
	}
	if fl != nil {
		f.closer = fl
	}
	return f, nil
}

// NewReader validates the safetensors header found in the first size bytes
// of r and returns a File reading tensor data from r. The caller keeps
// ownership of r; [File.Close] does not close it.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	return newFile(r, size, "safetensors: ")
}

// Close closes the underlying file if the File was created by [Open] or
// [OpenFS]. It is a no-op for a File created by [NewReader], and for a
// second call.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	if err := c.Close(); err != nil {
		return fmt.Errorf("%s%w", f.prefix, err)
	}
	return nil
}

// Names returns the names of all tensors in the file, sorted. The returned
// slice is a fresh copy.
func (f *File) Names() []string {
	return slices.Clone(f.names)
}

// Info returns the description of the named tensor and whether it exists.
// The returned Shape is a copy that the caller may modify.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	ti.Shape = slices.Clone(ti.Shape)
	if ti.Shape == nil {
		ti.Shape = []int{}
	}
	return ti, true
}

// Bytes returns the raw little-endian data of the named tensor, read into a
// newly allocated slice of exactly End-Begin bytes.
func (f *File) Bytes(name string) ([]byte, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%sno tensor %q", f.prefix, name)
	}
	return f.read(ti)
}

func (f *File) read(ti TensorInfo) ([]byte, error) {
	n := ti.End - ti.Begin
	if n > math.MaxInt || n < 0 {
		return nil, fmt.Errorf("%stensor %q: %d bytes do not fit in memory", f.prefix, ti.Name, n)
	}
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	got, err := f.r.ReadAt(buf, f.dataStart+ti.Begin)
	if got == len(buf) {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		// The input is shorter than the size it was opened with.
		return nil, fmt.Errorf("%s%w: tensor %q: reading %d bytes at offset %d: %w", f.prefix, ErrCorrupt, ti.Name, n, f.dataStart+ti.Begin, io.ErrUnexpectedEOF)
	}
	return nil, fmt.Errorf("%stensor %q: reading %d bytes at offset %d: %w", f.prefix, ti.Name, n, f.dataStart+ti.Begin, err)
}

// Float32 returns the named tensor's elements converted to float32, and a
// copy of its shape. F32 data is returned as is; F64 is rounded to nearest;
// F16 is converted exactly (including subnormals, infinities and NaNs); BF16
// is converted exactly by shifting into the high half of a float32. Any other
// dtype is an error.
func (f *File) Float32(name string) ([]float32, []int, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return nil, nil, fmt.Errorf("%sno tensor %q", f.prefix, name)
	}
	switch ti.DType {
	case dtF32, dtF64, dtF16, dtBF16:
	default:
		return nil, nil, fmt.Errorf("%stensor %q: cannot convert dtype %s to float32", f.prefix, name, ti.DType)
	}
	raw, err := f.read(ti)
	if err != nil {
		return nil, nil, err
	}
	size := ti.DType.Size()
	out := make([]float32, len(raw)/size)
	switch ti.DType {
	case dtF32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case dtF64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case dtF16:
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case dtBF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	}
	shape := slices.Clone(ti.Shape)
	if shape == nil {
		shape = []int{}
	}
	return out, shape, nil
}

// f16ToF32 converts an IEEE 754 binary16 value to float32 exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0: // signed zero
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f: // infinity or NaN (payload preserved)
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
	}
}

// newFile reads and validates the header. prefix begins every error.
func newFile(r io.ReaderAt, size int64, prefix string) (*File, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s%w: %s", prefix, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if size < 8 {
		return nil, fail("file is %d bytes, shorter than the 8-byte header length", size)
	}
	// The length and, when there is one, the header's first byte.
	start := make([]byte, min(size, 9))
	if n, err := r.ReadAt(start, 0); n != len(start) {
		if err == nil || err == io.EOF {
			return nil, fail("reading header length: %v", io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("%sreading header length: %w", prefix, err)
	}
	hlen := binary.LittleEndian.Uint64(start[:8])
	// The header is a JSON object, so it opens with '{' (JSON allows
	// whitespace before it). A file whose header length is out of range
	// has nothing of the format unless that '{' is there.
	if len(start) == 9 && start[8] != '{' && (!isSpace(start[8]) || hlen < 2 || hlen > MaxHeaderSize || hlen > uint64(size-8)) {
		return nil, fmt.Errorf("%s%w (a safetensors file starts with an 8-byte little-endian header length followed by '{')", prefix, ErrNotSafetensors)
	}
	if hlen < 2 {
		return nil, fail("header length %d is less than 2", hlen)
	}
	if hlen > MaxHeaderSize {
		return nil, fail("header length %d exceeds the maximum %d", hlen, MaxHeaderSize)
	}
	if hlen > uint64(size-8) {
		return nil, fail("header length %d exceeds the %d bytes after the length prefix (file size %d)", hlen, size-8, size)
	}
	header := make([]byte, hlen)
	if n, err := r.ReadAt(header, 8); n != len(header) {
		if err == nil || err == io.EOF {
			return nil, fail("reading %d-byte header: %v", hlen, io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("%sreading %d-byte header: %w", prefix, hlen, err)
	}
	dataStart := 8 + int64(hlen)
	dataSize := size - dataStart

	meta, tensors, err := parseHeader(header, dataSize)
	if err != nil {
		return nil, fmt.Errorf("%s%w: %w", prefix, ErrCorrupt, err)
	}
	f := &File{
		Metadata:  meta,
		r:         r,
		prefix:    prefix,
		dataStart: dataStart,
		tensors:   make(map[string]TensorInfo, len(tensors)),
		names:     make([]string, 0, len(tensors)),
	}
	for _, t := range tensors {
		f.tensors[t.Name] = t
		f.names = append(f.names, t.Name)
	}
	sort.Strings(f.names)
	return f, nil
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// headerParser walks the header JSON token by token so that duplicate keys,
// unknown fields and wrongly typed values are all detected.
type headerParser struct {
	dec *json.Decoder
}

// token returns the next JSON token, converting syntax errors.
func (p *headerParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == io.EOF {
		return nil, errors.New("invalid header JSON: unexpected end of header")
	}
	if err != nil {
		return nil, fmt.Errorf("invalid header JSON: %v", err)
	}
	return tok, nil
}

// delim consumes the next token and requires it to be the delimiter want.
func (p *headerParser) delim(want json.Delim, what string) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%s must be %s, found %s", what, describeOpen(want), describe(tok))
	}
	return nil
}

func describeOpen(d json.Delim) string {
	switch d {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	}
	return strconv.Quote(d.String())
}

// describe names a JSON token for error messages, truncating long strings.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return strconv.Quote(v.String())
	case string:
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		return "string " + strconv.Quote(v)
	case json.Number:
		s := string(v)
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return "number " + s
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// int64s reads a JSON array of integers.
func (p *headerParser) int64s(what string) ([]int64, error) {
	if err := p.delim('[', what); err != nil {
		return nil, err
	}
	var out []int64
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			if out == nil {
				out = []int64{}
			}
			return out, nil
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s must hold integers, found %s", what, describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s must hold 64-bit integers, found %s", what, describe(tok))
		}
		out = append(out, v)
	}
}

// parseHeader validates the header JSON against a data buffer of dataSize
// bytes and returns the metadata and tensors (in header order).
func parseHeader(header []byte, dataSize int64) (map[string]string, []TensorInfo, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	p := &headerParser{dec: dec}
	if err := p.delim('{', "header"); err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool)
	meta := map[string]string{}
	var tensors []TensorInfo
	for {
		tok, err := p.token()
		if err != nil {
			return nil, nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			break
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("invalid header JSON: unexpected %s", describe(tok))
		}
		if seen[key] {
			if key == metadataKey {
				return nil, nil, fmt.Errorf("duplicate %s key", metadataKey)
			}
			return nil, nil, fmt.Errorf("duplicate tensor name %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		ti, err := p.entry(key, dataSize)
		if err != nil {
			return nil, nil, err
		}
		tensors = append(tensors, ti)
	}
	// Only whitespace (typically space padding) may follow the object.
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("invalid header JSON after the top-level object: %v", err)
		}
		return nil, nil, fmt.Errorf("header has trailing data after the top-level object: %s", describe(tok))
	}
	if err := checkOverlap(tensors); err != nil {
		return nil, nil, err
	}
	return meta, tensors, nil
}

// metadata reads the __metadata__ object, which must map strings to strings.
func (p *headerParser) metadata() (map[string]string, error) {
	if err := p.delim('{', metadataKey); err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return meta, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("invalid header JSON: unexpected %s in %s", describe(tok), metadataKey)
		}
		if _, dup := meta[key]; dup {
			return nil, fmt.Errorf("%s: duplicate key %q", metadataKey, key)
		}
		tok, err = p.token()
		if err != nil {
			return nil, err
		}
		val, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s: value of %q must be a string, found %s", metadataKey, key, describe(tok))
		}
		meta[key] = val
	}
}

// entry reads and validates one tensor entry.
func (p *headerParser) entry(name string, dataSize int64) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	wrap := func(err error) error {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	if err := p.delim('{', "entry"); err != nil {
		return ti, wrap(err)
	}
	var haveDType, haveShape, haveOffsets bool
	var shape64, offsets []int64
	for {
		tok, err := p.token()
		if err != nil {
			return ti, wrap(err)
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			break
		}
		field, ok := tok.(string)
		if !ok {
			return ti, wrap(fmt.Errorf("invalid header JSON: unexpected %s", describe(tok)))
		}
		switch field {
		case "dtype":
			if haveDType {
				return ti, wrap(errors.New("duplicate field \"dtype\""))
			}
			haveDType = true
			tok, err := p.token()
			if err != nil {
				return ti, wrap(err)
			}
			s, ok := tok.(string)
			if !ok {
				return ti, wrap(fmt.Errorf("dtype must be a string, found %s", describe(tok)))
			}
			ti.DType = DType(s)
			if ti.DType.Size() == 0 {
				return ti, wrap(fmt.Errorf("unknown dtype %s", describe(tok)))
			}
		case "shape":
			if haveShape {
				return ti, wrap(errors.New("duplicate field \"shape\""))
			}
			haveShape = true
			if shape64, err = p.int64s("shape"); err != nil {
				return ti, wrap(err)
			}
		case "data_offsets":
			if haveOffsets {
				return ti, wrap(errors.New("duplicate field \"data_offsets\""))
			}
			haveOffsets = true
			if offsets, err = p.int64s("data_offsets"); err != nil {
				return ti, wrap(err)
			}
		default:
			return ti, wrap(fmt.Errorf("unknown field %s", describe(tok)))
		}
	}
	var missing []string
	if !haveDType {
		missing = append(missing, "dtype")
	}
	if !haveShape {
		missing = append(missing, "shape")
	}
	if !haveOffsets {
		missing = append(missing, "data_offsets")
	}
	if len(missing) > 0 {
		return ti, wrap(fmt.Errorf("missing field(s) %s", strings.Join(missing, ", ")))
	}

	ti.Shape = make([]int, len(shape64))
	for i, d := range shape64 {
		if d < 0 {
			return ti, wrap(fmt.Errorf("negative dimension %d in shape %v", d, shape64))
		}
		if d > math.MaxInt {
			return ti, wrap(fmt.Errorf("dimension %d in shape %v does not fit in an int", d, shape64))
		}
		ti.Shape[i] = int(d)
	}
	if len(offsets) != 2 {
		return ti, wrap(fmt.Errorf("data_offsets must hold exactly two integers, found %d", len(offsets)))
	}
	ti.Begin, ti.End = offsets[0], offsets[1]
	if ti.Begin < 0 || ti.Begin > ti.End || ti.End > dataSize {
		return ti, wrap(fmt.Errorf("data_offsets [%d,%d] out of range: need 0 <= begin <= end <= %d (data buffer size)", ti.Begin, ti.End, dataSize))
	}
	_, need, err := byteSize(ti.Shape, ti.DType)
	if err != nil {
		return ti, wrap(err)
	}
	if have := ti.End - ti.Begin; have != need {
		return ti, wrap(fmt.Errorf("data_offsets [%d,%d] hold %d bytes, shape %v %s needs %d", ti.Begin, ti.End, have, ti.Shape, ti.DType, need))
	}
	return ti, nil
}

// checkOverlap reports two tensors sharing any byte. Empty tensors hold no
// bytes and so never overlap anything.
func checkOverlap(tensors []TensorInfo) error {
	sorted := make([]TensorInfo, 0, len(tensors))
	for _, t := range tensors {
		if t.End > t.Begin {
			sorted = append(sorted, t)
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Begin != sorted[j].Begin {
			return sorted[i].Begin < sorted[j].Begin
		}
		return sorted[i].Name < sorted[j].Name
	})
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if b.Begin < a.End {
			return fmt.Errorf("tensor %q: data_offsets [%d,%d] overlap tensor %q at [%d,%d]", b.Name, b.Begin, b.End, a.Name, a.Begin, a.End)
		}
	}
	return nil
}
