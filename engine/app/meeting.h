/* The meeting scene (scene_meeting.c): the participants a feed reports (engine/meet/meet.h), seated round a
 * table in a room, with their hands, shoulders and arms, an overlay, playback controls and cameras. */
#ifndef CAVR_APP_MEETING_H
#define CAVR_APP_MEETING_H

#include <stdbool.h>
#include <stdint.h>

#include <cglm/cglm.h>

#include "codec/codec.h"
#include "core/core.h"

struct app_scene;
struct meet_feed;

struct app_meeting_options {
	bool overlay;           /* frame time, decode time, bitrate and loss on screen */
	bool loop;              /* playback: start again at the end */
	bool paused;            /* playback: start paused */
	double start_s;         /* playback: first time shown */
	double speed;           /* playback: recording seconds per second; 0: 1 */
	uint32_t decode_budget; /* avatar files decoded per frame at most; 0: no limit (deterministic output) */
};

enum meeting_camera_mode {
	MEETING_CAMERA_SEAT,  /* sitting at the table, in the seat the feed leaves free */
	MEETING_CAMERA_ORBIT, /* round the table (or the selected participant) */
	MEETING_CAMERA_FREE,  /* first person: walk and look */
	MEETING_CAMERA_COUNT,
};

struct meeting_camera {
	enum meeting_camera_mode mode;
	float yaw, pitch;   /* radians: seat: relative to looking at the table; orbit: round the focus; free: heading */
	float distance;     /* orbit */
	vec3 focus;         /* orbit */
	vec3 position;      /* free */
	float fov_deg;
	int32_t selected;   /* highlighted participant, -1: none */
};

/* Input from a window or a headset, already mapped from keys, mouse or gestures. */
enum meeting_action {
	MEETING_PLAY_PAUSE,
	MEETING_SEEK,          /* by `value` seconds */
	MEETING_SPEED,         /* multiply the speed by `value` */
	MEETING_TOGGLE_LOOP,
	MEETING_SELECT,        /* participant `value` (0-based); -1: the next one */
	MEETING_CAMERA_NEXT,   /* the next camera mode */
	MEETING_LOOK,          /* drag: `dx`, `dy` in radians (seat, free: look; orbit: go round) */
	MEETING_ZOOM,          /* orbit: distance times `value` */
	MEETING_MOVE,          /* free: `dx` right, `dy` forward, `value` up, metres */
	MEETING_TOGGLE_OVERLAY,
};

struct meeting_input {
	enum meeting_action action;
	float value, dx, dy;
};

/* What the overlay shows and benchmarks read, for the last finished frame. */
struct app_meeting_stats {
	double feed_time_s;
	float decode_ms;      /* GPU time of this frame's decodes */
	float render_ms;      /* GPU time of drawing the views */
	uint32_t decodes;     /* avatar files decoded this frame */
	uint64_t total_decodes;
};

/* The scene owns the feed from here on (also when creation fails). */
enum cv_result app_meeting_scene_create(struct meet_feed *feed, const struct app_meeting_options *options,
                                        struct app_scene **out);
/* `scene` must be a meeting scene. */
void app_meeting_input(struct app_scene *scene, const struct meeting_input *input);
void app_meeting_stats(const struct app_scene *scene, struct app_meeting_stats *out);
double app_meeting_time(const struct app_scene *scene);
/* The last frame's viewer: centre eye and looking direction, in the meeting's world (table centre at the origin). */
void app_meeting_viewer(const struct app_scene *scene, vec3 eye, vec3 forward);
/* The viewer as a participant for others (a headset user sending themselves): the last frame's head pose (the
 * avatar head frame, estimated from the eyes) and tracked hands, in the free seat's frame, the stream codec's
 * seat space. False before the first frame. */
bool app_meeting_viewer_frame(const struct app_scene *scene, struct codec_pose *head, struct codec_hand hands[2]);
/* The highlighted participant (-1: none), and participant i's place round the table (radians from the free seat). */
int32_t app_meeting_selected(const struct app_scene *scene);
float app_meeting_seat_angle(const struct app_scene *scene, uint32_t participant);
void app_meeting_camera_reset(struct meeting_camera *camera, enum meeting_camera_mode mode);

#endif
