/* Drawing decoded avatars: the decoder's vertex and index buffers and its mipmapped sRGB texture. */
#include <math.h>
#include <stdlib.h>

#include "avatar/decoder.h"
#include "render.h"

static const uint32_t avatar_vert[] =
#include "render/avatar.vert.inc"
;
static const uint32_t avatar_frag[] =
#include "render/avatar.frag.inc"
;

struct render_avatar {
	struct gpu_pipeline pipeline;
	VkSampler sampler;
	struct gpu_buffer poses; /* mat4[RENDER_MAX_AVATARS] */
};

enum cv_result render_avatar_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                    struct render_avatar **out)
{
	*out = NULL;
	struct render_avatar *a = calloc(1, sizeof(*a));
	if (!a) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar renderer");
	const VkDescriptorType bindings[3] = {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
	                                      VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER};
	const struct gpu_vertex_attribute attrs[2] = {{VK_FORMAT_R32G32B32A32_SFLOAT, 0}, {VK_FORMAT_R32G32B32A32_SFLOAT, 16}};
	enum cv_result r = gpu_pipeline_graphics_init(ctx, &a->pipeline, &(struct gpu_graphics_pipeline_desc){
		.vertex = GPU_SHADER(avatar_vert),
		.fragment = GPU_SHADER(avatar_frag),
		.layout = {.bindings = bindings, .binding_count = 3, .name = "avatar"},
		.vertex_stride = 32,
		.attributes = attrs,
		.attribute_count = 2,
		.color_format = target->format,
		.depth_format = VK_FORMAT_D32_SFLOAT,
		.samples = target->samples,
		.cull_mode = VK_CULL_MODE_BACK_BIT,
		.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
	});
	if (r == CV_OK) {
		/* Trilinear, and anisotropic where the device has it: faces are seen at grazing angles. */
		VkSamplerCreateInfo si = {
			.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
			.magFilter = VK_FILTER_LINEAR,
			.minFilter = VK_FILTER_LINEAR,
			.mipmapMode = VK_SAMPLER_MIPMAP_MODE_LINEAR,
			.addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.anisotropyEnable = ctx->has_sampler_anisotropy,
			.maxAnisotropy = ctx->has_sampler_anisotropy ? fminf(8.0f, ctx->properties.limits.maxSamplerAnisotropy) : 1.0f,
			.maxLod = VK_LOD_CLAMP_NONE,
		};
		r = GPU_CHECK(vkCreateSampler(ctx->device, &si, NULL, &a->sampler));
		GPU_NAME(ctx, VK_OBJECT_TYPE_SAMPLER, a->sampler, "avatar sampler");
	}
	if (r == CV_OK)
		r = gpu_buffer_init(ctx, &a->poses, &(struct gpu_buffer_desc){.size = RENDER_MAX_AVATARS * sizeof(mat4),
		                                                             .usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
		                                                             .name = "avatar head poses"});
	if (r != CV_OK) {
		render_avatar_destroy(ctx, &a);
		return r;
	}
	*out = a;
	return CV_OK;
}

void render_avatar_destroy(struct gpu_context *ctx, struct render_avatar **pa)
{
	struct render_avatar *a = *pa;
	if (!a) return;
	gpu_pipeline_fini(ctx, &a->pipeline);
	if (a->sampler) vkDestroySampler(ctx->device, a->sampler, NULL);
	gpu_buffer_fini(ctx, &a->poses);
	free(a);
	*pa = NULL;
}

void render_avatar_set_poses(VkCommandBuffer cmd, struct render_avatar *a, const mat4 *poses, uint32_t count)
{
	if (count > RENDER_MAX_AVATARS) count = RENDER_MAX_AVATARS;
	if (count) /* a meeting may have nobody decoded yet */
		gpu_cmd_update_buffer(cmd, &a->poses, poses, count * sizeof(mat4), VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT);
}

void render_avatar_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_avatar *a,
                        const struct gpu_buffer *views, uint32_t pose_index, const struct avatar_outputs *out)
{
	gpu_cmd_bind(ctx, cmd, &a->pipeline,
	             (struct gpu_binding[]){{.buffer = views},
	                                    {.image_view = out->texture_view, .sampler = a->sampler,
	                                     .image_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
	                                    {.buffer = &a->poses}},
	             NULL, 0);
	vkCmdBindVertexBuffers(cmd, 0, 1, &out->vertices->buffer, &out->vertex_offset);
	vkCmdBindIndexBuffer(cmd, out->indices->buffer, 0, VK_INDEX_TYPE_UINT32);
	vkCmdDrawIndexed(cmd, out->index_count, 1, 0, 0, pose_index);
}
