/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The string builder every wing uses: over a caller's fixed buffer with snprintf's contract
 * (n counts what the whole text needs; the buffer always ends in a NUL; what does not fit is
 * cut), or over a heap buffer that grows (strbuf_heap; on allocation failure `oom` is set and
 * later appends are dropped). Trace lines are built with it without printf, which took ~8,400
 * instructions per line; strbuf_printf is for the rare parts.
 */
#ifndef VFIOSCOPE_COMMON_STRBUF_H
#define VFIOSCOPE_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strbuf {
	char *buf;
	size_t cap; /* bytes at buf */
	size_t n; /* bytes the whole text needs, NUL not counted */
	bool grow; /* heap buffer, grown with realloc */
	bool oom; /* a heap buffer could not grow: the text is incomplete */
};

static inline struct strbuf strbuf_fixed(char *buf, size_t cap)
{
	if (cap)
		buf[0] = '\0';
	return (struct strbuf){ .buf = buf, .cap = cap };
}

/* An empty heap builder with room for @hint bytes (0: a default). Free buf when done. */
struct strbuf strbuf_heap(size_t hint);

/* Appends that do not fit: grow, or cut. */
void strbuf__slow(struct strbuf *s, const char *p, size_t k);

/* inline, so that a literal's copy is a few moves */
static inline void strbuf_mem(struct strbuf *s, const char *p, size_t k)
{
	if (__builtin_expect(s->n + k < s->cap, 1)) {
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		s->buf[s->n] = '\0';
	} else {
		strbuf__slow(s, p, k);
	}
}

static inline void strbuf_str(struct strbuf *s, const char *p)
{
	strbuf_mem(s, p, strlen(p));
}

#define strbuf_lit(s, lit) strbuf_mem((s), (lit), sizeof(lit) - 1)

/* @k bytes of @p, then spaces up to @width (printf's %-WIDTH.Ks) */
void strbuf_pad(struct strbuf *s, const char *p, size_t k, size_t width);
/* decimal, at least @digits digits (zero-padded), left-aligned in @width */
void strbuf_udec(struct strbuf *s, uint64_t v, size_t digits, size_t width);
void strbuf_u64(struct strbuf *s, uint64_t v);
void strbuf_s64(struct strbuf *s, int64_t v);
/* 0x followed by lower-case hex digits */
void strbuf_hex(struct strbuf *s, uint64_t v);
__attribute__((format(printf, 2, 3))) void strbuf_printf(struct strbuf *s, const char *fmt, ...);

#endif
