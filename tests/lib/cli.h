/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only: run the built `vfioscope` command with arguments and capture its exit status and
 * stderr, for tests of what a user sees on a bad command line. The binary is $OUTPUT/vfioscope
 * (build/ by default), run from the top of the tree as make does.
 */
#ifndef VFIOSCOPE_TESTS_CLI_H
#define VFIOSCOPE_TESTS_CLI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct cli_result {
	int status; /* exit status, or 128 + signal */
	char err[4096]; /* stderr */
	int err_lines;
};

/* argv[0] is the subcommand; NULL-terminated. */
static inline int cli_run(const char *const *argv, struct cli_result *r)
{
	const char *out = getenv("OUTPUT") ? getenv("OUTPUT") : "build";
	char bin[4096];
	int pfd[2], st;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(bin, sizeof(bin), "%s/vfioscope", out);
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *args[64] = { "vfioscope" };
		int i;

		for (i = 0; argv[i] && i < 62; i++)
			args[i + 1] = argv[i];
		dup2(pfd[1], 2);
		close(pfd[0]);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "r", stdin);
		execv(bin, (char *const *)args);
		_exit(126);
	}
	close(pfd[1]);
	while (n < sizeof(r->err) - 1 && (k = read(pfd[0], r->err + n, sizeof(r->err) - 1 - n)) > 0)
		n += k;
	close(pfd[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	for (size_t i = 0; i < n; i++)
		r->err_lines += r->err[i] == '\n';
	return 0;
}

#endif
