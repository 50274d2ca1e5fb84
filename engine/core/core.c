#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

enum cv_result cv_file_open_regular(const char *path, uint64_t max_size, unsigned flags, int *fd, uint64_t *size)
{
	*fd = -1;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (flags & CV_FILE_NOFOLLOW ? O_NOFOLLOW : 0));
	if (f < 0 && errno == ELOOP && (flags & CV_FILE_NOFOLLOW))
		return CV_FAIL(CV_ERROR_IO, "cannot open '%s': a symbolic link is not accepted here", path);
	if (f < 0) return CV_FAIL(CV_ERROR_IO, "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	enum cv_result r = CV_OK;
	if (fstat(f, &st) != 0) r = CV_FAIL(CV_ERROR_IO, "cannot stat '%s': %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode)) r = CV_FAIL(CV_ERROR_IO, "'%s' is not a regular file", path);
	else if ((uint64_t)st.st_size > max_size)
		r = CV_FAIL(CV_ERROR_IO, "'%s' is larger than %llu bytes", path, (unsigned long long)max_size);
	else if (fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0)
		r = CV_FAIL(CV_ERROR_IO, "cannot read '%s': %s", path, strerror(errno));
	if (r != CV_OK) {
		close(f);
		return r;
	}
	*fd = f;
	if (size) *size = (uint64_t)st.st_size;
	return CV_OK;
}

enum cv_result cv_file_read_max(const char *path, size_t max_size, void **out_data, size_t *out_size)
{
	*out_data = NULL;
	*out_size = 0;
	int fd;
	uint64_t expected;
	if (max_size >= SIZE_MAX) max_size = SIZE_MAX - 1;
	CV_TRY(cv_file_open_regular(path, max_size, 0, &fd, &expected));
	/* The size is a hint (the file may change while read); the cap holds whatever happens. */
	size_t cap = (size_t)expected + 1, size = 0;
	char *data = malloc(cap + 1);
	enum cv_result r = data ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "reading '%s'", path);
	while (r == CV_OK) {
		if (size == cap) {
			size_t grown_cap = cap > max_size / 2 ? max_size + 1 : cap * 2;
			char *grown = grown_cap > cap ? realloc(data, grown_cap + 1) : NULL;
			if (!grown) {
				r = grown_cap > cap ? CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "reading '%s'", path)
				                    : CV_FAIL(CV_ERROR_IO, "'%s' is larger than %zu bytes", path, max_size);
				break;
			}
			data = grown;
			cap = grown_cap;
		}
		ssize_t n = read(fd, data + size, cap - size);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) r = CV_FAIL(CV_ERROR_IO, "cannot read '%s': %s", path, strerror(errno));
		if (n <= 0) break;
		size += (size_t)n;
		if (size > max_size) r = CV_FAIL(CV_ERROR_IO, "'%s' is larger than %zu bytes", path, max_size);
	}
	close(fd);
	if (r != CV_OK) {
		free(data);
		return r;
	}
	data[size] = '\0';
	*out_data = data;
	*out_size = size;
	return CV_OK;
}

enum cv_result cv_file_read(const char *path, void **out_data, size_t *out_size)
{
	return cv_file_read_max(path, CV_FILE_READ_MAX, out_data, out_size);
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
