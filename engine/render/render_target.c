/* Attachments, views and the begin/end of a rendering pass shared by every presenter. */
#include <string.h>

#include "render.h"

enum cv_result render_attachments_init(struct gpu_context *ctx, struct render_attachments *a, VkExtent2D extent,
                                       VkFormat format, VkSampleCountFlagBits samples)
{
	memset(a, 0, sizeof(*a));
	a->extent = extent;
	a->format = format;
	a->samples = samples;
	enum cv_result r = CV_OK;
	if (samples > VK_SAMPLE_COUNT_1_BIT)
		r = gpu_image_init(ctx, &a->color, &(struct gpu_image_desc){
			.width = extent.width, .height = extent.height, .format = format, .samples = samples,
			.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
			.name = "msaa colour"});
	if (r == CV_OK)
		r = gpu_image_init(ctx, &a->depth, &(struct gpu_image_desc){
			.width = extent.width, .height = extent.height, .format = VK_FORMAT_D32_SFLOAT, .samples = samples,
			.usage = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, .name = "depth"});
	if (r != CV_OK) render_attachments_fini(ctx, a);
	return r;
}

void render_attachments_fini(struct gpu_context *ctx, struct render_attachments *a)
{
	gpu_image_fini(ctx, &a->color);
	gpu_image_fini(ctx, &a->depth);
}

void render_view_look_at(struct render_view *v, const vec3 eye, const vec3 target, float fov_y_deg, float aspect)
{
	glm_lookat((float *)eye, (float *)target, (vec3){0, 1, 0}, v->view);
	glm_perspective(glm_rad(fov_y_deg), aspect, 0.05f, 100.0f, v->projection);
	v->projection[1][1] *= -1.0f; /* Vulkan's clip space has y pointing down */
	glm_vec3_copy((float *)eye, v->eye);
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
	VkRenderingInfo ri = {
		.sType = VK_STRUCTURE_TYPE_RENDERING_INFO,
		.renderArea = {{0, 0}, a->extent},
		.layerCount = 1,
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
