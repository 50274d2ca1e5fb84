/* render: draws scenes into views. A presenter (offscreen image, window swapchain, OpenXR swapchain) hands the
 * renderer an output image with one layer per view; the renderer owns its multisampled colour and depth
 * attachments and resolves into the output. One view is a window or a headless frame; two are a stereo pair
 * drawn in one pass with VK_KHR_multiview (shaders pick their view's matrices by gl_ViewIndex). */
#ifndef CAVR_RENDER_H
#define CAVR_RENDER_H

#include <cglm/cglm.h>

#include "gpu/gpu.h"

#define RENDER_MAX_VIEWS 2

/* Multisampled colour + depth for one output size, format and view count. */
struct render_attachments {
	struct gpu_image color; /* multisampled; unused when samples == 1 */
	struct gpu_image depth;
	struct gpu_image resolve; /* a one-layer resolve target, for drawing a stereo pair eye by eye (see loop.c) */
	VkExtent2D extent;
	VkFormat format;
	VkSampleCountFlagBits samples;
	uint32_t view_count; /* views drawn in one pass (multiview); a stereo pair drawn eye by eye reuses one */
};

enum cv_result render_attachments_init(struct gpu_context *ctx, struct render_attachments *a, VkExtent2D extent,
                                       VkFormat format, VkSampleCountFlagBits samples, uint32_t view_count,
                                       bool own_resolve);
void render_attachments_fini(struct gpu_context *ctx, struct render_attachments *a);

struct render_view {
	mat4 view;
	mat4 projection; /* Vulkan clip space: y down, depth 0..1 */
	vec3 eye;        /* world position of the camera */
};

struct render_views {
	uint32_t count; /* 1 or 2 */
	struct render_view view[RENDER_MAX_VIEWS];
	VkExtent2D extent; /* of each view's image, in pixels (set by the frame loop) */
};

/* A camera looking from `eye` at `target`; vertical field of view in degrees. */
void render_view_look_at(struct render_view *v, const vec3 eye, const vec3 target, float fov_y_deg, float aspect);
/* Two eyes `ipd` metres apart around a centre view, looking parallel (for stereo without a headset). */
void render_views_stereo(struct render_views *out, const struct render_view *centre, float ipd);

/* The per-frame view matrices as the shaders see them (uniform buffer, binding 0 of every scene pipeline). */
struct render_view_uniforms {
	mat4 view_proj[RENDER_MAX_VIEWS];
	vec4 eye[RENDER_MAX_VIEWS];
};
enum cv_result render_view_buffer_init(struct gpu_context *ctx, struct gpu_buffer *buf);
/* Writes the views into the buffer inside the command stream; call outside a rendering pass. */
void render_cmd_update_views(VkCommandBuffer cmd, struct gpu_buffer *buf, const struct render_views *views);

/* Layout changes of the renderer's own attachments at the start of a frame. */
void render_cmd_prepare(VkCommandBuffer cmd, struct render_attachments *a);
/* Begins dynamic rendering of the attachments' views, resolving into `output` (COLOR_ATTACHMENT_OPTIMAL; with
 * several views, an array view with one layer per view). */
void render_cmd_begin(VkCommandBuffer cmd, struct render_attachments *a, VkImageView output, const float clear_rgba[4]);
/* The same, also writing the depth into `depth_output` (D32_SFLOAT, DEPTH_STENCIL_ATTACHMENT_OPTIMAL, as many
 * layers as the pass has views): a headset's compositor reprojects with it. */
void render_cmd_begin_depth(VkCommandBuffer cmd, struct render_attachments *a, VkImageView output,
                            VkImageView depth_output, const float clear_rgba[4]);
void render_cmd_end(VkCommandBuffer cmd);
/* Copies the attachments' own resolve target into one layer of `image` (COLOR_ATTACHMENT_OPTIMAL). */
void render_cmd_copy_resolve(VkCommandBuffer cmd, struct render_attachments *a, VkImage image, uint32_t layer);

/* Pipelines of scenes share this description of the target. */
struct render_target_desc {
	VkFormat format;
	VkSampleCountFlagBits samples;
	uint32_t view_count; /* views drawn in one pass (multiview); a stereo pair drawn eye by eye reuses one */
};

/* The built-in test scene: a floor, two cubes and a sphere under a key light. */
struct render_testscene;
enum cv_result render_testscene_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                       struct render_testscene **out);
void render_testscene_destroy(struct gpu_context *ctx, struct render_testscene **scene);
/* Moves the objects to time `time_s`; call outside the rendering pass. */
void render_testscene_update(VkCommandBuffer cmd, struct render_testscene *scene, float time_s);
void render_testscene_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_testscene *scene,
                           const struct gpu_buffer *views);
/* The camera the test scene is shown with by default, orbiting by `angle_deg` around the scene. */
void render_testscene_camera(struct render_view *v, float angle_deg, float aspect);

/* Lit primitive shapes (the meeting room, seats, bodies): unit meshes placed per instance, lit by the room's
 * lights (shaders/render/lighting.glsl). The cube has half-size 0.5, the sphere radius 0.5, the cylinder radius
 * 0.5 and height 1 along y, all centred on the origin. */
#define RENDER_MAX_SHAPES 256
enum render_shape { RENDER_SHAPE_CUBE, RENDER_SHAPE_SPHERE, RENDER_SHAPE_CYLINDER, RENDER_SHAPE_COUNT };
enum render_material { RENDER_MATERIAL_PLAIN, RENDER_MATERIAL_FLOOR, RENDER_MATERIAL_WOOD, RENDER_MATERIAL_CLOTH,
                       RENDER_MATERIAL_WALL };
struct render_shape_instance { /* layout of shaders/render/shapes.glsl */
	mat4 model;
	vec4 color;    /* linear albedo; alpha: highlight strength 0..1 */
	vec4 material; /* x: enum render_material */
};
struct render_shapes;
enum cv_result render_shapes_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                    struct render_shapes **out);
void render_shapes_destroy(struct gpu_context *ctx, struct render_shapes **shapes);
/* This frame's shapes; call outside the rendering pass. */
void render_shapes_set(VkCommandBuffer cmd, struct render_shapes *shapes, const struct render_shape_instance *instances,
                       const enum render_shape *kinds, uint32_t count);
void render_shapes_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_shapes *shapes,
                        const struct gpu_buffer *views);

/* Skinned hands (the sample .cavhand meshes, engine/hand): per hand, 25 skin matrices from hand_skin_matrices
 * and the matrix from the hand's tracking space to the world; the skin tone comes from a decoded face texture. */
#define RENDER_MAX_HANDS 32
struct hand_mesh;
struct render_hand_instance {
	mat4 world;          /* tracking space (a seat frame, the user's stage) -> world */
	float skin[25][16];  /* hand_skin_matrices */
	uint32_t side;       /* 0 left, 1 right (enum codec_hand_side) */
	VkImageView face;    /* the owner's decoded face texture, for the skin tone; VK_NULL_HANDLE: a neutral tone */
};
struct render_hands;
/* meshes[0] is the left hand, meshes[1] the right. */
enum cv_result render_hands_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                   const struct hand_mesh *const meshes[2], struct render_hands **out);
void render_hands_destroy(struct gpu_context *ctx, struct render_hands **hands);
/* This frame's hands; call outside the rendering pass. */
void render_hands_set(VkCommandBuffer cmd, struct render_hands *hands, const struct render_hand_instance *list,
                      uint32_t count);
void render_hands_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_hands *hands,
                       const struct gpu_buffer *views);

/* Overlay text (frame time, decode times, playback state) in the font baked at build time (DejaVu Sans by
 * tools/bake_font.c). Layout is in overlay units: the screen is 720 units high and 720 * aspect wide, y down;
 * `size` 1 is 16 units per line's em. Clear, add, upload outside the pass, then draw last inside it. */
#define RENDER_MAX_GLYPHS 1024
struct render_text;
enum cv_result render_text_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                  struct render_text **out);
void render_text_destroy(struct gpu_context *ctx, struct render_text **text);
void render_text_clear(struct render_text *text, float aspect);
/* Adds a line with its top-left at (x, y); returns its width. Characters outside ASCII are skipped. */
float render_text_add(struct render_text *text, float x, float y, float size, const float rgba[4], const char *line);
float render_text_measure(const char *line, float size);
float render_text_line_height(float size);
/* A solid rectangle (a panel behind text), in the order added. */
void render_text_add_panel(struct render_text *text, float x0, float y0, float x1, float y1, const float rgba[4]);
void render_text_upload(VkCommandBuffer cmd, struct render_text *text);
void render_text_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_text *text);

/* Decoded avatars (struct avatar_outputs from avatar/decoder.h), drawn at head poses. */
#define RENDER_MAX_AVATARS 16
struct avatar_outputs;
struct render_avatar;
enum cv_result render_avatar_create(struct gpu_context *ctx, const struct render_target_desc *target,
                                    struct render_avatar **out);
void render_avatar_destroy(struct gpu_context *ctx, struct render_avatar **avatar);
/* Sets the head poses of this frame's avatars (index i for the i-th drawn); call outside the rendering pass. */
void render_avatar_set_poses(VkCommandBuffer cmd, struct render_avatar *avatar, const mat4 *poses, uint32_t count);
void render_avatar_draw(struct gpu_context *ctx, VkCommandBuffer cmd, struct render_avatar *avatar,
                        const struct gpu_buffer *views, uint32_t pose_index, const struct avatar_outputs *out);

#endif
