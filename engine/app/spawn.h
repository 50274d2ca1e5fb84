/* Child processes (ffmpeg, the PyTorch reference) started from an argument vector, never through a shell, so
 * user text (file names) stays one argument whatever quotes or semicolons it holds. */
#ifndef CAVR_APP_SPAWN_H
#define CAVR_APP_SPAWN_H

#include <sys/types.h>

#include "core/core.h"

#define APP_SPAWN_STDIN_PIPE 1u  /* child->in: the write end of the child's stdin */
#define APP_SPAWN_STDOUT_PIPE 2u /* child->out: the read end of the child's stdout */
#define APP_SPAWN_QUIET 4u       /* the child's stderr (and stdout, when not piped) go to /dev/null */

struct app_child {
	pid_t pid;
	int in, out; /* -1 when not piped */
};

/* Starts argv[0] (looked up in PATH) with argv; CV_ERROR_UNSUPPORTED when the program is not there. */
enum cv_result app_spawn(const char *const argv[], unsigned flags, struct app_child *child);
/* Closes the pipes that are still open, waits, and returns the exit code (-1: killed or not started). */
int app_spawn_wait(struct app_child *child);

#endif
