/* Synthetic performances (codec.h): smooth, deterministic stand-ins for recorded ones, so the codec's rate and
 * the decoded quality can be measured before real captures exist. Nothing here is fitted to real data; the
 * figures it gives say how the codec treats smooth motion, not how real faces move. */
#include <cglm/cglm.h>
#include <math.h>
#include <string.h>

#include "codec/codec.h"

#define TAU 6.283185307179586

/* splitmix64: independent uniform numbers from (seed, a, b), so every dimension and frame is reproducible alone. */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static double uniform(uint32_t seed, uint64_t a, uint64_t b)
{
	uint64_t h = mix(mix(mix(seed) ^ a) ^ (b * 0xD1B54A32D192ED03ull));
	return ((h >> 11) + 0.5) / 9007199254740992.0;
}

static double gaussian(uint32_t seed, uint64_t a, uint64_t b)
{
	double u1 = uniform(seed, a, 2 * b), u2 = uniform(seed, a, 2 * b + 1);
	return sqrt(-2 * log(u1)) * cos(TAU * u2);
}

/* A smooth zero-mean, unit-variance signal: three sinusoids at log-uniform frequencies in 0.1-1.5 Hz. */
static double wave(uint32_t seed, uint64_t channel, double t)
{
	double sum = 0;
	for (uint64_t j = 0; j < 3; j++) {
		double f = 0.1 * pow(15.0, uniform(seed, channel, 2 * j));
		sum += sin(TAU * f * t + TAU * uniform(seed, channel, 2 * j + 1));
	}
	return sum * sqrt(2.0 / 3.0);
}

/* Random-number channels, so every signal draws its own numbers. */
enum { CH_CODE = 0, CH_HEAD = 1 << 20, CH_HAND = 2 << 20, CH_GAZE = 3 << 20, CH_AUDIO = 4 << 20, CH_NOISE = 5 << 20 };

static void quat_axis(float angle, float x, float y, float z, versor q) { glm_quatv(q, angle, (vec3){x, y, z}); }

static void head_pose(const struct codec_synth_desc *d, double t, struct codec_pose *head)
{
	head->position[0] = (float)(0.05 * wave(d->seed, CH_HEAD + 0, 0.4 * t));
	head->position[1] = (float)(1.6 + 0.02 * wave(d->seed, CH_HEAD + 1, 0.4 * t));
	head->position[2] = (float)(0.04 * wave(d->seed, CH_HEAD + 2, 0.4 * t));
	versor yaw, pitch, roll, q;
	quat_axis((float)(0.3 * wave(d->seed, CH_HEAD + 3, 0.5 * t)), 0, 1, 0, yaw);
	quat_axis((float)(0.12 * wave(d->seed, CH_HEAD + 4, 0.5 * t)), 1, 0, 0, pitch);
	quat_axis((float)(0.04 * wave(d->seed, CH_HEAD + 5, 0.5 * t)), 0, 0, 1, roll);
	glm_quat_mul(yaw, pitch, q);
	glm_quat_mul(q, roll, q);
	glm_quat_normalize(q);
	memcpy(head->orientation, q, sizeof(q));
}

/* The finger of a joint (0 thumb .. 4 little; -1 palm and wrist), and where along it the joint is (0 metacarpal,
 * then proximal, (intermediate,) distal, tip; the thumb has no intermediate). */
static int joint_finger(int j) { return j < 2 ? -1 : j < 6 ? 0 : 1 + (j - 6) / 5; }
static int joint_along(int j) { return j < 2 ? 0 : j < 6 ? j - 2 : (j - 6) % 5; }

/* A hand on a rigid skeleton (the average hand scaled per seed): the wrist drifts in front of the body, each finger
 * curls and spreads on its own slow rhythm. */
static void hand(const struct codec_synth_desc *d, int side, double t, struct codec_hand *h)
{
	float mirror = side == CODEC_HAND_LEFT ? -1.0f : 1.0f;
	float scale = (float)(0.9 + 0.2 * uniform(d->seed, CH_HAND, 99));
	uint64_t ch = CH_HAND + 64 * (uint64_t)side;
	h->tracked = true;
	versor orientation[CODEC_HAND_JOINTS];
	vec3 position[CODEC_HAND_JOINTS];
	position[CODEC_JOINT_WRIST][0] = mirror * (float)(0.2 + 0.05 * wave(d->seed, ch + 0, 0.5 * t));
	position[CODEC_JOINT_WRIST][1] = (float)(1.2 + 0.06 * wave(d->seed, ch + 1, 0.5 * t));
	position[CODEC_JOINT_WRIST][2] = (float)(-0.35 + 0.06 * wave(d->seed, ch + 2, 0.5 * t));
	versor a, b;
	quat_axis((float)(0.5 * wave(d->seed, ch + 3, 0.4 * t)), 0, 1, 0, a);
	quat_axis((float)(-0.3 + 0.3 * wave(d->seed, ch + 4, 0.4 * t)), 1, 0, 0, b);
	glm_quat_mul(a, b, orientation[CODEC_JOINT_WRIST]);
	glm_quat_normalize(orientation[CODEC_JOINT_WRIST]);
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		if (j == CODEC_JOINT_WRIST) continue;
		int p = codec_joint_parent[j];
		int finger = joint_finger(j), along = joint_along(j);
		versor local;
		if (finger < 0 || along == 0) {
			quat_axis(0.05f * mirror * (float)(finger - 2), 0, 1, 0, local); /* metacarpals fan out */
		} else {
			uint64_t fch = ch + 8 + 2 * (uint64_t)finger;
			double curl = 0.5 + 0.5 * wave(d->seed, fch, 0.3 * t) / 1.73;
			double spread = along == 1 ? 0.1 * mirror * wave(d->seed, fch + 1, 0.3 * t) : 0;
			versor flex, side;
			quat_axis((float)(-curl * (along == 1 ? 1.2 : 0.9)), 1, 0, 0, flex);
			quat_axis((float)spread, 0, 1, 0, side);
			glm_quat_mul(side, flex, local);
		}
		glm_quat_mul(orientation[p], local, orientation[j]);
		glm_quat_normalize(orientation[j]);
		vec3 bone = {mirror * scale * codec_average_hand[j][0], scale * codec_average_hand[j][1],
		             scale * codec_average_hand[j][2]};
		vec3 offset;
		glm_quat_rotatev(orientation[p], bone, offset);
		glm_vec3_add(position[p], offset, position[j]);
	}
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		struct codec_joint *jt = &h->joints[j];
		memcpy(jt->pose.position, position[j], sizeof(vec3));
		memcpy(jt->pose.orientation, orientation[j], sizeof(versor));
		jt->radius = scale * codec_average_hand[j][3];
		jt->flags = CODEC_JOINT_ORIENTATION_VALID | CODEC_JOINT_POSITION_VALID |
		            CODEC_JOINT_ORIENTATION_TRACKED | CODEC_JOINT_POSITION_TRACKED;
	}
}

void codec_synth_frame(const struct codec_synth_desc *d, double t_s, float *code, struct codec_frame *frame)
{
	uint64_t us = (uint64_t)llround(t_s * 1e6);
	for (uint32_t i = 0; i < d->latent; i++) {
		double mean = d->code_mean ? d->code_mean[i] : 0.0, std_dev = d->code_std ? d->code_std[i] : 1.0;
		double v = wave(d->seed, CH_CODE + i, t_s);
		if (d->noise > 0) v += d->noise * gaussian(d->seed, CH_NOISE + i, us);
		code[i] = (float)(mean + std_dev * v);
	}
	frame->timestamp_us = us;
	frame->code = code;
	frame->code_floats = d->latent;
	head_pose(d, t_s, &frame->head);
	for (int side = 0; side < 2; side++) {
		memset(&frame->hands[side], 0, sizeof(frame->hands[side]));
		if (d->hands) hand(d, side, t_s, &frame->hands[side]);
	}
	frame->has_gaze = d->gaze;
	if (d->gaze) {
		double yaw = 0.3 * wave(d->seed, CH_GAZE, 0.6 * t_s);
		double pitch = 0.12 * wave(d->seed, CH_GAZE + 1, 0.6 * t_s);
		frame->gaze[0] = (float)(sin(yaw) * cos(pitch));
		frame->gaze[1] = (float)sin(pitch);
		frame->gaze[2] = (float)(-cos(yaw) * cos(pitch));
	}
	frame->has_audio = d->audio;
	if (d->audio) {
		double syllables = 0.5 + 0.5 * sin(TAU * 4.0 * t_s), phrases = wave(d->seed, CH_AUDIO, 0.3 * t_s);
		frame->audio_level = (float)fmin(1.0, fmax(0.0, phrases > 0 ? syllables * fmin(1.0, phrases) : 0.0));
	}
}
