package preprocess

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"

	// Decoders for Load and Decode. imaging registers these too; they
	// are listed so the supported set is explicit.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Load opens and decodes the image file at path in any registered format
// (PNG, JPEG, GIF, BMP, TIFF, WebP), applying the JPEG EXIF orientation tag
// so the result is upright. Errors name the file, for example
// "preprocess: photo.jpg: image: unknown format".
func Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("preprocess: %s: %w", path, err)
	}
	defer f.Close()
	img, err := imaging.Decode(f, imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("preprocess: %s: %w", path, err)
	}
	return img, nil
}

// Decode decodes an image in any registered format from r, applying the
// JPEG EXIF orientation tag like Load. Errors are prefixed "preprocess: ".
func Decode(r io.Reader) (image.Image, error) {
	if r == nil {
		return nil, errors.New("preprocess: nil reader")
	}
	img, err := imaging.Decode(r, imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	return img, nil
}
