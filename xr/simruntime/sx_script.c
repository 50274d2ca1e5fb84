/* sx_script: what the simulated user does, as keyframes over simulated time (the format is in README.md).
 * Each channel (head, each hand, each controller's poses and buttons) has its own keys: poses and hand
 * parameters are interpolated (linearly, orientations by shortest-path slerp), buttons and tracking flags
 * step. Before its first key a channel holds its first value, after its last its last. Scripts are untrusted
 * text: every line is checked and an error names the line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx_internal.h"

#define DEG (M_PI / 180.0)
#define JOINTS XR_HAND_JOINT_COUNT_EXT

struct pose_key {
	double t;
	struct sx_pose pose;
};

struct step_key {
	double t;
	double v;
};

struct hand_key {
	double t;
	bool tracked;
	bool procedural;  /* wrist + curl + pinch, else explicit joints */
	struct sx_pose wrist;
	double curl, pinch;
	struct sx_joint joints[JOINTS]; /* STAGE space; filled for both kinds */
};

struct event_key {
	double t;
	enum sx_script_event ev;
};

#define CHANNEL(type) \
	struct {          \
		type *k;      \
		size_t n, cap; \
	}

struct sx_script {
	CHANNEL(struct pose_key) head;
	CHANNEL(struct hand_key) hand[SX_HAND_COUNT];
	CHANNEL(struct pose_key) grip[SX_HAND_COUNT];
	CHANNEL(struct pose_key) aim[SX_HAND_COUNT];
	CHANNEL(struct step_key) select[SX_HAND_COUNT];
	CHANNEL(struct step_key) menu[SX_HAND_COUNT];
	CHANNEL(struct step_key) connected[SX_HAND_COUNT];
	CHANNEL(struct event_key) events;
};

/* Appends a key, or replaces the last one when it has the same time. */
#define ADD_KEY(ch, key)                                                                   \
	do {                                                                                   \
		if ((ch).n && (ch).k[(ch).n - 1].t == (key).t) {                                   \
			(ch).k[(ch).n - 1] = (key);                                                    \
			break;                                                                         \
		}                                                                                  \
		if ((ch).n == (ch).cap) {                                                          \
			size_t cap_ = (ch).cap ? (ch).cap * 2 : 8;                                     \
			void *grown_ = realloc((ch).k, cap_ * sizeof *(ch).k);                         \
			if (!grown_) return fail(p, "out of memory");                                  \
			(ch).k = grown_;                                                               \
			(ch).cap = cap_;                                                               \
		}                                                                                  \
		(ch).k[(ch).n++] = (key);                                                          \
	} while (0)

/* Index of the last key with k[i].t <= t, or 0 when t precedes every key (n > 0). */
#define KEY_AT(ch, t, out)                                               \
	do {                                                                 \
		size_t lo_ = 0, hi_ = (ch).n;                                    \
		while (hi_ - lo_ > 1) {                                          \
			size_t mid_ = (lo_ + hi_) / 2;                               \
			if ((ch).k[mid_].t <= (t)) lo_ = mid_; else hi_ = mid_;       \
		}                                                                \
		(out) = lo_;                                                     \
	} while (0)

/* ---- the procedural hand ---- */
struct finger_shape {
	double meta[3], knuckle[3]; /* right hand, wrist frame: +X right, +Y back of the hand, -Z towards the fingers */
	double len[3];              /* proximal, intermediate, distal bones */
	double bend[3];             /* flexion of each bone at curl 1, radians */
	double radius;              /* scales the joint radii */
};

static const struct finger_shape g_fingers[4] = {
	{{-0.012, 0.000, -0.012}, {-0.024, -0.002, -0.088}, {0.040, 0.024, 0.021}, {75 * DEG, 95 * DEG, 70 * DEG}, 1.00},
	{{0.000, 0.000, -0.012}, {-0.002, -0.002, -0.090}, {0.045, 0.028, 0.022}, {75 * DEG, 95 * DEG, 70 * DEG}, 1.00},
	{{0.012, -0.001, -0.011}, {0.018, -0.004, -0.084}, {0.042, 0.026, 0.021}, {75 * DEG, 95 * DEG, 70 * DEG}, 0.95},
	{{0.022, -0.003, -0.010}, {0.036, -0.008, -0.074}, {0.032, 0.020, 0.019}, {75 * DEG, 95 * DEG, 70 * DEG}, 0.85},
};
static const double g_thumb_meta[3] = {-0.020, -0.012, -0.022}, g_thumb_prox[3] = {-0.043, -0.020, -0.050};
static const double g_thumb_len[2] = {0.033, 0.028};
static const double g_thumb_bend[2] = {40 * DEG, 50 * DEG};

/* A joint frame from the direction its bone points (towards the tip) and an "up" hint. */
static void joint_frame(const double pos[3], const double fwd[3], const double up_hint[3], struct sx_pose *out)
{
	double z[3] = {-fwd[0], -fwd[1], -fwd[2]}, y[3], x[3];
	sx_vec_normalize(z);
	double d = sx_vec_dot(up_hint, z);
	for (int i = 0; i < 3; i++) y[i] = up_hint[i] - d * z[i];
	if (sx_vec_normalize(y) < 1e-9) { /* up parallel to the bone: any perpendicular will do */
		double alt[3] = {1, 0, 0};
		sx_vec_cross(z, alt, y);
		sx_vec_normalize(y);
	}
	sx_vec_cross(y, z, x);
	sx_quat_from_axes(x, y, z, out->q);
	for (int i = 0; i < 3; i++) out->p[i] = pos[i];
}

/* Bends a bone chain: bone b points along f0 rotated about `axis` by the sum of bends up to b. */
static void bend_chain(const double start[3], const double f0[3], const double u0[3], const double axis[3],
                       const double *len, const double *bend, double curl, int bones, double pos[][3],
                       double fwd[][3], double up[][3])
{
	double angle = 0;
	for (int i = 0; i < 3; i++) pos[0][i] = start[i];
	for (int b = 0; b < bones; b++) {
		angle += bend[b] * curl;
		double q[4];
		sx_quat_axis_angle(axis, angle, q);
		sx_quat_rotate(q, f0, fwd[b]);
		sx_quat_rotate(q, u0, up[b]);
		for (int i = 0; i < 3; i++) pos[b + 1][i] = pos[b][i] + len[b] * fwd[b][i];
	}
}

void sx_hand_model(enum sx_hand hand, const struct sx_pose *wrist, double curl, double pinch,
                   struct sx_joint joints[JOINTS])
{
	static const double radius[5] = {0.011, 0.0095, 0.0082, 0.0072, 0.0062}; /* metacarpal .. tip */
	const double up[3] = {0, 1, 0};
	struct sx_pose local[JOINTS];
	double rad[JOINTS];

	/* Fingers (index, middle, ring, little): metacarpal, proximal, intermediate, distal, tip. */
	double index_tip[3] = {0, 0, 0};
	for (int f = 0; f < 4; f++) {
		const struct finger_shape *s = &g_fingers[f];
		int base = XR_HAND_JOINT_INDEX_METACARPAL_EXT + 5 * f;
		double dm[3];
		sx_vec_sub(s->knuckle, s->meta, dm);
		sx_vec_normalize(dm);
		joint_frame(s->meta, dm, up, &local[base]);
		double axis[3], pos[4][3], fwd[3][3], ups[3][3];
		sx_vec_cross(up, dm, axis); /* +angle bends towards the palm */
		double c = f == 0 ? fmax(curl, 0.45 * pinch) : curl;
		bend_chain(s->knuckle, dm, up, axis, s->len, s->bend, c, 3, pos, fwd, ups);
		for (int j = 0; j < 4; j++) joint_frame(pos[j], fwd[j < 3 ? j : 2], ups[j < 3 ? j : 2], &local[base + 1 + j]);
		for (int j = 0; j < 5; j++) rad[base + j] = radius[j] * s->radius;
		if (f == 0)
			for (int i = 0; i < 3; i++) index_tip[i] = pos[3][i];
	}

	/* Thumb: metacarpal, proximal, distal, tip; pinch pulls it onto the index tip. */
	double dt[3], tu[3] = {-0.6, 0.8, 0}, axis[3];
	sx_vec_sub(g_thumb_prox, g_thumb_meta, dt);
	sx_vec_normalize(dt);
	double d = sx_vec_dot(tu, dt);
	for (int i = 0; i < 3; i++) tu[i] -= d * dt[i];
	sx_vec_normalize(tu);
	sx_vec_cross(tu, dt, axis);
	double tpos[4][3], tfwd[3][3], tup[3][3];
	for (int i = 0; i < 3; i++) tpos[0][i] = g_thumb_meta[i];
	bend_chain(g_thumb_prox, dt, tu, axis, g_thumb_len, g_thumb_bend, curl, 2, &tpos[1], &tfwd[1], &tup[1]);
	double reach[3], weight[4] = {0, 0.35, 0.7, 1.0};
	sx_vec_sub(index_tip, tpos[3], reach);
	for (int j = 0; j < 4; j++)
		for (int i = 0; i < 3; i++) tpos[j][i] += weight[j] * pinch * reach[i];
	for (int j = 0; j < 4; j++) {
		double fwd[3];
		if (j < 3)
			sx_vec_sub(tpos[j + 1], tpos[j], fwd);
		else
			sx_vec_sub(tpos[3], tpos[2], fwd);
		sx_vec_normalize(fwd);
		joint_frame(tpos[j], fwd, j == 0 ? tu : tup[j < 3 ? j : 2], &local[XR_HAND_JOINT_THUMB_METACARPAL_EXT + j]);
		rad[XR_HAND_JOINT_THUMB_METACARPAL_EXT + j] = radius[j] * 1.15;
	}

	/* Wrist at the origin; palm at the middle of the middle finger's metacarpal bone. */
	local[XR_HAND_JOINT_WRIST_EXT] = SX_POSE_IDENTITY;
	rad[XR_HAND_JOINT_WRIST_EXT] = 0.020;
	const struct finger_shape *mid = &g_fingers[1];
	double palm[3], dm[3];
	for (int i = 0; i < 3; i++) palm[i] = 0.5 * (mid->meta[i] + mid->knuckle[i]);
	sx_vec_sub(mid->knuckle, mid->meta, dm);
	joint_frame(palm, dm, up, &local[XR_HAND_JOINT_PALM_EXT]);
	rad[XR_HAND_JOINT_PALM_EXT] = 0.016;

	for (int j = 0; j < JOINTS; j++) {
		struct sx_pose l = local[j];
		if (hand == SX_HAND_LEFT) { /* mirror x: positions flip, rotations become (x, -y, -z, w) */
			l.p[0] = -l.p[0];
			l.q[1] = -l.q[1];
			l.q[2] = -l.q[2];
		}
		joints[j].pose = sx_pose_mul(wrist, &l);
		joints[j].radius = rad[j];
	}
}

/* ---- parsing ---- */
struct parser {
	const char *what;
	int line;
	char *err;
	size_t err_size;
	char **tok;
	int ntok, at;
};

static struct sx_script *fail(struct parser *p, const char *msg)
{
	snprintf(p->err, p->err_size, "%s:%d: %s", p->what, p->line, msg);
	return NULL;
}

static bool number(struct parser *p, double *out)
{
	if (p->at >= p->ntok) return false;
	char *end;
	errno = 0;
	double v = strtod(p->tok[p->at], &end);
	if (end == p->tok[p->at] || *end || errno || !isfinite(v)) return false;
	p->at++;
	*out = v;
	return true;
}

bool sx_script_event_named(const char *name, enum sx_script_event *out)
{
	static const struct {
		const char *name;
		enum sx_script_event ev;
	} names[] = {
		{"loss", SX_EVENT_LOSS}, {"instance_loss", SX_EVENT_INSTANCE_LOSS}, {"exit", SX_EVENT_EXIT},
		{"stop", SX_EVENT_STOP}, {"focus", SX_EVENT_FOCUS},                 {"unfocus", SX_EVENT_UNFOCUS},
		{"recenter", SX_EVENT_RECENTER},
	};
	for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].ev;
			return true;
		}
	}
	return false;
}

static bool word(struct parser *p, const char *w)
{
	if (p->at < p->ntok && strcmp(p->tok[p->at], w) == 0) {
		p->at++;
		return true;
	}
	return false;
}

/* x y z, then qx qy qz qw or `ypr` yaw pitch roll (degrees). */
static bool pose(struct parser *p, struct sx_pose *out)
{
	for (int i = 0; i < 3; i++)
		if (!number(p, &out->p[i])) return false;
	if (word(p, "ypr")) {
		double a[3];
		for (int i = 0; i < 3; i++)
			if (!number(p, &a[i])) return false;
		sx_quat_ypr(a[0] * DEG, a[1] * DEG, a[2] * DEG, out->q);
		return true;
	}
	for (int i = 0; i < 4; i++)
		if (!number(p, &out->q[i])) return false;
	return sx_quat_normalize(out->q);
}

static int hand_word(struct parser *p)
{
	if (word(p, "left")) return SX_HAND_LEFT;
	if (word(p, "right")) return SX_HAND_RIGHT;
	return -1;
}

static bool unit(double v)
{
	return v >= 0 && v <= 1;
}

static struct sx_script *parse_line(struct parser *p, struct sx_script *s, double *t)
{
	const char *cmd = p->tok[p->at++];
	if (strcmp(cmd, "at") == 0) {
		double v;
		if (!number(p, &v) || v < 0) return fail(p, "expected 'at SECONDS' (seconds >= 0)");
		if (v < *t) return fail(p, "times must not decrease");
		*t = v;
	} else if (strcmp(cmd, "head") == 0) {
		struct pose_key k = {*t, SX_POSE_IDENTITY};
		if (!pose(p, &k.pose)) return fail(p, "expected 'head X Y Z (QX QY QZ QW | ypr YAW PITCH ROLL)'");
		ADD_KEY(s->head, k);
	} else if (strcmp(cmd, "hand") == 0) {
		int h = hand_word(p);
		struct hand_key k = {.t = *t, .tracked = true, .procedural = true, .curl = 0.1};
		if (h < 0) return fail(p, "expected 'hand left|right ...'");
		if (word(p, "off")) {
			k.tracked = false;
		} else {
			if (!pose(p, &k.wrist)) return fail(p, "expected 'hand HAND WRIST_POSE [curl C] [pinch P]' or 'hand HAND off'");
			while (p->at < p->ntok) {
				double *dst = word(p, "curl") ? &k.curl : word(p, "pinch") ? &k.pinch : NULL;
				if (!dst || !number(p, dst) || !unit(*dst)) return fail(p, "expected 'curl C' or 'pinch P' with 0 <= C, P <= 1");
			}
			sx_hand_model((enum sx_hand)h, &k.wrist, k.curl, k.pinch, k.joints);
		}
		ADD_KEY(s->hand[h], k);
	} else if (strcmp(cmd, "joints") == 0) {
		int h = hand_word(p);
		struct hand_key k = {.t = *t, .tracked = true};
		if (h < 0) return fail(p, "expected 'joints left|right' and 26 joints");
		for (int j = 0; j < JOINTS; j++) {
			struct sx_pose *jp = &k.joints[j].pose;
			bool ok = true;
			for (int i = 0; i < 3; i++) ok = ok && number(p, &jp->p[i]);
			for (int i = 0; i < 4; i++) ok = ok && number(p, &jp->q[i]);
			ok = ok && number(p, &k.joints[j].radius) && k.joints[j].radius > 0 && sx_quat_normalize(jp->q);
			if (!ok) return fail(p, "expected 26 joints of 'X Y Z QX QY QZ QW RADIUS' (radius > 0)");
		}
		k.wrist = k.joints[XR_HAND_JOINT_WRIST_EXT].pose;
		ADD_KEY(s->hand[h], k);
	} else if (strcmp(cmd, "grip") == 0 || strcmp(cmd, "aim") == 0) {
		int h = hand_word(p);
		struct pose_key k = {*t, SX_POSE_IDENTITY};
		if (h < 0 || !pose(p, &k.pose)) return fail(p, "expected 'grip|aim left|right POSE'");
		if (cmd[0] == 'g')
			ADD_KEY(s->grip[h], k);
		else
			ADD_KEY(s->aim[h], k);
	} else if (strcmp(cmd, "select") == 0 || strcmp(cmd, "menu") == 0 || strcmp(cmd, "controller") == 0) {
		int h = hand_word(p);
		struct step_key k = {*t, 0};
		bool on = word(p, "1") || word(p, "on"), off = !on && (word(p, "0") || word(p, "off"));
		if (h < 0 || (!on && !off)) return fail(p, "expected 'select|menu|controller left|right 0|1'");
		k.v = on;
		if (cmd[0] == 's')
			ADD_KEY(s->select[h], k);
		else if (cmd[0] == 'm')
			ADD_KEY(s->menu[h], k);
		else
			ADD_KEY(s->connected[h], k);
	} else if (strcmp(cmd, "event") == 0) {
		struct event_key k = {*t, 0};
		bool found = p->at < p->ntok && sx_script_event_named(p->tok[p->at], &k.ev);
		if (found) p->at++;
		if (!found) return fail(p, "expected 'event loss|instance_loss|exit|stop|focus|unfocus|recenter'");
		if (s->events.n == s->events.cap) {
			size_t cap = s->events.cap ? s->events.cap * 2 : 8;
			void *grown = realloc(s->events.k, cap * sizeof *s->events.k);
			if (!grown) return fail(p, "out of memory");
			s->events.k = grown;
			s->events.cap = cap;
		}
		s->events.k[s->events.n++] = k; /* several events may share a time */
	} else {
		return fail(p, "unknown command (at, head, hand, joints, grip, aim, select, menu, controller, event)");
	}
	if (p->at != p->ntok) return fail(p, "unexpected words at the end of the line");
	return s;
}

struct sx_script *sx_script_parse(const char *text, const char *what, char *err, size_t err_size)
{
	struct sx_script *s = calloc(1, sizeof *s);
	char *copy = strdup(text);
	char **tok = malloc(sizeof *tok * (8 * JOINTS + 8));
	struct parser p = {what, 0, err, err_size, tok, 0, 0};
	if (!s || !copy || !tok) {
		free(copy);
		free(tok);
		free(s);
		snprintf(err, err_size, "%s: out of memory", what);
		return NULL;
	}
	double t = 0;
	bool ok = true;
	char *save_line = NULL;
	/* strtok_r would skip empty lines and misnumber the rest, so split by hand. */
	for (char *line = copy; ok && line; line = save_line) {
		char *nl = strchr(line, '\n');
		save_line = nl ? nl + 1 : NULL;
		if (nl) *nl = 0;
		p.line++;
		char *hash = strchr(line, '#');
		if (hash) *hash = 0;
		p.ntok = 0;
		p.at = 0;
		char *save = NULL;
		for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
			if (p.ntok == 8 * JOINTS + 8) {
				ok = fail(&p, "too many words") != NULL;
				break;
			}
			tok[p.ntok++] = w;
		}
		if (ok && p.ntok) ok = parse_line(&p, s, &t) != NULL;
	}
	free(copy);
	free(tok);
	if (!ok) sx_script_destroy(&s);
	return s;
}

struct sx_script *sx_script_load(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_size, "cannot open script '%s'", path);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *text = malloc(cap + 1);
	while (text) {
		n += fread(text + n, 1, cap - n, f);
		if (n < cap) break;
		char *grown = realloc(text, cap * 2 + 1);
		if (!grown) {
			free(text);
			text = NULL;
			break;
		}
		text = grown;
		cap *= 2;
	}
	bool read_error = ferror(f);
	fclose(f);
	if (!text || read_error) {
		free(text);
		snprintf(err, err_size, "cannot read script '%s'", path);
		return NULL;
	}
	text[n] = 0;
	if (strlen(text) != n) {
		free(text);
		snprintf(err, err_size, "%s: not a text file", path);
		return NULL;
	}
	struct sx_script *s = sx_script_parse(text, path, err, err_size);
	free(text);
	return s;
}

void sx_script_destroy(struct sx_script **sp)
{
	struct sx_script *s = *sp;
	if (!s) return;
	free(s->head.k);
	for (int h = 0; h < SX_HAND_COUNT; h++) {
		free(s->hand[h].k);
		free(s->grip[h].k);
		free(s->aim[h].k);
		free(s->select[h].k);
		free(s->menu[h].k);
		free(s->connected[h].k);
	}
	free(s->events.k);
	free(s);
	*sp = NULL;
}

/* ---- evaluation ---- */
static struct sx_pose pose_at(const struct pose_key *k, size_t n, double t, struct sx_pose fallback)
{
	if (!n) return fallback;
	if (t <= k[0].t) return k[0].pose;
	if (t >= k[n - 1].t) return k[n - 1].pose;
	struct {
		const struct pose_key *k;
		size_t n;
	} ch = {k, n};
	size_t i;
	KEY_AT(ch, t, i);
	return sx_pose_lerp(&k[i].pose, &k[i + 1].pose, (t - k[i].t) / (k[i + 1].t - k[i].t));
}

static double step_at(const struct step_key *k, size_t n, double t, double fallback)
{
	if (!n) return fallback;
	struct {
		const struct step_key *k;
		size_t n;
	} ch = {k, n};
	size_t i;
	KEY_AT(ch, t, i);
	return k[i].v;
}

struct sx_pose sx_script_head(const struct sx_script *s, double t)
{
	return pose_at(s->head.k, s->head.n, t, (struct sx_pose){{0, 1.6, 0}, {0, 0, 0, 1}});
}

static const struct sx_pose g_default_wrist[SX_HAND_COUNT] = {
	{{-0.18, 1.35, -0.35}, {0, 0, 0, 1}},
	{{0.18, 1.35, -0.35}, {0, 0, 0, 1}},
};

bool sx_script_hand(const struct sx_script *s, enum sx_hand hand, double t, struct sx_joint joints[JOINTS])
{
	const struct hand_key *k = s->hand[hand].k;
	size_t n = s->hand[hand].n;
	if (!n) {
		sx_hand_model(hand, &g_default_wrist[hand], 0.1, 0, joints);
		return true;
	}
	size_t i;
	KEY_AT(s->hand[hand], t, i);
	if (!k[i].tracked) return false;
	const struct hand_key *a = &k[i], *b = i + 1 < n && t > a->t ? &k[i + 1] : NULL;
	if (!b || !b->tracked) {
		memcpy(joints, a->joints, sizeof a->joints);
		return true;
	}
	double f = (t - a->t) / (b->t - a->t);
	if (a->procedural && b->procedural) {
		struct sx_pose wrist = sx_pose_lerp(&a->wrist, &b->wrist, f);
		sx_hand_model(hand, &wrist, a->curl + (b->curl - a->curl) * f, a->pinch + (b->pinch - a->pinch) * f, joints);
		return true;
	}
	for (int j = 0; j < JOINTS; j++) {
		joints[j].pose = sx_pose_lerp(&a->joints[j].pose, &b->joints[j].pose, f);
		joints[j].radius = a->joints[j].radius + (b->joints[j].radius - a->joints[j].radius) * f;
	}
	return true;
}

struct sx_controller sx_script_controller(const struct sx_script *s, enum sx_hand hand, double t)
{
	struct sx_pose grip0 = {{hand == SX_HAND_LEFT ? -0.2 : 0.2, 1.3, -0.3}, {0, 0, 0, 1}};
	struct sx_controller c;
	c.connected = step_at(s->connected[hand].k, s->connected[hand].n, t, 1) != 0;
	c.grip = pose_at(s->grip[hand].k, s->grip[hand].n, t, grip0);
	c.aim = pose_at(s->aim[hand].k, s->aim[hand].n, t, c.grip);
	c.select = step_at(s->select[hand].k, s->select[hand].n, t, 0) != 0;
	c.menu = step_at(s->menu[hand].k, s->menu[hand].n, t, 0) != 0;
	return c;
}

uint32_t sx_script_events(const struct sx_script *s, double after, double until, enum sx_script_event *out,
                          uint32_t max)
{
	uint32_t n = 0;
	for (size_t i = 0; i < s->events.n && n < max; i++)
		if (s->events.k[i].t > after && s->events.k[i].t <= until) out[n++] = s->events.k[i].ev;
	return n;
}
