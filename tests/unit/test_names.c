// SPDX-License-Identifier: GPL-2.0
/*
 * One vocabulary: `state` (plain and JSON), `trace` and the metrics' labels name a container's
 * backend and a dirty-tracking method exactly as common/names.h does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "vfioscope/common/names.h"
#include "vfioscope/exporter/vfio_metrics.h"
#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/mirror.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The containers a process can hold: each VFIO_SET_IOMMU type, an iommufd, none yet, and a
 * type this build does not know. */
static const struct {
	unsigned int type;
	bool iommufd;
	const char *name;
} backends[] = {
	{ VFIO_TYPE1_IOMMU, false, "type1" },
	{ VFIO_TYPE1v2_IOMMU, false, "type1v2" },
	{ VFIO_SPAPR_TCE_v2_IOMMU, false, "spapr_tce_v2" },
	{ VFIO_NOIOMMU_IOMMU, false, "noiommu" },
	{ 0, true, "iommufd" },
	{ 0, false, "unknown" },
	{ 1000, false, "other" },
};

/* The tracer's methods and what they are called everywhere. */
static const struct {
	unsigned int vfs;
	enum dirty_method method;
	const char *name;
} methods[] = {
	{ VFS_DIRTY_TYPE1, DIRTY_METHOD_TYPE1, "type1" },
	{ VFS_DIRTY_DEVICE, DIRTY_METHOD_DEVICE, "device" },
	{ VFS_DIRTY_HWPT, DIRTY_METHOD_IOMMUFD, "iommufd" },
};

static struct mirror_container synthetic_container(unsigned int type, bool iommufd)
{
	struct mirror_container c = { .id = 1, .file = 0x1000 };

	c.c.iommu_type = type;
	c.c.flags = iommufd ? VFS_CTR_IOMMUFD : 0;
	c.c.tgid = 42;
	memcpy(c.c.comm, "qemu", 5);
	if (iommufd)
		c.ioas = 2;
	return c;
}

/* The "backend" member of the container's JSON object, as `state --json` writes it. */
static void container_json_backend(const struct mirror_container *c, char *out, size_t len)
{
	struct json_writer *jw;
	struct mirror *m;
	char *text = NULL;
	const char *p, *end;
	size_t n = 0;
	FILE *f;

	assert_int_equal(mirror__new(&m), 0);
	f = open_memstream(&text, &n);
	assert_non_null(f);
	jw = json_writer__new(f);
	assert_non_null(jw);
	mirror__container_json(m, c, jw);
	assert_int_equal(json_writer__depth(jw), 0);
	json_writer__free(jw);
	fclose(f);
	p = strstr(text, "\"backend\":\"");
	assert_non_null(p);
	p += strlen("\"backend\":\"");
	end = strchr(p, '"');
	assert_non_null(end);
	assert_in_range(end - p, 1, len - 1);
	memcpy(out, p, end - p);
	out[end - p] = '\0';
	free(text);
	mirror__free(m);
}

/* The first line of the container in `state`'s plain form: "container 1: <backend>, ...". */
static void container_text_backend(const struct mirror_container *c, char *out, size_t len)
{
	struct mirror *m;
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	assert_int_equal(mirror__new(&m), 0);
	f = open_memstream(&text, &n);
	assert_non_null(f);
	mirror__print_container(m, c, f);
	fclose(f);
	assert_int_equal(sscanf(text, "container 1: %63[^,],", out), 1);
	assert_true(strlen(out) < len);
	free(text);
	mirror__free(m);
}

static void test_state_json_names_each_backend_like_backend_name(void **state)
{
	for (size_t i = 0; i < N(backends); i++) {
		struct mirror_container c =
			synthetic_container(backends[i].type, backends[i].iommufd);
		char got[64];

		container_json_backend(&c, got, sizeof(got));
		assert_string_equal(got, backends[i].name);
		assert_string_equal(got, backend_name(backends[i].type, backends[i].iommufd));
	}
}

static void test_state_text_names_each_backend_like_its_json(void **state)
{
	for (size_t i = 0; i < N(backends); i++) {
		struct mirror_container c =
			synthetic_container(backends[i].type, backends[i].iommufd);
		char text[64], json[64];

		container_text_backend(&c, text, sizeof(text));
		container_json_backend(&c, json, sizeof(json));
		assert_string_equal(text, json);
	}
}

static void test_decode_names_each_method_like_dirty_method_name(void **state)
{
	for (size_t i = 0; i < N(methods); i++) {
		assert_int_equal(decode_dirty_method(methods[i].vfs), methods[i].method);
		assert_string_equal(decode_method_name(methods[i].vfs), methods[i].name);
		assert_string_equal(dirty_method_name(methods[i].method), methods[i].name);
	}
}

static void test_unknown_method_is_none_not_a_new_word(void **state)
{
	assert_int_equal(decode_dirty_method(0), DIRTY_METHOD_NONE);
	assert_int_equal(decode_dirty_method(99), DIRTY_METHOD_NONE);
	assert_string_equal(decode_method_name(99), "none");
	assert_string_equal(dirty_method_name(DIRTY_METHODS), "none");
}

static void test_hwpt_is_called_iommufd(void **state)
{
	assert_string_equal(decode_method_name(VFS_DIRTY_HWPT), "iommufd");
}

/* Every method has its own name: a label value never stands for two methods. */
static void test_method_names_are_distinct(void **state)
{
	for (int a = 0; a < DIRTY_METHODS; a++)
		for (int b = a + 1; b < DIRTY_METHODS; b++)
			assert_string_not_equal(dirty_method_name(a), dirty_method_name(b));
}

static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* A session the tracer saw becomes a series whose method label is dirty_method_name(). */
static void test_metric_method_labels_are_dirty_method_names(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	char *text, series[128];

	assert_non_null(reg);
	assert_int_equal(vfio_metrics__register(reg, &vm), 0);
	for (size_t i = 0; i < N(methods); i++)
		assert_int_equal(vfio_metrics__sync(&vm, "1", decode_method_name(methods[i].vfs),
						    1000, i + 1, 8),
				 0);
	assert_int_equal(metrics_registry__render(reg, METRICS_FORMAT_TEXT, &text, NULL), 0);
	for (size_t i = 0; i < N(methods); i++) {
		snprintf(series, sizeof(series),
			 "vfio_dirty_pages_total{container=\"1\",method=\"%s\"}",
			 dirty_method_name(methods[i].method));
		assert_int_equal(sample(text, series), i + 1);
	}
	assert_null(strstr(text, "method=\"hwpt\""));
	free(text);
	metrics_registry__free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_json_names_each_backend_like_backend_name),
		cmocka_unit_test(test_state_text_names_each_backend_like_its_json),
		cmocka_unit_test(test_decode_names_each_method_like_dirty_method_name),
		cmocka_unit_test(test_unknown_method_is_none_not_a_new_word),
		cmocka_unit_test(test_hwpt_is_called_iommufd),
		cmocka_unit_test(test_method_names_are_distinct),
		cmocka_unit_test(test_metric_method_labels_are_dirty_method_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
