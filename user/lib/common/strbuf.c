// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfioscope/common/strbuf.h"

#define HEAP_DEFAULT 16384

struct strbuf strbuf_heap(size_t hint)
{
	struct strbuf s = { .grow = true };

	s.cap = hint ? hint : HEAP_DEFAULT;
	s.buf = malloc(s.cap);
	if (!s.buf) {
		s.cap = 0;
		s.oom = true;
		return s;
	}
	s.buf[0] = '\0';
	return s;
}

/* Room for @k more bytes and the NUL in a heap builder; false if it cannot grow. */
static bool reserve(struct strbuf *s, size_t k)
{
	size_t cap = s->cap ? s->cap : HEAP_DEFAULT;
	char *nb;

	if (s->oom)
		return false;
	if (s->n + k < s->cap)
		return true;
	while (cap <= s->n + k)
		cap *= 2;
	nb = realloc(s->buf, cap);
	if (!nb) {
		s->oom = true;
		return false;
	}
	s->buf = nb;
	s->cap = cap;
	return true;
}

void strbuf__slow(struct strbuf *s, const char *p, size_t k)
{
	if (s->grow) {
		if (!reserve(s, k))
			return;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		s->buf[s->n] = '\0';
		return;
	}
	/* fixed: as much as fits, and the count */
	if (s->cap && s->n < s->cap - 1) {
		memcpy(s->buf + s->n, p, s->cap - 1 - s->n);
		s->buf[s->cap - 1] = '\0';
	}
	s->n += k;
}

void strbuf_pad(struct strbuf *s, const char *p, size_t k, size_t width)
{
	size_t total = k < width ? width : k;

	if (s->grow && !reserve(s, total))
		return;
	if (s->n + total < s->cap) {
		memcpy(s->buf + s->n, p, k);
		if (total > k)
			memset(s->buf + s->n + k, ' ', total - k);
		s->n += total;
		s->buf[s->n] = '\0';
		return;
	}
	strbuf_mem(s, p, k);
	for (; k < width; k++)
		strbuf_mem(s, " ", 1);
}

/* In place when it fits, two digits a step (printf took a third of a trace line's time). */
void strbuf_udec(struct strbuf *s, uint64_t v, size_t digits, size_t width)
{
#define TEN(d) d "0" d "1" d "2" d "3" d "4" d "5" d "6" d "7" d "8" d "9"
	static const char pairs[] = TEN("0") TEN("1") TEN("2") TEN("3") TEN("4") TEN("5") TEN("6")
		TEN("7") TEN("8") TEN("9");
#undef TEN
	static const uint64_t pow10[20] = {
		1ULL,
		10ULL,
		100ULL,
		1000ULL,
		10000ULL,
		100000ULL,
		1000000ULL,
		10000000ULL,
		100000000ULL,
		1000000000ULL,
		10000000000ULL,
		100000000000ULL,
		1000000000000ULL,
		10000000000000ULL,
		100000000000000ULL,
		1000000000000000ULL,
		10000000000000000ULL,
		100000000000000000ULL,
		1000000000000000000ULL,
		10000000000000000000ULL,
	};
	char t[24], *end;
	size_t nd = 1, total;

	while (nd < 20 && v >= pow10[nd])
		nd++;
	if (nd < digits)
		nd = digits < sizeof(t) ? digits : sizeof(t);
	total = nd > width ? nd : width;
	if (s->grow)
		reserve(s, total);
	end = s->n + total < s->cap ? s->buf + s->n + nd : t + nd;
	for (char *d = end; d > end - nd;) { /* v never has more than nd digits */
		if (v >= 10) {
			d -= 2;
			memcpy(d, pairs + 2 * (v % 100), 2);
			v /= 100;
		} else {
			*--d = '0' + v;
			v = 0;
		}
	}
	if (end == t + nd) { /* does not fit: strbuf_pad cuts it */
		strbuf_pad(s, t, nd, width);
		return;
	}
	if (total > nd)
		memset(end, ' ', total - nd);
	s->n += total;
	s->buf[s->n] = '\0';
}

void strbuf_u64(struct strbuf *s, uint64_t v)
{
	strbuf_udec(s, v, 1, 0);
}

void strbuf_s64(struct strbuf *s, int64_t v)
{
	if (v < 0) {
		strbuf_mem(s, "-", 1);
		strbuf_udec(s, -(uint64_t)v, 1, 0);
	} else {
		strbuf_udec(s, v, 1, 0);
	}
}

void strbuf_hex(struct strbuf *s, uint64_t v)
{
	char t[18];
	int i = sizeof(t);

	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	t[--i] = 'x';
	t[--i] = '0';
	strbuf_mem(s, t + i, sizeof(t) - i);
}

void strbuf_printf(struct strbuf *s, const char *fmt, ...)
{
	size_t room = s->n < s->cap ? s->cap - s->n : 0;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(room ? s->buf + s->n : NULL, room, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if (s->grow && (size_t)k >= room) { /* grow and format again */
		if (!reserve(s, k))
			return;
		va_start(ap, fmt);
		vsnprintf(s->buf + s->n, s->cap - s->n, fmt, ap);
		va_end(ap);
	}
	s->n += k;
}
