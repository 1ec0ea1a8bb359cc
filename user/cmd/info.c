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
		"Reports what this kernel offers vfioscope: BTF, module BTF for vfio,\n"
		"vfio_iommu_type1 and iommufd, whether VFIO and iommufd are present, which BPF\n"
		"program types load and attach, the way in the tracer chooses (it loads and\n"
		"attaches, then lets go), and the capabilities this process holds. Probing BPF\n"
		"needs CAP_BPF and CAP_PERFMON (or root); without them the program rows say why\n"
		"they were refused.\n");
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
