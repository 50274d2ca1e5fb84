/* `cavr bench net`: what the network path costs. Added latency: one synthetic participant streamed over loopback
 * through a relay that delays each datagram by a uniform random 0..J ms, measured from the sender's send call to
 * the first receiver update that shows the frame (its sender time reached by the display point). Receiver CPU:
 * N synthetic participants at 30 Hz into one receiver updated at 90 Hz, its thread's CPU time inside update.
 * Everything runs in one thread on this machine; senders' encoding is not counted against the receiver. Last, what
 * the per-sender Ed25519 signatures cost per datagram. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app/app.h"
#include "app/commands.h"
#include "app/net_cli.h"
#include "codec/codec.h"
#include "net/net.h"

#define FPS 30
#define MAX_N 256
static const char bench_secret[] = "benchmark secret, not for meetings";

struct bench_args {
	double seconds;
	uint32_t latent;
	uint32_t jitters[8], jitter_n;
	uint32_t counts[8], count_n;
};

static float *bench_mean, *bench_std;

static enum cv_result memory_resolver(void *user, const struct net_announce *a, struct net_avatar *out)
{
	uint32_t latent = *(const uint32_t *)user;
	memset(out, 0, sizeof(*out));
	if (a->latent != latent) return CV_ERROR_MISMATCH;
	out->latent = latent;
	out->code_mean = malloc(latent * sizeof(float));
	out->code_std = malloc(latent * sizeof(float));
	if (!out->code_mean || !out->code_std) return CV_ERROR_OUT_OF_MEMORY;
	memcpy(out->code_mean, bench_mean, latent * sizeof(float));
	memcpy(out->code_std, bench_std, latent * sizeof(float));
	snprintf(out->path, sizeof(out->path), "synthetic");
	return CV_OK;
}

static void sleep_us(int64_t us)
{
	if (us <= 0) return;
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct sender {
	struct net_sender *net;
	struct codec_encoder *enc;
	struct codec_synth_desc synth;
	uint32_t id, sequence;
	int64_t start_us;
	float *code;
	uint8_t packet[65536];
};

static enum cv_result sender_create(struct sender *s, uint32_t id, uint32_t latent, const char *peer, int64_t start)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->start_us = start;
	const char *peers[1] = {peer};
	char name[32];
	snprintf(name, sizeof(name), "bench %u", id);
	struct net_sender_desc d = {.meeting = "bench", .secret = bench_secret, .secret_size = sizeof(bench_secret) - 1,
	                            .listen = "127.0.0.1:0", .peers = peers, .peer_count = 1, .participant = id,
	                            .name = name, .avatar_file = "synthetic.cavatar", .avatar = id, .latent = latent};
	struct codec_stream_desc sd = {.participant = id, .avatar = id, .latent = latent, .code_mean = bench_mean,
	                               .code_std = bench_std};
	s->synth = (struct codec_synth_desc){.seed = id, .latent = latent, .code_mean = bench_mean, .code_std = bench_std,
	                                     .hands = true, .gaze = true, .audio = true};
	s->code = malloc(latent * sizeof(float));
	if (!s->code) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench");
	CV_TRY(net_sender_create(&d, &s->net));
	return codec_encoder_create(&sd, &s->enc);
}

static void sender_destroy(struct sender *s)
{
	net_sender_destroy(&s->net);
	codec_encoder_destroy(&s->enc);
	free(s->code);
}

/* Sends what is due; returns the sender time of the last frame sent, or -1. */
static enum cv_result sender_step(struct sender *s, int64_t *sent_us)
{
	bool key = false;
	CV_TRY(net_sender_poll(s->net, &key));
	if (key) codec_encoder_force_key(s->enc);
	*sent_us = -1;
	int64_t now = net_now_us();
	while (s->start_us + (int64_t)s->sequence * 1000000 / FPS <= now) {
		struct codec_frame f = {0};
		codec_synth_frame(&s->synth, (double)s->sequence / FPS, s->code, &f);
		f.participant = f.avatar = s->id;
		f.sequence = s->sequence++;
		size_t n;
		CV_TRY(codec_encoder_encode(s->enc, &f, s->packet, sizeof(s->packet), &n));
		*sent_us = net_now_us();
		CV_TRY(net_sender_send(s->net, s->packet, n, *sent_us));
	}
	return CV_OK;
}

/* ---- latency against jitter ---- */

#define QUEUE 4096
struct relay {
	struct net_socket front, back;
	struct net_addr sender, receiver;
	bool have_sender;
	uint64_t random;
	double jitter_us;
	struct {
		int64_t at;
		size_t size;
		uint8_t data[NET_DATAGRAM_MAX];
	} *queue;
	size_t queued;
};

static void relay_pump(struct relay *r)
{
	uint8_t buf[NET_DATAGRAM_MAX + 1];
	int64_t now = net_now_us();
	for (;;) {
		size_t n;
		struct net_addr from;
		if (net_socket_recv(&r->front, buf, sizeof(buf), &n, &from, NULL) != CV_OK || !n) break;
		r->sender = from;
		r->have_sender = true;
		if (r->queued == QUEUE) continue;
		r->random = r->random * 6364136223846793005ull + 1442695040888963407ull;
		double u = (double)(r->random >> 11) / 9007199254740992.0;
		r->queue[r->queued].at = now + (int64_t)(u * r->jitter_us);
		r->queue[r->queued].size = n;
		memcpy(r->queue[r->queued].data, buf, n);
		r->queued++;
	}
	for (;;) { /* key frame requests back, undelayed */
		size_t n;
		struct net_addr from;
		if (net_socket_recv(&r->back, buf, sizeof(buf), &n, &from, NULL) != CV_OK || !n) break;
		if (r->have_sender) net_socket_send(&r->front, &r->sender, buf, n);
	}
	size_t kept = 0;
	for (size_t i = 0; i < r->queued; i++) {
		if (r->queue[i].at > now) {
			if (kept != i) r->queue[kept] = r->queue[i];
			kept++;
		} else
			net_socket_send(&r->back, &r->receiver, r->queue[i].data, r->queue[i].size);
	}
	r->queued = kept;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static enum cv_result latency_run(const struct bench_args *a, uint32_t jitter_ms)
{
	struct relay *relay = calloc(1, sizeof(*relay));
	if (!relay || !(relay->queue = calloc(QUEUE, sizeof(*relay->queue)))) {
		if (relay) free(relay);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench relay");
	}
	relay->random = 7 + jitter_ms;
	relay->jitter_us = jitter_ms * 1000.0;
	struct net_addr lo;
	net_addr_parse("127.0.0.1:0", &lo);
	enum cv_result r = net_socket_open(&lo, AF_INET, &relay->front);
	if (r == CV_OK) r = net_socket_open(&lo, AF_INET, &relay->back);
	uint32_t latent = a->latent;
	struct net_receiver_desc rd = {.meeting = "bench", .secret = bench_secret, .secret_size = sizeof(bench_secret) - 1,
	                               .listen = "127.0.0.1:0", .resolve_avatar = memory_resolver, .resolve_user = &latent};
	struct net_receiver *recv = NULL;
	if (r == CV_OK) r = net_receiver_create(&rd, &recv);
	struct sender s = {0};
	char front[96];
	if (r == CV_OK) {
		relay->receiver = *net_receiver_local(recv);
		net_addr_format(&relay->front.local, front, sizeof(front));
		r = sender_create(&s, 1, latent, front, net_now_us());
	}
	uint32_t frames = (uint32_t)(a->seconds * FPS) + 8;
	int64_t *sent = calloc(frames, sizeof(int64_t));
	double *latency = calloc(frames, sizeof(double)), *code_latency = calloc(frames, sizeof(double));
	uint32_t shown = 0, measured = 0, code_shown = 0;
	if (r == CV_OK && (!sent || !latency || !code_latency)) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench");
	double start = cv_time_now(), warmup = 2.0;
	while (r == CV_OK && cv_time_now() - start < a->seconds + warmup + 1.0) {
		int64_t sent_us;
		bool sending = cv_time_now() - start < a->seconds + warmup;
		if (sending) r = sender_step(&s, &sent_us);
		if (r == CV_OK && sending && sent_us >= 0 && s.sequence - 1 < frames + (uint32_t)(warmup * FPS)) {
			uint32_t i = s.sequence - 1;
			if (i >= (uint32_t)(warmup * FPS) && i - (uint32_t)(warmup * FPS) < frames)
				sent[i - (uint32_t)(warmup * FPS)] = sent_us;
		}
		relay_pump(relay);
		if (r == CV_OK) r = net_receiver_update(recv);
		struct net_participant_stats st;
		if (r == CV_OK && net_receiver_participant_stats(recv, 1, &st) == CV_OK && st.decoded) {
			int64_t now = net_now_us();
			/* Every frame whose sender time the display point has passed is on screen (or was). */
			while (shown < frames && sent[shown] && sent[shown] <= st.display_sender_us) {
				latency[measured++] = (now - sent[shown]) / 1000.0;
				shown++;
			}
			/* The code is not interpolated: a frame's code is shown as soon as it is released and decoded. */
			while (code_shown < frames && sent[code_shown] && sent[code_shown] <= st.code_sender_us) {
				code_latency[code_shown] = (now - sent[code_shown]) / 1000.0;
				code_shown++;
			}
		}
		sleep_us(1000);
	}
	struct net_participant_stats st = {0};
	if (recv) net_receiver_participant_stats(recv, 1, &st);
	if (r == CV_OK && measured) {
		double sum = 0, code_sum = 0;
		for (uint32_t i = 0; i < measured; i++) sum += latency[i];
		for (uint32_t i = 0; i < code_shown; i++) code_sum += code_latency[i];
		qsort(latency, measured, sizeof(double), cmp_double);
		qsort(code_latency, code_shown, sizeof(double), cmp_double);
		printf("| %u | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %llu / %llu | %.1f |\n", jitter_ms,
		       jitter_ms / 2.0, code_shown ? code_sum / code_shown : 0.0, code_shown ? code_latency[code_shown / 2] : 0.0,
		       code_shown ? code_latency[(size_t)(code_shown * 0.95)] : 0.0, sum / measured,
		       latency[(size_t)(measured * 0.95)], latency[measured - 1], st.delay_ms, (unsigned long long)st.late,
		       (unsigned long long)st.frames, st.jitter_ms);
	} else if (r == CV_OK)
		r = CV_FAIL(CV_ERROR_MISMATCH, "no frame was shown");
	fflush(stdout);
	free(sent);
	free(latency);
	free(code_latency);
	sender_destroy(&s);
	net_receiver_destroy(&recv);
	net_socket_close(&relay->front);
	net_socket_close(&relay->back);
	free(relay->queue);
	free(relay);
	return r;
}

/* ---- receiver CPU per participant ---- */

static enum cv_result cpu_run(const struct bench_args *a, uint32_t count)
{
	uint32_t latent = a->latent;
	struct net_receiver_desc rd = {.meeting = "bench", .secret = bench_secret, .secret_size = sizeof(bench_secret) - 1,
	                               .listen = "127.0.0.1:0", .resolve_avatar = memory_resolver, .resolve_user = &latent};
	struct meet_feed *feed = NULL;
	CV_TRY(net_feed_create(&rd, &feed));
	struct net_receiver *recv = net_feed_receiver(feed);
	char addr[96];
	net_addr_format(net_receiver_local(recv), addr, sizeof(addr));
	struct sender *s = calloc(count, sizeof(*s));
	enum cv_result r = s ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench");
	int64_t start_us = net_now_us();
	for (uint32_t i = 0; r == CV_OK && i < count; i++)
		r = sender_create(&s[i], i + 1, latent, addr, start_us + (int64_t)i * 1000000 / FPS / count);
	double start = cv_time_now(), cpu = 0, warmup = 1.0, next = start;
	uint64_t updates = 0, decoded_before = 0;
	bool measuring = false;
	while (r == CV_OK && cv_time_now() - start < a->seconds + warmup) {
		int64_t sent;
		for (uint32_t i = 0; r == CV_OK && i < count; i++) r = sender_step(&s[i], &sent);
		if (r != CV_OK) break;
		if (cv_time_now() < next) {
			sleep_us(500);
			continue;
		}
		next += 1.0 / 90; /* a headset's frame rate */
		if (!measuring && cv_time_now() - start >= warmup) {
			measuring = true;
			for (uint32_t i = 0; i < count; i++) {
				struct net_participant_stats st;
				if (net_receiver_participant_stats(recv, i + 1, &st) == CV_OK) decoded_before += st.decoded;
			}
		}
		double c0 = thread_cpu_s();
		r = feed->update(feed, 0);
		if (measuring) {
			cpu += thread_cpu_s() - c0;
			updates++;
		}
	}
	uint64_t decoded = 0, missing = 0;
	uint32_t active = 0;
	for (uint32_t i = 0; i < feed->count; i++) {
		struct net_participant_stats st;
		if (net_receiver_participant_stats(recv, feed->participants[i].id, &st) != CV_OK) continue;
		decoded += st.decoded;
		missing += st.missing;
		active += feed->participants[i].status == MEET_ACTIVE;
	}
	decoded -= decoded_before;
	if (r == CV_OK) {
		double per_s = cpu / a->seconds;
		printf("| %u | %u | %.3f | %.1f | %.1f | %.2f | %llu |\n", count, active, per_s * 100.0,
		       per_s * 1e6 / count, decoded ? cpu * 1e6 / decoded : 0.0, updates ? cpu * 1e6 / updates : 0.0,
		       (unsigned long long)missing);
		fflush(stdout);
	}
	for (uint32_t i = 0; s && i < count; i++) sender_destroy(&s[i]);
	free(s);
	meet_feed_destroy(&feed);
	return r;
}

/* ---- per-sender signatures ---- */

/* What authenticity per sender costs: Ed25519 over a full datagram (the signature covers header and ciphertext),
 * signed once per datagram sent, verified once per datagram received; thread CPU, mean over many. */
static enum cv_result sign_cost(void)
{
	enum { N = 2000 };
	uint8_t pk[NET_SIGN_KEY_SIZE], sk[64], dg[NET_DATAGRAM_MAX];
	uint8_t key[NET_KEY_SIZE];
	CV_TRY(net_key_derive(bench_secret, sizeof(bench_secret) - 1, "bench", key)); /* initialises libsodium too */
	crypto_sign_keypair(pk, sk);
	for (size_t i = 0; i < sizeof(dg); i++) dg[i] = (uint8_t)(i * 31);
	size_t signed_size = NET_DATAGRAM_MAX - NET_SIGNATURE_SIZE;
	double c0 = thread_cpu_s();
	for (int i = 0; i < N; i++) {
		dg[0] = (uint8_t)i; /* a different message each time */
		net_sign(sk, dg, signed_size, sizeof(dg));
	}
	double sign_us = (thread_cpu_s() - c0) * 1e6 / N;
	uint32_t good = 0;
	c0 = thread_cpu_s();
	for (int i = 0; i < N; i++) good += net_verify(pk, dg, sizeof(dg));
	double verify_us = (thread_cpu_s() - c0) * 1e6 / N;
	if (good != N) return CV_FAIL(CV_ERROR_MISMATCH, "bench: %u of %d signatures did not verify", N - good, N);
	printf("\nPer-sender signatures (Ed25519 over header and ciphertext of every ANNOUNCE, LEAVE and FRAME datagram): "
	       "%d bytes per datagram (%.1f kbit/s per participant at %d Hz, one datagram per frame); sign %.1f us, "
	       "verify %.1f us per %d-byte datagram (thread CPU, mean of %d)\n", NET_SIGNATURE_SIZE,
	       NET_SIGNATURE_SIZE * 8.0 * FPS / 1000.0, FPS, sign_us, verify_us, NET_DATAGRAM_MAX, N);
	return CV_OK;
}

static int usage(const char *why)
{
	fprintf(stderr, "cavr bench net: %s\nusage: cavr bench net [--seconds S] [--latent Z] [--jitter 0,20,50] "
	                "[--participants 8,32]\n", why);
	return 2;
}

int app_bench_net(int argc, char **argv)
{
	struct bench_args a = {.seconds = 10, .latent = 256, .jitters = {0, 20, 50}, .jitter_n = 3, .counts = {8, 32},
	                       .count_n = 2};
	struct args p;
	int code = args_parse(&cmd_bench_net_spec, argc, argv, &p);
	if (p.help) usage("options");
	if (code >= 0) return p.help ? 0 : code;
	a.seconds = args_number(&p, "--seconds", 10);
	a.latent = (uint32_t)args_number(&p, "--latent", 256);
	const struct args_value *j = args_get(&p, "--jitter"), *n = args_get(&p, "--participants");
	if ((j && j->list_count > 8) || (n && n->list_count > 8)) return args_error(p.spec, "lists take at most 8 values");
	for (uint32_t i = 0; j && i < j->list_count; i++) a.jitters[i] = (uint32_t)j->list[i];
	if (j) a.jitter_n = j->list_count;
	for (uint32_t i = 0; n && i < n->list_count; i++) a.counts[i] = (uint32_t)n->list[i];
	if (n) a.count_n = n->list_count;
	bench_mean = calloc(a.latent, sizeof(float));
	bench_std = malloc(a.latent * sizeof(float));
	if (!bench_mean || !bench_std) return 1;
	for (uint32_t i = 0; i < a.latent; i++) bench_std[i] = 1.0f;
	cv_log_set_level(CV_LOG_WARN);
	printf("cavr bench net: latent %u, hands, gaze and audio in every frame, 30 Hz; loopback; %.0f s per row\n\n",
	       a.latent, a.seconds);
	printf("Added latency, send call to displayable (ms), one participant through a relay adding uniform 0..J ms:\n\n");
	printf("code: the frame's expression code on screen; pose: head and hands interpolated to the frame's time (one "
	       "frame interval later)\n\n");
	printf("| jitter J (ms) | mean network delay | code mean | code median | code p95 | pose mean | pose p95 | pose max | "
	       "jitter buffer delay | late / frames | RFC 3550 jitter |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	enum cv_result r = CV_OK;
	for (uint32_t i = 0; r == CV_OK && i < a.jitter_n; i++) r = latency_run(&a, a.jitters[i]);
	printf("\nReceiver CPU (its thread, inside update at 90 Hz: socket drain, authentication, jitter buffers, codec "
	       "decode, interpolation):\n\n");
	printf("| participants | active | %% of one core | us per second per participant | us per frame | us per update | "
	       "missing |\n|---:|---:|---:|---:|---:|---:|---:|\n");
	for (uint32_t i = 0; r == CV_OK && i < a.count_n; i++) r = cpu_run(&a, a.counts[i]);
	if (r == CV_OK) r = sign_cost();
	free(bench_mean);
	free(bench_std);
	return r == CV_OK ? 0 : 1;
}
