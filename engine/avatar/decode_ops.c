/* The layers of both decoder families: packing weights for the shaders, and recording the dispatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/decode_ops.h"

static const uint32_t linear_comp[] =
#include "decode/linear.comp.inc"
;
static const uint32_t convt_comp[] =
#include "decode/convt.comp.inc"
;

static const VkDescriptorType LAYER_BINDINGS[4] = {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                                   VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                                   VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                                   VK_DESCRIPTOR_TYPE_STORAGE_BUFFER};

/* ---- kernels ---- */

/* Defaults per kind of device. On CPU drivers (lavapipe) big register blocks and narrow workgroups win
 * (../shared/reference/lavapipe-notes.md); on GPUs, smaller blocks leave more invocations to hide latency. */
static struct avatar_kernel_params default_params(const struct gpu_context *ctx)
{
	if (ctx->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU)
		return (struct avatar_kernel_params){.convt_pixels = 8, .convt_channels = 8, .convt_group_x = 8,
		                                     .convt_group_y = 1, .linear_group = 32};
	return (struct avatar_kernel_params){.convt_pixels = 2, .convt_channels = 8, .convt_group_x = 16,
	                                     .convt_group_y = 4, .linear_group = 64};
}

enum cv_result decode_ops_init(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                               struct decode_ops *ops)
{
	*ops = (struct decode_ops){.params = default_params(ctx)};
	struct avatar_kernel_params *p = &ops->params;
	if (override) {
		if (override->convt_pixels) p->convt_pixels = override->convt_pixels;
		if (override->convt_channels) p->convt_channels = override->convt_channels;
		if (override->convt_group_x) p->convt_group_x = override->convt_group_x;
		if (override->convt_group_y) p->convt_group_y = override->convt_group_y;
		if (override->linear_group) p->linear_group = override->linear_group;
	}
	if (p->convt_channels % 4 || p->convt_channels > 64 || p->convt_pixels > DECODE_MAX_PIXELS ||
	    p->convt_group_x * p->convt_group_y > ctx->properties.limits.maxComputeWorkGroupInvocations ||
	    p->linear_group > ctx->properties.limits.maxComputeWorkGroupInvocations)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "kernel parameters out of range (channels %u, pixels %u)",
		               p->convt_channels, p->convt_pixels);
	/* Narrower channel blocks (layers with few output channels) take more pixels, keeping the register block;
	 * halving reaches 1 within DECODE_CB_VARIANTS steps since convt_channels <= 64. */
	for (uint32_t v = 0, cb4 = p->convt_channels / 4; v < DECODE_CB_VARIANTS; v++, cb4 = cb4 > 1 ? cb4 / 2 : 1) {
		ops->convt_cb4[v] = cb4;
		uint32_t pixels = p->convt_pixels * (p->convt_channels / 4) / cb4;
		ops->convt_pixels[v] = pixels < DECODE_MAX_PIXELS ? pixels : DECODE_MAX_PIXELS;
	}
	return gpu_pipeline_compute_init(ctx, &ops->linear, &(struct gpu_compute_pipeline_desc){
		.shader = GPU_SHADER(linear_comp),
		.layout = {.bindings = LAYER_BINDINGS, .binding_count = 4, .push_constant_size = 28,
		           .spec_constants = &p->linear_group, .spec_constant_count = 1, .name = "decode linear"}});
}

void decode_ops_fini(struct gpu_context *ctx, struct decode_ops *ops)
{
	gpu_pipeline_fini(ctx, &ops->linear);
	for (int v = 0; v < DECODE_CB_VARIANTS; v++)
		for (int p = 0; p < 4; p++) gpu_pipeline_fini(ctx, &ops->convt[v][p]);
}

/* The variant with the largest channel block that divides the layer's cout4. */
static uint32_t convt_variant(const struct decode_ops *ops, uint32_t cout4)
{
	for (uint32_t v = 0; v < DECODE_CB_VARIANTS; v++)
		if (cout4 % ops->convt_cb4[v] == 0) return v;
	return DECODE_CB_VARIANTS - 1;
}

static enum cv_result convt_pipeline(struct gpu_context *ctx, struct decode_ops *ops, uint32_t variant, uint32_t parity,
                                     const struct gpu_pipeline **out)
{
	struct gpu_pipeline *p = &ops->convt[variant][parity];
	if (!p->pipeline) {
		const uint32_t spec[6] = {ops->params.convt_group_x, ops->params.convt_group_y, parity >> 1, parity & 1,
		                          ops->convt_pixels[variant], ops->convt_cb4[variant]};
		CV_TRY(gpu_pipeline_compute_init(ctx, p, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(convt_comp),
			.layout = {.bindings = LAYER_BINDINGS, .binding_count = 4, .push_constant_size = 28,
			           .spec_constants = spec, .spec_constant_count = 6, .name = "decode convt"}}));
	}
	*out = p;
	return CV_OK;
}

/* ---- weights on the GPU ---- */

enum cv_result decode_texel_upload(struct gpu_context *ctx, struct texel_tensor *t, const float *data, size_t count,
                                   bool f16, const char *name, uint64_t *bytes)
{
	size_t size = count * (f16 ? 2 : 4);
	CV_TRY(gpu_buffer_init(ctx, &t->buffer, &(struct gpu_buffer_desc){
		.size = size, .usage = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, .name = name}));
	enum cv_result r;
	if (f16) {
		uint16_t *h = malloc(count * 2);
		if (!h) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s", name);
		for (size_t i = 0; i < count; i++) h[i] = st_f32_to_f16(data[i]);
		r = gpu_buffer_write(ctx, &t->buffer, 0, h, size);
		free(h);
	} else {
		r = gpu_buffer_write(ctx, &t->buffer, 0, data, size);
	}
	if (r == CV_OK)
		r = gpu_buffer_view_create(ctx, &t->buffer, f16 ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT,
		                           name, &t->view);
	*bytes += size;
	return r;
}

enum cv_result decode_texel_scratch(struct gpu_context *ctx, struct texel_tensor *t, size_t vec4s, bool host,
                                    const char *name, uint64_t *bytes)
{
	CV_TRY(gpu_buffer_init(ctx, &t->buffer, &(struct gpu_buffer_desc){
		.size = vec4s * 16, .host_visible = host, .name = name,
		.usage = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT}));
	*bytes += vec4s * 16;
	return gpu_buffer_view_create(ctx, &t->buffer, VK_FORMAT_R32G32B32A32_SFLOAT, name, &t->view);
}

void decode_texel_fini(struct gpu_context *ctx, struct texel_tensor *t)
{
	if (t->view) vkDestroyBufferView(ctx->device, t->view, NULL);
	gpu_buffer_fini(ctx, &t->buffer);
	t->view = VK_NULL_HANDLE;
}

enum cv_result decode_linear_init(struct gpu_context *ctx, const struct decode_upload *up,
                                  const struct avatar_file *file, const char *prefix, uint32_t in, uint32_t out,
                                  float slope, uint32_t hwc_side, struct linear_layer *l)
{
	char wname[96], bname[96];
	snprintf(wname, sizeof(wname), "%s.weight", prefix);
	snprintf(bname, sizeof(bname), "%s.bias", prefix);
	float *w = NULL, *b = NULL;
	CV_TRY(st_read_f32(avatar_safetensors(file), wname, &w, NULL));
	enum cv_result r = st_read_f32(avatar_safetensors(file), bname, &b, NULL);
	l->in4 = decode_div_up(in, 4);
	l->out = out;
	l->slope = slope;
	size_t wcount = (size_t)out * l->in4 * 4, bcount = (size_t)decode_div_up(out, 4) * 4;
	float *pw = r == CV_OK ? calloc(wcount, sizeof(float)) : NULL;
	float *pb = pw ? calloc(bcount, sizeof(float)) : NULL;
	if (r == CV_OK && !pb) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s", prefix);
	if (r == CV_OK) {
		uint32_t plane = hwc_side * hwc_side, channels = hwc_side ? out / plane : 0;
		for (uint32_t o = 0; o < out; o++) {
			/* packed output (pixel, channel) comes from torch's row channel * plane + pixel */
			uint32_t src = hwc_side ? (o % channels) * plane + o / channels : o;
			memcpy(&pw[(size_t)o * l->in4 * 4], &w[(size_t)src * in], in * sizeof(float));
			pb[o] = b[src];
		}
		r = decode_texel_upload(ctx, &l->weights, pw, wcount, up->f16, wname, &up->memory->shared_bytes);
	}
	if (r == CV_OK) r = decode_texel_upload(ctx, &l->bias, pb, bcount, up->f16, bname, &up->memory->shared_bytes);
	up->memory->flops_per_decode += 2ull * in * out;
	free(w);
	free(b);
	free(pw);
	free(pb);
	return r;
}

void decode_linear_fini(struct gpu_context *ctx, struct linear_layer *l)
{
	decode_texel_fini(ctx, &l->weights);
	decode_texel_fini(ctx, &l->bias);
}

enum cv_result decode_convt_init(struct gpu_context *ctx, const struct decode_ops *ops, const struct decode_upload *up,
                                 const struct avatar_file *file, const char *prefix, uint32_t i, uint32_t cin,
                                 uint32_t cout, uint32_t side_in, float slope, const float *fold_mean, float fold_std,
                                 struct convt_layer *l)
{
	if (cin % 4)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s.%u has %u input channels; cavr needs a multiple of 4", prefix, i, cin);
	char name[96];
	float *w = NULL, *b = NULL, *ub = NULL;
	snprintf(name, sizeof(name), "%s.%u.weight", prefix, i);
	CV_TRY(st_read_f32(avatar_safetensors(file), name, &w, NULL));
	snprintf(name, sizeof(name), "%s.%u.bias", prefix, i);
	enum cv_result r = st_read_f32(avatar_safetensors(file), name, &b, NULL);
	snprintf(name, sizeof(name), "%s.%u.untied_bias", prefix, i);
	if (r == CV_OK) r = st_read_f32(avatar_safetensors(file), name, &ub, NULL);
	l->hin = l->win = side_in;
	l->cin4 = cin / 4;
	l->cout4 = decode_div_up(cout, 4);
	l->slope = slope;
	l->variant = convt_variant(ops, l->cout4);
	uint32_t side_out = side_in * 2, c4 = l->cout4 * 4;
	size_t wcount = (size_t)16 * cin * c4, bcount = (size_t)side_out * side_out * c4;
	float *pw = r == CV_OK ? calloc(wcount, sizeof(float)) : NULL;
	float *pb = pw ? calloc(bcount, sizeof(float)) : NULL;
	if (r == CV_OK && !pb) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s.%u", prefix, i);
	if (r == CV_OK) {
		for (uint32_t parity = 0; parity < 4; parity++)
			for (uint32_t ty = 0; ty < 2; ty++)
				for (uint32_t tx = 0; tx < 2; tx++) {
					uint32_t ky = (parity >> 1) == 0 ? 1 + 2 * ty : 2 * ty;
					uint32_t kx = (parity & 1) == 0 ? 1 + 2 * tx : 2 * tx;
					float *dst = &pw[(size_t)(parity * 4 + ty * 2 + tx) * cin * c4];
					for (uint32_t ci = 0; ci < cin; ci++)
						for (uint32_t co = 0; co < cout; co++)
							dst[(size_t)ci * c4 + co] = w[(((size_t)ci * cout + co) * 4 + ky) * 4 + kx];
				}
		for (uint32_t y = 0; y < side_out; y++)
			for (uint32_t x = 0; x < side_out; x++)
				for (uint32_t co = 0; co < cout; co++)
					pb[((size_t)y * side_out + x) * c4 + co] = b[co] + ub[((size_t)co * side_out + y) * side_out + x];
		if (fold_mean) { /* out * std + mean, folded into the weights and bias */
			for (size_t j = 0; j < wcount; j++) pw[j] *= fold_std;
			for (size_t p = 0; p < (size_t)side_out * side_out; p++)
				for (uint32_t co = 0; co < cout; co++) pb[p * c4 + co] = pb[p * c4 + co] * fold_std + fold_mean[p * 3 + co];
		}
		snprintf(name, sizeof(name), "%s.%u weights", prefix, i);
		r = decode_texel_upload(ctx, &l->weights, pw, wcount, up->f16, name, &up->memory->shared_bytes);
		snprintf(name, sizeof(name), "%s.%u biases", prefix, i);
		if (r == CV_OK) r = decode_texel_upload(ctx, &l->bias, pb, bcount, up->f16, name, &up->memory->shared_bytes);
	}
	up->memory->flops_per_decode += 2ull * side_out * side_out * cout * cin * 4;
	free(w);
	free(b);
	free(ub);
	free(pw);
	free(pb);
	return r;
}

void decode_convt_fini(struct gpu_context *ctx, struct convt_layer *l)
{
	decode_texel_fini(ctx, &l->weights);
	decode_texel_fini(ctx, &l->bias);
}

/* ---- recording ---- */

void decode_record_linear(struct gpu_context *ctx, VkCommandBuffer cmd, const struct decode_ops *ops,
                          const struct linear_layer *l, VkBufferView in, uint32_t in_offset4, uint32_t in_stride4,
                          const struct gpu_buffer *out, uint32_t out_offset, uint32_t out_stride, uint32_t count)
{
	struct {
		uint32_t in4, in_offset4, in_stride4, out_count, out_offset, out_stride;
		float slope;
	} push = {l->in4, in_offset4, in_stride4, l->out, out_offset, out_stride, l->slope};
	gpu_cmd_bind(ctx, cmd, &ops->linear,
	             (struct gpu_binding[]){{.texel_view = in}, {.texel_view = l->weights.view},
	                                    {.texel_view = l->bias.view}, {.buffer = out}},
	             &push, sizeof(push));
	vkCmdDispatch(cmd, decode_div_up(decode_div_up(l->out, 4), ops->params.linear_group), count, 1);
}

enum cv_result decode_record_convt(struct gpu_context *ctx, VkCommandBuffer cmd, struct decode_ops *ops,
                                   const struct convt_layer *l, VkBufferView in, const struct gpu_buffer *out,
                                   uint32_t count)
{
	uint32_t cb4 = ops->convt_cb4[l->variant], blocks = l->cout4 / cb4;
	uint32_t pixel_blocks = decode_div_up(l->win, ops->convt_pixels[l->variant]);
	struct {
		uint32_t hin, win, cin4, cout4, cout_blocks, pixel_blocks;
		float slope;
	} push = {l->hin, l->win, l->cin4, l->cout4, blocks, pixel_blocks, l->slope};
	for (uint32_t parity = 0; parity < 4; parity++) {
		const struct gpu_pipeline *p;
		CV_TRY(convt_pipeline(ctx, ops, l->variant, parity, &p));
		gpu_cmd_bind(ctx, cmd, p,
		             (struct gpu_binding[]){{.texel_view = in}, {.texel_view = l->weights.view},
		                                    {.texel_view = l->bias.view}, {.buffer = out}},
		             &push, sizeof(push));
		vkCmdDispatch(cmd, decode_div_up(pixel_blocks * blocks, ops->params.convt_group_x),
		              decode_div_up(l->hin, ops->params.convt_group_y), count);
	}
	return CV_OK;
}
