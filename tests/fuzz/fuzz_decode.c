// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the ioctl record decoder, fed ring-buffer records as the BPF side can emit
 * them (any op, fd kind, argsz and argument bytes; records cut short or longer than an event).
 * Every record must give a NUL-terminated trace line that fits its buffer, and a JSON line that
 * a strict parser accepts.
 *
 * Input: byte 0 picks the op (values below 0x80: op = byte % VFS_OPS, kind from byte 1, so every
 * op is one byte away; 0x80 and up: op and kind stay as the record has them, out of range too);
 * the rest is the record, of the input's length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/tracer/decode.h"
#include "json_valid.h"

static void check_text(const struct vfs_event *ev, size_t len)
{
	char *buf = malloc(len + 1);
	int n;

	if (!buf)
		return;
	buf[len] = 0x5a; /* canary right after the buffer */
	n = decode_event_text(ev, (int64_t)ev->ts_ns, buf, len);
	if (n < 0 || (len && strnlen(buf, len) == len) || buf[len] != 0x5a)
		abort();
	if (len && (size_t)n < len && strlen(buf) != (size_t)n)
		abort();
	n = decode_args_text(ev, buf, len);
	if (n < 0 || (len && strnlen(buf, len) == len) || buf[len] != 0x5a)
		abort();
	free(buf);
}

static void check_json(const struct vfs_event *ev, bool kernel_addresses)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct json_writer *jw;

	if (!f)
		return;
	jw = json_writer__new(f);
	if (jw) {
		decode_event_json(ev, 0, kernel_addresses, jw);
		json_writer__free(jw);
	}
	fclose(f);
	if (!jw) {
		free(out);
		return;
	}
	if (!len || out[len - 1] != '\n' || memchr(out, '\n', len - 1) ||
	    !json_valid(out, len - 1)) {
		fprintf(stderr, "invalid JSON line (%zu bytes): %.*s\n", len,
			(int)(len > 600 ? 600 : len), out);
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfs_event buf;
	const struct vfs_event *ev;
	uint8_t *rec;
	uint8_t pick;

	if (size < 2)
		return 0;
	pick = data[0];
	rec = malloc(size - 1 ? size - 1 : 1); /* exactly the record's size, for ASan */
	if (!rec)
		return 0;
	memcpy(rec, data + 1, size - 1);
	if (pick < 0x80 && size - 1 >= offsetof(struct vfs_event, in)) {
		struct vfs_event *e = (struct vfs_event *)rec;
		uint8_t kind = size > 2 ? data[1] : 0;

		e->op = pick % VFS_OPS;
		e->kind = kind % VFS_KINDS;
	}
	ev = decode_record(rec, size - 1, &buf);
	if (!ev) {
		free(rec);
		return 0;
	}
	if (!decode_op_name(ev->op) || !decode_kind_name(ev->kind))
		abort();
	check_text(ev, 512);
	check_text(ev, 40); /* short buffers truncate, never overflow */
	check_text(ev, 1);
	check_json(ev, false);
	check_json(ev, true);
	free(rec);
	return 0;
}
