/* app: the frame loop shared by every presenter, and the `cavr` command built on it. */
#ifndef CAVR_APP_H
#define CAVR_APP_H

#include "app/present.h"
#include "render/render.h"

/* What the frame loop shows. A scene records its GPU work (decodes) before the rendering pass and draws into it;
 * its pipelines follow the presenter's format and sample count, which can change (a new swapchain). */
struct app_scene {
	enum cv_result (*prepare)(struct app_scene *s, struct gpu_context *ctx, const struct render_target_desc *target);
	/* The scene's own camera (the centre of a stereo pair); a headset's presenter supplies its eyes instead. */
	void (*camera)(struct app_scene *s, float time_s, float aspect, struct render_view *out);
	/* Work outside the rendering pass, e.g. decoding avatars for these views; may be NULL. */
	enum cv_result (*update)(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
	                         const struct render_views *views, float time_s);
	/* Draws every view at once; `views` is the uniform buffer pipelines bind at binding 0. */
	void (*draw)(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd, const struct gpu_buffer *views,
	             float time_s);
	/* Where a headset's tracking space sits in the scene (floor level: STAGE, else LOCAL at head height); may be
	 * NULL: the tracking space is the scene's world. */
	void (*stage)(struct app_scene *s, bool floor_level, mat4 world_from_stage);
	/* A headset user's hands and pointers this frame (before update), in the tracking space; may be NULL. */
	void (*user)(struct app_scene *s, const struct present_user *user);
	/* Input from the presenter (keys, mouse, gestures); may be NULL. */
	void (*input)(struct app_scene *s, const struct meeting_input *input);
	/* After every view is drawn, outside the rendering pass (timestamps); may be NULL. */
	void (*finish)(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd);
	void (*destroy)(struct app_scene *s, struct gpu_context *ctx);
	float clear_color[4]; /* linear */
};

static inline void app_scene_destroy(struct app_scene **s, struct gpu_context *ctx)
{
	if (*s) (*s)->destroy(*s, ctx);
	*s = NULL;
}

/* The built-in test scene, seen from a camera orbiting from `camera_angle_deg` at 10 degrees per second. */
enum cv_result app_testscene_create(float camera_angle_deg, struct app_scene **out);

/* One avatar file decoded every frame for an orbiting camera; its expression drifts between random codes
 * (drawn from the file's code statistics) unless `animate` is false. */
enum cv_result app_avatar_scene_create(const char *path, uint32_t seed, bool animate, struct app_scene **out);

#include "app/meeting.h"

struct app_loop_desc {
	uint32_t frames;              /* stop after this many drawn frames; 0: until the presenter closes */
	float fixed_fps;              /* > 0: time advances 1/fixed_fps per frame (deterministic output); else wall clock */
	VkSampleCountFlagBits samples; /* 0: 4x when the device has it */
	float ipd;                    /* metres between the eyes of a stereo pair without a headset; 0: 0.064 */
	bool progress;                /* a progress bar on stderr */
	/* Called after each drawn frame (tests resize, minimise and capture from here); may be NULL. */
	void (*after_frame)(void *user, struct presenter *p, uint64_t frame);
	void *user;
};

/* The frame loop, the same for every presenter: poll, advance the clock, update, render, present. */
enum cv_result app_run(struct gpu_context *ctx, struct presenter *p, struct app_scene *scene,
                       const struct app_loop_desc *desc);

/* The largest sample count up to `wanted` that colour and depth attachments both support. */
VkSampleCountFlagBits app_pick_samples(struct gpu_context *ctx, VkSampleCountFlagBits wanted);

/* `cavr bench ARGS...` (ARGS after the word bench); returns the process exit code. */
int app_bench(int argc, char **argv);
/* The full-size random avatar benchmarks use (cavr-bench/full-dam.cavatar), made with tools/dam_reference.py once. */
enum cv_result app_bench_default_avatar(char *path, size_t size);

/* Presenters that live outside the engine (the OpenXR one, in xr/), handed in by the executable so the engine
 * never depends on them. A presenter made here owns the gpu_context it returns. */
struct app_hooks {
	enum cv_result (*xr_create)(bool validation, struct gpu_context **ctx, struct presenter **out);
};

/* `cavr ARGS...`; returns the process exit code. */
int app_main(int argc, char **argv, const struct app_hooks *hooks);

#endif
