/* The built-in lit test scene: proof that the graphics path works, and the subject of the first golden image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"
#include "render.h"

static const uint32_t testscene_vert[] =
#include "render/testscene.vert.inc"
;
static const uint32_t testscene_frag[] =
#include "render/testscene.frag.inc"
;

struct scene_object {
	uint32_t first_index, index_count;
	vec3 position;
	float scale;
	float spin; /* radians per second about y */
};

struct render_testscene {
	struct gpu_pipeline pipeline;
	struct gpu_buffer vertices, indices, models;
	struct scene_object objects[4];
	uint32_t object_count;
};

static void build_floor(struct mesh_builder *m, const float color[3])
{
	uint32_t base = m->vertex_count;
	vec3 up = {0, 1, 0};
	mesh_add_vertex(m, (vec3){-3, 0, 3}, up, color);
	mesh_add_vertex(m, (vec3){3, 0, 3}, up, color);
	mesh_add_vertex(m, (vec3){3, 0, -3}, up, color);
	mesh_add_vertex(m, (vec3){-3, 0, -3}, up, color);
	mesh_add_quad(m, base, base + 1, base + 2, base + 3);
}

static void add_object(struct render_testscene *s, struct mesh_builder *m, uint32_t first, vec3 pos, float scale,
                       float spin)
{
	struct scene_object *o = &s->objects[s->object_count++];
	o->first_index = first;
	o->index_count = m->index_count - first;
	glm_vec3_copy(pos, o->position);
	o->scale = scale;
	o->spin = spin;
}

enum cv_result render_testscene_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                       struct render_testscene **out)
{
	*out = NULL;
	struct render_testscene *s = calloc(1, sizeof(*s));
	struct mesh_builder m = {
		.vertices = calloc(2048, sizeof(struct mesh_vertex)),
		.indices = calloc(8192, sizeof(uint32_t)),
	};
	if (!s || !m.vertices || !m.indices) {
		free(s);
		free(m.vertices);
		free(m.indices);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "test scene");
	}
	/* Linear-light albedos. */
	build_floor(&m, (float[]){0.55f, 0.55f, 0.52f});
	add_object(s, &m, 0, (vec3){0, 0, 0}, 1.0f, 0.0f);
	uint32_t first = m.index_count;
	mesh_build_cube(&m, (float[]){0.70f, 0.12f, 0.08f});
	add_object(s, &m, first, (vec3){-0.8f, 0.5f, 0.2f}, 1.0f, 0.6f);
	first = m.index_count;
	mesh_build_sphere(&m, (float[]){0.08f, 0.30f, 0.70f}, 24, 48);
	add_object(s, &m, first, (vec3){0.8f, 0.6f, -0.1f}, 1.2f, 0.0f);
	first = m.index_count;
	mesh_build_cube(&m, (float[]){0.80f, 0.62f, 0.10f});
	add_object(s, &m, first, (vec3){0.1f, 0.2f, 1.1f}, 0.4f, -1.0f);

	const struct gpu_vertex_attribute attrs[3] = {
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct mesh_vertex, position)},
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct mesh_vertex, normal)},
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct mesh_vertex, color)},
	};
	const VkDescriptorType bindings[2] = {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER};
	enum cv_result r = gpu_pipeline_graphics_init(ctx, &s->pipeline, &(struct gpu_graphics_pipeline_desc){
		.vertex = GPU_SHADER(testscene_vert),
		.fragment = GPU_SHADER(testscene_frag),
		.layout = {.bindings = bindings, .binding_count = 2, .name = "test scene"},
		.vertex_stride = sizeof(struct mesh_vertex),
		.attributes = attrs,
		.attribute_count = 3,
		.color_format = target->format,
		.depth_format = VK_FORMAT_D32_SFLOAT,
		.samples = target->samples,
		.cull_mode = VK_CULL_MODE_BACK_BIT,
		.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
	});
	if (r == CV_OK) r = mesh_upload(ctx, &m, &s->vertices, &s->indices, "test scene");
	if (r == CV_OK)
		r = gpu_buffer_init(ctx, &s->models, &(struct gpu_buffer_desc){
			.size = 4 * sizeof(mat4), .usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, .name = "test scene models"});
	free(m.vertices);
	free(m.indices);
	if (r != CV_OK) {
		render_testscene_destroy(ctx, &s);
		return r;
	}
	*out = s;
	return CV_OK;
}

void render_testscene_destroy(struct gpu_context *ctx, struct render_testscene **ps)
{
	struct render_testscene *s = *ps;
	if (!s) return;
	gpu_pipeline_fini(ctx, &s->pipeline);
	gpu_buffer_fini(ctx, &s->vertices);
	gpu_buffer_fini(ctx, &s->indices);
	gpu_buffer_fini(ctx, &s->models);
	free(s);
	*ps = NULL;
}

void render_testscene_update(VkCommandBuffer cmd, struct render_testscene *s, float time_s)
{
	mat4 models[4];
	for (uint32_t i = 0; i < s->object_count; i++) {
		const struct scene_object *o = &s->objects[i];
		glm_translate_make(models[i], (float *)o->position);
		glm_rotate_y(models[i], o->spin * time_s + 0.5f * (o->spin != 0.0f), models[i]);
		glm_scale_uni(models[i], o->scale);
	}
	gpu_cmd_update_buffer(cmd, &s->models, models, s->object_count * sizeof(mat4), VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT);
}

void render_testscene_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_testscene *s,
                           const struct gpu_buffer *views)
{
	gpu_cmd_bind(ctx, cmd, &s->pipeline, (struct gpu_binding[]){{.buffer = views}, {.buffer = &s->models}}, NULL, 0);
	VkDeviceSize zero = 0;
	vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &zero);
	vkCmdBindIndexBuffer(cmd, s->indices.buffer, 0, VK_INDEX_TYPE_UINT32);
	for (uint32_t i = 0; i < s->object_count; i++) {
		const struct scene_object *o = &s->objects[i];
		vkCmdDrawIndexed(cmd, o->index_count, 1, o->first_index, 0, i); /* instance i: object i's matrix */
	}
}

void render_testscene_camera(struct render_view *v, float angle_deg, float aspect)
{
	float a = glm_rad(angle_deg);
	vec3 eye = {3.2f * sinf(a), 2.0f, 3.2f * cosf(a)};
	render_view_look_at(v, eye, (vec3){0, 0.45f, 0}, 45.0f, aspect);
}
