/* The stream codec (engine/codec): round trips within the error bounds codec.h states (recomputed here from the
 * documented steps, not taken from the codec), key frames, loss and recovery, starting mid-stream, hands tracked,
 * untracked and partially valid, optional fields, and hostile packets: truncated at every length, corrupted,
 * of another stream, reordered, going back in time. Also the bitrate of a smooth synthetic code stream. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "test.h"

#define Z 256
#define FPS 30
#define TARGET_KBITS 16.0

static float code_mean[Z], code_std[Z];

/* A 64-bit LCG: repeatable random numbers for the tests. */
static uint64_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state;
}

static double uniform(uint64_t *state) { return (double)(next_random(state) >> 11) / 9007199254740992.0; }

static struct codec_stream_desc stream_desc(float quality)
{
	return (struct codec_stream_desc){.participant = 7, .avatar = 0xCAFE, .latent = Z, .code_mean = code_mean,
	                                  .code_std = code_std, .quality = quality};
}

static struct codec_synth_desc synth(bool hands, bool gaze, bool audio)
{
	return (struct codec_synth_desc){.seed = 5, .latent = Z, .code_mean = code_mean, .code_std = code_std,
	                                 .hands = hands, .gaze = gaze, .audio = audio};
}

/* Frame i of a synthetic stream, stamped for the test stream. */
static void make_frame(const struct codec_synth_desc *s, uint32_t i, float *code, struct codec_frame *f)
{
	memset(f, 0, sizeof(*f));
	codec_synth_frame(s, (double)i / FPS, code, f);
	f->participant = 7;
	f->avatar = 0xCAFE;
	f->sequence = i;
}

struct stream_pair {
	struct codec_encoder *enc;
	struct codec_decoder *dec;
	uint8_t *packet;
	size_t capacity;
};

static bool pair_create(struct stream_pair *p, float quality)
{
	struct codec_stream_desc d = stream_desc(quality);
	memset(p, 0, sizeof(*p));
	p->capacity = codec_packet_max_size(Z);
	p->packet = malloc(p->capacity);
	return p->packet && codec_encoder_create(&d, &p->enc) == CV_OK && codec_decoder_create(&d, &p->dec) == CV_OK;
}

static void pair_destroy(struct stream_pair *p)
{
	codec_encoder_destroy(&p->enc);
	codec_decoder_destroy(&p->dec);
	free(p->packet);
}

/* ---- bounds, recomputed from codec.h's statement ---- */

/* The angle between two rotations given as quaternions (q and -q alike). */
static double rotation_angle(const float a[4], const float b[4])
{
	/* conj(a) * b: its vector part's length and |w| give the angle without acos' loss near 1 */
	double w = (double)a[3] * b[3] + (double)a[0] * b[0] + (double)a[1] * b[1] + (double)a[2] * b[2];
	double x = (double)a[3] * b[0] - (double)a[0] * b[3] - (double)a[1] * b[2] + (double)a[2] * b[1];
	double y = (double)a[3] * b[1] + (double)a[0] * b[2] - (double)a[1] * b[3] - (double)a[2] * b[0];
	double z = (double)a[3] * b[2] - (double)a[0] * b[1] + (double)a[1] * b[0] - (double)a[2] * b[3];
	return 2 * atan2(sqrt(x * x + y * y + z * z), fabs(w));
}

static double vector_angle(const float a[3], const float b[3])
{
	double c[3] = {(double)a[1] * b[2] - (double)a[2] * b[1], (double)a[2] * b[0] - (double)a[0] * b[2],
	               (double)a[0] * b[1] - (double)a[1] * b[0]};
	double dot = (double)a[0] * b[0] + (double)a[1] * b[1] + (double)a[2] * b[2];
	return atan2(sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]), dot);
}

/* Float rounding of the decoded value on top of the stated bound. */
#define SLACK(bound) ((bound) * 1e-4 + 2e-6)

/* The largest error seen of each kind, as a fraction of its bound. */
struct worst {
	double code, head_pos, head_rot, wrist_pos, wrist_rot, joint_pos, joint_rot, radius, gaze, audio;
};

static void check_hand(const struct codec_hand *in, const struct codec_hand *out, struct worst *w)
{
	CHECK(out->tracked == in->tracked);
	if (!in->tracked) return;
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		const struct codec_joint *a = &in->joints[j], *b = &out->joints[j];
		CHECK_MSG(a->flags == b->flags, "joint %d flags %x decoded as %x", j, a->flags, b->flags);
		bool wrist = j == CODEC_JOINT_WRIST;
		double pos_bound = wrist ? CODEC_WRIST_POSITION_STEP / 2 : CODEC_JOINT_POSITION_TOLERANCE;
		double rot_bound = sqrt(3) / 2 * (wrist ? CODEC_WRIST_ROTATION_STEP : CODEC_JOINT_ROTATION_STEP);
		double *pos_worst = wrist ? &w->wrist_pos : &w->joint_pos;
		double *rot_worst = wrist ? &w->wrist_rot : &w->joint_rot;
		for (int k = 0; k < 3; k++) {
			CHECK(isfinite(b->pose.position[k]));
			if (a->flags & CODEC_JOINT_POSITION_VALID) {
				double e = fabs((double)a->pose.position[k] - b->pose.position[k]);
				*pos_worst = fmax(*pos_worst, e / pos_bound);
				CHECK_MSG(e <= pos_bound + SLACK(pos_bound), "joint %d position off by %g m", j, e);
			}
		}
		double n = 0;
		for (int k = 0; k < 4; k++) n += (double)b->pose.orientation[k] * b->pose.orientation[k];
		CHECK_MSG(fabs(n - 1) < 1e-5 && b->pose.orientation[3] >= 0, "joint %d: not unit with w >= 0", j);
		if (a->flags & CODEC_JOINT_ORIENTATION_VALID) {
			double e = rotation_angle(a->pose.orientation, b->pose.orientation);
			*rot_worst = fmax(*rot_worst, e / rot_bound);
			CHECK_MSG(e <= rot_bound + SLACK(rot_bound), "joint %d orientation off by %g rad", j, e);
		}
		double e = fabs((double)a->radius - b->radius), bound = CODEC_RADIUS_STEP / 2;
		w->radius = fmax(w->radius, e / bound);
		CHECK_MSG(e <= bound + SLACK(bound), "joint %d radius off by %g", j, e);
	}
}

/* Every field of a decoded frame against the input and the bounds of codec.h. */
static void check_frame(const struct codec_frame *in, const struct codec_frame *out, float quality, struct worst *w)
{
	CHECK(out->timestamp_us == in->timestamp_us);
	CHECK(out->sequence == in->sequence);
	CHECK(out->participant == in->participant && out->avatar == in->avatar);
	CHECK(out->code_floats == in->code_floats && out->code);
	if (!out->code || out->code_floats != in->code_floats) return;
	for (uint32_t i = 0; i < in->code_floats; i++) {
		double bound = quality * CODEC_CODE_STEP * code_std[i] / 2;
		double e = fabs((double)in->code[i] - out->code[i]);
		w->code = fmax(w->code, e / bound);
		CHECK_MSG(e <= bound + SLACK(bound), "code %u off by %g (bound %g)", i, e, bound);
	}
	for (int k = 0; k < 3; k++) {
		double e = fabs((double)in->head.position[k] - out->head.position[k]);
		double bound = CODEC_HEAD_POSITION_STEP / 2;
		w->head_pos = fmax(w->head_pos, e / bound);
		CHECK_MSG(e <= bound + SLACK(bound), "head position off by %g", e);
	}
	double e = rotation_angle(in->head.orientation, out->head.orientation);
	double bound = sqrt(3) / 2 * CODEC_HEAD_ROTATION_STEP;
	w->head_rot = fmax(w->head_rot, e / bound);
	CHECK_MSG(e <= bound + SLACK(bound), "head orientation off by %g rad", e);
	for (int side = 0; side < 2; side++) check_hand(&in->hands[side], &out->hands[side], w);
	CHECK(out->has_gaze == in->has_gaze && out->has_audio == in->has_audio);
	if (in->has_gaze && out->has_gaze) {
		e = vector_angle(in->gaze, out->gaze);
		bound = sqrt(18) / 2 * CODEC_GAZE_STEP;
		w->gaze = fmax(w->gaze, e / bound);
		CHECK_MSG(e <= bound + SLACK(bound), "gaze off by %g rad", e);
	}
	if (in->has_audio && out->has_audio) {
		e = fabs((double)in->audio_level - out->audio_level);
		bound = CODEC_AUDIO_STEP / 2;
		w->audio = fmax(w->audio, e / bound);
		CHECK_MSG(e <= bound + SLACK(bound), "audio level off by %g", e);
	}
}

/* Encodes frame f and decodes it, expecting a decoded frame within the bounds. */
static size_t round_trip(struct stream_pair *p, const struct codec_frame *f, float quality, struct worst *w)
{
	size_t size = 0;
	CHECK(codec_encoder_encode(p->enc, f, p->packet, p->capacity, &size) == CV_OK);
	struct codec_frame out;
	enum codec_decode_status status;
	CHECK(codec_decoder_decode(p->dec, p->packet, size, &out, &status) == CV_OK);
	CHECK_MSG(status == CODEC_DECODED, "frame %u: status %d", f->sequence, status);
	if (status == CODEC_DECODED) check_frame(f, &out, quality, w);
	return size;
}

/* ---- tests ---- */

static void test_round_trip(void)
{
	static const float qualities[] = {0.25f, 1, 3};
	float code[Z];
	for (size_t q = 0; q < sizeof(qualities) / sizeof(qualities[0]); q++) {
		struct stream_pair p;
		CHECK(pair_create(&p, qualities[q]));
		struct codec_synth_desc s = synth(true, true, true);
		struct worst w = {0};
		for (uint32_t i = 0; i < 90; i++) {
			struct codec_frame f;
			make_frame(&s, i, code, &f);
			round_trip(&p, &f, qualities[q], &w);
		}
		/* The bounds are tight: the worst code error is close to half a step. */
		CHECK_MSG(w.code > 0.9 && w.code <= 1.0 + 1e-3, "worst code error %.3f of the bound", w.code);
		printf("    quality %g: worst error / bound: code %.3f head %.3f %.3f wrist %.3f %.3f joints %.3f %.3f "
		       "radius %.3f gaze %.3f audio %.3f\n", qualities[q], w.code, w.head_pos, w.head_rot, w.wrist_pos,
		       w.wrist_rot, w.joint_pos, w.joint_rot, w.radius, w.gaze, w.audio);
		pair_destroy(&p);
	}
}

/* Values near the ends of their ranges, random orientations, and a latent of one and of the maximum. */
static void test_extremes(void)
{
	uint32_t sizes[] = {1, CODEC_MAX_LATENT};
	for (int s = 0; s < 2; s++) {
		uint32_t z = sizes[s];
		struct codec_stream_desc d = {.participant = 1, .latent = z, .default_std = 0.001f};
		struct codec_encoder *enc = NULL;
		struct codec_decoder *dec = NULL;
		CHECK(codec_encoder_create(&d, &enc) == CV_OK && codec_decoder_create(&d, &dec) == CV_OK);
		float *code = malloc(z * sizeof(float));
		size_t capacity = codec_packet_max_size(z);
		uint8_t *packet = malloc(capacity);
		uint64_t rng = 12345;
		size_t largest = 0;
		for (uint32_t i = 0; i < 6 && enc && dec; i++) {
			/* Alternating extremes: every value's difference from its prediction is as large as it gets. */
			for (uint32_t k = 0; k < z; k++) /* 10^6 steps from the mean: near the grid's end */
				code[k] = next_random(&rng) >> 63 ? 200.0f : -200.0f;
			struct codec_frame f = {.timestamp_us = 1 + i * 1000ull, .sequence = i, .participant = 1,
			                        .code = code, .code_floats = z, .has_audio = true,
			                        .audio_level = (float)(i % 2), .has_gaze = true};
			f.head.orientation[3] = 1;
			f.head.position[0] = i % 2 ? 400.0f : -400.0f;
			f.gaze[2] = i % 2 ? 1.0f : -1.0f;
			for (int side = 0; side < 2; side++) {
				f.hands[side].tracked = true;
				for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
					struct codec_joint *jt = &f.hands[side].joints[j];
					double a = 6.283 * uniform(&rng);
					jt->pose.orientation[0] = (float)sin(a);
					jt->pose.orientation[3] = (float)cos(a);
					jt->pose.position[1] = (float)((j % 3) * 100.0 - 100.0) * (i % 2 ? 1 : -1);
					jt->radius = 0.5f;
					jt->flags = (uint8_t)((j + i) % 16);
				}
			}
			size_t size = 0;
			CHECK(codec_encoder_encode(enc, &f, packet, capacity, &size) == CV_OK);
			CHECK(size <= capacity);
			if (size > largest) largest = size;
			struct codec_frame out;
			enum codec_decode_status st;
			CHECK(codec_decoder_decode(dec, packet, size, &out, &st) == CV_OK && st == CODEC_DECODED);
			float bound = 0.0005f * CODEC_CODE_STEP + 2e-5f; /* std 0.001, and float rounding at 200 */
			for (uint32_t k = 0; st == CODEC_DECODED && k < z; k++)
				CHECK_MSG(fabsf(out.code[k] - code[k]) <= bound, "latent %u: %u", z, k);
		}
		printf("    latent %u: largest packet %zu bytes, bound %zu\n", z, largest, capacity);
		free(code);
		free(packet);
		codec_encoder_destroy(&enc);
		codec_decoder_destroy(&dec);
	}
}

static void test_key_frames(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_synth_desc s = synth(false, false, false);
	float code[Z];
	for (uint32_t i = 0; i < 95; i++) {
		struct codec_frame f;
		make_frame(&s, i, code, &f);
		if (i == 70) codec_encoder_force_key(p.enc);
		size_t size;
		CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_OK);
		bool key = p.packet[1] & CODEC_PACKET_KEY;
		/* Every second, and the forced one at 70 restarts the count: the next is due at 100. */
		CHECK_MSG(key == ((i % FPS == 0 && i <= 60) || i == 70), "frame %u: key %d", i, key);
		struct codec_packet_info info;
		CHECK(codec_packet_parse(p.packet, size, &info) == CV_OK && info.size == size);
		CHECK(info.participant == 7 && info.flags == (key ? CODEC_PACKET_KEY : 0));
		CHECK(key ? info.sequence == i && info.timestamp_us == f.timestamp_us && info.avatar == 0xCAFE &&
		                info.latent == Z && info.quality == 1.0f
		          : info.sequence == (i & 0xFFFF) && info.timestamp_us == 0);
	}
	/* A sequence jump (the caller skipped frames) starts a key frame: the receiver would see a gap anyway. */
	struct codec_frame f;
	make_frame(&s, 100, code, &f);
	size_t size;
	CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_OK);
	CHECK(p.packet[1] & CODEC_PACKET_KEY);
	pair_destroy(&p);
}

/* Encodes frames [0, n) of a stream into separate buffers. */
struct recording {
	uint8_t *packets[128];
	size_t sizes[128];
	struct codec_frame frames[128];
	float codes[128][Z];
	uint32_t n;
};

static struct recording *record(uint32_t n, struct codec_synth_desc s, float quality)
{
	struct recording *r = calloc(1, sizeof(*r));
	struct codec_stream_desc d = stream_desc(quality);
	struct codec_encoder *enc = NULL;
	CHECK(r && n <= 128 && codec_encoder_create(&d, &enc) == CV_OK);
	size_t capacity = codec_packet_max_size(Z);
	for (uint32_t i = 0; r && enc && i < n; i++) {
		make_frame(&s, i, r->codes[i], &r->frames[i]);
		r->packets[i] = malloc(capacity);
		CHECK(codec_encoder_encode(enc, &r->frames[i], r->packets[i], capacity, &r->sizes[i]) == CV_OK);
		r->n++;
	}
	codec_encoder_destroy(&enc);
	return r;
}

static void recording_free(struct recording *r)
{
	for (uint32_t i = 0; r && i < r->n; i++) free(r->packets[i]);
	free(r);
}

static enum codec_decode_status feed(struct codec_decoder *d, const struct recording *r, uint32_t i,
                                     struct codec_frame *out)
{
	enum codec_decode_status status = CODEC_DECODED;
	CHECK_MSG(codec_decoder_decode(d, r->packets[i], r->sizes[i], out, &status) == CV_OK, "packet %u", i);
	return status;
}

static void test_loss_and_recovery(void)
{
	struct recording *r = record(95, synth(true, true, true), 1);
	struct codec_stream_desc desc = stream_desc(1);
	struct codec_decoder *d = NULL;
	CHECK(codec_decoder_create(&desc, &d) == CV_OK);
	struct worst w = {0};
	struct codec_frame out;
	for (uint32_t i = 0; i < 95; i++) {
		if (i == 40 || i == 41) continue; /* lost */
		enum codec_decode_status st = feed(d, r, i, &out);
		bool expect_decoded = i < 40 || i >= 60;
		CHECK_MSG((st == CODEC_DECODED) == expect_decoded, "packet %u: status %d", i, st);
		if (st == CODEC_DECODED) check_frame(&r->frames[i], &out, 1, &w);
	}
	struct codec_decoder_stats stats;
	codec_decoder_stats(d, &stats);
	CHECK_MSG(stats.gaps == 1 && stats.lost == 2, "gaps %llu lost %llu", (unsigned long long)stats.gaps,
	          (unsigned long long)stats.lost);
	CHECK_MSG(stats.skipped_no_key == 18, "skipped %llu delta frames (expected 42..59)",
	          (unsigned long long)stats.skipped_no_key);
	CHECK(stats.decoded == 95 - 2 - 18 && stats.key_frames == 4 && stats.rejected == 0 && stats.skipped_late == 0);

	/* Reordered delivery: 71 before 70, then 73 before 72 with 72 lost. 71 cannot decode yet (70 counted lost),
	 * 70 then decodes, and so does 71 when it comes again; 73 waits, and so does everything until the key frame. */
	codec_decoder_reset(d);
	CHECK(feed(d, r, 60, &out) == CODEC_DECODED);
	for (uint32_t i = 61; i < 70; i++) CHECK(feed(d, r, i, &out) == CODEC_DECODED);
	CHECK(feed(d, r, 71, &out) == CODEC_SKIPPED_WAITING_KEY);
	CHECK(feed(d, r, 70, &out) == CODEC_DECODED);
	check_frame(&r->frames[70], &out, 1, &w);
	CHECK(feed(d, r, 70, &out) == CODEC_SKIPPED_LATE); /* a duplicate */
	CHECK(feed(d, r, 71, &out) == CODEC_DECODED);
	CHECK(feed(d, r, 73, &out) == CODEC_SKIPPED_WAITING_KEY);
	CHECK(feed(d, r, 74, &out) == CODEC_SKIPPED_WAITING_KEY);
	CHECK(feed(d, r, 90, &out) == CODEC_DECODED);
	CHECK(feed(d, r, 90, &out) == CODEC_SKIPPED_LATE); /* a duplicate key frame */
	CHECK(feed(d, r, 91, &out) == CODEC_DECODED);
	check_frame(&r->frames[91], &out, 1, &w);
	struct codec_decoder_stats after;
	codec_decoder_stats(d, &after);
	CHECK(after.skipped_late - stats.skipped_late == 2 && after.skipped_no_key - stats.skipped_no_key == 3);
	CHECK_MSG(after.gaps - stats.gaps == 3 && after.lost - stats.lost == 1 + 1 + 15, "gaps %llu lost %llu",
	          (unsigned long long)(after.gaps - stats.gaps), (unsigned long long)(after.lost - stats.lost));
	codec_decoder_destroy(&d);
	recording_free(r);
}

static bool same_hand(const struct codec_hand *a, const struct codec_hand *b)
{
	bool same = a->tracked == b->tracked;
	for (int j = 0; same && j < CODEC_HAND_JOINTS; j++) {
		const struct codec_joint *x = &a->joints[j], *y = &b->joints[j];
		same = !memcmp(&x->pose, &y->pose, sizeof(x->pose)) && x->radius == y->radius && x->flags == y->flags;
	}
	return same;
}

/* A receiver that joins mid-stream decodes from the next key frame on, exactly as one that saw everything. */
static void test_start_mid_stream(void)
{
	struct recording *r = record(75, synth(true, true, false), 2);
	struct codec_stream_desc desc = stream_desc(2);
	struct codec_decoder *all = NULL, *late = NULL;
	CHECK(codec_decoder_create(&desc, &all) == CV_OK && codec_decoder_create(&desc, &late) == CV_OK);
	struct codec_frame a, b;
	for (uint32_t i = 0; i < 75; i++) {
		enum codec_decode_status sa = feed(all, r, i, &a);
		CHECK(sa == CODEC_DECODED);
		if (i < 37) continue;
		enum codec_decode_status sb = feed(late, r, i, &b);
		CHECK_MSG((sb == CODEC_DECODED) == (i >= 60), "packet %u: status %d", i, sb);
		if (sb == CODEC_DECODED && sa == CODEC_DECODED) {
			CHECK(memcmp(a.code, b.code, Z * sizeof(float)) == 0);
			CHECK(memcmp(&a.head, &b.head, sizeof(a.head)) == 0);
			CHECK(same_hand(&a.hands[0], &b.hands[0]) && same_hand(&a.hands[1], &b.hands[1]));
		}
	}
	struct codec_decoder_stats stats;
	codec_decoder_stats(late, &stats);
	CHECK(stats.skipped_no_key == 60 - 37 && stats.gaps == 0);
	codec_decoder_destroy(&all);
	codec_decoder_destroy(&late);
	recording_free(r);
}

/* Hands that come and go, joints that are partly invalid (with NaN where they are), and data that is not rigid. */
static void test_hands(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_synth_desc s = synth(true, false, false);
	float code[Z];
	struct worst w = {0};
	uint64_t rng = 99;
	for (uint32_t i = 0; i < 70; i++) {
		struct codec_frame f;
		make_frame(&s, i, code, &f);
		struct codec_hand *left = &f.hands[CODEC_HAND_LEFT], *right = &f.hands[CODEC_HAND_RIGHT];
		/* Left: tracked, lost for frames 10-19 (then intra coded again mid-GOP), tracked again. */
		if (i >= 10 && i < 20) memset(left, 0, sizeof(*left));
		/* Right: frames 25-44 partly valid: fingertips lose positions, the ring finger everything, and what is
		 * not valid is garbage. */
		if (i >= 25 && i < 45) {
			for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
				struct codec_joint *jt = &right->joints[j];
				if (j == CODEC_JOINT_INDEX_TIP || j == CODEC_JOINT_THUMB_TIP) {
					jt->flags = CODEC_JOINT_ORIENTATION_VALID;
					jt->pose.position[0] = NAN;
				}
				if (j >= CODEC_JOINT_RING_METACARPAL && j <= CODEC_JOINT_RING_TIP) {
					jt->flags = 0;
					jt->pose.position[1] = NAN;
					jt->pose.orientation[2] = NAN;
				}
				if (j == CODEC_JOINT_WRIST && i >= 40)
					jt->flags = CODEC_JOINT_POSITION_VALID | CODEC_JOINT_POSITION_TRACKED;
			}
		}
		/* Frames 50-69: positions off the rigid skeleton by up to 4 mm: corrections keep the bound. */
		for (int j = 0; i >= 50 && j < CODEC_HAND_JOINTS; j++)
			for (int k = 0; k < 3; k++)
				right->joints[j].pose.position[k] += (float)(0.008 * (uniform(&rng) - 0.5));
		round_trip(&p, &f, 1, &w);
	}
	struct codec_encoder_stats stats;
	codec_encoder_stats(p.enc, &stats);
	unsigned long long corrections = stats.corrections;
	CHECK_MSG(corrections > 100, "%llu corrections for non-rigid data", corrections);
	printf("    worst joint position %.3f, orientation %.3f of the bound; %llu corrections in 20 "
	       "non-rigid frames\n", w.joint_pos, w.joint_rot, corrections);
	pair_destroy(&p);
}

/* Gaze and audio come and go frame by frame; each is decoded exactly when it was sent. */
static void test_optional_fields(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_synth_desc s = synth(false, true, true);
	float code[Z];
	struct worst w = {0};
	for (uint32_t i = 0; i < 40; i++) {
		struct codec_frame f;
		make_frame(&s, i, code, &f);
		f.has_gaze = i % 3 != 0;
		f.has_audio = i % 5 < 2;
		if (!f.has_gaze) memset(f.gaze, 0xFF, sizeof(f.gaze)); /* NaN: ignored when absent */
		if (!f.has_audio) f.audio_level = -5;
		round_trip(&p, &f, 1, &w);
	}
	pair_destroy(&p);
}

/* Every prefix of a key and of a delta packet, and one byte too many, are refused, and the decoder is unchanged. */
static void test_truncated(void)
{
	struct recording *r = record(3, synth(true, true, true), 1);
	struct codec_stream_desc desc = stream_desc(1);
	struct codec_decoder *d = NULL;
	CHECK(codec_decoder_create(&desc, &d) == CV_OK);
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	struct codec_frame out = {0};
	uint32_t refused = 0;
	for (uint32_t i = 0; i < 2; i++) {
		uint8_t *copy = malloc(r->sizes[i] + 1);
		for (size_t n = 0; n < r->sizes[i]; n++) {
			memcpy(copy, r->packets[i], n);
			enum codec_decode_status st;
			enum cv_result res = codec_decoder_decode(d, n ? copy : NULL, n, &out, &st);
			refused += res == CV_ERROR_FORMAT;
			CHECK_MSG(res == CV_ERROR_FORMAT, "packet %u cut to %zu of %zu bytes: %s", i, n, r->sizes[i],
			          cv_result_str(res));
		}
		memcpy(copy, r->packets[i], r->sizes[i]);
		copy[r->sizes[i]] = 0;
		enum codec_decode_status st;
		CHECK(codec_decoder_decode(d, copy, r->sizes[i] + 1, &out, &st) == CV_ERROR_FORMAT);
		free(copy);
		CHECK(feed(d, r, i, &out) == CODEC_DECODED);
	}
	cv_log_set_level(CV_LOG_INFO);
	struct codec_decoder_stats stats;
	codec_decoder_stats(d, &stats);
	CHECK(stats.rejected == refused + 2 && stats.decoded == 2 && stats.gaps == 0);
	printf("    %u truncated packets refused\n", refused);
	codec_decoder_destroy(&d);
	recording_free(r);
}

static bool frame_finite(const struct codec_frame *f)
{
	bool ok = f->code && isfinite(f->head.position[0] + f->head.position[1] + f->head.position[2]);
	for (uint32_t i = 0; ok && i < f->code_floats; i++) ok = isfinite(f->code[i]);
	for (int k = 0; ok && k < 4; k++) ok = isfinite(f->head.orientation[k]);
	for (int s = 0; ok && s < 2; s++)
		for (int j = 0; ok && f->hands[s].tracked && j < CODEC_HAND_JOINTS; j++) {
			const struct codec_pose *pose = &f->hands[s].joints[j].pose;
			for (int k = 0; ok && k < 4; k++)
				ok = isfinite(pose->orientation[k]) && (k == 3 || isfinite(pose->position[k]));
		}
	return ok && (!f->has_gaze || isfinite(f->gaze[0] + f->gaze[1] + f->gaze[2]));
}

/* Corrupted bytes anywhere: an error or a frame of finite values, never a crash; the stream recovers at the next
 * key frame. (The sanitizer build checks every access.) */
static void test_corrupted(void)
{
	struct recording *r = record(70, synth(true, true, true), 1);
	struct codec_stream_desc desc = stream_desc(1);
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	uint64_t rng = 4242;
	uint32_t errors = 0, decoded = 0;
	for (uint32_t trial = 0; trial < 400; trial++) {
		struct codec_decoder *d = NULL;
		CHECK(codec_decoder_create(&desc, &d) == CV_OK);
		struct codec_frame out;
		uint32_t target = trial % 8; /* corrupt one of the first packets: the key frame or a delta */
		for (uint32_t i = 0; i < 70 && d; i++) {
			uint8_t copy[4096];
			size_t n = r->sizes[i] < sizeof(copy) ? r->sizes[i] : sizeof(copy);
			memcpy(copy, r->packets[i], n);
			if (i == target) {
				int flips = 1 + (int)(trial % 4);
				for (int k = 0; k < flips; k++) {
					uint64_t x = next_random(&rng);
					copy[(x >> 33) % n] ^= (uint8_t)(1u << ((x >> 20) % 8));
				}
			}
			enum codec_decode_status st;
			enum cv_result res = codec_decoder_decode(d, copy, n, &out, &st);
			if (i == target) {
				errors += res != CV_OK;
				decoded += res == CV_OK && st == CODEC_DECODED;
			}
			if (res == CV_OK && st == CODEC_DECODED) CHECK(frame_finite(&out));
			/* From the second key frame on, the stream is whole again (the first is enough unless the
			 * corruption moved a key frame's sequence or timestamp into the future). */
			if (i >= 60)
				CHECK_MSG(res == CV_OK && st == CODEC_DECODED, "trial %u: packet %u", trial, i);
		}
		codec_decoder_destroy(&d);
	}
	cv_log_set_level(CV_LOG_INFO);
	printf("    400 corrupted packets: %u refused, %u decoded to (bounded, finite) wrong values\n", errors,
	       decoded);
	recording_free(r);
}

static void test_wrong_stream(void)
{
	struct recording *r = record(2, synth(false, false, false), 1);
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	float other_std[Z];
	for (int i = 0; i < Z; i++) other_std[i] = code_std[i] * 1.01f;
	struct codec_stream_desc descs[4] = {stream_desc(1), stream_desc(1), stream_desc(1), stream_desc(1)};
	descs[0].participant = 8;
	descs[1].avatar = 0xBEEF;
	descs[2].code_std = other_std;
	descs[3].latent = Z - 1;
	const char *what[4] = {"participant", "avatar", "code statistics", "latent size"};
	for (int k = 0; k < 4; k++) {
		struct codec_decoder *d = NULL;
		CHECK(codec_decoder_create(&descs[k], &d) == CV_OK);
		struct codec_frame out;
		enum codec_decode_status st;
		enum cv_result res = codec_decoder_decode(d, r->packets[0], r->sizes[0], &out, &st);
		CHECK_MSG(res == CV_ERROR_MISMATCH, "wrong %s", what[k]);
		/* The delta frame: a wrong participant is refused, anything else waits for a key frame. */
		res = codec_decoder_decode(d, r->packets[1], r->sizes[1], &out, &st);
		CHECK(k == 0 ? res == CV_ERROR_MISMATCH : res == CV_OK && st == CODEC_SKIPPED_WAITING_KEY);
		codec_decoder_destroy(&d);
	}
	/* A packet of a newer version, and bytes that are no packet at all. */
	uint8_t copy[4096];
	memcpy(copy, r->packets[0], r->sizes[0]);
	copy[0] = 0xA2;
	struct codec_packet_info info;
	CHECK(codec_packet_parse(copy, r->sizes[0], &info) == CV_ERROR_UNSUPPORTED);
	copy[0] = 0x51;
	CHECK(codec_packet_parse(copy, r->sizes[0], &info) == CV_ERROR_FORMAT);
	copy[0] = r->packets[0][0];
	copy[1] |= 0x80;
	CHECK(codec_packet_parse(copy, r->sizes[0], &info) == CV_ERROR_FORMAT);
	cv_log_set_level(CV_LOG_INFO);
	recording_free(r);
}

/* Time must move forward: in the encoder's input, and in packets (a key frame later in sequence but earlier in
 * time, from a second encoder of the same stream, is refused). */
static void test_time_backwards(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_synth_desc s = synth(false, false, false);
	float code[Z];
	struct codec_frame f;
	size_t size;
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	for (uint32_t i = 0; i < 10; i++) {
		make_frame(&s, i, code, &f);
		f.timestamp_us += 1000000;
		CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_OK);
		struct codec_frame out;
		enum codec_decode_status st;
		CHECK(codec_decoder_decode(p.dec, p.packet, size, &out, &st) == CV_OK && st == CODEC_DECODED);
	}
	make_frame(&s, 10, code, &f);
	f.timestamp_us = 1000000 + 9 * 1000000 / FPS; /* not after frame 9 */
	CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	make_frame(&s, 9, code, &f);
	f.timestamp_us = 5000000; /* sequence not after 9 */
	CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);

	struct codec_stream_desc desc = stream_desc(1);
	struct codec_encoder *other = NULL;
	CHECK(codec_encoder_create(&desc, &other) == CV_OK);
	make_frame(&s, 20, code, &f); /* sequence 20, at 0.67 s: before frame 9's 1.3 s */
	CHECK(codec_encoder_encode(other, &f, p.packet, p.capacity, &size) == CV_OK);
	struct codec_frame out;
	enum codec_decode_status st;
	CHECK(codec_decoder_decode(p.dec, p.packet, size, &out, &st) == CV_ERROR_FORMAT);
	codec_encoder_destroy(&other);
	/* The decoder is unchanged: the next frame of the real stream decodes. */
	make_frame(&s, 10, code, &f);
	f.timestamp_us += 1000000;
	CHECK(codec_encoder_encode(p.enc, &f, p.packet, p.capacity, &size) == CV_OK);
	CHECK(codec_decoder_decode(p.dec, p.packet, size, &out, &st) == CV_OK && st == CODEC_DECODED);
	cv_log_set_level(CV_LOG_INFO);
	pair_destroy(&p);
}

/* A sender that restarts (sequence and time from zero again) is followed again from its second key frame: the
 * first one going back could be a stray late packet, two in a row cannot. */
static void test_sender_restart(void)
{
	struct recording *before = record(70, synth(false, true, false), 1);
	struct recording *after = record(45, synth(true, false, true), 1);
	struct codec_stream_desc desc = stream_desc(1);
	struct codec_decoder *d = NULL;
	CHECK(codec_decoder_create(&desc, &d) == CV_OK);
	struct codec_frame out;
	for (uint32_t i = 0; i < 70; i++) CHECK(feed(d, before, i, &out) == CODEC_DECODED);
	cv_log_set_level(CV_LOG_ERROR); /* the decoder warns that it follows the stream again */
	struct worst w = {0};
	for (uint32_t i = 0; i < 45; i++) {
		enum codec_decode_status st = feed(d, after, i, &out);
		CHECK_MSG(st == (i < 30 ? CODEC_SKIPPED_LATE : CODEC_DECODED), "packet %u after restarting: %d", i, st);
		if (st == CODEC_DECODED) check_frame(&after->frames[i], &out, 1, &w);
	}
	cv_log_set_level(CV_LOG_INFO);
	codec_decoder_destroy(&d);
	recording_free(before);
	recording_free(after);
}

/* Bad frames and bad stream descriptions are refused by name, and a refused frame leaves the encoder as it was. */
static void test_bad_arguments(void)
{
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	struct codec_encoder *e = NULL;
	struct codec_stream_desc bad = stream_desc(1);
	bad.latent = 0;
	CHECK(codec_encoder_create(&bad, &e) == CV_ERROR_INVALID_ARGUMENT && !e);
	bad.latent = CODEC_MAX_LATENT + 1;
	CHECK(codec_decoder_create(&bad, &(struct codec_decoder *){NULL}) == CV_ERROR_INVALID_ARGUMENT);
	bad = stream_desc(100);
	CHECK(codec_encoder_create(&bad, &e) == CV_ERROR_INVALID_ARGUMENT);
	float zero_std[Z] = {0};
	bad = stream_desc(1);
	bad.code_std = zero_std;
	CHECK(codec_encoder_create(&bad, &e) == CV_ERROR_INVALID_ARGUMENT);

	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_synth_desc s = synth(true, true, true);
	float code[Z];
	struct codec_frame f;
	size_t size;
	make_frame(&s, 0, code, &f);
	struct codec_frame g = f;
	g.code_floats = Z - 1;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.participant = 3;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	float nan_code[Z];
	memcpy(nan_code, code, sizeof(code));
	nan_code[17] = NAN;
	g = f;
	g.code = nan_code;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.head.orientation[3] *= 2;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.hands[1].joints[5].pose.orientation[0] = NAN;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.hands[0].joints[3].flags = 0x10;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.audio_level = 1.5f;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	g = f;
	g.gaze[0] += 0.5f;
	CHECK(codec_encoder_encode(p.enc, &g, p.packet, p.capacity, &size) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(codec_encoder_encode(p.enc, &f, p.packet, 10, &size) == CV_ERROR_INVALID_ARGUMENT);
	cv_log_set_level(CV_LOG_INFO);
	/* None of that touched the stream: frame 0 is a key frame that decodes. */
	struct worst w = {0};
	round_trip(&p, &f, 1, &w);
	CHECK(p.packet[1] & CODEC_PACKET_KEY);
	pair_destroy(&p);
}

/* A decoder follows a change of encoder (and with it of quality) at the new encoder's first key frame. */
static void test_quality_change(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 1));
	struct codec_stream_desc coarse = stream_desc(4);
	struct codec_encoder *second = NULL;
	CHECK(codec_encoder_create(&coarse, &second) == CV_OK);
	struct codec_synth_desc s = synth(false, true, false);
	float code[Z];
	struct worst w = {0};
	for (uint32_t i = 0; i < 50; i++) {
		struct codec_frame f;
		make_frame(&s, i, code, &f);
		if (i < 20) {
			round_trip(&p, &f, 1, &w);
			continue;
		}
		size_t size;
		CHECK(codec_encoder_encode(second, &f, p.packet, p.capacity, &size) == CV_OK);
		struct codec_frame out;
		enum codec_decode_status st;
		CHECK(codec_decoder_decode(p.dec, p.packet, size, &out, &st) == CV_OK && st == CODEC_DECODED);
		if (st == CODEC_DECODED) check_frame(&f, &out, 4, &w);
	}
	codec_encoder_destroy(&second);
	pair_destroy(&p);
}

/* The rate of a smooth synthetic 256-float code stream (with head pose, gaze and audio level) at the default
 * quality, against the target of 16 kbit/s at 30 Hz. A figure of the synthetic data, not of real faces. */
static void test_bitrate(void)
{
	struct stream_pair p;
	CHECK(pair_create(&p, 0));
	struct codec_synth_desc s = synth(false, true, true);
	float code[Z];
	struct worst w = {0};
	uint64_t bytes = 0;
	uint32_t frames = 20 * FPS;
	for (uint32_t i = 0; i < frames; i++) {
		struct codec_frame f;
		make_frame(&s, i, code, &f);
		bytes += round_trip(&p, &f, 1, &w);
	}
	double kbits = 8.0 * bytes / frames * FPS / 1e3;
	CHECK_MSG(kbits < TARGET_KBITS, "%.2f kbit/s at 30 Hz", kbits);
	printf("    default quality: %.1f bits/frame, %.2f kbit/s at 30 Hz (target %.0f)\n", 8.0 * bytes / frames,
	       kbits, TARGET_KBITS);
	pair_destroy(&p);
}

int main(void)
{
	/* Code statistics like a .cavatar file's: means near 0, standard deviations 0.5..1.5. */
	for (int i = 0; i < Z; i++) {
		code_mean[i] = 0.1f * (float)sin(i * 1.7);
		code_std[i] = 1.0f + 0.5f * (float)sin(i * 0.37);
	}
	RUN(test_round_trip);
	RUN(test_extremes);
	RUN(test_key_frames);
	RUN(test_loss_and_recovery);
	RUN(test_start_mid_stream);
	RUN(test_hands);
	RUN(test_optional_fields);
	RUN(test_truncated);
	RUN(test_corrupted);
	RUN(test_wrong_stream);
	RUN(test_time_backwards);
	RUN(test_sender_restart);
	RUN(test_bad_arguments);
	RUN(test_quality_change);
	RUN(test_bitrate);
	return test_finish();
}
