// Command serve answers image comparisons over HTTP with a saved Siamese
// model:
//
//	serve -model model.safetensors [-gallery REFS_DIR] [-addr :8080]
//	serve -model model.safetensors -index refs.index [-addr :8080]
//
// -index searches an index file that examples/index built from the
// references' search vectors instead of embedding a folder at start
// (approximate for large galleries: see package index); references added
// with POST /v1/gallery then go into the index in memory, not into the
// file.
//
// Endpoints (JSON answers; images as multipart form files or base64 in a
// JSON body, see the README):
//
//	POST /v1/compare   images a and b: {"score", "same", "threshold"}
//	POST /v1/embed     one or more images: {"embeddings": [[...], ...]}
//	POST /v1/search    one image (or an embedding) and k: {"matches": [{"id", "score", "same"}]}
//	POST /v1/gallery   images with ids, added to the gallery: {"added", "references"}
//	GET  /v1/gallery   {"references"}
//	GET  /healthz      200 while the process runs
//	GET  /readyz       200 once the gallery is loaded, 503 while loading or stopping
//	GET  /metrics      Prometheus metrics
//
// Errors are {"error": "..."} with status 400 (malformed request), 413
// (body or image too large), 415 (unsupported or undecodable image), 422
// (well formed but unusable), 503 (not ready, overloaded, shutting down
// or out of time). Concurrent requests share forward passes
// (siamese.Batcher). SIGINT or SIGTERM stops the server after the
// requests in flight are answered.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gosiamese/gosiamese/internal/gcpace"
	"github.com/gosiamese/gosiamese/siamese"
)

func main() {
	gcpace.Set()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends (the command's signals) and returns the exit
// code. It prints "listening on http://ADDR" once the port is open.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file written by examples/train or siamese.Model.Save (required)")
	galleryDir := fs.String("gallery", "", "folder of reference images, or of class folders of them, loaded into the gallery at start")
	indexPath := fs.String("index", "", "index file of the references (examples/index), searched instead of a gallery folder")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	var opt options
	fs.Int64Var(&opt.maxBody, "max-body", 32<<20, "largest request body in bytes (413 beyond)")
	fs.IntVar(&opt.maxImages, "max-images", 64, "most images in one request (413 beyond)")
	fs.Int64Var(&opt.maxPixels, "max-pixels", 1<<24, "largest image in pixels, width x height, judged from its header before decoding (413 beyond)")
	fs.DurationVar(&opt.timeout, "timeout", 30*time.Second, "time limit of one request (503 beyond)")
	fs.IntVar(&opt.maxInflight, "max-inflight", 256, "most requests handled at once (503 beyond)")
	fs.IntVar(&opt.batcher.MaxBatch, "max-batch", siamese.MaxBatch, "most images in one forward pass (a power of two)")
	fs.DurationVar(&opt.batcher.MaxWait, "max-wait", siamese.DefaultMaxWait, "longest a request waits for others to share its forward pass")
	fs.IntVar(&opt.batcher.MaxQueue, "max-queue", siamese.DefaultMaxQueue, "most images waiting for a forward pass (503 beyond)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "time the requests in flight get to finish after SIGINT or SIGTERM")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: serve -model M [-gallery DIR | -index FILE] [-addr HOST:PORT] [flags]\n\nAn HTTP JSON server that compares, embeds and searches images.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *modelPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "serve: need -model and no arguments")
		fs.Usage()
		return 2
	}
	if *galleryDir != "" && *indexPath != "" {
		fmt.Fprintln(stderr, "serve: -gallery or -index, not both")
		return 2
	}
	if opt.maxBody < 1 || opt.maxImages < 1 || opt.maxPixels < 1 || opt.timeout <= 0 || opt.maxInflight < 1 || *grace <= 0 {
		fmt.Fprintln(stderr, "serve: -max-body, -max-images, -max-pixels, -timeout, -max-inflight and -shutdown-timeout must be positive")
		return 2
	}
	if err := opt.batcher.Validate(); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	m, err := siamese.Load(*modelPath)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	s, err := newServer(m, opt, log)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	defer s.close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       opt.timeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	loaded := make(chan error, 1)
	loadCtx, stopLoading := context.WithCancel(ctx)
	defer stopLoading()
	go func() {
		if *indexPath != "" {
			if err := s.loadIndex(*indexPath); err != nil {
				loaded <- err
				return
			}
			log.Info("index loaded", "references", s.references())
		}
		if *galleryDir != "" {
			if err := s.loadGallery(loadCtx, *galleryDir); err != nil {
				loaded <- err
				return
			}
			log.Info("gallery loaded", "references", s.gallery.Len())
		}
		s.loaded.Store(true)
		loaded <- nil
	}()

	code := 0
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	case err := <-loaded:
		if err != nil {
			fmt.Fprintln(stderr, "serve:", err)
			code = 1
			break
		}
		select {
		case <-ctx.Done():
		case err := <-served:
			fmt.Fprintln(stderr, "serve:", err)
			return 1
		}
	}
	log.Info("shutting down")
	s.stopping.Store(true)
	stopLoading()
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "serve: shutdown:", err)
		return 1
	}
	return code
}
