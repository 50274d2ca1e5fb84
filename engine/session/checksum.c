/* Checksums for .cavrec files: CRC-32C over every chunk (detects corruption; not a defence against an attacker,
 * who could recompute it) and SHA-256, which names a participant's avatar file by content so a recording
 * played elsewhere finds the right file or says it is a different one. Both written from their specifications
 * (RFC 3720 appendix B.4 for CRC-32C, FIPS 180-4 for SHA-256) so the session module needs no library. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "session/session.h"

/* Slicing-by-8 tables for the reflected CRC-32C polynomial (0x82F63B78): eight bytes per step, several times
 * the speed of a byte at a time, which made the checksum the slowest part of reading a recording. Built once,
 * on first use, from any thread. */
static uint32_t crc32c_tables[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_tables[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++) {
			uint32_t prev = crc32c_tables[t - 1][i];
			crc32c_tables[t][i] = (prev >> 8) ^ crc32c_tables[0][prev & 0xff];
		}
}

uint32_t session_crc32c(uint32_t crc, const void *data, size_t size)
{
	pthread_once(&crc32c_once, crc32c_init);
	uint32_t(*t)[256] = crc32c_tables;
	const uint8_t *p = data;
	crc = ~crc;
	for (; size >= 8; p += 8, size -= 8) {
		crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^ t[4][crc >> 24] ^
		      t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
	}
	while (size--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t s[8], const uint8_t b[64])
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
		       b[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = s[0], bb = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 =
			h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = bb;
		bb = a;
		a = t1 + t2;
	}
	s[0] += a;
	s[1] += bb;
	s[2] += c;
	s[3] += d;
	s[4] += e;
	s[5] += f;
	s[6] += g;
	s[7] += h;
}

void session_sha256_init(struct session_sha256 *h)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	*h = (struct session_sha256){0};
	memcpy(h->state, iv, sizeof(iv));
}

void session_sha256_update(struct session_sha256 *h, const void *data, size_t size)
{
	const uint8_t *p = data;
	h->length += size;
	while (size) {
		size_t n = 64 - h->used < size ? 64 - h->used : size;
		memcpy(h->block + h->used, p, n);
		h->used += n;
		p += n;
		size -= n;
		if (h->used == 64) {
			sha256_block(h->state, h->block);
			h->used = 0;
		}
	}
}

void session_sha256_final(struct session_sha256 *h, uint8_t out[SESSION_HASH_SIZE])
{
	uint64_t bits = h->length * 8;
	uint8_t pad[72] = {0x80};
	/* Pad to 56 mod 64, then the message length in bits, big-endian. */
	size_t padding = (h->used < 56 ? 56 : 120) - h->used;
	for (int i = 0; i < 8; i++) pad[padding + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
	session_sha256_update(h, pad, padding + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h->state[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h->state[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h->state[i] >> 8);
		out[4 * i + 3] = (uint8_t)h->state[i];
	}
}

enum cv_result session_hash_file(const char *path, uint8_t out[SESSION_HASH_SIZE])
{
	int fd;
	CV_TRY(cv_file_open_regular(path, SESSION_MAX_AVATAR_BYTES, 0, &fd, NULL));
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return CV_FAIL(CV_ERROR_IO, "cannot read '%s': %s", path, strerror(errno));
	}
	struct session_sha256 h;
	session_sha256_init(&h);
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) session_sha256_update(&h, buf, n);
	int failed = ferror(f);
	fclose(f);
	if (failed) return CV_FAIL(CV_ERROR_IO, "cannot read '%s'", path);
	session_sha256_final(&h, out);
	return CV_OK;
}
