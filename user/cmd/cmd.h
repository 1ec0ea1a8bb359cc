/* SPDX-License-Identifier: GPL-2.0 */
/* The vfioscope command: one file per subcommand, dispatched from main.c. */
#ifndef VFIOSCOPE_CMD_H
#define VFIOSCOPE_CMD_H

#include <stdbool.h>

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

/* Set by -v / --verbose before dispatch. */
extern int verbosity;

#endif
