/* app: the frame loop shared by every presenter, and the `cavr` command built on it. */
#ifndef CAVR_APP_H
#define CAVR_APP_H

#include "app/present.h"
#include "render/render.h"

struct app_loop_desc {
	uint32_t frames;              /* stop after this many drawn frames; 0: until the presenter closes */
	float fixed_fps;              /* > 0: time advances 1/fixed_fps per frame (deterministic output); else wall clock */
	VkSampleCountFlagBits samples; /* 0: 4x when the device has it */
	float camera_angle_deg;       /* starting orbit angle of the test-scene camera */
	bool progress;                /* a progress bar on stderr */
	/* Called after each drawn frame (tests resize, minimise and capture from here); may be NULL. */
	void (*after_frame)(void *user, struct presenter *p, uint64_t frame);
	void *user;
};

/* Runs the test scene through a presenter: poll, advance the clock, render, present. */
enum cv_result app_run_testscene(struct gpu_context *ctx, struct presenter *p, const struct app_loop_desc *desc);

/* The largest sample count up to `wanted` that colour and depth attachments both support. */
VkSampleCountFlagBits app_pick_samples(struct gpu_context *ctx, VkSampleCountFlagBits wanted);

/* `cavr bench ARGS...` (ARGS after the word bench); returns the process exit code. */
int app_bench(int argc, char **argv);

/* `cavr ARGS...`; returns the process exit code. */
int app_main(int argc, char **argv);

#endif
