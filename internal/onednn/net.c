//go:build onednn

#include <stdlib.h>
#include <string.h>

#include "dl.h"

#include "net.h"

extern dnnl_engine_t gd_engine;
extern dnnl_stream_t gd_stream;
dnnl_status_t gd_init_engine(void);

enum { MAXV = 256, MAXL = 256, NBUF = 8 };
enum { L_CONV, L_POOL, L_OUT };

// gd_val is an activation: its layout and the buffer that holds it (-1:
// the caller's input).
typedef struct {
	dnnl_memory_desc_t md;
	int buf;
} gd_val;

typedef struct {
	int type, src, dst;
	dnnl_primitive_t prim;
	// the source reordered into tmp when the primitive wants another layout
	dnnl_primitive_t src_reorder;
	dnnl_memory_t src_mem, src_re_mem, dst_mem;
	// convolution: the caller's weights, reordered and scaled into wbuf
	dnnl_primitive_t w_reorder;
	dnnl_memory_t w_user, w_mem, bias, scales;
	char impl[64];
} gd_layer;

struct gd_net {
	int nthr;
	// dt is the data type of activations and weights after the input:
	// f32, or bf16 (accumulated in f32 by the convolutions)
	dnnl_data_type_t dt;
	// act is the layout of activations between convolutions: the
	// channel-blocked one oneDNN's direct convolutions prefer on this CPU
	// (nChw16c with AVX-512, nChw8c with AVX2), or any
	dnnl_format_tag_t act;
	gd_val vals[MAXV];
	int nv;
	gd_layer layers[MAXL];
	int nl;
	void *bufs[NBUF], *wbuf, *tbuf;
	size_t bufsize[NBUF], wsize, tsize;
	int status, where, allocated;
};

static void *grow(void **p, size_t *cap, size_t size) {
	if (size > *cap || !*p) {
		free(*p);
		size = (size + 4095) & ~(size_t)4095;
		*p = aligned_alloc(64, size ? size : 4096);
		*cap = *p ? size : 0;
	}
	return *p;
}

// live counts the nets not yet destroyed.
static int live;

int gd_net_live(void) { return live; }

// probe returns the channel-blocked activation layout that a
// training convolution of data type dt chooses for itself on this CPU, or
// any. Inference convolutions left to choose pick a channels-last layout
// whose kernels ran slower here.
static dnnl_format_tag_t probe(dnnl_data_type_t dt) {
	dnnl_dims_t xd = {2, 64, 8, 8}, wd = {64, 64, 3, 3}, one = {1, 1};
	dnnl_memory_desc_t x, w;
	dnnl_convolution_desc_t cd;
	dnnl_primitive_desc_t pd;
	dnnl_format_tag_t tag = dnnl_format_tag_any;
	if (dnnl_memory_desc_init_by_tag(&x, 4, xd, dt, dnnl_format_tag_any) != dnnl_success ||
		dnnl_memory_desc_init_by_tag(&w, 4, wd, dt, dnnl_format_tag_any) != dnnl_success ||
		dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &x, &w, NULL, &x, one,
			one, one) != dnnl_success ||
		dnnl_primitive_desc_create(&pd, &cd, NULL, gd_engine, NULL) != dnnl_success) {
		return tag;
	}
	const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
	if (md->format_kind == dnnl_blocked && md->format_desc.blocking.inner_nblks == 1 &&
		md->format_desc.blocking.inner_idxs[0] == 1) {
		switch (md->format_desc.blocking.inner_blks[0]) {
		case 16:
			tag = dnnl_aBcd16b;
			break;
		case 8:
			tag = dnnl_aBcd8b;
			break;
		case 4:
			tag = dnnl_aBcd4b;
			break;
		}
	}
	dnnl_primitive_desc_destroy(pd);
	return tag;
}

dnnl_format_tag_t gd_act_layout(dnnl_data_type_t dt) {
	static int done[2];
	static dnnl_format_tag_t tag[2] = {dnnl_format_tag_any, dnnl_format_tag_any};
	int i = dt == dnnl_bf16;
	if (!done[i] && gd_init_engine() == dnnl_success) {
		tag[i] = probe(dt);
		done[i] = 1;
	}
	return tag[i];
}

int gd_bf16_isa(void) {
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

int gd_cpu_isa(void) { return dnnl_get_effective_cpu_isa(); }

gd_net *gd_net_create(int nthr, int64_t n, int64_t c, int64_t h, int64_t w, int bf16) {
	omp_set_num_threads(nthr);
	gd_net *net = calloc(1, sizeof *net);
	if (!net) {
		return NULL;
	}
	live++;
	net->nthr = nthr;
	net->dt = bf16 ? dnnl_bf16 : dnnl_f32;
	dnnl_dims_t d = {n, c, h, w};
	if ((net->status = gd_init_engine()) != dnnl_success ||
		(net->status = dnnl_memory_desc_init_by_tag(&net->vals[0].md, 4, d, dnnl_f32, dnnl_nchw)) != dnnl_success) {
		net->where = 1;
	}
	net->vals[0].buf = -1;
	net->nv = 1;
	net->act = dnnl_format_tag_any;
	if (net->status == dnnl_success) {
		net->act = gd_act_layout(net->dt);
	}
	return net;
}

void gd_net_destroy(gd_net *net) {
	if (!net) {
		return;
	}
	live--;
	for (int i = 0; i < net->nl; i++) {
		gd_layer *l = &net->layers[i];
		dnnl_primitive_t ps[] = {l->prim, l->src_reorder, l->w_reorder};
		for (int k = 0; k < 3; k++) {
			if (ps[k]) {
				dnnl_primitive_destroy(ps[k]);
			}
		}
		dnnl_memory_t ms[] = {l->src_mem, l->src_re_mem, l->dst_mem, l->w_user, l->w_mem, l->bias, l->scales};
		for (int k = 0; k < 7; k++) {
			if (ms[k]) {
				dnnl_memory_destroy(ms[k]);
			}
		}
	}
	for (int i = 0; i < NBUF; i++) {
		free(net->bufs[i]);
	}
	free(net->wbuf);
	free(net->tbuf);
	free(net);
}

int gd_net_status(const gd_net *net, int *where) {
	*where = net->where;
	return net->status;
}

int gd_net_layers(const gd_net *net) { return net->nl; }

void gd_net_dims(const gd_net *net, int v, int64_t *dims) {
	for (int i = 0; i < 4; i++) {
		dims[i] = net->vals[v].md.dims[i];
	}
}

#define TRY(x)                                         \
	do {                                               \
		net->where++;                                  \
		if ((net->status = (x)) != dnnl_success) {     \
			goto fail;                                 \
		}                                              \
	} while (0)

static dnnl_status_t mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md) {
	return dnnl_memory_create(m, md, gd_engine, DNNL_MEMORY_NONE);
}

static dnnl_status_t reorder(dnnl_primitive_t *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
	const_dnnl_primitive_attr_t attr) {
	dnnl_primitive_desc_t pd;
	dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, from, gd_engine, to, gd_engine, attr);
	if (st != dnnl_success) {
		return st;
	}
	st = dnnl_primitive_create(p, pd);
	dnnl_primitive_desc_destroy(pd);
	return st;
}

// finish sets up the source (with a reorder when the primitive's layout
// differs from the value's) and the destination of layer l from pd, and
// records the new value; it returns the value or -1.
static int finish(gd_net *net, gd_layer *l, dnnl_primitive_desc_t pd, int src, int buf) {
	const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
	const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
	l->src = src;
	TRY(mem(&l->src_mem, &net->vals[src].md));
	if (!dnnl_memory_desc_equal(smd, &net->vals[src].md)) {
		TRY(reorder(&l->src_reorder, &net->vals[src].md, smd, NULL));
		TRY(mem(&l->src_re_mem, smd));
		size_t sz = dnnl_memory_desc_get_size(smd);
		if (sz > net->tsize) {
			net->tsize = sz;
		}
	}
	TRY(mem(&l->dst_mem, dmd));
	TRY(dnnl_primitive_create(&l->prim, pd));
	const char *impl = NULL;
	if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) {
		strncpy(l->impl, impl, sizeof l->impl - 1);
	}
	if (net->nv == MAXV) {
		net->status = dnnl_out_of_memory;
		goto fail;
	}
	gd_val *v = &net->vals[net->nv];
	v->md = *dmd;
	v->buf = buf;
	size_t sz = dnnl_memory_desc_get_size(dmd);
	if (sz > net->bufsize[buf]) {
		net->bufsize[buf] = sz;
	}
	l->dst = net->nv;
	net->nl++;
	return net->nv++;
fail:
	return -1;
}

int gd_net_conv(gd_net *net, int src, int buf, int64_t f, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
	int64_t pw, int relu, int sum) {
	if (net->status != dnnl_success || net->nl == MAXL || src < 0 || src >= net->nv || buf < 0 || buf >= NBUF ||
		(sum >= 0 && (sum >= net->nv || net->vals[sum].buf != buf))) {
		if (net->status == dnnl_success) {
			net->status = dnnl_invalid_arguments;
		}
		return -1;
	}
	omp_set_num_threads(net->nthr);
	gd_layer *l = &net->layers[net->nl];
	memset(l, 0, sizeof *l);
	l->type = L_CONV;
	const int64_t *sd = net->vals[src].md.dims;
	int64_t oh = (sd[2] + 2 * ph - kh) / sh + 1, ow = (sd[3] + 2 * pw - kw) / sw + 1;
	dnnl_dims_t xd = {sd[0], sd[1], sd[2], sd[3]}, wd = {f, sd[1], kh, kw}, yd = {sd[0], f, oh, ow}, bd = {f};
	dnnl_dims_t strides = {sh, sw}, pad = {ph, pw};
	dnnl_memory_desc_t xa, wa, ya, wu, bu;
	dnnl_primitive_attr_t attr = NULL, wattr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_primitive_desc_t pd = NULL;
	int v = -1;
	if (src > 0) {
		xa = net->vals[src].md; // activations stay in the layout they are in
	} else {
		TRY(dnnl_memory_desc_init_by_tag(&xa, 4, xd, net->dt, dnnl_format_tag_any));
	}
	TRY(dnnl_memory_desc_init_by_tag(&wa, 4, wd, net->dt, dnnl_format_tag_any));
	TRY(dnnl_memory_desc_init_by_tag(&wu, 4, wd, dnnl_f32, dnnl_oihw));
	TRY(dnnl_memory_desc_init_by_tag(&bu, 1, bd, dnnl_f32, dnnl_a));
	if (sum >= 0) {
		if (net->vals[sum].md.dims[1] != f || net->vals[sum].md.dims[2] != oh || net->vals[sum].md.dims[3] != ow) {
			net->status = dnnl_invalid_arguments;
			goto fail;
		}
		ya = net->vals[sum].md;
	} else {
		TRY(dnnl_memory_desc_init_by_tag(&ya, 4, yd, net->dt, net->act));
	}
	dnnl_convolution_desc_t cd;
	TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &xa, &wa, &bu, &ya,
		strides, pad, pad));
	TRY(dnnl_post_ops_create(&po));
	if (sum >= 0) {
		TRY(dnnl_post_ops_append_sum(po, 1.0f));
	}
	if (relu) {
		TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
	}
	TRY(dnnl_primitive_attr_create(&attr));
	TRY(dnnl_primitive_attr_set_post_ops(attr, po));
	TRY(dnnl_primitive_desc_create(&pd, &cd, attr, gd_engine, NULL));
	const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	TRY(dnnl_primitive_attr_create(&wattr));
	TRY(dnnl_primitive_attr_set_output_scales(wattr, 1, 1 << 0, &DNNL_RUNTIME_F32_VAL));
	TRY(reorder(&l->w_reorder, &wu, wmd, wattr));
	TRY(mem(&l->w_user, &wu));
	TRY(mem(&l->w_mem, wmd));
	TRY(mem(&l->bias, &bu));
	TRY(mem(&l->scales, &bu));
	size_t wsz = dnnl_memory_desc_get_size(wmd);
	if (wsz > net->wsize) {
		net->wsize = wsz;
	}
	v = finish(net, l, pd, src, buf);
fail:
	if (pd) {
		dnnl_primitive_desc_destroy(pd);
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
	return v;
}

int gd_net_pool(gd_net *net, int src, int buf, int max, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
	int64_t pw, int f32) {
	if (net->status != dnnl_success || net->nl == MAXL || src < 0 || src >= net->nv || buf < 0 || buf >= NBUF) {
		if (net->status == dnnl_success) {
			net->status = dnnl_invalid_arguments;
		}
		return -1;
	}
	omp_set_num_threads(net->nthr);
	gd_layer *l = &net->layers[net->nl];
	memset(l, 0, sizeof *l);
	l->type = L_POOL;
	const int64_t *sd = net->vals[src].md.dims;
	int64_t oh = (sd[2] + 2 * ph - kh) / sh + 1, ow = (sd[3] + 2 * pw - kw) / sw + 1;
	dnnl_dims_t yd = {sd[0], sd[1], oh, ow}, strides = {sh, sw}, kernel = {kh, kw}, pad = {ph, pw};
	dnnl_memory_desc_t ya;
	dnnl_primitive_desc_t pd = NULL;
	int v = -1;
	// oneDNN 2.6 pools bf16 into bf16 only: a float32 pooling of bf16
	// values takes them converted (reordered in the same layout) first
	dnnl_memory_desc_t xs = net->vals[src].md;
	if (f32) {
		xs.data_type = dnnl_f32;
	}
	TRY(dnnl_memory_desc_init_by_tag(&ya, 4, yd, xs.data_type, dnnl_format_tag_any));
	dnnl_pooling_desc_t desc;
	TRY(dnnl_pooling_forward_desc_init(&desc, dnnl_forward_inference, max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding,
		&xs, &ya, strides, kernel, pad, pad));
	TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, gd_engine, NULL));
	v = finish(net, l, pd, src, buf);
fail:
	if (pd) {
		dnnl_primitive_desc_destroy(pd);
	}
	return v;
}

int gd_net_output(gd_net *net, int src) {
	if (net->status != dnnl_success || net->nl == MAXL || src < 0 || src >= net->nv) {
		if (net->status == dnnl_success) {
			net->status = dnnl_invalid_arguments;
		}
		return -1;
	}
	gd_layer *l = &net->layers[net->nl];
	memset(l, 0, sizeof *l);
	l->type = L_OUT;
	l->src = src;
	l->dst = -1;
	dnnl_memory_desc_t yu;
	TRY(dnnl_memory_desc_init_by_tag(&yu, 4, net->vals[src].md.dims, dnnl_f32, dnnl_nchw));
	TRY(reorder(&l->prim, &net->vals[src].md, &yu, NULL));
	TRY(mem(&l->src_mem, &net->vals[src].md));
	TRY(mem(&l->dst_mem, &yu));
	return net->nl++;
fail:
	return -1;
}

#undef TRY

static void *val_ptr(gd_net *net, int v, const float *x) {
	int b = net->vals[v].buf;
	return b < 0 ? (void *)x : net->bufs[b];
}

int gd_net_exec(gd_net *net, int i, const float *x, const float *w, const float *scale, const float *shift, float *out) {
	dnnl_status_t st;
	if (net->status != dnnl_success || i < 0 || i >= net->nl) {
		return dnnl_invalid_arguments;
	}
	if (!net->allocated) {
		for (int b = 0; b < NBUF; b++) {
			if (net->bufsize[b] && !(net->bufs[b] = aligned_alloc(64, (net->bufsize[b] + 4095) & ~(size_t)4095))) {
				return dnnl_out_of_memory;
			}
		}
		size_t cap = 0;
		if (net->wsize && !grow(&net->wbuf, &cap, net->wsize)) {
			return dnnl_out_of_memory;
		}
		cap = 0;
		if (net->tsize && !grow(&net->tbuf, &cap, net->tsize)) {
			return dnnl_out_of_memory;
		}
		net->allocated = 1;
	}
	omp_set_num_threads(net->nthr);
	gd_layer *l = &net->layers[i];
	if ((st = dnnl_memory_set_data_handle(l->src_mem, val_ptr(net, l->src, x))) != dnnl_success) {
		return st;
	}
	if (l->type == L_OUT) {
		if ((st = dnnl_memory_set_data_handle(l->dst_mem, out)) != dnnl_success) {
			return st;
		}
		dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, l->src_mem}, {DNNL_ARG_TO, l->dst_mem}};
		if ((st = dnnl_primitive_execute(l->prim, gd_stream, 2, r)) != dnnl_success) {
			return st;
		}
		return dnnl_stream_wait(gd_stream);
	}
	dnnl_memory_t src = l->src_mem;
	if (l->src_reorder) {
		if ((st = dnnl_memory_set_data_handle(l->src_re_mem, net->tbuf)) != dnnl_success) {
			return st;
		}
		dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, l->src_mem}, {DNNL_ARG_TO, l->src_re_mem}};
		if ((st = dnnl_primitive_execute(l->src_reorder, gd_stream, 2, r)) != dnnl_success) {
			return st;
		}
		src = l->src_re_mem;
	}
	if ((st = dnnl_memory_set_data_handle(l->dst_mem, val_ptr(net, l->dst, x))) != dnnl_success) {
		return st;
	}
	if (l->type == L_POOL) {
		dnnl_exec_arg_t a[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, l->dst_mem}};
		if ((st = dnnl_primitive_execute(l->prim, gd_stream, 2, a)) != dnnl_success) {
			return st;
		}
		return dnnl_stream_wait(gd_stream);
	}
	if ((st = dnnl_memory_set_data_handle(l->w_user, (void *)w)) != dnnl_success ||
		(st = dnnl_memory_set_data_handle(l->w_mem, net->wbuf)) != dnnl_success ||
		(st = dnnl_memory_set_data_handle(l->scales, (void *)scale)) != dnnl_success ||
		(st = dnnl_memory_set_data_handle(l->bias, (void *)shift)) != dnnl_success) {
		return st;
	}
	dnnl_exec_arg_t r[3] = {{DNNL_ARG_FROM, l->w_user}, {DNNL_ARG_TO, l->w_mem}, {DNNL_ARG_ATTR_OUTPUT_SCALES, l->scales}};
	if ((st = dnnl_primitive_execute(l->w_reorder, gd_stream, 3, r)) != dnnl_success) {
		return st;
	}
	dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, l->w_mem}, {DNNL_ARG_BIAS, l->bias}, {DNNL_ARG_DST, l->dst_mem}};
	if ((st = dnnl_primitive_execute(l->prim, gd_stream, 4, a)) != dnnl_success) {
		return st;
	}
	return dnnl_stream_wait(gd_stream);
}

int gd_net_is_conv(const gd_net *net, int i) { return i >= 0 && i < net->nl && net->layers[i].type == L_CONV; }

const char *gd_net_impl(const gd_net *net, int i) { return i >= 0 && i < net->nl ? net->layers[i].impl : ""; }
