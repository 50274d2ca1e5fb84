/* .cavrec writing and reading; the byte layout is in cavrec-format.md, which this file must keep matching.
 * The reader takes nothing on trust: every size is checked against the file before anything is allocated
 * from it, every chunk against its checksum and its index entry, and every packet against the chunk's time
 * range and the participants named before it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session/session.h"

static const uint8_t file_magic[8] = {'C', 'A', 'V', 'R', 'E', 'C', 0x1a, '\n'};
#define FORMAT_VERSION 1
#define HEADER_FIXED 28 /* magic, version, header size, epoch, participant count */
#define HEADER_MIN (HEADER_FIXED + 4)
#define HEADER_MAX (8u << 20) /* room for SESSION_MAX_PARTICIPANTS with the longest names and paths */
#define CHUNK_MAGIC 0x4b435643u   /* "CVCK" */
#define TRAILER_MAGIC 0x58495643u /* "CVIX" */
#define CHUNK_HEADER 48
#define INDEX_ENTRY 40
#define TRAILER 16
#define TAG_PARTICIPANT 'P'
#define TAG_PACKET 'D'
/* The smallest records, so a claimed count can be checked against the payload before it sizes anything:
 * a packet is a tag and four varints; a participant a tag, three varints and the hash. */
#define MIN_PACKET_RECORD 5
#define MIN_PARTICIPANT_RECORD (4 + SESSION_HASH_SIZE)
#define MAX_UVARINT 10

enum chunk_type { CHUNK_PACKETS = 1, CHUNK_INDEX = 2 };
enum chunk_status { CHUNK_UNCHECKED, CHUNK_OK, CHUNK_DAMAGED };

struct chunk_header {
	uint16_t type;
	uint32_t seq, payload_size, packet_count, join_count, payload_crc;
	int64_t t_first, t_last;
};

struct index_entry {
	uint64_t offset;
	struct chunk_header h; /* payload_crc is not in the footer index: it is checked against the payload */
	enum chunk_status status;
};

/* ---- little-endian fields and varints ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A read position in untrusted bytes: any read past the end sets `bad` and yields zeros, so parsers check once. */
struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *cursor_take(struct cursor *c, uint64_t n)
{
	if (c->bad || n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *at = c->p;
	c->p += n;
	return at;
}

static uint8_t cursor_u8(struct cursor *c)
{
	const uint8_t *p = cursor_take(c, 1);
	return p ? *p : 0;
}

static uint64_t cursor_uvarint(struct cursor *c)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 7 * MAX_UVARINT; shift += 7) {
		const uint8_t *p = cursor_take(c, 1);
		if (!p) return 0;
		if (shift == 63 && *p > 1) break; /* more than 64 bits */
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80)) return v;
	}
	c->bad = true;
	return 0;
}

/* A growable byte buffer for what the writer assembles. */
struct bytes {
	uint8_t *data;
	size_t len, cap;
};

static bool bytes_reserve(struct bytes *b, size_t more)
{
	size_t need;
	if (cv_add_overflows(b->len, more, &need)) return false;
	if (need <= b->cap) return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need) cap *= 2;
	uint8_t *grown = realloc(b->data, cap);
	if (!grown) return false;
	b->data = grown;
	b->cap = cap;
	return true;
}

static bool bytes_put(struct bytes *b, const void *data, size_t n)
{
	if (!bytes_reserve(b, n)) return false;
	if (n) memcpy(b->data + b->len, data, n);
	b->len += n;
	return true;
}

static bool bytes_put_le(struct bytes *b, uint64_t v, int n)
{
	if (!bytes_reserve(b, (size_t)n)) return false;
	put_le(b->data + b->len, v, n);
	b->len += (size_t)n;
	return true;
}

static bool bytes_put_uvarint(struct bytes *b, uint64_t v)
{
	uint8_t tmp[MAX_UVARINT];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return bytes_put(b, tmp, n);
}

/* ---- records shared by writer and reader ---- */

/* Why a name or path cannot be stored, or NULL. Control characters are refused so `inspect` cannot be made
 * to print terminal escapes; paths must stay inside the recording's folder when a player resolves them. */
static const char *text_problem(const uint8_t *s, size_t n, bool path)
{
	if (n > (path ? SESSION_MAX_PATH : SESSION_MAX_NAME)) return path ? "avatar path too long" : "name too long";
	for (size_t i = 0; i < n; i++)
		if (cv_control_char_len(s + i, n - i)) return "control character";
	if (!path) return NULL;
	if (n && s[0] == '/') return "avatar path is absolute";
	if (memchr(s, '\\', n)) return "avatar path has a backslash";
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != '/') j++;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') return "avatar path leaves the recording's folder";
		i = j + 1;
	}
	return NULL;
}

const char *session_path_problem(const char *path)
{
	return text_problem((const uint8_t *)path, strlen(path), true);
}

/* A participant record as it lies in the file: strings point into the parsed bytes. */
struct participant_record {
	uint32_t id;
	const uint8_t *name, *path, *hash;
	size_t name_len, path_len;
};

static const char *parse_participant(struct cursor *c, struct participant_record *p)
{
	if (cursor_u8(c) != TAG_PARTICIPANT)
		return c->bad ? "participant record cut short" : "not a participant record";
	uint64_t id = cursor_uvarint(c);
	uint64_t name_len = cursor_uvarint(c);
	p->name = cursor_take(c, name_len);
	p->hash = cursor_take(c, SESSION_HASH_SIZE);
	uint64_t path_len = cursor_uvarint(c);
	p->path = cursor_take(c, path_len);
	if (c->bad) return "participant record cut short";
	if (id > UINT32_MAX) return "participant id out of range";
	p->id = (uint32_t)id;
	p->name_len = (size_t)name_len;
	p->path_len = (size_t)path_len;
	const char *why = text_problem(p->name, p->name_len, false);
	return why ? why : text_problem(p->path, p->path_len, true);
}

static enum cv_result check_participant(const struct session_participant *p)
{
	if (!p) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no participant given");
	const char *name = p->name ? p->name : "", *path = p->avatar_path ? p->avatar_path : "";
	const char *why = text_problem((const uint8_t *)name, strlen(name), false);
	if (!why) why = text_problem((const uint8_t *)path, strlen(path), true);
	if (why)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "participant %u (\"%.64s\", '%.64s'): %s", p->id, name, path,
		               why);
	return CV_OK;
}

static bool put_participant(struct bytes *b, const struct session_participant *p)
{
	const char *name = p->name ? p->name : "", *path = p->avatar_path ? p->avatar_path : "";
	return bytes_put_le(b, TAG_PARTICIPANT, 1) && bytes_put_uvarint(b, p->id) &&
	       bytes_put_uvarint(b, strlen(name)) && bytes_put(b, name, strlen(name)) &&
	       bytes_put(b, p->avatar_hash, SESSION_HASH_SIZE) && bytes_put_uvarint(b, strlen(path)) &&
	       bytes_put(b, path, strlen(path));
}

static void chunk_header_encode(const struct chunk_header *h, uint8_t out[CHUNK_HEADER])
{
	put_le(out, CHUNK_MAGIC, 4);
	put_le(out + 4, h->type, 2);
	put_le(out + 6, 0, 2);
	put_le(out + 8, h->seq, 4);
	put_le(out + 12, h->payload_size, 4);
	put_le(out + 16, (uint64_t)h->t_first, 8);
	put_le(out + 24, (uint64_t)h->t_last, 8);
	put_le(out + 32, h->packet_count, 4);
	put_le(out + 36, h->join_count, 4);
	put_le(out + 40, h->payload_crc, 4);
	put_le(out + 44, session_crc32c(0, out, 44), 4);
}

/* Fields a chunk header may hold whether it comes from the chunk or from the footer index. */
static bool chunk_fields_sane(const struct chunk_header *h)
{
	if (h->payload_size > SESSION_MAX_CHUNK) return false;
	if (h->t_first < 0 || h->t_first > h->t_last || h->t_last > SESSION_MAX_TIME_US) return false;
	if (h->type == CHUNK_INDEX) return h->payload_size % INDEX_ENTRY == 0;
	if (h->type != CHUNK_PACKETS) return false;
	uint64_t least = (uint64_t)h->packet_count * MIN_PACKET_RECORD +
	                 (uint64_t)h->join_count * MIN_PARTICIPANT_RECORD;
	return least <= h->payload_size && (h->packet_count || h->t_first == h->t_last);
}

static bool chunk_header_decode(const uint8_t in[CHUNK_HEADER], struct chunk_header *h)
{
	if (get_le(in, 4) != CHUNK_MAGIC || get_le(in + 44, 4) != session_crc32c(0, in, 44)) return false;
	if (get_le(in + 6, 2) != 0) return false; /* flags: none defined in version 1 */
	*h = (struct chunk_header){
		.type = (uint16_t)get_le(in + 4, 2),
		.seq = (uint32_t)get_le(in + 8, 4),
		.payload_size = (uint32_t)get_le(in + 12, 4),
		.t_first = (int64_t)get_le(in + 16, 8),
		.t_last = (int64_t)get_le(in + 24, 8),
		.packet_count = (uint32_t)get_le(in + 32, 4),
		.join_count = (uint32_t)get_le(in + 36, 4),
		.payload_crc = (uint32_t)get_le(in + 40, 4),
	};
	return chunk_fields_sane(h);
}

/* ---- writer ---- */

struct session_writer {
	int fd;
	char *path;
	size_t chunk_bytes;
	int64_t chunk_us;
	bool fsync;
	struct bytes chunk;       /* the open chunk: CHUNK_HEADER bytes reserved, then its records */
	struct chunk_header open; /* counts and times of the open chunk */
	int64_t last_time;        /* newest packet written */
	uint32_t *ids;            /* known participant ids, sorted */
	size_t id_count;
	struct index_entry *index; /* complete chunks, for the footer */
	size_t index_count, index_cap;
	struct session_writer_stats stats;
	bool failed; /* after an I/O error the file ends in a partial chunk: nothing more may follow it */
};

static size_t find_id(const uint32_t *ids, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

static enum cv_result writer_add_id(struct session_writer *w, uint32_t id)
{
	size_t at = find_id(w->ids, w->id_count, id);
	if (at < w->id_count && w->ids[at] == id)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: participant id %u is already in the recording", w->path,
		               id);
	if (w->id_count >= SESSION_MAX_PARTICIPANTS)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: more than %d participants", w->path,
		               SESSION_MAX_PARTICIPANTS);
	uint32_t *grown = realloc(w->ids, (w->id_count + 1) * sizeof(*grown));
	if (!grown) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "participant list");
	w->ids = grown;
	memmove(w->ids + at + 1, w->ids + at, (w->id_count - at) * sizeof(*w->ids));
	w->ids[at] = id;
	w->id_count++;
	return CV_OK;
}

static enum cv_result write_all(struct session_writer *w, const void *data, size_t size)
{
	const uint8_t *p = data;
	uint64_t good = w->stats.bytes;
	while (size) {
		ssize_t n = write(w->fd, p, size);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) {
			/* Back to the last complete chunk (a full disk, a file size limit): the file stays what a reader
			 * expects after a crash, and close ends it there. */
			int err = n < 0 ? errno : ENOSPC;
			if (ftruncate(w->fd, (off_t)good) == 0) w->stats.bytes = good;
			w->failed = true;
			return CV_FAIL(CV_ERROR_IO, "cannot write '%s': %s", w->path, strerror(err));
		}
		p += n;
		size -= (size_t)n;
		w->stats.bytes += (uint64_t)n;
	}
	if (w->fsync && fsync(w->fd) != 0) {
		w->failed = true;
		return CV_FAIL(CV_ERROR_IO, "cannot sync '%s': %s", w->path, strerror(errno));
	}
	return CV_OK;
}

/* The new file's name must survive power loss too, not only its contents. */
static enum cv_result sync_folder(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash) snprintf(dir, sizeof(dir), ".");
	else snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return CV_FAIL(CV_ERROR_IO, "cannot open folder '%s': %s", dir, strerror(errno));
	int synced = fsync(fd);
	close(fd);
	if (synced != 0) return CV_FAIL(CV_ERROR_IO, "cannot sync folder '%s': %s", dir, strerror(errno));
	return CV_OK;
}

static enum cv_result write_header(struct session_writer *w, const struct session_writer_desc *desc)
{
	struct bytes b = {0};
	bool ok = bytes_put(&b, file_magic, sizeof(file_magic)) && bytes_put_le(&b, FORMAT_VERSION, 4) &&
	          bytes_put_le(&b, 0, 4) && bytes_put_le(&b, (uint64_t)desc->epoch_unix_us, 8) &&
	          bytes_put_le(&b, desc->participant_count, 4);
	for (size_t i = 0; ok && i < desc->participant_count; i++) ok = put_participant(&b, &desc->participants[i]);
	ok = ok && bytes_reserve(&b, 4);
	if (!ok) {
		free(b.data);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: file header", w->path);
	}
	put_le(b.data + 12, b.len + 4, 4);
	bytes_put_le(&b, session_crc32c(0, b.data, b.len), 4);
	enum cv_result r = write_all(w, b.data, b.len);
	free(b.data);
	return r;
}

static void writer_reset_chunk(struct session_writer *w)
{
	w->chunk.len = CHUNK_HEADER;
	w->open = (struct chunk_header){.type = CHUNK_PACKETS};
}

enum cv_result session_writer_create(const char *path, const struct session_writer_desc *desc,
                                     struct session_writer **out)
{
	*out = NULL;
	static const struct session_writer_desc defaults = {0};
	if (!desc) desc = &defaults;
	if (!path) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no recording path");
	if (desc->participant_count > SESSION_MAX_PARTICIPANTS || (desc->participant_count && !desc->participants))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: %zu participants", path, desc->participant_count);
	if (desc->chunk_bytes > SESSION_MAX_CHUNK || desc->chunk_us < 0)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: chunk size %zu bytes, %lld us", path, desc->chunk_bytes,
		               (long long)desc->chunk_us);
	for (size_t i = 0; i < desc->participant_count; i++) CV_TRY(check_participant(&desc->participants[i]));

	struct session_writer *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !bytes_reserve(&w->chunk, CHUNK_HEADER)) {
		if (w) free(w->path);
		free(w);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "recording writer");
	}
	w->fd = -1;
	w->chunk_bytes = desc->chunk_bytes ? desc->chunk_bytes : 64 * 1024;
	w->chunk_us = desc->chunk_us ? desc->chunk_us : 1000000;
	w->fsync = desc->fsync;
	writer_reset_chunk(w);
	enum cv_result r = CV_OK;
	for (size_t i = 0; r == CV_OK && i < desc->participant_count; i++)
		r = writer_add_id(w, desc->participants[i].id);
	if (r == CV_OK) {
		w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w->fd < 0) r = CV_FAIL(CV_ERROR_IO, "cannot create '%s': %s", path, strerror(errno));
	}
	if (r == CV_OK) r = write_header(w, desc);
	if (r == CV_OK && w->fsync) r = sync_folder(path);
	if (r != CV_OK) {
		session_writer_destroy(&w);
		return r;
	}
	*out = w;
	return CV_OK;
}

static enum cv_result writer_usable(struct session_writer *w)
{
	if (!w) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no recording writer");
	if (w->failed) return CV_FAIL(CV_ERROR_IO, "'%s': an earlier write failed", w->path);
	if (w->fd < 0) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "'%s' is already closed", w->path);
	return CV_OK;
}

enum cv_result session_writer_flush(struct session_writer *w)
{
	CV_TRY(writer_usable(w));
	struct chunk_header *h = &w->open;
	if (!h->packet_count && !h->join_count) return CV_OK;
	if (w->index_count == UINT32_MAX) return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: too many chunks", w->path);
	if (w->index_count == w->index_cap) {
		size_t cap = w->index_cap ? 2 * w->index_cap : 64;
		struct index_entry *grown = realloc(w->index, cap * sizeof(*grown));
		if (!grown) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "recording index");
		w->index = grown;
		w->index_cap = cap;
	}
	/* A chunk of joins alone sits at the current time, so chunk time ranges never overlap. */
	if (!h->packet_count) h->t_first = h->t_last = w->last_time;
	h->seq = (uint32_t)w->index_count;
	h->payload_size = (uint32_t)(w->chunk.len - CHUNK_HEADER);
	h->payload_crc = session_crc32c(0, w->chunk.data + CHUNK_HEADER, h->payload_size);
	chunk_header_encode(h, w->chunk.data);
	uint64_t offset = w->stats.bytes;
	CV_TRY(write_all(w, w->chunk.data, w->chunk.len));
	w->index[w->index_count++] = (struct index_entry){.offset = offset, .h = *h};
	w->stats.chunks++;
	w->stats.packets += h->packet_count;
	writer_reset_chunk(w);
	return CV_OK;
}

enum cv_result session_writer_add_participant(struct session_writer *w, const struct session_participant *p)
{
	CV_TRY(writer_usable(w));
	CV_TRY(check_participant(p));
	/* Joins lead their chunk, so the chunk's start time is the join time a reader reports. */
	if (w->open.packet_count) CV_TRY(session_writer_flush(w));
	CV_TRY(writer_add_id(w, p->id));
	if (!put_participant(&w->chunk, p)) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: participant record", w->path);
	w->open.join_count++;
	return CV_OK;
}

enum cv_result session_writer_write(struct session_writer *w, const struct session_packet *p)
{
	CV_TRY(writer_usable(w));
	if (!p || (p->size && !p->data)) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: no packet data", w->path);
	if (p->time_us < 0 || p->time_us > SESSION_MAX_TIME_US)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: packet time %lld us is outside 0..2^52", w->path,
		               (long long)p->time_us);
	if (p->time_us < w->last_time)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT,
		               "%s: packet at %lld us after one at %lld us: packets must come in time order", w->path,
		               (long long)p->time_us, (long long)w->last_time);
	if (p->size > SESSION_MAX_PACKET)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: packet of %zu bytes (at most %u)", w->path, p->size,
		               SESSION_MAX_PACKET);
	size_t at = find_id(w->ids, w->id_count, p->participant);
	if (at == w->id_count || w->ids[at] != p->participant)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s: packet from participant %u, who was never added",
		               w->path, p->participant);

	size_t record = 1 + 4 * MAX_UVARINT + p->size;
	bool too_long = w->open.packet_count && p->time_us - w->open.t_first >= w->chunk_us;
	if (too_long || w->chunk.len - CHUNK_HEADER + record > SESSION_MAX_CHUNK) CV_TRY(session_writer_flush(w));

	struct chunk_header *h = &w->open;
	uint64_t dt = h->packet_count ? (uint64_t)(p->time_us - h->t_last) : 0;
	bool ok = bytes_put_le(&w->chunk, TAG_PACKET, 1) && bytes_put_uvarint(&w->chunk, dt) &&
	          bytes_put_uvarint(&w->chunk, p->participant) && bytes_put_uvarint(&w->chunk, p->kind) &&
	          bytes_put_uvarint(&w->chunk, p->size) && bytes_put(&w->chunk, p->data, p->size);
	if (!ok) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: chunk of %zu bytes", w->path, w->chunk.len);
	if (!h->packet_count) h->t_first = p->time_us;
	h->t_last = p->time_us;
	h->packet_count++;
	w->last_time = p->time_us;
	if (w->chunk.len - CHUNK_HEADER >= w->chunk_bytes) CV_TRY(session_writer_flush(w));
	return CV_OK;
}

void session_writer_get_stats(const struct session_writer *w, struct session_writer_stats *out) { *out = w->stats; }

static enum cv_result write_footer(struct session_writer *w)
{
	size_t payload = w->index_count * INDEX_ENTRY;
	if (payload > SESSION_MAX_CHUNK) {
		/* Readers rebuild the index by scanning, as after a crash. */
		CV_WARN("%s: %zu chunks are too many for a footer index; readers will scan", w->path, w->index_count);
		return CV_OK;
	}
	struct bytes b = {0};
	if (!bytes_reserve(&b, CHUNK_HEADER + payload + TRAILER))
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "footer index");
	b.len = CHUNK_HEADER;
	for (size_t i = 0; i < w->index_count; i++) {
		const struct index_entry *e = &w->index[i];
		bytes_put_le(&b, e->offset, 8);
		bytes_put_le(&b, (uint64_t)e->h.t_first, 8);
		bytes_put_le(&b, (uint64_t)e->h.t_last, 8);
		bytes_put_le(&b, e->h.seq, 4);
		bytes_put_le(&b, e->h.payload_size, 4);
		bytes_put_le(&b, e->h.packet_count, 4);
		bytes_put_le(&b, e->h.join_count, 4);
	}
	struct chunk_header h = {
		.type = CHUNK_INDEX,
		.seq = (uint32_t)w->index_count,
		.payload_size = (uint32_t)payload,
		.t_first = w->index_count ? w->index[0].h.t_first : 0,
		.t_last = w->index_count ? w->index[w->index_count - 1].h.t_last : 0,
		.payload_crc = session_crc32c(0, b.data + CHUNK_HEADER, payload),
	};
	chunk_header_encode(&h, b.data);
	uint64_t footer_offset = w->stats.bytes;
	bytes_put_le(&b, footer_offset, 8);
	bytes_put_le(&b, TRAILER_MAGIC, 4);
	bytes_put_le(&b, session_crc32c(0, b.data + b.len - 12, 12), 4);
	enum cv_result r = write_all(w, b.data, b.len);
	free(b.data);
	return r;
}

enum cv_result session_writer_close(struct session_writer *w)
{
	if (!w) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no recording writer");
	if (w->fd < 0) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "'%s' is already closed", w->path);
	bool failed_before = w->failed;
	enum cv_result r = failed_before ? CV_ERROR_IO : session_writer_flush(w);
	if (r == CV_OK) r = write_footer(w);
	/* Whatever happened, what is in the file (complete chunks, after a failure) is synced and the file closed. */
	bool synced = fsync(w->fd) == 0;
	int sync_errno = errno;
	int closed = close(w->fd);
	w->fd = -1;
	if (failed_before)
		return CV_FAIL(CV_ERROR_IO, "'%s' ends at its last complete chunk (%llu bytes) after a write error", w->path,
		               (unsigned long long)w->stats.bytes);
	if (r != CV_OK) return r;
	if (!synced) return CV_FAIL(CV_ERROR_IO, "cannot sync '%s': %s", w->path, strerror(sync_errno));
	if (closed != 0) return CV_FAIL(CV_ERROR_IO, "cannot close '%s': %s", w->path, strerror(errno));
	return sync_folder(w->path);
}

bool session_writer_has_participant(const struct session_writer *w, uint32_t id)
{
	size_t at = find_id(w->ids, w->id_count, id);
	return at < w->id_count && w->ids[at] == id;
}

size_t session_writer_participant_count(const struct session_writer *w) { return w->id_count; }

enum cv_result session_sync_folder(const char *path) { return sync_folder(path); }

void session_writer_destroy(struct session_writer **pw)
{
	struct session_writer *w = *pw;
	if (!w) return;
	if (w->fd >= 0) close(w->fd);
	free(w->chunk.data);
	free(w->ids);
	free(w->index);
	free(w->path);
	free(w);
	*pw = NULL;
}

/* ---- reader ---- */

struct participant_slot {
	struct session_participant p;
	size_t join_chunk; /* 0: named in the header; k + 1: joined in chunk k */
	char *strings;     /* owns p.name and p.avatar_path */
};

struct session_reader {
	int fd; /* -1 when reading from memory */
	const uint8_t *mem;
	uint64_t size;
	char *name; /* for messages */
	int64_t epoch;
	uint64_t header_size;
	uint64_t scan_end; /* where chunks end: the file size, or a footer's offset from an intact trailer */
	bool footer;
	struct index_entry *index;
	size_t index_count, index_cap;
	struct participant_slot *parts;
	size_t part_count, parts_cap, by_id_cap;
	uint16_t *by_id; /* indices into parts, sorted by id (SESSION_MAX_PARTICIPANTS fits) */
	struct session_damage *damage;
	size_t damage_count, damage_cap;
	struct session_reader_stats stats;
	/* The chunk being read: its payload, and its packets (pointing into the payload). */
	uint8_t *payload;
	size_t payload_cap;
	struct session_packet *packets;
	size_t packets_cap, packet_count, pos;
	size_t chunk;  /* index entry being read, or next to read when !loaded */
	bool loaded;
	int64_t min_time; /* set by seek: earlier packets of the first chunk read are skipped */
};

static enum cv_result src_read(struct session_reader *r, uint64_t offset, void *buf, size_t n)
{
	/* Callers check ranges against r->size first; this only guards the file shrinking under us. */
	if (offset > r->size || n > r->size - offset)
		return CV_FAIL(CV_ERROR_IO, "%s: read past the end at %llu", r->name, (unsigned long long)offset);
	if (r->fd < 0) {
		if (n) memcpy(buf, r->mem + offset, n);
		return CV_OK;
	}
	uint8_t *p = buf;
	while (n) {
		ssize_t got = pread(r->fd, p, n, (off_t)offset);
		if (got < 0 && errno == EINTR) continue;
		if (got <= 0)
			return CV_FAIL(CV_ERROR_IO, "cannot read '%s' at %llu: %s", r->name, (unsigned long long)offset,
			               got < 0 ? strerror(errno) : "the file shrank");
		p += got;
		n -= (size_t)got;
		offset += (uint64_t)got;
	}
	return CV_OK;
}

static bool grow(void **array, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap) return true;
	size_t n = *cap ? *cap : 16, bytes;
	while (n < need) n *= 2;
	if (cv_mul_overflows(n, elem, &bytes)) return false;
	void *grown = realloc(*array, bytes);
	if (!grown) return false;
	*array = grown;
	*cap = n;
	return true;
}

static enum cv_result add_damage(struct session_reader *r, uint64_t offset, uint64_t size, const char *reason)
{
	if (!grow((void **)&r->damage, &r->damage_cap, r->damage_count + 1, sizeof(*r->damage)))
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "damage list");
	r->damage[r->damage_count++] = (struct session_damage){.offset = offset, .size = size, .reason = reason};
	r->stats.damaged_bytes += size;
	CV_WARN("%s: %llu bytes at offset %llu skipped: %s", r->name, (unsigned long long)size,
	        (unsigned long long)offset, reason);
	return CV_OK;
}

static const struct participant_slot *find_slot(const struct session_reader *r, uint32_t id)
{
	size_t lo = 0, hi = r->part_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->parts[r->by_id[mid]].p.id < id) lo = mid + 1;
		else hi = mid;
	}
	return lo < r->part_count && r->parts[r->by_id[lo]].p.id == id ? &r->parts[r->by_id[lo]] : NULL;
}

static enum cv_result add_participant(struct session_reader *r, const struct participant_record *rec,
                                      size_t join_chunk, int64_t joined_us)
{
	if (find_slot(r, rec->id)) {
		r->stats.duplicate_participants++;
		CV_WARN("%s: participant %u named twice; the first stays", r->name, rec->id);
		return CV_OK;
	}
	if (r->part_count >= SESSION_MAX_PARTICIPANTS) return CV_FAIL(CV_ERROR_FORMAT, "%s: more than %d participants",
	                                                                r->name, SESSION_MAX_PARTICIPANTS);
	if (!grow((void **)&r->parts, &r->parts_cap, r->part_count + 1, sizeof(*r->parts)) ||
	    !grow((void **)&r->by_id, &r->by_id_cap, r->part_count + 1, sizeof(*r->by_id)))
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "participant list");
	char *s = malloc(rec->name_len + rec->path_len + 2);
	if (!s) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "participant %u", rec->id);
	memcpy(s, rec->name, rec->name_len);
	s[rec->name_len] = '\0';
	memcpy(s + rec->name_len + 1, rec->path, rec->path_len);
	s[rec->name_len + 1 + rec->path_len] = '\0';
	struct participant_slot *slot = &r->parts[r->part_count];
	*slot = (struct participant_slot){
		.p = {.id = rec->id, .name = s, .avatar_path = s + rec->name_len + 1, .joined_us = joined_us},
		.join_chunk = join_chunk,
		.strings = s,
	};
	memcpy(slot->p.avatar_hash, rec->hash, SESSION_HASH_SIZE);
	size_t lo = 0, hi = r->part_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->parts[r->by_id[mid]].p.id < rec->id) lo = mid + 1;
		else hi = mid;
	}
	memmove(r->by_id + lo + 1, r->by_id + lo, (r->part_count - lo) * sizeof(*r->by_id));
	r->by_id[lo] = (uint16_t)r->part_count;
	r->part_count++;
	return CV_OK;
}

static enum cv_result read_header(struct session_reader *r)
{
	uint8_t fixed[HEADER_FIXED];
	if (r->size < HEADER_MIN) return CV_FAIL(CV_ERROR_FORMAT, "%s: not a .cavrec file (%llu bytes)", r->name,
	                                         (unsigned long long)r->size);
	CV_TRY(src_read(r, 0, fixed, sizeof(fixed)));
	if (memcmp(fixed, file_magic, sizeof(file_magic)))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: not a .cavrec file", r->name);
	uint32_t version = (uint32_t)get_le(fixed + 8, 4);
	if (version != FORMAT_VERSION)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: .cavrec version %u (this build reads %d)", r->name, version,
		               FORMAT_VERSION);
	uint32_t header_size = (uint32_t)get_le(fixed + 12, 4);
	uint32_t count = (uint32_t)get_le(fixed + 24, 4);
	if (header_size < HEADER_MIN || header_size > HEADER_MAX)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: header of %u bytes", r->name, header_size);
	if (header_size > r->size)
		return CV_FAIL(CV_ERROR_FORMAT,
		               "%s: header of %u bytes in a %llu-byte file (cut off while it was written)", r->name,
		               header_size, (unsigned long long)r->size);
	if (count > SESSION_MAX_PARTICIPANTS || (uint64_t)count * MIN_PARTICIPANT_RECORD > header_size - HEADER_MIN)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: header claims %u participants in %u bytes", r->name, count,
		               header_size);
	uint8_t *header = malloc(header_size);
	if (!header) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: header", r->name);
	enum cv_result res = src_read(r, 0, header, header_size);
	if (res == CV_OK && get_le(header + header_size - 4, 4) != session_crc32c(0, header, header_size - 4))
		res = CV_FAIL(CV_ERROR_FORMAT, "%s: header checksum mismatch", r->name);
	struct cursor c = {.p = header + HEADER_FIXED, .end = header + header_size - 4};
	for (uint32_t i = 0; res == CV_OK && i < count; i++) {
		struct participant_record rec;
		const char *why = parse_participant(&c, &rec);
		if (why) res = CV_FAIL(CV_ERROR_FORMAT, "%s: header participant %u: %s", r->name, i, why);
		else res = add_participant(r, &rec, 0, 0);
	}
	if (res == CV_OK && c.p != c.end)
		res = CV_FAIL(CV_ERROR_FORMAT, "%s: header has bytes after its participants", r->name);
	free(header);
	r->header_size = header_size;
	r->epoch = (int64_t)get_le(fixed + 16, 8);
	return res;
}

static enum cv_result reserve_payload(struct session_reader *r, size_t n)
{
	/* Never NULL, even for an empty payload: cursors do arithmetic on it. */
	if (!grow((void **)&r->payload, &r->payload_cap, n ? n : 1, 1))
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "chunk of %zu bytes", n);
	return CV_OK;
}

static enum cv_result add_entry(struct session_reader *r, uint64_t offset, const struct chunk_header *h)
{
	if (!grow((void **)&r->index, &r->index_cap, r->index_count + 1, sizeof(*r->index)))
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "recording index");
	r->index[r->index_count++] = (struct index_entry){.offset = offset, .h = *h};
	return CV_OK;
}

/* Why the footer index cannot be used, or NULL once it filled r->index. Entries must describe chunks in file
 * order that fit between the header and the footer, in sequence and time order; each chunk is still checked
 * against its entry when it is read. */
static const char *parse_footer(struct session_reader *r, uint64_t footer_offset, const struct chunk_header *fh,
                                enum cv_result *res)
{
	if (footer_offset + CHUNK_HEADER + fh->payload_size + TRAILER != r->size) return "footer size";
	if ((*res = reserve_payload(r, fh->payload_size)) != CV_OK) return "";
	if ((*res = src_read(r, footer_offset + CHUNK_HEADER, r->payload, fh->payload_size)) != CV_OK) return "";
	if (session_crc32c(0, r->payload, fh->payload_size) != fh->payload_crc) return "footer checksum mismatch";
	uint64_t end = r->header_size;
	for (size_t i = 0; i < fh->payload_size / INDEX_ENTRY; i++) {
		const uint8_t *e = r->payload + i * INDEX_ENTRY;
		uint64_t offset = get_le(e, 8);
		struct chunk_header h = {
			.type = CHUNK_PACKETS,
			.t_first = (int64_t)get_le(e + 8, 8),
			.t_last = (int64_t)get_le(e + 16, 8),
			.seq = (uint32_t)get_le(e + 24, 4),
			.payload_size = (uint32_t)get_le(e + 28, 4),
			.packet_count = (uint32_t)get_le(e + 32, 4),
			.join_count = (uint32_t)get_le(e + 36, 4),
		};
		if (!chunk_fields_sane(&h) || offset < end || offset > footer_offset ||
		    footer_offset - offset < CHUNK_HEADER + (uint64_t)h.payload_size)
			return "footer entry out of range";
		if (i && (h.seq <= r->index[i - 1].h.seq || h.t_first < r->index[i - 1].h.t_last))
			return "footer entries out of order";
		if ((*res = add_entry(r, offset, &h)) != CV_OK) return "";
		end = offset + CHUNK_HEADER + h.payload_size;
	}
	return NULL;
}

/* Uses the footer index when there is an intact one; a missing footer (a recording that was cut off) is
 * normal, a damaged one is counted. */
static enum cv_result read_footer(struct session_reader *r)
{
	if (r->size < r->header_size + CHUNK_HEADER + TRAILER) return CV_OK;
	uint8_t t[TRAILER], hb[CHUNK_HEADER];
	CV_TRY(src_read(r, r->size - TRAILER, t, TRAILER));
	if (get_le(t + 8, 4) != TRAILER_MAGIC) return CV_OK;
	uint64_t footer_offset = get_le(t, 8);
	struct chunk_header fh;
	enum cv_result res = CV_OK;
	const char *why = NULL;
	if (get_le(t + 12, 4) != session_crc32c(0, t, 12)) why = "trailer checksum mismatch";
	else if (footer_offset < r->header_size || footer_offset > r->size - TRAILER - CHUNK_HEADER)
		why = "footer offset";
	else if ((res = src_read(r, footer_offset, hb, CHUNK_HEADER)) != CV_OK) return res;
	else if (!chunk_header_decode(hb, &fh) || fh.type != CHUNK_INDEX) why = "bad footer header";
	else why = parse_footer(r, footer_offset, &fh, &res);
	if (res != CV_OK) return res;
	if (why) {
		/* An intact trailer still says where the chunks end, so a damaged footer is not mistaken for one. */
		if (get_le(t + 12, 4) == session_crc32c(0, t, 12) && footer_offset >= r->header_size &&
		    footer_offset <= r->size)
			r->scan_end = footer_offset;
		r->index_count = 0;
		r->stats.footer_damaged = true;
		CV_WARN("%s: footer index damaged (%s); rebuilding it by scanning the chunks", r->name, why);
		return CV_OK;
	}
	r->footer = true;
	return CV_OK;
}

/* The offset of the next intact chunk header in [from, end), or `end` when there is none. */
static enum cv_result find_next_header(struct session_reader *r, uint64_t from, uint64_t end, uint64_t *found)
{
	enum { WINDOW = 64 * 1024 };
	uint8_t *win = malloc(WINDOW);
	if (!win) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "scan window");
	*found = end;
	enum cv_result res = CV_OK;
	for (uint64_t pos = from; pos < end && end - pos >= CHUNK_HEADER;) {
		size_t n = end - pos < WINDOW ? (size_t)(end - pos) : WINDOW;
		if ((res = src_read(r, pos, win, n)) != CV_OK) break;
		struct chunk_header h;
		for (size_t i = 0; i + CHUNK_HEADER <= n; i++) {
			if (win[i] == (CHUNK_MAGIC & 0xff) && chunk_header_decode(win + i, &h)) {
				*found = pos + i;
				free(win);
				return CV_OK;
			}
		}
		pos += n - CHUNK_HEADER + 1; /* headers straddling the window's end are tried again in the next */
	}
	free(win);
	return res;
}

static void cut_off(struct session_reader *r, uint64_t tail)
{
	r->stats.tail_bytes = tail;
	CV_WARN("%s: the last %llu bytes are an incomplete chunk (the recording was cut off)", r->name,
	        (unsigned long long)tail);
}

/* Rebuilds the index from the chunks themselves, as after a crash: each chunk header carries what an index
 * entry holds. Stops at the footer chunk or at an incomplete last chunk. */
static enum cv_result scan_chunks(struct session_reader *r)
{
	struct chunk_header prev;
	bool have_prev = false;
	uint64_t size = r->scan_end;
	for (uint64_t off = r->header_size; off < size;) {
		if (size - off < CHUNK_HEADER) {
			cut_off(r, size - off);
			break;
		}
		uint8_t hb[CHUNK_HEADER];
		struct chunk_header h;
		CV_TRY(src_read(r, off, hb, CHUNK_HEADER));
		if (!chunk_header_decode(hb, &h)) {
			uint64_t next = size;
			CV_TRY(find_next_header(r, off + 1, size, &next));
			r->stats.damaged_chunks++;
			CV_TRY(add_damage(r, off, next - off, "no intact chunk header"));
			off = next;
			continue;
		}
		uint64_t end = off + CHUNK_HEADER + h.payload_size;
		if (end > size) {
			cut_off(r, size - off);
			break;
		}
		if (h.type == CHUNK_INDEX) break;
		if (have_prev && (h.seq <= prev.seq || h.t_first < prev.t_last)) {
			r->stats.misordered_chunks++;
			CV_TRY(add_damage(r, off, end - off, "chunk out of order"));
		} else {
			CV_TRY(add_entry(r, off, &h));
			prev = h;
			have_prev = true;
		}
		off = end;
	}
	return CV_OK;
}

static bool same_chunk(const struct chunk_header *a, const struct chunk_header *b)
{
	return a->type == b->type && a->seq == b->seq && a->payload_size == b->payload_size &&
	       a->t_first == b->t_first && a->t_last == b->t_last && a->packet_count == b->packet_count &&
	       a->join_count == b->join_count;
}

/* Parses a chunk's payload into r->packets. Why it is malformed, or NULL. Every record is checked before any
 * is used, so a damaged chunk contributes nothing. */
static const char *parse_chunk(struct session_reader *r, const struct chunk_header *h, enum cv_result *res)
{
	struct cursor c = {.p = r->payload, .end = r->payload + h->payload_size};
	for (uint32_t i = 0; i < h->join_count; i++) {
		struct participant_record rec;
		const char *why = parse_participant(&c, &rec);
		if (why) return why;
	}
	if (!grow((void **)&r->packets, &r->packets_cap, h->packet_count, sizeof(*r->packets))) {
		*res = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%u packets", h->packet_count);
		return "";
	}
	uint64_t span = (uint64_t)(h->t_last - h->t_first), t = 0;
	for (uint32_t i = 0; i < h->packet_count; i++) {
		if (cursor_u8(&c) != TAG_PACKET) return c.bad ? "chunk cut short" : "not a packet record";
		uint64_t dt = cursor_uvarint(&c), id = cursor_uvarint(&c), kind = cursor_uvarint(&c);
		uint64_t size = cursor_uvarint(&c);
		const uint8_t *data = cursor_take(&c, size);
		if (c.bad) return "chunk cut short";
		if (i == 0 && dt != 0) return "first packet is not at the chunk's start";
		if (dt > span - t) return "packet time outside the chunk's range";
		if (id > UINT32_MAX || kind > UINT32_MAX) return "participant or kind out of range";
		if (size > SESSION_MAX_PACKET) return "packet too large";
		t += dt;
		r->packets[i] = (struct session_packet){.time_us = h->t_first + (int64_t)t, .participant = (uint32_t)id,
		                                        .kind = (uint32_t)kind, .data = data, .size = (size_t)size};
	}
	if (h->packet_count && t != span) return "last packet is not at the chunk's end";
	if (c.p != c.end) return "bytes after the chunk's records";
	r->packet_count = h->packet_count;
	return NULL;
}

/* Adds the chunk's join records; only once, when the reader opens, so participants keep file order. */
static enum cv_result collect_joins(struct session_reader *r, size_t k)
{
	struct cursor c = {.p = r->payload, .end = r->payload + r->index[k].h.payload_size};
	for (uint32_t i = 0; i < r->index[k].h.join_count; i++) {
		struct participant_record rec;
		parse_participant(&c, &rec); /* already checked by parse_chunk */
		CV_TRY(add_participant(r, &rec, k + 1, r->index[k].h.t_first));
	}
	return CV_OK;
}

/* Drops packets whose participant is not named by the header or by a join in this or an earlier chunk. */
static void drop_unknown(struct session_reader *r, size_t k, bool count)
{
	size_t kept = 0;
	for (size_t i = 0; i < r->packet_count; i++) {
		const struct participant_slot *s = find_slot(r, r->packets[i].participant);
		if (s && s->join_chunk <= k + 1) r->packets[kept++] = r->packets[i];
		else if (count) r->stats.unknown_participant_packets++;
	}
	if (count && kept < r->packet_count)
		CV_WARN("%s: chunk %zu: %zu packets from unknown participants skipped", r->name, k,
		        r->packet_count - kept);
	r->packet_count = kept;
}

/* Loads chunk k for reading; *ok is false when it is damaged (counted and logged the first time). */
static enum cv_result load_chunk(struct session_reader *r, size_t k, bool opening, bool *ok)
{
	struct index_entry *e = &r->index[k];
	*ok = false;
	r->loaded = false;
	r->packet_count = 0;
	if (e->status == CHUNK_DAMAGED) return CV_OK;
	uint8_t hb[CHUNK_HEADER];
	struct chunk_header h;
	enum cv_result res = CV_OK;
	const char *why = NULL;
	CV_TRY(src_read(r, e->offset, hb, CHUNK_HEADER));
	if (!chunk_header_decode(hb, &h)) why = "bad chunk header";
	else if (!same_chunk(&h, &e->h)) why = "chunk header differs from the footer index";
	else {
		CV_TRY(reserve_payload(r, h.payload_size));
		CV_TRY(src_read(r, e->offset + CHUNK_HEADER, r->payload, h.payload_size));
		if (session_crc32c(0, r->payload, h.payload_size) != h.payload_crc) why = "checksum mismatch";
		else why = parse_chunk(r, &h, &res);
		if (res != CV_OK) return res;
	}
	if (why) {
		e->status = CHUNK_DAMAGED;
		r->stats.damaged_chunks++;
		r->packet_count = 0;
		return add_damage(r, e->offset, CHUNK_HEADER + (uint64_t)e->h.payload_size, why);
	}
	bool first = e->status == CHUNK_UNCHECKED;
	if (opening) CV_TRY(collect_joins(r, k));
	drop_unknown(r, k, first);
	e->status = CHUNK_OK;
	*ok = true;
	return CV_OK;
}

static enum cv_result reader_open(struct session_reader *r)
{
	CV_TRY(read_header(r));
	r->scan_end = r->size;
	CV_TRY(read_footer(r));
	if (!r->footer) CV_TRY(scan_chunks(r));
	/* Participants who joined later are needed before any packet is read: load the chunks that name them. */
	for (size_t k = 0; k < r->index_count; k++) {
		bool ok;
		if (r->index[k].h.join_count) CV_TRY(load_chunk(r, k, true, &ok));
	}
	r->loaded = false;
	r->chunk = 0;
	return CV_OK;
}

static enum cv_result reader_create(const char *name, struct session_reader **out)
{
	struct session_reader *r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(name))) {
		free(r);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "recording reader");
	}
	r->fd = -1;
	*out = r;
	return CV_OK;
}

static enum cv_result reader_finish_open(struct session_reader **r, struct session_reader **out)
{
	enum cv_result res = reader_open(*r);
	if (res != CV_OK) {
		session_reader_destroy(r);
		return res;
	}
	*out = *r;
	return CV_OK;
}

enum cv_result session_reader_open(const char *path, struct session_reader **out)
{
	*out = NULL;
	struct session_reader *r;
	CV_TRY(reader_create(path, &r));
	/* A regular file only, opened without blocking (a FIFO would wait for a writer); no size cap: chunks are read
	 * one at a time, each allocation bounded by the format's limits. */
	enum cv_result res = cv_file_open_regular(path, UINT64_MAX, 0, &r->fd, &r->size);
	if (res != CV_OK) {
		session_reader_destroy(&r);
		return res;
	}
	return reader_finish_open(&r, out);
}

enum cv_result session_reader_open_memory(const void *data, size_t size, struct session_reader **out)
{
	*out = NULL;
	if (!data && size) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no recording data");
	struct session_reader *r;
	CV_TRY(reader_create("recording in memory", &r));
	r->mem = data;
	r->size = size;
	return reader_finish_open(&r, out);
}

void session_reader_destroy(struct session_reader **pr)
{
	struct session_reader *r = *pr;
	if (!r) return;
	if (r->fd >= 0) close(r->fd);
	for (size_t i = 0; i < r->part_count; i++) free(r->parts[i].strings);
	free(r->parts);
	free(r->by_id);
	free(r->index);
	free(r->damage);
	free(r->payload);
	free(r->packets);
	free(r->name);
	free(r);
	*pr = NULL;
}

void session_reader_info(const struct session_reader *r, struct session_info *out)
{
	*out = (struct session_info){
		.epoch_unix_us = r->epoch,
		.chunk_count = r->index_count,
		.participant_count = r->part_count,
		.footer_index = r->footer,
		.file_size = r->size,
	};
	if (r->index_count) {
		out->start_us = r->index[0].h.t_first;
		out->end_us = r->index[r->index_count - 1].h.t_last;
	}
	for (size_t k = 0; k < r->index_count; k++) out->packet_count += r->index[k].h.packet_count;
}

void session_reader_get_stats(const struct session_reader *r, struct session_reader_stats *out) { *out = r->stats; }

const struct session_participant *session_reader_participant(const struct session_reader *r, size_t i)
{
	return i < r->part_count ? &r->parts[i].p : NULL;
}

const struct session_participant *session_reader_find_participant(const struct session_reader *r, uint32_t id)
{
	const struct participant_slot *s = find_slot(r, id);
	return s ? &s->p : NULL;
}

size_t session_reader_damage_count(const struct session_reader *r) { return r->damage_count; }

const struct session_damage *session_reader_damage(const struct session_reader *r, size_t i)
{
	return i < r->damage_count ? &r->damage[i] : NULL;
}

/* The first packet of the loaded chunk at or after `t`. */
static size_t first_at(const struct session_reader *r, int64_t t)
{
	size_t lo = 0, hi = r->packet_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->packets[mid].time_us < t) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

enum cv_result session_reader_next(struct session_reader *r, struct session_packet *out, bool *got)
{
	*got = false;
	for (;;) {
		if (r->loaded && r->pos < r->packet_count) {
			*out = r->packets[r->pos++];
			*got = true;
			return CV_OK;
		}
		if (r->loaded) {
			r->loaded = false;
			r->chunk++;
		}
		if (r->chunk >= r->index_count) return CV_OK;
		bool ok;
		CV_TRY(load_chunk(r, r->chunk, false, &ok));
		if (!ok) {
			r->chunk++;
			continue;
		}
		r->loaded = true;
		r->pos = first_at(r, r->min_time);
	}
}

enum cv_result session_reader_seek(struct session_reader *r, int64_t time_us)
{
	/* Chunks are in time order and end no later than the next begins, so their ends are sorted too. */
	size_t lo = 0, hi = r->index_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->index[mid].h.t_last < time_us) lo = mid + 1;
		else hi = mid;
	}
	r->chunk = lo;
	r->loaded = false;
	r->min_time = time_us;
	return CV_OK;
}
