/* A decoded avatar drawn by the renderer: the card avatar (tests/make_card_avatar.py) is a square whose texture
 * has four coloured quadrants, so a front view must show each colour where the file's uvs put it. The colours
 * come from the script, not from cavr. */
#include <math.h>
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

/* Pixels of `img` inside the box that are not the clear colour, and their mean colour. */
static uint32_t head_pixels(const struct cv_image *img, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, double mean[3])
{
	uint32_t n = 0;
	mean[0] = mean[1] = mean[2] = 0;
	for (uint32_t y = y0; y < y1; y++)
		for (uint32_t x = x0; x < x1; x++) {
			const uint8_t *p = &img->pixels[(y * img->width + x) * 4];
			if (p[0] < 80 && p[1] < 80 && p[2] < 80) continue;
			n++;
			for (int c = 0; c < 3; c++) mean[c] += p[c];
		}
	for (int c = 0; c < 3; c++) mean[c] /= n ? n : 1;
	return n;
}

/* One frame of `cavr view FILE` (the still expression), 96x96. */
static bool view_frame(const char *file, struct cv_image *out)
{
	char path[4096];
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/assets/%s", src ? src : ".", file);
	struct app_scene *scene = NULL;
	struct presenter *p = NULL;
	bool ok = app_avatar_scene_create(path, 1, false, &scene) == CV_OK &&
	          offscreen_create(ctx, &(struct offscreen_desc){.width = 96, .height = 96}, &p) == CV_OK &&
	          app_run(ctx, p, scene, &(struct app_loop_desc){.frames = 1, .fixed_fps = 30}) == CV_OK &&
	          cv_image_init(out, 96, 96) == CV_OK;
	if (ok) memcpy(out->pixels, offscreen_image(p)->pixels, 96 * 96 * 4);
	presenter_destroy(&p);
	app_scene_destroy(&scene, ctx);
	return ok;
}

/* Issue 14 finding 3: `cavr view` on a Gaussian avatar read the dam family's mesh and crashed. It shows the head,
 * splatted: the middle of the picture is face, with about the colours of the mesh avatar it was distilled from. */
static void test_gaussian_view(void)
{
	struct cv_image gs = {0}, mesh = {0};
	CHECK(view_frame("ana-gs.cavatar", &gs));
	CHECK(view_frame("ana.cavatar", &mesh));
	if (!gs.pixels || !mesh.pixels) goto done;
	cv_image_save_png("ana_gs_view.png", &gs);
	double g[3], m[3], corner[3];
	uint32_t face = head_pixels(&gs, 36, 24, 60, 48, g), face_mesh = head_pixels(&mesh, 36, 24, 60, 48, m);
	CHECK_MSG(face > 24 * 24 * 9 / 10 && face_mesh > 24 * 24 * 9 / 10, "face pixels: %u splatted, %u mesh", face,
	          face_mesh);
	CHECK_MSG(head_pixels(&gs, 0, 0, 8, 8, corner) == 0, "the corner is not the background");
	CHECK_MSG(fabs(g[0] - m[0]) < 30 && fabs(g[1] - m[1]) < 30 && fabs(g[2] - m[2]) < 30 && g[0] > g[2] + 20,
	          "face colour %.0f,%.0f,%.0f splatted, %.0f,%.0f,%.0f mesh", g[0], g[1], g[2], m[0], m[1], m[2]);
done:
	cv_image_fini(&gs);
	cv_image_fini(&mesh);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "avatars";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_card_quadrants);
	RUN(test_gaussian_view);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
