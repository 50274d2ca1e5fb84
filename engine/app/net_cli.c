/* `cavr send` and `cavr join`: a recorded meeting (or a sample performance) streamed live, and a live meeting
 * received, shown, recorded and summed up. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "app/commands.h"
#include "app/net_cli.h"
#include "app/rec_cli.h"
#include "avatar/cavatar.h"
#include "codec/codec.h"
#include "net/net.h"
#include "session/session.h"

#define MAX_STREAMS 64

static const char send_usage[] =
	"usage: cavr send --meeting NAME --secret-file FILE --peer ADDR:PORT [--peer ...] [--listen ADDR:PORT]\n"
	"                 (SESSION.cavrec [--participant ID] | --perf FILE.cavperf [--participant ID] [--name NAME])\n"
	"                 [--seconds S] [--loop]\n"
	"\n"
	"Streams a recorded meeting's participants (all, or one) at the real rate, or a sample performance encoded\n"
	"live, to the peers; receivers that say HELLO (cavr join --peer) get it too, each once it has answered a\n"
	"challenge from its address (consent, renewed every second). Every participant has its own\n"
	"socket: --listen ADDR:PORT binds the first, PORT+1 the next. When the avatar file is found (beside the\n"
	"recording, CAVR_AVATAR_PATH, the shipped assets), recorded packets are decoded and encoded again, so key\n"
	"frame requests from receivers are answered; otherwise they go out as recorded.\n"
	"  --seconds S   stop after S seconds (default: the recording's end; with --loop or --perf: never)\n"
	"  --loop        start again at the end\n";

static const char join_usage[] =
	"usage: cavr join --meeting NAME --secret-file FILE --listen ADDR:PORT [--peer ADDR:PORT ...]\n"
	"                 [--record OUT.cavrec] [--seconds S] [--no-render | --window | --headless | --xr]\n"
	"                 [--frames N] [--size WxH] [--output PATTERN] [--avatar-dir DIR] [--overlay] [--device NAME]\n"
	"                 [--validation] [--send-as ID --avatar FILE [--name NAME]]\n"
	"\n"
	"Receives a live meeting on ADDR:PORT (\"[::]:PORT\" for IPv6 and IPv4) and shows it like 'cavr play': in a\n"
	"window when there is a display, else headless to PNG files (or --xr in a headset). --peer says HELLO to\n"
	"senders that do not know this address. --record writes the received packets into a .cavrec as they are\n"
	"played out. Per-participant statistics are printed at the end (Ctrl-C or closing the window ends it).\n"
	"  --no-render   receive only (statistics, recording)\n"
	"  --seconds S   stop after S seconds\n"
	"  --avatar-dir  where announced avatar files are looked for first (default: the current folder)\n"
	"  --send-as ID  join as participant ID too: the headset's head and hands (or the window's camera) at 30 Hz\n"
	"                with --avatar FILE's neutral expression (OpenXR has no face tracking to encode)\n"
	"Participants who join later take a free seat; everyone moves round the table to make room.\n";

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void sleep_us(int64_t us)
{
	if (us <= 0) return;
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* The folder of a path ("." for a bare name). */
static void dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) snprintf(out, size, ".");
	else snprintf(out, size, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
}

/* ---- send ---- */

struct stream {
	struct net_sender *net;
	uint32_t id;
	bool reencode;
	struct codec_decoder *dec;
	struct codec_encoder *enc;
	struct net_avatar avatar;
	uint32_t sequence;
	uint64_t sent, skipped, key_requests;
};

struct send_args {
	const char *meeting, *secret_file, *listen, *input, *perf, *name;
	const char *peers[NET_MAX_DESTINATIONS];
	size_t peer_count;
	bool participant_given, loop;
	uint32_t participant;
	double seconds;
};

static enum cv_result stream_create(const struct send_args *a, const uint8_t *secret, size_t secret_size, size_t index,
                                    uint32_t id, const char *name, const char *avatar_file,
                                    const uint8_t hash[SESSION_HASH_SIZE], uint32_t avatar, uint32_t latent,
                                    struct stream *s)
{
	char listen[128];
	const char *bind = NULL;
	if (a->listen) {
		/* One socket per participant: PORT, PORT+1, ... */
		struct net_addr addr;
		CV_TRY(net_addr_parse(a->listen, &addr));
		const char *colon = strrchr(a->listen, ':');
		unsigned port = (unsigned)atoi(colon + 1);
		snprintf(listen, sizeof(listen), "%.*s:%u", (int)(colon - a->listen), a->listen, port ? port + (unsigned)index : 0);
		bind = listen;
	}
	struct net_sender_desc d = {.meeting = a->meeting, .secret = secret, .secret_size = secret_size, .listen = bind,
	                            .peers = a->peers, .peer_count = a->peer_count, .participant = id, .name = name,
	                            .avatar_file = avatar_file, .avatar = avatar, .latent = latent};
	memcpy(d.avatar_hash, hash, SESSION_HASH_SIZE);
	s->id = id;
	return net_sender_create(&d, &s->net);
}

static void stream_destroy(struct stream *s)
{
	net_sender_destroy(&s->net);
	codec_decoder_destroy(&s->dec);
	codec_encoder_destroy(&s->enc);
	free(s->avatar.code_mean);
	free(s->avatar.code_std);
}

static void poll_streams(struct stream *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool key = false;
		if (net_sender_poll(s[i].net, &key) != CV_OK) continue;
		if (key) s[i].key_requests++;
		if (key && s[i].enc) codec_encoder_force_key(s[i].enc);
	}
}

/* Waits until `at` (monotonic us), answering senders' mail meanwhile. */
static void wait_until(struct stream *s, size_t n, int64_t at)
{
	for (;;) {
		poll_streams(s, n);
		int64_t left = at - net_now_us();
		if (left <= 0 || interrupted) return;
		sleep_us(left < 2000 ? left : 2000);
	}
}

/* One frame out: encoded again (key frames on request) or as it came. */
static enum cv_result stream_frame(struct stream *s, const void *packet, size_t size, const struct codec_frame *frame,
                                   int64_t sender_us, int64_t elapsed_us)
{
	uint8_t buf[NET_MAX_MESSAGE];
	if (frame || s->reencode) {
		struct codec_frame f;
		if (frame) f = *frame;
		else {
			enum codec_decode_status status;
			if (codec_decoder_decode(s->dec, packet, size, &f, &status) != CV_OK || status != CODEC_DECODED) {
				s->skipped++;
				return CV_OK;
			}
		}
		f.sequence = s->sequence++;
		f.timestamp_us = (uint64_t)elapsed_us;
		f.participant = s->id;
		size_t n;
		CV_TRY(codec_encoder_encode(s->enc, &f, buf, sizeof(buf), &n));
		packet = buf;
		size = n;
	}
	CV_TRY(net_sender_send(s->net, packet, size, sender_us));
	s->sent++;
	return CV_OK;
}

static enum cv_result send_perf(const struct send_args *a, const uint8_t *secret, size_t secret_size,
                                struct stream *s, size_t *count)
{
	struct rec_perf perf = {0};
	enum cv_result r = rec_perf_read(a->perf, &perf);
	char dir[4096];
	dir_of(perf.avatar_path, dir, sizeof(dir)); /* rec_perf_read made the path the performance's folder's */
	uint8_t hash[SESSION_HASH_SIZE];
	if (r == CV_OK) r = session_hash_file(perf.avatar_path, hash);
	const char *file = strrchr(perf.avatar_path, '/') ? strrchr(perf.avatar_path, '/') + 1 : perf.avatar_path;
	uint32_t id = a->participant_given ? a->participant : 1;
	struct net_announce an = {.avatar = id, .latent = perf.latent};
	if (r == CV_OK && strlen(file) > SESSION_MAX_PATH) r = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar name too long");
	if (r == CV_OK) memcpy(an.avatar_file, file, strlen(file) + 1);
	memcpy(an.avatar_hash, hash, SESSION_HASH_SIZE);
	if (r == CV_OK) r = net_resolve_avatar_file(dir, &an, &s->avatar);
	struct codec_stream_desc sd = {.participant = id, .avatar = id, .latent = perf.latent,
	                               .code_mean = s->avatar.code_mean, .code_std = s->avatar.code_std};
	if (r == CV_OK) r = codec_encoder_create(&sd, &s->enc);
	if (r == CV_OK)
		r = stream_create(a, secret, secret_size, 0, id, a->name ? a->name : file, file, hash, id, perf.latent, s);
	if (r == CV_OK) *count = 1;
	int64_t start = net_now_us(), period = (int64_t)llround(1e6 / perf.fps);
	CV_INFO("cavr send: %s as participant %u (%u frames at %.0f Hz, looping)", a->perf, id, perf.frames, perf.fps);
	for (uint64_t i = 0; r == CV_OK && !interrupted; i++) {
		int64_t at = start + (int64_t)i * period;
		if (a->seconds > 0 && at - start > (int64_t)(a->seconds * 1e6)) break;
		wait_until(s, 1, at);
		struct codec_frame f;
		rec_perf_frame(&perf, (uint32_t)(i % perf.frames), &f);
		f.avatar = id;
		r = stream_frame(s, NULL, 0, &f, at, at - start);
	}
	rec_perf_free(&perf);
	return r;
}

static enum cv_result send_recording(const struct send_args *a, const uint8_t *secret, size_t secret_size,
                                     struct stream *s, size_t *count)
{
	struct session_reader *rd = NULL;
	CV_TRY(session_reader_open(a->input, &rd));
	char dir[4096];
	dir_of(a->input, dir, sizeof(dir));
	/* What each participant's stream is (avatar id, latent, quality): its first key frame says. */
	struct stream_info {
		uint32_t id, avatar, latent;
		float quality;
	} info[MAX_STREAMS] = {0};
	size_t n = 0;
	struct session_packet p;
	bool got;
	enum cv_result r = CV_OK;
	while (r == CV_OK && (r = session_reader_next(rd, &p, &got)) == CV_OK && got) {
		struct codec_packet_info pi;
		if (p.kind != REC_KIND_CODEC || codec_packet_parse(p.data, p.size, &pi) != CV_OK || !(pi.flags & CODEC_PACKET_KEY))
			continue;
		if (a->participant_given && p.participant != a->participant) continue;
		size_t k = 0;
		while (k < n && info[k].id != p.participant) k++;
		if (k == n && n < MAX_STREAMS) {
			info[n++] = (struct stream_info){.id = p.participant, .avatar = pi.avatar, .latent = pi.latent,
			                                 .quality = pi.quality};
		}
	}
	if (r == CV_OK && !n)
		r = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s has no codec key frames%s", a->input,
		            a->participant_given ? " of that participant" : "");
	for (size_t k = 0; r == CV_OK && k < n; k++) {
		const struct session_participant *sp = session_reader_find_participant(rd, info[k].id);
		if (!sp) {
			r = CV_FAIL(CV_ERROR_FORMAT, "%s: packets of participant %u, who is not named", a->input, info[k].id);
			break;
		}
		struct net_announce an = {.avatar = info[k].avatar, .latent = info[k].latent};
		snprintf(an.avatar_file, sizeof(an.avatar_file), "%s", sp->avatar_path);
		memcpy(an.avatar_hash, sp->avatar_hash, SESSION_HASH_SIZE);
		struct stream *st = &s[k];
		if (net_resolve_avatar_file(dir, &an, &st->avatar) == CV_OK) {
			struct codec_stream_desc sd = {.participant = info[k].id, .avatar = info[k].avatar, .latent = info[k].latent,
			                               .code_mean = st->avatar.code_mean, .code_std = st->avatar.code_std,
			                               .quality = info[k].quality};
			st->reencode = codec_decoder_create(&sd, &st->dec) == CV_OK && codec_encoder_create(&sd, &st->enc) == CV_OK;
		}
		if (!st->reencode)
			CV_WARN("cavr send: participant %u's avatar %s is not here: packets go out as recorded, key frame "
			        "requests wait for the recording's next key frame", info[k].id, sp->avatar_path);
		r = stream_create(a, secret, secret_size, k, info[k].id, sp->name ? sp->name : "", sp->avatar_path,
		                  sp->avatar_hash, info[k].avatar, info[k].latent, st);
		*count = k + 1;
	}
	struct session_info si;
	session_reader_info(rd, &si);
	CV_INFO("cavr send: %s, %zu participants, %.1f s", a->input, n, (si.end_us - si.start_us) / 1e6);
	int64_t start = net_now_us(), base = start;
	for (uint32_t round = 0; r == CV_OK && !interrupted; round++) {
		r = session_reader_seek(rd, 0);
		int64_t first = -1, last = 0;
		while (r == CV_OK && !interrupted && (r = session_reader_next(rd, &p, &got)) == CV_OK && got) {
			if (p.kind != REC_KIND_CODEC) continue;
			size_t k = 0;
			while (k < n && info[k].id != p.participant) k++;
			if (k == n) continue;
			if (first < 0) first = p.time_us;
			last = p.time_us;
			int64_t at = base + (p.time_us - first);
			if (a->seconds > 0 && at - start > (int64_t)(a->seconds * 1e6)) {
				interrupted = 1;
				break;
			}
			wait_until(s, n, at);
			/* Looping as recorded would go back in time: only re-encoded streams loop. */
			if (round && !s[k].reencode) continue;
			r = stream_frame(&s[k], p.data, p.size, NULL, at, at - start);
		}
		if (!a->loop) break;
		base += (last - (first < 0 ? 0 : first)) + 33333;
	}
	session_reader_destroy(&rd);
	return r;
}

int app_send(int argc, char **argv)
{
	struct send_args a = {0};
	struct args p;
	int code = args_parse(&cmd_send_spec, argc, argv, &p);
	if (p.help) fputs(send_usage, stdout);
	if (code >= 0) return code;
	a.input = p.positional_count ? p.positional[0] : NULL;
	a.loop = args_flag(&p, "--loop");
	a.meeting = args_text(&p, "--meeting", NULL);
	a.secret_file = args_text(&p, "--secret-file", NULL);
	a.listen = args_text(&p, "--listen", NULL);
	a.perf = args_text(&p, "--perf", NULL);
	a.name = args_text(&p, "--name", NULL);
	a.peer_count = args_texts(&p, "--peer", a.peers, NET_MAX_DESTINATIONS);
	a.participant_given = args_flag(&p, "--participant");
	a.participant = (uint32_t)args_number(&p, "--participant", 0);
	a.seconds = args_number(&p, "--seconds", 0);
	if (!a.meeting || !a.secret_file) return args_error(&cmd_send_spec, "--meeting and --secret-file are needed");
	if (!a.peer_count && !a.listen)
		return args_error(&cmd_send_spec, "give --peer (or --listen, for receivers that say HELLO)");
	if (!!a.input == !!a.perf) return args_error(&cmd_send_spec, "give one SESSION.cavrec or --perf FILE.cavperf");
	uint8_t *secret = NULL;
	size_t secret_size = 0;
	if (net_secret_read(a.secret_file, &secret, &secret_size) != CV_OK) return 1;
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	struct stream *s = calloc(MAX_STREAMS, sizeof(*s));
	size_t n = 0;
	enum cv_result r = s ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "streams");
	if (r == CV_OK) r = a.perf ? send_perf(&a, secret, secret_size, s, &n) : send_recording(&a, secret, secret_size, s, &n);
	for (size_t i = 0; i < n; i++) {
		struct net_sender_stats st;
		net_sender_stats(s[i].net, &st);
		printf("participant %u: %llu frames sent (%llu skipped), %llu datagrams, %.1f kB, %llu announces, "
		       "%llu key frame requests%s, %u destinations (%llu consents, %llu refused)\n", s[i].id,
		       (unsigned long long)s[i].sent, (unsigned long long)s[i].skipped, (unsigned long long)st.datagrams,
		       st.bytes / 1000.0, (unsigned long long)st.announces, (unsigned long long)s[i].key_requests,
		       s[i].reencode || s[i].enc ? "" : " (not answered: sent as recorded)", st.destinations,
		       (unsigned long long)st.consents, (unsigned long long)st.refused);
		stream_destroy(&s[i]);
	}
	free(s);
	net_secret_free(&secret, secret_size);
	return r == CV_OK ? 0 : 1;
}

/* ---- join ---- */

/* `join --record`: what is played out, written as it comes. The recording is the meeting's servant: when it
 * cannot go on (a full disk, a writer error) it stops, says so once and the meeting goes on; participants beyond
 * the format's limit (SESSION_MAX_PARTICIPANTS, as a hostile member announcing and leaving could make) and their
 * packets are counted, not recorded. Whatever happens, the file is closed at the end with its complete chunks. */
struct recorder {
	struct session_writer *writer;
	const char *path;
	int64_t start_us, last_us;
	enum cv_result error; /* the recording stopped here */
	uint64_t packets, unrecorded_packets, unrecorded_joins;
};

static void recorder_stop(struct recorder *rec, enum cv_result r)
{
	rec->error = r;
	CV_WARN("recording to %s stopped (%s) after %llu packets; the meeting goes on", rec->path, cv_result_str(r),
	        (unsigned long long)rec->packets);
}

static void record_event(void *user, const struct net_event *e)
{
	struct recorder *rec = user;
	if (rec->error != CV_OK) return;
	uint32_t id = e->participant->id;
	if (e->kind == NET_EVENT_JOIN) {
		if (session_writer_has_participant(rec->writer, id)) return; /* back after leaving: already named */
		if (session_writer_participant_count(rec->writer) >= SESSION_MAX_PARTICIPANTS) {
			if (!rec->unrecorded_joins++)
				CV_WARN("recording to %s: %d participants is the most a recording holds; later ones are not recorded",
				        rec->path, SESSION_MAX_PARTICIPANTS);
			return;
		}
		struct session_participant sp = {.id = id, .name = e->announce->name, .avatar_path = e->announce->avatar_file};
		memcpy(sp.avatar_hash, e->announce->avatar_hash, SESSION_HASH_SIZE);
		enum cv_result r = session_writer_add_participant(rec->writer, &sp);
		if (r != CV_OK) recorder_stop(rec, r);
	} else if (e->kind == NET_EVENT_PACKET) {
		if (!session_writer_has_participant(rec->writer, id)) {
			rec->unrecorded_packets++;
			return;
		}
		/* Receive times from the kernel can be a little before the last update's: the file needs order. */
		int64_t t = e->time_us - rec->start_us;
		if (t < rec->last_us) t = rec->last_us;
		rec->last_us = t;
		struct session_packet p = {.time_us = t, .participant = id, .kind = REC_KIND_CODEC, .data = e->data,
		                           .size = e->size};
		enum cv_result r = session_writer_write(rec->writer, &p);
		if (r != CV_OK) recorder_stop(rec, r);
		else rec->packets++;
	}
}

/* Ends the recording: closed (and synced) with what it holds, even after it stopped. */
static enum cv_result recorder_finish(struct recorder *rec)
{
	if (!rec->writer) return CV_OK;
	enum cv_result w = session_writer_close(rec->writer);
	struct session_writer_stats st;
	session_writer_get_stats(rec->writer, &st);
	session_writer_destroy(&rec->writer);
	if (rec->unrecorded_joins || rec->unrecorded_packets)
		CV_WARN("recording to %s: %llu participants and %llu packets beyond the limit of %d were not recorded",
		        rec->path, (unsigned long long)rec->unrecorded_joins, (unsigned long long)rec->unrecorded_packets,
		        SESSION_MAX_PARTICIPANTS);
	if (w == CV_OK && rec->error == CV_OK) {
		printf("recorded %llu packets to %s\n", (unsigned long long)rec->packets, rec->path);
		return CV_OK;
	}
	return CV_FAIL(CV_ERROR_IO, "the recording %s holds only the %llu packets before it stopped", rec->path,
	               (unsigned long long)st.packets);
}

static const char *status_name(enum meet_status s)
{
	return s == MEET_ACTIVE ? "active" : s == MEET_WAITING ? "waiting" : s == MEET_RECONNECTING ? "reconnecting" : "left";
}

static void print_stats(struct net_receiver *r, double seconds)
{
	uint32_t count;
	struct meet_participant *parts = net_receiver_participants(r, &count);
	printf("%.1f s, %u participants\n", seconds, count);
	for (uint32_t i = 0; i < count; i++) {
		struct net_participant_stats st;
		if (net_receiver_participant_stats(r, parts[i].id, &st) != CV_OK) continue;
		printf("  %u '%s' %s%s: %llu frames, %llu decoded (%llu key), %llu missing (%llu late), %llu reordered, "
		       "%llu waiting for a key frame, %llu key frame requests; jitter %.1f ms, delay %.1f ms, clock offset "
		       "%.1f ms, %.1f kbit/s, loss %.1f %%\n", parts[i].id, parts[i].name, status_name(parts[i].status),
		       st.avatar_missing ? " (avatar missing)" : "", (unsigned long long)st.frames,
		       (unsigned long long)st.decoded, (unsigned long long)st.key_frames, (unsigned long long)st.missing,
		       (unsigned long long)st.late, (unsigned long long)st.reordered, (unsigned long long)st.undecodable,
		       (unsigned long long)st.key_requests, st.jitter_ms, st.delay_ms, st.offset_ms, parts[i].bitrate_kbps,
		       parts[i].loss * 100.0);
	}
	struct net_receiver_stats s;
	net_receiver_stats(r, &s);
	printf("  datagrams %llu (%.1f kB); dropped: %llu failed authentication, %llu unknown senders, %llu replays, "
	       "%llu stale, %llu forged, %llu malformed, %llu fragments, %llu over memory bounds; peak buffered %.1f kB\n",
	       (unsigned long long)s.datagrams, s.bytes / 1000.0, (unsigned long long)s.auth_failed,
	       (unsigned long long)s.unknown_sender, (unsigned long long)s.replayed, (unsigned long long)s.stale,
	       (unsigned long long)s.forged, (unsigned long long)s.malformed, (unsigned long long)s.fragment_dropped,
	       (unsigned long long)s.buffer_full, s.buffered_peak / 1000.0);
}

struct join_args {
	const char *meeting, *secret_file, *listen, *record, *avatar_dir, *output, *device;
	const char *send_avatar, *send_name; /* --send-as: the viewer joins the meeting as a participant too */
	uint32_t send_id;
	const char *peers[NET_MAX_DESTINATIONS];
	size_t peer_count;
	double seconds;
	bool render, window, headless, xr, overlay, validation;
	uint32_t frames, width, height;
};

/* The viewer sent to the meeting as a participant: head and hands from the headset (or the window's camera) at
 * 30 Hz, and the avatar's neutral expression, since OpenXR's core gives no face tracking to encode. */
struct local_user {
	struct app_scene *scene;
	struct stream stream;
	int64_t start, next;
	enum cv_result error;
};

#define LOCAL_PERIOD_US 33333

static enum cv_result local_user_create(const struct join_args *a, const uint8_t *secret, size_t secret_size,
                                        struct local_user *u)
{
	uint8_t hash[SESSION_HASH_SIZE];
	CV_TRY(session_hash_file(a->send_avatar, hash));
	const char *file = strrchr(a->send_avatar, '/') ? strrchr(a->send_avatar, '/') + 1 : a->send_avatar;
	if (strlen(file) > SESSION_MAX_PATH) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar name too long");
	char dir[4096];
	dir_of(a->send_avatar, dir, sizeof(dir));
	struct avatar_file *af = NULL;
	CV_TRY(avatar_file_open(a->send_avatar, &af));
	struct net_announce an = {.avatar = a->send_id, .latent = avatar_latent_size(af)};
	avatar_file_destroy(&af);
	memcpy(an.avatar_file, file, strlen(file) + 1);
	memcpy(an.avatar_hash, hash, SESSION_HASH_SIZE);
	CV_TRY(net_resolve_avatar_file(dir, &an, &u->stream.avatar));
	struct codec_stream_desc sd = {.participant = a->send_id, .avatar = a->send_id, .latent = u->stream.avatar.latent,
	                               .code_mean = u->stream.avatar.code_mean, .code_std = u->stream.avatar.code_std};
	CV_TRY(codec_encoder_create(&sd, &u->stream.enc));
	struct send_args sa = {.meeting = a->meeting, .peer_count = a->peer_count};
	memcpy(sa.peers, a->peers, sizeof(sa.peers));
	CV_TRY(stream_create(&sa, secret, secret_size, 0, a->send_id, a->send_name ? a->send_name : "viewer", file, hash,
	                     a->send_id, u->stream.avatar.latent, &u->stream));
	u->start = u->next = net_now_us();
	CV_INFO("cavr join: sending the viewer as participant %u with %s", a->send_id, a->send_avatar);
	return CV_OK;
}

static void local_user_frame(void *user, struct presenter *p, uint64_t frame)
{
	(void)p;
	(void)frame;
	struct local_user *u = user;
	poll_streams(&u->stream, 1);
	int64_t now = net_now_us();
	if (u->error != CV_OK || now < u->next) return;
	u->next += LOCAL_PERIOD_US * ((now - u->next) / LOCAL_PERIOD_US + 1);
	struct codec_frame f = {.code = u->stream.avatar.code_mean, .code_floats = u->stream.avatar.latent,
	                        .avatar = u->stream.id};
	if (!app_meeting_viewer_frame(u->scene, &f.head, f.hands)) return;
	u->error = stream_frame(&u->stream, NULL, 0, &f, now, now - u->start);
}

/* The meeting scene on the feed, shown like `cavr play` does (the scene owns the feed). */
static enum cv_result join_render(const struct join_args *a, struct meet_feed *feed, struct net_receiver *receiver,
                                  const struct app_hooks *hooks, double start, const uint8_t *secret,
                                  size_t secret_size)
{
	const char *display = getenv("DISPLAY");
	bool window = !a->xr && (a->window || (!a->headless && display && display[0]));
	if (a->xr && !(hooks && hooks->xr_create)) {
		meet_feed_destroy(&feed);
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "this cavr was built without OpenXR");
	}
	struct app_scene *scene = NULL;
	struct app_meeting_options o = {.overlay = a->overlay || window, .decode_budget = 4};
	CV_TRY(app_meeting_scene_create(feed, &o, &scene));
	struct local_user local = {.scene = scene};
	if (a->send_avatar) {
		enum cv_result lr = local_user_create(a, secret, secret_size, &local);
		if (lr != CV_OK) {
			stream_destroy(&local.stream);
			app_scene_destroy(&scene, NULL);
			return lr;
		}
	}
	struct gpu_context_desc gd = {.device_name = a->device, .validation = a->validation, .present = window};
	enum cv_result r = CV_OK;
	if (window) {
		r = window_system_init();
		gd.instance_extensions = window_instance_extensions(&gd.instance_extension_count);
	}
	struct gpu_context *ctx = NULL;
	struct presenter *p = NULL;
	const uint32_t messages_before = gpu_validation_messages_total();
	const char *output = a->output ? a->output : "cavr-output/join_%04u.png";
	if (r == CV_OK) r = a->xr ? hooks->xr_create(a->validation, &ctx, &p) : gpu_context_create(&gd, &ctx);
	if (r == CV_OK && window)
		r = window_create(ctx, &(struct window_desc){.width = a->width, .height = a->height, .title = "cavr join",
		                                             .vsync = true}, &p);
	else if (r == CV_OK && !a->xr)
		r = offscreen_create(ctx, &(struct offscreen_desc){.width = a->width ? a->width : 640,
		                                                   .height = a->height ? a->height : 360,
		                                                   .png_pattern = output}, &p);
	if (r == CV_OK) {
		/* Live: the wall clock, never a fixed step; headless stops after --frames or --seconds (default 10 s). */
		uint32_t frames = a->frames ? a->frames : !window && !a->xr ? (uint32_t)ceil((a->seconds > 0 ? a->seconds : 10) * 30) : 0;
		struct app_loop_desc ld = {.frames = frames, .progress = !window && !a->xr,
		                           .after_frame = a->send_avatar ? local_user_frame : NULL, .user = &local};
		r = app_run(ctx, p, scene, &ld);
		if (r == CV_OK && !window && !a->xr) r = offscreen_finish(p);
	}
	print_stats(receiver, cv_time_now() - start);
	if (a->send_avatar) {
		printf("  sent the viewer as participant %u: %llu frames\n", a->send_id, (unsigned long long)local.stream.sent);
		if (r == CV_OK) r = local.error;
		stream_destroy(&local.stream);
	}
	app_scene_destroy(&scene, ctx);
	presenter_destroy(&p);
	if (a->xr) ctx = NULL;
	gpu_context_destroy(&ctx);
	if (window) window_system_fini();
	uint32_t validation_messages = gpu_validation_messages_total() - messages_before;
	if (r == CV_OK && validation_messages)
		return CV_FAIL(CV_ERROR_GPU, "%u Vulkan validation messages (see above)", validation_messages);
	return r;
}

int app_join_hooks(int argc, char **argv, const struct app_hooks *hooks)
{
	struct join_args a = {.render = true};
	struct args p;
	int code = args_parse(&cmd_join_spec, argc, argv, &p);
	if (p.help) fputs(join_usage, stdout);
	if (code >= 0) return code;
	if (args_flag(&p, "--no-render") && args_flag(&p, "--render"))
		return args_error(&cmd_join_spec, "--render and --no-render exclude each other");
	a.render = !args_flag(&p, "--no-render");
	a.window = args_flag(&p, "--window");
	a.headless = args_flag(&p, "--headless");
	a.xr = args_flag(&p, "--xr");
	a.overlay = args_flag(&p, "--overlay");
	a.validation = args_flag(&p, "--validation");
	a.meeting = args_text(&p, "--meeting", NULL);
	a.secret_file = args_text(&p, "--secret-file", NULL);
	a.listen = args_text(&p, "--listen", NULL);
	a.record = args_text(&p, "--record", NULL);
	a.avatar_dir = args_text(&p, "--avatar-dir", NULL);
	a.output = args_text(&p, "--output", NULL);
	a.device = args_text(&p, "--device", NULL);
	a.send_avatar = args_text(&p, "--avatar", NULL);
	a.send_name = args_text(&p, "--name", NULL);
	a.send_id = (uint32_t)args_number(&p, "--send-as", 0);
	a.peer_count = args_texts(&p, "--peer", a.peers, NET_MAX_DESTINATIONS);
	a.seconds = args_number(&p, "--seconds", 0);
	a.frames = (uint32_t)args_number(&p, "--frames", 0);
	const struct args_value *size = args_get(&p, "--size");
	if (size) a.width = size->width, a.height = size->height;
	if (!a.meeting || !a.secret_file || !a.listen)
		return args_error(&cmd_join_spec, "--meeting, --secret-file and --listen are needed");
	if (!a.send_id != !a.send_avatar) return args_error(&cmd_join_spec, "--send-as ID and --avatar FILE go together");
	if (a.send_id && !a.render)
		return args_error(&cmd_join_spec, "--send-as sends what is shown: not with --no-render");
	if ((a.window && a.headless) || (a.xr && (a.window || a.headless)))
		return args_error(&cmd_join_spec, "--window, --headless and --xr exclude each other");
	uint8_t *secret = NULL;
	size_t secret_size = 0;
	if (net_secret_read(a.secret_file, &secret, &secret_size) != CV_OK) return 1;
	struct recorder rec = {.start_us = net_now_us(), .path = a.record};
	enum cv_result r = CV_OK;
	if (a.record) {
		struct session_writer_desc wd = {.epoch_unix_us = net_realtime_us()};
		r = session_writer_create(a.record, &wd, &rec.writer);
	}
	struct net_receiver_desc d = {.meeting = a.meeting, .secret = secret, .secret_size = secret_size,
	                              .listen = a.listen, .peers = a.peers, .peer_count = a.peer_count,
	                              .resolve_user = (void *)a.avatar_dir, .on_event = a.record ? record_event : NULL,
	                              .event_user = &rec};
	struct meet_feed *feed = NULL;
	if (r == CV_OK) r = net_feed_create(&d, &feed);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	double start = cv_time_now();
	if (r == CV_OK) {
		struct net_receiver *receiver = net_feed_receiver(feed);
		char local[96];
		net_addr_format(net_receiver_local(receiver), local, sizeof(local));
		CV_INFO("cavr join: meeting '%s' on %s", a.meeting, local);
		if (a.render) r = join_render(&a, feed, receiver, hooks, start, secret, secret_size); /* owns the feed */
		else {
			double next_report = start + 5;
			while (r == CV_OK && !interrupted && (a.seconds <= 0 || cv_time_now() - start < a.seconds)) {
				r = feed->update(feed, cv_time_now() - start);
				if (cv_time_now() >= next_report) {
					uint32_t active = 0;
					for (uint32_t i = 0; i < feed->count; i++) active += feed->participants[i].status == MEET_ACTIVE;
					CV_INFO("cavr join: %u participants, %u active", feed->count, active);
					next_report += 5;
				}
				sleep_us(5000);
			}
			print_stats(receiver, cv_time_now() - start);
			meet_feed_destroy(&feed);
		}
	}
	net_secret_free(&secret, secret_size);
	enum cv_result w = recorder_finish(&rec);
	if (r == CV_OK) r = w;
	return r == CV_OK ? 0 : 1;
}

int app_join(int argc, char **argv) { return app_join_hooks(argc, argv, NULL); }
