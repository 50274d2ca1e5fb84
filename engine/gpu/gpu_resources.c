/* Buffers, images, one-shot command buffers, pipelines and timestamp queries. */
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

static enum cv_result find_memory_type(struct gpu_context *ctx, uint32_t type_bits, VkMemoryPropertyFlags want,
                                       uint32_t *out)
{
	const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
	for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
		if ((type_bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) {
			*out = i;
			return CV_OK;
		}
	}
	return CV_FAIL(CV_ERROR_UNSUPPORTED, "no Vulkan memory type with properties 0x%x", want);
}

static enum cv_result allocate(struct gpu_context *ctx, VkMemoryRequirements req, VkMemoryPropertyFlags want,
                               VkDeviceMemory *memory, const char *name)
{
	uint32_t type = 0;
	CV_TRY(find_memory_type(ctx, req.memoryTypeBits, want, &type));
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = req.size,
		.memoryTypeIndex = type,
	};
	GPU_TRY(vkAllocateMemory(ctx->device, &ai, NULL, memory));
	GPU_NAME(ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, *memory, "%s memory", name);
	return CV_OK;
}

enum cv_result gpu_buffer_init(struct gpu_context *ctx, struct gpu_buffer *buf, const struct gpu_buffer_desc *desc)
{
	memset(buf, 0, sizeof(*buf));
	if (desc->size == 0) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "buffer '%s' of size 0", desc->name);
	const char *name = desc->name ? desc->name : "buffer";
	VkBufferCreateInfo bi = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.size = desc->size,
		.usage = desc->usage | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	GPU_TRY(vkCreateBuffer(ctx->device, &bi, NULL, &buf->buffer));
	GPU_NAME(ctx, VK_OBJECT_TYPE_BUFFER, buf->buffer, "%s", name);
	buf->size = desc->size;
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(ctx->device, buf->buffer, &req);
	VkMemoryPropertyFlags want = desc->host_visible
	                                 ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
	                                 : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
	enum cv_result r = allocate(ctx, req, want, &buf->memory, name);
	if (r == CV_OK) r = GPU_CHECK(vkBindBufferMemory(ctx->device, buf->buffer, buf->memory, 0));
	if (r == CV_OK && desc->host_visible)
		r = GPU_CHECK(vkMapMemory(ctx->device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->mapped));
	if (r != CV_OK) gpu_buffer_fini(ctx, buf);
	return r;
}

void gpu_buffer_fini(struct gpu_context *ctx, struct gpu_buffer *buf)
{
	if (buf->buffer) vkDestroyBuffer(ctx->device, buf->buffer, NULL);
	if (buf->memory) vkFreeMemory(ctx->device, buf->memory, NULL);
	memset(buf, 0, sizeof(*buf));
}

enum cv_result gpu_buffer_view_create(struct gpu_context *ctx, const struct gpu_buffer *buf, VkFormat format,
                                      const char *name, VkBufferView *out)
{
	VkFormatProperties fp;
	vkGetPhysicalDeviceFormatProperties(ctx->physical_device, format, &fp);
	if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "device '%s' cannot read format %d from texel buffers",
		               ctx->properties.deviceName, format);
	VkDeviceSize texel = format == VK_FORMAT_R32G32B32A32_SFLOAT ? 16
	                   : format == VK_FORMAT_R16G16B16A16_SFLOAT ? 8
	                   : format == VK_FORMAT_R16_SFLOAT          ? 2
	                                                             : 4;
	if (buf->size / texel > ctx->properties.limits.maxTexelBufferElements)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "'%s' needs %llu texels; device '%s' allows %u per texel buffer", name,
		               (unsigned long long)(buf->size / texel), ctx->properties.deviceName,
		               ctx->properties.limits.maxTexelBufferElements);
	VkBufferViewCreateInfo vi = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
		.buffer = buf->buffer,
		.format = format,
		.offset = 0,
		.range = buf->size / texel * texel,
	};
	GPU_TRY(vkCreateBufferView(ctx->device, &vi, NULL, out));
	GPU_NAME(ctx, VK_OBJECT_TYPE_BUFFER_VIEW, *out, "%s", name);
	return CV_OK;
}

static enum cv_result check_range(const struct gpu_buffer *buf, VkDeviceSize offset, VkDeviceSize size)
{
	if (offset > buf->size || size > buf->size - offset)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "range %llu+%llu outside a buffer of %llu bytes",
		               (unsigned long long)offset, (unsigned long long)size, (unsigned long long)buf->size);
	return CV_OK;
}

/* Copies between a buffer and a temporary host-visible one; `to_device` picks the direction. */
static enum cv_result staged_copy(struct gpu_context *ctx, struct gpu_buffer *buf, VkDeviceSize offset, void *data,
                                  VkDeviceSize size, bool to_device)
{
	struct gpu_buffer staging;
	CV_TRY(gpu_buffer_init(ctx, &staging, &(struct gpu_buffer_desc){.size = size, .host_visible = true, .name = "staging"}));
	if (to_device) memcpy(staging.mapped, data, size);
	VkCommandBuffer cmd;
	enum cv_result r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		VkBufferCopy region = {.srcOffset = to_device ? 0 : offset, .dstOffset = to_device ? offset : 0, .size = size};
		vkCmdCopyBuffer(cmd, to_device ? staging.buffer : buf->buffer, to_device ? buf->buffer : staging.buffer, 1,
		                &region);
		r = gpu_cmd_submit_wait(ctx, cmd);
	}
	if (r == CV_OK && !to_device) memcpy(data, staging.mapped, size);
	gpu_buffer_fini(ctx, &staging);
	return r;
}

enum cv_result gpu_buffer_upload(struct gpu_context *ctx, struct gpu_buffer *buf, VkBufferUsageFlags usage,
                                 const void *data, VkDeviceSize size, const char *name)
{
	CV_TRY(gpu_buffer_init(ctx, buf, &(struct gpu_buffer_desc){.size = size, .usage = usage, .name = name}));
	return gpu_buffer_write(ctx, buf, 0, data, size);
}

enum cv_result gpu_buffer_write(struct gpu_context *ctx, struct gpu_buffer *buf, VkDeviceSize offset,
                                const void *data, VkDeviceSize size)
{
	CV_TRY(check_range(buf, offset, size));
	if (size == 0) return CV_OK;
	if (buf->mapped) {
		memcpy((char *)buf->mapped + offset, data, size);
		return CV_OK;
	}
	return staged_copy(ctx, buf, offset, (void *)data, size, true);
}

enum cv_result gpu_buffer_read(struct gpu_context *ctx, struct gpu_buffer *buf, VkDeviceSize offset, void *data,
                               VkDeviceSize size)
{
	CV_TRY(check_range(buf, offset, size));
	if (size == 0) return CV_OK;
	if (buf->mapped) {
		memcpy(data, (char *)buf->mapped + offset, size);
		return CV_OK;
	}
	return staged_copy(ctx, buf, offset, data, size, false);
}

static VkImageAspectFlags format_aspect(VkFormat f)
{
	switch (f) {
	case VK_FORMAT_D16_UNORM:
	case VK_FORMAT_D32_SFLOAT: return VK_IMAGE_ASPECT_DEPTH_BIT;
	case VK_FORMAT_D24_UNORM_S8_UINT:
	case VK_FORMAT_D32_SFLOAT_S8_UINT: return VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
	default: return VK_IMAGE_ASPECT_COLOR_BIT;
	}
}

enum cv_result gpu_image_init(struct gpu_context *ctx, struct gpu_image *img, const struct gpu_image_desc *desc)
{
	memset(img, 0, sizeof(*img));
	const char *name = desc->name ? desc->name : "image";
	img->format = desc->format;
	img->extent = (VkExtent2D){desc->width, desc->height};
	img->mip_levels = desc->mip_levels ? desc->mip_levels : 1;
	img->samples = desc->samples ? desc->samples : VK_SAMPLE_COUNT_1_BIT;
	img->aspect = format_aspect(desc->format);
	img->layers = desc->layers ? desc->layers : 1;
	VkImageCreateInfo ii = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
		.imageType = VK_IMAGE_TYPE_2D,
		.format = desc->format,
		.extent = {desc->width, desc->height, 1},
		.flags = desc->flags,
		.mipLevels = img->mip_levels,
		.arrayLayers = img->layers,
		.samples = img->samples,
		.tiling = VK_IMAGE_TILING_OPTIMAL,
		.usage = desc->usage,
		.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	};
	GPU_TRY(vkCreateImage(ctx->device, &ii, NULL, &img->image));
	GPU_NAME(ctx, VK_OBJECT_TYPE_IMAGE, img->image, "%s", name);
	VkMemoryRequirements req;
	vkGetImageMemoryRequirements(ctx->device, img->image, &req);
	enum cv_result r = allocate(ctx, req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &img->memory, name);
	if (r == CV_OK) r = GPU_CHECK(vkBindImageMemory(ctx->device, img->image, img->memory, 0));
	if (r == CV_OK) {
		/* An image whose usage only another view format supports (storage on an sRGB image) gets a default
		 * view without that usage. */
		VkFormatProperties fp;
		vkGetPhysicalDeviceFormatProperties(ctx->physical_device, desc->format, &fp);
		VkImageViewUsageCreateInfo usage = {
			.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_USAGE_CREATE_INFO,
			.usage = desc->usage,
		};
		if (!(fp.optimalTilingFeatures & VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT)) usage.usage &= ~VK_IMAGE_USAGE_STORAGE_BIT;
		VkImageViewCreateInfo vi = {
			.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
			.pNext = &usage,
			.image = img->image,
			.viewType = img->layers > 1 ? VK_IMAGE_VIEW_TYPE_2D_ARRAY : VK_IMAGE_VIEW_TYPE_2D,
			.format = desc->format,
			.subresourceRange = {img->aspect, 0, img->mip_levels, 0, img->layers},
		};
		r = GPU_CHECK(vkCreateImageView(ctx->device, &vi, NULL, &img->view));
		GPU_NAME(ctx, VK_OBJECT_TYPE_IMAGE_VIEW, img->view, "%s view", name);
	}
	if (r != CV_OK) gpu_image_fini(ctx, img);
	return r;
}

void gpu_image_fini(struct gpu_context *ctx, struct gpu_image *img)
{
	if (img->view) vkDestroyImageView(ctx->device, img->view, NULL);
	if (img->image) vkDestroyImage(ctx->device, img->image, NULL);
	if (img->memory) vkFreeMemory(ctx->device, img->memory, NULL);
	memset(img, 0, sizeof(*img));
}

enum cv_result gpu_image_view_create(struct gpu_context *ctx, const struct gpu_image *img, VkFormat format,
                                     uint32_t base_mip, uint32_t mip_count, uint32_t layer, const char *name,
                                     VkImageView *out)
{
	VkImageViewCreateInfo vi = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
		.image = img->image,
		.viewType = VK_IMAGE_VIEW_TYPE_2D,
		.format = format,
		.subresourceRange = {img->aspect, base_mip, mip_count, layer, 1},
	};
	GPU_TRY(vkCreateImageView(ctx->device, &vi, NULL, out));
	GPU_NAME(ctx, VK_OBJECT_TYPE_IMAGE_VIEW, *out, "%s", name);
	return CV_OK;
}

/* A layout transition of some mips, with conservative stages: barriers are few and not on hot loops. */
static void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageSubresourceRange range, VkImageLayout from,
                          VkImageLayout to)
{
	VkImageMemoryBarrier2 b = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER_2,
		.srcStageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
		.srcAccessMask = VK_ACCESS_2_MEMORY_WRITE_BIT,
		.dstStageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
		.dstAccessMask = VK_ACCESS_2_MEMORY_READ_BIT | VK_ACCESS_2_MEMORY_WRITE_BIT,
		.oldLayout = from,
		.newLayout = to,
		.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.image = image,
		.subresourceRange = range,
	};
	VkDependencyInfo dep = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .imageMemoryBarrierCount = 1, .pImageMemoryBarriers = &b};
	vkCmdPipelineBarrier2(cmd, &dep);
}

void gpu_cmd_image_barrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout from,
                           VkImageLayout to)
{
	image_barrier(cmd, image, (VkImageSubresourceRange){aspect, 0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS},
	              from, to);
}

void gpu_cmd_update_buffer(VkCommandBuffer cmd, struct gpu_buffer *buf, const void *data, VkDeviceSize size,
                           VkPipelineStageFlags2 readers)
{
	VkMemoryBarrier2 b = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = readers,
		.srcAccessMask = VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_UNIFORM_READ_BIT,
		.dstStageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT,
		.dstAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT,
	};
	VkDependencyInfo dep = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .memoryBarrierCount = 1, .pMemoryBarriers = &b};
	vkCmdPipelineBarrier2(cmd, &dep);
	vkCmdUpdateBuffer(cmd, buf->buffer, 0, size, data);
	b = (VkMemoryBarrier2){
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT,
		.srcAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT,
		.dstStageMask = readers,
		.dstAccessMask = VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_UNIFORM_READ_BIT,
	};
	vkCmdPipelineBarrier2(cmd, &dep);
}

void gpu_cmd_compute_barrier(VkCommandBuffer cmd)
{
	VkMemoryBarrier2 b = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT,
		.srcAccessMask = VK_ACCESS_2_SHADER_WRITE_BIT,
		.dstStageMask = VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_2_VERTEX_INPUT_BIT |
		                VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT |
		                VK_PIPELINE_STAGE_2_TRANSFER_BIT,
		.dstAccessMask = VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_SHADER_WRITE_BIT |
		                 VK_ACCESS_2_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_2_TRANSFER_READ_BIT,
	};
	VkDependencyInfo dep = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .memoryBarrierCount = 1, .pMemoryBarriers = &b};
	vkCmdPipelineBarrier2(cmd, &dep);
}

static void mip_barrier(VkCommandBuffer cmd, VkImage image, uint32_t mip, VkImageLayout from, VkImageLayout to)
{
	image_barrier(cmd, image, (VkImageSubresourceRange){VK_IMAGE_ASPECT_COLOR_BIT, mip, 1, 0, 1}, from, to);
}

void gpu_cmd_generate_mips(VkCommandBuffer cmd, const struct gpu_image *img, VkImageLayout from, VkImageLayout to)
{
	int32_t w = (int32_t)img->extent.width, h = (int32_t)img->extent.height;
	mip_barrier(cmd, img->image, 0, from, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
	for (uint32_t m = 1; m < img->mip_levels; m++) {
		int32_t nw = w > 1 ? w / 2 : 1, nh = h > 1 ? h / 2 : 1;
		mip_barrier(cmd, img->image, m, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
		VkImageBlit blit = {
			.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, m - 1, 0, 1},
			.srcOffsets = {{0, 0, 0}, {w, h, 1}},
			.dstSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, m, 0, 1},
			.dstOffsets = {{0, 0, 0}, {nw, nh, 1}},
		};
		vkCmdBlitImage(cmd, img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, img->image,
		               VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &blit, VK_FILTER_LINEAR);
		mip_barrier(cmd, img->image, m, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
		w = nw;
		h = nh;
	}
	gpu_cmd_image_barrier(cmd, img->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, to);
}

enum cv_result gpu_image_read(struct gpu_context *ctx, struct gpu_image *img, uint32_t layer, VkImageLayout layout,
                              void *pixels)
{
	if (layer >= (img->layers ? img->layers : 1))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "layer %u of an image with %u", layer, img->layers);
	VkDeviceSize size = (VkDeviceSize)img->extent.width * img->extent.height * 4;
	struct gpu_buffer staging;
	CV_TRY(gpu_buffer_init(ctx, &staging, &(struct gpu_buffer_desc){.size = size, .host_visible = true, .name = "readback"}));
	VkCommandBuffer cmd;
	enum cv_result r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		gpu_cmd_image_barrier(cmd, img->image, img->aspect, layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
		VkBufferImageCopy region = {
			.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, layer, 1},
			.imageExtent = {img->extent.width, img->extent.height, 1},
		};
		vkCmdCopyImageToBuffer(cmd, img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, staging.buffer, 1, &region);
		gpu_cmd_image_barrier(cmd, img->image, img->aspect, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, layout);
		r = gpu_cmd_submit_wait(ctx, cmd);
	}
	if (r == CV_OK) memcpy(pixels, staging.mapped, size);
	gpu_buffer_fini(ctx, &staging);
	return r;
}

enum cv_result gpu_cmd_begin(struct gpu_context *ctx, VkCommandBuffer *cmd)
{
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = ctx->command_pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	GPU_TRY(vkAllocateCommandBuffers(ctx->device, &ai, cmd));
	GPU_NAME(ctx, VK_OBJECT_TYPE_COMMAND_BUFFER, *cmd, "one-shot commands");
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	enum cv_result r = GPU_CHECK(vkBeginCommandBuffer(*cmd, &bi));
	if (r != CV_OK) vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, cmd);
	return r;
}

enum cv_result gpu_cmd_submit_wait(struct gpu_context *ctx, VkCommandBuffer cmd)
{
	VkFence fence = VK_NULL_HANDLE;
	enum cv_result r = GPU_CHECK(vkEndCommandBuffer(cmd));
	if (r == CV_OK) {
		VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
		r = GPU_CHECK(vkCreateFence(ctx->device, &fi, NULL, &fence));
	}
	if (r == CV_OK) {
		VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
		r = GPU_CHECK(vkQueueSubmit(ctx->queue, 1, &si, fence));
	}
	if (r == CV_OK) r = GPU_CHECK(vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX));
	if (fence) vkDestroyFence(ctx->device, fence, NULL);
	vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &cmd);
	return r;
}

/* ---- pipelines ---- */

static VkShaderStageFlags stages_of(VkPipelineBindPoint bp)
{
	return bp == VK_PIPELINE_BIND_POINT_COMPUTE ? VK_SHADER_STAGE_COMPUTE_BIT
	                                            : VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT;
}

static enum cv_result layout_init(struct gpu_context *ctx, struct gpu_pipeline *p,
                                  const struct gpu_pipeline_layout_desc *desc, VkPipelineBindPoint bp)
{
	const char *name = desc->name ? desc->name : "pipeline";
	if (desc->binding_count > 16) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: more than 16 bindings", name);
	p->bind_point = bp;
	p->binding_count = desc->binding_count;
	VkDescriptorSetLayoutBinding b[16];
	for (uint32_t i = 0; i < desc->binding_count; i++) {
		p->binding_types[i] = desc->bindings[i];
		b[i] = (VkDescriptorSetLayoutBinding){
			.binding = i,
			.descriptorType = desc->bindings[i],
			.descriptorCount = 1,
			.stageFlags = stages_of(bp),
		};
	}
	VkDescriptorSetLayoutCreateInfo li = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR,
		.bindingCount = desc->binding_count,
		.pBindings = b,
	};
	GPU_TRY(vkCreateDescriptorSetLayout(ctx->device, &li, NULL, &p->set_layout));
	GPU_NAME(ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, p->set_layout, "%s set layout", name);
	VkPushConstantRange pc = {.stageFlags = stages_of(bp), .size = desc->push_constant_size};
	VkPipelineLayoutCreateInfo pi = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1,
		.pSetLayouts = &p->set_layout,
		.pushConstantRangeCount = desc->push_constant_size ? 1 : 0,
		.pPushConstantRanges = &pc,
	};
	GPU_TRY(vkCreatePipelineLayout(ctx->device, &pi, NULL, &p->layout));
	GPU_NAME(ctx, VK_OBJECT_TYPE_PIPELINE_LAYOUT, p->layout, "%s layout", name);
	return CV_OK;
}

static enum cv_result shader_module(struct gpu_context *ctx, struct gpu_shader s, const char *name, VkShaderModule *out)
{
	VkShaderModuleCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = s.size, .pCode = s.code};
	GPU_TRY(vkCreateShaderModule(ctx->device, &si, NULL, out));
	GPU_NAME(ctx, VK_OBJECT_TYPE_SHADER_MODULE, *out, "%s shader", name);
	return CV_OK;
}

/* Specialisation entries are kept in a struct the caller owns so the pointers outlive pipeline creation. */
struct spec_info {
	VkSpecializationMapEntry entries[32];
	VkSpecializationInfo info;
};

static const VkSpecializationInfo *spec_fill(struct spec_info *s, const struct gpu_pipeline_layout_desc *d)
{
	if (!d->spec_constant_count) return NULL;
	for (uint32_t i = 0; i < d->spec_constant_count && i < 32; i++)
		s->entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4, .size = 4};
	s->info = (VkSpecializationInfo){
		.mapEntryCount = d->spec_constant_count < 32 ? d->spec_constant_count : 32,
		.pMapEntries = s->entries,
		.dataSize = (d->spec_constant_count < 32 ? d->spec_constant_count : 32) * 4,
		.pData = d->spec_constants,
	};
	return &s->info;
}

enum cv_result gpu_pipeline_compute_init(struct gpu_context *ctx, struct gpu_pipeline *p,
                                         const struct gpu_compute_pipeline_desc *desc)
{
	memset(p, 0, sizeof(*p));
	const char *name = desc->layout.name ? desc->layout.name : "compute";
	enum cv_result r = layout_init(ctx, p, &desc->layout, VK_PIPELINE_BIND_POINT_COMPUTE);
	VkShaderModule module = VK_NULL_HANDLE;
	if (r == CV_OK) r = shader_module(ctx, desc->shader, name, &module);
	if (r == CV_OK) {
		struct spec_info spec;
		VkComputePipelineCreateInfo ci = {
			.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
			.stage = {
				.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
				.stage = VK_SHADER_STAGE_COMPUTE_BIT,
				.module = module,
				.pName = "main",
				.pSpecializationInfo = spec_fill(&spec, &desc->layout),
			},
			.layout = p->layout,
		};
		r = GPU_CHECK(vkCreateComputePipelines(ctx->device, VK_NULL_HANDLE, 1, &ci, NULL, &p->pipeline));
		GPU_NAME(ctx, VK_OBJECT_TYPE_PIPELINE, p->pipeline, "%s", name);
	}
	if (module) vkDestroyShaderModule(ctx->device, module, NULL);
	if (r != CV_OK) gpu_pipeline_fini(ctx, p);
	return r;
}

enum cv_result gpu_pipeline_graphics_init(struct gpu_context *ctx, struct gpu_pipeline *p,
                                          const struct gpu_graphics_pipeline_desc *desc)
{
	memset(p, 0, sizeof(*p));
	const char *name = desc->layout.name ? desc->layout.name : "graphics";
	if (desc->attribute_count > 8) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: more than 8 attributes", name);
	enum cv_result r = layout_init(ctx, p, &desc->layout, VK_PIPELINE_BIND_POINT_GRAPHICS);
	VkShaderModule vs = VK_NULL_HANDLE, fs = VK_NULL_HANDLE;
	if (r == CV_OK) r = shader_module(ctx, desc->vertex, name, &vs);
	if (r == CV_OK) r = shader_module(ctx, desc->fragment, name, &fs);
	if (r == CV_OK) {
		struct spec_info spec;
		const VkSpecializationInfo *si = spec_fill(&spec, &desc->layout);
		VkPipelineShaderStageCreateInfo stages[2] = {
			{.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT,
			 .module = vs, .pName = "main", .pSpecializationInfo = si},
			{.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
			 .module = fs, .pName = "main", .pSpecializationInfo = si},
		};
		VkVertexInputBindingDescription vb = {.binding = 0, .stride = desc->vertex_stride};
		VkVertexInputAttributeDescription va[8];
		for (uint32_t i = 0; i < desc->attribute_count; i++)
			va[i] = (VkVertexInputAttributeDescription){i, 0, desc->attributes[i].format, desc->attributes[i].offset};
		VkPipelineVertexInputStateCreateInfo vi = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
			.vertexBindingDescriptionCount = desc->vertex_stride ? 1 : 0,
			.pVertexBindingDescriptions = &vb,
			.vertexAttributeDescriptionCount = desc->attribute_count,
			.pVertexAttributeDescriptions = va,
		};
		VkPipelineInputAssemblyStateCreateInfo ia = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
			.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
		};
		VkPipelineViewportStateCreateInfo vp = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, .viewportCount = 1, .scissorCount = 1};
		VkPipelineRasterizationStateCreateInfo rs = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
			.polygonMode = VK_POLYGON_MODE_FILL,
			.cullMode = desc->cull_mode,
			.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE,
			.lineWidth = 1.0f,
		};
		VkPipelineMultisampleStateCreateInfo ms = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
			.rasterizationSamples = desc->samples ? desc->samples : VK_SAMPLE_COUNT_1_BIT,
		};
		bool depth = desc->depth_format != VK_FORMAT_UNDEFINED;
		VkPipelineDepthStencilStateCreateInfo ds = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
			.depthTestEnable = depth && !desc->overlay,
			.depthWriteEnable = depth && !desc->blend && !desc->overlay,
			.depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL,
		};
		VkPipelineColorBlendAttachmentState cba = {
			.blendEnable = desc->blend,
			.srcColorBlendFactor = VK_BLEND_FACTOR_ONE,
			.dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA,
			.colorBlendOp = VK_BLEND_OP_ADD,
			.srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE,
			.dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA,
			.alphaBlendOp = VK_BLEND_OP_ADD,
			.colorWriteMask = 0xf,
		};
		VkPipelineColorBlendStateCreateInfo cb = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO, .attachmentCount = 1, .pAttachments = &cba};
		VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
		VkPipelineDynamicStateCreateInfo dy = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO, .dynamicStateCount = 2, .pDynamicStates = dyn};
		VkPipelineRenderingCreateInfo ri = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO,
			.viewMask = desc->view_mask,
			.colorAttachmentCount = 1,
			.pColorAttachmentFormats = &desc->color_format,
			.depthAttachmentFormat = desc->depth_format,
		};
		VkGraphicsPipelineCreateInfo gi = {
			.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
			.pNext = &ri,
			.stageCount = 2,
			.pStages = stages,
			.pVertexInputState = &vi,
			.pInputAssemblyState = &ia,
			.pViewportState = &vp,
			.pRasterizationState = &rs,
			.pMultisampleState = &ms,
			.pDepthStencilState = &ds,
			.pColorBlendState = &cb,
			.pDynamicState = &dy,
			.layout = p->layout,
		};
		r = GPU_CHECK(vkCreateGraphicsPipelines(ctx->device, VK_NULL_HANDLE, 1, &gi, NULL, &p->pipeline));
		GPU_NAME(ctx, VK_OBJECT_TYPE_PIPELINE, p->pipeline, "%s", name);
	}
	if (vs) vkDestroyShaderModule(ctx->device, vs, NULL);
	if (fs) vkDestroyShaderModule(ctx->device, fs, NULL);
	if (r != CV_OK) gpu_pipeline_fini(ctx, p);
	return r;
}

void gpu_pipeline_fini(struct gpu_context *ctx, struct gpu_pipeline *p)
{
	if (p->pipeline) vkDestroyPipeline(ctx->device, p->pipeline, NULL);
	if (p->layout) vkDestroyPipelineLayout(ctx->device, p->layout, NULL);
	if (p->set_layout) vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, NULL);
	memset(p, 0, sizeof(*p));
}

void gpu_cmd_bind(struct gpu_context *ctx, VkCommandBuffer cmd, const struct gpu_pipeline *p,
                  const struct gpu_binding *bindings, const void *push_constants, uint32_t push_size)
{
	vkCmdBindPipeline(cmd, p->bind_point, p->pipeline);
	VkWriteDescriptorSet writes[16];
	VkDescriptorBufferInfo buffers[16];
	VkDescriptorImageInfo images[16];
	for (uint32_t i = 0; i < p->binding_count; i++) {
		const struct gpu_binding *b = &bindings[i];
		writes[i] = (VkWriteDescriptorSet){
			.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
			.dstBinding = i,
			.descriptorCount = 1,
			.descriptorType = p->binding_types[i],
		};
		if (b->texel_view) {
			writes[i].pTexelBufferView = &b->texel_view;
		} else if (b->buffer) {
			buffers[i] = (VkDescriptorBufferInfo){b->buffer->buffer, 0, VK_WHOLE_SIZE};
			writes[i].pBufferInfo = &buffers[i];
		} else {
			images[i] = (VkDescriptorImageInfo){b->sampler, b->image_view, b->image_layout};
			writes[i].pImageInfo = &images[i];
		}
	}
	if (p->binding_count) ctx->cmd_push_descriptor_set(cmd, p->bind_point, p->layout, 0, p->binding_count, writes);
	if (push_size) vkCmdPushConstants(cmd, p->layout, stages_of(p->bind_point), 0, push_size, push_constants);
}

/* ---- timestamps ---- */

enum cv_result gpu_timer_init(struct gpu_context *ctx, struct gpu_timer *t, uint32_t capacity, const char *name)
{
	memset(t, 0, sizeof(*t));
	if (!ctx->has_timestamps) return CV_FAIL(CV_ERROR_UNSUPPORTED, "this device's queue has no timestamps");
	VkQueryPoolCreateInfo qi = {
		.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
		.queryType = VK_QUERY_TYPE_TIMESTAMP,
		.queryCount = capacity,
	};
	GPU_TRY(vkCreateQueryPool(ctx->device, &qi, NULL, &t->pool));
	GPU_NAME(ctx, VK_OBJECT_TYPE_QUERY_POOL, t->pool, "%s timer", name ? name : "gpu");
	t->capacity = capacity;
	t->ns_per_tick = ctx->properties.limits.timestampPeriod;
	return CV_OK;
}

void gpu_timer_fini(struct gpu_context *ctx, struct gpu_timer *t)
{
	if (t->pool) vkDestroyQueryPool(ctx->device, t->pool, NULL);
	memset(t, 0, sizeof(*t));
}

void gpu_cmd_timer_reset(VkCommandBuffer cmd, struct gpu_timer *t) { vkCmdResetQueryPool(cmd, t->pool, 0, t->capacity); }

void gpu_cmd_timer_mark(VkCommandBuffer cmd, struct gpu_timer *t, uint32_t index)
{
	vkCmdWriteTimestamp2(cmd, VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT, t->pool, index);
}

enum cv_result gpu_timer_elapsed_ms(struct gpu_context *ctx, struct gpu_timer *t, uint32_t from, uint32_t to, double *ms)
{
	if (from >= t->capacity || to >= t->capacity) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "timer mark out of range");
	uint64_t a, b;
	VkQueryResultFlags fl = VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT;
	GPU_TRY(vkGetQueryPoolResults(ctx->device, t->pool, from, 1, sizeof(a), &a, sizeof(a), fl));
	GPU_TRY(vkGetQueryPoolResults(ctx->device, t->pool, to, 1, sizeof(b), &b, sizeof(b), fl));
	*ms = (double)(b - a) * t->ns_per_tick * 1e-6;
	return CV_OK;
}
