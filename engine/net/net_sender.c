/* net: the sending side of one participant. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

#define SUBSCRIBER_TIMEOUT_US (3 * (int64_t)NET_HELLO_MS * 1000 + 2000000)

struct destination {
	struct net_addr addr;
	int64_t last_hello_us; /* 0: a configured peer, never expires */
};

struct net_sender {
	struct net_sender_desc desc;
	uint8_t key[NET_KEY_SIZE];
	struct net_socket sock;
	uint64_t epoch, sequence;
	uint32_t frame;
	struct net_announce announce;
	struct destination dest[NET_MAX_DESTINATIONS];
	uint32_t dest_count;
	int64_t next_announce_us;
	bool key_requested;
	struct net_replay replay[NET_MAX_DESTINATIONS]; /* per receiver id, matched by slot below */
	uint32_t replay_id[NET_MAX_DESTINATIONS];
	uint32_t replay_count;
	struct net_sender_stats stats;
	uint8_t datagram[NET_DATAGRAM_MAX], body[NET_DATAGRAM_MAX];
};

static int64_t now_us(const struct net_sender *s)
{
	return s->desc.clock_us ? s->desc.clock_us(s->desc.clock_user) : net_now_us();
}

/* Seals a body once and sends it to every destination (or one). */
static void send_body(struct net_sender *s, uint8_t type, const uint8_t *body, size_t size,
                      const struct net_addr *only)
{
	struct net_header h = {.type = type, .sender = s->desc.participant, .epoch = s->epoch, .sequence = s->sequence++};
	size_t n = net_seal(s->key, &h, body, size, s->datagram, sizeof(s->datagram));
	if (!n) return;
	for (uint32_t i = 0; i < (only ? 1 : s->dest_count); i++) {
		if (!net_socket_send(&s->sock, only ? only : &s->dest[i].addr, s->datagram, n)) s->stats.send_failures++;
		s->stats.datagrams++;
		s->stats.bytes += n;
	}
}

static void send_announce(struct net_sender *s, const struct net_addr *only)
{
	size_t n = net_announce_write(&s->announce, s->body, sizeof(s->body));
	if (n) send_body(s, NET_ANNOUNCE, s->body, n, only);
	s->stats.announces++;
}

enum cv_result net_sender_create(const struct net_sender_desc *desc, struct net_sender **out)
{
	*out = NULL;
	if (!desc || !desc->latent || desc->latent > CODEC_MAX_LATENT)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net sender: latent size 1..%d needed", CODEC_MAX_LATENT);
	if (desc->participant & 0x80000000u)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net sender: participant ids are below 2^31 (receivers use the rest)");
	if (desc->peer_count > NET_MAX_DESTINATIONS)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net sender: at most %d peers", NET_MAX_DESTINATIONS);
	struct net_sender *s = calloc(1, sizeof(*s));
	if (!s) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "net sender");
	s->desc = *desc;
	s->sock.fd = -1;
	enum cv_result r = net_key_derive(desc->secret, desc->secret_size, desc->meeting, s->key);
	s->announce = (struct net_announce){.avatar = desc->avatar, .latent = desc->latent};
	memcpy(s->announce.avatar_hash, desc->avatar_hash, SESSION_HASH_SIZE);
	snprintf(s->announce.name, sizeof(s->announce.name), "%s", desc->name ? desc->name : "");
	snprintf(s->announce.avatar_file, sizeof(s->announce.avatar_file), "%s", desc->avatar_file ? desc->avatar_file : "");
	uint8_t probe[NET_DATAGRAM_MAX];
	if (r == CV_OK && net_announce_parse(probe, net_announce_write(&s->announce, probe, sizeof(probe)),
	                                     &(struct net_announce){0}) != CV_OK)
		r = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net sender: name '%s' or avatar file '%s' cannot be announced "
		            "(control characters, an absolute path or '..')", s->announce.name, s->announce.avatar_file);
	int family = AF_INET;
	for (size_t i = 0; r == CV_OK && i < desc->peer_count; i++) {
		r = net_addr_parse(desc->peers[i], &s->dest[i].addr);
		if (r == CV_OK && s->dest[i].addr.ss.ss_family == AF_INET6) family = AF_INET6;
		s->dest_count++;
	}
	if (r == CV_OK) {
		struct net_addr bind;
		if (desc->listen) r = net_addr_parse(desc->listen, &bind);
		if (r == CV_OK) r = net_socket_open(desc->listen ? &bind : NULL, family, &s->sock);
		if (r == CV_OK && s->sock.family == AF_INET && family == AF_INET6)
			r = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net sender: IPv6 peers need an IPv6 --listen address");
	}
	if (r != CV_OK) {
		net_sender_destroy(&s);
		return r;
	}
	s->epoch = net_new_epoch();
	send_announce(s, NULL);
	s->next_announce_us = now_us(s) + NET_ANNOUNCE_MS * 1000;
	*out = s;
	return CV_OK;
}

void net_sender_destroy(struct net_sender **sp)
{
	struct net_sender *s = *sp;
	if (!s) return;
	if (s->sock.fd >= 0) {
		/* Twice: a lost goodbye would leave receivers waiting for the timeout. */
		send_body(s, NET_LEAVE, NULL, 0, NULL);
		send_body(s, NET_LEAVE, NULL, 0, NULL);
	}
	net_socket_close(&s->sock);
	sodium_memzero(s->key, sizeof(s->key));
	free(s);
	*sp = NULL;
}

enum cv_result net_sender_send(struct net_sender *s, const void *packet, size_t size, int64_t sender_us)
{
	if (!size || size > NET_MAX_MESSAGE)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "net: a packet of %zu bytes (1..%d can be sent)", size, NET_MAX_MESSAGE);
	if (sender_us < 0) sender_us = now_us(s);
	uint16_t count = (uint16_t)((size + NET_FRAGMENT_DATA - 1) / NET_FRAGMENT_DATA);
	for (uint16_t i = 0; i < count; i++) {
		size_t at = (size_t)i * NET_FRAGMENT_DATA, n = size - at < NET_FRAGMENT_DATA ? size - at : NET_FRAGMENT_DATA;
		struct net_fragment f = {.sender_us = (uint64_t)sender_us, .frame = s->frame, .index = i, .count = count,
		                         .packet_size = (uint32_t)size, .data = (const uint8_t *)packet + at, .size = n};
		size_t b = net_fragment_write(&f, s->body, sizeof(s->body));
		send_body(s, NET_FRAME, s->body, b, NULL);
	}
	s->frame++;
	s->stats.frames++;
	return CV_OK;
}

static struct net_replay *replay_of(struct net_sender *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->replay_count; i++)
		if (s->replay_id[i] == id) return &s->replay[i];
	/* Full: reuse a slot round-robin (an old receiver's window is forgotten; its replays could repeat a key frame
	 * request or a HELLO, both harmless). */
	uint32_t i = s->replay_count < NET_MAX_DESTINATIONS ? s->replay_count++ : (uint32_t)(s->stats.hellos % NET_MAX_DESTINATIONS);
	s->replay_id[i] = id;
	memset(&s->replay[i], 0, sizeof(s->replay[i]));
	return &s->replay[i];
}

static void add_subscriber(struct net_sender *s, const struct net_addr *from, int64_t now)
{
	for (uint32_t i = 0; i < s->dest_count; i++)
		if (net_addr_equal(&s->dest[i].addr, from)) {
			if (s->dest[i].last_hello_us) s->dest[i].last_hello_us = now;
			return;
		}
	if (s->dest_count == NET_MAX_DESTINATIONS) return;
	s->dest[s->dest_count++] = (struct destination){.addr = *from, .last_hello_us = now};
	/* A new receiver: it needs to know us and a key frame to start from. */
	send_announce(s, from);
	s->key_requested = true;
}

enum cv_result net_sender_poll(struct net_sender *s, bool *key_requested)
{
	int64_t now = now_us(s);
	uint8_t in[NET_DATAGRAM_MAX + 1];
	for (int i = 0; i < 256; i++) {
		size_t n;
		struct net_addr from;
		CV_TRY(net_socket_recv(&s->sock, in, sizeof(in), &n, &from, NULL));
		if (!n) break;
		struct net_header h;
		size_t body_size;
		if (net_open(s->key, in, n, &h, in + NET_HEADER_SIZE, &body_size) != CV_OK || h.sender == s->desc.participant) {
			s->stats.rejected++;
			continue;
		}
		enum net_replay_verdict v = net_replay_check(replay_of(s, h.sender), h.epoch, h.sequence);
		if (v == NET_REPLAY_DUPLICATE || v == NET_REPLAY_OLD) {
			s->stats.rejected++;
			continue;
		}
		struct net_key_request k;
		if (h.type == NET_HELLO && body_size == 0) {
			s->stats.hellos++;
			add_subscriber(s, &from, now);
		} else if (h.type == NET_KEY_REQUEST && net_key_request_parse(in + NET_HEADER_SIZE, body_size, &k) == CV_OK) {
			if (k.participant == s->desc.participant) {
				s->stats.key_requests++;
				s->key_requested = true;
			}
		}
		/* Announces and frames of other members (a mesh) are not ours to handle. */
	}
	/* Receivers that stopped saying HELLO have gone. */
	for (uint32_t i = 0; i < s->dest_count;)
		if (s->dest[i].last_hello_us && now - s->dest[i].last_hello_us > SUBSCRIBER_TIMEOUT_US)
			s->dest[i] = s->dest[--s->dest_count];
		else
			i++;
	if (now >= s->next_announce_us) {
		send_announce(s, NULL);
		s->next_announce_us = now + NET_ANNOUNCE_MS * 1000;
	}
	if (key_requested) *key_requested = s->key_requested;
	s->key_requested = false;
	return CV_OK;
}

void net_sender_stats(const struct net_sender *s, struct net_sender_stats *out)
{
	*out = s->stats;
	out->destinations = s->dest_count;
}

const struct net_addr *net_sender_local(const struct net_sender *s) { return &s->sock.local; }
