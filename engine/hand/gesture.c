/* Hand gestures from tracked joints, with hysteresis so a hand near a threshold does not flicker between states.
 * Distances are scaled by the hand's own size (wrist to middle-finger knuckle), so small and large hands agree. */
#include <math.h>

#include "gesture.h"

static float dist(const struct codec_hand *h, int a, int b)
{
	const float *p = h->joints[a].pose.position, *q = h->joints[b].pose.position;
	float dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
	return sqrtf(dx * dx + dy * dy + dz * dz);
}

static bool valid(const struct codec_hand *h, int j) { return h->joints[j].flags & CODEC_JOINT_POSITION_VALID; }

/* A finger is curled when its tip is closer to the wrist than its knuckle is, scaled. */
static float curl(const struct codec_hand *h, int proximal, int tip)
{
	float knuckle = dist(h, CODEC_JOINT_WRIST, proximal), reach = dist(h, CODEC_JOINT_WRIST, tip);
	return knuckle > 1e-4f ? reach / knuckle : 2.0f; /* about 1.9 straight, below 1.2 curled */
}

void hand_gestures_update(struct hand_gestures *g, const struct codec_hand *h)
{
	static const int tips[] = {CODEC_JOINT_THUMB_TIP, CODEC_JOINT_INDEX_TIP, CODEC_JOINT_MIDDLE_TIP,
	                           CODEC_JOINT_RING_TIP, CODEC_JOINT_LITTLE_TIP, CODEC_JOINT_WRIST,
	                           CODEC_JOINT_MIDDLE_METACARPAL, CODEC_JOINT_MIDDLE_PROXIMAL};
	bool ok = h->tracked;
	for (unsigned i = 0; ok && i < sizeof(tips) / sizeof(tips[0]); i++) ok = valid(h, tips[i]);
	if (!ok) {
		*g = (struct hand_gestures){0};
		return;
	}
	float size = dist(h, CODEC_JOINT_WRIST, CODEC_JOINT_MIDDLE_PROXIMAL);
	if (size < 1e-3f) size = 0.09f;
	float pinch = dist(h, CODEC_JOINT_THUMB_TIP, CODEC_JOINT_INDEX_TIP) / size;
	float index = curl(h, CODEC_JOINT_INDEX_PROXIMAL, CODEC_JOINT_INDEX_TIP);
	float others = (curl(h, CODEC_JOINT_MIDDLE_PROXIMAL, CODEC_JOINT_MIDDLE_TIP) +
	                curl(h, CODEC_JOINT_RING_PROXIMAL, CODEC_JOINT_RING_TIP) +
	                curl(h, CODEC_JOINT_LITTLE_PROXIMAL, CODEC_JOINT_LITTLE_TIP)) / 3.0f;
	/* Enter and leave thresholds differ (hysteresis). */
	g->pinch = g->pinch ? pinch < HAND_PINCH_LEAVE : pinch < HAND_PINCH_ENTER;
	bool fist = g->grab ? (index + others) / 2 < HAND_CURL_LEAVE : (index + others) / 2 < HAND_CURL_ENTER;
	g->grab = fist && !g->pinch;
	g->point = g->point ? index > HAND_CURL_LEAVE && others < HAND_CURL_LEAVE
	                    : index > HAND_STRAIGHT && others < HAND_CURL_ENTER;
	for (int i = 0; i < 3; i++) {
		g->pinch_point[i] = 0.5f * (h->joints[CODEC_JOINT_THUMB_TIP].pose.position[i] +
		                            h->joints[CODEC_JOINT_INDEX_TIP].pose.position[i]);
		g->palm[i] = h->joints[CODEC_JOINT_MIDDLE_METACARPAL].pose.position[i];
	}
	g->pinch_ratio = pinch;
	g->curl_ratio = (index + others) / 2;
}
