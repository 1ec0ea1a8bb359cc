// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/common/log.h"

static char last[256];
static enum vfioscope_log_level last_level;
static int calls;

static void capture(enum vfioscope_log_level level, const char *msg, void *ctx)
{
	snprintf(last, sizeof(last), "%s", msg);
	last_level = level;
	calls++;
	*(int *)ctx += 1;
}

static void test_log_formats_and_hands_message_to_callback(void **state)
{
	int ctx = 0;

	vfioscope_log_set(capture, &ctx);
	pr_err("failed to %s %s: %s", "start DMA logging on", "0000:00:02.0", "Invalid argument");
	assert_string_equal(last, "failed to start DMA logging on 0000:00:02.0: Invalid argument");
	assert_int_equal(last_level, VFIOSCOPE_LOG_ERROR);
	assert_int_equal(ctx, 1);
	vfioscope_log_set(NULL, NULL);
}

static void test_log_without_callback_drops_messages(void **state)
{
	int ctx = 0;

	calls = 0;
	assert_null(vfioscope_log_set(NULL, NULL));
	pr_warn("nobody listens");
	assert_int_equal(calls, 0);
	assert_null(vfioscope_log_set(capture, &ctx));
	assert_ptr_equal(vfioscope_log_set(NULL, NULL), capture);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_formats_and_hands_message_to_callback),
		cmocka_unit_test(test_log_without_callback_drops_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
