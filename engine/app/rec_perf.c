/* Performances (.cavperf): untrusted safetensors read into f32 arrays for `cavr rec import`, `cavr send --perf` and
 * `cavr bench codec` (rec_cli.h). Kept apart from the commands so the fuzz target (tests/fuzz/fuzz_cavperf.c)
 * builds it with the parsers it stands on. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/rec_cli.h"
#include "avatar/safetensors.h"
#include "codec/codec.h"
#include "session/session.h"

/* The tensor `name` with exactly these dimensions (rank = dims), else a format error naming both. */
static enum cv_result perf_tensor(const struct st_file *st, const char *name, uint32_t rank, const uint64_t *dims,
                                  bool optional, const struct st_tensor **out)
{
	*out = st_find(st, name);
	if (!*out) {
		if (optional) return CV_OK;
		return CV_FAIL(CV_ERROR_FORMAT, "%s: no tensor '%s'", st_path(st), name);
	}
	const struct st_tensor *t = *out;
	bool ok = t->rank == rank;
	for (uint32_t i = 0; ok && i < rank; i++) ok = t->shape[i] == dims[i];
	if (!ok) {
		char want[96] = "", got[96] = "";
		for (uint32_t i = 0; i < rank; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%llu", i ? ", " : "",
			         (unsigned long long)dims[i]);
		for (uint32_t i = 0; i < t->rank; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%llu", i ? ", " : "",
			         (unsigned long long)t->shape[i]);
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' has shape [%s], expected [%s]", st_path(st), name, got,
		               want);
	}
	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' is %s, expected F32, F16 or BF16", st_path(st), name,
		               st_dtype_name(t->dtype));
	return CV_OK;
}

/* Converts a checked tensor; its element count is bounded by the file's size, so the allocation is too. */
static enum cv_result perf_floats(const struct st_tensor *t, float **out)
{
	*out = malloc(t->count ? t->count * sizeof(float) : 1);
	if (!*out) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "tensor '%s'", t->name);
	return st_tensor_to_f32(t, *out, t->count);
}

static enum cv_result perf_finite(const struct st_file *st, const char *name, const float *v, size_t n, float limit)
{
	for (size_t i = 0; i < n; i++)
		if (!(fabsf(v[i]) <= limit))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' value %zu is %g (not finite or beyond %g)",
			               st_path(st), name, i, v[i], limit);
	return CV_OK;
}

/* Unit quaternions, made exactly unit for the encoder; `skip_nan` passes non-finite ones (untracked joints). */
static enum cv_result perf_quaternions(const struct st_file *st, const char *name, float *q, size_t n,
                                       bool skip_nan)
{
	for (size_t i = 0; i < n; i++, q += 4) {
		double s = (double)q[0] * q[0] + (double)q[1] * q[1] + (double)q[2] * q[2] + (double)q[3] * q[3];
		if (skip_nan && !isfinite(s)) continue;
		if (!(fabs(s - 1) <= 2e-3))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' row %zu is not a unit quaternion", st_path(st),
			               name, i);
		for (int c = 0; c < 4; c++) q[c] = (float)(q[c] / sqrt(s));
	}
	return CV_OK;
}

/* The index of `want` in a comma-separated list of `count` names, -1 when absent, -2 when the list has
 * another count. */
static int name_index(const char *list, const char *want, uint64_t count)
{
	int found = -1;
	uint64_t n = 0;
	for (const char *s = list;; n++) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (len == strlen(want) && !strncmp(s, want, len) && found < 0) found = (int)n;
		if (!comma) break;
		s = comma + 1;
	}
	return n + 1 == count ? found : -2;
}

/* A speech envelope from the jaw: it opens at once with each syllable and falls back over about 150 ms, so
 * the level stays up through a word. 0.6 is about the widest jaw_open of the sample performances' speech. */
static void perf_audio(struct rec_perf *p, const float *expressions, uint64_t k, int jaw)
{
	double release = exp(-1.0 / (p->fps * 0.15)), level = 0;
	for (uint32_t i = 0; i < p->frames; i++) {
		double target = fmin(fmax(expressions[(size_t)i * k + (size_t)jaw] / 0.6, 0), 1);
		level = target > level ? target : level * release + target * (1 - release);
		p->audio[i] = (float)fmin(fmax(level, 0), 1);
	}
}

static enum cv_result perf_parse(struct st_file *st, const char *path, struct rec_perf *p)
{
	const char *format = st_metadata(st, "format"), *version = st_metadata(st, "format_version");
	if (!format || strcmp(format, "cavperf"))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: not a performance (metadata format is '%s', expected 'cavperf')",
		               path, format ? format : "");
	if (!version || strcmp(version, "1"))
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: performance format_version '%s' (this cavr reads 1)", path,
		               version ? version : "");
	const char *fps = st_metadata(st, "fps"), *avatar = st_metadata(st, "avatar");
	char *end = NULL;
	p->fps = fps ? strtod(fps, &end) : 0;
	if (!fps || end == fps || *end || !(p->fps >= 1 && p->fps <= 1000))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata fps '%s' is not a rate in 1..1000", path, fps ? fps : "");
	if (!avatar || !avatar[0] || strlen(avatar) > SESSION_MAX_PATH)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata avatar is missing or longer than %d bytes", path,
		               SESSION_MAX_PATH);
	/* The file names its avatar below its own folder: never an absolute path or "..", which would open and import
	 * any file (PERF@AVATAR on the command line names one anywhere). The name is not echoed. */
	const char *problem = session_path_problem(avatar);
	if (problem)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata avatar must be a relative path below the performance's folder "
		               "(%s)", path, problem);

	/* The frame count and latent size come from codes; every other tensor must agree with them. */
	const struct st_tensor *codes = st_find(st, "codes");
	if (!codes || codes->rank != 2 || codes->shape[0] < 1 || codes->shape[0] > REC_PERF_MAX_FRAMES ||
	    codes->shape[1] < 1 || codes->shape[1] > CODEC_MAX_LATENT)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor 'codes' must be [frames 1..%u, latent 1..%d]", path,
		               REC_PERF_MAX_FRAMES, CODEC_MAX_LATENT);
	uint64_t n = codes->shape[0], z = codes->shape[1];
	p->frames = (uint32_t)n;
	p->latent = (uint32_t)z;
	const char *frames = st_metadata(st, "frames");
	if (frames && strtoull(frames, NULL, 10) != n)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata frames '%s' but 'codes' has %llu rows", path, frames,
		               (unsigned long long)n);
	const char *joints = st_metadata(st, "hand_joints");
	if (joints && name_index(joints, "palm", CODEC_HAND_JOINTS) != 0)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata hand_joints is not the %d OpenXR joints, palm first", path,
		               CODEC_HAND_JOINTS);

	const struct st_tensor *t;
	CV_TRY(perf_tensor(st, "codes", 2, (uint64_t[]){n, z}, false, &t));
	CV_TRY(perf_floats(t, &p->codes));
	/* 2^20 code steps of a unit std at the finest quality is far beyond any code: a larger value is garbage. */
	CV_TRY(perf_finite(st, "codes", p->codes, t->count, 1e4f));
	CV_TRY(perf_tensor(st, "head.position", 2, (uint64_t[]){n, 3}, false, &t));
	CV_TRY(perf_floats(t, &p->head_position));
	CV_TRY(perf_finite(st, t->name, p->head_position, t->count, 100));
	CV_TRY(perf_tensor(st, "head.rotation", 2, (uint64_t[]){n, 4}, false, &t));
	CV_TRY(perf_floats(t, &p->head_rotation));
	CV_TRY(perf_quaternions(st, t->name, p->head_rotation, n, false));

	static const char *const hand_names[2][2] = {{"hand.left.position", "hand.left.rotation"},
	                                             {"hand.right.position", "hand.right.rotation"}};
	for (int side = 0; side < 2; side++) {
		const struct st_tensor *pos, *rot;
		CV_TRY(perf_tensor(st, hand_names[side][0], 3, (uint64_t[]){n, CODEC_HAND_JOINTS, 3}, true, &pos));
		CV_TRY(perf_tensor(st, hand_names[side][1], 3, (uint64_t[]){n, CODEC_HAND_JOINTS, 4}, true, &rot));
		if (!pos != !rot)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: '%s' without '%s'", path, hand_names[side][pos ? 0 : 1],
			               hand_names[side][pos ? 1 : 0]);
		if (!pos) continue;
		CV_TRY(perf_floats(pos, &p->hand_position[side]));
		CV_TRY(perf_floats(rot, &p->hand_rotation[side]));
		/* NaN marks an untracked joint; anything else must be a place near the seat. */
		for (size_t i = 0; i < pos->count; i++)
			if (!isnan(p->hand_position[side][i]) && !(fabsf(p->hand_position[side][i]) <= 100))
				return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' value %zu is %g", path, pos->name, i,
				               p->hand_position[side][i]);
		CV_TRY(perf_quaternions(st, rot->name, p->hand_rotation[side], n * CODEC_HAND_JOINTS, true));
	}

	const char *names = st_metadata(st, "expressions");
	const struct st_tensor *ex = st_find(st, "expressions");
	if (ex && names) {
		if (ex->rank != 2 || ex->shape[1] < 1 || ex->shape[1] > 1024)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor 'expressions' must be [frames, 1..1024]", path);
		int jaw = name_index(names, "jaw_open", ex->shape[1]);
		if (jaw == -2)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata expressions names other than %llu parameters", path,
			               (unsigned long long)ex->shape[1]);
		if (jaw >= 0) {
			float *e;
			CV_TRY(perf_tensor(st, "expressions", 2, (uint64_t[]){n, ex->shape[1]}, false, &t));
			enum cv_result r = perf_floats(t, &e);
			if (r == CV_OK) r = perf_finite(st, t->name, e, t->count, 1e3f);
			p->audio = r == CV_OK ? malloc(n * sizeof(float)) : NULL;
			if (r == CV_OK && !p->audio) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "audio levels");
			if (r == CV_OK) perf_audio(p, e, ex->shape[1], jaw);
			free(e);
			CV_TRY(r);
		}
	}

	/* The avatar file is named relative to the performance's folder. */
	const char *slash = strrchr(path, '/');
	int dir = !slash ? 0 : (int)(slash - path + 1);
	if (snprintf(p->avatar_path, sizeof(p->avatar_path), "%.*s%s", dir, path, avatar) >= (int)sizeof(p->avatar_path))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: avatar path too long", path);
	p->avatar_name = p->avatar_path + dir;
	return CV_OK;
}

/* The avatar a performance names must stay below its folder on disk too: a symbolic link there (to /etc/passwd)
 * would otherwise be opened and imported. A file that is not there is left to the open that reports it. */
static enum cv_result perf_avatar_inside(const char *path, const struct rec_perf *p)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	char *real_dir = realpath(dir, NULL), *real_avatar = realpath(p->avatar_path, NULL);
	size_t n = real_dir ? strlen(real_dir) : 0;
	bool inside = !real_avatar || (real_dir && !strncmp(real_avatar, real_dir, n) &&
	                               (real_avatar[n] == '/' || !strcmp(real_dir, "/")));
	free(real_dir);
	free(real_avatar);
	if (!inside)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata avatar must be a relative path below the performance's folder "
		               "(it leads out through a symbolic link)", path);
	return CV_OK;
}

enum cv_result rec_perf_read(const char *path, struct rec_perf *out)
{
	*out = (struct rec_perf){0};
	struct st_file *st;
	CV_TRY(st_open(path, &st));
	enum cv_result r = perf_parse(st, path, out);
	st_close(&st);
	if (r == CV_OK) r = perf_avatar_inside(path, out);
	return r;
}

enum cv_result rec_perf_read_memory(const void *data, size_t size, const char *name, struct rec_perf *out)
{
	*out = (struct rec_perf){0};
	struct st_file *st;
	CV_TRY(st_open_memory(data, size, &st));
	enum cv_result r = perf_parse(st, name, out);
	st_close(&st);
	return r;
}

void rec_perf_free(struct rec_perf *p)
{
	free(p->codes);
	free(p->head_position);
	free(p->head_rotation);
	for (int s = 0; s < 2; s++) {
		free(p->hand_position[s]);
		free(p->hand_rotation[s]);
	}
	free(p->audio);
	*p = (struct rec_perf){0};
}

void rec_perf_frame(const struct rec_perf *p, uint32_t i, struct codec_frame *f)
{
	*f = (struct codec_frame){.timestamp_us = (uint64_t)llround((double)i * 1e6 / p->fps), .sequence = i,
	                          .code = p->codes + (size_t)i * p->latent, .code_floats = p->latent};
	memcpy(f->head.position, p->head_position + (size_t)i * 3, 3 * sizeof(float));
	memcpy(f->head.orientation, p->head_rotation + (size_t)i * 4, 4 * sizeof(float));
	for (int side = 0; side < 2; side++) {
		struct codec_hand *h = &f->hands[side];
		if (!p->hand_position[side]) continue;
		for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
			struct codec_joint *jt = &h->joints[j];
			const float *pos = p->hand_position[side] + ((size_t)i * CODEC_HAND_JOINTS + j) * 3;
			const float *rot = p->hand_rotation[side] + ((size_t)i * CODEC_HAND_JOINTS + j) * 4;
			memcpy(jt->pose.position, pos, sizeof(jt->pose.position));
			memcpy(jt->pose.orientation, rot, sizeof(jt->pose.orientation));
			/* Performances carry no radii: the codec's average hand has plausible ones. */
			jt->radius = codec_average_hand[j][3];
			if (isfinite(pos[0]) && isfinite(pos[1]) && isfinite(pos[2]))
				jt->flags |= CODEC_JOINT_POSITION_VALID | CODEC_JOINT_POSITION_TRACKED;
			if (isfinite(rot[0]) && isfinite(rot[1]) && isfinite(rot[2]) && isfinite(rot[3]))
				jt->flags |= CODEC_JOINT_ORIENTATION_VALID | CODEC_JOINT_ORIENTATION_TRACKED;
			h->tracked |= jt->flags != 0;
		}
	}
	f->has_audio = p->audio != NULL;
	f->audio_level = p->audio ? p->audio[i] : 0;
}

