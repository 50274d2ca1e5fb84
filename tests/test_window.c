/* The desktop window under a real X server (Xvfb in the test command): frames are presented, the swapchain
 * survives resize, minimise and a vsync change, and what the window shows is what offscreen renders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "test.h"

#define FPS 30.0f
#define CAPTURE_FRAME 14

static struct cv_image captured;
static uint32_t generation_after_resize, generation_after_vsync;

static void drive(void *user, struct presenter *p, uint64_t drawn)
{
	(void)user;
	switch (drawn) {
	case 3: window_set_size(p, 400, 300); break;
	case 6: generation_after_resize = window_swapchain_generation(p); window_iconify(p, true); break;
	case 8: window_iconify(p, false); break;
	case 10: window_set_vsync(p, false); break;
	case 12: generation_after_vsync = window_swapchain_generation(p); break;
	case CAPTURE_FRAME: window_request_capture(p, &captured); break; /* the next frame, index CAPTURE_FRAME */
	}
}

int main(void)
{
	const char *display = getenv("DISPLAY");
	if (!display || !display[0]) {
		printf("skipped: no DISPLAY (the README's test command starts Xvfb)\n");
		return 77;
	}
	if (window_system_init() != CV_OK) {
		CHECK_MSG(false, "a display is set but no window system");
		return test_finish();
	}
	struct gpu_context_desc gd = {.present = true};
	gd.instance_extensions = window_instance_extensions(&gd.instance_extension_count);
	struct gpu_context *ctx = NULL;
	CHECK(gpu_context_create(&gd, &ctx) == CV_OK);
	struct presenter *win = NULL;
	CHECK(window_create(ctx, &(struct window_desc){.width = 320, .height = 240, .title = "cavr test", .vsync = true},
	                    &win) == CV_OK);
	if (!win) return test_finish();
	struct app_scene *scene = NULL;
	CHECK(app_testscene_create(0.0f, &scene) == CV_OK);
	uint32_t first_generation = window_swapchain_generation(win);
	CHECK(app_run(ctx, win, scene, &(struct app_loop_desc){.frames = CAPTURE_FRAME + 2, .fixed_fps = FPS,
	                                                       .after_frame = drive}) == CV_OK);
	CHECK_MSG(generation_after_resize > first_generation, "swapchain not rebuilt after resize (%u -> %u)",
	          first_generation, generation_after_resize);
	CHECK(generation_after_vsync > generation_after_resize);
	CHECK(captured.pixels != NULL);
	if (captured.pixels) {
		CHECK_MSG(captured.width == 400 && captured.height == 300, "captured %ux%u", captured.width, captured.height);
		cv_image_save_png("window_capture.png", &captured);
		/* Offscreen rendering of the same frame at the same size must match what the window showed. */
		struct presenter *off = NULL;
		CHECK(offscreen_create(ctx, &(struct offscreen_desc){.width = captured.width, .height = captured.height},
		                       &off) == CV_OK);
		CHECK(app_run(ctx, off, scene, &(struct app_loop_desc){.frames = CAPTURE_FRAME + 1, .fixed_fps = FPS}) == CV_OK);
		CHECK(cv_image_match(&captured, offscreen_image(off),
		                     &(struct cv_image_match){.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40},
		                     "window capture against offscreen") == CV_OK);
		presenter_destroy(&off);
	}
	cv_image_fini(&captured);
	app_scene_destroy(&scene, ctx);
	presenter_destroy(&win);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	window_system_fini();
	return test_finish();
}
