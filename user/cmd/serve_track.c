// SPDX-License-Identifier: GPL-2.0
/*
 * serve --track: runs the controller as `vfioscope track --json OPTIONS` in a child process and
 * turns its JSON lines (start, one per sync, summary) into metrics. A child keeps the tracker's
 * privileges (device nodes, pinned memory) out of the server, which drops all of its own, and
 * ties serve to track's stable JSON output only. The child is started during serve's privileged
 * setup; it stops when serve stops (SIGTERM, and PR_SET_PDEATHSIG should serve die).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "vfioscope/common/log.h"

/* The value after "key": in a flat JSON line (track's keys are unique per line). */
static const char *jfind(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? p + strlen(pat) : NULL;
}

static bool jstr(const char *line, const char *key, char *out, size_t len)
{
	const char *p = jfind(line, key), *e;

	if (!p || *p != '"' || !(e = strchr(p + 1, '"')))
		return false;
	snprintf(out, len, "%.*s", (int)(e - p - 1), p + 1);
	return true;
}

static bool ju64(const char *line, const char *key, uint64_t *v)
{
	const char *p = jfind(line, key);
	char *end;

	if (!p)
		return false;
	if (*p == '"') /* hex strings: "0x..." */
		p++;
	*v = strtoull(p, &end, 0);
	return end != p;
}

static bool jbool(const char *line, const char *key)
{
	const char *p = jfind(line, key);

	return p && !strncmp(p, "true", 4);
}

static void device_driver(const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(out, len, "none");
		return;
	}
	link[n] = 0;
	snprintf(out, len, "%.63s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

static void track_start(struct serve *s, const char *line)
{
	struct vfio_metrics_tracking *t = &s->track_state;
	char backend[16] = "unknown";
	const char *p;

	memset(t, 0, sizeof(*t));
	jstr(line, "method", s->track_method, sizeof(s->track_method));
	jstr(line, "backend", backend, sizeof(backend));
	ju64(line, "tracked_bytes", &t->tracked_bytes);
	t->active = true;
	/* The ranges sent to the device: the seed's 32-bit and 64-bit ones (a PCI-64 one too). */
	p = jfind(line, "ranges");
	while (p && (p = strstr(p, "\"iova\":"))) {
		uint64_t iova = 0, length = 0;

		ju64(p, "iova", &iova);
		ju64(p, "length", &length);
		if (iova < (1ULL << 32) && !t->len32) {
			t->start32 = iova;
			t->len32 = length;
		} else if (iova >= (1ULL << 32) && !t->len64) {
			t->start64 = iova;
			t->len64 = length;
		}
		t->nranges++;
		p++;
	}
	if (!t->nranges && t->tracked_bytes)
		t->nranges = 1; /* IOMMU or perpetual: the whole mapped space */
	vfio_metrics__container(&s->vm, SERVE_TRACK_CONTAINER, s->track_pid, "vfioscope-track",
				backend);
	p = jfind(line, "devices");
	while (p && *p && *p != ']') {
		char bdf[32], driver[64];
		const char *q = strchr(p, '"'), *e;

		if (!q || !(e = strchr(q + 1, '"')) || strchr(p, ']') < q)
			break;
		snprintf(bdf, sizeof(bdf), "%.*s", (int)(e - q - 1), q + 1);
		device_driver(bdf, driver, sizeof(driver));
		vfio_metrics__device(&s->vm, bdf, driver, SERVE_TRACK_CONTAINER);
		p = e + 1;
	}
	vfio_metrics__tracking(&s->vm, SERVE_TRACK_CONTAINER, s->track_method, t);
}

int serve_track_line(struct serve *s, const char *line)
{
	char event[16];

	if (line[0] != '{' || !jstr(line, "event", event, sizeof(event)))
		return 0; /* not a JSON event: ignore */
	if (!strcmp(event, "start")) {
		track_start(s, line);
	} else if (!strcmp(event, "sync")) {
		uint64_t ns = 0, pages = 0, bytes = 0;
		char method[16];

		if (!jstr(line, "method", method, sizeof(method)) ||
		    !ju64(line, "duration_ns", &ns))
			return -EINVAL;
		ju64(line, "dirty_pages", &pages);
		ju64(line, "bitmap_bytes", &bytes);
		return vfio_metrics__sync(&s->vm, SERVE_TRACK_CONTAINER, method, ns, pages, bytes);
	} else if (!strcmp(event, "summary")) {
		s->track_state.active = jbool(line, "tracking_active");
		if (s->track_method[0])
			vfio_metrics__tracking(&s->vm, SERVE_TRACK_CONTAINER, s->track_method,
					       &s->track_state);
	}
	return 0;
}

int serve_track_setup(struct serve *s, struct serve_source *src)
{
	char **argv;
	int pfd[2];
	pid_t pid;

	argv = calloc(s->track_argc + 4, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[0] = "vfioscope";
	argv[1] = "track";
	argv[2] = "--json";
	for (int i = 0; i < s->track_argc; i++)
		argv[3 + i] = s->track_argv[i];
	if (pipe2(pfd, O_CLOEXEC)) {
		free(argv);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pfd[0]);
		close(pfd[1]);
		free(argv);
		return err;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], STDOUT_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(argv);
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	s->track_pid = pid;
	s->track_fd = pfd[0];
	s->track_status = -1;
	s->track_len = 0;
	return 0;
}

/* Read what track wrote and handle each complete line. */
static void track_read(struct serve *s)
{
	for (;;) {
		size_t room = sizeof(s->track_line) - 1 - s->track_len;
		ssize_t n = read(s->track_fd, s->track_line + s->track_len, room);
		char *nl;

		if (n <= 0)
			break;
		s->track_len += n;
		s->track_line[s->track_len] = 0;
		while ((nl = strchr(s->track_line, '\n'))) {
			*nl = 0;
			if (serve_track_line(s, s->track_line))
				pr_warn("failed to read a track event: %.80s", s->track_line);
			s->track_len -= nl + 1 - s->track_line;
			memmove(s->track_line, nl + 1, s->track_len + 1);
		}
		if (s->track_len == sizeof(s->track_line) - 1)
			s->track_len = 0; /* an absurdly long line: drop it */
	}
}

int serve_track_step(struct serve *s, struct serve_source *src)
{
	int status;

	track_read(s);
	if (s->track_status < 0 && waitpid(s->track_pid, &status, WNOHANG) == s->track_pid) {
		track_read(s);
		s->track_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (s->track_status) {
			pr_err("vfioscope track exited with status %d", s->track_status);
			src->failed = true;
		} else {
			pr_info("vfioscope track finished");
		}
	}
	return 0;
}

void serve_track_stop(struct serve *s, struct serve_source *src)
{
	int status;

	if (s->track_status < 0) {
		/* track stops its tracking on SIGTERM and writes its summary. */
		kill(s->track_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(s->track_pid, &status, WNOHANG) == s->track_pid) {
				s->track_status = WIFEXITED(status) ? WEXITSTATUS(status) :
								      128 + WTERMSIG(status);
				break;
			}
			usleep(50 * 1000);
		}
		if (s->track_status < 0) {
			kill(s->track_pid, SIGKILL);
			waitpid(s->track_pid, &status, 0);
			s->track_status = 128 + SIGKILL;
		}
		if (s->track_status && s->track_status != 128 + SIGTERM)
			src->failed = true;
	}
	track_read(s);
	close(s->track_fd);
}
