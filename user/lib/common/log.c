// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "vfioscope/common/log.h"

static vfioscope_log_fn log_fn;
static void *log_ctx;

vfioscope_log_fn vfioscope_log_set(vfioscope_log_fn fn, void *ctx)
{
	vfioscope_log_fn old = log_fn;

	log_fn = fn;
	log_ctx = ctx;
	return old;
}

void vfioscope_logf(enum vfioscope_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_ctx);
}
