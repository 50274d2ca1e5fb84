/* image: 8-bit RGBA images in memory, PNG files (stb_image / stb_image_write), and the comparison that
 * golden-image tests use. An image owns its pixels: cv_image_fini frees them. */
#ifndef CAVR_IMAGE_H
#define CAVR_IMAGE_H

#include <stdint.h>

#include "core.h"

struct cv_image {
	uint32_t width, height;
	uint8_t *pixels; /* width * height * 4 bytes, rows top to bottom */
};

enum cv_result cv_image_init(struct cv_image *img, uint32_t width, uint32_t height);
void cv_image_fini(struct cv_image *img);
enum cv_result cv_image_load_png(const char *path, struct cv_image *img);
enum cv_result cv_image_save_png(const char *path, const struct cv_image *img);

struct cv_image_diff {
	double psnr_db;        /* over RGB; INFINITY for identical images */
	uint32_t max_delta;    /* largest channel difference, 0..255 */
	uint64_t pixels_over;  /* pixels with any channel differing by more than the tolerance */
	double fraction_over;  /* pixels_over / pixel count */
};

/* Compares RGB channels (alpha ignored); fails only for differing sizes. */
enum cv_result cv_image_diff(const struct cv_image *a, const struct cv_image *b, uint32_t tolerance,
                             struct cv_image_diff *out);

/* What a golden test accepts: PSNR at least min_psnr_db and at most max_fraction of pixels over tolerance. */
struct cv_image_match {
	uint32_t tolerance;
	double max_fraction;
	double min_psnr_db;
};
/* CV_OK when `actual` matches `expected`; CV_ERROR_MISMATCH (logged with figures) when it does not. */
enum cv_result cv_image_match(const struct cv_image *actual, const struct cv_image *expected,
                              const struct cv_image_match *rule, const char *what);

#endif
