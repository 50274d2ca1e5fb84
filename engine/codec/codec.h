/* codec: the avatar stream codec. One participant's frames (expression code, head pose, hands, gaze, audio level)
 * become small self-describing packets, and packets become frames again. It knows nothing of Vulkan, networks or
 * files: a transport or a recording (.cavrec) carries the packets, and the decoded code goes to the GPU decoder.
 *
 * Streams. A struct codec_encoder and a struct codec_decoder are bound to one stream: one participant, one avatar,
 * one latent size and one set of quantisation scales. Both keep what the previous frame reconstructed, because
 * delta frames are predicted from it. Key frames need nothing earlier: the encoder sends one at the start, every
 * key interval (default 1 s), after a sequence jump, after a long pause, and on request, so a receiver can start
 * at any key frame and recovers from loss at the next one.
 *
 * Untrusted input. codec_decoder_decode and codec_packet_parse parse bytes from the network or a file: every
 * length, count and value is checked before use, nothing is allocated while decoding, and a packet that fails
 * leaves the decoder exactly as it was (as if the packet had been lost). Malformed packets give
 * CV_ERROR_FORMAT, packets of another stream (participant, avatar, latent size, scales) CV_ERROR_MISMATCH,
 * a newer packet version CV_ERROR_UNSUPPORTED. Late, duplicate and undecodable delta packets are skipped and
 * counted, not errors. Packets carry no checksum: transports and recordings check integrity. A corrupted packet
 * that still parses decodes to wrong but finite, in-range values, and the next key frame repairs the stream
 * (the second one if the corruption hit a key frame's sequence or timestamp). A libFuzzer entry point lives in
 * tests/fuzz/fuzz_packet.c.
 *
 * Packet (all integers little-endian; "varint" is unsigned LEB128, at most 10 bytes, overlong forms refused):
 *   byte 0        0xA0 | CODEC_PACKET_VERSION (the high nibble 0xA is the magic)
 *   byte 1        flags: CODEC_PACKET_KEY, _LEFT_HAND, _RIGHT_HAND, _GAZE, _AUDIO; bits 5-7 zero
 *   varint        participant id
 *   key frames:   varint avatar id, varint latent size Z (1..CODEC_MAX_LATENT), varint sequence (u32),
 *                 varint timestamp (us), f32 quality, u32 scale check (FNV-1a of Z, code mean and code std)
 *   delta frames: u16 low 16 bits of the sequence (the decoder extends it from the last frame it decoded)
 *   varint        body length, then the body: one binary range-coded stream (LZMA-style coder, 11-bit adaptive
 *                 probabilities, the always-zero first byte and trailing zero bytes dropped)
 * Body, in order: (delta frames) the frame interval; head position and rotation; each present hand; gaze;
 * audio level; the code. Every value is an integer on a fixed quantisation grid, coded as the difference from a
 * prediction (0 in key frames and for a part absent in the previous frame, else the previous value or a linear
 * extrapolation of the last two, chosen per value by which has predicted better lately, so encoder and decoder
 * choose alike without side information). The difference is binarised as zero flag, sign, unary exponent class
 * and mantissa, with adaptive contexts chosen by the size of the value's previous difference; the contexts carry
 * over from frame to frame and restart at each key frame. The grid values themselves are the predictor state, so
 * prediction is closed-loop and exactly the same on both sides: quantisation error never accumulates.
 *
 * Hands. The skeleton is rigid: each joint's offset from its parent, expressed in the parent's frame, is a bone
 * of fixed length and direction. A hand sends its bones only when it is intra coded (key frames and the first
 * frame it is tracked again), as a scale of a built-in average hand (codec_average_hand, fitted by least squares)
 * and each bone's difference from the scaled average hand; every frame sends the wrist pose,
 * each joint's rotation relative to its parent's reconstructed orientation (a rotation vector), radii and the
 * per-joint validity flags. The receiver rebuilds positions down the chain, P = P_parent + R_parent * bone.
 * Where that misses a joint's true position by more than the tolerance on any axis (non-rigid tracking data,
 * rotation error accumulated along a finger), the encoder adds a position correction for that joint, so the
 * stated position bound holds whatever the input. Joints flagged invalid cost almost nothing and decode to
 * finite placeholder values (the chain's prediction) with their flags.
 *
 * Error bounds (per value; d = decoded minus input), for inputs within range (codes within 2^20 steps of the
 * mean, positions within 500 m of the origin). The code's step scales with the quality knob; the rest is fixed.
 *   code dimension i   |d| <= step_i / 2,  step_i = quality * CODEC_CODE_STEP * code_std_i
 *   head position      |d| <= CODEC_HEAD_POSITION_STEP / 2 per axis
 *   head orientation   angle <= sqrt(3) / 2 * CODEC_HEAD_ROTATION_STEP
 *   wrist position     |d| <= CODEC_WRIST_POSITION_STEP / 2 per axis
 *   wrist orientation  angle <= sqrt(3) / 2 * CODEC_WRIST_ROTATION_STEP
 *   other joints       position |d| <= CODEC_JOINT_POSITION_TOLERANCE per axis,
 *                      orientation angle <= sqrt(3) / 2 * CODEC_JOINT_ROTATION_STEP
 *   joint radius       |d| <= CODEC_RADIUS_STEP / 2
 *   gaze direction     angle <= sqrt(18) / 2 * CODEC_GAZE_STEP (octahedral map, Cigolle et al. 2014)
 *   audio level        |d| <= CODEC_AUDIO_STEP / 2
 *   timestamp, sequence, ids, flags: exact.
 * Decoded quaternions are unit and have w >= 0 (q and -q are the same rotation).
 *
 * Ownership: encoders and decoders are created and destroyed by the caller; they copy what the stream
 * description points at. Frames are caller-owned; a decoded frame's code points into the decoder and stays
 * valid until its next decode, reset or destroy. */
#ifndef CAVR_CODEC_H
#define CAVR_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define CODEC_PACKET_VERSION 1
#define CODEC_MAX_LATENT 4096
#define CODEC_HAND_JOINTS 26 /* XR_HAND_JOINT_COUNT_EXT */

/* Quantisation grid at quality 1. The code step is a fraction of each dimension's standard deviation; the
 * default was chosen with `cavr bench codec` (texture PSNR against rate, engine/app/bench_codec.c). */
#define CODEC_CODE_STEP 0.2
#define CODEC_HEAD_POSITION_STEP 0.0005      /* metres */
#define CODEC_HEAD_ROTATION_STEP 0.0005      /* radians, per rotation-vector component */
#define CODEC_WRIST_POSITION_STEP 0.0005
#define CODEC_WRIST_ROTATION_STEP 0.002
#define CODEC_JOINT_ROTATION_STEP 0.01
#define CODEC_JOINT_POSITION_TOLERANCE 0.001 /* corrections use this step, so a corrected joint is within half */
#define CODEC_HAND_SCALE_STEP (1.0 / 512.0)
#define CODEC_BONE_STEP 0.00025
#define CODEC_RADIUS_STEP 0.00025
#define CODEC_GAZE_STEP (1.0 / 2048.0)       /* octahedral coordinates, each in -1..1 */
#define CODEC_AUDIO_STEP (1.0 / 256.0)

/* Packet flags (byte 1). */
enum codec_packet_flags {
	CODEC_PACKET_KEY = 1,
	CODEC_PACKET_LEFT_HAND = 2,
	CODEC_PACKET_RIGHT_HAND = 4,
	CODEC_PACKET_GAZE = 8,
	CODEC_PACKET_AUDIO = 16,
};

/* Joints in XR_EXT_hand_tracking order (XrHandJointEXT). */
enum codec_hand_joint {
	CODEC_JOINT_PALM,
	CODEC_JOINT_WRIST,
	CODEC_JOINT_THUMB_METACARPAL,
	CODEC_JOINT_THUMB_PROXIMAL,
	CODEC_JOINT_THUMB_DISTAL,
	CODEC_JOINT_THUMB_TIP,
	CODEC_JOINT_INDEX_METACARPAL,
	CODEC_JOINT_INDEX_PROXIMAL,
	CODEC_JOINT_INDEX_INTERMEDIATE,
	CODEC_JOINT_INDEX_DISTAL,
	CODEC_JOINT_INDEX_TIP,
	CODEC_JOINT_MIDDLE_METACARPAL,
	CODEC_JOINT_MIDDLE_PROXIMAL,
	CODEC_JOINT_MIDDLE_INTERMEDIATE,
	CODEC_JOINT_MIDDLE_DISTAL,
	CODEC_JOINT_MIDDLE_TIP,
	CODEC_JOINT_RING_METACARPAL,
	CODEC_JOINT_RING_PROXIMAL,
	CODEC_JOINT_RING_INTERMEDIATE,
	CODEC_JOINT_RING_DISTAL,
	CODEC_JOINT_RING_TIP,
	CODEC_JOINT_LITTLE_METACARPAL,
	CODEC_JOINT_LITTLE_PROXIMAL,
	CODEC_JOINT_LITTLE_INTERMEDIATE,
	CODEC_JOINT_LITTLE_DISTAL,
	CODEC_JOINT_LITTLE_TIP,
};

/* The parent of each joint in the rigid skeleton (the wrist is the root: its own parent). */
extern const uint8_t codec_joint_parent[CODEC_HAND_JOINTS];

/* The codec's average adult right hand: each joint's offset from its parent in the parent's frame, and its radius
 * (metres); the left hand mirrors x. Intra-coded hands send a scale of it, then differences from the scaled one. */
extern const float codec_average_hand[CODEC_HAND_JOINTS][4];

/* Per-joint validity, the bits of XrSpaceLocationFlags. */
enum codec_joint_flags {
	CODEC_JOINT_ORIENTATION_VALID = 1,
	CODEC_JOINT_POSITION_VALID = 2,
	CODEC_JOINT_ORIENTATION_TRACKED = 4,
	CODEC_JOINT_POSITION_TRACKED = 8,
};

enum codec_hand_side { CODEC_HAND_LEFT, CODEC_HAND_RIGHT };

/* A rigid pose in the stream's reference space: metres, and a unit quaternion x, y, z, w (XrQuaternionf order).
 * OpenXR joint frames: -Z runs along the bone towards the fingertip, +Y out of the back of the hand. */
struct codec_pose {
	float position[3];
	float orientation[4];
};

struct codec_joint {
	struct codec_pose pose; /* ignored by the encoder where the flags say it is not valid (may be NaN) */
	float radius;           /* metres, >= 0 */
	uint8_t flags;          /* enum codec_joint_flags */
};

struct codec_hand {
	bool tracked; /* false: "not tracked", the joints are ignored */
	struct codec_joint joints[CODEC_HAND_JOINTS];
};

/* One participant's frame. */
struct codec_frame {
	uint64_t timestamp_us; /* strictly increasing within a stream */
	uint32_t sequence;     /* increasing within a stream; a jump makes the encoder send a key frame */
	uint32_t participant, avatar;
	const float *code;     /* code_floats values: the encoder reads them; a decoded frame points into the decoder */
	uint32_t code_floats;
	struct codec_pose head;
	struct codec_hand hands[2]; /* enum codec_hand_side */
	bool has_gaze;
	float gaze[3];         /* unit direction, in whatever frame the application uses (cavr: the head's) */
	bool has_audio;
	float audio_level;     /* 0..1 */
};

/* What binds an encoder and a decoder to one stream; zero fields take the defaults. Both ends must be given the
 * same code statistics (key frames carry a check of them). */
struct codec_stream_desc {
	uint32_t participant, avatar;
	uint32_t latent;          /* Z, 1..CODEC_MAX_LATENT */
	const float *code_mean;   /* Z values, e.g. code.mean of the .cavatar file; NULL: zero */
	const float *code_std;    /* Z values > 0, e.g. code.std of the .cavatar file; NULL: default_std for all */
	float default_std;        /* 0: 1 */
	/* Encoder only (the decoder reads them from key frames). */
	float quality;            /* code step multiplier, 1/64..64; 0: 1. Larger: fewer bits, more error */
	uint32_t key_interval_us; /* at most this long between key frames; 0: 1 s */
};

/* An upper bound of any packet's size for a latent size, for buffers (a key frame with both hands, gaze and
 * audio, each value at the costliest it can be). */
size_t codec_packet_max_size(uint32_t latent);

struct codec_encoder;
enum cv_result codec_encoder_create(const struct codec_stream_desc *desc, struct codec_encoder **out);
void codec_encoder_destroy(struct codec_encoder **encoder);

/* Encodes one frame into `packet` (capacity bytes; codec_packet_max_size is always enough) and sets *size.
 * The frame must belong to the encoder's stream and follow the previous one in sequence and time, with finite
 * values, unit quaternions and directions, and an audio level in 0..1; otherwise CV_ERROR_INVALID_ARGUMENT and
 * the encoder is unchanged. */
enum cv_result codec_encoder_encode(struct codec_encoder *encoder, const struct codec_frame *frame, void *packet,
                                    size_t capacity, size_t *size);
/* The next frame will be a key frame (a receiver joined or reported loss). */
void codec_encoder_force_key(struct codec_encoder *encoder);

/* Where an encoder's bits went, summed over its packets (the body's parts measured inside the range coder, so
 * they add up to the body to within a few bits per packet). */
struct codec_encoder_stats {
	uint64_t packets, key_frames, bytes;
	double header_bits, time_bits, head_bits, hand_bits, gaze_audio_bits, code_bits;
	uint64_t corrections; /* hand joints whose position needed a correction */
};
void codec_encoder_stats(const struct codec_encoder *encoder, struct codec_encoder_stats *out);

enum codec_decode_status {
	CODEC_DECODED,             /* the frame is filled in */
	CODEC_SKIPPED_LATE,        /* sequence not after the last decoded frame: a duplicate or reordered packet */
	CODEC_SKIPPED_WAITING_KEY, /* a delta frame that does not follow the last decoded frame (start, loss) */
};

struct codec_decoder_stats {
	uint64_t decoded, key_frames;
	uint64_t gaps, lost;       /* sequence gaps seen, and the packets missing in them (reordered ones included) */
	uint64_t skipped_late;     /* CODEC_SKIPPED_LATE */
	uint64_t skipped_no_key;   /* CODEC_SKIPPED_WAITING_KEY */
	uint64_t rejected;         /* packets refused with an error */
};

struct codec_decoder;
enum cv_result codec_decoder_create(const struct codec_stream_desc *desc, struct codec_decoder **out);
void codec_decoder_destroy(struct codec_decoder **decoder);

/* Decodes one packet of exactly `size` bytes. On CV_OK, *status says whether `frame` was filled in (on skips
 * and errors it is left untouched). A delta frame decodes only when it directly follows the last decoded frame
 * (a packet that arrives after a later one still decodes if it is that one); sequence gaps are counted. Its 16
 * sequence bits are read as the nearest sequence to the last decoded one, so a receiver that heard nothing for
 * 32768 frames (18 minutes at 30 Hz) should reset. A key frame older in sequence than the last decoded frame is
 * skipped as late, one older in time refused; a second such key frame in a row means the sender restarted (or
 * the previous key frame was corrupted) and the decoder follows the stream again from it. */
enum cv_result codec_decoder_decode(struct codec_decoder *decoder, const void *packet, size_t size,
                                    struct codec_frame *frame, enum codec_decode_status *status);
/* Forgets the reference frame (after a long silence, a seek): only a key frame decodes next. */
void codec_decoder_reset(struct codec_decoder *decoder);
void codec_decoder_stats(const struct codec_decoder *decoder, struct codec_decoder_stats *out);

/* The plain header of a packet, read without a decoder (routing by participant, indexing key frames). */
struct codec_packet_info {
	uint8_t version, flags;  /* enum codec_packet_flags */
	uint32_t participant;
	uint32_t sequence;       /* key frames: the sequence; delta frames: its low 16 bits */
	uint64_t timestamp_us;   /* key frames only, else 0 */
	uint32_t avatar, latent; /* key frames only, else 0 */
	float quality;           /* key frames only, else 0 */
	uint32_t scale_check;    /* key frames only, else 0 */
	size_t header_size, size; /* bytes before the body, and of the whole packet */
};
/* Parses the header of the packet that starts at `data` (`size` bytes available, which may hold more packets
 * after it): CV_ERROR_FORMAT when it is malformed or longer than `size`, CV_ERROR_UNSUPPORTED for a newer
 * version. */
enum cv_result codec_packet_parse(const void *data, size_t size, struct codec_packet_info *out);

/* Synthetic performances, for benchmarks, tests and demo tools while no recorded ones exist: each code dimension
 * is a sum of sinusoids (0.1-1.5 Hz, random phases) scaled to the dimension's mean and standard deviation, plus
 * optional white noise; the head sways and turns; hands open and close their fingers on a rigid skeleton built
 * from the codec's average hand, scaled per seed; gaze wanders; the audio level follows a speech-like envelope.
 * Deterministic in (seed, t). */
struct codec_synth_desc {
	uint32_t seed;
	uint32_t latent;
	const float *code_mean, *code_std; /* NULL: 0 and 1 */
	float noise;                      /* per-frame white noise, in code standard deviations; 0: smooth */
	bool hands, gaze, audio;
};
/* Fills `frame` for time t_s (timestamp = t_s in microseconds; sequence, participant and avatar are left to the
 * caller) and writes the code into `code` (latent floats), which frame->code then points at. */
void codec_synth_frame(const struct codec_synth_desc *desc, double t_s, float *code, struct codec_frame *frame);

#endif
