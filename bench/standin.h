/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The container the host benchmarks make their VFIO calls on: /dev/vfio/vfio where it exists
 * (a guest with vfio loaded), else a regular file named .../vfio/vfio under /dev/shm, which the
 * tracer classifies as a container through its test hook (the host has no VFIO).
 */
#ifndef VFIOSCOPE_BENCH_STANDIN_H
#define VFIOSCOPE_BENCH_STANDIN_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct standin {
	char dir[64], path[96];
	bool real; /* /dev/vfio/vfio, not the stand-in file */
};

/* Opens the container; -1 (errno set) when neither can be opened. */
static inline int standin_open(struct standin *s, const char *tag)
{
	int fd = open("/dev/vfio/vfio", O_RDWR);

	snprintf(s->dir, sizeof(s->dir), "/dev/shm/%s-%d", tag, getpid());
	snprintf(s->path, sizeof(s->path), "%s/vfio", s->dir);
	s->real = fd >= 0;
	if (s->real)
		return fd;
	mkdir(s->dir, 0700);
	mkdir(s->path, 0700);
	snprintf(s->path, sizeof(s->path), "%s/vfio/vfio", s->dir);
	return open(s->path, O_RDWR | O_CREAT, 0600);
}

/* Removes the stand-in file and its directories (nothing for a real container). */
static inline void standin_remove(struct standin *s)
{
	if (s->real)
		return;
	unlink(s->path);
	snprintf(s->path, sizeof(s->path), "%s/vfio", s->dir);
	rmdir(s->path);
	rmdir(s->dir);
}

#endif
