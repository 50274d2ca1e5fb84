/* core: what every cavr module stands on.
 * One result enum for the whole engine, a logger, and a log-and-return helper that records
 * where an error was first seen. Errors are returned, never abort()ed: callers decide. */
#ifndef CAVR_CORE_H
#define CAVR_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum cv_result {
	CV_OK = 0,
	CV_ERROR_INVALID_ARGUMENT = -1, /* a caller passed something the API does not accept */
	CV_ERROR_IO = -2,               /* a file could not be opened, read or written */
	CV_ERROR_FORMAT = -3,           /* bytes that do not parse: a malformed or hostile file */
	CV_ERROR_OUT_OF_MEMORY = -4,
	CV_ERROR_UNSUPPORTED = -5,      /* a device, file or runtime lacks something cavr needs */
	CV_ERROR_GPU = -6,              /* a Vulkan call failed */
	CV_ERROR_WINDOW = -7,           /* no window could be opened */
	CV_ERROR_MISMATCH = -8,         /* a comparison (golden image, reference) failed */
};

const char *cv_result_str(enum cv_result r);

enum cv_log_level { CV_LOG_DEBUG, CV_LOG_INFO, CV_LOG_WARN, CV_LOG_ERROR };

/* Messages below the level are dropped; CAVR_LOG=debug|info|warn|error sets it at start-up. */
void cv_log_set_level(enum cv_log_level level);
enum cv_log_level cv_log_get_level(void);
void cv_log(enum cv_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define CV_DEBUG(...) cv_log(CV_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define CV_INFO(...) cv_log(CV_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define CV_WARN(...) cv_log(CV_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)

/* Logs an error with its file:line and returns the code: `return CV_FAIL(CV_ERROR_IO, "open %s", p);` */
enum cv_result cv_fail(enum cv_result r, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define CV_FAIL(result, ...) cv_fail((result), __FILE__, __LINE__, __VA_ARGS__)

/* Propagates a failure without logging again (the callee already said what went wrong). */
#define CV_TRY(expr)                                   \
	do {                                               \
		enum cv_result cv_try_r_ = (expr);             \
		if (cv_try_r_ != CV_OK) return cv_try_r_;      \
	} while (0)

/* Opens a file named by untrusted input for reading: a regular file only (a FIFO, device or folder could block
 * or never end), of at most `max_size` bytes; with CV_FILE_NOFOLLOW a symbolic link is refused too. Never blocks
 * in open. Errors name the path, never the contents. *size (optional) is the file's size. Close the fd. */
#define CV_FILE_NOFOLLOW 1u
enum cv_result cv_file_open_regular(const char *path, uint64_t max_size, unsigned flags, int *fd, uint64_t *size);
/* Whole-file read of a regular file of at most `max_size` bytes into a malloc'd buffer (NUL-terminated for text
 * use; size excludes the NUL). */
enum cv_result cv_file_read_max(const char *path, size_t max_size, void **out_data, size_t *out_size);
/* cv_file_read_max with CV_FILE_READ_MAX. */
#define CV_FILE_READ_MAX ((size_t)256 << 20)
enum cv_result cv_file_read(const char *path, void **out_data, size_t *out_size);
enum cv_result cv_file_write(const char *path, const void *data, size_t size);

/* The length of the control character at s[0] (of `left` bytes), 0 when there is none: C0 (below 0x20), DEL, and C1
 * (U+0080..U+009F, UTF-8 C2 80..C2 9F: U+009B is a terminal's CSI). Text from files and packets that may reach a
 * terminal is refused or masked where this says so. */
static inline size_t cv_control_char_len(const unsigned char *s, size_t left)
{
	if (!left) return 0;
	if (s[0] < 0x20 || s[0] == 0x7f) return 1;
	if (s[0] == 0xc2 && left > 1 && s[1] >= 0x80 && s[1] <= 0x9f) return 2;
	return 0;
}

/* Size arithmetic that reports overflow instead of wrapping: untrusted sizes go through these. */
static inline int cv_mul_overflows(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }
static inline int cv_add_overflows(size_t a, size_t b, size_t *out) { return __builtin_add_overflow(a, b, out); }

/* Monotonic wall clock in seconds, for progress and benchmarks (never for test assertions). */
double cv_time_now(void);

#endif
