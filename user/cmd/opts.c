// SPDX-License-Identifier: GPL-2.0
/* Strict option values for every subcommand: one line and exit status 2 on a bad one. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "vfioscope/common/parse.h"
#include "vfioscope/tracer/tracer.h"

int bad_option(const char *cmd, const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "vfioscope %s: invalid %s '%s': %s\n", cmd, opt, value, why);
	return 2;
}

int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	const char *why;

	return parse_u64(s, min, max, out, &why) ? bad_option(cmd, opt, s, why) : 0;
}

int opt_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out)
{
	const char *why;

	return parse_int(s, min, max, out, &why) ? bad_option(cmd, opt, s, why) : 0;
}

int opt_duration_ns(const char *cmd, const char *opt, const char *s, uint64_t min_ns,
		    uint64_t max_ns, uint64_t *out)
{
	const char *why;

	return parse_duration_ns(s, 1000000000ULL, min_ns, max_ns, out, &why) ?
		       bad_option(cmd, opt, s, why) :
		       0;
}

int opt_ringbuf_size(const char *cmd, const char *s, unsigned int *out)
{
	const char *why;
	uint64_t v;

	if (parse_size(s, &v, &why))
		return bad_option(cmd, "--ringbuf-size", s, why);
	if (!tracer_ringbuf_size_valid(v))
		return bad_option(cmd, "--ringbuf-size", s,
				  "not a power of two from the page size to 1G");
	*out = (unsigned int)v;
	return 0;
}

int opt_max_mappings(const char *cmd, const char *s, unsigned int *out)
{
	uint64_t v;
	int err;

	err = opt_u64(cmd, "--max-mappings", s, 1, UINT64_MAX, &v);
	if (err)
		return err;
	if (v > TRACER_MAX_MAPPINGS_MAX)
		return bad_option(cmd, "--max-mappings", s, "more than 4194304");
	*out = (unsigned int)v;
	return 0;
}

int bad_usage(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	/* a long option's optopt is its value, not what the user typed */
	if (c == ':')
		fprintf(stderr, "vfioscope %s: option '%s' needs a value\n", cmd, arg);
	else if (optopt && strncmp(arg, "--", 2))
		fprintf(stderr, "vfioscope %s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(stderr, "vfioscope %s: unknown option '%s'\n", cmd, arg);
	return 2;
}

int stray_argument(const char *cmd, const char *arg)
{
	fprintf(stderr, "vfioscope %s: unexpected argument '%s'\n", cmd, arg);
	return 2;
}
