/* net: the receiving side: authentication, replay windows, reassembly, jitter buffers, concealment, and the
 * participants the meeting scene draws (engine/net/net.h says what each stage does). */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meet/stream.h"
#include "net/net.h"

#define MAX_DRAIN 4096          /* datagrams per update: a flood cannot hold the frame loop */
#define OFFSET_BUCKET_US 2000000 /* the clock offset is the minimum over the last two such buckets */
#define EXTRAPOLATE_MAX_US 100000
#define MISSING_BITS 1024

struct partial {
	bool used;
	uint32_t frame, packet_size;
	uint16_t count, received;
	int64_t sender_us, started_us;
	uint8_t *data;
	uint8_t got[NET_MAX_FRAGMENTS / 8];
};

struct slot {
	bool used;
	uint32_t frame;
	int64_t sender_us, arrival_us;
	uint8_t *data;
	size_t size;
};

struct peer {
	bool used, left;
	uint64_t left_epoch;       /* left: announces of later epochs bring it back */
	uint32_t id;
	struct net_replay replay;
	uint8_t sign_key[NET_SIGN_KEY_SIZE]; /* bound to the id by the announce that seated this epoch */
	struct net_addr addr;
	struct net_announce announce;
	struct net_avatar avatar;
	bool resolved;
	struct codec_decoder *decoder;
	int64_t last_heard_us;

	struct partial partials[NET_REASSEMBLY_SLOTS];
	struct slot slots[NET_JITTER_SLOTS];
	size_t buffered;
	bool started, any_frame;
	uint32_t next_frame, highest;
	uint64_t missing_bits[MISSING_BITS / 64];

	/* Timing, in microseconds. */
	bool have_prev;
	int64_t prev_arrival, prev_sender;
	uint32_t prev_frame;
	double jitter, delay, period;
	int64_t offset, off_cur, off_prev, off_bucket_start;
	bool offset_valid;
	int64_t last_render;
	int64_t last_key_request;

	struct meet_stream frames; /* decoded, on the sender's clock: what interpolation and concealment work from */
	int64_t shown_code_us;     /* the sender time of the frame whose code is shown */
	int shown_fade;
	float loss;                /* moving average over ~64 frames */
	uint64_t rate_bytes[10];   /* 100 ms buckets */
	int64_t rate_bucket;       /* index of the newest bucket (time / 100 ms) */
	struct net_participant_stats st;
};

struct net_receiver {
	struct net_receiver_desc desc;
	uint8_t key[NET_KEY_SIZE];
	struct net_socket sock;
	bool has_socket;
	uint32_t id;
	uint64_t epoch, sequence;
	uint8_t nonce[2][NET_NONCE_SIZE]; /* current, previous: what announces must answer */
	int64_t nonce_at;
	struct net_addr peers[NET_MAX_DESTINATIONS];
	uint32_t peer_count;
	int64_t next_hello;
	struct peer *peers_of; /* MEET_MAX_PARTICIPANTS, parallel to parts */
	struct meet_participant *parts;
	uint32_t count;
	struct net_receiver_stats st;
	uint8_t datagram[NET_DATAGRAM_MAX + 1], body[NET_DATAGRAM_MAX], out[NET_DATAGRAM_MAX];
};

static int64_t now_us(const struct net_receiver *r)
{
	return r->desc.clock_us ? r->desc.clock_us(r->desc.clock_user) : net_now_us();
}

/* Frame numbers compare modulo 2^32. */
static int32_t frame_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

static void emit(struct net_receiver *r, enum net_event_kind kind, uint32_t index, const uint8_t *data, size_t size,
                 int64_t now)
{
	if (!r->desc.on_event) return;
	struct net_event e = {.kind = kind, .time_us = now, .participant = &r->parts[index],
	                      .announce = &r->peers_of[index].announce, .data = data, .size = size};
	r->desc.on_event(r->desc.event_user, &e);
}

static void send_control(struct net_receiver *r, uint8_t type, const uint8_t *body, size_t size,
                         const struct net_addr *to)
{
	if (!r->has_socket) return;
	struct net_header h = {.type = type, .sender = r->id, .epoch = r->epoch, .sequence = r->sequence++};
	size_t n = net_seal(r->key, &h, body, size, r->out, sizeof(r->out));
	if (n) net_socket_send(&r->sock, to, r->out, n);
}

/* ---- memory ---- */

static bool reserve(struct net_receiver *r, struct peer *p, size_t n)
{
	if (p->buffered + n > NET_PARTICIPANT_BUFFER || r->st.buffered_bytes + n > NET_TOTAL_BUFFER) return false;
	p->buffered += n;
	r->st.buffered_bytes += n;
	if (r->st.buffered_bytes > r->st.buffered_peak) r->st.buffered_peak = r->st.buffered_bytes;
	return true;
}

static void release_bytes(struct net_receiver *r, struct peer *p, size_t n)
{
	p->buffered -= n;
	r->st.buffered_bytes -= n;
}

static void free_partial(struct net_receiver *r, struct peer *p, struct partial *q)
{
	if (q->used) release_bytes(r, p, q->packet_size);
	free(q->data);
	memset(q, 0, sizeof(*q));
}

static void free_slot(struct net_receiver *r, struct peer *p, struct slot *s)
{
	if (s->used) release_bytes(r, p, s->size);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Forgets the stream (a restart of the sender, a jump): the next key frame starts it again. */
static void reset_stream(struct net_receiver *r, struct peer *p)
{
	for (int i = 0; i < NET_REASSEMBLY_SLOTS; i++) free_partial(r, p, &p->partials[i]);
	for (int i = 0; i < NET_JITTER_SLOTS; i++) free_slot(r, p, &p->slots[i]);
	p->started = p->any_frame = p->have_prev = p->offset_valid = false;
	p->last_render = INT64_MIN; /* the sender's clock may have changed with it */
	memset(p->missing_bits, 0, sizeof(p->missing_bits));
	if (p->decoder) codec_decoder_reset(p->decoder);
}

static void free_avatar(struct peer *p)
{
	codec_decoder_destroy(&p->decoder);
	free(p->avatar.code_mean);
	free(p->avatar.code_std);
	meet_stream_free(&p->frames);
	memset(&p->avatar, 0, sizeof(p->avatar));
	p->resolved = false;
}

/* ---- joining ---- */

static void resolve(struct net_receiver *r, struct peer *p, struct meet_participant *m)
{
	free_avatar(p);
	struct net_avatar av = {0};
	enum cv_result res = r->desc.resolve_avatar(r->desc.resolve_user, &p->announce, &av);
	if (res == CV_OK && (av.latent != p->announce.latent || !av.code_mean || !av.code_std)) {
		CV_WARN("net: participant %u: avatar '%s' has latent %u, the stream %u", p->id, av.path, av.latent,
		        p->announce.latent);
		res = CV_ERROR_MISMATCH;
	}
	struct codec_stream_desc sd = {.participant = p->id, .avatar = p->announce.avatar, .latent = p->announce.latent,
	                               .code_mean = av.code_mean, .code_std = av.code_std};
	if (res == CV_OK) res = codec_decoder_create(&sd, &p->decoder);
	if (res == CV_OK) res = meet_stream_init(&p->frames, p->announce.latent);
	p->avatar = av;
	if (res != CV_OK) {
		free_avatar(p);
		p->avatar.latent = 0;
		snprintf(m->avatar_path, sizeof(m->avatar_path), "%s", "");
		p->st.avatar_missing = true;
		CV_WARN("net: participant %u (%s): avatar '%s' not found here; it stays waiting", p->id, p->announce.name,
		        p->announce.avatar_file);
		return;
	}
	p->resolved = true;
	p->st.avatar_missing = false;
	snprintf(m->avatar_path, sizeof(m->avatar_path), "%s", av.path);
	m->code_floats = p->announce.latent;
}

static bool same_stream(const struct net_announce *a, const struct net_announce *b)
{
	return a->avatar == b->avatar && a->latent == b->latent && !memcmp(a->avatar_hash, b->avatar_hash, SESSION_HASH_SIZE) &&
	       !strcmp(a->avatar_file, b->avatar_file);
}

static struct peer *find_peer(struct net_receiver *r, uint32_t id, uint32_t *index)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (r->peers_of[i].used && r->peers_of[i].id == id) {
			*index = i;
			return &r->peers_of[i];
		}
	return NULL;
}

static struct peer *new_peer(struct net_receiver *r, uint32_t id, uint32_t *index)
{
	uint32_t i = r->count;
	if (i == MEET_MAX_PARTICIPANTS) {
		/* Full: the longest-gone participant's seat goes to the newcomer. */
		int64_t oldest = INT64_MAX;
		for (uint32_t k = 0; k < r->count; k++)
			if (r->peers_of[k].left && r->peers_of[k].last_heard_us < oldest) {
				oldest = r->peers_of[k].last_heard_us;
				i = k;
			}
		if (i == MEET_MAX_PARTICIPANTS) return NULL;
		reset_stream(r, &r->peers_of[i]);
		free_avatar(&r->peers_of[i]);
	} else
		r->count++;
	struct peer *p = &r->peers_of[i];
	memset(p, 0, sizeof(*p));
	memset(&r->parts[i], 0, sizeof(r->parts[i]));
	p->used = true;
	p->id = id;
	p->shown_fade = -1;
	p->last_render = INT64_MIN;
	*index = i;
	return p;
}

static void on_announce(struct net_receiver *r, struct peer *p, uint32_t index, const struct net_announce *a,
                        bool joined, int64_t now)
{
	struct meet_participant *m = &r->parts[index];
	bool changed = joined || !same_stream(&p->announce, a);
	p->announce = *a;
	m->id = p->id;
	snprintf(m->name, sizeof(m->name), "%s", a->name);
	memcpy(m->avatar_hash, a->avatar_hash, SESSION_HASH_SIZE);
	if (changed) {
		if (!joined) reset_stream(r, p);
		resolve(r, p, m);
		m->status = MEET_WAITING;
		m->has_frame = false;
		CV_INFO("net: participant %u '%s' joined (avatar %s)", p->id, a->name, p->resolved ? m->avatar_path : "missing");
		emit(r, NET_EVENT_JOIN, index, NULL, 0, now);
	}
}

static void release_due(struct net_receiver *r, struct peer *p, uint32_t index, int64_t due, int64_t now);

static void leave(struct net_receiver *r, struct peer *p, uint32_t index, int64_t now, bool timeout)
{
	if (p->left) return;
	/* What is still buffered goes out first (to a recorder, and the last decoded state stays valid). */
	if (p->resolved) release_due(r, p, index, INT64_MAX, now);
	p->left = true;
	/* A goodbye ends this run for good; a timeout lets the same run come back with its next announce. */
	p->left_epoch = timeout ? p->replay.epoch - 1 : p->replay.epoch;
	r->parts[index].status = MEET_LEFT;
	reset_stream(r, p);
	CV_INFO("net: participant %u '%s' %s", p->id, p->announce.name, timeout ? "timed out" : "left");
	emit(r, NET_EVENT_LEAVE, index, NULL, 0, now);
}

/* ---- timing ---- */

static void request_key(struct net_receiver *r, struct peer *p, int64_t now)
{
	if (p->last_key_request && now - p->last_key_request < NET_KEY_REQUEST_MS * 1000) return;
	p->last_key_request = now;
	uint8_t body[8];
	size_t n = net_key_request_write(&(struct net_key_request){.participant = p->id, .next_frame = p->next_frame},
	                                 body, sizeof(body));
	send_control(r, NET_KEY_REQUEST, body, n, &p->addr);
	p->st.key_requests++;
	r->st.key_requests++;
}

static void measure_arrival(struct net_receiver *r, struct peer *p, uint32_t frame, int64_t sender_us, int64_t now)
{
	int64_t d = now - sender_us;
	/* Clock offset plus the fastest path: the least arrival-minus-sender time of the last two buckets, so it can
	 * rise again when clocks drift. */
	if (!p->offset_valid) {
		p->off_cur = p->off_prev = d;
		p->off_bucket_start = now;
		p->offset_valid = true;
	} else if (now - p->off_bucket_start > OFFSET_BUCKET_US) {
		p->off_prev = p->off_cur;
		p->off_cur = d;
		p->off_bucket_start = now;
	} else if (d < p->off_cur)
		p->off_cur = d;
	p->offset = p->off_cur < p->off_prev ? p->off_cur : p->off_prev;
	if (p->have_prev) {
		/* RFC 3550, 6.4.1: J += (|D| - J) / 16 over consecutive arrivals. */
		double D = (double)(now - p->prev_arrival) - (double)(sender_us - p->prev_sender);
		p->jitter += (fabs(D) - p->jitter) / 16.0;
		if (frame == p->prev_frame + 1 && sender_us > p->prev_sender) {
			double dt = (double)(sender_us - p->prev_sender);
			p->period = p->period > 0 ? p->period + (dt - p->period) / 16.0 : dt;
		}
	}
	if (!p->have_prev && p->delay < NET_MIN_DELAY_MS * 1000.0) p->delay = NET_MIN_DELAY_MS * 1000.0;
	p->have_prev = true;
	p->prev_arrival = now;
	p->prev_sender = sender_us;
	p->prev_frame = frame;
	if (r->desc.fixed_delay_ms) {
		p->delay = r->desc.fixed_delay_ms * 1000.0;
		return;
	}
	/* Three times the mean deviation covers uniform and most bursty jitter; the delay rises quickly and falls
	 * slowly, so one calm second does not undo what a bad one taught. */
	double target = 3.0 * p->jitter + NET_MIN_DELAY_MS * 1000.0;
	if (target > NET_MAX_DELAY_MS * 1000.0) target = NET_MAX_DELAY_MS * 1000.0;
	p->delay += (target - p->delay) * (target > p->delay ? 0.25 : 0.005);
}

static bool missing_bit(struct peer *p, uint32_t frame, int op) /* op: 0 test, 1 set, -1 clear */
{
	uint64_t *w = &p->missing_bits[(frame % MISSING_BITS) / 64], bit = 1ull << (frame % 64);
	bool was = *w & bit;
	if (op > 0) *w |= bit;
	if (op < 0) *w &= ~bit;
	return was;
}

/* ---- release and decode ---- */

static void release(struct net_receiver *r, struct peer *p, uint32_t index, struct slot *s, int64_t now)
{
	emit(r, NET_EVENT_PACKET, index, s->data, s->size, now);
	missing_bit(p, s->frame, -1);
	p->loss += (0.0f - p->loss) / 64.0f;
	if (p->decoder) {
		struct codec_frame f;
		enum codec_decode_status status;
		/* A member's broken stream must not flood the log: the codec says why for the first few packets only. */
		enum cv_log_level level = cv_log_get_level();
		if (p->st.rejected >= 3) cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
		enum cv_result res = codec_decoder_decode(p->decoder, s->data, s->size, &f, &status);
		cv_log_set_level(level);
		if (res != CV_OK) p->st.rejected++;
		else if (status == CODEC_SKIPPED_WAITING_KEY) {
			p->st.undecodable++;
			request_key(r, p, now);
		} else if (status == CODEC_DECODED) {
			p->st.decoded++;
			if (s->data[1] & CODEC_PACKET_KEY) p->st.key_frames++;
			/* After a gap, interpolating across it would sweep through poses nobody had: start afresh. */
			double period = p->period > 0 ? p->period : 33333.0;
			meet_stream_push(&p->frames, &f, s->sender_us, (int64_t)(4 * period));
		} else
			p->st.undecodable++;
	}
	free_slot(r, p, s);
}

static void declare_missing(struct net_receiver *r, struct peer *p, int64_t now)
{
	p->st.missing++;
	missing_bit(p, p->next_frame, 1);
	p->loss += (1.0f - p->loss) / 64.0f;
	request_key(r, p, now);
}

/* Whether a frame after next_frame is present and due. */
static bool later_due(struct peer *p, int64_t due)
{
	for (int i = 0; i < NET_JITTER_SLOTS; i++) {
		struct slot *s = &p->slots[i];
		if (s->used && frame_diff(s->frame, p->next_frame) > 0 && s->sender_us <= due) return true;
	}
	return false;
}

static void release_due(struct net_receiver *r, struct peer *p, uint32_t index, int64_t due, int64_t now)
{
	if (!p->started) {
		struct slot *first = NULL;
		for (int i = 0; i < NET_JITTER_SLOTS; i++)
			if (p->slots[i].used && (!first || frame_diff(p->slots[i].frame, first->frame) < 0)) first = &p->slots[i];
		if (!first || first->sender_us > due) return;
		p->started = true;
		p->next_frame = first->frame;
	}
	for (int guard = 0; guard < 2 * NET_JITTER_SLOTS; guard++) {
		struct slot *s = &p->slots[p->next_frame % NET_JITTER_SLOTS];
		if (s->used && s->frame == p->next_frame) {
			if (s->sender_us > due) break;
			release(r, p, index, s, now);
		} else if (later_due(p, due))
			declare_missing(r, p, now);
		else
			break;
		p->next_frame++;
	}
}

/* ---- arrival ---- */

static void frame_arrived(struct net_receiver *r, struct peer *p, uint32_t index, uint32_t frame, int64_t sender_us,
                          uint8_t *data, size_t size, int64_t now)
{
	/* `data` is malloc'd and reserved against the bounds; from here it is ours to keep or free. */
	p->st.frames++;
	if (p->any_frame && frame_diff(frame, p->highest) < 0) p->st.reordered++;
	if (!p->any_frame || frame_diff(frame, p->highest) > 0) p->highest = frame;
	p->any_frame = true;
	measure_arrival(r, p, frame, sender_us, now);
	struct slot tmp = {.used = true, .frame = frame, .sender_us = sender_us, .arrival_us = now, .data = data, .size = size};
	if (p->started && frame_diff(frame, p->next_frame) < 0) {
		if (missing_bit(p, frame, -1)) {
			/* It came after its deadline: it was counted as missing; wait longer from now on. */
			p->st.late++;
			if (!r->desc.fixed_delay_ms) {
				double late_by = (double)(now - (sender_us + p->offset)) - p->delay;
				p->delay += (late_by > 0 ? late_by : 0) + 2000.0;
				if (p->delay > NET_MAX_DELAY_MS * 1000.0) p->delay = NET_MAX_DELAY_MS * 1000.0;
			}
		} else
			p->st.duplicates++;
		free_slot(r, p, &tmp);
		return;
	}
	if (p->started && frame_diff(frame, p->next_frame) >= 2 * NET_JITTER_SLOTS) {
		/* Far ahead of the buffer (a long silence): start over from what comes now. */
		p->st.missing += (uint64_t)frame_diff(frame, p->next_frame);
		reset_stream(r, p);
		measure_arrival(r, p, frame, sender_us, now);
		p->any_frame = true;
		p->highest = frame;
	}
	/* Ahead of the window: what is in the way goes out now, in order. */
	while (p->started && frame_diff(frame, p->next_frame) >= NET_JITTER_SLOTS) {
		struct slot *s = &p->slots[p->next_frame % NET_JITTER_SLOTS];
		if (s->used && s->frame == p->next_frame) release(r, p, index, s, now);
		else declare_missing(r, p, now);
		p->next_frame++;
	}
	struct slot *s = &p->slots[frame % NET_JITTER_SLOTS];
	if (s->used && s->frame == frame) {
		p->st.duplicates++;
		free_slot(r, p, &tmp);
		return;
	}
	if (s->used && frame_diff(frame, s->frame) < 0) {
		/* Before the start only (a window apart): the older of two colliding frames goes. */
		p->st.duplicates++;
		free_slot(r, p, &tmp);
		return;
	}
	if (s->used) free_slot(r, p, s);
	*s = tmp;
}

static void fragment_arrived(struct net_receiver *r, struct peer *p, uint32_t index, const struct net_fragment *f,
                             int64_t now)
{
	if (f->count == 1) {
		uint8_t *data = malloc(f->size);
		if (!data || !reserve(r, p, f->size)) {
			free(data);
			r->st.buffer_full++;
			return;
		}
		memcpy(data, f->data, f->size);
		frame_arrived(r, p, index, f->frame, (int64_t)f->sender_us, data, f->size, now);
		return;
	}
	struct partial *q = NULL, *spare = NULL;
	for (int i = 0; i < NET_REASSEMBLY_SLOTS; i++) {
		struct partial *c = &p->partials[i];
		if (c->used && c->frame == f->frame) q = c;
		else if (!c->used && !spare) spare = c;
	}
	if (!q) {
		if (p->started && frame_diff(f->frame, p->next_frame) < 0) {
			r->st.fragment_dropped++; /* its frame is already gone */
			return;
		}
		if (!spare) {
			/* All slots busy: the oldest partial packet is given up. */
			spare = &p->partials[0];
			for (int i = 1; i < NET_REASSEMBLY_SLOTS; i++)
				if (p->partials[i].started_us < spare->started_us) spare = &p->partials[i];
			free_partial(r, p, spare);
			r->st.fragment_dropped++;
		}
		if (!reserve(r, p, f->packet_size)) {
			r->st.buffer_full++;
			return;
		}
		q = spare;
		*q = (struct partial){.used = true, .frame = f->frame, .packet_size = f->packet_size, .count = f->count,
		                      .sender_us = (int64_t)f->sender_us, .started_us = now, .data = malloc(f->packet_size)};
		if (!q->data) {
			free_partial(r, p, q);
			r->st.buffer_full++;
			return;
		}
	}
	if (q->packet_size != f->packet_size || q->count != f->count || q->sender_us != (int64_t)f->sender_us ||
	    (q->got[f->index / 8] >> (f->index % 8) & 1)) {
		r->st.fragment_dropped++;
		return;
	}
	q->got[f->index / 8] |= (uint8_t)(1u << (f->index % 8));
	memcpy(q->data + (size_t)f->index * NET_FRAGMENT_DATA, f->data, f->size);
	if (++q->received < q->count) return;
	/* Complete: the buffer and its reservation move to the jitter buffer. */
	uint8_t *data = q->data;
	size_t size = q->packet_size;
	int64_t sender_us = q->sender_us;
	uint32_t frame = q->frame;
	memset(q, 0, sizeof(*q));
	frame_arrived(r, p, index, frame, sender_us, data, size, now);
}

/* Moves the bitrate's 100 ms buckets up to `now`, emptying those that passed without data. */
static void rate_advance(struct peer *p, int64_t now)
{
	int64_t bucket = now / 100000;
	if (bucket <= p->rate_bucket) return;
	for (int64_t b = p->rate_bucket + 1; b <= bucket && b <= p->rate_bucket + 10; b++) p->rate_bytes[b % 10] = 0;
	p->rate_bucket = bucket;
}

/* A sender's CHALLENGE: the cookie goes back to where it came from, with our nonce for its announces. No state
 * is kept and the answer is the challenge's size, so a replayed challenge amplifies nothing. */
static void answer_challenge(struct net_receiver *r, const uint8_t *body, size_t size, const struct net_addr *from)
{
	struct net_handshake hs;
	if (net_handshake_parse(body, size, &hs) != CV_OK) {
		r->st.malformed++;
		return;
	}
	memcpy(hs.nonce, r->nonce[0], NET_NONCE_SIZE);
	uint8_t out[NET_HANDSHAKE_BODY];
	send_control(r, NET_CONSENT, out, net_handshake_write(&hs, out, sizeof(out)), from);
	r->st.challenges++;
}

static void rotate_nonce(struct net_receiver *r, int64_t now)
{
	memcpy(r->nonce[1], r->nonce[0], NET_NONCE_SIZE);
	randombytes_buf(r->nonce[0], NET_NONCE_SIZE);
	r->nonce_at = now;
}

void net_receiver_nonce(const struct net_receiver *r, uint8_t nonce[NET_NONCE_SIZE])
{
	memcpy(nonce, r->nonce[0], NET_NONCE_SIZE);
}

static void input_at(struct net_receiver *r, const uint8_t *datagram, size_t size, const struct net_addr *from,
                     int64_t now)
{
	r->st.datagrams++;
	r->st.bytes += size;
	struct net_header h;
	size_t body_size;
	uint8_t *body = r->body; /* not in place: the signature covers the ciphertext */
	enum cv_result res = net_open(r->key, datagram, size, &h, body, &body_size);
	if (res == CV_ERROR_MISMATCH) {
		r->st.auth_failed++;
		return;
	}
	if (res != CV_OK) {
		r->st.malformed++;
		return;
	}
	if (h.sender == r->id) return; /* our own, reflected */
	if (h.type == NET_CHALLENGE) {
		answer_challenge(r, body, body_size, from);
		return;
	}
	uint32_t index;
	struct peer *p = find_peer(r, h.sender, &index);
	if (!net_signed_type(h.type) || (!p && (h.type != NET_ANNOUNCE || (h.sender & 0x80000000u)))) {
		/* Only participants announce; ids with the high bit set belong to receivers; HELLO, CONSENT and key
		 * requests are for senders. */
		r->st.unknown_sender++;
		return;
	}
	struct net_announce a;
	if (h.type == NET_ANNOUNCE && net_announce_parse(body, body_size, &a) != CV_OK) {
		r->st.malformed++;
		return;
	}
	if (h.type == NET_ANNOUNCE && sodium_memcmp(a.nonce, r->nonce[0], NET_NONCE_SIZE) &&
	    sodium_memcmp(a.nonce, r->nonce[1], NET_NONCE_SIZE)) {
		r->st.stale++; /* not an answer to us, lately: a replay of another session, or a very late one */
		return;
	}
	if (p && h.epoch < p->replay.epoch) {
		r->st.replayed++;
		return;
	}
	if (p && h.epoch > p->replay.epoch && h.type != NET_ANNOUNCE) {
		r->st.stale++; /* a new run speaks only after announcing itself to us */
		return;
	}
	/* The key: a present participant keeps the one it was seated with, also for a new epoch (a takeover would
	 * otherwise be one announce away); a new epoch after leaving or timing out brings its own. */
	bool keep_key = p && (!p->left || h.epoch == p->replay.epoch);
	const uint8_t *sign_key = keep_key || h.type != NET_ANNOUNCE ? p->sign_key : a.sign_key;
	if ((keep_key && h.type == NET_ANNOUNCE && sodium_memcmp(a.sign_key, p->sign_key, NET_SIGN_KEY_SIZE)) ||
	    !net_verify(sign_key, datagram, size)) {
		r->st.forged++;
		return;
	}
	bool joined = false;
	if (p) {
		/* Replays are refused before anything else of theirs is looked at. */
		enum net_replay_verdict v = net_replay_check(&p->replay, h.epoch, h.sequence);
		if (v == NET_REPLAY_DUPLICATE || v == NET_REPLAY_OLD) {
			r->st.replayed++;
			return;
		}
		if (v == NET_REPLAY_NEW_EPOCH) reset_stream(r, p); /* the sender restarted: its stream starts over */
		/* Gone participants come back by announcing: after a goodbye only from a later run, after a timeout from
		 * the same run too. Stragglers are not shown (a second goodbye is not worth counting). */
		if (p->left && (h.type != NET_ANNOUNCE || h.epoch <= p->left_epoch)) {
			if (h.type != NET_LEAVE) r->st.unknown_sender++;
			return;
		}
	}
	if (!p) {
		p = new_peer(r, h.sender, &index);
		if (!p) {
			r->st.table_full++;
			return;
		}
		net_replay_check(&p->replay, h.epoch, h.sequence); /* a fresh window: accepted */
		joined = true;
	} else if (p->left) {
		p->left = false;
		joined = true;
	}
	if (h.type == NET_ANNOUNCE) memcpy(p->sign_key, a.sign_key, NET_SIGN_KEY_SIZE);
	p->addr = *from;
	p->last_heard_us = now;
	p->st.datagrams++;
	p->st.bytes += size;
	rate_advance(p, now);
	p->rate_bytes[p->rate_bucket % 10] += size;
	struct net_fragment f;
	switch (h.type) {
	case NET_ANNOUNCE:
		on_announce(r, p, index, &a, joined, now);
		break;
	case NET_LEAVE:
		if (body_size) r->st.malformed++;
		else leave(r, p, index, now, false);
		break;
	case NET_FRAME:
		if (net_fragment_parse(body, body_size, &f) != CV_OK) r->st.malformed++;
		else if (!p->resolved) p->st.frames++; /* counted; nothing to decode it with */
		else fragment_arrived(r, p, index, &f, now);
		break;
	default:
		break; /* HELLO and key requests are for senders */
	}
}

void net_receiver_input(struct net_receiver *r, const uint8_t *datagram, size_t size, const struct net_addr *from)
{
	input_at(r, datagram, size, from, now_us(r));
}

/* ---- what the scene sees ---- */

static void fill(struct net_receiver *r, struct peer *p, uint32_t index, int64_t render, int64_t now)
{
	struct meet_participant *m = &r->parts[index];
	if (p->left) {
		m->status = MEET_LEFT;
		return;
	}
	rate_advance(p, now);
	uint64_t bytes = 0;
	for (int i = 0; i < 10; i++) bytes += p->rate_bytes[i];
	m->bitrate_kbps = (float)bytes * 8.0f / 1000.0f;
	m->loss = p->loss;
	const struct meet_stream_frame *newest = meet_stream_newest(&p->frames);
	if (!newest) {
		m->status = MEET_WAITING;
		m->has_frame = false;
		return;
	}
	uint32_t latent = p->announce.latent;
	const struct meet_stream_frame *shown = meet_stream_at(&p->frames, render, EXTRAPOLATE_MAX_US, m);
	int64_t gap = render - newest->t_us;
	if (gap > NET_HOLD_MS * 1000) m->audio_level = 0.0f;
	/* The code: held, then faded to the neutral code in 16 steps (each step is one more GPU decode), then frozen. */
	int fade = 0;
	if (gap > NET_HOLD_MS * 1000) {
		double x = (double)(gap - NET_HOLD_MS * 1000) / ((NET_FREEZE_MS - NET_HOLD_MS) * 1000.0);
		fade = x >= 1 ? 16 : 1 + (int)(x * 15);
		p->st.concealed_updates++;
	} else if (gap > 0)
		p->st.concealed_updates++;
	if (!m->has_frame || shown->t_us != p->shown_code_us || fade != p->shown_fade) {
		float w = (float)fade / 16.0f;
		for (uint32_t i = 0; i < latent; i++)
			m->code[i] = shown->code[i] + (p->avatar.code_mean[i] - shown->code[i]) * w;
		m->code_floats = latent;
		m->code_version++;
		p->shown_code_us = shown->t_us;
		p->shown_fade = fade;
	}
	m->has_frame = true;
	m->status = gap > NET_FREEZE_MS * 1000 ? MEET_RECONNECTING : MEET_ACTIVE;
	p->st.display_sender_us = render;
	p->st.code_sender_us = shown->t_us;
	p->st.code_faded = fade > 0;
}

enum cv_result net_receiver_update(struct net_receiver *r) { return net_receiver_update_at(r, INT64_MIN); }

enum cv_result net_receiver_update_at(struct net_receiver *r, int64_t display_us)
{
	if (r->has_socket) {
		for (int i = 0; i < MAX_DRAIN; i++) {
			size_t n;
			struct net_addr from;
			int64_t kernel;
			CV_TRY(net_socket_recv(&r->sock, r->datagram, sizeof(r->datagram), &n, &from, &kernel));
			if (!n) break;
			int64_t now = now_us(r);
			/* The kernel's receive time, moved to our clock: arrival jitter without the frame loop's. */
			if (kernel && !r->desc.clock_us) {
				int64_t at = now - (net_realtime_us() - kernel);
				if (at <= now && now - at < 1000000) now = at;
			}
			input_at(r, r->datagram, n, &from, now);
		}
	}
	int64_t now = now_us(r);
	if (display_us == INT64_MIN) display_us = now;
	if (now - r->nonce_at > NET_NONCE_MS * 1000) rotate_nonce(r, now);
	if (r->peer_count && now >= r->next_hello) {
		struct net_handshake hs = {0};
		net_hello_stamp(&hs, net_realtime_us() / 1000);
		memcpy(hs.nonce, r->nonce[0], NET_NONCE_SIZE);
		uint8_t body[NET_HANDSHAKE_BODY];
		size_t n = net_handshake_write(&hs, body, sizeof(body));
		for (uint32_t i = 0; i < r->peer_count; i++) send_control(r, NET_HELLO, body, n, &r->peers[i]);
		r->next_hello = now + NET_HELLO_MS * 1000;
	}
	uint32_t timeout = r->desc.leave_timeout_ms ? r->desc.leave_timeout_ms : NET_LEAVE_TIMEOUT_MS;
	for (uint32_t i = 0; i < r->count; i++) {
		struct peer *p = &r->peers_of[i];
		if (!p->used) continue;
		if (!p->left && now - p->last_heard_us > (int64_t)timeout * 1000) leave(r, p, i, now, true);
		for (int k = 0; k < NET_REASSEMBLY_SLOTS; k++)
			if (p->partials[k].used && now - p->partials[k].started_us > NET_REASSEMBLY_TIMEOUT_MS * 1000) {
				free_partial(r, p, &p->partials[k]);
				r->st.reassembly_expired++;
			}
		if (p->left || !p->resolved || !p->offset_valid) {
			fill(r, p, i, 0, now);
			continue;
		}
		/* Release point on the sender's clock; the scene sees one frame period behind it, so there is a frame on
		 * either side to interpolate between, and it sees it at the display time: a frame shown later than now
		 * shows the sender's state that much later too (the receiver clock maps to the sender's by the same
		 * offset and delay). */
		int64_t due = now - p->offset - (int64_t)p->delay;
		release_due(r, p, i, due, now);
		int64_t render = due + (display_us - now) - (int64_t)(p->period > 0 ? p->period : 33333.0);
		if (render < p->last_render) render = p->last_render; /* never backwards, when the offset estimate rises */
		p->last_render = render;
		fill(r, p, i, render, now);
	}
	return CV_OK;
}

/* ---- life ---- */

enum cv_result net_receiver_create(const struct net_receiver_desc *desc, struct net_receiver **out)
{
	*out = NULL;
	if (!desc || !desc->resolve_avatar)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net receiver: no avatar resolver");
	if (desc->peer_count > NET_MAX_DESTINATIONS)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net receiver: at most %d peers", NET_MAX_DESTINATIONS);
	struct net_receiver *r = calloc(1, sizeof(*r));
	if (!r) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "net receiver");
	r->desc = *desc;
	r->sock.fd = -1;
	r->peers_of = calloc(MEET_MAX_PARTICIPANTS, sizeof(*r->peers_of));
	r->parts = calloc(MEET_MAX_PARTICIPANTS, sizeof(*r->parts));
	enum cv_result res = r->peers_of && r->parts ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "net receiver");
	if (res == CV_OK) res = net_key_derive(desc->secret, desc->secret_size, desc->meeting, r->key);
	r->id = desc->id;
	if (!r->id) {
		randombytes_buf(&r->id, sizeof(r->id));
		r->id |= 0x80000000u;
	}
	r->epoch = net_new_epoch();
	randombytes_buf(r->nonce[0], NET_NONCE_SIZE);
	randombytes_buf(r->nonce[1], NET_NONCE_SIZE);
	r->nonce_at = now_us(r);
	int family = AF_INET;
	for (size_t i = 0; res == CV_OK && i < desc->peer_count; i++) {
		res = net_addr_parse(desc->peers[i], &r->peers[r->peer_count++]);
		if (res == CV_OK && r->peers[i].ss.ss_family == AF_INET6) family = AF_INET6;
	}
	if (res == CV_OK && desc->listen) {
		struct net_addr bind;
		res = net_addr_parse(desc->listen, &bind);
		if (res == CV_OK) res = net_socket_open(&bind, family, &r->sock);
		if (res == CV_OK && r->sock.family == AF_INET && family == AF_INET6)
			res = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net receiver: IPv6 peers need an IPv6 --listen address");
		r->has_socket = res == CV_OK;
	}
	if (res != CV_OK) {
		net_receiver_destroy(&r);
		return res;
	}
	*out = r;
	return CV_OK;
}

void net_receiver_destroy(struct net_receiver **rp)
{
	struct net_receiver *r = *rp;
	if (!r) return;
	for (uint32_t i = 0; r->peers_of && i < r->count; i++) {
		reset_stream(r, &r->peers_of[i]);
		free_avatar(&r->peers_of[i]);
	}
	net_socket_close(&r->sock);
	sodium_memzero(r->key, sizeof(r->key));
	free(r->peers_of);
	free(r->parts);
	free(r);
	*rp = NULL;
}

struct meet_participant *net_receiver_participants(struct net_receiver *r, uint32_t *count)
{
	*count = r->count;
	return r->parts;
}

void net_receiver_stats(const struct net_receiver *r, struct net_receiver_stats *out) { *out = r->st; }

enum cv_result net_receiver_participant_stats(const struct net_receiver *r, uint32_t id,
                                              struct net_participant_stats *out)
{
	for (uint32_t i = 0; i < r->count; i++) {
		const struct peer *p = &r->peers_of[i];
		if (!p->used || p->id != id) continue;
		*out = p->st;
		out->jitter_ms = p->jitter / 1000.0;
		out->delay_ms = p->delay / 1000.0;
		out->offset_ms = (double)p->offset / 1000.0;
		out->period_ms = p->period / 1000.0;
		return CV_OK;
	}
	return CV_ERROR_INVALID_ARGUMENT;
}

const struct net_addr *net_receiver_local(const struct net_receiver *r) { return &r->sock.local; }

int64_t net_receiver_now(const struct net_receiver *r) { return now_us(r); }
