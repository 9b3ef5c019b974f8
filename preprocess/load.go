package preprocess

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	// Decoders for Load and Decode. imaging registers these too; they
	// are listed so the supported set is explicit.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	"github.com/disintegration/imaging"
	"github.com/gosiamese/gosiamese/internal/imageread"
	// Netpbm (PBM, PGM, PPM and PAM, binary and ASCII, 8 and 16 bits a
	// sample): many face and scanned-document sets ship as PGM.
	_ "github.com/spakin/netpbm"
	_ "golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// MaxPixels is the largest image, in pixels (width x height), that Load
// and Decode accept, for example 8192 x 8192. The header is read first, so
// a small hostile file claiming 100000 x 100000 pixels is rejected before
// anything is allocated. LoadLimit and DecodeLimit take another limit.
const MaxPixels int64 = 1 << 26

// Load opens and decodes the image file at path in any registered format
// (PNG, JPEG, GIF, BMP, TIFF, WebP and the Netpbm formats PBM, PGM, PPM
// and PAM; the format is sniffed from the content, not the file name; an
// animated GIF gives its first frame), applying the JPEG EXIF orientation
// tag so the result is upright. An image larger than MaxPixels is rejected
// before it is decoded. Errors name the file, for example
// "preprocess: photo.jpg: image: unknown format", and wrap ErrTooLarge,
// ErrUnknownFormat or ErrCorrupt where the image is at fault (a missing
// file wraps fs.ErrNotExist, a folder syscall.EISDIR: "preprocess: photos:
// is a directory").
func Load(path string) (image.Image, error) {
	return LoadLimit(path, MaxPixels)
}

// LoadLimit is Load with an explicit pixel limit instead of MaxPixels: an
// image whose header claims more than maxPixels pixels (width x height) is
// an error such as "preprocess: big.png: image too large: 100000x100000
// pixels exceeds the limit of 67108864" (wrapping ErrTooLarge), returned
// before any pixel is decoded. maxPixels <= 0 means no limit.
func LoadLimit(path string, maxPixels int64) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("preprocess: %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("preprocess: %s: %w", path, syscall.EISDIR)
	}
	img, err := decodeLimit(f, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %s: %w", path, err)
	}
	return img, nil
}

// Decode decodes an image in any registered format from r, applying the
// JPEG EXIF orientation tag like Load and rejecting, before decoding, an
// image larger than MaxPixels. Errors are prefixed "preprocess: " and
// wrap the sentinels as Load's do.
func Decode(r io.Reader) (image.Image, error) {
	return DecodeLimit(r, MaxPixels)
}

// DecodeLimit is Decode with an explicit pixel limit instead of
// MaxPixels, like LoadLimit. maxPixels <= 0 means no limit.
func DecodeLimit(r io.Reader, maxPixels int64) (image.Image, error) {
	if r == nil {
		return nil, errors.New("preprocess: nil reader")
	}
	img, err := decodeLimit(r, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	return img, nil
}

// decodeLimit reads the image header from r, checks its size against
// maxPixels and only then decodes the image, replaying the header bytes
// already read. Errors carry no prefix and wrap ErrTooLarge,
// ErrUnknownFormat or ErrCorrupt, except that a failing reader's own error
// is returned as it is: a broken disk or connection is not a broken image.
// A decoder that panics on a hostile file gives an error too, and the
// decoders read through imageread.Guard.
func decodeLimit(r io.Reader, maxPixels int64) (img image.Image, err error) {
	er := &errReader{r: r}
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder failed: %v", p)
		}
		switch {
		case err == nil, errors.Is(err, ErrTooLarge), errors.Is(err, ErrUnknownFormat):
		case er.err != nil:
			err = er.err
		default:
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}()
	br := bufio.NewReader(er)
	if magic, _ := br.Peek(4); isTIFF(magic) {
		return decodeTIFF(br, maxPixels)
	}
	r = br
	// Everything DecodeConfig consumes (through its own buffering) is
	// kept in head, so the full decode sees the stream from the start,
	// EXIF segment included.
	var head bytes.Buffer
	cfg, _, err := image.DecodeConfig(imageread.Guard(io.TeeReader(r, &head)))
	if err != nil {
		return nil, err
	}
	if err := checkPixels(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	img, err = imaging.Decode(imageread.Guard(io.MultiReader(&head, r)), imaging.AutoOrientation(true))
	if err != nil {
		return nil, err
	}
	return img, nil
}

// errReader records the first error other than io.EOF that r returns.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// decodeTIFF decodes a TIFF file from r. The TIFF decoder needs random
// access and reads a plain reader into a buffer that it grows to any
// offset the file names (gigabytes for a hostile file), so the file is
// read here and handed over as an io.ReaderAt, after checkTIFF.
func decodeTIFF(r io.Reader, maxPixels int64) (image.Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := checkTIFF(b); err != nil {
		return nil, err
	}
	cfg, err := tiff.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if err := checkPixels(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	// EXIF orientation is applied to JPEG only (as imaging does).
	return tiff.Decode(bytes.NewReader(b))
}

// isTIFF reports whether magic starts a TIFF file.
func isTIFF(magic []byte) bool {
	return len(magic) == 4 && (string(magic) == "II*\x00" || string(magic) == "MM\x00*")
}

// checkTIFF rejects a TIFF file whose first image file directory has an
// entry claiming more data than the whole file holds. Older versions of
// golang.org/x/image/tiff allocate such an entry's claimed size (up to
// gigabytes) before noticing the file is too short, even in DecodeConfig.
// Anything else malformed is left to the decoder to report.
func checkTIFF(b []byte) error {
	var bo binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		bo = binary.BigEndian
	}
	if len(b) < 8 {
		return nil
	}
	off := uint64(bo.Uint32(b[4:8]))
	if off+2 > uint64(len(b)) {
		return nil
	}
	n := uint64(bo.Uint16(b[off:]))
	entries := b[off+2:]
	if uint64(len(entries)) > 12*n {
		entries = entries[:12*n]
	}
	// Bytes per value of the TIFF data types 1..12.
	sizes := [...]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8}
	for ; len(entries) >= 12; entries = entries[12:] {
		dt := int(bo.Uint16(entries[2:4]))
		if dt >= len(sizes) {
			continue
		}
		if size := uint64(bo.Uint32(entries[4:8])) * sizes[dt]; size > uint64(len(b)) {
			return fmt.Errorf("tiff: directory entry %d claims %d bytes, the file has %d", bo.Uint16(entries[0:2]), size, len(b))
		}
	}
	return nil
}

// checkPixels reports an error when a w x h image exceeds maxPixels
// (maxPixels <= 0: no limit) or has no pixels.
func checkPixels(w, h int, maxPixels int64) error {
	if w < 0 || h < 0 {
		return fmt.Errorf("invalid image size %dx%d", w, h)
	}
	if w == 0 || h == 0 {
		return fmt.Errorf("empty image (%dx%d)", w, h)
	}
	if maxPixels <= 0 {
		return nil
	}
	if int64(w) > maxPixels/int64(h) || int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("%w: %dx%d pixels exceeds the limit of %d", ErrTooLarge, w, h, maxPixels)
	}
	return nil
}

// imageExts are the file extensions, in lower case, of the formats Decode
// reads.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm", ".pnm", ".pam"}

// IsImageFile reports whether name ends in the extension, in any case, of
// a format Decode reads: .png, .jpg, .jpeg, .gif, .bmp, .tif, .tiff,
// .webp, or the Netpbm .pbm, .pgm, .ppm, .pnm and .pam. Loaders use it to
// pick the images out of a folder.
func IsImageFile(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}
