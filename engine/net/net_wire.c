/* net: message bodies. Parsers see bytes that authenticated, but a member's bug (or a member gone hostile) may
 * still send anything: every length and value is checked. Parse failures are counted by the caller, not logged. */
#include <string.h>

#include "net/net.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i);
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

size_t net_announce_write(const struct net_announce *a, uint8_t *out, size_t capacity)
{
	size_t name = strlen(a->name), file = strlen(a->avatar_file);
	if (name > SESSION_MAX_NAME || file > SESSION_MAX_PATH) return 0;
	size_t need = NET_NONCE_SIZE + NET_SIGN_KEY_SIZE + 8 + SESSION_HASH_SIZE + 1 + name + 2 + file;
	if (need > capacity) return 0;
	uint8_t *p = out;
	memcpy(p, a->nonce, NET_NONCE_SIZE);
	memcpy(p + NET_NONCE_SIZE, a->sign_key, NET_SIGN_KEY_SIZE);
	p += NET_NONCE_SIZE + NET_SIGN_KEY_SIZE;
	put32(p, a->avatar);
	put32(p + 4, a->latent);
	memcpy(p + 8, a->avatar_hash, SESSION_HASH_SIZE);
	p += 8 + SESSION_HASH_SIZE;
	*p++ = (uint8_t)name;
	memcpy(p, a->name, name);
	p += name;
	put16(p, (uint16_t)file);
	memcpy(p + 2, a->avatar_file, file);
	return need;
}

/* Text that is printed and used as a file name: no control characters (C0, DEL, C1: terminal escapes), no NUL. */
static bool clean_text(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cv_control_char_len(s + i, n - i)) return false;
	return true;
}

/* Relative, '/'-separated, no empty, "." or ".." parts, no backslashes: it is looked up on our disk. */
static bool safe_path(const char *p)
{
	if (!p[0] || p[0] == '/' || strchr(p, '\\')) return false;
	for (const char *part = p; *part;) {
		const char *end = strchr(part, '/');
		size_t n = end ? (size_t)(end - part) : strlen(part);
		if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.')) return false;
		part += n;
		if (*part == '/') part++;
		if (end && !*part) return false; /* trailing slash */
	}
	return true;
}

enum cv_result net_announce_parse(const uint8_t *body, size_t size, struct net_announce *out)
{
	memset(out, 0, sizeof(*out));
	if (size < NET_NONCE_SIZE + NET_SIGN_KEY_SIZE + 8 + SESSION_HASH_SIZE + 1 + 2) return CV_ERROR_FORMAT;
	memcpy(out->nonce, body, NET_NONCE_SIZE);
	memcpy(out->sign_key, body + NET_NONCE_SIZE, NET_SIGN_KEY_SIZE);
	body += NET_NONCE_SIZE + NET_SIGN_KEY_SIZE;
	size -= NET_NONCE_SIZE + NET_SIGN_KEY_SIZE;
	out->avatar = get32(body);
	out->latent = get32(body + 4);
	if (out->latent < 1 || out->latent > CODEC_MAX_LATENT) return CV_ERROR_FORMAT;
	memcpy(out->avatar_hash, body + 8, SESSION_HASH_SIZE);
	size_t at = 8 + SESSION_HASH_SIZE;
	size_t name = body[at++];
	if (size - at < name + 2 || !clean_text(body + at, name)) return CV_ERROR_FORMAT;
	memcpy(out->name, body + at, name);
	at += name;
	size_t file = get16(body + at);
	at += 2;
	if (file > SESSION_MAX_PATH || size - at != file || !clean_text(body + at, file)) return CV_ERROR_FORMAT;
	memcpy(out->avatar_file, body + at, file);
	if (!safe_path(out->avatar_file)) return CV_ERROR_FORMAT;
	return CV_OK;
}

size_t net_fragment_write(const struct net_fragment *f, uint8_t *out, size_t capacity)
{
	if (capacity < NET_FRAME_HEADER || capacity - NET_FRAME_HEADER < f->size) return 0;
	put64(out, f->sender_us);
	put32(out + 8, f->frame);
	put16(out + 12, f->index);
	put16(out + 14, f->count);
	put32(out + 16, f->packet_size);
	if (f->size) memcpy(out + NET_FRAME_HEADER, f->data, f->size);
	return NET_FRAME_HEADER + f->size;
}

enum cv_result net_fragment_parse(const uint8_t *body, size_t size, struct net_fragment *out)
{
	memset(out, 0, sizeof(*out));
	if (size < NET_FRAME_HEADER) return CV_ERROR_FORMAT;
	out->sender_us = get64(body);
	out->frame = get32(body + 8);
	out->index = get16(body + 12);
	out->count = get16(body + 14);
	out->packet_size = get32(body + 16);
	out->data = body + NET_FRAME_HEADER;
	out->size = size - NET_FRAME_HEADER;
	/* One way to split a packet: full fragments, then the rest. Anything else is inconsistent. */
	if (out->sender_us > (uint64_t)INT64_MAX / 2) return CV_ERROR_FORMAT;
	if (out->packet_size < 1 || out->packet_size > NET_MAX_MESSAGE) return CV_ERROR_FORMAT;
	uint32_t count = (out->packet_size + NET_FRAGMENT_DATA - 1) / NET_FRAGMENT_DATA;
	if (out->count != count || out->index >= count) return CV_ERROR_FORMAT;
	size_t expect = out->index + 1u < count ? NET_FRAGMENT_DATA
	                                        : out->packet_size - (size_t)(count - 1) * NET_FRAGMENT_DATA;
	if (out->size != expect) return CV_ERROR_FORMAT;
	return CV_OK;
}

size_t net_key_request_write(const struct net_key_request *k, uint8_t *out, size_t capacity)
{
	if (capacity < 8) return 0;
	put32(out, k->participant);
	put32(out + 4, k->next_frame);
	return 8;
}

enum cv_result net_key_request_parse(const uint8_t *body, size_t size, struct net_key_request *out)
{
	if (size != 8) return CV_ERROR_FORMAT;
	out->participant = get32(body);
	out->next_frame = get32(body + 4);
	return CV_OK;
}

void net_hello_stamp(struct net_handshake *h, int64_t unix_ms) { put64(h->cookie, (uint64_t)unix_ms); }
int64_t net_hello_time(const struct net_handshake *h) { return (int64_t)get64(h->cookie); }

size_t net_handshake_write(const struct net_handshake *h, uint8_t *out, size_t capacity)
{
	if (capacity < NET_HANDSHAKE_BODY) return 0;
	memcpy(out, h->cookie, NET_NONCE_SIZE);
	memcpy(out + NET_NONCE_SIZE, h->nonce, NET_NONCE_SIZE);
	return NET_HANDSHAKE_BODY;
}

enum cv_result net_handshake_parse(const uint8_t *body, size_t size, struct net_handshake *out)
{
	if (size != NET_HANDSHAKE_BODY) return CV_ERROR_FORMAT;
	memcpy(out->cookie, body, NET_NONCE_SIZE);
	memcpy(out->nonce, body + NET_NONCE_SIZE, NET_NONCE_SIZE);
	return CV_OK;
}
