// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the exporter's request path, end to end. The input is sent as the raw
 * bytes of one HTTP connection to a real `serve` HTTP server (libmicrohttpd with vfioscope's
 * handler, its registry full of the exporter's own families) on loopback; whatever arrives,
 * the server answers with an HTTP status line or closes, and keeps serving: a clean GET
 * /metrics must succeed after every input. The first byte picks where the rest goes: odd,
 * only to the Accept and Accept-Encoding negotiation, called directly (fast, without the HTTP
 * framing); even, to both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "vfioscope/exporter/http.h"
#include "vfioscope/exporter/metrics.h"
#include "vfioscope/exporter/vfio_metrics.h"

static struct metrics_registry *reg;
static struct vfio_metrics vm;
static struct http_server *srv;
static int port;
static const char landing[] = "<!doctype html><title>vfioscope</title>";

static int health(void *ctx, char *msg, size_t len)
{
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct http_server_opts o = {
		.listen = "127.0.0.1:0",
		.max_conns = 16,
		.timeout_s = 1,
		.conn_memory = 8192,
		.threads = 1,
		.health = health,
		.landing = landing,
		.landing_len = sizeof(landing) - 1,
	};
	static const uint64_t slots[8] = { 0, 3, 9, 1 };

	reg = metrics_registry__new();
	if (!reg || vfio_metrics__register(reg, &vm))
		abort();
	vfio_metrics__ioctl_latency(&vm, "VFIO_IOMMU_MAP_DMA", slots, 8, 12500);
	vfio_metrics__mappings(&vm, "1", 96 << 20, 3);
	vfio_metrics__device(&vm, "0000:00:02.0", "edu-vfio-pci", "1");
	o.reg = reg;
	o.vm = &vm;
	if (http_server__new(&o, &srv) || http_server__start(srv))
		abort();
	port = http_server__port(srv);
	return 0;
}

static int dial(long wait_us)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { wait_us / 1000000, wait_us % 1000000 };
	/* reset on close: a million connections leave no TIME_WAIT behind */
	struct linger lg = { 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		abort();
	return fd;
}

/*
 * Sends @req, half-closes, reads the answer (at most @max bytes kept) until the server closes
 * or @wait_us pass without a byte (an incomplete request is left to the server's timeout).
 */
static size_t exchange(const void *req, size_t n, char *out, size_t max, long wait_us)
{
	int fd = dial(wait_us);
	size_t got = 0;
	ssize_t r;

	while (n) {
		r = send(fd, req, n, MSG_NOSIGNAL);
		if (r <= 0)
			break; /* the server may close on a bad request before reading it all */
		req = (const char *)req + r;
		n -= r;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		char buf[4096];

		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		if (got < max) {
			size_t k = (size_t)r < max - got ? (size_t)r : max - got;

			memcpy(out + got, buf, k);
			got += k;
		}
	}
	close(fd);
	out[got < max ? got : max - 1] = 0;
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char *accept, out[256];
	uint8_t mode;
	size_t got;

	if (!size)
		return 0;
	mode = data[0];
	data++;
	size--;
	/* content negotiation, directly */
	accept = malloc(size + 1);
	if (!accept)
		return 0;
	memcpy(accept, data, size);
	accept[size] = 0;
	if (!metrics_content_type(metrics_negotiate(accept)))
		abort();
	(void)http_wants_gzip(accept);
	free(accept);
	if (mode & 1)
		return 0;

	/* the same bytes as a connection */
	got = exchange(data, size, out, sizeof(out), 10000);
	if (got >= 7 && strncmp(out, "HTTP/1.", 7)) {
		fprintf(stderr, "not an HTTP answer: %.60s\n", out);
		abort();
	}
	/* and the server still serves */
	got = exchange(probe, sizeof(probe) - 1, out, sizeof(out), 3000000);
	if (strncmp(out, "HTTP/1.1 200", 12)) {
		fprintf(stderr, "the server stopped serving /metrics after this input: %.60s\n",
			out);
		abort();
	}
	return 0;
}
