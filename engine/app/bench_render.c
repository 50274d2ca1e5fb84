/* `cavr bench render`: the demo meeting through the real frame loop, offscreen, at headset and desktop sizes:
 * wall-clock frame time (mean, 99th percentile) and GPU time split into decoding and drawing. The display runs
 * at 60 Hz and the codes arrive at 30 Hz, so avatars are decoded every other frame, as when playing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/bench_render.h"
#include "app/commands.h"
#include "meet/meet.h"

#define WARMUP 3 /* frames before figures are kept: pipelines, first decodes, and the timers' lag */

struct render_sample {
	double frame_ms;
	float decode_ms, render_ms;
	uint32_t decodes;
};

struct render_run {
	struct app_scene *scene;
	struct render_sample *samples;
	uint32_t count, capacity;
	double last;
};

static void after_frame(void *user, struct presenter *p, uint64_t frame)
{
	(void)p;
	struct render_run *run = user;
	double now = cv_time_now();
	struct app_meeting_stats st;
	app_meeting_stats(run->scene, &st);
	if (frame > WARMUP && run->count < run->capacity)
		run->samples[run->count++] = (struct render_sample){(now - run->last) * 1e3, st.decode_ms, st.render_ms, st.decodes};
	run->last = now;
}

static int by_frame_ms(const void *a, const void *b)
{
	double x = ((const struct render_sample *)a)->frame_ms, y = ((const struct render_sample *)b)->frame_ms;
	return (x > y) - (x < y);
}

static enum cv_result run_config(struct gpu_context *ctx, const char *session, uint32_t participants, uint32_t views,
                                 uint32_t width, uint32_t height, uint32_t frames)
{
	struct meet_feed *feed = NULL;
	CV_TRY(meet_playback_create(session, &(struct meet_playback_desc){.participants = participants}, &feed));
	struct render_run run = {.capacity = frames, .samples = calloc(frames, sizeof(struct render_sample))};
	struct presenter *p = NULL;
	enum cv_result r = run.samples ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "samples");
	if (r == CV_OK) r = app_meeting_scene_create(feed, &(struct app_meeting_options){.start_s = 4.0}, &run.scene);
	else meet_feed_destroy(&feed);
	if (r == CV_OK) r = offscreen_create(ctx, &(struct offscreen_desc){.width = width, .height = height, .view_count = views}, &p);
	run.last = cv_time_now();
	if (r == CV_OK)
		r = app_run(ctx, p, run.scene, &(struct app_loop_desc){.frames = frames + WARMUP + 1, .fixed_fps = 60,
		                                                       .after_frame = after_frame, .user = &run});
	if (r == CV_OK && run.count) {
		double mean = 0, dec = 0, ren = 0, decodes = 0;
		for (uint32_t i = 0; i < run.count; i++) {
			mean += run.samples[i].frame_ms;
			dec += run.samples[i].decode_ms;
			ren += run.samples[i].render_ms;
			decodes += run.samples[i].decodes;
		}
		qsort(run.samples, run.count, sizeof(*run.samples), by_frame_ms);
		uint32_t p99 = (uint32_t)ceil(0.99 * run.count) - 1;
		printf("| %s %ux%u | %u | %u | %.1f | %.1f | %.1f | %.1f | %.2f |\n", views > 1 ? "stereo 2x" : "mono", width,
		       height, participants, run.count, mean / run.count, run.samples[p99].frame_ms, dec / run.count,
		       ren / run.count, decodes / run.count);
		fflush(stdout);
	}
	app_scene_destroy(&run.scene, ctx);
	presenter_destroy(&p);
	free(run.samples);
	return r;
}

int app_bench_render(int argc, char **argv)
{
	char demo[4096];
	snprintf(demo, sizeof(demo), "%s/assets/sessions/demo-meeting.cavrec", CAVR_SOURCE_DIR);
	struct args p;
	int code = args_parse(&cmd_bench_render_spec, argc, argv, &p);
	if (p.help)
		fprintf(stderr, "usage: cavr bench render [--participants 1,4,8] [--frames N] [--mono | --stereo] "
		                "[--session FILE.cavrec] [--device NAME]\n");
	if (code >= 0) return code;
	_Static_assert(RENDER_MAX_AVATARS == 16, "the --participants range in commands.c");
	bool mono = !args_flag(&p, "--stereo"), stereo = !args_flag(&p, "--mono");
	if (!mono && !stereo) return args_error(p.spec, "--mono and --stereo exclude each other");
	const char *session = args_text(&p, "--session", demo), *device = args_text(&p, "--device", NULL);
	uint32_t frames = (uint32_t)args_number(&p, "--frames", 20), counts[8] = {1, 4, 8}, count_n = 3;
	const struct args_value *v = args_get(&p, "--participants");
	if (v && v->list_count > 8) return args_error(p.spec, "--participants takes at most 8 counts");
	for (uint32_t i = 0; v && i < v->list_count; i++) counts[i] = (uint32_t)v->list[i];
	if (v) count_n = v->list_count;
	struct gpu_context *ctx = NULL;
	if (gpu_context_create(&(struct gpu_context_desc){.device_name = device}, &ctx) != CV_OK) return 1;
	printf("cavr bench render: %s, %s, 4x MSAA, 60 Hz display, 30 Hz codes, %u frames after %u warm-up\n\n",
	       ctx->properties.deviceName, session, frames, WARMUP);
	printf("| output | participants | frames | frame ms mean | frame ms p99 | GPU decode ms | GPU draw ms | decodes/frame |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	enum cv_result r = CV_OK;
	for (uint32_t c = 0; c < count_n && r == CV_OK; c++) {
		if (mono) r = run_config(ctx, session, counts[c], 1, 1920, 1080, frames);
		if (r == CV_OK && stereo) r = run_config(ctx, session, counts[c], 2, 1832, 1920, frames);
	}
	gpu_context_destroy(&ctx);
	return r == CV_OK ? 0 : 1;
}
