#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *cv_result_str(enum cv_result r)
{
	switch (r) {
	case CV_OK: return "ok";
	case CV_ERROR_INVALID_ARGUMENT: return "invalid argument";
	case CV_ERROR_IO: return "i/o error";
	case CV_ERROR_FORMAT: return "bad format";
	case CV_ERROR_OUT_OF_MEMORY: return "out of memory";
	case CV_ERROR_UNSUPPORTED: return "unsupported";
	case CV_ERROR_GPU: return "gpu error";
	case CV_ERROR_WINDOW: return "window error";
	case CV_ERROR_MISMATCH: return "mismatch";
	}
	return "unknown result";
}

static int log_level = -1; /* -1: not yet read from CAVR_LOG */

static enum cv_log_level log_level_from_env(void)
{
	const char *s = getenv("CAVR_LOG");
	if (!s) return CV_LOG_INFO;
	if (!strcasecmp(s, "debug")) return CV_LOG_DEBUG;
	if (!strcasecmp(s, "warn")) return CV_LOG_WARN;
	if (!strcasecmp(s, "error")) return CV_LOG_ERROR;
	return CV_LOG_INFO;
}

void cv_log_set_level(enum cv_log_level level) { log_level = (int)level; }

enum cv_log_level cv_log_get_level(void)
{
	if (log_level < 0) log_level = (int)log_level_from_env();
	return (enum cv_log_level)log_level;
}

static void log_v(enum cv_log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	if (level < cv_log_get_level()) return;
	/* Info goes to stdout as plain text; the rest to stderr with its origin, for bug reports. */
	if (level == CV_LOG_INFO) {
		vfprintf(stdout, fmt, ap);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	const char *base = strrchr(file, '/');
	fprintf(stderr, "cavr %s: ", names[level]);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (%s:%d)\n", base ? base + 1 : file, line);
}

void cv_log(enum cv_log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(level, file, line, fmt, ap);
	va_end(ap);
}

enum cv_result cv_fail(enum cv_result r, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(CV_LOG_ERROR, file, line, fmt, ap);
	va_end(ap);
	return r;
}

enum cv_result cv_file_read(const char *path, void **out_data, size_t *out_size)
{
	*out_data = NULL;
	*out_size = 0;
	FILE *f = fopen(path, "rb");
	if (!f) return CV_FAIL(CV_ERROR_IO, "cannot open '%s': %s", path, strerror(errno));
	char *data = NULL;
	size_t size = 0, cap = 0;
	for (;;) {
		if (cap - size < 65536) {
			cap = cap ? cap * 2 : 65536 * 2;
			char *grown = realloc(data, cap + 1);
			if (!grown) {
				free(data);
				fclose(f);
				return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "reading '%s'", path);
			}
			data = grown;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0) break;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		free(data);
		return CV_FAIL(CV_ERROR_IO, "cannot read '%s'", path);
	}
	data[size] = '\0';
	*out_data = data;
	*out_size = size;
	return CV_OK;
}

enum cv_result cv_file_write(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f) return CV_FAIL(CV_ERROR_IO, "cannot create '%s': %s", path, strerror(errno));
	size_t n = fwrite(data, 1, size, f);
	int closed = fclose(f);
	if (n != size || closed != 0) return CV_FAIL(CV_ERROR_IO, "cannot write '%s'", path);
	return CV_OK;
}

double cv_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
