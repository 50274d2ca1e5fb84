/* The avatar viewer: one decoded avatar, its expression drifting between codes, seen from an orbiting camera.
 * The decoder is view-conditioned on the camera, so each frame decodes for the current view. A dam avatar is a
 * textured mesh; a gca avatar is decoded into Gaussians and splatted as the meeting scene does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "avatar/decoder.h"
#include "avatar/gca.h"
#include "render/splat.h"

struct avatar_scene {
	struct app_scene base;
	struct avatar_file *file;
	struct avatar_kernels *kernels;
	struct avatar_model *model;
	struct render_avatar *renderer;
	bool gaussian; /* family gca: the model and renderer below instead */
	struct gca_kernels *gca_kernels;
	struct gca_model *gca;
	struct splat_renderer *splats;
	VkExtent2D extent;
	float *code, *mean, *std_dev;
	uint32_t latent, seed;
	bool animate;
	vec3 centre;  /* of the mean mesh, in metres */
	float radius; /* bounding sphere of the mean mesh */
};

/* A deterministic normal sample per (seed, index). */
static float normal_sample(uint32_t seed, uint32_t i)
{
	uint64_t s = (uint64_t)seed * 0x9E3779B97F4A7C15ull + i * 0xD1B54A32D192ED03ull + 1;
	s ^= s >> 33;
	s *= 0xff51afd7ed558ccdull;
	s ^= s >> 33;
	double u1 = ((s >> 11) + 1.0) / 9007199254740993.0;
	s *= 0xc4ceb9fe1a85ec53ull;
	s ^= s >> 33;
	double u2 = (s >> 11) / 9007199254740992.0;
	return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

/* The expression at time t: smooth blends between random codes two seconds apart, scaled by the code statistics. */
static void code_at(struct avatar_scene *a, float time_s)
{
	float k = a->animate ? time_s / 2.0f : 0.0f, f = k - floorf(k);
	uint32_t step = (uint32_t)floorf(k);
	float w = f * f * (3 - 2 * f);
	for (uint32_t i = 0; i < a->latent; i++) {
		float z = (1 - w) * normal_sample(a->seed + step, i) + w * normal_sample(a->seed + step + 1, i);
		a->code[i] = a->mean[i] + a->std_dev[i] * z;
	}
}

static enum cv_result avatar_prepare(struct app_scene *s, struct gpu_context *ctx, const struct render_target_desc *target)
{
	struct avatar_scene *a = (struct avatar_scene *)s;
	render_avatar_destroy(ctx, &a->renderer);
	splat_renderer_destroy(ctx, &a->splats);
	if (a->gaussian) {
		if (!a->gca_kernels) CV_TRY(gca_kernels_create(ctx, NULL, &a->gca_kernels));
		if (!a->gca) CV_TRY(gca_model_create(ctx, a->gca_kernels, a->file, &(struct avatar_model_desc){0}, &a->gca));
		return splat_renderer_create(ctx, target, gca_model_gaussian_count(a->gca), &a->splats);
	}
	if (!a->kernels) CV_TRY(avatar_kernels_create(ctx, NULL, &a->kernels));
	if (!a->model) CV_TRY(avatar_model_create(ctx, a->kernels, a->file, &(struct avatar_model_desc){0}, &a->model));
	return render_avatar_create(ctx, target, &a->renderer);
}

static void avatar_camera(struct app_scene *s, float time_s, float aspect, struct render_view *out)
{
	struct avatar_scene *a = (struct avatar_scene *)s;
	float angle = glm_rad(40.0f * sinf(time_s * 0.6f)); /* swing between the two three-quarter views */
	float d = a->radius * 3.2f;
	vec3 eye = {a->centre[0] + d * sinf(angle), a->centre[1] + 0.15f * a->radius, a->centre[2] + d * cosf(angle)};
	render_view_look_at(out, eye, a->centre, 30.0f, aspect);
}

static enum cv_result avatar_update(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
                                    const struct render_views *views, float time_s)
{
	struct avatar_scene *a = (struct avatar_scene *)s;
	/* One decode for a stereo pair, from the centre eye (see README: the eyes differ from it by ~60 dB). The head
	 * stands at the origin of its own frame, so the view direction is the camera minus the head centre. */
	vec3 eye, dir;
	glm_vec3_copy((float *)views->view[0].eye, eye);
	if (views->count > 1) glm_vec3_center((float *)views->view[0].eye, (float *)views->view[1].eye, eye);
	glm_vec3_sub(eye, a->centre, dir);
	code_at(a, time_s);
	if (a->gaussian) {
		CV_TRY(gca_model_set_input(a->gca, 0, a->code, a->latent, dir));
		CV_TRY(gca_model_record(ctx, a->gca, cmd, 1, NULL));
		struct gca_outputs o;
		gca_model_outputs(a->gca, 0, &o);
		struct splat_source src = {.gaussians = o.gaussians, .offset = o.offset, .count = o.count};
		glm_mat4_identity(src.pose);
		struct render_view sort_view;
		splat_sort_view(views, &sort_view);
		a->extent = views->extent;
		return splat_cmd_prepare(ctx, cmd, a->splats, &src, 1, &sort_view, NULL, 0);
	}
	CV_TRY(avatar_model_set_input(a->model, 0, a->code, a->latent, dir));
	mat4 head = GLM_MAT4_IDENTITY_INIT;
	render_avatar_set_poses(cmd, a->renderer, &head, 1);
	return avatar_model_record(ctx, a->model, cmd, 1, NULL);
}

static void avatar_draw(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
                        const struct gpu_buffer *views, float time_s)
{
	(void)time_s;
	struct avatar_scene *a = (struct avatar_scene *)s;
	if (a->gaussian) {
		splat_cmd_draw(ctx, cmd, a->splats, views, a->extent);
		return;
	}
	struct avatar_outputs out;
	avatar_model_outputs(a->model, 0, &out);
	render_avatar_draw(ctx, cmd, a->renderer, views, 0, &out);
}

static void avatar_destroy(struct app_scene *s, struct gpu_context *ctx)
{
	struct avatar_scene *a = (struct avatar_scene *)s;
	render_avatar_destroy(ctx, &a->renderer);
	splat_renderer_destroy(ctx, &a->splats);
	gca_model_destroy(ctx, &a->gca);
	gca_kernels_destroy(ctx, &a->gca_kernels);
	avatar_model_destroy(ctx, &a->model);
	avatar_kernels_destroy(ctx, &a->kernels);
	avatar_file_destroy(&a->file);
	free(a->code);
	free(a->mean);
	free(a->std_dev);
	free(a);
}

/* Code statistics from the file when it has them, else a standard normal per dimension. */
static enum cv_result load_code_stats(struct avatar_scene *a)
{
	const struct st_tensor *mean = avatar_tensor(a->file, "code.mean"), *std_dev = avatar_tensor(a->file, "code.std");
	for (uint32_t i = 0; i < a->latent; i++) {
		a->mean[i] = 0.0f;
		a->std_dev[i] = 1.0f;
	}
	if (mean && std_dev) {
		CV_TRY(st_tensor_to_f32(mean, a->mean, a->latent));
		CV_TRY(st_tensor_to_f32(std_dev, a->std_dev, a->latent));
	}
	return CV_OK;
}

/* The camera frames the mean mesh (dam) or the Gaussians' template surface (gca), both metres in the head frame. */
static enum cv_result head_bounds(struct avatar_scene *a)
{
	const struct st_tensor *t = avatar_tensor(a->file, a->gaussian ? "gaussian.template" : "mesh.vert_mean");
	if (!t) return CV_FAIL(CV_ERROR_FORMAT, "%s has no %s to frame", avatar_name(a->file),
	                       a->gaussian ? "gaussian.template" : "mesh.vert_mean");
	float *v = malloc(t->count * sizeof(float));
	if (!v) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "mesh bounds");
	enum cv_result r = st_tensor_to_f32(t, v, t->count);
	vec3 lo = {INFINITY, INFINITY, INFINITY}, hi = {-INFINITY, -INFINITY, -INFINITY};
	for (size_t i = 0; r == CV_OK && i + 2 < t->count; i += 3) {
		glm_vec3_minv(lo, &v[i], lo);
		glm_vec3_maxv(hi, &v[i], hi);
	}
	glm_vec3_center(lo, hi, a->centre);
	a->radius = fmaxf(0.5f * glm_vec3_distance(lo, hi), 1e-3f);
	free(v);
	return r;
}

enum cv_result app_avatar_scene_create(const char *path, uint32_t seed, bool animate, struct app_scene **out)
{
	*out = NULL;
	struct avatar_scene *a = calloc(1, sizeof(*a));
	if (!a) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "avatar scene");
	a->base = (struct app_scene){
		.prepare = avatar_prepare,
		.camera = avatar_camera,
		.update = avatar_update,
		.draw = avatar_draw,
		.destroy = avatar_destroy,
		.clear_color = {0.05f, 0.055f, 0.06f, 1.0f},
	};
	a->seed = seed;
	a->animate = animate;
	enum cv_result r = avatar_file_open(path, &a->file);
	if (r == CV_OK) {
		a->gaussian = avatar_family(a->file) == AVATAR_FAMILY_GCA;
		a->latent = avatar_latent_size(a->file);
		a->code = calloc(a->latent, sizeof(float));
		a->mean = calloc(a->latent, sizeof(float));
		a->std_dev = calloc(a->latent, sizeof(float));
		r = a->code && a->mean && a->std_dev ? load_code_stats(a) : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "codes");
	}
	if (r == CV_OK) r = head_bounds(a);
	if (r != CV_OK) {
		avatar_destroy(&a->base, NULL);
		return r;
	}
	*out = &a->base;
	return CV_OK;
}
