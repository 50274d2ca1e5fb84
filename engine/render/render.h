/* render: draws scenes into views. A presenter (offscreen image, window swapchain, later OpenXR) hands the
 * renderer an output image; the renderer owns its multisampled colour and depth attachments and resolves into
 * the output. Views carry their own matrices so one frame can be drawn for one or two eyes. */
#ifndef CAVR_RENDER_H
#define CAVR_RENDER_H

#include <cglm/cglm.h>

#include "gpu/gpu.h"

/* Multisampled colour + depth for one output size and format. */
struct render_attachments {
	struct gpu_image color; /* multisampled; unused when samples == 1 */
	struct gpu_image depth;
	VkExtent2D extent;
	VkFormat format;
	VkSampleCountFlagBits samples;
};

enum cv_result render_attachments_init(struct gpu_context *ctx, struct render_attachments *a, VkExtent2D extent,
                                       VkFormat format, VkSampleCountFlagBits samples);
void render_attachments_fini(struct gpu_context *ctx, struct render_attachments *a);

struct render_view {
	mat4 view;
	mat4 projection; /* Vulkan clip space: y down, depth 0..1 */
	vec3 eye;        /* world position of the camera */
};

/* A camera looking from `eye` at `target`; vertical field of view in degrees. */
void render_view_look_at(struct render_view *v, const vec3 eye, const vec3 target, float fov_y_deg, float aspect);

/* Begins dynamic rendering into the attachments, resolving into `output` (in COLOR_ATTACHMENT_OPTIMAL). */
void render_cmd_begin(VkCommandBuffer cmd, struct render_attachments *a, VkImageView output, const float clear_rgba[4]);
void render_cmd_end(VkCommandBuffer cmd);
/* Layout changes of the renderer's own attachments at the start of a frame. */
void render_cmd_prepare(VkCommandBuffer cmd, struct render_attachments *a);

/* The built-in test scene: a floor, a cube, a sphere and a pillar under a key light. */
struct render_testscene;
enum cv_result render_testscene_create(struct gpu_context *ctx, VkFormat format, VkSampleCountFlagBits samples,
                                       struct render_testscene **out);
void render_testscene_destroy(struct gpu_context *ctx, struct render_testscene **scene);
void render_testscene_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_testscene *scene,
                           const struct render_view *view, float time_s);
/* The camera the test scene is shown with by default, orbiting by `angle_deg` around the scene. */
void render_testscene_camera(struct render_view *v, float angle_deg, float aspect);

/* Decoded avatars (struct avatar_outputs from avatar/decoder.h), drawn at a head pose. */
struct avatar_outputs;
struct render_avatar;
enum cv_result render_avatar_create(struct gpu_context *ctx, VkFormat format, VkSampleCountFlagBits samples,
                                    struct render_avatar **out);
void render_avatar_destroy(struct gpu_context *ctx, struct render_avatar **avatar);
void render_avatar_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_avatar *avatar,
                        const struct render_view *view, const mat4 head_pose, const struct avatar_outputs *out);

#endif
