/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's HTTP server (libmicrohttpd): /metrics (Prometheus text 0.0.4, or OpenMetrics
 * 1.0 when the Accept header asks for it), /healthz and a landing page at /. Only GET and HEAD
 * (405 otherwise); unknown paths 404; oversized requests refused by a per-connection memory
 * limit; idle clients dropped after a timeout; a bounded number of connections, and of
 * connections from one address (so slow clients elsewhere cannot starve the scraper).
 *
 * Two steps so the caller can drop privileges in between: http_server__new() parses the
 * listen address and binds the socket (a port below 1024 needs CAP_NET_BIND_SERVICE here),
 * http_server__start() starts the serving threads. Capabilities are per thread on Linux, so
 * they must be dropped before any thread exists.
 */
#ifndef VFIOSCOPE_HTTP_H
#define VFIOSCOPE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct metrics_registry;
struct vfio_metrics;
struct http_server;
struct http_doc;

#define HTTP_DEFAULT_LISTEN "127.0.0.1:9478"

/* 0: healthy; else -errno and a reason in msg (served as 503). */
typedef int (*http_health_fn)(void *ctx, char *msg, size_t len);

struct http_server_opts {
	const char *listen; /* "HOST:PORT", "[V6]:PORT", ":PORT"; NULL: the default */
	bool allow_remote; /* permit a non-loopback address */
	unsigned int max_conns; /* 0: 64 */
	unsigned int max_conns_per_ip; /* 0: 16 (at most max_conns) */
	unsigned int timeout_s; /* idle timeout; 0: 10 */
	size_t conn_memory; /* per-connection memory, bounds request size; 0: 16 KiB */
	unsigned int threads; /* 0: 2 */
	struct metrics_registry *reg;
	struct vfio_metrics *vm; /* optional: self-metrics (scrape duration, requests) */
	http_health_fn health; /* optional */
	void *health_ctx;
	const char *landing; /* optional HTML served at / */
	size_t landing_len;
	struct http_doc *migrations; /* optional JSON served at /migrations (the page's timeline) */
};

/*
 * A JSON document another thread publishes whole and the server hands out as it is (the
 * migration timeline the landing page draws): the publisher replaces it, each request gets a
 * copy taken under a lock. Until the first http_doc__set it is "{}".
 */
int http_doc__new(struct http_doc **out);
void http_doc__free(struct http_doc *doc);
/* Replace the document with @body (malloc'ed, @len bytes): the doc takes it. */
void http_doc__set(struct http_doc *doc, char *body, size_t len);

/* Parse a listen address. Returns 0, -EINVAL (malformed) or -EPERM (not loopback and
 * !allow_remote). "localhost" means 127.0.0.1; other names are refused (no DNS). */
int http_parse_listen(const char *spec, bool allow_remote, struct sockaddr_storage *ss,
		      socklen_t *len);

/* Does an Accept-Encoding header accept gzip (q > 0)? NULL: no. */
bool http_wants_gzip(const char *accept_encoding);

int http_server__new(const struct http_server_opts *opts, struct http_server **out);
/* The bound port (useful with port 0). */
int http_server__port(const struct http_server *srv);
int http_server__start(struct http_server *srv);
void http_server__free(struct http_server *srv);

#endif
