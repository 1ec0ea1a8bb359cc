// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "vfioscope/tracer/features.h"
#include "vfioscope/common/json.h"

static void info_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope info [--json]\n\n"
		"Reports what this kernel offers vfioscope: BTF for vfio, vfio_iommu_type1,\n"
		"vfio_pci(_core) and iommufd (their own, or vmlinux's when built in), whether\n"
		"VFIO (a module or built in), the VFIO device cdev and iommufd are present,\n"
		"whether IOMMU_TEST_CMD answers (CONFIG_IOMMUFD_TEST), for each device a VFIO\n"
		"driver holds whether its IOMMU offers dirty tracking (IOMMU_GET_HW_INFO through\n"
		"the device cdev bound to an iommufd; this opens, so resets, an idle device),\n"
		"which BPF program types load and attach, the way in the tracer chooses (it\n"
		"loads and attaches, then lets go), and the capabilities this process holds.\n"
		"Probing BPF needs CAP_BPF and CAP_PERFMON (or root); without them the program\n"
		"rows say why they were refused.\n");
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct vfioscope_features f;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			info_usage(stderr);
			return 2;
		}
	}
	vfioscope_features__probe(&f);
	if (json) {
		struct json_writer *jw = json_writer__new(stdout);

		if (!jw) {
			fprintf(stderr, "vfioscope: failed to allocate the JSON writer\n");
			return 1;
		}
		vfioscope_features__json(&f, jw);
		json_writer__free(jw);
	} else {
		vfioscope_features__print(&f, stdout);
	}
	return 0;
}
