// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/common/strbuf.h"

static void test_strbuf_fixed_cuts_and_counts_like_snprintf(void **state)
{
	char buf[8];
	struct strbuf s = strbuf_fixed(buf, sizeof(buf));

	strbuf_str(&s, "abcdef");
	strbuf_u64(&s, 12345);
	assert_int_equal(s.n, 11); /* what the whole text needs */
	assert_string_equal(buf, "abcdef1"); /* what fits, NUL-terminated */
	strbuf_printf(&s, "%s", "xyz");
	assert_int_equal(s.n, 14);
	assert_string_equal(buf, "abcdef1");
}

static void test_strbuf_heap_grows_past_its_hint(void **state)
{
	struct strbuf s = strbuf_heap(4);

	assert_false(s.oom);
	for (int i = 0; i < 1000; i++)
		strbuf_lit(&s, "0123456789");
	strbuf_printf(&s, "%0*d", 300, 7);
	assert_false(s.oom);
	assert_int_equal(s.n, 10000 + 300);
	assert_int_equal(strlen(s.buf), s.n);
	assert_memory_equal(s.buf + 9990, "0123456789", 10);
	assert_int_equal(s.buf[s.n - 1], '7');
	free(s.buf);
}

static void test_strbuf_numbers(void **state)
{
	char buf[128];
	struct strbuf s = strbuf_fixed(buf, sizeof(buf));

	strbuf_u64(&s, 0);
	strbuf_lit(&s, " ");
	strbuf_u64(&s, UINT64_MAX);
	strbuf_lit(&s, " ");
	strbuf_s64(&s, INT64_MIN);
	strbuf_lit(&s, " ");
	strbuf_hex(&s, 0xdeadbeef);
	strbuf_lit(&s, "|");
	strbuf_udec(&s, 42, 5, 8);
	strbuf_lit(&s, "|");
	strbuf_pad(&s, "ab", 2, 4);
	strbuf_lit(&s, "|");
	assert_string_equal(
		buf, "0 18446744073709551615 -9223372036854775808 0xdeadbeef|00042   |ab  |");
}

static void test_strbuf_heap_pads_and_numbers_when_growing(void **state)
{
	struct strbuf s = strbuf_heap(2);

	strbuf_udec(&s, 123456789, 1, 12);
	strbuf_pad(&s, "x", 1, 20);
	assert_false(s.oom);
	assert_int_equal(s.n, 32);
	assert_memory_equal(s.buf, "123456789   x", 13);
	free(s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_fixed_cuts_and_counts_like_snprintf),
		cmocka_unit_test(test_strbuf_heap_grows_past_its_hint),
		cmocka_unit_test(test_strbuf_numbers),
		cmocka_unit_test(test_strbuf_heap_pads_and_numbers_when_growing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
