// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what a person types on the command line. Byte 0 picks the parser, the rest
 * is the argument (a NUL in it ends it, as in argv): numbers, durations, sizes, `track --layout`
 * (then QEMU's range algorithm over the layout), `track --inject-fault`, `serve --listen`, and op
 * names. Each parser either refuses with a reason or returns a value that keeps its promise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/common/parse.h"
#include "vfioscope/common/ranges.h"
#include "vfioscope/exporter/http.h"
#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracker/tracker.h"

#define CHECK(c)                                                                       \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "broken promise: %s (input \"%s\")\n", #c, s); \
			abort();                                                       \
		}                                                                      \
	} while (0)

static void layout(const char *s)
{
	struct layout l;
	char err[128];
	struct dirty_ranges r;
	struct iova_range out[3];
	uint64_t first, last;
	int n, i, k, rc;

	memset(err, 0x5a, sizeof(err));
	if (layout_parse(s, &l, err, sizeof(err))) {
		CHECK(memchr(err, 0, sizeof(err)) && err[0]); /* a reason, terminated */
		return;
	}
	CHECK(l.nr <= LAYOUT_MAX_SECTIONS);
	/* QEMU's range algorithm: every section it keeps lies inside one of the ranges it builds */
	dirty_ranges__init(&r);
	for (i = 0; i < (int)l.nr; i++)
		if (dirty_ranges__update(&r, &l.sections[i], 4096) < 0)
			return;
	n = dirty_ranges__build(&r, out, 3);
	if (n < 0)
		return;
	CHECK(n <= 3);
	for (i = 0; i < (int)l.nr; i++) {
		rc = section_align(&l.sections[i], 4096, &first, &last);
		if (rc != 1)
			continue;
		for (k = 0; k < n; k++)
			if (first >= out[k].iova && last - out[k].iova < out[k].length)
				break;
		CHECK(k < n);
	}
}

static void listen_spec(const char *s, bool remote)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rc = http_parse_listen(s, remote, &ss, &len);

	if (rc)
		return;
	CHECK(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	CHECK(len ==
	      (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
	if (!remote && ss.ss_family == AF_INET)
		CHECK((ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127);
	if (!remote && ss.ss_family == AF_INET6)
		CHECK(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL, *end = NULL;
	struct tracker_fault f;
	uint64_t v, v2, lo, hi;
	char *s;
	int iv, op;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	/* bounds from the argument's own bytes, so narrow windows get tried too */
	lo = size > 2 ? data[1] : 0;
	hi = size > 3 ? (uint64_t)data[2] << (data[1] % 56) : UINT64_MAX;
	if (hi < lo)
		hi = UINT64_MAX;
	switch (data[0] % 10) {
	case 0:
		if (!parse_u64(s, lo, hi, &v, &why))
			CHECK(v >= lo && v <= hi);
		else
			CHECK(why && *why);
		break;
	case 1:
		if (!parse_int(s, -5, 1 << 20, &iv, &why))
			CHECK(iv >= -5 && iv <= 1 << 20);
		else
			CHECK(why && *why);
		break;
	case 2:
		if (!parse_duration_ns(s, 1000000000, lo, hi, &v, &why))
			CHECK(v >= lo && v <= hi);
		else
			CHECK(why && *why);
		break;
	case 3:
		if (!parse_size(s, &v, &why)) {
			/* the prefix form agrees and consumes everything */
			CHECK(!parse_size_prefix(s, &end, &v2, &why) && v2 == v && end && !*end);
		} else {
			CHECK(why && *why);
		}
		break;
	case 4:
		if (!parse_size_prefix(s, &end, &v, &why))
			CHECK(end >= s && end <= s + strlen(s));
		break;
	case 5:
		layout(s);
		break;
	case 6:
		if (!tracker_fault_parse(s, &f))
			CHECK(f.err < 0 && f.nth > 0 && f.op < TRACKER_OP_COUNT);
		break;
	case 7:
		listen_spec(s, false);
		break;
	case 8:
		listen_spec(s, true);
		break;
	default:
		op = decode_op_by_name(s);
		if (op >= 0)
			CHECK(!strcmp(decode_op_name(op), s));
	}
	free(s);
	return 0;
}
