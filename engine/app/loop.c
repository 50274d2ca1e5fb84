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
                                   struct render_target_desc *prepared, const struct present_frame *f,
                                   VkSampleCountFlagBits samples)
{
	/* All views in one pass with multiview, else one pass per view reusing the same attachments. Eye by eye,
	 * multisampled colour resolves into a one-layer image that is then copied into the eye's layer: lavapipe
	 * resolves into layers above 0 of an array image wrongly. */
	uint32_t pass_views = ctx->has_multiview ? f->view_count : 1;
	bool own_resolve = pass_views < f->view_count && samples > VK_SAMPLE_COUNT_1_BIT;
	if (a->extent.width != f->extent.width || a->extent.height != f->extent.height || a->format != f->format ||
	    a->view_count != pass_views || (a->resolve.image != VK_NULL_HANDLE) != own_resolve) {
		vkDeviceWaitIdle(ctx->device);
		render_attachments_fini(ctx, a);
		CV_TRY(render_attachments_init(ctx, a, f->extent, f->format, samples, pass_views, own_resolve));
	}
	if (prepared->format != f->format || prepared->view_count != pass_views) {
		vkDeviceWaitIdle(ctx->device);
		*prepared = (struct render_target_desc){.format = f->format, .samples = samples, .view_count = pass_views};
		CV_TRY(scene->prepare(scene, ctx, prepared));
	}
	return CV_OK;
}

/* The frame's views: the presenter's (a headset's eyes), else the scene camera, split into eyes for stereo. */
static void frame_views(struct app_scene *scene, const struct present_frame *f, float time_s, float ipd,
                        struct render_views *out)
{
	if (f->views) {
		*out = *f->views;
		if (!scene->stage) return;
		mat4 world_from_stage, stage_from_world;
		scene->stage(scene, f->views_floor_level, world_from_stage);
		glm_mat4_inv(world_from_stage, stage_from_world);
		for (uint32_t e = 0; e < out->count; e++) {
			glm_mat4_mul(out->view[e].view, stage_from_world, out->view[e].view);
			glm_mat4_mulv3(world_from_stage, out->view[e].eye, 1, out->view[e].eye);
		}
		return;
	}
	struct render_view centre;
	scene->camera(scene, time_s, (float)f->extent.width / (float)f->extent.height, &centre);
	if (f->view_count > 1) render_views_stereo(out, &centre, ipd);
	else *out = (struct render_views){.count = 1, .view = {centre}};
}

enum cv_result app_run(struct gpu_context *ctx, struct presenter *p, struct app_scene *scene,
                       const struct app_loop_desc *desc)
{
	VkSampleCountFlagBits samples = app_pick_samples(ctx, desc->samples);
	struct render_attachments attachments = {0};
	struct render_target_desc prepared = {0};
	struct gpu_buffer view_buffers[RENDER_MAX_VIEWS] = {0}; /* one per pass */
	double started = cv_time_now(), first_time = 0;
	uint64_t drawn = 0;
	enum cv_result r = render_view_buffer_init(ctx, &view_buffers[0]);
	if (r == CV_OK) r = render_view_buffer_init(ctx, &view_buffers[1]);
	while (r == CV_OK && (desc->frames == 0 || drawn < desc->frames) && !p->should_close(p)) {
		struct present_frame f = {.index = drawn};
		r = p->begin_frame(p, &f);
		if (r != CV_OK || f.skip) continue;
		if (f.user && scene->user) scene->user(scene, f.user);
		if (p->poll_input && scene->input) {
			struct meeting_input inputs[64];
			uint32_t n = p->poll_input(p, inputs, 64);
			for (uint32_t i = 0; i < n; i++) scene->input(scene, &inputs[i]);
		}
		/* A headset predicts when the frame will be shown: poses and playback use that time, not now. */
		double now = f.display_time_s > 0 ? f.display_time_s : cv_time_now();
		if (drawn == 0) first_time = now;
		float time_s = desc->fixed_fps > 0 ? (float)drawn / desc->fixed_fps : (float)(now - first_time);
		struct render_views views;
		frame_views(scene, &f, time_s, desc->ipd > 0 ? desc->ipd : 0.064f, &views);
		views.extent = f.extent;
		r = match_target(ctx, scene, &attachments, &prepared, &f, samples);
		if (r == CV_OK && scene->update) r = scene->update(scene, ctx, f.cmd, &views, time_s);
		if (r != CV_OK) {
			vkEndCommandBuffer(f.cmd);
			break;
		}
		if (attachments.view_count == views.count) {
			render_cmd_update_views(f.cmd, &view_buffers[0], &views);
			render_cmd_prepare(f.cmd, &attachments);
			render_cmd_begin_depth(f.cmd, &attachments, f.view, f.depth_view, scene->clear_color);
			scene->draw(scene, ctx, f.cmd, &view_buffers[0], time_s);
			render_cmd_end(f.cmd);
		} else {
			for (uint32_t e = 0; e < views.count; e++) {
				struct render_views one = {.count = 1, .view = {views.view[e]}};
				render_cmd_update_views(f.cmd, &view_buffers[e], &one);
			}
			bool copy = attachments.resolve.image != VK_NULL_HANDLE;
			for (uint32_t e = 0; e < views.count; e++) {
				render_cmd_prepare(f.cmd, &attachments);
				if (copy)
					gpu_cmd_image_barrier(f.cmd, attachments.resolve.image, VK_IMAGE_ASPECT_COLOR_BIT,
					                      VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
				render_cmd_begin_depth(f.cmd, &attachments, copy ? attachments.resolve.view : f.layer_views[e],
				                       f.depth_layer_views[e], scene->clear_color);
				scene->draw(scene, ctx, f.cmd, &view_buffers[e], time_s);
				render_cmd_end(f.cmd);
				if (copy) render_cmd_copy_resolve(f.cmd, &attachments, f.image, e);
			}
		}
		if (scene->finish) scene->finish(scene, ctx, f.cmd);
		r = p->end_frame(p, &f);
		drawn++;
		if (desc->progress && desc->frames) progress_bar(drawn, desc->frames, started);
		if (r == CV_OK && desc->after_frame) desc->after_frame(desc->user, p, drawn);
	}
	vkDeviceWaitIdle(ctx->device);
	render_attachments_fini(ctx, &attachments);
	gpu_buffer_fini(ctx, &view_buffers[0]);
	gpu_buffer_fini(ctx, &view_buffers[1]);
	return r;
}
