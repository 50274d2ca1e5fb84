/* Skinned hands: both sample hand meshes in one vertex buffer, skinned in the vertex shader by per-hand joint
 * matrices written each frame. */
#include <stdlib.h>
#include <string.h>

#include "hand/hand.h"
#include "render.h"

static const uint32_t hands_vert[] =
#include "render/hands.vert.inc"
;
static const uint32_t hands_frag[] =
#include "render/hands.frag.inc"
;

struct hand_vertex {
	float position[3], normal[3];
	uint32_t joints[4];
	float weights[4];
};

struct render_hand_gpu { /* shaders/render/hands.glsl */
	mat4 joint[HAND_JOINTS];
	uint32_t flags[4];
};

struct render_hands {
	struct gpu_pipeline pipeline;
	VkSampler sampler;
	struct gpu_buffer vertices, indices, instances;
	uint32_t first_index[2], index_count[2], vertex_offset[2];
	uint32_t sides[RENDER_MAX_HANDS];
	VkImageView faces[RENDER_MAX_HANDS];
	uint32_t count;
	struct gpu_image neutral; /* bound where a hand has no face to take its tone from */
};

static enum cv_result upload_meshes(struct gpu_context *ctx, struct render_hands *h,
                                    const struct hand_mesh *const *meshes)
{
	uint32_t vertices = meshes[0]->vertex_count + meshes[1]->vertex_count;
	uint32_t indices = meshes[0]->index_count + meshes[1]->index_count;
	struct hand_vertex *v = calloc(vertices, sizeof(*v));
	uint32_t *idx = calloc(indices, sizeof(*idx));
	enum cv_result r = v && idx ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "hand meshes");
	uint32_t vo = 0, io = 0;
	for (int s = 0; r == CV_OK && s < 2; s++) {
		const struct hand_mesh *m = meshes[s];
		h->vertex_offset[s] = vo;
		h->first_index[s] = io;
		h->index_count[s] = m->index_count;
		for (uint32_t i = 0; i < m->vertex_count; i++) {
			struct hand_vertex *hv = &v[vo + i];
			memcpy(hv->position, &m->position[3 * i], sizeof(hv->position));
			memcpy(hv->normal, &m->normal[3 * i], sizeof(hv->normal));
			memcpy(hv->joints, &m->joint[4 * i], sizeof(hv->joints));
			memcpy(hv->weights, &m->weight[4 * i], sizeof(hv->weights));
		}
		memcpy(&idx[io], m->index, m->index_count * sizeof(uint32_t));
		vo += m->vertex_count;
		io += m->index_count;
	}
	if (r == CV_OK)
		r = gpu_buffer_upload(ctx, &h->vertices, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, v, vertices * sizeof(*v),
		                      "hand vertices");
	if (r == CV_OK)
		r = gpu_buffer_upload(ctx, &h->indices, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, idx, indices * sizeof(uint32_t),
		                      "hand indices");
	free(v);
	free(idx);
	return r;
}

/* A 1x1 texture for the sampler binding of hands without a face (the shader ignores it). */
static enum cv_result make_neutral(struct gpu_context *ctx, struct render_hands *h)
{
	CV_TRY(gpu_image_init(ctx, &h->neutral, &(struct gpu_image_desc){
		.width = 1, .height = 1, .format = VK_FORMAT_R8G8B8A8_UNORM,
		.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, .name = "hand neutral tone"}));
	VkCommandBuffer cmd;
	CV_TRY(gpu_cmd_begin(ctx, &cmd));
	gpu_cmd_image_barrier(cmd, h->neutral.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
	                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
	VkClearColorValue grey = {.float32 = {0.5f, 0.5f, 0.5f, 1.0f}};
	VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
	vkCmdClearColorImage(cmd, h->neutral.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &grey, 1, &range);
	gpu_cmd_image_barrier(cmd, h->neutral.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
	                      VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
	return gpu_cmd_submit_wait(ctx, cmd);
}

enum cv_result render_hands_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                   const struct hand_mesh *const meshes[2], struct render_hands **out)
{
	*out = NULL;
	struct render_hands *h = calloc(1, sizeof(*h));
	if (!h) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "hands renderer");
	const VkDescriptorType bindings[3] = {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
	                                      VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER};
	const struct gpu_vertex_attribute attrs[4] = {
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct hand_vertex, position)},
		{VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct hand_vertex, normal)},
		{VK_FORMAT_R32G32B32A32_UINT, offsetof(struct hand_vertex, joints)},
		{VK_FORMAT_R32G32B32A32_SFLOAT, offsetof(struct hand_vertex, weights)},
	};
	enum cv_result r = gpu_pipeline_graphics_init(ctx, &h->pipeline, &(struct gpu_graphics_pipeline_desc){
		.vertex = GPU_SHADER(hands_vert),
		.fragment = GPU_SHADER(hands_frag),
		.layout = {.bindings = bindings, .binding_count = 3, .name = "hands"},
		.vertex_stride = sizeof(struct hand_vertex),
		.attributes = attrs,
		.attribute_count = 4,
		.color_format = target->format,
		.depth_format = VK_FORMAT_D32_SFLOAT,
		.samples = target->samples,
		.cull_mode = VK_CULL_MODE_BACK_BIT,
		.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
	});
	if (r == CV_OK) r = upload_meshes(ctx, h, meshes);
	if (r == CV_OK)
		r = gpu_buffer_init(ctx, &h->instances, &(struct gpu_buffer_desc){
			.size = RENDER_MAX_HANDS * sizeof(struct render_hand_gpu), .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
			.name = "hand joints"});
	if (r == CV_OK) {
		VkSamplerCreateInfo si = {
			.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, .magFilter = VK_FILTER_LINEAR, .minFilter = VK_FILTER_LINEAR,
			.mipmapMode = VK_SAMPLER_MIPMAP_MODE_LINEAR, .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE, .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.maxLod = VK_LOD_CLAMP_NONE};
		r = GPU_CHECK(vkCreateSampler(ctx->device, &si, NULL, &h->sampler));
	}
	if (r == CV_OK) r = make_neutral(ctx, h);
	if (r != CV_OK) {
		render_hands_destroy(ctx, &h);
		return r;
	}
	*out = h;
	return CV_OK;
}

void render_hands_destroy(struct gpu_context *ctx, struct render_hands **ph)
{
	struct render_hands *h = *ph;
	if (!h) return;
	gpu_pipeline_fini(ctx, &h->pipeline);
	if (h->sampler) vkDestroySampler(ctx->device, h->sampler, NULL);
	gpu_buffer_fini(ctx, &h->vertices);
	gpu_buffer_fini(ctx, &h->indices);
	gpu_buffer_fini(ctx, &h->instances);
	gpu_image_fini(ctx, &h->neutral);
	free(h);
	*ph = NULL;
}

void render_hands_set(VkCommandBuffer cmd, struct render_hands *h, const struct render_hand_instance *hands,
                      uint32_t count)
{
	if (count > RENDER_MAX_HANDS) count = RENDER_MAX_HANDS;
	static struct render_hand_gpu gpu[RENDER_MAX_HANDS]; /* 52 KB: too big for the stack of every thread */
	for (uint32_t i = 0; i < count; i++) {
		for (int j = 0; j < HAND_JOINTS; j++) {
			mat4 skin;
			memcpy(skin, hands[i].skin[j], sizeof(skin));
			glm_mat4_mul((vec4 *)hands[i].world, skin, gpu[i].joint[j]);
		}
		gpu[i].flags[0] = hands[i].face != VK_NULL_HANDLE;
		h->sides[i] = hands[i].side ? 1 : 0;
		h->faces[i] = hands[i].face;
	}
	h->count = count;
	if (count)
		gpu_cmd_update_buffer(cmd, &h->instances, gpu, count * sizeof(gpu[0]), VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT);
}

void render_hands_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_hands *h,
                       const struct gpu_buffer *views)
{
	VkDeviceSize zero = 0;
	for (uint32_t i = 0; i < h->count; i++) {
		gpu_cmd_bind(ctx, cmd, &h->pipeline,
		             (struct gpu_binding[]){{.buffer = views},
		                                    {.buffer = &h->instances},
		                                    {.image_view = h->faces[i] ? h->faces[i] : h->neutral.view,
		                                     .sampler = h->sampler,
		                                     .image_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}},
		             NULL, 0);
		if (i == 0) {
			vkCmdBindVertexBuffers(cmd, 0, 1, &h->vertices.buffer, &zero);
			vkCmdBindIndexBuffer(cmd, h->indices.buffer, 0, VK_INDEX_TYPE_UINT32);
		}
		uint32_t s = h->sides[i];
		vkCmdDrawIndexed(cmd, h->index_count[s], 1, h->first_index[s], (int32_t)h->vertex_offset[s], i);
	}
}
