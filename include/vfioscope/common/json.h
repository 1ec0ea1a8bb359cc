/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer, so that every printer writes its plain and JSON forms side
 * by side (bpftool's rule). Output is compact: one document per line, ready for JSON lines.
 */
#ifndef VFIOSCOPE_JSON_H
#define VFIOSCOPE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *json_writer__new(FILE *out);
void json_writer__free(struct json_writer *jw);
/* Nesting depth still open (0 once the document is complete). */
int json_writer__depth(const struct json_writer *jw);
/* Out of memory for a nesting level: the writer stopped writing (the document is cut short). */
bool json_writer__failed(const struct json_writer *jw);

void json_start_object(struct json_writer *jw);
void json_end_object(struct json_writer *jw);
void json_start_array(struct json_writer *jw);
void json_end_array(struct json_writer *jw);
/* A member name inside an object; the next value belongs to it. */
void json_name(struct json_writer *jw, const char *name);
void json_string(struct json_writer *jw, const char *s);
void json_u64(struct json_writer *jw, uint64_t v);
void json_s64(struct json_writer *jw, int64_t v);
void json_double(struct json_writer *jw, double v);
/* A number with exactly @decimals digits after the point (timestamps: json_double keeps 9
 * significant digits only) */
void json_fixed(struct json_writer *jw, double v, int decimals);
void json_bool(struct json_writer *jw, bool v);
void json_null(struct json_writer *jw);

/* name + value in one call */
void json_kv_string(struct json_writer *jw, const char *name, const char *s);
void json_kv_u64(struct json_writer *jw, const char *name, uint64_t v);
void json_kv_s64(struct json_writer *jw, const char *name, int64_t v);
void json_kv_double(struct json_writer *jw, const char *name, double v);
void json_kv_bool(struct json_writer *jw, const char *name, bool v);
/* 0x-prefixed hex string: addresses and IOVAs exceed the 2^53 a JSON double holds. */
void json_kv_hex(struct json_writer *jw, const char *name, uint64_t v);

#endif
