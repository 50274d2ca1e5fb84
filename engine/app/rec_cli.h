/* `cavr rec`: importing performances into recorded sessions (.cavrec), and inspecting, cutting and merging them
 * from the command line. The dispatch from `cavr` lives in cli.c. */
#ifndef CAVR_REC_CLI_H
#define CAVR_REC_CLI_H

#include <stdint.h>

#include "codec/codec.h"
#include "core/core.h"

/* `cavr rec ARGS...` with ARGS after the word rec (argv[0] is the subcommand); returns the process exit code:
 * 0 done, 1 failed (the error is logged), 2 bad arguments. */
int app_rec(int argc, char **argv);

/* The session packet kind of stream codec packets (their own first byte carries the codec's version). */
#define REC_KIND_CODEC 0

/* A performance (.cavperf, assets/README.md): safetensors from tools/assets/performance.py, read as untrusted
 * input (every shape, count and value is checked) and converted to f32. `cavr rec import` turns it into codec
 * packets; `cavr bench codec --perf` measures the codec on it. */
#define REC_PERF_MAX_FRAMES (1u << 24) /* 155 hours at 30 Hz: timestamps and sequences stay far inside u32 */

struct rec_perf {
	char avatar_path[4096];      /* the `avatar` metadata, relative to the performance's folder */
	const char *avatar_name;     /* the `avatar` metadata itself (points into avatar_path) */
	uint32_t frames, latent;
	double fps;
	float *codes;                /* frames x latent */
	float *head_position;        /* frames x 3, metres, seat frame */
	float *head_rotation;        /* frames x 4, unit quaternions x, y, z, w */
	float *hand_position[2];     /* frames x 26 x 3 per enum codec_hand_side; NULL when the file has no such hand */
	float *hand_rotation[2];     /* frames x 26 x 4; a joint with a non-finite value is not tracked */
	float *audio;                /* frames, 0..1: a speech envelope from jaw_open; NULL when there is none */
};

/* Reads and checks a whole .cavperf: CV_ERROR_FORMAT (naming the file and the tensor) for anything malformed.
 * Free with rec_perf_free even on failure. */
enum cv_result rec_perf_read(const char *path, struct rec_perf *out);
/* The same from bytes in memory (borrowed for the call); `name` stands for the file in messages and its folder is
 * where the avatar path points (the fuzz target: tests/fuzz/fuzz_cavperf.c). */
enum cv_result rec_perf_read_memory(const void *data, size_t size, const char *name, struct rec_perf *out);
void rec_perf_free(struct rec_perf *p);

/* Frame i as a codec frame (timestamp from the frame rate, sequence i, the code pointing into `p`, joint radii of
 * the codec's average hand); participant and avatar are left to the caller. */
void rec_perf_frame(const struct rec_perf *p, uint32_t i, struct codec_frame *f);

#endif
