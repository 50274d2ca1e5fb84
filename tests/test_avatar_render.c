/* A decoded avatar drawn by the renderer: the card avatar (tests/make_card_avatar.py) is a square whose texture
 * has four coloured quadrants, so a front view must show each colour where the file's uvs put it. The colours
 * come from the script, not from cavr. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "test.h"

static struct gpu_context *ctx;
static const char *dir;

static void expect_colour(const struct cv_image *img, uint32_t x, uint32_t y, const float rgb[3], const char *what)
{
	const uint8_t *p = &img->pixels[(y * img->width + x) * 4];
	int worst = 0;
	for (int c = 0; c < 3; c++) {
		int want = (int)(rgb[c] * 255.0f + 0.5f);
		int d = abs(want - p[c]);
		if (d > worst) worst = d;
	}
	CHECK_MSG(worst <= 4, "%s at (%u,%u): got %u,%u,%u, want %.0f,%.0f,%.0f", what, x, y, p[0], p[1], p[2],
	          rgb[0] * 255, rgb[1] * 255, rgb[2] * 255);
}

static void test_card_quadrants(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/card.cavatar", dir);
	struct app_scene *scene = NULL;
	struct presenter *p = NULL;
	CHECK(app_avatar_scene_create(path, 1, false, &scene) == CV_OK);
	CHECK(offscreen_create(ctx, &(struct offscreen_desc){.width = 128, .height = 128}, &p) == CV_OK);
	if (!scene || !p) goto done;
	CHECK(app_run(ctx, p, scene, &(struct app_loop_desc){.frames = 1, .fixed_fps = 30}) == CV_OK);
	const struct cv_image *img = offscreen_image(p);
	cv_image_save_png("card_actual.png", img);
	/* The card spans about 64 +- 53 pixels; quadrant centres sit 26 pixels from the middle. */
	expect_colour(img, 38, 38, (const float[]){0.8f, 0.1f, 0.1f}, "top left (red)");
	expect_colour(img, 90, 38, (const float[]){0.1f, 0.7f, 0.2f}, "top right (green)");
	expect_colour(img, 38, 90, (const float[]){0.15f, 0.2f, 0.85f}, "bottom left (blue)");
	expect_colour(img, 90, 90, (const float[]){0.95f, 0.95f, 0.9f}, "bottom right (white)");
	/* outside the card: the clear colour (linear 0.05, 0.055, 0.06 encoded as sRGB) */
	const uint8_t *corner = &img->pixels[(4 * 128 + 4) * 4];
	CHECK_MSG(corner[0] < 80 && corner[1] < 80 && corner[2] < 80, "corner is %u,%u,%u", corner[0], corner[1], corner[2]);
done:
	presenter_destroy(&p);
	app_scene_destroy(&scene, ctx);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "avatars";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_card_quadrants);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
