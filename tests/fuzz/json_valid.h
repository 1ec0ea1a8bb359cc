/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict RFC 8259 checker for what vfioscope prints as JSON (test code only): one value per
 * line, strings valid UTF-8 with no raw control characters, numbers in JSON's grammar, no
 * trailing garbage. The fuzz targets abort on a document it refuses, so a printer that emits
 * something jq or Python would reject is a crash with an input to replay.
 */
#ifndef VFIOSCOPE_FUZZ_JSON_VALID_H
#define VFIOSCOPE_FUZZ_JSON_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jv {
	const unsigned char *p, *end;
	int depth;
};

static bool jv_value(struct jv *j);

static void jv_ws(struct jv *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static bool jv_lit(struct jv *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return false;
	j->p += n;
	return true;
}

/* One UTF-8 sequence (shortest form, no surrogates, at most U+10FFFF). */
static bool jv_utf8(struct jv *j)
{
	unsigned char c = *j->p;
	unsigned int cp, n, i;

	if (c < 0x80) {
		j->p++;
		return true;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07;
	else
		return false;
	if ((size_t)(j->end - j->p) <= n)
		return false;
	for (i = 1; i <= n; i++) {
		if ((j->p[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (j->p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	j->p += n + 1;
	return true;
}

static bool jv_hex4(struct jv *j)
{
	for (int i = 0; i < 4; i++, j->p++)
		if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
			return false;
	return true;
}

static bool jv_string(struct jv *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20)
			return false;
		if (*j->p == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				j->p++;
				if (!jv_hex4(j))
					return false;
			} else if (*j->p && strchr("\"\\/bfnrt", *j->p)) {
				j->p++;
			} else {
				return false;
			}
			continue;
		}
		if (!jv_utf8(j))
			return false;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool jv_digits(struct jv *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool jv_number(struct jv *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!jv_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jv_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jv_digits(j))
			return false;
	}
	return true;
}

static bool jv_members(struct jv *j, char close, bool object)
{
	if (++j->depth >
	    8192) /* deeper than any writer of ours nests: the fuzz harness caps at 4096 */
		return false;
	j->p++;
	jv_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		jv_ws(j);
		if (object) {
			if (!jv_string(j))
				return false;
			jv_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!jv_value(j))
			return false;
		jv_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		if (*j->p != ',')
			return false;
		j->p++;
	}
}

static bool jv_value(struct jv *j)
{
	jv_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return jv_members(j, '}', true);
	case '[':
		return jv_members(j, ']', false);
	case '"':
		return jv_string(j);
	case 't':
		return jv_lit(j, "true");
	case 'f':
		return jv_lit(j, "false");
	case 'n':
		return jv_lit(j, "null");
	default:
		return jv_number(j);
	}
}

/* Is [s, s+n) exactly one JSON value (surrounding blanks allowed)? */
static inline bool json_valid(const char *s, size_t n)
{
	struct jv j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };

	if (!jv_value(&j))
		return false;
	jv_ws(&j);
	return j.p == j.end;
}

#endif
