/* Overlay text with the font baked at build time (tools/bake_font.c): glyph quads laid out on the CPU in a
 * screen 720 units high, written once per frame, drawn over the views without depth. */
#include <stdlib.h>
#include <string.h>

#include "render.h"

struct font_glyph {
	int x0, y0, x1, y1;
	float xoff, yoff, xadvance;
};
#include "font/overlay_font.inc"

static const uint32_t text_vert[] =
#include "render/text.vert.inc"
;
static const uint32_t text_frag[] =
#include "render/text.frag.inc"
;

struct text_quad { /* shaders/render/text.vert */
	float rect[4], uv[4], color[4];
};

struct render_text {
	struct gpu_pipeline pipeline;
	struct gpu_image atlas;
	VkSampler sampler;
	struct gpu_buffer quads;
	struct text_quad list[RENDER_MAX_GLYPHS];
	uint32_t count, uploaded;
	float aspect;
};

static enum cv_result upload_atlas(struct gpu_context *ctx, struct render_text *t)
{
	CV_TRY(gpu_image_init(ctx, &t->atlas, &(struct gpu_image_desc){
		.width = FONT_ATLAS_W, .height = FONT_ATLAS_H, .format = VK_FORMAT_R8_UNORM,
		.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, .name = "font atlas"}));
	struct gpu_buffer staging = {0};
	CV_TRY(gpu_buffer_init(ctx, &staging, &(struct gpu_buffer_desc){.size = sizeof(font_atlas),
	                                                                .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
	                                                                .host_visible = true, .name = "font staging"}));
	memcpy(staging.mapped, font_atlas, sizeof(font_atlas));
	VkCommandBuffer cmd;
	enum cv_result r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		gpu_cmd_image_barrier(cmd, t->atlas.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
		                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
		VkBufferImageCopy copy = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		                          .imageExtent = {FONT_ATLAS_W, FONT_ATLAS_H, 1}};
		vkCmdCopyBufferToImage(cmd, staging.buffer, t->atlas.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
		gpu_cmd_image_barrier(cmd, t->atlas.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
		                      VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
		r = gpu_cmd_submit_wait(ctx, cmd);
	}
	gpu_buffer_fini(ctx, &staging);
	return r;
}

enum cv_result render_text_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                  struct render_text **out)
{
	*out = NULL;
	struct render_text *t = calloc(1, sizeof(*t));
	if (!t) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "text renderer");
	t->aspect = 16.0f / 9.0f;
	const VkDescriptorType bindings[2] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER};
	enum cv_result r = gpu_pipeline_graphics_init(ctx, &t->pipeline, &(struct gpu_graphics_pipeline_desc){
		.vertex = GPU_SHADER(text_vert),
		.fragment = GPU_SHADER(text_frag),
		.layout = {.bindings = bindings, .binding_count = 2, .name = "overlay text"},
		.color_format = target->format,
		.depth_format = VK_FORMAT_D32_SFLOAT,
		.samples = target->samples,
		.blend = true,
		.overlay = true,
		.view_mask = target->view_count > 1 ? (1u << target->view_count) - 1 : 0,
	});
	if (r == CV_OK) r = upload_atlas(ctx, t);
	if (r == CV_OK) {
		VkSamplerCreateInfo si = {
			.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, .magFilter = VK_FILTER_LINEAR, .minFilter = VK_FILTER_LINEAR,
			.addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE, .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
			.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE};
		r = GPU_CHECK(vkCreateSampler(ctx->device, &si, NULL, &t->sampler));
	}
	if (r == CV_OK)
		r = gpu_buffer_init(ctx, &t->quads, &(struct gpu_buffer_desc){.size = sizeof(t->list),
		                                                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
		                                                              .name = "overlay glyphs"});
	if (r != CV_OK) {
		render_text_destroy(ctx, &t);
		return r;
	}
	*out = t;
	return CV_OK;
}

void render_text_destroy(struct gpu_context *ctx, struct render_text **pt)
{
	struct render_text *t = *pt;
	if (!t) return;
	gpu_pipeline_fini(ctx, &t->pipeline);
	gpu_image_fini(ctx, &t->atlas);
	if (t->sampler) vkDestroySampler(ctx->device, t->sampler, NULL);
	gpu_buffer_fini(ctx, &t->quads);
	free(t);
	*pt = NULL;
}

void render_text_clear(struct render_text *t, float aspect)
{
	t->count = 0;
	t->aspect = aspect > 0 ? aspect : 16.0f / 9.0f;
}

/* Overlay units (720 high, 720 * aspect wide, y down) to clip space. */
static void to_clip(const struct render_text *t, float x, float y, float *cx, float *cy)
{
	*cx = x / (360.0f * t->aspect) - 1.0f;
	*cy = y / 360.0f - 1.0f;
}

static void add_quad(struct render_text *t, float x0, float y0, float x1, float y1, const float uv[4], const float rgba[4])
{
	if (t->count == RENDER_MAX_GLYPHS) return;
	struct text_quad *q = &t->list[t->count++];
	to_clip(t, x0, y0, &q->rect[0], &q->rect[1]);
	to_clip(t, x1, y1, &q->rect[2], &q->rect[3]);
	memcpy(q->uv, uv, sizeof(q->uv));
	memcpy(q->color, rgba, sizeof(q->color));
}

float render_text_measure(const char *text, float size)
{
	float w = 0, s = size * 16.0f / FONT_PIXEL_HEIGHT;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		if (*c >= FONT_FIRST && *c < FONT_FIRST + FONT_COUNT) w += font_glyphs[*c - FONT_FIRST].xadvance * s;
	return w;
}

float render_text_add(struct render_text *t, float x, float y, float size, const float rgba[4], const char *text)
{
	float s = size * 16.0f / FONT_PIXEL_HEIGHT, pen = x, base = y + FONT_ASCENT * s;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c < FONT_FIRST || *c >= FONT_FIRST + FONT_COUNT) continue;
		const struct font_glyph *g = &font_glyphs[*c - FONT_FIRST];
		if (g->x1 > g->x0) {
			float uv[4] = {(float)g->x0 / FONT_ATLAS_W, (float)g->y0 / FONT_ATLAS_H, (float)g->x1 / FONT_ATLAS_W,
			               (float)g->y1 / FONT_ATLAS_H};
			float gx = pen + g->xoff * s, gy = base + g->yoff * s;
			add_quad(t, gx, gy, gx + (float)(g->x1 - g->x0) * s, gy + (float)(g->y1 - g->y0) * s, uv, rgba);
		}
		pen += g->xadvance * s;
	}
	return pen - x;
}

void render_text_add_panel(struct render_text *t, float x0, float y0, float x1, float y1, const float rgba[4])
{
	add_quad(t, x0, y0, x1, y1, (float[]){-1, -1, -1, -1}, rgba);
}

float render_text_line_height(float size) { return FONT_LINE * size * 16.0f / FONT_PIXEL_HEIGHT; }

void render_text_upload(VkCommandBuffer cmd, struct render_text *t)
{
	t->uploaded = t->count;
	if (t->count)
		gpu_cmd_update_buffer(cmd, &t->quads, t->list, t->count * sizeof(t->list[0]), VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT);
}

void render_text_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_text *t)
{
	if (!t->uploaded) return;
	gpu_cmd_bind(ctx, cmd, &t->pipeline,
	             (struct gpu_binding[]){{.buffer = &t->quads},
	                                    {.image_view = t->atlas.view, .sampler = t->sampler,
	                                     .image_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}},
	             NULL, 0);
	vkCmdDraw(cmd, 6, t->uploaded, 0, 0);
}
