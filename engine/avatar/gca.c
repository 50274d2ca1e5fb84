/* The `gca` decoder on the GPU: the dam family's linear and transposed-convolution kernels (same SPIR-V, same
 * packed weight layouts, same per-device parameters) for two trunks, then one pass that makes the Gaussians. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/gca.h"

static const uint32_t linear_comp[] =
#include "decode/linear.comp.inc"
;
static const uint32_t convt_comp[] =
#include "decode/convt.comp.inc"
;
static const uint32_t gaussians_comp[] =
#include "gca/gaussians.comp.inc"
;

#define CB_VARIANTS 5 /* convt channel blocks, as in decoder.c */
#define MAX_PIXELS 8

static const VkDescriptorType TEXEL = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
static const VkDescriptorType STORAGE = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;

static uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

/* ---- kernels ---- */

struct gca_kernels {
	struct avatar_kernel_params params;
	struct gpu_pipeline linear, gaussians;
	struct gpu_pipeline convt[CB_VARIANTS][4];
	uint32_t convt_cb4[CB_VARIANTS], convt_pixels[CB_VARIANTS];
};

enum cv_result gca_kernels_create(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                                  struct gca_kernels **out)
{
	*out = NULL;
	/* The dam kernels choose and check the device's parameters; borrow their choice. */
	struct avatar_kernels *dam;
	CV_TRY(avatar_kernels_create(ctx, override, &dam));
	struct gca_kernels *k = calloc(1, sizeof(*k));
	if (!k) {
		avatar_kernels_destroy(ctx, &dam);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gca kernels");
	}
	k->params = *avatar_kernels_params(dam);
	avatar_kernels_destroy(ctx, &dam);
	const struct avatar_kernel_params *p = &k->params;
	for (uint32_t v = 0, cb4 = p->convt_channels / 4; v < CB_VARIANTS; v++, cb4 = cb4 > 1 ? cb4 / 2 : 1) {
		k->convt_cb4[v] = cb4;
		uint32_t pixels = p->convt_pixels * (p->convt_channels / 4) / cb4;
		k->convt_pixels[v] = pixels < MAX_PIXELS ? pixels : MAX_PIXELS;
	}
	const VkDescriptorType linear_b[4] = {TEXEL, TEXEL, TEXEL, STORAGE};
	const VkDescriptorType gauss_b[4] = {TEXEL, TEXEL, TEXEL, STORAGE};
	enum cv_result r = gpu_pipeline_compute_init(ctx, &k->linear, &(struct gpu_compute_pipeline_desc){
		.shader = GPU_SHADER(linear_comp),
		.layout = {.bindings = linear_b, .binding_count = 4, .push_constant_size = 28,
		           .spec_constants = &p->linear_group, .spec_constant_count = 1, .name = "gca linear"}});
	if (r == CV_OK)
		r = gpu_pipeline_compute_init(ctx, &k->gaussians, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(gaussians_comp),
			.layout = {.bindings = gauss_b, .binding_count = 4, .push_constant_size = 8, .name = "gca gaussians"}});
	if (r != CV_OK) {
		gca_kernels_destroy(ctx, &k);
		return r;
	}
	*out = k;
	return CV_OK;
}

void gca_kernels_destroy(struct gpu_context *ctx, struct gca_kernels **pk)
{
	struct gca_kernels *k = *pk;
	if (!k) return;
	gpu_pipeline_fini(ctx, &k->linear);
	gpu_pipeline_fini(ctx, &k->gaussians);
	for (int v = 0; v < CB_VARIANTS; v++)
		for (int p = 0; p < 4; p++) gpu_pipeline_fini(ctx, &k->convt[v][p]);
	free(k);
	*pk = NULL;
}

static uint32_t convt_variant(const struct gca_kernels *k, uint32_t cout4)
{
	for (uint32_t v = 0; v < CB_VARIANTS; v++)
		if (cout4 % k->convt_cb4[v] == 0) return v;
	return CB_VARIANTS - 1;
}

static enum cv_result convt_pipeline(struct gpu_context *ctx, struct gca_kernels *k, uint32_t variant, uint32_t parity,
                                     const struct gpu_pipeline **out)
{
	struct gpu_pipeline *p = &k->convt[variant][parity];
	if (!p->pipeline) {
		const uint32_t spec[6] = {k->params.convt_group_x, k->params.convt_group_y, parity >> 1, parity & 1,
		                          k->convt_pixels[variant], k->convt_cb4[variant]};
		const VkDescriptorType b[4] = {TEXEL, TEXEL, TEXEL, STORAGE};
		CV_TRY(gpu_pipeline_compute_init(ctx, p, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(convt_comp),
			.layout = {.bindings = b, .binding_count = 4, .push_constant_size = 28, .spec_constants = spec,
			           .spec_constant_count = 6, .name = "gca convt"}}));
	}
	*out = p;
	return CV_OK;
}

/* ---- weights ---- */

struct texel_tensor {
	struct gpu_buffer buffer;
	VkBufferView view;
};

struct linear_layer {
	struct texel_tensor weights, bias;
	uint32_t in4, out;
	float slope;
};

struct convt_layer {
	struct texel_tensor weights, bias;
	uint32_t hin, win, cin4, cout4, variant;
	float slope;
};

struct trunk {
	struct linear_layer fc;
	struct convt_layer up[AVATAR_DAM_MAX_UP];
};

struct gca_model {
	struct gca_kernels *kernels;
	struct avatar_gca_arch arch;
	char name[64];
	bool f32_weights;
	uint32_t participants, latent4, feat4, count;
	float offset_scale;
	struct linear_layer view_fc, z_fc;
	struct trunk geometry, colour;
	struct texel_tensor surface;                  /* template positions [G*G] vec4, f32 */
	struct texel_tensor codes, views, features;   /* [n][Z4], [n], [n][feat4] */
	struct texel_tensor act[2];                   /* ping-pong activations of either trunk */
	struct texel_tensor geometry_out, colour_out; /* [n][G*G][3] and [n][G*G] vec4 */
	struct gpu_buffer gaussians;                  /* [n][G*G] struct gca_gaussian */
	struct avatar_model_memory memory;
};

static enum cv_result texel_upload(struct gpu_context *ctx, struct texel_tensor *t, const float *data, size_t count,
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

static enum cv_result texel_scratch(struct gpu_context *ctx, struct texel_tensor *t, size_t vec4s, bool host,
                                    const char *name, uint64_t *bytes)
{
	CV_TRY(gpu_buffer_init(ctx, &t->buffer, &(struct gpu_buffer_desc){
		.size = vec4s * 16, .host_visible = host, .name = name,
		.usage = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT}));
	*bytes += vec4s * 16;
	return gpu_buffer_view_create(ctx, &t->buffer, VK_FORMAT_R32G32B32A32_SFLOAT, name, &t->view);
}

static void texel_fini(struct gpu_context *ctx, struct texel_tensor *t)
{
	if (t->view) vkDestroyBufferView(ctx->device, t->view, NULL);
	gpu_buffer_fini(ctx, &t->buffer);
	t->view = VK_NULL_HANDLE;
}

static enum cv_result tensor_f32(const struct avatar_file *file, const char *name, float **out)
{
	const struct st_tensor *t = avatar_tensor(file, name);
	if (!t) return CV_FAIL(CV_ERROR_FORMAT, "avatar '%s' has no tensor %s", avatar_name(file), name);
	*out = malloc(t->count * sizeof(float) + 1);
	if (!*out) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s", name);
	enum cv_result r = st_tensor_to_f32(t, *out, t->count);
	if (r != CV_OK) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* A Linear [out][in] packed as [out][in4] vec4 rows; with `hwc_side`, outputs reordered from torch's CHW
 * feature grid to the HWC layout the convolutions read. */
static enum cv_result linear_init(struct gpu_context *ctx, struct gca_model *m, const struct avatar_file *file,
                                  const char *prefix, uint32_t in, uint32_t out, float slope, uint32_t hwc_side,
                                  struct linear_layer *l)
{
	char wname[96], bname[96];
	snprintf(wname, sizeof(wname), "%s.weight", prefix);
	snprintf(bname, sizeof(bname), "%s.bias", prefix);
	float *w = NULL, *b = NULL;
	CV_TRY(tensor_f32(file, wname, &w));
	enum cv_result r = tensor_f32(file, bname, &b);
	l->in4 = div_up(in, 4);
	l->out = out;
	l->slope = slope;
	size_t wcount = (size_t)out * l->in4 * 4, bcount = (size_t)div_up(out, 4) * 4;
	float *pw = r == CV_OK ? calloc(wcount, sizeof(float)) : NULL;
	float *pb = pw ? calloc(bcount, sizeof(float)) : NULL;
	if (r == CV_OK && !pb) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s", prefix);
	if (r == CV_OK) {
		uint32_t plane = hwc_side * hwc_side, channels = hwc_side ? out / plane : 0;
		for (uint32_t o = 0; o < out; o++) {
			uint32_t src = hwc_side ? (o % channels) * plane + o / channels : o;
			memcpy(&pw[(size_t)o * l->in4 * 4], &w[(size_t)src * in], in * sizeof(float));
			pb[o] = b[src];
		}
		r = texel_upload(ctx, &l->weights, pw, wcount, !m->f32_weights, wname, &m->memory.shared_bytes);
	}
	if (r == CV_OK) r = texel_upload(ctx, &l->bias, pb, bcount, !m->f32_weights, bname, &m->memory.shared_bytes);
	m->memory.flops_per_decode += 2ull * in * out;
	free(w);
	free(b);
	free(pw);
	free(pb);
	return r;
}

/* ConvTranspose2d [cin][cout][4][4] packed as [parity][ty][tx][cin][cout4] vec4, bias + untied bias as
 * [H][W][cout4] vec4: the layouts of shaders/decode/convt.comp. */
static enum cv_result convt_init(struct gpu_context *ctx, struct gca_model *m, const struct avatar_file *file,
                                 const char *prefix, const uint32_t *channels, uint32_t i, uint32_t side_in,
                                 struct convt_layer *l)
{
	uint32_t cin = channels[i], cout = channels[i + 1];
	if (cin % 4)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s.%u has %u input channels; cavr needs a multiple of 4", prefix, i, cin);
	char name[96];
	float *w = NULL, *b = NULL, *ub = NULL;
	snprintf(name, sizeof(name), "%s.%u.weight", prefix, i);
	CV_TRY(tensor_f32(file, name, &w));
	snprintf(name, sizeof(name), "%s.%u.bias", prefix, i);
	enum cv_result r = tensor_f32(file, name, &b);
	snprintf(name, sizeof(name), "%s.%u.untied_bias", prefix, i);
	if (r == CV_OK) r = tensor_f32(file, name, &ub);
	l->hin = l->win = side_in;
	l->cin4 = cin / 4;
	l->cout4 = div_up(cout, 4);
	l->slope = i + 1 == m->arch.up_count ? 1.0f : m->arch.leaky_slope;
	l->variant = convt_variant(m->kernels, l->cout4);
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
		snprintf(name, sizeof(name), "%s.%u weights", prefix, i);
		r = texel_upload(ctx, &l->weights, pw, wcount, !m->f32_weights, name, &m->memory.shared_bytes);
		snprintf(name, sizeof(name), "%s.%u biases", prefix, i);
		if (r == CV_OK) r = texel_upload(ctx, &l->bias, pb, bcount, !m->f32_weights, name, &m->memory.shared_bytes);
	}
	m->memory.flops_per_decode += 2ull * side_out * side_out * cout * cin * 4;
	free(w);
	free(b);
	free(ub);
	free(pw);
	free(pb);
	return r;
}

static enum cv_result trunk_init(struct gpu_context *ctx, struct gca_model *m, const struct avatar_file *file,
                                 const char *name, const uint32_t *channels, uint32_t fc_in, struct trunk *t)
{
	const uint32_t s0 = m->arch.init_size;
	char prefix[64];
	if (channels[0] % 4)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s': %u %s channels; cavr needs a multiple of 4", m->name,
		               channels[0], name);
	snprintf(prefix, sizeof(prefix), "dec.%s_fc", name);
	CV_TRY(linear_init(ctx, m, file, prefix, fc_in, channels[0] * s0 * s0, m->arch.leaky_slope, s0, &t->fc));
	snprintf(prefix, sizeof(prefix), "dec.%s", name);
	for (uint32_t i = 0; i < m->arch.up_count; i++)
		CV_TRY(convt_init(ctx, m, file, prefix, channels, i, s0 << i, &t->up[i]));
	return CV_OK;
}

/* Floats of the largest activation either trunk writes into the ping-pong buffers (all but the last layer). */
static size_t largest_activation(const struct gca_model *m)
{
	const struct avatar_gca_arch *a = &m->arch;
	size_t s0 = a->init_size, best = s0 * s0 * (a->geometry_channels[0] > a->colour_channels[0]
	                                                 ? a->geometry_channels[0] : a->colour_channels[0]);
	for (uint32_t i = 0; i + 1 < a->up_count; i++) {
		size_t side = s0 << (i + 1);
		size_t n = side * side * 4 * (m->geometry.up[i].cout4 > m->colour.up[i].cout4 ? m->geometry.up[i].cout4
		                                                                                : m->colour.up[i].cout4);
		if (n > best) best = n;
	}
	return best;
}

static enum cv_result model_init(struct gpu_context *ctx, struct gca_model *m, const struct avatar_file *file)
{
	const struct avatar_gca_arch *a = &m->arch;
	const uint32_t hidden = AVATAR_DAM_HIDDEN, view = a->view_conditioned ? AVATAR_DAM_VIEW : 0;
	m->latent4 = div_up(a->latent, 4);
	m->feat4 = (view + hidden) / 4;
	m->count = a->grid * a->grid;
	float *scale = NULL, *surface = NULL;
	CV_TRY(tensor_f32(file, "gaussian.offset_scale", &scale));
	m->offset_scale = scale[0];
	free(scale);
	if (view) CV_TRY(linear_init(ctx, m, file, "dec.view_fc", 3, view, a->leaky_slope, 0, &m->view_fc));
	CV_TRY(linear_init(ctx, m, file, "dec.z_fc", a->latent, hidden, a->leaky_slope, 0, &m->z_fc));
	CV_TRY(trunk_init(ctx, m, file, "geometry", a->geometry_channels, hidden, &m->geometry));
	CV_TRY(trunk_init(ctx, m, file, "colour", a->colour_channels, view + hidden, &m->colour));

	CV_TRY(tensor_f32(file, "gaussian.template", &surface));
	float *surface4 = calloc((size_t)m->count * 4, sizeof(float));
	enum cv_result r = surface4 ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gca template");
	for (size_t i = 0; surface4 && i < m->count; i++) memcpy(&surface4[i * 4], &surface[i * 3], 12);
	if (r == CV_OK)
		r = texel_upload(ctx, &m->surface, surface4, (size_t)m->count * 4, false, "gca template", &m->memory.shared_bytes);
	free(surface);
	free(surface4);
	CV_TRY(r);

	/* Every participant in one set of buffers: refuse what a storage-buffer binding cannot hold. */
	size_t n = m->participants, act4 = div_up((uint32_t)largest_activation(m), 4);
	size_t biggest = n * (act4 > (size_t)m->count * 4 ? act4 : (size_t)m->count * 4) * 16;
	if (biggest > ctx->properties.limits.maxStorageBufferRange)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s' with %zu participants needs %zu-byte buffers; device '%s' "
		               "binds at most %u", m->name, n, biggest, ctx->properties.deviceName,
		               ctx->properties.limits.maxStorageBufferRange);
	uint64_t bytes = 0;
	CV_TRY(texel_scratch(ctx, &m->codes, n * m->latent4, true, "gca codes", &bytes));
	CV_TRY(texel_scratch(ctx, &m->views, n, true, "gca views", &bytes));
	CV_TRY(texel_scratch(ctx, &m->features, n * m->feat4, false, "gca features", &bytes));
	CV_TRY(texel_scratch(ctx, &m->act[0], n * act4, false, "gca activations 0", &bytes));
	if (a->up_count > 1) CV_TRY(texel_scratch(ctx, &m->act[1], n * act4, false, "gca activations 1", &bytes));
	CV_TRY(texel_scratch(ctx, &m->geometry_out, n * m->count * 3, false, "gca geometry", &bytes));
	CV_TRY(texel_scratch(ctx, &m->colour_out, n * m->count, false, "gca colour", &bytes));
	CV_TRY(gpu_buffer_init(ctx, &m->gaussians, &(struct gpu_buffer_desc){
		.size = n * m->count * sizeof(struct gca_gaussian), .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
		.name = "gca gaussians"}));
	bytes += n * m->count * sizeof(struct gca_gaussian);
	m->memory.per_participant_bytes = bytes / n;
	return CV_OK;
}

enum cv_result gca_model_create(struct gpu_context *ctx, struct gca_kernels *kernels, const struct avatar_file *file,
                                const struct avatar_model_desc *desc, struct gca_model **out)
{
	*out = NULL;
	const struct avatar_gca_arch *arch = avatar_gca_arch(file);
	if (!arch)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s' is of family '%s', not gca", avatar_name(file),
		               avatar_family_name(avatar_family(file)));
	if (desc->participants > 4096) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%u participants", desc->participants);
	struct gca_model *m = calloc(1, sizeof(*m));
	if (!m) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gca model");
	m->kernels = kernels;
	m->arch = *arch;
	m->f32_weights = desc->f32_weights;
	m->participants = desc->participants ? desc->participants : 1;
	snprintf(m->name, sizeof(m->name), "%s", desc->name ? desc->name : avatar_name(file));
	enum cv_result r = model_init(ctx, m, file);
	if (r != CV_OK) {
		gca_model_destroy(ctx, &m);
		return r;
	}
	CV_DEBUG("gca avatar '%s': %u Gaussians, %.1f MB of weights (%s), %.1f MB per participant", m->name, m->count,
	         m->memory.shared_bytes / 1e6, m->f32_weights ? "f32" : "f16", m->memory.per_participant_bytes / 1e6);
	*out = m;
	return CV_OK;
}

static void linear_fini(struct gpu_context *ctx, struct linear_layer *l)
{
	texel_fini(ctx, &l->weights);
	texel_fini(ctx, &l->bias);
}

static void trunk_fini(struct gpu_context *ctx, struct trunk *t)
{
	linear_fini(ctx, &t->fc);
	for (uint32_t i = 0; i < AVATAR_DAM_MAX_UP; i++) {
		texel_fini(ctx, &t->up[i].weights);
		texel_fini(ctx, &t->up[i].bias);
	}
}

void gca_model_destroy(struct gpu_context *ctx, struct gca_model **pm)
{
	struct gca_model *m = *pm;
	if (!m) return;
	vkDeviceWaitIdle(ctx->device);
	linear_fini(ctx, &m->view_fc);
	linear_fini(ctx, &m->z_fc);
	trunk_fini(ctx, &m->geometry);
	trunk_fini(ctx, &m->colour);
	texel_fini(ctx, &m->surface);
	texel_fini(ctx, &m->codes);
	texel_fini(ctx, &m->views);
	texel_fini(ctx, &m->features);
	texel_fini(ctx, &m->act[0]);
	texel_fini(ctx, &m->act[1]);
	texel_fini(ctx, &m->geometry_out);
	texel_fini(ctx, &m->colour_out);
	gpu_buffer_fini(ctx, &m->gaussians);
	free(m);
	*pm = NULL;
}

uint32_t gca_model_participants(const struct gca_model *m) { return m->participants; }
uint32_t gca_model_gaussian_count(const struct gca_model *m) { return m->count; }

enum cv_result gca_model_set_input(struct gca_model *m, uint32_t participant, const float *code, size_t code_floats,
                                   const float view[3])
{
	if (participant >= m->participants)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "participant %u of avatar '%s', which has %u slots", participant,
		               m->name, m->participants);
	if (code_floats != m->arch.latent)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "code has %zu floats, avatar '%s' expects %u", code_floats, m->name,
		               m->arch.latent);
	float len = view ? sqrtf(view[0] * view[0] + view[1] * view[1] + view[2] * view[2]) : 0.0f;
	if (m->arch.view_conditioned && !(len > 1e-6f))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar '%s' needs a non-zero view direction", m->name);
	float *dst = (float *)m->codes.buffer.mapped + (size_t)participant * m->latent4 * 4;
	memset(dst, 0, (size_t)m->latent4 * 16);
	memcpy(dst, code, code_floats * sizeof(float));
	float *v = (float *)m->views.buffer.mapped + (size_t)participant * 4;
	for (int i = 0; i < 3; i++) v[i] = len > 0 ? view[i] / len : 0.0f;
	v[3] = 0;
	return CV_OK;
}

/* ---- recording ---- */

struct recorder {
	struct gpu_context *ctx;
	struct gca_model *m;
	VkCommandBuffer cmd;
	struct gpu_timer *timer;
	uint32_t mark, count;
};

static void stage_done(struct recorder *rec)
{
	gpu_cmd_compute_barrier(rec->cmd);
	if (rec->timer) gpu_cmd_timer_mark(rec->cmd, rec->timer, ++rec->mark);
}

static void record_linear(struct recorder *rec, const struct linear_layer *l, VkBufferView in, uint32_t in_offset4,
                          uint32_t in_stride4, const struct gpu_buffer *out, uint32_t out_offset, uint32_t out_stride)
{
	struct {
		uint32_t in4, in_offset4, in_stride4, out_count, out_offset, out_stride;
		float slope;
	} push = {l->in4, in_offset4, in_stride4, l->out, out_offset, out_stride, l->slope};
	const struct gca_kernels *k = rec->m->kernels;
	gpu_cmd_bind(rec->ctx, rec->cmd, &k->linear,
	             (struct gpu_binding[]){{.texel_view = in}, {.texel_view = l->weights.view},
	                                    {.texel_view = l->bias.view}, {.buffer = out}},
	             &push, sizeof(push));
	vkCmdDispatch(rec->cmd, div_up(div_up(l->out, 4), k->params.linear_group), rec->count, 1);
}

static enum cv_result record_convt(struct recorder *rec, const struct convt_layer *l, VkBufferView in,
                                   const struct gpu_buffer *out)
{
	struct gca_kernels *k = rec->m->kernels;
	uint32_t cb4 = k->convt_cb4[l->variant], blocks = l->cout4 / cb4;
	uint32_t pixel_blocks = div_up(l->win, k->convt_pixels[l->variant]);
	struct {
		uint32_t hin, win, cin4, cout4, cout_blocks, pixel_blocks;
		float slope;
	} push = {l->hin, l->win, l->cin4, l->cout4, blocks, pixel_blocks, l->slope};
	for (uint32_t parity = 0; parity < 4; parity++) {
		const struct gpu_pipeline *p;
		CV_TRY(convt_pipeline(rec->ctx, k, l->variant, parity, &p));
		gpu_cmd_bind(rec->ctx, rec->cmd, p,
		             (struct gpu_binding[]){{.texel_view = in}, {.texel_view = l->weights.view},
		                                    {.texel_view = l->bias.view}, {.buffer = out}},
		             &push, sizeof(push));
		vkCmdDispatch(rec->cmd, div_up(pixel_blocks * blocks, k->params.convt_group_x),
		              div_up(l->hin, k->params.convt_group_y), rec->count);
	}
	return CV_OK;
}

/* One trunk: its fully connected layer from the features, then the up-convolutions into `out`. */
static enum cv_result record_trunk(struct recorder *rec, const struct trunk *t, uint32_t in_offset4,
                                   const struct texel_tensor *out)
{
	struct gca_model *m = rec->m;
	record_linear(rec, &t->fc, m->features.view, in_offset4, m->feat4, &m->act[0].buffer, 0, t->fc.out);
	gpu_cmd_compute_barrier(rec->cmd);
	for (uint32_t i = 0; i < m->arch.up_count; i++) {
		bool last = i + 1 == m->arch.up_count;
		CV_TRY(record_convt(rec, &t->up[i], m->act[i % 2].view, last ? &out->buffer : &m->act[(i + 1) % 2].buffer));
		gpu_cmd_compute_barrier(rec->cmd);
	}
	if (rec->timer) gpu_cmd_timer_mark(rec->cmd, rec->timer, ++rec->mark);
	return CV_OK;
}

uint32_t gca_model_timer_marks(const struct gca_model *m)
{
	(void)m;
	return 5;
}

const char *gca_model_stage_name(const struct gca_model *m, uint32_t mark)
{
	(void)m;
	static const char *names[] = {"?", "MLPs", "geometry trunk", "colour trunk", "gaussians"};
	return mark < 5 ? names[mark] : "?";
}

enum cv_result gca_model_record(struct gpu_context *ctx, struct gca_model *m, VkCommandBuffer cmd, uint32_t count,
                                struct gpu_timer *timer)
{
	if (count > m->participants)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "decoding %u participants of avatar '%s', which has %u slots", count,
		               m->name, m->participants);
	if (timer && timer->capacity < gca_model_timer_marks(m))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "stage timing needs %u timer marks", gca_model_timer_marks(m));
	if (count == 0) return CV_OK;
	struct recorder rec = {ctx, m, cmd, timer, 0, count};
	if (timer) gpu_cmd_timer_mark(cmd, timer, 0);
	const uint32_t view4 = m->arch.view_conditioned ? AVATAR_DAM_VIEW / 4 : 0, feat = m->feat4 * 4;
	/* Features as in dam: view code then z code; the geometry trunk reads only the z code. */
	if (m->arch.view_conditioned) record_linear(&rec, &m->view_fc, m->views.view, 0, 1, &m->features.buffer, 0, feat);
	record_linear(&rec, &m->z_fc, m->codes.view, 0, m->latent4, &m->features.buffer, view4 * 4, feat);
	stage_done(&rec);
	CV_TRY(record_trunk(&rec, &m->geometry, view4, &m->geometry_out));
	CV_TRY(record_trunk(&rec, &m->colour, 0, &m->colour_out));
	const struct gca_kernels *k = m->kernels;
	struct {
		uint32_t count;
		float offset_scale;
	} push = {m->count, m->offset_scale};
	gpu_cmd_bind(ctx, cmd, &k->gaussians,
	             (struct gpu_binding[]){{.texel_view = m->geometry_out.view}, {.texel_view = m->colour_out.view},
	                                    {.texel_view = m->surface.view}, {.buffer = &m->gaussians}},
	             &push, sizeof(push));
	vkCmdDispatch(cmd, div_up(m->count, 64), count, 1);
	stage_done(&rec);
	return CV_OK;
}

void gca_model_outputs(const struct gca_model *m, uint32_t participant, struct gca_outputs *out)
{
	memset(out, 0, sizeof(*out));
	if (participant >= m->participants) return;
	out->gaussians = &m->gaussians;
	out->offset = (VkDeviceSize)participant * m->count * sizeof(struct gca_gaussian);
	out->count = m->count;
}

enum cv_result gca_model_read(struct gpu_context *ctx, struct gca_model *m, uint32_t participant,
                              struct gca_gaussian *out)
{
	if (participant >= m->participants)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "participant %u of %u", participant, m->participants);
	size_t size = (size_t)m->count * sizeof(struct gca_gaussian);
	return gpu_buffer_read(ctx, &m->gaussians, (VkDeviceSize)participant * size, out, size);
}

void gca_model_memory(const struct gca_model *m, struct avatar_model_memory *out) { *out = m->memory; }
