/* SPDX-License-Identifier: GPL-2.0 */
/* Library logging: the library never prints; it hands messages to a callback. */
#ifndef VFIOSCOPE_LOG_H
#define VFIOSCOPE_LOG_H

#include <stdarg.h>

enum vfioscope_log_level {
	VFIOSCOPE_LOG_ERROR,
	VFIOSCOPE_LOG_WARN,
	VFIOSCOPE_LOG_INFO,
	VFIOSCOPE_LOG_DEBUG,
};

typedef void (*vfioscope_log_fn)(enum vfioscope_log_level level, const char *msg, void *ctx);

/* Install the callback (NULL: messages are dropped). Returns the previous one. */
vfioscope_log_fn vfioscope_log_set(vfioscope_log_fn fn, void *ctx);

void vfioscope_logf(enum vfioscope_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)   vfioscope_logf(VFIOSCOPE_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  vfioscope_logf(VFIOSCOPE_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  vfioscope_logf(VFIOSCOPE_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) vfioscope_logf(VFIOSCOPE_LOG_DEBUG, __VA_ARGS__)

#endif
