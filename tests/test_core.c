/* Unit tests of engine/core: results, files and image comparison. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Names from untrusted input open regular files only, without blocking, within a size cap (issue 14 finding 7). */
static void test_untrusted_files(void)
{
	char dir[512], path[600], fifo[600], link[600];
	if (!test_scratch_dir("cavr-test-core", dir, sizeof(dir))) return;
	snprintf(path, sizeof(path), "%s/ten", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/zero", dir);
	CHECK(cv_file_write(path, "0123456789", 10) == CV_OK);
	CHECK(mkfifo(fifo, 0600) == 0 && symlink("/dev/zero", link) == 0);
	cv_log_set_level(CV_LOG_ERROR + 1);
	void *data = NULL;
	size_t size = 0;
	CHECK(cv_file_read_max(path, 10, &data, &size) == CV_OK && size == 10 && !memcmp(data, "0123456789", 10));
	free(data);
	CHECK(cv_file_read_max(path, 9, &data, &size) == CV_ERROR_IO && !data);
	CHECK(cv_file_read(fifo, &data, &size) == CV_ERROR_IO); /* would block for a writer */
	CHECK(cv_file_read(link, &data, &size) == CV_ERROR_IO); /* would never end */
	CHECK(cv_file_read("/dev/zero", &data, &size) == CV_ERROR_IO);
	CHECK(cv_file_read(dir, &data, &size) == CV_ERROR_IO);
	int fd = -1;
	uint64_t n = 0;
	CHECK(cv_file_open_regular(path, 100, 0, &fd, &n) == CV_OK && fd >= 0 && n == 10);
	if (fd >= 0) close(fd);
	snprintf(link, sizeof(link), "%s/ten-link", dir);
	CHECK(symlink(path, link) == 0);
	CHECK(cv_file_open_regular(link, 100, 0, &fd, &n) == CV_OK);
	if (fd >= 0) close(fd);
	CHECK(cv_file_open_regular(link, 100, CV_FILE_NOFOLLOW, &fd, &n) == CV_ERROR_IO && fd == -1);
	cv_log_set_level(CV_LOG_INFO);
	unlink(link);
	snprintf(link, sizeof(link), "%s/zero", dir);
	unlink(link);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

/* C0, DEL and UTF-8 C1 (CSI is U+009B) are control characters; other UTF-8 is not. */
static void test_control_chars(void)
{
	CHECK(cv_control_char_len((const unsigned char *)"\x1b[2J", 5) == 1);
	CHECK(cv_control_char_len((const unsigned char *)"\x7f", 1) == 1);
	CHECK(cv_control_char_len((const unsigned char *)"\xc2\x9b" "2J", 4) == 2);
	CHECK(cv_control_char_len((const unsigned char *)"\xc2\x80", 2) == 2);
	CHECK(cv_control_char_len((const unsigned char *)"\xc2\xa0", 2) == 0); /* no-break space */
	CHECK(cv_control_char_len((const unsigned char *)"\xc3\xa9", 2) == 0); /* e acute */
	CHECK(cv_control_char_len((const unsigned char *)"\xc2", 1) == 0);
	CHECK(cv_control_char_len((const unsigned char *)"a", 1) == 0);
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
	RUN(test_untrusted_files);
	RUN(test_control_chars);
	RUN(test_overflow_helpers);
	RUN(test_image_diff);
	RUN(test_png_roundtrip);
	return test_finish();
}
