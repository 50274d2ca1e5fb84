#include "image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

enum cv_result cv_image_init(struct cv_image *img, uint32_t width, uint32_t height)
{
	img->width = width;
	img->height = height;
	img->pixels = calloc((size_t)width * height, 4);
	if (!img->pixels && width && height) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "image %ux%u", width, height);
	return CV_OK;
}

void cv_image_fini(struct cv_image *img)
{
	free(img->pixels);
	memset(img, 0, sizeof(*img));
}

enum cv_result cv_image_load_png(const char *path, struct cv_image *img)
{
	memset(img, 0, sizeof(*img));
	int w, h, n;
	uint8_t *p = stbi_load(path, &w, &h, &n, 4);
	if (!p) return CV_FAIL(CV_ERROR_IO, "cannot load image '%s': %s", path, stbi_failure_reason());
	CV_TRY(cv_image_init(img, (uint32_t)w, (uint32_t)h));
	memcpy(img->pixels, p, (size_t)w * h * 4);
	stbi_image_free(p);
	return CV_OK;
}

enum cv_result cv_image_save_png(const char *path, const struct cv_image *img)
{
	if (!stbi_write_png(path, (int)img->width, (int)img->height, 4, img->pixels, (int)img->width * 4))
		return CV_FAIL(CV_ERROR_IO, "cannot write image '%s'", path);
	return CV_OK;
}

enum cv_result cv_image_diff(const struct cv_image *a, const struct cv_image *b, uint32_t tolerance,
                             struct cv_image_diff *out)
{
	memset(out, 0, sizeof(*out));
	if (a->width != b->width || a->height != b->height)
		return CV_FAIL(CV_ERROR_MISMATCH, "image sizes differ: %ux%u against %ux%u", a->width, a->height, b->width,
		               b->height);
	size_t count = (size_t)a->width * a->height;
	double sq = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t worst = 0;
		for (int c = 0; c < 3; c++) {
			int d = abs((int)a->pixels[i * 4 + c] - (int)b->pixels[i * 4 + c]);
			sq += (double)d * d;
			if ((uint32_t)d > worst) worst = (uint32_t)d;
		}
		if (worst > out->max_delta) out->max_delta = worst;
		if (worst > tolerance) out->pixels_over++;
	}
	double mse = count ? sq / (double)(count * 3) : 0;
	out->psnr_db = mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
	out->fraction_over = count ? (double)out->pixels_over / (double)count : 0;
	return CV_OK;
}

enum cv_result cv_image_match(const struct cv_image *actual, const struct cv_image *expected,
                              const struct cv_image_match *rule, const char *what)
{
	struct cv_image_diff d;
	CV_TRY(cv_image_diff(actual, expected, rule->tolerance, &d));
	if (d.psnr_db < rule->min_psnr_db || d.fraction_over > rule->max_fraction)
		return CV_FAIL(CV_ERROR_MISMATCH,
		               "%s differs: PSNR %.2f dB (need >= %.1f), %.4f%% of pixels off by more than %u (allowed %.4f%%), "
		               "max delta %u",
		               what, d.psnr_db, rule->min_psnr_db, d.fraction_over * 100, rule->tolerance,
		               rule->max_fraction * 100, d.max_delta);
	CV_DEBUG("%s matches: PSNR %.2f dB, max delta %u", what, d.psnr_db, d.max_delta);
	return CV_OK;
}
