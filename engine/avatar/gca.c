/* The `gca` decoder on the GPU: the dam family's layers (decode_ops.h: same SPIR-V, same packed weight layouts,
 * same per-device parameters) for two trunks, then one pass that makes the Gaussians. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/decode_ops.h"
#include "avatar/gca.h"

static const uint32_t gaussians_comp[] =
#include "gca/gaussians.comp.inc"
;

static const VkDescriptorType TEXEL = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
static const VkDescriptorType STORAGE = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;

/* ---- kernels ---- */

struct gca_kernels {
	struct decode_ops ops; /* the dam family's layers, with the same per-device parameters */
	struct gpu_pipeline gaussians;
};

enum cv_result gca_kernels_create(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                                  struct gca_kernels **out)
{
	*out = NULL;
	struct gca_kernels *k = calloc(1, sizeof(*k));
	if (!k) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gca kernels");
	const VkDescriptorType gauss_b[4] = {TEXEL, TEXEL, TEXEL, STORAGE};
	enum cv_result r = decode_ops_init(ctx, override, &k->ops);
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
	decode_ops_fini(ctx, &k->ops);
	gpu_pipeline_fini(ctx, &k->gaussians);
	free(k);
	*pk = NULL;
}

/* ---- weights ---- */

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

static enum cv_result trunk_init(struct gpu_context *ctx, struct gca_model *m, const struct avatar_file *file,
                                 const char *name, const uint32_t *channels, uint32_t fc_in, struct trunk *t)
{
	const uint32_t s0 = m->arch.init_size;
	char prefix[64];
	if (channels[0] % 4)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s': %u %s channels; cavr needs a multiple of 4", m->name,
		               channels[0], name);
	const struct decode_upload up = {.f16 = !m->f32_weights, .memory = &m->memory};
	snprintf(prefix, sizeof(prefix), "dec.%s_fc", name);
	CV_TRY(decode_linear_init(ctx, &up, file, prefix, fc_in, channels[0] * s0 * s0, m->arch.leaky_slope, s0, &t->fc));
	snprintf(prefix, sizeof(prefix), "dec.%s", name);
	for (uint32_t i = 0; i < m->arch.up_count; i++)
		CV_TRY(decode_convt_init(ctx, &m->kernels->ops, &up, file, prefix, i, channels[i], channels[i + 1], s0 << i,
		                         i + 1 == m->arch.up_count ? 1.0f : m->arch.leaky_slope, NULL, 0, &t->up[i]));
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
	m->latent4 = decode_div_up(a->latent, 4);
	m->feat4 = (view + hidden) / 4;
	m->count = a->grid * a->grid;
	float *scale = NULL, *surface = NULL;
	CV_TRY(st_read_f32(avatar_safetensors(file), "gaussian.offset_scale", &scale, NULL));
	m->offset_scale = scale[0];
	free(scale);
	const struct decode_upload up = {.f16 = !m->f32_weights, .memory = &m->memory};
	if (view) CV_TRY(decode_linear_init(ctx, &up, file, "dec.view_fc", 3, view, a->leaky_slope, 0, &m->view_fc));
	CV_TRY(decode_linear_init(ctx, &up, file, "dec.z_fc", a->latent, hidden, a->leaky_slope, 0, &m->z_fc));
	CV_TRY(trunk_init(ctx, m, file, "geometry", a->geometry_channels, hidden, &m->geometry));
	CV_TRY(trunk_init(ctx, m, file, "colour", a->colour_channels, view + hidden, &m->colour));

	CV_TRY(st_read_f32(avatar_safetensors(file), "gaussian.template", &surface, NULL));
	float *surface4 = calloc((size_t)m->count * 4, sizeof(float));
	enum cv_result r = surface4 ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gca template");
	for (size_t i = 0; surface4 && i < m->count; i++) memcpy(&surface4[i * 4], &surface[i * 3], 12);
	if (r == CV_OK)
		r = decode_texel_upload(ctx, &m->surface, surface4, (size_t)m->count * 4, false, "gca template",
		                        &m->memory.shared_bytes);
	free(surface);
	free(surface4);
	CV_TRY(r);

	/* Every participant in one set of buffers: refuse what a storage-buffer binding cannot hold. */
	size_t n = m->participants, act4 = decode_div_up((uint32_t)largest_activation(m), 4);
	size_t biggest = n * (act4 > (size_t)m->count * 4 ? act4 : (size_t)m->count * 4) * 16;
	if (biggest > ctx->properties.limits.maxStorageBufferRange)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s' with %zu participants needs %zu-byte buffers; device '%s' "
		               "binds at most %u", m->name, n, biggest, ctx->properties.deviceName,
		               ctx->properties.limits.maxStorageBufferRange);
	uint64_t bytes = 0;
	CV_TRY(decode_texel_scratch(ctx, &m->codes, n * m->latent4, true, "gca codes", &bytes));
	CV_TRY(decode_texel_scratch(ctx, &m->views, n, true, "gca views", &bytes));
	CV_TRY(decode_texel_scratch(ctx, &m->features, n * m->feat4, false, "gca features", &bytes));
	CV_TRY(decode_texel_scratch(ctx, &m->act[0], n * act4, false, "gca activations 0", &bytes));
	if (a->up_count > 1) CV_TRY(decode_texel_scratch(ctx, &m->act[1], n * act4, false, "gca activations 1", &bytes));
	CV_TRY(decode_texel_scratch(ctx, &m->geometry_out, n * m->count * 3, false, "gca geometry", &bytes));
	CV_TRY(decode_texel_scratch(ctx, &m->colour_out, n * m->count, false, "gca colour", &bytes));
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

static void trunk_fini(struct gpu_context *ctx, struct trunk *t)
{
	decode_linear_fini(ctx, &t->fc);
	for (uint32_t i = 0; i < AVATAR_DAM_MAX_UP; i++) decode_convt_fini(ctx, &t->up[i]);
}

void gca_model_destroy(struct gpu_context *ctx, struct gca_model **pm)
{
	struct gca_model *m = *pm;
	if (!m) return;
	vkDeviceWaitIdle(ctx->device);
	decode_linear_fini(ctx, &m->view_fc);
	decode_linear_fini(ctx, &m->z_fc);
	trunk_fini(ctx, &m->geometry);
	trunk_fini(ctx, &m->colour);
	decode_texel_fini(ctx, &m->surface);
	decode_texel_fini(ctx, &m->codes);
	decode_texel_fini(ctx, &m->views);
	decode_texel_fini(ctx, &m->features);
	decode_texel_fini(ctx, &m->act[0]);
	decode_texel_fini(ctx, &m->act[1]);
	decode_texel_fini(ctx, &m->geometry_out);
	decode_texel_fini(ctx, &m->colour_out);
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

/* One trunk: its fully connected layer from the features, then the up-convolutions into `out`. */
static enum cv_result record_trunk(struct recorder *rec, const struct trunk *t, uint32_t in_offset4,
                                   const struct texel_tensor *out)
{
	struct gca_model *m = rec->m;
	decode_record_linear(rec->ctx, rec->cmd, &m->kernels->ops, &t->fc, m->features.view, in_offset4, m->feat4,
	                     &m->act[0].buffer, 0, t->fc.out, rec->count);
	gpu_cmd_compute_barrier(rec->cmd);
	for (uint32_t i = 0; i < m->arch.up_count; i++) {
		bool last = i + 1 == m->arch.up_count;
		CV_TRY(decode_record_convt(rec->ctx, rec->cmd, &m->kernels->ops, &t->up[i], m->act[i % 2].view,
		                           last ? &out->buffer : &m->act[(i + 1) % 2].buffer, rec->count));
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
	struct decode_ops *ops = &m->kernels->ops;
	if (m->arch.view_conditioned)
		decode_record_linear(ctx, cmd, ops, &m->view_fc, m->views.view, 0, 1, &m->features.buffer, 0, feat, count);
	decode_record_linear(ctx, cmd, ops, &m->z_fc, m->codes.view, 0, m->latent4, &m->features.buffer, view4 * 4, feat,
	                     count);
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
	vkCmdDispatch(cmd, decode_div_up(m->count, 64), count, 1);
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
