/* `cavr bench splat`: GPU time of one Gaussian avatar per frame, decode (gca) and splatting (prepare, sort,
 * rasterisation), mono and stereo (both eyes from one sort), for random-weight avatars of G x G Gaussians made
 * by tools/gca_reference.py. Figures from GPU timestamps, median of --repeat after a warm-up; never assertions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/bench_splat.h"
#include "app/commands.h"
#include "app/spawn.h"
#include "avatar/gca.h"
#include "render/splat.h"

struct splat_bench_args {
	uint32_t grids[8], grid_n;
	uint32_t repeat, width, height;
	bool f32;
	const char *device;
};

static int usage(void)
{
	fprintf(stderr, "usage: cavr bench splat [--sizes 64k,256k,1M] [--repeat N] [--size WxH] [--f32] [--device NAME]\n"
	                "  sizes: Gaussians per avatar, 64k (256^2), 256k (512^2), 1M (1024^2) or a grid side G\n");
	return 2;
}

static bool parse_sizes(const char *s, struct splat_bench_args *a)
{
	a->grid_n = 0;
	for (const char *p = s; *p && a->grid_n < 8;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		uint32_t g = 0;
		if (!strncmp(end, "k", 1) || !strncmp(end, "K", 1)) {
			end++;
			g = v == 64 ? 256 : v == 256 ? 512 : v == 16 ? 128 : v == 4 ? 64 : 0;
		} else if (!strncmp(end, "M", 1)) {
			end++;
			g = v == 1 ? 1024 : 0;
		} else {
			g = (uint32_t)v;
		}
		if (g < 8 || g > 2048 || (g & (g - 1))) return false;
		a->grids[a->grid_n++] = g;
		if (*end == ',') end++;
		else if (*end) return false;
		p = end;
	}
	return a->grid_n > 0;
}

static int compare_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double median(double *v, uint32_t n)
{
	qsort(v, n, sizeof(double), compare_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A random-weight gca avatar of grid G, made once into cavr-bench/. Channels halve from 64 every two
 * up-convolutions down to 16, as a small stand-in for the published decoders. */
static enum cv_result bench_avatar(uint32_t grid, char *path, size_t size)
{
	const char *dir = "cavr-bench";
	snprintf(path, size, "%s/gca-%u.cavatar", dir, grid);
	struct stat st;
	if (stat(path, &st) == 0) return CV_OK;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) return CV_FAIL(CV_ERROR_IO, "cannot create '%s'", dir);
	char geometry[128] = "", colour[128] = "";
	uint32_t ups = 0;
	while ((4u << ups) < grid) ups++;
	for (uint32_t i = 0; i < ups; i++) {
		uint32_t c = 64 >> (i / 2);
		c = c < 16 ? 16 : c;
		size_t n = strlen(geometry), m = strlen(colour);
		snprintf(geometry + n, sizeof(geometry) - n, "%u,", c);
		snprintf(colour + m, sizeof(colour) - m, "%u,", c / 2); /* colour: half the geometry channels */
	}
	const char *tools = getenv("CAVR_TOOLS_DIR");
	char tool[4096], grid_s[16], name[32];
	snprintf(tool, sizeof(tool), "%s/gca_reference.py", tools ? tools : CAVR_SOURCE_DIR "/tools");
	snprintf(grid_s, sizeof(grid_s), "%u", grid);
	snprintf(name, sizeof(name), "gca-%u", grid);
	size_t n = strlen(geometry), m = strlen(colour);
	snprintf(geometry + n, sizeof(geometry) - n, "11");
	snprintf(colour + m, sizeof(colour) - m, "3");
	const char *const argv[] = {"/usr/bin/python3", tool, "make", "--out", path, "--grid", grid_s, "--init-size", "4",
	                            "--geometry-channels", geometry, "--colour-channels", colour, "--latent", "256",
	                            "--dtype", "f16", "--seed", "1", "--name", name, NULL};
	fprintf(stderr, "bench: making a random gca avatar of %u x %u Gaussians with PyTorch (%s)\n", grid, grid, path);
	struct app_child child;
	if (app_spawn(argv, 0, &child) != CV_OK || app_spawn_wait(&child) != 0)
		return CV_FAIL(CV_ERROR_IO, "could not run tools/gca_reference.py (needs python3-torch)");
	return CV_OK;
}

enum { MARK_DECODE = 0, MARK_PREPARE = 5, MARK_SORTED = 7, MARK_EYE0 = 8, MARK_EYE1 = 9, MARKS = 10 };

struct frame_ms {
	double decode, prepare, sort, eye[2];
};

/* One frame: decode, prepare and sort from the centre, then one pass per eye (the eye-by-eye stereo path). */
static enum cv_result frame_once(struct gpu_context *ctx, struct gca_model *m, struct splat_renderer *sr,
                                 struct render_attachments *att, struct gpu_image *out, struct gpu_buffer *view_buf,
                                 const struct render_views *eyes, const struct render_view *centre,
                                 struct gpu_timer *timer, struct frame_ms *ms)
{
	VkCommandBuffer cmd;
	CV_TRY(gpu_cmd_begin(ctx, &cmd));
	gpu_cmd_timer_reset(cmd, timer);
	enum cv_result r = gca_model_record(ctx, m, cmd, 1, timer);
	struct gca_outputs o;
	gca_model_outputs(m, 0, &o);
	struct splat_source src = {.gaussians = o.gaussians, .offset = o.offset, .count = o.count};
	glm_mat4_identity(src.pose);
	if (r == CV_OK) r = splat_cmd_prepare(ctx, cmd, sr, &src, 1, centre, timer, MARK_PREPARE);
	const float clear[4] = {0.2f, 0.2f, 0.25f, 1.0f};
	for (uint32_t e = 0; r == CV_OK && e < 2; e++) {
		struct render_views one = {.count = 1, .view = {eyes->view[e]}};
		render_cmd_update_views(cmd, &view_buf[e], &one);
	}
	for (uint32_t e = 0; r == CV_OK && e < 2; e++) {
		render_cmd_prepare(cmd, att);
		gpu_cmd_image_barrier(cmd, out->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
		                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
		render_cmd_begin(cmd, att, out->view, clear);
		splat_cmd_draw(ctx, cmd, sr, &view_buf[e], att->extent);
		render_cmd_end(cmd);
		gpu_cmd_timer_mark(cmd, timer, MARK_EYE0 + e);
	}
	enum cv_result s = gpu_cmd_submit_wait(ctx, cmd);
	if (r == CV_OK) r = s;
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, timer, MARK_DECODE, 4, &ms->decode);
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, timer, MARK_PREPARE, MARK_PREPARE + 1, &ms->prepare);
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, timer, MARK_PREPARE + 1, MARK_SORTED, &ms->sort);
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, timer, MARK_SORTED, MARK_EYE0, &ms->eye[0]);
	if (r == CV_OK) r = gpu_timer_elapsed_ms(ctx, timer, MARK_EYE0, MARK_EYE1, &ms->eye[1]);
	return r;
}

static enum cv_result bench_grid(struct gpu_context *ctx, struct gca_kernels *k, const struct splat_bench_args *a,
                                 uint32_t grid)
{
	char path[4096];
	CV_TRY(bench_avatar(grid, path, sizeof(path)));
	struct avatar_file *file = NULL;
	struct gca_model *m = NULL;
	struct splat_renderer *sr = NULL;
	struct render_attachments att = {0};
	struct gpu_image out = {0};
	struct gpu_buffer view_buf[2] = {0};
	struct gpu_timer timer = {0};
	const VkFormat format = VK_FORMAT_R8G8B8A8_SRGB;
	const struct render_target_desc target = {.format = format, .samples = VK_SAMPLE_COUNT_4_BIT, .view_count = 1};
	enum cv_result r = avatar_file_open(path, &file);
	if (r == CV_OK) r = gca_model_create(ctx, k, file, &(struct avatar_model_desc){.f32_weights = a->f32}, &m);
	if (r == CV_OK) r = splat_renderer_create(ctx, &target, gca_model_gaussian_count(m), &sr);
	if (r == CV_OK)
		r = render_attachments_init(ctx, &att, (VkExtent2D){a->width, a->height}, format, VK_SAMPLE_COUNT_4_BIT, 1, false);
	if (r == CV_OK)
		r = gpu_image_init(ctx, &out, &(struct gpu_image_desc){.width = a->width, .height = a->height, .format = format,
		                                                      .usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
		                                                      .name = "bench output"});
	if (r == CV_OK) r = render_view_buffer_init(ctx, &view_buf[0]);
	if (r == CV_OK) r = render_view_buffer_init(ctx, &view_buf[1]);
	if (r == CV_OK) r = gpu_timer_init(ctx, &timer, MARKS, "bench splat");
	float code[256] = {0}, view[3] = {0, 0, 1};
	if (r == CV_OK) r = gca_model_set_input(m, 0, code, avatar_latent_size(file), view);
	/* The head (a 0.1 m sphere of Gaussians) at 0.6 m, about a third of the picture's height. */
	struct render_view centre;
	render_view_look_at(&centre, (vec3){0, 0, 0.6f}, (vec3){0, 0, 0}, 60.0f, (float)a->width / (float)a->height);
	struct render_views eyes;
	render_views_stereo(&eyes, &centre, 0.064f);
	double *v = calloc((size_t)a->repeat * 5, sizeof(double));
	if (!v && r == CV_OK) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "bench");
	struct frame_ms ms;
	if (r == CV_OK) r = frame_once(ctx, m, sr, &att, &out, view_buf, &eyes, &centre, &timer, &ms); /* warm-up */
	for (uint32_t i = 0; r == CV_OK && i < a->repeat; i++) {
		r = frame_once(ctx, m, sr, &att, &out, view_buf, &eyes, &centre, &timer, &ms);
		double f[5] = {ms.decode, ms.prepare, ms.sort, ms.eye[0], ms.eye[1]};
		for (int j = 0; j < 5; j++) v[j * a->repeat + i] = f[j];
	}
	uint32_t visible = 0;
	if (r == CV_OK) r = splat_visible_count(ctx, sr, &visible);
	if (r == CV_OK) {
		double d = median(v, a->repeat), p = median(v + a->repeat, a->repeat), s = median(v + 2 * a->repeat, a->repeat);
		double e0 = median(v + 3 * a->repeat, a->repeat), e1 = median(v + 4 * a->repeat, a->repeat);
		printf("| %u (%ux%u) | %u | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", grid * grid, grid, grid, visible,
		       d, p, s, e0, e0 + e1, p + s + e0, p + s + e0 + e1);
		fflush(stdout);
	}
	free(v);
	gpu_timer_fini(ctx, &timer);
	gpu_buffer_fini(ctx, &view_buf[0]);
	gpu_buffer_fini(ctx, &view_buf[1]);
	gpu_image_fini(ctx, &out);
	render_attachments_fini(ctx, &att);
	splat_renderer_destroy(ctx, &sr);
	gca_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
	return r;
}

int app_bench_splat(int argc, char **argv)
{
	struct splat_bench_args a = {.grids = {256, 512, 1024}, .grid_n = 3, .repeat = 3, .width = 1280, .height = 720};
	struct args p;
	int code = args_parse(&cmd_bench_splat_spec, argc, argv, &p);
	if (p.help) usage();
	if (code >= 0) return p.help ? 0 : code;
	const char *sizes = args_text(&p, "--sizes", NULL);
	if (sizes && !parse_sizes(sizes, &a))
		return args_error(p.spec, "--sizes needs up to 8 of 64k, 256k, 1M or power-of-two grid sides 8..2048, not '%s'",
		                  sizes);
	a.repeat = (uint32_t)args_number(&p, "--repeat", 3);
	const struct args_value *size = args_get(&p, "--size");
	if (size) a.width = size->width, a.height = size->height;
	a.device = args_text(&p, "--device", NULL);
	a.f32 = args_flag(&p, "--f32");
	struct gpu_context *ctx = NULL;
	struct gca_kernels *k = NULL;
	enum cv_result r = gpu_context_create(&(struct gpu_context_desc){.device_name = a.device}, &ctx);
	if (r == CV_OK) r = gca_kernels_create(ctx, NULL, &k);
	if (r == CV_OK) {
		printf("device: %s; %ux%u per eye, 4x MSAA, weights %s, median of %u after a warm-up; times in ms\n",
		       ctx->properties.deviceName, a.width, a.height, a.f32 ? "f32" : "f16", a.repeat);
		printf("| Gaussians | visible | decode | prepare | sort | raster mono | raster stereo | splat mono | "
		       "splat stereo |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	}
	for (uint32_t i = 0; r == CV_OK && i < a.grid_n; i++) r = bench_grid(ctx, k, &a, a.grids[i]);
	gca_kernels_destroy(ctx, &k);
	gpu_context_destroy(&ctx);
	return r == CV_OK ? 0 : 1;
}
