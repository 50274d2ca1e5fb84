/* net: the sending side of one participant. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/* A receiver that answered our challenge from its address: it gets the stream until its consent expires. */
struct destination {
	struct net_addr addr;
	uint32_t receiver;                  /* its id */
	int64_t consent_us;                 /* when it last proved it holds the key and receives here */
	uint8_t nonce[NET_NONCE_SIZE];      /* its latest nonce: our announces to it answer this */
	struct net_replay replay;           /* its CONSENTs and key requests */
};

struct net_sender {
	struct net_sender_desc desc;
	uint8_t key[NET_KEY_SIZE];
	uint8_t cookie_key[crypto_generichash_KEYBYTES]; /* random per run: cookies of another run are worthless */
	uint8_t sign_public[NET_SIGN_KEY_SIZE], sign_secret[crypto_sign_SECRETKEYBYTES];
	struct net_socket sock;
	uint64_t epoch, sequence;
	uint32_t frame;
	struct net_announce announce;
	struct net_addr peers[NET_MAX_DESTINATIONS]; /* configured: challenged, streamed to only after consent */
	uint32_t peer_count;
	struct destination dest[NET_MAX_DESTINATIONS];
	uint32_t dest_count;
	int64_t next_announce_us, next_probe_us;
	bool key_requested;
	struct net_sender_stats stats;
	uint8_t datagram[NET_DATAGRAM_MAX], body[NET_DATAGRAM_MAX];
};

static int64_t now_us(const struct net_sender *s)
{
	return s->desc.clock_us ? s->desc.clock_us(s->desc.clock_user) : net_now_us();
}

/* Seals a body once (signing the stream's types) and sends it to every destination, or to one address. */
static void send_body(struct net_sender *s, uint8_t type, const uint8_t *body, size_t size,
                      const struct net_addr *only)
{
	if (!only && !s->dest_count) return; /* nobody has consented yet: no sealing, no signature */
	struct net_header h = {.type = type, .sender = s->desc.participant, .epoch = s->epoch, .sequence = s->sequence++};
	size_t n = net_seal(s->key, &h, body, size, s->datagram, sizeof(s->datagram));
	if (n && net_signed_type(type)) n = net_sign(s->sign_secret, s->datagram, n, sizeof(s->datagram));
	if (!n) return;
	for (uint32_t i = 0; i < (only ? 1 : s->dest_count); i++) {
		if (!net_socket_send(&s->sock, only ? only : &s->dest[i].addr, s->datagram, n)) s->stats.send_failures++;
		s->stats.datagrams++;
		s->stats.bytes += n;
	}
}

/* Announces answer each receiver's own nonce, so they are sealed per destination. */
static void send_announce(struct net_sender *s, const struct destination *d)
{
	memcpy(s->announce.nonce, d->nonce, NET_NONCE_SIZE);
	size_t n = net_announce_write(&s->announce, s->body, sizeof(s->body));
	if (n) send_body(s, NET_ANNOUNCE, s->body, n, &d->addr);
	s->stats.announces++;
}

/* Keyed with this run's random key over the address and the time bucket: only who receives at `to` learns it,
 * and we need to remember nothing until it comes back. */
static void cookie_at(const struct net_sender *s, const struct net_addr *to, int64_t bucket,
                      uint8_t cookie[NET_NONCE_SIZE])
{
	char text[96];
	net_addr_format(to, text, sizeof(text));
	uint8_t b[8];
	for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)bucket >> 8 * i);
	crypto_generichash_state st;
	crypto_generichash_init(&st, s->cookie_key, sizeof(s->cookie_key), NET_NONCE_SIZE);
	crypto_generichash_update(&st, b, sizeof(b));
	crypto_generichash_update(&st, (const uint8_t *)text, strlen(text));
	crypto_generichash_final(&st, cookie, NET_NONCE_SIZE);
}

static int64_t bucket_of(int64_t now) { return now / (NET_COOKIE_MS * 1000); }

void net_sender_cookie(const struct net_sender *s, const struct net_addr *to, uint8_t cookie[NET_NONCE_SIZE])
{
	cookie_at(s, to, bucket_of(now_us(s)), cookie);
}

static void send_challenge(struct net_sender *s, const struct net_addr *to, int64_t now)
{
	struct net_handshake hs = {0};
	cookie_at(s, to, bucket_of(now), hs.cookie);
	uint8_t body[NET_HANDSHAKE_BODY];
	send_body(s, NET_CHALLENGE, body, net_handshake_write(&hs, body, sizeof(body)), to);
	s->stats.challenges++;
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
	if (r == CV_OK) {
		randombytes_buf(s->cookie_key, sizeof(s->cookie_key));
		crypto_sign_keypair(s->sign_public, s->sign_secret);
		memcpy(s->announce.sign_key, s->sign_public, NET_SIGN_KEY_SIZE);
	}
	s->announce.avatar = desc->avatar;
	s->announce.latent = desc->latent;
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
		r = net_addr_parse(desc->peers[i], &s->peers[i]);
		if (r == CV_OK && s->peers[i].ss.ss_family == AF_INET6) family = AF_INET6;
		s->peer_count++;
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
	s->next_announce_us = s->next_probe_us = now_us(s); /* the first poll challenges the peers */
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
	sodium_memzero(s->sign_secret, sizeof(s->sign_secret));
	sodium_memzero(s->cookie_key, sizeof(s->cookie_key));
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

static struct destination *find_destination(struct net_sender *s, const struct net_addr *a)
{
	for (uint32_t i = 0; i < s->dest_count; i++)
		if (net_addr_equal(&s->dest[i].addr, a)) return &s->dest[i];
	return NULL;
}

/* A CONSENT: the address holds the key and received our challenge (this bucket's or the last one's). */
static void on_consent(struct net_sender *s, const struct net_header *h, const struct net_handshake *hs,
                       const struct net_addr *from, int64_t now)
{
	uint8_t want[NET_NONCE_SIZE], before[NET_NONCE_SIZE];
	cookie_at(s, from, bucket_of(now), want);
	cookie_at(s, from, bucket_of(now) - 1, before);
	if (sodium_memcmp(hs->cookie, want, NET_NONCE_SIZE) && sodium_memcmp(hs->cookie, before, NET_NONCE_SIZE)) {
		s->stats.refused++;
		return;
	}
	struct destination *d = find_destination(s, from);
	bool fresh = !d;
	if (fresh) {
		if (s->dest_count == NET_MAX_DESTINATIONS) {
			s->stats.refused++; /* a slot frees when a destination's consent expires; none is taken over */
			return;
		}
		d = &s->dest[s->dest_count++];
		memset(d, 0, sizeof(*d));
		d->addr = *from;
	}
	enum net_replay_verdict v = net_replay_check(&d->replay, h->epoch, h->sequence);
	if (v == NET_REPLAY_DUPLICATE || v == NET_REPLAY_OLD) {
		s->stats.rejected++;
		return;
	}
	/* A receiver restarted at the same address (a new id or run) needs us announced and a key frame, too. */
	fresh |= d->receiver != h->sender || v == NET_REPLAY_NEW_EPOCH;
	d->receiver = h->sender;
	d->consent_us = now;
	memcpy(d->nonce, hs->nonce, NET_NONCE_SIZE);
	s->stats.consents++;
	if (fresh) {
		/* A new receiver: it needs to know us and a key frame to start from. */
		send_announce(s, d);
		s->key_requested = true;
	}
}

static void input_at(struct net_sender *s, const uint8_t *datagram, size_t size, const struct net_addr *from,
                     int64_t now)
{
	struct net_header h;
	size_t body_size;
	uint8_t body[NET_DATAGRAM_MAX];
	if (net_open(s->key, datagram, size, &h, body, &body_size) != CV_OK || h.sender == s->desc.participant) {
		s->stats.rejected++;
		return;
	}
	struct net_handshake hs;
	struct net_key_request k;
	if (h.type == NET_HELLO && net_handshake_parse(body, body_size, &hs) == CV_OK) {
		/* No state, and a reply no larger than the HELLO: a replayed one from anywhere gains nothing; an old one
		 * (a receiver long gone) gets no reply at all. */
		int64_t skew = net_hello_time(&hs) - net_realtime_us() / 1000;
		if (skew < -NET_HELLO_WINDOW_MS || skew > NET_HELLO_WINDOW_MS) {
			s->stats.stale_hellos++;
			return;
		}
		s->stats.hellos++;
		send_challenge(s, from, now);
	} else if (h.type == NET_CONSENT && net_handshake_parse(body, body_size, &hs) == CV_OK) {
		on_consent(s, &h, &hs, from, now);
	} else if (h.type == NET_KEY_REQUEST && net_key_request_parse(body, body_size, &k) == CV_OK) {
		/* Only from a destination, in its window: a replayed request repeats nothing. */
		struct destination *d = find_destination(s, from);
		enum net_replay_verdict v = d && d->receiver == h.sender ? net_replay_check(&d->replay, h.epoch, h.sequence)
		                                                          : NET_REPLAY_OLD;
		if (v == NET_REPLAY_DUPLICATE || v == NET_REPLAY_OLD) s->stats.rejected++;
		else if (k.participant == s->desc.participant) {
			s->stats.key_requests++;
			s->key_requested = true;
		}
	}
	/* Announces, frames and challenges of other members (a mesh) are not ours to handle. */
}

void net_sender_input(struct net_sender *s, const uint8_t *datagram, size_t size, const struct net_addr *from)
{
	input_at(s, datagram, size, from, now_us(s));
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
		input_at(s, in, n, &from, now);
	}
	/* Destinations that stopped answering have gone (or never were where they said). */
	for (uint32_t i = 0; i < s->dest_count;)
		if (now - s->dest[i].consent_us > NET_CONSENT_MS * 1000) s->dest[i] = s->dest[--s->dest_count];
		else i++;
	if (now >= s->next_probe_us) {
		/* Configured peers learn of us this way; destinations renew their consent by answering. */
		for (uint32_t i = 0; i < s->dest_count; i++) send_challenge(s, &s->dest[i].addr, now);
		for (uint32_t i = 0; i < s->peer_count; i++)
			if (!find_destination(s, &s->peers[i])) send_challenge(s, &s->peers[i], now);
		s->next_probe_us = now + NET_HELLO_MS * 1000;
	}
	if (now >= s->next_announce_us) {
		for (uint32_t i = 0; i < s->dest_count; i++) send_announce(s, &s->dest[i]);
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
