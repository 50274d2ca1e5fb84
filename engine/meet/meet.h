/* meet: a meeting as the renderer sees it. A feed (a recorded session played back, or a live meeting received
 * over the network) says, for a display time, who is there and what each participant looks like at that time:
 * the expression code of the frame nearest that time (decoded again only when it changes), head and hand poses
 * interpolated between packets, and the stream's health. Both feeds place decoded packets at the display time
 * through one piece (meet/stream.h), so a live participant looks as the same packets played back would. The
 * meeting scene (engine/app/scene_meeting.c) seats and draws whatever a feed reports; it never knows where the
 * packets came from.
 *
 * Poses are in the participant's seat frame (tools/assets/performance.py): metres, x to the participant's left,
 * y up, z the way they face, origin at their head centre at rest. The scene puts each seat frame at a seat. */
#ifndef CAVR_MEET_H
#define CAVR_MEET_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/codec.h"
#include "session/session.h"

#define MEET_MAX_PARTICIPANTS 64
#define MEET_PLAYBACK_DELAY_US 33333 /* playback shows recording time t as the packets stamped t - this */

enum meet_status {
	MEET_ACTIVE,       /* frames are arriving */
	MEET_WAITING,      /* named but no frame decoded yet (joining, or waiting for a key frame) */
	MEET_RECONNECTING, /* frames stopped for a while; the last state is held */
	MEET_LEFT,         /* left or timed out; not drawn */
};

struct meet_participant {
	uint32_t id;
	char name[SESSION_MAX_NAME + 1];
	char avatar_path[SESSION_MAX_PATH + 1]; /* resolved local file ("" when it could not be found) */
	uint8_t avatar_hash[SESSION_HASH_SIZE];
	enum meet_status status;
	bool has_frame;          /* the fields below are valid */
	uint64_t code_version;   /* changes whenever `code` changes: the scene decodes again only then */
	float code[CODEC_MAX_LATENT];
	uint32_t code_floats;
	struct codec_pose head;  /* at the display time */
	struct codec_hand hands[2];
	float audio_level;       /* 0 when the stream carries none */
	/* Stream health for the overlay. */
	float bitrate_kbps;      /* over the last second */
	float loss;              /* fraction of packets lost over the last seconds, 0..1 */
};

struct meet_feed {
	/* Moves the feed to display time `time_s` and fills the participants: what each looks like when the frame
	 * is shown (a headset: xrWaitFrame's predicted display time), not when update is called. Playback: seconds of
	 * recording time. Live: seconds on the presenter's clock, which the feed ties to its receiver's clock at its
	 * first update with time_s > 0 (that display time is "now" there); differences of display time are honoured
	 * from then on (a frame shown later shows later poses); time_s <= 0: now. Never blocks on I/O longer than
	 * reading what is already there. */
	enum cv_result (*update)(struct meet_feed *f, double time_s);
	void (*destroy)(struct meet_feed *f);
	struct meet_participant *participants; /* `count` of them, filled by update */
	uint32_t count;
	double duration_s; /* playback: the recording's length; live: < 0 */
};

static inline void meet_feed_destroy(struct meet_feed **f)
{
	if (*f) (*f)->destroy(*f);
	*f = NULL;
}

/* A recorded session (.cavrec) played back: update(t) shows the recording at t seconds after its start, decoding
 * forward from where it was or, after a jump (seek, loop), from the key frames before t, so any path to a time
 * gives the same participants. Poses are interpolated between packets and shown one frame interval late
 * (MEET_PLAYBACK_DELAY_US, 33 ms at 30 Hz), so the packets on both sides of the shown time are there.
 * Participants whose avatar file is missing stay in the list with an empty avatar_path and no frames: the scene
 * seats a placeholder. */
struct meet_playback_desc {
	/* Benchmarks: seat this many participants, repeating the recorded ones with their performances shifted in
	 * time (looping); 0: the recording as it is. */
	uint32_t participants;
};
enum cv_result meet_playback_create(const char *path, const struct meet_playback_desc *desc, struct meet_feed **out);

/* Finds a participant's avatar file: `path` relative to `base_dir` (the recording's folder), then a file of the
 * same name in each folder of CAVR_AVATAR_PATH (':'-separated), the parent of `base_dir` and the shipped assets;
 * a candidate counts only when its SHA-256 is `hash`. CV_ERROR_IO (with an error naming the path and hash) when
 * none matches. */
enum cv_result meet_find_avatar(const char *base_dir, const char *path, const uint8_t hash[SESSION_HASH_SIZE],
                                char *out, size_t out_size);

#endif
