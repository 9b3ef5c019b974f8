//go:build onednn

#include <stdlib.h>
#include <string.h>

#include "dl.h"

#include "onednn.h"

// One engine and one stream, used from one thread only (the Go side runs
// every call on one locked goroutine).
dnnl_engine_t gd_engine;
dnnl_stream_t gd_stream;

// Buffers for tensors in oneDNN's own layouts, grown as needed and shared
// by every handle: calls never overlap.
enum { NSLOTS = 3 };
static void *slot_buf[NSLOTS];
static size_t slot_cap[NSLOTS];

static void *slot(int i, size_t size) {
	if (size > slot_cap[i]) {
		free(slot_buf[i]);
		size = (size + 4095) & ~(size_t)4095;
		slot_buf[i] = aligned_alloc(64, size);
		slot_cap[i] = slot_buf[i] ? size : 0;
	}
	return slot_buf[i];
}

dnnl_status_t gd_init_engine(void) {
	if (gd_engine) {
		return dnnl_success;
	}
	dnnl_status_t st = dnnl_engine_create(&gd_engine, dnnl_cpu, 0);
	if (st != dnnl_success) {
		gd_engine = NULL;
		return st;
	}
	st = dnnl_stream_create(&gd_stream, gd_engine, dnnl_stream_default_flags);
	if (st != dnnl_success) {
		dnnl_engine_destroy(gd_engine);
		gd_engine = NULL;
	}
	return st;
}

// gd_arg is one tensor of a primitive: its plain layout at the boundary,
// the layout the primitive chose, and the reorder between them (NULL when
// they are the same).
typedef struct {
	dnnl_memory_desc_t user, inner;
	dnnl_memory_t umem, imem;
	dnnl_primitive_t reorder;
	int input, slot;
} gd_arg;

struct gd_conv {
	int kind;
	dnnl_primitive_t prim;
	gd_arg a, b, out;
	int arg_a, arg_b, arg_out;
	dnnl_memory_t bias, scales;
	char impl[64];
};

// arg_init sets up a: attr (may be NULL) goes to the reorder, which is
// created even for equal layouts when force is set.
static dnnl_status_t arg_init(gd_arg *a, const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *inner, int input, int slot,
	const_dnnl_primitive_attr_t attr, int force) {
	dnnl_status_t st;
	a->user = *user;
	a->inner = *inner;
	a->input = input;
	a->slot = slot;
	if ((st = dnnl_memory_create(&a->umem, &a->user, gd_engine, DNNL_MEMORY_NONE)) != dnnl_success) {
		return st;
	}
	if ((st = dnnl_memory_create(&a->imem, &a->inner, gd_engine, DNNL_MEMORY_NONE)) != dnnl_success) {
		return st;
	}
	if (!force && dnnl_memory_desc_equal(&a->user, &a->inner)) {
		return dnnl_success;
	}
	dnnl_primitive_desc_t pd;
	if (input) {
		st = dnnl_reorder_primitive_desc_create(&pd, &a->user, gd_engine, &a->inner, gd_engine, attr);
	} else {
		st = dnnl_reorder_primitive_desc_create(&pd, &a->inner, gd_engine, &a->user, gd_engine, attr);
	}
	if (st != dnnl_success) {
		return st;
	}
	st = dnnl_primitive_create(&a->reorder, pd);
	dnnl_primitive_desc_destroy(pd);
	return st;
}

static void arg_destroy(gd_arg *a) {
	if (a->reorder) {
		dnnl_primitive_destroy(a->reorder);
	}
	if (a->umem) {
		dnnl_memory_destroy(a->umem);
	}
	if (a->imem) {
		dnnl_memory_destroy(a->imem);
	}
}

void gd_conv_destroy(gd_conv *c) {
	if (!c) {
		return;
	}
	if (c->prim) {
		dnnl_primitive_destroy(c->prim);
	}
	arg_destroy(&c->a);
	arg_destroy(&c->b);
	arg_destroy(&c->out);
	if (c->bias) {
		dnnl_memory_destroy(c->bias);
	}
	if (c->scales) {
		dnnl_memory_destroy(c->scales);
	}
	free(c);
}

const char *gd_conv_impl(const gd_conv *c) { return c->impl; }

static dnnl_status_t plain(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
	return dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, tag);
}

gd_conv *gd_conv_create(int kind, const gd_shape *s, int nthr, int *status, int *where) {
	omp_set_num_threads(nthr);
	dnnl_status_t st;
	dnnl_primitive_desc_t pd = NULL, hint = NULL;
	dnnl_primitive_attr_t attr = NULL, wattr = NULL;
	dnnl_post_ops_t po = NULL;
	gd_conv *c = calloc(1, sizeof *c);
	int step = 0;
#define TRY(x)                            \
	do {                                  \
		step++;                           \
		if ((st = (x)) != dnnl_success) { \
			goto fail;                    \
		}                                 \
	} while (0)
	if (!c) {
		st = dnnl_out_of_memory;
		goto fail;
	}
	c->kind = kind;
	TRY(gd_init_engine());

	dnnl_dims_t xd = {s->n, s->c, s->h, s->w}, wd = {s->f, s->c, s->kh, s->kw}, yd = {s->n, s->f, s->oh, s->ow}, bd = {s->f};
	dnnl_dims_t strides = {s->sh, s->sw}, dil = {s->dh - 1, s->dw - 1}, pad = {s->ph, s->pw};
	dnnl_memory_desc_t xu, wu, yu, bu, xa, wa, ya;
	TRY(plain(&xu, 4, xd, dnnl_nchw));
	TRY(plain(&wu, 4, wd, dnnl_oihw));
	TRY(plain(&yu, 4, yd, dnnl_nchw));
	TRY(plain(&bu, 1, bd, dnnl_a));
	// Inference convolutions left to choose take a channels-last layout
	// whose kernels ran slower than the channel-blocked ones training
	// convolutions choose, so they are given the latter (but for an input
	// of few channels, such as an image's).
	int infer = kind == GD_FWD_INFER || kind == GD_FWD_INFER_RELU;
	dnnl_format_tag_t act = infer ? gd_act_layout(dnnl_f32) : dnnl_format_tag_any;
	TRY(plain(&xa, 4, xd, s->c >= 16 ? act : dnnl_format_tag_any));
	TRY(plain(&wa, 4, wd, dnnl_format_tag_any));
	TRY(plain(&ya, 4, yd, act));

	dnnl_convolution_desc_t cd;
	TRY(dnnl_dilated_convolution_forward_desc_init(&cd, infer ? dnnl_forward_inference : dnnl_forward_training,
		dnnl_convolution_direct, &xa, &wa, infer ? &bu : NULL, &ya, strides, dil, pad, pad));
	if (kind == GD_FWD_INFER_RELU) {
		TRY(dnnl_post_ops_create(&po));
		TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
		TRY(dnnl_primitive_attr_create(&attr));
		TRY(dnnl_primitive_attr_set_post_ops(attr, po));
	}
	TRY(dnnl_primitive_desc_create(&pd, &cd, attr, gd_engine, NULL));
	if (kind == GD_BWD_DATA || kind == GD_BWD_WEIGHTS) {
		hint = pd;
		pd = NULL;
		if (kind == GD_BWD_DATA) {
			TRY(dnnl_dilated_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &xa, &wa, &ya, strides, dil, pad, pad));
		} else {
			TRY(dnnl_dilated_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &xa, &wa, NULL, &ya, strides, dil, pad, pad));
		}
		TRY(dnnl_primitive_desc_create(&pd, &cd, NULL, gd_engine, hint));
	}
	const char *impl = NULL;
	TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
	strncpy(c->impl, impl ? impl : "", sizeof c->impl - 1);
	TRY(dnnl_primitive_create(&c->prim, pd));

	switch (kind) {
	case GD_BWD_DATA:
		c->arg_a = DNNL_ARG_WEIGHTS;
		c->arg_b = DNNL_ARG_DIFF_DST;
		c->arg_out = DNNL_ARG_DIFF_SRC;
		TRY(arg_init(&c->a, &wu, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1, 0, NULL, 0));
		TRY(arg_init(&c->b, &yu, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 1, 1, NULL, 0));
		TRY(arg_init(&c->out, &xu, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0), 0, 2, NULL, 0));
		break;
	case GD_BWD_WEIGHTS:
		c->arg_a = DNNL_ARG_SRC;
		c->arg_b = DNNL_ARG_DIFF_DST;
		c->arg_out = DNNL_ARG_DIFF_WEIGHTS;
		TRY(arg_init(&c->a, &xu, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 1, 0, NULL, 0));
		TRY(arg_init(&c->b, &yu, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 1, 1, NULL, 0));
		TRY(arg_init(&c->out, &wu, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0), 0, 2, NULL, 0));
		break;
	default:
		c->arg_a = DNNL_ARG_SRC;
		c->arg_b = DNNL_ARG_WEIGHTS;
		c->arg_out = DNNL_ARG_DST;
		TRY(arg_init(&c->a, &xu, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 1, 0, NULL, 0));
		if (infer) {
			// the BatchNorm scale is folded into the weights while they
			// are reordered (per output channel, dimension 0)
			TRY(dnnl_primitive_attr_create(&wattr));
			TRY(dnnl_primitive_attr_set_output_scales(wattr, 1, 1 << 0, &DNNL_RUNTIME_F32_VAL));
			TRY(arg_init(&c->b, &wu, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1, 1, wattr, 1));
			TRY(dnnl_memory_create(&c->bias, &bu, gd_engine, DNNL_MEMORY_NONE));
			TRY(dnnl_memory_create(&c->scales, &bu, gd_engine, DNNL_MEMORY_NONE));
		} else {
			TRY(arg_init(&c->b, &wu, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1, 1, NULL, 0));
		}
		TRY(arg_init(&c->out, &yu, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), 0, 2, NULL, 0));
	}
	dnnl_primitive_desc_destroy(pd);
	if (hint) {
		dnnl_primitive_desc_destroy(hint);
	}
	if (attr) {
		dnnl_primitive_attr_destroy(attr);
	}
	if (wattr) {
		dnnl_primitive_attr_destroy(wattr);
	}
	if (po) {
		dnnl_post_ops_destroy(po);
	}
	return c;
fail:
	*status = st;
	*where = step;
	if (pd) {
		dnnl_primitive_desc_destroy(pd);
	}
	if (hint) {
		dnnl_primitive_desc_destroy(hint);
	}
	if (attr) {
		dnnl_primitive_attr_destroy(attr);
	}
	if (wattr) {
		dnnl_primitive_attr_destroy(wattr);
	}
	if (po) {
		dnnl_post_ops_destroy(po);
	}
	gd_conv_destroy(c);
	return NULL;
#undef TRY
}

// arg_in makes the input at p available in the primitive's layout and
// returns its memory.
static dnnl_status_t arg_in(gd_arg *a, const float *p, dnnl_memory_t scales, dnnl_memory_t *m) {
	dnnl_status_t st;
	*m = a->imem;
	if (!a->reorder) {
		return dnnl_memory_set_data_handle(a->imem, (void *)p);
	}
	void *buf = slot(a->slot, dnnl_memory_desc_get_size(&a->inner));
	if (!buf) {
		return dnnl_out_of_memory;
	}
	if ((st = dnnl_memory_set_data_handle(a->umem, (void *)p)) != dnnl_success) {
		return st;
	}
	if ((st = dnnl_memory_set_data_handle(a->imem, buf)) != dnnl_success) {
		return st;
	}
	dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, a->umem}, {DNNL_ARG_TO, a->imem}, {DNNL_ARG_ATTR_OUTPUT_SCALES, scales}};
	return dnnl_primitive_execute(a->reorder, gd_stream, scales ? 3 : 2, args);
}

int gd_conv_exec(gd_conv *c, int nthr, const float *a, const float *b, const float *scale, const float *shift, float *out) {
	omp_set_num_threads(nthr);
	dnnl_status_t st;
	dnnl_memory_t ma, mb;
	if (c->scales && (st = dnnl_memory_set_data_handle(c->scales, (void *)scale)) != dnnl_success) {
		return st;
	}
	if ((st = arg_in(&c->a, a, NULL, &ma)) != dnnl_success) {
		return st;
	}
	if ((st = arg_in(&c->b, b, c->scales, &mb)) != dnnl_success) {
		return st;
	}
	void *obuf = out;
	if (c->out.reorder && !(obuf = slot(c->out.slot, dnnl_memory_desc_get_size(&c->out.inner)))) {
		return dnnl_out_of_memory;
	}
	if ((st = dnnl_memory_set_data_handle(c->out.imem, obuf)) != dnnl_success) {
		return st;
	}
	dnnl_exec_arg_t args[4] = {{c->arg_a, ma}, {c->arg_b, mb}, {c->arg_out, c->out.imem}, {DNNL_ARG_BIAS, c->bias}};
	int nargs = 3;
	if (c->bias) {
		if ((st = dnnl_memory_set_data_handle(c->bias, (void *)shift)) != dnnl_success) {
			return st;
		}
		nargs = 4;
	}
	if ((st = dnnl_primitive_execute(c->prim, gd_stream, nargs, args)) != dnnl_success) {
		return st;
	}
	if (c->out.reorder) {
		if ((st = dnnl_memory_set_data_handle(c->out.umem, out)) != dnnl_success) {
			return st;
		}
		dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, c->out.imem}, {DNNL_ARG_TO, c->out.umem}};
		if ((st = dnnl_primitive_execute(c->out.reorder, gd_stream, 2, r)) != dnnl_success) {
			return st;
		}
	}
	return dnnl_stream_wait(gd_stream);
}
