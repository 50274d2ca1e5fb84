/* `cavr bench codec`: the stream codec's rate against decoded quality (engine/app/bench_codec.c). */
#ifndef CAVR_BENCH_CODEC_H
#define CAVR_BENCH_CODEC_H

/* `cavr bench codec ARGS...` (ARGS after the word codec); returns the process exit code. */
int app_bench_codec(int argc, char **argv);

#endif
