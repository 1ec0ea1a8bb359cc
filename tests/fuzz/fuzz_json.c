// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the JSON writer every --json output and the mirror go through. The input
 * is a program of writer calls (nesting to any depth, names and strings of any bytes, any
 * numbers); whatever the calls, a well-formed sequence must give exactly one valid JSON line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/common/json.h"
#include "json_valid.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static int take(struct in *in)
{
	if (!in->n)
		return -1;
	in->n--;
	return *in->p++;
}

/* A NUL-terminated string of up to 255 bytes of the input (a NUL in it ends it early). */
static void take_str(struct in *in, char *buf)
{
	int len = take(in);
	size_t n = len < 0 ? 0 : (size_t)len;

	if (n > in->n)
		n = in->n;
	memcpy(buf, in->p, n);
	buf[n] = 0;
	in->p += n;
	in->n -= n;
}

static uint64_t take_u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (uint64_t)(take(in) & 0xff);
	return v;
}

static void value(struct json_writer *jw, struct in *in, int op, char *buf)
{
	uint64_t v;
	double d;

	switch (op % 6) {
	case 0:
		take_str(in, buf);
		json_string(jw, buf);
		break;
	case 1:
		json_u64(jw, take_u64(in));
		break;
	case 2:
		json_s64(jw, (int64_t)take_u64(in));
		break;
	case 3:
		v = take_u64(in);
		memcpy(&d, &v, sizeof(d)); /* NaN and infinities included */
		json_double(jw, d);
		break;
	case 4:
		json_bool(jw, op & 8);
		break;
	default:
		json_null(jw);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	char *out = NULL, buf[256];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct json_writer *jw;
	/* per open level: 1 object, 0 array */
	static uint8_t kind[1 << 12];
	int depth = 0, op;

	if (!f)
		return 0;
	jw = json_writer__new(f);
	if (!jw) {
		fclose(f);
		free(out);
		return 0;
	}
	json_start_object(jw);
	kind[depth++] = 1;
	while ((op = take(&in)) >= 0) {
		bool obj = kind[depth - 1];

		if (op < 64 && depth < (int)sizeof(kind)) { /* open a level */
			if (obj) {
				take_str(&in, buf);
				json_name(jw, buf);
			}
			if (op & 1)
				json_start_object(jw);
			else
				json_start_array(jw);
			kind[depth++] = op & 1;
		} else if (op < 96) { /* close one */
			if (depth == 1)
				continue;
			if (obj)
				json_end_object(jw);
			else
				json_end_array(jw);
			depth--;
		} else if (obj && op >= 224) { /* a kv helper */
			take_str(&in, buf);
			if (op & 1)
				json_kv_hex(jw, buf, take_u64(&in));
			else
				json_kv_string(jw, buf, buf);
		} else {
			if (obj) {
				take_str(&in, buf);
				json_name(jw, buf);
			}
			value(jw, &in, op, buf);
		}
	}
	while (depth > 0) {
		if (kind[--depth])
			json_end_object(jw);
		else
			json_end_array(jw);
	}
	if (json_writer__depth(jw) != 0 && !json_writer__failed(jw))
		abort();
	json_writer__free(jw);
	fclose(f);
	/* one document, one line */
	if (!len || out[len - 1] != '\n' || memchr(out, '\n', len - 1) ||
	    !json_valid(out, len - 1)) {
		fprintf(stderr, "invalid JSON (%zu bytes): %.*s\n", len,
			(int)(len > 400 ? 400 : len), out);
		abort();
	}
	free(out);
	return 0;
}
