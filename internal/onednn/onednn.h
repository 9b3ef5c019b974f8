// Convolutions through oneDNN's C API, for the onednn build tag
// (onednn.go). Tensors cross this boundary in plain layouts: NCHW
// activations, OIHW weights. Each primitive is created for its shapes with
// format "any", so that oneDNN picks its own (blocked) layouts, and the
// reorders between the plain and the chosen layouts are part of the handle.

#include <stdint.h>

// gd_shape is a convolution's sizes and geometry (dilation d >= 1, as in
// PyTorch).
typedef struct {
	int64_t n, c, h, w, f, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
} gd_shape;

// The kinds of handle.
enum {
	GD_FWD_TRAIN = 0, // y = conv(x, w)
	GD_FWD_INFER = 1, // y = conv(x, w*scale) + shift, optionally ReLU
	GD_FWD_INFER_RELU = 2,
	GD_BWD_DATA = 3,    // dx from (w, dy)
	GD_BWD_WEIGHTS = 4, // dw from (x, dy)
};

typedef struct gd_conv gd_conv;

// gd_conv_create returns a handle (NULL on failure, with *status set to
// the oneDNN status and *where to the failing step).
gd_conv *gd_conv_create(int kind, const gd_shape *s, int nthr, int *status, int *where);
void gd_conv_destroy(gd_conv *c);

// gd_conv_impl returns the name of the implementation oneDNN chose.
const char *gd_conv_impl(const gd_conv *c);

// gd_conv_exec runs the handle; a, b and out depend on the kind:
// forward x, w -> y (scale and shift for the inference kinds); backward
// data w, dy -> dx; backward weights x, dy -> dw. Returns a oneDNN status.
int gd_conv_exec(gd_conv *c, int nthr, const float *a, const float *b, const float *scale, const float *shift, float *out);
