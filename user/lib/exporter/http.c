// SPDX-License-Identifier: GPL-2.0
/* The exporter's HTTP server on libmicrohttpd. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "vfioscope/exporter/http.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"
#include "vfioscope/exporter/metrics.h"
#include "vfioscope/exporter/vfio_metrics.h"

struct http_server {
	struct http_server_opts o;
	int fd;
	int port;
	struct MHD_Daemon *mhd;
};

/*
 * The landing page may use inline script and style and talk to this server only: a browser
 * refuses anything else, so the page stays self-contained (no external assets) by construction.
 */
#define LANDING_CSP                                                                    \
	"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "  \
	"connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'none'"

struct http_doc {
	pthread_mutex_t lock;
	char *body;
	size_t len;
};

int http_doc__new(struct http_doc **out)
{
	struct http_doc *doc = calloc(1, sizeof(*doc));

	if (!doc)
		return -ENOMEM;
	pthread_mutex_init(&doc->lock, NULL);
	*out = doc;
	return 0;
}

void http_doc__free(struct http_doc *doc)
{
	if (!doc)
		return;
	pthread_mutex_destroy(&doc->lock);
	free(doc->body);
	free(doc);
}

void http_doc__set(struct http_doc *doc, char *body, size_t len)
{
	char *old;

	pthread_mutex_lock(&doc->lock);
	old = doc->body;
	doc->body = body;
	doc->len = len;
	pthread_mutex_unlock(&doc->lock);
	free(old);
}

/* A copy of the document (so a slow client never holds the lock). */
static char *http_doc_copy(struct http_doc *doc, size_t *len)
{
	char *copy;

	pthread_mutex_lock(&doc->lock);
	*len = doc->body ? doc->len : 2;
	copy = malloc(*len ? *len : 1);
	if (copy)
		memcpy(copy, doc->body ? doc->body : "{}", *len);
	pthread_mutex_unlock(&doc->lock);
	return copy;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

int http_parse_listen(const char *spec, bool allow_remote, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[64] = "127.0.0.1";
	const char *port_s;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!spec)
		spec = HTTP_DEFAULT_LISTEN;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - spec - 1), spec + 1);
		port_s = rb + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon) {
			port_s = spec;
		} else {
			if ((size_t)(colon - spec) >= sizeof(host) || strchr(spec, ':') != colon)
				return -EINVAL;
			if (colon != spec)
				snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
			port_s = colon + 1;
		}
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 0 || port > 65535)
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");

	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	if (!allow_remote && !is_loopback(ss))
		return -EPERM;
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	pr_debug("http: %s", msg);
}

static void count_request(struct http_server *srv, const char *handler, unsigned int code)
{
	char c[8];

	if (!srv->o.vm)
		return;
	snprintf(c, sizeof(c), "%u", code);
	metric_series__inc(metric_family__with(srv->o.vm->http_requests, handler, c));
}

static enum MHD_Result send_text(struct http_server *srv, struct MHD_Connection *conn,
				 const char *handler, unsigned int code, const char *type,
				 const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	count_request(srv, handler, code);
	return ret;
}

bool http_wants_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (!strncasecmp(p, "gzip", 4) && (p + 4 == end || p[4] == ';' || p[4] == ' ')) {
			const char *q = memmem(p, end - p, "q=", 2);

			return !q || strtod(q + 2, NULL) > 0;
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/*
 * gzip @in into a new buffer. Prometheus asks for gzip; text metrics shrink ~15x, which keeps
 * large scrapes cheap on the wire. Level 1: the CPU cost stays below the render's.
 */
static int gzip_buf(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream z = {};
	size_t cap;
	char *buf;
	int ret;

	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, len);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = (Bytef *)buf;
	z.avail_out = cap;
	ret = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static const char *format_label(enum metrics_format fmt)
{
	return fmt == METRICS_FORMAT_TEXT ? "text" : "openmetrics";
}

static enum MHD_Result serve_metrics(struct http_server *srv, struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	enum metrics_format fmt = metrics_negotiate(accept);
	struct MHD_Response *r;
	enum MHD_Result ret;
	double t0 = clock_mono_s();
	bool gzip;
	size_t len;
	char *body;
	int err;

	if (srv->o.vm) {
		metric_series__set(metric_family__with(srv->o.vm->time), clock_real_ns() / 1e9);
	}
	err = metrics_registry__render(srv->o.reg, fmt, &body, &len);
	if (err) {
		pr_warn("failed to render metrics: %s", strerror(-err));
		return send_text(srv, conn, "metrics", MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "text/plain; charset=utf-8", "failed to render metrics\n");
	}
	gzip = http_wants_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT_ENCODING));
	if (gzip) {
		char *z;
		size_t zlen;

		if (gzip_buf(body, len, &z, &zlen)) {
			gzip = false; /* serve it uncompressed */
		} else {
			free(body);
			body = z;
			len = zlen;
		}
	}
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, metrics_content_type(fmt));
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	count_request(srv, "metrics", MHD_HTTP_OK);
	if (srv->o.vm) {
		metric_series__inc(metric_family__with(srv->o.vm->scrapes, format_label(fmt)));
		metric_series__set(metric_family__with(srv->o.vm->scrape_duration),
				   clock_mono_s() - t0);
	}
	return ret;
}

static enum MHD_Result serve_health(struct http_server *srv, struct MHD_Connection *conn)
{
	char msg[256] = "ok";
	char body[300];
	int err = 0;

	if (srv->o.health)
		err = srv->o.health(srv->o.health_ctx, msg, sizeof(msg));
	snprintf(body, sizeof(body), "%s\n", err ? msg : "ok");
	return send_text(srv, conn, "healthz", err ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
			 "text/plain; charset=utf-8", body);
}

static enum MHD_Result serve_landing(struct http_server *srv, struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(srv->o.landing_len, (void *)srv->o.landing,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(r, "Content-Security-Policy", LANDING_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	count_request(srv, "landing", MHD_HTTP_OK);
	return ret;
}

static enum MHD_Result serve_doc(struct http_server *srv, struct MHD_Connection *conn,
				 const char *handler, struct http_doc *doc)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *body = http_doc_copy(doc, &len);
	bool gzip;

	if (!body)
		return send_text(srv, conn, handler, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "text/plain; charset=utf-8", "out of memory\n");
	gzip = http_wants_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT_ENCODING));
	if (gzip) {
		char *z;
		size_t zlen;

		if (gzip_buf(body, len, &z, &zlen)) {
			gzip = false;
		} else {
			free(body);
			body = z;
			len = zlen;
		}
	}
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	count_request(srv, handler, MHD_HTTP_OK);
	return ret;
}

static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

	return cl && strtoull(cl, NULL, 10) != 0;
}

/*
 * No percent-decoding: every path we serve is plain ASCII, and decoding would let "/%00" read
 * as "/" (a C string ends at the NUL). Encoded paths are simply unknown (404).
 */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
	return strlen(uri);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	const char *plain = "text/plain; charset=utf-8";

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		/* Answered before any body is read; libmicrohttpd then closes the connection. */
		return send_text(srv, conn, "other", MHD_HTTP_METHOD_NOT_ALLOWED, plain,
				 "method not allowed\n");
	/* A GET carries no body: refuse one rather than buffer it. */
	if (*upload_data_size ||
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding") ||
	    has_body(conn))
		return send_text(srv, conn, "other", MHD_HTTP_CONTENT_TOO_LARGE, plain,
				 "request body not accepted\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(srv, conn);
	if (!strcmp(url, "/healthz"))
		return serve_health(srv, conn);
	if (!strcmp(url, "/") && srv->o.landing)
		return serve_landing(srv, conn);
	if (!strcmp(url, "/migrations") && srv->o.migrations)
		return serve_doc(srv, conn, "migrations", srv->o.migrations);
	return send_text(srv, conn, "other", MHD_HTTP_NOT_FOUND, plain, "not found\n");
}

int http_server__new(const struct http_server_opts *opts, struct http_server **out)
{
	struct sockaddr_storage ss;
	struct http_server *srv;
	socklen_t len;
	int one = 1, err;

	if (!opts->reg)
		return -EINVAL;
	err = http_parse_listen(opts->listen, opts->allow_remote, &ss, &len);
	if (err == -EPERM) {
		pr_err("refusing to listen on %s: not a loopback address (see --allow-remote)",
		       opts->listen);
		return err;
	}
	if (err) {
		pr_err("failed to parse listen address %s: %s", opts->listen, strerror(-err));
		return err;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->o = *opts;
	if (!srv->o.max_conns)
		srv->o.max_conns = 64;
	if (!srv->o.max_conns_per_ip)
		srv->o.max_conns_per_ip = 16;
	if (srv->o.max_conns_per_ip > srv->o.max_conns)
		srv->o.max_conns_per_ip = srv->o.max_conns;
	if (!srv->o.timeout_s)
		srv->o.timeout_s = 10;
	if (!srv->o.conn_memory)
		srv->o.conn_memory = 16 * 1024;
	if (!srv->o.threads)
		srv->o.threads = 2;
	srv->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		err = -errno;
		goto fail;
	}
	setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(srv->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* The kernel's longest accept queue (net.core.somaxconn): a flood of connections that
	 * the limits above close at once must not fill the queue in front of a scraper's. */
	if (bind(srv->fd, (struct sockaddr *)&ss, len) || listen(srv->fd, SOMAXCONN)) {
		err = -errno;
		goto fail;
	}
	if (getsockname(srv->fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		goto fail;
	}
	srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						    ((struct sockaddr_in6 *)&ss)->sin6_port);
	*out = srv;
	return 0;
fail:
	pr_err("failed to listen on %s: %s", opts->listen ? opts->listen : HTTP_DEFAULT_LISTEN,
	       strerror(-err));
	http_server__free(srv);
	return err;
}

int http_server__port(const struct http_server *srv)
{
	return srv->port;
}

int http_server__start(struct http_server *srv)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->fd,
		MHD_OPTION_THREAD_POOL_SIZE, srv->o.threads, MHD_OPTION_CONNECTION_LIMIT,
		srv->o.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->o.max_conns_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, srv->o.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		srv->o.conn_memory,
		/* Refuse sloppy requests (bare LF, spaces in header names, ...). */
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_END);
	if (!srv->mhd) {
		pr_err("failed to start the HTTP server on port %d", srv->port);
		return -EIO;
	}
	return 0;
}

void http_server__free(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd); /* closes the listen socket too */
	else if (srv->fd >= 0)
		close(srv->fd);
	free(srv);
}
