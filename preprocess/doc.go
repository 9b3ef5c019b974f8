// Package preprocess turns decoded images into float32 model input, the way
// torchvision's evaluation transform does, so that callers never have to
// resize, crop, scale or normalise pixels by hand.
//
// # Pipeline
//
// For every image the package performs, in order:
//
//  1. Geometry. By default (Config.NoCrop == false) the shorter side is
//     resized to Config.Size, the longer side to int(Size*long/short)
//     (truncated, as torchvision does), and then a centred Size x Size window
//     is cut out; this is torchvision's Resize(Size) followed by
//     CenterCrop(Size). The crop offsets are top = round((h-Size)/2) and
//     left = round((w-Size)/2) with round-half-to-even, matching Python's
//     round. With NoCrop the image is resized straight to Size x Size.
//     An image whose shorter side already equals Size is not resampled at
//     all (only cropped), and a Size x Size image passes through bit-exact.
//     Resampling uses github.com/disintegration/imaging with
//     Config.Filter (Linear by default). Before resampling the
//     alpha channel is dropped (as in step 2) and the colour rounded to
//     8 bits, the precision imaging resamples at; so the resampled image, like
//     PIL's, is computed from the opaque RGB colour.
//  2. Colour. Pixels are read as non-premultiplied 16-bit colour, so a
//     semi-transparent pixel keeps its colour and its alpha is dropped, as
//     PIL's convert("RGB") does. Every standard image kind (Gray, Gray16,
//     Paletted, CMYK, YCbCr, RGBA, NRGBA, RGBA64, NRGBA64, ...) is read
//     correctly; 8-bit channels v become v*257. For one channel the grey
//     level is PIL's "L" conversion, L = 0.299 R + 0.587 G + 0.114 B.
//  3. Inversion, with Config.Invert: each 16-bit value c becomes 65535 - c
//     (v becomes 1 - v), for dark ink on light paper read as light on dark.
//  4. Normalisation, in float32, per Config.Norm (see Normalization).
//
// The result is laid out channel-major (CHW): all of channel 0, then all of
// channel 1, and so on, each plane row by row. Batch stacks several images
// in (N, C, Size, Size) order.
//
// # Loading
//
// Load and Decode decode any registered format (PNG, JPEG, GIF, BMP, TIFF,
// WebP and the Netpbm formats PBM, PGM, PPM and PAM, binary or ASCII, are
// registered by this package; an animated GIF gives its first frame) and
// apply the JPEG EXIF orientation tag, so photographs taken on a phone come
// out upright. The
// format is sniffed from the content, so a PNG named photo.jpg loads. They
// read the image header first and reject an image of more than MaxPixels
// pixels before decoding it, so a tiny file claiming 100000 x 100000
// pixels costs nothing; LoadLimit and DecodeLimit take another limit.
//
// # Errors
//
// A bad image is an error naming the file (or the image's index in a
// Batch) that errors.Is tells apart: ErrTooLarge (more pixels than the
// limit), ErrUnknownFormat (not an image of any registered format; it is
// image.ErrFormat) and ErrCorrupt (a known format that does not decode:
// truncated or damaged). A failing reader's own error is returned as it
// is, so a broken connection is not reported as a broken image.
//
// # Typical use
//
//	img, err := preprocess.Load("photo.jpg")
//	if err != nil {
//		return err
//	}
//	x, err := preprocess.Pixels(img, preprocess.Config{Size: 224})
//	// x holds 3*224*224 ImageNet-normalised float32 values in CHW order.
package preprocess
