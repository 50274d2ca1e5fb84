/* libFuzzer entry point for the .cavatar loader (and through it the safetensors reader): any bytes must
 * either open or fail with a result, never crash, leak or read outside the buffer.
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_cavatar.c
 *   ./fuzz_cavatar tests/fuzz/corpus/cavatar
 * Without libFuzzer, tests/fuzz/fuzz_main.c replays files through the same function. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "avatar/cavatar.h"
#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Levels above error silence the log: every rejected input would print a line. The messages are still
	 * formatted, so bad format arguments are still found. */
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	struct avatar_file *file = NULL;
	if (avatar_file_open_memory(data, size, &file) == CV_OK) {
		/* Touch what a decoder would read, so the sanitizers check the bounds the loader promised. */
		const struct st_file *st = avatar_safetensors(file);
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < st_tensor_count(st); i++) {
			const struct st_tensor *t = st_tensor_at(st, i);
			if (t->size) sink ^= ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->size - 1];
		}
		(void)sink;
		(void)avatar_check_code(file, avatar_latent_size(file));
	}
	avatar_file_destroy(&file);
	return 0;
}
