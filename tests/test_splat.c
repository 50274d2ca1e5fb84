/* The splat renderer (render/splat.h) against the CPU reference rasteriser of tools/gca_reference.py
 * (splat-scene, run by the make_splat_scenes fixture): PSNR >= 40 dB on random scenes, and the same rule
 * rejects a scene moved by 1 cm and an empty picture. Stereo: one sort from the centre eye for both eyes,
 * measured against per-eye sorting. Composition: Gaussians inside an opaque sphere of the test scene are
 * hidden by its depth, ones in front of it show. Two posed sources sort together like one scene.
 * The sample Gaussian avatar (assets/ana-gs.cavatar, decoded on the GPU) against goldens in tests/golden/gca/
 * (front, three-quarter, two participants overlapping in depth), checked by eye; regenerate with
 * CAVR_UPDATE_GOLDEN=1 only for an intended change, and look at them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/gca.h"
#include "core/image.h"
#include "render/splat.h"
#include "golden.h"

static struct gpu_context *ctx;
static const char *dir;
static const VkFormat FORMAT = VK_FORMAT_R8G8B8A8_SRGB;
static const double MIN_PSNR = 40.0;

struct scene {
	struct st_file *file;
	uint32_t count, width, height, view_count;
	struct gca_gaussian *gaussians;
	struct render_view views[5];
	float background[4];
};

/* Row-major M (applied as M @ [x, y, z, 1]) into cglm's column-major mat4. */
static void load_matrix(const float *m, mat4 out)
{
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++) out[c][r] = m[r * 4 + c];
}

static bool scene_load(const char *name, struct scene *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.safetensors", dir, name);
	memset(s, 0, sizeof(*s));
	if (st_open(path, &s->file) != CV_OK) return false;
	const struct st_tensor *g = st_find(s->file, "gaussians"), *v = st_find(s->file, "views"),
	                       *p = st_find(s->file, "projection");
	const char *w = st_metadata(s->file, "width"), *h = st_metadata(s->file, "height"),
	           *bg = st_metadata(s->file, "background");
	if (!g || !v || !p || !w || !h || !bg || g->rank != 2 || g->shape[1] != 14 || v->rank != 3 || v->shape[0] > 5)
		return false;
	s->count = (uint32_t)g->shape[0];
	s->view_count = (uint32_t)v->shape[0];
	s->width = (uint32_t)atoi(w);
	s->height = (uint32_t)atoi(h);
	if (sscanf(bg, "%f,%f,%f", &s->background[0], &s->background[1], &s->background[2]) != 3) return false;
	s->background[3] = 1;
	float *rows = malloc(g->count * 4), *views = malloc(v->count * 4), proj[16];
	s->gaussians = calloc(s->count, sizeof(*s->gaussians));
	bool ok = rows && views && s->gaussians && st_tensor_to_f32(g, rows, g->count) == CV_OK &&
	          st_tensor_to_f32(v, views, v->count) == CV_OK && st_tensor_to_f32(p, proj, 16) == CV_OK;
	for (uint32_t i = 0; ok && i < s->count; i++) {
		const float *r = rows + i * 14;
		struct gca_gaussian *o = &s->gaussians[i];
		memcpy(o->position, r, 12);
		o->opacity = r[3];
		memcpy(o->rotation, r + 4, 16);
		memcpy(o->scale, r + 8, 12);
		memcpy(o->colour, r + 11, 12);
	}
	for (uint32_t k = 0; ok && k < s->view_count; k++) {
		load_matrix(views + 16 * k, s->views[k].view);
		load_matrix(proj, s->views[k].projection);
		mat4 inv;
		glm_mat4_inv(s->views[k].view, inv);
		glm_vec3_copy(inv[3], s->views[k].eye);
	}
	free(rows);
	free(views);
	return ok;
}

static void scene_fini(struct scene *s)
{
	st_close(&s->file);
	free(s->gaussians);
}

static bool load_png(const char *name, uint32_t view, struct cv_image *img)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.view%u.png", dir, name, view);
	return cv_image_load_png(path, img) == CV_OK;
}

static enum cv_result upload(const struct gca_gaussian *g, uint32_t n, struct gpu_buffer *buf)
{
	CV_TRY(gpu_buffer_init(ctx, buf, &(struct gpu_buffer_desc){.size = (VkDeviceSize)n * sizeof(*g),
	                                                          .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
	                                                          .name = "test gaussians"}));
	return gpu_buffer_write(ctx, buf, 0, g, (VkDeviceSize)n * sizeof(*g));
}

/* What one test frame draws: sources sorted from `sort_view`, then each of `eyes` in its own pass (as the
 * frame loop does eye by eye), optionally over the built-in test scene. */
struct frame {
	uint32_t width, height;
	VkSampleCountFlagBits samples;
	const struct splat_source *sources;
	uint32_t source_count;
	const struct render_view *sort_view;
	const struct render_view *eyes;
	uint32_t eye_count;
	bool testscene;
	const float *clear;
};

static enum cv_result render(const struct frame *f, struct cv_image *images)
{
	const struct render_target_desc target = {.format = FORMAT, .samples = f->samples, .view_count = 1};
	VkExtent2D extent = {f->width, f->height};
	struct render_attachments att = {0};
	struct gpu_image out[2] = {0};
	struct gpu_buffer view_buf[2] = {0};
	struct splat_renderer *sr = NULL;
	struct render_testscene *ts = NULL;
	uint32_t capacity = 1;
	for (uint32_t i = 0; i < f->source_count; i++) capacity += f->sources[i].count;
	enum cv_result r = render_attachments_init(ctx, &att, extent, FORMAT, f->samples, 1, false);
	if (r == CV_OK) r = splat_renderer_create(ctx, &target, capacity, &sr);
	if (r == CV_OK && f->testscene) r = render_testscene_create(ctx, &target, &ts);
	for (uint32_t e = 0; r == CV_OK && e < f->eye_count; e++) {
		r = gpu_image_init(ctx, &out[e], &(struct gpu_image_desc){
			.width = f->width, .height = f->height, .format = FORMAT,
			.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT, .name = "test output"});
		if (r == CV_OK) r = render_view_buffer_init(ctx, &view_buf[e]);
	}
	VkCommandBuffer cmd;
	if (r == CV_OK) r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		r = splat_cmd_prepare(ctx, cmd, sr, f->sources, f->source_count, f->sort_view, NULL, 0);
		if (ts) render_testscene_update(cmd, ts, 0.0f);
		for (uint32_t e = 0; e < f->eye_count; e++) {
			struct render_views one = {.count = 1, .view = {f->eyes[e]}};
			render_cmd_update_views(cmd, &view_buf[e], &one);
		}
		for (uint32_t e = 0; e < f->eye_count; e++) {
			render_cmd_prepare(cmd, &att);
			gpu_cmd_image_barrier(cmd, out[e].image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
			                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
			render_cmd_begin(cmd, &att, out[e].view, f->clear);
			if (ts) render_testscene_draw(ctx, cmd, ts, &view_buf[e]);
			splat_cmd_draw(ctx, cmd, sr, &view_buf[e], extent);
			render_cmd_end(cmd);
		}
		enum cv_result s = gpu_cmd_submit_wait(ctx, cmd);
		if (r == CV_OK) r = s;
	}
	for (uint32_t e = 0; r == CV_OK && e < f->eye_count; e++) {
		r = cv_image_init(&images[e], f->width, f->height);
		if (r == CV_OK) r = gpu_image_read(ctx, &out[e], 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, images[e].pixels);
	}
	render_testscene_destroy(ctx, &ts);
	splat_renderer_destroy(ctx, &sr);
	for (uint32_t e = 0; e < 2; e++) {
		gpu_image_fini(ctx, &out[e]);
		gpu_buffer_fini(ctx, &view_buf[e]);
	}
	render_attachments_fini(ctx, &att);
	return r;
}

static double psnr(const struct cv_image *a, const struct cv_image *b)
{
	struct cv_image_diff d = {0};
	if (cv_image_diff(a, b, 8, &d) != CV_OK) return 0;
	return d.psnr_db;
}

static void save(const char *name, const struct cv_image *img)
{
	char path[256];
	snprintf(path, sizeof(path), "splat_%s.png", name);
	cv_image_save_png(path, img);
}

/* One scene, one view, against the reference; the same rule must reject a moved scene and an empty one. */
static void test_splat_reference(void)
{
	struct scene s;
	CHECK_MSG(scene_load("splat-cluster", &s), "scene splat-cluster");
	struct cv_image want = {0}, got = {0}, moved = {0}, empty = {0};
	struct gpu_buffer buf = {0};
	CHECK(load_png("splat-cluster", 0, &want));
	CHECK(upload(s.gaussians, s.count, &buf) == CV_OK);
	struct splat_source src = {.gaussians = &buf, .count = s.count};
	glm_mat4_identity(src.pose);
	struct frame f = {.width = s.width, .height = s.height, .samples = VK_SAMPLE_COUNT_1_BIT, .sources = &src,
	                  .source_count = 1, .sort_view = &s.views[0], .eyes = &s.views[0], .eye_count = 1,
	                  .clear = s.background};
	CHECK(render(&f, &got) == CV_OK);
	save("cluster", &got);
	double p = psnr(&got, &want);
	printf("  cluster: %u Gaussians, %ux%u, PSNR %.1f dB against the CPU reference\n", s.count, s.width, s.height, p);
	CHECK_MSG(p >= MIN_PSNR, "PSNR %.2f dB", p);

	/* The same scene 1 cm to the side (as a pose) must fail the rule; so must a picture with nothing drawn. */
	glm_translate_make(src.pose, (vec3){0.01f, 0, 0});
	CHECK(render(&f, &moved) == CV_OK);
	double pm = psnr(&moved, &want);
	printf("  moved by 1 cm: PSNR %.1f dB (must be < %.0f)\n", pm, MIN_PSNR);
	CHECK_MSG(pm < MIN_PSNR, "a moved scene passed with %.2f dB", pm);
	f.source_count = 0;
	CHECK(render(&f, &empty) == CV_OK);
	CHECK(psnr(&empty, &want) < MIN_PSNR);
	gpu_buffer_fini(ctx, &buf);
	cv_image_fini(&want);
	cv_image_fini(&got);
	cv_image_fini(&moved);
	cv_image_fini(&empty);
	scene_fini(&s);
}

/* Two sources split from one scene, with poses, must draw what the whole scene draws (one sort across both). */
static void test_splat_two_sources(void)
{
	struct scene s;
	CHECK_MSG(scene_load("splat-cluster", &s), "scene splat-cluster");
	struct cv_image want = {0}, got = {0};
	CHECK(load_png("splat-cluster", 0, &want));
	/* Source 1 holds the second half moved by -0.1 m in y and is posed back by +0.1 m. */
	uint32_t half = s.count / 2;
	for (uint32_t i = half; i < s.count; i++) s.gaussians[i].position[1] -= 0.1f;
	struct gpu_buffer buf = {0};
	CHECK(upload(s.gaussians, s.count, &buf) == CV_OK);
	struct splat_source src[2] = {{.gaussians = &buf, .count = half},
	                              {.gaussians = &buf, .offset = half * sizeof(struct gca_gaussian), .count = s.count - half}};
	glm_mat4_identity(src[0].pose);
	glm_translate_make(src[1].pose, (vec3){0, 0.1f, 0});
	struct frame f = {.width = s.width, .height = s.height, .samples = VK_SAMPLE_COUNT_1_BIT, .sources = src,
	                  .source_count = 2, .sort_view = &s.views[0], .eyes = &s.views[0], .eye_count = 1,
	                  .clear = s.background};
	CHECK(render(&f, &got) == CV_OK);
	double p = psnr(&got, &want);
	printf("  two posed sources: PSNR %.1f dB\n", p);
	CHECK_MSG(p >= MIN_PSNR, "PSNR %.2f dB", p);
	gpu_buffer_fini(ctx, &buf);
	cv_image_fini(&want);
	cv_image_fini(&got);
	scene_fini(&s);
}

/* Both eyes from one sort at the centre eye, against the CPU reference sorted per eye; and per-eye sorting on
 * the GPU. Parallel eyes (render_views_stereo) share every view depth, so one sort is exact for them; eyes
 * toed in onto the scene (canted displays) are where sorting once costs something. */
static void stereo_pair(const struct scene *s, struct splat_source *src, uint32_t first, const char *what)
{
	struct cv_image shared[2] = {0}, want[2] = {0}, from_pair[2] = {0};
	struct frame f = {.width = s->width, .height = s->height, .samples = VK_SAMPLE_COUNT_1_BIT, .sources = src,
	                  .source_count = 1, .sort_view = &s->views[0], .eyes = &s->views[first], .eye_count = 2,
	                  .clear = s->background};
	CHECK(render(&f, shared) == CV_OK);
	/* splat_sort_view finds the centre from the pair itself: the same picture as sorting from the camera. */
	struct render_view between;
	splat_sort_view(&(struct render_views){.count = 2, .view = {s->views[first], s->views[first + 1]}}, &between);
	struct frame fp = f;
	fp.sort_view = &between;
	CHECK(render(&fp, from_pair) == CV_OK);
	for (int e = 0; e < 2; e++) {
		CHECK_MSG(psnr(&from_pair[e], &shared[e]) >= 60.0, "%s eye %d sorted from splat_sort_view: %.1f dB", what, e,
		          psnr(&from_pair[e], &shared[e]));
		cv_image_fini(&from_pair[e]);
	}
	for (uint32_t e = 0; e < 2; e++) {
		struct cv_image own = {0};
		CHECK(load_png("splat-stereo", first + e, &want[e]));
		struct frame fe = f;
		fe.sort_view = fe.eyes = &s->views[first + e];
		fe.eye_count = 1;
		CHECK(render(&fe, &own) == CV_OK);
		double p_own = psnr(&own, &want[e]), p_shared = psnr(&shared[e], &want[e]), p_gpu = psnr(&shared[e], &own);
		struct cv_image_diff d = {0};
		cv_image_diff(&shared[e], &own, 8, &d);
		printf("  %s eye %u (%u Gaussians, 64 mm IPD at 0.8 m): against the reference, per-eye sort %.1f dB, centre "
		       "sort %.1f dB; centre vs per-eye sort %.1f dB, %.3f %% of pixels off by > 8/255, max %u/255\n",
		       what, e, s->count, p_own, p_shared, p_gpu, 100 * d.fraction_over, d.max_delta);
		CHECK_MSG(p_own >= MIN_PSNR, "%s eye %u, per-eye sort: %.2f dB", what, e, p_own);
		CHECK_MSG(p_shared >= 35.0, "%s eye %u, centre sort: %.2f dB", what, e, p_shared);
		cv_image_fini(&own);
	}
	CHECK(psnr(&shared[0], &shared[1]) < 35.0); /* the eyes differ: parallax */
	for (int e = 0; e < 2; e++) {
		cv_image_fini(&shared[e]);
		cv_image_fini(&want[e]);
	}
}

static void test_splat_stereo(void)
{
	struct scene s;
	CHECK_MSG(scene_load("splat-stereo", &s) && s.view_count == 5, "scene splat-stereo");
	struct gpu_buffer buf = {0};
	CHECK(upload(s.gaussians, s.count, &buf) == CV_OK);
	struct splat_source src = {.gaussians = &buf, .count = s.count};
	glm_mat4_identity(src.pose);
	stereo_pair(&s, &src, 1, "parallel");
	stereo_pair(&s, &src, 3, "toed-in");
	gpu_buffer_fini(ctx, &buf);
	scene_fini(&s);
}

/* A blob inside the test scene's opaque sphere is hidden by the scene's depth; the same blob in front shows. */
static void test_splat_depth_composition(void)
{
	enum { N = 64 };
	struct gca_gaussian g[N];
	for (int i = 0; i < N; i++) {
		float a = (float)i * 2.399963f, r = 0.06f * sqrtf((float)i / N);
		g[i] = (struct gca_gaussian){.position = {r * cosf(a), r * sinf(a), 0.01f * (float)(i % 5)}, .opacity = 0.9f,
		                             .rotation = {1, 0, 0, 0}, .scale = {0.03f, 0.03f, 0.03f},
		                             .colour = {0.1f, 0.9f, 0.2f}};
	}
	struct gpu_buffer buf = {0};
	CHECK(upload(g, N, &buf) == CV_OK);
	struct render_view cam;
	render_testscene_camera(&cam, 0.0f, 160.0f / 120.0f);
	const float clear[4] = {0.2f, 0.2f, 0.25f, 1.0f};
	/* Sphere of radius 0.6 at (0.8, 0.6, -0.1): one blob at its centre, one 0.9 m towards the camera. */
	vec3 centre = {0.8f, 0.6f, -0.1f}, towards, front;
	glm_vec3_sub(cam.eye, centre, towards);
	glm_vec3_normalize(towards);
	glm_vec3_scale(towards, 0.9f, front);
	glm_vec3_add(front, centre, front);
	struct splat_source hidden = {.gaussians = &buf, .count = N}, shown = hidden;
	glm_translate_make(hidden.pose, centre);
	glm_translate_make(shown.pose, front);
	struct cv_image plain = {0}, behind = {0}, in_front = {0};
	struct frame f = {.width = 160, .height = 120, .samples = VK_SAMPLE_COUNT_4_BIT, .sources = &hidden,
	                  .source_count = 0, .sort_view = &cam, .eyes = &cam, .eye_count = 1, .testscene = true,
	                  .clear = clear};
	CHECK(render(&f, &plain) == CV_OK);
	f.source_count = 1;
	CHECK(render(&f, &behind) == CV_OK);
	f.sources = &shown;
	CHECK(render(&f, &in_front) == CV_OK);
	save("composition", &in_front);
	double p_behind = psnr(&behind, &plain), p_front = psnr(&in_front, &plain);
	printf("  composition: hidden blob %.1f dB, blob in front %.1f dB against the scene alone\n", p_behind, p_front);
	CHECK_MSG(p_behind >= 60.0, "a blob inside the sphere shows (%.1f dB)", p_behind);
	/* Where the front blob projects, it is green. */
	vec4 clip;
	mat4 vp;
	glm_mat4_mul(cam.projection, cam.view, vp);
	glm_mat4_mulv(vp, (vec4){front[0], front[1], front[2], 1.0f}, clip);
	int px = (int)((clip[0] / clip[3] + 1) * 80), py = (int)((clip[1] / clip[3] + 1) * 60);
	if (in_front.pixels && px >= 0 && px < 160 && py >= 0 && py < 120) {
		const uint8_t *p = &in_front.pixels[(py * 160 + px) * 4];
		CHECK_MSG(p[1] > 150 && p[0] < 120 && p[2] < 120, "pixel (%d, %d) is %u %u %u, not green", px, py, p[0], p[1], p[2]);
	} else {
		CHECK_MSG(false, "the front blob projects outside the image (%d, %d)", px, py);
	}
	CHECK(p_front < 40.0);
	cv_image_fini(&plain);
	cv_image_fini(&behind);
	cv_image_fini(&in_front);
	gpu_buffer_fini(ctx, &buf);
}

/* Sources the renderer cannot take are refused before anything is recorded. */
static void test_splat_bad_inputs(void)
{
	struct gca_gaussian g[4] = {0};
	struct gpu_buffer buf = {0};
	CHECK(upload(g, 4, &buf) == CV_OK);
	const struct render_target_desc target = {.format = FORMAT, .samples = VK_SAMPLE_COUNT_1_BIT, .view_count = 1};
	struct splat_renderer *sr = NULL;
	CHECK(splat_renderer_create(ctx, &target, 0, &sr) == CV_ERROR_INVALID_ARGUMENT);
	CHECK(splat_renderer_create(ctx, &target, 6, &sr) == CV_OK);
	struct render_view cam;
	render_view_look_at(&cam, (vec3){0, 0, 1}, (vec3){0, 0, 0}, 45.0f, 1.0f);
	struct splat_source src[SPLAT_MAX_SOURCES + 1];
	for (int i = 0; i <= SPLAT_MAX_SOURCES; i++) {
		src[i] = (struct splat_source){.gaussians = &buf, .count = 0};
		glm_mat4_identity(src[i].pose);
	}
	VkCommandBuffer cmd;
	if (sr && gpu_cmd_begin(ctx, &cmd) == CV_OK) {
		CHECK(splat_cmd_prepare(ctx, cmd, sr, src, SPLAT_MAX_SOURCES + 1, &cam, NULL, 0) == CV_ERROR_INVALID_ARGUMENT);
		src[0].count = 4;
		src[1].count = 4; /* 8 Gaussians for a renderer of 6 */
		CHECK(splat_cmd_prepare(ctx, cmd, sr, src, 2, &cam, NULL, 0) == CV_ERROR_INVALID_ARGUMENT);
		src[1] = src[0];
		src[1].offset = 32; /* not a whole Gaussian */
		src[1].count = 1;
		CHECK(splat_cmd_prepare(ctx, cmd, sr, src, 2, &cam, NULL, 0) == CV_ERROR_INVALID_ARGUMENT);
		src[1].offset = 3 * sizeof(struct gca_gaussian); /* runs past the buffer's end */
		src[1].count = 2;
		CHECK(splat_cmd_prepare(ctx, cmd, sr, src, 2, &cam, NULL, 0) == CV_ERROR_INVALID_ARGUMENT);
		src[1].count = 1;
		CHECK(splat_cmd_prepare(ctx, cmd, sr, src, 2, &cam, NULL, 0) == CV_OK);
		CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
		/* Zero-opacity Gaussians are culled: nothing to draw. */
		uint32_t visible = 99;
		CHECK(splat_visible_count(ctx, sr, &visible) == CV_OK && visible == 0);
	}
	splat_renderer_destroy(ctx, &sr);
	gpu_buffer_fini(ctx, &buf);
}

/* ---- the sample Gaussian avatar ---- */

static const struct cv_image_match golden_rule = {.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40.0};

struct seat {
	vec3 position;
	float yaw_deg;
};

/* Decodes the sample avatar at its mean code for each seat (view direction from the seat to the camera) and
 * renders all of them, sorted together, from `eye` at 160 x 160 with 4x MSAA. */
static enum cv_result render_avatars(const struct seat *seats, uint32_t count, const vec3 eye, const vec3 target,
                                     bool reverse_sources, struct cv_image *out)
{
	char path[4096];
	test_source_path("assets/ana-gs.cavatar", path, sizeof(path));
	struct avatar_file *file = NULL;
	struct gca_kernels *k = NULL;
	struct gca_model *m = NULL;
	CV_TRY(avatar_file_open(path, &file));
	enum cv_result r = gca_kernels_create(ctx, NULL, &k);
	if (r == CV_OK) r = gca_model_create(ctx, k, file, &(struct avatar_model_desc){.participants = count}, &m);
	struct render_view cam;
	render_view_look_at(&cam, eye, target, 30.0f, 1.0f);
	struct splat_source sources[4];
	const struct st_tensor *mean = avatar_tensor(file, "code.mean");
	float code[64];
	if (r == CV_OK && (!mean || mean->count > 64 || st_tensor_to_f32(mean, code, mean->count) != CV_OK))
		r = CV_FAIL(CV_ERROR_FORMAT, "ana-gs: no usable code.mean");
	for (uint32_t i = 0; r == CV_OK && i < count; i++) {
		struct splat_source *s = &sources[reverse_sources ? count - 1 - i : i];
		glm_translate_make(s->pose, (float *)seats[i].position);
		glm_rotate_y(s->pose, glm_rad(seats[i].yaw_deg), s->pose);
		/* The view direction in the head frame: the camera as the head sees it. */
		mat4 inv;
		glm_mat4_inv(s->pose, inv);
		vec3 local;
		glm_mat4_mulv3(inv, (float *)eye, 1.0f, local);
		r = gca_model_set_input(m, i, code, mean->count, local);
		struct gca_outputs o;
		gca_model_outputs(m, i, &o);
		s->gaussians = o.gaussians;
		s->offset = o.offset;
		s->count = o.count;
	}
	VkCommandBuffer cmd;
	if (r == CV_OK) r = gpu_cmd_begin(ctx, &cmd);
	if (r == CV_OK) {
		r = gca_model_record(ctx, m, cmd, count, NULL);
		enum cv_result s = gpu_cmd_submit_wait(ctx, cmd);
		if (r == CV_OK) r = s;
	}
	const float clear[4] = {0.18f, 0.2f, 0.24f, 1.0f};
	struct frame f = {.width = 160, .height = 160, .samples = VK_SAMPLE_COUNT_4_BIT, .sources = sources,
	                  .source_count = count, .sort_view = &cam, .eyes = &cam, .eye_count = 1, .clear = clear};
	if (r == CV_OK) r = render(&f, out);
	gca_model_destroy(ctx, &m);
	gca_kernels_destroy(ctx, &k);
	avatar_file_destroy(&file);
	return r;
}

/* Compares with tests/golden/gca/NAME.png, and shows that the rule rejects a wrong picture. */
static void check_golden(const char *name, const struct cv_image *img)
{
	char golden_name[256];
	snprintf(golden_name, sizeof(golden_name), "gca/%s", name);
	struct cv_image golden;
	test_golden_check(img, golden_name, &golden_rule, &golden);
	if (!golden.pixels) return;
	/* The rule rejects the golden with a darkened 16 x 16 block in the middle of the face. */
	for (uint32_t y = 72; y < 88; y++)
		for (uint32_t x = 72; x < 88; x++)
			for (int c = 0; c < 3; c++) golden.pixels[(y * golden.width + x) * 4 + c] /= 2;
	CHECK(cv_image_match(img, &golden, &golden_rule, "golden with a darkened block (expected to differ)") ==
	      CV_ERROR_MISMATCH);
	cv_image_fini(&golden);
}

static void test_gaussian_avatar_golden(void)
{
	const struct seat head = {{0, 0, 0}, 0};
	struct cv_image front = {0}, three_quarter = {0};
	float a = glm_rad(40.0f);
	CHECK(render_avatars(&head, 1, (vec3){0, 0.0f, 0.6f}, (vec3){0, -0.02f, 0}, false, &front) == CV_OK);
	CHECK(render_avatars(&head, 1, (vec3){0.6f * sinf(a), 0.0f, 0.6f * cosf(a)}, (vec3){0, -0.02f, 0}, false,
	                     &three_quarter) == CV_OK);
	if (!front.pixels || !three_quarter.pixels) return;
	check_golden("ana_gs_front", &front);
	check_golden("ana_gs_three_quarter", &three_quarter);
	/* The two views are different pictures under the same rule. */
	CHECK(cv_image_match(&three_quarter, &front, &golden_rule, "three-quarter against front (expected to differ)") ==
	      CV_ERROR_MISMATCH);
	cv_image_fini(&front);
	cv_image_fini(&three_quarter);
}

/* Two participants of the same Gaussian avatar, one 0.25 m behind and beside the other so they overlap on
 * screen: one sort across both draws the same picture whichever order the sources come in. */
static void test_gaussian_two_participants(void)
{
	const struct seat seats[2] = {{{-0.05f, 0, 0}, 20.0f}, {{0.07f, 0.02f, -0.25f}, -15.0f}};
	struct cv_image one = {0}, other = {0};
	CHECK(render_avatars(seats, 2, (vec3){0, 0.0f, 0.7f}, (vec3){0, -0.02f, -0.1f}, false, &one) == CV_OK);
	CHECK(render_avatars(seats, 2, (vec3){0, 0.0f, 0.7f}, (vec3){0, -0.02f, -0.1f}, true, &other) == CV_OK);
	if (!one.pixels || !other.pixels) return;
	check_golden("ana_gs_two", &one);
	CHECK_MSG(psnr(&one, &other) >= 60.0, "source order changed the picture (%.1f dB)", psnr(&one, &other));
	cv_image_fini(&one);
	cv_image_fini(&other);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "splats";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_splat_reference);
	RUN(test_splat_two_sources);
	RUN(test_splat_stereo);
	RUN(test_splat_depth_composition);
	RUN(test_splat_bad_inputs);
	RUN(test_gaussian_avatar_golden);
	RUN(test_gaussian_two_participants);
	uint32_t messages = ctx->validation_messages;
	gpu_context_destroy(&ctx);
	CHECK_MSG(messages == 0, "%u validation messages", messages);
	return test_finish();
}
