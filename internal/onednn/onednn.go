//go:build onednn

package onednn

/*
#cgo LDFLAGS: -ldl
#include "dl.h"
#include "onednn.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Kind is what a convolution call computes.
type Kind int

const (
	// Forward is y = conv(x, w), for training: Conv(Forward, s, x, w, nil, nil, y).
	Forward Kind = C.GD_FWD_TRAIN
	// ForwardAffine is y = conv(x, w*scale) + shift with scale and shift per
	// output channel (a BatchNorm folded into an inference convolution).
	ForwardAffine Kind = C.GD_FWD_INFER
	// ForwardAffineReLU is ForwardAffine followed by max(y, 0).
	ForwardAffineReLU Kind = C.GD_FWD_INFER_RELU
	// BackwardData is the gradient with respect to x:
	// Conv(BackwardData, s, w, dy, nil, nil, dx).
	BackwardData Kind = C.GD_BWD_DATA
	// BackwardWeights is the gradient with respect to w:
	// Conv(BackwardWeights, s, x, dy, nil, nil, dw).
	BackwardWeights Kind = C.GD_BWD_WEIGHTS
)

func (k Kind) String() string {
	switch k {
	case Forward:
		return "forward"
	case ForwardAffine:
		return "forward+affine"
	case ForwardAffineReLU:
		return "forward+affine+ReLU"
	case BackwardData:
		return "backward data"
	case BackwardWeights:
		return "backward weights"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Shape is a convolution's sizes: input (N, C, H, W), output (N, F, OH,
// OW), kernel KH×KW, stride, zero padding on both sides and dilation (1
// for none), as PyTorch counts them.
type Shape struct {
	N, C, H, W, F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW int
}

func (s Shape) c() C.gd_shape {
	return C.gd_shape{
		n: C.int64_t(s.N), c: C.int64_t(s.C), h: C.int64_t(s.H), w: C.int64_t(s.W),
		f: C.int64_t(s.F), oh: C.int64_t(s.OH), ow: C.int64_t(s.OW),
		kh: C.int64_t(s.KH), kw: C.int64_t(s.KW), sh: C.int64_t(s.SH), sw: C.int64_t(s.SW),
		ph: C.int64_t(s.PH), pw: C.int64_t(s.PW), dh: C.int64_t(s.DH), dw: C.int64_t(s.DW),
	}
}

// calls carries work to the goroutine that makes every oneDNN call.
var calls = make(chan func())

// loadErr says why libdnnl could not be loaded, for every call.
var loadErr error

func init() {
	go func() {
		runtime.LockOSThread()
		for f := range calls {
			f()
		}
	}()
	run(func() {
		if msg := C.gd_load(); msg != nil {
			loadErr = fmt.Errorf("onednn: %s", C.GoString(msg))
		}
	})
}

// run runs f on the oneDNN goroutine and waits for it.
func run(f func()) {
	done := make(chan struct{})
	calls <- func() {
		defer close(done)
		f()
	}
	<-done
}

type key struct {
	kind Kind
	s    Shape
	nthr int
}

// maxCache bounds the primitive cache: beyond it, the cache is emptied (a
// model uses a few dozen shapes per batch size).
const maxCache = 1024

// cache is used only on the oneDNN goroutine.
var cache = map[key]*C.gd_conv{}

func ptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// Conv runs a convolution of the given kind; a and b are its inputs and
// out its output, in plain layouts (see Kind), scale and shift (F values
// each) are read by the affine kinds only. The slices must hold the
// sizes s implies; they are not checked.
func Conv(kind Kind, s Shape, a, b, scale, shift, out []float32) error {
	if len(a) == 0 || len(b) == 0 || len(out) == 0 {
		return fmt.Errorf("onednn: %v convolution %+v: empty tensor", kind, s)
	}
	if (kind == ForwardAffine || kind == ForwardAffineReLU) && (len(scale) != s.F || len(shift) != s.F) {
		return fmt.Errorf("onednn: %v convolution: %d scales and %d shifts for %d channels", kind, len(scale), len(shift), s.F)
	}
	if loadErr != nil {
		return loadErr
	}
	var err error
	k := key{kind: kind, s: s, nthr: runtime.GOMAXPROCS(0)}
	run(func() {
		c := cache[k]
		if c == nil {
			cs := s.c()
			var status, where C.int
			if c = C.gd_conv_create(C.int(kind), &cs, C.int(k.nthr), &status, &where); c == nil {
				err = fmt.Errorf("onednn: %v convolution %+v: status %d at step %d of its creation", kind, s, status, where)
				return
			}
			if len(cache) >= maxCache {
				for k, v := range cache {
					C.gd_conv_destroy(v)
					delete(cache, k)
				}
			}
			cache[k] = c
		}
		if st := C.gd_conv_exec(c, C.int(k.nthr), ptr(a), ptr(b), ptr(scale), ptr(shift), ptr(out)); st != 0 {
			err = fmt.Errorf("onednn: %v convolution %+v: status %d", kind, s, st)
		}
	})
	return err
}

// Impl returns the name of the implementation oneDNN chose for a
// convolution that has run (as ONEDNN_VERBOSE prints it), or "" when none
// of that kind and shape has run on this many threads.
func Impl(kind Kind, s Shape) string {
	k := key{kind: kind, s: s, nthr: runtime.GOMAXPROCS(0)}
	var name string
	run(func() {
		if c := cache[k]; c != nil {
			name = C.GoString(C.gd_conv_impl(c))
		}
	})
	return name
}
