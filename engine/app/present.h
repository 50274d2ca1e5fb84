/* present: where frames go. A presenter hands out one image per frame to render into and shows, saves or
 * submits it afterwards; the frame loop (app_run) is the same for every presenter.
 * Presenters here: a GLFW window with a Vulkan swapchain, and an offscreen image read back to PNG files.
 * The OpenXR presenter (xr/) implements the same interface. */
#ifndef CAVR_PRESENT_H
#define CAVR_PRESENT_H

#include "app/meeting.h"
#include "codec/codec.h"
#include "core/image.h"
#include "hand/gesture.h"
#include "gpu/gpu.h"
#include "render/render.h"

/* A headset user's hand this frame, in the views' tracking space: tracked joints and the gestures read from
 * them, or, where the hand is not tracked, a controller (its select button reads as a pinch). */
struct present_hand {
	struct codec_hand joints;      /* joints.tracked false: no tracked hand */
	struct hand_gestures gestures;
	bool controller;               /* the gestures and pointer come from a controller */
	bool has_pointer;
	float pointer_origin[3], pointer_dir[3]; /* a ray for pointing at things (unit direction) */
};
struct present_user {
	struct present_hand hands[2]; /* enum codec_hand_side */
};

struct present_frame {
	VkCommandBuffer cmd;  /* recording; submitted by end_frame */
	VkImage image;        /* in COLOR_ATTACHMENT_OPTIMAL when begin_frame returns; one layer per view, and
	                         transfer-dst usage when there are two (eye-by-eye drawing copies into layers) */
	VkImageView view;
	VkExtent2D extent;
	VkFormat format;
	uint32_t view_count;  /* 1, or 2 for a stereo pair */
	VkImageView layer_views[2]; /* one view of each layer, for drawing a stereo pair one eye at a time */
	/* Where the depth goes too (a headset's depth swapchain, D32_SFLOAT, DEPTH_STENCIL_ATTACHMENT_OPTIMAL), or
	 * VK_NULL_HANDLE: an array view of all views' layers, and one view per layer. */
	VkImageView depth_view, depth_layer_views[2];
	const struct render_views *views; /* the eyes' views from the presenter (a headset), or NULL: the scene's camera */
	bool views_floor_level; /* the views' space has its origin on the floor (OpenXR STAGE), else at head height */
	const struct present_user *user;  /* a headset user's hands, or NULL */
	double display_time_s;  /* when the frame will be shown (a headset's prediction, seconds), or 0: now */
	uint64_t index;
	bool skip;            /* nothing to draw this time (window minimised): the loop skips the frame */
};

struct presenter {
	const char *name;
	enum cv_result (*begin_frame)(struct presenter *p, struct present_frame *frame);
	enum cv_result (*end_frame)(struct presenter *p, struct present_frame *frame);
	bool (*should_close)(struct presenter *p);
	/* After it closed: whether its device or runtime went away (a new presenter may work); NULL: never. */
	bool (*lost)(struct presenter *p);
	/* Keys, mouse or gestures since the last call, as scene actions; NULL: the presenter has no input. */
	uint32_t (*poll_input)(struct presenter *p, struct meeting_input *out, uint32_t max);
	void (*destroy)(struct presenter *p);
};

static inline void presenter_destroy(struct presenter **p)
{
	if (*p) (*p)->destroy(*p);
	*p = NULL;
}

/* ---- window (GLFW, X11) ---- */
struct window_desc {
	uint32_t width, height; /* 0: 1280 x 720 */
	const char *title;
	bool vsync;             /* FIFO when true; MAILBOX or IMMEDIATE when false */
	bool hidden;
};

/* GLFW must be initialised before the GPU context, since the context needs the window's instance extensions. */
enum cv_result window_system_init(void);
void window_system_fini(void);
/* The instance extensions a window needs, to pass in gpu_context_desc. */
const char *const *window_instance_extensions(uint32_t *count);
enum cv_result window_create(struct gpu_context *ctx, const struct window_desc *desc, struct presenter **out);
/* Window-only controls, used by tests and key bindings. */
void window_set_vsync(struct presenter *p, bool vsync);
void window_set_size(struct presenter *p, uint32_t width, uint32_t height);
void window_iconify(struct presenter *p, bool iconified);
/* Asks for the next presented frame to be read back into `out` (allocated by end_frame), for screenshots. */
void window_request_capture(struct presenter *p, struct cv_image *out);
uint32_t window_swapchain_generation(struct presenter *p); /* bumps each time the swapchain is recreated */

/* ---- offscreen ---- */
struct offscreen_desc {
	uint32_t width, height;  /* of each view */
	uint32_t view_count;     /* 0 or 1: mono; 2: a stereo pair, saved side by side (left | right) */
	const char *png_pattern; /* a path with at most one %u, %d, %0Nu (app_frame_path, app/args.h); NULL: no files */
	const char *video_path;  /* an MP4 encoded by ffmpeg (instead of PNG files); NULL: none */
	float fps;               /* of the video; 0: 30 */
};
enum cv_result offscreen_create(struct gpu_context *ctx, const struct offscreen_desc *desc, struct presenter **out);
/* Ends the video, if any, and reports whether ffmpeg wrote it. */
enum cv_result offscreen_finish(struct presenter *p);
/* The last rendered frame, views side by side (valid after end_frame). */
const struct cv_image *offscreen_image(struct presenter *p);

#endif
