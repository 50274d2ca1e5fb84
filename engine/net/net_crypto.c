/* net: the meeting key, sealed and signed datagrams and replay windows (libsodium). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "net/net.h"

static bool sodium_ready(void)
{
	static int state; /* 0 untried, 1 ready, -1 failed */
	if (!state) state = sodium_init() >= 0 ? 1 : -1;
	return state > 0;
}

enum cv_result net_key_derive(const void *secret, size_t secret_size, const char *meeting, uint8_t key[NET_KEY_SIZE])
{
	if (!sodium_ready()) return CV_FAIL(CV_ERROR_UNSUPPORTED, "libsodium failed to initialise");
	if (!secret || secret_size < NET_MIN_SECRET)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "the meeting secret has %zu bytes; it needs at least %d random ones",
		               secret ? secret_size : 0, NET_MIN_SECRET);
	if (!meeting || !meeting[0] || strlen(meeting) > 255)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "a meeting needs a name of 1..255 bytes");
	/* The secret, of any length, becomes a BLAKE2b key; the meeting name, with a domain label, is hashed under
	 * it, so keys of different meetings or protocols never coincide. */
	uint8_t prk[crypto_generichash_KEYBYTES];
	crypto_generichash(prk, sizeof(prk), secret, secret_size, (const uint8_t *)"cavr meeting secret v1", 22);
	crypto_generichash_state st;
	crypto_generichash_init(&st, prk, sizeof(prk), NET_KEY_SIZE);
	crypto_generichash_update(&st, (const uint8_t *)"cavr meeting key v1", 20); /* with its NUL: a separator */
	crypto_generichash_update(&st, (const uint8_t *)meeting, strlen(meeting));
	crypto_generichash_final(&st, key, NET_KEY_SIZE);
	sodium_memzero(prk, sizeof(prk));
	return CV_OK;
}

enum cv_result net_secret_read(const char *path, uint8_t **secret, size_t *size)
{
	void *data;
	size_t n;
	*secret = NULL;
	*size = 0;
	CV_TRY(cv_file_read(path, &data, &n));
	uint8_t *s = data;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
	if (n < NET_MIN_SECRET) {
		free(data);
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "secret file '%s' holds %zu bytes; it needs at least %d random ones "
		               "(head -c 32 /dev/urandom | base64 > FILE)", path, n, NET_MIN_SECRET);
	}
	*secret = s;
	*size = n;
	return CV_OK;
}

void net_secret_free(uint8_t **secret, size_t size)
{
	if (*secret) sodium_memzero(*secret, size);
	free(*secret);
	*secret = NULL;
}

uint64_t net_new_epoch(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	uint16_t r = 0;
	if (sodium_ready()) randombytes_buf(&r, sizeof(r));
	return ms << 16 | r;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static void write_header(const struct net_header *h, uint8_t *out)
{
	out[0] = 'c';
	out[1] = 'v';
	out[2] = NET_VERSION;
	out[3] = h->type;
	put32(out + 4, h->sender);
	put64(out + 8, h->epoch);
	put64(out + 16, h->sequence);
}

/* Sender id, epoch and sequence: unique per datagram as long as sender ids are. */
static void nonce_of(const uint8_t *header, uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	memcpy(nonce, header + 4, 20);
}

size_t net_seal(const uint8_t key[NET_KEY_SIZE], const struct net_header *h, const void *body, size_t size,
                uint8_t *out, size_t capacity)
{
	if (!sodium_ready() || size > capacity || capacity - size < NET_HEADER_SIZE + NET_TAG_SIZE) return 0;
	write_header(h, out);
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	nonce_of(out, nonce);
	unsigned long long n = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NET_HEADER_SIZE, &n, body, size, out, NET_HEADER_SIZE, NULL,
	                                           nonce, key);
	return NET_HEADER_SIZE + (size_t)n;
}

bool net_signed_type(uint8_t type) { return type == NET_ANNOUNCE || type == NET_LEAVE || type == NET_FRAME; }

size_t net_sign(const uint8_t secret_key[64], uint8_t *datagram, size_t size, size_t capacity)
{
	if (!sodium_ready() || size > capacity || capacity - size < NET_SIGNATURE_SIZE) return 0;
	crypto_sign_detached(datagram + size, NULL, datagram, size, secret_key);
	return size + NET_SIGNATURE_SIZE;
}

bool net_verify(const uint8_t public_key[NET_SIGN_KEY_SIZE], const uint8_t *datagram, size_t size)
{
	if (!sodium_ready() || size < NET_HEADER_SIZE + NET_SIGNATURE_SIZE) return false;
	return crypto_sign_verify_detached(datagram + size - NET_SIGNATURE_SIZE, datagram, size - NET_SIGNATURE_SIZE,
	                                   public_key) == 0;
}

enum cv_result net_open(const uint8_t key[NET_KEY_SIZE], const uint8_t *datagram, size_t size, struct net_header *h,
                        uint8_t *body, size_t *body_size)
{
	/* Header checks only: failures here are not logged, a flood must not flood the log too. */
	*body_size = 0;
	if (size < NET_HEADER_SIZE + NET_TAG_SIZE || size > NET_DATAGRAM_MAX) return CV_ERROR_FORMAT;
	if (datagram[0] != 'c' || datagram[1] != 'v' || datagram[2] != NET_VERSION) return CV_ERROR_FORMAT;
	if (datagram[3] < NET_HELLO || datagram[3] > NET_CONSENT) return CV_ERROR_FORMAT;
	/* The signature, when the type has one, follows the tag: the AEAD covers what is before it. */
	if (net_signed_type(datagram[3])) {
		if (size < NET_HEADER_SIZE + NET_TAG_SIZE + NET_SIGNATURE_SIZE) return CV_ERROR_FORMAT;
		size -= NET_SIGNATURE_SIZE;
	}
	h->type = datagram[3];
	h->sender = get32(datagram + 4);
	h->epoch = get64(datagram + 8);
	h->sequence = get64(datagram + 16);
	if (!sodium_ready()) return CV_ERROR_UNSUPPORTED;
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	nonce_of(datagram, nonce);
	unsigned long long n = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(body, &n, NULL, datagram + NET_HEADER_SIZE, size - NET_HEADER_SIZE,
	                                               datagram, NET_HEADER_SIZE, nonce, key) != 0)
		return CV_ERROR_MISMATCH;
	*body_size = (size_t)n;
	return CV_OK;
}

enum net_replay_verdict net_replay_check(struct net_replay *w, uint64_t epoch, uint64_t sequence)
{
	enum net_replay_verdict fresh = NET_REPLAY_NEW;
	if (!w->started || epoch > w->epoch) {
		/* A sender's restart (or its first datagram): a new window. */
		fresh = w->started ? NET_REPLAY_NEW_EPOCH : NET_REPLAY_NEW;
		memset(w, 0, sizeof(*w));
		w->started = true;
		w->epoch = epoch;
		w->top = sequence;
		w->seen[0] = 1;
		return fresh;
	}
	if (epoch < w->epoch) return NET_REPLAY_OLD;
	if (sequence > w->top) {
		uint64_t shift = sequence - w->top;
		if (shift >= NET_REPLAY_WINDOW) memset(w->seen, 0, sizeof(w->seen));
		else {
			/* Shift the bitmap left by `shift` bits (bit i: sequence top - i). */
			size_t words = NET_REPLAY_WINDOW / 64, ws = (size_t)(shift / 64), bs = (size_t)(shift % 64);
			for (size_t i = words; i-- > 0;) {
				uint64_t v = i >= ws ? w->seen[i - ws] << bs : 0;
				if (bs && i >= ws + 1) v |= w->seen[i - ws - 1] >> (64 - bs);
				w->seen[i] = v;
			}
		}
		w->top = sequence;
		w->seen[0] |= 1;
		return NET_REPLAY_NEW;
	}
	uint64_t back = w->top - sequence;
	if (back >= NET_REPLAY_WINDOW) return NET_REPLAY_OLD;
	uint64_t bit = 1ull << (back % 64);
	if (w->seen[back / 64] & bit) return NET_REPLAY_DUPLICATE;
	w->seen[back / 64] |= bit;
	return NET_REPLAY_NEW;
}
