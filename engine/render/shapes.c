/* Lit primitive shapes drawn by instance: one vertex buffer with a unit cube, sphere and cylinder, and a uniform
 * buffer of per-instance matrices, colours and materials written each frame. */
#include <stdlib.h>
#include <string.h>

#include "mesh.h"
#include "render.h"

static const uint32_t shapes_vert[] =
#include "render/shapes.vert.inc"
;
static const uint32_t shapes_frag[] =
#include "render/shapes.frag.inc"
;

struct render_shapes {
	struct gpu_pipeline pipeline;
	struct gpu_buffer vertices, indices, instances;
	uint32_t first_index[RENDER_SHAPE_COUNT], index_count[RENDER_SHAPE_COUNT];
	enum render_shape kinds[RENDER_MAX_SHAPES];
	uint32_t count;
};

enum cv_result render_shapes_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                    struct render_shapes **out)
{
	*out = NULL;
	struct render_shapes *s = calloc(1, sizeof(*s));
	struct mesh_builder m = {.vertices = calloc(2048, sizeof(struct mesh_vertex)), .indices = calloc(8192, sizeof(uint32_t))};
	if (!s || !m.vertices || !m.indices) {
		free(s);
		free(m.vertices);
		free(m.indices);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "shapes");
	}
	const float white[3] = {1, 1, 1}; /* colours come from the instances */
	s->first_index[RENDER_SHAPE_CUBE] = m.index_count;
	mesh_build_cube(&m, white);
	s->first_index[RENDER_SHAPE_SPHERE] = m.index_count;
	mesh_build_sphere(&m, white, 16, 32);
	s->first_index[RENDER_SHAPE_CYLINDER] = m.index_count;
	mesh_build_cylinder(&m, white, 48);
	for (int k = 0; k < RENDER_SHAPE_COUNT; k++)
		s->index_count[k] = (k + 1 < RENDER_SHAPE_COUNT ? s->first_index[k + 1] : m.index_count) - s->first_index[k];
	const struct gpu_vertex_attribute attrs[2] = {
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct mesh_vertex, position)},
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct mesh_vertex, normal)},
	};
	const VkDescriptorType bindings[2] = {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER};
	enum cv_result r = gpu_pipeline_graphics_init(ctx, &s->pipeline, &(struct gpu_graphics_pipeline_desc){
		.vertex = GPU_SHADER(shapes_vert),
		.fragment = GPU_SHADER(shapes_frag),
		.layout = {.bindings = bindings, .binding_count = 2, .name = "shapes"},
		.vertex_stride = sizeof(struct mesh_vertex),
		.attributes = attrs,
		.attribute_count = 2,
		.color_format = target->format,
		.depth_format = VK_FORMAT_D32_SFLOAT,
		.samples = target->samples,
		.cull_mode = VK_CULL_MODE_BACK_BIT,
		.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
	});
	if (r == CV_OK) r = mesh_upload(ctx, &m, &s->vertices, &s->indices, "shape");
	if (r == CV_OK)
		r = gpu_buffer_init(ctx, &s->instances, &(struct gpu_buffer_desc){
			.size = RENDER_MAX_SHAPES * sizeof(struct render_shape_instance),
			.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, .name = "shape instances"});
	free(m.vertices);
	free(m.indices);
	if (r != CV_OK) {
		render_shapes_destroy(ctx, &s);
		return r;
	}
	*out = s;
	return CV_OK;
}

void render_shapes_destroy(struct gpu_context *ctx, struct render_shapes **ps)
{
	struct render_shapes *s = *ps;
	if (!s) return;
	gpu_pipeline_fini(ctx, &s->pipeline);
	gpu_buffer_fini(ctx, &s->vertices);
	gpu_buffer_fini(ctx, &s->indices);
	gpu_buffer_fini(ctx, &s->instances);
	free(s);
	*ps = NULL;
}

void render_shapes_set(VkCommandBuffer cmd, struct render_shapes *s, const struct render_shape_instance *instances,
                       const enum render_shape *kinds, uint32_t count)
{
	if (count > RENDER_MAX_SHAPES) count = RENDER_MAX_SHAPES;
	memcpy(s->kinds, kinds, count * sizeof(*kinds));
	s->count = count;
	if (count)
		gpu_cmd_update_buffer(cmd, &s->instances, instances, count * sizeof(*instances),
		                      VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT);
}

void render_shapes_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_shapes *s,
                        const struct gpu_buffer *views)
{
	if (!s->count) return;
	gpu_cmd_bind(ctx, cmd, &s->pipeline, (struct gpu_binding[]){{.buffer = views}, {.buffer = &s->instances}}, NULL, 0);
	VkDeviceSize zero = 0;
	vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &zero);
	vkCmdBindIndexBuffer(cmd, s->indices.buffer, 0, VK_INDEX_TYPE_UINT32);
	for (uint32_t i = 0; i < s->count; i++)
		vkCmdDrawIndexed(cmd, s->index_count[s->kinds[i]], 1, s->first_index[s->kinds[i]], 0, i);
}
