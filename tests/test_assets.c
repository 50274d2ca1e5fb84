/* The shipped sample avatars (assets/NAME.cavatar): every one loads, decodes on the GPU like the PyTorch reference
 * (tools/assets/asset_references.sh, run by the make_asset_references fixture into ./asset_refs) at the decoder's
 * f16 tolerances, and different codes give visibly different faces. Then golden images through the avatar
 * renderer: each avatar neutral and smiling, from the front and from a three-quarter view, compared with
 * tests/golden/avatars/NAME_EXPR_VIEW.png, and a wrong picture (another expression, view or avatar) rejected.
 * The codes are test inputs from each avatar's own encoder (tools/assets/golden_codes.py), committed next to the
 * goldens. The goldens were looked at by eye; regenerate with CAVR_UPDATE_GOLDEN=1 only for an intended change. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "avatar/decoder.h"
#include "golden.h"

#define MAX_AVATARS 8
#define ROWS 5 /* golden_codes.py: neutral@0, smile@0, neutral@40, smile@40, jaw_open@0 */
enum { ROW_NEUTRAL, ROW_SMILE, ROW_NEUTRAL_34, ROW_SMILE_34, ROW_JAW };

static struct gpu_context *ctx;
static struct avatar_kernels *kernels;
static char names[MAX_AVATARS][64];
static int avatar_count;
static const char *src_dir;
/* Goldens: the test scene's rule (test_golden.c). */
static const struct cv_image_match rule = {.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40.0};

static int compare_names(const void *a, const void *b) { return strcmp(a, b); }

static void find_avatars(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/assets", src_dir);
	DIR *d = opendir(path);
	CHECK_MSG(d, "no %s", path);
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d)) && avatar_count < MAX_AVATARS) {
		size_t n = strlen(e->d_name);
		if (n > 8 && n < 64 && strcmp(e->d_name + n - 8, ".cavatar") == 0) {
			/* The dam avatars; the Gaussian sample (family gca) is tested by test_gca and test_splat. */
			char file[4200];
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			struct avatar_file *af = NULL;
			bool dam = avatar_file_open(file, &af) == CV_OK && avatar_family(af) == AVATAR_FAMILY_DAM;
			avatar_file_destroy(&af);
			if (!dam) continue;
			memcpy(names[avatar_count], e->d_name, n - 8);
			names[avatar_count++][n - 8] = 0;
		}
	}
	closedir(d);
	qsort(names, (size_t)avatar_count, sizeof(names[0]), compare_names);
}

/* A tensor as f32, or NULL when it is missing or not `count` values long. */
static float *tensor_copy(struct st_file *f, const char *name, size_t count)
{
	float *v = NULL;
	size_t n = 0;
	if (st_read_f32(f, name, &v, &n) == CV_OK && n != count) {
		free(v);
		v = NULL;
	}
	return v;
}

/* An avatar file, its golden codes (committed) and, when asked, the PyTorch reference of them. */
struct avatar {
	struct avatar_file *file;
	uint32_t latent, vertices, texture;
	float *codes, *views; /* [ROWS][latent], [ROWS][3] */
	float *ref_vertices, *ref_textures;
};

static bool avatar_load(const char *name, bool reference, struct avatar *a)
{
	memset(a, 0, sizeof(*a));
	char path[4096];
	snprintf(path, sizeof(path), "%s/assets/%s.cavatar", src_dir, name);
	CHECK_MSG(avatar_file_open(path, &a->file) == CV_OK, "cannot open %s", path);
	if (!a->file) return false;
	a->latent = avatar_latent_size(a->file);
	const struct st_tensor *vm = avatar_tensor(a->file, "mesh.vert_mean"), *tm = avatar_tensor(a->file, "tex.mean");
	a->vertices = (uint32_t)vm->shape[0];
	a->texture = (uint32_t)tm->shape[0];
	struct st_file *st = NULL;
	snprintf(path, sizeof(path), "%s/tests/golden/avatars/%s.codes.safetensors", src_dir, name);
	CHECK_MSG(st_open(path, &st) == CV_OK, "no golden codes %s (tools/assets/golden_codes.py)", path);
	if (st) {
		a->codes = tensor_copy(st, "codes", (size_t)ROWS * a->latent);
		a->views = tensor_copy(st, "views", ROWS * 3);
		st_close(&st);
	}
	CHECK_MSG(a->codes && a->views, "%s: codes or views of the wrong size", path);
	if (reference) {
		snprintf(path, sizeof(path), "asset_refs/%s.ref.safetensors", name);
		CHECK_MSG(st_open(path, &st) == CV_OK, "no reference %s (the make_asset_references fixture)", path);
		if (st) {
			a->ref_vertices = tensor_copy(st, "vertices", (size_t)ROWS * a->vertices * 3);
			a->ref_textures = tensor_copy(st, "textures", (size_t)ROWS * a->texture * a->texture * 3);
			/* the reference decoded these very codes */
			float *codes = tensor_copy(st, "codes", (size_t)ROWS * a->latent);
			CHECK(codes && a->codes && memcmp(codes, a->codes, (size_t)ROWS * a->latent * sizeof(float)) == 0);
			free(codes);
			st_close(&st);
		}
		CHECK_MSG(a->ref_vertices && a->ref_textures, "%s: reference of the wrong size", path);
		return a->codes && a->views && a->ref_vertices && a->ref_textures;
	}
	return a->codes && a->views;
}

static void avatar_fini(struct avatar *a)
{
	avatar_file_destroy(&a->file);
	free(a->codes);
	free(a->views);
	free(a->ref_vertices);
	free(a->ref_textures);
}

static double mse(const float *a, const float *b, size_t n)
{
	double sq = 0;
	for (size_t i = 0; i < n; i++) sq += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sq / (double)n;
}

static double max_vertex_distance(const float *a, const float *b, uint32_t vertices)
{
	double m = 0;
	for (uint32_t v = 0; v < vertices; v++) {
		double d0 = a[v * 3] - b[v * 3], d1 = a[v * 3 + 1] - b[v * 3 + 1], d2 = a[v * 3 + 2] - b[v * 3 + 2];
		m = fmax(m, sqrt(d0 * d0 + d1 * d1 + d2 * d2));
	}
	return m;
}

static double db(double mse_value) { return mse_value > 0 ? 10 * log10(1.0 / mse_value) : INFINITY; }

static void test_shipped_avatars_found(void)
{
	printf("  %d avatars:", avatar_count);
	for (int i = 0; i < avatar_count; i++) printf(" %s", names[i]);
	printf("\n");
	CHECK_MSG(avatar_count >= 3, "%d avatars in assets/", avatar_count);
}

/* Every code of every avatar decoded in one submission per avatar, against PyTorch; then the codes' faces
 * against each other. */
static void test_decode_against_reference(void)
{
	for (int i = 0; i < avatar_count; i++) {
		struct avatar a;
		struct avatar_model *m = NULL;
		float *pos = NULL, *tex = NULL;
		if (!avatar_load(names[i], true, &a)) goto next;
		CHECK(avatar_latent_size(a.file) >= 64 && avatar_latent_size(a.file) <= 256);
		CHECK(avatar_model_create(ctx, kernels, a.file, &(struct avatar_model_desc){.participants = ROWS}, &m) == CV_OK);
		VkCommandBuffer cmd;
		if (!m || gpu_cmd_begin(ctx, &cmd) != CV_OK) goto next;
		for (uint32_t k = 0; k < ROWS; k++)
			CHECK(avatar_model_set_input(m, k, a.codes + (size_t)k * a.latent, a.latent, a.views + k * 3) == CV_OK);
		CHECK(avatar_model_record(ctx, m, cmd, ROWS, NULL) == CV_OK);
		CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
		size_t nv = (size_t)a.vertices * 3, nt = (size_t)a.texture * a.texture * 3;
		pos = malloc(ROWS * nv * sizeof(float));
		tex = malloc(ROWS * nt * sizeof(float));
		double worst_noise = 0;
		for (uint32_t k = 0; k < ROWS; k++) {
			CHECK(avatar_model_read(ctx, m, k, pos + k * nv, tex + k * nt) == CV_OK);
			double e = mse(tex + k * nt, a.ref_textures + k * nt, nt);
			double dv = max_vertex_distance(pos + k * nv, a.ref_vertices + k * nv, a.vertices);
			printf("  %s code %u: texture PSNR %.1f dB against PyTorch, vertices within %.2g mm\n", names[i], k, db(e),
			       dv * 1e3);
			CHECK_MSG(db(e) >= 45.0, "%s code %u: texture PSNR %.2f dB", names[i], k, db(e));
			CHECK_MSG(dv < 1e-4, "%s code %u: vertex error %.4f mm", names[i], k, dv * 1e3);
			worst_noise = fmax(worst_noise, e);
		}
		/* Different codes, different faces: each expression against neutral (same view) moves the mesh by
		 * millimetres and the texture by far more than the GPU's distance from PyTorch. */
		const struct {
			uint32_t row, base;
			const char *what;
			double min_mm;
		} pairs[] = {{ROW_SMILE, ROW_NEUTRAL, "smile", 2.0}, {ROW_SMILE_34, ROW_NEUTRAL_34, "smile (3/4 view)", 2.0},
		             {ROW_JAW, ROW_NEUTRAL, "jaw open", 10.0}};
		for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
			double dv = max_vertex_distance(pos + pairs[p].row * nv, pos + pairs[p].base * nv, a.vertices);
			double e = mse(tex + pairs[p].row * nt, tex + pairs[p].base * nt, nt);
			printf("  %s: %s against neutral: mesh moves up to %.1f mm, texture PSNR %.1f dB (%.0fx the noise)\n",
			       names[i], pairs[p].what, dv * 1e3, db(e), e / fmax(worst_noise, 1e-12));
			CHECK_MSG(dv * 1e3 > pairs[p].min_mm, "%s: %s moves the mesh by %.2f mm", names[i], pairs[p].what, dv * 1e3);
			CHECK_MSG(e > 20 * worst_noise && db(e) < 50.0, "%s: %s changes the texture by %.1f dB", names[i],
			          pairs[p].what, db(e));
		}
		/* Skin, not a grey mask: the face region (u, v < 0.75) is clearly warmer than it is blue, and textured. */
		double r = 0, b = 0, sq = 0, mean = 0;
		uint64_t n = 0;
		uint32_t t = a.texture, face = t * 3 / 4;
		for (uint32_t y = 0; y < face; y++)
			for (uint32_t x = 0; x < face; x++) {
				const float *px = &tex[((size_t)y * t + x) * 3];
				r += px[0], b += px[2], mean += px[1], sq += (double)px[1] * px[1], n++;
			}
		r /= (double)n, b /= (double)n, mean /= (double)n;
		double sd = sqrt(fmax(sq / (double)n - mean * mean, 0));
		printf("  %s: face texture mean red %.2f, blue %.2f, green std %.3f\n", names[i], r, b, sd);
		CHECK_MSG(r > b + 0.05 && sd > 0.02, "%s: the face texture looks grey (red %.2f blue %.2f std %.3f)", names[i],
		          r, b, sd);
	next:
		free(pos);
		free(tex);
		avatar_model_destroy(ctx, &m);
		avatar_fini(&a);
	}
}

/* A scene showing one decoded avatar with a fixed code from a fixed camera. */
struct still_scene {
	struct app_scene base;
	struct avatar_model *model; /* borrowed */
	struct render_avatar *renderer;
	const float *code;
	uint32_t latent;
	float angle_deg;
	vec3 centre;
	float radius;
};

static enum cv_result still_prepare(struct app_scene *s, struct gpu_context *c, const struct render_target_desc *t)
{
	struct still_scene *a = (struct still_scene *)s;
	render_avatar_destroy(c, &a->renderer);
	return render_avatar_create(c, t, &a->renderer);
}

/* The face fills most of the picture: the camera looks at a point between the eyes and the mouth. */
static void still_camera(struct app_scene *s, float time_s, float aspect, struct render_view *out)
{
	(void)time_s;
	struct still_scene *a = (struct still_scene *)s;
	float angle = glm_rad(a->angle_deg), d = a->radius * 3.2f;
	vec3 target = {a->centre[0], a->centre[1] + 0.3f * a->radius, a->centre[2]};
	vec3 eye = {target[0] + d * sinf(angle), target[1] + 0.1f * a->radius, target[2] + d * cosf(angle)};
	render_view_look_at(out, eye, target, 22.0f, aspect);
}

static enum cv_result still_update(struct app_scene *s, struct gpu_context *c, VkCommandBuffer cmd,
                                   const struct render_views *views, float time_s)
{
	(void)time_s;
	struct still_scene *a = (struct still_scene *)s;
	vec3 dir;
	glm_vec3_sub((float *)views->view[0].eye, a->centre, dir);
	CV_TRY(avatar_model_set_input(a->model, 0, a->code, a->latent, dir));
	mat4 head = GLM_MAT4_IDENTITY_INIT;
	render_avatar_set_poses(cmd, a->renderer, &head, 1);
	return avatar_model_record(c, a->model, cmd, 1, NULL);
}

static void still_draw(struct app_scene *s, struct gpu_context *c, VkCommandBuffer cmd, const struct gpu_buffer *views,
                       float time_s)
{
	(void)time_s;
	struct still_scene *a = (struct still_scene *)s;
	struct avatar_outputs out;
	avatar_model_outputs(a->model, 0, &out);
	render_avatar_draw(c, cmd, a->renderer, views, 0, &out);
}

static void still_destroy(struct app_scene *s, struct gpu_context *c)
{
	render_avatar_destroy(c, &((struct still_scene *)s)->renderer);
}

static void mesh_bounds(const struct avatar_file *f, vec3 centre, float *radius)
{
	const struct st_tensor *t = avatar_tensor(f, "mesh.vert_mean");
	float *v = malloc(t->count * sizeof(float));
	vec3 lo = {INFINITY, INFINITY, INFINITY}, hi = {-INFINITY, -INFINITY, -INFINITY};
	if (v && st_tensor_to_f32(t, v, t->count) == CV_OK)
		for (size_t i = 0; i + 2 < t->count; i += 3) {
			glm_vec3_minv(lo, &v[i], lo);
			glm_vec3_maxv(hi, &v[i], hi);
		}
	free(v);
	glm_vec3_center(lo, hi, centre);
	*radius = 0.5f * glm_vec3_distance(lo, hi);
}

static enum cv_result render_still(struct presenter *p, struct still_scene *scene, const float *code, float angle_deg,
                                   struct cv_image *out)
{
	scene->code = code;
	scene->angle_deg = angle_deg;
	CV_TRY(app_run(ctx, p, &scene->base,
	               &(struct app_loop_desc){.frames = 1, .fixed_fps = 30, .samples = VK_SAMPLE_COUNT_4_BIT}));
	const struct cv_image *img = offscreen_image(p);
	CV_TRY(cv_image_init(out, img->width, img->height));
	memcpy(out->pixels, img->pixels, (size_t)img->width * img->height * 4);
	return CV_OK;
}

static void test_goldens(void)
{
	struct presenter *p = NULL;
	CHECK(offscreen_create(ctx, &(struct offscreen_desc){.width = 160, .height = 160}, &p) == CV_OK);
	if (!p) return;
	struct cv_image first_neutral = {0};
	for (int i = 0; i < avatar_count; i++) {
		struct avatar a;
		struct avatar_model *m = NULL;
		if (!avatar_load(names[i], false, &a)) {
			avatar_fini(&a);
			continue;
		}
		CHECK(avatar_model_create(ctx, kernels, a.file, &(struct avatar_model_desc){0}, &m) == CV_OK);
		struct still_scene scene = {
			.base = {.prepare = still_prepare, .camera = still_camera, .update = still_update, .draw = still_draw,
			         .destroy = still_destroy, .clear_color = {0.05f, 0.055f, 0.06f, 1.0f}},
			.model = m,
			.latent = a.latent,
		};
		mesh_bounds(a.file, scene.centre, &scene.radius);
		struct cv_image shot[2][2] = {0}; /* [expression][view] */
		const char *expr[2] = {"neutral", "smile"}, *view[2] = {"front", "threequarter"};
		const float angle[2] = {0.0f, 40.0f};
		for (int e = 0; m && e < 2; e++)
			for (int v = 0; v < 2; v++) {
				char name[1024];
				snprintf(name, sizeof(name), "avatars/%s_%s_%s", names[i], expr[e], view[v]);
				CHECK(render_still(p, &scene, a.codes + (size_t)(e ? ROW_SMILE : ROW_NEUTRAL) * a.latent, angle[v],
				                   &shot[e][v]) == CV_OK);
				if (!shot[e][v].pixels) continue;
				struct cv_image golden;
				test_golden_check(&shot[e][v], name, &rule, &golden);
				cv_image_fini(&golden);
				/* the face is in the picture: the centre is not the clear colour */
				const uint8_t *c = &shot[e][v].pixels[(80 * 160 + 80) * 4];
				CHECK_MSG(c[0] > 40, "%s: the centre pixel is %u,%u,%u", name, c[0], c[1], c[2]);
			}
		/* Wrong pictures are rejected: the smile against the neutral golden, the other view, another avatar. */
		struct cv_image neutral_golden;
		char path[4096];
		snprintf(path, sizeof(path), "%s/tests/golden/avatars/%s_neutral_front.png", src_dir, names[i]);
		if (cv_image_load_png(path, &neutral_golden) == CV_OK) {
			struct cv_image_diff d;
			if (shot[1][0].pixels && cv_image_diff(&shot[1][0], &neutral_golden, rule.tolerance, &d) == CV_OK)
				printf("  %s: smile render against the neutral golden: %.2f %% of pixels off, PSNR %.1f dB\n",
				       names[i], d.fraction_over * 100, d.psnr_db);
			CHECK(shot[1][0].pixels && cv_image_match(&shot[1][0], &neutral_golden, &rule,
			                                          "smile against the neutral golden (expected to differ)") ==
			                               CV_ERROR_MISMATCH);
			CHECK(shot[0][1].pixels && cv_image_match(&shot[0][1], &neutral_golden, &rule,
			                                          "three-quarter view against the front golden (expected to differ)") ==
			                               CV_ERROR_MISMATCH);
			if (first_neutral.pixels)
				CHECK(cv_image_match(&first_neutral, &neutral_golden, &rule,
				                     "another avatar against this one's golden (expected to differ)") ==
				      CV_ERROR_MISMATCH);
			cv_image_fini(&neutral_golden);
		}
		if (!first_neutral.pixels && shot[0][0].pixels) {
			first_neutral = shot[0][0];
			shot[0][0].pixels = NULL;
		}
		for (int e = 0; e < 2; e++)
			for (int v = 0; v < 2; v++) cv_image_fini(&shot[e][v]);
		still_destroy(&scene.base, ctx);
		avatar_model_destroy(ctx, &m);
		avatar_fini(&a);
	}
	cv_image_fini(&first_neutral);
	presenter_destroy(&p);
}

int main(void)
{
	src_dir = getenv("CAVR_SOURCE_DIR");
	if (!src_dir) src_dir = ".";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	if (avatar_kernels_create(ctx, NULL, &kernels) != CV_OK) return EXIT_FAILURE;
	find_avatars();
	RUN(test_shipped_avatars_found);
	RUN(test_decode_against_reference);
	RUN(test_goldens);
	avatar_kernels_destroy(ctx, &kernels);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
