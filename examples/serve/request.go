package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gosiamese/gosiamese/preprocess"
)

// limits bound what one request may carry.
type limits struct {
	maxBody   int64 // bytes of the request body
	maxImages int   // images in one request
	maxPixels int64 // pixels (width x height) of one image
}

// payload is a decoded request body: the images by form field, in order,
// and the other values, whether the body was JSON or a multipart form.
type payload struct {
	parts     []part
	values    map[string]string
	embedding []float32 // JSON "embedding" (search)
}

// part is one image file: its form field, its name (the multipart file
// name, or the reference id in JSON) and its encoded bytes.
type part struct {
	field, name string
	data        []byte
}

// jsonBody is the JSON form of every endpoint's request; each endpoint
// takes its own fields and rejects the others. Images are base64
// (standard alphabet, padded).
type jsonBody struct {
	A          string    `json:"a"`
	B          string    `json:"b"`
	Image      string    `json:"image"`
	Images     []string  `json:"images"`
	References []jsonRef `json:"references"`
	Embedding  []float32 `json:"embedding"`
	K          *int      `json:"k"`
}

type jsonRef struct {
	ID    string `json:"id"`
	Image string `json:"image"`
}

// badRequest marks an error in the request's form (HTTP 400).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// errTooManyImages is a request with more images than the limit (413).
var errTooManyImages = errors.New("too many images in one request")

// errMediaType is a body that is neither JSON nor a multipart form (415).
var errMediaType = errors.New("unsupported content type: send application/json or multipart/form-data")

// decodeRequest reads r's body, at most lim.maxBody bytes, as JSON or a
// multipart form. It decodes no image.
func decodeRequest(w http.ResponseWriter, r *http.Request, lim limits) (*payload, error) {
	r.Body = http.MaxBytesReader(w, r.Body, lim.maxBody)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errMediaType
	}
	switch mt {
	case "application/json":
		return decodeJSON(r.Body, lim)
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, badf("multipart form without a boundary")
		}
		return decodeMultipart(multipart.NewReader(r.Body, params["boundary"]), lim)
	}
	return nil, errMediaType
}

func decodeJSON(body io.Reader, lim limits) (*payload, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var j jsonBody
	if err := dec.Decode(&j); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, jsonError(err)
		}
		return nil, badf("JSON body: more than one value")
	}
	p := &payload{values: map[string]string{}, embedding: j.Embedding}
	if j.K != nil {
		p.values["k"] = strconv.Itoa(*j.K)
	}
	add := func(field, name, b64 string) error {
		if len(p.parts) >= lim.maxImages {
			return errTooManyImages
		}
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return badf("%s: not base64: %v", field, err)
		}
		p.parts = append(p.parts, part{field: field, name: name, data: data})
		return nil
	}
	for _, f := range []struct{ field, b64 string }{{"a", j.A}, {"b", j.B}, {"image", j.Image}} {
		if f.b64 != "" {
			if err := add(f.field, "", f.b64); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range j.Images {
		if err := add("image", "", s); err != nil {
			return nil, err
		}
	}
	for _, ref := range j.References {
		if ref.ID == "" {
			return nil, badf("references: a reference without an id")
		}
		if err := add("image", ref.ID, ref.Image); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// jsonError keeps a body-size error as it is and makes any other a bad
// request.
func jsonError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	return badf("JSON body: %v", err)
}

// maxValue is the longest non-file form value accepted.
const maxValue = 1024

func decodeMultipart(mr *multipart.Reader, lim limits) (*payload, error) {
	p := &payload{values: map[string]string{}}
	for {
		pt, err := mr.NextPart()
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return nil, formError(err)
		}
		field := pt.FormName()
		if field == "" {
			return nil, badf("multipart part without a form field name")
		}
		name := fileName(pt)
		if name == "" {
			b, err := io.ReadAll(io.LimitReader(pt, maxValue+1))
			if err != nil {
				return nil, formError(err)
			}
			if len(b) > maxValue {
				return nil, badf("form value %q longer than %d bytes", field, maxValue)
			}
			if _, dup := p.values[field]; dup {
				return nil, badf("form value %q given twice", field)
			}
			p.values[field] = string(b)
			continue
		}
		if len(p.parts) >= lim.maxImages {
			return nil, errTooManyImages
		}
		data, err := io.ReadAll(pt)
		if err != nil {
			return nil, formError(err)
		}
		p.parts = append(p.parts, part{field: field, name: name, data: data})
	}
}

// fileName returns a part's file name as sent: Part.FileName keeps only
// its last path element, and gallery ids may be paths ("class/file").
func fileName(pt *multipart.Part) string {
	_, params, err := mime.ParseMediaType(pt.Header.Get("Content-Disposition"))
	if err != nil {
		return pt.FileName()
	}
	return params["filename"]
}

// formError keeps a body-size error as it is and makes any other a bad
// request.
func formError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	return badf("multipart form: %v", err)
}

// files returns the parts of a form field.
func (p *payload) files(field string) []part {
	var out []part
	for _, pt := range p.parts {
		if pt.field == field {
			out = append(out, pt)
		}
	}
	return out
}

// only checks that the payload has images in the given fields alone and
// no other values than those allowed.
func (p *payload) only(fields []string, values ...string) error {
	for _, pt := range p.parts {
		if !contains(fields, pt.field) {
			return badf("unexpected image field %q (want %s)", pt.field, strings.Join(fields, ", "))
		}
	}
	for k := range p.values {
		if !contains(values, k) {
			return badf("unexpected field %q", k)
		}
	}
	if p.embedding != nil && !contains(values, "embedding") {
		return badf("unexpected field \"embedding\"")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decodeImages decodes each part, rejecting before decoding an image of
// more than maxPixels. Errors name the part and wrap preprocess's
// (ErrTooLarge, ErrUnknownFormat, ErrCorrupt).
func decodeImages(parts []part, maxPixels int64) ([]image.Image, error) {
	imgs := make([]image.Image, len(parts))
	for i, pt := range parts {
		img, err := preprocess.DecodeLimit(bytes.NewReader(pt.data), maxPixels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", partName(pt, i, len(parts)), err)
		}
		imgs[i] = img
	}
	return imgs, nil
}

// partName names part i of n in messages: by its file name or id if it
// has one, else by its position.
func partName(pt part, i, n int) string {
	switch {
	case pt.name != "":
		return fmt.Sprintf("%s %q", pt.field, pt.name)
	case n > 1:
		return fmt.Sprintf("%s %d", pt.field, i)
	}
	return pt.field
}
