/* libFuzzer entry point for the stream codec's packet decoder (engine/codec): any bytes, read as a sequence of
 * packets, must decode, be skipped or be refused with a result, never crash, leak, read outside the buffer or
 * give a value that is not finite.
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_packet.c
 *   ./fuzz_packet tests/fuzz/corpus/packet
 * Without libFuzzer, tests/fuzz/fuzz_main.c replays files through the same function.
 *
 * The input is split where each packet's header says it ends (codec_packet_parse); what does not parse goes to
 * the decoder whole, so the header checks are fuzzed too. The decoder is bound to a small stream (participant 1,
 * avatar 2, latent 16) so a fuzzer mutating the seeds reaches delta frames, hands, gaze and audio quickly.
 *
 * The seeds in tests/fuzz/corpus/packet/ are written by this file built with -DFUZZ_PACKET_WRITE_CORPUS:
 *   cc -DFUZZ_PACKET_WRITE_CORPUS -D_DEFAULT_SOURCE -Iengine tests/fuzz/fuzz_packet.c engine/codec/codec.c \
 *      engine/codec/codec_synth.c engine/core/core.c -lm -o write_corpus && ./write_corpus tests/fuzz/corpus/packet */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/codec.h"
#include "core/core.h"

#define FUZZ_LATENT 16

static const struct codec_stream_desc fuzz_stream = {.participant = 1, .avatar = 2, .latent = FUZZ_LATENT};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const struct codec_frame *f)
{
	/* Everything a renderer would read must be finite (the sanitizers check it is in bounds). */
	volatile float sink = 0;
	for (uint32_t i = 0; i < f->code_floats; i++) sink += f->code[i];
	for (int k = 0; k < 3; k++) sink += f->head.position[k] + f->gaze[k];
	for (int s = 0; s < 2; s++)
		for (int j = 0; f->hands[s].tracked && j < CODEC_HAND_JOINTS; j++)
			sink += f->hands[s].joints[j].pose.position[0] + f->hands[s].joints[j].pose.orientation[3] +
			        f->hands[s].joints[j].radius;
	if (!isfinite(sink)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Levels above error silence the log; the messages are still formatted, so bad format arguments are found. */
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1));
	struct codec_decoder *d = NULL;
	if (codec_decoder_create(&fuzz_stream, &d) != CV_OK) return 0;
	for (size_t at = 0; at < size;) {
		struct codec_packet_info info;
		size_t n = codec_packet_parse(data + at, size - at, &info) == CV_OK ? info.size : size - at;
		struct codec_frame frame;
		enum codec_decode_status status;
		if (codec_decoder_decode(d, data + at, n, &frame, &status) == CV_OK && status == CODEC_DECODED)
			touch(&frame);
		at += n;
	}
	codec_decoder_destroy(&d);
	return 0;
}

#ifdef FUZZ_PACKET_WRITE_CORPUS
#include <stdio.h>
#include <stdlib.h>

struct seed {
	const char *name;
	uint32_t frames, drop_from, drop_to; /* frames [drop_from, drop_to) are left out */
	bool hands, gaze, audio, partial;
	uint32_t participant, latent;
};

static void write_seed(const char *dir, const struct seed *s)
{
	struct codec_stream_desc sd = fuzz_stream;
	sd.participant = s->participant ? s->participant : sd.participant;
	sd.latent = s->latent ? s->latent : sd.latent;
	struct codec_encoder *e = NULL;
	if (codec_encoder_create(&sd, &e) != CV_OK) exit(1);
	struct codec_synth_desc synth = {.seed = 1, .latent = sd.latent, .hands = s->hands, .gaze = s->gaze,
	                                 .audio = s->audio};
	uint8_t *out = malloc(1 << 20), *packet = malloc(codec_packet_max_size(sd.latent));
	size_t used = 0;
	float code[CODEC_MAX_LATENT];
	for (uint32_t i = 0; i < s->frames; i++) {
		struct codec_frame f = {0};
		codec_synth_frame(&synth, i / 30.0, code, &f);
		f.participant = sd.participant;
		f.avatar = sd.avatar;
		f.sequence = i;
		f.has_gaze = s->gaze && i % 3;
		if (s->partial) {
			f.hands[CODEC_HAND_RIGHT].tracked = i % 4 != 2;
			for (int j = 0; j < CODEC_HAND_JOINTS; j += 3)
				f.hands[CODEC_HAND_LEFT].joints[j].flags = (uint8_t)(i % 4);
		}
		size_t n;
		if (codec_encoder_encode(e, &f, packet, codec_packet_max_size(sd.latent), &n) != CV_OK) exit(1);
		if (i >= s->drop_from && i < s->drop_to) continue;
		memcpy(out + used, packet, n);
		used += n;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, s->name);
	if (cv_file_write(path, out, used) != CV_OK) exit(1);
	printf("%s: %zu bytes\n", path, used);
	codec_encoder_destroy(&e);
	free(out);
	free(packet);
}

int main(int argc, char **argv)
{
	if (argc != 2) return 2;
	static const struct seed seeds[] = {
		{.name = "key-frame.bin", .frames = 1},
		{.name = "stream.bin", .frames = 6},
		{.name = "stream-hands-gaze-audio.bin", .frames = 5, .hands = true, .gaze = true, .audio = true},
		{.name = "partial-hands.bin", .frames = 6, .hands = true, .gaze = true, .partial = true},
		{.name = "gap-then-key.bin", .frames = 34, .drop_from = 2, .drop_to = 29, .audio = true},
		{.name = "deltas-without-key.bin", .frames = 4, .drop_from = 0, .drop_to = 1, .gaze = true},
		{.name = "other-participant.bin", .frames = 2, .participant = 9},
		{.name = "other-latent.bin", .frames = 2, .latent = 8},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) write_seed(argv[1], &seeds[i]);
	return 0;
}
#endif
