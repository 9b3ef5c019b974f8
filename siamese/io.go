package siamese

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gosiamese/gosiamese/layers"
	"github.com/gosiamese/gosiamese/safetensors"
)

// The model file is a safetensors file: every parameter and BatchNorm
// statistic under the names of Params, and these metadata keys in the
// header:
//
//	format            "gosiamese-model"
//	format_version    "1"
//	config            the Config as JSON (EncoderWeights left out)
//	label_convention  how to read scores and labels
//	threshold         the verdict threshold, as a decimal
//	info              free-form provenance (training data, epochs, ...) as a JSON object of strings
const (
	FormatName    = "gosiamese-model"
	FormatVersion = "1"
	// LabelConvention is stored in every model file.
	LabelConvention = "score = probability that the two images show the same thing; label 1 = same, 0 = different"
)

// Save writes the model to path atomically: the file appears complete or
// not at all, and a model already at path survives a failed save.
func (m *Model) Save(path string) error { return m.save(path, nil, nil) }

// WriteTo writes the model file to w, the bytes Save puts in a file; it
// implements io.WriterTo. Load it back with LoadReaderAt or LoadFS.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	ts, meta, err := m.encode(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("siamese: write: %w", err)
	}
	cw := &countingWriter{w: w}
	if err := safetensors.Write(cw, ts, meta); err != nil {
		return cw.n, fmt.Errorf("siamese: write: %w", err)
	}
	return cw.n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// modelTensors are the name prefixes of the model's own tensors; Load
// ignores a file's other tensors, which belong to whoever saved them (see
// Network.SaveWith).
var modelTensors = []string{"encoder.", "encoder_b.", "head.", "head_b.", "out."}

func ownTensor(name string) bool {
	return slices.ContainsFunc(modelTensors, func(p string) bool { return strings.HasPrefix(name, p) })
}

// save writes the model and the caller's extra tensors and metadata.
func (m *Model) save(path string, extra []*layers.Param, extraMeta map[string]string) error {
	ts, meta, err := m.encode(extra, extraMeta)
	if err == nil {
		err = safetensors.WriteFile(path, ts, meta)
	}
	if err != nil {
		return fmt.Errorf("siamese: save %s: %w", path, err)
	}
	return nil
}

// encode returns the tensors and metadata of a model file holding the
// model and the caller's extra tensors and metadata, copied under the
// lock, so that writing them needs no lock.
func (m *Model) encode(extra []*layers.Param, extraMeta map[string]string) ([]safetensors.Tensor, map[string]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, p := range extra {
		if ownTensor(p.Name) {
			return nil, nil, fmt.Errorf("extra tensor %q has a name of the model's own", p.Name)
		}
	}
	cfg := m.Config()
	cfg.EncoderWeights = ""
	cj, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	ij, err := json.Marshal(m.info)
	if err != nil {
		return nil, nil, err
	}
	meta := map[string]string{
		"format":           FormatName,
		"format_version":   FormatVersion,
		"config":           string(cj),
		"label_convention": LabelConvention,
		"threshold":        strconv.FormatFloat(m.threshold, 'g', -1, 64),
		"info":             string(ij),
	}
	for k, v := range extraMeta {
		if _, own := meta[k]; own {
			return nil, nil, fmt.Errorf("extra metadata key %q is one of the model's own", k)
		}
		meta[k] = v
	}
	// A NaN or infinite value must never reach a file (a model that scores
	// NaN, or a checkpoint that resumes into one): refuse before anything
	// is written, so that a file already at path is left as it was.
	params := append(m.params(), extra...)
	if err := nonFinite(params); err != nil {
		return nil, nil, fmt.Errorf("%w; not saved", err)
	}
	ts, err := layers.Tensors(params)
	if err != nil {
		return nil, nil, err
	}
	return ts, meta, nil
}

// nonFinite names the first NaN or infinite value among params, as
// "name[index] is NaN", or returns nil.
func nonFinite(params []*layers.Param) error {
	for _, p := range params {
		switch d := p.Value.Data().(type) {
		case []float32:
			for i, v := range d {
				if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
					return fmt.Errorf("%s[%d] is %v", p.Name, i, f)
				}
			}
		case []float64:
			for i, f := range d {
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return fmt.Errorf("%s[%d] is %v", p.Name, i, f)
				}
			}
		}
	}
	return nil
}

// Header is what a model file says about itself.
type Header struct {
	Config    Config
	Threshold float64
	Info      map[string]string
}

// ReadHeader reads a model file's metadata without loading its tensors.
func ReadHeader(path string) (Header, error) {
	return read(path, safetensors.Open, header)
}

// ReadHeaderFS is ReadHeader for the file name in fsys (an embed.FS, for
// example).
func ReadHeaderFS(fsys fs.FS, name string) (Header, error) {
	return read(name, openFS(fsys), header)
}

// ReadHeaderReaderAt is ReadHeader for a model file held in the first
// size bytes of r. Errors that name the file call it "input".
func ReadHeaderReaderAt(r io.ReaderAt, size int64) (Header, error) {
	return read(readerName, openReaderAt(r, size), header)
}

// readerName stands for the file's name in the errors of the functions
// that read an io.ReaderAt.
const readerName = "input"

// read opens the file name with open, reads it with f and closes it.
func read[T any](name string, open func(string) (*safetensors.File, error), f func(string, *safetensors.File) (T, error)) (T, error) {
	st, err := open(name)
	if err != nil {
		var zero T
		return zero, fileError(err)
	}
	defer st.Close()
	return f(name, st)
}

// openFS opens names in fsys.
func openFS(fsys fs.FS) func(string) (*safetensors.File, error) {
	return func(name string) (*safetensors.File, error) { return safetensors.OpenFS(fsys, name) }
}

// openReaderAt reads the first size bytes of r, whatever the name.
func openReaderAt(r io.ReaderAt, size int64) func(string) (*safetensors.File, error) {
	return func(string) (*safetensors.File, error) { return safetensors.NewReader(r, size) }
}

func header(path string, f *safetensors.File) (Header, error) {
	md := f.Metadata
	if md["format"] != FormatName {
		return Header{}, fmt.Errorf("siamese: %s is %w (format %q, want %q); a bare encoder's weights go in Config.EncoderWeights", path, ErrNotModel, md["format"], FormatName)
	}
	if v := md["format_version"]; v != FormatVersion {
		return Header{}, fmt.Errorf("siamese: %s: unknown format version %q (this library reads %q)", path, v, FormatVersion)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader([]byte(md["config"])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h.Config); err != nil {
		return Header{}, fmt.Errorf("siamese: %s: %w: config: %w", path, ErrDamaged, err)
	}
	t, err := strconv.ParseFloat(md["threshold"], 64)
	if err != nil || t < 0 || t > 1 {
		return Header{}, fmt.Errorf("siamese: %s: %w: threshold %q", path, ErrDamaged, md["threshold"])
	}
	h.Threshold = t
	h.Info = map[string]string{}
	if s := md["info"]; s != "" {
		if err := json.Unmarshal([]byte(s), &h.Info); err != nil {
			return Header{}, fmt.Errorf("siamese: %s: %w: info: %w", path, ErrDamaged, err)
		}
	}
	return h, nil
}

// Load reads a model saved by Save. It scores bit-identically to the model
// that was saved. A file of another architecture, a truncated file or an
// unknown version is an error naming the problem (see ErrNotModel,
// ErrDamaged and ErrArchitecture).
func Load(path string) (*Model, error) {
	return read(path, safetensors.Open, load)
}

// LoadFS is Load for the file name in fsys: an embed.FS holding a model
// compiled into the program, an os.DirFS, an fstest.MapFS.
func LoadFS(fsys fs.FS, name string) (*Model, error) {
	return read(name, openFS(fsys), load)
}

// LoadReaderAt is Load for a model file held in the first size bytes of
// r: a *bytes.Reader over a file received or written by WriteTo, an
// *os.File, a section of a larger file. Errors that name the file call it
// "input".
func LoadReaderAt(r io.ReaderAt, size int64) (*Model, error) {
	return read(readerName, openReaderAt(r, size), load)
}

// load builds the model held in f, named name in errors.
func load(name string, f *safetensors.File) (*Model, error) {
	h, err := header(name, f)
	if err != nil {
		return nil, err
	}
	h.Config.EncoderWeights = ""
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("siamese: %s: %w: %w", name, ErrDamaged, err)
	}
	if err := checkSizes(f, h.Config.WithDefaults()); err != nil {
		return nil, fmt.Errorf("siamese: %s: %w", name, err)
	}
	m, err := New(h.Config)
	if err != nil {
		return nil, fmt.Errorf("siamese: %s: %w", name, err)
	}
	var others []string
	for _, n := range f.Names() {
		if !ownTensor(n) {
			others = append(others, n)
		}
	}
	if err := layers.LoadParams(f, m.params(), layers.LoadOptions{Ignore: others}); err != nil {
		if errors.Is(err, safetensors.ErrCorrupt) {
			err = fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		return nil, fmt.Errorf("siamese: %s: %w", name, err)
	}
	m.threshold = h.Threshold
	m.info = h.Info
	return m, nil
}

// Info returns a copy of the model's provenance notes (saved with it).
func (m *Model) Info() map[string]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return maps.Clone(m.info)
}

// SetInfo records a provenance note, saved with the model.
func (m *Model) SetInfo(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.info[key] = value
}

// checkSizes compares the sizes the config declares with the tensors in
// the file before anything is allocated: the stem convolution (the
// encoder's width) and every hidden layer. A file whose header claims a
// huge model then fails here instead of allocating it; the file's own
// size bounds everything that passes.
func checkSizes(f *safetensors.File, c Config) error {
	type want struct {
		name  string
		shape []int
	}
	var ws []want
	towers := []string{""}
	if c.SeparateTowers {
		towers = append(towers, "_b")
	}
	for _, t := range towers {
		ws = append(ws, want{"encoder" + t + ".conv1.weight", []int{c.Encoder.Width, c.Encoder.InChannels, 7, 7}})
		prev := c.encoderOutput()
		for i, h := range c.Hidden {
			ws = append(ws, want{fmt.Sprintf("head%s.%d.weight", t, i), []int{h, prev}})
			prev = h
		}
	}
	for _, w := range ws {
		info, ok := f.Info(w.name)
		if !ok {
			return fmt.Errorf("%w: the config needs %s %v, the file has no such tensor", ErrArchitecture, w.name, w.shape)
		}
		if !slices.Equal(info.Shape, w.shape) {
			return fmt.Errorf("%w: the config needs %s %v, the file has %v", ErrArchitecture, w.name, w.shape, info.Shape)
		}
	}
	return nil
}
