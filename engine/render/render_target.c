/* Attachments, views and the begin/end of a rendering pass shared by every presenter. */
#include <string.h>

#include "render.h"

enum cv_result render_attachments_init(struct gpu_context *ctx, struct render_attachments *a, VkExtent2D extent,
                                       VkFormat format, VkSampleCountFlagBits samples, uint32_t view_count,
                                       bool own_resolve)
{
	memset(a, 0, sizeof(*a));
	a->extent = extent;
	a->format = format;
	a->samples = samples;
	a->view_count = view_count;
	enum cv_result r = CV_OK;
	if (samples > VK_SAMPLE_COUNT_1_BIT)
		r = gpu_image_init(ctx, &a->color, &(struct gpu_image_desc){
			.width = extent.width, .height = extent.height, .format = format, .samples = samples,
			.layers = view_count,
			.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
			.name = "msaa colour"});
	if (r == CV_OK)
		r = gpu_image_init(ctx, &a->depth, &(struct gpu_image_desc){
			.width = extent.width, .height = extent.height, .format = VK_FORMAT_D32_SFLOAT, .samples = samples,
			.layers = view_count,
			.usage = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, .name = "depth"});
	if (r == CV_OK && own_resolve)
		r = gpu_image_init(ctx, &a->resolve, &(struct gpu_image_desc){
			.width = extent.width, .height = extent.height, .format = format,
			.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT, .name = "resolve"});
	if (r != CV_OK) render_attachments_fini(ctx, a);
	return r;
}

void render_attachments_fini(struct gpu_context *ctx, struct render_attachments *a)
{
	gpu_image_fini(ctx, &a->color);
	gpu_image_fini(ctx, &a->depth);
	gpu_image_fini(ctx, &a->resolve);
}

void render_view_look_at(struct render_view *v, const vec3 eye, const vec3 target, float fov_y_deg, float aspect)
{
	glm_lookat((float *)eye, (float *)target, (vec3){0, 1, 0}, v->view);
	glm_perspective(glm_rad(fov_y_deg), aspect, 0.05f, 100.0f, v->projection);
	v->projection[1][1] *= -1.0f; /* Vulkan's clip space has y pointing down */
	glm_vec3_copy((float *)eye, v->eye);
}

void render_views_stereo(struct render_views *out, const struct render_view *centre, float ipd)
{
	out->count = 2;
	for (int e = 0; e < 2; e++) {
		struct render_view *v = &out->view[e];
		*v = *centre;
		/* In view space the eyes sit at x = -ipd/2 and +ipd/2: shift the world the other way. */
		float dx = e == 0 ? 0.5f * ipd : -0.5f * ipd;
		mat4 shift;
		glm_translate_make(shift, (vec3){dx, 0, 0});
		glm_mat4_mul(shift, (vec4 *)centre->view, v->view);
		mat4 inv;
		glm_mat4_inv(v->view, inv);
		glm_vec3_copy(inv[3], v->eye);
	}
}

enum cv_result render_view_buffer_init(struct gpu_context *ctx, struct gpu_buffer *buf)
{
	return gpu_buffer_init(ctx, buf, &(struct gpu_buffer_desc){.size = sizeof(struct render_view_uniforms),
	                                                          .usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
	                                                          .name = "view uniforms"});
}

void render_cmd_update_views(VkCommandBuffer cmd, struct gpu_buffer *buf, const struct render_views *views)
{
	struct render_view_uniforms u;
	memset(&u, 0, sizeof(u));
	for (uint32_t i = 0; i < RENDER_MAX_VIEWS; i++) {
		const struct render_view *v = &views->view[i < views->count ? i : 0];
		glm_mat4_mul((vec4 *)v->projection, (vec4 *)v->view, u.view_proj[i]);
		glm_vec4((float *)v->eye, 1.0f, u.eye[i]);
	}
	gpu_cmd_update_buffer(cmd, buf, &u, sizeof(u), VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT);
}

void render_cmd_prepare(VkCommandBuffer cmd, struct render_attachments *a)
{
	if (a->color.image)
		gpu_cmd_image_barrier(cmd, a->color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
		                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
	gpu_cmd_image_barrier(cmd, a->depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
	                      VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL);
}

void render_cmd_begin(VkCommandBuffer cmd, struct render_attachments *a, VkImageView output, const float clear_rgba[4])
{
	render_cmd_begin_depth(cmd, a, output, VK_NULL_HANDLE, clear_rgba);
}

void render_cmd_begin_depth(VkCommandBuffer cmd, struct render_attachments *a, VkImageView output,
                            VkImageView depth_output, const float clear_rgba[4])
{
	bool msaa = a->samples > VK_SAMPLE_COUNT_1_BIT;
	VkRenderingAttachmentInfo color = {
		.sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
		.imageView = msaa ? a->color.view : output,
		.imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
		.resolveMode = msaa ? VK_RESOLVE_MODE_AVERAGE_BIT : VK_RESOLVE_MODE_NONE,
		.resolveImageView = msaa ? output : VK_NULL_HANDLE,
		.resolveImageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
		.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
		.storeOp = msaa ? VK_ATTACHMENT_STORE_OP_DONT_CARE : VK_ATTACHMENT_STORE_OP_STORE,
		.clearValue.color = {{clear_rgba[0], clear_rgba[1], clear_rgba[2], clear_rgba[3]}},
	};
	VkRenderingAttachmentInfo depth = {
		.sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
		.imageView = a->depth.view,
		.imageLayout = VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
		.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
		.storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
		.clearValue.depthStencil = {1.0f, 0},
	};
	if (depth_output && msaa) { /* sample 0 of each pixel: depth is not averaged */
		depth.resolveMode = VK_RESOLVE_MODE_SAMPLE_ZERO_BIT;
		depth.resolveImageView = depth_output;
		depth.resolveImageLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
	} else if (depth_output) { /* single-sampled: draw into the output's depth directly */
		depth.imageView = depth_output;
		depth.imageLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
		depth.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
	}
	VkRenderingInfo ri = {
		.sType = VK_STRUCTURE_TYPE_RENDERING_INFO,
		.renderArea = {{0, 0}, a->extent},
		.layerCount = 1,
		.viewMask = a->view_count > 1 ? (1u << a->view_count) - 1 : 0,
		.colorAttachmentCount = 1,
		.pColorAttachments = &color,
		.pDepthAttachment = &depth,
	};
	vkCmdBeginRendering(cmd, &ri);
	VkViewport vp = {0, 0, (float)a->extent.width, (float)a->extent.height, 0, 1};
	VkRect2D sc = {{0, 0}, a->extent};
	vkCmdSetViewport(cmd, 0, 1, &vp);
	vkCmdSetScissor(cmd, 0, 1, &sc);
}

void render_cmd_end(VkCommandBuffer cmd) { vkCmdEndRendering(cmd); }

void render_cmd_copy_resolve(VkCommandBuffer cmd, struct render_attachments *a, VkImage image, uint32_t layer)
{
	gpu_cmd_image_barrier(cmd, a->resolve.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
	                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
	gpu_cmd_image_barrier(cmd, image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
	                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
	VkImageCopy region = {
		.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		.dstSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, layer, 1},
		.extent = {a->extent.width, a->extent.height, 1},
	};
	vkCmdCopyImage(cmd, a->resolve.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
	               1, &region);
	gpu_cmd_image_barrier(cmd, image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
	                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
}
