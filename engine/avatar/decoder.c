/* The `dam` decoder on the GPU: MLPs, transposed convolutions, texture and mesh finishing passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/decode_ops.h"
#include "avatar/decoder.h"

static const uint32_t texture_finalize_comp[] =
#include "decode/texture_finalize.comp.inc"
;
static const uint32_t mesh_positions_comp[] =
#include "decode/mesh_positions.comp.inc"
;
static const uint32_t mesh_vertices_comp[] =
#include "decode/mesh_vertices.comp.inc"
;

#define MAX_BATCH 16     /* participants per batch of buffers */
/* ---- kernels ---- */

struct avatar_kernels {
	struct decode_ops ops; /* the layers, shared with the gca family */
	struct gpu_pipeline texture_finalize, mesh_positions, mesh_vertices;
};

static const VkDescriptorType TEXEL = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
static const VkDescriptorType STORAGE = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;

enum cv_result avatar_kernels_create(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                                     struct avatar_kernels **out)
{
	*out = NULL;
	struct avatar_kernels *k = calloc(1, sizeof(*k));
	if (!k) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar kernels");
	const VkDescriptorType tex_b[2] = {TEXEL, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE};
	const VkDescriptorType pos_b[3] = {STORAGE, STORAGE, STORAGE};
	const VkDescriptorType vert_b[5] = {STORAGE, STORAGE, STORAGE, STORAGE, STORAGE};
	enum cv_result r = decode_ops_init(ctx, override, &k->ops);
	if (r == CV_OK)
		r = gpu_pipeline_compute_init(ctx, &k->texture_finalize, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(texture_finalize_comp),
			.layout = {.bindings = tex_b, .binding_count = 2, .push_constant_size = 8, .name = "decode texture"}});
	if (r == CV_OK)
		r = gpu_pipeline_compute_init(ctx, &k->mesh_positions, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(mesh_positions_comp),
			.layout = {.bindings = pos_b, .binding_count = 3, .push_constant_size = 12, .name = "decode positions"}});
	if (r == CV_OK)
		r = gpu_pipeline_compute_init(ctx, &k->mesh_vertices, &(struct gpu_compute_pipeline_desc){
			.shader = GPU_SHADER(mesh_vertices_comp),
			.layout = {.bindings = vert_b, .binding_count = 5, .push_constant_size = 12, .name = "decode vertices"}});
	if (r != CV_OK) {
		avatar_kernels_destroy(ctx, &k);
		return r;
	}
	*out = k;
	return CV_OK;
}

void avatar_kernels_destroy(struct gpu_context *ctx, struct avatar_kernels **pk)
{
	struct avatar_kernels *k = *pk;
	if (!k) return;
	decode_ops_fini(ctx, &k->ops);
	gpu_pipeline_fini(ctx, &k->texture_finalize);
	gpu_pipeline_fini(ctx, &k->mesh_positions);
	gpu_pipeline_fini(ctx, &k->mesh_vertices);
	free(k);
	*pk = NULL;
}

const struct avatar_kernel_params *avatar_kernels_params(const struct avatar_kernels *k) { return &k->ops.params; }

/* ---- weights on the GPU ---- */

/* Participants decoded together; sized so that no buffer exceeds the device's storage-buffer range. */
struct batch {
	uint32_t first, capacity;
	struct texel_tensor codes, views; /* host-visible inputs */
	struct texel_tensor features;     /* [n][feat] view code then z code */
	struct texel_tensor act[2];       /* ping-pong activations */
	struct gpu_buffer mesh_raw, positions, vertices;
	struct texel_tensor texels;       /* [n][T][T] vec4: the decoded colour */
	struct gpu_image *textures;       /* one per participant */
	VkImageView *storage_views;       /* mip 0 as rgba8 unorm, for the texture pass */
};

struct avatar_model {
	struct avatar_kernels *kernels;
	struct avatar_dam_arch arch;
	char name[64];
	bool f32_weights;
	uint32_t participants, latent4, feat4, render_vertices, index_count;
	float vert_std, tex_std;
	struct linear_layer view_fc, z_fc, texture_fc, mesh_fc;
	struct convt_layer up[AVATAR_DAM_MAX_UP];
	float *tex_mean; /* [T][T][3], folded into the last up-convolution's bias while loading */
	struct gpu_buffer vert_mean, triangles, adjacency, corners, indices;
	struct batch *batches;
	uint32_t batch_count;
	struct avatar_model_memory memory;
};

static enum cv_result upload_storage(struct gpu_context *ctx, struct gpu_buffer *buf, const void *data, size_t size,
                                     VkBufferUsageFlags usage, const char *name, uint64_t *bytes)
{
	CV_TRY(gpu_buffer_init(ctx, buf, &(struct gpu_buffer_desc){.size = size, .usage = usage, .name = name}));
	*bytes += size;
	return gpu_buffer_write(ctx, buf, 0, data, size);
}

/* One render vertex per distinct (vertex, uv) pair of the triangle corners, found with an open-addressing hash. */
struct corner_map {
	uint64_t *keys;
	uint32_t *values;
	size_t mask;
	unsigned bits; /* the table has 2^bits slots */
};

static uint32_t corner_find_or_add(struct corner_map *map, uint64_t key, uint32_t next)
{
	/* The high bits of the multiplicative hash: the low ones depend only on the key's low bits, so keys from a
	 * crafted file (vertex * uv_count + uv with a power-of-two uv_count) all fell in one probe run. */
	size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - map->bits));
	while (map->keys[h] != UINT64_MAX) {
		if (map->keys[h] == key) return map->values[h];
		h = (h + 1) & map->mask;
	}
	map->keys[h] = key;
	map->values[h] = next;
	return next;
}

static enum cv_result topology_init(struct gpu_context *ctx, struct avatar_model *m, const struct avatar_file *file)
{
	const struct avatar_dam_arch *a = &m->arch;
	const struct st_tensor *tv = avatar_tensor(file, "mesh.tri_vertex"), *tu = avatar_tensor(file, "mesh.tri_uv");
	float *uv = NULL, *mean = NULL;
	CV_TRY(st_read_f32(avatar_safetensors(file), "mesh.uv", &uv, NULL));
	enum cv_result r = st_read_f32(avatar_safetensors(file), "mesh.vert_mean", &mean, NULL);
	size_t corners_n = (size_t)a->triangles * 3, table = 16;
	unsigned bits = 4;
	while (table < corners_n * 2) table *= 2, bits++;
	int32_t *tri_v = malloc(corners_n * 4 + 4), *tri_uv = malloc(corners_n * 4 + 4);
	uint32_t *tris = calloc((size_t)a->triangles * 4 + 1, 4), *indices = malloc(corners_n * 4 + 4);
	uint32_t *adjacency = calloc((size_t)a->vertices + 1 + corners_n, 4);
	float *corners = malloc(corners_n * 16 + 16), *mean4 = calloc((size_t)a->vertices * 4, 4);
	struct corner_map map = {malloc(table * 8), malloc(table * 4), table - 1, bits};
	if (r == CV_OK && !(tri_v && tri_uv && tris && indices && adjacency && corners && mean4 && map.keys && map.values))
		r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar topology");
	if (r == CV_OK) {
		memcpy(tri_v, tv->data, corners_n * 4); /* the loader checked dtype I32, shape and index ranges */
		memcpy(tri_uv, tu->data, corners_n * 4);
		memset(map.keys, 0xff, table * 8);
		uint32_t render = 0;
		for (size_t c = 0; c < corners_n; c++) {
			uint32_t v = (uint32_t)tri_v[c], t = (uint32_t)tri_uv[c];
			uint32_t idx = corner_find_or_add(&map, (uint64_t)v * a->uv_count + t, render);
			if (idx == render) {
				memcpy(&corners[render * 4], &v, 4); /* the vertex index travels as float bits */
				corners[render * 4 + 1] = uv[t * 2];
				corners[render * 4 + 2] = uv[t * 2 + 1];
				corners[render * 4 + 3] = 0;
				render++;
			}
			indices[c] = idx;
			tris[c / 3 * 4 + c % 3] = v;
		}
		m->render_vertices = render;
		m->index_count = (uint32_t)corners_n;
		/* Vertex -> triangles adjacency: offsets [V + 1], then triangle ids. */
		uint32_t *offsets = adjacency, *faces = adjacency + a->vertices + 1;
		for (size_t c = 0; c < corners_n; c++) offsets[tri_v[c] + 1]++;
		for (uint32_t v = 0; v < a->vertices; v++) offsets[v + 1] += offsets[v];
		uint32_t *fill = calloc(a->vertices + 1, 4);
		if (!fill) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar adjacency");
		for (size_t c = 0; fill && c < corners_n; c++) faces[offsets[tri_v[c]] + fill[tri_v[c]]++] = (uint32_t)(c / 3);
		free(fill);
		for (uint32_t v = 0; v < a->vertices; v++) memcpy(&mean4[v * 4], &mean[v * 3], 12);
	}
	uint64_t *bytes = &m->memory.shared_bytes;
	const VkBufferUsageFlags ssbo = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
	if (r == CV_OK) r = upload_storage(ctx, &m->vert_mean, mean4, (size_t)a->vertices * 16, ssbo, "vertex mean", bytes);
	if (r == CV_OK) r = upload_storage(ctx, &m->triangles, tris, (size_t)a->triangles * 16, ssbo, "triangles", bytes);
	if (r == CV_OK)
		r = upload_storage(ctx, &m->adjacency, adjacency, ((size_t)a->vertices + 1 + corners_n) * 4, ssbo, "adjacency", bytes);
	if (r == CV_OK) r = upload_storage(ctx, &m->corners, corners, (size_t)m->render_vertices * 16, ssbo, "corners", bytes);
	if (r == CV_OK)
		r = upload_storage(ctx, &m->indices, indices, corners_n * 4, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, "indices", bytes);
	free(uv);
	free(mean);
	free(tri_v);
	free(tri_uv);
	free(tris);
	free(indices);
	free(adjacency);
	free(corners);
	free(mean4);
	free(map.keys);
	free(map.values);
	return r;
}

static enum cv_result scalar(const struct avatar_file *file, const char *name, float *out)
{
	float *v = NULL;
	CV_TRY(st_read_f32(avatar_safetensors(file), name, &v, NULL));
	*out = v[0];
	free(v);
	return CV_OK;
}

/* ---- per-participant buffers ---- */

static size_t largest_activation(const struct avatar_model *m)
{
	const struct avatar_dam_arch *a = &m->arch;
	size_t best = (size_t)a->init_size * a->init_size * a->channels[0];
	for (uint32_t i = 0; i + 1 < a->up_count; i++) {
		size_t side = (size_t)a->init_size << (i + 1);
		size_t n = side * side * m->up[i].cout4 * 4;
		if (n > best) best = n;
	}
	return best;
}

static enum cv_result batch_init(struct gpu_context *ctx, struct avatar_model *m, struct batch *b)
{
	const struct avatar_dam_arch *a = &m->arch;
	uint64_t before = m->memory.shared_bytes, bytes = 0;
	size_t act4 = decode_div_up((uint32_t)largest_activation(m), 4), tex = (size_t)a->texture * a->texture;
	uint32_t n = b->capacity;
	enum cv_result r = decode_texel_scratch(ctx, &b->codes, (size_t)n * m->latent4, true, "codes", &bytes);
	if (r == CV_OK) r = decode_texel_scratch(ctx, &b->views, n, true, "views", &bytes);
	if (r == CV_OK) r = decode_texel_scratch(ctx, &b->features, (size_t)n * m->feat4, false, "features", &bytes);
	if (r == CV_OK) r = decode_texel_scratch(ctx, &b->act[0], n * act4, false, "activations 0", &bytes);
	if (r == CV_OK) r = decode_texel_scratch(ctx, &b->texels, n * tex, false, "texels", &bytes);
	if (r == CV_OK && a->up_count > 1) r = decode_texel_scratch(ctx, &b->act[1], n * act4, false, "activations 1", &bytes);
	const VkBufferUsageFlags ssbo = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
	struct {
		struct gpu_buffer *buf;
		size_t size;
		VkBufferUsageFlags usage;
		const char *name;
	} plain[3] = {
		{&b->mesh_raw, (size_t)n * a->vertices * 12, ssbo, "mesh output"},
		{&b->positions, (size_t)n * a->vertices * 16, ssbo, "positions"},
		{&b->vertices, (size_t)n * m->render_vertices * 32, ssbo | VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, "vertices"},
	};
	for (int i = 0; i < 3 && r == CV_OK; i++) {
		r = gpu_buffer_init(ctx, plain[i].buf, &(struct gpu_buffer_desc){.size = plain[i].size, .usage = plain[i].usage,
		                                                                .name = plain[i].name});
		bytes += plain[i].size;
	}
	b->textures = calloc(n, sizeof(*b->textures));
	b->storage_views = calloc(n, sizeof(*b->storage_views));
	if (r == CV_OK && (!b->textures || !b->storage_views)) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "textures");
	uint32_t mips = 1;
	while ((a->texture >> mips) > 0) mips++;
	for (uint32_t i = 0; i < n && r == CV_OK; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s texture %u", m->name, b->first + i);
		/* sRGB for sampling and blits (mips filter in linear light); a unorm view of mip 0 for the compute write. */
		r = gpu_image_init(ctx, &b->textures[i], &(struct gpu_image_desc){
			.width = a->texture, .height = a->texture, .format = VK_FORMAT_R8G8B8A8_SRGB, .mip_levels = mips,
			.flags = VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT | VK_IMAGE_CREATE_EXTENDED_USAGE_BIT,
			.usage = VK_IMAGE_USAGE_STORAGE_BIT | VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
			         VK_IMAGE_USAGE_TRANSFER_DST_BIT,
			.name = name});
		if (r == CV_OK)
			r = gpu_image_view_create(ctx, &b->textures[i], VK_FORMAT_R8G8B8A8_UNORM, 0, 1, 0, name, &b->storage_views[i]);
		bytes += (uint64_t)a->texture * a->texture * 4 * 4 / 3;
	}
	m->memory.shared_bytes = before;
	m->memory.per_participant_bytes = bytes / n;
	return r;
}

static void batch_fini(struct gpu_context *ctx, struct batch *b)
{
	decode_texel_fini(ctx, &b->codes);
	decode_texel_fini(ctx, &b->views);
	decode_texel_fini(ctx, &b->features);
	decode_texel_fini(ctx, &b->act[0]);
	decode_texel_fini(ctx, &b->act[1]);
	gpu_buffer_fini(ctx, &b->mesh_raw);
	gpu_buffer_fini(ctx, &b->positions);
	gpu_buffer_fini(ctx, &b->vertices);
	decode_texel_fini(ctx, &b->texels);
	for (uint32_t i = 0; b->textures && i < b->capacity; i++) {
		if (b->storage_views[i]) vkDestroyImageView(ctx->device, b->storage_views[i], NULL);
		gpu_image_fini(ctx, &b->textures[i]);
	}
	free(b->textures);
	free(b->storage_views);
}

/* ---- model ---- */

static enum cv_result model_init(struct gpu_context *ctx, struct avatar_model *m, const struct avatar_file *file)
{
	const struct avatar_dam_arch *a = &m->arch;
	const uint32_t hidden = AVATAR_DAM_HIDDEN, view = a->view_conditioned ? AVATAR_DAM_VIEW : 0;
	uint32_t c0 = a->channels[0], s0 = a->init_size;
	if (c0 % 4) return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s': %u texture-code channels; cavr needs a multiple of 4", m->name, c0);
	m->latent4 = decode_div_up(a->latent, 4);
	m->feat4 = (view + hidden) / 4;
	CV_TRY(scalar(file, "mesh.vert_std", &m->vert_std));
	CV_TRY(scalar(file, "tex.std", &m->tex_std));
	CV_TRY(st_read_f32(avatar_safetensors(file), "tex.mean", &m->tex_mean, NULL));
	const struct decode_upload up = {.f16 = !m->f32_weights, .memory = &m->memory};
	if (view) CV_TRY(decode_linear_init(ctx, &up, file, "dec.view_fc", 3, view, a->leaky_slope, 0, &m->view_fc));
	CV_TRY(decode_linear_init(ctx, &up, file, "dec.z_fc", a->latent, hidden, a->leaky_slope, 0, &m->z_fc));
	CV_TRY(decode_linear_init(ctx, &up, file, "dec.texture_fc", view + hidden, c0 * s0 * s0, a->leaky_slope, s0,
	                          &m->texture_fc));
	CV_TRY(decode_linear_init(ctx, &up, file, "dec.mesh_fc", hidden, a->vertices * 3, 1.0f, 0, &m->mesh_fc));
	for (uint32_t i = 0; i < a->up_count; i++) {
		/* The last layer also de-normalises: colour = out * std + mean, folded into its weights and bias. */
		bool last = i + 1 == a->up_count;
		CV_TRY(decode_convt_init(ctx, &m->kernels->ops, &up, file, "dec.up", i, a->channels[i], a->channels[i + 1],
		                         s0 << i, last ? 1.0f : a->leaky_slope, last ? m->tex_mean : NULL, m->tex_std,
		                         &m->up[i]));
	}
	free(m->tex_mean);
	m->tex_mean = NULL;
	CV_TRY(topology_init(ctx, m, file));

	/* Split participants into batches whose biggest buffer fits one storage-buffer binding. */
	size_t per = largest_activation(m) * 4, tex = (size_t)a->texture * a->texture * 16;
	if (tex > per) per = tex;
	size_t limit = ctx->properties.limits.maxStorageBufferRange;
	if (per > limit)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s' needs %zu-byte buffers; device '%s' binds at most %zu", m->name,
		               per, ctx->properties.deviceName, limit);
	uint32_t cap = (uint32_t)(limit / per);
	if (cap > MAX_BATCH) cap = MAX_BATCH;
	m->batch_count = decode_div_up(m->participants, cap);
	m->batches = calloc(m->batch_count, sizeof(*m->batches));
	if (!m->batches) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar batches");
	for (uint32_t i = 0; i < m->batch_count; i++) {
		struct batch *b = &m->batches[i];
		b->first = i * cap;
		b->capacity = m->participants - b->first < cap ? m->participants - b->first : cap;
		CV_TRY(batch_init(ctx, m, b));
	}
	return CV_OK;
}

enum cv_result avatar_model_create(struct gpu_context *ctx, struct avatar_kernels *kernels,
                                   const struct avatar_file *file, const struct avatar_model_desc *desc,
                                   struct avatar_model **out)
{
	*out = NULL;
	const struct avatar_dam_arch *arch = avatar_dam_arch(file);
	if (!arch)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "avatar '%s' is of family '%s': decode it with %s",
		               avatar_name(file), avatar_family_name(avatar_family(file)),
		               avatar_family(file) == AVATAR_FAMILY_GCA ? "gca_model_create (avatar/gca.h)" : "another decoder");
	if (desc->participants > 4096) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%u participants", desc->participants);
	struct avatar_model *m = calloc(1, sizeof(*m));
	if (!m) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar model");
	m->kernels = kernels;
	m->arch = *arch;
	m->f32_weights = desc->f32_weights;
	m->participants = desc->participants ? desc->participants : 1;
	snprintf(m->name, sizeof(m->name), "%s", desc->name ? desc->name : avatar_name(file));
	double started = cv_time_now();
	enum cv_result r = model_init(ctx, m, file);
	if (r != CV_OK) {
		avatar_model_destroy(ctx, &m);
		return r;
	}
	CV_DEBUG("avatar '%s': %.1f MB of weights (%s), %.1f MB per participant, %u batch(es), loaded in %.2f s", m->name,
	         m->memory.shared_bytes / 1e6, m->f32_weights ? "f32" : "f16", m->memory.per_participant_bytes / 1e6,
	         m->batch_count, cv_time_now() - started);
	*out = m;
	return CV_OK;
}

void avatar_model_destroy(struct gpu_context *ctx, struct avatar_model **pm)
{
	struct avatar_model *m = *pm;
	if (!m) return;
	vkDeviceWaitIdle(ctx->device);
	decode_linear_fini(ctx, &m->view_fc);
	decode_linear_fini(ctx, &m->z_fc);
	decode_linear_fini(ctx, &m->texture_fc);
	decode_linear_fini(ctx, &m->mesh_fc);
	for (uint32_t i = 0; i < AVATAR_DAM_MAX_UP; i++) decode_convt_fini(ctx, &m->up[i]);
	free(m->tex_mean);
	gpu_buffer_fini(ctx, &m->vert_mean);
	gpu_buffer_fini(ctx, &m->triangles);
	gpu_buffer_fini(ctx, &m->adjacency);
	gpu_buffer_fini(ctx, &m->corners);
	gpu_buffer_fini(ctx, &m->indices);
	for (uint32_t i = 0; m->batches && i < m->batch_count; i++) batch_fini(ctx, &m->batches[i]);
	free(m->batches);
	free(m);
	*pm = NULL;
}

uint32_t avatar_model_participants(const struct avatar_model *m) { return m->participants; }

static struct batch *batch_of(struct avatar_model *m, uint32_t participant, uint32_t *slot)
{
	for (uint32_t i = 0; i < m->batch_count; i++) {
		struct batch *b = &m->batches[i];
		if (participant < b->first + b->capacity) {
			*slot = participant - b->first;
			return b;
		}
	}
	return NULL;
}

enum cv_result avatar_model_set_input(struct avatar_model *m, uint32_t participant, const float *code,
                                      size_t code_floats, const float view[3])
{
	uint32_t slot;
	struct batch *b = batch_of(m, participant, &slot);
	if (!b) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "participant %u of avatar '%s', which has %u slots", participant,
	                       m->name, m->participants);
	if (code_floats != m->arch.latent)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "code has %zu floats, avatar '%s' expects %u", code_floats, m->name,
		               m->arch.latent);
	float *dst = (float *)b->codes.buffer.mapped + (size_t)slot * m->latent4 * 4;
	memset(dst, 0, (size_t)m->latent4 * 16);
	memcpy(dst, code, code_floats * sizeof(float));
	float *v = (float *)b->views.buffer.mapped + (size_t)slot * 4;
	float len = view ? sqrtf(view[0] * view[0] + view[1] * view[1] + view[2] * view[2]) : 0.0f;
	if (m->arch.view_conditioned && !(len > 1e-6f))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar '%s' needs a non-zero view direction", m->name);
	for (int i = 0; i < 3; i++) v[i] = len > 0 ? view[i] / len : 0.0f;
	v[3] = 0;
	return CV_OK;
}

/* ---- recording ---- */

struct recorder {
	struct gpu_context *ctx;
	struct avatar_model *m;
	VkCommandBuffer cmd;
	struct gpu_timer *timer;
	uint32_t mark;
};

static void stage_done(struct recorder *rec)
{
	gpu_cmd_compute_barrier(rec->cmd);
	if (rec->timer) gpu_cmd_timer_mark(rec->cmd, rec->timer, ++rec->mark);
}

static enum cv_result record_batch(struct recorder *rec, struct batch *b, uint32_t count)
{
	struct avatar_model *m = rec->m;
	const struct avatar_dam_arch *a = &m->arch;
	struct avatar_kernels *k = m->kernels;
	uint32_t view4 = a->view_conditioned ? AVATAR_DAM_VIEW / 4 : 0, feat = m->feat4 * 4;
	/* MLPs: view code and z code side by side in `features`, then the texture code and the mesh. */
	struct gpu_context *ctx = rec->ctx;
	VkCommandBuffer cmd = rec->cmd;
	if (a->view_conditioned)
		decode_record_linear(ctx, cmd, &k->ops, &m->view_fc, b->views.view, 0, 1, &b->features.buffer, 0, feat, count);
	decode_record_linear(ctx, cmd, &k->ops, &m->z_fc, b->codes.view, 0, m->latent4, &b->features.buffer, view4 * 4,
	                     feat, count);
	gpu_cmd_compute_barrier(cmd);
	decode_record_linear(ctx, cmd, &k->ops, &m->texture_fc, b->features.view, 0, m->feat4, &b->act[0].buffer, 0,
	                     m->texture_fc.out, count);
	decode_record_linear(ctx, cmd, &k->ops, &m->mesh_fc, b->features.view, view4, m->feat4, &b->mesh_raw, 0,
	                     m->mesh_fc.out, count);
	stage_done(rec);

	struct {
		uint32_t vertices, batch;
		float std_dev;
	} pos_push = {a->vertices, count, m->vert_std};
	gpu_cmd_bind(rec->ctx, rec->cmd, &k->mesh_positions,
	             (struct gpu_binding[]){{.buffer = &b->mesh_raw}, {.buffer = &m->vert_mean}, {.buffer = &b->positions}},
	             &pos_push, sizeof(pos_push));
	vkCmdDispatch(rec->cmd, decode_div_up(a->vertices, 64), count, 1);
	gpu_cmd_compute_barrier(rec->cmd);
	struct {
		uint32_t vertices, render_vertices, batch;
	} vert_push = {a->vertices, m->render_vertices, count};
	gpu_cmd_bind(rec->ctx, rec->cmd, &k->mesh_vertices,
	             (struct gpu_binding[]){{.buffer = &b->positions}, {.buffer = &m->triangles}, {.buffer = &m->adjacency},
	                                    {.buffer = &m->corners}, {.buffer = &b->vertices}},
	             &vert_push, sizeof(vert_push));
	vkCmdDispatch(rec->cmd, decode_div_up(m->render_vertices, 64), count, 1);
	stage_done(rec);

	for (uint32_t i = 0; i < a->up_count; i++) {
		bool last = i + 1 == a->up_count;
		const struct texel_tensor *in = &b->act[i % 2];
		CV_TRY(decode_record_convt(ctx, cmd, &k->ops, &m->up[i], in->view,
		                           last ? &b->texels.buffer : &b->act[(i + 1) % 2].buffer, count));
		stage_done(rec);
	}

	for (uint32_t n = 0; n < count; n++) {
		gpu_cmd_image_barrier(rec->cmd, b->textures[n].image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
		                      VK_IMAGE_LAYOUT_GENERAL);
		uint32_t tex_push[2] = {a->texture, n};
		gpu_cmd_bind(rec->ctx, rec->cmd, &k->texture_finalize,
		             (struct gpu_binding[]){{.texel_view = b->texels.view},
		                                    {.image_view = b->storage_views[n], .image_layout = VK_IMAGE_LAYOUT_GENERAL}},
		             tex_push, sizeof(tex_push));
		vkCmdDispatch(rec->cmd, decode_div_up(a->texture, 8), decode_div_up(a->texture, 8), 1);
	}
	stage_done(rec);
	for (uint32_t n = 0; n < count; n++)
		gpu_cmd_generate_mips(rec->cmd, &b->textures[n], VK_IMAGE_LAYOUT_GENERAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
	if (rec->timer) gpu_cmd_timer_mark(rec->cmd, rec->timer, ++rec->mark);
	return CV_OK;
}

uint32_t avatar_model_timer_marks(const struct avatar_model *m) { return 5 + m->arch.up_count; }

const char *avatar_model_stage_name(const struct avatar_model *m, uint32_t mark)
{
	static const char *up_names[AVATAR_DAM_MAX_UP] = {"up-conv 0", "up-conv 1", "up-conv 2", "up-conv 3",
	                                                  "up-conv 4", "up-conv 5", "up-conv 6", "up-conv 7",
	                                                  "up-conv 8", "up-conv 9", "up-conv 10", "up-conv 11"};
	if (mark == 1) return "MLPs";
	if (mark == 2) return "mesh";
	if (mark >= 3 && mark < 3 + m->arch.up_count) return up_names[mark - 3];
	if (mark == 3 + m->arch.up_count) return "texture";
	if (mark == 4 + m->arch.up_count) return "mipmaps";
	return "?";
}

enum cv_result avatar_model_record(struct gpu_context *ctx, struct avatar_model *m, VkCommandBuffer cmd,
                                   uint32_t count, struct gpu_timer *timer)
{
	if (count > m->participants)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "decoding %u participants of avatar '%s', which has %u slots", count,
		               m->name, m->participants);
	if (timer && (m->batch_count > 1 || timer->capacity < avatar_model_timer_marks(m)))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "stage timing needs one batch and %u timer marks",
		               avatar_model_timer_marks(m));
	struct recorder rec = {ctx, m, cmd, timer, 0};
	if (timer) gpu_cmd_timer_mark(cmd, timer, 0);
	for (uint32_t i = 0; i < m->batch_count && m->batches[i].first < count; i++) {
		struct batch *b = &m->batches[i];
		uint32_t n = count - b->first < b->capacity ? count - b->first : b->capacity;
		CV_TRY(record_batch(&rec, b, n));
	}
	return CV_OK;
}

void avatar_model_outputs(const struct avatar_model *m, uint32_t participant, struct avatar_outputs *out)
{
	uint32_t slot = 0;
	struct batch *b = batch_of((struct avatar_model *)m, participant, &slot);
	memset(out, 0, sizeof(*out));
	if (!b) return;
	out->vertices = &b->vertices;
	out->vertex_offset = (VkDeviceSize)slot * m->render_vertices * 32;
	out->vertex_count = m->render_vertices;
	out->indices = &m->indices;
	out->index_count = m->index_count;
	out->texture = b->textures[slot].image;
	out->texture_view = b->textures[slot].view;
	out->texture_size = m->arch.texture;
}

enum cv_result avatar_model_read(struct gpu_context *ctx, struct avatar_model *m, uint32_t participant,
                                 float *positions, float *texture)
{
	uint32_t slot;
	struct batch *b = batch_of(m, participant, &slot);
	if (!b) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "participant %u of %u", participant, m->participants);
	size_t v = m->arch.vertices, t = (size_t)m->arch.texture * m->arch.texture;
	size_t n = v > t ? v : t;
	float *tmp = malloc(n * 16);
	if (!tmp) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "readback");
	enum cv_result r = CV_OK;
	if (positions) {
		r = gpu_buffer_read(ctx, &b->positions, (VkDeviceSize)slot * v * 16, tmp, v * 16);
		for (size_t i = 0; r == CV_OK && i < v; i++) memcpy(&positions[i * 3], &tmp[i * 4], 12);
	}
	if (texture && r == CV_OK) {
		r = gpu_buffer_read(ctx, &b->texels.buffer, (VkDeviceSize)slot * t * 16, tmp, t * 16);
		for (size_t i = 0; r == CV_OK && i < t; i++) memcpy(&texture[i * 3], &tmp[i * 4], 12);
	}
	free(tmp);
	return r;
}

void avatar_model_memory(const struct avatar_model *m, struct avatar_model_memory *out) { *out = m->memory; }
