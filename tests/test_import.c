/* `cavr rec import`: sample performances (.cavperf) become codec packets in a .cavrec. Every packet of an
 * imported recording must decode, and decode to the performance within the bounds codec.h states (codes, head,
 * hands, audio); two imports give the same bytes; the committed demo meeting (assets/sessions) decodes the same
 * way and `cavr rec inspect` lists its 3 participants over 30 s or more; a merge of the single-participant
 * recordings renumbers the codec packets with their participants; hostile .cavperf files (wrong shapes,
 * truncated, non-finite or non-unit values, another latent size) are refused with a clear error and exit 1.
 * Usage: test_import CAVR SOURCE_DIR. Files go to a fresh folder under $TMPDIR (or /tmp), removed at the end. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/rec_cli.h"
#include "avatar/cavatar.h"
#include "codec/codec.h"
#include "core/core.h"
#include "session/session.h"
#include "test.h"

static const char *cavr, *source;
static char tmp_dir[512];
static const char *const people[3] = {"ana", "kofi", "ines"};

static const char *tmp_path(const char *name)
{
	static char paths[8][640];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmp_dir, name);
	return p;
}

static const char *asset(const char *name)
{
	static char paths[8][640];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/assets/%s", source, name);
	return p;
}

/* Runs cavr with `args` (a shell word list), returns its exit status; its stdout and stderr go to `output`. */
static int run_cavr(const char *args, char *output, size_t size)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", cavr, args);
	fflush(stdout);
	FILE *f = popen(cmd, "r");
	if (!f) return -1;
	size_t n = fread(output, 1, size - 1, f);
	output[n] = 0;
	int status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool same_bytes(const char *a, const char *b)
{
	size_t na, nb;
	void *da = NULL, *db = NULL;
	bool same = cv_file_read(a, &da, &na) == CV_OK && cv_file_read(b, &db, &nb) == CV_OK && na == nb &&
	            !memcmp(da, db, na);
	free(da);
	free(db);
	return same;
}

/* ---- decoding a recording against its performances ---- */

static double quat_angle(const float a[4], const float b[4])
{
	/* conj(a) * b, in double; the angle from atan2 stays accurate near zero where acos does not. */
	double ax = -a[0], ay = -a[1], az = -a[2], aw = a[3];
	double x = aw * b[0] + ax * b[3] + ay * b[2] - az * b[1];
	double y = aw * b[1] - ax * b[2] + ay * b[3] + az * b[0];
	double z = aw * b[2] + ax * b[1] - ay * b[0] + az * b[3];
	double w = aw * b[3] - ax * b[0] - ay * b[1] - az * b[2];
	return 2 * atan2(sqrt(x * x + y * y + z * z), fabs(w));
}

static double max_axis(const float a[3], const float b[3])
{
	return fmax(fabs((double)a[0] - b[0]), fmax(fabs((double)a[1] - b[1]), fabs((double)a[2] - b[2])));
}

struct expected {
	struct rec_perf perf;
	float *mean, *std_dev;
	struct codec_stream_desc sd;
	struct codec_decoder *dec;
	uint32_t decoded;
	double code_steps, head_m, head_rad, wrist_m, wrist_rad, joint_m, joint_rad, radius_m, audio;
	bool hands_always, flags_ok, times_ok;
};

static bool setup_expected(struct expected *e, const char *perf, uint32_t id)
{
	*e = (struct expected){.hands_always = true, .flags_ok = true, .times_ok = true};
	struct avatar_file *file = NULL;
	if (rec_perf_read(perf, &e->perf) != CV_OK || avatar_file_open(e->perf.avatar_path, &file) != CV_OK)
		return false;
	uint32_t z = avatar_latent_size(file);
	e->mean = calloc(z, sizeof(float));
	e->std_dev = calloc(z, sizeof(float));
	const struct st_tensor *mean = avatar_tensor(file, "code.mean"), *std_dev = avatar_tensor(file, "code.std");
	bool ok = e->mean && e->std_dev && mean && std_dev && z == e->perf.latent &&
	          st_tensor_to_f32(mean, e->mean, z) == CV_OK && st_tensor_to_f32(std_dev, e->std_dev, z) == CV_OK;
	avatar_file_destroy(&file);
	e->sd = (struct codec_stream_desc){.participant = id, .latent = z, .code_mean = e->mean, .code_std = e->std_dev};
	return ok;
}

static void free_expected(struct expected *e)
{
	rec_perf_free(&e->perf);
	free(e->mean);
	free(e->std_dev);
	codec_decoder_destroy(&e->dec);
}

static void compare_frame(struct expected *e, const struct codec_frame *got, float quality)
{
	if (got->sequence >= e->perf.frames) {
		e->times_ok = false;
		return;
	}
	struct codec_frame want;
	rec_perf_frame(&e->perf, got->sequence, &want);
	e->times_ok &= got->timestamp_us == want.timestamp_us && got->sequence == e->decoded;
	for (uint32_t k = 0; k < e->perf.latent; k++)
		e->code_steps = fmax(e->code_steps, fabs((double)got->code[k] - want.code[k]) /
		                                        (quality * CODEC_CODE_STEP * e->std_dev[k]));
	e->head_m = fmax(e->head_m, max_axis(got->head.position, want.head.position));
	e->head_rad = fmax(e->head_rad, quat_angle(got->head.orientation, want.head.orientation));
	for (int side = 0; side < 2; side++) {
		const struct codec_hand *g = &got->hands[side], *w = &want.hands[side];
		e->hands_always &= g->tracked && w->tracked;
		if (!g->tracked || !w->tracked) continue;
		for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
			const struct codec_joint *gj = &g->joints[j], *wj = &w->joints[j];
			double m = max_axis(gj->pose.position, wj->pose.position);
			double rad = quat_angle(gj->pose.orientation, wj->pose.orientation);
			if (j == CODEC_JOINT_WRIST) {
				e->wrist_m = fmax(e->wrist_m, m);
				e->wrist_rad = fmax(e->wrist_rad, rad);
			} else {
				e->joint_m = fmax(e->joint_m, m);
				e->joint_rad = fmax(e->joint_rad, rad);
			}
			e->radius_m = fmax(e->radius_m, fabs((double)gj->radius - wj->radius));
			e->flags_ok &= gj->flags == 15 && wj->flags == 15;
		}
	}
	e->audio = fmax(e->audio, got->has_audio && want.has_audio ? fabs((double)got->audio_level - want.audio_level)
	                                                           : INFINITY);
	e->decoded++;
}

/* Every packet of `path` decodes, the participants are `names` with the avatars of `perfs`, and every frame is
 * its performance's within the codec's bounds. */
static void verify_recording(const char *path, const char *const *perfs, const char *const *names, size_t n,
                             float quality)
{
	struct session_reader *r = NULL;
	CHECK_MSG(session_reader_open(path, &r) == CV_OK, "%s", path);
	if (!r) return;
	struct session_info info;
	session_reader_info(r, &info);
	CHECK(info.participant_count == n);
	CHECK(info.epoch_unix_us == 0); /* no wall-clock time: the same inputs give the same bytes */
	struct expected e[3];
	for (size_t i = 0; i < n && i < 3; i++) {
		CHECK_MSG(setup_expected(&e[i], perfs[i], (uint32_t)i + 1), "%s", perfs[i]);
		const struct session_participant *p = session_reader_participant(r, i);
		CHECK(p && p->id == i + 1 && !strcmp(p->name, names[i]));
		/* The avatar by file name and SHA-256: players find it beside the recording or in its parent. */
		const char *base = strrchr(e[i].perf.avatar_path, '/') ? strrchr(e[i].perf.avatar_path, '/') + 1
		                                                       : e[i].perf.avatar_path;
		uint8_t hash[SESSION_HASH_SIZE];
		CHECK(session_hash_file(e[i].perf.avatar_path, hash) == CV_OK);
		CHECK_MSG(p && !strcmp(p->avatar_path, base) && !memcmp(p->avatar_hash, hash, sizeof(hash)),
		          "participant %zu avatar '%s'", i + 1, p ? p->avatar_path : "");
	}
	uint64_t packets = 0, undecoded = 0, foreign = 0;
	int64_t last_t = -1;
	for (;;) {
		struct session_packet p;
		bool got = false;
		if (session_reader_next(r, &p, &got) != CV_OK || !got) break;
		packets++;
		CHECK(p.time_us >= last_t);
		last_t = p.time_us;
		if (p.participant < 1 || p.participant > n || p.kind != REC_KIND_CODEC) {
			foreign++;
			continue;
		}
		struct expected *x = &e[p.participant - 1];
		/* As a player does: code statistics from the avatar file, the avatar id from the first key frame. */
		struct codec_packet_info pi;
		if (!x->dec && codec_packet_parse(p.data, p.size, &pi) == CV_OK && (pi.flags & CODEC_PACKET_KEY)) {
			x->sd.avatar = pi.avatar;
			CHECK(codec_decoder_create(&x->sd, &x->dec) == CV_OK);
		}
		struct codec_frame f;
		enum codec_decode_status status;
		if (!x->dec || codec_decoder_decode(x->dec, p.data, p.size, &f, &status) != CV_OK || status != CODEC_DECODED ||
		    (int64_t)f.timestamp_us != p.time_us) {
			undecoded++;
			continue;
		}
		compare_frame(x, &f, quality);
	}
	CHECK(foreign == 0);
	CHECK_MSG(undecoded == 0, "%llu of %llu packets did not decode", (unsigned long long)undecoded,
	          (unsigned long long)packets);
	for (size_t i = 0; i < n; i++) {
		struct expected *x = &e[i];
		CHECK_MSG(x->decoded == x->perf.frames, "participant %zu: %u of %u frames", i + 1, x->decoded,
		          x->perf.frames);
		CHECK(x->times_ok);
		CHECK(x->hands_always && x->flags_ok);
		const double slack = 1e-5; /* float rounding of the comparison itself */
		CHECK_MSG(x->code_steps <= 0.5 + 1e-3, "code error %g steps", x->code_steps);
		CHECK_MSG(x->head_m <= CODEC_HEAD_POSITION_STEP / 2 + slack, "head %g m", x->head_m);
		CHECK_MSG(x->head_rad <= sqrt(3) / 2 * CODEC_HEAD_ROTATION_STEP + slack, "head %g rad", x->head_rad);
		CHECK_MSG(x->wrist_m <= CODEC_WRIST_POSITION_STEP / 2 + slack, "wrist %g m", x->wrist_m);
		CHECK_MSG(x->wrist_rad <= sqrt(3) / 2 * CODEC_WRIST_ROTATION_STEP + slack, "wrist %g rad", x->wrist_rad);
		CHECK_MSG(x->joint_m <= CODEC_JOINT_POSITION_TOLERANCE + slack, "joint %g m", x->joint_m);
		CHECK_MSG(x->joint_rad <= sqrt(3) / 2 * CODEC_JOINT_ROTATION_STEP + slack, "joint %g rad", x->joint_rad);
		CHECK_MSG(x->radius_m <= CODEC_RADIUS_STEP / 2 + slack, "radius %g m", x->radius_m);
		CHECK_MSG(x->audio <= CODEC_AUDIO_STEP / 2 + slack, "audio %g", x->audio);
		free_expected(x);
	}
	session_reader_destroy(&r);
}

/* ---- the cases ---- */

static void test_round_trip(void)
{
	const char *perfs[3] = {asset("ana.cavperf"), asset("kofi.cavperf"), asset("ines.cavperf")};
	char args[4096], out[16384];
	const char *a = tmp_path("import-a.cavrec"), *b = tmp_path("import-b.cavrec");
	snprintf(args, sizeof(args), "rec import '%s' '%s' '%s' '%s'", a, perfs[0], perfs[1], perfs[2]);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	verify_recording(a, perfs, people, 3, 1);
	snprintf(args, sizeof(args), "rec import '%s' '%s' '%s' '%s'", b, perfs[0], perfs[1], perfs[2]);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	CHECK_MSG(same_bytes(a, b), "two imports of the same performances differ");

	/* Another quality and names: the code bound scales with the quality. */
	const char *c = tmp_path("import-q.cavrec");
	snprintf(args, sizeof(args), "rec import '%s' '%s' --quality 2 --names Ana", c, perfs[0]);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	verify_recording(c, perfs, (const char *const[]){"Ana"}, 1, 2);

	CHECK(run_cavr("rec import", out, sizeof(out)) == 2);
	snprintf(args, sizeof(args), "rec import '%s' '%s' --names a,b", c, perfs[0]);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 2 && strstr(out, "--names"), "%s", out);
	snprintf(args, sizeof(args), "rec import '%s' '%s' --quality 0", c, perfs[0]);
	CHECK(run_cavr(args, out, sizeof(out)) == 2);
}

static void test_demo_meeting(void)
{
	const char *perfs[3] = {asset("ana.cavperf"), asset("kofi.cavperf"), asset("ines.cavperf")};
	const char *demo = asset("sessions/demo-meeting.cavrec");
	verify_recording(demo, perfs, people, 3, 1);
	char args[4096], out[16384];
	snprintf(args, sizeof(args), "rec inspect '%s'", demo);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	const char *d = strstr(out, "(duration ");
	CHECK_MSG(strstr(out, "participants: 3\n") && d && atof(d + 10) >= 30.0, "%s", out);
	CHECK(strstr(out, "damaged chunks: 0,") != NULL);

	/* Regenerated by tools/make_sessions.sh from the same performances, it would be these bytes; a codec that
	 * encodes differently now leaves a valid but older file, so that is a note, not a failure. */
	const char *fresh = tmp_path("fresh-meeting.cavrec");
	snprintf(args, sizeof(args), "rec import '%s' '%s' '%s' '%s' --names ana,kofi,ines", fresh, perfs[0], perfs[1],
	         perfs[2]);
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	if (!same_bytes(fresh, demo))
		printf("note: assets/sessions/demo-meeting.cavrec differs from a fresh import: run tools/make_sessions.sh\n");

	/* The single-participant recordings merge into the meeting: ids 2 and 3 are given out anew, and their codec
	 * packets must name them too or no decoder of those participants would take them. */
	const char *merged = tmp_path("merged.cavrec");
	snprintf(args, sizeof(args), "rec merge '%s' '%s' '%s' '%s'", merged, asset("sessions/ana.cavrec"),
	         asset("sessions/kofi.cavrec"), asset("sessions/ines.cavrec"));
	CHECK_MSG(run_cavr(args, out, sizeof(out)) == 0, "%s", out);
	verify_recording(merged, perfs, people, 3, 1);
}

/* ---- hostile performances ---- */

/* Writes a safetensors file: `json` is the header (tensors with their offsets already in it) and `data_size`
 * bytes of data from `data`, cut to `keep` bytes in all when keep > 0. */
static void write_st(const char *path, const char *json, const void *data, size_t data_size, size_t keep)
{
	size_t hl = strlen(json), total = 8 + hl + data_size;
	uint8_t *b = malloc(total);
	for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
	memcpy(b + 8, json, hl);
	memcpy(b + 8 + hl, data, data_size);
	CHECK(cv_file_write(path, b, keep ? keep : total) == CV_OK);
	free(b);
}

/* A small performance (N frames, latent z) with every tensor; `tweak` edits the header text and the values. */
struct perf_spec {
	uint32_t n, z, joints;
	const char *format, *version, *expressions, *avatar;
	bool no_head_rotation, nan_code, bad_quaternion, nan_hand_joint, drop_hand_rotation;
	size_t keep; /* truncate the file to this many bytes */
};

static void write_perf(const char *path, const struct perf_spec *s)
{
	struct {
		const char *name;
		uint64_t d0, d1, d2;
		int rank;
	} t[8] = {
		{"codes", s->n, s->z, 0, 2},
		{"expressions", s->n, 10, 0, 2},
		{"head.position", s->n, 3, 0, 2},
		{"head.rotation", s->n, 4, 0, 2},
		{"hand.left.position", s->n, s->joints, 3, 3},
		{"hand.left.rotation", s->n, s->joints, 4, 3},
		{"hand.right.position", s->n, s->joints, 3, 3},
		{"hand.right.rotation", s->n, s->joints, 4, 3},
	};
	char json[8192];
	int len = snprintf(json, sizeof(json),
	                   "{\"__metadata__\":{\"format\":\"%s\",\"format_version\":\"%s\",\"fps\":\"30\",\"frames\":"
	                   "\"%u\",\"avatar\":\"%s\",\"units\":\"metres\",\"expressions\":\"%s\"}",
	                   s->format ? s->format : "cavperf", s->version ? s->version : "1", s->n, s->avatar,
	                   s->expressions ? s->expressions
	                                  : "jaw_open,smile_l,smile_r,blink_l,blink_r,brow_raise_l,brow_raise_r,"
	                                    "brow_furrow,pucker,stretch");
	size_t offset = 0, total = 0;
	for (int i = 0; i < 8; i++) total += t[i].d0 * t[i].d1 * (t[i].rank == 3 ? t[i].d2 : 1);
	float *data = calloc(total ? total : 1, sizeof(float));
	for (int i = 0; i < 8; i++) {
		if ((s->no_head_rotation && i == 3) || (s->drop_hand_rotation && i == 5)) continue;
		size_t count = t[i].d0 * t[i].d1 * (t[i].rank == 3 ? t[i].d2 : 1);
		float *v = data + offset;
		size_t row = t[i].rank == 3 ? t[i].d2 : t[i].d1;
		for (size_t k = 0; k < count; k++) {
			/* Quaternion rows are the identity; positions spread out a little; codes small. */
			if (row == 4 && (i == 3 || i == 5 || i == 7)) v[k] = k % 4 == 3 ? 1.0f : 0.0f;
			else v[k] = 0.01f * (float)(k % 7);
		}
		if (s->nan_code && i == 0) v[5] = NAN;
		if (s->bad_quaternion && i == 3) v[3] = 2.0f;
		if (s->nan_hand_joint && i == 4) v[3 * 7] = v[3 * 7 + 1] = v[3 * 7 + 2] = NAN;
		len += snprintf(json + len, sizeof(json) - (size_t)len, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%llu,%llu",
		                t[i].name, (unsigned long long)t[i].d0, (unsigned long long)t[i].d1);
		if (t[i].rank == 3) len += snprintf(json + len, sizeof(json) - (size_t)len, ",%llu",
		                                    (unsigned long long)t[i].d2);
		len += snprintf(json + len, sizeof(json) - (size_t)len, "],\"data_offsets\":[%zu,%zu]}",
		                offset * 4, (offset + count) * 4);
		offset += count;
	}
	snprintf(json + len, sizeof(json) - (size_t)len, "}");
	write_st(path, json, data, offset * 4, s->keep);
	free(data);
}

static void expect_refused(const char *what, const struct perf_spec *s, const char *message)
{
	const char *perf = tmp_path("hostile.cavperf"), *out = tmp_path("hostile.cavrec");
	write_perf(perf, s);
	unlink(out);
	char args[2048], text[16384];
	snprintf(args, sizeof(args), "rec import '%s' '%s'", out, perf);
	int code = run_cavr(args, text, sizeof(text));
	struct stat st;
	CHECK_MSG(code == 1 && strstr(text, message) && stat(out, &st) != 0, "%s: exit %d, wanted 1 and '%s':\n%s",
	          what, code, message, text);
}

static void test_hostile(void)
{
	/* A performance names its avatar below its own folder. */
	void *avatar_bytes;
	size_t avatar_size;
	CHECK(cv_file_read(asset("ana.cavatar"), &avatar_bytes, &avatar_size) == CV_OK);
	CHECK(cv_file_write(tmp_path("ana.cavatar"), avatar_bytes, avatar_size) == CV_OK);
	free(avatar_bytes);
	struct perf_spec good = {.n = 40, .z = 64, .joints = CODEC_HAND_JOINTS, .avatar = "ana.cavatar"};

	/* The writer itself makes importable files; a joint without a position is imported as not tracked. */
	char perf[640], out[640];
	snprintf(perf, sizeof(perf), "%s", tmp_path("small.cavperf"));
	snprintf(out, sizeof(out), "%s", tmp_path("small.cavrec"));
	struct perf_spec s = good;
	s.nan_hand_joint = true;
	write_perf(perf, &s);
	char args[2048], text[16384];
	snprintf(args, sizeof(args), "rec import '%s' '%s'", out, perf);
	CHECK_MSG(run_cavr(args, text, sizeof(text)) == 0 && strstr(text, "40 frames"), "%s", text);

	s = good, s.keep = 500;
	expect_refused("truncated", &s, "hostile.cavperf");
	write_perf(tmp_path("full.cavperf"), &good);
	size_t size;
	void *bytes;
	if (cv_file_read(tmp_path("full.cavperf"), &bytes, &size) == CV_OK) {
		s = good, s.keep = size - 1;
		expect_refused("one byte short", &s, "hostile.cavperf");
		free(bytes);
	}
	s = good, s.z = 32;
	expect_refused("latent size", &s, "takes 64");
	s = good, s.joints = 25;
	expect_refused("hand joints", &s, "'hand.left.position' has shape [40, 25, 3], expected [40, 26, 3]");
	s = good, s.no_head_rotation = true;
	expect_refused("no head rotation", &s, "no tensor 'head.rotation'");
	s = good, s.drop_hand_rotation = true;
	expect_refused("hand without rotation", &s, "'hand.left.position' without 'hand.left.rotation'");
	s = good, s.nan_code = true;
	expect_refused("NaN code", &s, "'codes' value 5");
	s = good, s.bad_quaternion = true;
	expect_refused("non-unit quaternion", &s, "not a unit quaternion");
	s = good, s.format = "cavhand";
	expect_refused("format", &s, "not a performance");
	s = good, s.version = "2";
	expect_refused("version", &s, "format_version '2'");
	s = good, s.expressions = "jaw_open,smile_l";
	expect_refused("expression names", &s, "names other than 10 parameters");
	s = good, s.avatar = "missing/x.cavatar";
	expect_refused("missing avatar", &s, "missing/x.cavatar");
	/* Issue 14 finding 8: an absolute or ".." avatar path was opened and imported (and /etc/passwd's first bytes
	 * showed in the error); now refused before anything is opened, and the file's contents are never echoed. */
	CHECK(symlink("/etc/passwd", tmp_path("link.cavatar")) == 0);
	const char *escapes[] = {"/etc/passwd", "../ana.cavatar", "sub/../../ana.cavatar", "/dev/zero", "link.cavatar"};
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		s = good, s.avatar = escapes[i];
		write_perf(tmp_path("hostile.cavperf"), &s);
		snprintf(args, sizeof(args), "rec import '%s' '%s'", tmp_path("hostile.cavrec"), tmp_path("hostile.cavperf"));
		int code = run_cavr(args, text, sizeof(text));
		CHECK_MSG(code == 1 && strstr(text, "metadata avatar must be a relative path") && !strstr(text, "root:") &&
		          access(tmp_path("hostile.cavrec"), F_OK) != 0, "%s: exit %d:\n%s", escapes[i], code, text);
	}

	/* A shape claiming far more data than the file holds is refused by the container before any allocation. */
	write_st(perf, "{\"__metadata__\":{\"format\":\"cavperf\",\"format_version\":\"1\",\"fps\":\"30\","
	               "\"avatar\":\"ana.cavatar\"},\"codes\":{\"dtype\":\"F32\",\"shape\":[1073741824,64],"
	               "\"data_offsets\":[0,274877906944]}}", "", 0, 0);
	snprintf(args, sizeof(args), "rec import '%s' '%s'", out, perf);
	CHECK_MSG(run_cavr(args, text, sizeof(text)) == 1 && strstr(text, "small.cavperf"), "%s", text);
	write_st(perf, "{\"__metadata__\":{\"format\":\"cavperf\",\"format_version\":\"1\",\"fps\":\"30\","
	               "\"avatar\":\"ana.cavatar\"},\"codes\":{\"dtype\":\"F32\",\"shape\":[4],"
	               "\"data_offsets\":[0,16]}}", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, 0);
	CHECK_MSG(run_cavr(args, text, sizeof(text)) == 1 && strstr(text, "'codes' must be [frames"), "%s", text);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_import CAVR SOURCE_DIR\n");
		return 2;
	}
	cavr = argv[1];
	source = argv[2];
	if (!test_scratch_dir("cavr-test-import", tmp_dir, sizeof(tmp_dir))) return 1;
	cv_log_set_level(CV_LOG_WARN);
	RUN(test_round_trip);
	RUN(test_demo_meeting);
	RUN(test_hostile);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
	return test_finish();
}
