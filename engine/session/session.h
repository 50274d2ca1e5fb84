/* session: recorded sessions (.cavrec files, engine/session/cavrec-format.md).
 * A recording is what a receiver saw of a meeting: the participants (id, display name, avatar file by
 * content hash and relative path) and every stream packet they sent, in time order. To this module a packet
 * is an opaque blob with a timestamp, a participant id and a kind: the stream codec (engine/codec) gives
 * them their meaning. Nothing here knows of Vulkan or of the codec's internals.
 *
 * Files are written so that a recording cut off at any byte (kill -9, power loss with the fsync option)
 * reads back up to its last complete chunk, and every chunk carries a CRC-32C so corruption is reported and
 * skipped, never returned as data. Readers treat files as untrusted (fuzzed: tests/fuzz/fuzz_cavrec.c).
 *
 * Ownership: the writer copies everything it is given. A reader owns its index and its participants; the
 * strings of a participant live as long as the reader; a packet's bytes stay valid until the next
 * session_reader_next/seek call or destroy. session_reader_open_memory borrows the caller's buffer, which
 * must outlive the reader. Neither object is thread-safe; different objects may be used on different
 * threads. */
#ifndef CAVR_SESSION_H
#define CAVR_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_hash_sha256.h>

#include "core/core.h"

/* Limits shared by writer and reader, so a hostile file cannot make a reader allocate without bound. */
#define SESSION_MAX_PACKET (16u << 20)        /* bytes of one packet */
#define SESSION_MAX_CHUNK (64u << 20)         /* payload bytes of one chunk */
#define SESSION_MAX_PARTICIPANTS 4096         /* per recording, header and joins together */
#define SESSION_MAX_NAME 255                  /* bytes of a display name (UTF-8, not NUL-terminated on disk) */
#define SESSION_MAX_PATH 1024                 /* bytes of an avatar path */
#define SESSION_MAX_TIME_US (INT64_C(1) << 52) /* timestamps are 0..this (142 years), so deltas never overflow */
#define SESSION_HASH_SIZE 32                  /* SHA-256 of the avatar file */
#define SESSION_MAX_AVATAR_BYTES (UINT64_C(4) << 30) /* an avatar file hashed (a full-size dam file is ~0.2 GB) */

struct session_participant {
	uint32_t id;              /* the id packets carry; unique within a recording */
	const char *name;         /* display name; NULL or "" for none */
	const char *avatar_path;  /* relative to the recording's folder, '/'-separated, no ".." parts */
	uint8_t avatar_hash[SESSION_HASH_SIZE]; /* SHA-256 of the avatar file's bytes (session_hash_file) */
	/* Reader only: where the participant appears. 0 for those named in the file header, else the start time of
	 * the chunk holding its join record (the writer starts a new chunk at each join). */
	int64_t joined_us;
};

struct session_packet {
	int64_t time_us;      /* 0 .. SESSION_MAX_TIME_US, microseconds on the recording's clock */
	uint32_t participant; /* a participant's id */
	uint32_t kind;        /* opaque to the session layer (the codec's packet type) */
	const uint8_t *data;
	size_t size;          /* 0 .. SESSION_MAX_PACKET */
};

/* Why `path` cannot name an avatar in a recording (absolute, "..", a backslash, control characters, too long), or
 * NULL. The rule for every avatar name that comes from a file or a packet: it is looked up below a folder. */
const char *session_path_problem(const char *path);

/* ---- writing ---- */

struct session_writer_desc {
	/* Participants known at the start, named in the file header; more can join later. */
	const struct session_participant *participants;
	size_t participant_count;
	/* Wall-clock time of timestamp 0, in microseconds since the Unix epoch; 0 means unknown. `merge` uses it
	 * to align recordings made apart. */
	int64_t epoch_unix_us;
	size_t chunk_bytes; /* a chunk is written once its payload reaches this; 0: 64 KiB */
	int64_t chunk_us;   /* ... or once it spans this much recording time; 0: 1 s */
	/* fsync after the header, each chunk and the footer, so what was written survives power loss, not only a
	 * killed process; also fsyncs the folder once the file is created. */
	bool fsync;
};

struct session_writer_stats {
	uint64_t chunks;  /* complete chunks in the file (written and, with fsync, synced) */
	uint64_t packets; /* packets inside those chunks */
	uint64_t bytes;   /* file size so far */
};

struct session_writer;

/* Creates (or truncates) `path` and writes the header. */
enum cv_result session_writer_create(const char *path, const struct session_writer_desc *desc,
                                     struct session_writer **out);
/* A participant joining now: its record goes at the start of a new chunk. Its id must be new. */
enum cv_result session_writer_add_participant(struct session_writer *w, const struct session_participant *p);
/* Packets must come in time order (equal times allowed) from participants already added. */
enum cv_result session_writer_write(struct session_writer *w, const struct session_packet *p);
/* Ends the current chunk now (chunks also end by size and by recording time; call this when packets stop
 * arriving for a while, so they do not wait in memory). */
enum cv_result session_writer_flush(struct session_writer *w);
void session_writer_get_stats(const struct session_writer *w, struct session_writer_stats *out);
/* Writes the last chunk and the footer index, fsyncs the file and its folder and closes it; the writer must still
 * be destroyed. After a write error (a full disk) the file was cut back to its last complete chunk, and close
 * syncs and closes it there (readable, as after a crash) and returns CV_ERROR_IO. */
enum cv_result session_writer_close(struct session_writer *w);
/* Whether `id` was added (header or join), and how many were: at most SESSION_MAX_PARTICIPANTS, after which
 * session_writer_add_participant fails and the writer goes on (packets of ids never added are refused). */
bool session_writer_has_participant(const struct session_writer *w, uint32_t id);
size_t session_writer_participant_count(const struct session_writer *w);
/* fsyncs the folder holding `path`, so a file created or renamed there survives power loss. */
enum cv_result session_sync_folder(const char *path);
/* Without session_writer_close the file ends after its last complete chunk, as after a crash: still readable. */
void session_writer_destroy(struct session_writer **w);

/* ---- reading ---- */

struct session_info {
	int64_t epoch_unix_us;  /* 0: unknown */
	int64_t start_us;       /* first chunk's start; 0 when there are no chunks */
	int64_t end_us;         /* last chunk's end */
	uint64_t chunk_count;   /* complete, well-ordered chunks found by the index (some may turn out damaged) */
	uint64_t packet_count;  /* packets those chunks claim (their headers are checksummed) */
	size_t participant_count;
	bool footer_index;      /* the footer index was used; false: it was absent or damaged and rebuilt by scanning */
	uint64_t file_size;
};

/* Everything skipped, counted once, as it is found: opening finds the incomplete tail, damage in chunk headers
 * (when it scans) and in the chunks that name participants; reading finds the rest. */
struct session_reader_stats {
	uint64_t damaged_chunks;      /* failed checksum or structure; none of their packets are returned */
	uint64_t damaged_bytes;       /* bytes skipped: damaged and misordered chunks, unreadable stretches */
	uint64_t misordered_chunks;   /* intact but starting before the previous chunk's end, or out of sequence */
	uint64_t unknown_participant_packets; /* packets from an id no earlier record named */
	uint64_t duplicate_participants;      /* join records for an id already named (the first one stays) */
	uint64_t tail_bytes;          /* an incomplete last chunk: the recording was cut off */
	bool footer_damaged;          /* a footer was there but did not check out */
};

/* One damaged or skipped stretch of the file, for reports. */
struct session_damage {
	uint64_t offset, size;
	const char *reason; /* static text */
};

struct session_reader;

enum cv_result session_reader_open(const char *path, struct session_reader **out);
/* `data` is borrowed, not copied: keep it alive until session_reader_destroy. */
enum cv_result session_reader_open_memory(const void *data, size_t size, struct session_reader **out);
void session_reader_destroy(struct session_reader **r);

void session_reader_info(const struct session_reader *r, struct session_info *out);
void session_reader_get_stats(const struct session_reader *r, struct session_reader_stats *out);
/* Participants in the order they were named (header first, then joins in file order); NULL past the last. */
const struct session_participant *session_reader_participant(const struct session_reader *r, size_t i);
/* The participant with this id, or NULL. */
const struct session_participant *session_reader_find_participant(const struct session_reader *r, uint32_t id);
size_t session_reader_damage_count(const struct session_reader *r);
const struct session_damage *session_reader_damage(const struct session_reader *r, size_t i);

/* The next packet in time order: *got is false at the end. Damaged chunks are skipped (counted, logged as a
 * warning); an error is returned only when reading itself fails (I/O, memory). */
enum cv_result session_reader_next(struct session_reader *r, struct session_packet *out, bool *got);
/* Positions the reader so that session_reader_next returns the first packet at or after `time_us`: it loads
 * the chunk whose time range holds it (found in the index) and skips that chunk's earlier packets. */
enum cv_result session_reader_seek(struct session_reader *r, int64_t time_us);

/* ---- checksums and hashes (also used by tests and tools) ---- */

/* CRC-32C (Castagnoli), the chunk checksum; continue a running value by passing it back as `crc`, start at 0.
 * Uses the CPU's CRC32C instruction (SSE 4.2) where there is one, else session_crc32c_table (tests compare them). */
uint32_t session_crc32c(uint32_t crc, const void *data, size_t size);
uint32_t session_crc32c_table(uint32_t crc, const void *data, size_t size);

/* SHA-256, libsodium's (crypto_hash_sha256). */
struct session_sha256 {
	crypto_hash_sha256_state state;
};
void session_sha256_init(struct session_sha256 *h);
void session_sha256_update(struct session_sha256 *h, const void *data, size_t size);
void session_sha256_final(struct session_sha256 *h, uint8_t out[SESSION_HASH_SIZE]);
/* SHA-256 of a whole file, the avatar hash a participant carries. */
enum cv_result session_hash_file(const char *path, uint8_t out[SESSION_HASH_SIZE]);

#endif
