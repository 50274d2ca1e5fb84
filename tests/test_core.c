/* Unit tests of engine/core: results, files and image comparison. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/image.h"
#include "test.h"

static void test_result_strings(void)
{
	CHECK(!strcmp(cv_result_str(CV_OK), "ok"));
	CHECK(!strcmp(cv_result_str(CV_ERROR_IO), "i/o error"));
	CHECK(!strcmp(cv_result_str((enum cv_result)-999), "unknown result"));
	CHECK(CV_FAIL(CV_ERROR_FORMAT, "expected failure %d", 42) == CV_ERROR_FORMAT);
}

static void test_file_roundtrip(void)
{
	char path[] = "/tmp/cavr-test-core-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	const char text[] = "codec avatar";
	CHECK(cv_file_write(path, text, sizeof(text) - 1) == CV_OK);
	void *data;
	size_t size;
	CHECK(cv_file_read(path, &data, &size) == CV_OK);
	CHECK(size == sizeof(text) - 1);
	CHECK(data && !memcmp(data, text, size) && ((char *)data)[size] == '\0');
	free(data);
	unlink(path);
	CHECK(cv_file_read("/nonexistent/cavr/file", &data, &size) == CV_ERROR_IO);
	CHECK(data == NULL && size == 0);
	CHECK(cv_file_write("/nonexistent/cavr/file", text, 1) == CV_ERROR_IO);
}

static void test_overflow_helpers(void)
{
	size_t out;
	CHECK(!cv_mul_overflows(1u << 20, 1u << 10, &out) && out == (size_t)1 << 30);
	CHECK(cv_mul_overflows(SIZE_MAX / 2 + 1, 2, &out));
	CHECK(cv_add_overflows(SIZE_MAX, 1, &out));
}

/* PSNR by hand: one channel of one pixel in a 2x2 image off by 10 gives MSE 100/12. */
static void test_image_diff(void)
{
	struct cv_image a, b;
	CHECK(cv_image_init(&a, 2, 2) == CV_OK);
	CHECK(cv_image_init(&b, 2, 2) == CV_OK);
	struct cv_image_diff d;
	CHECK(cv_image_diff(&a, &b, 0, &d) == CV_OK);
	CHECK(isinf(d.psnr_db) && d.max_delta == 0 && d.pixels_over == 0);
	b.pixels[1] = 10;
	b.pixels[3] = 200; /* alpha is ignored */
	CHECK(cv_image_diff(&a, &b, 5, &d) == CV_OK);
	double expected = 10.0 * log10(255.0 * 255.0 / (100.0 / 12.0));
	CHECK_MSG(fabs(d.psnr_db - expected) < 1e-9, "psnr %f, expected %f", d.psnr_db, expected);
	CHECK(d.max_delta == 10 && d.pixels_over == 1 && fabs(d.fraction_over - 0.25) < 1e-12);
	CHECK(cv_image_diff(&a, &b, 10, &d) == CV_OK && d.pixels_over == 0);
	struct cv_image_match strict = {.tolerance = 2, .max_fraction = 0.0, .min_psnr_db = 40};
	CHECK(cv_image_match(&a, &a, &strict, "same image") == CV_OK);
	CHECK(cv_image_match(&a, &b, &strict, "expected mismatch") == CV_ERROR_MISMATCH);
	struct cv_image c;
	CHECK(cv_image_init(&c, 3, 2) == CV_OK);
	CHECK(cv_image_diff(&a, &c, 0, &d) == CV_ERROR_MISMATCH);
	cv_image_fini(&a);
	cv_image_fini(&b);
	cv_image_fini(&c);
}

static void test_png_roundtrip(void)
{
	struct cv_image a, b;
	CHECK(cv_image_init(&a, 7, 3) == CV_OK);
	for (size_t i = 0; i < 7 * 3 * 4; i++) a.pixels[i] = (uint8_t)(i * 37);
	const char *path = "/tmp/cavr-test-core.png";
	CHECK(cv_image_save_png(path, &a) == CV_OK);
	CHECK(cv_image_load_png(path, &b) == CV_OK);
	CHECK(b.width == 7 && b.height == 3 && !memcmp(a.pixels, b.pixels, 7 * 3 * 4));
	unlink(path);
	cv_image_fini(&b);
	CHECK(cv_image_load_png("/nonexistent.png", &b) == CV_ERROR_IO);
	CHECK(cv_file_write(path, "not a png", 9) == CV_OK);
	CHECK(cv_image_load_png(path, &b) == CV_ERROR_IO);
	unlink(path);
	cv_image_fini(&a);
}

int main(void)
{
	RUN(test_result_strings);
	RUN(test_file_roundtrip);
	RUN(test_overflow_helpers);
	RUN(test_image_diff);
	RUN(test_png_roundtrip);
	return test_finish();
}
