/* libFuzzer entry point for the .cavrec reader: any bytes must open or fail with a result, never crash, leak,
 * read outside the buffer or hand out a packet that breaks the reader's promises (time order, a named
 * participant, bounded size, seek lands at or after its time).
 *   clang-14 -fsanitize=fuzzer,address,undefined -Iengine ... tests/fuzz/fuzz_cavrec.c \
 *       engine/session/cavrec.c engine/session/checksum.c engine/core/core.c
 *   ./fuzz_cavrec tests/fuzz/corpus/cavrec
 * Every chunk is checksummed, so almost every mutation would stop at a checksum: each input is also read a
 * second time with its checksums recomputed, which lets the fuzzer reach the parsers behind them without the
 * reader having a fuzzing mode. Without libFuzzer, tests/fuzz/fuzz_main.c replays files through it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "session/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the header, chunk and trailer checksums (cavrec-format.md) to match the bytes they cover. */
static void fix_checksums(uint8_t *d, size_t size)
{
	if (size < 32) return;
	uint64_t header = get_le(d + 12, 4);
	if (header >= 32 && header <= size) put_le(d + header - 4, session_crc32c(0, d, header - 4), 4);
	else header = 32;
	for (size_t off = header; off + 48 <= size;) {
		if (get_le(d + off, 4) != 0x4b435643u) {
			off++;
			continue;
		}
		uint64_t payload = get_le(d + off + 12, 4);
		if (payload <= size - off - 48) put_le(d + off + 40, session_crc32c(0, d + off + 48, payload), 4);
		put_le(d + off + 44, session_crc32c(0, d + off, 44), 4);
		off += 48 + (payload <= size - off - 48 ? payload : 0);
	}
	if (size >= 16 && get_le(d + size - 8, 4) == 0x58495643u)
		put_le(d + size - 4, session_crc32c(0, d + size - 16, 12), 4);
}

static void check_packet(struct session_reader *r, const struct session_packet *p, int64_t *last)
{
	/* Promises of session.h: a failure here is a reader bug, so stop loudly. */
	if (p->time_us < *last || p->time_us > SESSION_MAX_TIME_US || p->size > SESSION_MAX_PACKET ||
	    !session_reader_find_participant(r, p->participant))
		abort();
	*last = p->time_us;
	volatile uint8_t sink = 0;
	if (p->size) sink ^= p->data[0] ^ p->data[p->size - 1];
	(void)sink;
}

static void read_recording(const uint8_t *data, size_t size)
{
	struct session_reader *r = NULL;
	if (session_reader_open_memory(data, size, &r) != CV_OK) return;
	struct session_info info;
	session_reader_info(r, &info);
	volatile size_t sink = 0;
	for (size_t i = 0; i < info.participant_count; i++) {
		const struct session_participant *p = session_reader_participant(r, i);
		sink += strlen(p->name) + strlen(p->avatar_path) + p->avatar_hash[SESSION_HASH_SIZE - 1];
		if (session_reader_find_participant(r, p->id) != p) abort();
	}
	struct session_packet p;
	bool got;
	int64_t last = 0;
	while (session_reader_next(r, &p, &got) == CV_OK && got) check_packet(r, &p, &last);
	/* Seeks to times taken from the input, a few packets each. */
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
		int64_t t = (int64_t)(get_le(data + size - 8 - i, 8) % (uint64_t)(info.end_us + 2));
		if (session_reader_seek(r, t) != CV_OK) abort();
		last = t;
		for (int k = 0; k < 3 && session_reader_next(r, &p, &got) == CV_OK && got; k++)
			check_packet(r, &p, &last);
	}
	for (size_t i = 0; i < session_reader_damage_count(r); i++) {
		const struct session_damage *d = session_reader_damage(r, i);
		if (d->offset > size || d->size > size - d->offset) abort();
	}
	(void)sink;
	session_reader_destroy(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Levels above error silence the log: every rejected input would print a line. The messages are still
	 * formatted, so bad format arguments are still found. */
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	read_recording(data, size);
	if (!size) return 0;
	uint8_t *fixed = malloc(size);
	if (!fixed) return 0;
	memcpy(fixed, data, size);
	fix_checksums(fixed, size);
	if (memcmp(fixed, data, size)) read_recording(fixed, size);
	free(fixed);
	return 0;
}
