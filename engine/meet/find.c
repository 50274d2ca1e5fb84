/* Finding a participant's avatar file on this machine: by the path a recording or an announcement names, then by
 * its file name in the avatar folders, always checked against the SHA-256 the sender named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "meet.h"

static bool hash_matches(const char *path, const uint8_t hash[SESSION_HASH_SIZE])
{
	uint8_t got[SESSION_HASH_SIZE];
	/* Candidates that are not there, or are not regular files (a FIFO would block, /dev/zero never end), are
	 * passed over quietly; session_hash_file checks again on what it opens. */
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SESSION_MAX_AVATAR_BYTES) return false;
	return session_hash_file(path, got) == CV_OK && !memcmp(got, hash, SESSION_HASH_SIZE);
}

/* Tries dir/name; on a match copies it to out. */
static bool try_candidate(const char *dir, size_t dir_len, const char *name, const uint8_t hash[SESSION_HASH_SIZE],
                          char *out, size_t out_size)
{
	char path[SESSION_MAX_PATH * 2 + 2];
	int n = dir_len ? snprintf(path, sizeof(path), "%.*s/%s", (int)dir_len, dir, name) : snprintf(path, sizeof(path), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= out_size) return false;
	if (!hash_matches(path, hash)) return false;
	memcpy(out, path, (size_t)n + 1);
	return true;
}

enum cv_result meet_find_avatar(const char *base_dir, const char *path, const uint8_t hash[SESSION_HASH_SIZE],
                                char *out, size_t out_size)
{
	if (!path || !*path || !out || !out_size) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "meet_find_avatar");
	const char *base = base_dir && *base_dir ? base_dir : ".";
	if (try_candidate(base, strlen(base), path, hash, out, out_size)) return CV_OK;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	const char *env = getenv("CAVR_AVATAR_PATH");
	for (const char *d = env; d && *d;) {
		size_t len = strcspn(d, ":");
		if (len && try_candidate(d, len, name, hash, out, out_size)) return CV_OK;
		d += len + (d[len] == ':');
	}
	/* A session stored in a subfolder of the avatar folder (assets/sessions/ beside the avatars in assets/). */
	char parent[SESSION_MAX_PATH + 8];
	snprintf(parent, sizeof(parent), "%s/..", base);
	if (try_candidate(parent, strlen(parent), name, hash, out, out_size)) return CV_OK;
	const char *assets = CAVR_SOURCE_DIR "/assets";
	if (try_candidate(assets, strlen(assets), name, hash, out, out_size)) return CV_OK;
	char hex[2 * SESSION_HASH_SIZE + 1];
	for (int i = 0; i < SESSION_HASH_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	out[0] = '\0';
	return CV_FAIL(CV_ERROR_IO,
	               "avatar %s (sha256 %.16s...) not found in %s, CAVR_AVATAR_PATH or the shipped assets, or its "
	               "contents differ", path, hex, base);
}
