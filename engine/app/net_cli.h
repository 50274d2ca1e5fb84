/* `cavr send` and `cavr join`: live meetings over the network (engine/net) from the command line. The dispatch from
 * `cavr` lives in cli.c. */
#ifndef CAVR_NET_CLI_H
#define CAVR_NET_CLI_H

struct app_hooks;

/* `cavr send ARGS...` with ARGS after the word send; returns the process exit code: 0 done, 1 failed (the error
 * is logged), 2 bad arguments. */
int app_send(int argc, char **argv);
/* `cavr join ARGS...` with ARGS after the word join; renders in a window or headless. */
int app_join(int argc, char **argv);
/* The same with the executable's hooks, so `--xr` can show the meeting in a headset. */
int app_join_hooks(int argc, char **argv, const struct app_hooks *hooks);

/* `cavr bench net ARGS...` (engine/app/bench_net.c): added latency against jitter, receiver CPU per participant. */
int app_bench_net(int argc, char **argv);

#endif
