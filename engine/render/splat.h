/* splat: draws 3D Gaussians (the gca decoder's output, struct gca_gaussian in avatar/gca.h) into the renderer's
 * pass, composed with the scene's depth.
 * Per frame, outside the pass, splat_cmd_prepare runs compute: every source's Gaussians to world space (its
 * pose), 3D covariance and linear colour once for all views, a depth key from one sort view (the centre eye of
 * a stereo pair), and a GPU radix sort of all sources together (so overlapping participants interleave
 * correctly). Inside the pass, splat_cmd_draw draws one quad per visible Gaussian, back to front with
 * premultiplied "over" blending, depth-tested against the scene without writing depth; each view projects its
 * own 2D covariance (EWA), so both eyes share one sort. Draw opaque geometry first, splats last.
 * The renderer owns its buffers; sources are borrowed for the duration of the frame. */
#ifndef CAVR_SPLAT_H
#define CAVR_SPLAT_H

#include "render/render.h"

#define SPLAT_MAX_SOURCES 16

struct splat_source {
	const struct gpu_buffer *gaussians; /* struct gca_gaussian (64 bytes each) */
	VkDeviceSize offset;                /* bytes, a multiple of 64 */
	uint32_t count;
	mat4 pose;                          /* head frame -> world */
};

struct splat_renderer;
/* `capacity`: Gaussians of all sources together in one frame. */
enum cv_result splat_renderer_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                     uint32_t capacity, struct splat_renderer **out);
void splat_renderer_destroy(struct gpu_context *ctx, struct splat_renderer **splat);

/* The view to sort a stereo pair from: between the eyes, looking along their mean direction (depth order is
 * the same for parallel eyes; for canted ones it splits the difference). One view: that view. */
void splat_sort_view(const struct render_views *views, struct render_view *out);

/* Compute before the pass (after the sources' decode): prepares and sorts all sources from `sort_view`. With a
 * timer (capacity >= 3, marks from `first_mark`), marks prepare and sort. */
enum cv_result splat_cmd_prepare(struct gpu_context *ctx, VkCommandBuffer cmd, struct splat_renderer *splat,
                                 const struct splat_source *sources, uint32_t count,
                                 const struct render_view *sort_view, struct gpu_timer *timer, uint32_t first_mark);
/* Inside the pass, after opaque geometry: `views` is the pass's view uniform buffer, `extent` its size. */
void splat_cmd_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct splat_renderer *splat,
                    const struct gpu_buffer *views, VkExtent2D extent);

/* Gaussians that passed culling in the last finished prepare (tests, benchmarks). */
enum cv_result splat_visible_count(struct gpu_context *ctx, struct splat_renderer *splat, uint32_t *out);

#endif
