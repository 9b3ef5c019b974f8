package index

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/gosiamese/gosiamese/siamese"
)

// The file, all numbers little-endian:
//
//	magic       8 bytes  "GSIVF\r\n\x1a"
//	header      uint32 length, then that many bytes of JSON (fileHeader)
//	centroids   Lists x Dim float32
//	lists       Lists times: uint32 n, n x uint32 positions, n x Dim float32
//	ids         Count times: uint32 length, then the id's bytes
//	checksum    32 bytes: SHA-256 of everything before it
//
// The positions of all lists together are 0 ... Count-1, each once.
const magic = "GSIVF\r\n\x1a"

// Version is the version of the file format Save writes.
const Version = 1

type fileHeader struct {
	Version  int               `json:"version"`
	Metric   string            `json:"metric"`
	Dim      int               `json:"dim"`
	Count    int               `json:"count"`
	Lists    int               `json:"lists"`
	Probe    int               `json:"probe"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

const maxHeader = 1 << 24

// WriteTo writes the index in its file format to w.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	n, err := ix.write(w)
	if err != nil {
		err = fmt.Errorf("index: %w", err)
	}
	return n, err
}

func (ix *Index) write(w io.Writer) (int64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	h := sha256.New()
	cw := &countWriter{w: bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)}
	hdr, err := json.Marshal(fileHeader{Version: Version, Metric: ix.metric.String(), Dim: ix.dim, Count: len(ix.ids),
		Lists: len(ix.lists), Probe: ix.probe, Metadata: ix.meta})
	if err != nil {
		return 0, err
	}
	cw.write([]byte(magic))
	cw.u32(uint32(len(hdr)))
	cw.write(hdr)
	cw.floats(ix.cent)
	for _, l := range ix.lists {
		cw.u32(uint32(len(l.pos)))
		for _, p := range l.pos {
			cw.u32(uint32(p))
		}
		cw.floats(l.vecs)
	}
	for _, id := range ix.ids {
		cw.u32(uint32(len(id)))
		cw.write([]byte(id))
	}
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	if cw.err != nil {
		return cw.n, cw.err
	}
	n, err := w.Write(h.Sum(nil))
	return cw.n + int64(n), err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
	buf [4 << 10]byte
}

func (c *countWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

func (c *countWriter) u32(v uint32) {
	c.write(binary.LittleEndian.AppendUint32(c.buf[:0], v))
}

func (c *countWriter) floats(fs []float32) {
	for len(fs) > 0 {
		n := min(len(fs), len(c.buf)/4)
		for i, f := range fs[:n] {
			binary.LittleEndian.PutUint32(c.buf[4*i:], math.Float32bits(f))
		}
		c.write(c.buf[:4*n])
		fs = fs[n:]
	}
}

// Save writes the index to path atomically: to a temporary file in the
// same folder, synced to disk, then renamed over path, and the folder
// synced. A failed or interrupted save leaves whatever was at path as it
// was, and no temporary file once Save returns.
func (ix *Index) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	_, err = ix.write(f)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("index: saving %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Load reads the index file at path (see Read).
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	ix, err := Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return ix, nil
}

// Read reads an index in its file format from r, checking everything
// before it is used: an error wraps ErrNotIndex, ErrVersion or ErrDamaged
// for a file of another kind, of another version or damaged (truncated,
// altered, inconsistent). Memory grows with the bytes actually read, not
// with the sizes the file claims.
func Read(r io.Reader) (*Index, error) {
	h := sha256.New()
	rd := &reader{r: io.TeeReader(r, h), h: h}
	var m [len(magic)]byte
	if err := rd.full(m[:]); err != nil || string(m[:]) != magic {
		return nil, ErrNotIndex
	}
	n := rd.u32()
	if rd.err == nil && n > maxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrDamaged, n)
	}
	hb := rd.bytes(int(n))
	if rd.err != nil {
		return nil, rd.damaged("header")
	}
	var hdr fileHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrDamaged, err)
	}
	if hdr.Version != Version {
		return nil, fmt.Errorf("%w: version %d, this package reads %d", ErrVersion, hdr.Version, Version)
	}
	metric, err := siamese.ParseDistance(hdr.Metric)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: metric %q", ErrDamaged, hdr.Metric)
	case hdr.Dim < 1 || hdr.Dim > maxDim || hdr.Count < 1 || hdr.Count > math.MaxInt32 ||
		hdr.Lists < 1 || hdr.Lists > min(hdr.Count, maxLists) || hdr.Probe < 1 || hdr.Probe > hdr.Lists:
		return nil, fmt.Errorf("%w: dim %d, count %d, lists %d, probe %d", ErrDamaged, hdr.Dim, hdr.Count, hdr.Lists, hdr.Probe)
	}
	ix := &Index{metric: metric, dim: hdr.Dim, probe: hdr.Probe, meta: hdr.Metadata, seen: map[string]int{}}
	if ix.meta == nil {
		ix.meta = map[string]string{}
	}
	if ix.cent = rd.floats(hdr.Lists * hdr.Dim); rd.err != nil {
		return nil, rd.damaged("centroids")
	}
	ix.centNorm = ix.norms(ix.cent, hdr.Lists)
	total := 0
	for li := range hdr.Lists {
		ix.lists = append(ix.lists, list{}) // as the lists come, not as the header claims
		l := &ix.lists[li]
		n := int(rd.u32())
		if rd.err != nil {
			return nil, rd.damaged("lists")
		}
		if n > hdr.Count-total {
			return nil, fmt.Errorf("%w: list %d of %d vectors, more than the %d of the header", ErrDamaged, li, n, hdr.Count)
		}
		total += n
		for range n {
			p := rd.u32()
			if rd.err != nil {
				return nil, rd.damaged("lists")
			}
			if int64(p) >= int64(hdr.Count) {
				return nil, fmt.Errorf("%w: list %d: position %d of %d vectors", ErrDamaged, li, p, hdr.Count)
			}
			l.pos = append(l.pos, int32(p))
		}
		if l.vecs = rd.floats(n * hdr.Dim); rd.err != nil {
			return nil, rd.damaged("lists")
		}
		l.norm = ix.norms(l.vecs, n)
	}
	if total != hdr.Count {
		return nil, fmt.Errorf("%w: lists hold %d vectors, the header says %d", ErrDamaged, total, hdr.Count)
	}
	// Count positions were read: each must be there once.
	placed := make([]bool, hdr.Count)
	for li, l := range ix.lists {
		for _, p := range l.pos {
			if placed[p] {
				return nil, fmt.Errorf("%w: list %d: position %d repeated", ErrDamaged, li, p)
			}
			placed[p] = true
		}
	}
	for range hdr.Count {
		n := rd.u32()
		if rd.err == nil && n > maxID {
			return nil, fmt.Errorf("%w: id of %d bytes", ErrDamaged, n)
		}
		id := string(rd.bytes(int(n)))
		if rd.err != nil {
			return nil, rd.damaged("ids")
		}
		if _, ok := ix.seen[id]; ok {
			return nil, fmt.Errorf("%w: id %q twice", ErrDamaged, id)
		}
		ix.seen[id] = len(ix.ids)
		ix.ids = append(ix.ids, id)
	}
	sum := h.Sum(nil)
	var stored [sha256.Size]byte
	if _, err := io.ReadFull(rd.r, stored[:]); err != nil {
		return nil, rd.damaged("checksum")
	}
	if !bytes.Equal(sum, stored[:]) {
		return nil, fmt.Errorf("%w: checksum does not match: the file was altered", ErrDamaged)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r, extra[:]); n != 0 {
		return nil, fmt.Errorf("%w: bytes after the checksum", ErrDamaged)
	}
	for _, l := range ix.lists {
		for _, x := range l.vecs {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: a vector holds %v", ErrDamaged, x)
			}
		}
	}
	return ix, nil
}

// reader reads the file's fields, keeping the first error.
type reader struct {
	r   io.Reader
	h   hash.Hash
	err error
	buf [4 << 10]byte
}

func (r *reader) damaged(what string) error {
	if errors.Is(r.err, io.EOF) || errors.Is(r.err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated in the %s", ErrDamaged, what)
	}
	return fmt.Errorf("%w: reading the %s: %w", ErrDamaged, what, r.err)
}

func (r *reader) full(p []byte) error {
	if r.err == nil {
		_, r.err = io.ReadFull(r.r, p)
	}
	return r.err
}

func (r *reader) u32() uint32 {
	if r.full(r.buf[:4]) != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(r.buf[:4])
}

// bytes reads n bytes, allocating as they arrive.
func (r *reader) bytes(n int) []byte {
	var out []byte
	for n > 0 && r.err == nil {
		c := min(n, len(r.buf))
		if r.full(r.buf[:c]) == nil {
			out = append(out, r.buf[:c]...)
		}
		n -= c
	}
	return out
}

// floats reads n float32s, allocating as they arrive.
func (r *reader) floats(n int) []float32 {
	out := make([]float32, 0, min(n, 1<<16))
	for n > 0 && r.err == nil {
		c := min(n, len(r.buf)/4)
		if r.full(r.buf[:4*c]) == nil {
			for i := range c {
				out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(r.buf[4*i:])))
			}
		}
		n -= c
	}
	return out
}
