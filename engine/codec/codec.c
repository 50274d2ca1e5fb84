/* The stream codec (codec.h): a binary range coder, the per-value predictors and context models, one walk over
 * a frame shared by the encoder and the decoder (so the two cannot disagree on the bitstream's layout), and the
 * packet header.
 *
 * Range coder: the carry-less byte-oriented binary coder of LZMA (after G. N. N. Martin, "Range encoding", 1979):
 * a 32-bit range, a 33-bit low with carry propagation through a cached byte and a count of pending 0xFF bytes,
 * 11-bit probabilities adapted by 1/32 of the error after every bit. */
#include "codec/codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- range coder ---- */

#define PROB_BITS 11
#define PROB_ONE (1u << PROB_BITS)
#define PROB_INIT (PROB_ONE / 2)
#define MOVE_BITS 5
#define RANGE_TOP (1u << 24)
/* An adaptive probability stays within [31, 2017] / 2048, so no binary decision costs more than 6.05 bits. */
#define DECISION_MAX_BITS 7

struct rc_encoder {
	uint8_t *buf;
	size_t capacity, pos;
	uint64_t low;
	uint32_t range;
	uint8_t cache;
	uint64_t pending; /* bytes waiting for a carry: the cached byte and the 0xFF run after it */
	bool first;       /* the first byte out is always 0 (the code value starts in [0, 1)), so it is not sent */
	bool overflow;
};

struct rc_decoder {
	const uint8_t *buf;
	size_t size, pos; /* pos may run past size: missing bytes read as 0 (the encoder drops trailing zeros) */
	uint32_t range, code;
	bool bad;         /* code >= range: no encoder wrote these bytes */
};

static void rc_encoder_init(struct rc_encoder *e, uint8_t *buf, size_t capacity)
{
	*e = (struct rc_encoder){.buf = buf, .capacity = capacity, .range = 0xFFFFFFFFu, .pending = 1, .first = true};
}

static void rc_put(struct rc_encoder *e, uint8_t byte)
{
	if (e->first) {
		e->first = false;
		return;
	}
	if (e->pos < e->capacity) e->buf[e->pos] = byte;
	else e->overflow = true;
	e->pos++;
}

static void rc_shift_low(struct rc_encoder *e)
{
	if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
		uint8_t carry = (uint8_t)(e->low >> 32), byte = e->cache;
		do {
			rc_put(e, (uint8_t)(byte + carry));
			byte = 0xFF;
		} while (--e->pending != 0);
		e->cache = (uint8_t)(e->low >> 24);
	}
	e->pending++;
	e->low = (e->low & 0x00FFFFFFu) << 8;
}

static void rc_encode_bit(struct rc_encoder *e, uint16_t *prob, unsigned bit)
{
	uint32_t bound = (e->range >> PROB_BITS) * *prob;
	if (!bit) {
		e->range = bound;
		*prob = (uint16_t)(*prob + ((PROB_ONE - *prob) >> MOVE_BITS));
	} else {
		e->low += bound;
		e->range -= bound;
		*prob = (uint16_t)(*prob - (*prob >> MOVE_BITS));
	}
	while (e->range < RANGE_TOP) {
		e->range <<= 8;
		rc_shift_low(e);
	}
}

static void rc_encode_direct(struct rc_encoder *e, unsigned bit)
{
	e->range >>= 1;
	if (bit) e->low += e->range;
	while (e->range < RANGE_TOP) {
		e->range <<= 8;
		rc_shift_low(e);
	}
}

/* Ends the stream with the value in [low, low + range) that has the most trailing zero bits, then drops the
 * trailing zero bytes: the decoder reads missing bytes as zeros, so they cost nothing. */
static void rc_encoder_finish(struct rc_encoder *e)
{
	for (int bits = 32; bits >= 0; bits--) {
		uint64_t mask = (1ull << bits) - 1, v = (e->low + mask) & ~mask;
		if (v < e->low + e->range) {
			e->low = v;
			break;
		}
	}
	for (int i = 0; i < 5; i++) rc_shift_low(e);
	while (!e->overflow && e->pos > 0 && e->buf[e->pos - 1] == 0) e->pos--;
}

/* Information written so far, in bits (up to a constant): for accounting where a packet's bits go. */
static double rc_encoder_bits(const struct rc_encoder *e)
{
	return 8.0 * ((double)e->pos + (double)e->pending) - log2((double)e->range);
}

static uint8_t rc_get(struct rc_decoder *d)
{
	uint8_t byte = d->pos < d->size ? d->buf[d->pos] : 0;
	d->pos++;
	return byte;
}

static void rc_decoder_init(struct rc_decoder *d, const uint8_t *buf, size_t size)
{
	*d = (struct rc_decoder){.buf = buf, .size = size, .range = 0xFFFFFFFFu};
	for (int i = 0; i < 4; i++) d->code = (d->code << 8) | rc_get(d);
}

static void rc_normalize(struct rc_decoder *d)
{
	while (d->range < RANGE_TOP) {
		d->range <<= 8;
		d->code = (d->code << 8) | rc_get(d);
	}
	if (d->code >= d->range) d->bad = true;
}

static unsigned rc_decode_bit(struct rc_decoder *d, uint16_t *prob)
{
	uint32_t bound = (d->range >> PROB_BITS) * *prob;
	unsigned bit;
	if (d->code < bound) {
		d->range = bound;
		*prob = (uint16_t)(*prob + ((PROB_ONE - *prob) >> MOVE_BITS));
		bit = 0;
	} else {
		d->code -= bound;
		d->range -= bound;
		*prob = (uint16_t)(*prob - (*prob >> MOVE_BITS));
		bit = 1;
	}
	rc_normalize(d);
	return bit;
}

static unsigned rc_decode_direct(struct rc_decoder *d)
{
	d->range >>= 1;
	unsigned bit = d->code >= d->range;
	if (bit) d->code -= d->range;
	rc_normalize(d);
	return bit;
}

/* ---- symmetric coding: the encoder codes the value it is given and returns it, the decoder returns what it
 * reads. One walk over a frame serves both. ---- */

/* Integers: zero flag, sign, exponent class e in unary (|v| in [2^e, 2^(e+1))), the top mantissa bit with a
 * context per class, the other mantissa bits direct. Values stay below 2^INT_CLASSES in magnitude. */
#define INT_CLASSES 24
#define INT_MAX_BITS ((3 + INT_CLASSES) * DECISION_MAX_BITS + INT_CLASSES)

struct int_model {
	uint16_t zero, sign, cls[INT_CLASSES], mantissa[INT_CLASSES];
};

struct sym {
	bool decoding;
	const char *bad; /* decoding: why the body cannot have come from an encoder (the first reason found) */
	struct rc_encoder enc;
	struct rc_decoder dec;
};

static void sym_fail(struct sym *s, const char *why)
{
	if (!s->bad) s->bad = why;
}

static unsigned sym_bit(struct sym *s, uint16_t *prob, unsigned bit)
{
	if (s->decoding) return rc_decode_bit(&s->dec, prob);
	rc_encode_bit(&s->enc, prob, bit);
	return bit;
}

static unsigned sym_direct(struct sym *s, unsigned bit)
{
	if (s->decoding) return rc_decode_direct(&s->dec);
	rc_encode_direct(&s->enc, bit);
	return bit;
}

static int32_t sym_int(struct sym *s, struct int_model *m, int32_t v)
{
	if (sym_bit(s, &m->zero, v == 0)) return 0;
	unsigned negative = sym_bit(s, &m->sign, v < 0);
	uint32_t mag = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
	unsigned e = s->decoding ? 0 : 31u - (unsigned)__builtin_clz(mag), cls = 0;
	while (cls < INT_CLASSES - 1 && sym_bit(s, &m->cls[cls], cls < e)) cls++;
	uint32_t u = 1;
	if (cls > 0) u = (u << 1) | sym_bit(s, &m->mantissa[cls], (mag >> (cls - 1)) & 1);
	for (int b = (int)cls - 2; b >= 0; b--) u = (u << 1) | sym_direct(s, (mag >> b) & 1);
	return negative ? -(int32_t)u : (int32_t)u;
}

/* ---- predicted values ---- */

/* Grid values are kept within +-2^20 steps, so differences from any prediction stay below 2^22. */
#define VALUE_LIMIT (1 << 20)
#define SELECTORS 4

enum field {
	FIELD_INTERVAL,
	FIELD_HEAD_POSITION,
	FIELD_HEAD_ROTATION,
	FIELD_WRIST_POSITION,
	FIELD_WRIST_ROTATION,
	FIELD_JOINT_ROTATION,
	FIELD_RADIUS,
	FIELD_SCALE,
	FIELD_BONE,
	FIELD_CORRECTION,
	FIELD_GAZE,
	FIELD_AUDIO,
	FIELD_CODE,
	FIELD_COUNT,
};

struct models {
	struct int_model intra[FIELD_COUNT];            /* values coded as themselves */
	struct int_model inter[FIELD_COUNT][SELECTORS]; /* differences, by the size of the value's last difference */
	uint16_t flags_same[2], flags_bit[4], correct[2];
};

/* One scalar's predictor: its last two grid values, and how well "hold" and "extrapolate" have predicted it
 * lately (decaying sums of absolute error, 1/16 units). */
struct chan {
	int32_t k1, k2;
	uint32_t cost_hold, cost_linear;
	uint8_t selector;
};

static int32_t clamp_value(int64_t v)
{
	return (int32_t)(v < -VALUE_LIMIT ? -VALUE_LIMIT : v > VALUE_LIMIT ? VALUE_LIMIT : v);
}

static int32_t chan_predict(const struct chan *c)
{
	return c->cost_linear < c->cost_hold ? clamp_value(2 * (int64_t)c->k1 - c->k2) : c->k1;
}

static uint32_t decay_add(uint32_t cost, int64_t error)
{
	uint64_t e = (uint64_t)(error < 0 ? -error : error);
	return cost - (cost >> 2) + (uint32_t)(e > 4096 ? 4096 * 16 : e * 16);
}

static void chan_update(struct chan *c, bool intra, int32_t v)
{
	if (intra) {
		*c = (struct chan){.k1 = v, .k2 = v, .selector = 1};
		return;
	}
	int64_t hold = (int64_t)v - c->k1, linear = (int64_t)v - (2 * (int64_t)c->k1 - c->k2);
	int64_t residual = (int64_t)v - chan_predict(c);
	c->cost_hold = decay_add(c->cost_hold, hold);
	c->cost_linear = decay_add(c->cost_linear, linear);
	uint64_t mag = (uint64_t)(residual < 0 ? -residual : residual);
	c->selector = (uint8_t)(mag < SELECTORS ? mag : SELECTORS - 1);
	c->k2 = c->k1;
	c->k1 = v;
}

/* ---- stream state ---- */

#define ALL_JOINT_FLAGS 15u

struct hand_state {
	bool tracked;
	uint8_t flags[CODEC_HAND_JOINTS];
	int32_t bone[CODEC_HAND_JOINTS][3]; /* offset from the parent in the parent's frame, CODEC_BONE_STEP units */
	struct chan radius[CODEC_HAND_JOINTS];
	struct chan rotation[CODEC_HAND_JOINTS][3]; /* wrist: its orientation; others: relative to the parent */
	struct chan wrist[3];
};

/* Everything both ends keep between frames. A packet is coded into a copy (`next`) that replaces `cur` only
 * when the whole packet succeeded. */
struct state {
	bool started; /* a frame was coded: it is the reference of the next delta frame */
	uint32_t sequence;
	uint64_t timestamp_us, key_timestamp_us;
	float quality;
	struct chan interval;
	struct chan head[6];
	struct hand_state hands[2];
	bool gaze, audio;
	struct chan gaze_k[2], audio_k;
	struct models models;
};

struct stream {
	uint32_t participant, avatar, latent;
	float *mean, *std;
	uint32_t scale_check;
	double *step; /* per code dimension, for step_quality */
	float step_quality;
	struct state cur, next;
	struct chan *code_cur, *code_next;
	float *rec_code, *rec_code_next; /* reconstructed code of the current and the next frame */
};

struct codec_encoder {
	struct stream st;
	struct codec_encoder_stats stats;
	float quality;
	uint32_t key_interval_us;
	bool force_key;
	uint8_t *body;
	size_t body_capacity;
};

struct codec_decoder {
	struct stream st;
	struct codec_decoder_stats stats;
	uint32_t observed;     /* the highest sequence seen since the last key frame decoded, for counting gaps */
	uint32_t refused_keys; /* key frames refused in a row for going back in sequence or time */
};

const uint8_t codec_joint_parent[CODEC_HAND_JOINTS] = {
	CODEC_JOINT_WRIST, CODEC_JOINT_WRIST,
	CODEC_JOINT_WRIST, CODEC_JOINT_THUMB_METACARPAL, CODEC_JOINT_THUMB_PROXIMAL, CODEC_JOINT_THUMB_DISTAL,
	CODEC_JOINT_WRIST, CODEC_JOINT_INDEX_METACARPAL, CODEC_JOINT_INDEX_PROXIMAL, CODEC_JOINT_INDEX_INTERMEDIATE,
	CODEC_JOINT_INDEX_DISTAL,
	CODEC_JOINT_WRIST, CODEC_JOINT_MIDDLE_METACARPAL, CODEC_JOINT_MIDDLE_PROXIMAL, CODEC_JOINT_MIDDLE_INTERMEDIATE,
	CODEC_JOINT_MIDDLE_DISTAL,
	CODEC_JOINT_WRIST, CODEC_JOINT_RING_METACARPAL, CODEC_JOINT_RING_PROXIMAL, CODEC_JOINT_RING_INTERMEDIATE,
	CODEC_JOINT_RING_DISTAL,
	CODEC_JOINT_WRIST, CODEC_JOINT_LITTLE_METACARPAL, CODEC_JOINT_LITTLE_PROXIMAL, CODEC_JOINT_LITTLE_INTERMEDIATE,
	CODEC_JOINT_LITTLE_DISTAL,
};

const float codec_average_hand[CODEC_HAND_JOINTS][4] = {
	{-0.004f, 0.0f, -0.045f, 0.020f}, /* palm, from the wrist */
	{0.0f, 0.0f, 0.0f, 0.020f},       /* wrist: the root */
	{-0.025f, -0.012f, -0.025f, 0.012f}, {0.0f, 0.0f, -0.040f, 0.010f}, {0.0f, 0.0f, -0.032f, 0.008f},
	{0.0f, 0.0f, -0.026f, 0.007f},
	{-0.022f, 0.0f, -0.008f, 0.012f}, {0.0f, 0.0f, -0.066f, 0.010f}, {0.0f, 0.0f, -0.040f, 0.009f},
	{0.0f, 0.0f, -0.025f, 0.008f}, {0.0f, 0.0f, -0.022f, 0.007f},
	{-0.006f, 0.0f, -0.006f, 0.012f}, {0.0f, 0.0f, -0.066f, 0.010f}, {0.0f, 0.0f, -0.045f, 0.009f},
	{0.0f, 0.0f, -0.028f, 0.008f}, {0.0f, 0.0f, -0.024f, 0.007f},
	{0.010f, 0.0f, -0.006f, 0.012f}, {0.0f, 0.0f, -0.060f, 0.010f}, {0.0f, 0.0f, -0.042f, 0.009f},
	{0.0f, 0.0f, -0.027f, 0.008f}, {0.0f, 0.0f, -0.023f, 0.007f},
	{0.024f, 0.0f, -0.008f, 0.012f}, {0.0f, 0.0f, -0.054f, 0.010f}, {0.0f, 0.0f, -0.031f, 0.009f},
	{0.0f, 0.0f, -0.021f, 0.008f}, {0.0f, 0.0f, -0.020f, 0.007f},
};

/* The o-th joint in an order where every parent comes before its children: the wrist, then the palm, then the
 * fingers in XR order. */
static int joint_in_order(int o)
{
	return o == 0 ? CODEC_JOINT_WRIST : o == 1 ? CODEC_JOINT_PALM : o;
}

/* ---- rotations (double; quaternions x, y, z, w) ---- */

static void quat_mul(const double a[4], const double b[4], double out[4])
{
	double r[4] = {
		a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
		a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
		a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
		a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
	};
	memcpy(out, r, sizeof(r));
}

static void quat_conj(const double q[4], double out[4])
{
	out[0] = -q[0];
	out[1] = -q[1];
	out[2] = -q[2];
	out[3] = q[3];
}

/* Unit length, w >= 0. */
static void quat_canonical(double q[4])
{
	double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
	double s = (q[3] < 0 ? -1.0 : 1.0) / n;
	for (int i = 0; i < 4; i++) q[i] *= s;
}

static void quat_rotate(const double q[4], const double v[3], double out[3])
{
	/* v + 2w (u x v) + 2 u x (u x v), u the vector part */
	double t[3] = {2 * (q[1] * v[2] - q[2] * v[1]), 2 * (q[2] * v[0] - q[0] * v[2]),
	               2 * (q[0] * v[1] - q[1] * v[0])};
	out[0] = v[0] + q[3] * t[0] + (q[1] * t[2] - q[2] * t[1]);
	out[1] = v[1] + q[3] * t[1] + (q[2] * t[0] - q[0] * t[2]);
	out[2] = v[2] + q[3] * t[2] + (q[0] * t[1] - q[1] * t[0]);
}

/* Rotation vector (axis times angle, angle <= pi) of a unit quaternion. */
static void quat_log(const double q_in[4], double v[3])
{
	double q[4] = {q_in[0], q_in[1], q_in[2], q_in[3]};
	quat_canonical(q);
	double s = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
	double f = s < 1e-12 ? 2.0 : 2.0 * atan2(s, q[3]) / s;
	for (int i = 0; i < 3; i++) v[i] = q[i] * f;
}

static void quat_exp(const double v[3], double q[4])
{
	double angle = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
	double f = angle < 1e-12 ? 0.5 : sin(0.5 * angle) / angle;
	q[0] = v[0] * f;
	q[1] = v[1] * f;
	q[2] = v[2] * f;
	q[3] = cos(0.5 * angle);
	quat_canonical(q);
}

static void quat_from_float(const float in[4], double q[4])
{
	for (int i = 0; i < 4; i++) q[i] = in[i];
	quat_canonical(q);
}

static void quat_to_float(const double q[4], float out[4])
{
	for (int i = 0; i < 4; i++) out[i] = (float)q[i];
}

/* Octahedral map of a unit vector to [-1, 1]^2 and back. */
static void oct_encode(const float d[3], double uv[2])
{
	double n = fabs(d[0]) + fabs(d[1]) + fabs(d[2]), x = d[0] / n, y = d[1] / n, z = d[2] / n;
	if (z < 0) {
		double fx = (1 - fabs(y)) * (x < 0 ? -1 : 1), fy = (1 - fabs(x)) * (y < 0 ? -1 : 1);
		x = fx;
		y = fy;
	}
	uv[0] = x;
	uv[1] = y;
}

static void oct_decode(const double uv[2], float d[3])
{
	double x = uv[0], y = uv[1], z = 1 - fabs(x) - fabs(y);
	if (z < 0) {
		double fx = (1 - fabs(y)) * (x < 0 ? -1 : 1), fy = (1 - fabs(x)) * (y < 0 ? -1 : 1);
		x = fx;
		y = fy;
	}
	double n = sqrt(x * x + y * y + z * z);
	d[0] = (float)(x / n);
	d[1] = (float)(y / n);
	d[2] = (float)(z / n);
}

/* ---- the walk over one frame ---- */

enum part { PART_TIME, PART_HEAD, PART_HANDS, PART_GAZE_AUDIO, PART_CODE, PART_COUNT };

struct walk {
	struct sym sym;
	double part_bits[PART_COUNT]; /* encoding: bits of each part of the body */
	uint32_t corrections;
	struct stream *st;
	struct state *s; /* st->next */
	bool key;
	const struct codec_frame *in; /* encoding: the frame; decoding: NULL */
	struct codec_frame *rec;      /* the reconstruction; presence of hands, gaze and audio is set beforehand */
};

/* The grid value nearest x, clamped to the grid. */
static int32_t quantize(double x, double step)
{
	return clamp_value((int64_t)llrint(fmax(fmin(x / step, 2.0 * VALUE_LIMIT), -2.0 * VALUE_LIMIT)));
}

/* Codes grid value k of one scalar (the encoder's k; the decoder's argument is ignored) and updates its predictor.
 * Intra coded, the prediction is `base`. */
static int32_t code_value_from(struct walk *w, enum field field, bool intra, struct chan *c, int32_t base, int32_t k)
{
	struct models *m = &w->s->models;
	int64_t prediction = intra ? base : chan_predict(c);
	struct int_model *model = intra ? &m->intra[field] : &m->inter[field][c->selector];
	int64_t v = prediction + sym_int(&w->sym, model, (int32_t)(k - prediction));
	if (v < -VALUE_LIMIT || v > VALUE_LIMIT) {
		sym_fail(&w->sym, "a value outside its grid");
		v = 0;
	}
	chan_update(c, intra, (int32_t)v);
	return (int32_t)v;
}

static int32_t code_value(struct walk *w, enum field field, bool intra, struct chan *c, int32_t k)
{
	return code_value_from(w, field, intra, c, 0, k);
}

/* A value whose input is not valid costs nothing: both ends hold the last one (0 when intra coded). */
static int32_t code_optional(struct walk *w, enum field field, bool intra, struct chan *c, bool valid, int32_t k)
{
	if (valid) return code_value(w, field, intra, c, k);
	int32_t held = intra ? 0 : c->k1;
	chan_update(c, intra, held);
	return held;
}

static void walk_head(struct walk *w)
{
	int32_t k[6] = {0};
	if (w->in) {
		double q[4], v[3];
		quat_from_float(w->in->head.orientation, q);
		quat_log(q, v);
		for (int a = 0; a < 3; a++) {
			k[a] = quantize(w->in->head.position[a], CODEC_HEAD_POSITION_STEP);
			k[3 + a] = quantize(v[a], CODEC_HEAD_ROTATION_STEP);
		}
	}
	double rotation[3], orientation[4];
	for (int a = 0; a < 3; a++) {
		k[a] = code_value(w, FIELD_HEAD_POSITION, w->key, &w->s->head[a], k[a]);
		w->rec->head.position[a] = (float)(k[a] * CODEC_HEAD_POSITION_STEP);
	}
	for (int a = 0; a < 3; a++)
		rotation[a] = CODEC_HEAD_ROTATION_STEP *
		              code_value(w, FIELD_HEAD_ROTATION, w->key, &w->s->head[3 + a], k[3 + a]);
	quat_exp(rotation, orientation);
	quat_to_float(orientation, w->rec->head.orientation);
}

static void walk_hand_flags(struct walk *w, struct hand_state *h, bool intra, const struct codec_hand *in,
                            struct codec_hand *out)
{
	struct models *m = &w->s->models;
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		unsigned predicted = intra ? ALL_JOINT_FLAGS : h->flags[j], f = in ? in->joints[j].flags : 0;
		if (sym_bit(&w->sym, &m->flags_same[intra], f == predicted)) {
			f = predicted;
		} else {
			unsigned got = 0;
			for (unsigned b = 0; b < 4; b++) got |= sym_bit(&w->sym, &m->flags_bit[b], (f >> b) & 1) << b;
			f = got;
		}
		h->flags[j] = (uint8_t)f;
		out->joints[j].flags = (uint8_t)f;
	}
}

/* The average hand's bone (x, y, z) or radius (3) of joint j, mirrored for the left hand. */
static double average(int side, int j, int a)
{
	return codec_average_hand[j][a] * (a == 0 && side == CODEC_HAND_LEFT ? -1 : 1);
}

/* The bone of joint j measured in the input: its offset from the parent in the parent's frame, where the joint's
 * and the parent's positions and the parent's orientation are valid. */
static bool input_bone(const struct codec_hand *in, int j, double b[3])
{
	int p = codec_joint_parent[j];
	const struct codec_joint *jj = &in->joints[j], *pj = &in->joints[p];
	if (!(jj->flags & CODEC_JOINT_POSITION_VALID) || !(pj->flags & CODEC_JOINT_POSITION_VALID) ||
	    !(pj->flags & CODEC_JOINT_ORIENTATION_VALID))
		return false;
	double q[4], qi[4], d[3];
	quat_from_float(pj->pose.orientation, q);
	quat_conj(q, qi);
	for (int a = 0; a < 3; a++) d[a] = (double)jj->pose.position[a] - pj->pose.position[a];
	quat_rotate(qi, d, b);
	return true;
}

/* The hand's size as a multiple of the average hand: the least-squares fit of the measured bones. */
static double fit_scale(const struct codec_hand *in, int side, double bones[CODEC_HAND_JOINTS][3], bool *measured)
{
	double dot = 0, norm = 0;
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		measured[j] = j != CODEC_JOINT_WRIST && input_bone(in, j, bones[j]);
		for (int a = 0; measured[j] && a < 3; a++) {
			dot += bones[j][a] * average(side, j, a);
			norm += average(side, j, a) * average(side, j, a);
		}
	}
	return norm > 0 ? dot / norm : 1.0;
}

/* What intra frames send of the hand's shape: a scale of the average hand, then each bone and radius as a
 * difference from the scaled average (real hands differ from it mostly in size). */
static void walk_hand_shape(struct walk *w, struct hand_state *h, int side, bool intra, const struct codec_hand *in,
                            struct codec_hand *out)
{
	struct models *m = &w->s->models;
	double scale = 1.0;
	double bones[CODEC_HAND_JOINTS][3] = {{0}};
	bool measured[CODEC_HAND_JOINTS] = {false};
	if (intra) {
		int32_t k = in ? quantize(fit_scale(in, side, bones, measured) - 1.0, CODEC_HAND_SCALE_STEP) : 0;
		int32_t low = (int32_t)lrint(-0.5 / CODEC_HAND_SCALE_STEP);
		int32_t high = (int32_t)lrint(1.0 / CODEC_HAND_SCALE_STEP);
		k = sym_int(&w->sym, &m->intra[FIELD_SCALE], k < low ? low : k > high ? high : k);
		if (k < low || k > high) sym_fail(&w->sym, "a hand scale outside 0.5..2");
		scale = 1.0 + k * CODEC_HAND_SCALE_STEP;
	}
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		int32_t base = quantize(scale * average(side, j, 3), CODEC_RADIUS_STEP);
		int32_t k = in ? quantize(in->joints[j].radius, CODEC_RADIUS_STEP) : 0;
		k = code_value_from(w, FIELD_RADIUS, intra, &h->radius[j], base, k);
		if (k < 0) sym_fail(&w->sym, "a negative joint radius");
		out->joints[j].radius = (float)(k * CODEC_RADIUS_STEP);
	}
	for (int j = 0; intra && j < CODEC_HAND_JOINTS; j++) {
		if (j == CODEC_JOINT_WRIST) continue;
		for (int a = 0; a < 3; a++) {
			int32_t base = quantize(scale * average(side, j, a), CODEC_BONE_STEP);
			int32_t k = measured[j] ? quantize(bones[j][a], CODEC_BONE_STEP) : base;
			int64_t v = base + (int64_t)sym_int(&w->sym, &m->intra[FIELD_BONE], k - base);
			if (v < -VALUE_LIMIT || v > VALUE_LIMIT) sym_fail(&w->sym, "a bone outside its grid");
			h->bone[j][a] = clamp_value(v);
		}
	}
}

static void walk_hand(struct walk *w, int side, bool intra, const struct codec_hand *in, struct codec_hand *out)
{
	struct hand_state *h = &w->s->hands[side];
	struct models *m = &w->s->models;
	walk_hand_flags(w, h, intra, in, out);
	walk_hand_shape(w, h, side, intra, in, out);

	double position[CODEC_HAND_JOINTS][3], orientation[CODEC_HAND_JOINTS][4];
	bool corrected[CODEC_HAND_JOINTS] = {false};
	for (int o = 0; o < CODEC_HAND_JOINTS; o++) {
		int j = joint_in_order(o), p = codec_joint_parent[j];
		unsigned f = h->flags[j];
		bool o_valid = f & CODEC_JOINT_ORIENTATION_VALID, p_valid = f & CODEC_JOINT_POSITION_VALID;
		const struct codec_joint *ij = in ? &in->joints[j] : NULL;
		/* Orientation: the wrist's own, every other joint's relative to its parent's reconstruction, so
		 * quantisation error does not add up along a finger. */
		int32_t k[3] = {0};
		double v[3], q[4], local[4];
		if (ij && o_valid) {
			quat_from_float(ij->pose.orientation, q);
			if (j == CODEC_JOINT_WRIST) {
				memcpy(local, q, sizeof(q));
			} else {
				double parent_inverse[4];
				quat_conj(orientation[p], parent_inverse);
				quat_mul(parent_inverse, q, local);
			}
			quat_log(local, v);
			double step = j == CODEC_JOINT_WRIST ? CODEC_WRIST_ROTATION_STEP : CODEC_JOINT_ROTATION_STEP;
			for (int a = 0; a < 3; a++) k[a] = quantize(v[a], step);
		}
		if (j == CODEC_JOINT_WRIST) {
			for (int a = 0; a < 3; a++)
				v[a] = CODEC_WRIST_ROTATION_STEP *
				       code_optional(w, FIELD_WRIST_ROTATION, intra, &h->rotation[j][a], o_valid, k[a]);
			quat_exp(v, orientation[j]);
			int32_t kp[3] = {0};
			for (int a = 0; ij && p_valid && a < 3; a++)
				kp[a] = quantize(ij->pose.position[a], CODEC_WRIST_POSITION_STEP);
			for (int a = 0; a < 3; a++) {
				kp[a] = code_optional(w, FIELD_WRIST_POSITION, intra, &h->wrist[a], p_valid, kp[a]);
				position[j][a] = kp[a] * CODEC_WRIST_POSITION_STEP;
			}
		} else {
			for (int a = 0; a < 3; a++)
				v[a] = CODEC_JOINT_ROTATION_STEP *
				       code_optional(w, FIELD_JOINT_ROTATION, intra, &h->rotation[j][a], o_valid, k[a]);
			quat_exp(v, local);
			quat_mul(orientation[p], local, orientation[j]);
			quat_canonical(orientation[j]);
			/* Position: down the rigid chain, corrected where that misses by more than the tolerance. */
			double bone[3] = {h->bone[j][0] * CODEC_BONE_STEP, h->bone[j][1] * CODEC_BONE_STEP,
			                  h->bone[j][2] * CODEC_BONE_STEP}, offset[3];
			quat_rotate(orientation[p], bone, offset);
			double miss[3] = {0};
			bool correct = false;
			for (int a = 0; a < 3; a++) {
				position[j][a] = position[p][a] + offset[a];
				if (ij && p_valid) {
					miss[a] = ij->pose.position[a] - position[j][a];
					correct |= fabs(miss[a]) > CODEC_JOINT_POSITION_TOLERANCE;
				}
			}
			if (p_valid && sym_bit(&w->sym, &m->correct[corrected[p]], correct)) {
				corrected[j] = true;
				w->corrections++;
				for (int a = 0; a < 3; a++) {
					int32_t c = sym_int(&w->sym, &m->intra[FIELD_CORRECTION],
					                    quantize(miss[a], CODEC_JOINT_POSITION_TOLERANCE));
					if (c < -VALUE_LIMIT || c > VALUE_LIMIT)
						sym_fail(&w->sym, "a position correction outside its grid");
					position[j][a] += c * CODEC_JOINT_POSITION_TOLERANCE;
				}
			}
		}
		for (int a = 0; a < 3; a++) out->joints[j].pose.position[a] = (float)position[j][a];
		quat_to_float(orientation[j], out->joints[j].pose.orientation);
	}
}

static void walk_gaze_audio(struct walk *w)
{
	struct state *s = w->s;
	if (w->rec->has_gaze) {
		bool intra = w->key || !s->gaze;
		double uv[2] = {0, 0};
		if (w->in) oct_encode(w->in->gaze, uv);
		int32_t limit = (int32_t)ceil(1.0 / CODEC_GAZE_STEP);
		for (int a = 0; a < 2; a++) {
			int32_t k = code_value(w, FIELD_GAZE, intra, &s->gaze_k[a], quantize(uv[a], CODEC_GAZE_STEP));
			if (k < -limit || k > limit) sym_fail(&w->sym, "gaze outside the octahedral square");
			uv[a] = k * CODEC_GAZE_STEP;
		}
		oct_decode(uv, w->rec->gaze);
	}
	s->gaze = w->rec->has_gaze;
	if (w->rec->has_audio) {
		bool intra = w->key || !s->audio;
		int32_t k = code_value(w, FIELD_AUDIO, intra, &s->audio_k,
		                       w->in ? quantize(w->in->audio_level, CODEC_AUDIO_STEP) : 0);
		if (k < 0 || k > (int32_t)lrint(1.0 / CODEC_AUDIO_STEP))
			sym_fail(&w->sym, "an audio level outside 0..1");
		w->rec->audio_level = (float)(k * CODEC_AUDIO_STEP);
	}
	s->audio = w->rec->has_audio;
}

static void walk_code(struct walk *w)
{
	struct stream *st = w->st;
	for (uint32_t i = 0; i < st->latent; i++) {
		int32_t k = w->in ? quantize((double)w->in->code[i] - st->mean[i], st->step[i]) : 0;
		k = code_value(w, FIELD_CODE, w->key, &st->code_next[i], k);
		st->rec_code_next[i] = (float)(st->mean[i] + k * st->step[i]);
	}
	w->rec->code = st->rec_code_next;
	w->rec->code_floats = st->latent;
}

static void account(struct walk *w, enum part part, double *mark)
{
	if (w->sym.decoding) return;
	double now = rc_encoder_bits(&w->sym.enc);
	w->part_bits[part] += now - *mark;
	*mark = now;
}

/* The body of a packet. For delta frames the timestamp follows from the coded frame interval. */
static void walk_frame(struct walk *w)
{
	struct state *s = w->s;
	double mark = w->sym.decoding ? 0 : rc_encoder_bits(&w->sym.enc);
	if (!w->key) {
		int32_t interval = w->in ? (int32_t)(w->in->timestamp_us - s->timestamp_us) : 0;
		interval = code_value(w, FIELD_INTERVAL, false, &s->interval, interval);
		if (interval < 1) sym_fail(&w->sym, "the timestamp goes backwards");
		if (interval < 1 || UINT64_MAX - s->timestamp_us < (uint64_t)interval) interval = 1;
		if (UINT64_MAX - s->timestamp_us < 1) sym_fail(&w->sym, "the timestamp overflows");
		w->rec->timestamp_us = s->timestamp_us + (uint64_t)interval;
	}
	account(w, PART_TIME, &mark);
	walk_head(w);
	account(w, PART_HEAD, &mark);
	for (int side = 0; side < 2; side++) {
		struct codec_hand *out = &w->rec->hands[side];
		bool intra = w->key || !s->hands[side].tracked;
		if (out->tracked) walk_hand(w, side, intra, w->in ? &w->in->hands[side] : NULL, out);
		s->hands[side].tracked = out->tracked;
	}
	account(w, PART_HANDS, &mark);
	walk_gaze_audio(w);
	account(w, PART_GAZE_AUDIO, &mark);
	walk_code(w);
	account(w, PART_CODE, &mark);
}

/* ---- streams ---- */

static void models_init(struct models *m)
{
	uint16_t *p = (uint16_t *)m;
	for (size_t i = 0; i < sizeof(*m) / sizeof(uint16_t); i++) p[i] = PROB_INIT;
}

static uint32_t fnv1a(uint32_t h, uint32_t word)
{
	for (int i = 0; i < 4; i++) h = (h ^ ((word >> (8 * i)) & 0xFF)) * 16777619u;
	return h;
}

static uint32_t float_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	return u;
}

static void stream_fini(struct stream *st)
{
	free(st->mean);
	free(st->std);
	free(st->step);
	free(st->code_cur);
	free(st->code_next);
	free(st->rec_code);
	free(st->rec_code_next);
}

static enum cv_result stream_init(struct stream *st, const struct codec_stream_desc *desc, const char *who)
{
	memset(st, 0, sizeof(*st));
	if (!desc) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: no stream description", who);
	uint32_t z = desc->latent;
	if (z < 1 || z > CODEC_MAX_LATENT)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: latent size %u is not in 1..%u", who, z,
		               CODEC_MAX_LATENT);
	float default_std = desc->default_std ? desc->default_std : 1.0f;
	if (!isfinite(default_std) || default_std <= 0)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: default code std %g is not a positive number", who,
		               default_std);
	st->participant = desc->participant;
	st->avatar = desc->avatar;
	st->latent = z;
	st->mean = calloc(z, sizeof(float));
	st->std = calloc(z, sizeof(float));
	st->step = calloc(z, sizeof(double));
	st->code_cur = calloc(z, sizeof(struct chan));
	st->code_next = calloc(z, sizeof(struct chan));
	st->rec_code = calloc(z, sizeof(float));
	st->rec_code_next = calloc(z, sizeof(float));
	if (!st->mean || !st->std || !st->step || !st->code_cur || !st->code_next || !st->rec_code ||
	    !st->rec_code_next) {
		stream_fini(st);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: stream state for latent size %u", who, z);
	}
	uint32_t check = fnv1a(2166136261u, z);
	for (uint32_t i = 0; i < z; i++) {
		st->mean[i] = desc->code_mean ? desc->code_mean[i] : 0.0f;
		st->std[i] = desc->code_std ? desc->code_std[i] : default_std;
		if (!isfinite(st->mean[i]) || !isfinite(st->std[i]) || st->std[i] <= 0) {
			float mean = st->mean[i], std_dev = st->std[i];
			stream_fini(st);
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
			               "%s: code dimension %u has mean %g and std %g (need finite, std > 0)", who, i,
			               mean, std_dev);
		}
	}
	for (uint32_t i = 0; i < z; i++) check = fnv1a(check, float_bits(st->mean[i]));
	for (uint32_t i = 0; i < z; i++) check = fnv1a(check, float_bits(st->std[i]));
	st->scale_check = check;
	return CV_OK;
}

static void stream_set_steps(struct stream *st, float quality)
{
	if (st->step_quality == quality) return;
	for (uint32_t i = 0; i < st->latent; i++) st->step[i] = (double)quality * CODEC_CODE_STEP * st->std[i];
	st->step_quality = quality;
}

/* Starts coding a frame into st->next. */
static void stream_begin(struct stream *st, bool key, float quality)
{
	st->next = st->cur;
	memcpy(st->code_next, st->code_cur, st->latent * sizeof(struct chan));
	if (key) {
		models_init(&st->next.models);
		st->next.quality = quality;
		st->next.interval = (struct chan){0};
	}
	stream_set_steps(st, st->next.quality);
}

static void stream_commit(struct stream *st)
{
	st->cur = st->next;
	struct chan *c = st->code_cur;
	st->code_cur = st->code_next;
	st->code_next = c;
	float *r = st->rec_code;
	st->rec_code = st->rec_code_next;
	st->rec_code_next = r;
}

/* ---- packet header ---- */

#define PACKET_MAGIC 0xA0u
#define PACKET_FLAGS_KNOWN 0x1Fu
#define HEADER_MAX 64

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7F;
		v >>= 7;
		p[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
	} while (v);
	return n;
}

static size_t put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
	return 4;
}

static enum cv_result get_varint(const uint8_t *p, size_t size, size_t *pos, uint64_t max, const char *what,
                                 uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0;; i++) {
		if (*pos >= size) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: truncated in its %s", what);
		uint8_t byte = p[(*pos)++];
		if (i == 9 && byte > 1) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: %s does not fit 64 bits", what);
		if (i > 0 && byte == 0)
			return CV_FAIL(CV_ERROR_FORMAT, "stream packet: %s has an overlong encoding", what);
		v |= (uint64_t)(byte & 0x7F) << (7 * i);
		if (!(byte & 0x80)) break;
	}
	if (v > max)
		return CV_FAIL(CV_ERROR_FORMAT, "stream packet: %s %llu is above %llu", what, (unsigned long long)v,
		               (unsigned long long)max);
	*out = v;
	return CV_OK;
}

static enum cv_result get_u32(const uint8_t *p, size_t size, size_t *pos, const char *what, uint32_t *out)
{
	if (size - *pos < 4) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: truncated in its %s", what);
	*out = 0;
	for (int i = 0; i < 4; i++) *out |= (uint32_t)p[*pos + i] << (8 * i);
	*pos += 4;
	return CV_OK;
}

enum cv_result codec_packet_parse(const void *data, size_t size, struct codec_packet_info *out)
{
	if ((!data && size) || !out)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec_packet_parse: no data or no output");
	memset(out, 0, sizeof(*out));
	const uint8_t *p = data;
	if (size < 2) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: %zu bytes, shorter than any packet", size);
	if ((p[0] & 0xF0) != PACKET_MAGIC)
		return CV_FAIL(CV_ERROR_FORMAT, "stream packet: first byte 0x%02x is not a cavr stream packet's", p[0]);
	out->version = p[0] & 0x0F;
	if (out->version != CODEC_PACKET_VERSION)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "stream packet: version %u (this build reads %u)", out->version,
		               CODEC_PACKET_VERSION);
	out->flags = p[1];
	if (out->flags & ~PACKET_FLAGS_KNOWN)
		return CV_FAIL(CV_ERROR_FORMAT, "stream packet: unknown flags 0x%02x",
		               out->flags & ~PACKET_FLAGS_KNOWN);
	size_t pos = 2;
	uint64_t v;
	CV_TRY(get_varint(p, size, &pos, UINT32_MAX, "participant id", &v));
	out->participant = (uint32_t)v;
	if (out->flags & CODEC_PACKET_KEY) {
		CV_TRY(get_varint(p, size, &pos, UINT32_MAX, "avatar id", &v));
		out->avatar = (uint32_t)v;
		CV_TRY(get_varint(p, size, &pos, CODEC_MAX_LATENT, "latent size", &v));
		if (v == 0) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: latent size 0");
		out->latent = (uint32_t)v;
		CV_TRY(get_varint(p, size, &pos, UINT32_MAX, "sequence number", &v));
		out->sequence = (uint32_t)v;
		CV_TRY(get_varint(p, size, &pos, UINT64_MAX, "timestamp", &out->timestamp_us));
		uint32_t bits = 0;
		CV_TRY(get_u32(p, size, &pos, "quality", &bits));
		memcpy(&out->quality, &bits, sizeof(bits));
		if (!(out->quality >= 1.0f / 64 && out->quality <= 64))
			return CV_FAIL(CV_ERROR_FORMAT, "stream packet: quality %g is not in 1/64..64", out->quality);
		CV_TRY(get_u32(p, size, &pos, "scale check", &out->scale_check));
	} else {
		if (size - pos < 2) return CV_FAIL(CV_ERROR_FORMAT, "stream packet: truncated in its sequence number");
		out->sequence = p[pos] | (uint32_t)p[pos + 1] << 8;
		pos += 2;
	}
	CV_TRY(get_varint(p, size, &pos, SIZE_MAX, "body length", &v));
	if (v > size - pos)
		return CV_FAIL(CV_ERROR_FORMAT, "stream packet: body of %llu bytes, but %zu follow the header",
		               (unsigned long long)v, size - pos);
	out->header_size = pos;
	out->size = pos + (size_t)v;
	return CV_OK;
}

static size_t header_write(uint8_t *p, const struct stream *st, bool key, uint8_t flags, const struct codec_frame *f,
                           float quality, size_t body)
{
	size_t n = 0;
	p[n++] = PACKET_MAGIC | CODEC_PACKET_VERSION;
	p[n++] = (uint8_t)(flags | (key ? CODEC_PACKET_KEY : 0));
	n += put_varint(p + n, st->participant);
	if (key) {
		n += put_varint(p + n, st->avatar);
		n += put_varint(p + n, st->latent);
		n += put_varint(p + n, f->sequence);
		n += put_varint(p + n, f->timestamp_us);
		n += put_u32(p + n, float_bits(quality));
		n += put_u32(p + n, st->scale_check);
	} else {
		p[n++] = (uint8_t)f->sequence;
		p[n++] = (uint8_t)(f->sequence >> 8);
	}
	n += put_varint(p + n, body);
	return n;
}

size_t codec_packet_max_size(uint32_t latent)
{
	/* Per hand: 26 radii, 25 bones x 3, the wrist's 6 values, 25 rotations x 3, 25 corrections x 3; 26 x 5 flag
	 * decisions and 25 correction flags. Plus the interval, the head's 6 values, gaze 2, audio 1. */
	size_t values = 1 + 6 + 2 * (26 + 75 + 6 + 75 + 75) + 2 + 1 + (size_t)latent;
	size_t decisions = 2 * (26 * 5 + 25);
	return HEADER_MAX + (values * INT_MAX_BITS + decisions * DECISION_MAX_BITS) / 8 + 8;
}

/* ---- encoder ---- */

enum cv_result codec_encoder_create(const struct codec_stream_desc *desc, struct codec_encoder **out)
{
	if (!out) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec_encoder_create: no output");
	*out = NULL;
	float quality = desc && desc->quality ? desc->quality : 1.0f;
	if (!(quality >= 1.0f / 64 && quality <= 64))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: quality %g is not in 1/64..64", quality);
	struct codec_encoder *e = calloc(1, sizeof(*e));
	if (!e) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "codec encoder");
	enum cv_result r = stream_init(&e->st, desc, "codec encoder");
	if (r != CV_OK) {
		free(e);
		return r;
	}
	e->quality = quality;
	e->key_interval_us = desc->key_interval_us ? desc->key_interval_us : 1000000u;
	e->body_capacity = codec_packet_max_size(desc->latent);
	e->body = malloc(e->body_capacity);
	if (!e->body) {
		codec_encoder_destroy(&e);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "codec encoder: %zu-byte packet buffer",
		               codec_packet_max_size(desc->latent));
	}
	*out = e;
	return CV_OK;
}

void codec_encoder_destroy(struct codec_encoder **encoder)
{
	if (!encoder || !*encoder) return;
	stream_fini(&(*encoder)->st);
	free((*encoder)->body);
	free(*encoder);
	*encoder = NULL;
}

void codec_encoder_force_key(struct codec_encoder *encoder)
{
	if (encoder) encoder->force_key = true;
}

void codec_encoder_stats(const struct codec_encoder *encoder, struct codec_encoder_stats *out)
{
	if (encoder && out) *out = encoder->stats;
}

static bool unit_length(const float *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
	return isfinite(s) && fabs(s - 1) <= 2e-3;
}

static bool finite3(const float v[3]) { return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]); }

static enum cv_result check_hand(const struct codec_hand *h, int side)
{
	const char *name = side == CODEC_HAND_LEFT ? "left" : "right";
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		const struct codec_joint *jt = &h->joints[j];
		const char *wrong = NULL;
		if (jt->flags & ~ALL_JOINT_FLAGS) wrong = "unknown flags";
		else if (!isfinite(jt->radius) || jt->radius < 0) wrong = "a radius that is not a finite length";
		else if ((jt->flags & CODEC_JOINT_POSITION_VALID) && !finite3(jt->pose.position))
			wrong = "a valid position that is not finite";
		else if ((jt->flags & CODEC_JOINT_ORIENTATION_VALID) && !unit_length(jt->pose.orientation, 4))
			wrong = "a valid orientation that is not a unit quaternion";
		if (wrong)
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: %s hand joint %d has %s", name, j,
			               wrong);
	}
	return CV_OK;
}

static enum cv_result check_frame(const struct codec_encoder *e, const struct codec_frame *f)
{
	const struct stream *st = &e->st;
	if (f->participant != st->participant || f->avatar != st->avatar)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
		               "codec encoder: frame of participant %u, avatar %u given to the stream of "
		               "participant %u, avatar %u", f->participant, f->avatar, st->participant, st->avatar);
	if (!f->code || f->code_floats != st->latent)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
		               "codec encoder: code of %u floats, the stream's latent size is %u",
		               f->code ? f->code_floats : 0, st->latent);
	if (st->cur.started && f->sequence <= st->cur.sequence)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: sequence %u does not follow %u", f->sequence,
		               st->cur.sequence);
	if (st->cur.started && f->timestamp_us <= st->cur.timestamp_us)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: timestamp %llu us is not after %llu us",
		               (unsigned long long)f->timestamp_us, (unsigned long long)st->cur.timestamp_us);
	for (uint32_t i = 0; i < st->latent; i++)
		if (!isfinite(f->code[i]))
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: code value %u is not finite", i);
	if (!finite3(f->head.position) || !unit_length(f->head.orientation, 4))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
		               "codec encoder: head pose is not a finite position with a unit quaternion");
	for (int side = 0; side < 2; side++)
		if (f->hands[side].tracked) CV_TRY(check_hand(&f->hands[side], side));
	if (f->has_gaze && !unit_length(f->gaze, 3))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: gaze is not a unit direction");
	if (f->has_audio && !(f->audio_level >= 0 && f->audio_level <= 1))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec encoder: audio level %g is not in 0..1",
		               f->audio_level);
	return CV_OK;
}

static uint8_t presence_flags(const struct codec_frame *f)
{
	return (uint8_t)((f->hands[CODEC_HAND_LEFT].tracked ? CODEC_PACKET_LEFT_HAND : 0) |
	                 (f->hands[CODEC_HAND_RIGHT].tracked ? CODEC_PACKET_RIGHT_HAND : 0) |
	                 (f->has_gaze ? CODEC_PACKET_GAZE : 0) | (f->has_audio ? CODEC_PACKET_AUDIO : 0));
}

static void set_presence(struct codec_frame *f, uint8_t flags)
{
	f->hands[CODEC_HAND_LEFT].tracked = flags & CODEC_PACKET_LEFT_HAND;
	f->hands[CODEC_HAND_RIGHT].tracked = flags & CODEC_PACKET_RIGHT_HAND;
	f->has_gaze = flags & CODEC_PACKET_GAZE;
	f->has_audio = flags & CODEC_PACKET_AUDIO;
}

enum cv_result codec_encoder_encode(struct codec_encoder *e, const struct codec_frame *f, void *packet,
                                    size_t capacity, size_t *size)
{
	if (!e || !f || !packet || !size)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec_encoder_encode: missing argument");
	*size = 0;
	CV_TRY(check_frame(e, f));
	struct stream *st = &e->st;
	const struct state *cur = &st->cur;
	/* Key frames: at the start, on request, when frames were skipped, when the interval will not fit a delta's
	 * grid, and when the key interval is up (half a frame early, so a 30 Hz stream keys every 30 frames). */
	uint64_t interval = cur->started ? f->timestamp_us - cur->timestamp_us : 0;
	bool key = !cur->started || e->force_key || f->sequence != cur->sequence + 1 || interval > VALUE_LIMIT ||
	           f->timestamp_us - cur->key_timestamp_us + interval / 2 >= e->key_interval_us;
	stream_begin(st, key, e->quality);
	struct codec_frame rec = {0};
	set_presence(&rec, presence_flags(f));
	struct walk w = {.st = st, .s = &st->next, .key = key, .in = f, .rec = &rec};
	rc_encoder_init(&w.sym.enc, e->body, e->body_capacity);
	walk_frame(&w);
	rc_encoder_finish(&w.sym.enc);
	if (w.sym.enc.overflow)
		return CV_FAIL(CV_ERROR_UNSUPPORTED,
		               "codec encoder: packet body above its bound of %zu bytes (a codec bug)",
		               e->body_capacity);
	uint8_t header[HEADER_MAX];
	size_t header_size = header_write(header, st, key, presence_flags(f), f, e->quality, w.sym.enc.pos);
	if (capacity < header_size + w.sym.enc.pos)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
		               "codec encoder: packet of %zu bytes does not fit the %zu-byte buffer",
		               header_size + w.sym.enc.pos, capacity);
	memcpy(packet, header, header_size);
	memcpy((uint8_t *)packet + header_size, e->body, w.sym.enc.pos);
	*size = header_size + w.sym.enc.pos;
	st->next.started = true;
	st->next.sequence = f->sequence;
	st->next.timestamp_us = f->timestamp_us;
	if (key) st->next.key_timestamp_us = f->timestamp_us;
	stream_commit(st);
	e->force_key = false;
	struct codec_encoder_stats *stats = &e->stats;
	stats->packets++;
	stats->key_frames += key;
	stats->bytes += *size;
	stats->header_bits += 8.0 * header_size;
	stats->time_bits += w.part_bits[PART_TIME];
	stats->head_bits += w.part_bits[PART_HEAD];
	stats->hand_bits += w.part_bits[PART_HANDS];
	stats->gaze_audio_bits += w.part_bits[PART_GAZE_AUDIO];
	stats->code_bits += w.part_bits[PART_CODE];
	stats->corrections += w.corrections;
	return CV_OK;
}

/* ---- decoder ---- */

enum cv_result codec_decoder_create(const struct codec_stream_desc *desc, struct codec_decoder **out)
{
	if (!out) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec_decoder_create: no output");
	*out = NULL;
	struct codec_decoder *d = calloc(1, sizeof(*d));
	if (!d) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "codec decoder");
	enum cv_result r = stream_init(&d->st, desc, "codec decoder");
	if (r != CV_OK) {
		free(d);
		return r;
	}
	*out = d;
	return CV_OK;
}

void codec_decoder_destroy(struct codec_decoder **decoder)
{
	if (!decoder || !*decoder) return;
	stream_fini(&(*decoder)->st);
	free(*decoder);
	*decoder = NULL;
}

void codec_decoder_reset(struct codec_decoder *d)
{
	if (d) d->st.cur.started = false;
}

void codec_decoder_stats(const struct codec_decoder *d, struct codec_decoder_stats *out)
{
	if (d && out) *out = d->stats;
}

static enum cv_result reject(struct codec_decoder *d, enum cv_result r)
{
	d->stats.rejected++;
	return r;
}

/* A key frame must belong to the decoder's stream. */
static enum cv_result check_key(struct codec_decoder *d, const struct codec_packet_info *info)
{
	const struct stream *st = &d->st;
	enum cv_result r = CV_OK;
	if (info->avatar != st->avatar)
		r = CV_FAIL(CV_ERROR_MISMATCH, "stream packet: avatar %u, the decoder's stream has avatar %u",
		            info->avatar, st->avatar);
	else if (info->latent != st->latent)
		r = CV_FAIL(CV_ERROR_MISMATCH, "stream packet: latent size %u, the decoder's stream has %u",
		            info->latent, st->latent);
	else if (info->scale_check != st->scale_check)
		r = CV_FAIL(CV_ERROR_MISMATCH,
		            "stream packet: code statistics check %08x, the decoder's is %08x (encoder and decoder "
		            "were given different code.mean/code.std)", info->scale_check, st->scale_check);
	return r == CV_OK ? r : reject(d, r);
}

/* Counts the packets missing before `sequence`, against the highest one seen (reordered packets that arrive after
 * a later one are counted lost, then decoded if they can be). */
static void count_gap(struct codec_decoder *d, uint32_t sequence)
{
	uint32_t base = d->observed > d->st.cur.sequence ? d->observed : d->st.cur.sequence;
	if (sequence > base + 1ull) {
		d->stats.gaps++;
		d->stats.lost += sequence - base - 1;
	}
	if (sequence > d->observed) d->observed = sequence;
}

/* Decides what to do with a packet: decode it (then *sequence is its full sequence number) or skip it. A delta frame
 * decodes when it directly follows the last decoded frame; its 16 bits are extended from that frame's sequence
 * (serial number arithmetic: within 32767 either way). A key frame decodes when it is newer in sequence and time;
 * one that is not is refused, but a second in a row means the sender restarted (or the last key frame was a
 * corrupted one from the future), and the decoder follows the stream again from there. */
static enum cv_result place(struct codec_decoder *d, const struct codec_packet_info *info, bool key,
                            enum codec_decode_status *status, uint32_t *sequence)
{
	struct state *cur = &d->st.cur;
	*status = CODEC_DECODED;
	*sequence = info->sequence;
	if (key) CV_TRY(check_key(d, info));
	if (!cur->started) {
		if (!key) *status = CODEC_SKIPPED_WAITING_KEY;
		else d->observed = info->sequence;
		return CV_OK;
	}
	if (key) {
		bool back_sequence = info->sequence <= cur->sequence;
		bool back_time = info->timestamp_us <= cur->timestamp_us;
		if ((back_sequence || back_time) && ++d->refused_keys < 2) {
			if (back_sequence) {
				*status = CODEC_SKIPPED_LATE;
				return CV_OK;
			}
			return reject(d, CV_FAIL(CV_ERROR_FORMAT, "stream packet: key frame at %llu us is not after "
			                         "the last frame's %llu us", (unsigned long long)info->timestamp_us,
			                         (unsigned long long)cur->timestamp_us));
		}
		/* A key frame needs no earlier state, so decoding it is the whole resynchronisation. */
		if (back_sequence || back_time) {
			CV_WARN("stream of participant %u: two key frames in a row went back in sequence or time; "
			        "following it again from sequence %u (a restarted sender?)", d->st.participant,
			        info->sequence);
			return CV_OK;
		}
		count_gap(d, info->sequence);
		return CV_OK;
	}
	int64_t ahead = (int16_t)(uint16_t)(info->sequence - cur->sequence);
	if (ahead <= 0) {
		*status = CODEC_SKIPPED_LATE;
		return CV_OK;
	}
	*sequence = (uint32_t)(cur->sequence + ahead);
	count_gap(d, *sequence);
	if (ahead != 1) *status = CODEC_SKIPPED_WAITING_KEY;
	return CV_OK;
}

enum cv_result codec_decoder_decode(struct codec_decoder *d, const void *packet, size_t size,
                                    struct codec_frame *frame, enum codec_decode_status *status)
{
	if (!d || !frame || !status)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "codec_decoder_decode: missing argument");
	*status = CODEC_SKIPPED_WAITING_KEY;
	struct stream *st = &d->st;
	struct codec_packet_info info;
	enum cv_result r = codec_packet_parse(packet, size, &info);
	if (r != CV_OK) return reject(d, r);
	if (info.size != size)
		return reject(d, CV_FAIL(CV_ERROR_FORMAT, "stream packet: %zu bytes after the %zu-byte packet",
		                         size - info.size, info.size));
	if (info.participant != st->participant)
		return reject(d, CV_FAIL(CV_ERROR_MISMATCH,
		                         "stream packet: participant %u, the decoder's stream is participant %u",
		                         info.participant, st->participant));
	bool key = info.flags & CODEC_PACKET_KEY;
	uint32_t sequence;
	enum codec_decode_status placed;
	CV_TRY(place(d, &info, key, &placed, &sequence));
	if (placed != CODEC_DECODED) {
		*status = placed;
		if (placed == CODEC_SKIPPED_LATE) d->stats.skipped_late++;
		else d->stats.skipped_no_key++;
		return CV_OK;
	}

	stream_begin(st, key, info.quality);
	struct codec_frame rec = {.sequence = sequence, .participant = st->participant, .avatar = st->avatar,
	                          .timestamp_us = info.timestamp_us};
	set_presence(&rec, info.flags);
	struct walk w = {.sym.decoding = true, .st = st, .s = &st->next, .key = key, .rec = &rec};
	rc_decoder_init(&w.sym.dec, (const uint8_t *)packet + info.header_size, info.size - info.header_size);
	walk_frame(&w);
	/* The decoder reads exactly the bytes the encoder wrote before it dropped trailing zeros: a body longer than
	 * that, or a value outside its range, was not written by an encoder. */
	if (w.sym.dec.bad) sym_fail(&w.sym, "an impossible range coder state");
	if (w.sym.dec.pos < w.sym.dec.size) sym_fail(&w.sym, "bytes left over after the last value");
	if (w.sym.bad)
		return reject(d, CV_FAIL(CV_ERROR_FORMAT, "stream packet %u: the body does not decode: %s", sequence,
		                         w.sym.bad));
	st->next.started = true;
	st->next.sequence = sequence;
	st->next.timestamp_us = rec.timestamp_us;
	stream_commit(st);
	if (key) {
		d->refused_keys = 0;
		d->observed = sequence;
		d->stats.key_frames++;
	}
	if (sequence > d->observed) d->observed = sequence;
	rec.code = st->rec_code;
	*frame = rec;
	d->stats.decoded++;
	*status = CODEC_DECODED;
	return CV_OK;
}
