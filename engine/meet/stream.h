/* meet: one participant's decoded frames -> what it looks like at a display time. Shared by playback
 * (meet/playback.c) and the live feed (net/net_receiver.c), so both interpolate the same way: the last few
 * decoded frames, stamped on the participant's media clock (recording time, or the sender's clock), and one
 * function that places head, hand joints (poses, radii, flags), audio level and the expression code at a time on
 * that clock. */
#ifndef CAVR_MEET_STREAM_H
#define CAVR_MEET_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/codec.h"
#include "meet/meet.h"

struct meet_stream_frame {
	int64_t t_us; /* media clock */
	struct codec_pose head;
	struct codec_hand hands[2];
	bool has_audio;
	float audio_level;
	float *code; /* `latent` floats */
};

#define MEET_STREAM_HISTORY 4 /* frames kept: a display time up to 2-3 frame intervals before the newest is exact */

struct meet_stream {
	uint32_t latent;
	uint32_t count, newest;                          /* frames held; the newest's index in `frames` */
	struct meet_stream_frame frames[MEET_STREAM_HISTORY]; /* a ring */
};
/* The newest frame, NULL when there is none. */
const struct meet_stream_frame *meet_stream_newest(const struct meet_stream *s);

enum cv_result meet_stream_init(struct meet_stream *s, uint32_t latent);
void meet_stream_free(struct meet_stream *s);
/* Forgets the frames (a seek, a restarted stream). */
void meet_stream_reset(struct meet_stream *s);
/* A decoded frame at media time t_us, after those pushed before. restart_gap_us > 0: after a gap longer than
 * that (or a time that does not advance) the older frame is the new one too, so nothing is interpolated across
 * the gap (poses nobody had). */
void meet_stream_push(struct meet_stream *s, const struct codec_frame *f, int64_t t_us, int64_t restart_gap_us);

/* The state at media time t_us, into out's head, hands and audio_level. Between two frames: interpolated
 * (positions and radii linear, orientations nlerp on the shorter arc, joint flags valid only where valid in
 * both, an untracked hand on either side: the nearer frame's). Before the oldest frame held: that frame. After
 * the newest: extrapolated along the last motion for at most extrapolate_us (and one frame interval), then
 * held. Returns the frame whose code is shown at t_us (the nearer one; NULL while no frame was pushed). */
const struct meet_stream_frame *meet_stream_at(const struct meet_stream *s, int64_t t_us, int64_t extrapolate_us,
                                               struct meet_participant *out);

#endif
