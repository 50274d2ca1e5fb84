/* gca: the Gaussian codec avatar decoder on the GPU (family `gca`, engine/avatar/cavatar-format.md).
 * The latent code goes through the dam family's compute ops (fully connected layers, transposed convolutions
 * with untied biases, from shaders/decode/) into two UV-space trunks of G x G texels: geometry (independent of
 * the view) and colour (conditioned on the view direction). One finishing pass turns each texel into a 3D
 * Gaussian: the template surface position at that texel plus the decoded offset, a normalised quaternion,
 * exp(log-scale), sigmoid(opacity) and sigmoid(colour).
 * struct gca_kernels holds the pipelines (once per GPU context, kernel parameters per device as for dam);
 * struct gca_model one file's weights (f16 by default) and its participant slots, decoded together.
 * The Gaussians stay on the GPU for the splat renderer (render/splat.h). */
#ifndef CAVR_GCA_H
#define CAVR_GCA_H

#include "avatar/cavatar.h"
#include "avatar/decoder.h"
#include "gpu/gpu.h"

/* One decoded Gaussian as the GPU stores it (std430, 64 bytes), in the avatar's head frame (metres). */
struct gca_gaussian {
	float position[3], opacity; /* opacity in 0..1 */
	float rotation[4];          /* unit quaternion w, x, y, z */
	float scale[3], pad0;       /* standard deviations along the rotated axes, metres */
	float colour[3], pad1;      /* sRGB-encoded colour in 0..1 */
};

struct gca_kernels;
/* `override` as for avatar_kernels_create (zero fields: the device's defaults). */
enum cv_result gca_kernels_create(struct gpu_context *ctx, const struct avatar_kernel_params *override,
                                  struct gca_kernels **out);
void gca_kernels_destroy(struct gpu_context *ctx, struct gca_kernels **kernels);

struct gca_model;
/* The desc is the dam decoder's: participants (0 means 1), f32_weights, name. */
enum cv_result gca_model_create(struct gpu_context *ctx, struct gca_kernels *kernels, const struct avatar_file *file,
                                const struct avatar_model_desc *desc, struct gca_model **out);
void gca_model_destroy(struct gpu_context *ctx, struct gca_model **model);
uint32_t gca_model_participants(const struct gca_model *model);
/* Gaussians per participant (G x G). */
uint32_t gca_model_gaussian_count(const struct gca_model *model);

/* A slot's expression code and unit view direction (head to camera, head frame), as avatar_model_set_input. */
enum cv_result gca_model_set_input(struct gca_model *model, uint32_t participant, const float *code,
                                   size_t code_floats, const float view[3]);

/* Records the decode of slots [0, count), ending with a barrier after which compute and vertex reads see the
 * Gaussians. With a timer (capacity >= gca_model_timer_marks), marks the stages. */
enum cv_result gca_model_record(struct gpu_context *ctx, struct gca_model *model, VkCommandBuffer cmd, uint32_t count,
                                struct gpu_timer *timer);
uint32_t gca_model_timer_marks(const struct gca_model *model);
const char *gca_model_stage_name(const struct gca_model *model, uint32_t mark);

struct gca_outputs {
	const struct gpu_buffer *gaussians; /* struct gca_gaussian[count] at offset */
	VkDeviceSize offset;
	uint32_t count;
};
void gca_model_outputs(const struct gca_model *model, uint32_t participant, struct gca_outputs *out);

/* Reads a decoded slot back (tests and tools): gca_model_gaussian_count Gaussians. */
enum cv_result gca_model_read(struct gpu_context *ctx, struct gca_model *model, uint32_t participant,
                              struct gca_gaussian *out);

void gca_model_memory(const struct gca_model *model, struct avatar_model_memory *out);

#endif
