/* The one golden rule every image test follows. A golden lives in tests/golden/ and was looked at by eye; a
 * render is compared with it under a cv_image_match rule, and saved beside the test (NAME_actual.png in the
 * working folder) so a failure can be looked at too. CAVR_UPDATE_GOLDEN=1 rewrites the golden from the render:
 * only for an intended change, and look at it before committing. A missing golden fails. */
#ifndef CAVR_TEST_GOLDEN_H
#define CAVR_TEST_GOLDEN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/image.h"
#include "test.h"

/* A file of the source tree (CAVR_SOURCE_DIR, else the working folder) in `out`. */
static inline const char *test_source_path(const char *relative, char *out, size_t size)
{
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(out, size, "%s/%s", src && src[0] ? src : ".", relative);
	return out;
}

/* Checks `actual` against tests/golden/`name`.png (after saving it as the actual render and, when updating,
 * as the golden). The golden is left in `golden` for the caller's own checks (caller frees; zeroed when there
 * is none). Returns whether it matched. */
static inline bool test_golden_check(const struct cv_image *actual, const char *name,
                                     const struct cv_image_match *rule, struct cv_image *golden)
{
	char relative[2048], path[4096], saved[2048];
	*golden = (struct cv_image){0};
	snprintf(relative, sizeof(relative), "tests/golden/%s.png", name);
	test_source_path(relative, path, sizeof(path));
	snprintf(saved, sizeof(saved), "%s_actual.png", name);
	for (char *c = saved; *c; c++)
		if (*c == '/') *c = '_';
	if (!actual->pixels) {
		CHECK_MSG(false, "no render to compare with %s", path);
		return false;
	}
	cv_image_save_png(saved, actual);
	const char *update = getenv("CAVR_UPDATE_GOLDEN");
	if (update && update[0] == '1') {
		CHECK(cv_image_save_png(path, actual) == CV_OK);
		printf("wrote %s: look at it before committing\n", path);
	}
	if (cv_image_load_png(path, golden) != CV_OK) {
		CHECK_MSG(false, "no golden %s; render it with CAVR_UPDATE_GOLDEN=1 and look at it", path);
		return false;
	}
	bool matched = cv_image_match(actual, golden, rule, name) == CV_OK;
	CHECK_MSG(matched, "%s does not match its golden", name);
	return matched;
}

#endif
