// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/tracer/decode.h"

static struct vfs_event map_event(void)
{
	struct vfs_event ev = { .pid = 42,
				.kind = VFS_KIND_CONTAINER,
				.op = VFS_OP_MAP_DMA,
				.cmd = VFIO_IOMMU_MAP_DMA,
				.fd = 5,
				.latency_ns = 1500 };
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f0000000000ULL,
		.iova = 0x100000000ULL,
		.size = 0x200000,
	};

	memcpy(ev.in, &m, sizeof(m));
	memcpy(ev.out, &m, sizeof(m));
	ev.argsz = sizeof(m);
	ev.flags = VFS_EV_OUT_VALID;
	strcpy(ev.comm, "qemu");
	return ev;
}

static void test_classifier_uses_the_uapi_numbers(void **state)
{
	assert_int_equal(VFS_VFIO_BASE, VFIO_GET_API_VERSION);
	assert_int_equal(VFS_IOMMUFD_BASE, IOMMU_DESTROY);
	assert_int_equal(VFS_DIRTY_GET_FLAG, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
	assert_int_equal(VFS_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_ALL);
	assert_int_equal(VFS_UNMAP_FLAG_VADDR, VFIO_DMA_UNMAP_FLAG_VADDR);
	assert_int_equal(VFS_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_VADDR);
	assert_int_equal(VFS_FEATURE_MASK, VFIO_DEVICE_FEATURE_MASK);
	assert_int_equal(vfs_op_classify(VFS_KIND_CONTAINER, VFIO_IOMMU_MAP_DMA, 0),
			 VFS_OP_MAP_DMA);
	assert_int_equal(vfs_op_classify(VFS_KIND_GROUP, VFIO_GROUP_GET_DEVICE_FD, 0),
			 VFS_OP_GROUP_GET_DEVICE_FD);
	assert_int_equal(vfs_op_classify(VFS_KIND_DEVICE, VFIO_DEVICE_IOEVENTFD, 0),
			 VFS_OP_DEVICE_IOEVENTFD);
	assert_int_equal(vfs_op_classify(VFS_KIND_DEVICE, VFIO_DEVICE_DETACH_IOMMUFD_PT, 0),
			 VFS_OP_DEVICE_DETACH_IOMMUFD_PT);
	assert_int_equal(vfs_op_classify(VFS_KIND_IOMMUFD, IOMMU_HWPT_GET_DIRTY_BITMAP, 0),
			 VFS_OP_HWPT_GET_DIRTY_BITMAP);
	assert_int_equal(vfs_op_classify(VFS_KIND_IOMMUFD, IOMMU_HWPT_INVALIDATE, 0),
			 VFS_OP_HWPT_INVALIDATE);
}

static void test_0x3b75_means_dirty_pages_on_a_container_and_feature_on_a_device(void **state)
{
	uint32_t report = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;

	assert_int_equal(VFIO_IOMMU_DIRTY_PAGES, VFIO_DEVICE_FEATURE);
	assert_int_equal(vfs_op_classify(VFS_KIND_CONTAINER, 0x3b75,
					 VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP),
			 VFS_OP_DIRTY_GET_BITMAP);
	assert_int_equal(vfs_op_classify(VFS_KIND_DEVICE, 0x3b75, report),
			 VFS_OP_DMA_LOGGING_REPORT);
	assert_int_equal(vfs_op_classify(VFS_KIND_GROUP, 0x3b75, report), VFS_OP_UNKNOWN);
	/* iommufd's VFIO compatibility answers no DIRTY_PAGES */
	assert_int_equal(vfs_op_classify(VFS_KIND_IOMMUFD, 0x3b75, 1), VFS_OP_UNKNOWN);
	assert_int_equal(vfs_op_classify(VFS_KIND_IOMMUFD, VFIO_IOMMU_MAP_DMA, 0), VFS_OP_MAP_DMA);
}

static void test_0x3b70_means_get_info_on_a_container_and_hot_reset_info_on_a_device(void **s)
{
	assert_int_equal(vfs_op_classify(VFS_KIND_CONTAINER, 0x3b70, 0), VFS_OP_IOMMU_GET_INFO);
	assert_int_equal(vfs_op_classify(VFS_KIND_DEVICE, 0x3b70, 0),
			 VFS_OP_DEVICE_GET_PCI_HOT_RESET_INFO);
}

static void test_dirty_pages_with_several_flags_is_not_a_sub_command(void **state)
{
	assert_int_equal(vfs_op_classify(VFS_KIND_CONTAINER, VFIO_IOMMU_DIRTY_PAGES,
					 VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
						 VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 VFS_OP_DIRTY_PAGES);
}

static void test_other_ioctl_types_and_unknown_kinds_are_unknown(void **state)
{
	assert_false(vfs_cmd_is_vfio_type(0x5401)); /* TCGETS */
	assert_false(vfs_cmd_is_vfio_type(0x80083b64)); /* ';' with direction bits */
	assert_int_equal(vfs_op_classify(VFS_KIND_UNKNOWN, VFIO_IOMMU_MAP_DMA, 0), VFS_OP_UNKNOWN);
	assert_int_equal(vfs_op_classify(VFS_KIND_IOMMUFD, 0x3b80 + 0x40, 0), VFS_OP_UNKNOWN);
}

static void test_op_names_are_unique_and_round_trip(void **state)
{
	for (int i = 1; i < VFS_OPS; i++) {
		assert_string_not_equal(decode_op_name(i), "?");
		assert_int_equal(decode_op_by_name(decode_op_name(i)), i);
	}
	assert_string_equal(decode_op_name(VFS_OPS), "?");
}

static void test_map_dma_decodes_to_text(void **state)
{
	struct vfs_event ev = map_event();
	char buf[512];

	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "flags=READ|WRITE vaddr=0x7f0000000000 iova=0x100000000 "
				 "size=0x200000");
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, " 42 "));
	assert_non_null(strstr(buf, "qemu"));
	assert_non_null(strstr(buf, "VFIO_IOMMU_MAP_DMA(flags=READ|WRITE"));
	assert_non_null(strstr(buf, ") = 0 <1.500 us>"));
}

/* The whole line, field by field: widths, zero padding, wall-clock time. */
static void test_event_line_is_laid_out_exactly(void **state)
{
	struct vfs_event ev = map_event();
	/* the epoch's 00:00:01.000002 in UTC, 3,000,000,000 ns after the monotonic zero */
	int64_t mono_to_real = 1000002000LL - 3000000000LL;
	char buf[512];
	int n;

	setenv("TZ", "UTC", 1);
	ev.ts_ns = 3000000000ULL + 123; /* below a microsecond: not shown */
	ev.pid = 1234567;
	ev.latency_ns = 12000045;
	n = decode_event_text(&ev, mono_to_real, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "00:00:01.000002 1234567 qemu            container fd=5 "
				 "VFIO_IOMMU_MAP_DMA(flags=READ|WRITE vaddr=0x7f0000000000 "
				 "iova=0x100000000 size=0x200000) = 0 <12000.045 us>");
	ev.pid = 7;
	ev.fd = -1;
	ev.ret = -ENOTTY;
	ev.latency_ns = 18446744073709551615ULL;
	strcpy(ev.comm, "a-comm-of-15-ch");
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_string_equal(buf,
			    "3.000000 7       a-comm-of-15-ch container fd=-1 "
			    "VFIO_IOMMU_MAP_DMA(flags=READ|WRITE vaddr=0x7f0000000000 "
			    "iova=0x100000000 size=0x200000) = -25 ENOTTY (Inappropriate ioctl "
			    "for device) <18446744073709551.615 us>");
}

/* A device-fd call names the device (as the tracer read it from the kernel) before its fd. */
static void test_device_call_line_names_the_device(void **state)
{
	struct vfs_event ev = { .pid = 204,
				.kind = VFS_KIND_DEVICE,
				.op = VFS_OP_DEVICE_RESET,
				.cmd = VFIO_DEVICE_RESET,
				.fd = 5,
				.ts_ns = 1000000000ULL,
				.latency_ns = 2000 };
	char buf[256];

	strcpy(ev.comm, "qemu");
	strcpy(ev.device, "0000:00:02.0");
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 204     qemu            device 0000:00:02.0 fd=5 "
				 "VFIO_DEVICE_RESET() = 0 <2.000 us>");
	/* not known (a test-hook file, or a kernel whose structures could not be read) */
	memset(ev.device, 0, sizeof(ev.device));
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 204     qemu            device fd=5 "
				 "VFIO_DEVICE_RESET() = 0 <2.000 us>");
}

/* A name that fills the whole field has no NUL: it is printed cut, never read past. */
static void test_device_name_filling_the_field_is_cut(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_DEVICE, .op = VFS_OP_DEVICE_RESET, .fd = 5 };
	char buf[256], want[VFS_DEV_NAME + 16];

	memset(ev.device, 'a', sizeof(ev.device));
	/* the event's next field follows: a reader past the field would print it */
	ev.new_file = 0x4242424242424242ULL;
	snprintf(want, sizeof(want), " device %.*s fd=5 ", VFS_DEV_NAME, ev.device);
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, want));
}

/* snprintf's contract at every buffer size: the count of the whole line, a NUL-ended prefix. */
static void test_event_line_is_cut_cleanly_at_every_buffer_size(void **state)
{
	struct vfs_event ev = map_event();
	char full[512], buf[512];
	int n;

	ev.ret = -EINVAL;
	ev.kern_pinned_pages = 512;
	n = decode_event_text(&ev, 1000, full, sizeof(full));
	assert_int_equal(n, strlen(full));
	for (int len = 0; len <= n + 1; len++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(decode_event_text(&ev, 1000, buf, len), n);
		if (len == 0) {
			assert_int_equal(buf[0], 'X');
			continue;
		}
		assert_int_equal(strlen(buf), len - 1 < n ? len - 1 : n);
		assert_memory_equal(buf, full, strlen(buf));
		assert_int_equal(buf[len], 'X'); /* nothing written beyond len */
	}
}

static char *json_of_kaddr(const struct vfs_event *ev, bool kernel_addresses)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct json_writer *jw = json_writer__new(f);

	decode_event_json(ev, 0, kernel_addresses, jw);
	json_writer__free(jw);
	fclose(f);
	return buf;
}

static char *json_of(const struct vfs_event *ev)
{
	return json_of_kaddr(ev, false);
}

/* A JSON line names files by vfioscope's ids; the kernel's addresses only on request. */
static void test_json_event_shows_ids_and_kernel_addresses_only_on_request(void **state)
{
	struct vfs_event ev = map_event();
	char *j;

	ev.file = 0xffff888812345600ULL;
	ev.ctx = 0xffff888812345600ULL;
	ev.new_file = 0xffff8888abcdef00ULL;
	ev.file_id = 3;
	ev.ctx_id = 3;
	ev.new_file_id = 7;
	j = json_of(&ev);
	assert_non_null(strstr(j, "\"file_id\":3,\"container_file_id\":3,"));
	assert_non_null(strstr(j, "\"new_file_id\":7"));
	assert_null(strstr(j, "0xffff"));
	assert_null(strstr(j, "\"file\":"));
	j = json_of_kaddr(&ev, true);
	assert_non_null(strstr(j, "\"file\":\"0xffff888812345600\""));
	assert_non_null(strstr(j, "\"container\":\"0xffff888812345600\""));
	assert_non_null(strstr(j, "\"new_file\":\"0xffff8888abcdef00\""));
	ev.ctx_id = 0; /* a group not yet in a container */
	j = json_of(&ev);
	assert_non_null(strstr(j, "\"container_file_id\":null"));
}

static void test_map_dma_decodes_to_json_with_the_same_fields(void **state)
{
	struct vfs_event ev = map_event();
	char *j = json_of(&ev);

	assert_non_null(strstr(j, "\"op\":\"VFIO_IOMMU_MAP_DMA\""));
	assert_non_null(strstr(j, "\"args\":{\"flags\":\"0x3\",\"vaddr\":\"0x7f0000000000\","
				  "\"iova\":\"0x100000000\",\"size\":\"0x200000\"}"));
	assert_non_null(strstr(j, "\"ret\":0"));
	assert_non_null(strstr(j, "\"latency_ns\":1500"));
	assert_null(strstr(j, "errno"));
}

static void test_failed_call_shows_errno_and_no_results(void **state)
{
	struct vfs_event ev = map_event();
	char buf[512], *j;

	ev.op = VFS_OP_UNMAP_DMA;
	ev.ret = -EINVAL;
	decode_event_text(&ev, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "= -22 EINVAL (Invalid argument)"));
	assert_null(strstr(buf, "=>"));
	j = json_of(&ev);
	assert_non_null(strstr(j, "\"errno\":\"EINVAL\""));
	assert_null(strstr(j, "\"result\""));
}

static void test_unmap_result_is_read_at_exit(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_CONTAINER,
				.op = VFS_OP_UNMAP_DMA,
				.flags = VFS_EV_OUT_VALID };
	struct vfio_iommu_type1_dma_unmap in = { .argsz = sizeof(in), .iova = 0, .size = ~0ULL },
					  out = in;
	char buf[512];

	out.size = 0x300000;
	ev.argsz = sizeof(in);
	memcpy(ev.in, &in, sizeof(in));
	memcpy(ev.out, &out, sizeof(out));
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "flags=0x0 iova=0x0 size=0xffffffffffffffff => unmapped=0x300000");
}

static void test_dma_logging_start_shows_ranges(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_DEVICE, .op = VFS_OP_DMA_LOGGING_START };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_control c;
	} s = { { sizeof(s), VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START },
		{ .page_size = 4096, .num_ranges = 9, .ranges = 0x1000 } };
	char buf[1024];

	memcpy(ev.in, &s, sizeof(s));
	ev.argsz = sizeof(s);
	ev.nr_ranges = 9;
	ev.flags = VFS_EV_RANGES | VFS_EV_RANGES_TRUNC;
	for (int i = 0; i < VFS_LOG_RANGES; i++) {
		ev.ranges[2 * i] = i * 0x100000ULL;
		ev.ranges[2 * i + 1] = 0x1000;
	}
	decode_args_text(&ev, buf, sizeof(buf));
	assert_non_null(strstr(buf, "flags=SET|feature=6 page_size=4096 num_ranges=9 "
				    "ranges=0x1000 [0x0+0x1000 0x100000+0x1000"));
	assert_non_null(strstr(buf, "0x700000+0x1000 ...]"));
}

static void test_report_bitmap_bytes_are_whole_u64_words(void **state)
{
	assert_int_equal(decode_bitmap_bytes(4096, 4096), 8);
	assert_int_equal(decode_bitmap_bytes(64 * 4096, 4096), 8);
	assert_int_equal(decode_bitmap_bytes(65 * 4096, 4096), 16);
	assert_int_equal(decode_bitmap_bytes(1ULL << 32, 4096), 131072);
	assert_int_equal(decode_bitmap_bytes(0, 4096), 0);
	assert_int_equal(decode_bitmap_bytes(4096, 0), 0);
}

static void test_fields_beyond_argsz_are_not_shown(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_DEVICE,
				.op = VFS_OP_DMA_LOGGING_START,
				.argsz = 8,
				.flags = VFS_EV_OUT_VALID };
	uint32_t probe[2] = { 8, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
					 VFIO_DEVICE_FEATURE_DMA_LOGGING_START };
	char buf[256];

	memcpy(ev.in, probe, sizeof(probe));
	memset(ev.in + 8, 0xaa, 16); /* whatever lies beyond the header is no argument */
	memset(ev.out + 8, 0xaa, 16);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "flags=SET|PROBE|feature=6");
}

/* Each field is read with its uAPI size (uapi_layout.h): the u16 `op` of IOMMU_OPTION shows
 * nothing of the reserved u16 after it. */
static void test_fields_are_read_with_their_uapi_size(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_IOMMUFD, .op = VFS_OP_IOMMU_OPTION };
	struct iommu_option o = {
		.size = sizeof(o),
		.option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET,
		.__reserved = 0xffff,
		.object_id = 7,
		.val64 = 1,
	};
	char buf[256];

	memcpy(ev.in, &o, sizeof(o));
	ev.argsz = sizeof(o);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "option_id=1 op=0 object_id=7 val64=1");
}

/* The iommufd dirty bitmap request, from the real struct: every field at its uAPI offset. */
static void test_hwpt_get_dirty_bitmap_decodes_from_the_uapi_struct(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_IOMMUFD, .op = VFS_OP_HWPT_GET_DIRTY_BITMAP };
	struct iommu_hwpt_get_dirty_bitmap b = {
		.size = sizeof(b),
		.hwpt_id = 3,
		.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
		.iova = 0x100000,
		.length = 0x400000,
		.page_size = 4096,
		.data = 0x7f0000001000ULL,
	};
	char buf[256];

	memcpy(ev.in, &b, sizeof(b));
	ev.argsz = sizeof(b);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "hwpt_id=3 flags=0x1 iova=0x100000 length=0x400000 "
				 "page_size=4096 data=0x7f0000001000 bitmap_bytes=128");
}

/* A HWPT asked with dirty tracking is said so by name (VT-d refuses it: the flag must show). */
static void test_hwpt_alloc_names_its_flags_and_the_hwpt_made(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_IOMMUFD,
				.op = VFS_OP_HWPT_ALLOC,
				.flags = VFS_EV_OUT_VALID };
	struct iommu_hwpt_alloc in = { .size = sizeof(in),
				       .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				       .dev_id = 1,
				       .pt_id = 2 },
				out = in;
	char buf[256];

	out.out_hwpt_id = 5;
	memcpy(ev.in, &in, sizeof(in));
	memcpy(ev.out, &out, sizeof(out));
	ev.argsz = sizeof(in);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "flags=DIRTY_TRACKING dev_id=1 pt_id=2 => hwpt_id=5");
	assert_non_null(
		strstr(json_of(&ev), "\"args\":{\"flags\":\"0x2\",\"dev_id\":1,\"pt_id\":2}"));
}

/* ATTACH to an IOAS: the kernel writes back the HWPT it made for it, in the same field. */
static void test_attach_shows_the_hwpt_the_kernel_wrote_back(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_DEVICE,
				.op = VFS_OP_DEVICE_ATTACH_IOMMUFD_PT,
				.flags = VFS_EV_OUT_VALID };
	struct vfio_device_attach_iommufd_pt in = { .argsz = sizeof(in), .pt_id = 2 }, out = in;
	char buf[256];

	out.pt_id = 4;
	memcpy(ev.in, &in, sizeof(in));
	memcpy(ev.out, &out, sizeof(out));
	ev.argsz = sizeof(in);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "flags=0x0 pt_id=2 => hwpt_id=4");
}

static void test_iova_ranges_shows_count_and_alignment(void **state)
{
	struct vfs_event ev = { .kind = VFS_KIND_IOMMUFD,
				.op = VFS_OP_IOAS_IOVA_RANGES,
				.flags = VFS_EV_OUT_VALID };
	struct iommu_ioas_iova_ranges in = { .size = sizeof(in), .ioas_id = 2, .num_iovas = 16 },
				      out = in;
	char buf[256];

	out.num_iovas = 2;
	out.out_iova_alignment = 4096;
	memcpy(ev.in, &in, sizeof(in));
	memcpy(ev.out, &out, sizeof(out));
	ev.argsz = sizeof(in);
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "ioas_id=2 num_iovas=16 => num_iovas=2 iova_alignment=0x1000");
}

static void test_unreadable_argument_is_said_so(void **state)
{
	struct vfs_event ev = map_event();
	char buf[256];

	ev.flags = VFS_EV_ARG_FAULT;
	ev.arg = 0x10;
	decode_args_text(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "arg=0x10 (unreadable)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classifier_uses_the_uapi_numbers),
		cmocka_unit_test(
			test_0x3b75_means_dirty_pages_on_a_container_and_feature_on_a_device),
		cmocka_unit_test(
			test_0x3b70_means_get_info_on_a_container_and_hot_reset_info_on_a_device),
		cmocka_unit_test(test_dirty_pages_with_several_flags_is_not_a_sub_command),
		cmocka_unit_test(test_other_ioctl_types_and_unknown_kinds_are_unknown),
		cmocka_unit_test(test_op_names_are_unique_and_round_trip),
		cmocka_unit_test(test_map_dma_decodes_to_text),
		cmocka_unit_test(test_map_dma_decodes_to_json_with_the_same_fields),
		cmocka_unit_test(test_json_event_shows_ids_and_kernel_addresses_only_on_request),
		cmocka_unit_test(test_failed_call_shows_errno_and_no_results),
		cmocka_unit_test(test_unmap_result_is_read_at_exit),
		cmocka_unit_test(test_dma_logging_start_shows_ranges),
		cmocka_unit_test(test_report_bitmap_bytes_are_whole_u64_words),
		cmocka_unit_test(test_fields_beyond_argsz_are_not_shown),
		cmocka_unit_test(test_fields_are_read_with_their_uapi_size),
		cmocka_unit_test(test_hwpt_get_dirty_bitmap_decodes_from_the_uapi_struct),
		cmocka_unit_test(test_hwpt_alloc_names_its_flags_and_the_hwpt_made),
		cmocka_unit_test(test_attach_shows_the_hwpt_the_kernel_wrote_back),
		cmocka_unit_test(test_iova_ranges_shows_count_and_alignment),
		cmocka_unit_test(test_unreadable_argument_is_said_so),
		cmocka_unit_test(test_event_line_is_laid_out_exactly),
		cmocka_unit_test(test_device_call_line_names_the_device),
		cmocka_unit_test(test_device_name_filling_the_field_is_cut),
		cmocka_unit_test(test_event_line_is_cut_cleanly_at_every_buffer_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
