/* The `cavr` command line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "app/bench_codec.h"
#include "app/bench_render.h"
#include "app/bench_splat.h"
#include "app/commands.h"
#include "app/net_cli.h"
#include "app/rec_cli.h"
#include "meet/meet.h"

#define CAVR_VERSION "0.1.0"

static const char usage[] =
	"usage: cavr [COMMAND] [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  render      render the built-in test scene (the default command)\n"
	"  play [SESSION.cavrec]\n"
	"              play a recorded meeting (default: the shipped demo meeting) in a window, headless to PNG\n"
	"              files or an MP4 (--output NAME.mp4, needs ffmpeg), or in a headset (--xr)\n"
	"  view AVATAR decode an avatar file on the GPU every frame and show it from an orbiting camera\n"
	"  devices     list Vulkan devices and whether cavr can use them\n"
	"  bench decode [--avatar FILE] [--participants 1,2,4,16] [--repeat N] [--f32] [--no-pytorch]\n"
	"              GPU decode time, memory and GFLOP/s, beside PyTorch's CPU time for the same decode\n"
	"  bench codec [--avatar FILE] [--seconds N] [--samples N] [--quality Q1,Q2,...] [--noise F]\n"
	"              the stream codec's bits per frame against decoded texture PSNR and vertex error\n"
	"  join --meeting NAME --secret-file F --listen ADDR:PORT [--peer ADDR:PORT...] [--record OUT.cavrec]\n"
	"              receive a live meeting and show it (window, headless, --xr; --no-render for statistics only)\n"
	"  send --meeting NAME --secret-file F --peer ADDR:PORT... (SESSION.cavrec | --perf FILE.cavperf)\n"
	"              stream a recorded meeting's participants (or a performance) live, at the real rate\n"
	"  bench net [--seconds N] [--latent Z] [--jitter 0,20,50] [--participants 8,32]\n"
	"              network latency against jitter, receiver CPU per participant\n"
	"  bench splat [--sizes 64k,256k,1M] [--size WxH] [--repeat N]\n"
	"              Gaussian avatars: decode and splat GPU time by Gaussian count, mono and stereo\n"
	"  bench render [--participants 1,4,8] [--frames N] [--mono | --stereo]\n"
	"              frame time of the demo meeting at 1920x1080 and 2x(1832x1920), GPU decode and draw time\n"
	"  rec inspect|cut|merge|bench ...\n"
	"              recorded sessions (.cavrec); 'cavr rec --help' lists them\n"
	"\n"
	"options:\n"
	"  --window            show a window (the default when a display is available)\n"
	"  --xr                show it in a headset through the active OpenXR runtime\n"
	"  --headless          render offscreen and write PNG files (the default without a display)\n"
	"  --frames N          stop after N frames (headless default 30, play: the whole recording; window:\n"
	"                      until closed)\n"
	"  --size WxH          output size (headless default 640x360, window default 1280x720)\n"
	"  --output PATTERN    headless PNG path, with %%u for the frame number (default cavr-output/frame_%%04u.png),\n"
	"                      or a .mp4 file\n"
	"  --fps F             headless frame rate for the scene clock (default 30)\n"
	"  --samples N         multisampling 1, 2, 4 or 8 (default 4)\n"
	"  --no-vsync          present without waiting for vertical blank (window; V toggles it)\n"
	"  --stereo            headless: render a stereo pair (64 mm apart), saved side by side\n"
	"  --device NAME       use the Vulkan device whose name contains NAME (also $CAVR_DEVICE)\n"
	"  --start S           play: start S seconds into the recording\n"
	"  --speed X           play: playback speed (default 1)\n"
	"  --loop              play: start again at the end (window default)\n"
	"  --overlay, --no-overlay\n"
	"                      play: frame time, decode time, bitrate and loss on screen (default: window only)\n"
	"  --seed N            view: which random expressions the avatar shows (default 1)\n"
	"  --still             view: hold the first expression\n"
	"  --validation        enable the Vulkan validation layer (also $CAVR_VALIDATION=1)\n"
	"  -v, --verbose       debug logging (also $CAVR_LOG=debug)\n"
	"  -h, --help          this text\n"
	"  --version           print the version\n";

struct cli {
	const char *command, *input;
	bool window, headless, vsync, validation, still, stereo, xr, loop;
	int overlay; /* -1: default */
	double start, speed;
	uint32_t frames, width, height, samples, seed;
	float fps;
	const char *output, *device;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Returns -1 to go on, else the exit code. The table (commands.c) checks every value; the rules between options
 * are here. */
static int parse(int argc, char **argv, struct cli *c)
{
	*c = (struct cli){.command = "render", .vsync = true, .fps = 30.0f, .samples = 4, .seed = 1, .overlay = -1,
	                  .speed = 1.0};
	struct args a;
	int code = args_parse(&cmd_main_spec, argc - 1, argv + 1, &a);
	if (a.help) fputs(usage, stdout);
	if (code >= 0) return code;
	if (args_flag(&a, "--version")) {
		printf("cavr %s\n", CAVR_VERSION);
		return 0;
	}
	/* COMMAND [FILE]: the first word is the command when it is one the main table serves. */
	if (a.positional_count) c->command = a.positional[0];
	if (a.positional_count > 1) c->input = a.positional[1];
	c->window = args_flag(&a, "--window");
	c->headless = args_flag(&a, "--headless");
	c->xr = args_flag(&a, "--xr");
	c->vsync = !args_flag(&a, "--no-vsync");
	c->validation = args_flag(&a, "--validation");
	c->still = args_flag(&a, "--still");
	c->stereo = args_flag(&a, "--stereo");
	c->loop = args_flag(&a, "--loop");
	if (args_flag(&a, "--overlay") && args_flag(&a, "--no-overlay"))
		return args_error(&cmd_main_spec, "--overlay and --no-overlay exclude each other");
	c->overlay = args_flag(&a, "--overlay") ? 1 : args_flag(&a, "--no-overlay") ? 0 : -1;
	if (args_flag(&a, "--verbose")) cv_log_set_level(CV_LOG_DEBUG);
	c->start = args_number(&a, "--start", 0);
	c->speed = args_number(&a, "--speed", 1);
	c->frames = (uint32_t)args_number(&a, "--frames", 0);
	c->fps = (float)args_number(&a, "--fps", 30);
	c->samples = (uint32_t)args_number(&a, "--samples", 4);
	c->seed = (uint32_t)args_number(&a, "--seed", 1);
	const struct args_value *size = args_get(&a, "--size");
	if (size) c->width = size->width, c->height = size->height;
	c->output = args_text(&a, "--output", NULL);
	c->device = args_text(&a, "--device", NULL);
	if (c->samples & (c->samples - 1))
		return args_error(&cmd_main_spec, "--samples needs 1, 2, 4 or 8, not '%u'", c->samples);
	if ((c->window && c->headless) || (c->xr && (c->window || c->headless || c->stereo)))
		return args_error(&cmd_main_spec, "--window, --headless (or --stereo) and --xr exclude each other");
	if (c->stereo && c->window) return args_error(&cmd_main_spec, "--stereo renders headless (a window shows one view)");
	if (c->stereo) c->headless = true;
	if (!strcmp(c->command, "view") && !c->input)
		return args_error(&cmd_main_spec, "view needs an avatar file: cavr view FILE.cavatar");
	if (strcmp(c->command, "view") && strcmp(c->command, "play") && c->input)
		return args_error(&cmd_main_spec, "unexpected argument '%s'", c->input);
	return -1;
}

/* Makes the directory part of a path, one level (the default output folder). */
static enum cv_result make_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path) return CV_OK;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return CV_FAIL(CV_ERROR_IO, "cannot create folder '%s': %s", dir, strerror(errno));
	return CV_OK;
}

/* The recorded meeting `cavr play` shows; *frames: headless frames to the end of the recording. */
static enum cv_result create_meeting(const struct cli *c, bool window, struct app_scene **scene, uint32_t *frames)
{
	char demo[4096];
	snprintf(demo, sizeof(demo), "%s/assets/sessions/demo-meeting.cavrec", CAVR_SOURCE_DIR);
	const char *path = c->input ? c->input : demo;
	struct meet_feed *feed = NULL;
	CV_TRY(meet_playback_create(path, NULL, &feed));
	double duration = feed->duration_s, remaining = duration - c->start;
	if (remaining <= 0) {
		meet_feed_destroy(&feed);
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "--start %.2f is past the end of %s (%.2f s)", c->start, path, duration);
	}
	/* Headless output renders to the end: a count beyond --frames' bound is refused, not wrapped to 32 bits. */
	double whole = ceil(remaining / c->speed * c->fps);
	if (!c->frames && !window && !c->xr && !(whole <= CLI_MAX_FRAMES)) {
		meet_feed_destroy(&feed);
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "%s lasts %.0f s: %.3g frames at %g fps is more than %u; give --frames",
		               path, remaining, whole, (double)c->fps, CLI_MAX_FRAMES);
	}
	*frames = whole <= CLI_MAX_FRAMES ? (uint32_t)whole : CLI_MAX_FRAMES;
	struct app_meeting_options o = {
		.overlay = c->overlay < 0 ? window : c->overlay == 1,
		.loop = c->loop || (window && !c->frames),
		.start_s = c->start,
		.speed = c->speed,
		.decode_budget = window || c->xr ? 4 : 0, /* headless output must not depend on timing */
	};
	CV_INFO("cavr: playing %s (%u participants, %.1f s) from %.1f s", path, feed->count, feed->duration_s, c->start);
	return app_meeting_scene_create(feed, &o, scene);
}

static enum cv_result create_scene(const struct cli *c, bool window, struct app_scene **scene, uint32_t *frames)
{
	if (!strcmp(c->command, "play")) return create_meeting(c, window, scene, frames);
	if (!strcmp(c->command, "view")) return app_avatar_scene_create(c->input, c->seed, !c->still, scene);
	return app_testscene_create(0.0f, scene);
}

/* Shows the command's scene in a headset, in a window, or renders it to PNG files when there is no display. */
static void count_frames(void *user, struct presenter *p, uint64_t frame)
{
	(void)p;
	*(uint64_t *)user = frame;
}

/* One run of the command's scene on one presenter; *lost: the presenter's device or runtime went away. */
static enum cv_result run_once(const struct cli *c, const struct app_hooks *hooks, bool *lost, double *meeting_time,
                               uint64_t *drawn)
{
	const char *display = getenv("DISPLAY");
	bool window = !c->xr && (c->window || (!c->headless && display && display[0]));
	if (c->xr && !(hooks && hooks->xr_create)) return CV_FAIL(CV_ERROR_UNSUPPORTED, "this cavr was built without OpenXR");
	struct gpu_context_desc gd = {.device_name = c->device, .validation = c->validation, .present = window};
	if (window) {
		CV_TRY(window_system_init());
		gd.instance_extensions = window_instance_extensions(&gd.instance_extension_count);
	}
	struct gpu_context *ctx = NULL;
	struct presenter *p = NULL;
	struct app_scene *scene = NULL;
	const uint32_t messages_before = gpu_validation_messages_total();
	const char *output = c->output ? c->output : "cavr-output/frame_%04u.png";
	uint32_t whole = 30; /* headless frames by default */
	bool video = ends_with(output, ".mp4");
	enum cv_result r = create_scene(c, window, &scene, &whole);
	if (r == CV_OK && c->xr) r = hooks->xr_create(c->validation, &ctx, &p);
	else if (r == CV_OK) r = gpu_context_create(&gd, &ctx);
	if (r == CV_OK) {
		CV_INFO("cavr: %s on %s", c->xr ? "OpenXR" : window ? "window" : "headless", ctx->properties.deviceName);
		if (c->xr) {
			/* the presenter is ready */
		} else if (window)
			r = window_create(ctx, &(struct window_desc){.width = c->width, .height = c->height, .title = "cavr",
			                                             .vsync = c->vsync}, &p);
		else {
			r = make_parent_dir(output);
			if (r == CV_OK)
				r = offscreen_create(ctx, &(struct offscreen_desc){.width = c->width ? c->width : 640,
				                                                   .height = c->height ? c->height : 360,
				                                                   .view_count = c->stereo ? 2 : 1,
				                                                   .png_pattern = video ? NULL : output,
				                                                   .video_path = video ? output : NULL,
				                                                   .fps = c->fps}, &p);
		}
	}
	if (r == CV_OK) {
		struct app_loop_desc ld = {
			.frames = c->frames ? c->frames : (window || c->xr ? 0 : whole),
			.fixed_fps = window || c->xr ? 0.0f : c->fps,
			.samples = (VkSampleCountFlagBits)c->samples,
			.progress = !window && !c->xr,
			.after_frame = count_frames,
			.user = drawn,
		};
		r = app_run(ctx, p, scene, &ld);
		if (r == CV_OK && !window && !c->xr) r = offscreen_finish(p);
		if (r == CV_OK && !window && !c->xr) CV_INFO("cavr: wrote %u frames to %s", ld.frames, output);
	}
	*lost = r == CV_OK && p && p->lost && p->lost(p);
	if (scene && !strcmp(c->command, "play")) *meeting_time = app_meeting_time(scene);
	app_scene_destroy(&scene, ctx);
	presenter_destroy(&p);
	if (c->xr) ctx = NULL; /* the OpenXR presenter owned it */
	gpu_context_destroy(&ctx);
	if (window) window_system_fini();
	uint32_t validation_messages = gpu_validation_messages_total() - messages_before;
	if (r == CV_OK && validation_messages)
		return CV_FAIL(CV_ERROR_GPU, "%u Vulkan validation messages (see above)", validation_messages);
	return r;
}

/* Shows the scene; when a headset's runtime goes away (instance loss) everything is made again, up to 3 times,
 * and a meeting goes on from where it was. */
static enum cv_result run_scene(const struct cli *c, const struct app_hooks *hooks)
{
	struct cli again = *c;
	for (int attempt = 0;; attempt++) {
		bool lost = false;
		double meeting_time = again.start;
		uint64_t drawn = 0;
		enum cv_result r = run_once(&again, hooks, &lost, &meeting_time, &drawn);
		if (r != CV_OK || !lost) return r;
		if (attempt == 3) return CV_FAIL(CV_ERROR_UNSUPPORTED, "the OpenXR runtime went away 4 times; giving up");
		CV_WARN("the OpenXR runtime went away; starting again (%d of 3)", attempt + 1);
		again.start = meeting_time;
		if (again.frames) again.frames = drawn < again.frames ? again.frames - (uint32_t)drawn : 1;
		struct timespec pause = {1, 0};
		nanosleep(&pause, NULL);
	}
}

int app_main(int argc, char **argv, const struct app_hooks *hooks)
{
	if (argc > 2 && !strcmp(argv[1], "bench") && !strcmp(argv[2], "codec")) return app_bench_codec(argc - 3, argv + 3);
	if (argc > 2 && !strcmp(argv[1], "bench") && !strcmp(argv[2], "render")) return app_bench_render(argc - 3, argv + 3);
	if (argc > 2 && !strcmp(argv[1], "bench") && !strcmp(argv[2], "net")) return app_bench_net(argc - 3, argv + 3);
	if (argc > 2 && !strcmp(argv[1], "bench") && !strcmp(argv[2], "splat")) return app_bench_splat(argc - 3, argv + 3);
	if (argc > 1 && !strcmp(argv[1], "send")) return app_send(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "join")) return app_join_hooks(argc - 2, argv + 2, hooks);
	if (argc > 1 && !strcmp(argv[1], "bench")) return app_bench(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "rec")) return app_rec(argc - 2, argv + 2);
	struct cli c;
	int code = parse(argc, argv, &c);
	if (code >= 0) return code;
	enum cv_result r;
	if (!strcmp(c.command, "render") || !strcmp(c.command, "view") || !strcmp(c.command, "play")) r = run_scene(&c, hooks);
	else if (!strcmp(c.command, "devices")) r = gpu_list_devices();
	else return args_error(&cmd_main_spec, "unknown command '%s'", c.command);
	return r == CV_OK ? 0 : 1;
}
