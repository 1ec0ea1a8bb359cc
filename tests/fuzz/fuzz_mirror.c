// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the mirror over arbitrary map contents. A real tracer is loaded on this
 * host (root and BPF needed; its pid filter names no process, so nothing else writes its
 * maps); each input fills its real state maps (every BPF hash map of the tracer: files,
 * containers, mappings, sessions, HWPTs, ...) with whatever entries the input holds, then the
 * mirror loads them and prints them as text and as JSON: nothing may crash, and the JSON must
 * be valid.
 *
 * Input: records of [map selector][key bytes][value bytes] at each map's own sizes. Every key
 * starts with a struct file pointer, so that entries of different maps meet, the first u64 of
 * a key is taken from a palette of four file addresses (byte 0 of the key picks one), and
 * any u64 of a value equal to 1..4 becomes that palette entry too (a group's container, a
 * device's group, a BAR's device).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "vfioscope/tracer/mirror.h"
#include "vfioscope/tracer/tracer.h"
#include "json_valid.h"

static struct tracer *t;
static struct {
	int fd;
	struct bpf_map_info info;
} maps[TRACER_MAPS];
static int nmaps;
static const uint64_t palette[4] = { 0xffff888012340000ull, 0xffff888012350000ull,
				     0xffff888012360000ull, 0xffff888012370000ull };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tracer_opts o = {
		.sz = sizeof(o),
		.no_events = true,
		.no_kernel_hooks = true,
		.pid = 0x7ffffff0, /* no such process: the maps are this target's alone */
	};
	int err = tracer__new(&o, &t);

	if (err) {
		fprintf(stderr,
			"fuzz_mirror: cannot load the tracer (%s): run as root on a kernel "
			"with BPF\n",
			strerror(-err));
		exit(1);
	}
	for (int i = 0; i < TRACER_MAPS; i++) {
		int fd = tracer__map_fd(t, i);
		__u32 len = sizeof(maps[nmaps].info);

		if (fd < 0)
			continue;
		memset(&maps[nmaps].info, 0, len);
		if (bpf_obj_get_info_by_fd(fd, &maps[nmaps].info, &len) ||
		    maps[nmaps].info.type != BPF_MAP_TYPE_HASH)
			continue;
		maps[nmaps++].fd = fd;
	}
	return 0;
}

static void clear_map(int fd, __u32 ksz)
{
	uint8_t key[256];

	while (ksz <= sizeof(key) && !bpf_map_get_next_key(fd, NULL, key))
		bpf_map_delete_elem(fd, key);
}

static char *print(struct mirror *m, bool json, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	struct json_writer *jw;

	if (!f)
		abort();
	if (json) {
		jw = json_writer__new(f);
		if (!jw)
			abort();
		json_start_object(jw);
		mirror__json(m, jw);
		json_end_object(jw);
		json_writer__free(jw);
	} else {
		mirror__print(m, f);
	}
	fclose(f);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[256], val[4096];
	struct mirror *m;
	size_t len, off = 0;
	char *out;

	if (!nmaps)
		return 0;
	for (int i = 0; i < nmaps; i++)
		clear_map(maps[i].fd, maps[i].info.key_size);
	while (off < size) {
		int i = data[off++] % nmaps;
		__u32 ksz = maps[i].info.key_size, vsz = maps[i].info.value_size;
		size_t n;

		if (ksz > sizeof(key) || vsz > sizeof(val))
			continue;
		memset(key, 0, ksz);
		memset(val, 0, vsz);
		n = size - off < ksz ? size - off : ksz;
		memcpy(key, data + off, n);
		off += n;
		n = size - off < vsz ? size - off : vsz;
		memcpy(val, data + off, n);
		off += n;
		if (ksz >= 8) {
			uint64_t f = palette[key[0] % 4];

			memcpy(key, &f, 8);
		}
		for (__u32 k = 0; k + 8 <= vsz; k += 8) {
			uint64_t v;

			memcpy(&v, val + k, 8);
			if (v >= 1 && v <= 4)
				memcpy(val + k, &palette[v - 1], 8);
		}
		bpf_map_update_elem(maps[i].fd, key, val, BPF_ANY); /* a full map refuses: fine */
	}
	if (mirror__new(&m))
		return 0;
	if (mirror__load(m, t) == 0) {
		out = print(m, false, &len);
		free(out);
		out = print(m, true, &len);
		if (!len || out[len - 1] != '\n' || !json_valid(out, len - 1)) {
			fprintf(stderr, "invalid JSON from the mirror (%zu bytes): %.*s\n", len,
				(int)(len > 800 ? 800 : len), out);
			abort();
		}
		free(out);
	}
	mirror__free(m);
	return 0;
}
