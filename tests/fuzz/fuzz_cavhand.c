/* libFuzzer entry point for the .cavhand loader (and through it the safetensors reader): any bytes must either
 * load or fail with a result, never crash, leak or read outside the buffer; a loaded hand must skin.
 * Without libFuzzer, tests/fuzz/fuzz_main.c replays the corpus (tests/fuzz/corpus/cavhand) through it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "hand/hand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* every rejected input would print a line */
	struct hand_mesh *m = NULL;
	if (hand_mesh_load_memory(data, size, &m) == CV_OK) {
		/* What the renderer does with a loaded hand: the bind pose skinned, every vertex and index touched. */
		struct codec_hand pose;
		float skin[HAND_JOINTS][16];
		hand_bind_pose(m, &pose);
		hand_skin_matrices(m, &pose, skin);
		float *pos = malloc(m->vertex_count * 3 * sizeof(float)), *nrm = malloc(m->vertex_count * 3 * sizeof(float));
		if (pos && nrm) hand_skin_vertices(m, skin, pos, nrm);
		volatile uint32_t sink = 0;
		for (uint32_t i = 0; i < m->index_count; i++) sink ^= m->index[i];
		(void)sink;
		free(pos);
		free(nrm);
	}
	hand_mesh_destroy(&m);
	return 0;
}
