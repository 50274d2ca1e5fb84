/* Checksums for .cavrec files: CRC-32C over every chunk (detects corruption; not a defence against an attacker,
 * who could recompute it) and SHA-256, which names a participant's avatar file by content so a recording
 * played elsewhere finds the right file or says it is a different one. SHA-256 is libsodium's (linked for the
 * network already); CRC-32C (RFC 3720 appendix B.4), which no linked library offers, is the CPU's instruction
 * where there is one and tables otherwise. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "session/session.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

/* Slicing-by-8 tables for the reflected CRC-32C polynomial (0x82F63B78): eight bytes per step, several times
 * the speed of a byte at a time, which made the checksum the slowest part of reading a recording. Built once,
 * on first use, from any thread, which also picks the path session_crc32c takes. */
static uint32_t crc32c_tables[8][256];
static uint32_t (*crc32c_best)(uint32_t crc, const void *data, size_t size) = session_crc32c_table;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* SSE 4.2's crc32 computes exactly CRC-32C, eight bytes per instruction. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t size)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;
	for (; size && ((uintptr_t)p & 7); size--) c = _mm_crc32_u8((uint32_t)c, *p++);
	for (; size >= 8; p += 8, size -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	for (; size; size--) c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

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
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2")) crc32c_best = crc32c_sse42;
#endif
}

uint32_t session_crc32c(uint32_t crc, const void *data, size_t size)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_best(crc, data, size);
}

uint32_t session_crc32c_table(uint32_t crc, const void *data, size_t size)
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

void session_sha256_init(struct session_sha256 *h) { crypto_hash_sha256_init(&h->state); }

void session_sha256_update(struct session_sha256 *h, const void *data, size_t size)
{
	crypto_hash_sha256_update(&h->state, data, size);
}

void session_sha256_final(struct session_sha256 *h, uint8_t out[SESSION_HASH_SIZE])
{
	crypto_hash_sha256_final(&h->state, out);
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
