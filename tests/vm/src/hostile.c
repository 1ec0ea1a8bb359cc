// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and odd processes for the tracer (issue 14 item 3), plain VFIO uAPI on a type1v2
 * container with the edu device. Each case does one odd thing and prints the truth as JSON
 * lines: a "hold" line when it holds its files for `vfioscope state` to be checked (it then
 * waits for a line on stdin), and a "done" line when it let everything go.
 *
 * usage: hostile CASE BDF GROUP
 *   scm          the container fd passed over SCM_RIGHTS to a child, which maps; the sender
 *                closes its fd
 *   dup2         the container moved to another fd with dup2, then dup2 of /dev/null onto it
 *                (the container file's last reference goes without close())
 *   close_range  close_range over the container's fd (no close() either)
 *   exec         execve with the container fd kept (the new image maps on it) and with an
 *                O_CLOEXEC container fd (the kernel closes it at exec)
 *   kill         a child killed with SIGKILL inside a large MAP_DMA
 *   threads      THREADS threads map and unmap on one container at once
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS	   8
#define PER_THREAD 40 /* maps per thread; every other one unmapped again */
#define CHUNK	   0x10000ULL
#define KILL_BYTES (256ULL << 20)

static const char *cname = "?";

static void die(const char *step)
{
	fprintf(stderr, "hostile %s: failed to %s: %s\n", cname, step, strerror(errno));
	exit(1);
}

static void hold(const char *extra)
{
	char line[16];

	printf("{\"case\":\"%s\",\"event\":\"hold\",\"pid\":%d%s}\n", cname, getpid(), extra);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
}

static void done(const char *extra)
{
	printf("{\"case\":\"%s\",\"event\":\"done\",\"pid\":%d%s}\n", cname, getpid(), extra);
	fflush(stdout);
}

static int map(int c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = iova,
		.size = size,
	};
	void *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return -1;
	m.vaddr = (uintptr_t)buf;
	return ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(int c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	return ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

/* A type1v2 container with the group in it; *@g gets the group fd. */
static int container(const char *group, int *g, int cflags)
{
	char path[64];
	int c = open("/dev/vfio/vfio", O_RDWR | cflags);

	if (c < 0)
		die("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	*g = open(path, O_RDWR);
	if (*g < 0)
		die("open the group");
	if (ioctl(*g, VFIO_GROUP_SET_CONTAINER, &c))
		die("set the container");
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the IOMMU type");
	return c;
}

static void send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		die("send the container fd");
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		die("receive the container fd");
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		die("find SCM_RIGHTS in the message");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The sender maps 0x100000, passes the fd, closes its own; the receiver maps 0x200000 and
 * holds. The sender keeps the group (its last group leaving would drop the mappings). */
static int case_scm(const char *group)
{
	int sv[2], g, c, st;
	char extra[160];
	pid_t child;

	c = container(group, &g, 0);
	if (map(c, 0x100000, CHUNK))
		die("map DMA");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("make a socket pair");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int r;

		close(sv[0]);
		r = recv_fd(sv[1]);
		if (map(r, 0x200000, CHUNK))
			die("map DMA on the received fd");
		snprintf(
			extra, sizeof(extra),
			",\"role\":\"receiver\",\"fd\":%d,\"maps\":[[1048576,65536],[2097152,65536]]",
			r);
		hold(extra);
		close(r);
		exit(0);
	}
	close(sv[1]);
	send_fd(sv[0], c);
	close(c);
	snprintf(extra, sizeof(extra), ",\"role\":\"sender\",\"receiver\":%d,\"sent_fd\":%d", child,
		 c);
	printf("{\"case\":\"scm\",\"event\":\"sent\",\"pid\":%d%s}\n", getpid(), extra);
	fflush(stdout);
	waitpid(child, &st, 0);
	close(g);
	done("");
	return 0;
}

/* The container moves to fd 50, then /dev/null replaces it there: its last reference goes in
 * dup2, without close(). */
static int case_dup2(const char *group)
{
	int g, c, nul, moved = 50;
	char extra[128];

	c = container(group, &g, 0);
	if (map(c, 0x100000, CHUNK))
		die("map DMA");
	if (dup2(c, moved) != moved)
		die("dup2 the container");
	close(c);
	if (map(moved, 0x200000, CHUNK))
		die("map DMA on the moved fd");
	snprintf(extra, sizeof(extra), ",\"fd\":%d,\"maps\":[[1048576,65536],[2097152,65536]]",
		 moved);
	hold(extra);
	nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, moved) != moved)
		die("dup2 /dev/null onto the container fd");
	close(nul);
	hold(",\"container_open\":false");
	close(g);
	done("");
	return 0;
}

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int case_close_range(const char *group)
{
	int g, c;
	char extra[128];

	c = container(group, &g, 0);
	if (dup2(c, 60) != 60 || dup2(c, 61) != 61)
		die("dup2 the container");
	close(c);
	if (map(61, 0x100000, CHUNK))
		die("map DMA");
	snprintf(extra, sizeof(extra), ",\"fd\":61,\"maps\":[[1048576,65536]]");
	hold(extra);
	if (syscall(SYS_close_range, 60, 70, 0))
		die("close_range");
	hold(",\"container_open\":false");
	close(g);
	done("");
	return 0;
}

/* the new image: map on the inherited fd, report, hold, go */
static int exec_child(int c, int cloexec_fd, const char *group_fd)
{
	char extra[160];
	int ok = fcntl(cloexec_fd, F_GETFD) < 0 && errno == EBADF;

	if (map(c, 0x300000, CHUNK))
		die("map DMA on the inherited fd");
	snprintf(extra, sizeof(extra),
		 ",\"image\":\"new\",\"fd\":%d,\"cloexec_fd_closed\":%s,\"group_fd\":%s,"
		 "\"maps\":[[1048576,65536],[3145728,65536]]",
		 c, ok ? "true" : "false", group_fd);
	hold(extra);
	done("");
	return 0;
}

/* Two containers: one kept across execve (the new image maps on it), one O_CLOEXEC (the
 * kernel closes it at exec: its state must go). */
static int case_exec(const char *group, const char *self)
{
	int g, c, g2, c2;
	char fdarg[16], cloarg[16], garg[16];
	char extra[160];

	c = container(group, &g, 0);
	if (map(c, 0x100000, CHUNK))
		die("map DMA");
	/* the second container holds no group (the group is in the first): SET_IOMMU needs one,
	 * so it only maps nothing; it is a VFIO file the kernel must close at exec */
	c2 = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c2 < 0)
		die("open a second container");
	g2 = ioctl(c2, VFIO_GET_API_VERSION);
	if (g2 != VFIO_API_VERSION)
		die("get the API version");
	snprintf(extra, sizeof(extra), ",\"image\":\"old\",\"fd\":%d,\"cloexec_fd\":%d", c, c2);
	hold(extra);
	snprintf(fdarg, sizeof(fdarg), "%d", c);
	snprintf(cloarg, sizeof(cloarg), "%d", c2);
	snprintf(garg, sizeof(garg), "%d", g);
	execl(self, self, "exec-child", fdarg, cloarg, garg, (char *)NULL);
	die("execve");
	return 1;
}

/* A child is killed with SIGKILL while the kernel pins 256 MiB for its MAP_DMA. */
static int case_kill(const char *group)
{
	int sv[2], st;
	char extra[192];
	long locked = 0;
	pid_t child;

	if (pipe(sv))
		die("make a pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int g, c = container(group, &g, 0);

		if (write(sv[1], "x", 1) != 1)
			die("signal the parent");
		map(c, 0x40000000, KILL_BYTES);
		exit(0); /* the map finished before the kill */
	}
	close(sv[1]);
	if (read(sv[0], extra, 1) != 1)
		die("wait for the child");
	/* until the kernel is inside the ioctl: type1 accounts the pages it pins as it goes
	 * (VmLck grows from 0 while MAP_DMA runs) */
	for (int i = 0; i < 20000 && !locked; i++) {
		char p[64], l[128];
		FILE *f;

		snprintf(p, sizeof(p), "/proc/%d/status", child);
		f = fopen(p, "r");
		while (f && fgets(l, sizeof(l), f))
			if (sscanf(l, "VmLck: %ld", &locked) == 1)
				break;
		if (f)
			fclose(f);
		if (!locked)
			usleep(500);
	}
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	snprintf(extra, sizeof(extra),
		 ",\"victim\":%d,\"in_ioctl\":%s,\"locked_kb_at_kill\":%ld,\"killed\":%s", child,
		 locked > 0 && locked < (long)(KILL_BYTES >> 10) ? "true" : "false", locked,
		 WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "true" : "false");
	done(extra);
	return 0;
}

struct worker {
	int c, idx, maps, unmaps, errors;
	pid_t tid;
	pthread_barrier_t *go;
};

static void *work(void *p)
{
	struct worker *w = p;

	w->tid = syscall(SYS_gettid);
	pthread_barrier_wait(w->go);
	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t iova = 0x10000000ULL * (w->idx + 1) + i * CHUNK;

		if (map(w->c, iova, CHUNK)) {
			w->errors++;
			continue;
		}
		w->maps++;
		if (i % 2 == 0) {
			if (unmap(w->c, iova, CHUNK))
				w->errors++;
			else
				w->unmaps++;
		}
	}
	return NULL;
}

static int case_threads(const char *group)
{
	struct worker w[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t go;
	char extra[2048];
	size_t n;
	int g, c;

	c = container(group, &g, 0);
	pthread_barrier_init(&go, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .c = c, .idx = i, .go = &go };
		if (pthread_create(&th[i], NULL, work, &w[i]))
			die("start a thread");
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	n = snprintf(extra, sizeof(extra), ",\"fd\":%d,\"threads\":[", c);
	for (int i = 0; i < THREADS; i++)
		n += snprintf(
			extra + n, sizeof(extra) - n,
			"%s{\"tid\":%d,\"maps\":%d,\"unmaps\":%d,\"errors\":%d,\"base\":%llu}",
			i ? "," : "", w[i].tid, w[i].maps, w[i].unmaps, w[i].errors,
			0x10000000ULL * (i + 1));
	snprintf(extra + n, sizeof(extra) - n, "],\"per_thread\":%d,\"chunk\":%llu", PER_THREAD,
		 CHUNK);
	hold(extra);
	close(c);
	close(g);
	done("");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "exec-child") == 0) {
		cname = "exec";
		return exec_child(atoi(argv[2]), atoi(argv[3]), argv[4]);
	}
	if (argc != 4) {
		fprintf(stderr,
			"usage: hostile scm|dup2|close_range|exec|kill|threads BDF GROUP\n");
		return 2;
	}
	cname = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cname, "scm"))
		return case_scm(argv[3]);
	if (!strcmp(cname, "dup2"))
		return case_dup2(argv[3]);
	if (!strcmp(cname, "close_range"))
		return case_close_range(argv[3]);
	if (!strcmp(cname, "exec"))
		return case_exec(argv[3], "/proc/self/exe");
	if (!strcmp(cname, "kill"))
		return case_kill(argv[3]);
	if (!strcmp(cname, "threads"))
		return case_threads(argv[3]);
	fprintf(stderr, "hostile: unknown case '%s'\n", cname);
	return 2;
}
