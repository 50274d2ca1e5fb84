/* The network transport (engine/net), on loopback only: sealing and parsing, the replay window, a meeting of four
 * senders and one receiver (every participant appears, decoded codes within the codec's bound of what was sent),
 * an impairment relay in this file (loss, duplication, reordering by jitter, an outage) whose counts the
 * receiver's counters must match, hostile input fed straight to a receiver, joining mid-meeting through HELLO,
 * clock offsets, timeouts, IPv6 on ::1 when the machine has it, what replays and forgeries achieve (nothing), and a
 * recording sent live: its participant at a display time is the recording played back at that time.
 * Checks count events, never wall time or throughput, so a busy machine only makes the run longer. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>
#include <unistd.h>

#include "app/net_cli.h"
#include "avatar/cavatar.h"
#include "codec/codec.h"
#include "net/net.h"
#include "test.h"

#include <sodium.h>

#define FPS 30
/* Every check counts events (frames sent, decoded, datagrams), never throughput or wall time; loops that wait
 * for an event give up after this long, only so that a broken build does not hang. */
#define SAFETY_S 60.0
#define MAX_SENDERS 4
static const char secret[] = "correct horse battery staple, test only";
static const char *avatar_names[MAX_SENDERS] = {"ana.cavatar", "kofi.cavatar", "ines.cavatar", "ana.cavatar"};

static char assets_dir[4096];

struct avatar_info {
	uint32_t latent;
	float mean[CODEC_MAX_LATENT], std_dev[CODEC_MAX_LATENT];
	uint8_t hash[SESSION_HASH_SIZE];
};
static struct avatar_info avatars[3];

static bool load_avatar(const char *name, struct avatar_info *a)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", assets_dir, name);
	struct avatar_file *f = NULL;
	if (avatar_file_open(path, &f) != CV_OK) return false;
	a->latent = avatar_latent_size(f);
	bool ok = a->latent <= CODEC_MAX_LATENT && st_tensor_to_f32(avatar_tensor(f, "code.mean"), a->mean, a->latent) == CV_OK &&
	          st_tensor_to_f32(avatar_tensor(f, "code.std"), a->std_dev, a->latent) == CV_OK &&
	          session_hash_file(path, a->hash) == CV_OK;
	avatar_file_destroy(&f);
	return ok;
}

static const struct avatar_info *avatar_of(int i) { return &avatars[i % 3]; }

static void sleep_ms(double ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(ms * 1e6)};
	nanosleep(&ts, NULL);
}

/* ---- a synthetic participant: codec encoder + net sender ---- */

#define HISTORY 512
struct synth_sender {
	struct net_sender *net;
	struct codec_encoder *enc;
	struct codec_synth_desc synth;
	uint32_t id, sequence;
	const struct avatar_info *avatar;
	int64_t start_us, clock_offset_us;
	uint8_t packet[8192];
	/* What was sent, by sender time, to check what the receiver shows. */
	int64_t sent_us[HISTORY];
	float sent_code[HISTORY][64];
	uint64_t key_requests;
	uint32_t frames_out;  /* frames sent while a receiver had consented (before that they go nowhere) */
};

static int64_t offset_clock(void *user) { return net_now_us() + ((struct synth_sender *)user)->clock_offset_us; }

static bool sender_create(struct synth_sender *s, uint32_t id, int which, const char *peer, const char *listen,
                          int64_t clock_offset_us)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->avatar = avatar_of(which);
	s->clock_offset_us = clock_offset_us;
	const char *peers[1] = {peer};
	char name[32];
	snprintf(name, sizeof(name), "Participant %u", id);
	struct net_sender_desc d = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                            .listen = listen, .peers = peer ? peers : NULL, .peer_count = peer ? 1 : 0,
	                            .participant = id, .name = name, .avatar_file = avatar_names[which],
	                            .avatar = 100 + id, .latent = s->avatar->latent, .clock_us = offset_clock,
	                            .clock_user = s};
	memcpy(d.avatar_hash, s->avatar->hash, SESSION_HASH_SIZE);
	struct codec_stream_desc sd = {.participant = id, .avatar = 100 + id, .latent = s->avatar->latent,
	                               .code_mean = s->avatar->mean, .code_std = s->avatar->std_dev};
	s->synth = (struct codec_synth_desc){.seed = id, .latent = s->avatar->latent, .code_mean = s->avatar->mean,
	                                     .code_std = s->avatar->std_dev, .hands = id % 2 == 0, .gaze = true,
	                                     .audio = true};
	s->start_us = net_now_us();
	return s->avatar->latent <= 64 && net_sender_create(&d, &s->net) == CV_OK && codec_encoder_create(&sd, &s->enc) == CV_OK;
}

static void sender_destroy(struct synth_sender *s)
{
	net_sender_destroy(&s->net);
	codec_encoder_destroy(&s->enc);
}

/* Sends the next frame when it is due (one per call: a test's phases are counted in frames, and a stalled
 * machine then catches up frame by frame); answers key frame requests. */
static void sender_step(struct synth_sender *s)
{
	bool key = false;
	CHECK(net_sender_poll(s->net, &key) == CV_OK);
	if (key) {
		codec_encoder_force_key(s->enc);
		s->key_requests++;
	}
	int64_t now = net_now_us();
	if (s->start_us + (int64_t)s->sequence * 1000000 / FPS <= now) {
		float code[CODEC_MAX_LATENT];
		struct codec_frame f = {0};
		double t = (double)s->sequence / FPS;
		codec_synth_frame(&s->synth, t, code, &f);
		f.participant = s->id;
		f.avatar = 100 + s->id;
		f.sequence = s->sequence;
		size_t n;
		CHECK(codec_encoder_encode(s->enc, &f, s->packet, sizeof(s->packet), &n) == CV_OK);
		int64_t sender_us = offset_clock(s);
		uint32_t h = s->sequence % HISTORY;
		s->sent_us[h] = sender_us;
		memcpy(s->sent_code[h], code, s->avatar->latent * sizeof(float));
		struct net_sender_stats st;
		net_sender_stats(s->net, &st);
		s->frames_out += st.destinations > 0;
		CHECK(net_sender_send(s->net, s->packet, n, sender_us) == CV_OK);
		s->sequence++;
	}
}

/* The sent code of the frame stamped `sender_us`, or NULL. */
static const float *sent_code(const struct synth_sender *s, int64_t sender_us)
{
	for (int i = 0; i < HISTORY; i++)
		if (s->sent_us[i] == sender_us) return s->sent_code[i];
	return NULL;
}

/* codec.h: |d| <= quality * CODEC_CODE_STEP * std / 2 per dimension (quality 1), plus float rounding. */
static bool code_within_bound(const struct avatar_info *a, const float *sent, const float *got)
{
	for (uint32_t i = 0; i < a->latent; i++)
		if (fabs((double)got[i] - sent[i]) > CODEC_CODE_STEP * a->std_dev[i] / 2 * 1.0001 + 1e-6) return false;
	return true;
}

static char *addr_text(const struct net_addr *a, char *buf, size_t size)
{
	net_addr_format(a, buf, size);
	return buf;
}

/* Checks each shown, unfaded code against what its sender sent; counts the checks. */
static void check_codes(struct net_receiver *r, struct synth_sender *senders, int n, uint64_t *checked, uint64_t *bad)
{
	uint32_t count;
	struct meet_participant *parts = net_receiver_participants(r, &count);
	for (uint32_t i = 0; i < count; i++) {
		if (!parts[i].has_frame || parts[i].status != MEET_ACTIVE) continue;
		struct net_participant_stats st;
		if (net_receiver_participant_stats(r, parts[i].id, &st) != CV_OK || st.code_faded) continue;
		for (int k = 0; k < n; k++) {
			if (senders[k].id != parts[i].id) continue;
			const float *sent = sent_code(&senders[k], st.code_sender_us);
			(*checked)++;
			if (!sent || parts[i].code_floats != senders[k].avatar->latent ||
			    !code_within_bound(senders[k].avatar, sent, parts[i].code))
				(*bad)++;
		}
	}
}

/* A fixed Ed25519 key pair per member number, so a test can sign as a member and another member can forge. */
static void member_keys(uint32_t member, uint8_t pk[NET_SIGN_KEY_SIZE], uint8_t sk[64])
{
	uint8_t seed[32] = {0};
	memcpy(seed, &member, sizeof(member));
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* A datagram of `sender`, signed (stream types) by member `signer`'s key. */
static size_t seal_signed(const uint8_t *key, uint32_t signer, uint8_t type, uint32_t sender, uint64_t epoch,
                          uint64_t seq, const uint8_t *body, size_t n, uint8_t *out)
{
	struct net_header h = {.type = type, .sender = sender, .epoch = epoch, .sequence = seq};
	size_t m = net_seal(key, &h, body, n, out, NET_DATAGRAM_MAX);
	if (!m || !net_signed_type(type)) return m;
	uint8_t pk[NET_SIGN_KEY_SIZE], sk[64];
	member_keys(signer, pk, sk);
	return net_sign(sk, out, m, NET_DATAGRAM_MAX);
}

static size_t seal_with(const uint8_t *key, uint8_t type, uint32_t sender, uint64_t epoch, uint64_t seq,
                        const uint8_t *body, size_t n, uint8_t *out)
{
	return seal_signed(key, sender, type, sender, epoch, seq, body, n, out);
}

/* An announce body as member `signer` would send it to receiver `r` (its nonce answered). */
static size_t announce_for(const struct net_receiver *r, uint32_t signer, const char *name, uint32_t latent,
                           uint8_t *out)
{
	struct net_announce an = {.avatar = 9, .latent = latent};
	snprintf(an.name, sizeof(an.name), "%s", name);
	strcpy(an.avatar_file, "ana.cavatar");
	net_receiver_nonce(r, an.nonce);
	uint8_t sk[64];
	member_keys(signer, an.sign_key, sk);
	return net_announce_write(&an, out, NET_DATAGRAM_MAX);
}

/* ---- unit checks ---- */

static void test_seal_and_parse(void)
{
	uint8_t key[NET_KEY_SIZE], other[NET_KEY_SIZE], other_meeting[NET_KEY_SIZE];
	CHECK(net_key_derive(secret, sizeof(secret) - 1, "m", key) == CV_OK);
	CHECK(net_key_derive("another secret, 32 bytes long..", 31, "m", other) == CV_OK);
	CHECK(net_key_derive(secret, sizeof(secret) - 1, "n", other_meeting) == CV_OK);
	CHECK(memcmp(key, other, sizeof(key)) && memcmp(key, other_meeting, sizeof(key)));
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* the refusals below are expected */
	CHECK(net_key_derive("short", 5, "m", other) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(net_key_derive(secret, sizeof(secret) - 1, "", other) == CV_ERROR_INVALID_ARGUMENT);
	cv_log_set_level(CV_LOG_WARN);

	struct net_header h = {.type = NET_KEY_REQUEST, .sender = 7, .epoch = 99, .sequence = 5}, g;
	uint8_t body[100], out[NET_DATAGRAM_MAX], back[NET_DATAGRAM_MAX];
	for (int i = 0; i < 100; i++) body[i] = (uint8_t)i;
	size_t n = net_seal(key, &h, body, sizeof(body), out, sizeof(out)), m;
	CHECK(n == NET_HEADER_SIZE + sizeof(body) + NET_TAG_SIZE);
	CHECK(net_open(key, out, n, &g, back, &m) == CV_OK && m == sizeof(body) && !memcmp(back, body, m));
	CHECK(g.type == h.type && g.sender == 7 && g.epoch == 99 && g.sequence == 5);
	CHECK(net_open(other, out, n, &g, back, &m) == CV_ERROR_MISMATCH);
	int tampered = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] ^= 0x20;
		enum cv_result r = net_open(key, out, n, &g, back, &m);
		tampered += r == CV_ERROR_MISMATCH || r == CV_ERROR_FORMAT;
		out[i] ^= 0x20;
	}
	CHECK(tampered == (int)n);
	for (size_t len = 0; len < n; len++) CHECK(net_open(key, out, len, &g, back, &m) != CV_OK);

	/* Signed: the sender's key verifies, another member's does not, and no bit can change unnoticed. */
	uint8_t pk[NET_SIGN_KEY_SIZE], sk[64], pk_other[NET_SIGN_KEY_SIZE], sk_other[64];
	member_keys(1, pk, sk);
	member_keys(2, pk_other, sk_other);
	n = seal_signed(key, 1, NET_FRAME, 7, 99, 6, body, sizeof(body), out);
	CHECK(n == NET_HEADER_SIZE + sizeof(body) + NET_TAG_SIZE + NET_SIGNATURE_SIZE);
	CHECK(net_open(key, out, n, &g, back, &m) == CV_OK && m == sizeof(body) && !memcmp(back, body, m));
	CHECK(net_verify(pk, out, n) && !net_verify(pk_other, out, n));
	tampered = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] ^= 0x01;
		tampered += net_open(key, out, n, &g, back, &m) != CV_OK || !net_verify(pk, out, n);
		out[i] ^= 0x01;
	}
	CHECK(tampered == (int)n);
	CHECK(NET_FRAGMENT_DATA + NET_FRAME_HEADER + NET_HEADER_SIZE + NET_TAG_SIZE + NET_SIGNATURE_SIZE == NET_DATAGRAM_MAX);
	CHECK(codec_packet_max_size(CODEC_MAX_LATENT) <= NET_MAX_MESSAGE); /* with the signature, any packet still fits */
	/* The handshake: a reply is never larger than what asked for it. */
	struct net_handshake hs = {0}, hs2;
	uint8_t hb[NET_HANDSHAKE_BODY];
	size_t hello = seal_with(key, NET_HELLO, 0x80000001u, 1, 1, hb, net_handshake_write(&hs, hb, sizeof(hb)), out);
	size_t challenge = seal_with(key, NET_CHALLENGE, 7, 1, 1, hb, net_handshake_write(&hs, hb, sizeof(hb)), out);
	size_t consent = seal_with(key, NET_CONSENT, 0x80000001u, 1, 2, hb, net_handshake_write(&hs, hb, sizeof(hb)), out);
	CHECK(hello == 72 && challenge == hello && consent == challenge);
	CHECK(net_handshake_parse(hb, sizeof(hb), &hs2) == CV_OK && net_handshake_parse(hb, sizeof(hb) - 1, &hs2) != CV_OK);

	/* Fragments: one way to split a packet, every other claim refused. */
	uint8_t frag[NET_DATAGRAM_MAX];
	struct net_fragment f = {.sender_us = 1, .frame = 2, .index = 1, .count = 3, .packet_size = 2 * NET_FRAGMENT_DATA + 10,
	                         .data = body, .size = 10}, p;
	n = net_fragment_write(&f, frag, sizeof(frag));
	CHECK(net_fragment_parse(frag, n, &p) == CV_ERROR_FORMAT); /* middle fragment of 10 bytes */
	f.index = 2;
	n = net_fragment_write(&f, frag, sizeof(frag));
	CHECK(net_fragment_parse(frag, n, &p) == CV_OK && p.index == 2 && p.count == 3 && p.size == 10);
	f.count = 4;
	n = net_fragment_write(&f, frag, sizeof(frag));
	CHECK(net_fragment_parse(frag, n, &p) == CV_ERROR_FORMAT);
	f = (struct net_fragment){.count = NET_MAX_FRAGMENTS + 1, .index = 0, .packet_size = NET_MAX_MESSAGE + 1,
	                          .data = body, .size = 0};
	n = net_fragment_write(&f, frag, sizeof(frag));
	CHECK(net_fragment_parse(frag, n, &p) == CV_ERROR_FORMAT);
	CHECK(net_fragment_parse(frag, 5, &p) == CV_ERROR_FORMAT);

	/* Announces: names without control characters, relative avatar paths without "..". */
	struct net_announce a = {.avatar = 1, .latent = 64}, b;
	strcpy(a.name, "Ana");
	strcpy(a.avatar_file, "avatars/ana.cavatar");
	n = net_announce_write(&a, frag, sizeof(frag));
	CHECK(net_announce_parse(frag, n, &b) == CV_OK && !strcmp(b.name, "Ana") && !strcmp(b.avatar_file, a.avatar_file));
	for (size_t len = 0; len < n; len++) CHECK(net_announce_parse(frag, len, &b) == CV_ERROR_FORMAT);
	const char *bad_paths[] = {"../x.cavatar", "/etc/passwd", "a/../b", "a//b", "a/", "", "a\\b", "./a"};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		strcpy(a.avatar_file, bad_paths[i]);
		n = net_announce_write(&a, frag, sizeof(frag));
		CHECK_MSG(net_announce_parse(frag, n, &b) == CV_ERROR_FORMAT, "path '%s'", bad_paths[i]);
	}
	strcpy(a.avatar_file, "ok.cavatar");
	/* ESC (C0), and CSI as the C1 control U+009B (UTF-8 C2 9B), in names and in file names; other UTF-8 passes. */
	const char *bad_text[] = {"evil\x1b[2J", "evil\xc2\x9b" "2J"};
	for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
		strcpy(a.name, bad_text[i]);
		n = net_announce_write(&a, frag, sizeof(frag));
		CHECK_MSG(net_announce_parse(frag, n, &b) == CV_ERROR_FORMAT, "name %zu", i);
		strcpy(a.name, "Ana");
		snprintf(a.avatar_file, sizeof(a.avatar_file), "%s.cavatar", bad_text[i]);
		n = net_announce_write(&a, frag, sizeof(frag));
		CHECK_MSG(net_announce_parse(frag, n, &b) == CV_ERROR_FORMAT, "file name %zu", i);
	}
	strcpy(a.name, "Zo\xc3\xab \xc2\xa0 J\xc3\xbcrgen");
	strcpy(a.avatar_file, "ok.cavatar");
	n = net_announce_write(&a, frag, sizeof(frag));
	CHECK(net_announce_parse(frag, n, &b) == CV_OK && !strcmp(b.name, a.name));

	struct net_addr ad;
	char text[80];
	CHECK(net_addr_parse("127.0.0.1:5000", &ad) == CV_OK && !strcmp(addr_text(&ad, text, sizeof(text)), "127.0.0.1:5000"));
	CHECK(net_addr_parse("[::1]:7", &ad) == CV_OK && !strcmp(addr_text(&ad, text, sizeof(text)), "[::1]:7"));
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	CHECK(net_addr_parse("::1:7", &ad) != CV_OK);
	CHECK(net_addr_parse("host.example:7", &ad) != CV_OK);
	CHECK(net_addr_parse("1.2.3.4:70000", &ad) != CV_OK);
	cv_log_set_level(CV_LOG_WARN);
}

static void test_replay_window(void)
{
	struct net_replay w = {0};
	CHECK(net_replay_check(&w, 5, 100) == NET_REPLAY_NEW);
	CHECK(net_replay_check(&w, 5, 100) == NET_REPLAY_DUPLICATE);
	CHECK(net_replay_check(&w, 5, 99) == NET_REPLAY_NEW);
	CHECK(net_replay_check(&w, 5, 99) == NET_REPLAY_DUPLICATE);
	CHECK(net_replay_check(&w, 5, 170) == NET_REPLAY_NEW); /* a shift across words */
	CHECK(net_replay_check(&w, 5, 100) == NET_REPLAY_DUPLICATE);
	CHECK(net_replay_check(&w, 5, 99) == NET_REPLAY_DUPLICATE);
	CHECK(net_replay_check(&w, 5, 101) == NET_REPLAY_NEW);
	CHECK(net_replay_check(&w, 5, 170 + NET_REPLAY_WINDOW) == NET_REPLAY_NEW);
	CHECK(net_replay_check(&w, 5, 170) == NET_REPLAY_OLD);
	CHECK(net_replay_check(&w, 5, 171) == NET_REPLAY_NEW);
	CHECK(net_replay_check(&w, 4, 5000) == NET_REPLAY_OLD); /* an earlier run of the sender */
	CHECK(net_replay_check(&w, 6, 0) == NET_REPLAY_NEW_EPOCH);
	CHECK(net_replay_check(&w, 6, 0) == NET_REPLAY_DUPLICATE);
	CHECK(net_replay_check(&w, 5, 9999) == NET_REPLAY_OLD);
	/* Random order within the window: each sequence accepted exactly once. */
	struct net_replay v = {0};
	uint64_t state = 1, accepted = 0, refused = 0;
	for (int i = 0; i < 20000; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t seq = (uint64_t)i / 2 + (state >> 40) % 200;
		enum net_replay_verdict r = net_replay_check(&v, 1, seq);
		accepted += r == NET_REPLAY_NEW;
		refused += r != NET_REPLAY_NEW;
	}
	uint64_t distinct = 0;
	state = 1;
	static uint8_t seen[20000];
	memset(seen, 0, sizeof(seen));
	uint64_t top = 0;
	bool started = false;
	for (int i = 0; i < 20000; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t seq = (uint64_t)i / 2 + (state >> 40) % 200;
		/* The reference: new when unseen and within the window of the highest so far. */
		bool fresh = !seen[seq] && (!started || seq + NET_REPLAY_WINDOW > top);
		if (fresh) seen[seq] = 1, distinct++;
		if (!started || seq > top) top = seq;
		started = true;
	}
	CHECK(accepted == distinct && accepted + refused == 20000);
}

/* ---- the meeting ---- */

static void test_meeting(void)
{
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .resolve_user = assets_dir};
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	if (!feed) return;
	struct net_receiver *r = net_feed_receiver(feed);
	char port[96];
	addr_text(net_receiver_local(r), port, sizeof(port));
	struct synth_sender senders[MAX_SENDERS];
	bool ok = true;
	for (int i = 0; i < MAX_SENDERS; i++) ok &= sender_create(&senders[i], (uint32_t)i + 1, i, port, NULL, 0);
	CHECK(ok);
	if (!ok) return;
	uint64_t checked = 0, bad = 0, updates = 0;
	/* Until each has 120 frames decoded and 1000 shown codes were checked. */
	double start = cv_time_now();
	for (bool done = false; !done && cv_time_now() - start < SAFETY_S; sleep_ms(2)) {
		for (int i = 0; i < MAX_SENDERS; i++) sender_step(&senders[i]);
		CHECK(feed->update(feed, cv_time_now() - start) == CV_OK);
		updates++;
		check_codes(r, senders, MAX_SENDERS, &checked, &bad);
		done = feed->count == MAX_SENDERS && checked > 1000;
		for (uint32_t i = 0; done && i < feed->count; i++) {
			struct net_participant_stats st;
			done = net_receiver_participant_stats(r, feed->participants[i].id, &st) == CV_OK && st.decoded >= 120;
		}
	}
	CHECK(feed->count == MAX_SENDERS);
	for (uint32_t i = 0; i < feed->count; i++) {
		const struct meet_participant *m = &feed->participants[i];
		struct net_participant_stats st;
		CHECK(net_receiver_participant_stats(r, m->id, &st) == CV_OK);
		char want[32];
		snprintf(want, sizeof(want), "Participant %u", m->id);
		CHECK(!strcmp(m->name, want));
		CHECK_MSG(m->status == MEET_ACTIVE && m->has_frame, "participant %u status %d", m->id, m->status);
		CHECK_MSG(strstr(m->avatar_path, avatar_names[m->id - 1]) != NULL, "avatar path '%s'", m->avatar_path);
		CHECK_MSG(st.decoded > 100 && st.missing == 0 && st.undecodable == 0 && st.rejected == 0,
		          "participant %u: %llu decoded, %llu missing", m->id, (unsigned long long)st.decoded,
		          (unsigned long long)st.missing);
		CHECK(m->bitrate_kbps > 0 && m->loss == 0); /* the rate of the last second: a stalled machine bursts */
		printf("  participant %u: %llu frames decoded, jitter %.2f ms, delay %.1f ms, %.1f kbit/s\n", m->id,
		       (unsigned long long)st.decoded, st.jitter_ms, st.delay_ms, m->bitrate_kbps);
	}
	CHECK_MSG(checked > 1000 && bad == 0, "%llu of %llu shown codes off", (unsigned long long)bad,
	          (unsigned long long)checked);
	struct net_receiver_stats rs;
	net_receiver_stats(r, &rs);
	CHECK(rs.auth_failed == 0 && rs.replayed == 0 && rs.malformed == 0 && rs.unknown_sender == 0);
	/* Clean leave. */
	for (int i = 0; i < MAX_SENDERS; i++) sender_destroy(&senders[i]);
	uint32_t left = 0;
	for (double t0 = cv_time_now(); left < feed->count && cv_time_now() - t0 < SAFETY_S; sleep_ms(1)) {
		CHECK(feed->update(feed, 0) == CV_OK);
		left = 0;
		for (uint32_t i = 0; i < feed->count; i++) left += feed->participants[i].status == MEET_LEFT;
	}
	CHECK(left == MAX_SENDERS);
	printf("  %llu updates, %llu codes checked\n", (unsigned long long)updates, (unsigned long long)checked);
	meet_feed_destroy(&feed);
}

/* ---- the impairment relay ---- */

#define RELAY_QUEUE 8192
struct relay {
	struct net_socket front;                /* senders talk to this */
	struct net_socket back[MAX_SENDERS];    /* one per sender, towards the receiver */
	struct net_addr sender_addr[MAX_SENDERS], receiver;
	int senders;
	uint64_t random;
	double loss, duplicate, reorder, jitter_ms;
	bool impair, outage;
	struct {
		int64_t at;
		int from_back; /* -1: front to a sender; else back socket index to the receiver */
		struct net_addr to;
		size_t size;
		uint8_t data[NET_DATAGRAM_MAX];
	} *queue;
	size_t queued;
	struct { /* everything that passed, both ways, when tape is set */
		bool to_receiver;
		size_t size;
		uint8_t data[NET_DATAGRAM_MAX];
	} *tape;
	size_t taped;
	/* What was done to the senders' frame datagrams and to all their datagrams. */
	uint64_t frames_dropped[MAX_SENDERS], frames_passed[MAX_SENDERS], dropped;
	uint64_t duplicated; /* of the senders' streams only: the receiver's replay windows count those */
};

static double relay_uniform(struct relay *r)
{
	r->random = r->random * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(r->random >> 11) / 9007199254740992.0;
}

static void relay_enqueue(struct relay *r, int from_back, const struct net_addr *to, const uint8_t *data, size_t n,
                          int64_t now)
{
	if (r->queued == RELAY_QUEUE) return;
	double delay = r->impair ? relay_uniform(r) * r->jitter_ms : 0;
	if (r->impair && relay_uniform(r) < r->reorder) delay += 70; /* held back past the next two frames */
	r->queue[r->queued].at = now + (int64_t)(delay * 1000);
	r->queue[r->queued].from_back = from_back;
	r->queue[r->queued].to = *to;
	r->queue[r->queued].size = n;
	memcpy(r->queue[r->queued].data, data, n);
	r->queued++;
}

static void relay_tape(struct relay *r, bool to_receiver, const uint8_t *data, size_t n)
{
	if (!r->tape || r->taped == RELAY_QUEUE) return;
	r->tape[r->taped].to_receiver = to_receiver;
	r->tape[r->taped].size = n;
	memcpy(r->tape[r->taped].data, data, n);
	r->taped++;
}

static void relay_pump(struct relay *r)
{
	uint8_t buf[NET_DATAGRAM_MAX + 1];
	int64_t now = net_now_us();
	for (;;) { /* senders to the receiver */
		size_t n;
		struct net_addr from;
		if (net_socket_recv(&r->front, buf, sizeof(buf), &n, &from, NULL) != CV_OK || !n) break;
		int k = -1;
		for (int i = 0; i < r->senders; i++)
			if (net_addr_equal(&r->sender_addr[i], &from)) k = i;
		if (k < 0) continue;
		bool frame = n > 4 && buf[3] == NET_FRAME;
		if (r->impair && (r->outage || relay_uniform(r) < r->loss)) {
			r->dropped++;
			if (frame) r->frames_dropped[k]++;
			continue;
		}
		if (frame) r->frames_passed[k]++;
		relay_tape(r, true, buf, n);
		relay_enqueue(r, k, &r->receiver, buf, n, now);
		if (r->impair && net_signed_type(buf[3]) && relay_uniform(r) < r->duplicate) {
			r->duplicated++;
			relay_enqueue(r, k, &r->receiver, buf, n, now);
		}
	}
	for (int i = 0; i < r->senders; i++) /* the receiver's HELLOs and key requests back to senders */
		for (;;) {
			size_t n;
			struct net_addr from;
			if (net_socket_recv(&r->back[i], buf, sizeof(buf), &n, &from, NULL) != CV_OK || !n) break;
			if (r->impair && (r->outage || relay_uniform(r) < r->loss)) continue;
			relay_tape(r, false, buf, n);
			relay_enqueue(r, -1, &r->sender_addr[i], buf, n, now);
		}
	size_t kept = 0;
	for (size_t i = 0; i < r->queued; i++) { /* in queue order: without impairment nothing is reordered */
		if (r->queue[i].at > now) {
			if (kept != i) r->queue[kept] = r->queue[i];
			kept++;
			continue;
		}
		struct net_socket *s = r->queue[i].from_back < 0 ? &r->front : &r->back[r->queue[i].from_back];
		net_socket_send(s, &r->queue[i].to, r->queue[i].data, r->queue[i].size);
	}
	r->queued = kept;
}

static void test_impairment(void)
{
	enum { SENDERS = 2 };
	struct relay *relay = calloc(1, sizeof(*relay));
	relay->queue = calloc(RELAY_QUEUE, sizeof(*relay->queue));
	struct net_addr lo;
	CHECK(net_addr_parse("127.0.0.1:0", &lo) == CV_OK);
	CHECK(net_socket_open(&lo, AF_INET, &relay->front) == CV_OK);
	for (int i = 0; i < SENDERS; i++) CHECK(net_socket_open(&lo, AF_INET, &relay->back[i]) == CV_OK);
	relay->senders = SENDERS;
	relay->random = 42;
	relay->loss = 0.10;
	relay->duplicate = 0.05;
	relay->reorder = 0.05;
	relay->jitter_ms = 50;
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .resolve_user = assets_dir};
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	if (!feed) return;
	struct net_receiver *r = net_feed_receiver(feed);
	relay->receiver = *net_receiver_local(r);
	char front[96];
	addr_text(&relay->front.local, front, sizeof(front));
	struct synth_sender senders[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		CHECK(sender_create(&senders[i], (uint32_t)i + 1, i, front, "127.0.0.1:0", 0));
		relay->sender_addr[i] = *net_sender_local(senders[i].net);
	}
	/* Phases counted in frames sent (once the receiver had consented): 30 clean, impaired to frame 255 with an
	 * outage from frame 90 to 150 (and at least 1.5 s, so that it freezes the participants however fast frames
	 * come), clean to frame 270, then until every frame that passed the relay has been released. */
	double outage_started = -1;
	uint64_t decoded_at_outage_end[SENDERS] = {0};
	uint32_t reconnecting_seen = 0, updates_in_outage = 0, frames_in_outage = 0, outage_end_frame = 0;
	int recovered_after = -1; /* frames sent after the outage until both decoded again */
	bool ended = false, drained = false;
	for (double t0 = cv_time_now(); !drained && cv_time_now() - t0 < SAFETY_S; sleep_ms(1)) {
		uint32_t f = senders[0].frames_out;
		bool was_outage = relay->outage;
		relay->impair = f >= 30 && f < 255;
		relay->outage = f >= 90 && (f < 150 || cv_time_now() - outage_started < 1.5);
		if (relay->outage && !was_outage) outage_started = cv_time_now();
		if (f < 270)
			for (int i = 0; i < SENDERS; i++) sender_step(&senders[i]);
		relay_pump(relay);
		CHECK(feed->update(feed, 0) == CV_OK);
		if (relay->outage) {
			updates_in_outage++;
			for (uint32_t i = 0; i < feed->count; i++) {
				frames_in_outage += feed->participants[i].has_frame;
				reconnecting_seen |= (feed->participants[i].status == MEET_RECONNECTING) << i;
			}
		}
		if (was_outage && !relay->outage) {
			ended = true;
			outage_end_frame = f;
			for (int i = 0; i < SENDERS; i++) {
				struct net_participant_stats st;
				net_receiver_participant_stats(r, senders[i].id, &st);
				decoded_at_outage_end[i] = st.decoded;
			}
		}
		bool all = ended && recovered_after < 0;
		drained = f >= 270 && relay->queued == 0;
		for (int i = 0; i < SENDERS; i++) {
			struct net_participant_stats st = {0};
			net_receiver_participant_stats(r, senders[i].id, &st);
			all &= st.decoded > decoded_at_outage_end[i];
			drained &= st.frames == relay->frames_passed[i] &&
			           relay->frames_passed[i] + relay->frames_dropped[i] == senders[i].frames_out &&
			           st.decoded + st.undecodable + st.late + st.rejected == st.frames;
		}
		if (all) recovered_after = (int)(senders[0].frames_out - outage_end_frame);
	}
	struct net_receiver_stats rs;
	net_receiver_stats(r, &rs);
	CHECK(drained && feed->count == SENDERS);
	CHECK_MSG(updates_in_outage > 0 && frames_in_outage == updates_in_outage * SENDERS,
	          "the feed kept showing frames through the outage: %u of %u", frames_in_outage, updates_in_outage * SENDERS);
	CHECK(reconnecting_seen == (1u << SENDERS) - 1);
	/* Recovery: a key frame request goes out at the first loss after the outage, so decoding resumes well within
	 * one key interval (30 frames) plus the jitter delay, the periodic key frame's bound; typically ~6 frames. */
	CHECK_MSG(recovered_after >= 0 && recovered_after < 45, "recovered %d frames after the outage", recovered_after);
	printf("  outage of 60 frames: reconnecting during it, decoding again %d frames after it ended\n", recovered_after);
	for (int i = 0; i < SENDERS; i++) {
		struct net_participant_stats st;
		CHECK(net_receiver_participant_stats(r, senders[i].id, &st) == CV_OK);
		const struct meet_participant *m = &feed->participants[i];
		printf("  participant %u: sent %u, relay dropped %llu frames; received %llu, decoded %llu, missing %llu, "
		       "late %llu, reordered %llu, undecodable %llu, key requests %llu (sender saw %llu), jitter %.1f ms, "
		       "delay %.1f ms, loss %.2f\n", senders[i].id, senders[i].sequence,
		       (unsigned long long)relay->frames_dropped[i], (unsigned long long)st.frames,
		       (unsigned long long)st.decoded, (unsigned long long)st.missing, (unsigned long long)st.late,
		       (unsigned long long)st.reordered, (unsigned long long)st.undecodable,
		       (unsigned long long)st.key_requests, (unsigned long long)senders[i].key_requests, st.jitter_ms,
		       st.delay_ms, m->loss);
		/* What the relay dropped is exactly what the receiver never got: missing at the deadline, less those that
		 * came late, and every frame datagram that passed arrived. */
		CHECK_MSG(st.missing - st.late == relay->frames_dropped[i], "missing %llu - late %llu != dropped %llu",
		          (unsigned long long)st.missing, (unsigned long long)st.late,
		          (unsigned long long)relay->frames_dropped[i]);
		CHECK(st.frames == relay->frames_passed[i] && st.frames + relay->frames_dropped[i] == senders[i].frames_out);
		CHECK(st.decoded + st.undecodable + st.late + st.rejected == st.frames && st.rejected == 0);
		CHECK(st.reordered > 3 && st.key_requests > 0 && senders[i].key_requests > 0);
		CHECK(st.delay_ms > 20 && st.delay_ms <= NET_MAX_DELAY_MS);
		CHECK(m->status == MEET_ACTIVE || m->status == MEET_RECONNECTING); /* the senders have just stopped */
	}
	CHECK_MSG(rs.replayed == relay->duplicated, "replays %llu, duplicated %llu", (unsigned long long)rs.replayed,
	          (unsigned long long)relay->duplicated);
	CHECK(rs.auth_failed == 0 && rs.malformed == 0);
	for (int i = 0; i < SENDERS; i++) sender_destroy(&senders[i]);
	meet_feed_destroy(&feed);
	net_socket_close(&relay->front);
	for (int i = 0; i < SENDERS; i++) net_socket_close(&relay->back[i]);
	free(relay->queue);
	free(relay);
}

/* ---- hostile input, fed straight to a receiver on a virtual clock ---- */

static int64_t virtual_now;
static int64_t virtual_clock(void *user)
{
	(void)user;
	return virtual_now;
}

static enum cv_result stats_resolver(void *user, const struct net_announce *a, struct net_avatar *out)
{
	(void)user;
	const struct avatar_info *av = &avatars[0];
	memset(out, 0, sizeof(*out));
	if (a->latent != av->latent) return CV_ERROR_MISMATCH;
	out->latent = av->latent;
	out->code_mean = malloc(av->latent * sizeof(float));
	out->code_std = malloc(av->latent * sizeof(float));
	memcpy(out->code_mean, av->mean, av->latent * sizeof(float));
	memcpy(out->code_std, av->std_dev, av->latent * sizeof(float));
	strcpy(out->path, "memory");
	return CV_OK;
}

static void test_hostile(void)
{
	struct net_receiver_desc rd = {.meeting = "hostile", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .resolve_avatar = stats_resolver, .clock_us = virtual_clock};
	struct net_receiver *r = NULL;
	CHECK(net_receiver_create(&rd, &r) == CV_OK);
	if (!r) return;
	virtual_now = 1000000;
	struct net_addr from;
	net_addr_parse("127.0.0.1:9", &from);
	uint8_t key[NET_KEY_SIZE], wrong[NET_KEY_SIZE], dg[NET_DATAGRAM_MAX + 64], body[NET_DATAGRAM_MAX];
	net_key_derive(secret, sizeof(secret) - 1, "hostile", key);
	net_key_derive(secret, sizeof(secret) - 1, "another meeting", wrong);
	uint64_t state = 7;
	struct net_receiver_stats s;

	/* Random bytes, some with a valid-looking header. */
	for (int i = 0; i < 20000; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		size_t n = (state >> 33) % (NET_DATAGRAM_MAX + 40);
		for (size_t k = 0; k < n; k++) dg[k] = (uint8_t)((state >> (k % 56)) ^ k * 31);
		if (i % 2 && n >= 4) dg[0] = 'c', dg[1] = 'v', dg[2] = NET_VERSION, dg[3] = (uint8_t)(1 + i % 5);
		net_receiver_input(r, dg, n, &from);
	}
	net_receiver_stats(r, &s);
	CHECK(s.auth_failed + s.malformed == 20000 && s.auth_failed > 5000);

	/* A real stream, but sealed with the wrong key. */
	struct codec_stream_desc sd = {.participant = 5, .avatar = 9, .latent = avatars[0].latent,
	                               .code_mean = avatars[0].mean, .code_std = avatars[0].std_dev};
	struct codec_encoder *enc = NULL;
	CHECK(codec_encoder_create(&sd, &enc) == CV_OK);
	struct codec_synth_desc synth = {.seed = 3, .latent = sd.latent, .code_mean = sd.code_mean, .code_std = sd.code_std};
	uint8_t an_body[NET_DATAGRAM_MAX];
	size_t an_size = announce_for(r, 5, "mallory", sd.latent, an_body);
	uint64_t auth_before = s.auth_failed;
	size_t n = seal_with(wrong, NET_ANNOUNCE, 5, 1, 0, an_body, an_size, dg);
	net_receiver_input(r, dg, n, &from);
	static uint8_t packets[60][2048];
	static size_t packet_sizes[60];
	for (uint32_t i = 0; i < 60; i++) {
		float code[CODEC_MAX_LATENT];
		struct codec_frame f = {0};
		codec_synth_frame(&synth, i / 30.0, code, &f);
		f.participant = 5;
		f.avatar = 9;
		f.sequence = i;
		CHECK(codec_encoder_encode(enc, &f, packets[i], sizeof(packets[i]), &packet_sizes[i]) == CV_OK);
		struct net_fragment fr = {.sender_us = 1000000 + i * 33333, .frame = i, .count = 1,
		                          .packet_size = (uint32_t)packet_sizes[i], .data = packets[i], .size = packet_sizes[i]};
		size_t b = net_fragment_write(&fr, body, sizeof(body));
		n = seal_with(wrong, NET_FRAME, 5, 1, 1 + i, body, b, dg);
		net_receiver_input(r, dg, n, &from);
	}
	net_receiver_stats(r, &s);
	uint32_t count;
	net_receiver_participants(r, &count);
	CHECK(s.auth_failed - auth_before == 61 && count == 0);

	/* Frames with the right key from a sender that never announced. */
	for (uint32_t i = 0; i < 10; i++) {
		struct net_fragment fr = {.sender_us = 1000000 + i * 33333, .frame = i, .count = 1,
		                          .packet_size = (uint32_t)packet_sizes[i], .data = packets[i], .size = packet_sizes[i]};
		size_t b = net_fragment_write(&fr, body, sizeof(body));
		n = seal_with(key, NET_FRAME, 6, 1, i, body, b, dg);
		net_receiver_input(r, dg, n, &from);
	}
	net_receiver_stats(r, &s);
	CHECK(s.unknown_sender == 10);

	/* The real thing: an announce and 60 frames; then every datagram again (replays). */
	static uint8_t sent[61][NET_DATAGRAM_MAX];
	static size_t sent_size[61];
	sent_size[0] = seal_with(key, NET_ANNOUNCE, 5, 1, 0, an_body, an_size, sent[0]);
	for (uint32_t i = 0; i < 60; i++) {
		struct net_fragment fr = {.sender_us = 1000000 + i * 33333, .frame = i, .count = 1,
		                          .packet_size = (uint32_t)packet_sizes[i], .data = packets[i], .size = packet_sizes[i]};
		size_t b = net_fragment_write(&fr, body, sizeof(body));
		sent_size[i + 1] = seal_with(key, NET_FRAME, 5, 1, 1 + i, body, b, sent[i + 1]);
	}
	for (int i = 0; i < 61; i++) {
		net_receiver_input(r, sent[i], sent_size[i], &from);
		virtual_now += 33333;
		CHECK(net_receiver_update(r) == CV_OK);
	}
	virtual_now += 500000;
	CHECK(net_receiver_update(r) == CV_OK);
	struct net_participant_stats ps;
	CHECK(net_receiver_participant_stats(r, 5, &ps) == CV_OK);
	net_receiver_stats(r, &s);
	uint64_t decoded = ps.decoded;
	CHECK_MSG(decoded == 60, "decoded %llu", (unsigned long long)decoded);
	net_receiver_stats(r, &s);
	uint64_t replayed_before = s.replayed;
	for (int i = 0; i < 61; i++) net_receiver_input(r, sent[i], sent_size[i], &from);
	/* An earlier epoch of the same sender is a replay too. */
	n = seal_with(key, NET_ANNOUNCE, 5, 0, 500, an_body, an_size, dg);
	net_receiver_input(r, dg, n, &from);
	CHECK(net_receiver_update(r) == CV_OK);
	net_receiver_stats(r, &s);
	CHECK(net_receiver_participant_stats(r, 5, &ps) == CV_OK);
	CHECK(s.replayed - replayed_before == 62 && ps.decoded == decoded);

	/* Oversized and inconsistent fragments, and a flood of large partial packets: refused or bounded. */
	static uint8_t filler[NET_DATAGRAM_MAX];
	uint64_t seq = 1000, malformed_before = s.malformed;
	struct net_fragment bad[] = {
		{.frame = 100, .index = 0, .count = 1, .packet_size = NET_MAX_MESSAGE + 1, .data = filler, .size = 10},
		{.frame = 100, .index = 3, .count = 3, .packet_size = 3 * NET_FRAGMENT_DATA, .data = filler, .size = NET_FRAGMENT_DATA},
		{.frame = 100, .index = 0, .count = 2, .packet_size = 10, .data = filler, .size = 10},
		{.frame = 100, .index = 0, .count = 1, .packet_size = 0, .data = filler, .size = 0},
		{.frame = 100, .index = 0, .count = 1, .packet_size = 11, .data = filler, .size = 10},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad[i].sender_us = 3000000;
		size_t b = net_fragment_write(&bad[i], body, sizeof(body));
		n = seal_with(key, NET_FRAME, 5, 1, seq++, body, b, dg);
		net_receiver_input(r, dg, n, &from);
	}
	net_receiver_stats(r, &s);
	CHECK(s.malformed - malformed_before == sizeof(bad) / sizeof(bad[0]));
	/* A datagram larger than any we send. */
	net_receiver_input(r, dg, NET_DATAGRAM_MAX + 1, &from);
	for (uint32_t i = 0; i < 5000; i++) {
		struct net_fragment f = {.sender_us = 3000000 + i, .frame = 200 + i, .index = 0, .count = NET_MAX_FRAGMENTS,
		                         .packet_size = NET_MAX_MESSAGE, .data = filler, .size = NET_FRAGMENT_DATA};
		size_t b = net_fragment_write(&f, body, sizeof(body));
		n = seal_with(key, NET_FRAME, 5, 1, seq++, body, b, dg);
		net_receiver_input(r, dg, n, &from);
		/* ... and whole frames far ahead, each a jump the jitter buffer must absorb. */
		struct net_fragment g = {.sender_us = 4000000 + i, .frame = 100000 + i * 3, .count = 1,
		                         .packet_size = NET_FRAGMENT_DATA, .data = filler, .size = NET_FRAGMENT_DATA};
		b = net_fragment_write(&g, body, sizeof(body));
		n = seal_with(key, NET_FRAME, 5, 1, seq++, body, b, dg);
		net_receiver_input(r, dg, n, &from);
	}
	CHECK(net_receiver_update(r) == CV_OK);
	net_receiver_stats(r, &s);
	CHECK(net_receiver_participant_stats(r, 5, &ps) == CV_OK);
	printf("  hostile: %llu auth failures, %llu malformed, %llu replays, %llu unknown, %llu fragments dropped, "
	       "%llu refused by memory bounds; peak buffered %zu bytes\n", (unsigned long long)s.auth_failed,
	       (unsigned long long)s.malformed, (unsigned long long)s.replayed, (unsigned long long)s.unknown_sender,
	       (unsigned long long)s.fragment_dropped, (unsigned long long)s.buffer_full, s.buffered_peak);
	CHECK(s.buffered_peak <= NET_PARTICIPANT_BUFFER && s.fragment_dropped > 4000);
	CHECK(ps.decoded == decoded); /* filler is not a codec packet: refused, never shown */
	/* Time passes: partial packets expire and the memory returns. */
	virtual_now += 10000000;
	CHECK(net_receiver_update(r) == CV_OK);
	net_receiver_stats(r, &s);
	CHECK(s.buffered_bytes == 0);
	codec_encoder_destroy(&enc);
	net_receiver_destroy(&r);
}

/* ---- joining mid-meeting through HELLO, clock offsets, timeouts ---- */

/* The receiver's clock in this test: real time plus what silences skipped, so a silence of seconds passes in
 * 10 ms steps, at once and the same on any machine. */
static int64_t skipped_us;
static int64_t skipping_clock(void *user)
{
	(void)user;
	return net_now_us() + skipped_us;
}

/* Updates the feed until `status` (of the only participant) holds; false at the safety limit. Each step, the
 * sender (may be NULL) takes a step too. */
static bool until_status(struct meet_feed *feed, struct synth_sender *s, enum meet_status status)
{
	for (double t0 = cv_time_now(); cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) {
		if (s) sender_step(s);
		CHECK(feed->update(feed, 0) == CV_OK);
		if (feed->count == 1 && feed->participants[0].status == status) return true;
	}
	return false;
}

static void test_join_and_timeout(void)
{
	/* A sender that knows nobody, its clock 5 s ahead, 20 frames into its run; a receiver that comes later and
	 * says HELLO. */
	struct synth_sender s;
	CHECK(sender_create(&s, 3, 2, NULL, "127.0.0.1:0", 5000000));
	char addr[96];
	addr_text(net_sender_local(s.net), addr, sizeof(addr));
	for (double t0 = cv_time_now(); s.sequence < 20 && cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) sender_step(&s);
	const char *peers[1] = {addr};
	skipped_us = 0;
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .peers = peers, .peer_count = 1, .resolve_user = assets_dir,
	                               .leave_timeout_ms = 2000, .clock_us = skipping_clock};
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	if (!feed) return;
	struct net_receiver *r = net_feed_receiver(feed);
	uint32_t sent_before = s.sequence;
	CHECK(until_status(feed, &s, MEET_ACTIVE));
	struct net_participant_stats st;
	CHECK(net_receiver_participant_stats(r, 3, &st) == CV_OK);
	/* The consent made the sender announce itself and send a key frame at once: the first frame that came was
	 * decodable, none waited for the next periodic key frame. */
	CHECK_MSG(s.key_requests >= 1 && st.key_frames >= 1 && st.undecodable == 0,
	          "%llu key requests, %llu key frames, %llu waiting for one", (unsigned long long)s.key_requests,
	          (unsigned long long)st.key_frames, (unsigned long long)st.undecodable);
	printf("  joined mid-meeting: active %u frames later\n", s.sequence - sent_before);
	/* Ten more frames, for the clock offset: the least arrival-minus-sender time is the sender's 5 s lead. */
	for (uint32_t until = s.sequence + 10; s.sequence < until && until_status(feed, &s, MEET_ACTIVE);) continue;
	CHECK(net_receiver_participant_stats(r, 3, &st) == CV_OK);
	CHECK_MSG(fabs(st.offset_ms + 5000.0) < 20.0, "clock offset %.2f ms (sender 5 s ahead)", st.offset_ms);
	/* The sender goes silent without a goodbye: frozen and reconnecting, then left at the timeout, in receiver
	 * time from the sender's last frame. */
	int64_t last = s.sent_us[(s.sequence - 1) % HISTORY] - s.clock_offset_us + skipped_us;
	double reconnecting_at = -1, left_at = -1;
	uint64_t version_frozen = 0;
	for (int step = 0; step < 400 && left_at < 0; step++) {
		skipped_us += 10000;
		CHECK(feed->update(feed, 0) == CV_OK);
		const struct meet_participant *m = &feed->participants[0];
		double t = (double)(skipping_clock(NULL) - last) / 1e6;
		if (reconnecting_at < 0 && m->status == MEET_RECONNECTING) {
			reconnecting_at = t;
			version_frozen = m->code_version;
			/* The neutral code (the avatar's mean) is what a frozen participant shows. */
			bool neutral = true;
			for (uint32_t i = 0; i < m->code_floats; i++) neutral &= fabsf(m->code[i] - avatar_of(2)->mean[i]) < 1e-5f;
			CHECK(neutral);
		}
		if (m->status == MEET_RECONNECTING) CHECK(m->code_version == version_frozen);
		if (m->status == MEET_LEFT) left_at = t;
	}
	/* Reconnecting after NET_FREEZE_MS plus the jitter delay and a frame; left at the timeout, give or take the
	 * 10 ms steps and an announce after the last frame. */
	CHECK_MSG(reconnecting_at > NET_FREEZE_MS / 1000.0 && reconnecting_at < left_at, "reconnecting after %.3f s",
	          reconnecting_at);
	CHECK_MSG(left_at >= 1.95 && left_at < 2.1, "left after %.3f s", left_at);
	printf("  silent: reconnecting after %.0f ms, left after %.0f ms\n", reconnecting_at * 1000, left_at * 1000);
	/* The same run speaks again: its next announce seats it again, and a key frame request restarts its stream. */
	CHECK_MSG(until_status(feed, &s, MEET_ACTIVE), "back after a timeout: status %d", feed->participants[0].status);
	/* A goodbye is final for that run; a new run (a restart: a new epoch, a new key) is seated again. */
	sender_destroy(&s);
	CHECK(until_status(feed, NULL, MEET_LEFT));
	char receiver[96];
	addr_text(net_receiver_local(r), receiver, sizeof(receiver));
	CHECK(sender_create(&s, 3, 2, receiver, NULL, 0));
	CHECK(until_status(feed, &s, MEET_ACTIVE));
	sender_destroy(&s);
	meet_feed_destroy(&feed);
}

static void test_ipv6(void)
{
	if (!net_ipv6_available()) {
		printf("  skipped: no IPv6 loopback (::1) on this machine\n");
		return;
	}
	/* An IPv6 sender and an IPv4 one to one dual-stack receiver. */
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "[::]:0", .resolve_user = assets_dir};
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	if (!feed) return;
	struct net_receiver *r = net_feed_receiver(feed);
	const struct sockaddr_in6 *local = (const struct sockaddr_in6 *)&net_receiver_local(r)->ss;
	char v6[64], v4[64];
	snprintf(v6, sizeof(v6), "[::1]:%u", ntohs(local->sin6_port));
	snprintf(v4, sizeof(v4), "127.0.0.1:%u", ntohs(local->sin6_port));
	struct synth_sender s[2];
	CHECK(sender_create(&s[0], 1, 0, v6, NULL, 0));
	CHECK(sender_create(&s[1], 2, 1, v4, NULL, 0));
	double start = cv_time_now();
	uint64_t checked = 0, bad = 0;
	/* Until both are active with enough codes checked. */
	for (bool done = false; !done && cv_time_now() - start < SAFETY_S; sleep_ms(2)) {
		for (int i = 0; i < 2; i++) sender_step(&s[i]);
		CHECK(feed->update(feed, 0) == CV_OK);
		check_codes(r, s, 2, &checked, &bad);
		done = feed->count == 2 && checked > 100 && feed->participants[0].status == MEET_ACTIVE &&
		       feed->participants[1].status == MEET_ACTIVE;
	}
	CHECK(feed->count == 2);
	for (uint32_t i = 0; i < feed->count; i++) CHECK(feed->participants[i].status == MEET_ACTIVE);
	CHECK(checked > 100 && bad == 0);
	printf("  IPv6 and IPv4 senders on one dual-stack socket: %llu codes checked\n", (unsigned long long)checked);
	for (int i = 0; i < 2; i++) sender_destroy(&s[i]);
	meet_feed_destroy(&feed);
}

/* The commands: `cavr send --perf` in a child process, `cavr join --no-render --record` here; the recording must
 * hold the participant and its packets. */
static void test_send_join_commands(void)
{
	char dir[200];
	CHECK(test_scratch_dir("cavr-test-net", dir, sizeof(dir)));
	char secret_path[256], record[256], perf[4200], port[32];
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
	snprintf(record, sizeof(record), "%s/received.cavrec", dir);
	snprintf(perf, sizeof(perf), "%s/ana.cavperf", assets_dir);
	CHECK(cv_file_write(secret_path, "a test secret of enough bytes\n", 30) == CV_OK);
	/* A free port: bind one, note it, let it go (loopback, nobody else races for it here). */
	struct net_addr lo;
	struct net_socket probe;
	net_addr_parse("127.0.0.1:0", &lo);
	CHECK(net_socket_open(&lo, AF_INET, &probe) == CV_OK);
	snprintf(port, sizeof(port), "127.0.0.1:%u", ntohs(((struct sockaddr_in *)&probe.local.ss)->sin_port));
	net_socket_close(&probe);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		char *argv[] = {"--meeting", "cli", "--secret-file", secret_path, "--peer", port, "--perf", perf,
		                "--participant", "7", "--name", "Ana live", "--seconds", "2.5", NULL};
		usleep(300000);
		_exit(app_send(14, argv));
	}
	char *argv[] = {"--meeting", "cli", "--secret-file", secret_path, "--listen", port, "--no-render",
	                "--seconds", "8", "--record", record, NULL};
	CHECK(app_join(11, argv) == 0);
	int status = -1;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct session_reader *rd = NULL;
	CHECK(session_reader_open(record, &rd) == CV_OK);
	if (rd) {
		const struct session_participant *p = session_reader_find_participant(rd, 7);
		CHECK(p && !strcmp(p->name, "Ana live") && !strcmp(p->avatar_path, "ana.cavatar"));
		CHECK(p && !memcmp(p->avatar_hash, avatars[0].hash, SESSION_HASH_SIZE));
		struct session_packet pk;
		bool got;
		uint32_t packets = 0, keys = 0;
		while (session_reader_next(rd, &pk, &got) == CV_OK && got) {
			struct codec_packet_info info;
			packets += pk.participant == 7 && codec_packet_parse(pk.data, pk.size, &info) == CV_OK;
			keys += pk.size > 1 && (pk.data[1] & CODEC_PACKET_KEY);
		}
		CHECK_MSG(packets >= 60 && keys >= 1, "%u packets, %u key frames recorded", packets, keys);
		printf("  cavr send --perf to cavr join --record: %u packets recorded\n", packets);
		session_reader_destroy(&rd);
	}
	unlink(secret_path);
	unlink(record);
	rmdir(dir);
}

/* ---- replays and forgeries (issue 14): each of these passed for the attacker before consent, nonces and
 * signatures ---- */

/* What came to a socket: datagrams, bytes, and how many of them were a sender's stream (announces, frames). */
struct tally {
	uint64_t datagrams, bytes, stream;
};

static void tally_drain(struct net_socket *s, struct tally *t)
{
	uint8_t buf[NET_DATAGRAM_MAX + 1];
	for (;;) {
		size_t n;
		struct net_addr from;
		if (net_socket_recv(s, buf, sizeof(buf), &n, &from, NULL) != CV_OK || !n) return;
		t->datagrams++;
		t->bytes += n;
		t->stream += n > 3 && net_signed_type(buf[3]);
	}
}

/* The next datagram to come to `s` (false at the safety limit), the sender polled meanwhile. */
static bool receive_one(struct net_socket *s, struct net_sender *poll, uint8_t *buf, size_t *n)
{
	for (double t0 = cv_time_now(); cv_time_now() - t0 < SAFETY_S; sleep_ms(1)) {
		if (poll) CHECK(net_sender_poll(poll, NULL) == CV_OK);
		struct net_addr from;
		if (net_socket_recv(s, buf, NET_DATAGRAM_MAX + 1, n, &from, NULL) == CV_OK && *n) return true;
	}
	return false;
}

/* Finding 1: a HELLO captured from a receiver that has exited, replayed from an unrelated socket, and fresh HELLOs
 * of 64 members from sockets that never answer: the sender sends none of them its stream (only a challenge of
 * the HELLO's size each), keeps no slot for them, and a real receiver still joins. */
static void test_replayed_hello(void)
{
	struct net_addr lo;
	net_addr_parse("127.0.0.1:0", &lo);
	struct net_socket capture, attacker, members[NET_MAX_DESTINATIONS];
	CHECK(net_socket_open(&lo, AF_INET, &capture) == CV_OK && net_socket_open(&lo, AF_INET, &attacker) == CV_OK);
	char cap[96];
	const char *peers[1] = {addr_text(&capture.local, cap, sizeof(cap))};
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .peers = peers, .peer_count = 1,
	                               .resolve_avatar = net_resolve_avatar_file, .resolve_user = assets_dir};
	struct net_receiver *gone = NULL;
	CHECK(net_receiver_create(&rd, &gone) == CV_OK);
	if (!gone) return;
	uint8_t hello[NET_DATAGRAM_MAX + 1];
	size_t hello_size = 0;
	CHECK(net_receiver_update(gone) == CV_OK); /* says HELLO at once */
	CHECK(receive_one(&capture, NULL, hello, &hello_size) && hello[3] == NET_HELLO);
	net_receiver_destroy(&gone);

	struct synth_sender s;
	CHECK(sender_create(&s, 4, 0, NULL, "127.0.0.1:0", 0));
	const struct net_addr *to = net_sender_local(s.net);
	uint64_t attacker_sent = 0;
	for (int i = 0; i < 3; i++) {
		CHECK(net_socket_send(&attacker, to, hello, hello_size));
		attacker_sent += hello_size;
	}
	uint8_t key[NET_KEY_SIZE], dg[NET_DATAGRAM_MAX];
	net_key_derive(secret, sizeof(secret) - 1, "test meeting", key);
	uint64_t members_sent = 0;
	for (int i = 0; i < NET_MAX_DESTINATIONS; i++) {
		CHECK(net_socket_open(&lo, AF_INET, &members[i]) == CV_OK);
		struct net_handshake hs = {0};
		net_hello_stamp(&hs, net_realtime_us() / 1000);
		uint8_t body[NET_HANDSHAKE_BODY];
		size_t n = seal_with(key, NET_HELLO, 0x90000000u + (uint32_t)i, 1, 0, body,
		                     net_handshake_write(&hs, body, sizeof(body)), dg);
		CHECK(net_socket_send(&members[i], to, dg, n));
		members_sent += n;
	}
	/* Until the sender has taken them all in and sent 60 frames. */
	struct tally at = {0}, them = {0};
	struct net_sender_stats st = {0};
	for (double t0 = cv_time_now(); (s.sequence < 60 || st.hellos < 3 + NET_MAX_DESTINATIONS) &&
	                                cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) {
		sender_step(&s);
		net_sender_stats(s.net, &st);
		tally_drain(&attacker, &at);
		for (int i = 0; i < NET_MAX_DESTINATIONS; i++) tally_drain(&members[i], &them);
	}
	CHECK_MSG(at.stream == 0 && at.bytes <= attacker_sent, "the replayed HELLO drew %llu stream datagrams, %llu "
	          "bytes for %llu sent", (unsigned long long)at.stream, (unsigned long long)at.bytes,
	          (unsigned long long)attacker_sent);
	CHECK_MSG(them.stream == 0 && them.bytes <= members_sent, "%llu stream datagrams to silent members",
	          (unsigned long long)them.stream);
	CHECK_MSG(st.hellos == 3 + NET_MAX_DESTINATIONS && st.destinations == 0, "%u destinations (slots)", st.destinations);
	printf("  replayed HELLO: %llu bytes back for %llu sent, no stream; 64 silent members: no slot\n",
	       (unsigned long long)at.bytes, (unsigned long long)attacker_sent);

	/* A real receiver is not locked out. */
	char addr[96];
	const char *sender_peer[1] = {addr_text(to, addr, sizeof(addr))};
	rd.peers = sender_peer;
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	bool active = false;
	for (double t0 = cv_time_now(); feed && !active && cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) {
		sender_step(&s);
		CHECK(feed->update(feed, 0) == CV_OK);
		active = feed->count == 1 && feed->participants[0].status == MEET_ACTIVE;
	}
	net_sender_stats(s.net, &st);
	CHECK_MSG(active && st.destinations == 1, "a real receiver after the replays: active %d, %u destinations", active,
	          st.destinations);
	meet_feed_destroy(&feed);
	sender_destroy(&s);
	for (int i = 0; i < NET_MAX_DESTINATIONS; i++) net_socket_close(&members[i]);
	net_socket_close(&attacker);
	net_socket_close(&capture);
}

static int64_t sender_now;
static int64_t sender_clock(void *user)
{
	(void)user;
	return sender_now;
}

static void send_handshake(struct net_socket *from, const struct net_addr *to, const uint8_t *key, uint8_t type,
                           uint64_t seq, const uint8_t *cookie, const uint8_t *nonce)
{
	struct net_handshake hs = {0};
	if (cookie) memcpy(hs.cookie, cookie, NET_NONCE_SIZE);
	else net_hello_stamp(&hs, net_realtime_us() / 1000); /* a HELLO sent now */
	if (nonce) memcpy(hs.nonce, nonce, NET_NONCE_SIZE);
	uint8_t body[NET_HANDSHAKE_BODY], dg[NET_DATAGRAM_MAX];
	size_t n = seal_with(key, type, 0x90000001u, 7, seq, body, net_handshake_write(&hs, body, sizeof(body)), dg);
	CHECK(net_socket_send(from, to, dg, n));
}

/* Polls until the sender's stats change in `field` (false at the safety limit). */
#define POLL_UNTIL(sender, st, cond)                                                                        \
	do {                                                                                                    \
		for (double t0_ = cv_time_now(); cv_time_now() - t0_ < SAFETY_S; sleep_ms(1)) {                     \
			CHECK(net_sender_poll(sender, NULL) == CV_OK);                                                  \
			net_sender_stats(sender, &(st));                                                                \
			if (cond) break;                                                                                \
		}                                                                                                   \
		CHECK(cond);                                                                                        \
	} while (0)

/* The handshake by hand against a sender on a virtual clock: an old HELLO draws nothing; a cookie answered from
 * another address, or too late, is refused; the right answer makes a destination that gets announces answering its nonce and signed
 * frames, until its consent expires. */
static void test_consent(void)
{
	sender_now = 1000000000;
	struct net_sender_desc d = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                            .listen = "127.0.0.1:0", .participant = 9, .name = "nine", .avatar_file = "ana.cavatar",
	                            .avatar = 9, .latent = 16, .clock_us = sender_clock};
	struct net_sender *s = NULL;
	CHECK(net_sender_create(&d, &s) == CV_OK);
	if (!s) return;
	struct net_addr lo;
	net_addr_parse("127.0.0.1:0", &lo);
	struct net_socket rx, other;
	CHECK(net_socket_open(&lo, AF_INET, &rx) == CV_OK && net_socket_open(&lo, AF_INET, &other) == CV_OK);
	const struct net_addr *to = net_sender_local(s);
	uint8_t key[NET_KEY_SIZE], in[NET_DATAGRAM_MAX + 1], body[NET_DATAGRAM_MAX], nonce[NET_NONCE_SIZE];
	net_key_derive(secret, sizeof(secret) - 1, "test meeting", key);
	randombytes_buf(nonce, sizeof(nonce));
	struct net_sender_stats st;
	struct net_header h;
	size_t n, m;

	/* A HELLO sent two minutes ago (a capture of a receiver long gone) draws nothing at all. */
	struct net_handshake old_hello = {0};
	net_hello_stamp(&old_hello, net_realtime_us() / 1000 - 2 * NET_HELLO_WINDOW_MS);
	send_handshake(&rx, to, key, NET_HELLO, 1, old_hello.cookie, nonce);
	POLL_UNTIL(s, st, st.stale_hellos == 1);
	struct tally t = {0};
	tally_drain(&rx, &t); /* loopback delivers as it sends: an answer would be here by now */
	CHECK(t.datagrams == 0 && st.hellos == 0 && st.challenges == 0);
	send_handshake(&rx, to, key, NET_HELLO, 2, NULL, nonce);
	CHECK(receive_one(&rx, s, in, &n) && n == 72 && in[3] == NET_CHALLENGE);
	CHECK(net_open(key, in, n, &h, body, &m) == CV_OK && h.sender == 9);
	struct net_handshake challenge;
	CHECK(net_handshake_parse(body, m, &challenge) == CV_OK);
	/* Someone else answers with it: refused (the cookie is the address's). */
	send_handshake(&other, to, key, NET_CONSENT, 3, challenge.cookie, nonce);
	POLL_UNTIL(s, st, st.refused == 1);
	CHECK(st.destinations == 0 && st.consents == 0);
	/* The right answer: a destination, announced to at once with our nonce and the sender's key. */
	send_handshake(&rx, to, key, NET_CONSENT, 4, challenge.cookie, nonce);
	POLL_UNTIL(s, st, st.consents == 1);
	CHECK(st.destinations == 1);
	struct net_announce an;
	CHECK(receive_one(&rx, s, in, &n) && in[3] == NET_ANNOUNCE);
	CHECK(net_open(key, in, n, &h, body, &m) == CV_OK && net_announce_parse(body, m, &an) == CV_OK);
	CHECK(!memcmp(an.nonce, nonce, NET_NONCE_SIZE) && net_verify(an.sign_key, in, n));
	/* The same answer again (a replay) is refused. */
	send_handshake(&rx, to, key, NET_CONSENT, 4, challenge.cookie, nonce);
	POLL_UNTIL(s, st, st.rejected == 1);
	CHECK(net_sender_send(s, "abc", 3, -1) == CV_OK);
	CHECK(receive_one(&rx, s, in, &n) && in[3] == NET_FRAME && net_verify(an.sign_key, in, n));
	/* Silence past the consent lifetime: dropped; frames go nowhere. What comes next is the answer to a new
	 * HELLO (loopback keeps one sender's order), not a frame. */
	sender_now += NET_CONSENT_MS * 1000 + 1;
	POLL_UNTIL(s, st, st.destinations == 0);
	tally_drain(&rx, &t); /* the probe that renewed nothing */
	CHECK(net_sender_send(s, "abc", 3, -1) == CV_OK);
	send_handshake(&rx, to, key, NET_HELLO, 5, NULL, nonce);
	CHECK(receive_one(&rx, s, in, &n) && in[3] == NET_CHALLENGE);
	/* A cookie two buckets old is refused. */
	sender_now += 2 * NET_COOKIE_MS * 1000;
	send_handshake(&rx, to, key, NET_CONSENT, 6, challenge.cookie, nonce);
	POLL_UNTIL(s, st, st.refused == 2);
	CHECK(st.destinations == 0);
	net_sender_destroy(&s);
	net_socket_close(&rx);
	net_socket_close(&other);
}

/* Finding 2: a meeting recorded off the wire (both directions) by a relay in the middle, replayed without its
 * goodbyes: the senders' part into a new receiver seats nobody; the receiver's part (consents, key requests)
 * into a new sender from another socket gets no stream and no destination. */
static void test_replayed_session(void)
{
	struct relay *relay = calloc(1, sizeof(*relay));
	relay->queue = calloc(RELAY_QUEUE, sizeof(*relay->queue));
	relay->tape = calloc(RELAY_QUEUE, sizeof(*relay->tape));
	struct net_addr lo;
	net_addr_parse("127.0.0.1:0", &lo);
	CHECK(net_socket_open(&lo, AF_INET, &relay->front) == CV_OK && net_socket_open(&lo, AF_INET, &relay->back[0]) == CV_OK);
	relay->senders = 1;
	struct net_receiver_desc rd = {.meeting = "test meeting", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .resolve_user = assets_dir};
	struct meet_feed *feed = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	if (!feed) return;
	struct net_receiver *r = net_feed_receiver(feed);
	relay->receiver = *net_receiver_local(r);
	char front[96];
	struct synth_sender s;
	CHECK(sender_create(&s, 2, 1, addr_text(&relay->front.local, front, sizeof(front)), "127.0.0.1:0", 0));
	relay->sender_addr[0] = *net_sender_local(s.net);
	struct net_participant_stats ps = {0};
	for (double t0 = cv_time_now(); ps.decoded < 60 && cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) {
		sender_step(&s);
		relay_pump(relay);
		CHECK(feed->update(feed, 0) == CV_OK);
		net_receiver_participant_stats(r, 2, &ps);
	}
	CHECK(ps.decoded >= 60);
	sender_destroy(&s);
	meet_feed_destroy(&feed);

	rd.listen = NULL;
	rd.resolve_avatar = net_resolve_avatar_file;
	struct net_receiver *fresh = NULL;
	CHECK(net_receiver_create(&rd, &fresh) == CV_OK);
	struct net_addr from = relay->back[0].local;
	uint32_t replayed = 0;
	for (size_t i = 0; fresh && i < relay->taped; i++) {
		if (!relay->tape[i].to_receiver || relay->tape[i].data[3] == NET_LEAVE) continue;
		net_receiver_input(fresh, relay->tape[i].data, relay->tape[i].size, &from);
		CHECK(net_receiver_update(fresh) == CV_OK);
		replayed++;
	}
	uint32_t count = 0;
	struct net_receiver_stats rs = {0};
	if (fresh) {
		net_receiver_participants(fresh, &count);
		net_receiver_stats(fresh, &rs);
	}
	CHECK_MSG(count == 0 && rs.stale > 0, "a replayed session of %u datagrams seated %u participants", replayed, count);
	printf("  a replayed session (%u datagrams) into a new receiver: %u participants, %llu stale\n", replayed, count,
	       (unsigned long long)rs.stale);
	net_receiver_destroy(&fresh);

	struct synth_sender s2;
	CHECK(sender_create(&s2, 2, 1, NULL, "127.0.0.1:0", 0));
	struct net_socket attacker;
	CHECK(net_socket_open(&lo, AF_INET, &attacker) == CV_OK);
	uint64_t sent = 0;
	uint32_t answers = 0;
	for (size_t i = 0; i < relay->taped; i++) {
		if (relay->tape[i].to_receiver) continue;
		CHECK(net_socket_send(&attacker, net_sender_local(s2.net), relay->tape[i].data, relay->tape[i].size));
		sent += relay->tape[i].size;
		answers++;
	}
	struct tally t = {0};
	struct net_sender_stats st = {0};
	for (double t0 = cv_time_now(); (s2.sequence < 60 || st.rejected + st.refused + st.hellos < answers) &&
	                                cv_time_now() - t0 < SAFETY_S; sleep_ms(2)) {
		sender_step(&s2);
		net_sender_stats(s2.net, &st);
		tally_drain(&attacker, &t);
	}
	CHECK_MSG(answers > 0 && t.stream == 0 && t.bytes <= sent && st.destinations == 0,
	          "%u replayed answers drew %llu stream datagrams, %u destinations", answers,
	          (unsigned long long)t.stream, st.destinations);
	sender_destroy(&s2);
	net_socket_close(&attacker);
	net_socket_close(&relay->front);
	net_socket_close(&relay->back[0]);
	free(relay->tape);
	free(relay->queue);
	free(relay);
}

/* Minor finding and per-sender authenticity: member 6 speaks as member 5 (frames far ahead, which made 5's
 * 'missing' count billions, a goodbye, announces of 5's epoch and a new one under another name), each with its
 * own key: all refused as forged, and 5's stream, name and statistics go on untouched. */
static void test_forged_member(void)
{
	struct net_receiver_desc rd = {.meeting = "hostile", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .resolve_avatar = stats_resolver, .clock_us = virtual_clock};
	virtual_now = 1000000;
	struct net_receiver *r = NULL;
	CHECK(net_receiver_create(&rd, &r) == CV_OK);
	if (!r) return;
	struct net_addr from;
	net_addr_parse("127.0.0.1:9", &from);
	uint8_t key[NET_KEY_SIZE], dg[NET_DATAGRAM_MAX], body[NET_DATAGRAM_MAX], packet[2048];
	net_key_derive(secret, sizeof(secret) - 1, "hostile", key);
	struct codec_stream_desc sd = {.participant = 5, .avatar = 9, .latent = avatars[0].latent,
	                               .code_mean = avatars[0].mean, .code_std = avatars[0].std_dev};
	struct codec_encoder *enc = NULL;
	CHECK(codec_encoder_create(&sd, &enc) == CV_OK);
	struct codec_synth_desc synth = {.seed = 3, .latent = sd.latent, .code_mean = sd.code_mean, .code_std = sd.code_std};
	size_t n = seal_with(key, NET_ANNOUNCE, 5, 1, 0, body, announce_for(r, 5, "Ana", sd.latent, body), dg);
	net_receiver_input(r, dg, n, &from);
	uint64_t seq = 1;
	for (uint32_t i = 0; i < 60; i++) {
		if (i == 30) {
			/* Member 6, as 5. */
			for (uint32_t k = 0; k < 10; k++) {
				struct net_fragment f = {.sender_us = 2000000, .frame = 30 + 0x7fffff00u * (k + 1), .count = 1,
				                         .packet_size = 3, .data = (const uint8_t *)"abc", .size = 3};
				n = seal_signed(key, 6, NET_FRAME, 5, 1, 5000 + k, body, net_fragment_write(&f, body, sizeof(body)), dg);
				net_receiver_input(r, dg, n, &from);
			}
			n = seal_signed(key, 6, NET_LEAVE, 5, 1, 6000, body, 0, dg);
			net_receiver_input(r, dg, n, &from);
			n = seal_signed(key, 6, NET_ANNOUNCE, 5, 1, 6001, body, announce_for(r, 6, "Mallory", sd.latent, body), dg);
			net_receiver_input(r, dg, n, &from);
			n = seal_signed(key, 6, NET_ANNOUNCE, 5, 2, 0, body, announce_for(r, 6, "Mallory", sd.latent, body), dg);
			net_receiver_input(r, dg, n, &from);
			CHECK(net_receiver_update(r) == CV_OK);
		}
		float code[CODEC_MAX_LATENT];
		struct codec_frame f = {.participant = 5, .avatar = 9, .sequence = i};
		codec_synth_frame(&synth, i / 30.0, code, &f);
		size_t size;
		CHECK(codec_encoder_encode(enc, &f, packet, sizeof(packet), &size) == CV_OK);
		struct net_fragment fr = {.sender_us = 1000000 + i * 33333, .frame = i, .count = 1, .packet_size = (uint32_t)size,
		                          .data = packet, .size = size};
		n = seal_with(key, NET_FRAME, 5, 1, seq++, body, net_fragment_write(&fr, body, sizeof(body)), dg);
		net_receiver_input(r, dg, n, &from);
		virtual_now += 33333;
		CHECK(net_receiver_update(r) == CV_OK);
	}
	virtual_now += 500000;
	CHECK(net_receiver_update(r) == CV_OK);
	struct net_receiver_stats rs;
	net_receiver_stats(r, &rs);
	struct net_participant_stats ps = {0};
	uint32_t count;
	struct meet_participant *parts = net_receiver_participants(r, &count);
	CHECK(net_receiver_participant_stats(r, 5, &ps) == CV_OK);
	CHECK_MSG(rs.forged == 13, "%llu forged", (unsigned long long)rs.forged);
	CHECK_MSG(count == 1 && !strcmp(parts[0].name, "Ana") && parts[0].status == MEET_ACTIVE,
	          "participant 5 after the forgeries: '%s', status %d", count ? parts[0].name : "", count ? (int)parts[0].status : -1);
	CHECK_MSG(ps.decoded == 60 && ps.missing == 0 && ps.frames == 60, "participant 5: %llu decoded, %llu missing",
	          (unsigned long long)ps.decoded, (unsigned long long)ps.missing);
	codec_encoder_destroy(&enc);
	net_receiver_destroy(&r);
}

/* ---- live poses at a display time, against the same recording played back ---- */

/* The angle between two rotations (unit quaternions): |a - b| = 2 sin(angle / 4) on the shorter arc, which unlike
 * acos of the dot product stays exact near 0. */
static double rotation_angle(const float a[4], const float b[4])
{
	double dot = 0, d = 0;
	for (int i = 0; i < 4; i++) dot += (double)a[i] * b[i];
	for (int i = 0; i < 4; i++) d += pow(a[i] - (dot < 0 ? -1.0 : 1.0) * b[i], 2);
	d = sqrt(d) / 2;
	return 4.0 * asin(d < 1.0 ? d : 1.0);
}

/* How far a live head (and hands) is from the played-back one, in units of the codec's error bounds (codec.h):
 * <= 1 is within them. */
static double pose_error(const struct meet_participant *live, const struct meet_participant *pb)
{
	double e = 0;
	for (int k = 0; k < 3; k++)
		e = fmax(e, fabs((double)live->head.position[k] - pb->head.position[k]) / CODEC_HEAD_POSITION_STEP * 2);
	double angle = rotation_angle(live->head.orientation, pb->head.orientation);
	e = fmax(e, angle / (sqrt(3.0) / 2 * CODEC_HEAD_ROTATION_STEP));
	for (int h = 0; h < 2; h++) {
		if (live->hands[h].tracked != pb->hands[h].tracked) return INFINITY;
		if (!live->hands[h].tracked) continue;
		for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
			const struct codec_joint *a = &live->hands[h].joints[j], *b = &pb->hands[h].joints[j];
			if (a->flags != b->flags) return INFINITY;
			e = fmax(e, fabs((double)a->radius - b->radius) / (CODEC_RADIUS_STEP / 2));
		}
	}
	return e * (1.0 - 1e-4); /* float rounding */
}

/* A recording sent through a real sender and receiver on loopback, both on virtual clocks (the sender's is the
 * recording's, the receiver's that plus 7 s): the live participant's pose at display times around the receiver's
 * now (40 ms before it to 10 ms after) is the recording played back at the sender time that display time maps
 * to, within the codec's bounds. Fed one display time but showing another (e.g. ignoring it and showing "now"),
 * the head is off by the motion in between. */
static void test_display_time(void)
{
	char dir[4200], path[4300], avatar[SESSION_MAX_PATH + 1];
	snprintf(dir, sizeof(dir), "%s/sessions", assets_dir);
	snprintf(path, sizeof(path), "%s/ana.cavrec", dir);
	struct session_reader *rec = NULL;
	CHECK(session_reader_open(path, &rec) == CV_OK);
	if (!rec) return;
	struct session_info info;
	session_reader_info(rec, &info);
	const struct session_participant *sp = session_reader_participant(rec, 0);
	CHECK(meet_find_avatar(dir, sp->avatar_path, sp->avatar_hash, avatar, sizeof(avatar)) == CV_OK);
	struct avatar_file *af = NULL;
	CHECK(avatar_file_open(avatar, &af) == CV_OK);
	uint32_t latent = af ? avatar_latent_size(af) : 0, stream_avatar = 0;
	avatar_file_destroy(&af);
	struct session_packet pkt;
	bool got = false;
	while (!stream_avatar && session_reader_next(rec, &pkt, &got) == CV_OK && got) {
		struct codec_packet_info pi;
		if (pkt.participant == sp->id && codec_packet_parse(pkt.data, pkt.size, &pi) == CV_OK &&
		    (pi.flags & CODEC_PACKET_KEY))
			stream_avatar = pi.avatar;
	}
	CHECK(stream_avatar != 0 && session_reader_seek(rec, info.start_us) == CV_OK);

	const int64_t offset = 7000000;
	sender_now = info.start_us;
	virtual_now = info.start_us + offset;
	struct net_sender_desc sd = {.meeting = "display time", .secret = secret, .secret_size = sizeof(secret) - 1,
	                             .listen = "127.0.0.1:0", .participant = sp->id, .name = "recorded",
	                             .avatar_file = sp->avatar_path, .avatar = stream_avatar, .latent = latent,
	                             .clock_us = sender_clock};
	memcpy(sd.avatar_hash, sp->avatar_hash, SESSION_HASH_SIZE);
	struct net_sender *sender = NULL;
	CHECK(net_sender_create(&sd, &sender) == CV_OK);
	if (!sender) {
		session_reader_destroy(&rec);
		return;
	}
	char addr[96];
	addr_text(net_sender_local(sender), addr, sizeof(addr));
	const char *peers[1] = {addr};
	struct net_receiver_desc rd = {.meeting = "display time", .secret = secret, .secret_size = sizeof(secret) - 1,
	                               .listen = "127.0.0.1:0", .peers = peers, .peer_count = 1, .resolve_user = dir,
	                               .clock_us = virtual_clock, .fixed_delay_ms = 40};
	struct meet_feed *feed = NULL, *pb = NULL;
	CHECK(net_feed_create(&rd, &feed) == CV_OK);
	CHECK(meet_playback_create(path, NULL, &pb) == CV_OK);
	bool key = false;
	/* Consent and the announce (time_s 0: now). */
	for (double t0 = cv_time_now(); feed && feed->count == 0 && cv_time_now() - t0 < SAFETY_S; sleep_ms(1)) {
		CHECK(net_sender_poll(sender, &key) == CV_OK);
		CHECK(feed->update(feed, 0) == CV_OK);
	}
	CHECK(feed && feed->count == 1 && pb);
	/* The display clock is tied to the receiver's at the first positive display time: this one is now. */
	double display_s = (double)virtual_now / 1e6;
	if (feed) CHECK(feed->update(feed, display_s) == CV_OK);
	struct net_receiver *r = net_feed_receiver(feed);
	static const int64_t ds[] = {-40000, -20000, 0, 10000};
	uint32_t sent = 0, compared = 0, off = 0;
	uint32_t wrong = 0;
	double worst = 0, moved = 0;
	while (r && pb && sent < 240 && session_reader_next(rec, &pkt, &got) == CV_OK && got) {
		if (pkt.participant != sp->id) continue;
		sender_now = pkt.time_us;
		virtual_now = pkt.time_us + offset; /* arrives at once: the clock offset is exactly `offset` */
		CHECK(net_sender_send(sender, pkt.data, pkt.size, pkt.time_us) == CV_OK);
		sent++;
		struct net_participant_stats st = {0};
		for (double t0 = cv_time_now(); st.frames < sent && cv_time_now() - t0 < SAFETY_S; sleep_ms(0.2)) {
			CHECK(net_sender_poll(sender, &key) == CV_OK);
			CHECK(feed->update(feed, display_s) == CV_OK); /* not backwards from the last display time */
			CHECK(net_receiver_participant_stats(r, sp->id, &st) == CV_OK);
		}
		CHECK_MSG(st.frames == sent, "%llu of %u frames arrived", (unsigned long long)st.frames, sent);
		if (sent % 3 || st.decoded < 5) continue; /* the receiver keeps the last 4 frames (meet/stream.h) */
		/* 20 ms after the arrival (the frame before is released by then), display times around now. */
		virtual_now += 20000;
		struct meet_participant live[4];
		int64_t shown[4];
		for (int i = 0; i < 4; i++) {
			display_s = (double)(virtual_now + ds[i]) / 1e6;
			CHECK(feed->update(feed, display_s) == CV_OK);
			CHECK(net_receiver_participant_stats(r, sp->id, &st) == CV_OK);
			live[i] = feed->participants[0];
			shown[i] = st.display_sender_us;
		}
		for (int i = 0; i < 4; i++) {
			/* The sender time display time now + d maps to: the one now maps to, plus d. */
			int64_t want = shown[2] + ds[i];
			double at_s = (double)(want + MEET_PLAYBACK_DELAY_US - info.start_us) / 1e6; /* shows `want` */
			CHECK(pb->update(pb, at_s) == CV_OK);
			const struct meet_participant *p = &pb->participants[0];
			if (!live[i].has_frame || live[i].status != MEET_ACTIVE || !p->has_frame) continue;
			double e = pose_error(&live[i], p);
			compared++;
			off += !(e <= 1.0);
			worst = fmax(worst, e);
			/* The check can tell: a display time 10 ms off would show this far from the recording. */
			CHECK(pb->update(pb, at_s + 0.010) == CV_OK);
			double e10 = pose_error(&live[i], &pb->participants[0]);
			wrong += !(e10 <= 1.0);
			moved = fmax(moved, e10);
			if (!(e <= 1.0) && off <= 3)
				printf("  display time now%+.0f ms: live shows sender time %+.1f ms from the expected, "
				       "pose %.1f x the codec's bound off\n", ds[i] / 1e3, (shown[i] - want) / 1e3, e);
		}
	}
	printf("  %u frames sent, %u poses compared: %u outside the codec's bounds (worst %.3f x the bound); against "
	       "the recording 10 ms later %u would be (worst %.0f x)\n", sent, compared, off, worst, wrong, moved);
	CHECK(sent >= 200 && compared >= 200);
	CHECK_MSG(off == 0, "%u of %u live poses differ from playback at their display time", off, compared);
	CHECK(wrong > compared / 2);
	meet_feed_destroy(&pb);
	meet_feed_destroy(&feed);
	net_sender_destroy(&sender);
	session_reader_destroy(&rec);
}

int main(void)
{
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(assets_dir, sizeof(assets_dir), "%s/assets", src ? src : ".");
	bool ok = load_avatar("ana.cavatar", &avatars[0]) && load_avatar("kofi.cavatar", &avatars[1]) &&
	          load_avatar("ines.cavatar", &avatars[2]);
	CHECK_MSG(ok, "the sample avatars in %s", assets_dir);
	if (!ok) return test_finish();
	cv_log_set_level(CV_LOG_WARN);
	RUN(test_seal_and_parse);
	RUN(test_replay_window);
	RUN(test_hostile);
	RUN(test_meeting);
	RUN(test_join_and_timeout);
	RUN(test_impairment);
	RUN(test_ipv6);
	RUN(test_send_join_commands);
	RUN(test_replayed_hello);
	RUN(test_consent);
	RUN(test_replayed_session);
	RUN(test_forged_member);
	RUN(test_display_time);
	return test_finish();
}
