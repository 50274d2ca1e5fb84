/* Tests of the safetensors reader and the .cavatar loader: valid files load with the right architecture,
 * every kind of damage is refused with the right result (and never crashes), conversions are exact.
 * Files are built in memory by a tiny writer here, so no Python is needed.
 * `test_cavatar --write-corpus DIR` writes the fuzzer's seed files instead of testing. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avatar/cavatar.h"
#include "avatar/safetensors.h"
#include "core/core.h"
#include "test.h"

/* Levels above error silence the log: the damage tests fail thousands of times on purpose. */
static void quiet(bool on) { cv_log_set_level(on ? (enum cv_log_level)(CV_LOG_ERROR + 1) : CV_LOG_WARN); }

/* ---- a tiny safetensors writer ---- */

struct writer {
	char json[32768];
	size_t json_len;
	uint8_t data[1 << 20];
	size_t data_len;
	bool first;
};

static void w_json(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w_json(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->json + w->json_len, sizeof(w->json) - w->json_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(w->json) - w->json_len) {
		fprintf(stderr, "test writer: header too long\n");
		exit(2);
	}
	w->json_len += (size_t)n;
}

static void w_begin(struct writer *w)
{
	w->json_len = w->data_len = 0;
	w->first = true;
	w_json(w, "{");
}

/* One raw `"key": value` member of the top-level object. */
static void w_raw(struct writer *w, const char *member)
{
	w_json(w, "%s%s", w->first ? "" : ",", member);
	w->first = false;
}

static void w_meta(struct writer *w, const char *const *kv, size_t pairs)
{
	w_json(w, "%s\"__metadata__\":{", w->first ? "" : ",");
	w->first = false;
	for (size_t i = 0; i < pairs; i++) w_json(w, "%s\"%s\":\"%s\"", i ? "," : "", kv[2 * i], kv[2 * i + 1]);
	w_json(w, "}");
}

static size_t dtype_bytes(const char *dtype)
{
	if (!strcmp(dtype, "F64") || !strcmp(dtype, "I64") || !strcmp(dtype, "U64")) return 8;
	if (!strcmp(dtype, "F32") || !strcmp(dtype, "I32") || !strcmp(dtype, "U32")) return 4;
	if (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16") || !strcmp(dtype, "I16") || !strcmp(dtype, "U16")) return 2;
	return 1;
}

/* Appends a tensor entry and its bytes (zeros when `bytes` is NULL); returns where its data starts. */
static uint8_t *w_tensor(struct writer *w, const char *name, const char *dtype, uint32_t rank, const uint64_t *shape,
                         const void *bytes)
{
	size_t count = 1;
	for (uint32_t i = 0; i < rank; i++) count *= (size_t)shape[i];
	size_t size = count * dtype_bytes(dtype);
	if (w->data_len + size > sizeof(w->data)) {
		fprintf(stderr, "test writer: data too large\n");
		exit(2);
	}
	w_json(w, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", w->first ? "" : ",", name, dtype);
	w->first = false;
	for (uint32_t i = 0; i < rank; i++) w_json(w, "%s%llu", i ? "," : "", (unsigned long long)shape[i]);
	w_json(w, "],\"data_offsets\":[%zu,%zu]}", w->data_len, w->data_len + size);
	uint8_t *dst = w->data + w->data_len;
	if (bytes) memcpy(dst, bytes, size);
	else memset(dst, 0, size);
	w->data_len += size;
	return dst;
}

/* The file: length, header padded with spaces to 8 bytes as the reference writer does, data. */
static uint8_t *w_finish(struct writer *w, size_t *size)
{
	w_json(w, "}");
	while (w->json_len % 8) w_json(w, " ");
	*size = 8 + w->json_len + w->data_len;
	uint8_t *file = malloc(*size);
	for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)w->json_len >> (8 * i));
	memcpy(file + 8, w->json, w->json_len);
	memcpy(file + 8 + w->json_len, w->data, w->data_len);
	return file;
}

/* A file from a raw header and raw data, for damage the writer would not produce. */
static uint8_t *raw_file(const char *header, const void *data, size_t data_size, size_t *size)
{
	size_t n = strlen(header);
	*size = 8 + n + data_size;
	uint8_t *file = malloc(*size ? *size : 1);
	for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)n >> (8 * i));
	memcpy(file + 8, header, n);
	if (data_size) memcpy(file + 8 + n, data, data_size);
	return file;
}

/* ---- a dam avatar, with one optional piece of damage ---- */

struct dam_opts {
	uint32_t z, v, s0, u, f;
	const char *channels; /* C0,...,3 */
	bool view;
	const char *weight_dtype; /* for the fully connected layers; up-convolutions use F16 */
	/* damage */
	const char *meta_key, *meta_value; /* set (or, with a NULL value, drop) one metadata entry */
	const char *raw_meta;              /* replaces the whole __metadata__ member */
	const char *drop;                  /* leave this tensor out */
	const char *grow;                  /* this tensor's first dimension is one larger */
	const char *add_dim;               /* this tensor gets a trailing dimension of 1 */
	const char *retype, *retype_to;    /* this tensor gets another dtype */
	const char *extra;                 /* one more tensor */
	bool bad_vertex, bad_uv, negative_index;
};

static float pattern(size_t i) { return (float)((i * 7) % 13) * 0.125f - 0.75f; }

static void fill(uint8_t *dst, const char *dtype, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		float f = pattern(i);
		if (!strcmp(dtype, "F32")) {
			memcpy(dst + 4 * i, &f, 4);
		} else if (!strcmp(dtype, "F16")) {
			uint16_t h = st_f32_to_f16(f);
			memcpy(dst + 2 * i, &h, 2);
		} else if (!strcmp(dtype, "BF16")) {
			uint32_t bits;
			memcpy(&bits, &f, 4);
			uint16_t b = (uint16_t)(bits >> 16); /* the pattern is exact in bf16 */
			memcpy(dst + 2 * i, &b, 2);
		}
	}
}

static void dam_tensor(struct writer *w, const struct dam_opts *o, const char *name, const char *dtype, uint32_t rank,
                       uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	if (o->drop && !strcmp(o->drop, name)) return;
	uint64_t shape[5] = {d0, d1, d2, d3, 1};
	if (o->grow && !strcmp(o->grow, name)) shape[0]++;
	if (o->add_dim && !strcmp(o->add_dim, name)) rank++;
	if (o->retype && !strcmp(o->retype, name)) dtype = o->retype_to;
	size_t count = 1;
	for (uint32_t i = 0; i < rank; i++) count *= (size_t)shape[i];
	uint8_t *data = w_tensor(w, name, dtype, rank, shape, NULL);
	if (strcmp(name, "mesh.tri_vertex") && strcmp(name, "mesh.tri_uv")) {
		fill(data, dtype, count);
		return;
	}
	bool uv = !strcmp(name, "mesh.tri_uv");
	uint32_t limit = uv ? o->u : o->v;
	for (size_t i = 0; i < count && dtype_bytes(dtype) == 4; i++) {
		int32_t idx = (int32_t)((i * 5 + 1) % limit);
		if (i == count - 1 && (uv ? o->bad_uv : o->bad_vertex)) idx = o->negative_index ? -1 : (int32_t)limit;
		memcpy(data + 4 * i, &idx, 4);
	}
}

static uint32_t parse_channels(const char *s, uint32_t *c)
{
	uint32_t n = 0;
	for (char *end; *s; s = *end ? end + 1 : end) c[n++] = (uint32_t)strtoul(s, &end, 10);
	return n;
}

static uint8_t *build_dam(const struct dam_opts *o, size_t *size)
{
	static struct writer w;
	char z[16], t[16], v[16], s0[16];
	uint32_t c[16], n = parse_channels(o->channels, c);
	snprintf(z, sizeof(z), "%u", o->z);
	snprintf(t, sizeof(t), "%u", o->s0 << (n - 1));
	snprintf(v, sizeof(v), "%u", o->v);
	snprintf(s0, sizeof(s0), "%u", o->s0);
	const char *meta[] = {
		"format", "cavatar", "format_version", "1", "family", "dam", "name", "test head",
		"latent_size", z, "texture_size", t, "vertex_count", v, "view_conditioned", o->view ? "true" : "false",
		"units", "metres", "leaky_slope", "0.2", "dam.init_size", s0, "dam.channels", o->channels,
		NULL, NULL, /* room for one added key */
	};
	size_t pairs = sizeof(meta) / sizeof(meta[0]) / 2 - 1;
	if (o->meta_key) {
		size_t i = 0;
		while (i < pairs && strcmp(meta[2 * i], o->meta_key)) i++;
		if (i == pairs) pairs++;
		meta[2 * i] = o->meta_key;
		meta[2 * i + 1] = o->meta_value;
		if (!o->meta_value) { /* drop: move the last pair into its place */
			meta[2 * i] = meta[2 * (pairs - 1)];
			meta[2 * i + 1] = meta[2 * (pairs - 1) + 1];
			pairs--;
		}
	}
	w_begin(&w);
	if (o->raw_meta) w_raw(&w, o->raw_meta);
	else w_meta(&w, meta, pairs);

	const char *wd = o->weight_dtype ? o->weight_dtype : "F32";
	uint64_t feat = 256 + (o->view ? 8 : 0), tex = (uint64_t)c[0] * o->s0 * o->s0;
	if (o->view) {
		dam_tensor(&w, o, "dec.view_fc.weight", wd, 2, 8, 3, 0, 0);
		dam_tensor(&w, o, "dec.view_fc.bias", wd, 1, 8, 0, 0, 0);
	}
	dam_tensor(&w, o, "dec.z_fc.weight", wd, 2, 256, o->z, 0, 0);
	dam_tensor(&w, o, "dec.z_fc.bias", "F32", 1, 256, 0, 0, 0);
	dam_tensor(&w, o, "dec.mesh_fc.weight", wd, 2, 3ull * o->v, 256, 0, 0);
	dam_tensor(&w, o, "dec.mesh_fc.bias", "F32", 1, 3ull * o->v, 0, 0, 0);
	dam_tensor(&w, o, "dec.texture_fc.weight", wd, 2, tex, feat, 0, 0);
	dam_tensor(&w, o, "dec.texture_fc.bias", "BF16", 1, tex, 0, 0, 0);
	for (uint32_t i = 0; i + 1 < n; i++) {
		char name[40];
		uint64_t side = (uint64_t)o->s0 << (i + 1);
		snprintf(name, sizeof(name), "dec.up.%u.weight", i);
		dam_tensor(&w, o, name, "F16", 4, c[i], c[i + 1], 4, 4);
		snprintf(name, sizeof(name), "dec.up.%u.bias", i);
		dam_tensor(&w, o, name, "F16", 1, c[i + 1], 0, 0, 0);
		snprintf(name, sizeof(name), "dec.up.%u.untied_bias", i);
		dam_tensor(&w, o, name, "F16", 3, c[i + 1], side, side, 0);
	}
	uint64_t tside = (uint64_t)o->s0 << (n - 1);
	dam_tensor(&w, o, "mesh.vert_mean", "F32", 2, o->v, 3, 0, 0);
	dam_tensor(&w, o, "mesh.vert_std", "F32", 1, 1, 0, 0, 0);
	dam_tensor(&w, o, "mesh.uv", "F32", 2, o->u, 2, 0, 0);
	dam_tensor(&w, o, "mesh.tri_vertex", "I32", 2, o->f, 3, 0, 0);
	dam_tensor(&w, o, "mesh.tri_uv", "I32", 2, o->f, 3, 0, 0);
	dam_tensor(&w, o, "tex.mean", "F32", 3, tside, tside, 3, 0);
	dam_tensor(&w, o, "tex.std", "F32", 1, 1, 0, 0, 0);
	dam_tensor(&w, o, "code.mean", "F32", 1, o->z, 0, 0, 0);
	if (o->extra) dam_tensor(&w, o, o->extra, "F32", 1, 2, 0, 0, 0);
	return w_finish(&w, size);
}

/* The avatar most tests damage: view conditioned, three up-convolutions, a 16 x 16 texture. */
static const struct dam_opts base = {
	.z = 4, .v = 4, .s0 = 2, .u = 5, .f = 3, .channels = "3,4,2,3", .view = true, .weight_dtype = "F16",
};

static enum cv_result open_dam(const struct dam_opts *o)
{
	size_t size;
	uint8_t *file = build_dam(o, &size);
	struct avatar_file *a = NULL;
	quiet(true);
	enum cv_result r = avatar_file_open_memory(file, size, &a);
	quiet(false);
	CHECK((r == CV_OK) == (a != NULL));
	avatar_file_destroy(&a);
	CHECK(a == NULL);
	free(file);
	return r;
}

static enum cv_result open_st(const uint8_t *file, size_t size)
{
	struct st_file *f = NULL;
	quiet(true);
	enum cv_result r = st_open_memory(file, size, &f);
	quiet(false);
	CHECK((r == CV_OK) == (f != NULL));
	st_close(&f);
	return r;
}

static enum cv_result open_header(const char *header, size_t data_size)
{
	static const uint8_t zeros[256];
	size_t size;
	uint8_t *file = raw_file(header, zeros, data_size, &size);
	enum cv_result r = open_st(file, size);
	free(file);
	return r;
}

/* Runs `fn` with stderr in a buffer, so tests can see what a failure says. */
static void capture_stderr(void (*fn)(void *), void *arg, char *out, size_t out_size)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(out, 1, out_size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* ---- tests ---- */

static void test_valid_dam(void)
{
	size_t size;
	uint8_t *file = build_dam(&base, &size);
	struct avatar_file *a = NULL;
	CHECK(avatar_file_open_memory(file, size, &a) == CV_OK);
	if (!a) {
		free(file);
		return;
	}
	const struct avatar_dam_arch *arch = avatar_dam_arch(a);
	CHECK(avatar_family(a) == AVATAR_FAMILY_DAM);
	CHECK(!strcmp(avatar_family_name(AVATAR_FAMILY_DAM), "dam"));
	CHECK(!strcmp(avatar_name(a), "test head"));
	CHECK(avatar_latent_size(a) == 4);
	CHECK(arch && arch->latent == 4 && arch->texture == 16 && arch->vertices == 4);
	CHECK(arch && arch->uv_count == 5 && arch->triangles == 3 && arch->init_size == 2 && arch->up_count == 3);
	CHECK(arch && arch->channels[0] == 3 && arch->channels[1] == 4 && arch->channels[2] == 2 &&
	      arch->channels[3] == 3);
	CHECK(arch && arch->view_conditioned && arch->leaky_slope == 0.2f);

	const struct st_tensor *t = avatar_tensor(a, "dec.up.2.untied_bias");
	CHECK(t && t->dtype == ST_F16 && t->rank == 3 && t->shape[0] == 3 && t->shape[1] == 16 && t->count == 768);
	CHECK(avatar_tensor(a, "code.mean") != NULL);
	CHECK(avatar_tensor(a, "code.std") == NULL);
	CHECK(avatar_tensor(a, "dec.up.3.weight") == NULL);
	CHECK(!strcmp(st_metadata(avatar_safetensors(a), "units"), "metres"));

	/* weights come back as written, whatever their dtype */
	const char *names[] = {"dec.z_fc.weight", "dec.texture_fc.bias", "dec.mesh_fc.bias"};
	for (size_t k = 0; k < 3; k++) {
		t = avatar_tensor(a, names[k]);
		float *f = malloc(t->count * sizeof(float));
		uint16_t *h = malloc(t->count * sizeof(uint16_t));
		CHECK(st_tensor_to_f32(t, f, t->count) == CV_OK);
		CHECK(st_tensor_to_f16(t, h, t->count) == CV_OK);
		bool same = true;
		for (size_t i = 0; i < t->count; i++) same &= f[i] == pattern(i) && st_f16_to_f32(h[i]) == pattern(i);
		CHECK_MSG(same, "%s", names[k]);
		free(f);
		free(h);
	}
	t = avatar_tensor(a, "mesh.tri_uv");
	int32_t idx[9];
	float dummy;
	CHECK(t && t->size == sizeof(idx));
	if (t) memcpy(idx, t->data, sizeof(idx));
	CHECK(idx[0] == 1 && idx[1] == 1 && idx[8] == 1); /* (i * 5 + 1) % 5 */
	quiet(true);
	CHECK(st_tensor_to_f32(t, &dummy, 1) == CV_ERROR_UNSUPPORTED);
	quiet(false);
	avatar_file_destroy(&a);
	CHECK(a == NULL);
	avatar_file_destroy(&a); /* destroying NULL is fine */
	free(file);

	/* without view conditioning, with f32 and bf16 weights, one up-convolution */
	struct dam_opts o = {.z = 2, .v = 3, .s0 = 4, .u = 3, .f = 1, .channels = "2,3", .weight_dtype = "BF16"};
	CHECK(open_dam(&o) == CV_OK);
	o.weight_dtype = "F32";
	CHECK(open_dam(&o) == CV_OK);
	o.meta_key = "view_conditioned", o.meta_value = "False"; /* only true and false */
	CHECK(open_dam(&o) == CV_ERROR_FORMAT);
	o.meta_key = NULL, o.f = 0; /* no triangles */
	CHECK(open_dam(&o) == CV_ERROR_FORMAT);
	o.f = 1;
	o.channels = "2,4"; /* consistent tensors, but the texture must have 3 channels */
	CHECK(open_dam(&o) == CV_ERROR_FORMAT);
	o.weight_dtype = "F16", o.s0 = 1;
	o.channels = "0,3"; /* consistent, empty tensors */
	CHECK(open_dam(&o) == CV_ERROR_FORMAT);
	o.channels = "1025,3";
	CHECK(open_dam(&o) == CV_ERROR_FORMAT);
}

static void test_truncation(void)
{
	/* The smallest avatar keeps this loop quick; every prefix must fail cleanly (ASan sees over-reads
	 * because each prefix is its own allocation). */
	struct dam_opts o = {.z = 1, .v = 1, .s0 = 1, .u = 1, .f = 1, .channels = "1,3", .weight_dtype = "F16"};
	size_t size;
	uint8_t *file = build_dam(&o, &size);
	struct avatar_file *a = NULL;
	CHECK(avatar_file_open_memory(file, size, &a) == CV_OK);
	avatar_file_destroy(&a);
	size_t failures = 0, bad_result = 0;
	quiet(true);
	for (size_t n = 0; n < size; n++) {
		uint8_t *prefix = malloc(n ? n : 1);
		memcpy(prefix, file, n);
		enum cv_result r = avatar_file_open_memory(prefix, n, &a);
		failures += r != CV_OK;
		bad_result += r != CV_ERROR_FORMAT;
		avatar_file_destroy(&a);
		struct st_file *st = NULL;
		failures += st_open_memory(prefix, n, &st) != CV_OK;
		st_close(&st);
		free(prefix);
	}
	quiet(false);
	CHECK_MSG(failures == 2 * size, "%zu of %zu prefixes opened", 2 * size - failures, 2 * size);
	CHECK(bad_result == 0);
	free(file);
}

static void test_header_length(void)
{
	size_t size;
	uint8_t *file = raw_file("{}      ", NULL, 0, &size);
	CHECK(open_st(file, size) == CV_OK);
	file[0] = 9; /* one byte more than the file holds */
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	memset(file, 0xff, 8); /* 2^64 - 1: must not wrap */
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	memset(file, 0, 8);
	file[7] = 0x80;
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	memset(file, 0, 8); /* an empty header is not a JSON object */
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	CHECK(open_st(file, 0) == CV_ERROR_FORMAT);
	CHECK(open_st(NULL, 0) == CV_ERROR_FORMAT);
	free(file);

	/* over the 100 MB cap, with a valid header actually there */
	size = 8 + (size_t)ST_MAX_HEADER_SIZE + 1;
	file = malloc(size);
	uint64_t n = ST_MAX_HEADER_SIZE + 1;
	for (int i = 0; i < 8; i++) file[i] = (uint8_t)(n >> (8 * i));
	memset(file + 8, ' ', size - 8);
	memcpy(file + 8, "{}", 2);
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	free(file);
}

static void test_bad_json(void)
{
	const char *bad[] = {
		"{",
		"{\"a\":",
		"{\"a\" 1}",
		"[1,2]    ",
		"\"str\"   ",
		"{} x",
		"{}{}",
		"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},}",
		"{\"__metadata__\":{\"k\":\"a\x01\"}}",             /* raw control character */
		"{\"__metadata__\":{\"k\":\"\xc3\x28\"}}",          /* invalid UTF-8 */
		"{\"__metadata__\":{\"k\":\"\xe0\x80\x80\"}}",      /* overlong */
		"{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}",      /* surrogate */
		"{\"__metadata__\":{\"k\":\"\xf4\x90\x80\x80\"}}",  /* above U+10FFFF */
		"{\"__metadata__\":{\"k\":\"\xf0\x9f\x98\"}}",      /* truncated sequence */
		"{\"__metadata__\":{\"k\":\"\xff\"}}",
		"{}\xf0",                                              /* a sequence cut by the header's end */
		"{}\xe2\x82",
		"{\"__metadata__\":{\"a\":\"b\"},\"__metadata__\":{}}",
		"{\"__metadata__\":[]}",
		"{\"__metadata__\":{\"a\":1}}",                      /* non-string metadata */
		"{\"__metadata__\":{\"a\":null}}",
		"{\"__metadata__\":{\"a\":\"b\",\"a\":\"c\"}}",      /* repeated key */
		"{\"t\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(open_header(bad[i], 0) == CV_ERROR_FORMAT, "header %zu: %s", i, bad[i]);
	CHECK(open_header("{}", 0) == CV_OK);
	CHECK(open_header("{\"__metadata__\":{\"k\":\"\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac\"}} \t\n", 0) == CV_OK);

	/* a raw NUL would cut the string short where cJSON hands it over */
	size_t size;
	uint8_t *file = raw_file("{\"__metadata__\":{\"k\":\"a_b\"}}", NULL, 0, &size);
	*(uint8_t *)memchr(file + 8, '_', size - 8) = 0;
	CHECK(open_st(file, size) == CV_ERROR_FORMAT);
	free(file);

	file = raw_file("{\"__metadata__\":{\"b\":\"2\",\"a\":\"1\"}}", NULL, 0, &size);
	struct st_file *f = NULL;
	CHECK(st_open_memory(file, size, &f) == CV_OK);
	CHECK(f && !strcmp(st_metadata(f, "a"), "1") && !strcmp(st_metadata(f, "b"), "2") && !st_metadata(f, "c"));
	CHECK(f && st_tensor_count(f) == 0 && st_tensor_at(f, 0) == NULL && st_find(f, "a") == NULL);
	st_close(&f);
	free(file);
}

#define T1(dtype, shape, offsets) "{\"t\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}}"

static void test_bad_tensors(void)
{
	struct {
		const char *header;
		size_t data;
		enum cv_result want;
	} cases[] = {
		{T1("F32", "[2]", "[0,8]"), 8, CV_OK},
		{T1("F32", "[]", "[0,4]"), 4, CV_OK},          /* a scalar */
		{T1("F32", "[0,7]", "[0,0]"), 0, CV_OK},       /* empty */
		{T1("U8", "[0,9007199254740992]", "[0,0]"), 0, CV_OK},
		{T1("F33", "[2]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("f32", "[2]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("F8_E4M3", "[2]", "[0,2]"), 2, CV_ERROR_UNSUPPORTED},
		{T1("F32", "[3]", "[0,8]"), 8, CV_ERROR_FORMAT},       /* shape and offsets disagree */
		{T1("F32", "[2]", "[0,12]"), 12, CV_ERROR_FORMAT},
		{T1("F32", "[3]", "[0,8]"), 12, CV_ERROR_FORMAT},
		{T1("F32", "[2]", "[0,8]"), 7, CV_ERROR_FORMAT},       /* past the data section */
		{T1("F32", "[2]", "[0,8]"), 9, CV_ERROR_FORMAT},       /* a byte no tensor owns */
		{T1("F32", "[2]", "[1,9]"), 9, CV_ERROR_FORMAT},       /* a hole before the tensor */
		{T1("F32", "[2]", "[8,0]"), 8, CV_ERROR_FORMAT},       /* begin after end */
		{T1("F32", "[-2]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[2.5]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("U8", "[100000000000000000,0]", "[0,0]"), 0, CV_ERROR_FORMAT}, /* above 2^53, not exact */
		{T1("U8", "[9007199254740992,9007199254740992,0]", "[0,0]"), 0, CV_OK}, /* empty despite the product */
		{T1("F32", "[\"2\"]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[1e300]", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "2", "[0,8]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[2]", "[0,8,8]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[2]", "[0]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[2]", "[-8,0]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[2]", "[0,18446744073709551616]"), 8, CV_ERROR_FORMAT},
		{T1("F32", "[1,1,1,1,1,1,1,1]", "[0,4]"), 4, CV_OK},
		{T1("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, CV_ERROR_UNSUPPORTED}, /* rank 9 */
		{T1("F32", "[4294967296,4294967296]", "[0,8]"), 8, CV_ERROR_FORMAT}, /* count overflows */
		{T1("F32", "[4294967296,4294967296]", "[0,0]"), 0, CV_ERROR_FORMAT}, /* ... to 0 */
		{T1("F64", "[2147483648,2147483648]", "[0,8]"), 8, CV_ERROR_FORMAT}, /* bytes overflow */
		{T1("F64", "[2147483648,1073741824]", "[0,0]"), 0, CV_ERROR_FORMAT}, /* ... to 0 */
		{"{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"dtype\":\"F32\",\"shapes\":[2],\"data_offsets\":[0,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, CV_ERROR_FORMAT},
		{"{\"t\":3}", 0, CV_ERROR_FORMAT},
		/* two tensors: overlapping, the same name twice, tiled correctly in either order */
		{"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
		 "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6, CV_ERROR_FORMAT},
		{"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
		 "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, CV_ERROR_FORMAT},
		{"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
		 "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8, CV_ERROR_FORMAT},
		{"{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
		 "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 8, CV_OK},
		{"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
		 "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}", 4, CV_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum cv_result r = open_header(cases[i].header, cases[i].data);
		CHECK_MSG(r == cases[i].want, "case %zu (%s): got %s", i, cases[i].header, cv_result_str(r));
	}
}

static void test_dam_damage(void)
{
	CHECK(open_dam(&base) == CV_OK);
	struct {
		struct dam_opts o;
		enum cv_result want;
	} cases[] = {
		/* metadata */
		{{.meta_key = "family", .meta_value = "gaussian"}, CV_ERROR_UNSUPPORTED},
		{{.meta_key = "family", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "format", .meta_value = "gguf"}, CV_ERROR_FORMAT},
		{{.meta_key = "format", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "format_version", .meta_value = "2"}, CV_ERROR_UNSUPPORTED},
		{{.meta_key = "format_version", .meta_value = "0"}, CV_ERROR_FORMAT},
		{{.meta_key = "format_version", .meta_value = "01"}, CV_ERROR_FORMAT},
		{{.meta_key = "format_version", .meta_value = "1.0"}, CV_ERROR_FORMAT},
		{{.meta_key = "format_version", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "name", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "name", .meta_value = ""}, CV_ERROR_FORMAT},
		{{.meta_key = "name", .meta_value = "a\\u001b[31m"}, CV_ERROR_FORMAT}, /* a terminal escape */
		{{.meta_key = "latent_size", .meta_value = "5"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = "0"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = "4097"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = "+4"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = " 4"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = "4 "}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = "99999999999999999999999"}, CV_ERROR_FORMAT},
		{{.meta_key = "latent_size", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "texture_size", .meta_value = "32"}, CV_ERROR_FORMAT},
		{{.meta_key = "vertex_count", .meta_value = "1000001"}, CV_ERROR_FORMAT},
		{{.meta_key = "vertex_count", .meta_value = "3"}, CV_ERROR_FORMAT}, /* tensors are for 4 */
		{{.meta_key = "dam.init_size", .meta_value = "4"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3,4,2,4"}, CV_ERROR_FORMAT}, /* last is not 3 */
		{{.meta_key = "dam.channels", .meta_value = "3"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3,4,,3"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3,4,2,3,"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3, 4, 2, 3"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3,0,2,3"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "3,1025,2,3"}, CV_ERROR_FORMAT},
		{{.meta_key = "dam.channels", .meta_value = "6,4,2,3"}, CV_ERROR_FORMAT}, /* tensors disagree */
		{{.meta_key = "dam.channels", .meta_value = "1,2,2,2,2,2,2,2,2,2,2,2,2,3"}, CV_ERROR_UNSUPPORTED}, /* 13 */
		{{.meta_key = "view_conditioned", .meta_value = "yes"}, CV_ERROR_FORMAT},
		{{.meta_key = "view_conditioned", .meta_value = "false"}, CV_ERROR_FORMAT}, /* shapes and view_fc */
		{{.meta_key = "leaky_slope", .meta_value = "abc"}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = "0,2"}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = "-0.2"}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = "nan"}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = "1.5"}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = ""}, CV_ERROR_FORMAT},
		{{.meta_key = "leaky_slope", .meta_value = "1e-05"}, CV_OK},
		{{.meta_key = "leaky_slope", .meta_value = "0.20000000298023224"}, CV_OK},
		{{.meta_key = "units", .meta_value = "millimetres"}, CV_ERROR_UNSUPPORTED},
		{{.meta_key = "units", .meta_value = NULL}, CV_ERROR_FORMAT},
		{{.meta_key = "source", .meta_value = "anything"}, CV_OK}, /* unknown keys are kept, not judged */
		{{.raw_meta = "\"__metadata__\":{\"format\":\"cavatar\",\"format_version\":1}"}, CV_ERROR_FORMAT},
		/* tensors */
		{{.drop = "dec.up.1.bias"}, CV_ERROR_FORMAT},
		{{.drop = "mesh.tri_uv"}, CV_ERROR_FORMAT},
		{{.drop = "mesh.uv"}, CV_ERROR_FORMAT},
		{{.drop = "dec.view_fc.weight"}, CV_ERROR_FORMAT},
		{{.drop = "code.mean"}, CV_OK}, /* optional */
		{{.grow = "dec.texture_fc.weight"}, CV_ERROR_FORMAT},
		{{.grow = "dec.up.2.untied_bias"}, CV_ERROR_FORMAT},
		{{.grow = "tex.std"}, CV_ERROR_FORMAT},
		{{.grow = "code.mean"}, CV_ERROR_FORMAT},
		{{.grow = "mesh.uv"}, CV_OK}, /* U comes from mesh.uv */
		{{.grow = "mesh.tri_vertex"}, CV_ERROR_FORMAT}, /* F from tri_vertex, tri_uv disagrees */
		{{.grow = "mesh.tri_uv"}, CV_ERROR_FORMAT},
		{{.add_dim = "tex.std"}, CV_ERROR_FORMAT},
		{{.add_dim = "dec.up.0.weight"}, CV_ERROR_FORMAT},
		{{.retype = "dec.z_fc.weight", .retype_to = "I32"}, CV_ERROR_FORMAT},
		{{.retype = "dec.z_fc.weight", .retype_to = "F64"}, CV_ERROR_FORMAT},
		{{.retype = "mesh.uv", .retype_to = "F16"}, CV_ERROR_FORMAT},
		{{.retype = "mesh.tri_vertex", .retype_to = "U32"}, CV_ERROR_FORMAT},
		{{.retype = "tex.mean", .retype_to = "BF16"}, CV_ERROR_FORMAT},
		{{.extra = "dec.z_fc.g"}, CV_ERROR_FORMAT},
		{{.extra = "dec.up.3.weight"}, CV_ERROR_FORMAT},
		{{.bad_vertex = true}, CV_ERROR_FORMAT},
		{{.bad_uv = true}, CV_ERROR_FORMAT},
		{{.bad_vertex = true, .negative_index = true}, CV_ERROR_FORMAT},
		{{.bad_uv = true, .negative_index = true}, CV_ERROR_FORMAT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dam_opts o = cases[i].o;
		o.z = base.z, o.v = base.v, o.s0 = base.s0, o.u = base.u, o.f = base.f;
		o.channels = base.channels, o.view = base.view, o.weight_dtype = base.weight_dtype;
		enum cv_result r = open_dam(&o);
		CHECK_MSG(r == cases[i].want, "case %zu (%s%s%s%s%s%s): got %s", i, o.meta_key ? o.meta_key : "",
		          o.meta_key ? "=" : "", o.meta_value ? o.meta_value : "", o.drop ? o.drop : "",
		          o.grow ? o.grow : "", o.retype ? o.retype : "", cv_result_str(r));
	}
}

static void open_for_message(void *arg)
{
	struct avatar_file *a = NULL;
	const struct dam_opts *o = arg;
	size_t size;
	uint8_t *file = build_dam(o, &size);
	avatar_file_open_memory(file, size, &a);
	avatar_file_destroy(&a);
	free(file);
}

static void check_code_for_message(void *arg)
{
	CHECK(avatar_check_code(arg, 255) == CV_ERROR_INVALID_ARGUMENT);
}

static void test_messages(void)
{
	char out[4096];
	struct dam_opts o = base;
	o.meta_key = "family", o.meta_value = "gaussian";
	capture_stderr(open_for_message, &o, out, sizeof(out));
	CHECK_MSG(strstr(out, "gaussian") && strstr(out, "<memory>"), "%s", out);

	o = base;
	o.grow = "dec.up.1.weight";
	capture_stderr(open_for_message, &o, out, sizeof(out));
	CHECK_MSG(strstr(out, "'dec.up.1.weight' has shape [5, 2, 4, 4], expected [4, 2, 4, 4]"), "%s", out);

	o = base;
	o.bad_uv = true;
	capture_stderr(open_for_message, &o, out, sizeof(out));
	CHECK_MSG(strstr(out, "mesh.tri_uv[2][2] = 5, but the avatar has 5 uvs"), "%s", out);

	/* avatar_check_code says both sizes and the avatar */
	o = base;
	o.z = 256;
	o.meta_key = "name", o.meta_value = "x";
	size_t size;
	uint8_t *file = build_dam(&o, &size);
	struct avatar_file *a = NULL;
	CHECK(avatar_file_open_memory(file, size, &a) == CV_OK);
	if (a) {
		CHECK(avatar_check_code(a, 256) == CV_OK);
		capture_stderr(check_code_for_message, a, out, sizeof(out));
		CHECK_MSG(strstr(out, "code has 255 floats, avatar 'x' expects 256"), "%s", out);
		quiet(true);
		CHECK(avatar_check_code(a, 0) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(avatar_check_code(a, 257) == CV_ERROR_INVALID_ARGUMENT);
		quiet(false);
	}
	avatar_file_destroy(&a);
	free(file);
}

static void test_files(void)
{
	size_t size;
	uint8_t *file = build_dam(&base, &size);
	char path[] = "/tmp/cavr_test_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0) {
		free(file);
		return;
	}
	close(fd);
	CHECK(cv_file_write(path, file, size) == CV_OK);
	struct avatar_file *a = NULL;
	CHECK(avatar_file_open(path, &a) == CV_OK);
	CHECK(a && avatar_dam_arch(a)->texture == 16);
	CHECK(a && !strcmp(st_path(avatar_safetensors(a)), path));
	avatar_file_destroy(&a);

	struct st_file *st = NULL;
	quiet(true);
	CHECK(cv_file_write(path, file, 0) == CV_OK); /* empty */
	CHECK(st_open(path, &st) == CV_ERROR_FORMAT && st == NULL);
	CHECK(cv_file_write(path, file, size - 1) == CV_OK);
	CHECK(avatar_file_open(path, &a) == CV_ERROR_FORMAT && a == NULL);
	CHECK(st_open("/nonexistent/cavr.cavatar", &st) == CV_ERROR_IO);
	CHECK(avatar_file_open("/tmp", &a) == CV_ERROR_IO);
	quiet(false);
	unlink(path);
	free(file);
}

static void test_unaligned(void)
{
	/* One byte first puts the floats at an odd offset: readers must copy, UBSan checks they do. */
	static struct writer w;
	const float f[3] = {1.5f, -2.0f, 65504.0f};
	const uint8_t one = 7;
	w_begin(&w);
	w_tensor(&w, "pad", "U8", 1, (const uint64_t[]){1}, &one);
	w_tensor(&w, "f", "F32", 1, (const uint64_t[]){3}, f);
	size_t size;
	uint8_t *file = w_finish(&w, &size);
	struct st_file *st = NULL;
	CHECK(st_open_memory(file, size, &st) == CV_OK);
	const struct st_tensor *t = st ? st_find(st, "f") : NULL;
	CHECK(t && ((uintptr_t)t->data & 3) != 0);
	float out[4] = {0};
	uint16_t h[3];
	CHECK(t && st_tensor_to_f32(t, out, 4) == CV_OK);
	CHECK(out[0] == 1.5f && out[1] == -2.0f && out[2] == 65504.0f && out[3] == 0.0f);
	CHECK(t && st_tensor_to_f16(t, h, 3) == CV_OK);
	CHECK(h[0] == 0x3E00 && h[1] == 0xC000 && h[2] == 0x7BFF);
	quiet(true);
	CHECK(t && st_tensor_to_f32(t, out, 2) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(st && st_tensor_to_f16(st_find(st, "pad"), h, 3) == CV_ERROR_UNSUPPORTED);
	quiet(false);
	/* iteration is in name order */
	CHECK(st && st_tensor_count(st) == 2 && !strcmp(st_tensor_at(st, 0)->name, "f") &&
	      !strcmp(st_tensor_at(st, 1)->name, "pad"));
	CHECK(st_dtype_size(ST_BF16) == 2 && !strcmp(st_dtype_name(ST_I64), "I64"));
	st_close(&st);
	CHECK(st == NULL);
	free(file);
}

static uint32_t f32_bits(float f)
{
	uint32_t b;
	memcpy(&b, &f, 4);
	return b;
}

static float bits_f32(uint32_t b)
{
	float f;
	memcpy(&f, &b, 4);
	return f;
}

static void test_half_to_float(void)
{
	CHECK(st_f16_to_f32(0x3C00) == 1.0f);
	CHECK(st_f16_to_f32(0xC000) == -2.0f);
	CHECK(st_f16_to_f32(0x7BFF) == 65504.0f);
	CHECK(st_f16_to_f32(0x0001) == 0x1p-24f);
	CHECK(st_f16_to_f32(0x03FF) == 1023 * 0x1p-24f); /* largest subnormal */
	CHECK(st_f16_to_f32(0x0400) == 0x1p-14f);        /* smallest normal */
	CHECK(st_f16_to_f32(0x8001) == -0x1p-24f);
	CHECK(st_f16_to_f32(0x3555) == 0x1.554p-2f);
	CHECK(f32_bits(st_f16_to_f32(0x0000)) == 0);
	CHECK(f32_bits(st_f16_to_f32(0x8000)) == 0x80000000u);
	CHECK(st_f16_to_f32(0x7C00) == INFINITY);
	CHECK(st_f16_to_f32(0xFC00) == -INFINITY);
	CHECK(isnan(st_f16_to_f32(0x7E00)) && isnan(st_f16_to_f32(0x7C01)) && isnan(st_f16_to_f32(0xFFFF)));

	CHECK(st_bf16_to_f32(0x3F80) == 1.0f);
	CHECK(st_bf16_to_f32(0xC000) == -2.0f);
	CHECK(st_bf16_to_f32(0x7F7F) == 0x1.fep127f);
	CHECK(st_bf16_to_f32(0x0001) == 0x1p-133f); /* bf16 subnormal */
	CHECK(st_bf16_to_f32(0x7F80) == INFINITY && isnan(st_bf16_to_f32(0x7FC0)));

	/* every half survives f16 -> f32 -> f16; NaNs stay NaN */
	size_t wrong = 0;
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = st_f16_to_f32((uint16_t)h);
		uint16_t back = st_f32_to_f16(f);
		bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
		wrong += nan ? !((back & 0x7C00) == 0x7C00 && (back & 0x3FF) && (back & 0x8000) == (h & 0x8000))
		             : back != h;
	}
	CHECK_MSG(wrong == 0, "%zu halves do not round-trip", wrong);
}

static void test_float_to_half(void)
{
	struct {
		float f;
		uint16_t h;
	} cases[] = {
		{1.0f, 0x3C00},
		{-2.0f, 0xC000},
		{65504.0f, 0x7BFF},
		{65519.99f, 0x7BFF},               /* below the halfway point to 65536 */
		{65520.0f, 0x7C00},                /* halfway, and 0x7BFF is odd: rounds to infinity */
		{1e10f, 0x7C00},
		{-1e10f, 0xFC00},
		{0x1p-24f, 0x0001},
		{0x1p-25f, 0x0000},                /* halfway between 0 and 2^-24: even is 0 */
		{0x1.000002p-25f, 0x0001},         /* just above halfway */
		{0x1.8p-24f, 0x0002},              /* 1.5 ulps: ties to even (2) */
		{0x1.4p-23f, 0x0002},              /* 2.5 ulps: ties to even (2) */
		{0x1.cp-23f, 0x0004},              /* 3.5 ulps: ties to even (4) */
		{0x1p-26f, 0x0000},
		{-0x1p-26f, 0x8000},
		{0x1p-14f, 0x0400},
		{0x1p-14f - 0x1p-25f, 0x0400},     /* 1023.5 ulps: ties to even (1024, the smallest normal) */
		{0x1p-14f - 0x1p-24f, 0x03FF},
		{1.0f + 0x1p-11f, 0x3C00},         /* halfway between 1 and 1 + 2^-10: even is 1 */
		{1.0f + 0x1p-11f + 0x1p-23f, 0x3C01},
		{1.0f + 3 * 0x1p-11f, 0x3C02},     /* halfway between 0x3C01 and 0x3C02: even */
		{2047.0f + 0.5f, 0x6800},          /* 2047.5 -> 2048 */
		{0.1f, 0x2E66},
		{0.0f, 0x0000},
		{-0.0f, 0x8000},
		{INFINITY, 0x7C00},
		{-INFINITY, 0xFC00},
		{0x1p-149f, 0x0000},               /* f32 subnormal */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t h = st_f32_to_f16(cases[i].f);
		CHECK_MSG(h == cases[i].h, "%a -> 0x%04X, want 0x%04X", (double)cases[i].f, h, cases[i].h);
	}
	uint16_t nan = st_f32_to_f16(NAN), nan_low = st_f32_to_f16(bits_f32(0x7F800001u));
	CHECK((nan & 0x7C00) == 0x7C00 && (nan & 0x3FF) != 0);
	CHECK((nan_low & 0x7C00) == 0x7C00 && (nan_low & 0x3FF) != 0); /* payload below f16 precision */
	CHECK((st_f32_to_f16(bits_f32(0xFFC00000u)) & 0x8000) != 0);

	/* Against a slow reference: the nearest half by search, ties to the even code. */
	size_t wrong = 0;
	uint32_t seed = 12345;
	for (int i = 0; i < 200000; i++) {
		seed = seed * 1664525u + 1013904223u;
		float f = bits_f32((seed & 0x807FFFFFu) | ((110u + (seed >> 24) % 36u) << 23)); /* 2^-17 .. 2^18 */
		if (fabsf(f) >= 65520.0f) continue;
		uint16_t h = st_f32_to_f16(f);
		double err = fabs((double)st_f16_to_f32(h) - (double)f);
		uint16_t up = (uint16_t)(h + 1), down = (uint16_t)(h - 1);
		double eu = (up & 0x7C00) == 0x7C00 ? INFINITY : fabs((double)st_f16_to_f32(up) - (double)f);
		double ed = (h & 0x7FFF) == 0 ? INFINITY : fabs((double)st_f16_to_f32(down) - (double)f);
		if (err > eu || err > ed || ((err == eu || err == ed) && (h & 1))) wrong++;
	}
	CHECK_MSG(wrong == 0, "%zu random floats rounded wrongly", wrong);
}

/* ---- fuzzer seeds ---- */

static void write_seed(const char *dir, const char *name, const uint8_t *data, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (size >= 8192) fprintf(stderr, "warning: seed %s is %zu bytes\n", name, size);
	if (cv_file_write(path, data, size) != CV_OK) exit(1);
}

static void write_dam_seed(const char *dir, const char *name, const struct dam_opts *o)
{
	size_t size;
	uint8_t *file = build_dam(o, &size);
	write_seed(dir, name, file, size);
	free(file);
}

static int write_corpus(const char *dir)
{
	/* Small enough to stay under 8 KB: latent 1, one or two vertices, a 2 x 2 or 4 x 4 texture. */
	const struct dam_opts tiny = {.z = 1, .v = 1, .s0 = 1, .u = 1, .f = 1, .channels = "1,3", .weight_dtype = "F16"};
	struct dam_opts o = tiny;
	write_dam_seed(dir, "dam-tiny.cavatar", &o);
	o.view = true, o.weight_dtype = "BF16", o.channels = "1,2,3", o.v = 2, o.u = 3, o.f = 2;
	write_dam_seed(dir, "dam-view.cavatar", &o);
	o = tiny, o.meta_key = "family", o.meta_value = "gaussian";
	write_dam_seed(dir, "bad-family.cavatar", &o);
	o = tiny, o.bad_vertex = true;
	write_dam_seed(dir, "bad-index.cavatar", &o);
	o = tiny, o.grow = "dec.up.0.weight";
	write_dam_seed(dir, "bad-shape.cavatar", &o);
	o = tiny, o.meta_key = "format_version", o.meta_value = "2";
	write_dam_seed(dir, "bad-version.cavatar", &o);

	size_t size;
	uint8_t *file = raw_file("{}      ", NULL, 0, &size);
	write_seed(dir, "empty.safetensors", file, size);
	free(file);
	static const uint8_t data[16] = {0, 0, 0x80, 0x3f};
	file = raw_file("{\"__metadata__\":{\"format\":\"cavatar\"},"
	                "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
	                "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	                data, sizeof(data), &size);
	write_seed(dir, "two-tensors.safetensors", file, size);
	free(file);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-corpus")) return write_corpus(argv[2]);
	cv_log_set_level(CV_LOG_WARN);
	RUN(test_valid_dam);
	RUN(test_truncation);
	RUN(test_header_length);
	RUN(test_bad_json);
	RUN(test_bad_tensors);
	RUN(test_dam_damage);
	RUN(test_messages);
	RUN(test_files);
	RUN(test_unaligned);
	RUN(test_half_to_float);
	RUN(test_float_to_half);
	return test_finish();
}
