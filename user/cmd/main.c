// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "vfioscope/common/log.h"

int verbosity;

static const struct cmd commands[] = {
	{ "info", cmd_info,
	  "what this kernel offers: BTF, VFIO, iommufd, BPF hooks, capabilities" },
	{ "trace", cmd_trace, "one decoded line per VFIO/iommufd ioctl of any process" },
	{ "state", cmd_state, "processes, containers, devices, mappings, tracking ranges" },
	{ "track", cmd_track, "run device/IOMMU dirty tracking on VFIO devices" },
	{ "serve", cmd_serve, "metrics over HTTP (Prometheus, OpenMetrics) and a live page" },
	{ "migrations", cmd_migrations,
	  "each device migration seen: phases, bytes, syncs, downtime part, convergence" },
	{ "record", cmd_record, "the session as a trace file for Perfetto / chrome://tracing" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope [-v|--verbose] [--version] [-h|--help] <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'vfioscope <command> --help' for the options of one command.\n");
}

static void log_stderr(enum vfioscope_log_level level, const char *msg, void *ctx)
{
	static const char *const prefix[] = { "error", "warning", "info", "debug" };

	if ((int)level > VFIOSCOPE_LOG_WARN + verbosity)
		return;
	fprintf(stderr, "vfioscope: %s: %s\n", prefix[level], msg);
}

/* parse_global: go on and run the command (any other value is the exit status) */
#define RUN -1

/* The options before the command; @cmd: the command's index in argv. */
static int parse_global(int argc, char **argv, int *cmd)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbosity++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("vfioscope %s\n", VFIOSCOPE_VERSION);
			return 0;
		} else {
			fprintf(stderr, "vfioscope: unknown option '%s' (see vfioscope --help)\n",
				argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "vfioscope: no command given (see vfioscope --help)\n");
		return 2;
	}
	*cmd = i;
	return RUN;
}

int main(int argc, char **argv)
{
	int i, err;

	err = parse_global(argc, argv, &i);
	if (err != RUN)
		return err;
	vfioscope_log_set(log_stderr, NULL);
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].run(argc - i, argv + i);
	fprintf(stderr, "vfioscope: unknown command '%s' (see vfioscope --help)\n", argv[i]);
	return 2;
}
