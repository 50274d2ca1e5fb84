/* decoder: runs an avatar's neural decoder on the GPU with compute shaders.
 * struct avatar_kernels holds the compute pipelines, created once per GPU context with kernel parameters
 * (register blocking, workgroup shape) chosen for that device. struct avatar_model holds one avatar file's
 * weights on the GPU (once per file, f16 by default) and its participant slots: every slot decoded in one
 * avatar_model_record shares the same dispatches. Outputs stay on the GPU: a vertex buffer (positions in
 * metres, recomputed normals, uvs), an index buffer, and a mipmapped sRGB texture per participant.
 * This is the `dam` family's decoder; `gca` files (3D Gaussians) have theirs in avatar/gca.h. */
#ifndef CAVR_DECODER_H
#define CAVR_DECODER_H

#include "avatar/cavatar.h"
#include "gpu/gpu.h"

/* Kernel parameters; zero fields take the device's defaults. */
struct avatar_kernel_params {
	uint32_t convt_pixels;   /* output pixels per invocation along x (register blocking) */
	uint32_t convt_channels; /* output channels per invocation, a multiple of 4 */
	uint32_t convt_group_x, convt_group_y;
	uint32_t linear_group;
};

struct avatar_kernels;
enum cv_result avatar_kernels_create(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                                     struct avatar_kernels **out);
void avatar_kernels_destroy(struct gpu_context *ctx, struct avatar_kernels **kernels);
const struct avatar_kernel_params *avatar_kernels_params(const struct avatar_kernels *kernels);

struct avatar_model_desc {
	uint32_t participants; /* slots; 0 means 1 */
	bool f32_weights;      /* full-precision weights (verification); default f16 with f32 accumulation */
	const char *name;      /* for debug names; default: the avatar's name */
};

struct avatar_model;
enum cv_result avatar_model_create(struct gpu_context *ctx, struct avatar_kernels *kernels,
                                   const struct avatar_file *file, const struct avatar_model_desc *desc,
                                   struct avatar_model **out);
void avatar_model_destroy(struct gpu_context *ctx, struct avatar_model **model);
uint32_t avatar_model_participants(const struct avatar_model *model);

/* Sets a slot's expression code and the unit view direction (camera relative to the head, in the head's
 * frame; ignored by decoders that are not view conditioned). Takes effect at the next recorded decode. */
enum cv_result avatar_model_set_input(struct avatar_model *model, uint32_t participant, const float *code,
                                      size_t code_floats, const float view[3]);

/* Records the decode of slots [0, count) into `cmd`, ending with a barrier after which vertex, index and
 * texture reads see the results. With a timer (capacity >= avatar_model_timer_marks), marks the stages. */
enum cv_result avatar_model_record(struct gpu_context *ctx, struct avatar_model *model, VkCommandBuffer cmd,
                                   uint32_t count, struct gpu_timer *timer);
uint32_t avatar_model_timer_marks(const struct avatar_model *model);
/* Name of the stage that ends at timer mark `mark` (1-based), for benchmarks. */
const char *avatar_model_stage_name(const struct avatar_model *model, uint32_t mark);

struct avatar_outputs {
	const struct gpu_buffer *vertices; /* 32-byte vertices: xyz position + u, xyz normal + v */
	VkDeviceSize vertex_offset;
	uint32_t vertex_count;
	const struct gpu_buffer *indices; /* uint32 triangle list into the vertices above */
	uint32_t index_count;
	VkImage texture;
	VkImageView texture_view; /* sRGB, all mips, SHADER_READ_ONLY_OPTIMAL after a decode */
	uint32_t texture_size;
};
void avatar_model_outputs(const struct avatar_model *model, uint32_t participant, struct avatar_outputs *out);

/* Reads a decoded slot back (tests and tools; not for the frame loop): positions [V][3] in metres and the
 * de-normalised texture [T][T][3]; either may be NULL. */
enum cv_result avatar_model_read(struct gpu_context *ctx, struct avatar_model *model, uint32_t participant,
                                 float *positions, float *texture);

struct avatar_model_memory {
	uint64_t shared_bytes;          /* weights and topology, once per avatar file */
	uint64_t per_participant_bytes; /* activations, outputs and textures, per slot */
	uint64_t flops_per_decode;      /* multiply-adds x 2 of one participant's decode */
};
void avatar_model_memory(const struct avatar_model *model, struct avatar_model_memory *out);

#endif
