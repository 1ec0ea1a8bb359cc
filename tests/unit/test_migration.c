// SPDX-License-Identifier: GPL-2.0
/*
 * The migration view (tracer/migration.c) from migration records as the BPF side writes them:
 * phases and their bytes, roles and outcomes, the downtime parts, precopy convergence, syncs,
 * and the source/destination join.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mig_records.h"
#include "vfioscope/tracer/migration.h"

#define DEV  0x1000
#define DEV2 0x2000
#define DEV3 0x3000

static struct vfs_mig_event rec(uint64_t device, uint16_t type, uint64_t ts_ms)
{
	return mig_record(device, device == DEV ? "0000:00:02.0" : "0000:00:03.0", type, ts_ms);
}

static void set(struct migrations *ms, uint64_t dev, uint64_t t, uint8_t prev, uint8_t st,
		int64_t ret)
{
	struct vfs_mig_event e = rec(dev, VFS_MIG_SET_STATE, t);

	e.prev_state = prev;
	e.state = st;
	e.ret = ret;
	assert_int_equal(migrations__add(ms, &e), 0);
}

static void data(struct migrations *ms, uint64_t dev, uint64_t t, uint16_t type, uint8_t st,
		 int64_t bytes)
{
	struct vfs_mig_event e = rec(dev, type, t);

	e.state = st;
	e.ret = bytes;
	e.latency_ns = MS; /* 1 ms per call */
	assert_int_equal(migrations__add(ms, &e), 0);
}

static void precopy(struct migrations *ms, uint64_t t, uint64_t initial, uint64_t dirty)
{
	struct vfs_mig_event e = rec(DEV, VFS_MIG_PRECOPY_INFO, t);

	e.state = PRE_COPY;
	e.a = initial;
	e.b = dirty;
	assert_int_equal(migrations__add(ms, &e), 0);
}

/* source: RUNNING -> PRE_COPY (3 reads) -> STOP_COPY (2 reads, EOF) -> STOP */
static void source(struct migrations *ms, uint64_t t0)
{
	set(ms, DEV, t0, RUNNING, PRE_COPY, 0);
	data(ms, DEV, t0 + 10, VFS_MIG_READ, PRE_COPY, 1000);
	data(ms, DEV, t0 + 20, VFS_MIG_READ, PRE_COPY, 1000);
	data(ms, DEV, t0 + 30, VFS_MIG_READ, PRE_COPY, 500);
	set(ms, DEV, t0 + 100, PRE_COPY, STOP_COPY, 0);
	data(ms, DEV, t0 + 110, VFS_MIG_READ, STOP_COPY, 300);
	data(ms, DEV, t0 + 120, VFS_MIG_READ, STOP_COPY, 0);
	set(ms, DEV, t0 + 150, STOP_COPY, STOP, 0);
}

static void test_source_phases_carry_their_bytes(void **state)
{
	struct migrations *ms;
	const struct migration *m;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, 1000);
	assert_int_equal(migrations__count(ms), 1);
	m = migrations__get(ms, 0);
	assert_int_equal(m->role, MIGRATION_SOURCE);
	assert_int_equal(m->outcome, MIGRATION_COMPLETED);
	assert_int_equal(m->nphases, 3);
	assert_int_equal(m->phases[0].state, PRE_COPY);
	assert_int_equal(m->phases[0].bytes, 2500);
	assert_int_equal(m->phases[0].calls, 3);
	assert_int_equal(m->phases[1].state, STOP_COPY);
	assert_int_equal(m->phases[1].bytes, 300);
	assert_int_equal(m->phases[1].calls, 2);
	assert_int_equal(m->phases[0].end_ns, m->phases[1].start_ns);
	assert_int_equal(m->bytes, 2800);
	migrations__free(ms);
}

static void test_source_downtime_ends_at_the_last_stop_copy_byte(void **state)
{
	struct migration_summary s;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, 1000);
	migration__summary(migrations__get(ms, 0), &s);
	assert_true(s.downtime_known);
	/* from the STOP_COPY SET's entry (1100 ms - 1 us) to the read that returned bytes */
	assert_int_equal(s.downtime_ns, 1110 * MS - (1100 * MS - 1000));
	assert_int_equal(s.stop_copy_bytes, 300);
	assert_false(s.stop_copy_estimated);
	migrations__free(ms);
}

static void test_a_state_change_after_the_end_is_no_phase_of_it(void **state)
{
	struct migrations *ms;
	const struct migration *m;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV2, 500, RUNNING, RESUMING, 0);
	data(ms, DEV2, 510, VFS_MIG_WRITE, RESUMING, 2800);
	set(ms, DEV2, 700, RESUMING, RUNNING, 0);
	/* the destination VMM stops the device when it quits, long after */
	set(ms, DEV2, 90000, RUNNING, STOP, 0);
	assert_int_equal(migrations__count(ms), 1);
	m = migrations__get(ms, 0);
	assert_int_equal(m->outcome, MIGRATION_COMPLETED);
	assert_int_equal(m->nphases, 2);
	assert_int_equal(m->phases[1].state, RUNNING);
	assert_int_equal(m->end_ns, 700 * MS);
	migrations__free(ms);
}

static void test_destination_downtime_is_resuming_to_running(void **state)
{
	struct migration_summary s;
	struct migrations *ms;
	const struct migration *m;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV2, 500, RUNNING, RESUMING, 0);
	data(ms, DEV2, 510, VFS_MIG_WRITE, RESUMING, 2800);
	set(ms, DEV2, 600, RESUMING, STOP, 0);
	set(ms, DEV2, 700, STOP, RUNNING, 0);
	m = migrations__get(ms, 0);
	assert_int_equal(m->role, MIGRATION_DESTINATION);
	assert_int_equal(m->outcome, MIGRATION_COMPLETED);
	assert_int_equal(m->phases[0].bytes, 2800);
	migration__summary(m, &s);
	assert_true(s.downtime_known);
	assert_int_equal(s.downtime_ns, 700 * MS - (500 * MS - 1000));
	migrations__free(ms);
}

static void test_failed_state_change_fails_the_migration(void **state)
{
	struct migrations *ms;
	const struct migration *m;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 10, RUNNING, PRE_COPY, 0);
	set(ms, DEV, 20, PRE_COPY, STOP_COPY, -22);
	m = migrations__get(ms, 0);
	assert_int_equal(m->outcome, MIGRATION_FAILED);
	assert_int_equal(m->nphases, 2);
	assert_int_equal(m->phases[1].ret, -22);
	assert_int_equal(m->phases[0].end_ns, 0); /* still the current phase */
	migrations__free(ms);
}

static void test_back_to_running_cancels_a_source(void **state)
{
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 10, RUNNING, PRE_COPY, 0);
	set(ms, DEV, 20, PRE_COPY, RUNNING, 0);
	assert_int_equal(migrations__get(ms, 0)->outcome, MIGRATION_CANCELLED);
	migrations__free(ms);
}

static void test_state_reads_outside_a_migration_start_nothing(void **state)
{
	struct vfs_mig_event e = rec(DEV, VFS_MIG_GET_STATE, 5);
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	e.state = RUNNING;
	assert_int_equal(migrations__add(ms, &e), 0);
	set(ms, DEV, 6, RUNNING, STOP, 0); /* a VM pause is no migration */
	assert_int_equal(migrations__count(ms), 0);
	migrations__free(ms);
}

static void test_precopy_that_grows_faster_than_it_is_read_does_not_converge(void **state)
{
	struct migration_summary s;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 0, RUNNING, PRE_COPY, 0);
	precopy(ms, 100, 0, 1000);
	data(ms, DEV, 200, VFS_MIG_READ, PRE_COPY, 1000); /* 1000 B in 1 ms: 1 MB/s */
	precopy(ms, 1100, 0, 2000000); /* 2 MB more pending after 1 s: 2 MB/s */
	migration__summary(migrations__get(ms, 0), &s);
	assert_true(s.growth_known);
	assert_int_equal(s.converges, 0);
	assert_true(s.stop_copy_estimated);
	assert_int_equal(s.stop_copy_bytes, 2000000);
	migrations__free(ms);
}

static void test_precopy_that_drains_converges(void **state)
{
	struct migration_summary s;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 0, RUNNING, PRE_COPY, 0);
	precopy(ms, 100, 5000, 0);
	data(ms, DEV, 200, VFS_MIG_READ, PRE_COPY, 5000);
	precopy(ms, 1100, 0, 100);
	migration__summary(migrations__get(ms, 0), &s);
	assert_int_equal(s.converges, 1);
	migrations__free(ms);
}

static void test_no_precopy_answers_cannot_tell(void **state)
{
	struct migration_summary s;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, 0);
	migration__summary(migrations__get(ms, 0), &s);
	assert_int_equal(s.converges, -1);
	migrations__free(ms);
}

static void test_syncs_count_pages_only_with_the_kernel_hook(void **state)
{
	struct vfs_mig_event start = rec(DEV, VFS_MIG_LOG_START, 1000), r;
	struct migration_summary s;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	start.a = 4096;
	assert_int_equal(migrations__add(ms, &start), 0);
	for (int i = 1; i <= 3; i++) {
		r = rec(DEV, VFS_MIG_LOG_REPORT, 1000 + 1000 * i);
		r.a = 4096ULL * i;
		r.b = 4096;
		r.flags = VFS_MIG_F_KERN_DIRTY;
		assert_int_equal(migrations__add(ms, &r), 0);
	}
	migration__summary(migrations__get(ms, 0), &s);
	assert_true(s.pages_known);
	assert_int_equal(s.syncs, 3);
	assert_int_equal(s.dirty_pages, 6);
	assert_true(s.dirty_pages_per_s > 1.99 && s.dirty_pages_per_s < 2.01); /* 6 in 3 s */
	r = rec(DEV, VFS_MIG_LOG_REPORT, 5000);
	r.b = 4096; /* no hook: pages unknown */
	assert_int_equal(migrations__add(ms, &r), 0);
	migration__summary(migrations__get(ms, 0), &s);
	assert_false(s.pages_known);
	migrations__free(ms);
}

static void test_source_and_destination_are_joined(void **state)
{
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, 1000);
	set(ms, DEV2, 1050, RUNNING, RESUMING, 0);
	data(ms, DEV2, 1200, VFS_MIG_WRITE, RESUMING, 2800);
	set(ms, DEV2, 1300, RESUMING, STOP, 0);
	set(ms, DEV2, 1310, STOP, RUNNING, 0);
	assert_int_equal(migrations__count(ms), 2);
	assert_int_equal(migrations__peer(ms, 0), 1);
	assert_int_equal(migrations__peer(ms, 1), -1); /* a destination has no peer of its own */
	assert_int_equal(migrations__finished(ms), 2);
	migrations__free(ms);
}

/* The origin of every view is the earliest call's entry, whatever order the records came in:
 * the destination's short SET is recorded first, the source's DMA-logging START, which began
 * 2 ms earlier and took 5 ms, second. Counted from the first record, the source's start was
 * negative (a CI run of migrations_qemu printed it as 18446744073708228432). */
static void test_origin_is_the_earliest_entry_not_the_first_record(void **state)
{
	struct vfs_mig_event start = rec(DEV, VFS_MIG_LOG_START, 1003);
	struct migrations *ms;
	const struct migration *src;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV2, 1000, RUNNING, RESUMING, 0); /* a 1 us call */
	start.latency_ns = 5 * MS;
	start.ret = 0;
	assert_int_equal(migrations__add(ms, &start), 0);
	assert_int_equal(migrations__count(ms), 2);
	assert_int_equal(migrations__origin_ns(ms), 998 * MS);
	src = migrations__get(ms, 1);
	assert_true(src->start_ns >= migrations__origin_ns(ms));
	assert_int_equal(src->start_ns - migrations__origin_ns(ms), 0);
	migrations__free(ms);
}

/* QEMU without PRE_COPY: the destination enters RESUMING when the stream begins, before the
 * source's device leaves RUNNING; a destination done before the source began is not its peer */
static void test_a_destination_resuming_before_the_source_stops_is_joined(void **state)
{
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV2, 100, RUNNING, RESUMING, 0);
	set(ms, DEV2, 200, RESUMING, STOP, 0);
	set(ms, DEV2, 210, STOP, RUNNING, 0); /* an earlier, unrelated destination */
	set(ms, DEV3, 500, RUNNING, RESUMING, 0);
	source(ms, 1000);
	data(ms, DEV3, 1200, VFS_MIG_WRITE, RESUMING, 2800);
	set(ms, DEV3, 1300, RESUMING, STOP, 0);
	set(ms, DEV3, 1310, STOP, RUNNING, 0);
	assert_int_equal(migrations__count(ms), 3);
	assert_int_equal(migrations__get(ms, 2)->role, MIGRATION_SOURCE);
	assert_int_equal(migrations__peer(ms, 2), 1);
	migrations__free(ms);
}

static void test_a_new_migration_of_the_same_device_is_a_new_entry(void **state)
{
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, 0);
	set(ms, DEV, 400, STOP, RUNNING, 0);
	source(ms, 1000);
	assert_int_equal(migrations__count(ms), 2);
	assert_int_equal(migrations__get(ms, 1)->bytes, 2800);
	migrations__free(ms);
}

#define NO_FD UINT64_MAX

/* a SET carrying the data fd's position at its entry (VFS_MIG_F_DATA_POS), if one was live */
static void set_at(struct migrations *ms, uint64_t t, uint8_t prev, uint8_t st, uint64_t file,
		   uint64_t pos)
{
	struct vfs_mig_event e = rec(DEV, VFS_MIG_SET_STATE, t);

	e.prev_state = prev;
	e.state = st;
	e.data_file = file;
	e.data_fd = file ? 9 : -1;
	if (pos != NO_FD) {
		e.c = pos;
		e.flags = VFS_MIG_F_DATA_POS;
	}
	assert_int_equal(migrations__add(ms, &e), 0);
}

static void test_bytes_of_calls_not_seen_count_from_the_data_fd_position(void **state)
{
	struct migration_summary s;
	const struct migration *m;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	/* 1000 bytes read before the data-fd hooks attached, then 500 seen */
	set_at(ms, 1000, RUNNING, PRE_COPY, 0xd00d, NO_FD);
	data(ms, DEV, 1020, VFS_MIG_READ, PRE_COPY, 500);
	set_at(ms, 1100, PRE_COPY, STOP_COPY, 0, 1500);
	/* all of STOP_COPY unseen */
	set_at(ms, 1150, STOP_COPY, STOP, 0, 1800);
	m = migrations__get(ms, 0);
	assert_int_equal(m->outcome, MIGRATION_COMPLETED);
	assert_int_equal(m->phases[0].bytes, 1500);
	assert_int_equal(m->phases[0].bytes_unseen, 1000);
	assert_int_equal(m->phases[0].calls, 1);
	assert_int_equal(m->phases[1].bytes, 300);
	assert_int_equal(m->phases[1].bytes_unseen, 300);
	assert_int_equal(m->bytes, 1800);
	assert_int_equal(m->bytes_unseen, 1300);
	assert_int_equal(m->pos_checks, 2);
	assert_int_equal(m->pos_behind, 0);
	migration__summary(m, &s);
	assert_int_equal(s.stop_copy_bytes, 300);
	/* throughput from the call seen: 500 bytes in 1 ms */
	assert_true(s.data_bytes_per_s > 499e3 && s.data_bytes_per_s < 501e3);
	migrations__free(ms);
}

static void test_a_new_data_fd_starts_at_position_zero(void **state)
{
	const struct migration *m;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set_at(ms, 1000, STOP, RESUMING, 0xd00d, NO_FD);
	data(ms, DEV, 1010, VFS_MIG_WRITE, RESUMING, 700);
	set_at(ms, 1100, RESUMING, RUNNING, 0, 700);
	m = migrations__get(ms, 0);
	assert_int_equal(m->role, MIGRATION_DESTINATION);
	assert_int_equal(m->bytes, 700);
	assert_int_equal(m->bytes_unseen, 0);
	/* the next migration's fd: its 200 bytes, all unseen */
	set_at(ms, 2000, RUNNING, STOP_COPY, 0xbeef, NO_FD);
	set_at(ms, 2100, STOP_COPY, STOP, 0, 200);
	m = migrations__get(ms, 1);
	assert_int_equal(m->role, MIGRATION_SOURCE);
	assert_int_equal(m->bytes, 200);
	assert_int_equal(m->phases[0].bytes_unseen, 200);
	migrations__free(ms);
}

static void test_a_driver_keeping_no_position_adds_nothing(void **state)
{
	const struct migration *m;
	struct migrations *ms;

	assert_int_equal(migrations__new(&ms), 0);
	set_at(ms, 1000, RUNNING, STOP_COPY, 0xd00d, NO_FD);
	data(ms, DEV, 1010, VFS_MIG_READ, STOP_COPY, 400);
	set_at(ms, 1100, STOP_COPY, STOP, 0, 0);
	m = migrations__get(ms, 0);
	assert_int_equal(m->bytes, 400);
	assert_int_equal(m->bytes_unseen, 0);
	assert_int_equal(m->pos_behind, 1);
	migrations__free(ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_phases_carry_their_bytes),
		cmocka_unit_test(test_source_downtime_ends_at_the_last_stop_copy_byte),
		cmocka_unit_test(test_destination_downtime_is_resuming_to_running),
		cmocka_unit_test(test_a_state_change_after_the_end_is_no_phase_of_it),
		cmocka_unit_test(test_failed_state_change_fails_the_migration),
		cmocka_unit_test(test_back_to_running_cancels_a_source),
		cmocka_unit_test(test_state_reads_outside_a_migration_start_nothing),
		cmocka_unit_test(test_precopy_that_grows_faster_than_it_is_read_does_not_converge),
		cmocka_unit_test(test_precopy_that_drains_converges),
		cmocka_unit_test(test_no_precopy_answers_cannot_tell),
		cmocka_unit_test(test_syncs_count_pages_only_with_the_kernel_hook),
		cmocka_unit_test(test_source_and_destination_are_joined),
		cmocka_unit_test(test_origin_is_the_earliest_entry_not_the_first_record),
		cmocka_unit_test(test_a_destination_resuming_before_the_source_stops_is_joined),
		cmocka_unit_test(test_a_new_migration_of_the_same_device_is_a_new_entry),
		cmocka_unit_test(test_bytes_of_calls_not_seen_count_from_the_data_fd_position),
		cmocka_unit_test(test_a_new_data_fd_starts_at_position_zero),
		cmocka_unit_test(test_a_driver_keeping_no_position_adds_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
