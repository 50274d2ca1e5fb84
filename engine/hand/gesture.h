/* gesture: pinch, grab and point from a tracked hand's joints (struct codec_hand, any space), with hysteresis.
 * Ratios are distances divided by the hand's size (wrist to middle-finger knuckle, about 9 cm):
 * pinch: thumb tip to index tip; curl: fingertip to wrist over knuckle to wrist (about 1.9 straight, 1.0 in a
 * fist). A gesture starts past its enter threshold and ends only past its leave threshold. */
#ifndef CAVR_HAND_GESTURE_H
#define CAVR_HAND_GESTURE_H

#include <stdbool.h>

#include "codec/codec.h"

#define HAND_PINCH_ENTER 0.25f /* about 2 cm on an average hand */
#define HAND_PINCH_LEAVE 0.45f /* about 4 cm */
#define HAND_CURL_ENTER 1.25f  /* fingers into a fist */
#define HAND_CURL_LEAVE 1.45f
#define HAND_STRAIGHT 1.65f    /* a pointing index */

struct hand_gestures {
	bool pinch, grab, point;
	float pinch_point[3]; /* between thumb and index tips, in the hand's space */
	float palm[3];
	float pinch_ratio, curl_ratio; /* the measures, for logs and tests */
};

/* Updates `g` (zero it before the first frame) from this frame's hand; an untracked hand ends every gesture. */
void hand_gestures_update(struct hand_gestures *g, const struct codec_hand *h);

#endif
