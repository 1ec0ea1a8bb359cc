// SPDX-License-Identifier: GPL-2.0
/*
 * The landing page's migration timeline (tracer/migration_timeline.c): phases as segments with
 * their bytes, the downtime segment, the data-fd bytes over time, the newest migrations only,
 * and series bounded however long a migration runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mig_records.h"
#include "vfioscope/tracer/migration_timeline.h"

#define DEV 0x1000

static struct vfs_mig_event rec(uint64_t device, uint16_t type, uint64_t ts_ms)
{
	char name[16];

	snprintf(name, sizeof(name), "0000:00:%02x.0", (unsigned int)(device >> 12));
	return mig_record(device, name, type, ts_ms);
}

static void add(struct migrations *ms, struct vfs_mig_event e)
{
	assert_int_equal(migrations__add(ms, &e), 0);
}

static void set(struct migrations *ms, uint64_t dev, uint64_t t, uint8_t prev, uint8_t st)
{
	struct vfs_mig_event e = rec(dev, VFS_MIG_SET_STATE, t);

	e.prev_state = prev;
	e.state = st;
	e.latency_ns = 0; /* the timeline's origin is the first SET's exit */
	add(ms, e);
}

static void data(struct migrations *ms, uint64_t dev, uint64_t t, uint8_t st, int64_t bytes)
{
	struct vfs_mig_event e = rec(dev, VFS_MIG_READ, t);

	e.state = st;
	e.ret = bytes;
	e.latency_ns = MS;
	add(ms, e);
}

static void precopy(struct migrations *ms, uint64_t dev, uint64_t t, uint64_t initial,
		    uint64_t dirty)
{
	struct vfs_mig_event e = rec(dev, VFS_MIG_PRECOPY_INFO, t);

	e.state = PRE_COPY;
	e.a = initial;
	e.b = dirty;
	add(ms, e);
}

/* RUNNING -> PRE_COPY (2500 bytes) -> STOP_COPY (300 bytes) -> STOP, from t0 ms */
static void source(struct migrations *ms, uint64_t dev, uint64_t t0)
{
	set(ms, dev, t0, RUNNING, PRE_COPY);
	precopy(ms, dev, t0 + 5, 2000, 500);
	data(ms, dev, t0 + 10, PRE_COPY, 1000);
	data(ms, dev, t0 + 20, PRE_COPY, 1000);
	data(ms, dev, t0 + 30, PRE_COPY, 500);
	set(ms, dev, t0 + 100, PRE_COPY, STOP_COPY);
	data(ms, dev, t0 + 110, STOP_COPY, 300);
	data(ms, dev, t0 + 120, STOP_COPY, 0);
	set(ms, dev, t0 + 150, STOP_COPY, STOP);
}

static char *timeline(const struct migrations *ms, uint64_t now_ms, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(migrations__timeline_json(ms, now_ms * MS, max, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_timeline_has_phases_bytes_and_downtime_of_a_source(void **state)
{
	struct migrations *ms;
	char *j;

	assert_int_equal(migrations__new(&ms), 0);
	source(ms, DEV, 1000);
	j = timeline(ms, 2000, MIGRATION_TIMELINE_MAX);
	assert_non_null(strstr(j, "\"device\":\"0000:00:01.0\",\"role\":\"source\",\"pid\":42,"
				  "\"comm\":\"qemu-system-x86\",\"outcome\":\"completed\","
				  "\"state\":\"STOP\""));
	/* times in ms from the first record (the PRE_COPY SET's exit) */
	assert_non_null(strstr(j, "{\"state\":\"PRE_COPY\",\"from\":\"RUNNING\",\"start_ms\":0.000,"
				  "\"end_ms\":100.000,\"current\":false,\"ret\":0,\"bytes\":2500,"
				  "\"calls\":3}"));
	assert_non_null(strstr(j, "{\"state\":\"STOP_COPY\",\"from\":\"PRE_COPY\","
				  "\"start_ms\":100.000,\"end_ms\":150.000,\"current\":false,"
				  "\"ret\":0,\"bytes\":300,\"calls\":2}"));
	/* cumulative data-fd bytes at each read that moved some */
	assert_non_null(strstr(j, "\"data\":[[10.000,1000],[20.000,2000],[30.000,2500],"
				  "[110.000,2800]]"));
	assert_non_null(strstr(j, "\"precopy\":[[5.000,2000,500]]"));
	/* from the STOP_COPY SET to the last byte read */
	assert_non_null(strstr(j, "\"downtime\":{\"start_ms\":100.000,\"end_ms\":110.000,"
				  "\"ms\":10.000}"));
	assert_non_null(strstr(j, "\"stop_copy_bytes\":300,\"stop_copy_estimated\":false"));
	free(j);
	migrations__free(ms);
}

static void test_timeline_extends_the_current_phase_to_now(void **state)
{
	struct migrations *ms;
	char *j;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 1000, RUNNING, PRE_COPY);
	data(ms, DEV, 1010, PRE_COPY, 4096);
	j = timeline(ms, 1500, MIGRATION_TIMELINE_MAX);
	assert_non_null(strstr(j, "\"now_ms\":500.000"));
	assert_non_null(strstr(j, "\"outcome\":\"under way\""));
	assert_non_null(strstr(j, "\"end_ms\":null"));
	assert_non_null(strstr(j, "{\"state\":\"PRE_COPY\",\"from\":\"RUNNING\",\"start_ms\":0.000,"
				  "\"end_ms\":500.000,\"current\":true,"));
	assert_non_null(strstr(j, "\"downtime\":null"));
	free(j);
	migrations__free(ms);
}

static void test_timeline_keeps_the_newest_migrations_only(void **state)
{
	struct migrations *ms;
	char *j;

	assert_int_equal(migrations__new(&ms), 0);
	for (uint64_t i = 1; i <= 5; i++)
		source(ms, i << 12, i * 1000);
	j = timeline(ms, 9000, 2);
	assert_non_null(strstr(j, "\"seen\":5,\"shown\":2,\"max\":2,"));
	assert_int_equal(count(j, "\"role\":\"source\""), 2);
	assert_null(strstr(j, "0000:00:03.0"));
	assert_non_null(strstr(j, "0000:00:04.0"));
	assert_non_null(strstr(j, "0000:00:05.0"));
	free(j);
	migrations__free(ms);
}

/* Points of the series @name: "[" openings between its start and the next member. */
static size_t points_of(const char *j, const char *name)
{
	char key[32];
	const char *p;
	size_t n = 0;
	int depth = 1;

	snprintf(key, sizeof(key), "\"%s\":[", name);
	p = strstr(j, key);
	assert_non_null(p);
	for (p += strlen(key); *p && depth; p++) {
		n += *p == '[';
		depth += (*p == '[') - (*p == ']');
	}
	return n;
}

static void test_timeline_series_stay_bounded_and_end_exact(void **state)
{
	struct migrations *ms;
	char *j;

	assert_int_equal(migrations__new(&ms), 0);
	set(ms, DEV, 1000, RUNNING, PRE_COPY);
	for (uint64_t i = 0; i < 1000; i++) {
		precopy(ms, DEV, 1001 + 2 * i, 1000 - i, i);
		data(ms, DEV, 1002 + 2 * i, PRE_COPY, 100);
	}
	j = timeline(ms, 4000, MIGRATION_TIMELINE_MAX);
	assert_int_equal(points_of(j, "data"), MIGRATION_TIMELINE_POINTS);
	assert_int_equal(points_of(j, "precopy"), MIGRATION_TIMELINE_POINTS);
	/* the last point is the last read, with every byte counted */
	assert_non_null(strstr(j, "[2000.000,100000]]"));
	/* precopy: 120 answers of the 1000, the last one included */
	assert_non_null(strstr(j, "[1999.000,1,999]]"));
	free(j);
	migrations__free(ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeline_has_phases_bytes_and_downtime_of_a_source),
		cmocka_unit_test(test_timeline_extends_the_current_phase_to_now),
		cmocka_unit_test(test_timeline_keeps_the_newest_migrations_only),
		cmocka_unit_test(test_timeline_series_stay_bounded_and_end_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
