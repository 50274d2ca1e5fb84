/* The built-in test scene as an app_scene. */
#include <stdlib.h>

#include "app.h"

struct test_scene {
	struct app_scene base;
	struct render_testscene *scene;
	float angle_deg;
};

static enum cv_result test_prepare(struct app_scene *s, struct gpu_context *ctx, const struct render_target_desc *target)
{
	struct test_scene *t = (struct test_scene *)s;
	render_testscene_destroy(ctx, &t->scene);
	return render_testscene_create(ctx, target, &t->scene);
}

static void test_camera(struct app_scene *s, float time_s, float aspect, struct render_view *out)
{
	render_testscene_camera(out, ((struct test_scene *)s)->angle_deg + 10.0f * time_s, aspect);
}

static enum cv_result test_update(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
                                  const struct render_views *views, float time_s)
{
	(void)ctx;
	(void)views;
	render_testscene_update(cmd, ((struct test_scene *)s)->scene, time_s);
	return CV_OK;
}

static void test_draw(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd, const struct gpu_buffer *views,
                      float time_s)
{
	(void)time_s;
	render_testscene_draw(ctx, cmd, ((struct test_scene *)s)->scene, views);
}

static void test_destroy(struct app_scene *s, struct gpu_context *ctx)
{
	struct test_scene *t = (struct test_scene *)s;
	render_testscene_destroy(ctx, &t->scene);
	free(t);
}

enum cv_result app_testscene_create(float camera_angle_deg, struct app_scene **out)
{
	struct test_scene *t = calloc(1, sizeof(*t));
	if (!t) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "test scene");
	t->base = (struct app_scene){
		.prepare = test_prepare,
		.camera = test_camera,
		.update = test_update,
		.draw = test_draw,
		.destroy = test_destroy,
		.clear_color = {0.02f, 0.025f, 0.035f, 1.0f},
	};
	t->angle_deg = camera_angle_deg;
	*out = &t->base;
	return CV_OK;
}
