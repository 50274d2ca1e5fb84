/* The meeting: whatever a feed (engine/meet) reports, seated round a table in a lit room. Each participant's
 * head is decoded on the GPU when their code changes (or the viewer has moved round them), drawn at the head
 * pose in their seat frame, on a simple body whose arms reach the tracked wrists, with skinned hands.
 *
 * Frame pacing: the feed interpolates poses for every displayed frame, while a decode is recorded only for
 * new codes, at most `decode_budget` avatar files per frame (the rest wait a frame and keep their last face),
 * so a display running faster than the 30 Hz streams never waits for decodes it does not need. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "app/meeting.h"
#include "avatar/decoder.h"
#include "avatar/gca.h"
#include "hand/hand.h"
#include "meet/meet.h"
#include "render/splat.h"

#define TABLE_RADIUS 0.78f
#define TABLE_HEIGHT 0.74f
#define SEAT_RADIUS 1.22f  /* table centre to a seated participant's head */
#define HEAD_HEIGHT 1.22f  /* a seated head's centre above the floor */
#define VIEW_STEP_RAD 0.0349f /* view directions snap to a 2-degree grid: a decode is redone when the snapped
                                 * direction changes, and any path to a frame decodes the same inputs */
#define TIMERS 3           /* frames of GPU timestamps in flight */

struct meeting_model { /* one avatar file and the participants that use it (one slot each) */
	char path[SESSION_MAX_PATH + 1];
	struct avatar_file *file;
	struct avatar_model *model; /* family dam: a mesh and a texture per slot */
	struct gca_model *gca;      /* family gca: 3D Gaussians per slot, drawn by the splat renderer */
	uint32_t slots;
	bool dirty;        /* some slot has a new input */
	bool decoded;      /* every slot has been decoded at least once */
	uint64_t dirty_since; /* frame: the oldest waiting decode goes first */
	float decode_ms;
};

struct meeting_member { /* scene-side state of participant i */
	bool placed;        /* its avatar file was looked at (participants may join, and name their file, later) */
	int32_t model;      /* index into models, or -1: placeholder */
	uint32_t slot;
	uint64_t code_version;
	vec3 view;          /* the view direction of the last decode, in the head's frame */
	bool has_input;
	mat4 head_world;
};

struct meeting_scene {
	struct app_scene base;
	struct meet_feed *feed;
	struct app_meeting_options options;
	struct avatar_kernels *kernels;
	struct gca_kernels *gca_kernels;
	struct splat_renderer *splats;
	uint32_t splat_capacity;
	struct splat_source splat_sources[SPLAT_MAX_SOURCES];
	uint32_t splat_count;
	VkExtent2D extent;
	struct render_target_desc target;
	struct meeting_model models[MEET_MAX_PARTICIPANTS];
	uint32_t model_count;
	struct meeting_member members[MEET_MAX_PARTICIPANTS];
	uint32_t members_known; /* feed participants the scene has seen */
	struct render_avatar *avatars;
	struct render_shapes *shapes;
	struct render_hands *hands;
	struct render_text *text;
	struct hand_mesh *hand_meshes[2];
	struct render_shape_instance shape_list[RENDER_MAX_SHAPES];
	enum render_shape shape_kinds[RENDER_MAX_SHAPES];
	uint32_t shape_count;
	/* playback clock: feed time = anchor_feed + (display time - anchor_display) * speed, re-anchored on every
	 * change, so 2x playback and seeking land on exactly the times of straight playback */
	double feed_time, anchor_feed, anchor_display, display_time;
	bool clock_started;
	/* camera */
	struct meeting_camera camera;
	/* a headset user: hands in the tracking space, what each hand is doing, and moved seats */
	struct present_user user;
	bool has_user;
	mat4 world_from_stage;
	struct meeting_hand_state {
		bool pinch, grab;       /* last frame's */
		bool pinch_used;        /* this pinch selected someone or toggled playback */
		double pinch_since;     /* display time */
		vec3 pinch_start;       /* world */
		double seek_from;       /* feed time at the pinch start */
		bool seeking;
		int32_t grabbed;        /* participant whose seat moves, -1 */
		float grab_angle, seat_start;
	} hand_state[2];
	float seat_offset[MEET_MAX_PARTICIPANTS]; /* radians added to a participant's place round the table */
	mat4 recenter;       /* tracking space -> tracking space with the user's head at the origin, facing -z */
	double both_since;   /* both hands pinching since (display time), < 0: not both */
	vec3 eye_world, forward_world; /* the viewer's centre eye this frame */
	/* timing */
	struct gpu_timer timers[TIMERS];
	bool timer_written[TIMERS];
	uint32_t timer_decoded[TIMERS][MEET_MAX_PARTICIPANTS]; /* the models decoded, in mark order */
	uint32_t timer_decode_count[TIMERS];
	float aspect;
	uint64_t frame;
	struct app_meeting_stats stats;
	double last_wall;
};

/* ---- seats ---- */

/* The seat at angle `a` round the table (0: the viewer's, +z of the table centre): its frame, origin at the
 * seated head's centre, z towards the table centre, x to the seated person's left. */
static void seat_at(float a, mat4 out)
{
	vec3 origin = {SEAT_RADIUS * sinf(a), HEAD_HEIGHT, SEAT_RADIUS * cosf(a)};
	vec3 z = {-sinf(a), 0, -cosf(a)}, y = {0, 1, 0}, x;
	glm_vec3_cross(y, z, x);
	glm_mat4_identity(out);
	glm_vec3_copy(x, out[0]);
	glm_vec3_copy(y, out[1]);
	glm_vec3_copy(z, out[2]);
	glm_vec3_copy(origin, out[3]);
}

/* Seat k of n, evenly round the table. */
static void seat_frame(uint32_t k, uint32_t n, mat4 out) { seat_at(2.0f * (float)M_PI * (float)k / (float)n, out); }

static uint32_t seat_count(const struct meeting_scene *m) { return m->feed->count + 1; }

static float participant_angle(const struct meeting_scene *m, uint32_t i)
{
	return 2.0f * (float)M_PI * (float)(i + 1) / (float)seat_count(m) + m->seat_offset[i];
}

/* Participant i sits at seat i + 1, or where the user moved them. */
static void participant_seat(const struct meeting_scene *m, uint32_t i, mat4 out)
{
	seat_at(participant_angle(m, i), out);
}

static void pose_matrix(const struct codec_pose *p, mat4 out)
{
	versor q = {p->orientation[0], p->orientation[1], p->orientation[2], p->orientation[3]};
	glm_quat_mat4(q, out);
	glm_vec3_copy((float *)p->position, out[3]);
}

/* ---- shapes ---- */

static struct render_shape_instance *add_shape(struct meeting_scene *m, enum render_shape kind,
                                                enum render_material material, const float color[3])
{
	if (m->shape_count == RENDER_MAX_SHAPES) return NULL;
	uint32_t i = m->shape_count++;
	m->shape_kinds[i] = kind;
	struct render_shape_instance *s = &m->shape_list[i];
	glm_mat4_identity(s->model);
	s->color[0] = color[0];
	s->color[1] = color[1];
	s->color[2] = color[2];
	s->color[3] = 0.0f;
	s->material[0] = (float)material;
	return s;
}

/* A shape scaled to `size` at `centre`, turned by `basis` (NULL: axis-aligned). */
static void place(struct meeting_scene *m, enum render_shape kind, enum render_material material, const float color[3],
                  mat4 basis, const vec3 centre, const vec3 size, float highlight)
{
	struct render_shape_instance *s = add_shape(m, kind, material, color);
	if (!s) return;
	mat4 t;
	glm_translate_make(t, (float *)centre);
	if (basis) {
		mat4 r;
		glm_mat4_copy(basis, r);
		glm_vec4_copy((vec4){0, 0, 0, 1}, r[3]);
		glm_mat4_mul(t, r, t);
	}
	glm_scale(t, (float *)size);
	glm_mat4_copy(t, s->model);
	s->color[3] = highlight;
}

/* A cylinder of radius r from a to b. */
static void limb(struct meeting_scene *m, const float color[3], const vec3 a, const vec3 b, float r, float highlight)
{
	vec3 d, mid, y = {0, 1, 0}, axis;
	glm_vec3_sub((float *)b, (float *)a, d);
	float len = glm_vec3_norm(d);
	if (len < 1e-4f) return;
	glm_vec3_center((float *)a, (float *)b, mid);
	glm_vec3_scale(d, 1.0f / len, d);
	mat4 basis = GLM_MAT4_IDENTITY_INIT;
	glm_vec3_cross(y, d, axis);
	float s = glm_vec3_norm(axis), c = glm_vec3_dot(y, d);
	if (s > 1e-6f) glm_rotate_make(basis, atan2f(s, c), axis);
	else if (c < 0) glm_rotate_make(basis, (float)M_PI, (vec3){1, 0, 0});
	place(m, RENDER_SHAPE_CYLINDER, RENDER_MATERIAL_CLOTH, color, basis, mid, (vec3){2 * r, len, 2 * r}, highlight);
	place(m, RENDER_SHAPE_SPHERE, RENDER_MATERIAL_CLOTH, color, NULL, b, (vec3){2 * r, 2 * r, 2 * r}, highlight);
}

static void build_room(struct meeting_scene *m)
{
	const float floor[3] = {0.32f, 0.20f, 0.11f}, wall[3] = {0.55f, 0.52f, 0.47f}, wood[3] = {0.17f, 0.085f, 0.04f};
	const float metal[3] = {0.08f, 0.08f, 0.09f}, seat[3] = {0.10f, 0.12f, 0.16f};
	place(m, RENDER_SHAPE_CUBE, RENDER_MATERIAL_FLOOR, floor, NULL, (vec3){0, -0.05f, 0}, (vec3){8, 0.1f, 8}, 0);
	place(m, RENDER_SHAPE_CUBE, RENDER_MATERIAL_WALL, (float[]){0.7f, 0.7f, 0.68f}, NULL, (vec3){0, 3.05f, 0},
	      (vec3){8, 0.1f, 8}, 0);
	for (int w = 0; w < 4; w++) { /* walls 4 m from the table, facing in */
		float a = (float)w * (float)M_PI * 0.5f;
		vec3 c = {4.0f * sinf(a), 1.5f, 4.0f * cosf(a)};
		vec3 size = {fabsf(cosf(a)) * 8 + 0.1f, 3.0f, fabsf(sinf(a)) * 8 + 0.1f};
		place(m, RENDER_SHAPE_CUBE, RENDER_MATERIAL_WALL, wall, NULL, c, size, 0);
	}
	place(m, RENDER_SHAPE_CYLINDER, RENDER_MATERIAL_WOOD, wood, NULL, (vec3){0, TABLE_HEIGHT - 0.02f, 0},
	      (vec3){2 * TABLE_RADIUS, 0.04f, 2 * TABLE_RADIUS}, 0);
	place(m, RENDER_SHAPE_CYLINDER, RENDER_MATERIAL_PLAIN, metal, NULL, (vec3){0, (TABLE_HEIGHT - 0.05f) / 2, 0},
	      (vec3){0.12f, TABLE_HEIGHT - 0.05f, 0.12f}, 0);
	place(m, RENDER_SHAPE_CYLINDER, RENDER_MATERIAL_PLAIN, metal, NULL, (vec3){0, 0.01f, 0}, (vec3){0.6f, 0.02f, 0.6f}, 0);
	for (uint32_t k = 0; k < seat_count(m); k++) { /* chairs, behind each seated head */
		mat4 s;
		if (k == 0) seat_frame(0, seat_count(m), s);
		else participant_seat(m, k - 1, s);
		vec3 c, back;
		glm_mat4_mulv3(s, (vec3){0, -(HEAD_HEIGHT - 0.45f), -0.08f}, 1, c);
		glm_mat4_mulv3(s, (vec3){0, -(HEAD_HEIGHT - 0.78f), -0.30f}, 1, back);
		place(m, RENDER_SHAPE_CUBE, RENDER_MATERIAL_CLOTH, seat, s, c, (vec3){0.48f, 0.07f, 0.46f}, 0);
		place(m, RENDER_SHAPE_CUBE, RENDER_MATERIAL_CLOTH, seat, s, back, (vec3){0.48f, 0.62f, 0.06f}, 0);
		c[1] = 0.21f;
		place(m, RENDER_SHAPE_CYLINDER, RENDER_MATERIAL_PLAIN, metal, NULL, c, (vec3){0.05f, 0.42f, 0.05f}, 0);
	}
}

/* Two-bone arm from the shoulder to the wrist, the elbow bent down and out. */
static void build_arm(struct meeting_scene *m, const float color[3], const vec3 shoulder, const vec3 wrist,
                      const vec3 out_dir, float highlight)
{
	const float upper = 0.30f, fore = 0.28f;
	vec3 d;
	glm_vec3_sub((float *)wrist, (float *)shoulder, d);
	float len = glm_vec3_norm(d);
	float reach = fminf(len, upper + fore - 1e-3f);
	vec3 dir;
	glm_vec3_scale(d, len > 1e-5f ? 1.0f / len : 0.0f, dir);
	float a = (upper * upper - fore * fore + reach * reach) / (2 * reach);
	float h = sqrtf(fmaxf(upper * upper - a * a, 0.0f));
	vec3 pole = {out_dir[0] * 0.5f, -1.0f, out_dir[2] * 0.5f}, perp; /* down and out */
	glm_vec3_scale(dir, glm_vec3_dot(pole, dir), perp);
	glm_vec3_sub(pole, perp, perp);
	glm_vec3_normalize(perp);
	vec3 elbow, hand;
	for (int i = 0; i < 3; i++) {
		elbow[i] = shoulder[i] + dir[i] * a + perp[i] * h;
		hand[i] = shoulder[i] + dir[i] * reach;
	}
	limb(m, color, shoulder, elbow, 0.042f, highlight);
	limb(m, color, elbow, hand, 0.035f, highlight);
}

static const float clothes[6][3] = {{0.05f, 0.12f, 0.30f}, {0.35f, 0.06f, 0.05f}, {0.06f, 0.22f, 0.10f},
                                    {0.30f, 0.26f, 0.20f}, {0.18f, 0.08f, 0.25f}, {0.04f, 0.04f, 0.05f}};

static void build_body(struct meeting_scene *m, uint32_t i, const struct meet_participant *p, float highlight)
{
	mat4 seat;
	participant_seat(m, i, seat);
	const float *color = clothes[i % 6];
	/* The torso follows the head's sway halfway and stays upright, turned by a third of the head's yaw. */
	vec3 head = {0, 0, 0};
	float yaw = 0;
	if (p->has_frame) {
		glm_vec3_copy((float *)p->head.position, head);
		const float *q = p->head.orientation;
		yaw = atan2f(2 * (q[3] * q[1] + q[0] * q[2]), 1 - 2 * (q[1] * q[1] + q[0] * q[0]));
	}
	mat4 torso;
	glm_mat4_copy(seat, torso);
	glm_translate(torso, (vec3){0.5f * head[0], -0.44f, 0.5f * head[2] - 0.07f});
	glm_rotate_y(torso, yaw / 3, torso);
	vec3 c = {torso[3][0], torso[3][1], torso[3][2]};
	place(m, RENDER_SHAPE_SPHERE, RENDER_MATERIAL_CLOTH, color, torso, c, (vec3){0.40f, 0.62f, 0.24f}, highlight);
	vec3 neck;
	glm_mat4_mulv3(torso, (vec3){0, 0.22f, 0.01f}, 1, neck);
	place(m, RENDER_SHAPE_SPHERE, RENDER_MATERIAL_CLOTH, color, torso, neck, (vec3){0.26f, 0.14f, 0.18f}, highlight);
	for (int side = 0; side < 2; side++) { /* side 0: left (+x in the seat frame) */
		vec3 shoulder, wrist, out_dir;
		float sx = side == 0 ? 1.0f : -1.0f;
		glm_mat4_mulv3(torso, (vec3){0.175f * sx, 0.17f, 0.0f}, 1, shoulder);
		glm_mat4_mulv3(torso, (vec3){sx, 0, 0}, 0, out_dir);
		const struct codec_hand *h = &p->hands[side == 0 ? CODEC_HAND_LEFT : CODEC_HAND_RIGHT];
		if (p->has_frame && h->tracked)
			glm_mat4_mulv3(seat, (float *)h->joints[CODEC_JOINT_WRIST].pose.position, 1, wrist);
		else /* resting on the table edge */
			glm_mat4_mulv3(seat, (vec3){0.17f * sx, TABLE_HEIGHT + 0.05f - HEAD_HEIGHT, 0.28f}, 1, wrist);
		build_arm(m, color, shoulder, wrist, out_dir, highlight);
	}
	const struct meeting_member *mm = &m->members[i];
	if (mm->model < 0 || !m->models[mm->model].decoded || !mm->has_input) {
		/* A placeholder head: the avatar is missing, cannot be drawn, or has not been decoded yet. */
		vec3 centre;
		glm_mat4_mulv3(seat, head, 1, centre);
		place(m, RENDER_SHAPE_SPHERE, RENDER_MATERIAL_PLAIN, (float[]){0.35f, 0.35f, 0.37f}, seat, centre,
		      (vec3){0.17f, 0.23f, 0.20f}, highlight);
	}
}

/* ---- camera ---- */

static void meeting_camera(struct app_scene *s, float time_s, float aspect, struct render_view *out)
{
	(void)time_s;
	struct meeting_scene *m = (struct meeting_scene *)s;
	struct meeting_camera *c = &m->camera;
	vec3 eye, target;
	if (c->mode == MEETING_CAMERA_SEAT) {
		mat4 seat;
		seat_frame(0, seat_count(m), seat);
		/* From just behind the free seat, so the whole table is in view. */
		glm_mat4_mulv3(seat, (vec3){0, 0.12f, -0.55f}, 1, eye);
		vec3 ahead = {sinf(c->yaw) * cosf(c->pitch), sinf(c->pitch), cosf(c->yaw) * cosf(c->pitch)};
		glm_mat4_mulv3(seat, ahead, 0, ahead);
		glm_vec3_add(eye, ahead, target);
	} else if (c->mode == MEETING_CAMERA_ORBIT) {
		glm_vec3_copy(c->focus, target);
		eye[0] = target[0] + c->distance * sinf(c->yaw) * cosf(c->pitch);
		eye[1] = target[1] + c->distance * sinf(c->pitch);
		eye[2] = target[2] + c->distance * cosf(c->yaw) * cosf(c->pitch);
	} else {
		glm_vec3_copy(c->position, eye);
		vec3 ahead = {-sinf(c->yaw) * cosf(c->pitch), sinf(c->pitch), -cosf(c->yaw) * cosf(c->pitch)};
		glm_vec3_add(eye, ahead, target);
	}
	render_view_look_at(out, eye, target, c->fov_deg, aspect);
	m->aspect = aspect;
}

static double speed_of(const struct meeting_scene *m) { return m->options.speed > 0 ? m->options.speed : 1.0; }

/* Starts counting from the current feed time again (after a seek, a pause or a new speed). */
static void reanchor(struct meeting_scene *m)
{
	m->anchor_feed = m->feed_time;
	m->anchor_display = m->display_time;
}

/* A headset user sits in the free seat, facing the table. */
static void meeting_stage(struct app_scene *s, bool floor_level, mat4 world_from_stage)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	mat4 seat;
	seat_frame(0, seat_count(m), seat);
	/* Seat frames face +z; a tracking space's user faces -z. */
	glm_mat4_copy(seat, world_from_stage);
	glm_rotate_y(world_from_stage, (float)M_PI, world_from_stage);
	if (floor_level) world_from_stage[3][1] = 0.0f;
	glm_mat4_mul(world_from_stage, m->recenter, world_from_stage);
	glm_mat4_copy(world_from_stage, m->world_from_stage);
}

static void meeting_user(struct app_scene *s, const struct present_user *user)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	m->user = *user;
	m->has_user = true;
}

/* The participant whose head is nearest a ray, within 12 degrees, or -1. */
static int32_t pick_participant(const struct meeting_scene *m, const vec3 origin, const vec3 dir)
{
	int32_t best = -1;
	float best_cos = cosf(glm_rad(12.0f));
	for (uint32_t i = 0; i < m->feed->count; i++) {
		if (m->feed->participants[i].status == MEET_LEFT) continue;
		vec3 to;
		glm_vec3_sub((float *)m->members[i].head_world[3], (float *)origin, to);
		glm_vec3_normalize(to);
		float c = glm_vec3_dot(to, (float *)dir);
		if (c > best_cos) {
			best_cos = c;
			best = (int32_t)i;
		}
	}
	return best;
}

/* A headset user's hands act on the meeting: pinch at a participant selects them; a fist (grab) moves the selected
 * participant round the table, three times as far as the hand goes round it; a pinch that hits nobody toggles
 * playback when held still for 0.8 s, and seeks when dragged sideways (5 s per 10 cm). */
/* Puts the user's head, where it is now, at the free seat, facing the table. */
static void recenter(struct meeting_scene *m)
{
	mat4 stage_from_world;
	glm_mat4_inv(m->world_from_stage, stage_from_world);
	vec3 head, forward;
	glm_mat4_mulv3(stage_from_world, m->eye_world, 1, head);
	glm_mat4_mulv3(stage_from_world, m->forward_world, 0, forward);
	float yaw = atan2f(-forward[0], -forward[2]);
	mat4 r = GLM_MAT4_IDENTITY_INIT;
	glm_rotate_y(r, -yaw, r);
	glm_translate(r, (vec3){-head[0], 0, -head[2]});
	glm_mat4_copy(r, m->recenter);
	CV_INFO("meeting: recentred on the viewer");
}

static void interact(struct meeting_scene *m)
{
	if (!m->has_user) return;
	/* Both hands pinching for a second: recenter. */
	bool both = m->user.hands[0].gestures.pinch && m->user.hands[1].gestures.pinch;
	if (!both) m->both_since = -1;
	else if (m->both_since < 0) m->both_since = m->display_time;
	else if (m->display_time - m->both_since > 1.0 && !m->hand_state[0].pinch_used) {
		recenter(m);
		m->hand_state[0].pinch_used = m->hand_state[1].pinch_used = true;
	}
	for (int h = 0; h < 2; h++) {
		const struct present_hand *ph = &m->user.hands[h];
		struct meeting_hand_state *st = &m->hand_state[h];
		bool pinch = ph->gestures.pinch, grab = ph->gestures.grab;
		vec3 point, palm;
		glm_mat4_mulv3(m->world_from_stage, (float *)ph->gestures.pinch_point, 1, point);
		glm_mat4_mulv3(m->world_from_stage, (float *)ph->gestures.palm, 1, palm);
		if (pinch && !st->pinch) {
			st->pinch_since = m->display_time;
			glm_vec3_copy(point, st->pinch_start);
			st->pinch_used = st->seeking = false;
			st->seek_from = m->feed_time;
			if (ph->has_pointer) {
				vec3 origin, dir;
				glm_mat4_mulv3(m->world_from_stage, (float *)ph->pointer_origin, 1, origin);
				glm_mat4_mulv3(m->world_from_stage, (float *)ph->pointer_dir, 0, dir);
				int32_t hit = pick_participant(m, origin, dir);
				if (hit >= 0) {
					m->camera.selected = hit;
					st->pinch_used = true;
				}
			}
		} else if (pinch && !st->pinch_used) {
			vec3 moved;
			glm_vec3_sub(point, st->pinch_start, moved);
			float sideways = glm_vec3_dot(moved, m->world_from_stage[0]); /* along the user's right */
			if (st->seeking || fabsf(sideways) > 0.03f) {
				st->seeking = true;
				m->feed_time = st->seek_from + sideways / 0.1f * 5.0f;
				reanchor(m);
			} else if (m->display_time - st->pinch_since > 0.8 && !m->user.hands[!h].gestures.pinch) {
				m->options.paused = !m->options.paused;
				st->pinch_used = true;
			}
		}
		st->pinch = pinch;
		float angle = atan2f(palm[0], palm[2]); /* round the table's centre */
		if (grab && !st->grab) {
			st->grabbed = m->camera.selected;
			st->grab_angle = angle;
			if (st->grabbed >= 0) st->seat_start = m->seat_offset[st->grabbed];
		} else if (grab && st->grabbed >= 0) {
			float delta = angle - st->grab_angle;
			delta = atan2f(sinf(delta), cosf(delta));
			m->seat_offset[st->grabbed] = st->seat_start + 3.0f * delta;
		}
		if (!grab) st->grabbed = -1;
		st->grab = grab;
	}
}

/* ---- frame ---- */

/* Participants get a model as their avatar file becomes known: those of one file share a model until it is on
 * the GPU, a later one gets its own. A participant whose file cannot be used gets a placeholder. */
static void assign_models(struct meeting_scene *m)
{
	for (; m->members_known < m->feed->count; m->members_known++)
		m->members[m->members_known] = (struct meeting_member){.model = -1};
	for (uint32_t i = 0; i < m->feed->count; i++) {
		const struct meet_participant *p = &m->feed->participants[i];
		if (m->members[i].placed || !p->avatar_path[0]) continue;
		m->members[i].placed = true;
		uint32_t k = 0;
		while (k < m->model_count &&
		       (strcmp(m->models[k].path, p->avatar_path) || m->models[k].model || m->models[k].gca))
			k++;
		if (k == m->model_count) {
			if (m->model_count == MEET_MAX_PARTICIPANTS) continue;
			struct meeting_model *mm = &m->models[m->model_count++];
			snprintf(mm->path, sizeof(mm->path), "%s", p->avatar_path);
			if (avatar_file_open(mm->path, &mm->file) != CV_OK)
				CV_WARN("participant %s: avatar %s cannot be used; a placeholder is shown", p->name, mm->path);
			else if (avatar_family(mm->file) != AVATAR_FAMILY_DAM && avatar_family(mm->file) != AVATAR_FAMILY_GCA) {
				CV_WARN("participant %s: %s is a '%s' avatar, which the meeting cannot draw; a placeholder is shown",
				        p->name, mm->path, avatar_family_name(avatar_family(mm->file)));
				avatar_file_destroy(&mm->file);
			}
		}
		if (!m->models[k].file) continue;
		m->members[i].model = (int32_t)k;
		m->members[i].slot = m->models[k].slots++;
	}
}

/* Decoders for the files that have none yet, and a splat renderer big enough for every Gaussian participant. */
static enum cv_result ensure_models(struct meeting_scene *m, struct gpu_context *ctx)
{
	if (!m->kernels) CV_TRY(avatar_kernels_create(ctx, NULL, &m->kernels));
	uint32_t gaussians = 0;
	for (uint32_t k = 0; k < m->model_count; k++) {
		struct meeting_model *mm = &m->models[k];
		const struct avatar_model_desc desc = {.participants = mm->slots};
		if (mm->file && avatar_family(mm->file) == AVATAR_FAMILY_GCA) {
			if (!m->gca_kernels) CV_TRY(gca_kernels_create(ctx, NULL, &m->gca_kernels));
			if (!mm->gca) CV_TRY(gca_model_create(ctx, m->gca_kernels, mm->file, &desc, &mm->gca));
			gaussians += mm->slots * gca_model_gaussian_count(mm->gca);
		} else if (mm->file && !mm->model)
			CV_TRY(avatar_model_create(ctx, m->kernels, mm->file, &desc, &mm->model));
	}
	if (gaussians > m->splat_capacity || (gaussians && !m->splats)) {
		vkDeviceWaitIdle(ctx->device);
		splat_renderer_destroy(ctx, &m->splats);
		CV_TRY(splat_renderer_create(ctx, &m->target, gaussians, &m->splats));
		m->splat_capacity = gaussians;
	}
	return CV_OK;
}

static enum cv_result meeting_prepare(struct app_scene *s, struct gpu_context *ctx,
                                      const struct render_target_desc *target)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	render_avatar_destroy(ctx, &m->avatars);
	render_shapes_destroy(ctx, &m->shapes);
	render_hands_destroy(ctx, &m->hands);
	render_text_destroy(ctx, &m->text);
	splat_renderer_destroy(ctx, &m->splats); /* made again for this target by ensure_models */
	m->splat_capacity = 0;
	m->target = *target;
	CV_TRY(ensure_models(m, ctx));
	for (int t = 0; t < TIMERS; t++)
		if (!m->timers[t].pool && ctx->has_timestamps)
			CV_TRY(gpu_timer_init(ctx, &m->timers[t], 2 + MEET_MAX_PARTICIPANTS, "meeting frame"));
	CV_TRY(render_avatar_create(ctx, target, &m->avatars));
	CV_TRY(render_shapes_create(ctx, target, &m->shapes));
	if (m->hand_meshes[0] && m->hand_meshes[1])
		CV_TRY(render_hands_create(ctx, target, (const struct hand_mesh *const *)m->hand_meshes, &m->hands));
	CV_TRY(render_text_create(ctx, target, &m->text));
	return CV_OK;
}

/* Display time -> feed time: playback speed, pause, loop and the end of the recording. A live feed gets the display
 * time itself (meet.h): it places the participants at the time the frame is shown, a headset's predicted display
 * time included. */
static void advance_clock(struct meeting_scene *m, float time_s)
{
	m->display_time = time_s;
	if (m->feed->duration_s < 0) {
		m->clock_started = true;
		m->feed_time = time_s;
		return;
	}
	if (!m->clock_started) {
		m->clock_started = true;
		m->feed_time = m->options.start_s;
		reanchor(m);
	}
	if (m->options.paused) reanchor(m);
	m->feed_time = m->anchor_feed + (m->display_time - m->anchor_display) * speed_of(m);
	double duration = m->feed->duration_s;
	if (duration > 0 && (m->feed_time > duration || m->feed_time < 0)) {
		m->feed_time = m->options.loop ? fmod(fmod(m->feed_time, duration) + duration, duration)
		                               : fmin(fmax(m->feed_time, 0.0), duration);
		reanchor(m);
	}
}

/* A unit direction snapped to the view grid (azimuth and elevation in VIEW_STEP_RAD steps). */
static void snap_view(vec3 dir)
{
	float az = atan2f(dir[0], dir[2]), el = asinf(glm_clamp(dir[1], -1.0f, 1.0f));
	az = roundf(az / VIEW_STEP_RAD) * VIEW_STEP_RAD;
	el = roundf(el / VIEW_STEP_RAD) * VIEW_STEP_RAD;
	dir[0] = sinf(az) * cosf(el);
	dir[1] = sinf(el);
	dir[2] = cosf(az) * cosf(el);
}

/* Participant i's input to its decoder: a new code, or the viewer moved round them. */
static enum cv_result update_member(struct meeting_scene *m, uint32_t i, const vec3 eye)
{
	const struct meet_participant *p = &m->feed->participants[i];
	struct meeting_member *mm = &m->members[i];
	mat4 seat, head;
	participant_seat(m, i, seat);
	pose_matrix(&p->head, head);
	glm_mat4_mul(seat, head, mm->head_world);
	if (mm->model < 0 || !p->has_frame || p->status == MEET_LEFT) return CV_OK;
	struct meeting_model *model = &m->models[mm->model];
	/* The view direction in the head's frame, from the head's centre of the mean mesh. */
	mat4 inv;
	glm_mat4_inv(mm->head_world, inv);
	vec3 dir;
	glm_mat4_mulv3(inv, (float *)eye, 1, dir);
	glm_vec3_normalize(dir);
	snap_view(dir);
	bool moved = !mm->has_input || !glm_vec3_eqv(dir, mm->view);
	if (p->code_version == mm->code_version && !moved) return CV_OK;
	if (model->gca) CV_TRY(gca_model_set_input(model->gca, mm->slot, p->code, p->code_floats, dir));
	else CV_TRY(avatar_model_set_input(model->model, mm->slot, p->code, p->code_floats, dir));
	glm_vec3_copy(dir, mm->view);
	mm->code_version = p->code_version;
	mm->has_input = true;
	if (!model->dirty) model->dirty_since = m->frame;
	model->dirty = true;
	return CV_OK;
}

static void compute_barrier_after_reads(VkCommandBuffer cmd)
{
	/* The previous frame drew from the textures and vertices a decode now rewrites. */
	VkMemoryBarrier2 b = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = VK_PIPELINE_STAGE_2_VERTEX_INPUT_BIT | VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT,
		.srcAccessMask = VK_ACCESS_2_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_2_INDEX_READ_BIT | VK_ACCESS_2_SHADER_READ_BIT,
		.dstStageMask = VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_2_TRANSFER_BIT,
		.dstAccessMask = VK_ACCESS_2_SHADER_WRITE_BIT | VK_ACCESS_2_TRANSFER_WRITE_BIT,
	};
	vkCmdPipelineBarrier2(cmd, &(VkDependencyInfo){.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .memoryBarrierCount = 1,
	                                               .pMemoryBarriers = &b});
}

/* GPU times of the frame that last used timer t (finished: its fence was waited for before this frame). Marks:
 * 0 at the start, j + 1 after the j-th decode, n + 1 after drawing (n decodes). */
static void read_timings(struct meeting_scene *m, struct gpu_context *ctx, uint32_t t)
{
	if (!m->timer_written[t]) return;
	uint32_t n = m->timer_decode_count[t];
	double ms;
	if (gpu_timer_elapsed_ms(ctx, &m->timers[t], 0, n, &ms) == CV_OK) m->stats.decode_ms = (float)ms;
	if (gpu_timer_elapsed_ms(ctx, &m->timers[t], n, n + 1, &ms) == CV_OK) m->stats.render_ms = (float)ms;
	for (uint32_t j = 0; j < n; j++)
		if (gpu_timer_elapsed_ms(ctx, &m->timers[t], j, j + 1, &ms) == CV_OK)
			m->models[m->timer_decoded[t][j]].decode_ms = (float)ms;
	m->stats.decodes = n;
}

/* ---- overlay ---- */

static const char *status_text(enum meet_status s)
{
	switch (s) {
	case MEET_ACTIVE: return "";
	case MEET_WAITING: return " (waiting)";
	case MEET_RECONNECTING: return " (reconnecting)";
	case MEET_LEFT: return " (left)";
	}
	return "";
}

static void build_overlay(struct meeting_scene *m)
{
	struct render_text *t = m->text;
	render_text_clear(t, m->aspect);
	const float white[4] = {1, 1, 1, 1}, dim[4] = {0.75f, 0.78f, 0.82f, 1}, panel[4] = {0, 0, 0, 0.55f};
	const float accent[4] = {0.35f, 0.65f, 1.0f, 1};
	float line = render_text_line_height(1.0f), x = 16, y = 14;
	char buf[256];
	uint32_t rows = 3 + m->feed->count;
	render_text_add_panel(t, 8, 8, 430, 8 + 12 + rows * line, panel);
	double wall = cv_time_now(), frame_ms = m->last_wall > 0 ? (wall - m->last_wall) * 1e3 : 0;
	m->last_wall = wall;
	snprintf(buf, sizeof(buf), "frame %.1f ms   GPU decode %.1f ms, draw %.1f ms", frame_ms, m->stats.decode_ms,
	         m->stats.render_ms);
	render_text_add(t, x, y, 1.0f, white, buf);
	y += line;
	double d = m->feed->duration_s;
	if (d >= 0)
		snprintf(buf, sizeof(buf), "%s %02d:%05.2f / %02d:%05.2f   speed %.2gx%s", m->options.paused ? "paused" : "playing",
		         (int)(m->feed_time / 60), fmod(m->feed_time, 60), (int)(d / 60), fmod(d, 60), speed_of(m),
		         m->options.loop ? "   loop" : "");
	else snprintf(buf, sizeof(buf), "live   %u participants", m->feed->count);
	render_text_add(t, x, y, 1.0f, white, buf);
	y += line;
	render_text_add(t, x, y, 0.85f, dim, "participant        decode      kbit/s    loss");
	y += line;
	for (uint32_t i = 0; i < m->feed->count; i++) {
		const struct meet_participant *p = &m->feed->participants[i];
		const struct meeting_member *mm = &m->members[i];
		float ms = mm->model >= 0 ? m->models[mm->model].decode_ms / (float)m->models[mm->model].slots : 0;
		snprintf(buf, sizeof(buf), "%d %-12.12s%s", i + 1, p->name, status_text(p->status));
		render_text_add(t, x, y, 0.85f, (int32_t)i == m->camera.selected ? accent : white, buf);
		if (mm->model >= 0) snprintf(buf, sizeof(buf), "%5.1f ms", ms);
		else snprintf(buf, sizeof(buf), "no avatar");
		render_text_add(t, x + 170, y, 0.85f, white, buf);
		snprintf(buf, sizeof(buf), "%6.1f   %5.1f%%", p->bitrate_kbps, 100.0f * p->loss);
		render_text_add(t, x + 265, y, 0.85f, white, buf);
		y += line;
	}
	const char *help = "space play/pause  arrows seek  +/- speed  L loop  1-9 select  C camera  O overlay";
	float w = render_text_measure(help, 0.8f);
	render_text_add_panel(t, 8, 720 - 12 - line, 16 + w, 712, panel);
	render_text_add(t, 12, 720 - 8 - line, 0.8f, dim, help);
}

static enum cv_result meeting_update(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
                                     const struct render_views *views, float time_s)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	advance_clock(m, time_s);
	CV_TRY(m->feed->update(m->feed, m->feed_time));
	m->stats.feed_time_s = m->feed_time;
	assign_models(m); /* someone joined, or named a file that is now found */
	CV_TRY(ensure_models(m, ctx));
	vec3 eye; /* one decode for a stereo pair, from the centre eye */
	glm_vec3_copy((float *)views->view[0].eye, eye);
	if (views->count > 1) glm_vec3_center((float *)views->view[0].eye, (float *)views->view[1].eye, eye);
	glm_vec3_copy(eye, m->eye_world);
	mat4 eye_to_world;
	glm_mat4_inv((vec4 *)views->view[0].view, eye_to_world);
	glm_vec3_negate_to(eye_to_world[2], m->forward_world);
	for (uint32_t i = 0; i < m->feed->count; i++) CV_TRY(update_member(m, i, eye));
	interact(m);

	uint32_t t = (uint32_t)(m->frame % TIMERS);
	bool timing = m->timers[t].pool != VK_NULL_HANDLE;
	if (timing) {
		read_timings(m, ctx, t);
		gpu_cmd_timer_reset(cmd, &m->timers[t]);
		gpu_cmd_timer_mark(cmd, &m->timers[t], 0);
	}
	/* Decode the files with new inputs, the longest waiting first, within the budget. */
	uint32_t budget = m->options.decode_budget ? m->options.decode_budget : UINT32_MAX, decoded = 0;
	bool barrier = false;
	for (; decoded < budget; decoded++) {
		int32_t next = -1;
		for (uint32_t k = 0; k < m->model_count; k++)
			if (m->models[k].dirty && (next < 0 || m->models[k].dirty_since < m->models[next].dirty_since)) next = (int32_t)k;
		if (next < 0) break;
		if (!barrier) compute_barrier_after_reads(cmd);
		barrier = true;
		struct meeting_model *mm = &m->models[next];
		if (mm->gca) CV_TRY(gca_model_record(ctx, mm->gca, cmd, mm->slots, NULL));
		else CV_TRY(avatar_model_record(ctx, mm->model, cmd, mm->slots, NULL));
		mm->dirty = false;
		mm->decoded = true;
		m->stats.total_decodes++;
		if (timing) {
			m->timer_decoded[t][decoded] = (uint32_t)next;
			gpu_cmd_timer_mark(cmd, &m->timers[t], decoded + 1);
		}
	}
	m->timer_decode_count[t] = decoded;

	/* This frame's shapes and head poses. */
	m->shape_count = 0;
	build_room(m);
	mat4 poses[RENDER_MAX_AVATARS];
	uint32_t heads = 0;
	m->splat_count = 0;
	for (uint32_t i = 0; i < m->feed->count; i++) {
		const struct meet_participant *p = &m->feed->participants[i];
		if (p->status == MEET_LEFT) continue;
		float highlight = (int32_t)i == m->camera.selected ? 1.0f : 0.0f;
		build_body(m, i, p, highlight);
		struct meeting_member *mm = &m->members[i];
		if (mm->model < 0 || !m->models[mm->model].decoded || !mm->has_input) continue;
		const struct meeting_model *model = &m->models[mm->model];
		if (model->model && heads < RENDER_MAX_AVATARS) glm_mat4_copy(mm->head_world, poses[heads++]);
		if (model->gca && m->splat_count < SPLAT_MAX_SOURCES) {
			struct gca_outputs o;
			gca_model_outputs(model->gca, mm->slot, &o);
			struct splat_source *src = &m->splat_sources[m->splat_count++];
			*src = (struct splat_source){.gaussians = o.gaussians, .offset = o.offset, .count = o.count};
			glm_mat4_copy(mm->head_world, src->pose);
		}
	}
	if (m->splat_count) { /* Gaussian participants: sorted once for both eyes, from between them */
		struct render_view sort_view;
		splat_sort_view(views, &sort_view);
		CV_TRY(splat_cmd_prepare(ctx, cmd, m->splats, m->splat_sources, m->splat_count, &sort_view, NULL, 0));
	}
	m->extent = views->extent;
	render_shapes_set(cmd, m->shapes, m->shape_list, m->shape_kinds, m->shape_count);
	render_avatar_set_poses(cmd, m->avatars, poses, heads);
	if (m->hands) {
		struct render_hand_instance hands[RENDER_MAX_HANDS];
		uint32_t n = 0;
		for (uint32_t i = 0; i < m->feed->count; i++) {
			const struct meet_participant *p = &m->feed->participants[i];
			if (p->status == MEET_LEFT || !p->has_frame) continue;
			mat4 seat;
			participant_seat(m, i, seat);
			for (int h = 0; h < 2; h++) {
				if (!p->hands[h].tracked || n >= RENDER_MAX_HANDS - 2) continue;
				struct render_hand_instance *hi = &hands[n++];
				hi->side = h;
				hand_skin_matrices(m->hand_meshes[h], &p->hands[h], hi->skin);
				glm_mat4_copy(seat, hi->world);
				const struct meeting_member *mm = &m->members[i];
				hi->face = VK_NULL_HANDLE;
				if (mm->model >= 0 && m->models[mm->model].decoded && m->models[mm->model].model) {
					struct avatar_outputs o;
					avatar_model_outputs(m->models[mm->model].model, mm->slot, &o);
					hi->face = o.texture_view;
				}
			}
		}
		for (int h = 0; m->has_user && h < 2; h++) { /* the headset user's own hands */
			const struct codec_hand *joints = &m->user.hands[h].joints;
			if (!joints->tracked || n == RENDER_MAX_HANDS) continue;
			struct render_hand_instance *hi = &hands[n++];
			hi->side = (uint32_t)h;
			hand_skin_matrices(m->hand_meshes[h], joints, hi->skin);
			glm_mat4_copy(m->world_from_stage, hi->world);
			hi->face = VK_NULL_HANDLE;
		}
		render_hands_set(cmd, m->hands, hands, n);
	}
	if (m->options.overlay) {
		build_overlay(m);
		render_text_upload(cmd, m->text);
	}
	m->frame++;
	return CV_OK;
}

/* ---- input ---- */

void app_meeting_input(struct app_scene *s, const struct meeting_input *in)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	struct meeting_camera *c = &m->camera;
	switch (in->action) {
	case MEETING_PLAY_PAUSE: m->options.paused = !m->options.paused; break;
	case MEETING_SEEK:
		m->feed_time += in->value;
		reanchor(m);
		break;
	case MEETING_SPEED:
		reanchor(m);
		m->options.speed = fmin(fmax(speed_of(m) * in->value, 0.125), 8.0);
		break;
	case MEETING_TOGGLE_LOOP: m->options.loop = !m->options.loop; break;
	case MEETING_SELECT: {
		int32_t n = (int32_t)m->feed->count, v = (int32_t)in->value;
		c->selected = v < 0 ? (n ? (c->selected + 1) % n : -1) : v < n ? v : -1;
		if (c->selected >= 0 && c->mode == MEETING_CAMERA_ORBIT) { /* orbit round the selected participant */
			mat4 seat;
			participant_seat(m, (uint32_t)c->selected, seat);
			glm_vec3_copy(seat[3], c->focus);
			c->focus[1] -= 0.15f; /* between the face and the hands */
			c->distance = 1.1f;
			c->pitch = 0.12f;
			c->yaw = atan2f(seat[3][0], seat[3][2]) + (float)M_PI;
		}
		break;
	}
	case MEETING_CAMERA_NEXT:
		app_meeting_camera_reset(c, (enum meeting_camera_mode)((c->mode + 1) % MEETING_CAMERA_COUNT));
		break;
	case MEETING_LOOK:
		c->yaw += c->mode == MEETING_CAMERA_SEAT ? -in->dx : in->dx;
		c->pitch = glm_clamp(c->pitch + in->dy, -1.4f, 1.4f);
		break;
	case MEETING_ZOOM: c->distance = glm_clamp(c->distance * in->value, 0.5f, 8.0f); break;
	case MEETING_MOVE: {
		vec3 fwd = {-sinf(c->yaw), 0, -cosf(c->yaw)}, right = {cosf(c->yaw), 0, -sinf(c->yaw)};
		for (int i = 0; i < 3; i++) c->position[i] += fwd[i] * in->dy + right[i] * in->dx;
		c->position[1] += in->value;
		break;
	}
	case MEETING_TOGGLE_OVERLAY: m->options.overlay = !m->options.overlay; break;
	}
}

void app_meeting_stats(const struct app_scene *s, struct app_meeting_stats *out)
{
	*out = ((const struct meeting_scene *)s)->stats;
}

double app_meeting_time(const struct app_scene *s) { return ((const struct meeting_scene *)s)->feed_time; }

int32_t app_meeting_selected(const struct app_scene *s) { return ((const struct meeting_scene *)s)->camera.selected; }

float app_meeting_seat_angle(const struct app_scene *s, uint32_t i)
{
	const struct meeting_scene *m = (const struct meeting_scene *)s;
	return i < m->feed->count ? participant_angle(m, i) : 0.0f;
}

void app_meeting_viewer(const struct app_scene *s, vec3 eye, vec3 forward)
{
	const struct meeting_scene *m = (const struct meeting_scene *)s;
	glm_vec3_copy((float *)m->eye_world, eye);
	glm_vec3_copy((float *)m->forward_world, forward);
}

/* A rotation matrix as a codec quaternion (x, y, z, w). */
static void pose_from_matrix(mat4 mtx, struct codec_pose *out)
{
	versor q;
	glm_mat4_quat(mtx, q);
	glm_quat_normalize(q);
	if (q[3] < 0) glm_vec4_negate(q);
	memcpy(out->orientation, q, sizeof(out->orientation));
	memcpy(out->position, mtx[3], sizeof(out->position));
}

bool app_meeting_viewer_frame(const struct app_scene *s, struct codec_pose *head, struct codec_hand hands[2])
{
	const struct meeting_scene *m = (const struct meeting_scene *)s;
	if (!m->clock_started) return false;
	mat4 seat, seat_from_world;
	seat_frame(0, seat_count(m), seat);
	glm_mat4_inv(seat, seat_from_world);
	/* The head frame (z out of the face) from the eye: the avatar's origin sits 9 cm behind and 1.6 cm below
	 * the eyes (assets/README.md). */
	vec3 up = {0, 1, 0}, right, fwd, back;
	glm_vec3_copy((float *)m->forward_world, fwd);
	glm_vec3_cross(fwd, up, right);
	glm_vec3_normalize(right);
	glm_vec3_cross(right, fwd, up);
	mat4 head_world = GLM_MAT4_IDENTITY_INIT;
	glm_vec3_negate_to(right, head_world[0]); /* x to the person's own left */
	glm_vec3_copy(up, head_world[1]);
	glm_vec3_copy(fwd, head_world[2]);
	glm_vec3_scale(fwd, -0.09f, back);
	glm_vec3_add((float *)m->eye_world, back, head_world[3]);
	head_world[3][1] -= 0.016f;
	mat4 h;
	glm_mat4_mul(seat_from_world, head_world, h);
	pose_from_matrix(h, head);
	for (int side = 0; side < 2; side++) {
		hands[side] = m->has_user ? m->user.hands[side].joints : (struct codec_hand){0};
		if (!hands[side].tracked) continue;
		mat4 seat_from_stage;
		glm_mat4_mul(seat_from_world, (vec4 *)m->world_from_stage, seat_from_stage);
		for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
			struct codec_joint *jt = &hands[side].joints[j];
			mat4 pose;
			pose_matrix(&jt->pose, pose);
			glm_mat4_mul(seat_from_stage, pose, pose);
			pose_from_matrix(pose, &jt->pose);
		}
	}
	return true;
}


static void meeting_draw(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd,
                         const struct gpu_buffer *views, float time_s)
{
	(void)time_s;
	struct meeting_scene *m = (struct meeting_scene *)s;
	render_shapes_draw(ctx, cmd, m->shapes, views);
	uint32_t head = 0;
	for (uint32_t i = 0; i < m->feed->count; i++) {
		const struct meet_participant *p = &m->feed->participants[i];
		const struct meeting_member *mm = &m->members[i];
		if (p->status == MEET_LEFT || mm->model < 0 || !m->models[mm->model].decoded || !mm->has_input ||
		    !m->models[mm->model].model)
			continue;
		if (head >= RENDER_MAX_AVATARS) break;
		struct avatar_outputs out;
		avatar_model_outputs(m->models[mm->model].model, mm->slot, &out);
		render_avatar_draw(ctx, cmd, m->avatars, views, head++, &out);
	}
	if (m->hands) render_hands_draw(ctx, cmd, m->hands, views);
	if (m->splat_count) splat_cmd_draw(ctx, cmd, m->splats, views, m->extent); /* blended: after opaque geometry */
	if (m->text && m->options.overlay) render_text_draw(ctx, cmd, m->text);
}

static void meeting_finish(struct app_scene *s, struct gpu_context *ctx, VkCommandBuffer cmd)
{
	(void)ctx;
	struct meeting_scene *m = (struct meeting_scene *)s;
	uint32_t t = (uint32_t)((m->frame - 1) % TIMERS);
	if (!m->timers[t].pool) return;
	gpu_cmd_timer_mark(cmd, &m->timers[t], m->timer_decode_count[t] + 1);
	m->timer_written[t] = true;
}

static void meeting_destroy(struct app_scene *s, struct gpu_context *ctx)
{
	struct meeting_scene *m = (struct meeting_scene *)s;
	if (ctx) {
		render_avatar_destroy(ctx, &m->avatars);
		render_shapes_destroy(ctx, &m->shapes);
		render_hands_destroy(ctx, &m->hands);
		render_text_destroy(ctx, &m->text);
		for (int t = 0; t < TIMERS; t++) gpu_timer_fini(ctx, &m->timers[t]);
		for (uint32_t k = 0; k < m->model_count; k++) {
			avatar_model_destroy(ctx, &m->models[k].model);
			gca_model_destroy(ctx, &m->models[k].gca);
		}
		avatar_kernels_destroy(ctx, &m->kernels);
		gca_kernels_destroy(ctx, &m->gca_kernels);
		splat_renderer_destroy(ctx, &m->splats);
	}
	for (uint32_t k = 0; k < m->model_count; k++) avatar_file_destroy(&m->models[k].file);
	hand_mesh_destroy(&m->hand_meshes[0]);
	hand_mesh_destroy(&m->hand_meshes[1]);
	meet_feed_destroy(&m->feed);
	free(m);
}

static enum cv_result load_hands(struct meeting_scene *m)
{
	static const char *names[2] = {"hand_left.cavhand", "hand_right.cavhand"};
	for (int h = 0; h < 2; h++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/assets/%s", CAVR_SOURCE_DIR, names[h]);
		if (hand_mesh_load(path, &m->hand_meshes[h]) != CV_OK) {
			CV_WARN("hands are not drawn: %s cannot be loaded", path);
			hand_mesh_destroy(&m->hand_meshes[0]);
			return CV_OK;
		}
	}
	return CV_OK;
}

void app_meeting_camera_reset(struct meeting_camera *c, enum meeting_camera_mode mode)
{
	*c = (struct meeting_camera){.mode = mode, .selected = c->selected, .fov_deg = 55.0f, .pitch = -0.12f};
	if (mode == MEETING_CAMERA_ORBIT) {
		c->distance = 3.2f;
		c->pitch = 0.45f;
		c->focus[1] = 1.0f;
	} else if (mode == MEETING_CAMERA_FREE) {
		glm_vec3_copy((vec3){0, 1.6f, 3.0f}, c->position);
		c->pitch = -0.2f;
	}
}

enum cv_result app_meeting_scene_create(struct meet_feed *feed, const struct app_meeting_options *options,
                                        struct app_scene **out)
{
	*out = NULL;
	struct meeting_scene *m = calloc(1, sizeof(*m));
	if (!m) {
		meet_feed_destroy(&feed);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "meeting scene");
	}
	m->base = (struct app_scene){
		.prepare = meeting_prepare,
		.camera = meeting_camera,
		.update = meeting_update,
		.draw = meeting_draw,
		.finish = meeting_finish,
		.input = app_meeting_input,
		.stage = meeting_stage,
		.user = meeting_user,
		.destroy = meeting_destroy,
		.clear_color = {0.02f, 0.02f, 0.025f, 1.0f},
	};
	m->feed = feed;
	if (options) m->options = *options;
	m->camera.selected = -1;
	m->hand_state[0].grabbed = m->hand_state[1].grabbed = -1;
	glm_mat4_identity(m->recenter);
	m->both_since = -1;
	app_meeting_camera_reset(&m->camera, MEETING_CAMERA_SEAT);
	assign_models(m);
	enum cv_result r = load_hands(m);
	if (r != CV_OK) {
		meeting_destroy(&m->base, NULL);
		return r;
	}
	*out = &m->base;
	return CV_OK;
}
