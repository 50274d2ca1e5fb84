/* Playback of a recorded session as a meeting feed (meet.h): session reader -> codec decoders -> the frames on
 * both sides of the shown time (meet/stream.h) -> interpolated participants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/cavatar.h"
#include "meet.h"
#include "stream.h"

#define PB_DELAY_US MEET_PLAYBACK_DELAY_US
#define PB_PREROLL_US 2500000     /* a seek decodes from this far back: more than a key interval */
#define PB_RECONNECTING_US 500000 /* silent this long: reconnecting */
#define PB_LEFT_US 5000000        /* silent this long: gone */
#define PB_RATE_WINDOW 64         /* packets remembered for the bitrate (2 s at 30 Hz) */

struct pb_stream { /* one recorded participant, as one group plays it */
	struct codec_decoder *decoder;
	struct meet_stream frames; /* on the recording's clock */
	int64_t rate_time[PB_RATE_WINDOW];
	uint32_t rate_bytes[PB_RATE_WINDOW];
	uint32_t rate_next;
};

struct pb_group { /* one reader at one time offset; the recording as it is has one group */
	struct session_reader *reader;
	int64_t offset_us;
	int64_t now_us;    /* recording time delivered up to; -1 before the first update */
	bool pending;      /* `packet` was read and waits for its time */
	struct session_packet packet;
	struct pb_stream *streams; /* per recorded participant */
};

struct pb_source { /* what each recorded participant needs, shared by the groups */
	uint32_t id, latent;
	bool have_avatar;
	struct codec_stream_desc stream;
	float *code_mean, *code_std;
};

struct playback {
	struct meet_feed base;
	struct session_info info;
	uint32_t sources_count, group_count;
	struct pb_source *sources;
	struct pb_group *groups;
	int64_t duration_us;
};

static void playback_destroy(struct meet_feed *base)
{
	struct playback *p = (struct playback *)base;
	for (uint32_t g = 0; p->groups && g < p->group_count; g++) {
		struct pb_group *group = &p->groups[g];
		for (uint32_t s = 0; group->streams && s < p->sources_count; s++) {
			codec_decoder_destroy(&group->streams[s].decoder);
			meet_stream_free(&group->streams[s].frames);
		}
		free(group->streams);
		session_reader_destroy(&group->reader);
	}
	for (uint32_t s = 0; p->sources && s < p->sources_count; s++) {
		free(p->sources[s].code_mean);
		free(p->sources[s].code_std);
	}
	free(p->groups);
	free(p->sources);
	free(p->base.participants);
	free(p);
}

static void stream_reset(struct pb_stream *st)
{
	if (st->decoder) codec_decoder_reset(st->decoder);
	meet_stream_reset(&st->frames);
	st->rate_next = 0;
	memset(st->rate_time, 0, sizeof(st->rate_time));
	memset(st->rate_bytes, 0, sizeof(st->rate_bytes));
}

static void deliver(struct playback *p, struct pb_group *g, const struct session_packet *pkt)
{
	uint32_t s = 0;
	while (s < p->sources_count && p->sources[s].id != pkt->participant) s++;
	if (s == p->sources_count) return; /* the reader already counted it as unknown */
	struct pb_stream *st = &g->streams[s];
	st->rate_time[st->rate_next % PB_RATE_WINDOW] = pkt->time_us;
	st->rate_bytes[st->rate_next % PB_RATE_WINDOW] = (uint32_t)pkt->size;
	st->rate_next++;
	if (!p->sources[s].have_avatar) return;
	if (!st->decoder) {
		/* The stream's avatar id is the sender's choice: take it from the first key frame. */
		struct codec_packet_info info;
		if (codec_packet_parse(pkt->data, pkt->size, &info) != CV_OK || !(info.flags & CODEC_PACKET_KEY)) return;
		struct codec_stream_desc stream = p->sources[s].stream;
		stream.avatar = info.avatar;
		if (codec_decoder_create(&stream, &st->decoder) != CV_OK) return;
	}
	struct codec_frame frame;
	enum codec_decode_status status;
	if (codec_decoder_decode(st->decoder, pkt->data, pkt->size, &frame, &status) != CV_OK || status != CODEC_DECODED)
		return; /* counted by the decoder; a bad packet is as good as lost */
	meet_stream_push(&st->frames, &frame, pkt->time_us, 0);
}

/* Recording time for display time t in group g (groups after the first loop over the recording). */
static int64_t group_time(const struct playback *p, const struct pb_group *g, double time_s)
{
	int64_t t = (int64_t)llround(time_s * 1e6) + g->offset_us;
	if (t < 0) t = 0;
	if (g->offset_us && p->duration_us > 0) t %= p->duration_us;
	return p->info.start_us + t;
}

static enum cv_result group_update(struct playback *p, struct pb_group *g, int64_t now_us)
{
	if (g->now_us < 0 || now_us < g->now_us || now_us > g->now_us + PB_PREROLL_US) {
		int64_t from = now_us - PB_PREROLL_US;
		CV_TRY(session_reader_seek(g->reader, from > p->info.start_us ? from : p->info.start_us));
		for (uint32_t s = 0; s < p->sources_count; s++) stream_reset(&g->streams[s]);
		g->pending = false;
	}
	g->now_us = now_us;
	for (;;) {
		if (!g->pending) {
			bool got = false;
			CV_TRY(session_reader_next(g->reader, &g->packet, &got));
			if (!got) break;
			g->pending = true;
		}
		if (g->packet.time_us > now_us) break;
		deliver(p, g, &g->packet);
		g->pending = false;
	}
	return CV_OK;
}

static void fill_participant(struct playback *p, const struct pb_group *g, const struct pb_stream *st,
                             const struct session_participant *sp, struct meet_participant *out)
{
	int64_t now = g->now_us, shown = now - PB_DELAY_US;
	out->bitrate_kbps = 0;
	for (uint32_t i = 0; i < PB_RATE_WINDOW; i++)
		if (st->rate_time[i] > now - 1000000 && st->rate_time[i] <= now) out->bitrate_kbps += st->rate_bytes[i] * 8e-3f;
	if (st->decoder) {
		struct codec_decoder_stats ds;
		codec_decoder_stats(st->decoder, &ds);
		out->loss = ds.decoded + ds.lost ? (float)ds.lost / (float)(ds.decoded + ds.lost) : 0.0f;
	}
	const struct meet_stream_frame *newest = meet_stream_newest(&st->frames);
	if (!newest) {
		out->has_frame = false;
		out->status = now < p->info.start_us + sp->joined_us ? MEET_LEFT : MEET_WAITING;
		return;
	}
	int64_t silent = now - newest->t_us;
	out->status = silent > PB_LEFT_US ? MEET_LEFT : silent > PB_RECONNECTING_US ? MEET_RECONNECTING : MEET_ACTIVE;
	const struct meet_stream_frame *nearest = meet_stream_at(&st->frames, shown, 0, out);
	out->has_frame = true;
	out->code_version = (uint64_t)nearest->t_us + 1;
	out->code_floats = st->frames.latent;
	memcpy(out->code, nearest->code, out->code_floats * sizeof(float));
}

static enum cv_result playback_update(struct meet_feed *base, double time_s)
{
	struct playback *p = (struct playback *)base;
	for (uint32_t g = 0; g < p->group_count; g++)
		CV_TRY(group_update(p, &p->groups[g], group_time(p, &p->groups[g], time_s)));
	for (uint32_t i = 0; i < p->base.count; i++) {
		uint32_t g = i / p->sources_count, s = i % p->sources_count;
		fill_participant(p, &p->groups[g], &p->groups[g].streams[s],
		                 session_reader_participant(p->groups[g].reader, s), &p->base.participants[i]);
	}
	return CV_OK;
}

/* The avatar's latent size and code statistics, which the codec's quantisation is built on. */
static enum cv_result load_source(struct pb_source *src, const char *avatar_path)
{
	struct avatar_file *file = NULL;
	CV_TRY(avatar_file_open(avatar_path, &file));
	src->latent = avatar_latent_size(file);
	src->code_mean = calloc(src->latent, sizeof(float));
	src->code_std = calloc(src->latent, sizeof(float));
	const struct st_tensor *mean = avatar_tensor(file, "code.mean"), *std_dev = avatar_tensor(file, "code.std");
	enum cv_result r = src->code_mean && src->code_std ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code statistics");
	if (r == CV_OK && mean && std_dev) r = st_tensor_to_f32(mean, src->code_mean, src->latent);
	if (r == CV_OK && mean && std_dev) r = st_tensor_to_f32(std_dev, src->code_std, src->latent);
	avatar_file_destroy(&file);
	src->stream = (struct codec_stream_desc){.participant = src->id, .latent = src->latent,
	                                         .code_mean = mean ? src->code_mean : NULL,
	                                         .code_std = std_dev ? src->code_std : NULL};
	return r;
}

static enum cv_result open_group(struct playback *p, const char *path, struct pb_group *g, int64_t offset_us)
{
	g->offset_us = offset_us;
	g->now_us = -1;
	CV_TRY(session_reader_open(path, &g->reader));
	g->streams = calloc(p->sources_count, sizeof(*g->streams));
	if (!g->streams) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "playback streams");
	for (uint32_t s = 0; s < p->sources_count; s++) {
		struct pb_source *src = &p->sources[s];
		struct pb_stream *st = &g->streams[s];
		if (!src->have_avatar) continue;
		CV_TRY(meet_stream_init(&st->frames, src->latent));
	}
	return CV_OK;
}

static enum cv_result playback_init(struct playback *p, const char *path, const struct meet_playback_desc *desc)
{
	struct session_reader *first = NULL;
	CV_TRY(session_reader_open(path, &first));
	session_reader_info(first, &p->info);
	p->duration_us = p->info.end_us - p->info.start_us;
	p->base.duration_s = (double)p->duration_us * 1e-6;
	p->sources_count = (uint32_t)p->info.participant_count;
	if (p->sources_count == 0) {
		session_reader_destroy(&first);
		return CV_FAIL(CV_ERROR_FORMAT, "%s: the recording names no participants", path);
	}
	uint32_t want = desc && desc->participants ? desc->participants : p->sources_count;
	if (want > MEET_MAX_PARTICIPANTS) want = MEET_MAX_PARTICIPANTS;
	p->group_count = (want + p->sources_count - 1) / p->sources_count;
	p->base.count = want;
	p->sources = calloc(p->sources_count, sizeof(*p->sources));
	p->groups = calloc(p->group_count, sizeof(*p->groups));
	p->base.participants = calloc(want, sizeof(*p->base.participants));
	if (!p->sources || !p->groups || !p->base.participants) {
		session_reader_destroy(&first);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "playback");
	}
	/* The recording's folder, where relative avatar paths start. */
	char dir[SESSION_MAX_PATH + 1] = ".";
	const char *slash = strrchr(path, '/');
	if (slash) snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	uint32_t missing = 0;
	for (uint32_t i = 0; i < want; i++) {
		uint32_t s = i % p->sources_count, copy = i / p->sources_count;
		const struct session_participant *sp = session_reader_participant(first, s);
		struct meet_participant *mp = &p->base.participants[i];
		mp->id = sp->id + copy * 1000000u;
		const char *name = sp->name && *sp->name ? sp->name : "participant";
		if (copy) snprintf(mp->name, sizeof(mp->name), "%.200s #%u", name, copy + 1);
		else snprintf(mp->name, sizeof(mp->name), "%s", name);
		memcpy(mp->avatar_hash, sp->avatar_hash, SESSION_HASH_SIZE);
		mp->status = MEET_WAITING;
		if (copy) {
			snprintf(mp->avatar_path, sizeof(mp->avatar_path), "%s", p->base.participants[s].avatar_path);
			continue;
		}
		p->sources[s].id = sp->id;
		if (meet_find_avatar(dir, sp->avatar_path, sp->avatar_hash, mp->avatar_path, sizeof(mp->avatar_path)) != CV_OK) {
			missing++;
			continue;
		}
		enum cv_result r = load_source(&p->sources[s], mp->avatar_path);
		if (r != CV_OK) {
			CV_WARN("%s: participant %u (%s): its avatar %s cannot be used; a placeholder is shown", path, sp->id,
			        name, mp->avatar_path);
			mp->avatar_path[0] = '\0';
			missing++;
			continue;
		}
		p->sources[s].have_avatar = true;
	}
	session_reader_destroy(&first);
	if (missing) CV_WARN("%s: %u of %u participants are shown as placeholders", path, missing, p->sources_count);
	/* Copies start at staggered points of the performance, so they do not move in step. */
	for (uint32_t g = 0; g < p->group_count; g++)
		CV_TRY(open_group(p, path, &p->groups[g], g ? (int64_t)g * 7300000 % (p->duration_us ? p->duration_us : 1) : 0));
	return CV_OK;
}

enum cv_result meet_playback_create(const char *path, const struct meet_playback_desc *desc, struct meet_feed **out)
{
	*out = NULL;
	struct playback *p = calloc(1, sizeof(*p));
	if (!p) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "playback");
	p->base.update = playback_update;
	p->base.destroy = playback_destroy;
	enum cv_result r = playback_init(p, path, desc);
	if (r != CV_OK) {
		playback_destroy(&p->base);
		return r;
	}
	*out = &p->base;
	return CV_OK;
}
