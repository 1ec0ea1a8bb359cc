/* SPDX-License-Identifier: GPL-2.0 */
/* serve's device migration metrics, fed by the tracer (serve_migrations.c). */
#ifndef VFIOSCOPE_CMD_SERVE_MIGRATIONS_H
#define VFIOSCOPE_CMD_SERVE_MIGRATIONS_H

#include "vfioscope/exporter/metrics.h"
#include "vfioscope/tracer/tracer.h"

/* The families, with the others at start (so --list-metrics shows them). */
int serve_migrations_register(struct metrics_registry *reg);
/* Feed them from @t (after the tracer attached). */
int serve_migrations_setup(struct tracer *t);
/* After each poll of the tracer, in the main loop. */
void serve_migrations_step(void);
void serve_migrations_stop(void);
/* The timeline document for the HTTP server (/migrations); NULL without the tracer. */
struct http_doc *serve_migrations_doc(void);

#endif
