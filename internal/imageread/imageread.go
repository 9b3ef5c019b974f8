// Package imageread guards the registered image decoders against hostile
// or truncated files: a decoder that panics gives an error, and a Netpbm
// file that ends inside a comment gives one too, where the Netpbm decoder
// (github.com/spakin/netpbm v1.3.2) would loop forever, growing the
// comment. preprocess decodes through it and data reads headers through
// it.
package imageread

import (
	"fmt"
	"image"
	"io"
)

// Catch, deferred, turns a decoder's panic into the error *errp:
// "corrupt image: decoder failed: ...".
func Catch(errp *error) {
	if p := recover(); p != nil {
		*errp = fmt.Errorf("corrupt image: decoder failed: %v", p)
	}
}

// DecodeConfig is image.DecodeConfig of Guard(r) under Catch.
func DecodeConfig(r io.Reader) (cfg image.Config, format string, err error) {
	defer Catch(&err)
	return image.DecodeConfig(Guard(r))
}

// Guard returns r for a decoder, read from the start of an image file. A
// Netpbm file that ends inside a comment gets a newline at its end, which
// closes the comment: the decoder's comment loops stop only at a line end,
// so they would spin at the end of the file. A plain (ASCII) file gets
// the newline at its end whatever it ends in, since a line end is only
// white space there; a binary file gets it only when it ends inside its
// header, so that a truncated raster stays truncated. Other formats pass
// unchanged.
func Guard(r io.Reader) io.Reader { return &guard{r: r} }

// guard follows a Netpbm header as it is read.
type guard struct {
	r io.Reader

	n         int  // bytes seen
	magic     byte // the digit of "P1".."P7", or 0 (not Netpbm)
	inComment bool // inside a header comment
	inNumber  bool // inside a header number
	numbers   int  // header numbers seen
	headerEnd bool // past the header (or not a Netpbm file)
	padded    bool
}

func (g *guard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.scan(p[:n])
	if err == io.EOF && !g.padded && g.magic != 0 && (g.magic <= '3' || g.inComment) && n < len(p) {
		g.padded = true
		p[n] = '\n'
		return n + 1, nil
	}
	return n, err
}

// scan follows the header through b, the next bytes read.
func (g *guard) scan(b []byte) {
	for _, c := range b {
		if g.headerEnd {
			return
		}
		g.n++
		switch {
		case g.n == 1:
			g.headerEnd = c != 'P'
		case g.n == 2:
			if c >= '1' && c <= '6' {
				g.magic = c
			} else {
				g.headerEnd = true
			}
		case g.inComment:
			g.inComment = c != '\n' && c != '\r'
		case c == '#':
			g.inComment = true
		case c >= '0' && c <= '9':
			g.inNumber = true
		case g.inNumber:
			g.inNumber = false
			g.numbers++
			// PBM has width and height, the others a maximum value too.
			g.headerEnd = g.numbers == 3 || g.numbers == 2 && (g.magic == '1' || g.magic == '4')
		}
	}
}
