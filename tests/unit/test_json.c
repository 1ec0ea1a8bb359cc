// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/common/json.h"

struct buf {
	char *data;
	size_t len;
	FILE *f;
	struct json_writer *jw;
};

static struct buf *buf_open(void)
{
	struct buf *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->f = open_memstream(&b->data, &b->len);
	assert_non_null(b->f);
	b->jw = json_writer__new(b->f);
	assert_non_null(b->jw);
	return b;
}

static const char *buf_text(struct buf *b)
{
	fflush(b->f);
	return b->data;
}

static void buf_close(struct buf *b)
{
	json_writer__free(b->jw);
	fclose(b->f);
	free(b->data);
	free(b);
}

static void test_json_object_members_are_comma_separated(void **state)
{
	struct buf *b = buf_open();

	json_start_object(b->jw);
	json_kv_string(b->jw, "a", "x");
	json_kv_u64(b->jw, "b", 18446744073709551615ULL);
	json_kv_s64(b->jw, "c", -5);
	json_kv_bool(b->jw, "d", false);
	json_end_object(b->jw);
	assert_string_equal(buf_text(b),
			    "{\"a\":\"x\",\"b\":18446744073709551615,\"c\":-5,\"d\":false}\n");
	assert_int_equal(json_writer__depth(b->jw), 0);
	buf_close(b);
}

static void test_json_nested_arrays_and_objects(void **state)
{
	struct buf *b = buf_open();

	json_start_object(b->jw);
	json_name(b->jw, "list");
	json_start_array(b->jw);
	json_u64(b->jw, 1);
	json_start_object(b->jw);
	json_end_object(b->jw);
	json_null(b->jw);
	json_end_array(b->jw);
	json_name(b->jw, "empty");
	json_start_array(b->jw);
	json_end_array(b->jw);
	json_end_object(b->jw);
	assert_string_equal(buf_text(b), "{\"list\":[1,{},null],\"empty\":[]}\n");
	buf_close(b);
}

static void test_json_strings_are_escaped(void **state)
{
	struct buf *b = buf_open();

	json_string(b->jw, "q\"b\\n\nt\tc\x01");
	assert_string_equal(buf_text(b), "\"q\\\"b\\\\n\\nt\\tc\\u0001\"\n");
	buf_close(b);
}

static void test_json_hex_keeps_64bit_addresses_exact(void **state)
{
	struct buf *b = buf_open();

	json_start_object(b->jw);
	json_kv_hex(b->jw, "iova", 0xfffffffffffff000ULL);
	json_end_object(b->jw);
	assert_string_equal(buf_text(b), "{\"iova\":\"0xfffffffffffff000\"}\n");
	buf_close(b);
}

static void test_json_non_finite_double_is_null(void **state)
{
	struct buf *b = buf_open();

	json_start_array(b->jw);
	json_double(b->jw, 0.5);
	json_double(b->jw, 1.0 / 0.0);
	json_end_array(b->jw);
	assert_string_equal(buf_text(b), "[0.5,null]\n");
	buf_close(b);
}

static void test_json_consecutive_documents_are_lines(void **state)
{
	struct buf *b = buf_open();

	json_start_object(b->jw);
	json_kv_u64(b->jw, "n", 1);
	json_end_object(b->jw);
	json_start_object(b->jw);
	json_kv_u64(b->jw, "n", 2);
	json_end_object(b->jw);
	assert_string_equal(buf_text(b), "{\"n\":1}\n{\"n\":2}\n");
	buf_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_object_members_are_comma_separated),
		cmocka_unit_test(test_json_nested_arrays_and_objects),
		cmocka_unit_test(test_json_strings_are_escaped),
		cmocka_unit_test(test_json_hex_keeps_64bit_addresses_exact),
		cmocka_unit_test(test_json_non_finite_double_is_null),
		cmocka_unit_test(test_json_consecutive_documents_are_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
