/* A small test harness: each test program runs its cases, counts checks and exits non-zero on failure.
 * CTest runs one program per module; CHECK failures print file:line and the failed expression. */
#ifndef CAVR_TEST_H
#define CAVR_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static int test_checks, test_failures;

#define CHECK(cond)                                                              \
	do {                                                                         \
		test_checks++;                                                           \
		if (!(cond)) {                                                           \
			test_failures++;                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                        \
	} while (0)

#define CHECK_MSG(cond, ...)                                                     \
	do {                                                                         \
		test_checks++;                                                           \
		if (!(cond)) {                                                           \
			test_failures++;                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
		}                                                                        \
	} while (0)

#define RUN(test_fn)                                                             \
	do {                                                                         \
		int before_ = test_failures;                                             \
		test_fn();                                                               \
		printf("%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #test_fn);  \
		fflush(stdout);                                                          \
	} while (0)

/* A fresh scratch folder $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR) in `out`; false, after saying why, when it
 * cannot be made. */
static inline bool test_scratch_dir(const char *name, char *out, size_t size)
{
	const char *base = getenv("TMPDIR");
	snprintf(out, size, "%s/%s-XXXXXX", base && base[0] ? base : "/tmp", name);
	if (mkdtemp(out)) return true;
	perror("mkdtemp");
	return false;
}

static inline int test_finish(void)
{
	printf("%d checks, %d failed\n", test_checks, test_failures);
	return test_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
