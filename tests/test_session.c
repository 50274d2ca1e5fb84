/* Recorded sessions (.cavrec): round trips with a participant joining mid-session, seeking, a recording cut
 * off at every byte, writers killed with SIGKILL while writing, a flipped byte anywhere, hostile files built
 * by hand from cavrec-format.md, and the `cavr rec` cut and merge commands. Files go to a fresh folder under
 * $TMPDIR (or /tmp) that is removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/rec_cli.h"
#include "core/core.h"
#include "session/session.h"
#include "test.h"

static char tmp_dir[512];

static const char *tmp_path(const char *name)
{
	static char paths[8][640];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmp_dir, name);
	return p;
}

/* Expected failures log errors by design; tests silence the log around them. */
static void quiet(bool on) { cv_log_set_level(on ? (enum cv_log_level)(CV_LOG_ERROR + 1) : CV_LOG_WARN); }

/* ---- packets generated from a seed, compared through a digest of their bytes ---- */

struct pkt {
	int64_t t;
	uint32_t who, kind;
	uint32_t size;
	uint32_t crc; /* of the bytes */
};

static void pkt_bytes(uint32_t seed, uint32_t size, uint8_t *out)
{
	for (uint32_t j = 0; j < size; j++) out[j] = (uint8_t)(seed * 131u + j * 7u + (j >> 3));
}

static struct pkt make_pkt(int64_t t, uint32_t who, uint32_t kind, uint32_t size, uint32_t seed, uint8_t *buf)
{
	pkt_bytes(seed, size, buf);
	return (struct pkt){.t = t, .who = who, .kind = kind, .size = size, .crc = session_crc32c(0, buf, size)};
}

static struct pkt from_packet(const struct session_packet *p)
{
	return (struct pkt){.t = p->time_us, .who = p->participant, .kind = p->kind, .size = (uint32_t)p->size,
	                    .crc = session_crc32c(0, p->data, p->size)};
}

static bool pkt_eq(const struct pkt *a, const struct pkt *b)
{
	return a->t == b->t && a->who == b->who && a->kind == b->kind && a->size == b->size && a->crc == b->crc;
}

struct pkts {
	struct pkt *v;
	size_t n, cap;
};

static void pkts_push(struct pkts *l, struct pkt p)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) abort();
	}
	l->v[l->n++] = p;
}

static void read_rest(struct session_reader *r, struct pkts *out)
{
	out->n = 0;
	for (;;) {
		struct session_packet p;
		bool got;
		if (session_reader_next(r, &p, &got) != CV_OK || !got) break;
		pkts_push(out, from_packet(&p));
	}
}

static bool pkts_eq(const struct pkts *a, const struct pkt *b, size_t n)
{
	if (a->n != n) return false;
	for (size_t i = 0; i < n; i++)
		if (!pkt_eq(&a->v[i], &b[i])) return false;
	return true;
}

/* ---- a meeting: three participants from the start, a fourth joining at 2 s ---- */

static const struct session_participant meeting_people[] = {
	{.id = 1, .name = "Ada", .avatar_path = "avatars/ada.cavatar", .avatar_hash = {1, 2, 3}},
	{.id = 2, .name = "Bo", .avatar_path = "avatars/bo.cavatar", .avatar_hash = {0xaa, 0xbb}},
	{.id = 7, .name = "", .avatar_path = "", .avatar_hash = {0}},
};
static const struct session_participant late_joiner = {.id = 9, .name = "Cy (late)", .avatar_path = "c.cavatar",
                                                       .avatar_hash = {9, 9, 9}};

/* Where the writer's chunks end: stats after each write that completed one. */
struct chunk_ends {
	uint64_t header;     /* file size after the header */
	uint64_t end[4096];  /* file size after chunk k */
	uint64_t packets[4096]; /* packets in chunks 0..k */
	size_t count;
};

static void note_chunks(const struct session_writer *w, struct chunk_ends *ce)
{
	struct session_writer_stats s;
	session_writer_get_stats(w, &s);
	while (ce && ce->count < s.chunks && ce->count < 4096) {
		ce->end[ce->count] = s.bytes;
		ce->packets[ce->count++] = s.packets;
	}
}

struct meeting {
	double seconds;
	size_t chunk_bytes;
	bool close; /* write the footer */
	int64_t epoch;
	uint32_t ids[4]; /* override the participants' ids (merge tests); 0 keeps them */
	int64_t join_us; /* when the fourth joins; 0: 2 s */
	uint32_t max_size; /* packets are 0 .. this - 1 bytes; 0: 200 */
};

/* Writes the meeting, returns the packets written in order and where chunks ended. */
static void write_meeting(const char *path, const struct meeting *m, struct pkts *expect, struct chunk_ends *ce)
{
	struct session_participant people[3];
	memcpy(people, meeting_people, sizeof(people));
	struct session_participant late = late_joiner;
	for (int i = 0; i < 3; i++)
		if (m->ids[i]) people[i].id = m->ids[i];
	if (m->ids[3]) late.id = m->ids[3];
	struct session_writer *w = NULL;
	struct session_writer_desc desc = {.participants = people, .participant_count = 3,
	                                   .chunk_bytes = m->chunk_bytes, .chunk_us = 250000,
	                                   .epoch_unix_us = m->epoch};
	CHECK(session_writer_create(path, &desc, &w) == CV_OK);
	if (!w) return;
	if (ce) {
		memset(ce, 0, sizeof(*ce));
		struct session_writer_stats s;
		session_writer_get_stats(w, &s);
		ce->header = s.bytes;
	}
	expect->n = 0;
	int64_t join_us = m->join_us ? m->join_us : 2000000;
	bool joined = false;
	uint8_t buf[512];
	uint32_t seed = 1;
	int frames = (int)(m->seconds * 30);
	for (int f = 0; f < frames; f++) {
		int64_t t = (int64_t)f * 33333;
		if (!joined && t >= join_us) {
			CHECK(session_writer_add_participant(w, &late) == CV_OK);
			note_chunks(w, ce);
			joined = true;
		}
		for (int who = 0; who < (joined ? 4 : 3); who++) {
			uint32_t id = who < 3 ? people[who].id : late.id;
			/* Bo is silent from 1 s to 1.5 s, a gap `inspect` reports. */
			if (who == 1 && t >= 1000000 && t < 1500000) continue;
			uint32_t size = (seed * 37u) % (m->max_size ? m->max_size : 200u); /* includes empty packets */
			struct pkt p = make_pkt(t + who, id, seed % 3, size, seed, buf);
			seed++;
			CHECK(session_writer_write(w, &(struct session_packet){.time_us = p.t, .participant = p.who,
			                           .kind = p.kind, .data = buf, .size = size}) == CV_OK);
			note_chunks(w, ce);
			pkts_push(expect, p);
		}
	}
	CHECK(session_writer_flush(w) == CV_OK);
	note_chunks(w, ce);
	if (m->close) CHECK(session_writer_close(w) == CV_OK);
	session_writer_destroy(&w);
}

static void check_participant(const struct session_participant *p, const struct session_participant *want,
                              int64_t joined_us)
{
	CHECK(p && want);
	if (!p || !want) return;
	CHECK(p->id == want->id);
	CHECK(!strcmp(p->name, want->name));
	CHECK(!strcmp(p->avatar_path, want->avatar_path));
	CHECK(!memcmp(p->avatar_hash, want->avatar_hash, SESSION_HASH_SIZE));
	CHECK_MSG(p->joined_us == joined_us, "participant %u joined at %lld, expected %lld", p->id,
	          (long long)p->joined_us, (long long)joined_us);
}

/* ---- tests ---- */

static void hex_is(const uint8_t *h, const char *want)
{
	char s[2 * SESSION_HASH_SIZE + 1];
	for (int i = 0; i < SESSION_HASH_SIZE; i++) snprintf(s + 2 * i, 3, "%02x", h[i]);
	CHECK_MSG(!strcmp(s, want), "%s != %s", s, want);
}

static void sha256_of(const void *data, size_t size, uint8_t out[SESSION_HASH_SIZE])
{
	struct session_sha256 h;
	session_sha256_init(&h);
	session_sha256_update(&h, data, size);
	session_sha256_final(&h, out);
}

/* Check values from RFC 3720 B.4 (CRC-32C) and FIPS 180-4's examples (SHA-256: "abc", the 448-bit message,
 * a million 'a'). */
static void test_checksums(void)
{
	CHECK(session_crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(session_crc32c(session_crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
	uint8_t zeros[32] = {0}, ones[32], up[32], down[32], h[SESSION_HASH_SIZE];
	for (int i = 0; i < 32; i++) ones[i] = 0xff, up[i] = (uint8_t)i, down[i] = (uint8_t)(31 - i);
	/* an iSCSI read command PDU (48 bytes) */
	const uint8_t read_cmd[48] = {0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0,
	                              0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0, 0, 0,
	                              0x02, 0, 0, 0, 0, 0, 0, 0};
	uint32_t (*const paths[2])(uint32_t, const void *, size_t) = {session_crc32c, session_crc32c_table};
	for (int i = 0; i < 2; i++) {
		CHECK(paths[i](0, "123456789", 9) == 0xe3069283u);
		CHECK(paths[i](0, zeros, 32) == 0x8a9136aau);
		CHECK(paths[i](0, ones, 32) == 0x62a8ab43u);
		CHECK(paths[i](0, up, 32) == 0x46dd794eu);
		CHECK(paths[i](0, down, 32) == 0x113fdb5cu);
		CHECK(paths[i](0, read_cmd, 48) == 0xd9963a56u);
	}
	sha256_of("", 0, h);
	hex_is(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_of("abc", 3, h);
	hex_is(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_of(two, strlen(two), h);
	hex_is(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* A million 'a' fed in uneven pieces, through a file too. */
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	struct session_sha256 s;
	session_sha256_init(&s);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1000 + 1)
		session_sha256_update(&s, a + off, off + step > 1000000 ? 1000000 - off : step);
	session_sha256_final(&s, h);
	hex_is(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	CHECK(cv_file_write(tmp_path("million-a"), a, 1000000) == CV_OK);
	memset(h, 0, sizeof(h));
	CHECK(session_hash_file(tmp_path("million-a"), h) == CV_OK);
	hex_is(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
	quiet(true);
	CHECK(session_hash_file(tmp_path("no-such-file"), h) == CV_ERROR_IO);
	quiet(false);
}

/* session_crc32c (the CPU's instruction where there is one) and the table path agree on random data at every
 * alignment and on lengths round the 8-byte steps, whole and continued. */
static void test_crc32c_paths(void)
{
	uint8_t buf[1100];
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	uint32_t mismatches = 0;
	for (int trial = 0; trial < 2000; trial++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t offset = x % 8, size = trial < 64 ? (size_t)trial : (size_t)(x >> 8) % 1080;
		size_t split = (x >> 32) % (size + 1);
		const uint8_t *p = buf + offset;
		uint32_t seed = (uint32_t)(x >> 40);
		uint32_t a = session_crc32c(seed, p, size), b = session_crc32c_table(seed, p, size);
		uint32_t c = session_crc32c(session_crc32c(seed, p, split), p + split, size - split);
		mismatches += a != b || a != c;
	}
	CHECK_MSG(mismatches == 0, "%u of 2000 differ", mismatches);
}

static void check_meeting(struct session_reader *r, const struct pkts *expect, bool footer)
{
	struct session_info info;
	session_reader_info(r, &info);
	CHECK(info.participant_count == 4);
	CHECK(info.footer_index == footer);
	CHECK(info.packet_count == expect->n);
	CHECK(info.start_us == expect->v[0].t);
	CHECK(info.end_us == expect->v[expect->n - 1].t);
	CHECK(info.chunk_count > 10);
	for (int i = 0; i < 3; i++)
		check_participant(session_reader_participant(r, (size_t)i), &meeting_people[i], 0);
	/* The join starts a chunk whose first packet is the first at or after 2 s: frame 61. */
	check_participant(session_reader_participant(r, 3), &late_joiner, 61 * 33333);
	CHECK(session_reader_participant(r, 4) == NULL);
	CHECK(session_reader_find_participant(r, 9) == session_reader_participant(r, 3));
	CHECK(session_reader_find_participant(r, 3) == NULL);
	struct pkts got = {0};
	read_rest(r, &got);
	CHECK(pkts_eq(&got, expect->v, expect->n));
	struct session_reader_stats st;
	session_reader_get_stats(r, &st);
	CHECK(st.damaged_chunks == 0 && st.misordered_chunks == 0 && st.unknown_participant_packets == 0);
	CHECK(st.tail_bytes == 0 && !st.footer_damaged && session_reader_damage_count(r) == 0);
	free(got.v);
}

static void test_round_trip(void)
{
	struct pkts expect = {0};
	const char *path = tmp_path("meeting.cavrec");
	write_meeting(path, &(struct meeting){.seconds = 4, .chunk_bytes = 2000, .close = true,
	                                      .epoch = 1700000000000000}, &expect, NULL);
	CHECK(expect.n > 400);
	struct session_reader *r = NULL;
	CHECK(session_reader_open(path, &r) == CV_OK);
	if (r) {
		struct session_info info;
		session_reader_info(r, &info);
		CHECK(info.epoch_unix_us == 1700000000000000);
		check_meeting(r, &expect, true);
		/* Read twice: the second pass gives the same (chunks are reloaded, nothing counted twice). */
		CHECK(session_reader_seek(r, 0) == CV_OK);
		check_meeting(r, &expect, true);
	}
	session_reader_destroy(&r);
	CHECK(r == NULL);

	/* Without the footer (as after a crash, here the writer destroyed without close) the index is rebuilt. */
	const char *open_path = tmp_path("meeting-open.cavrec");
	write_meeting(open_path, &(struct meeting){.seconds = 4, .chunk_bytes = 2000}, &expect, NULL);
	void *data;
	size_t size;
	CHECK(cv_file_read(open_path, &data, &size) == CV_OK);
	CHECK(session_reader_open_memory(data, size, &r) == CV_OK);
	if (r) check_meeting(r, &expect, false);
	session_reader_destroy(&r);
	free(data);
	free(expect.v);

	/* An empty recording: a header and a footer. */
	struct session_writer *w;
	CHECK(session_writer_create(tmp_path("empty.cavrec"), NULL, &w) == CV_OK);
	CHECK(session_writer_close(w) == CV_OK);
	session_writer_destroy(&w);
	CHECK(session_reader_open(tmp_path("empty.cavrec"), &r) == CV_OK);
	if (r) {
		struct session_info info;
		session_reader_info(r, &info);
		CHECK(info.participant_count == 0 && info.packet_count == 0 && info.chunk_count == 0);
		CHECK(info.footer_index);
		struct session_packet p;
		bool got = true;
		CHECK(session_reader_next(r, &p, &got) == CV_OK && !got);
	}
	session_reader_destroy(&r);
}

static void test_writer_rejects(void)
{
	struct session_writer *w = NULL;
	const char *path = tmp_path("rejects.cavrec");
	uint8_t byte = 0;
	quiet(true);
	struct session_participant bad[] = {
		{.id = 1, .avatar_path = "/abs/a.cavatar"},
		{.id = 1, .avatar_path = "x/../../a.cavatar"},
		{.id = 1, .avatar_path = "a\\b.cavatar"},
		{.id = 1, .name = "bell\a"},
		{.id = 1, .name = "a very long name, longer than two hundred and fifty-five bytes, which is what a "
		                  "display name may hold in a .cavrec participant record: a name is for showing, not "
		                  "for storing biographies or anything else that could make a header grow without "
		                  "bound, as this one would."},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(session_writer_create(path, &(struct session_writer_desc){.participants = &bad[i],
		                            .participant_count = 1}, &w) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(w == NULL);
	}
	struct session_participant twins[] = {{.id = 5}, {.id = 5}};
	CHECK(session_writer_create(path, &(struct session_writer_desc){.participants = twins, .participant_count = 2},
	                            &w) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(session_writer_create(tmp_path("no-such-folder/x.cavrec"), NULL, &w) == CV_ERROR_IO);

	CHECK(session_writer_create(path, &(struct session_writer_desc){.participants = twins, .participant_count = 1},
	                            &w) == CV_OK);
	struct session_packet p = {.time_us = 1000, .participant = 5, .data = &byte, .size = 1};
	CHECK(session_writer_write(w, &p) == CV_OK);
	p.time_us = 999;
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT); /* backwards */
	p.time_us = -1;
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT);
	p.time_us = SESSION_MAX_TIME_US + 1;
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT);
	p = (struct session_packet){.time_us = 1000, .participant = 6, .data = &byte, .size = 1};
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT); /* never added */
	p = (struct session_packet){.time_us = 1000, .participant = 5, .data = &byte, .size = SESSION_MAX_PACKET + 1};
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT);
	p = (struct session_packet){.time_us = 1000, .participant = 5, .data = NULL, .size = 3};
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(session_writer_add_participant(w, &twins[1]) == CV_ERROR_INVALID_ARGUMENT); /* id 5 again */
	CHECK(session_writer_add_participant(w, &bad[0]) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(session_writer_add_participant(w, &(struct session_participant){.id = 6}) == CV_OK);
	p = (struct session_packet){.time_us = 1000, .participant = 6};
	CHECK(session_writer_write(w, &p) == CV_OK); /* an empty packet at an equal time */
	CHECK(session_writer_close(w) == CV_OK);
	CHECK(session_writer_write(w, &p) == CV_ERROR_INVALID_ARGUMENT); /* closed */
	CHECK(session_writer_close(w) == CV_ERROR_INVALID_ARGUMENT);
	session_writer_destroy(&w);
	CHECK(w == NULL);
	quiet(false);

	struct session_reader *r = NULL;
	CHECK(session_reader_open(path, &r) == CV_OK);
	struct pkts got = {0};
	if (r) read_rest(r, &got);
	CHECK(got.n == 2 && got.v[0].who == 5 && got.v[1].who == 6 && got.v[1].size == 0);
	free(got.v);
	session_reader_destroy(&r);
}

/* Seeking to t must give exactly what reading straight through gives from t on. */
static void check_seek(struct session_reader *r, const struct pkts *all, int64_t t, struct pkts *got)
{
	size_t first = 0;
	while (first < all->n && all->v[first].t < t) first++;
	CHECK(session_reader_seek(r, t) == CV_OK);
	read_rest(r, got);
	CHECK_MSG(pkts_eq(got, all->v + first, all->n - first), "seek to %lld: %zu packets, expected %zu", (long long)t,
	          got->n, all->n - first);
}

static void test_seek(void)
{
	struct pkts expect = {0}, got = {0};
	const char *path = tmp_path("seek.cavrec");
	write_meeting(path, &(struct meeting){.seconds = 3, .chunk_bytes = 1500, .close = true}, &expect, NULL);
	struct session_reader *r = NULL;
	CHECK(session_reader_open(path, &r) == CV_OK);
	if (!r) return;
	int64_t special[] = {-1000000, 0, 1, 999999, 1000000, 1250000, 1500000, 2000000, INT64_MAX};
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) check_seek(r, &expect, special[i], &got);
	/* Every packet's time, and the microsecond either side of it. */
	for (size_t i = 0; i < expect.n; i += 3)
		for (int64_t d = -1; d <= 1; d++) check_seek(r, &expect, expect.v[i].t + d, &got);
	/* A seek in the middle of reading, backwards and forwards. */
	struct session_packet p;
	bool any;
	CHECK(session_reader_seek(r, 2000000) == CV_OK);
	CHECK(session_reader_next(r, &p, &any) == CV_OK && any && p.time_us >= 2000000);
	check_seek(r, &expect, 500000, &got);
	session_reader_destroy(&r);

	/* Many packets at one time, spread over several chunks: a seek to that time returns all of them. */
	struct session_writer *w;
	struct session_participant one = {.id = 1};
	CHECK(session_writer_create(path, &(struct session_writer_desc){.participants = &one, .participant_count = 1,
	                            .chunk_bytes = 64}, &w) == CV_OK);
	uint8_t buf[32];
	expect.n = 0;
	for (uint32_t i = 0; i < 60; i++) {
		int64_t t = i < 10 ? i * 10 : i < 50 ? 500 : i * 10;
		struct pkt q = make_pkt(t, 1, 0, 20, i, buf);
		CHECK(session_writer_write(w, &(struct session_packet){.time_us = t, .participant = 1, .data = buf,
		                           .size = 20}) == CV_OK);
		pkts_push(&expect, q);
	}
	CHECK(session_writer_close(w) == CV_OK);
	session_writer_destroy(&w);
	CHECK(session_reader_open(path, &r) == CV_OK);
	if (r) {
		struct session_info info;
		session_reader_info(r, &info);
		CHECK(info.chunk_count >= 15);
		for (int64_t t = 480; t <= 520; t += 10) check_seek(r, &expect, t, &got);
	}
	session_reader_destroy(&r);
	free(expect.v);
	free(got.v);
}

/* The packets in chunks that end at or before `size`. */
static size_t complete_packets(const struct chunk_ends *ce, uint64_t size)
{
	size_t n = 0;
	for (size_t k = 0; k < ce->count && ce->end[k] <= size; k++) n = ce->packets[k];
	return n;
}

static void test_truncation(void)
{
	struct pkts expect = {0}, got = {0};
	struct chunk_ends *ce = calloc(1, sizeof(*ce));
	const char *path = tmp_path("small.cavrec");
	/* 1 s at 30 Hz with the fourth participant joining at 0.5 s: 104 packets in 15 chunks, 3.4 kB. */
	write_meeting(path, &(struct meeting){.seconds = 1, .chunk_bytes = 120, .close = true, .join_us = 500000,
	                                      .max_size = 24}, &expect, ce);
	uint8_t *data;
	size_t size;
	CHECK(cv_file_read(path, (void **)&data, &size) == CV_OK);
	CHECK(ce->count > 10 && ce->end[ce->count - 1] < size);
	size_t join_chunk = 0; /* the chunk holding the join: participants beyond the header appear with it */
	while (join_chunk < ce->count && expect.v[ce->packets[join_chunk] - 1].t < 500000) join_chunk++;
	quiet(true);
	int failures = 0;
	for (size_t cut = 0; cut <= size && failures < 5; cut++) {
		/* An exact-size copy, so the sanitizers catch any read past the cut. */
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, data, cut);
		struct session_reader *r = NULL;
		enum cv_result res = session_reader_open_memory(copy, cut, &r);
		if (cut < ce->header) {
			CHECK(res == CV_ERROR_FORMAT);
		} else if (res != CV_OK) {
			CHECK_MSG(res == CV_OK, "cut at %zu: %s", cut, cv_result_str(res));
			failures++;
		} else {
			read_rest(r, &got);
			size_t n = complete_packets(ce, cut);
			struct session_info info;
			struct session_reader_stats st;
			session_reader_info(r, &info);
			session_reader_get_stats(r, &st);
			bool ok = pkts_eq(&got, expect.v, n) && st.damaged_chunks == 0 &&
			          info.footer_index == (cut == size) &&
			          info.participant_count == (cut >= ce->end[join_chunk] ? 4u : 3u);
			CHECK_MSG(ok, "cut at %zu: %zu packets, expected %zu; %llu damaged; %zu participants", cut,
			          got.n, n, (unsigned long long)st.damaged_chunks, info.participant_count);
			failures += !ok;
		}
		session_reader_destroy(&r);
		free(copy);
	}
	/* The same through files, every 37th byte. */
	const char *cut_path = tmp_path("small-cut.cavrec");
	for (size_t cut = ce->header; cut <= size; cut += 37) {
		CHECK(cv_file_write(cut_path, data, cut) == CV_OK);
		struct session_reader *r = NULL;
		CHECK(session_reader_open(cut_path, &r) == CV_OK);
		if (r) read_rest(r, &got);
		CHECK_MSG(r && pkts_eq(&got, expect.v, complete_packets(ce, cut)), "file cut at %zu", cut);
		session_reader_destroy(&r);
	}
	quiet(false);
	free(data);
	free(expect.v);
	free(got.v);
	free(ce);
}

/* Packets of the meeting minus chunk k's; when k holds the join, the joiner's later packets go too. */
static size_t expect_without(const struct pkts *all, const struct chunk_ends *ce, size_t k, size_t join_chunk,
                             struct pkt *out, size_t *unknown)
{
	size_t n = 0, lo = k ? ce->packets[k - 1] : 0, hi = ce->packets[k];
	*unknown = 0;
	for (size_t i = 0; i < all->n; i++) {
		if (i >= lo && i < hi) continue;
		if (k == join_chunk && all->v[i].who == late_joiner.id) {
			++*unknown;
			continue;
		}
		out[n++] = all->v[i];
	}
	return n;
}

static void check_flips(const uint8_t *data, size_t size, const struct pkts *expect, const struct chunk_ends *ce,
                        bool footer)
{
	size_t join_chunk = 0;
	while (join_chunk < ce->count && expect->v[ce->packets[join_chunk] - 1].t < 500000) join_chunk++;
	struct pkt *want = malloc(expect->n * sizeof(*want));
	struct pkts got = {0};
	uint8_t *copy = malloc(size);
	int failures = 0;

	for (size_t off = 0; off < size && failures < 5; off++) {
		memcpy(copy, data, size);
		copy[off] ^= 0x5a;
		struct session_reader *r = NULL;
		enum cv_result res = session_reader_open_memory(copy, size, &r);
		if (off < ce->header) {
			/* The header has its own checksum (a changed version number is reported as such). */
			CHECK(res == CV_ERROR_FORMAT || (res == CV_ERROR_UNSUPPORTED && off >= 8 && off < 12));
			session_reader_destroy(&r);
			continue;
		}
		size_t k = 0;
		while (k < ce->count && ce->end[k] <= off) k++;
		size_t unknown = 0, n = expect->n;
		if (k < ce->count) n = expect_without(expect, ce, k, join_chunk, want, &unknown);
		else memcpy(want, expect->v, n * sizeof(*want)); /* the footer: only the index is lost */
		bool ok = res == CV_OK;
		if (ok) {
			read_rest(r, &got);
			struct session_reader_stats st;
			session_reader_get_stats(r, &st);
			ok = pkts_eq(&got, want, n) && st.damaged_chunks == (k < ce->count) &&
			     st.unknown_participant_packets == unknown;
			CHECK_MSG(ok, "%s, byte %zu flipped (chunk %zu): %zu packets, expected %zu; %llu damaged, "
			          "%llu unknown", footer ? "footer" : "no footer", off, k, got.n, n,
			          (unsigned long long)st.damaged_chunks,
			          (unsigned long long)st.unknown_participant_packets);
		} else {
			CHECK_MSG(ok, "byte %zu flipped: open failed", off);
		}
		failures += !ok;
		session_reader_destroy(&r);
	}
	free(copy);
	free(want);
	free(got.v);
}

static void test_corruption(void)
{
	struct pkts expect = {0};
	struct chunk_ends *ce = calloc(1, sizeof(*ce));
	const char *path = tmp_path("flip.cavrec");
	write_meeting(path, &(struct meeting){.seconds = 1, .chunk_bytes = 120, .close = true, .join_us = 500000,
	                                      .max_size = 24}, &expect, ce);
	uint8_t *data;
	size_t size;
	CHECK(cv_file_read(path, (void **)&data, &size) == CV_OK);
	quiet(true);
	check_flips(data, size, &expect, ce, true);
	check_flips(data, ce->end[ce->count - 1], &expect, ce, false);
	quiet(false);

	/* What the reader says about a damaged chunk: where, how big, why. */
	data[ce->end[3] - 1] ^= 1;
	struct session_reader *r = NULL;
	quiet(true);
	CHECK(session_reader_open_memory(data, size, &r) == CV_OK);
	struct pkts got = {0};
	if (r) read_rest(r, &got);
	quiet(false);
	const struct session_damage *d = r ? session_reader_damage(r, 0) : NULL;
	CHECK(d && d->offset == ce->end[2] && d->size == ce->end[3] - ce->end[2]);
	CHECK(d && !strcmp(d->reason, "checksum mismatch"));
	session_reader_destroy(&r);
	free(got.v);
	free(data);
	free(expect.v);
	free(ce);
}

/* ---- a writer killed with SIGKILL ---- */

/* Even rounds: small chunks, each synced (what survives power loss). Odd rounds: 4 MiB chunks of larger packets
 * without fsync (what a killed process leaves), where a kill now and then lands inside the write of a chunk and
 * leaves it torn; the truncation test covers torn chunks at every byte. */
static struct pkt kill_packet(int round, uint32_t i, uint8_t *buf)
{
	uint32_t who = i < 300 ? 1 + i % 3 : 1 + i % 4;
	return make_pkt((int64_t)i * 1000, who, i % 5, (i * 13) % 97 * (round % 2 ? 20 : 1), i, buf);
}

/* Writes forever (well, up to a bound), reporting over `fd` the packet count of every chunk once it is complete
 * (written, and synced in even rounds). */
static void kill_child(int round, const char *path, int fd)
{
	struct session_participant people[] = {{.id = 1, .name = "a"}, {.id = 2, .name = "b"}, {.id = 3, .name = "c"}};
	struct session_writer *w;
	if (session_writer_create(path, &(struct session_writer_desc){.participants = people, .participant_count = 3,
	                          .chunk_bytes = round % 2 ? 4 << 20 : 1024,
	                          .chunk_us = round % 2 ? 60000000 : 0, .fsync = round % 2 == 0}, &w) != CV_OK)
		_exit(3);
	uint64_t chunks = 0;
	uint8_t buf[2048];
	for (uint32_t i = 0; i < 20000; i++) {
		struct session_participant late = {.id = 4, .name = "d"};
		if (i == 300 && session_writer_add_participant(w, &late) != CV_OK) _exit(4);
		struct pkt p = kill_packet(round, i, buf);
		struct session_packet sp = {.time_us = p.t, .participant = p.who, .kind = p.kind, .data = buf,
		                            .size = p.size};
		if (session_writer_write(w, &sp) != CV_OK) _exit(5);
		struct session_writer_stats s;
		session_writer_get_stats(w, &s);
		if (s.chunks != chunks) {
			chunks = s.chunks;
			if (write(fd, &s.packets, sizeof(s.packets)) != sizeof(s.packets)) _exit(6);
		}
	}
	for (;;) pause();
}

static void test_kill(void)
{
	unsigned seed = (unsigned)time(NULL);
	printf("kill test seed %u\n", seed);
	srand(seed);
	struct pkts got = {0};
	uint8_t buf[2048];
	for (int round = 0; round < 6; round++) {
		const char *path = tmp_path("killed.cavrec");
		int fds[2];
		CHECK(pipe(fds) == 0);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			kill_child(round, path, fds[1]);
		}
		close(fds[1]);
		/* Kill after a random number of synced chunks plus a random fraction of the next. */
		int wait_chunks = 1 + rand() % (round % 2 ? 2 : 60);
		uint64_t reported = 0, value;
		for (int c = 0; c < wait_chunks && read(fds[0], &value, sizeof(value)) == sizeof(value); c++)
			reported = value;
		struct timespec pause_ts = {0, (long)(rand() % (round % 2 ? 20000 : 3000)) * 1000};
		nanosleep(&pause_ts, NULL);
		kill(pid, SIGKILL);
		int status;
		CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* Chunks reported before the kill landed are durable too. */
		while (read(fds[0], &value, sizeof(value)) == sizeof(value)) reported = value;
		close(fds[0]);

		struct session_reader *r = NULL;
		quiet(true);
		CHECK(session_reader_open(path, &r) == CV_OK);
		if (r) read_rest(r, &got);
		quiet(false);
		struct session_reader_stats st = {0};
		struct session_info info = {0};
		if (r) {
			session_reader_get_stats(r, &st);
			session_reader_info(r, &info);
		}
		bool prefix = true;
		for (size_t i = 0; i < got.n && prefix; i++) {
			struct pkt want = kill_packet(round, (uint32_t)i, buf);
			prefix = pkt_eq(&got.v[i], &want);
		}
		CHECK_MSG(prefix && got.n >= reported && got.n == info.packet_count && st.damaged_chunks == 0,
		          "round %d: %zu packets read (prefix %d), %llu reported synced, %llu damaged", round, got.n,
		          prefix, (unsigned long long)reported, (unsigned long long)st.damaged_chunks);
		/* The join leads a chunk that also holds packets 300 on: complete exactly when one of those is read. */
		CHECK(info.participant_count == (got.n > 300 ? 4u : 3u));
		printf("  round %d: killed after %llu complete packets; read %zu packets, %llu-byte incomplete tail\n",
		       round, (unsigned long long)reported, got.n, (unsigned long long)st.tail_bytes);
		session_reader_destroy(&r);
	}
	free(got.v);
}

/* ---- hostile files, built by hand from cavrec-format.md ---- */

struct buf {
	uint8_t d[8192];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) b->d[b->n++] = (uint8_t)(v >> (8 * i));
}

static void put_var(struct buf *b, uint64_t v)
{
	do {
		b->d[b->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_person(struct buf *b, uint32_t id, const char *name, const char *path)
{
	uint8_t hash[SESSION_HASH_SIZE] = {0};
	put_le(b, 'P', 1);
	put_var(b, id);
	put_var(b, strlen(name));
	put(b, name, strlen(name));
	put(b, hash, sizeof(hash));
	put_var(b, strlen(path));
	put(b, path, strlen(path));
}

static void put_packet(struct buf *b, uint64_t dt, uint64_t id, uint64_t size)
{
	put_le(b, 'D', 1);
	put_var(b, dt);
	put_var(b, id);
	put_var(b, 0);
	put_var(b, size);
	for (uint64_t i = 0; i < size && i < 64; i++) put_le(b, i, 1);
}

static void put_header(struct buf *b, uint32_t count_field, uint32_t version)
{
	static const uint8_t magic[8] = {'C', 'A', 'V', 'R', 'E', 'C', 0x1a, '\n'};
	b->n = 0;
	put(b, magic, 8);
	put_le(b, version, 4);
	put_le(b, 0, 4);
	put_le(b, 0, 8);
	put_le(b, count_field, 4);
	if (count_field == 1) put_person(b, 1, "one", "one.cavatar");
	uint32_t size = (uint32_t)b->n + 4;
	for (int i = 0; i < 4; i++) b->d[12 + i] = (uint8_t)(size >> (8 * i));
	put_le(b, session_crc32c(0, b->d, b->n), 4);
}

struct craft {
	uint32_t seq, packets, joins;
	int64_t t_first, t_last;
	uint32_t payload_size; /* 0: the real one */
};

static void put_chunk(struct buf *b, const struct craft *c, const struct buf *payload)
{
	size_t at = b->n;
	put_le(b, 0x4b435643u, 4);
	put_le(b, 1, 2);
	put_le(b, 0, 2);
	put_le(b, c->seq, 4);
	put_le(b, c->payload_size ? c->payload_size : payload->n, 4);
	put_le(b, (uint64_t)c->t_first, 8);
	put_le(b, (uint64_t)c->t_last, 8);
	put_le(b, c->packets, 4);
	put_le(b, c->joins, 4);
	put_le(b, session_crc32c(0, payload->d, payload->n), 4);
	put_le(b, session_crc32c(0, b->d + at, 44), 4);
	put(b, payload->d, payload->n);
}

/* Two good packets of participant 1 at t and t + 10. */
static void good_chunk(struct buf *b, uint32_t seq, int64_t t)
{
	struct buf p = {.n = 0};
	put_packet(&p, 0, 1, 3);
	put_packet(&p, 10, 1, 3);
	put_chunk(b, &(struct craft){.seq = seq, .packets = 2, .t_first = t, .t_last = t + 10}, &p);
}

struct outcome {
	enum cv_result open;
	size_t packets;
	struct session_reader_stats st;
	size_t participants;
};

static struct outcome read_crafted(const struct buf *b)
{
	struct outcome o = {0};
	struct session_reader *r = NULL;
	uint8_t *copy = malloc(b->n);
	memcpy(copy, b->d, b->n);
	o.open = session_reader_open_memory(copy, b->n, &r);
	if (r) {
		struct pkts got = {0};
		read_rest(r, &got);
		o.packets = got.n;
		free(got.v);
		session_reader_get_stats(r, &o.st);
		struct session_info info;
		session_reader_info(r, &info);
		o.participants = info.participant_count;
	}
	session_reader_destroy(&r);
	free(copy);
	return o;
}

static void test_hostile(void)
{
	quiet(true);
	struct buf *b = calloc(1, sizeof(*b)), payload = {.n = 0};
	struct outcome o;

	/* The crafting itself is right: three good chunks read back. */
	put_header(b, 1, 1);
	for (uint32_t k = 0; k < 3; k++) good_chunk(b, k, 1000 * k);
	o = read_crafted(b);
	CHECK(o.open == CV_OK && o.packets == 6 && o.st.damaged_chunks == 0 && o.participants == 1);

	/* Headers: wrong version, absurd participant count, absurd header size, not a recording at all. */
	put_header(b, 1, 2);
	CHECK(read_crafted(b).open == CV_ERROR_UNSUPPORTED);
	put_header(b, 0xffffffffu, 1);
	CHECK(read_crafted(b).open == CV_ERROR_FORMAT);
	put_header(b, 1, 1);
	b->d[15] = 0x7f; /* header size ~2 GiB */
	CHECK(read_crafted(b).open == CV_ERROR_FORMAT);
	memcpy(b->d, "PK\3\4zip!", 8);
	CHECK(read_crafted(b).open == CV_ERROR_FORMAT);

	/* Chunks out of order: seq 0, 2, 1 (the late one is skipped), then one starting before its predecessor ends. */
	put_header(b, 1, 1);
	good_chunk(b, 0, 0);
	good_chunk(b, 2, 2000);
	good_chunk(b, 1, 1000);
	good_chunk(b, 3, 2005);
	good_chunk(b, 4, 3000);
	o = read_crafted(b);
	CHECK(o.open == CV_OK && o.packets == 6 && o.st.misordered_chunks == 2 && o.st.damaged_chunks == 0);

	/* A packet from nobody: skipped and counted, its chunk's others kept. */
	put_header(b, 1, 1);
	payload.n = 0;
	put_packet(&payload, 0, 1, 2);
	put_packet(&payload, 5, 42, 2);
	put_packet(&payload, 5, 1, 2);
	put_chunk(b, &(struct craft){.packets = 3, .t_first = 100, .t_last = 110}, &payload);
	o = read_crafted(b);
	CHECK(o.packets == 2 && o.st.unknown_participant_packets == 1);

	/* Times: a packet past the chunk's end, a chunk whose last packet is not at its end, a first one after its
	 * start; each chunk is damaged as a whole and the good one after it still reads. */
	int64_t deltas[][2] = {{0, 20}, {0, 5}, {3, 7}};
	for (int i = 0; i < 3; i++) {
		put_header(b, 1, 1);
		payload.n = 0;
		put_packet(&payload, (uint64_t)deltas[i][0], 1, 1);
		put_packet(&payload, (uint64_t)deltas[i][1], 1, 1);
		put_chunk(b, &(struct craft){.packets = 2, .t_first = 100, .t_last = 110}, &payload);
		good_chunk(b, 1, 200);
		o = read_crafted(b);
		CHECK_MSG(o.packets == 2 && o.st.damaged_chunks == 1, "times case %d: %zu packets, %llu damaged", i,
		          o.packets, (unsigned long long)o.st.damaged_chunks);
	}

	/* Absurd sizes and counts in chunk headers that checksum correctly: a packet claiming 2^60 bytes, a chunk
	 * claiming 2^31 packets or a 4 GiB payload. None may allocate from the claim. */
	put_header(b, 1, 1);
	payload.n = 0;
	put_packet(&payload, 0, 1, 0);
	payload.n--;
	put_var(&payload, (uint64_t)1 << 60);
	put_chunk(b, &(struct craft){.packets = 1, .t_first = 100, .t_last = 100}, &payload);
	good_chunk(b, 1, 200);
	o = read_crafted(b);
	CHECK(o.packets == 2 && o.st.damaged_chunks == 1);
	put_header(b, 1, 1);
	payload.n = 0;
	put_packet(&payload, 0, 1, 1);
	put_chunk(b, &(struct craft){.packets = 0x80000000u, .t_first = 100, .t_last = 100}, &payload);
	good_chunk(b, 1, 200);
	o = read_crafted(b);
	CHECK(o.packets == 2 && o.st.damaged_chunks == 1);
	put_header(b, 1, 1);
	put_chunk(b, &(struct craft){.packets = 1, .t_first = 100, .t_last = 100, .payload_size = 0xffffffffu},
	          &payload);
	good_chunk(b, 1, 200);
	o = read_crafted(b);
	CHECK(o.packets == 2 && o.st.damaged_chunks == 1);

	/* Joins: a path leaving the folder damages the chunk; a second record for a known id is counted. */
	put_header(b, 1, 1);
	payload.n = 0;
	put_person(&payload, 2, "two", "../../etc/passwd");
	put_chunk(b, &(struct craft){.joins = 1, .t_first = 0, .t_last = 0}, &payload);
	o = read_crafted(b);
	CHECK(o.open == CV_OK && o.participants == 1 && o.st.damaged_chunks == 1);
	put_header(b, 1, 1);
	payload.n = 0;
	put_person(&payload, 1, "one again", "x.cavatar");
	put_person(&payload, 3, "three", "x.cavatar");
	put_packet(&payload, 0, 3, 1);
	put_chunk(b, &(struct craft){.joins = 2, .packets = 1, .t_first = 50, .t_last = 50}, &payload);
	o = read_crafted(b);
	CHECK(o.participants == 2 && o.st.duplicate_participants == 1 && o.packets == 1);

	/* Garbage between chunks: skipped as one damaged stretch, the chunks around it read. */
	put_header(b, 1, 1);
	good_chunk(b, 0, 0);
	for (int i = 0; i < 300; i++) put_le(b, (uint64_t)(i * 7919) ^ 0x43, 1);
	good_chunk(b, 1, 100);
	o = read_crafted(b);
	CHECK(o.packets == 4 && o.st.damaged_chunks == 1 && o.st.damaged_bytes == 300);

	free(b);
	quiet(false);
}

/* ---- cut and merge ---- */

static struct pkts read_file(const char *path, struct session_reader **keep)
{
	struct pkts got = {0};
	struct session_reader *r = NULL;
	CHECK(session_reader_open(path, &r) == CV_OK);
	if (r) read_rest(r, &got);
	if (keep) *keep = r;
	else session_reader_destroy(&r);
	return got;
}

static int rec(const char *a, const char *b, const char *c, const char *d, const char *e, const char *f)
{
	char *argv[] = {(char *)a, (char *)b, (char *)c, (char *)d, (char *)e, (char *)f, NULL};
	int argc = 0;
	while (argv[argc]) argc++;
	fflush(stdout);
	return app_rec(argc, argv);
}

static void test_cut_merge(void)
{
	struct pkts expect = {0}, got;
	const char *in = tmp_path("cut-in.cavrec"), *out = tmp_path("cut-out.cavrec");
	int64_t epoch = 1700000000000000;
	write_meeting(in, &(struct meeting){.seconds = 4, .chunk_bytes = 1500, .close = true, .epoch = epoch}, &expect,
	              NULL);

	CHECK(rec("inspect", in, NULL, NULL, NULL, NULL) == 0);
	CHECK(rec("cut", in, out, "--from", "1.0", "--to") == 2); /* --to without a value */
	CHECK(rec("cut", in, out, "--from", "3", NULL) == 0);
	got = read_file(out, NULL);
	size_t first = 0;
	while (expect.v[first].t < 3000000) first++;
	bool same = got.n == expect.n - first;
	for (size_t i = 0; same && i < got.n; i++) {
		struct pkt want = expect.v[first + i];
		want.t -= 3000000;
		same = pkt_eq(&got.v[i], &want);
	}
	CHECK(same);
	free(got.v);

	char *args[] = {"cut", (char *)in, (char *)out, "--from", "1.25", "--to", "2.5", NULL};
	fflush(stdout);
	CHECK(app_rec(7, args) == 0);
	struct session_reader *r;
	got = read_file(out, &r);
	size_t n = 0;
	same = true;
	for (size_t i = 0; i < expect.n; i++) {
		if (expect.v[i].t < 1250000 || expect.v[i].t >= 2500000) continue;
		struct pkt want = expect.v[i];
		want.t -= 1250000;
		same = same && n < got.n && pkt_eq(&got.v[n], &want);
		n++;
	}
	CHECK(same && got.n == n);
	if (r) {
		/* Those present at 1.25 s are in the header; the late joiner joins with its first packet (frame 61). */
		struct session_info info;
		session_reader_info(r, &info);
		CHECK(info.epoch_unix_us == epoch + 1250000 && info.participant_count == 4);
		for (int i = 0; i < 3; i++)
			check_participant(session_reader_participant(r, (size_t)i), &meeting_people[i], 0);
		check_participant(session_reader_participant(r, 3), &late_joiner, 61 * 33333 - 1250000);
	}
	session_reader_destroy(&r);
	free(got.v);

	/* Merge: A (ids 1, 2, 7, 9) and B (ids 2, 5, 1, 8) started 0.5 s later. B's 2 and 1 clash with A's and get
	 * the lowest ids no input uses: 3 and 4. */
	struct pkts a = {0}, bp = {0};
	const char *pa = tmp_path("merge-a.cavrec"), *pb = tmp_path("merge-b.cavrec"), *pm = tmp_path("merged.cavrec");
	write_meeting(pa, &(struct meeting){.seconds = 2, .chunk_bytes = 1000, .close = true, .epoch = epoch,
	                                     .join_us = 1000000}, &a, NULL);
	write_meeting(pb, &(struct meeting){.seconds = 2, .chunk_bytes = 800, .epoch = epoch + 500000,
	                                     .ids = {2, 5, 1, 8}, .join_us = 1000000}, &bp, NULL);
	CHECK(rec("merge", pm, pa, pb, NULL, NULL) == 0);
	struct pkts want = {0};
	size_t ia = 0, ib = 0;
	while (ia < a.n || ib < bp.n) {
		struct pkt q;
		if (ib == bp.n || (ia < a.n && a.v[ia].t <= bp.v[ib].t + 500000)) q = a.v[ia++];
		else {
			q = bp.v[ib++];
			q.t += 500000;
			q.who = q.who == 2 ? 3 : q.who == 1 ? 4 : q.who;
		}
		pkts_push(&want, q);
	}
	got = read_file(pm, &r);
	CHECK(pkts_eq(&got, want.v, want.n));
	if (r) {
		struct session_info info;
		session_reader_info(r, &info);
		CHECK(info.epoch_unix_us == epoch && info.participant_count == 8);
		const struct session_participant *p3 = session_reader_find_participant(r, 3);
		const struct session_participant *p8 = session_reader_find_participant(r, 8);
		CHECK(p3 && !strcmp(p3->name, "Ada") && p3->joined_us == 500000); /* B's first participant */
		CHECK(p8 && !strcmp(p8->name, late_joiner.name) && p8->joined_us == 31 * 33333 + 500000);
	}
	session_reader_destroy(&r);
	free(got.v);

	/* Merging a damaged file repairs it: the output has every intact packet and no damage. */
	uint8_t *data;
	size_t size;
	CHECK(cv_file_read(pa, (void **)&data, &size) == CV_OK);
	data[size / 2] ^= 0xff;
	CHECK(cv_file_write(pa, data, size) == CV_OK);
	free(data);
	quiet(true);
	CHECK(rec("merge", pm, pa, NULL, NULL, NULL) == 0);
	quiet(false);
	got = read_file(pm, &r);
	struct session_reader_stats st;
	if (r) session_reader_get_stats(r, &st);
	CHECK(r && st.damaged_chunks == 0 && got.n > a.n / 2 && got.n < a.n);
	session_reader_destroy(&r);
	free(got.v);

	/* Usage errors exit 2, failures 1, and a failed command leaves no output behind. */
	quiet(true);
	CHECK(rec(NULL, NULL, NULL, NULL, NULL, NULL) == 2);
	CHECK(rec("frobnicate", NULL, NULL, NULL, NULL, NULL) == 2);
	CHECK(rec("--help", NULL, NULL, NULL, NULL, NULL) == 0);
	CHECK(rec("inspect", NULL, NULL, NULL, NULL, NULL) == 2);
	CHECK(rec("inspect", tmp_path("missing.cavrec"), NULL, NULL, NULL, NULL) == 1);
	CHECK(rec("inspect", in, "--gap", "-1", NULL, NULL) == 2);
	CHECK(rec("cut", in, out, "--from", "2", NULL) == 0);
	CHECK(rec("cut", in, NULL, NULL, NULL, NULL) == 2);
	char *backwards[] = {"cut", (char *)in, (char *)out, "--from", "2", "--to", "1", NULL};
	CHECK(app_rec(7, backwards) == 2);
	CHECK(rec("cut", in, in, NULL, NULL, NULL) == 2);
	CHECK(rec("merge", pm, NULL, NULL, NULL, NULL) == 2);
	CHECK(rec("merge", pm, pm, NULL, NULL, NULL) == 2);
	const char *never = tmp_path("never.cavrec");
	CHECK(rec("merge", never, in, tmp_path("missing.cavrec"), NULL, NULL) == 1);
	CHECK(access(never, F_OK) != 0);
	CHECK(rec("cut", tmp_path("million-a"), never, NULL, NULL, NULL) == 1);
	CHECK(access(never, F_OK) != 0);
	quiet(false);
	free(a.v);
	free(bp.v);
	free(want.v);
	free(expect.v);
}

/* Issue 14 finding 9: the participant limit is the writer's, documented, and reaching it ends nothing: the join
 * past it fails with a clear error, its packets are refused, and everything else is recorded and closed. */
static void test_participant_limit(void)
{
	const char *path = tmp_path("limit.cavrec");
	struct session_writer *w = NULL;
	CHECK(session_writer_create(path, &(struct session_writer_desc){0}, &w) == CV_OK);
	if (!w) return;
	uint8_t data[8] = {1, 2, 3};
	bool all = true;
	for (uint32_t id = 1; id <= SESSION_MAX_PARTICIPANTS; id++) {
		all = all && session_writer_add_participant(w, &(struct session_participant){.id = id, .name = "m",
		                                                                              .avatar_path = "a.cavatar"}) == CV_OK;
		/* announce, one packet, leave: as a hostile member could, thousands of times */
		all = all && session_writer_write(w, &(struct session_packet){.time_us = id, .participant = id, .data = data,
		                                                              .size = 3}) == CV_OK;
	}
	CHECK(all && session_writer_participant_count(w) == SESSION_MAX_PARTICIPANTS);
	quiet(true);
	/* C1 controls pass no more than C0 ones: U+009B is CSI to a terminal that `inspect` prints to. */
	CHECK(session_writer_add_participant(w, &(struct session_participant){.id = 99998, .name = "x\xc2\x9b" "2J"}) !=
	      CV_OK);
	CHECK(session_path_problem("a\xc2\x9b" "2J.cavatar") && !session_path_problem("caf\xc3\xa9.cavatar"));
	struct session_participant extra = {.id = 99999, .name = "one too many", .avatar_path = "a.cavatar"};
	CHECK(session_writer_add_participant(w, &extra) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(!session_writer_has_participant(w, 99999) && session_writer_has_participant(w, 4096));
	CHECK(session_writer_write(w, &(struct session_packet){.time_us = 5000, .participant = 99999, .data = data,
	                                                       .size = 3}) == CV_ERROR_INVALID_ARGUMENT);
	quiet(false);
	/* The writer goes on after both refusals. */
	CHECK(session_writer_write(w, &(struct session_packet){.time_us = 5000, .participant = 7, .data = data,
	                                                       .size = 3}) == CV_OK);
	CHECK(session_writer_close(w) == CV_OK);
	session_writer_destroy(&w);
	struct session_reader *r = NULL;
	CHECK(session_reader_open(path, &r) == CV_OK);
	if (!r) return;
	struct session_info info;
	session_reader_info(r, &info);
	CHECK(info.participant_count == SESSION_MAX_PARTICIPANTS && info.packet_count == SESSION_MAX_PARTICIPANTS + 1 &&
	      info.footer_index);
	session_reader_destroy(&r);
}

/* A write that fails (a full disk; here a file size limit with SIGXFSZ ignored, so write() returns EFBIG) leaves
 * the file at its last complete chunk, and close syncs and closes it there: readable, nothing damaged or cut. */
static void test_write_error(void)
{
	const char *path = tmp_path("full.cavrec");
	struct session_writer *w = NULL;
	CHECK(session_writer_create(path, &(struct session_writer_desc){.participants = meeting_people,
	                                  .participant_count = 1, .chunk_bytes = 700}, &w) == CV_OK);
	if (!w) return;
	struct rlimit old;
	getrlimit(RLIMIT_FSIZE, &old);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rlimit small = {.rlim_cur = 8000, .rlim_max = old.rlim_max};
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	uint8_t data[100] = {0};
	enum cv_result r = CV_OK;
	quiet(true);
	int64_t t = 0;
	for (int i = 0; i < 1000 && r == CV_OK; i++, t += 1000)
		r = session_writer_write(w, &(struct session_packet){.time_us = t, .participant = 1, .data = data,
		                                                     .size = sizeof(data)});
	CHECK(r == CV_ERROR_IO);
	CHECK(session_writer_write(w, &(struct session_packet){.time_us = t, .participant = 1, .data = data,
	                                                       .size = sizeof(data)}) == CV_ERROR_IO);
	struct session_writer_stats st;
	session_writer_get_stats(w, &st);
	CHECK(session_writer_close(w) == CV_ERROR_IO);
	quiet(false);
	session_writer_destroy(&w);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	struct stat fs;
	CHECK(stat(path, &fs) == 0 && (uint64_t)fs.st_size == st.bytes && st.chunks > 0);
	struct session_reader *rd = NULL;
	CHECK(session_reader_open(path, &rd) == CV_OK);
	if (!rd) return;
	struct session_reader_stats rs;
	session_reader_get_stats(rd, &rs);
	struct pkts got = {0};
	read_rest(rd, &got);
	CHECK(rs.tail_bytes == 0 && rs.damaged_chunks == 0 && got.n == st.packets && got.n > 0);
	free(got.v);
	session_reader_destroy(&rd);
}

/* A file's wall-clock start is untrusted: cut and merge refuse starts they cannot move or align (a start of
 * INT64_MAX cut by 1 s wrote year -290308), and take those they can. */
static void test_start_overflow(void)
{
	struct pkts expect = {0};
	const char *late = tmp_path("late.cavrec"), *early = tmp_path("early.cavrec"), *out = tmp_path("start-out.cavrec");
	write_meeting(late, &(struct meeting){.seconds = 2, .close = true, .epoch = INT64_MAX}, &expect, NULL);
	write_meeting(early, &(struct meeting){.seconds = 2, .close = true, .epoch = 1}, &expect, NULL);
	quiet(true);
	CHECK(rec("cut", late, out, "--from", "1", NULL) == 1);
	CHECK(rec("merge", out, late, early, NULL, NULL) == 1);
	quiet(false);
	CHECK(access(out, F_OK) != 0);
	CHECK(rec("cut", early, out, "--from", "1", NULL) == 0);
	free(expect.v);
}

static void remove_tmp_dir(void)
{
	DIR *d = opendir(tmp_dir);
	if (!d) return;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
	closedir(d);
	rmdir(tmp_dir);
}

int main(void)
{
	if (!test_scratch_dir("cavr-session", tmp_dir, sizeof(tmp_dir))) return 1;
	cv_log_set_level(CV_LOG_WARN);
	RUN(test_checksums);
	RUN(test_crc32c_paths);
	RUN(test_round_trip);
	RUN(test_writer_rejects);
	RUN(test_seek);
	RUN(test_truncation);
	RUN(test_corruption);
	RUN(test_kill);
	RUN(test_hostile);
	RUN(test_cut_merge);
	RUN(test_participant_limit);
	RUN(test_write_error);
	RUN(test_start_overflow);
	remove_tmp_dir();
	return test_finish();
}
