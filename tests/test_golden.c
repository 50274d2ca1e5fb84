/* Golden image of the built-in test scene, and proof that the comparison rejects a different picture.
 * The golden PNG is committed (tests/golden/testscene.png) and was checked by eye; regenerate it with
 * CAVR_UPDATE_GOLDEN=1 only when the scene is meant to change, and look at it before committing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "test.h"

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
	char golden_path[4096];
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(golden_path, sizeof(golden_path), "%s/tests/golden/testscene.png", src ? src : ".");
	struct cv_image actual, golden, moved;
	CHECK(render(0.0f, &actual) == CV_OK);
	CHECK(cv_image_save_png("testscene_actual.png", &actual) == CV_OK);
	const char *update = getenv("CAVR_UPDATE_GOLDEN");
	if (update && update[0] == '1') {
		CHECK(cv_image_save_png(golden_path, &actual) == CV_OK);
		printf("wrote %s: look at it before committing\n", golden_path);
	}
	if (cv_image_load_png(golden_path, &golden) != CV_OK) {
		CHECK_MSG(false, "no golden image; render one with CAVR_UPDATE_GOLDEN=1 and look at it");
		cv_image_fini(&actual);
		return;
	}
	CHECK(cv_image_match(&actual, &golden, &rule, "test scene") == CV_OK);

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

int main(void)
{
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_testscene_golden);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
