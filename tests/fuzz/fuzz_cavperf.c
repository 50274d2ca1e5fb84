/* libFuzzer entry point for the .cavperf reader (and through it the safetensors reader): any bytes must either
 * read or fail with a result, never crash, leak or read outside the buffer; every frame of a performance that
 * reads is turned into a codec frame, as import does. Without libFuzzer, tests/fuzz/fuzz_main.c replays the
 * corpus (tests/fuzz/corpus/cavperf) through it. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "app/rec_cli.h"
#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* every rejected input would print a line */
	struct rec_perf p;
	if (rec_perf_read_memory(data, size, "fuzz/input.cavperf", &p) == CV_OK) {
		volatile float sink = 0;
		for (uint32_t i = 0; i < p.frames; i++) {
			struct codec_frame f;
			rec_perf_frame(&p, i, &f);
			sink += f.code[f.code_floats - 1] + f.head.position[0] + f.hands[1].joints[25].pose.orientation[3] +
			        f.audio_level;
		}
		(void)sink;
	}
	rec_perf_free(&p);
	return 0;
}
