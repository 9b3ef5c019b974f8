// Package safetensors reads and writes the .safetensors tensor file format
// published by Hugging Face (and used by timm and many other projects).
//
// # File layout
//
// A safetensors file consists of three parts:
//
//  1. an 8-byte little-endian unsigned integer N, the length of the header;
//  2. N bytes of UTF-8 JSON: an object mapping each tensor name to an entry
//     of the form {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets":
//     [begin, end]}, plus the optional key "__metadata__" whose value is an
//     object of string to string. The header may be padded with trailing
//     spaces;
//  3. the data buffer. Each tensor's data occupies bytes [begin, end) of the
//     buffer, stored little-endian in row-major order.
//
// # Reading
//
// [Open] (a path), [OpenFS] (a file of an fs.FS, such as an embed.FS) and
// [NewReader] (any io.ReaderAt) validate the entire header before
// returning and treat their input as hostile: every size, offset and count
// claimed by the file is checked against the real file size (with overflow
// checking) before any allocation proportional to it is made, so a corrupt
// or malicious file yields an error rather than a panic or an enormous
// allocation. The checks
// are: the header length lies in [2, MaxHeaderSize] and fits in the file; the
// header is valid UTF-8 JSON consisting of a single object with no duplicate
// keys (at any level); every tensor entry has exactly the fields dtype, shape
// and data_offsets, a known dtype, non-negative dimensions, and offsets with
// 0 <= begin <= end <= data size; end-begin equals the element count times
// the dtype size; no two tensors share bytes; and __metadata__, if present,
// maps strings to strings. Tensor data is read lazily with [File.Bytes] or
// [File.Float32].
//
// All errors returned by this package begin with "safetensors: ". A file
// whose header does not open with '{' after the length is
// ErrNotSafetensors (a text file, an image, a pickle); one that starts as
// safetensors but breaks any of the checks above, or holds less data than
// its header says, is ErrCorrupt. Test them with errors.Is.
//
// # Writing
//
// [Write] encodes tensors (built directly or with [F32]) into the canonical
// layout: header keys sorted, data laid out contiguously in sorted-name order,
// header padded with spaces so the data buffer starts at a multiple of 8
// bytes. [WriteFile] does the same atomically via a temporary file and rename.
package safetensors
