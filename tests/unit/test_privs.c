// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfioscope/exporter/privs.h"

static void test_parse_capability_names(void **state)
{
	uint64_t m;

	assert_int_equal(privs_parse("cap_bpf,PERFMON,CAP_NET_BIND_SERVICE", &m), 0);
	assert_true(m ==
		    ((1ULL << CAP_BPF) | (1ULL << CAP_PERFMON) | (1ULL << CAP_NET_BIND_SERVICE)));
	assert_int_equal(privs_parse("none", &m), 0);
	assert_true(m == 0);
	assert_int_equal(privs_parse(NULL, &m), 0);
	assert_int_equal(privs_parse("cap_fly", &m), -EINVAL);
}

/* In a child, so this test process keeps its capabilities. */
static void test_drop_keeps_only_what_was_asked_in_every_set(void **state)
{
	uint64_t keep = 1ULL << CAP_NET_BIND_SERVICE;
	struct privs_state before, after;
	pid_t pid;
	int status;

	assert_int_equal(privs_read(&before), 0);
	if (!(before.eff & (1ULL << CAP_SETPCAP)))
		skip(); /* needs root (CAP_SETPCAP) to show the bounding set going */
	pid = fork();
	if (pid == 0) {
		if (privs_drop(keep) || privs_read(&after))
			_exit(10);
		if (after.eff != keep || after.prm != keep || after.inh || after.amb)
			_exit(11);
		if (after.bnd != keep)
			_exit(12);
		if (after.no_new_privs != 1)
			_exit(13);
		/* Gone for good: raising a dropped capability again is refused. */
		if (privs_drop(keep | (1ULL << CAP_BPF)) || privs_read(&after) || after.eff != keep)
			_exit(14);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_capability_names),
		cmocka_unit_test(test_drop_keeps_only_what_was_asked_in_every_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
