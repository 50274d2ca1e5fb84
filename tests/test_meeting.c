/* The meeting renderer on the shipped demo meeting (assets/sessions/demo-meeting.cavrec): golden images at fixed
 * times (the seat view, where the two side participants are seen in three-quarter view, a close-up with hands
 * beside the face, and the mixed meeting with a Gaussian participant), proof that the comparison rejects other pictures, 2x playback and seeking landing on
 * the same frames as straight playback, a participant whose avatar is missing, and the meeting in a real window.
 * Goldens live in tests/golden/meeting/ and were checked by eye; CAVR_UPDATE_GOLDEN=1 rewrites them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "meet/meet.h"
#include "golden.h"

static struct gpu_context *ctx;
static char demo[4096];
static const struct cv_image_match rule = {.tolerance = 8, .max_fraction = 0.005, .min_psnr_db = 40.0};

struct shot {
	const char *session;
	double start, speed;
	uint32_t frames;
	int32_t closeup; /* participant to orbit close to, -1: the seat view */
};

static enum cv_result render(const struct shot *s, struct presenter *p, struct cv_image *out)
{
	struct meet_feed *feed = NULL;
	CV_TRY(meet_playback_create(s->session ? s->session : demo, NULL, &feed));
	struct app_scene *scene = NULL;
	struct app_meeting_options o = {.start_s = s->start, .speed = s->speed};
	CV_TRY(app_meeting_scene_create(feed, &o, &scene));
	if (s->closeup >= 0) {
		app_meeting_input(scene, &(struct meeting_input){.action = MEETING_CAMERA_NEXT});
		app_meeting_input(scene, &(struct meeting_input){.action = MEETING_SELECT, .value = (float)s->closeup});
	}
	bool own = !p;
	enum cv_result r = own ? offscreen_create(ctx, &(struct offscreen_desc){.width = 320, .height = 180}, &p) : CV_OK;
	if (r == CV_OK)
		r = app_run(ctx, p, scene, &(struct app_loop_desc){.frames = s->frames ? s->frames : 1, .fixed_fps = 30,
		                                                  .samples = VK_SAMPLE_COUNT_4_BIT});
	app_scene_destroy(&scene, ctx);
	if (r == CV_OK && out) {
		const struct cv_image *img = offscreen_image(p);
		r = cv_image_init(out, img->width, img->height);
		if (r == CV_OK) memcpy(out->pixels, img->pixels, (size_t)img->width * img->height * 4);
	}
	if (own) presenter_destroy(&p);
	return r;
}

/* Renders a shot and checks it against tests/golden/meeting/NAME.png; leaves the render and the golden to the
 * caller (who frees both). */
static void check_golden(const struct shot *s, const char *name, struct cv_image *actual, struct cv_image *golden)
{
	char golden_name[256];
	snprintf(golden_name, sizeof(golden_name), "meeting/%s", name);
	*actual = (struct cv_image){0};
	CHECK(render(s, NULL, actual) == CV_OK);
	test_golden_check(actual, golden_name, &rule, golden);
}

static void test_goldens(void)
{
	struct cv_image actual, golden, other;
	/* The seat view at 5 s: kofi across the table, ana and ines at the sides in three-quarter view. */
	check_golden(&(struct shot){.start = 5.0, .closeup = -1}, "seat_5s", &actual, &golden);
	/* Half a second later the faces, heads and hands have moved: that picture must be rejected. */
	CHECK(render(&(struct shot){.start = 5.5, .closeup = -1}, NULL, &other) == CV_OK);
	CHECK(cv_image_match(&other, &golden, &rule, "the meeting at 5.5 s against 5 s (expected to differ)") ==
	      CV_ERROR_MISMATCH);
	/* So must the golden with kofi's face (the centre of the picture) darkened. */
	for (uint32_t y = 60; y < 80; y++)
		for (uint32_t x = 150; x < 170; x++)
			for (int c = 0; c < 3; c++) golden.pixels[(y * golden.width + x) * 4 + c] /= 2;
	CHECK(cv_image_match(&actual, &golden, &rule, "the golden with a darkened face (expected to differ)") ==
	      CV_ERROR_MISMATCH);
	cv_image_fini(&actual);
	cv_image_fini(&golden);
	cv_image_fini(&other);
	/* Close to kofi at 15.9 s, his left hand 34 cm from his head: face, hands and arms in one picture. */
	check_golden(&(struct shot){.start = 15.9, .closeup = 1}, "kofi_hands_15s", &actual, &golden);
	cv_image_fini(&actual);
	cv_image_fini(&golden);
	/* The mixed meeting at 5 s: ana as a Gaussian avatar (splats, on the left) beside kofi and ines as meshes. */
	char mixed[4096];
	test_source_path("assets/sessions/mixed-meeting.cavrec", mixed, sizeof(mixed));
	check_golden(&(struct shot){.session = mixed, .start = 5.0, .closeup = -1}, "mixed_5s", &actual, &golden);
	cv_image_fini(&actual);
	cv_image_fini(&golden);
	/* The seat view at 25 s. */
	check_golden(&(struct shot){.start = 25.0, .closeup = -1}, "seat_25s", &actual, &golden);
	cv_image_fini(&actual);
	cv_image_fini(&golden);
}

/* The frame at 10 s, reached by playing from 9 s at 1x, from 8 s at 2x, and by starting there (a seek), is the
 * same picture to the bit: poses, codes and view-conditioned decodes depend on the time only. */
static void test_speed_and_seek_equivalence(void)
{
	struct cv_image straight, doubled, seeked;
	CHECK(render(&(struct shot){.start = 9.0, .speed = 1.0, .frames = 31, .closeup = -1}, NULL, &straight) == CV_OK);
	CHECK(render(&(struct shot){.start = 8.0, .speed = 2.0, .frames = 31, .closeup = -1}, NULL, &doubled) == CV_OK);
	CHECK(render(&(struct shot){.start = 10.0, .frames = 1, .closeup = -1}, NULL, &seeked) == CV_OK);
	struct cv_image_diff d;
	CHECK(cv_image_diff(&straight, &doubled, 0, &d) == CV_OK);
	CHECK_MSG(d.pixels_over == 0, "2x playback differs from 1x at 10 s in %llu pixels", (unsigned long long)d.pixels_over);
	CHECK(cv_image_diff(&straight, &seeked, 0, &d) == CV_OK);
	CHECK_MSG(d.pixels_over == 0, "seeking to 10 s differs from playing to it in %llu pixels",
	          (unsigned long long)d.pixels_over);
	cv_image_fini(&straight);
	cv_image_fini(&doubled);
	cv_image_fini(&seeked);

	/* The same at the feed: stepping at 60 Hz, at 30 Hz, and jumping around give identical participants. */
	struct meet_feed *a = NULL, *b = NULL;
	CHECK(meet_playback_create(demo, NULL, &a) == CV_OK);
	CHECK(meet_playback_create(demo, NULL, &b) == CV_OK);
	if (!a || !b) goto done;
	uint32_t mismatches = 0;
	const double jumps[] = {30.0, 2.0, 17.5, 17.4, 35.0, 0.0};
	for (int k = 0; k < 6; k++) CHECK(b->update(b, jumps[k]) == CV_OK);
	for (int f = 0; f <= 600; f++) { /* 0..10 s */
		double t = f / 60.0;
		CHECK(a->update(a, t) == CV_OK);
		if (f % 2 == 0 || f == 600) {
			CHECK(b->update(b, t) == CV_OK);
			for (uint32_t i = 0; i < a->count; i++) {
				const struct meet_participant *pa = &a->participants[i], *pb = &b->participants[i];
				bool same = pa->has_frame == pb->has_frame && pa->code_version == pb->code_version &&
				            !memcmp(&pa->head, &pb->head, sizeof(pa->head)) &&
				            !memcmp(pa->hands, pb->hands, sizeof(pa->hands)) &&
				            !memcmp(pa->code, pb->code, pa->code_floats * sizeof(float));
				mismatches += !same;
			}
		}
	}
	CHECK_MSG(mismatches == 0, "%u participant states differ between stepping paths", mismatches);
	CHECK(a->participants[0].has_frame && a->participants[0].status == MEET_ACTIVE);
	CHECK(a->count == 3 && !strcmp(a->participants[1].name, "kofi"));
done:
	meet_feed_destroy(&a);
	meet_feed_destroy(&b);
}

/* A recording naming an avatar file that is not there (or differs) still plays: that participant is a placeholder
 * and the others are drawn. */
static void test_missing_avatar(void)
{
	struct session_reader *in = NULL;
	struct session_writer *out = NULL;
	CHECK(session_reader_open(demo, &in) == CV_OK);
	if (!in) return;
	struct session_participant ps[3];
	for (int i = 0; i < 3; i++) ps[i] = *session_reader_participant(in, (size_t)i);
	ps[1].avatar_hash[0] ^= 0xff; /* kofi's file "changed" */
	ps[2].avatar_path = "nobody.cavatar";
	CHECK(session_writer_create("meeting_missing.cavrec", &(struct session_writer_desc){.participants = ps,
	                                                                                     .participant_count = 3},
	                            &out) == CV_OK);
	struct session_packet pkt;
	bool got = true;
	while (out && session_reader_next(in, &pkt, &got) == CV_OK && got && pkt.time_us < 3000000)
		CHECK(session_writer_write(out, &pkt) == CV_OK);
	if (out) CHECK(session_writer_close(out) == CV_OK);
	session_writer_destroy(&out);
	session_reader_destroy(&in);

	struct meet_feed *feed = NULL;
	CHECK(meet_playback_create("meeting_missing.cavrec", NULL, &feed) == CV_OK);
	if (!feed) return;
	CHECK(feed->update(feed, 2.0) == CV_OK);
	CHECK(feed->participants[0].avatar_path[0] && feed->participants[0].has_frame);
	CHECK(!feed->participants[1].avatar_path[0] && !feed->participants[1].has_frame);
	CHECK(!feed->participants[2].avatar_path[0] && feed->participants[2].status == MEET_WAITING);
	meet_feed_destroy(&feed);
	struct cv_image img;
	CHECK(render(&(struct shot){.session = "meeting_missing.cavrec", .start = 2.0, .closeup = -1}, NULL, &img) == CV_OK);
	cv_image_save_png("meeting_missing_actual.png", &img);
	cv_image_fini(&img);
}

/* The meeting in a real window (Xvfb in the test command): the presented frame, read back from the swapchain,
 * must match the offscreen render of the same frame, and show the participants (it differs from the empty
 * seat view of the room where their heads are). */
static struct cv_image window_capture;
static void capture_last(void *user, struct presenter *p, uint64_t frame)
{
	(void)user;
	if (frame == 59) window_request_capture(p, &window_capture);
}

static void test_window(void)
{
	struct gpu_context *wctx = NULL;
	struct presenter *win = NULL;
	struct app_scene *scene = NULL;
	struct meet_feed *feed = NULL;
	if (window_system_init() != CV_OK) {
		printf("skip test_window: no display\n");
		return;
	}
	struct gpu_context_desc gd = {.present = true};
	gd.instance_extensions = window_instance_extensions(&gd.instance_extension_count);
	CHECK(gpu_context_create(&gd, &wctx) == CV_OK);
	if (wctx) CHECK(window_create(wctx, &(struct window_desc){.width = 320, .height = 180, .title = "cavr test"}, &win) == CV_OK);
	CHECK(meet_playback_create(demo, NULL, &feed) == CV_OK);
	if (!win || !feed) goto done;
	/* Two seconds of the meeting at 30 frames per second of meeting time, as fast as the window takes them. */
	CHECK(app_meeting_scene_create(feed, &(struct app_meeting_options){.start_s = 3.0}, &scene) == CV_OK);
	feed = NULL; /* the scene owns it */
	CHECK(app_run(wctx, win, scene, &(struct app_loop_desc){.frames = 61, .fixed_fps = 30,
	                                                       .samples = VK_SAMPLE_COUNT_4_BIT,
	                                                       .after_frame = capture_last}) == CV_OK);
	CHECK(window_capture.pixels != NULL);
	if (!window_capture.pixels) goto done;
	cv_image_save_png("meeting_window_capture.png", &window_capture);
	struct cv_image offscreen;
	CHECK(render(&(struct shot){.start = 3.0 + 59.0 / 30.0, .closeup = -1}, NULL, &offscreen) == CV_OK);
	CHECK(cv_image_match(&window_capture, &offscreen, &rule, "window capture against offscreen") == CV_OK);
	/* kofi's face sits at the centre of the seat view: skin, not the wall behind him. */
	const uint8_t *px = &window_capture.pixels[(70 * 320 + 160) * 4];
	CHECK_MSG(px[0] > px[2] + 10, "no face at the centre of the window (rgb %d %d %d)", px[0], px[1], px[2]);
	cv_image_fini(&offscreen);
done:
	cv_image_fini(&window_capture);
	app_scene_destroy(&scene, wctx);
	meet_feed_destroy(&feed);
	presenter_destroy(&win);
	if (wctx) CHECK_MSG(wctx->validation_messages == 0, "%u validation messages", wctx->validation_messages);
	gpu_context_destroy(&wctx);
	window_system_fini();
}

int main(void)
{
	test_source_path("assets/sessions/demo-meeting.cavrec", demo, sizeof(demo));
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	RUN(test_goldens);
	RUN(test_speed_and_seek_equivalence);
	RUN(test_missing_avatar);
	RUN(test_window);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
