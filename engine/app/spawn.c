#include "app/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void close_fd(int *fd)
{
	if (*fd >= 0) close(*fd);
	*fd = -1;
}

/* A pipe whose ends are not inherited: the child gets its end by dup2 alone. */
static bool cloexec_pipe(int fds[2])
{
	if (pipe(fds) != 0) return false;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return true;
}

enum cv_result app_spawn(const char *const argv[], unsigned flags, struct app_child *child)
{
	*child = (struct app_child){.pid = -1, .in = -1, .out = -1};
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "starting %s", argv[0]);
	bool ok = true;
	if (flags & APP_SPAWN_STDIN_PIPE)
		ok = cloexec_pipe(in) && posix_spawn_file_actions_adddup2(&fa, in[0], 0) == 0;
	if (ok && (flags & APP_SPAWN_STDOUT_PIPE))
		ok = cloexec_pipe(out) && posix_spawn_file_actions_adddup2(&fa, out[1], 1) == 0;
	else if (ok && (flags & APP_SPAWN_QUIET))
		ok = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0;
	if (ok && (flags & APP_SPAWN_QUIET)) ok = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) == 0;
	int err = ok ? posix_spawnp(&child->pid, argv[0], &fa, NULL, (char *const *)argv, environ) : errno;
	posix_spawn_file_actions_destroy(&fa);
	close_fd(&in[0]);
	close_fd(&out[1]);
	if (!ok || err) {
		close_fd(&in[1]);
		close_fd(&out[0]);
		child->pid = -1;
		if (err == ENOENT) return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s is not installed", argv[0]);
		return CV_FAIL(CV_ERROR_IO, "cannot start %s: %s", argv[0], strerror(err ? err : errno));
	}
	child->in = in[1];
	child->out = out[0];
	return CV_OK;
}

int app_spawn_wait(struct app_child *child)
{
	close_fd(&child->in);
	close_fd(&child->out);
	if (child->pid <= 0) return -1;
	int status;
	pid_t got;
	while ((got = waitpid(child->pid, &status, 0)) < 0 && errno == EINTR) {}
	child->pid = -1;
	return got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
