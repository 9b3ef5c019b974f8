// oneDNN's and OpenMP's functions, resolved at run time by gd_load (dl.c)
// instead of at link time: the library is opened only after
// OMP_WAIT_POLICY is set, which OpenMP reads once, when it loads.

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

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

#define GD_DECLARE(f) extern __typeof__(f) *gd_p_##f;
GD_FUNCS(GD_DECLARE)
#undef GD_DECLARE

#define dnnl_convolution_forward_desc_init (*gd_p_dnnl_convolution_forward_desc_init)
#define dnnl_dilated_convolution_backward_data_desc_init (*gd_p_dnnl_dilated_convolution_backward_data_desc_init)
#define dnnl_dilated_convolution_backward_weights_desc_init (*gd_p_dnnl_dilated_convolution_backward_weights_desc_init)
#define dnnl_dilated_convolution_forward_desc_init (*gd_p_dnnl_dilated_convolution_forward_desc_init)
#define dnnl_engine_create (*gd_p_dnnl_engine_create)
#define dnnl_engine_destroy (*gd_p_dnnl_engine_destroy)
#define dnnl_get_effective_cpu_isa (*gd_p_dnnl_get_effective_cpu_isa)
#define dnnl_memory_create (*gd_p_dnnl_memory_create)
#define dnnl_memory_desc_equal (*gd_p_dnnl_memory_desc_equal)
#define dnnl_memory_desc_get_size (*gd_p_dnnl_memory_desc_get_size)
#define dnnl_memory_desc_init_by_tag (*gd_p_dnnl_memory_desc_init_by_tag)
#define dnnl_memory_destroy (*gd_p_dnnl_memory_destroy)
#define dnnl_memory_set_data_handle (*gd_p_dnnl_memory_set_data_handle)
#define dnnl_pooling_forward_desc_init (*gd_p_dnnl_pooling_forward_desc_init)
#define dnnl_post_ops_append_eltwise (*gd_p_dnnl_post_ops_append_eltwise)
#define dnnl_post_ops_append_sum (*gd_p_dnnl_post_ops_append_sum)
#define dnnl_post_ops_create (*gd_p_dnnl_post_ops_create)
#define dnnl_post_ops_destroy (*gd_p_dnnl_post_ops_destroy)
#define dnnl_primitive_attr_create (*gd_p_dnnl_primitive_attr_create)
#define dnnl_primitive_attr_destroy (*gd_p_dnnl_primitive_attr_destroy)
#define dnnl_primitive_attr_set_output_scales (*gd_p_dnnl_primitive_attr_set_output_scales)
#define dnnl_primitive_attr_set_post_ops (*gd_p_dnnl_primitive_attr_set_post_ops)
#define dnnl_primitive_create (*gd_p_dnnl_primitive_create)
#define dnnl_primitive_desc_create (*gd_p_dnnl_primitive_desc_create)
#define dnnl_primitive_desc_destroy (*gd_p_dnnl_primitive_desc_destroy)
#define dnnl_primitive_desc_query (*gd_p_dnnl_primitive_desc_query)
#define dnnl_primitive_desc_query_md (*gd_p_dnnl_primitive_desc_query_md)
#define dnnl_primitive_destroy (*gd_p_dnnl_primitive_destroy)
#define dnnl_primitive_execute (*gd_p_dnnl_primitive_execute)
#define dnnl_reorder_primitive_desc_create (*gd_p_dnnl_reorder_primitive_desc_create)
#define dnnl_stream_create (*gd_p_dnnl_stream_create)
#define dnnl_stream_wait (*gd_p_dnnl_stream_wait)
#define omp_set_num_threads (*gd_p_omp_set_num_threads)

// gd_load opens libdnnl and resolves the functions, once; it returns NULL
// or a message saying what failed.
const char *gd_load(void);

// gd_act_layout returns the channel-blocked activation layout oneDNN's
// direct convolutions of data type dt prefer on this CPU (net.c), or any.
dnnl_format_tag_t gd_act_layout(dnnl_data_type_t dt);
