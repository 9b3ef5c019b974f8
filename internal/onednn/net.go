//go:build onednn

package onednn

/*
#include "dl.h"
#include "net.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
)

// Net is a chain of inference layers that runs in oneDNN's own layouts:
// only its input and its output are plain NCHW, and the activations in
// between stay in the layouts the primitives chose, in a few buffers that
// the layers share. Value 0 is the input; each layer makes a new value in
// one of the buffers (numbered from 0), overwriting what the buffer held.
// A convolution takes its weights and a per-channel affine map when the
// net runs, so it always sees the current parameters.
type Net struct {
	c       *C.gd_net
	cleanup runtime.Cleanup
	convs   int
	wsize   []int // per convolution: weights, then channels
	fs      []int
	out     bool
	inSize  int
	outSize int
}

// DataType is the type of a net's activations and weights.
type DataType int

const (
	// F32 is float32 throughout.
	F32 DataType = iota
	// BF16 is bfloat16 activations and weights, with float32 input,
	// accumulation, bias and output: the convolutions convert the
	// caller's float32 weights (scaled) to bfloat16 as they reorder them.
	BF16
)

func (t DataType) String() string {
	switch t {
	case F32:
		return "f32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("DataType(%d)", int(t))
}

// NewNet starts a net whose input is (n, c, h, w), float32, for
// GOMAXPROCS threads, computing in data type t. A BF16 net needs
// BF16Supported.
func NewNet(n, c, h, w int, t DataType) (*Net, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	if t != F32 && t != BF16 {
		return nil, fmt.Errorf("onednn: net of unknown %v", t)
	}
	if t == BF16 {
		if err := BF16Supported(); err != nil {
			return nil, err
		}
	}
	net := &Net{inSize: n * c * h * w}
	var err error
	run(func() {
		net.c = C.gd_net_create(C.int(runtime.GOMAXPROCS(0)), C.int64_t(n), C.int64_t(c), C.int64_t(h), C.int64_t(w), b2i(t == BF16))
		if net.c == nil {
			err = fmt.Errorf("onednn: net (%d, %d, %d, %d): out of memory", n, c, h, w)
			return
		}
		err = net.status("input")
	})
	if err != nil {
		net.Close()
		return nil, err
	}
	// a net dropped without Close (its owner collected) frees its buffers
	net.cleanup = runtime.AddCleanup(net, func(c *C.gd_net) {
		run(func() { C.gd_net_destroy(c) })
	}, net.c)
	return net, nil
}

// status returns the net's construction error; call on the oneDNN
// goroutine.
func (n *Net) status(what string) error {
	var where C.int
	if st := C.gd_net_status(n.c, &where); st != 0 {
		return fmt.Errorf("onednn: net: %s: status %d at step %d", what, st, where)
	}
	return nil
}

// Close frees the net; a net that is dropped without Close is freed when
// the garbage collector finds it unreachable.
func (n *Net) Close() {
	if n.c != nil {
		n.cleanup.Stop()
		run(func() { C.gd_net_destroy(n.c) })
		n.c = nil
	}
}

// Dims returns the dimensions (n, c, h, w) of value v.
func (n *Net) Dims(v int) [4]int {
	var d [4]C.int64_t
	run(func() { C.gd_net_dims(n.c, C.int(v), &d[0]) })
	return [4]int{int(d[0]), int(d[1]), int(d[2]), int(d[3])}
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Conv adds a convolution of value src with f filters of kh×kw, stride
// (sh, sw) and zero padding (ph, pw), writing buffer buf: y = conv(src,
// w*scale) + shift, plus value sum when sum >= 0 (sum must live in buf),
// then max(y, 0) when relu is set. It returns the new value.
func (n *Net) Conv(src, buf, f, kh, kw, sh, sw, ph, pw int, relu bool, sum int) (int, error) {
	c := n.Dims(src)[1]
	var v int
	var err error
	run(func() {
		v = int(C.gd_net_conv(n.c, C.int(src), C.int(buf), C.int64_t(f), C.int64_t(kh), C.int64_t(kw), C.int64_t(sh), C.int64_t(sw),
			C.int64_t(ph), C.int64_t(pw), b2i(relu), C.int(sum)))
		if v < 0 {
			err = n.status(fmt.Sprintf("convolution %d of value %d", n.convs, src))
		}
	})
	if err == nil {
		n.convs++
		n.wsize = append(n.wsize, f*c*kh*kw)
		n.fs = append(n.fs, f)
	}
	return v, err
}

// Pool adds a pooling of value src with a kh×kw window, stride (sh, sw)
// and padding (ph, pw), writing buffer buf: the maximum when max is set
// (padding never wins), else the average over the window's part inside
// the image. Its output is float32 when f32 is set, else of the net's
// data type (a bfloat16 net's average pooling then rounds its result to
// bfloat16). It returns the new value.
func (n *Net) Pool(src, buf int, max bool, kh, kw, sh, sw, ph, pw int, f32 bool) (int, error) {
	var v int
	var err error
	run(func() {
		v = int(C.gd_net_pool(n.c, C.int(src), C.int(buf), b2i(max), C.int64_t(kh), C.int64_t(kw), C.int64_t(sh), C.int64_t(sw),
			C.int64_t(ph), C.int64_t(pw), b2i(f32)))
		if v < 0 {
			err = n.status(fmt.Sprintf("pooling of value %d", src))
		}
	})
	return v, err
}

// Output makes value src the net's output, in plain NCHW; it ends the net.
func (n *Net) Output(src int) error {
	d := n.Dims(src)
	var err error
	run(func() {
		if C.gd_net_output(n.c, C.int(src)) < 0 {
			err = n.status(fmt.Sprintf("output of value %d", src))
		}
	})
	if err == nil {
		n.out = true
		n.outSize = d[0] * d[1] * d[2] * d[3]
	}
	return err
}

// ConvParams are one convolution's weights (OIHW) and affine map (one
// scale and one shift per output channel) for Run.
type ConvParams struct {
	W, Scale, Shift []float32
}

// Run runs the net on x (the input, plain NCHW) into out (the output,
// plain NCHW) with the parameters of its convolutions in the order they
// were added.
func (n *Net) Run(x []float32, convs []ConvParams, out []float32) error {
	if !n.out || len(x) != n.inSize || len(out) != n.outSize || len(convs) != n.convs {
		return fmt.Errorf("onednn: net: run with %d inputs, %d convolutions and %d outputs, want %d, %d and %d",
			len(x), len(convs), len(out), n.inSize, n.convs, n.outSize)
	}
	for i, p := range convs {
		if len(p.W) != n.wsize[i] || len(p.Scale) != n.fs[i] || len(p.Shift) != n.fs[i] {
			return fmt.Errorf("onednn: net: convolution %d: %d weights, %d scales, %d shifts, want %d, %d, %d",
				i, len(p.W), len(p.Scale), len(p.Shift), n.wsize[i], n.fs[i], n.fs[i])
		}
	}
	var err error
	run(func() {
		k := 0
		for i := range int(C.gd_net_layers(n.c)) {
			var w, scale, shift *C.float
			if C.gd_net_is_conv(n.c, C.int(i)) != 0 {
				p := convs[k]
				w, scale, shift = ptr(p.W), ptr(p.Scale), ptr(p.Shift)
				k++
			}
			if st := C.gd_net_exec(n.c, C.int(i), ptr(x), w, scale, shift, ptr(out)); st != 0 {
				err = fmt.Errorf("onednn: net: layer %d: status %d", i, st)
				return
			}
		}
	})
	return err
}

// Impls returns the name of the implementation oneDNN chose for each
// layer, as ONEDNN_VERBOSE prints it ("jit:avx512_core_bf16", ...), ""
// for the output.
func (n *Net) Impls() []string {
	var names []string
	run(func() {
		for i := range int(C.gd_net_layers(n.c)) {
			names = append(names, C.GoString(C.gd_net_impl(n.c, C.int(i))))
		}
	})
	return names
}

// ErrNoBF16 is wrapped by the errors of BF16Supported and NewNet when the
// CPU, as oneDNN sees it, has no native bfloat16 instructions.
var ErrNoBF16 = errors.New("onednn: no native bfloat16 on this CPU")

// BF16Supported returns nil when oneDNN's effective ISA includes native
// bfloat16 arithmetic (AVX-512 BF16, as avx512_core_bf16, or AMX): bf16
// convolutions then run faster than float32 ones. Otherwise it returns an
// error wrapping ErrNoBF16 that names the ISA oneDNN found; oneDNN would
// emulate bfloat16 there, more slowly than float32, or lack the kernels.
// The ISA can be capped with ONEDNN_MAX_CPU_ISA (AVX512_CORE, for one).
func BF16Supported() error {
	if loadErr != nil {
		return loadErr
	}
	var ok bool
	var isa int
	run(func() {
		ok = C.gd_bf16_isa() != 0
		isa = int(C.gd_cpu_isa())
	})
	if ok {
		return nil
	}
	return fmt.Errorf("%w: oneDNN's effective ISA is %s, bf16 needs avx512_core_bf16 or AMX", ErrNoBF16, isaName(isa))
}

// isaName names a dnnl_cpu_isa_t as oneDNN's documentation does.
func isaName(isa int) string {
	switch isa {
	case C.dnnl_cpu_isa_all:
		return "all"
	case C.dnnl_cpu_isa_sse41:
		return "sse41"
	case C.dnnl_cpu_isa_avx:
		return "avx"
	case C.dnnl_cpu_isa_avx2:
		return "avx2"
	case C.dnnl_cpu_isa_avx2_vnni:
		return "avx2_vnni"
	case C.dnnl_cpu_isa_avx512_mic:
		return "avx512_mic"
	case C.dnnl_cpu_isa_avx512_mic_4ops:
		return "avx512_mic_4ops"
	case C.dnnl_cpu_isa_avx512_core:
		return "avx512_core"
	case C.dnnl_cpu_isa_avx512_core_vnni:
		return "avx512_core_vnni"
	case C.dnnl_cpu_isa_avx512_core_bf16:
		return "avx512_core_bf16"
	case C.dnnl_cpu_isa_avx512_core_amx:
		return "avx512_core_amx"
	}
	return fmt.Sprintf("0x%x", isa)
}

// netsLive returns the number of nets not yet freed (for tests).
func netsLive() int {
	var n int
	run(func() { n = int(C.gd_net_live()) })
	return n
}
