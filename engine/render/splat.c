/* Gaussian splatting: prepare and radix-sort in compute, then sorted instanced quads in the render pass. */
#include <stdlib.h>
#include <string.h>

#include "render/splat.h"

static const uint32_t prepare_comp[] =
#include "splat/prepare.comp.inc"
;
static const uint32_t sort_count_comp[] =
#include "splat/sort_count.comp.inc"
;
static const uint32_t sort_scan_comp[] =
#include "splat/sort_scan.comp.inc"
;
static const uint32_t sort_scatter_comp[] =
#include "splat/sort_scatter.comp.inc"
;
static const uint32_t splat_vert[] =
#include "splat/splat.vert.inc"
;
static const uint32_t splat_frag[] =
#include "splat/splat.frag.inc"
;

#define SPLAT_BYTES 64 /* struct Splat in shaders/splat/splat.glsl */
#define GAUSSIAN_BYTES 64

struct frame_uniforms { /* Frame in prepare.comp */
	mat4 sort_view_proj;
	mat4 pose[SPLAT_MAX_SOURCES];
};

struct splat_renderer {
	struct gpu_pipeline prepare, count, scan, scatter, draw;
	uint32_t capacity, block, max_blocks;
	struct gpu_buffer frame, splats, keys[2], values[2], counts, totals, indirect, quad;
};

static uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

static void barrier(VkCommandBuffer cmd, VkPipelineStageFlags2 src, VkAccessFlags2 src_access,
                    VkPipelineStageFlags2 dst, VkAccessFlags2 dst_access)
{
	VkMemoryBarrier2 b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2, .srcStageMask = src, .srcAccessMask = src_access,
	                      .dstStageMask = dst, .dstAccessMask = dst_access};
	VkDependencyInfo dep = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .memoryBarrierCount = 1, .pMemoryBarriers = &b};
	vkCmdPipelineBarrier2(cmd, &dep);
}

static const VkPipelineStageFlags2 COMPUTE = VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT;
static const VkAccessFlags2 SHADER_RW = VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_SHADER_WRITE_BIT;

static enum cv_result compute_pipeline(struct gpu_context *ctx, struct gpu_pipeline *p, struct gpu_shader shader,
                                       const VkDescriptorType *bindings, uint32_t count, uint32_t push,
                                       const char *name)
{
	return gpu_pipeline_compute_init(ctx, p, &(struct gpu_compute_pipeline_desc){
		.shader = shader, .layout = {.bindings = bindings, .binding_count = count, .push_constant_size = push,
		                             .name = name}});
}

enum cv_result splat_renderer_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                     uint32_t capacity, struct splat_renderer **out)
{
	*out = NULL;
	if (capacity == 0) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "a splat renderer for 0 Gaussians");
	struct splat_renderer *s = calloc(1, sizeof(*s));
	if (!s) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "splat renderer");
	s->capacity = capacity;
	/* Keys per sort invocation: CPU drivers want few long-running invocations, GPUs many short ones. */
	s->block = ctx->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 512 : 64;
	s->max_blocks = div_up(capacity, s->block);

	const VkDescriptorType SB = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, UB = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
	const VkDescriptorType prepare_b[6] = {SB, UB, SB, SB, SB, SB}, count_b[2] = {SB, SB}, scan_b[2] = {SB, SB};
	const VkDescriptorType scatter_b[6] = {SB, SB, SB, SB, SB, SB}, draw_b[4] = {UB, SB, SB, SB};
	enum cv_result r = compute_pipeline(ctx, &s->prepare, GPU_SHADER(prepare_comp), prepare_b, 6, 16, "splat prepare");
	if (r == CV_OK) r = compute_pipeline(ctx, &s->count, GPU_SHADER(sort_count_comp), count_b, 2, 16, "splat sort count");
	if (r == CV_OK) r = compute_pipeline(ctx, &s->scan, GPU_SHADER(sort_scan_comp), scan_b, 2, 16, "splat sort scan");
	if (r == CV_OK)
		r = compute_pipeline(ctx, &s->scatter, GPU_SHADER(sort_scatter_comp), scatter_b, 6, 16, "splat sort scatter");
	if (r == CV_OK)
		r = gpu_pipeline_graphics_init(ctx, &s->draw, &(struct gpu_graphics_pipeline_desc){
			.vertex = GPU_SHADER(splat_vert),
			.fragment = GPU_SHADER(splat_frag),
			.layout = {.bindings = draw_b, .binding_count = 4, .push_constant_size = 8, .name = "splat draw"},
			.color_format = target->format,
			.depth_format = VK_FORMAT_D32_SFLOAT,
			.samples = target->samples,
			.cull_mode = VK_CULL_MODE_NONE,
			.blend = true, /* premultiplied over; no depth writes */
			.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
		});
	const VkBufferUsageFlags ssbo = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
	struct {
		struct gpu_buffer *buf;
		VkDeviceSize size;
		VkBufferUsageFlags usage;
		const char *name;
	} buffers[] = {
		{&s->frame, sizeof(struct frame_uniforms), VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, "splat frame"},
		{&s->splats, (VkDeviceSize)capacity * SPLAT_BYTES, ssbo, "splats"},
		{&s->keys[0], (VkDeviceSize)capacity * 4, ssbo, "splat keys 0"},
		{&s->keys[1], (VkDeviceSize)capacity * 4, ssbo, "splat keys 1"},
		{&s->values[0], (VkDeviceSize)capacity * 4, ssbo, "splat order 0"},
		{&s->values[1], (VkDeviceSize)capacity * 4, ssbo, "splat order 1"},
		{&s->counts, (VkDeviceSize)s->max_blocks * 256 * 4, ssbo, "splat digit counts"},
		{&s->totals, 256 * 4, ssbo, "splat digit totals"},
		{&s->indirect, 20, ssbo | VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, "splat draw"},
		{&s->quad, 12, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, "splat quad"},
	};
	for (size_t i = 0; r == CV_OK && i < sizeof(buffers) / sizeof(buffers[0]); i++) {
		if (buffers[i].size > ctx->properties.limits.maxStorageBufferRange)
			r = CV_FAIL(CV_ERROR_UNSUPPORTED, "%u splats need a %llu-byte buffer; device '%s' binds at most %u", capacity,
			            (unsigned long long)buffers[i].size, ctx->properties.deviceName,
			            ctx->properties.limits.maxStorageBufferRange);
		else
			r = gpu_buffer_init(ctx, buffers[i].buf, &(struct gpu_buffer_desc){
				.size = buffers[i].size, .usage = buffers[i].usage | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
				.host_visible = buffers[i].buf == &s->indirect, .name = buffers[i].name});
	}
	/* Indexed quads: 4 vertices per Gaussian instead of 6 (vertex work dominates with many small splats). */
	const uint16_t quad[6] = {0, 1, 2, 0, 2, 3};
	if (r == CV_OK) r = gpu_buffer_write(ctx, &s->quad, 0, quad, sizeof(quad));
	if (r != CV_OK) {
		splat_renderer_destroy(ctx, &s);
		return r;
	}
	*out = s;
	return CV_OK;
}

void splat_renderer_destroy(struct gpu_context *ctx, struct splat_renderer **ps)
{
	struct splat_renderer *s = *ps;
	if (!s) return;
	vkDeviceWaitIdle(ctx->device);
	struct gpu_pipeline *pipelines[] = {&s->prepare, &s->count, &s->scan, &s->scatter, &s->draw};
	for (size_t i = 0; i < sizeof(pipelines) / sizeof(pipelines[0]); i++) gpu_pipeline_fini(ctx, pipelines[i]);
	struct gpu_buffer *buffers[] = {&s->frame, &s->splats, &s->keys[0], &s->keys[1], &s->values[0],
	                                &s->values[1], &s->counts, &s->totals, &s->indirect, &s->quad};
	for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++) gpu_buffer_fini(ctx, buffers[i]);
	free(s);
	*ps = NULL;
}

void splat_sort_view(const struct render_views *views, struct render_view *out)
{
	*out = views->view[0];
	if (views->count < 2) return;
	vec3 eye, forward = {0, 0, 0}, up = {0, 0, 0}, target;
	glm_vec3_center((float *)views->view[0].eye, (float *)views->view[1].eye, eye);
	for (uint32_t i = 0; i < 2; i++) {
		const vec4 *m = views->view[i].view; /* rows 1 and 2 of the rotation: up and -forward */
		for (int c = 0; c < 3; c++) {
			forward[c] -= m[c][2];
			up[c] += m[c][1];
		}
	}
	glm_vec3_add(eye, forward, target);
	glm_lookat(eye, target, up, out->view);
	glm_vec3_copy(eye, out->eye);
}

/* Four stable 8-bit passes over keys[0]/values[0]; the result ends where it started. */
static void record_sort(struct gpu_context *ctx, VkCommandBuffer cmd, struct splat_renderer *s, uint32_t n)
{
	uint32_t blocks = div_up(n, s->block);
	for (uint32_t pass = 0; pass < 4; pass++) {
		uint32_t in = pass & 1, out = in ^ 1;
		uint32_t push[4] = {n, s->block, blocks, pass * 8};
		gpu_cmd_bind(ctx, cmd, &s->count, (struct gpu_binding[]){{.buffer = &s->keys[in]}, {.buffer = &s->counts}},
		             push, sizeof(push));
		vkCmdDispatch(cmd, div_up(blocks, 64), 1, 1);
		barrier(cmd, COMPUTE, SHADER_RW, COMPUTE, SHADER_RW);
		gpu_cmd_bind(ctx, cmd, &s->scan, (struct gpu_binding[]){{.buffer = &s->counts}, {.buffer = &s->totals}}, push,
		             sizeof(push));
		vkCmdDispatch(cmd, 256 / 64, 1, 1);
		barrier(cmd, COMPUTE, SHADER_RW, COMPUTE, SHADER_RW);
		gpu_cmd_bind(ctx, cmd, &s->scatter,
		             (struct gpu_binding[]){{.buffer = &s->keys[in]}, {.buffer = &s->values[in]}, {.buffer = &s->counts},
		                                    {.buffer = &s->totals}, {.buffer = &s->keys[out]}, {.buffer = &s->values[out]}},
		             push, sizeof(push));
		vkCmdDispatch(cmd, div_up(blocks, 64), 1, 1);
		barrier(cmd, COMPUTE, SHADER_RW, COMPUTE, SHADER_RW);
	}
}

enum cv_result splat_cmd_prepare(struct gpu_context *ctx, VkCommandBuffer cmd, struct splat_renderer *s,
                                 const struct splat_source *sources, uint32_t count,
                                 const struct render_view *sort_view, struct gpu_timer *timer, uint32_t first_mark)
{
	if (count > SPLAT_MAX_SOURCES)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%u splat sources; at most %d", count, SPLAT_MAX_SOURCES);
	uint64_t total = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (sources[i].offset % GAUSSIAN_BYTES ||
		    sources[i].offset + (VkDeviceSize)sources[i].count * GAUSSIAN_BYTES > sources[i].gaussians->size)
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "splat source %u lies outside its buffer", i);
		total += sources[i].count;
	}
	if (total > s->capacity)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%llu Gaussians for a splat renderer of %u",
		               (unsigned long long)total, s->capacity);
	if (timer && timer->capacity < first_mark + 3)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "splat timing needs marks %u..%u", first_mark, first_mark + 2);
	if (timer) gpu_cmd_timer_mark(cmd, timer, first_mark);

	struct frame_uniforms frame;
	memset(&frame, 0, sizeof(frame));
	glm_mat4_mul((vec4 *)sort_view->projection, (vec4 *)sort_view->view, frame.sort_view_proj);
	for (uint32_t i = 0; i < count; i++) glm_mat4_copy((vec4 *)sources[i].pose, frame.pose[i]);
	/* Last frame's draw may still read the buffers this frame rewrites. */
	barrier(cmd, VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_DRAW_INDIRECT_BIT,
	        VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_INDIRECT_COMMAND_READ_BIT, VK_PIPELINE_STAGE_2_TRANSFER_BIT,
	        VK_ACCESS_2_TRANSFER_WRITE_BIT);
	gpu_cmd_update_buffer(cmd, &s->frame, &frame, sizeof(frame), COMPUTE);
	const uint32_t draw[5] = {6, 0, 0, 0, 0}; /* VkDrawIndexedIndirectCommand; prepare counts the instances */
	vkCmdUpdateBuffer(cmd, s->indirect.buffer, 0, sizeof(draw), draw);
	barrier(cmd, VK_PIPELINE_STAGE_2_TRANSFER_BIT, VK_ACCESS_2_TRANSFER_WRITE_BIT, COMPUTE, SHADER_RW);

	uint32_t first = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t push[4] = {i, first, sources[i].count, (uint32_t)(sources[i].offset / GAUSSIAN_BYTES)};
		gpu_cmd_bind(ctx, cmd, &s->prepare,
		             (struct gpu_binding[]){{.buffer = sources[i].gaussians}, {.buffer = &s->frame}, {.buffer = &s->splats},
		                                    {.buffer = &s->keys[0]}, {.buffer = &s->values[0]}, {.buffer = &s->indirect}},
		             push, sizeof(push));
		if (sources[i].count) vkCmdDispatch(cmd, div_up(sources[i].count, 64), 1, 1);
		first += sources[i].count;
	}
	barrier(cmd, COMPUTE, SHADER_RW, COMPUTE, SHADER_RW);
	if (timer) gpu_cmd_timer_mark(cmd, timer, first_mark + 1);
	if (first) record_sort(ctx, cmd, s, first);
	barrier(cmd, COMPUTE, VK_ACCESS_2_SHADER_WRITE_BIT,
	        VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_DRAW_INDIRECT_BIT | VK_PIPELINE_STAGE_2_HOST_BIT,
	        VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_INDIRECT_COMMAND_READ_BIT | VK_ACCESS_2_HOST_READ_BIT);
	if (timer) gpu_cmd_timer_mark(cmd, timer, first_mark + 2);
	return CV_OK;
}

void splat_cmd_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct splat_renderer *s,
                    const struct gpu_buffer *views, VkExtent2D extent)
{
	float viewport[2] = {(float)extent.width, (float)extent.height};
	gpu_cmd_bind(ctx, cmd, &s->draw,
	             (struct gpu_binding[]){{.buffer = views}, {.buffer = &s->splats}, {.buffer = &s->values[0]},
	                                    {.buffer = &s->indirect}},
	             viewport, sizeof(viewport));
	vkCmdBindIndexBuffer(cmd, s->quad.buffer, 0, VK_INDEX_TYPE_UINT16);
	vkCmdDrawIndexedIndirect(cmd, s->indirect.buffer, 0, 1, 20);
}

enum cv_result splat_visible_count(struct gpu_context *ctx, struct splat_renderer *s, uint32_t *out)
{
	(void)ctx;
	memcpy(out, (const uint8_t *)s->indirect.mapped + 4, 4);
	return CV_OK;
}
