//go:build onednn

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

// The pointers are defined here, before dl.h turns the names into them.
#define GD_DEFINE(f) __typeof__(f) *gd_p_##f;
#define GD_FUNCS(X) \
	X(dnnl_convolution_forward_desc_init) \
	X(dnnl_dilated_convolution_backward_data_desc_init) \
	X(dnnl_dilated_convolution_backward_weights_desc_init) \
	X(dnnl_dilated_convolution_forward_desc_init) \
	X(dnnl_engine_create) \
	X(dnnl_engine_destroy) \
	X(dnnl_get_effective_cpu_isa) \
	X(dnnl_memory_create) \
	X(dnnl_memory_desc_equal) \
	X(dnnl_memory_desc_get_size) \
	X(dnnl_memory_desc_init_by_tag) \
	X(dnnl_memory_destroy) \
	X(dnnl_memory_set_data_handle) \
	X(dnnl_pooling_forward_desc_init) \
	X(dnnl_post_ops_append_eltwise) \
	X(dnnl_post_ops_append_sum) \
	X(dnnl_post_ops_create) \
	X(dnnl_post_ops_destroy) \
	X(dnnl_primitive_attr_create) \
	X(dnnl_primitive_attr_destroy) \
	X(dnnl_primitive_attr_set_output_scales) \
	X(dnnl_primitive_attr_set_post_ops) \
	X(dnnl_primitive_create) \
	X(dnnl_primitive_desc_create) \
	X(dnnl_primitive_desc_destroy) \
	X(dnnl_primitive_desc_query) \
	X(dnnl_primitive_desc_query_md) \
	X(dnnl_primitive_destroy) \
	X(dnnl_primitive_execute) \
	X(dnnl_reorder_primitive_desc_create) \
	X(dnnl_stream_create) \
	X(dnnl_stream_wait) \
	X(omp_set_num_threads)
GD_FUNCS(GD_DEFINE)

static int loaded;
static char failure[512];

const char *gd_load(void) {
	if (loaded) {
		return failure[0] ? failure : NULL;
	}
	loaded = 1;
	// OpenMP threads that spin while they wait take the cores from the Go
	// code between oneDNN calls (and from other processes): sleep instead,
	// unless the user chose otherwise.
	if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
		setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
	}
	void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(failure, sizeof failure, "%s", dlerror());
		return failure;
	}
#define GD_RESOLVE(f)                                                          \
	if (!(gd_p_##f = (__typeof__(f) *)dlsym(h, #f))) {                         \
		snprintf(failure, sizeof failure, "libdnnl.so.2: no symbol %s", #f); \
		return failure;                                                        \
	}
	GD_FUNCS(GD_RESOLVE)
	return NULL;
}
