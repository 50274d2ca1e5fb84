/* meet: a participant's decoded frames placed at a display time (stream.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meet/stream.h"

enum cv_result meet_stream_init(struct meet_stream *s, uint32_t latent)
{
	memset(s, 0, sizeof(*s));
	s->latent = latent;
	for (int i = 0; i < MEET_STREAM_HISTORY; i++)
		if (!(s->frames[i].code = calloc(latent ? latent : 1, sizeof(float)))) {
			meet_stream_free(s);
			return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "decoded frames");
		}
	return CV_OK;
}

void meet_stream_free(struct meet_stream *s)
{
	for (int i = 0; i < MEET_STREAM_HISTORY; i++) free(s->frames[i].code);
	memset(s, 0, sizeof(*s));
}

void meet_stream_reset(struct meet_stream *s) { s->count = 0; }

const struct meet_stream_frame *meet_stream_newest(const struct meet_stream *s)
{
	return s->count ? &s->frames[s->newest] : NULL;
}

/* The k-th newest frame held (0: the newest). */
static const struct meet_stream_frame *back(const struct meet_stream *s, uint32_t k)
{
	return &s->frames[(s->newest + MEET_STREAM_HISTORY - k) % MEET_STREAM_HISTORY];
}

static void copy_frame(struct meet_stream_frame *out, const struct codec_frame *f, int64_t t_us, uint32_t latent)
{
	out->t_us = t_us;
	out->head = f->head;
	memcpy(out->hands, f->hands, sizeof(out->hands));
	out->has_audio = f->has_audio;
	out->audio_level = f->has_audio ? f->audio_level : 0.0f;
	uint32_t n = f->code_floats < latent ? f->code_floats : latent;
	memcpy(out->code, f->code, n * sizeof(float));
}

void meet_stream_push(struct meet_stream *s, const struct codec_frame *f, int64_t t_us, int64_t restart_gap_us)
{
	const struct meet_stream_frame *last = meet_stream_newest(s);
	if (last && (t_us <= last->t_us || (restart_gap_us > 0 && t_us - last->t_us > restart_gap_us))) s->count = 0;
	s->newest = s->count ? (s->newest + 1) % MEET_STREAM_HISTORY : 0;
	if (s->count < MEET_STREAM_HISTORY) s->count++;
	copy_frame(&s->frames[s->newest], f, t_us, s->latent);
}

static void lerp_pose(const struct codec_pose *a, const struct codec_pose *b, float w, struct codec_pose *out)
{
	for (int i = 0; i < 3; i++) out->position[i] = a->position[i] + w * (b->position[i] - a->position[i]);
	/* nlerp on the shorter arc: frames are 33 ms apart, where it is as good as slerp. */
	float dot = 0, len = 0, q[4];
	for (int i = 0; i < 4; i++) dot += a->orientation[i] * b->orientation[i];
	float sign = dot < 0 ? -1.0f : 1.0f;
	for (int i = 0; i < 4; i++) {
		q[i] = a->orientation[i] + w * (sign * b->orientation[i] - a->orientation[i]);
		len += q[i] * q[i];
	}
	if (!(len > 1e-12f)) {
		memcpy(out->orientation, b->orientation, sizeof(q));
		return;
	}
	len = 1.0f / sqrtf(len);
	for (int i = 0; i < 4; i++) out->orientation[i] = q[i] * len;
}

static void lerp_hand(const struct codec_hand *a, const struct codec_hand *b, float w, struct codec_hand *out)
{
	if (!a->tracked || !b->tracked) {
		*out = w < 0.5f ? *a : *b;
		return;
	}
	*out = *b;
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		lerp_pose(&a->joints[j].pose, &b->joints[j].pose, w, &out->joints[j].pose);
		float radius = a->joints[j].radius + w * (b->joints[j].radius - a->joints[j].radius);
		out->joints[j].radius = radius > 0 ? radius : 0;
		out->joints[j].flags = a->joints[j].flags & b->joints[j].flags;
	}
}

const struct meet_stream_frame *meet_stream_at(const struct meet_stream *s, int64_t t_us, int64_t extrapolate_us,
                                               struct meet_participant *out)
{
	if (!s->count) return NULL;
	/* The pair around t_us: the newest two from t_us at the second newest on; before, older pairs; before the
	 * oldest, the oldest pair. */
	uint32_t k = 0;
	while (k + 2 < s->count && back(s, k + 1)->t_us > t_us) k++;
	const struct meet_stream_frame *b = back(s, k), *a = k + 1 < s->count ? back(s, k + 1) : b;
	int64_t span = b->t_us - a->t_us;
	float w = 1.0f;
	if (span <= 0) w = 1.0f;
	else if (t_us <= a->t_us) w = 0.0f;
	else if (t_us < b->t_us) w = (float)(t_us - a->t_us) / (float)span;
	else if (extrapolate_us > 0) {
		/* Along the last motion, at most one frame interval's worth. */
		int64_t ahead = t_us - b->t_us;
		if (ahead > extrapolate_us) ahead = extrapolate_us;
		if (ahead > span) ahead = span;
		w = 1.0f + (float)ahead / (float)span;
	}
	lerp_pose(&a->head, &b->head, w, &out->head);
	for (int h = 0; h < 2; h++) lerp_hand(&a->hands[h], &b->hands[h], w, &out->hands[h]);
	out->audio_level = b->has_audio ? a->audio_level + w * (b->audio_level - a->audio_level) : 0.0f;
	if (out->audio_level < 0) out->audio_level = 0;
	if (out->audio_level > 1) out->audio_level = 1;
	return w < 0.5f ? a : b;
}
