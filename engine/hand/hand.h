/* hand: skinned hand meshes (.cavhand, assets/README.md) driven by tracked joints (struct codec_hand).
 * A .cavhand is safetensors with the bind-pose mesh, 4 joint influences per vertex and, per joint, its parent
 * and inverse bind matrix. Its 25 joints are OpenXR's XR_EXT_hand_tracking joints without the palm: cavhand
 * joint i is OpenXR joint i + 1. The input is untrusted: hand_mesh_load checks every shape, dtype, index and
 * the joint tree before returning.
 * Skinning is linear blend: v' = sum_k w_k skin[j_k] v, skin[i] = pose of joint i (as tracked) * inverse_bind[i].
 * hand_skin_vertices is the CPU reference the renderer's vertex shader follows. */
#ifndef CAVR_HAND_H
#define CAVR_HAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "core/core.h"

#define HAND_JOINTS 25 /* CODEC_HAND_JOINTS without the palm */

struct hand_mesh {
	uint32_t vertex_count, index_count;
	float *position, *normal, *uv; /* [V*3], [V*3], [V*2]: bind pose, metres */
	uint32_t *joint;               /* [V*4] cavhand joint indices */
	float *weight;                 /* [V*4], summing to 1 */
	uint32_t *index;               /* [index_count], triangles, counter-clockwise from outside */
	int32_t parent[HAND_JOINTS];   /* -1 for the wrist (joint 0); otherwise a lower joint index */
	float inverse_bind[HAND_JOINTS][16]; /* column-major, cglm mat4 layout */
	bool left;
};

enum cv_result hand_mesh_load(const char *path, struct hand_mesh **out);
/* The same from memory (fuzzing: tests/fuzz/fuzz_cavhand.c); `data` need not outlive the call. */
enum cv_result hand_mesh_load_memory(const void *data, size_t size, struct hand_mesh **out);
void hand_mesh_destroy(struct hand_mesh **m);

/* Skin matrices (column-major mat4) for a tracked hand. A joint whose pose is not valid (flags, or non-finite
 * values) keeps its bind-pose offset from its parent, so it moves rigidly with the parent (its matrix is the
 * parent's); with only the orientation valid, it takes that orientation at the bind offset's position. A wrist
 * that is not valid, or a hand not tracked, gives identity matrices (the bind pose in the hand model's frame). */
void hand_skin_matrices(const struct hand_mesh *m, const struct codec_hand *hand, float out[HAND_JOINTS][16]);

/* Linear blend skinning of the bind mesh: position and normal [V*3] (normals renormalised). */
void hand_skin_vertices(const struct hand_mesh *m, const float skin[HAND_JOINTS][16], float *position, float *normal);

/* A tracked hand in the bind pose (every joint valid and tracked; the palm at the middle metacarpal's centre):
 * skinning it gives back the bind mesh. */
void hand_bind_pose(const struct hand_mesh *m, struct codec_hand *out);

#endif
