/* `cavr bench decode`: GPU decode time, memory and throughput of an avatar file, with PyTorch's CPU time for
 * the same decode measured in the same run as the baseline. Figures, never assertions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "app/commands.h"
#include "app/spawn.h"
#include "avatar/decoder.h"

struct bench_args {
	const char *avatar;  /* NULL: a full-size random model made by tools/dam_reference.py */
	uint32_t counts[8], count_n;
	uint32_t repeat;
	bool f32, pytorch;
	struct avatar_kernel_params params;
	const char *device;
};

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, uint32_t n)
{
	qsort(v, n, sizeof(double), compare_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The tools folder next to this binary's source tree, for the PyTorch reference. */
static const char *tool_path(void)
{
	const char *env = getenv("CAVR_TOOLS");
	return env ? env : CAVR_SOURCE_DIR "/tools/dam_reference.py";
}

enum cv_result app_bench_default_avatar(char *path, size_t size)
{
	const char *dir = "cavr-bench";
	snprintf(path, size, "%s/full-dam.cavatar", dir);
	struct stat st;
	if (stat(path, &st) == 0) return CV_OK;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) return CV_FAIL(CV_ERROR_IO, "cannot create '%s'", dir);
	char ref[4096];
	snprintf(ref, sizeof(ref), "%s/full-dam.ref.safetensors", dir);
	const char *const argv[] = {"/usr/bin/python3", tool_path(), "make", "--out", path, "--ref", ref, "--codes", "1",
	                            "--seed", "1", "--name", "full-dam", NULL};
	fprintf(stderr, "bench: making a full-size random avatar with PyTorch (%s)\n", path);
	struct app_child child;
	if (app_spawn(argv, 0, &child) != CV_OK || app_spawn_wait(&child) != 0)
		return CV_FAIL(CV_ERROR_IO, "could not run %s (needs python3-torch)", tool_path());
	return CV_OK;
}

/* PyTorch's CPU time per decode of `batch` participants, or NAN when it cannot run. */
static double pytorch_ms(const char *avatar, uint32_t batch)
{
	char batch_s[16], threads[16];
	snprintf(batch_s, sizeof(batch_s), "%u", batch);
	snprintf(threads, sizeof(threads), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	/* An argument vector, never a shell command line: the avatar's name may hold any character. */
	const char *const argv[] = {"/usr/bin/python3", tool_path(), "bench", "--avatar", avatar, "--batch", batch_s,
	                            "--threads", threads, "--repeat", "3", NULL};
	struct app_child child;
	if (app_spawn(argv, APP_SPAWN_STDOUT_PIPE | APP_SPAWN_QUIET, &child) != CV_OK) return NAN;
	FILE *p = fdopen(child.out, "r");
	double ms = NAN;
	if (p) {
		child.out = -1; /* the FILE owns it */
		char line[512];
		while (fgets(line, sizeof(line), p))
			if (!strncmp(line, "pytorch_cpu_decode_ms=", 22)) ms = atof(line + 22);
		fclose(p);
	}
	return app_spawn_wait(&child) == 0 ? ms : NAN;
}

static void random_code(float *code, uint32_t n, uint32_t seed)
{
	uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
	for (uint32_t i = 0; i < n; i++) {
		/* Box-Muller from a 64-bit LCG: deterministic normal codes */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		double u1 = ((s >> 11) + 1.0) / 9007199254740993.0;
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		double u2 = (s >> 11) / 9007199254740992.0;
		code[i] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
	}
}

struct timing {
	double gpu_ms, wall_ms;
};

static enum cv_result decode_once(struct gpu_context *ctx, struct avatar_model *m, uint32_t count,
                                  struct gpu_timer *total, struct gpu_timer *stages, struct timing *t)
{
	VkCommandBuffer cmd;
	CV_TRY(gpu_cmd_begin(ctx, &cmd));
	gpu_cmd_timer_reset(cmd, total);
	if (stages) gpu_cmd_timer_reset(cmd, stages);
	gpu_cmd_timer_mark(cmd, total, 0);
	enum cv_result r = avatar_model_record(ctx, m, cmd, count, stages);
	gpu_cmd_timer_mark(cmd, total, 1);
	double started = cv_time_now();
	if (r == CV_OK) r = gpu_cmd_submit_wait(ctx, cmd);
	else vkEndCommandBuffer(cmd);
	t->wall_ms = (cv_time_now() - started) * 1e3;
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, total, 0, 1, &t->gpu_ms);
	return r;
}

static enum cv_result set_inputs(struct avatar_model *m, uint32_t latent, uint32_t count, const float view[3])
{
	float *code = malloc(latent * sizeof(float));
	if (!code) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code");
	enum cv_result r = CV_OK;
	for (uint32_t i = 0; i < count && r == CV_OK; i++) {
		random_code(code, latent, i);
		r = avatar_model_set_input(m, i, code, latent, view);
	}
	free(code);
	return r;
}

static enum cv_result bench_count(struct gpu_context *ctx, struct avatar_kernels *k, const struct avatar_file *file,
                                  const struct bench_args *a, uint32_t count, double torch_ms, bool show_stages)
{
	struct avatar_model *m = NULL;
	CV_TRY(avatar_model_create(ctx, k, file, &(struct avatar_model_desc){.participants = count, .f32_weights = a->f32}, &m));
	struct gpu_timer total = {0}, stages = {0};
	double *gpu = calloc(a->repeat, sizeof(double)), *wall = calloc(a->repeat, sizeof(double));
	double *stage_ms = calloc((size_t)a->repeat * 32, sizeof(double));
	uint32_t marks = avatar_model_timer_marks(m);
	const float view[3] = {0, 0, 1};
	enum cv_result r = set_inputs(m, avatar_latent_size(file), count, view);
	if (r == CV_OK) r = gpu_timer_init(ctx, &total, 2, "bench total");
	if (r == CV_OK && show_stages) r = gpu_timer_init(ctx, &stages, marks, "bench stages");
	struct timing t;
	if (r == CV_OK) r = decode_once(ctx, m, count, &total, NULL, &t); /* warm-up: drivers compile at first use */
	for (uint32_t i = 0; i < a->repeat && r == CV_OK; i++) {
		r = decode_once(ctx, m, count, &total, show_stages ? &stages : NULL, &t);
		gpu[i] = t.gpu_ms;
		wall[i] = t.wall_ms;
		for (uint32_t s = 1; show_stages && r == CV_OK && s < marks && s < 32; s++)
			r = gpu_timer_elapsed_ms(ctx, &stages, s - 1, s, &stage_ms[s * a->repeat + i]);
	}
	if (r == CV_OK) {
		struct avatar_model_memory mem;
		avatar_model_memory(m, &mem);
		double g = median(gpu, a->repeat), w = median(wall, a->repeat);
		double gflops = (double)mem.flops_per_decode * count / (g * 1e-3) / 1e9;
		printf("%12u %10.1f %10.1f %12.1f %9.1f", count, g, w, g / count, gflops);
		if (isnan(torch_ms)) printf(" %12s %8s\n", "-", "-");
		else printf(" %12.1f %8.2f\n", torch_ms, g / torch_ms);
		if (show_stages) {
			printf("    stages of one decode (GPU ms, median):");
			for (uint32_t s = 1; s < marks && s < 32; s++)
				printf("%s %s %.2f", s > 1 ? "," : "", avatar_model_stage_name(m, s), median(&stage_ms[s * a->repeat], a->repeat));
			printf("\n");
		}
	}
	free(gpu);
	free(wall);
	free(stage_ms);
	gpu_timer_fini(ctx, &stages);
	gpu_timer_fini(ctx, &total);
	avatar_model_destroy(ctx, &m);
	return r;
}

/* Stereo: one decode from the centre eye against one per eye (64 mm apart, 1 m away): what it costs and
 * how far the eyes' textures are from the centre one. */
static enum cv_result bench_stereo(struct gpu_context *ctx, struct avatar_kernels *k, const struct avatar_file *file,
                                   bool f32)
{
	struct avatar_model *m = NULL;
	CV_TRY(avatar_model_create(ctx, k, file, &(struct avatar_model_desc){.participants = 3, .f32_weights = f32}, &m));
	uint32_t latent = avatar_latent_size(file);
	float *code = malloc(latent * sizeof(float));
	const float views[3][3] = {{0, 0, 1}, {-0.032f, 0, 1}, {0.032f, 0, 1}};
	random_code(code, latent, 7);
	enum cv_result r = CV_OK;
	for (uint32_t i = 0; i < 3 && r == CV_OK; i++) r = avatar_model_set_input(m, i, code, latent, views[i]);
	VkCommandBuffer cmd;
	if (r == CV_OK) r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		r = avatar_model_record(ctx, m, cmd, 3, NULL);
		enum cv_result s = gpu_cmd_submit_wait(ctx, cmd);
		if (r == CV_OK) r = s;
	}
	struct avatar_outputs out;
	avatar_model_outputs(m, 0, &out);
	size_t n = (size_t)out.texture_size * out.texture_size * 3;
	float *tex[3] = {malloc(n * 4), malloc(n * 4), malloc(n * 4)};
	for (uint32_t i = 0; i < 3 && r == CV_OK; i++) r = avatar_model_read(ctx, m, i, NULL, tex[i]);
	if (r == CV_OK) {
		double worst = INFINITY;
		for (int eye = 1; eye < 3; eye++) {
			double sq = 0;
			for (size_t j = 0; j < n; j++) sq += (double)(tex[eye][j] - tex[0][j]) * (tex[eye][j] - tex[0][j]);
			double psnr = sq > 0 ? 10 * log10(n / sq) : INFINITY;
			if (psnr < worst) worst = psnr;
		}
		printf("stereo: centre-eye texture against per-eye textures (64 mm IPD at 1 m): PSNR %.1f dB (worse eye); "
		       "per-eye decoding costs a second decode per participant (the 2-participant row above)\n", worst);
	}
	for (int i = 0; i < 3; i++) free(tex[i]);
	free(code);
	avatar_model_destroy(ctx, &m);
	return r;
}

static int bench_usage(const char *why)
{
	if (why) fprintf(stderr, "cavr bench: %s\n", why);
	fprintf(stderr, "usage: cavr bench decode [--avatar FILE] [--participants 1,2,4,16] [--repeat N] [--f32]\n"
	                "                         [--no-pytorch] [--kernel PIXELS,CHANNELS,GROUP_X,GROUP_Y] [--device NAME]\n");
	return 2;
}

int app_bench(int argc, char **argv)
{
	struct bench_args a = {.counts = {1, 2, 4, 16}, .count_n = 4, .repeat = 5, .pytorch = true};
	if (argc < 1 || strcmp(argv[0], "decode")) return bench_usage("the benchmark to run is 'decode'");
	struct args p;
	int code = args_parse(&cmd_bench_decode_spec, argc - 1, argv + 1, &p);
	if (p.help) bench_usage(NULL);
	if (code >= 0) return p.help ? 0 : code;
	a.f32 = args_flag(&p, "--f32");
	a.pytorch = !args_flag(&p, "--no-pytorch");
	a.avatar = args_text(&p, "--avatar", NULL);
	a.device = args_text(&p, "--device", NULL);
	a.repeat = (uint32_t)args_number(&p, "--repeat", 5);
	const struct args_value *v = args_get(&p, "--participants");
	if (v && v->list_count > 8) return args_error(p.spec, "--participants takes at most 8 counts");
	for (uint32_t i = 0; v && i < v->list_count; i++) a.counts[i] = (uint32_t)v->list[i];
	if (v) a.count_n = v->list_count;
	v = args_get(&p, "--kernel");
	if (v && v->list_count != 4) return args_error(p.spec, "--kernel needs four numbers: PIXELS,CHANNELS,GROUP_X,GROUP_Y");
	if (v)
		a.params = (struct avatar_kernel_params){.convt_pixels = (uint32_t)v->list[0],
		                                         .convt_channels = (uint32_t)v->list[1],
		                                         .convt_group_x = (uint32_t)v->list[2],
		                                         .convt_group_y = (uint32_t)v->list[3]};
	char path[4096];
	if (!a.avatar) {
		if (app_bench_default_avatar(path, sizeof(path)) != CV_OK) return 1;
		a.avatar = path;
	}
	struct avatar_file *file = NULL;
	struct gpu_context *ctx = NULL;
	struct avatar_kernels *k = NULL;
	enum cv_result r = avatar_file_open(a.avatar, &file);
	if (r == CV_OK) r = gpu_context_create(&(struct gpu_context_desc){.device_name = a.device}, &ctx);
	if (r == CV_OK) r = avatar_kernels_create(ctx, &a.params, &k);
	if (r == CV_OK) {
		const struct avatar_kernel_params *p = avatar_kernels_params(k);
		struct avatar_model *probe = NULL;
		struct avatar_model_memory mem = {0};
		r = avatar_model_create(ctx, k, file, &(struct avatar_model_desc){.participants = 1, .f32_weights = a.f32}, &probe);
		if (r == CV_OK) avatar_model_memory(probe, &mem);
		avatar_model_destroy(ctx, &probe);
		printf("cavr bench decode: %s on %s (%s weights), kernel pixels %u channels %u group %ux%u\n",
		       avatar_name(file), ctx->properties.deviceName, a.f32 ? "f32" : "f16", p->convt_pixels,
		       p->convt_channels, p->convt_group_x, p->convt_group_y);
		printf("memory: %.1f MB per avatar file, %.1f MB per participant; %.2f GFLOP per decode\n",
		       mem.shared_bytes / 1e6, mem.per_participant_bytes / 1e6, mem.flops_per_decode / 1e9);
		printf("%12s %10s %10s %12s %9s %12s %8s\n", "participants", "gpu ms", "wall ms", "ms/avatar", "GFLOP/s",
		       "pytorch ms", "ratio");
	}
	for (uint32_t i = 0; i < a.count_n && r == CV_OK; i++) {
		double torch = a.pytorch ? pytorch_ms(a.avatar, a.counts[i]) : NAN;
		r = bench_count(ctx, k, file, &a, a.counts[i], torch, i == 0);
	}
	if (r == CV_OK && avatar_dam_arch(file) && avatar_dam_arch(file)->view_conditioned) r = bench_stereo(ctx, k, file, a.f32);
	avatar_kernels_destroy(ctx, &k);
	gpu_context_destroy(&ctx);
	avatar_file_destroy(&file);
	return r == CV_OK ? 0 : 1;
}
