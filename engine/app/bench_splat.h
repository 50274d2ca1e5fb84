/* `cavr bench splat`: GPU time of Gaussian avatars, decode and splatting, mono and stereo (bench_splat.c). */
#ifndef CAVR_BENCH_SPLAT_H
#define CAVR_BENCH_SPLAT_H

/* `cavr bench splat ARGS...` (ARGS after the word splat); returns the process exit code. */
int app_bench_splat(int argc, char **argv);

#endif
