#include "avatar/cavatar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct avatar_file {
	struct st_file *st;
	enum avatar_family family;
	const char *name; /* owned by st */
	struct avatar_dam_arch dam;
	struct avatar_gca_arch gca;
};

/* ---- metadata ---- */

static enum cv_result meta_require(const struct st_file *st, const char *key, const char **out)
{
	*out = st_metadata(st, key);
	if (!*out) return CV_FAIL(CV_ERROR_FORMAT, "%s: no '%s' in the metadata", st_path(st), key);
	return CV_OK;
}

/* Decimal digits only: no sign, space or leading zero, so "1" is the one way to write 1. */
static bool parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20 || (s[0] == '0' && len > 1)) return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') return false;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v)) return false;
	}
	if (v > max) return false;
	*out = v;
	return true;
}

static enum cv_result meta_uint(const struct st_file *st, const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *s;
	CV_TRY(meta_require(st, key, &s));
	uint64_t v;
	if (!parse_uint(s, strlen(s), UINT64_MAX, &v) || v < min || v > max)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata %s = '%.40s' is not an integer in %u..%u", st_path(st), key, s,
		               min, max);
	*out = (uint32_t)v;
	return CV_OK;
}

/* A decimal like "0.2", "0.20000000298023224" or "1e-05" in [0, 1]. Written out rather than strtod so a
 * locale with a decimal comma cannot change what a file means. */
static bool parse_slope(const char *s, float *out)
{
	uint64_t mant = 0;
	int scale = 0, digits = 0;
	bool dot = false;
	for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
		if (*s == '.') {
			dot = true;
			continue;
		}
		digits++;
		if (__builtin_mul_overflow(mant, 10, &mant) || __builtin_add_overflow(mant, (uint64_t)(*s - '0'), &mant))
			return false;
		scale -= dot;
	}
	if (digits == 0) return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		int sign = *s == '-' ? -1 : 1;
		if (*s == '-' || *s == '+') s++;
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 3) return false;
		int e = 0;
		for (size_t i = 0; i < n; i++) e = e * 10 + (s[i] - '0'); /* "1e-05": leading zeros are usual */
		scale += sign * e;
		s += n;
	}
	if (*s) return false;
	/* Powers of ten up to 1e22 are exact doubles, so one division rounds once. */
	double v = (double)mant, p = 1.0;
	int a = scale < 0 ? -scale : scale;
	if (a > 22) {
		if (mant) return false;
		a = 0;
	}
	for (int i = 0; i < a; i++) p *= 10.0;
	v = scale < 0 ? v / p : v * p;
	if (!(v >= 0.0 && v <= 1.0)) return false;
	*out = (float)v;
	return true;
}

/* A comma list of channel counts under `key`, ending in `last`; up-convolutions = entries - 1. */
static enum cv_result parse_channels(const struct st_file *st, const char *key, uint32_t last, uint32_t *channels,
                                     uint32_t *up_count)
{
	const char *s;
	CV_TRY(meta_require(st, key, &s));
	uint32_t n = 0;
	for (const char *p = s;; n++) {
		size_t len = strcspn(p, ",");
		uint64_t v;
		if (n == AVATAR_DAM_MAX_UP + 1)
			return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: %s lists more than %d up-convolutions", st_path(st), key,
			               AVATAR_DAM_MAX_UP);
		if (!parse_uint(p, len, AVATAR_DAM_MAX_CHANNELS, &v) || v == 0)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: %s '%.80s' is not a comma list of integers in 1..%d",
			               st_path(st), key, s, AVATAR_DAM_MAX_CHANNELS);
		channels[n] = (uint32_t)v;
		if (!p[len]) break;
		p += len + 1;
	}
	n++;
	if (n < 2) return CV_FAIL(CV_ERROR_FORMAT, "%s: %s '%s' names no up-convolution", st_path(st), key, s);
	if (channels[n - 1] != last)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: %s ends in %u; the last up-convolution must output %u", st_path(st), key,
		               channels[n - 1], last);
	*up_count = n - 1;
	return CV_OK;
}

/* Metadata every family has: view conditioning, the LeakyReLU slope, metres. */
static enum cv_result parse_common_metadata(const struct st_file *st, bool *view_conditioned, float *leaky_slope)
{
	const char *path = st_path(st), *s;
	CV_TRY(meta_require(st, "view_conditioned", &s));
	if (strcmp(s, "true") && strcmp(s, "false"))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: view_conditioned is '%.40s', not true or false", path, s);
	*view_conditioned = !strcmp(s, "true");

	CV_TRY(meta_require(st, "leaky_slope", &s));
	if (!parse_slope(s, leaky_slope))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: leaky_slope '%.40s' is not a decimal number in 0..1", path, s);

	CV_TRY(meta_require(st, "units", &s));
	if (strcmp(s, "metres"))
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: units '%.40s'; cavr reads avatars in metres", path, s);
	return CV_OK;
}

static enum cv_result parse_dam_metadata(const struct st_file *st, struct avatar_dam_arch *arch)
{
	CV_TRY(meta_uint(st, "latent_size", 1, AVATAR_MAX_LATENT, &arch->latent));
	CV_TRY(meta_uint(st, "texture_size", 1, AVATAR_MAX_TEXTURE, &arch->texture));
	CV_TRY(meta_uint(st, "vertex_count", 1, AVATAR_MAX_VERTICES, &arch->vertices));
	CV_TRY(meta_uint(st, "dam.init_size", 1, AVATAR_MAX_TEXTURE, &arch->init_size));
	CV_TRY(parse_channels(st, "dam.channels", 3, arch->channels, &arch->up_count));
	if (((uint64_t)arch->init_size << arch->up_count) != arch->texture)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: texture_size %u is not dam.init_size %u doubled %u times", st_path(st),
		               arch->texture, arch->init_size, arch->up_count);
	return parse_common_metadata(st, &arch->view_conditioned, &arch->leaky_slope);
}

static enum cv_result parse_gca_metadata(const struct st_file *st, struct avatar_gca_arch *arch)
{
	const char *path = st_path(st);
	uint32_t colour_up;
	CV_TRY(meta_uint(st, "latent_size", 1, AVATAR_MAX_LATENT, &arch->latent));
	CV_TRY(meta_uint(st, "gca.grid", 1, AVATAR_MAX_TEXTURE, &arch->grid));
	CV_TRY(meta_uint(st, "gca.init_size", 1, AVATAR_MAX_TEXTURE, &arch->init_size));
	CV_TRY(parse_channels(st, "gca.geometry_channels", AVATAR_GCA_GEOMETRY, arch->geometry_channels, &arch->up_count));
	CV_TRY(parse_channels(st, "gca.colour_channels", AVATAR_GCA_COLOUR, arch->colour_channels, &colour_up));
	if (colour_up != arch->up_count)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: the geometry trunk has %u up-convolutions and the colour trunk %u", path,
		               arch->up_count, colour_up);
	if (((uint64_t)arch->init_size << arch->up_count) != arch->grid)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: gca.grid %u is not gca.init_size %u doubled %u times", path, arch->grid,
		               arch->init_size, arch->up_count);
	return parse_common_metadata(st, &arch->view_conditioned, &arch->leaky_slope);
}

/* ---- tensors ---- */

enum tensor_kind {
	KIND_WEIGHT, /* F32, F16 or BF16 */
	KIND_F32,
	KIND_I32,
};

struct expect {
	char name[32];
	enum tensor_kind kind;
	bool optional;
	uint32_t rank;
	uint64_t shape[4];
};

/* Every tensor of an avatar: at most 8 fully connected ones, 3 per up-convolution of at most two trunks, 9
 * mesh/texture/code ones (dam) or 4 template/code ones (gca). */
#define MAX_EXPECT (8 + 6 * AVATAR_DAM_MAX_UP + 9)

struct expect_list {
	struct expect items[MAX_EXPECT];
	uint32_t count;
};

static void expect(struct expect_list *l, const char *name, enum tensor_kind kind, uint32_t rank, uint64_t d0,
                   uint64_t d1, uint64_t d2, uint64_t d3)
{
	struct expect *e = &l->items[l->count++];
	*e = (struct expect){.kind = kind, .rank = rank, .shape = {d0, d1, d2, d3}};
	snprintf(e->name, sizeof(e->name), "%s", name);
}

static void expect_up(struct expect_list *l, const char *prefix, const uint32_t *channels, uint32_t up_count,
                      uint64_t s0)
{
	for (uint32_t i = 0; i < up_count; i++) {
		const uint64_t cin = channels[i], cout = channels[i + 1], side = s0 << (i + 1);
		char name[32];
		snprintf(name, sizeof(name), "%s.%u.weight", prefix, i);
		expect(l, name, KIND_WEIGHT, 4, cin, cout, 4, 4);
		snprintf(name, sizeof(name), "%s.%u.bias", prefix, i);
		expect(l, name, KIND_WEIGHT, 1, cout, 0, 0, 0);
		snprintf(name, sizeof(name), "%s.%u.untied_bias", prefix, i);
		expect(l, name, KIND_WEIGHT, 3, cout, side, side, 0);
	}
}

static void expect_code_stats(struct expect_list *l, uint64_t z)
{
	expect(l, "code.mean", KIND_F32, 1, z, 0, 0, 0);
	l->items[l->count - 1].optional = true;
	expect(l, "code.std", KIND_F32, 1, z, 0, 0, 0);
	l->items[l->count - 1].optional = true;
}

/* The view code and z code MLPs both families start with. */
static void expect_code_mlps(struct expect_list *l, bool view_conditioned, uint64_t z)
{
	if (view_conditioned) {
		expect(l, "dec.view_fc.weight", KIND_WEIGHT, 2, AVATAR_DAM_VIEW, 3, 0, 0);
		expect(l, "dec.view_fc.bias", KIND_WEIGHT, 1, AVATAR_DAM_VIEW, 0, 0, 0);
	}
	expect(l, "dec.z_fc.weight", KIND_WEIGHT, 2, AVATAR_DAM_HIDDEN, z, 0, 0);
	expect(l, "dec.z_fc.bias", KIND_WEIGHT, 1, AVATAR_DAM_HIDDEN, 0, 0, 0);
}

static void expect_dam(const struct avatar_dam_arch *a, struct expect_list *l)
{
	const uint64_t z = a->latent, v3 = 3ull * a->vertices, s0 = a->init_size, c0 = a->channels[0];
	const uint64_t feat = AVATAR_DAM_HIDDEN + (a->view_conditioned ? AVATAR_DAM_VIEW : 0);
	expect_code_mlps(l, a->view_conditioned, z);
	expect(l, "dec.mesh_fc.weight", KIND_WEIGHT, 2, v3, AVATAR_DAM_HIDDEN, 0, 0);
	expect(l, "dec.mesh_fc.bias", KIND_WEIGHT, 1, v3, 0, 0, 0);
	expect(l, "dec.texture_fc.weight", KIND_WEIGHT, 2, c0 * s0 * s0, feat, 0, 0);
	expect(l, "dec.texture_fc.bias", KIND_WEIGHT, 1, c0 * s0 * s0, 0, 0, 0);
	expect_up(l, "dec.up", a->channels, a->up_count, s0);
	expect(l, "mesh.vert_mean", KIND_F32, 2, a->vertices, 3, 0, 0);
	expect(l, "mesh.vert_std", KIND_F32, 1, 1, 0, 0, 0);
	expect(l, "mesh.uv", KIND_F32, 2, a->uv_count, 2, 0, 0);
	expect(l, "mesh.tri_vertex", KIND_I32, 2, a->triangles, 3, 0, 0);
	expect(l, "mesh.tri_uv", KIND_I32, 2, a->triangles, 3, 0, 0);
	expect(l, "tex.mean", KIND_F32, 3, a->texture, a->texture, 3, 0);
	expect(l, "tex.std", KIND_F32, 1, 1, 0, 0, 0);
	expect_code_stats(l, z);
}

static void expect_gca(const struct avatar_gca_arch *a, struct expect_list *l)
{
	const uint64_t z = a->latent, s0 = a->init_size, g = a->grid;
	const uint64_t feat = AVATAR_DAM_HIDDEN + (a->view_conditioned ? AVATAR_DAM_VIEW : 0);
	expect_code_mlps(l, a->view_conditioned, z);
	expect(l, "dec.geometry_fc.weight", KIND_WEIGHT, 2, a->geometry_channels[0] * s0 * s0, AVATAR_DAM_HIDDEN, 0, 0);
	expect(l, "dec.geometry_fc.bias", KIND_WEIGHT, 1, a->geometry_channels[0] * s0 * s0, 0, 0, 0);
	expect(l, "dec.colour_fc.weight", KIND_WEIGHT, 2, a->colour_channels[0] * s0 * s0, feat, 0, 0);
	expect(l, "dec.colour_fc.bias", KIND_WEIGHT, 1, a->colour_channels[0] * s0 * s0, 0, 0, 0);
	expect_up(l, "dec.geometry", a->geometry_channels, a->up_count, s0);
	expect_up(l, "dec.colour", a->colour_channels, a->up_count, s0);
	expect(l, "gaussian.template", KIND_F32, 3, g, g, 3, 0);
	expect(l, "gaussian.offset_scale", KIND_F32, 1, 1, 0, 0, 0);
	expect_code_stats(l, z);
}

static void format_shape(char *buf, size_t size, uint32_t rank, const uint64_t *shape)
{
	size_t n = (size_t)snprintf(buf, size, "[");
	for (uint32_t i = 0; i < rank && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
	if (n < size) snprintf(buf + n, size - n, "]");
}

static enum cv_result check_tensor(const struct st_file *st, const struct expect *e)
{
	const char *path = st_path(st);
	const struct st_tensor *t = st_find(st, e->name);
	if (!t) {
		if (e->optional) return CV_OK;
		return CV_FAIL(CV_ERROR_FORMAT, "%s: avatar lacks tensor '%s'", path, e->name);
	}
	bool ok = e->kind == KIND_WEIGHT ? (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16)
	          : e->kind == KIND_F32  ? t->dtype == ST_F32
	                                 : t->dtype == ST_I32;
	if (!ok)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' is %s, expected %s", path, e->name, st_dtype_name(t->dtype),
		               e->kind == KIND_WEIGHT ? "F32, F16 or BF16" : e->kind == KIND_F32 ? "F32" : "I32");
	if (t->rank != e->rank || memcmp(t->shape, e->shape, e->rank * sizeof(e->shape[0]))) {
		char got[ST_MAX_RANK * 22 + 4], want[4 * 22 + 4];
		format_shape(got, sizeof(got), t->rank, t->shape);
		format_shape(want, sizeof(want), e->rank, e->shape);
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", path, e->name, got, want);
	}
	return CV_OK;
}

/* Rows of a [N, cols] tensor whose rank the caller has not checked yet; the full check comes later. */
static enum cv_result leading_dim(const struct st_file *st, const char *name, uint64_t cols, uint32_t max,
                                  uint32_t *out)
{
	const struct st_tensor *t = st_find(st, name);
	if (!t) return CV_FAIL(CV_ERROR_FORMAT, "%s: avatar lacks tensor '%s'", st_path(st), name);
	if (t->rank != 2 || t->shape[1] != cols || t->shape[0] == 0 || t->shape[0] > max)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' must be [N, %llu] with N in 1..%u", st_path(st), name,
		               (unsigned long long)cols, max);
	*out = (uint32_t)t->shape[0];
	return CV_OK;
}

/* Out-of-range indices would let a shader read outside its buffers: refuse them here. */
static enum cv_result check_indices(const struct st_file *st, const char *name, uint32_t limit, const char *what)
{
	const struct st_tensor *t = st_find(st, name);
	const uint8_t *p = t->data;
	for (uint64_t i = 0; i < t->count; i++) {
		int32_t v;
		memcpy(&v, p + 4 * i, sizeof(v));
		if (v < 0 || (uint32_t)v >= limit)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: %s[%llu][%llu] = %d, but the avatar has %u %s", st_path(st), name,
			               (unsigned long long)(i / 3), (unsigned long long)(i % 3), v, limit, what);
	}
	return CV_OK;
}

/* Every expected tensor present as described, and nothing else. */
static enum cv_result check_tensors(const struct st_file *st, const struct expect_list *list, const char *family)
{
	for (uint32_t i = 0; i < list->count; i++) CV_TRY(check_tensor(st, &list->items[i]));
	/* Anything else is an exporter mistake (an unfolded weight-norm gain, a layer the channels do not list). */
	for (size_t i = 0; i < st_tensor_count(st); i++) {
		const char *name = st_tensor_at(st, i)->name;
		uint32_t k = 0;
		while (k < list->count && strcmp(list->items[k].name, name)) k++;
		if (k == list->count)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: unexpected tensor '%.80s' for a %s avatar with this metadata",
			               st_path(st), name, family);
	}
	return CV_OK;
}

static enum cv_result check_dam(const struct st_file *st, struct avatar_dam_arch *arch)
{
	CV_TRY(parse_dam_metadata(st, arch));
	CV_TRY(leading_dim(st, "mesh.uv", 2, AVATAR_MAX_UVS, &arch->uv_count));
	CV_TRY(leading_dim(st, "mesh.tri_vertex", 3, AVATAR_MAX_TRIANGLES, &arch->triangles));
	struct expect_list list = {.count = 0};
	expect_dam(arch, &list);
	CV_TRY(check_tensors(st, &list, "dam"));
	CV_TRY(check_indices(st, "mesh.tri_vertex", arch->vertices, "vertices"));
	return check_indices(st, "mesh.tri_uv", arch->uv_count, "uvs");
}

static enum cv_result check_gca(const struct st_file *st, struct avatar_gca_arch *arch)
{
	CV_TRY(parse_gca_metadata(st, arch));
	struct expect_list list = {.count = 0};
	expect_gca(arch, &list);
	return check_tensors(st, &list, "gca");
}

static enum cv_result check_header(const struct st_file *st, struct avatar_file *a)
{
	const char *path = st_path(st), *s;
	s = st_metadata(st, "format");
	if (!s) return CV_FAIL(CV_ERROR_FORMAT, "%s: not a cavatar file (no 'format' in the metadata)", path);
	if (strcmp(s, "cavatar"))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: not a cavatar file (metadata format is '%.40s')", path, s);
	CV_TRY(meta_require(st, "format_version", &s));
	uint64_t version;
	if (!parse_uint(s, strlen(s), UINT64_MAX, &version) || version == 0)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: format_version '%.40s' is not a version number", path, s);
	if (version != AVATAR_FORMAT_VERSION)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: cavatar format_version %llu; this cavr reads version %d", path,
		               (unsigned long long)version, AVATAR_FORMAT_VERSION);
	CV_TRY(meta_require(st, "name", &a->name));
	/* The name goes into logs and window titles: keep it short and free of control characters. */
	size_t len = strlen(a->name);
	bool printable = len > 0 && len <= 256;
	for (size_t i = 0; i < len && printable; i++) printable = (unsigned char)a->name[i] >= 0x20 && a->name[i] != 0x7f;
	if (!printable)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: the avatar name must be 1..256 bytes without control characters", path);
	CV_TRY(meta_require(st, "family", &s));
	if (!strcmp(s, "dam")) {
		a->family = AVATAR_FAMILY_DAM;
		return check_dam(st, &a->dam);
	}
	if (!strcmp(s, "gca")) {
		a->family = AVATAR_FAMILY_GCA;
		return check_gca(st, &a->gca);
	}
	return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: avatar family '%.40s' is not one this cavr decodes (it knows: dam, gca)",
	               path, s);
}

/* ---- lifetime ---- */

static enum cv_result finish_open(struct st_file *st, struct avatar_file **out)
{
	struct avatar_file *a = calloc(1, sizeof(*a));
	if (!a) {
		st_close(&st);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "opening an avatar");
	}
	a->st = st;
	enum cv_result r = check_header(st, a);
	if (r != CV_OK) {
		avatar_file_destroy(&a);
		return r;
	}
	*out = a;
	return CV_OK;
}

enum cv_result avatar_file_open(const char *path, struct avatar_file **out)
{
	*out = NULL;
	struct st_file *st;
	CV_TRY(st_open(path, &st));
	return finish_open(st, out);
}

enum cv_result avatar_file_open_memory(const void *data, size_t size, struct avatar_file **out)
{
	*out = NULL;
	struct st_file *st;
	CV_TRY(st_open_memory(data, size, &st));
	return finish_open(st, out);
}

void avatar_file_destroy(struct avatar_file **file)
{
	struct avatar_file *a = *file;
	if (!a) return;
	st_close(&a->st);
	free(a);
	*file = NULL;
}

/* ---- queries ---- */

const char *avatar_name(const struct avatar_file *file) { return file->name; }
enum avatar_family avatar_family(const struct avatar_file *file) { return file->family; }

const char *avatar_family_name(enum avatar_family family)
{
	switch (family) {
	case AVATAR_FAMILY_DAM: return "dam";
	case AVATAR_FAMILY_GCA: return "gca";
	}
	return "unknown";
}

const struct avatar_dam_arch *avatar_dam_arch(const struct avatar_file *file)
{
	return file->family == AVATAR_FAMILY_DAM ? &file->dam : NULL;
}

const struct avatar_gca_arch *avatar_gca_arch(const struct avatar_file *file)
{
	return file->family == AVATAR_FAMILY_GCA ? &file->gca : NULL;
}

uint32_t avatar_latent_size(const struct avatar_file *file)
{
	switch (file->family) {
	case AVATAR_FAMILY_DAM: return file->dam.latent;
	case AVATAR_FAMILY_GCA: return file->gca.latent;
	}
	return 0;
}

const struct st_tensor *avatar_tensor(const struct avatar_file *file, const char *name) { return st_find(file->st, name); }
const struct st_file *avatar_safetensors(const struct avatar_file *file) { return file->st; }

enum cv_result avatar_check_code(const struct avatar_file *file, size_t code_floats)
{
	uint32_t latent = avatar_latent_size(file);
	if (code_floats != latent)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "code has %zu floats, avatar '%s' expects %u", code_floats,
		               file->name, latent);
	return CV_OK;
}
