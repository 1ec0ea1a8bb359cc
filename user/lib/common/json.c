// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "vfioscope/common/json.h"

struct json_writer {
	FILE *out;
	int depth;
	/* per level: has a value been written (a comma is due before the next)? Grows with the
	 * nesting; a level that cannot be allocated leaves the writer failed (it writes nothing
	 * more, so the output is cut short rather than wrong). */
	bool *need_comma;
	int cap;
	bool failed;
	bool after_name;
};

struct json_writer *json_writer__new(FILE *out)
{
	struct json_writer *jw = calloc(1, sizeof(*jw));

	if (!jw) {
		errno = ENOMEM;
		return NULL;
	}
	jw->out = out;
	return jw;
}

void json_writer__free(struct json_writer *jw)
{
	if (jw)
		free(jw->need_comma);
	free(jw);
}

int json_writer__depth(const struct json_writer *jw)
{
	return jw->depth;
}

bool json_writer__failed(const struct json_writer *jw)
{
	return jw->failed;
}

static void json_sep(struct json_writer *jw)
{
	if (jw->after_name) {
		jw->after_name = false;
		return;
	}
	if (jw->depth > 0 && jw->need_comma[jw->depth - 1])
		fputc(',', jw->out);
	if (jw->depth > 0)
		jw->need_comma[jw->depth - 1] = true;
}

static void json_end_doc(struct json_writer *jw)
{
	if (jw->depth == 0) {
		fputc('\n', jw->out);
		fflush(jw->out);
	}
}

static void json_open(struct json_writer *jw, char c)
{
	if (jw->depth >= jw->cap) {
		int cap = jw->cap ? 2 * jw->cap : 16;
		bool *nc = realloc(jw->need_comma, cap * sizeof(*nc));

		if (!nc) {
			jw->failed = true;
			return;
		}
		jw->need_comma = nc;
		jw->cap = cap;
	}
	json_sep(jw);
	fputc(c, jw->out);
	jw->need_comma[jw->depth] = false;
	jw->depth++;
}

static void json_close(struct json_writer *jw, char c)
{
	if (jw->depth > 0)
		jw->depth--;
	fputc(c, jw->out);
	json_end_doc(jw);
}

void json_start_object(struct json_writer *jw)
{
	if (jw->failed)
		return;
	json_open(jw, '{');
}

void json_end_object(struct json_writer *jw)
{
	if (jw->failed)
		return;
	json_close(jw, '}');
}

void json_start_array(struct json_writer *jw)
{
	if (jw->failed)
		return;
	json_open(jw, '[');
}

void json_end_array(struct json_writer *jw)
{
	if (jw->failed)
		return;
	json_close(jw, ']');
}

/* Length of the well-formed UTF-8 sequence at @p (1-4), or 0 if it is not one. */
static int utf8_len(const unsigned char *p)
{
	unsigned int cp, n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 1, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 2, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 3, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

/*
 * A JSON string. Names that come from other processes (comm, device names) may hold any bytes:
 * a byte that does not start well-formed UTF-8 is written as U+FFFD, so the line stays JSON.
 */
static void json_quote(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int n;

	fputc('"', out);
	for (; *p; p++) {
		if (*p >= 0x80) {
			n = utf8_len(p);
			if (!n) {
				fputs("\ufffd", out);
				continue;
			}
			fwrite(p, 1, n, out);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void json_name(struct json_writer *jw, const char *name)
{
	if (jw->failed)
		return;
	json_sep(jw);
	json_quote(jw->out, name);
	fputc(':', jw->out);
	jw->after_name = true;
}

void json_string(struct json_writer *jw, const char *s)
{
	if (jw->failed)
		return;
	json_sep(jw);
	json_quote(jw->out, s);
	json_end_doc(jw);
}

void json_u64(struct json_writer *jw, uint64_t v)
{
	if (jw->failed)
		return;
	json_sep(jw);
	fprintf(jw->out, "%" PRIu64, v);
	json_end_doc(jw);
}

void json_s64(struct json_writer *jw, int64_t v)
{
	if (jw->failed)
		return;
	json_sep(jw);
	fprintf(jw->out, "%" PRId64, v);
	json_end_doc(jw);
}

void json_double(struct json_writer *jw, double v)
{
	if (jw->failed)
		return;
	json_sep(jw);
	/* JSON has no NaN or infinity */
	if (isfinite(v))
		fprintf(jw->out, "%.9g", v);
	else
		fputs("null", jw->out);
	json_end_doc(jw);
}

void json_fixed(struct json_writer *jw, double v, int decimals)
{
	json_sep(jw);
	if (isfinite(v))
		fprintf(jw->out, "%.*f", decimals, v);
	else
		fputs("null", jw->out);
	json_end_doc(jw);
}

void json_bool(struct json_writer *jw, bool v)
{
	if (jw->failed)
		return;
	json_sep(jw);
	fputs(v ? "true" : "false", jw->out);
	json_end_doc(jw);
}

void json_null(struct json_writer *jw)
{
	if (jw->failed)
		return;
	json_sep(jw);
	fputs("null", jw->out);
	json_end_doc(jw);
}

void json_kv_string(struct json_writer *jw, const char *name, const char *s)
{
	json_name(jw, name);
	json_string(jw, s);
}

void json_kv_u64(struct json_writer *jw, const char *name, uint64_t v)
{
	json_name(jw, name);
	json_u64(jw, v);
}

void json_kv_s64(struct json_writer *jw, const char *name, int64_t v)
{
	json_name(jw, name);
	json_s64(jw, v);
}

void json_kv_double(struct json_writer *jw, const char *name, double v)
{
	json_name(jw, name);
	json_double(jw, v);
}

void json_kv_bool(struct json_writer *jw, const char *name, bool v)
{
	json_name(jw, name);
	json_bool(jw, v);
}

void json_kv_hex(struct json_writer *jw, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	json_kv_string(jw, name, buf);
}
