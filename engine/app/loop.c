/* The frame loop: one piece of code for every presenter and every scene. */
#include <stdio.h>

#include "app.h"

VkSampleCountFlagBits app_pick_samples(struct gpu_context *ctx, VkSampleCountFlagBits wanted)
{
	VkSampleCountFlags ok = ctx->properties.limits.framebufferColorSampleCounts &
	                        ctx->properties.limits.framebufferDepthSampleCounts;
	VkSampleCountFlagBits s = wanted ? wanted : VK_SAMPLE_COUNT_4_BIT;
	while (s > VK_SAMPLE_COUNT_1_BIT && !(ok & s)) s >>= 1;
	if (wanted && s != wanted) CV_WARN("%ux multisampling is not supported here; using %ux", wanted, s);
	return s;
}

static void progress_bar(uint64_t done, uint32_t total, double started)
{
	int width = 30, filled = (int)(width * done / total);
	double elapsed = cv_time_now() - started;
	fprintf(stderr, "\r[%.*s%*s] %3d%% frame %llu/%u, %.1f fps", filled, "##############################",
	        width - filled, "", (int)(100 * done / total), (unsigned long long)done, total,
	        elapsed > 0 ? (double)done / elapsed : 0.0);
	if (done == total) fputc('\n', stderr);
}

/* Attachments and pipelines follow the presenter's size and format (a resized window, a new swapchain). */
static enum cv_result match_target(struct gpu_context *ctx, struct app_scene *scene, struct render_attachments *a,
                                   VkFormat *scene_format, const struct present_frame *f, VkSampleCountFlagBits samples)
{
	if (a->extent.width != f->extent.width || a->extent.height != f->extent.height || a->format != f->format) {
		vkDeviceWaitIdle(ctx->device);
		render_attachments_fini(ctx, a);
		CV_TRY(render_attachments_init(ctx, a, f->extent, f->format, samples));
	}
	if (*scene_format != f->format) {
		vkDeviceWaitIdle(ctx->device);
		CV_TRY(scene->prepare(scene, ctx, f->format, samples));
		*scene_format = f->format;
	}
	return CV_OK;
}

enum cv_result app_run(struct gpu_context *ctx, struct presenter *p, struct app_scene *scene,
                       const struct app_loop_desc *desc)
{
	VkSampleCountFlagBits samples = app_pick_samples(ctx, desc->samples);
	struct render_attachments attachments = {0};
	VkFormat scene_format = VK_FORMAT_UNDEFINED;
	double started = cv_time_now();
	uint64_t drawn = 0;
	enum cv_result r = CV_OK;
	while (r == CV_OK && (desc->frames == 0 || drawn < desc->frames) && !p->should_close(p)) {
		struct present_frame f = {.index = drawn};
		r = p->begin_frame(p, &f);
		if (r != CV_OK || f.skip) continue;
		float time_s = desc->fixed_fps > 0 ? (float)drawn / desc->fixed_fps : (float)(cv_time_now() - started);
		struct render_view view;
		scene->camera(scene, time_s, (float)f.extent.width / (float)f.extent.height, &view);
		r = match_target(ctx, scene, &attachments, &scene_format, &f, samples);
		if (r == CV_OK && scene->update) r = scene->update(scene, ctx, f.cmd, &view, time_s);
		if (r != CV_OK) {
			vkEndCommandBuffer(f.cmd);
			break;
		}
		render_cmd_prepare(f.cmd, &attachments);
		render_cmd_begin(f.cmd, &attachments, f.view, scene->clear_color);
		scene->draw(scene, ctx, f.cmd, &view, time_s);
		render_cmd_end(f.cmd);
		r = p->end_frame(p, &f);
		drawn++;
		if (desc->progress && desc->frames) progress_bar(drawn, desc->frames, started);
		if (r == CV_OK && desc->after_frame) desc->after_frame(desc->user, p, drawn);
	}
	vkDeviceWaitIdle(ctx->device);
	render_attachments_fini(ctx, &attachments);
	return r;
}
