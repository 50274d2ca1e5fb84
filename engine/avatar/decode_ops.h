/* decode_ops: the layers both decoder families are made of (decoder.c for `dam`, gca.c for `gca`): fully
 * connected layers and transposed convolutions with untied biases, packed for shaders/decode/linear.comp and
 * convt.comp, with weights read through texel buffers (f16 by default, f32 for verification), and the kernel
 * parameters chosen per device. Internal to engine/avatar. */
#ifndef CAVR_DECODE_OPS_H
#define CAVR_DECODE_OPS_H

#include "avatar/cavatar.h"
#include "avatar/decoder.h"
#include "gpu/gpu.h"

#define DECODE_CB_VARIANTS 5 /* convt channel blocks of 16, 8, 4, 2 and 1 vec4 at most, halving down to 1 */
#define DECODE_MAX_PIXELS 8  /* convt pixels per invocation, at most */

/* The layer kernels of one GPU context. */
struct decode_ops {
	struct avatar_kernel_params params;
	struct gpu_pipeline linear;
	struct gpu_pipeline convt[DECODE_CB_VARIANTS][4]; /* [channel block variant][parity], made when first needed */
	uint32_t convt_cb4[DECODE_CB_VARIANTS], convt_pixels[DECODE_CB_VARIANTS];
};

/* The device's defaults, with `override`'s non-zero fields; CV_ERROR_INVALID_ARGUMENT when out of range. */
enum cv_result decode_ops_init(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                               struct decode_ops *ops);
void decode_ops_fini(struct gpu_context *ctx, struct decode_ops *ops);

/* A buffer read through a texel view: weights (f16 or f32) or f32 constants. */
struct texel_tensor {
	struct gpu_buffer buffer;
	VkBufferView view;
};

struct linear_layer {
	struct texel_tensor weights, bias;
	uint32_t in4, out;
	float slope;
};

struct convt_layer {
	struct texel_tensor weights, bias;
	uint32_t hin, win, cin4, cout4, variant;
	float slope;
};

/* Where a model's weights go: f16 or f32, and the byte and flop counts it reports. */
struct decode_upload {
	bool f16;
	struct avatar_model_memory *memory;
};

static inline uint32_t decode_div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

/* Uploads `count` floats as a texel buffer, converting to f16 when asked; adds the bytes to *bytes. */
enum cv_result decode_texel_upload(struct gpu_context *ctx, struct texel_tensor *t, const float *data, size_t count,
                                   bool f16, const char *name, uint64_t *bytes);
/* A scratch texel buffer of `vec4s` f32 texels, also writable as a storage buffer. */
enum cv_result decode_texel_scratch(struct gpu_context *ctx, struct texel_tensor *t, size_t vec4s, bool host,
                                    const char *name, uint64_t *bytes);
void decode_texel_fini(struct gpu_context *ctx, struct texel_tensor *t);

/* PREFIX.weight [out][in] packed as [out][in4] vec4 rows (zero padded) and PREFIX.bias as [out4] vec4. With
 * `hwc_side`, outputs are reordered from torch's CHW feature grid to the HWC layout the convolutions read. */
enum cv_result decode_linear_init(struct gpu_context *ctx, const struct decode_upload *up,
                                  const struct avatar_file *file, const char *prefix, uint32_t in, uint32_t out,
                                  float slope, uint32_t hwc_side, struct linear_layer *l);
void decode_linear_fini(struct gpu_context *ctx, struct linear_layer *l);

/* PREFIX.I.weight, a ConvTranspose2d [cin][cout][4][4], packed as [parity][ty][tx][cin][cout4] vec4; PREFIX.I.bias
 * plus PREFIX.I.untied_bias [cout][H][W] as [H][W][cout4] vec4 (the layouts of convt.comp). With `fold_mean`,
 * the output is de-normalised in the layer itself: out * fold_std + fold_mean[H][W][3]. */
enum cv_result decode_convt_init(struct gpu_context *ctx, const struct decode_ops *ops, const struct decode_upload *up,
                                 const struct avatar_file *file, const char *prefix, uint32_t i, uint32_t cin,
                                 uint32_t cout, uint32_t side_in, float slope, const float *fold_mean, float fold_std,
                                 struct convt_layer *l);
void decode_convt_fini(struct gpu_context *ctx, struct convt_layer *l);

/* Records a layer for `count` participants (the dispatch's z or y). */
void decode_record_linear(struct gpu_context *ctx, VkCommandBuffer cmd, const struct decode_ops *ops,
                          const struct linear_layer *l, VkBufferView in, uint32_t in_offset4, uint32_t in_stride4,
                          const struct gpu_buffer *out, uint32_t out_offset, uint32_t out_stride, uint32_t count);
enum cv_result decode_record_convt(struct gpu_context *ctx, VkCommandBuffer cmd, struct decode_ops *ops,
                                   const struct convt_layer *l, VkBufferView in, const struct gpu_buffer *out,
                                   uint32_t count);

#endif
