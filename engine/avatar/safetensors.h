/* safetensors: a reader for the container every .cavatar file (and every reference-output file) uses.
 * The input is untrusted: st_open and st_open_memory check the header length, the JSON, every dtype, shape
 * and offset against the file before returning, so a struct st_tensor that comes back is always in bounds.
 * A libFuzzer entry point lives in tests/fuzz/fuzz_cavatar.c.
 * Ownership: st_open maps the file read-only and owns the mapping; st_open_memory borrows the caller's
 * buffer, which must outlive the st_file. Tensor names, shapes and metadata strings belong to the st_file.
 * Tensor data sits at whatever offset the file chose, so it may be unaligned: copy it (memcpy or the
 * st_tensor_to_* helpers), never cast st_tensor.data to float *. */
#ifndef CAVR_SAFETENSORS_H
#define CAVR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define ST_MAX_RANK 8
#define ST_MAX_HEADER_SIZE (100u * 1024u * 1024u) /* the reference implementation's cap */

/* The dtypes cavr reads: every whole-byte safetensors type except the fp8 ones. */
enum st_dtype {
	ST_BOOL,
	ST_U8,
	ST_I8,
	ST_I16,
	ST_U16,
	ST_F16,
	ST_BF16,
	ST_I32,
	ST_U32,
	ST_F32,
	ST_I64,
	ST_U64,
	ST_F64,
};

struct st_tensor {
	const char *name;
	enum st_dtype dtype;
	uint32_t rank;
	uint64_t shape[ST_MAX_RANK];
	uint64_t count;   /* elements: the product of shape (1 for rank 0) */
	const void *data; /* possibly unaligned, little-endian */
	size_t size;      /* bytes: count * st_dtype_size(dtype) */
};

struct st_file;

/* Maps `path` read-only and parses it; errors name the file and, where one is at fault, the tensor. */
enum cv_result st_open(const char *path, struct st_file **out);
/* Parses `size` bytes the caller keeps alive until st_close; nothing is copied. */
enum cv_result st_open_memory(const void *data, size_t size, struct st_file **out);
void st_close(struct st_file **file);

/* The path given to st_open, or "<memory>". */
const char *st_path(const struct st_file *file);

/* Tensors are kept sorted by name; NULL when there is no tensor of that name. */
const struct st_tensor *st_find(const struct st_file *file, const char *name);
size_t st_tensor_count(const struct st_file *file);
const struct st_tensor *st_tensor_at(const struct st_file *file, size_t index);

/* A `__metadata__` value, or NULL when the key is absent. */
const char *st_metadata(const struct st_file *file, const char *key);

size_t st_dtype_size(enum st_dtype dtype);
const char *st_dtype_name(enum st_dtype dtype);

/* Converts a F32, F16 or BF16 tensor; dst must hold at least tensor->count values.
 * Other dtypes give CV_ERROR_UNSUPPORTED, a short dst CV_ERROR_INVALID_ARGUMENT. */
enum cv_result st_tensor_to_f32(const struct st_tensor *tensor, float *dst, size_t dst_count);
/* A whole F32, F16 or BF16 tensor of the file as f32, in memory the caller frees; *count (may be NULL) gets its
 * element count. A missing tensor is CV_ERROR_FORMAT; on any failure *out is NULL. */
enum cv_result st_read_f32(const struct st_file *file, const char *name, float **out, size_t *count);
/* The same to IEEE binary16 bits, rounding to nearest even (overflow gives infinity). */
enum cv_result st_tensor_to_f16(const struct st_tensor *tensor, uint16_t *dst, size_t dst_count);

/* Scalar conversions, exact where the target can represent the value; NaN stays NaN. */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);
uint16_t st_f32_to_f16(float f);

#endif
