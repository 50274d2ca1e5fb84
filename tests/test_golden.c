/* Golden image of the built-in test scene, and proof that the comparison rejects a different picture.
 * The golden PNG is committed (tests/golden/testscene.png) and was checked by eye; regenerate it with
 * CAVR_UPDATE_GOLDEN=1 only when the scene is meant to change, and look at it before committing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "golden.h"

static struct gpu_context *ctx;
static const struct cv_image_match rule = {.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40.0};

static enum cv_result render(float angle_deg, struct cv_image *out)
{
	struct presenter *p;
	CV_TRY(offscreen_create(ctx, &(struct offscreen_desc){.width = 320, .height = 240}, &p));
	struct app_scene *scene = NULL;
	enum cv_result r = app_testscene_create(angle_deg, &scene);
	if (r == CV_OK)
		r = app_run(ctx, p, scene, &(struct app_loop_desc){.frames = 1, .fixed_fps = 30, .samples = VK_SAMPLE_COUNT_4_BIT});
	app_scene_destroy(&scene, ctx);
	if (r == CV_OK) {
		const struct cv_image *img = offscreen_image(p);
		r = cv_image_init(out, img->width, img->height);
		if (r == CV_OK) memcpy(out->pixels, img->pixels, (size_t)img->width * img->height * 4);
	}
	presenter_destroy(&p);
	return r;
}

static void test_testscene_golden(void)
{
	struct cv_image actual, golden, moved;
	CHECK(render(0.0f, &actual) == CV_OK);
	if (!test_golden_check(&actual, "testscene", &rule, &golden) && !golden.pixels) {
		cv_image_fini(&actual);
		return;
	}

	/* The same scene seen from 2 degrees further round must be rejected. */
	CHECK(render(2.0f, &moved) == CV_OK);
	CHECK(cv_image_match(&moved, &golden, &rule, "test scene from a moved camera (expected to differ)") ==
	      CV_ERROR_MISMATCH);

	/* So must the golden itself with a 16x16 block darkened (a missing object, a shading bug). */
	for (uint32_t y = 100; y < 116; y++)
		for (uint32_t x = 150; x < 166; x++)
			for (int c = 0; c < 3; c++) golden.pixels[(y * golden.width + x) * 4 + c] /= 2;
	CHECK(cv_image_match(&actual, &golden, &rule, "test scene with a darkened block (expected to differ)") ==
	      CV_ERROR_MISMATCH);

	/* And the picture is not trivially empty: the centre differs from the clear colour in a corner. */
	const uint8_t *corner = &actual.pixels[0], *centre = &actual.pixels[(120 * 320 + 160) * 4];
	CHECK(abs(corner[0] - centre[0]) + abs(corner[1] - centre[1]) + abs(corner[2] - centre[2]) > 30);
	cv_image_fini(&actual);
	cv_image_fini(&golden);
	cv_image_fini(&moved);
}

/* The test scene seen from one eye of a stereo pair: the test scene's own scene, with the camera moved. */
struct eye_scene {
	struct app_scene base;
	struct app_scene *inner;
	int eye;
};

static enum cv_result eye_prepare(struct app_scene *s, struct gpu_context *c, const struct render_target_desc *t)
{
	struct app_scene *inner = ((struct eye_scene *)s)->inner;
	return inner->prepare(inner, c, t);
}

static void eye_camera(struct app_scene *s, float time_s, float aspect, struct render_view *out)
{
	struct eye_scene *e = (struct eye_scene *)s;
	struct render_view centre;
	struct render_views pair;
	e->inner->camera(e->inner, time_s, aspect, &centre);
	render_views_stereo(&pair, &centre, 0.064f);
	*out = pair.view[e->eye];
}

static enum cv_result eye_update(struct app_scene *s, struct gpu_context *c, VkCommandBuffer cmd,
                                 const struct render_views *views, float time_s)
{
	struct app_scene *inner = ((struct eye_scene *)s)->inner;
	return inner->update(inner, c, cmd, views, time_s);
}

static void eye_draw(struct app_scene *s, struct gpu_context *c, VkCommandBuffer cmd, const struct gpu_buffer *views,
                     float time_s)
{
	struct app_scene *inner = ((struct eye_scene *)s)->inner;
	inner->draw(inner, c, cmd, views, time_s);
}

/* Multiview stereo: each half of a stereo frame must match a mono render from that eye, and the halves must
 * differ (parallax). */
static void test_stereo_matches_mono_eyes(void)
{
	struct app_scene *scene = NULL;
	struct presenter *stereo = NULL, *mono = NULL;
	CHECK(app_testscene_create(0.0f, &scene) == CV_OK);
	CHECK(offscreen_create(ctx, &(struct offscreen_desc){.width = 160, .height = 120, .view_count = 2}, &stereo) == CV_OK);
	CHECK(offscreen_create(ctx, &(struct offscreen_desc){.width = 160, .height = 120}, &mono) == CV_OK);
	if (!scene || !stereo || !mono) goto done;
	const struct app_loop_desc loop = {.frames = 1, .fixed_fps = 30, .samples = VK_SAMPLE_COUNT_4_BIT, .ipd = 0.064f};
	CHECK(app_run(ctx, stereo, scene, &loop) == CV_OK);
	const struct cv_image *pair = offscreen_image(stereo);
	CHECK(pair->width == 320 && pair->height == 120);
	cv_image_save_png("stereo_actual.png", pair);
	struct cv_image half[2];
	for (int e = 0; e < 2; e++) {
		CHECK(cv_image_init(&half[e], 160, 120) == CV_OK);
		for (uint32_t y = 0; y < 120; y++)
			memcpy(&half[e].pixels[y * 160 * 4], &pair->pixels[(y * 320 + e * 160) * 4], 160 * 4);
		struct eye_scene eye = {
			.base = {.prepare = eye_prepare, .camera = eye_camera, .update = eye_update, .draw = eye_draw,
			         .clear_color = {scene->clear_color[0], scene->clear_color[1], scene->clear_color[2], 1}},
			.inner = scene,
			.eye = e,
		};
		CHECK(app_run(ctx, mono, &eye.base, &loop) == CV_OK);
		cv_image_save_png(e ? "stereo_expected_right.png" : "stereo_expected_left.png", offscreen_image(mono));
		CHECK(cv_image_match(&half[e], offscreen_image(mono), &rule, e ? "right eye against mono" : "left eye against mono") == CV_OK);
	}
	struct cv_image_diff d;
	CHECK(cv_image_diff(&half[0], &half[1], 8, &d) == CV_OK);
	CHECK_MSG(d.pixels_over > 160 * 120 / 50, "the eyes barely differ (%llu pixels)", (unsigned long long)d.pixels_over);
	cv_image_fini(&half[0]);
	cv_image_fini(&half[1]);
done:
	presenter_destroy(&stereo);
	presenter_destroy(&mono);
	app_scene_destroy(&scene, ctx);
}

int main(void)
{
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_testscene_golden);
	RUN(test_stereo_matches_mono_eyes);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
