/* `cavr rec`: inspecting, cutting and merging recorded sessions (.cavrec) from the command line.
 * Built only on the session module; the dispatch from `cavr` lives in cli.c. */
#ifndef CAVR_REC_CLI_H
#define CAVR_REC_CLI_H

/* `cavr rec ARGS...` with ARGS after the word rec (argv[0] is the subcommand); returns the process exit code:
 * 0 done, 1 failed (the error is logged), 2 bad arguments. */
int app_rec(int argc, char **argv);

#endif
