/* `cavr rec`: import performances into recordings, inspect, cut and merge recordings, and measure how fast they
 * are written and read.
 * Cut and merge read with the same rules as playback (damaged chunks are skipped and reported), so their
 * output is also a repaired copy. Outputs are written beside their final name and renamed into place once
 * complete, so a failed command never leaves a half-written OUT or clobbers an input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/commands.h"
#include "app/rec_cli.h"
#include "avatar/cavatar.h"
#include "avatar/safetensors.h"
#include "codec/codec.h"
#include "session/session.h"

static const char usage[] =
	"usage: cavr rec COMMAND ...\n"
	"\n"
	"  import OUT PERF1[@AVATAR] [PERF2...] [--quality Q] [--names A,B,...] [--epoch UNIX_S]\n"
	"                                  performances (.cavperf) encoded by the stream codec into one recording;\n"
	"                                  participants 1..n, named after the files unless --names; quality as in\n"
	"                                  the codec (default 1); wall-clock start unknown (0) unless --epoch, so\n"
	"                                  the same inputs give the same bytes\n"
	"  inspect FILE [--gap S]          participants, duration, packets and bitrate per participant, gaps\n"
	"                                  between a participant's packets longer than S seconds (default 1),\n"
	"                                  damaged chunks\n"
	"  cut IN OUT [--from S] [--to S]  the packets at S <= time < S, re-timed to start at 0 (the file's\n"
	"                                  wall-clock start moves with it)\n"
	"  merge OUT IN1 [IN2...]          one recording of participants recorded apart, aligned by the files'\n"
	"                                  wall-clock starts (as recorded when a file has none); a participant id\n"
	"                                  used by an earlier input is given a new one, and said so\n"
	"  bench [--seconds N] [--participants N] [--packet BYTES] [--fsync] [--dir DIR]\n"
	"                                  write, read and seek speed on a synthetic recording (30 packets per\n"
	"                                  second per participant; default 600 s, 16 participants, 70 bytes)\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "cavr rec: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nrun 'cavr rec --help' for usage\n");
	return 2;
}

static double seconds(int64_t us) { return (double)us / 1e6; }

/* ---- inspect ---- */

struct inspect_stats {
	uint32_t id;
	uint64_t packets, bytes, gaps;
	int64_t first, last;
};

static int stats_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct inspect_stats *)a)->id, y = ((const struct inspect_stats *)b)->id;
	return (x > y) - (x < y);
}

static void print_epoch(int64_t epoch_us)
{
	if (!epoch_us) {
		printf("wall-clock start: unknown\n");
		return;
	}
	time_t t = (time_t)(epoch_us / 1000000);
	struct tm tm;
	char buf[64];
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
		printf("wall-clock start: %s\n", buf);
}

static void print_participants(const struct session_reader *r, const struct inspect_stats *st, size_t n,
                               int64_t duration)
{
	printf("participants: %zu\n", n);
	printf("  %10s  %-20s %8s %10s %12s %9s %9s %6s  %s\n", "id", "name", "joined s", "packets", "bytes", "kbit/s",
	       "active s", "gaps", "avatar");
	for (size_t i = 0; i < n; i++) {
		const struct session_participant *p = session_reader_participant(r, i);
		const struct inspect_stats *s =
			bsearch(&(struct inspect_stats){.id = p->id}, st, n, sizeof(*st), stats_cmp);
		int64_t active = s->packets ? s->last - s->first : 0;
		/* Over the participant's own span, so a late joiner's rate is not diluted by time before it came. */
		int64_t span = active > 0 ? active : duration;
		double kbit = span > 0 ? (double)s->bytes * 8.0 / seconds(span) / 1000.0 : 0.0;
		char hash[17];
		for (int b = 0; b < 8; b++) snprintf(hash + 2 * b, 3, "%02x", p->avatar_hash[b]);
		printf("  %10u  %-20.20s %8.3f %10llu %12llu %9.2f %9.3f %6llu  %s (sha256 %s...)\n", p->id,
		       p->name[0] ? p->name : "-", seconds(p->joined_us), (unsigned long long)s->packets,
		       (unsigned long long)s->bytes, kbit, seconds(active), (unsigned long long)s->gaps,
		       p->avatar_path[0] ? p->avatar_path : "-", hash);
	}
}

static void print_problems(const struct session_reader *r)
{
	struct session_reader_stats st;
	session_reader_get_stats(r, &st);
	printf("damaged chunks: %llu, chunks out of order: %llu, bytes skipped: %llu\n",
	       (unsigned long long)st.damaged_chunks, (unsigned long long)st.misordered_chunks,
	       (unsigned long long)st.damaged_bytes);
	for (size_t i = 0; i < session_reader_damage_count(r); i++) {
		const struct session_damage *d = session_reader_damage(r, i);
		printf("  offset %llu, %llu bytes: %s\n", (unsigned long long)d->offset, (unsigned long long)d->size,
		       d->reason);
	}
	if (st.unknown_participant_packets)
		printf("packets from unknown participants: %llu\n", (unsigned long long)st.unknown_participant_packets);
	if (st.duplicate_participants)
		printf("participants named twice: %llu\n", (unsigned long long)st.duplicate_participants);
	if (st.tail_bytes)
		printf("incomplete end: %llu bytes (the recording was cut off)\n", (unsigned long long)st.tail_bytes);
	if (st.footer_damaged) printf("footer index: damaged, rebuilt by scanning\n");
}

static enum cv_result inspect(const char *path, int64_t gap_us)
{
	struct session_reader *r;
	CV_TRY(session_reader_open(path, &r));
	struct session_info info;
	session_reader_info(r, &info);
	struct inspect_stats *st = calloc(info.participant_count ? info.participant_count : 1, sizeof(*st));
	if (!st) {
		session_reader_destroy(&r);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "inspect");
	}
	for (size_t i = 0; i < info.participant_count; i++) st[i].id = session_reader_participant(r, i)->id;
	qsort(st, info.participant_count, sizeof(*st), stats_cmp);

	printf("file: %s (%llu bytes, %s)\n", path, (unsigned long long)info.file_size,
	       info.footer_index ? "footer index" : "no footer index: chunks scanned");
	print_epoch(info.epoch_unix_us);
	printf("time: %.3f s .. %.3f s (duration %.3f s), %llu chunks\n", seconds(info.start_us), seconds(info.end_us),
	       seconds(info.end_us - info.start_us), (unsigned long long)info.chunk_count);

	/* Gaps are listed as they are found, before the totals they feed. */
	printf("gaps longer than %.3f s:\n", seconds(gap_us));
	uint64_t packets = 0, bytes = 0, gaps = 0;
	enum cv_result res;
	for (;;) {
		struct session_packet p;
		bool got;
		if ((res = session_reader_next(r, &p, &got)) != CV_OK || !got) break;
		struct inspect_stats *s = bsearch(&(struct inspect_stats){.id = p.participant}, st,
		                                  info.participant_count, sizeof(*st), stats_cmp);
		if (!s) continue; /* readers return only packets of named participants */
		if (s->packets && p.time_us - s->last > gap_us) {
			printf("  participant %u: %.3f s .. %.3f s (%.3f s)\n", s->id, seconds(s->last),
			       seconds(p.time_us), seconds(p.time_us - s->last));
			s->gaps++;
			gaps++;
		}
		if (!s->packets) s->first = p.time_us;
		s->last = p.time_us;
		s->packets++;
		s->bytes += p.size;
		packets++;
		bytes += p.size;
	}
	if (res == CV_OK) {
		if (!gaps) printf("  none\n");
		printf("packets: %llu, %llu bytes of packet data\n", (unsigned long long)packets,
		       (unsigned long long)bytes);
		print_participants(r, st, info.participant_count, info.end_us - info.start_us);
		print_problems(r);
	}
	free(st);
	session_reader_destroy(&r);
	return res;
}

/* ---- cut and merge: copying packets into a new recording ---- */

/* A participant of the output: who, and from when (output time); those present from the start go in the
 * header, the others join when the copy reaches their time. */
struct out_participant {
	struct session_participant p;
	int64_t join_us;
	size_t order; /* input order, to keep joins at the same time in file order */
	bool added;
};

struct rec_output {
	const char *path;
	char *partial; /* written here, renamed to path when complete */
	struct session_writer *w;
	struct out_participant *parts;
	size_t part_count, next_join;
};

static int join_cmp(const void *a, const void *b)
{
	const struct out_participant *x = a, *y = b;
	if (x->join_us != y->join_us) return x->join_us < y->join_us ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

/* Creates the output; `parts` (taken over) need p, join_us and order. Call output_finish even when it fails. */
static enum cv_result output_create(struct rec_output *o, const char *path, int64_t epoch_us,
                                    struct out_participant *parts, size_t count)
{
	*o = (struct rec_output){.path = path, .parts = parts, .part_count = count};
	qsort(parts, count, sizeof(*parts), join_cmp);
	struct session_participant *header = malloc((count ? count : 1) * sizeof(*header));
	o->partial = malloc(strlen(path) + sizeof(".partial"));
	if (!header || !o->partial) {
		free(header);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "output participants");
	}
	sprintf(o->partial, "%s.partial", path);
	while (o->next_join < count && parts[o->next_join].join_us <= 0) {
		header[o->next_join] = parts[o->next_join].p;
		parts[o->next_join++].added = true;
	}
	enum cv_result r = session_writer_create(o->partial, &(struct session_writer_desc){.participants = header,
	                                         .participant_count = o->next_join, .epoch_unix_us = epoch_us}, &o->w);
	free(header);
	return r;
}

static enum cv_result output_joins_until(struct rec_output *o, int64_t t)
{
	for (; o->next_join < o->part_count && o->parts[o->next_join].join_us <= t; o->next_join++) {
		CV_TRY(session_writer_add_participant(o->w, &o->parts[o->next_join].p));
		o->parts[o->next_join].added = true;
	}
	return CV_OK;
}

static enum cv_result output_write(struct rec_output *o, const struct session_packet *p)
{
	CV_TRY(output_joins_until(o, p->time_us));
	return session_writer_write(o->w, p);
}

/* Completes the output (participants that joined by `end_us` without sending anything are kept) or, when
 * `r` is a failure, removes what was written. */
static enum cv_result output_finish(struct rec_output *o, enum cv_result r, int64_t end_us)
{
	if (r == CV_OK) r = output_joins_until(o, end_us);
	if (r == CV_OK) r = session_writer_close(o->w);
	session_writer_destroy(&o->w);
	/* close synced the file: after the rename, its folder, so the new name survives power loss too. */
	if (r == CV_OK && rename(o->partial, o->path) != 0)
		r = CV_FAIL(CV_ERROR_IO, "cannot rename '%s' to '%s': %s", o->partial, o->path, strerror(errno));
	if (r == CV_OK) r = session_sync_folder(o->path);
	if (r != CV_OK && o->partial) unlink(o->partial);
	free(o->partial);
	free(o->parts);
	return r;
}

static void report_damage(const char *path, const struct session_reader *r)
{
	struct session_reader_stats st;
	session_reader_get_stats(r, &st);
	if (st.damaged_chunks || st.misordered_chunks || st.unknown_participant_packets)
		fprintf(stderr,
		        "cavr rec: %s: skipped %llu damaged and %llu misordered chunks, %llu packets of unknown "
		        "participants\n",
		        path, (unsigned long long)st.damaged_chunks, (unsigned long long)st.misordered_chunks,
		        (unsigned long long)st.unknown_participant_packets);
}

/* 2 when OUT names one of the inputs: writing it would destroy what is being read. */
static int output_is_input(const char *out, char **inputs, int count)
{
	struct stat so, si;
	if (stat(out, &so) != 0) return 0;
	for (int i = 0; i < count; i++)
		if (stat(inputs[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
			return bad_usage("output '%s' is also an input", out);
	return 0;
}

static enum cv_result cut(const char *in, const char *out, int64_t from, int64_t to)
{
	struct session_reader *r;
	CV_TRY(session_reader_open(in, &r));
	struct session_info info;
	session_reader_info(r, &info);
	struct out_participant *parts = calloc(info.participant_count ? info.participant_count : 1, sizeof(*parts));
	if (!parts) {
		session_reader_destroy(&r);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "cut");
	}
	for (size_t i = 0; i < info.participant_count; i++) {
		const struct session_participant *p = session_reader_participant(r, i);
		parts[i] = (struct out_participant){.p = *p, .join_us = p->joined_us - from, .order = i};
	}
	/* The wall-clock start moves with the cut; a file's start is untrusted, so the sum is checked, not wrapped. */
	int64_t epoch = 0;
	if (info.epoch_unix_us && __builtin_add_overflow(info.epoch_unix_us, from, &epoch)) {
		free(parts);
		session_reader_destroy(&r);
		return CV_FAIL(CV_ERROR_FORMAT, "%s: its wall-clock start %lld us cannot move by %lld us", in,
		               (long long)info.epoch_unix_us, (long long)from);
	}
	struct rec_output o;
	enum cv_result res = output_create(&o, out, epoch, parts, info.participant_count);
	if (res == CV_OK) res = session_reader_seek(r, from);
	uint64_t copied = 0;
	while (res == CV_OK) {
		struct session_packet p;
		bool got;
		if ((res = session_reader_next(r, &p, &got)) != CV_OK || !got || p.time_us >= to) break;
		p.time_us -= from;
		res = output_write(&o, &p);
		copied++;
	}
	res = output_finish(&o, res, to == INT64_MAX ? info.end_us - from : to - from - 1);
	if (res == CV_OK) {
		printf("%s: %llu packets from %.3f s to %.3f s\n", out, (unsigned long long)copied, seconds(from),
		       to == INT64_MAX ? seconds(info.end_us) : seconds(to));
		report_damage(in, r);
	}
	session_reader_destroy(&r);
	return res;
}

struct id_pair {
	uint32_t in, out;
};

struct merge_input {
	struct session_reader *r;
	int64_t shift;       /* added to its times */
	struct id_pair *ids; /* its participants' ids in the output, sorted by their own */
	size_t id_count;
	struct session_packet next;
	bool has_next;
	uint8_t *rewritten;  /* the next packet with its codec participant id changed */
	size_t rewritten_capacity;
};

static int pair_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct id_pair *)a)->in, y = ((const struct id_pair *)b)->in;
	return (x > y) - (x < y);
}

static bool id_taken(uint32_t id, const struct merge_input *in, size_t inputs, const struct out_participant *parts,
                     size_t assigned)
{
	for (size_t i = 0; i < assigned; i++)
		if (parts[i].p.id == id) return true;
	for (size_t i = 0; i < inputs; i++)
		if (session_reader_find_participant(in[i].r, id)) return true;
	return false;
}

/* Gives every input participant an output id: its own unless an earlier input has it, then the lowest id no
 * input uses. */
static enum cv_result merge_participants(struct merge_input *in, size_t inputs, char **paths,
                                         struct out_participant **out, size_t *count)
{
	size_t total = 0;
	for (size_t i = 0; i < inputs; i++) {
		struct session_info info;
		session_reader_info(in[i].r, &info);
		total += info.participant_count;
		in[i].ids = calloc(info.participant_count ? info.participant_count : 1, sizeof(*in[i].ids));
		if (!in[i].ids) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "merge");
	}
	if (total > SESSION_MAX_PARTICIPANTS)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%zu participants in all (at most %d)", total,
		               SESSION_MAX_PARTICIPANTS);
	struct out_participant *parts = calloc(total ? total : 1, sizeof(*parts));
	if (!parts) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "merge");
	size_t n = 0;
	uint32_t candidate = 1;
	for (size_t i = 0; i < inputs; i++) {
		const struct session_participant *p;
		for (size_t j = 0; (p = session_reader_participant(in[i].r, j)); j++) {
			uint32_t id = p->id;
			bool clash = false;
			for (size_t k = 0; k < n && !clash; k++) clash = parts[k].p.id == id;
			if (clash) {
				while (id_taken(candidate, in, inputs, parts, n)) candidate++;
				id = candidate;
				printf("%s: participant %u (\"%s\") is %u in the output (%u is taken)\n", paths[i],
				       p->id, p->name, id, p->id);
			}
			in[i].ids[in[i].id_count++] = (struct id_pair){.in = p->id, .out = id};
			parts[n] = (struct out_participant){.p = *p, .join_us = p->joined_us + in[i].shift,
			                                    .order = n};
			parts[n++].p.id = id;
		}
		qsort(in[i].ids, in[i].id_count, sizeof(*in[i].ids), pair_cmp);
	}
	*out = parts;
	*count = n;
	return CV_OK;
}

/* A codec packet names its participant too (byte 2 on, a varint), and decoders refuse another stream's
 * packets: a renumbered participant's packets get the new id there as well. Packets that are not codec packets
 * of that participant are copied as they are. */
static enum cv_result merge_rewrite_codec_id(struct merge_input *in, const struct id_pair *pair)
{
	struct codec_packet_info info;
	const struct session_packet *p = &in->next;
	if (p->kind != REC_KIND_CODEC || codec_packet_parse(p->data, p->size, &info) != CV_OK ||
	    info.size != p->size || info.participant != pair->in)
		return CV_OK;
	size_t old_len = 1; /* the parse checked the varint, so it ends within the packet */
	while (p->data[2 + old_len - 1] & 0x80) old_len++;
	uint8_t id[10];
	size_t id_len = 0;
	for (uint32_t v = pair->out;; v >>= 7) {
		id[id_len++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80) break;
	}
	size_t size = p->size - old_len + id_len;
	if (size > SESSION_MAX_PACKET) return CV_FAIL(CV_ERROR_FORMAT, "packet too large to renumber");
	if (size > in->rewritten_capacity) {
		uint8_t *b = realloc(in->rewritten, size);
		if (!b) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "merge packet");
		in->rewritten = b;
		in->rewritten_capacity = size;
	}
	memcpy(in->rewritten, p->data, 2);
	memcpy(in->rewritten + 2, id, id_len);
	memcpy(in->rewritten + 2 + id_len, p->data + 2 + old_len, p->size - 2 - old_len);
	in->next.data = in->rewritten;
	in->next.size = size;
	return CV_OK;
}

static enum cv_result merge_advance(struct merge_input *in)
{
	CV_TRY(session_reader_next(in->r, &in->next, &in->has_next));
	if (!in->has_next) return CV_OK;
	const struct id_pair *pair = bsearch(&(struct id_pair){.in = in->next.participant}, in->ids, in->id_count,
	                                     sizeof(*in->ids), pair_cmp);
	/* Readers return only packets of named participants, and every one of those has a pair. */
	if (!pair) return CV_FAIL(CV_ERROR_FORMAT, "packet of unnamed participant %u", in->next.participant);
	in->next.participant = pair->out;
	in->next.time_us += in->shift;
	return pair->out == pair->in ? CV_OK : merge_rewrite_codec_id(in, pair);
}

/* Shifts that put every input on the clock of the earliest wall-clock start, which goes to *epoch; all zero (and
 * an unknown start) when an input's start is unknown. Starts come from the files: starts further apart than a
 * recording's clock reaches (SESSION_MAX_TIME_US) are refused, never wrapped. */
static enum cv_result merge_align(struct merge_input *in, char **paths, size_t inputs, int64_t *epoch)
{
	int64_t earliest = INT64_MAX;
	*epoch = 0;
	for (size_t i = 0; i < inputs; i++) {
		struct session_info info;
		session_reader_info(in[i].r, &info);
		if (!info.epoch_unix_us) {
			if (inputs > 1) printf("an input has no wall-clock start: inputs are aligned as recorded\n");
			return CV_OK;
		}
		if (info.epoch_unix_us < earliest) earliest = info.epoch_unix_us;
	}
	for (size_t i = 0; i < inputs; i++) {
		struct session_info info;
		session_reader_info(in[i].r, &info);
		if (__builtin_sub_overflow(info.epoch_unix_us, earliest, &in[i].shift) || in[i].shift > SESSION_MAX_TIME_US)
			return CV_FAIL(CV_ERROR_FORMAT, "%s starts more than 2^52 us after another input: they cannot be aligned",
			               paths[i]);
	}
	*epoch = earliest;
	return CV_OK;
}

static enum cv_result merge(const char *out, char **paths, size_t inputs)
{
	struct merge_input *in = calloc(inputs, sizeof(*in));
	if (!in) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "merge");
	enum cv_result res = CV_OK;
	int64_t epoch = 0, end = 0;
	for (size_t i = 0; res == CV_OK && i < inputs; i++) res = session_reader_open(paths[i], &in[i].r);
	struct out_participant *parts = NULL;
	size_t part_count = 0;
	if (res == CV_OK) {
		res = merge_align(in, paths, inputs, &epoch);
		if (res == CV_OK) res = merge_participants(in, inputs, paths, &parts, &part_count);
	}
	for (size_t i = 0; res == CV_OK && i < inputs; i++) {
		struct session_info info;
		session_reader_info(in[i].r, &info);
		if (info.end_us + in[i].shift > end) end = info.end_us + in[i].shift;
		res = merge_advance(&in[i]);
	}
	struct rec_output o = {0};
	bool created = res == CV_OK;
	if (created) res = output_create(&o, out, epoch, parts, part_count);
	else free(parts);
	uint64_t copied = 0;
	while (res == CV_OK) {
		/* The earliest next packet; at equal times the earlier input first, so the merge is deterministic. */
		struct merge_input *first = NULL;
		for (size_t i = 0; i < inputs; i++)
			if (in[i].has_next && (!first || in[i].next.time_us < first->next.time_us)) first = &in[i];
		if (!first) break;
		res = output_write(&o, &first->next);
		if (res == CV_OK) res = merge_advance(first);
		copied++;
	}
	if (created) res = output_finish(&o, res, end);
	if (res == CV_OK)
		printf("%s: %llu packets of %zu participants from %zu files\n", out, (unsigned long long)copied,
		       part_count, inputs);
	for (size_t i = 0; i < inputs; i++) {
		if (res == CV_OK) report_damage(paths[i], in[i].r);
		session_reader_destroy(&in[i].r);
		free(in[i].ids);
		free(in[i].rewritten);
	}
	free(in);
	return res;
}

/* ---- import ---- */

/* One performance being encoded into the output. */
struct import_source {
	struct rec_perf perf;
	char name[SESSION_MAX_NAME + 1], stored_path[SESSION_MAX_PATH + 1];
	float *mean, *std_dev;
	struct codec_stream_desc sd;
	struct codec_encoder *enc;
	struct codec_decoder *dec; /* checks every packet as it is written */
	uint32_t next;             /* next frame */
	uint64_t bytes, keys;
	double worst_steps;        /* largest decoded code error in quantisation steps (the bound is 0.5) */
};

/* The avatar as the recording names it: its path below the recording's folder when it is there, else its bare
 * file name (the .cavrec format allows no ".."), which players look for beside the recording, in its parent
 * folder and in the shipped assets, trusting only a file with the recorded SHA-256. */
static enum cv_result stored_avatar_path(const char *out_path, const char *avatar, char *stored, size_t size)
{
	char out_dir[4096] = ".";
	const char *slash = strrchr(out_path, '/');
	if (slash && (size_t)(slash - out_path) >= sizeof(out_dir))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "output path '%s' is too long", out_path);
	if (slash) snprintf(out_dir, sizeof(out_dir), "%.*s", slash == out_path ? 1 : (int)(slash - out_path), out_path);
	char *real_avatar = realpath(avatar, NULL), *real_dir = realpath(out_dir, NULL);
	if (!real_avatar || !real_dir) {
		free(real_avatar);
		free(real_dir);
		return CV_FAIL(CV_ERROR_IO, "cannot resolve '%s' or '%s': %s", avatar, out_dir, strerror(errno));
	}
	size_t n = strlen(real_dir);
	const char *rel = !strncmp(real_avatar, real_dir, n) && real_avatar[n] == '/' ? real_avatar + n + 1 : NULL;
	if (!strcmp(real_dir, "/")) rel = real_avatar + 1;
	if (!rel) rel = strrchr(real_avatar, '/') + 1;
	enum cv_result r = CV_OK;
	if (strlen(rel) >= size || strlen(rel) > SESSION_MAX_PATH)
		r = CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar path '%s' is too long for a recording", rel);
	else snprintf(stored, size, "%s", rel);
	free(real_avatar);
	free(real_dir);
	return r;
}

/* Reads one performance, its avatar's latent size and code statistics (the codec's quantisation scales, as a
 * player will read them), and sets up its encoder. */
static enum cv_result import_open(struct import_source *s, const char *input, const char *out_path,
                                  uint32_t id, float quality, struct session_participant *part)
{
	/* PERF.cavperf@AVATAR.cavatar plays the performance with another avatar of the same code space (a Gaussian
	 * avatar distilled from the performer's mesh avatar). */
	char perf_path[4096];
	const char *at = strchr(input, '@');
	snprintf(perf_path, sizeof(perf_path), "%.*s", at ? (int)(at - input) : (int)strlen(input), input);
	CV_TRY(rec_perf_read(perf_path, &s->perf));
	if (at && strlen(at + 1) >= sizeof(s->perf.avatar_path))
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "avatar path '%s' is too long", at + 1);
	if (at) {
		snprintf(s->perf.avatar_path, sizeof(s->perf.avatar_path), "%s", at + 1);
		s->perf.avatar_name = strrchr(s->perf.avatar_path, '/') ? strrchr(s->perf.avatar_path, '/') + 1 : s->perf.avatar_path;
	}
	struct avatar_file *file;
	CV_TRY(avatar_file_open(s->perf.avatar_path, &file));
	uint32_t latent = avatar_latent_size(file);
	const struct st_tensor *mean = avatar_tensor(file, "code.mean"), *std_dev = avatar_tensor(file, "code.std");
	s->mean = calloc(latent, sizeof(float));
	s->std_dev = calloc(latent, sizeof(float));
	enum cv_result r = s->mean && s->std_dev ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code statistics");
	if (r == CV_OK && latent != s->perf.latent)
		r = CV_FAIL(CV_ERROR_MISMATCH, "%s: codes of %u floats, but its avatar %s takes %u", perf_path,
		            s->perf.latent, s->perf.avatar_path, latent);
	if (r == CV_OK && mean && std_dev) r = st_tensor_to_f32(mean, s->mean, latent);
	if (r == CV_OK && mean && std_dev) r = st_tensor_to_f32(std_dev, s->std_dev, latent);
	avatar_file_destroy(&file);
	CV_TRY(r);
	s->sd = (struct codec_stream_desc){.participant = id, .avatar = id, .latent = latent,
	                                   .code_mean = mean && std_dev ? s->mean : NULL,
	                                   .code_std = mean && std_dev ? s->std_dev : NULL, .quality = quality};
	if (!mean || !std_dev)
		for (uint32_t i = 0; i < latent; i++) s->std_dev[i] = 1; /* the codec's default scale, for the check */
	CV_TRY(codec_encoder_create(&s->sd, &s->enc));
	CV_TRY(codec_decoder_create(&s->sd, &s->dec));
	CV_TRY(stored_avatar_path(out_path, s->perf.avatar_path, s->stored_path, sizeof(s->stored_path)));
	*part = (struct session_participant){.id = id, .name = s->name, .avatar_path = s->stored_path};
	return session_hash_file(s->perf.avatar_path, part->avatar_hash);
}

/* Encodes the source's next frame, checks that it decodes within the codec's bound, and writes it. */
static enum cv_result import_frame(struct import_source *s, struct rec_output *o, uint8_t *packet,
                                   size_t capacity)
{
	struct codec_frame in, out;
	rec_perf_frame(&s->perf, s->next, &in);
	in.participant = in.avatar = s->sd.participant;
	size_t size;
	enum codec_decode_status status;
	CV_TRY(codec_encoder_encode(s->enc, &in, packet, capacity, &size));
	CV_TRY(codec_decoder_decode(s->dec, packet, size, &out, &status));
	if (status != CODEC_DECODED)
		return CV_FAIL(CV_ERROR_MISMATCH, "participant %u frame %u did not decode", s->sd.participant, s->next);
	float q = s->sd.quality ? s->sd.quality : 1;
	for (uint32_t k = 0; k < s->perf.latent; k++)
		s->worst_steps = fmax(s->worst_steps, fabs((double)out.code[k] - in.code[k]) /
		                                          (q * CODEC_CODE_STEP * s->std_dev[k]));
	s->keys += (packet[1] & CODEC_PACKET_KEY) != 0;
	s->bytes += size;
	s->next++;
	return output_write(o, &(struct session_packet){.time_us = (int64_t)in.timestamp_us,
	                                                .participant = s->sd.participant, .kind = REC_KIND_CODEC,
	                                                .data = packet, .size = size});
}

static void import_free(struct import_source *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rec_perf_free(&src[i].perf);
		free(src[i].mean);
		free(src[i].std_dev);
		codec_encoder_destroy(&src[i].enc);
		codec_decoder_destroy(&src[i].dec);
	}
	free(src);
}

/* The display name for input i: the i-th of --names, else the performance's file name without extension. */
static void import_name(const char *names, size_t i, const char *perf_path, char *out, size_t size)
{
	if (names) {
		const char *s = names;
		for (size_t k = 0; k < i && s; k++) s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL;
		size_t len = s ? strcspn(s, ",") : 0;
		snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), s ? s : "");
		return;
	}
	const char *base = strrchr(perf_path, '/') ? strrchr(perf_path, '/') + 1 : perf_path;
	size_t len = strcspn(base, ".");
	snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), base);
}

static enum cv_result import(const char *out, char **perfs, size_t n, float quality, const char *names,
                             int64_t epoch_us)
{
	struct import_source *src = calloc(n, sizeof(*src));
	struct out_participant *parts = calloc(n, sizeof(*parts));
	if (!src || !parts) {
		free(src);
		free(parts);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "import");
	}
	enum cv_result r = CV_OK;
	uint32_t latent = 1;
	for (size_t i = 0; r == CV_OK && i < n; i++) {
		import_name(names, i, perfs[i], src[i].name, sizeof(src[i].name));
		r = import_open(&src[i], perfs[i], out, (uint32_t)i + 1, quality, &parts[i].p);
		parts[i].order = i;
		if (r == CV_OK && src[i].perf.latent > latent) latent = src[i].perf.latent;
	}
	if (r != CV_OK) {
		free(parts);
		import_free(src, n);
		return r;
	}
	size_t capacity = codec_packet_max_size(latent);
	uint8_t *packet = malloc(capacity);
	struct rec_output o;
	r = output_create(&o, out, epoch_us, parts, n);
	if (r == CV_OK && !packet) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "packet buffer");
	int64_t end = 0;
	while (r == CV_OK) {
		/* Frames of all performances in time order; at equal times in input order, so output is deterministic. */
		struct import_source *first = NULL;
		uint64_t first_t = 0;
		for (size_t i = 0; i < n; i++) {
			struct import_source *s = &src[i];
			if (s->next == s->perf.frames) continue;
			uint64_t t = (uint64_t)llround((double)s->next * 1e6 / s->perf.fps);
			if (!first || t < first_t) first = s, first_t = t;
		}
		if (!first) break;
		end = (int64_t)first_t;
		r = import_frame(first, &o, packet, capacity);
	}
	r = output_finish(&o, r, end);
	free(packet);
	if (r == CV_OK) {
		printf("%s: %zu participants, %.3f s\n", out, n, seconds(end));
		for (size_t i = 0; i < n; i++) {
			const struct import_source *s = &src[i];
			double span = s->perf.frames / s->perf.fps;
			printf("  %u %-12s %s: %u frames (%u key), %.1f bits/frame, %.2f kbit/s, hands %s%s, audio %s, "
			       "code error <= %.3f steps; avatar %s\n", s->sd.participant, s->name, perfs[i],
			       s->perf.frames, (unsigned)s->keys, 8.0 * s->bytes / s->perf.frames,
			       8.0 * s->bytes / span / 1e3, s->perf.hand_position[0] ? "L" : "-",
			       s->perf.hand_position[1] ? "R" : "-", s->perf.audio ? "from jaw_open" : "none",
			       s->worst_steps, s->stored_path);
			if (s->worst_steps > 0.5 + 1e-3)
				r = CV_FAIL(CV_ERROR_MISMATCH, "%s: decoded codes miss the codec's bound", perfs[i]);
		}
	}
	import_free(src, n);
	return r;
}

/* ---- bench ---- */

struct bench_opts {
	long seconds, participants, packet;
	bool fsync;
	const char *dir;
};

static enum cv_result bench_write(const char *path, const struct bench_opts *b, uint64_t *packets)
{
	struct session_participant *parts = calloc((size_t)b->participants, sizeof(*parts));
	uint8_t *data = malloc((size_t)b->packet + 1);
	if (!parts || !data) {
		free(parts);
		free(data);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench");
	}
	for (long i = 0; i < b->participants; i++)
		parts[i] = (struct session_participant){.id = (uint32_t)i + 1, .name = "bench",
		                                        .avatar_path = "a.cavatar"};
	for (long i = 0; i < b->packet; i++) data[i] = (uint8_t)(i * 37);
	struct session_writer *w;
	enum cv_result r = session_writer_create(path, &(struct session_writer_desc){.participants = parts,
	                                         .participant_count = (size_t)b->participants, .fsync = b->fsync}, &w);
	*packets = 0;
	int64_t frames = b->seconds * 30;
	for (int64_t f = 0; r == CV_OK && f < frames; f++) {
		for (long i = 0; r == CV_OK && i < b->participants; i++) {
			data[0] = (uint8_t)f;
			struct session_packet p = {.time_us = f * 1000000 / 30 + i, .participant = (uint32_t)i + 1,
			                           .data = data, .size = (size_t)b->packet};
			r = session_writer_write(w, &p);
			++*packets;
		}
	}
	if (r == CV_OK) r = session_writer_close(w);
	session_writer_destroy(&w);
	free(parts);
	free(data);
	return r;
}

static enum cv_result bench_read(const char *path, uint64_t *packets)
{
	struct session_reader *r;
	CV_TRY(session_reader_open(path, &r));
	enum cv_result res;
	volatile uint8_t sink = 0;
	*packets = 0;
	for (;;) {
		struct session_packet p;
		bool got;
		if ((res = session_reader_next(r, &p, &got)) != CV_OK || !got) break;
		if (p.size) sink ^= p.data[p.size - 1];
		++*packets;
	}
	(void)sink;
	session_reader_destroy(&r);
	return res;
}

static enum cv_result bench_seek(const char *path, int64_t duration_us, int seeks)
{
	struct session_reader *r;
	CV_TRY(session_reader_open(path, &r));
	enum cv_result res = CV_OK;
	uint64_t state = 12345;
	for (int i = 0; res == CV_OK && i < seeks; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		struct session_packet p;
		bool got;
		res = session_reader_seek(r, (int64_t)((state >> 11) % (uint64_t)duration_us));
		if (res == CV_OK) res = session_reader_next(r, &p, &got);
	}
	session_reader_destroy(&r);
	return res;
}

static enum cv_result bench(const struct bench_opts *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/cavr-rec-bench-%ld.cavrec", b->dir, (long)getpid());
	uint64_t written = 0, read = 0;
	double t0 = cv_time_now();
	enum cv_result r = bench_write(path, b, &written);
	double t1 = cv_time_now();
	if (r == CV_OK) r = bench_read(path, &read);
	double t2 = cv_time_now();
	const int seeks = 1000;
	if (r == CV_OK) r = bench_seek(path, b->seconds * 1000000, seeks);
	double t3 = cv_time_now();
	struct stat st;
	if (r == CV_OK && stat(path, &st) != 0) r = CV_FAIL(CV_ERROR_IO, "cannot stat '%s'", path);
	unlink(path);
	CV_TRY(r);
	if (read != written) return CV_FAIL(CV_ERROR_MISMATCH, "wrote %llu packets, read %llu",
	                                    (unsigned long long)written, (unsigned long long)read);
	double mb = (double)st.st_size / 1e6;
	printf("recording: %ld s, %ld participants, %ld-byte packets at 30 Hz: %llu packets, %.1f MB "
	       "(%.2f%% framing)\n",
	       b->seconds, b->participants, b->packet, (unsigned long long)written, mb,
	       100.0 * (1.0 - (double)written * (double)b->packet / (double)st.st_size));
	printf("write%s: %.3f s, %.1f MB/s, %.2f M packets/s\n", b->fsync ? " (fsync per chunk)" : "", t1 - t0,
	       mb / (t1 - t0), (double)written / (t1 - t0) / 1e6);
	printf("read (open, checksums, every packet): %.3f s, %.1f MB/s, %.2f M packets/s\n", t2 - t1, mb / (t2 - t1),
	       (double)read / (t2 - t1) / 1e6);
	printf("seek + next packet: %.1f us each (%d random seeks)\n", (t3 - t2) / seeks * 1e6, seeks);
	return CV_OK;
}

/* ---- argument parsing ---- */

/* Parses a subcommand's arguments (after its name) with its table: -1 to go on, else the exit code. */
static int rec_args(const struct args_spec *spec, int argc, char **argv, struct args *a)
{
	int code = args_parse(spec, argc - 1, argv + 1, a);
	if (a->help) fputs(usage, stdout);
	return code;
}

static int64_t us_of(double seconds) { return (int64_t)llround(seconds * 1e6); }

static int run_inspect(int argc, char **argv)
{
	struct args a;
	int code = rec_args(&cmd_rec_inspect_spec, argc, argv, &a);
	if (code >= 0) return code;
	if (!a.positional_count) return args_error(a.spec, "inspect needs a file: cavr rec inspect FILE");
	return inspect(a.positional[0], us_of(args_number(&a, "--gap", 1))) == CV_OK ? 0 : 1;
}

static int run_cut(int argc, char **argv)
{
	struct args a;
	int code = rec_args(&cmd_rec_cut_spec, argc, argv, &a);
	if (code >= 0) return code;
	if (a.positional_count != 2)
		return args_error(a.spec, "cut needs an input and an output: cavr rec cut IN OUT --from S --to S");
	int64_t from = us_of(args_number(&a, "--from", 0)), to = args_flag(&a, "--to") ? us_of(args_number(&a, "--to", 0))
	                                                                                  : INT64_MAX;
	if (from >= to) return args_error(a.spec, "--from must be before --to");
	char *files[2] = {(char *)a.positional[0], (char *)a.positional[1]};
	code = output_is_input(files[1], files, 1);
	if (code) return code;
	return cut(files[0], files[1], from, to) == CV_OK ? 0 : 1;
}

static int run_merge(int argc, char **argv)
{
	struct args a;
	int code = rec_args(&cmd_rec_merge_spec, argc, argv, &a);
	if (code >= 0) return code;
	if (a.positional_count < 2) return args_error(a.spec, "merge needs an output and inputs: cavr rec merge OUT IN1 IN2...");
	char **paths = (char **)a.positional;
	code = output_is_input(paths[0], paths + 1, (int)a.positional_count - 1);
	if (code) return code;
	return merge(paths[0], paths + 1, a.positional_count - 1) == CV_OK ? 0 : 1;
}

static int run_import(int argc, char **argv)
{
	struct args a;
	int code = rec_args(&cmd_rec_import_spec, argc, argv, &a);
	if (code >= 0) return code;
	if (a.positional_count < 2)
		return args_error(a.spec, "import needs an output and performances: cavr rec import OUT PERF1 [PERF2...]");
	const char *out = a.positional[0], *names = args_text(&a, "--names", NULL);
	char **perfs = (char **)a.positional + 1;
	size_t n = a.positional_count - 1;
	if (names) {
		size_t count = 1;
		for (const char *s = names; *s; s++) count += *s == ',';
		for (const char *s = names; *s; s += strcspn(s, ",") + (s[strcspn(s, ",")] == ','))
			if (strcspn(s, ",") > SESSION_MAX_NAME) return args_error(a.spec, "a name in --names is too long");
		if (count != n) return args_error(a.spec, "--names gives %zu names for %zu inputs", count, n);
	}
	if (n > SESSION_MAX_PARTICIPANTS) return args_error(a.spec, "too many performances");
	code = output_is_input(out, perfs, (int)n);
	if (code) return code;
	return import(out, perfs, n, (float)args_number(&a, "--quality", 1), names, us_of(args_number(&a, "--epoch", 0))) ==
	               CV_OK ? 0 : 1;
}

static int run_bench(int argc, char **argv)
{
	struct args a;
	int code = rec_args(&cmd_rec_bench_spec, argc, argv, &a);
	if (code >= 0) return code;
	const char *tmp = getenv("TMPDIR");
	struct bench_opts b = {.seconds = (long)args_number(&a, "--seconds", 600),
	                       .participants = (long)args_number(&a, "--participants", 16),
	                       .packet = (long)args_number(&a, "--packet", 70), .fsync = args_flag(&a, "--fsync"),
	                       .dir = args_text(&a, "--dir", tmp && tmp[0] ? tmp : "/tmp")};
	return bench(&b) == CV_OK ? 0 : 1;
}

int app_rec(int argc, char **argv)
{
	if (argc < 1) return bad_usage("%s", "rec needs a command: import, inspect, cut, merge or bench");
	const char *cmd = argv[0];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "import")) return run_import(argc, argv);
	if (!strcmp(cmd, "inspect")) return run_inspect(argc, argv);
	if (!strcmp(cmd, "cut")) return run_cut(argc, argv);
	if (!strcmp(cmd, "merge")) return run_merge(argc, argv);
	if (!strcmp(cmd, "bench")) return run_bench(argc, argv);
	return bad_usage("unknown rec command '%s'", cmd);
}
