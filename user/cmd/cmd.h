/* SPDX-License-Identifier: GPL-2.0 */
/* The vfioscope command: one file per subcommand, dispatched from main.c. */
#ifndef VFIOSCOPE_CMD_H
#define VFIOSCOPE_CMD_H

#include <stdbool.h>
#include <stdint.h>

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* Each subcommand returns a process exit status (0 ok, 1 failure, 2 usage). */
int cmd_info(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_migrations(int argc, char **argv);
int cmd_record(int argc, char **argv);

/*
 * Option values, parsed strictly (common/parse.h) and reported in one line on stderr, e.g.
 * "vfioscope trace: invalid --pid 'abc': not a number". Each returns 0, or 2 (the usage exit
 * status) after printing. @cmd is the subcommand, @opt the option as the user knows it.
 */
int bad_option(const char *cmd, const char *opt, const char *value, const char *why);
int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out);
int opt_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out);
/* A duration; a bare number is in seconds. */
int opt_duration_ns(const char *cmd, const char *opt, const char *s, uint64_t min_ns,
		    uint64_t max_ns, uint64_t *out);
/* The tracer's map sizes (--ringbuf-size: a size, K/M/G allowed; --max-mappings: entries). */
int opt_ringbuf_size(const char *cmd, const char *s, unsigned int *out);
int opt_max_mappings(const char *cmd, const char *s, unsigned int *out);

/*
 * getopt_long's own complaints, said in the same one line (run getopt with opterr = 0 and a
 * leading ':' in the option string): @c is what it returned ('?' or ':'). Returns 2.
 */
int bad_usage(const char *cmd, int c, char **argv);
/* An argument where the command takes none. Returns 2. */
int stray_argument(const char *cmd, const char *arg);

/* Set by -v / --verbose before dispatch. */
extern int verbosity;

#endif
