/* The offscreen presenter: one sRGB image per frame, read back and optionally written as PNG. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/args.h"
#include "app/spawn.h"
#include "present.h"

struct offscreen {
	struct presenter base;
	struct gpu_context *ctx;
	struct gpu_image target;
	VkImageView layer_views[2];
	struct cv_image last;    /* views side by side */
	uint8_t *layer_pixels;   /* one view's readback */
	const char *png_pattern;
	FILE *video;             /* ffmpeg's stdin, for an MP4 */
	struct app_child child;  /* ffmpeg */
	const char *video_path;
};

/* Starts ffmpeg encoding raw RGBA frames from a pipe into an H.264 MP4 (the path is one argument, no shell). */
static enum cv_result video_open(struct offscreen *o, const char *path, uint32_t w, uint32_t h, float fps)
{
	char size[32], rate[32];
	snprintf(size, sizeof(size), "%ux%u", w, h);
	snprintf(rate, sizeof(rate), "%g", (double)fps);
	const char *const argv[] = {"ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", size,
	                            "-r", rate, "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18",
	                            "-movflags", "+faststart", path, NULL};
	signal(SIGPIPE, SIG_IGN); /* a failed ffmpeg shows as a write error, not a killed cavr */
	if (app_spawn(argv, APP_SPAWN_STDIN_PIPE, &o->child) != CV_OK)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "writing %s needs ffmpeg (apt-get install ffmpeg); or give a PNG pattern "
		               "such as frames/%%04u.png", path);
	o->video = fdopen(o->child.in, "w");
	if (!o->video) {
		app_spawn_wait(&o->child);
		return CV_FAIL(CV_ERROR_IO, "cannot start ffmpeg for %s", path);
	}
	o->child.in = -1; /* the FILE owns it */
	o->video_path = path;
	return CV_OK;
}

static enum cv_result video_close(struct offscreen *o)
{
	if (!o->video) return CV_OK;
	fclose(o->video);
	o->video = NULL;
	int status = app_spawn_wait(&o->child);
	if (status != 0) return CV_FAIL(CV_ERROR_IO, "ffmpeg failed writing %s (status %d)", o->video_path, status);
	return CV_OK;
}

static enum cv_result offscreen_begin(struct presenter *p, struct present_frame *f)
{
	struct offscreen *o = (struct offscreen *)p;
	uint64_t index = f->index;
	memset(f, 0, sizeof(*f));
	f->index = index;
	CV_TRY(gpu_cmd_begin(o->ctx, &f->cmd));
	f->image = o->target.image;
	f->view = o->target.view;
	f->extent = o->target.extent;
	f->format = o->target.format;
	f->view_count = o->target.layers;
	memcpy(f->layer_views, o->layer_views, sizeof(f->layer_views));
	gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
	                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
	return CV_OK;
}

static enum cv_result offscreen_end(struct presenter *p, struct present_frame *f)
{
	struct offscreen *o = (struct offscreen *)p;
	CV_TRY(gpu_cmd_submit_wait(o->ctx, f->cmd));
	uint32_t w = o->target.extent.width, h = o->target.extent.height;
	for (uint32_t layer = 0; layer < o->target.layers; layer++) {
		CV_TRY(gpu_image_read(o->ctx, &o->target, layer, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, o->layer_pixels));
		for (uint32_t y = 0; y < h; y++)
			memcpy(&o->last.pixels[((size_t)y * o->last.width + (size_t)layer * w) * 4],
			       &o->layer_pixels[(size_t)y * w * 4], (size_t)w * 4);
	}
	if (o->video) {
		size_t size = (size_t)o->last.width * o->last.height * 4;
		if (fwrite(o->last.pixels, 1, size, o->video) != size)
			return CV_FAIL(CV_ERROR_IO, "ffmpeg stopped taking frames for %s", o->video_path);
		return CV_OK;
	}
	if (!o->png_pattern) return CV_OK;
	char path[4096];
	if (!app_frame_path(o->png_pattern, f->index, path, sizeof(path)))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "output pattern '%s' is not a path with one %%u", o->png_pattern);
	return cv_image_save_png(path, &o->last);
}

static bool offscreen_should_close(struct presenter *p)
{
	(void)p;
	return false;
}

enum cv_result offscreen_finish(struct presenter *p) { return video_close((struct offscreen *)p); }

static void offscreen_destroy(struct presenter *p)
{
	struct offscreen *o = (struct offscreen *)p;
	video_close(o);
	for (int i = 0; i < 2; i++)
		if (o->layer_views[i]) vkDestroyImageView(o->ctx->device, o->layer_views[i], NULL);
	gpu_image_fini(o->ctx, &o->target);
	cv_image_fini(&o->last);
	free(o->layer_pixels);
	free(o);
}

enum cv_result offscreen_create(struct gpu_context *ctx, const struct offscreen_desc *desc, struct presenter **out)
{
	*out = NULL;
	uint32_t views = desc->view_count ? desc->view_count : 1;
	if (desc->width == 0 || desc->height == 0 || desc->width > 16384 || desc->height > 16384)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "offscreen size %ux%u is not in 1..16384", desc->width, desc->height);
	if (views > RENDER_MAX_VIEWS) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%u views (at most %d)", views, RENDER_MAX_VIEWS);
	char probe[4096];
	if (desc->png_pattern && !app_frame_path(desc->png_pattern, 0, probe, sizeof(probe)))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "output pattern '%s' may hold one %%u (or %%04u, %%d) for the frame "
		               "number and no other %%", desc->png_pattern);
	struct offscreen *o = calloc(1, sizeof(*o));
	if (!o) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "offscreen presenter");
	o->base = (struct presenter){
		.name = "offscreen",
		.begin_frame = offscreen_begin,
		.end_frame = offscreen_end,
		.should_close = offscreen_should_close,
		.destroy = offscreen_destroy,
	};
	o->ctx = ctx;
	o->child = (struct app_child){.pid = -1, .in = -1, .out = -1};
	o->png_pattern = desc->png_pattern;
	enum cv_result r = cv_image_init(&o->last, desc->width * views, desc->height);
	o->layer_pixels = malloc((size_t)desc->width * desc->height * 4);
	if (r == CV_OK && !o->layer_pixels) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "offscreen readback");
	if (r == CV_OK)
		r = gpu_image_init(ctx, &o->target, &(struct gpu_image_desc){
			.width = desc->width, .height = desc->height, .layers = views, .format = VK_FORMAT_R8G8B8A8_SRGB,
			.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
			         VK_IMAGE_USAGE_TRANSFER_DST_BIT,
			.name = "offscreen target"});
	if (r == CV_OK && desc->video_path)
		r = video_open(o, desc->video_path, desc->width * views, desc->height, desc->fps > 0 ? desc->fps : 30.0f);
	for (uint32_t v = 0; views > 1 && v < views && r == CV_OK; v++)
		r = gpu_image_view_create(ctx, &o->target, VK_FORMAT_R8G8B8A8_SRGB, 0, 1, v, "offscreen layer", &o->layer_views[v]);
	if (r != CV_OK) {
		offscreen_destroy(&o->base);
		return r;
	}
	*out = &o->base;
	return CV_OK;
}

const struct cv_image *offscreen_image(struct presenter *p) { return &((struct offscreen *)p)->last; }
