package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gosiamese/gosiamese/index"
	"github.com/gosiamese/gosiamese/preprocess"
	"github.com/gosiamese/gosiamese/siamese"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// options are the server's settings (the command's flags).
type options struct {
	limits
	timeout     time.Duration // per request
	maxInflight int           // requests handled at once; more get 503
	batcher     siamese.BatcherConfig
}

// server answers the HTTP API over one model and its gallery.
type server struct {
	opt     options
	model   *siamese.Model
	batcher *siamese.Batcher
	gallery *siamese.Gallery
	index   atomic.Pointer[index.Index] // when set, searched instead of the gallery
	metrics *metrics
	log     *slog.Logger

	inflight chan struct{} // a slot per request being handled
	loaded   atomic.Bool   // the gallery is loaded
	stopping atomic.Bool   // shutdown has begun
}

// ready reports whether the server takes API requests.
func (s *server) ready() bool { return s.loaded.Load() && !s.stopping.Load() }

func newServer(m *siamese.Model, opt options, log *slog.Logger) (*server, error) {
	g, err := m.NewGallery(nil, nil)
	if err != nil {
		return nil, err
	}
	s := &server{opt: opt, model: m, gallery: g, log: log, inflight: make(chan struct{}, opt.maxInflight)}
	s.metrics = newMetrics(func() int { return s.batcher.Len() }, s.references)
	bc := opt.batcher
	bc.OnBatch = s.metrics.batch
	if s.batcher, err = m.NewBatcher(bc); err != nil {
		return nil, err
	}
	return s, nil
}

// references is the number of references searched: the index's, or the
// gallery's.
func (s *server) references() int {
	if ix := s.index.Load(); ix != nil {
		return ix.Len()
	}
	return s.gallery.Len()
}

// loadIndex reads the index file at path, made of the model's search
// vectors (examples/index), to search instead of the gallery.
func (s *server) loadIndex(path string) error {
	ix, err := index.Load(path)
	if err != nil {
		return err
	}
	if err := ix.CheckModel(s.model); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	s.index.Store(ix)
	return nil
}

// close stops the batcher; call it once no request is in flight.
func (s *server) close() { s.batcher.Close() }

// handler returns the server's routes.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	api := map[string]func(*http.Request, *payload) (any, error){
		"compare": s.compare,
		"embed":   s.embed,
		"search":  s.search,
		"gallery": s.addReferences,
	}
	for name, fn := range api {
		path := "/v1/" + name
		mux.Handle("POST "+path, s.endpoint(name, fn))
		allow := http.MethodPost
		if name == "gallery" {
			allow = "GET, POST"
		}
		mux.Handle(path, s.fail(name, http.StatusMethodNotAllowed, "method not allowed: use "+allow, "Allow", allow))
	}
	mux.Handle("GET /v1/gallery", s.instrument("gallery_size", func(w http.ResponseWriter, r *http.Request) int {
		return writeJSON(w, http.StatusOK, map[string]int{"references": s.references()})
	}))
	mux.Handle("GET /healthz", s.instrument("healthz", func(w http.ResponseWriter, r *http.Request) int {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", s.instrument("readyz", func(w http.ResponseWriter, r *http.Request) int {
		if !s.ready() {
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": s.notReady().Error()})
		}
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", s.fail("other", http.StatusNotFound, "no such endpoint", "", ""))
	return mux
}

// Errors of the server itself that are answered with 503.
var (
	errNotReady = errors.New("not ready: the references (gallery or index) are still loading")
	errStopping = errors.New("shutting down")
	errBusy     = errors.New("overloaded: too many requests in flight")
	errTimeout  = errors.New("request timed out")
)

func (s *server) notReady() error {
	if s.stopping.Load() {
		return errStopping
	}
	return errNotReady
}

// instrument counts and times the requests of an endpoint; h returns the
// status code it wrote.
func (s *server) instrument(name string, h func(http.ResponseWriter, *http.Request) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := h(w, r)
		s.metrics.request(name, code, time.Since(start))
	})
}

// fail answers every request with code and msg, and the header key (if
// not "") set to value.
func (s *server) fail(name string, code int, msg, key, value string) http.Handler {
	return s.instrument(name, func(w http.ResponseWriter, r *http.Request) int {
		if key != "" {
			w.Header().Set(key, value)
		}
		return writeJSON(w, code, errorBody{msg})
	})
}

// endpoint wraps an API call: readiness, the in-flight limit, the body
// limit and decoding, the request's time limit, and the JSON answer.
func (s *server) endpoint(name string, fn func(*http.Request, *payload) (any, error)) http.Handler {
	return s.instrument(name, func(w http.ResponseWriter, r *http.Request) int {
		if !s.ready() {
			return s.writeError(w, r, s.notReady())
		}
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
		default:
			return s.writeError(w, r, errBusy)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		p, err := decodeRequest(w, r, s.opt.limits)
		if err != nil {
			return s.writeError(w, r, err)
		}
		resp, err := fn(r, p)
		if err != nil {
			return s.writeError(w, r, err)
		}
		return writeJSON(w, http.StatusOK, resp)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
	return code
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	code := statusOf(err)
	if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil {
		err = fmt.Errorf("%w after %v", errTimeout, s.opt.timeout)
	}
	if code >= 500 && code != http.StatusServiceUnavailable {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
	}
	return writeJSON(w, code, errorBody{err.Error()})
}

// statusOf chooses the HTTP status for an error: 400 for a malformed
// request, 413 for a body or image too large, 415 for an image in no
// format the server reads or one it cannot decode (or a body neither JSON
// nor a form), 422 for a well-formed request that cannot be served (a
// duplicate gallery id, an embedding of the wrong length, an empty
// gallery), 503 when the server is not ready, overloaded, stopping or out
// of time, 500 otherwise.
func statusOf(err error) int {
	var mb *http.MaxBytesError
	var bad *badRequest
	var unusable *unprocessable
	switch {
	case errors.As(err, &mb), errors.Is(err, preprocess.ErrTooLarge), errors.Is(err, errTooManyImages):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, preprocess.ErrUnknownFormat), errors.Is(err, preprocess.ErrCorrupt), errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, &unusable), errors.Is(err, siamese.ErrDuplicateID), errors.Is(err, index.ErrDuplicateID):
		return http.StatusUnprocessableEntity
	case errors.Is(err, siamese.ErrOverloaded), errors.Is(err, siamese.ErrClosed),
		errors.Is(err, errNotReady), errors.Is(err, errStopping), errors.Is(err, errBusy),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// unprocessable marks a well-formed request that cannot be served (422).
type unprocessable struct{ err error }

func (e *unprocessable) Error() string { return e.err.Error() }
func (e *unprocessable) Unwrap() error { return e.err }

// images decodes the parts of field, wanting from min to max of them.
func (s *server) images(p *payload, field string, lo, hi int) ([]part, []image.Image, error) {
	parts := p.files(field)
	if len(parts) < lo || len(parts) > hi {
		want := fmt.Sprint(lo)
		if hi > lo {
			want = fmt.Sprintf("%d to %d", lo, hi)
		}
		return nil, nil, badf("%d images in field %q, want %s", len(parts), field, want)
	}
	imgs, err := decodeImages(parts, s.opt.maxPixels)
	return parts, imgs, err
}

type compareResponse struct {
	Score     float64 `json:"score"`
	Same      bool    `json:"same"`
	Threshold float64 `json:"threshold"`
}

func (s *server) compare(r *http.Request, p *payload) (any, error) {
	if err := p.only([]string{"a", "b"}); err != nil {
		return nil, err
	}
	_, a, err := s.images(p, "a", 1, 1)
	if err != nil {
		return nil, err
	}
	_, b, err := s.images(p, "b", 1, 1)
	if err != nil {
		return nil, err
	}
	score, err := s.batcher.Compare(r.Context(), a[0], b[0])
	if err != nil {
		return nil, err
	}
	return compareResponse{Score: float64(score), Same: s.model.Same(score), Threshold: s.model.Threshold()}, nil
}

type embedResponse struct {
	Embeddings []siamese.Embedding `json:"embeddings"`
}

func (s *server) embed(r *http.Request, p *payload) (any, error) {
	if err := p.only([]string{"image"}); err != nil {
		return nil, err
	}
	_, imgs, err := s.images(p, "image", 1, s.opt.maxImages)
	if err != nil {
		return nil, err
	}
	es, err := s.batcher.EmbedBatch(r.Context(), imgs)
	if err != nil {
		return nil, err
	}
	return embedResponse{es}, nil
}

type match struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
	Same  bool    `json:"same"`
}

type searchResponse struct {
	Matches []match `json:"matches"`
}

// defaultK is the number of matches a search returns unless k is given.
const defaultK = 5

func (s *server) search(r *http.Request, p *payload) (any, error) {
	if err := p.only([]string{"image"}, "k", "embedding"); err != nil {
		return nil, err
	}
	k := defaultK
	if v, ok := p.values["k"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badf("k %q is not a count (0 for all)", v)
		}
		k = n
	}
	var q siamese.Embedding
	if p.embedding != nil {
		if len(p.parts) > 0 {
			return nil, badf("give an image or an embedding, not both")
		}
		if want := s.model.Config().EmbeddingSize(); len(p.embedding) != want {
			return nil, &unprocessable{fmt.Errorf("embedding of length %d, the model's are %d long", len(p.embedding), want)}
		}
		q = p.embedding
	} else {
		_, imgs, err := s.images(p, "image", 1, 1)
		if err != nil {
			return nil, err
		}
		if q, err = s.batcher.Embed(r.Context(), imgs[0]); err != nil {
			return nil, err
		}
	}
	var ms []siamese.Match
	if ix := s.index.Load(); ix != nil {
		if k == 0 {
			return nil, &unprocessable{errors.New("k 0 (every reference) is not served from an index: give the number of matches")}
		}
		fq, err := s.model.FoldHead(q)
		if err != nil {
			return nil, err
		}
		hits, err := ix.Search(fq, k)
		if err != nil {
			return nil, err
		}
		ms = index.Matches(s.model, hits)
	} else {
		if s.gallery.Len() == 0 {
			return nil, &unprocessable{errors.New("the gallery is empty: add references first")}
		}
		var err error
		if ms, err = s.gallery.SearchEmbedding(q, k); err != nil {
			return nil, err
		}
	}
	out := searchResponse{Matches: make([]match, len(ms))}
	for i, m := range ms {
		out.Matches[i] = match{ID: m.ID, Score: float64(m.Score), Same: s.model.Same(m.Score)}
	}
	return out, nil
}

type addResponse struct {
	Added      int `json:"added"`
	References int `json:"references"`
}

func (s *server) addReferences(r *http.Request, p *payload) (any, error) {
	if err := p.only([]string{"image"}); err != nil {
		return nil, err
	}
	parts, imgs, err := s.images(p, "image", 1, s.opt.maxImages)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(parts))
	for i, pt := range parts {
		if pt.name == "" {
			return nil, badf("image %d has no id (a file name, or \"id\" in JSON)", i)
		}
		ids[i] = pt.name
	}
	if ix := s.index.Load(); ix != nil {
		// The index holds the search vectors of the model's one tower.
		embs, err := s.batcher.EmbedBatch(r.Context(), imgs)
		if err != nil {
			return nil, err
		}
		vecs := make([][]float32, len(embs))
		for i, e := range embs {
			if vecs[i], err = s.model.FoldHead(e); err != nil {
				return nil, err
			}
		}
		if err := ix.Add(ids, vecs); err != nil {
			return nil, err
		}
		return addResponse{Added: len(ids), References: ix.Len()}, nil
	}
	if err := s.batcher.Add(r.Context(), s.gallery, ids, imgs); err != nil {
		return nil, err
	}
	return addResponse{Added: len(ids), References: s.gallery.Len()}, nil
}

// loadChunk is how many gallery images are decoded at a time.
const loadChunk = 64

// loadGallery embeds the images under dir: those in its subfolders (one
// folder per class, ids "class/file") and those in dir itself (ids
// "file"), in name order, skipping names that start with a dot and files
// that are not images. Images over the server's pixel limit are refused
// like everything else.
func (s *server) loadGallery(ctx context.Context, dir string) error {
	paths, err := galleryFiles(dir)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(paths); lo += loadChunk {
		chunk := paths[lo:min(lo+loadChunk, len(paths))]
		imgs := make([]image.Image, len(chunk))
		for i, id := range chunk {
			if imgs[i], err = preprocess.LoadLimit(filepath.Join(dir, filepath.FromSlash(id)), s.opt.maxPixels); err != nil {
				return err
			}
		}
		if err := s.batcher.Add(ctx, s.gallery, chunk, imgs); err != nil {
			return fmt.Errorf("gallery %s: %w", dir, err)
		}
	}
	return nil
}

// galleryFiles lists the image files of dir and of its direct
// subfolders, as slash-separated paths relative to dir, sorted.
func galleryFiles(dir string) ([]string, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range top {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			if preprocess.IsImageFile(e.Name()) {
				ids = append(ids, e.Name())
			}
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range sub {
			if !f.IsDir() && !strings.HasPrefix(f.Name(), ".") && preprocess.IsImageFile(f.Name()) {
				ids = append(ids, e.Name()+"/"+f.Name())
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}
