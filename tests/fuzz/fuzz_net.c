/* libFuzzer entry point for the network receiver and sender (engine/net): any datagrams, from anyone, must be
 * dropped and counted or decoded (or answered), never crash, leak, read outside a buffer, or hold more memory than
 * the receiver's bounds. Every datagram goes to a receiver and to a sender (on a loopback socket; its answers go
 * to 127.0.0.1:9, the discard port).
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_net.c
 *   ./fuzz_net tests/fuzz/corpus/net
 * Without libFuzzer, tests/fuzz/fuzz_main.c replays files through the same function.
 *
 * Most random bytes fail authentication, so the input has two modes (the low bit of its first byte):
 *   raw     datagrams, each a u16 little-endian length and its bytes, straight to the receiver;
 *   sealed  records [type][flags][sequence step][epoch][u16 length][body], sealed here with the meeting key and
 *           (ANNOUNCE, LEAVE, FRAME) signed with the sender's Ed25519 key, so the fuzzer reaches announces,
 *           challenges, fragments, reassembly, the jitter buffer and the codec behind them. Flags: bits 0-1 the
 *           sender (ids 1-4, each with a fixed key pair), bit 2 signed with the next sender's key instead (a
 *           forgery), bit 3 the announce as it is (else its nonce becomes the receiver's and its key the
 *           sender's, as a real sender's would be).
 * The receiver's clock advances 10 ms per datagram and it updates after each, so frames are released, lost,
 * concealed and timed out. Announces with latent 16 resolve to a made-up avatar (mean 0, std 1).
 *
 * The seeds in tests/fuzz/corpus/net/ are written by this file built with -DFUZZ_NET_WRITE_CORPUS:
 *   cc -DFUZZ_NET_WRITE_CORPUS -D_DEFAULT_SOURCE -Iengine tests/fuzz/fuzz_net.c engine/net/net_receiver.c \
 *      engine/net/net_sender.c engine/net/net_crypto.c engine/net/net_wire.c engine/net/net_socket.c \
 *      engine/codec/codec.c \
 *      engine/codec/codec_synth.c engine/core/core.c -lsodium -lm -o write_corpus && ./write_corpus tests/fuzz/corpus/net
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "net/net.h"

#define FUZZ_LATENT 16
static const char fuzz_secret[] = "fuzzing secret, sixteen bytes or more";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fuzz_now;
static int64_t fuzz_clock(void *user)
{
	(void)user;
	return fuzz_now;
}

static enum cv_result fuzz_resolve(void *user, const struct net_announce *a, struct net_avatar *out)
{
	(void)user;
	memset(out, 0, sizeof(*out));
	if (a->latent != FUZZ_LATENT) return CV_ERROR_IO;
	out->latent = FUZZ_LATENT;
	out->code_mean = calloc(FUZZ_LATENT, sizeof(float));
	out->code_std = malloc(FUZZ_LATENT * sizeof(float));
	if (!out->code_mean || !out->code_std) {
		free(out->code_mean);
		free(out->code_std);
		return CV_ERROR_OUT_OF_MEMORY;
	}
	for (int i = 0; i < FUZZ_LATENT; i++) out->code_std[i] = 1.0f;
	return CV_OK;
}

/* Fixed key pairs, so the corpus writer and the fuzzer agree. */
static uint8_t sign_public[4][NET_SIGN_KEY_SIZE], sign_secret[4][64];
static void fuzz_keys(void)
{
	for (int i = 0; i < 4; i++) {
		uint8_t seed[32];
		memset(seed, 0x40 + i, sizeof(seed));
		crypto_sign_seed_keypair(sign_public[i], sign_secret[i], seed);
	}
}

static void touch(struct net_receiver *r)
{
	uint32_t count;
	struct meet_participant *p = net_receiver_participants(r, &count);
	volatile float sink = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (!p[i].has_frame) continue;
		for (uint32_t k = 0; k < p[i].code_floats; k++) sink += p[i].code[k];
		sink += p[i].head.position[0] + p[i].head.orientation[3];
	}
	if (sink != sink) __builtin_trap(); /* NaN */
	struct net_receiver_stats s;
	net_receiver_stats(r, &s);
	if (s.buffered_bytes > NET_TOTAL_BUFFER) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	if (size < 1) return 0;
	static uint8_t key[NET_KEY_SIZE];
	static int keyed;
	if (!keyed) {
		keyed = net_key_derive(fuzz_secret, sizeof(fuzz_secret) - 1, "fuzz", key) == CV_OK;
		fuzz_keys();
	}
	fuzz_now = 1000000;
	struct net_receiver_desc d = {.meeting = "fuzz", .secret = fuzz_secret, .secret_size = sizeof(fuzz_secret) - 1,
	                              .id = 0x80000001u, .resolve_avatar = fuzz_resolve, .clock_us = fuzz_clock};
	struct net_receiver *r = NULL;
	if (net_receiver_create(&d, &r) != CV_OK) return 0;
	struct net_sender_desc sd = {.meeting = "fuzz", .secret = fuzz_secret, .secret_size = sizeof(fuzz_secret) - 1,
	                             .listen = "127.0.0.1:0", .participant = 100, .name = "fuzz",
	                             .avatar_file = "fuzz.cavatar", .avatar = 2, .latent = FUZZ_LATENT,
	                             .clock_us = fuzz_clock};
	struct net_sender *s = NULL;
	if (net_sender_create(&sd, &s) != CV_OK) {
		net_receiver_destroy(&r);
		return 0;
	}
	struct net_addr from;
	net_addr_parse("127.0.0.1:9", &from);
	bool sealed = data[0] & 1;
	uint64_t sequence[4] = {0};
	uint8_t dg[NET_DATAGRAM_MAX + 1], body[NET_DATAGRAM_MAX + 1];
	for (size_t at = 1; at + 2 <= size;) {
		if (!sealed) {
			size_t n = (size_t)(data[at] | data[at + 1] << 8);
			at += 2;
			if (n > size - at) n = size - at;
			net_receiver_input(r, data + at, n, &from);
			net_sender_input(s, data + at, n, &from);
			at += n;
		} else {
			if (size - at < 6) break;
			const uint8_t *h = data + at;
			size_t n = (size_t)(h[4] | h[5] << 8);
			at += 6;
			if (n > size - at) n = size - at;
			uint32_t who = h[1] & 3, signer = h[1] & 4 ? (who + 1) & 3 : who;
			sequence[who] += h[2];
			struct net_header hd = {.type = h[0], .sender = 1 + who, .epoch = h[3], .sequence = sequence[who]};
			if (n > sizeof(body)) n = sizeof(body);
			memcpy(body, data + at, n);
			if (h[0] == NET_ANNOUNCE && !(h[1] & 8) && n >= NET_NONCE_SIZE + NET_SIGN_KEY_SIZE) {
				net_receiver_nonce(r, body);
				memcpy(body + NET_NONCE_SIZE, sign_public[who], NET_SIGN_KEY_SIZE);
			}
			if (h[0] == NET_CONSENT && !(h[1] & 8) && n >= NET_NONCE_SIZE) net_sender_cookie(s, &from, body);
			if (h[0] == NET_HELLO && !(h[1] & 8) && n >= 8) {
				struct net_handshake hs = {0};
				net_hello_stamp(&hs, net_realtime_us() / 1000);
				memcpy(body, hs.cookie, 8);
			}
			size_t m = net_seal(key, &hd, body, n, dg, sizeof(dg));
			if (m && net_signed_type(h[0])) m = net_sign(sign_secret[signer], dg, m, sizeof(dg));
			if (m) {
				net_receiver_input(r, dg, m, &from);
				net_sender_input(s, dg, m, &from);
			}
			if (h[0] == NET_FRAME && n) net_sender_send(s, body, n, -1);
			at += n;
		}
		fuzz_now += 10000;
		net_receiver_update(r);
		net_sender_poll(s, NULL);
		touch(r);
	}
	fuzz_now += 20000000; /* everyone times out, everything is released, consent expires */
	net_receiver_update(r);
	net_sender_poll(s, NULL);
	touch(r);
	struct net_sender_stats st;
	net_sender_stats(s, &st);
	if (st.destinations) __builtin_trap();
	net_sender_destroy(&s);
	net_receiver_destroy(&r);
	return 0;
}

#ifdef FUZZ_NET_WRITE_CORPUS
#include <stdio.h>

#include "codec/codec.h"

static uint8_t out[1 << 16];
static size_t used;

static void record(uint8_t type, uint8_t who, uint8_t step, uint8_t epoch, const uint8_t *body, size_t n)
{
	uint8_t h[6] = {type, who, step, epoch, (uint8_t)n, (uint8_t)(n >> 8)};
	memcpy(out + used, h, 6);
	memcpy(out + used + 6, body, n);
	used += 6 + n;
}

static void save(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (cv_file_write(path, out, used) != CV_OK) exit(1);
	printf("%s: %zu bytes\n", path, used);
	used = 0;
}

static size_t announce(uint8_t *body, uint32_t latent)
{
	struct net_announce a = {.avatar = 2, .latent = latent}; /* nonce and key: filled in by the fuzzer */
	strcpy(a.name, "Fuzz");
	strcpy(a.avatar_file, "fuzz.cavatar");
	return net_announce_write(&a, body, NET_DATAGRAM_MAX);
}

/* A stream of `frames` codec packets of participant `who`, skipping frame `drop`, frames swapped at `swap`. */
static void stream(uint8_t who, uint32_t frames, uint32_t drop, uint32_t swap, bool hands)
{
	uint8_t body[NET_DATAGRAM_MAX], packet[4096];
	record(NET_ANNOUNCE, who, 1, 1, body, announce(body, FUZZ_LATENT));
	struct codec_stream_desc sd = {.participant = 1u + who, .avatar = 2, .latent = FUZZ_LATENT};
	struct codec_encoder *e = NULL;
	if (codec_encoder_create(&sd, &e) != CV_OK) exit(1);
	struct codec_synth_desc synth = {.seed = 1, .latent = FUZZ_LATENT, .hands = hands, .gaze = true, .audio = true};
	size_t sizes[64];
	static uint8_t bodies[64][NET_DATAGRAM_MAX];
	for (uint32_t i = 0; i < frames; i++) {
		float code[FUZZ_LATENT];
		struct codec_frame f = {0};
		codec_synth_frame(&synth, i / 30.0, code, &f);
		f.participant = 1u + who;
		f.avatar = 2;
		f.sequence = i;
		size_t n;
		if (codec_encoder_encode(e, &f, packet, sizeof(packet), &n) != CV_OK || n > NET_FRAGMENT_DATA) exit(1);
		struct net_fragment fr = {.sender_us = 2000000 + i * 33333, .frame = i, .count = 1,
		                          .packet_size = (uint32_t)n, .data = packet, .size = n};
		sizes[i] = net_fragment_write(&fr, bodies[i], NET_DATAGRAM_MAX);
	}
	for (uint32_t i = 0; i < frames; i++) {
		uint32_t k = i == swap ? i + 1 : i == swap + 1 ? i - 1 : i;
		if (k != drop) record(NET_FRAME, who, 1, 1, bodies[k], sizes[k]);
	}
	codec_encoder_destroy(&e);
}

int main(int argc, char **argv)
{
	if (argc != 2) return 2;
	uint8_t body[NET_DATAGRAM_MAX];
	out[used++] = 1;
	stream(0, 12, 99, 99, false);
	save(argv[1], "stream.bin");
	out[used++] = 1;
	stream(1, 12, 4, 7, true);
	save(argv[1], "loss-reorder-hands.bin");
	out[used++] = 1;
	stream(0, 6, 99, 99, false);
	stream(2, 6, 99, 99, false);
	record(NET_LEAVE, 0, 1, 1, body, 0);
	record(NET_ANNOUNCE, 2, 1, 2, body, announce(body, FUZZ_LATENT)); /* a restart: new epoch */
	save(argv[1], "two-participants-leave-restart.bin");
	/* A fragmented packet (not a codec packet: the decoder refuses it), fragments out of order, one twice. */
	out[used++] = 1;
	record(NET_ANNOUNCE, 3, 1, 1, body, announce(body, FUZZ_LATENT));
	static uint8_t big[3 * NET_FRAGMENT_DATA];
	for (size_t i = 0; i < sizeof(big); i++) big[i] = (uint8_t)(i * 7);
	uint16_t order[] = {2, 0, 0, 1};
	for (int i = 0; i < 4; i++) {
		uint16_t k = order[i];
		size_t n = k == 2 ? sizeof(big) - 2 * NET_FRAGMENT_DATA - 100 : NET_FRAGMENT_DATA;
		struct net_fragment f = {.sender_us = 2000000, .frame = 0, .index = k, .count = 3,
		                         .packet_size = (uint32_t)(sizeof(big) - 100), .data = big + k * NET_FRAGMENT_DATA, .size = n};
		record(NET_FRAME, 3, 1, 1, body, net_fragment_write(&f, body, sizeof(body)));
	}
	save(argv[1], "fragments.bin");
	/* Key requests and HELLOs (for senders: ignored here), and an announce with another latent. */
	out[used++] = 1;
	uint8_t kr[8];
	record(NET_KEY_REQUEST, 0, 1, 1, kr, net_key_request_write(&(struct net_key_request){1, 5}, kr, sizeof(kr)));
	record(NET_HELLO, 1, 1, 1, body, 0);
	record(NET_ANNOUNCE, 2, 1, 1, body, announce(body, 64));
	save(argv[1], "control.bin");
	/* The handshake: a challenge (answered), a HELLO and a CONSENT (for senders), a short challenge. */
	out[used++] = 1;
	struct net_handshake hs = {0};
	memset(hs.cookie, 0x5a, sizeof(hs.cookie));
	record(NET_CHALLENGE, 0, 1, 1, body, net_handshake_write(&hs, body, sizeof(body)));
	record(NET_HELLO, 1, 1, 1, body, net_handshake_write(&hs, body, sizeof(body)));
	record(NET_HELLO, 1 | 8, 1, 1, body, net_handshake_write(&hs, body, sizeof(body))); /* sent long ago */
	record(NET_CONSENT, 2, 1, 1, body, net_handshake_write(&hs, body, sizeof(body)));
	record(NET_CHALLENGE, 3, 1, 1, body, 7);
	record(NET_CONSENT, 1, 1, 1, body, net_handshake_write(&hs, body, sizeof(body))); /* the sender's cookie */
	record(NET_CONSENT, 1 | 8, 0, 1, body, net_handshake_write(&hs, body, sizeof(body))); /* a replay */
	uint8_t kr2[8];
	record(NET_KEY_REQUEST, 1, 1, 1, kr2, net_key_request_write(&(struct net_key_request){100, 5}, kr2, sizeof(kr2)));
	record(NET_FRAME, 0, 1, 1, body, 40); /* sent on by the sender to its new destination */
	save(argv[1], "handshake.bin");
	/* Forgeries: a stream, then frames and an announce of a new epoch signed with another member's key, and a
	 * stale announce (a nonce not the receiver's). */
	out[used++] = 1;
	stream(0, 6, 99, 99, false);
	record(NET_ANNOUNCE, 0 | 4, 1, 2, body, announce(body, FUZZ_LATENT));
	record(NET_ANNOUNCE, 1 | 8, 1, 1, body, announce(body, FUZZ_LATENT));
	stream(2, 4, 99, 99, false);
	uint8_t frame_body[NET_DATAGRAM_MAX];
	struct net_fragment ff = {.sender_us = 3000000, .frame = 0x7fffff00u, .count = 1, .packet_size = 3,
	                          .data = (const uint8_t *)"abc", .size = 3};
	record(NET_FRAME, 2 | 4, 1, 1, frame_body, net_fragment_write(&ff, frame_body, sizeof(frame_body)));
	record(NET_LEAVE, 2 | 4, 1, 1, body, 0);
	save(argv[1], "forgeries.bin");
	/* Raw mode: a sealed announce as a datagram, then garbage. */
	out[used++] = 0;
	uint8_t key[NET_KEY_SIZE], dg[NET_DATAGRAM_MAX];
	net_key_derive(fuzz_secret, sizeof(fuzz_secret) - 1, "fuzz", key);
	struct net_header h = {.type = NET_ANNOUNCE, .sender = 1, .epoch = 1, .sequence = 0};
	fuzz_keys();
	size_t n = net_sign(sign_secret[0], dg, net_seal(key, &h, body, announce(body, FUZZ_LATENT), dg, sizeof(dg)),
	                    sizeof(dg));
	out[used++] = (uint8_t)n;
	out[used++] = (uint8_t)(n >> 8);
	memcpy(out + used, dg, n);
	used += n;
	out[used++] = 40;
	out[used++] = 0;
	uint8_t garbage[40] = {'c', 'v', NET_VERSION, NET_FRAME};
	for (int i = 4; i < 40; i++) garbage[i] = (uint8_t)(i * 13);
	memcpy(out + used, garbage, 40);
	used += 40;
	save(argv[1], "raw.bin");
	return 0;
}
#endif
