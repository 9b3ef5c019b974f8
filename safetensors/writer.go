package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Tensor is a tensor to be written by [Write] or [WriteFile]. Data holds the
// elements in row-major order, little-endian, and must be exactly
// product(Shape) * DType.Size() bytes long.
type Tensor struct {
	// Name is the tensor's key in the header; it must not be empty or
	// "__metadata__".
	Name string
	// DType is the element type.
	DType DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Data is the raw little-endian element data.
	Data []byte
}

// F32 returns a float32 tensor holding data, encoded little-endian. The
// shape is copied. F32 panics if len(data) is not the product of shape,
// which is a programming error.
func F32(name string, shape []int, data []float32) Tensor {
	n, err := numElements(shape)
	if err != nil {
		panic("safetensors: F32(" + strconv.Quote(name) + "): " + err.Error())
	}
	if int64(len(data)) != n {
		panic(fmt.Sprintf("safetensors: F32(%q): %d values for shape %v, which needs %d", name, len(data), shape, n))
	}
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: dtF32, Shape: append([]int{}, shape...), Data: buf}
}

// Write encodes tensors and metadata as a safetensors file to w. The header
// lists the tensors (and "__metadata__", if metadata is non-empty) with keys
// in sorted order; tensor data follows contiguously in sorted-name order; the
// header is padded with spaces to a multiple of 8 bytes. Write validates all
// tensors before writing anything: names must be unique, non-empty and not
// "__metadata__", dtypes known, dimensions non-negative, and each Data exactly
// product(Shape)*DType.Size() bytes long.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, order, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for _, t := range order {
		if len(t.Data) == 0 {
			continue
		}
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// encodeHeader validates tensors and builds the padded header JSON. It
// returns the tensors in data order (sorted by name).
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, []*Tensor, error) {
	order := make([]*Tensor, len(tensors))
	for i := range tensors {
		order[i] = &tensors[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Name < order[j].Name })

	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			buf.WriteByte(',')
		}
		first = false
	}
	// "__metadata__" sorts before names beginning with a lowercase letter
	// but after those beginning with an uppercase letter or digit, so it is
	// emitted at its sorted place among the tensor names.
	metaDone := len(metadata) == 0
	writeMeta := func() {
		sep()
		writeString(&buf, metadataKey)
		buf.WriteString(":{")
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(&buf, k)
			buf.WriteByte(':')
			writeString(&buf, metadata[k])
		}
		buf.WriteByte('}')
		metaDone = true
	}

	var offset int64
	for i, t := range order {
		switch {
		case t.Name == "":
			return nil, nil, errors.New("safetensors: tensor with empty name")
		case t.Name == metadataKey:
			return nil, nil, fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
		case i > 0 && order[i-1].Name == t.Name:
			return nil, nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		_, need, err := byteSize(t.Shape, t.DType)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		if int64(len(t.Data)) != need {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data is %d bytes, shape %v %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, need)
		}
		if offset > math.MaxInt64-need {
			return nil, nil, errors.New("safetensors: total tensor data exceeds the maximum file size")
		}
		if !metaDone && metadataKey < t.Name {
			writeMeta()
		}
		sep()
		writeString(&buf, t.Name)
		buf.WriteString(`:{"dtype":`)
		writeString(&buf, string(t.DType))
		buf.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		buf.WriteString(`],"data_offsets":[`)
		buf.WriteString(strconv.FormatInt(offset, 10))
		buf.WriteByte(',')
		offset += need
		buf.WriteString(strconv.FormatInt(offset, 10))
		buf.WriteString("]}")
		if buf.Len() > MaxHeaderSize {
			return nil, nil, fmt.Errorf("safetensors: header exceeds the maximum of %d bytes", MaxHeaderSize)
		}
	}
	if !metaDone {
		writeMeta()
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	if buf.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header is %d bytes, exceeding the maximum of %d", buf.Len(), MaxHeaderSize)
	}
	return buf.Bytes(), order, nil
}

// writeString appends s as a JSON string.
func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshaling a string cannot fail
	buf.Write(b)
}

// WriteFile writes tensors and metadata (see [Write]) to path atomically: the
// file is written to a temporary file in the same directory, synced to disk,
// and renamed over path. On any error the temporary file is removed and an
// existing file at path is left untouched. A new file gets permissions 0644;
// an existing file's permissions are kept.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate first so that bad input never touches the file system.
	if _, _, err := encodeHeader(tensors, metadata); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := Write(tmp, tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	// Best effort: make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
