/* The frame loop: one piece of code for every presenter. */
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

enum cv_result app_run_testscene(struct gpu_context *ctx, struct presenter *p, const struct app_loop_desc *desc)
{
	VkSampleCountFlagBits samples = app_pick_samples(ctx, desc->samples);
	struct render_attachments attachments = {0};
	struct render_testscene *scene = NULL;
	VkFormat scene_format = VK_FORMAT_UNDEFINED;
	const float clear[4] = {0.02f, 0.025f, 0.035f, 1.0f};
	double started = cv_time_now();
	uint64_t drawn = 0;
	enum cv_result r = CV_OK;
	while (r == CV_OK && (desc->frames == 0 || drawn < desc->frames) && !p->should_close(p)) {
		struct present_frame f = {.index = drawn};
		r = p->begin_frame(p, &f);
		if (r != CV_OK || f.skip) continue;
		/* Attachments and pipelines follow the presenter's size and format (a resized window, a new swapchain). */
		if (attachments.extent.width != f.extent.width || attachments.extent.height != f.extent.height ||
		    attachments.format != f.format) {
			vkDeviceWaitIdle(ctx->device);
			render_attachments_fini(ctx, &attachments);
			r = render_attachments_init(ctx, &attachments, f.extent, f.format, samples);
		}
		if (r == CV_OK && scene_format != f.format) {
			render_testscene_destroy(ctx, &scene);
			r = render_testscene_create(ctx, f.format, samples, &scene);
			scene_format = f.format;
		}
		if (r != CV_OK) {
			vkEndCommandBuffer(f.cmd);
			break;
		}
		float time_s = desc->fixed_fps > 0 ? (float)drawn / desc->fixed_fps : (float)(cv_time_now() - started);
		struct render_view view;
		render_testscene_camera(&view, desc->camera_angle_deg + 10.0f * time_s,
		                        (float)f.extent.width / (float)f.extent.height);
		render_cmd_prepare(f.cmd, &attachments);
		render_cmd_begin(f.cmd, &attachments, f.view, clear);
		render_testscene_draw(ctx, f.cmd, scene, &view, time_s);
		render_cmd_end(f.cmd);
		r = p->end_frame(p, &f);
		drawn++;
		if (desc->progress && desc->frames) progress_bar(drawn, desc->frames, started);
		if (r == CV_OK && desc->after_frame) desc->after_frame(desc->user, p, drawn);
	}
	vkDeviceWaitIdle(ctx->device);
	render_testscene_destroy(ctx, &scene);
	render_attachments_fini(ctx, &attachments);
	return r;
}
