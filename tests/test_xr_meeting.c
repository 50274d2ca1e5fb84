/* cavr playing the demo meeting in a headset: the simulated OpenXR runtime (xr/simruntime) through the Khronos
 * loader, with the OpenXR core validation layer and Vulkan validation on. A scripted user (tests/xr/meeting.simxr)
 * looks at the table, pinches at kofi (selects him), drags him round the table with a fist, and the runtime loses
 * the session half-way: cavr must recover and play on; at the end both hands pinch and the view recentres. Both eyes of a late frame are compared with goldens
 * (tests/golden/xr/, checked by eye; CAVR_UPDATE_GOLDEN=1 rewrites them) and must differ by the eyes' parallax. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "meet/meet.h"
#include "golden.h"
#include "simxr.h"
#include "xr.h"

#define FRAMES 350
#define CAPTURED 290

static const struct cv_image_match rule = {.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40.0};

static void eye_golden(const char *dir, const char *eye, struct cv_image *out)
{
	char captured[600], name[64];
	snprintf(captured, sizeof(captured), "%s/f%05u-%s.png", dir, CAPTURED, eye);
	snprintf(name, sizeof(name), "xr/meeting_%s", eye);
	CHECK_MSG(cv_image_load_png(captured, out) == CV_OK, "no captured %s eye (%s)", eye, captured);
	struct cv_image g = {0};
	test_golden_check(out, name, &rule, &g);
	cv_image_fini(&g);
}

static void test_meeting_in_headset(void)
{
	char dir[256], conf[300], log[300], script[4096];
	CHECK(test_scratch_dir("cavr-xr-meeting", dir, sizeof(dir)));
	test_source_path("tests/xr/meeting.simxr", script, sizeof(script));
	snprintf(conf, sizeof(conf), "%s/simxr.conf", dir);
	FILE *f = fopen(conf, "w");
	CHECK(f != NULL);
	if (!f) return;
	fprintf(f, "resolution = 192x192\nrefresh_hz = 30\nipd = 0.064\nscript = %s\ncapture = %s/f{frame}-{eye}.png\n"
	           "capture_frames = %u\nlog = error\n", script, dir, CAPTURED);
	fclose(f);
	setenv("CAVR_SIMXR_CONFIG", conf, 1);
	/* The OpenXR layer's findings go to a file that must stay empty. */
	snprintf(log, sizeof(log), "%s/xr-validation.txt", dir);
	setenv("XR_CORE_VALIDATION_EXPORT_TYPE", "text", 1);
	setenv("XR_CORE_VALIDATION_FILE_NAME", log, 1);

	struct gpu_context *ctx = NULL;
	struct presenter *p = NULL;
	struct app_scene *scene = NULL;
	struct meet_feed *feed = NULL;
	char demo[4096];
	test_source_path("assets/sessions/demo-meeting.cavrec", demo, sizeof(demo));
	CHECK(xr_presenter_create(&(struct xr_desc){.validation = true}, &ctx, &p) == CV_OK);
	CHECK(meet_playback_create(demo, NULL, &feed) == CV_OK);
	if (!p || !feed) {
		meet_feed_destroy(&feed);
		goto done;
	}
	CHECK(app_meeting_scene_create(feed, &(struct app_meeting_options){.start_s = 5.0}, &scene) == CV_OK);
	float kofi_before = app_meeting_seat_angle(scene, 1);
	CHECK(app_run(ctx, p, scene, &(struct app_loop_desc){.frames = FRAMES, .fixed_fps = 30,
	                                                   .samples = VK_SAMPLE_COUNT_4_BIT}) == CV_OK);
	/* The pinch selected kofi (participant 1), and the fist moved him round the table. */
	CHECK_MSG(app_meeting_selected(scene) == 1, "selected participant %d, wanted kofi (1)", app_meeting_selected(scene));
	float moved = app_meeting_seat_angle(scene, 1) - kofi_before;
	printf("kofi's seat moved by %.1f degrees\n", glm_deg(moved));
	CHECK_MSG(moved > glm_rad(30.0f) && moved < glm_rad(90.0f), "kofi's seat moved by %.1f degrees", glm_deg(moved));
	CHECK_MSG(app_meeting_seat_angle(scene, 0) == app_meeting_seat_angle(scene, 0) &&
	          fabsf(app_meeting_seat_angle(scene, 0) - (float)M_PI / 2) < 1e-5f, "ana moved");
	/* The session was lost at 6 s and cavr made a second one, then played to the end. */
	CHECK_MSG(xr_presenter_sessions(p) == 2, "%u sessions", xr_presenter_sessions(p));
	/* Every drawn frame of the second session went with both eyes' depth (XR_KHR_composition_layer_depth); the
	 * session's first frames, before it is visible, end without layers. */
	struct simxr_stats sx;
	CHECK(simxr_get_stats(&sx) == 0);
	printf("second session: %llu frames ended, %llu views with depth\n", (unsigned long long)sx.frames_ended,
	       (unsigned long long)sx.depth_views);
	CHECK(sx.frames_ended > 100 && sx.depth_views % 2 == 0 && sx.depth_views >= 2 * (sx.frames_ended - 3));
	CHECK(fabs(app_meeting_time(scene) - (5.0 + (FRAMES - 1) / 30.0)) < 0.2);
	/* Both hands pinched from 10.2 s: the head, turned 12 degrees and 0 m off the seat, is recentred there. */
	vec3 eye, forward;
	app_meeting_viewer(scene, eye, forward);
	printf("viewer after recentring: eye %.3f %.3f %.3f, forward %.3f %.3f %.3f\n", eye[0], eye[1], eye[2], forward[0],
	       forward[1], forward[2]);
	CHECK_MSG(fabsf(forward[0]) < 0.01f && forward[2] < -0.9f, "not facing the table after recentring");
	CHECK(fabsf(eye[0]) < 0.05f && fabsf(eye[2] - 1.22f) < 0.05f);
	struct cv_image left = {0}, right = {0};
	eye_golden(dir, "left", &left);
	eye_golden(dir, "right", &right);
	if (left.pixels && right.pixels) {
		struct cv_image_diff d;
		CHECK(cv_image_diff(&left, &right, 8, &d) == CV_OK);
		CHECK_MSG(d.pixels_over > left.width * left.height / 50, "the eyes barely differ (%llu pixels)",
		          (unsigned long long)d.pixels_over);
	}
	cv_image_fini(&left);
	cv_image_fini(&right);
done:
	if (ctx) CHECK_MSG(ctx->validation_messages == 0, "%u Vulkan validation messages", ctx->validation_messages);
	app_scene_destroy(&scene, ctx);
	presenter_destroy(&p); /* owns ctx */
	struct stat st;
	CHECK_MSG(stat(log, &st) != 0 || st.st_size == 0, "the OpenXR validation layer reported problems: see %s", log);
}

int main(void)
{
	if (!getenv("XR_RUNTIME_JSON")) {
		fprintf(stderr, "XR_RUNTIME_JSON must name the simulated runtime's manifest (CTest sets it)\n");
		return EXIT_FAILURE;
	}
	RUN(test_meeting_in_headset);
	return test_finish();
}
