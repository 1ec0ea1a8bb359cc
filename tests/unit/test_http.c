// SPDX-License-Identifier: GPL-2.0
/* The HTTP server in process, driven by a raw socket client (curl and wrk drive the real
 * command in tests/bpf/serve_*.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfioscope/exporter/http.h"
#include "vfioscope/exporter/metrics.h"
#include "vfioscope/exporter/vfio_metrics.h"

static const char landing[] = "<!DOCTYPE html><title>t</title>";

struct fixture {
	struct metrics_registry *reg;
	struct vfio_metrics vm;
	struct http_server *srv;
	struct http_doc *doc;
	int port;
	bool unhealthy;
};

static int health(void *ctx, char *msg, size_t len)
{
	struct fixture *fx = ctx;

	if (!fx->unhealthy)
		return 0;
	snprintf(msg, len, "tracer detached");
	return -EIO;
}

static int start(struct fixture *fx, unsigned int max_conns, unsigned int timeout_s)
{
	struct http_server_opts o = {
		.listen = "127.0.0.1:0",
		.max_conns = max_conns,
		.timeout_s = timeout_s,
		.conn_memory = 8192,
		.reg = fx->reg,
		.vm = &fx->vm,
		.health = health,
		.health_ctx = fx,
		.landing = landing,
		.landing_len = sizeof(landing) - 1,
		.migrations = fx->doc,
	};
	int err = http_server__new(&o, &fx->srv);

	if (err)
		return err;
	fx->port = http_server__port(fx->srv);
	return http_server__start(fx->srv);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fx->reg = metrics_registry__new();
	assert_int_equal(vfio_metrics__register(fx->reg, &fx->vm), 0);
	assert_int_equal(http_doc__new(&fx->doc), 0);
	assert_int_equal(start(fx, 8, 1), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	http_server__free(fx->srv);
	http_doc__free(fx->doc);
	metrics_registry__free(fx->reg);
	free(fx);
	return 0;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads until the server closes (or 5 s pass); returns the bytes read, NUL-terminated. */
static char *read_all(int fd, size_t *total)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = 0;
	if (total)
		*total = len;
	return buf;
}

static char *request(int port, const char *req)
{
	int fd = connect_to(port);
	char *resp;

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	resp = read_all(fd, NULL);
	close(fd);
	return resp;
}

static int status_of(const char *resp)
{
	int code = 0;

	sscanf(resp, "HTTP/1.%*d %d", &code);
	return code;
}

static void test_listen_address_is_parsed_and_loopback_enforced(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(http_parse_listen("127.0.0.1:9478", false, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9478);
	assert_int_equal(http_parse_listen("[::1]:80", false, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(http_parse_listen(":0", false, &ss, &len), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(http_parse_listen("localhost:1", false, &ss, &len), 0);
	assert_int_equal(http_parse_listen("127.1.2.3:1", false, &ss, &len), 0);
	assert_int_equal(http_parse_listen(NULL, false, &ss, &len), 0);
	assert_int_equal(http_parse_listen("0.0.0.0:1", false, &ss, &len), -EPERM);
	assert_int_equal(http_parse_listen("[::]:1", false, &ss, &len), -EPERM);
	assert_int_equal(http_parse_listen("0.0.0.0:1", true, &ss, &len), 0);
	assert_int_equal(http_parse_listen("example.com:80", true, &ss, &len), -EINVAL);
	assert_int_equal(http_parse_listen("127.0.0.1:65536", false, &ss, &len), -EINVAL);
	assert_int_equal(http_parse_listen("127.0.0.1:", false, &ss, &len), -EINVAL);
	assert_int_equal(http_parse_listen("127.0.0.1", false, &ss, &len), -EINVAL);
	assert_int_equal(http_parse_listen("::1:80", false, &ss, &len), -EINVAL);
}

static void test_server_refuses_non_loopback_bind(void **state)
{
	struct fixture *fx = *state;
	struct http_server_opts o = { .listen = "0.0.0.0:0", .reg = fx->reg };
	struct http_server *srv = NULL;

	assert_int_equal(http_server__new(&o, &srv), -EPERM);
	assert_null(srv);
}

static void test_metrics_served_as_text_by_default(void **state)
{
	struct fixture *fx = *state;
	char *r =
		request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	assert_non_null(strstr(r, "\nvfioscope_build_info{version="));
	assert_null(strstr(r, "# EOF"));
	free(r);
}

static void test_metrics_served_as_openmetrics_when_asked(void **state)
{
	struct fixture *fx = *state;
	char *r = request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Accept: application/openmetrics-text;version=1.0.0,text/"
				    "plain;version=0.0.4;q=0.5\r\n\r\n");

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(
		r, "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"));
	assert_non_null(strstr(r, "# TYPE vfioscope_build info\n"));
	assert_non_null(strstr(r, "\n# EOF\n"));
	free(r);
}

static void test_metrics_gzipped_only_when_accepted(void **state)
{
	struct fixture *fx = *state;
	char *r = request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Accept-Encoding: deflate, gzip\r\n\r\n");
	char *body = strstr(r, "\r\n\r\n");

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "Content-Encoding: gzip"));
	assert_non_null(body);
	assert_true((unsigned char)body[4] == 0x1f && (unsigned char)body[5] == 0x8b);
	free(r);
	r = request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			      "Accept-Encoding: gzip;q=0, identity\r\n\r\n");
	assert_null(strstr(r, "Content-Encoding"));
	assert_non_null(strstr(r, "vfioscope_build_info"));
	free(r);
}

static void test_unknown_path_is_404(void **state)
{
	struct fixture *fx = *state;
	char *r = request(fx->port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

	assert_int_equal(status_of(r), 404);
	free(r);
	r = request(fx->port, "GET /metrics/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 404);
	free(r);
}

static void test_other_methods_are_405_with_allow(void **state)
{
	struct fixture *fx = *state;
	const char *reqs[] = {
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char *r = request(fx->port, reqs[i]);

		assert_int_equal(status_of(r), 405);
		assert_non_null(strstr(r, "Allow: GET, HEAD"));
		free(r);
	}
}

static void test_head_gets_headers_only(void **state)
{
	struct fixture *fx = *state;
	char *r =
		request(fx->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

	assert_int_equal(status_of(r), 200);
	assert_null(strstr(r, "vfioscope_build_info"));
	free(r);
}

static void test_oversized_request_is_refused(void **state)
{
	struct fixture *fx = *state;
	size_t n = 64 * 1024;
	char *big = malloc(n + 128), *r;

	snprintf(big, n + 128, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + strlen(big), 'a', n);
	strcpy(big + strlen(big) - 1, "\r\n\r\n");
	r = request(fx->port, big);
	/* 431 or 413 when libmicrohttpd answers, or a closed connection: never a 200. */
	assert_true(status_of(r) == 0 || (status_of(r) >= 400 && status_of(r) < 500));
	free(r);
	free(big);
	r = request(fx->port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 200);
	free(r);
}

static void test_malformed_requests_get_400(void **state)
{
	struct fixture *fx = *state;
	const char *reqs[] = {
		"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", /* header without colon */
		"GET /metrics HTTP/1.1\r\n\r\n", /* HTTP/1.1 without Host */
		"GARBAGE\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char *r = request(fx->port, reqs[i]);

		if (status_of(r) != 400 && status_of(r) != 0)
			fail_msg("request %zu answered %d", i, status_of(r));
		free(r);
	}
}

static void test_get_with_a_body_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *r = request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Content-Length: 5\r\n\r\nhello");

	assert_int_equal(status_of(r), 413);
	free(r);
}

static void test_idle_client_is_disconnected(void **state)
{
	struct fixture *fx = *state;
	int fd = connect_to(fx->port);
	char *r;
	size_t n;

	/* Half a request, then silence: the server (timeout 1 s) must close the connection
	 * before our 5 s receive timeout. */
	send(fd, "GET /metr", 9, MSG_NOSIGNAL);
	errno = 0;
	r = read_all(fd, &n);
	assert_int_equal(errno == EAGAIN && n == 0, 0);
	close(fd);
	free(r);
}

/*
 * At the connection limit (8 here) further clients wait in the listen backlog; idle
 * connections are reaped after the timeout and the waiting client is then served.
 */
static void test_idle_connections_at_the_limit_are_reaped_and_next_client_served(void **state)
{
	struct fixture *fx = *state;
	int fds[8], extra;
	char *r;

	for (int i = 0; i < 8; i++)
		fds[i] = connect_to(fx->port);
	extra = connect_to(fx->port);
	send(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 53,
	     MSG_NOSIGNAL);
	r = read_all(extra, NULL);
	assert_int_equal(status_of(r), 200);
	free(r);
	close(extra);
	for (int i = 0; i < 8; i++) {
		size_t n;

		r = read_all(fds[i], &n);
		assert_int_equal(n, 0); /* closed by the server, nothing sent */
		free(r);
		close(fds[i]);
	}
}

/* A client bound to 127.0.0.@host (any 127/8 address reaches the loopback listener). */
static int connect_from(int port, int host)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	src.sin_addr.s_addr = htonl(0x7f000000 | host);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void test_one_address_cannot_take_every_connection(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct fixture *fx = *state;
	struct http_server_opts o = {
		.listen = "127.0.0.1:0",
		.max_conns = 8,
		.max_conns_per_ip = 2,
		.timeout_s = 30, /* the slow clients stay for the whole test */
		.reg = fx->reg,
	};
	struct http_server *srv;
	int slow[2], extra, ok, port;
	size_t n;
	char *r;

	assert_int_equal(http_server__new(&o, &srv), 0);
	assert_int_equal(http_server__start(srv), 0);
	port = http_server__port(srv);
	/* two slow clients from 127.0.0.2 hold their address's share ... */
	for (int i = 0; i < 2; i++) {
		slow[i] = connect_from(port, 2);
		assert_int_equal(send(slow[i], "GET /met", 8, MSG_NOSIGNAL), 8);
	}
	/* ... a third from there is turned away, answered with nothing */
	extra = connect_from(port, 2);
	send(extra, req, sizeof(req) - 1, MSG_NOSIGNAL);
	r = read_all(extra, &n);
	assert_int_equal(n, 0);
	free(r);
	close(extra);
	/* while the scraper at 127.0.0.1 is served */
	ok = connect_from(port, 1);
	assert_int_equal(send(ok, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	r = read_all(ok, NULL);
	assert_int_equal(status_of(r), 200);
	free(r);
	close(ok);
	for (int i = 0; i < 2; i++)
		close(slow[i]);
	http_server__free(srv);
}

static void test_healthz_reports_unhealthy_as_503(void **state)
{
	struct fixture *fx = *state;
	char *r;

	fx->unhealthy = true;
	r = request(fx->port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 503);
	assert_non_null(strstr(r, "tracer detached"));
	free(r);
	fx->unhealthy = false;
}

static void test_landing_page_forbids_external_assets(void **state)
{
	struct fixture *fx = *state;
	char *r = request(fx->port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "Content-Type: text/html; charset=utf-8"));
	assert_non_null(strstr(r, "Content-Security-Policy: default-src 'none';"));
	assert_non_null(strstr(r, "connect-src 'self'"));
	assert_non_null(strstr(r, landing));
	free(r);
}

static void test_migrations_serves_the_latest_published_json(void **state)
{
	struct fixture *fx = *state;
	const char *get = "GET /migrations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char *r = request(fx->port, get);

	/* nothing published yet: an empty document, never an error the page must handle */
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "Content-Type: application/json"));
	assert_non_null(strstr(r, "Cache-Control: no-store"));
	assert_non_null(strstr(r, "\r\n\r\n{}"));
	free(r);
	http_doc__set(fx->doc, strdup("{\"migrations\":[1]}"), 18);
	http_doc__set(fx->doc, strdup("{\"migrations\":[2]}"), 18);
	r = request(fx->port, get);
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "\r\n\r\n{\"migrations\":[2]}"));
	free(r);
}

static void test_migrations_is_404_without_a_document(void **state)
{
	struct fixture fx = {};
	char *r;

	fx.reg = metrics_registry__new();
	assert_int_equal(vfio_metrics__register(fx.reg, &fx.vm), 0);
	assert_int_equal(start(&fx, 8, 1), 0);
	r = request(fx.port, "GET /migrations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(r), 404);
	free(r);
	http_server__free(fx.srv);
	metrics_registry__free(fx.reg);
}

static void test_requests_are_counted_by_handler_and_code(void **state)
{
	struct fixture *fx = *state;
	char *r;

	free(request(fx->port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
	free(request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
	r = request(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "vfioscope_http_requests_total{handler=\"other\",code=\"404\"}"));
	assert_non_null(strstr(r, "vfioscope_scrapes_total{format=\"text\"}"));
	assert_non_null(strstr(r, "\nvfioscope_scrape_duration_seconds "));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_address_is_parsed_and_loopback_enforced),
		cmocka_unit_test_setup_teardown(test_server_refuses_non_loopback_bind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics_served_as_text_by_default, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics_served_as_openmetrics_when_asked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_gzipped_only_when_accepted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_methods_are_405_with_allow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_head_gets_headers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests_get_400, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_with_a_body_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_client_is_disconnected, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_idle_connections_at_the_limit_are_reaped_and_next_client_served, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_one_address_cannot_take_every_connection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_healthz_reports_unhealthy_as_503, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_landing_page_forbids_external_assets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrations_serves_the_latest_published_json,
						setup, teardown),
		cmocka_unit_test(test_migrations_is_404_without_a_document),
		cmocka_unit_test_setup_teardown(test_requests_are_counted_by_handler_and_code,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
