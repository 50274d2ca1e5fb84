/* `cavr bench render`: frame time of the demo meeting by participants and output (bench_render.c). */
#ifndef CAVR_APP_BENCH_RENDER_H
#define CAVR_APP_BENCH_RENDER_H

/* ARGS after `bench render`; returns the process exit code. */
int app_bench_render(int argc, char **argv);

#endif
