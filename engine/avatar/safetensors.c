#define _POSIX_C_SOURCE 200809L
#include "avatar/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader copies it as is"
#endif

struct st_meta {
	const char *key;
	const char *value;
};

struct st_file {
	char *path;             /* NULL for memory files */
	const uint8_t *bytes;
	size_t size;
	bool mapped;
	struct st_tensor *tensors; /* sorted by name */
	size_t tensor_count;
	struct st_meta *meta;      /* sorted by key */
	size_t meta_count;
	char *strings;             /* names, keys and values, one allocation */
};

static const struct {
	const char *name;
	size_t size;
} dtype_info[] = {
	[ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1},     [ST_I8] = {"I8", 1},   [ST_I16] = {"I16", 2},
	[ST_U16] = {"U16", 2},   [ST_F16] = {"F16", 2},   [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},
	[ST_U32] = {"U32", 4},   [ST_F32] = {"F32", 4},   [ST_I64] = {"I64", 8}, [ST_U64] = {"U64", 8},
	[ST_F64] = {"F64", 8},
};
#define DTYPE_COUNT (sizeof(dtype_info) / sizeof(dtype_info[0]))

size_t st_dtype_size(enum st_dtype dtype) { return (size_t)dtype < DTYPE_COUNT ? dtype_info[dtype].size : 0; }
const char *st_dtype_name(enum st_dtype dtype) { return (size_t)dtype < DTYPE_COUNT ? dtype_info[dtype].name : "?"; }

const char *st_path(const struct st_file *file) { return file->path ? file->path : "<memory>"; }

/* ---- parsing ---- */

/* Names come from a hostile file: log them short and without control characters. */
#define PRINTABLE_MAX 72
static const char *printable(const char *s, char buf[PRINTABLE_MAX + 4])
{
	size_t n = 0;
	for (; s[n] && n < PRINTABLE_MAX; n++) {
		size_t c = cv_control_char_len((const unsigned char *)s + n, 2);
		buf[n] = c ? '?' : s[n];
		if (c == 2 && n + 1 < PRINTABLE_MAX) buf[++n] = '?'; /* both bytes of a C1 character */
	}
	if (s[n]) {
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--; /* do not split a UTF-8 sequence */
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* UTF-8 without the control characters JSON never allows unescaped (a raw NUL would cut names short). */
static bool valid_header_text(const uint8_t *s, size_t n, size_t *bad_at)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			*bad_at = i;
			return false;
		} else if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			*bad_at = i;
			return false;
		}
		if (n - i < len) {
			*bad_at = i;
			return false;
		}
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				*bad_at = i;
				return false;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			*bad_at = i;
			return false;
		}
		i += len;
	}
	return true;
}

static bool parse_dtype(const char *s, enum st_dtype *out)
{
	for (size_t i = 0; i < DTYPE_COUNT; i++) {
		if (!strcmp(s, dtype_info[i].name)) {
			*out = (enum st_dtype)i;
			return true;
		}
	}
	return false;
}

/* JSON numbers arrive as doubles: accept only whole, non-negative values a double holds exactly. */
static bool json_u64(const cJSON *item, uint64_t *out)
{
	if (!cJSON_IsNumber(item)) return false;
	double d = item->valuedouble;
	if (!(d >= 0.0 && d <= 9007199254740992.0) || d != floor(d)) return false;
	*out = (uint64_t)d;
	return true;
}

struct parse {
	struct st_file *file;
	const char *path;     /* for messages */
	size_t data_size;     /* bytes after the header */
	const uint8_t *data;
	uint64_t *begins;     /* per tensor, to check that tensors tile the data section */
	char *next_string;
};

static char *pool_copy(struct parse *p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *dst = memcpy(p->next_string, s, n);
	p->next_string += n;
	return dst;
}

static enum cv_result parse_tensor(struct parse *p, const cJSON *item, struct st_tensor *t, uint64_t *begin)
{
	char nb[PRINTABLE_MAX + 4];
	const char *name = printable(item->string, nb);
	if (!cJSON_IsObject(item))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' is not a JSON object", p->path, name);
	const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
	for (const cJSON *c = item->child; c; c = c->next) {
		const cJSON **slot = !strcmp(c->string, "dtype")          ? &dtype
		                     : !strcmp(c->string, "shape")        ? &shape
		                     : !strcmp(c->string, "data_offsets") ? &offsets
		                                                          : NULL;
		char kb[PRINTABLE_MAX + 4];
		if (!slot)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' has an unknown field '%s'", p->path, name,
			               printable(c->string, kb));
		if (*slot) return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' repeats '%s'", p->path, name, c->string);
		*slot = c;
	}
	if (!dtype || !shape || !offsets)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' lacks '%s'", p->path, name,
		               !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

	if (!cJSON_IsString(dtype)) return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': dtype is not a string", p->path, name);
	if (!parse_dtype(dtype->valuestring, &t->dtype)) {
		char db[PRINTABLE_MAX + 4];
		static const char *const known[] = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(dtype->valuestring, known[i]))
				return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not one cavr reads", p->path,
				               name, known[i]);
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", p->path, name,
		               printable(dtype->valuestring, db));
	}

	if (!cJSON_IsArray(shape)) return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': shape is not an array", p->path, name);
	int rank = cJSON_GetArraySize(shape);
	if (rank > ST_MAX_RANK)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: tensor '%s' has rank %d; cavr reads up to %d", p->path, name, rank,
		               ST_MAX_RANK);
	t->rank = (uint32_t)rank;
	uint64_t count = 1;
	bool overflow = false;
	int i = 0;
	for (const cJSON *d = shape->child; d; d = d->next, i++) {
		if (!json_u64(d, &t->shape[i]))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': shape[%d] is not an integer in 0..2^53", p->path,
			               name, i);
		overflow |= __builtin_mul_overflow(count, t->shape[i], &count);
	}
	/* A zero dimension makes the count 0 however large the others are. */
	for (i = 0; i < rank; i++) {
		if (t->shape[i] == 0) {
			count = 0;
			overflow = false;
		}
	}
	uint64_t bytes;
	if (overflow || __builtin_mul_overflow(count, (uint64_t)st_dtype_size(t->dtype), &bytes))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': shape overflows", p->path, name);

	uint64_t b, e;
	if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !json_u64(offsets->child, &b) ||
	    !json_u64(offsets->child->next, &e))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': data_offsets is not [begin, end]", p->path, name);
	if (b > e)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': data_offsets begin %llu is after end %llu", p->path, name,
		               (unsigned long long)b, (unsigned long long)e);
	if (e > p->data_size)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' ends at byte %llu of a %zu-byte data section", p->path,
		               name, (unsigned long long)e, p->data_size);
	if (e - b != bytes)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s': %llu elements of %s need %llu bytes, data_offsets span %llu",
		               p->path, name, (unsigned long long)count, st_dtype_name(t->dtype), (unsigned long long)bytes,
		               (unsigned long long)(e - b));
	t->count = count;
	t->data = p->data + b;
	t->size = (size_t)bytes;
	t->name = pool_copy(p, item->string);
	*begin = b;
	return CV_OK;
}

static enum cv_result parse_metadata(struct parse *p, const cJSON *item)
{
	struct st_file *f = p->file;
	if (!cJSON_IsObject(item)) return CV_FAIL(CV_ERROR_FORMAT, "%s: __metadata__ is not a JSON object", p->path);
	for (const cJSON *c = item->child; c; c = c->next) {
		char kb[PRINTABLE_MAX + 4];
		if (!cJSON_IsString(c))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata '%s' is not a string", p->path, printable(c->string, kb));
		struct st_meta *m = &f->meta[f->meta_count++];
		m->key = pool_copy(p, c->string);
		m->value = pool_copy(p, c->valuestring);
	}
	return CV_OK;
}

static int tensor_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_tensor *)a)->name, ((const struct st_tensor *)b)->name);
}

static int meta_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_meta *)a)->key, ((const struct st_meta *)b)->key);
}

struct span {
	uint64_t begin, end;
	const char *name;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Like the reference implementation: tensors cover the data section exactly, no overlaps, holes or tail. */
static enum cv_result check_tiling(struct parse *p)
{
	struct st_file *f = p->file;
	if (f->tensor_count == 0) {
		if (p->data_size) return CV_FAIL(CV_ERROR_FORMAT, "%s: %zu data bytes but no tensors", p->path, p->data_size);
		return CV_OK;
	}
	struct span *spans = malloc(f->tensor_count * sizeof(*spans));
	if (!spans) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: %zu tensors", p->path, f->tensor_count);
	for (size_t i = 0; i < f->tensor_count; i++)
		spans[i] = (struct span){p->begins[i], p->begins[i] + f->tensors[i].size, f->tensors[i].name};
	qsort(spans, f->tensor_count, sizeof(*spans), span_cmp);
	enum cv_result r = CV_OK;
	uint64_t at = 0;
	for (size_t i = 0; i < f->tensor_count && r == CV_OK; i++) {
		char nb[PRINTABLE_MAX + 4], ob[PRINTABLE_MAX + 4];
		if (spans[i].begin < at)
			r = CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' (bytes %llu..%llu) overlaps tensor '%s'", p->path,
			            printable(spans[i].name, nb), (unsigned long long)spans[i].begin,
			            (unsigned long long)spans[i].end, printable(spans[i - 1].name, ob));
		else if (spans[i].begin > at)
			r = CV_FAIL(CV_ERROR_FORMAT, "%s: %llu unused bytes before tensor '%s'", p->path,
			            (unsigned long long)(spans[i].begin - at), printable(spans[i].name, nb));
		at = spans[i].end;
	}
	if (r == CV_OK && at != p->data_size)
		r = CV_FAIL(CV_ERROR_FORMAT, "%s: %llu unused bytes after the last tensor", p->path,
		            (unsigned long long)(p->data_size - at));
	free(spans);
	return r;
}

static enum cv_result check_unique(struct parse *p)
{
	struct st_file *f = p->file;
	char nb[PRINTABLE_MAX + 4];
	qsort(f->tensors, f->tensor_count, sizeof(*f->tensors), tensor_name_cmp);
	for (size_t i = 1; i < f->tensor_count; i++)
		if (!strcmp(f->tensors[i - 1].name, f->tensors[i].name))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: tensor '%s' appears twice", p->path, printable(f->tensors[i].name, nb));
	qsort(f->meta, f->meta_count, sizeof(*f->meta), meta_key_cmp);
	for (size_t i = 1; i < f->meta_count; i++)
		if (!strcmp(f->meta[i - 1].key, f->meta[i].key))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: metadata '%s' appears twice", p->path, printable(f->meta[i].key, nb));
	return CV_OK;
}

/* One allocation for the tensor and metadata arrays and every string they point to. */
static enum cv_result allocate(struct parse *p, const cJSON *root, const cJSON *meta)
{
	struct st_file *f = p->file;
	size_t tensors = 0, metas = 0, chars = 0;
	for (const cJSON *c = root->child; c; c = c->next) {
		if (c == meta) continue;
		tensors++;
		chars += strlen(c->string) + 1;
	}
	for (const cJSON *c = meta ? meta->child : NULL; c; c = c->next) {
		metas++;
		chars += strlen(c->string) + 1 + (cJSON_IsString(c) ? strlen(c->valuestring) + 1 : 0);
	}
	/* Every count here is bounded by the header size, so these sums cannot overflow. */
	size_t bytes = tensors * (sizeof(struct st_tensor) + sizeof(uint64_t)) + metas * sizeof(struct st_meta) + chars;
	char *block = calloc(1, bytes ? bytes : 1);
	if (!block) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: header of %zu tensors", p->path, tensors);
	f->tensors = (struct st_tensor *)block;
	p->begins = (uint64_t *)(f->tensors + tensors);
	f->meta = (struct st_meta *)(p->begins + tensors);
	f->strings = block;
	p->next_string = (char *)(f->meta + metas);
	return CV_OK;
}

static enum cv_result parse_json(struct parse *p, const cJSON *root)
{
	struct st_file *f = p->file;
	const cJSON *meta = NULL;
	for (const cJSON *c = root->child; c; c = c->next) {
		if (strcmp(c->string, "__metadata__")) continue;
		if (meta) return CV_FAIL(CV_ERROR_FORMAT, "%s: __metadata__ appears twice", p->path);
		meta = c;
	}
	/* Checked before allocate() counts its entries' keys: an array's entries have none. */
	if (meta && !cJSON_IsObject(meta)) return CV_FAIL(CV_ERROR_FORMAT, "%s: __metadata__ is not a JSON object", p->path);
	CV_TRY(allocate(p, root, meta));
	if (meta) CV_TRY(parse_metadata(p, meta));
	for (const cJSON *c = root->child; c; c = c->next) {
		if (c == meta) continue;
		CV_TRY(parse_tensor(p, c, &f->tensors[f->tensor_count], &p->begins[f->tensor_count]));
		f->tensor_count++;
	}
	CV_TRY(check_tiling(p));
	return check_unique(p);
}

static enum cv_result parse(struct st_file *f)
{
	const char *path = st_path(f);
	if (f->size < 8) return CV_FAIL(CV_ERROR_FORMAT, "%s: %zu bytes is too short for a safetensors file", path, f->size);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--) n = (n << 8) | f->bytes[i];
	if (n > f->size - 8)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: header claims %llu bytes but only %zu follow (truncated file?)", path,
		               (unsigned long long)n, f->size - 8);
	if (n > ST_MAX_HEADER_SIZE)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: header of %llu bytes exceeds the %u-byte limit", path,
		               (unsigned long long)n, ST_MAX_HEADER_SIZE);
	const uint8_t *header = f->bytes + 8;
	if (n < 2 || header[0] != '{')
		return CV_FAIL(CV_ERROR_FORMAT, "%s: not a safetensors file (the header is not a JSON object)", path);
	size_t bad_at;
	if (!valid_header_text(header, (size_t)n, &bad_at))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: header is not UTF-8 JSON text (byte %zu)", path, bad_at);

	/* cJSON wants a terminated string; a private copy also keeps it from reading into the tensor data. */
	char *text = malloc((size_t)n + 1);
	if (!text) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: header of %llu bytes", path, (unsigned long long)n);
	memcpy(text, header, (size_t)n);
	text[n] = '\0';
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, false);
	enum cv_result r = CV_OK;
	if (!root) {
		r = CV_FAIL(CV_ERROR_FORMAT, "%s: header is not valid JSON (near byte %td)", path, end ? end - text : 0);
	} else if (!cJSON_IsObject(root)) {
		r = CV_FAIL(CV_ERROR_FORMAT, "%s: header is not a JSON object", path);
	} else {
		/* Writers pad the header with spaces; anything else after the object is damage. */
		for (; end < text + n; end++) {
			if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
				r = CV_FAIL(CV_ERROR_FORMAT, "%s: unexpected bytes after the header JSON (byte %td)", path, end - text);
				break;
			}
		}
		if (r == CV_OK) {
			struct parse p = {
				.file = f,
				.path = path,
				.data = header + n,
				.data_size = f->size - 8 - (size_t)n,
			};
			r = parse_json(&p, root);
		}
	}
	cJSON_Delete(root);
	free(text);
	return r;
}

/* ---- opening and closing ---- */

enum cv_result st_open_memory(const void *data, size_t size, struct st_file **out)
{
	*out = NULL;
	if (!data && size) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "st_open_memory: NULL data of %zu bytes", size);
	struct st_file *f = calloc(1, sizeof(*f));
	if (!f) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "st_open_memory");
	f->bytes = data;
	f->size = size;
	enum cv_result r = parse(f);
	if (r != CV_OK) {
		st_close(&f);
		return r;
	}
	*out = f;
	return CV_OK;
}

enum cv_result st_open(const char *path, struct st_file **out)
{
	*out = NULL;
	struct st_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "opening '%s'", path);
	}
	enum cv_result r = CV_OK;
	int fd = -1;
	uint64_t size = 0;
	r = cv_file_open_regular(path, SIZE_MAX, 0, &fd, &size);
	if (r == CV_OK && size > 0) {
		/* Empty files skip the map (mmap rejects length 0) and fail in parse as too short. */
		void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			r = CV_FAIL(CV_ERROR_IO, "cannot map '%s': %s", path, strerror(errno));
		} else {
			f->bytes = map;
			f->size = (size_t)size;
			f->mapped = true;
		}
	}
	if (fd >= 0) close(fd);
	if (r == CV_OK) r = parse(f);
	if (r != CV_OK) {
		st_close(&f);
		return r;
	}
	*out = f;
	return CV_OK;
}

void st_close(struct st_file **file)
{
	struct st_file *f = *file;
	if (!f) return;
	if (f->mapped) munmap((void *)f->bytes, f->size);
	free(f->strings);
	free(f->path);
	free(f);
	*file = NULL;
}

/* ---- queries ---- */

const struct st_tensor *st_find(const struct st_file *file, const char *name)
{
	struct st_tensor key = {.name = name};
	return bsearch(&key, file->tensors, file->tensor_count, sizeof(key), tensor_name_cmp);
}

size_t st_tensor_count(const struct st_file *file) { return file->tensor_count; }

const struct st_tensor *st_tensor_at(const struct st_file *file, size_t index)
{
	return index < file->tensor_count ? &file->tensors[index] : NULL;
}

const char *st_metadata(const struct st_file *file, const char *key)
{
	struct st_meta k = {.key = key};
	const struct st_meta *m = bsearch(&k, file->meta, file->meta_count, sizeof(k), meta_key_cmp);
	return m ? m->value : NULL;
}

/* ---- conversions ---- */

float st_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
	float f;
	if (exp == 0) {
		/* zero or subnormal: mant * 2^-24 is exact in f32 */
		f = (float)mant * 0x1p-24f;
		return sign ? -f : f;
	}
	if (exp == 0x1f) bits = sign | 0x7f800000u | (mant << 13); /* inf, or NaN with its payload */
	else bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

float st_bf16_to_f32(uint16_t b)
{
	uint32_t bits = (uint32_t)b << 16;
	float f;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Rounds `value`, dropping its low `shift` bits, to nearest with ties to even. */
static uint32_t round_shift(uint32_t value, unsigned shift)
{
	uint32_t kept = value >> shift, rest = value & ((1u << shift) - 1), half = 1u << (shift - 1);
	return kept + (rest > half || (rest == half && (kept & 1)));
}

uint16_t st_f32_to_f16(float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof(x));
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u) return sign | 0x7e00 | ((ax >> 13) & 0x3ff); /* NaN stays a (quiet) NaN */
	if (ax >= 0x477ff000u) return sign | 0x7c00;                       /* >= 65520 rounds to infinity */
	if (ax >= 0x38800000u) return sign | (uint16_t)round_shift(ax - (112u << 23), 13); /* normal */
	if (ax < 0x33000000u) return sign;                                  /* below half of 2^-24: zero */
	/* Subnormal result: the full 24-bit significand scaled to units of 2^-24 (a carry gives 0x400, the
	 * smallest normal, which is also the right encoding). */
	uint32_t exp = ax >> 23;
	return sign | (uint16_t)round_shift((ax & 0x7fffffu) | 0x800000u, 126 - exp);
}

static enum cv_result check_convert(const struct st_tensor *t, size_t dst_count, const char *to)
{
	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "tensor '%s' is %s; only F32, F16 and BF16 convert to %s", t->name,
		               st_dtype_name(t->dtype), to);
	if (dst_count < t->count)
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "tensor '%s' has %llu elements, the destination holds %zu",
		               t->name, (unsigned long long)t->count, dst_count);
	return CV_OK;
}

enum cv_result st_tensor_to_f32(const struct st_tensor *t, float *dst, size_t dst_count)
{
	CV_TRY(check_convert(t, dst_count, "f32"));
	const uint8_t *src = t->data;
	if (t->dtype == ST_F32) {
		if (t->size) memcpy(dst, src, t->size);
		return CV_OK;
	}
	for (size_t i = 0; i < t->count; i++) {
		uint16_t v;
		memcpy(&v, src + 2 * i, sizeof(v));
		dst[i] = t->dtype == ST_F16 ? st_f16_to_f32(v) : st_bf16_to_f32(v);
	}
	return CV_OK;
}

enum cv_result st_read_f32(const struct st_file *file, const char *name, float **out, size_t *count)
{
	*out = NULL;
	const struct st_tensor *t = st_find(file, name);
	if (!t) return CV_FAIL(CV_ERROR_FORMAT, "%s: no tensor '%s'", st_path(file), name);
	float *v = malloc(t->count * sizeof(float) + 1);
	if (!v) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: tensor '%s'", st_path(file), name);
	enum cv_result r = st_tensor_to_f32(t, v, t->count);
	if (r != CV_OK) {
		free(v);
		return r;
	}
	if (count) *count = t->count;
	*out = v;
	return CV_OK;
}

enum cv_result st_tensor_to_f16(const struct st_tensor *t, uint16_t *dst, size_t dst_count)
{
	CV_TRY(check_convert(t, dst_count, "f16"));
	const uint8_t *src = t->data;
	if (t->dtype == ST_F16) {
		if (t->size) memcpy(dst, src, t->size);
		return CV_OK;
	}
	for (size_t i = 0; i < t->count; i++) {
		float f;
		if (t->dtype == ST_F32) {
			memcpy(&f, src + 4 * i, sizeof(f));
		} else {
			uint16_t v;
			memcpy(&v, src + 2 * i, sizeof(v));
			f = st_bf16_to_f32(v); /* exact, so the only rounding is f32 -> f16 */
		}
		dst[i] = st_f32_to_f16(f);
	}
	return CV_OK;
}
