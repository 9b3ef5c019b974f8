// A chain of inference layers run in oneDNN's own layouts (net.c): the
// activations between layers never return to NCHW.

#include <stdint.h>

typedef struct gd_net gd_net;

// gd_net_create starts a network whose input (value 0) is plain NCHW
// (n, c, h, w) float32 and comes from the caller at run time. With bf16
// set, the convolutions and poolings take and make bfloat16 activations
// and weights (the convolutions accumulate in float32).
gd_net *gd_net_create(int nthr, int64_t n, int64_t c, int64_t h, int64_t w, int bf16);
void gd_net_destroy(gd_net *net);

// gd_net_status returns the oneDNN status of the first failure while the
// network was built, and the step in *where (0: none).
int gd_net_status(const gd_net *net, int *where);

// gd_net_conv adds a convolution of value src with f filters into buffer
// buf, with the caller's weights scaled per output channel and a bias, then
// with sum >= 0 the value sum added (it must live in buf), then a ReLU when
// relu is set. It returns the new value, or -1.
int gd_net_conv(gd_net *net, int src, int buf, int64_t f, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
	int64_t pw, int relu, int sum);

// gd_net_pool adds a pooling of src into buffer buf: max when max is set,
// else the average (padding excluded), in float32 when f32 is set, else in
// the net's data type. It returns the new value, or -1.
int gd_net_pool(gd_net *net, int src, int buf, int max, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
	int64_t pw, int f32);

// gd_net_output adds the copy of src to the caller's plain NCHW output.
// It returns the layer's index, or -1.
int gd_net_output(gd_net *net, int src);

// gd_net_dims writes the dimensions (n, c, h, w) of value v.
void gd_net_dims(const gd_net *net, int v, int64_t *dims);

// gd_net_layers returns the number of layers.
int gd_net_layers(const gd_net *net);

// gd_net_exec runs layer i: x is the network's input (read by layers of
// value 0), w, scale and shift a convolution's weights (OIHW) and affine
// map, out the network's output (written by the output layer). Returns a
// oneDNN status.
int gd_net_exec(gd_net *net, int i, const float *x, const float *w, const float *scale, const float *shift, float *out);

// gd_net_is_conv reports whether layer i is a convolution.
int gd_net_is_conv(const gd_net *net, int i);

// gd_net_impl returns the name of the implementation oneDNN chose for
// layer i (as ONEDNN_VERBOSE prints it), "" for the output.
const char *gd_net_impl(const gd_net *net, int i);

// gd_bf16_isa reports whether oneDNN's effective ISA includes native
// bfloat16 instructions (avx512_core_bf16 or AMX): without them bf16
// convolutions are emulated or unavailable, slower than float32.
int gd_bf16_isa(void);

// gd_cpu_isa returns oneDNN's effective ISA (dnnl_cpu_isa_t).
int gd_cpu_isa(void);

// gd_net_live returns the number of nets created and not yet destroyed.
int gd_net_live(void);
