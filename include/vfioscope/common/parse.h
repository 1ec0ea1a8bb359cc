/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for numbers typed by a person (command lines, layouts, workloads). Unlike
 * strtoull, they refuse signs, blanks, empty strings, trailing garbage and values that do not
 * fit, and say why in a few words a user understands (@why, a static string). Each returns 0
 * or -EINVAL / -ERANGE.
 */
#ifndef VFIOSCOPE_COMMON_PARSE_H
#define VFIOSCOPE_COMMON_PARSE_H

#include <stdint.h>

/* Decimal, or hex with 0x. The whole string, within [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **why);
int parse_int(const char *s, int min, int max, int *out, const char **why);

/*
 * A duration: a decimal number (fraction allowed) with a unit ns, us, ms, s or m; a bare number
 * is in @bare_unit_ns (1e9 for seconds). Result in nanoseconds, within [min_ns, max_ns].
 */
int parse_duration_ns(const char *s, uint64_t bare_unit_ns, uint64_t min_ns, uint64_t max_ns,
		      uint64_t *out, const char **why);

/*
 * A size: a number (decimal or 0x hex) with an optional binary suffix K, M, G or T (either
 * case). parse_size_prefix stops at the first character after the suffix and sets @end.
 */
int parse_size(const char *s, uint64_t *out, const char **why);
int parse_size_prefix(const char *s, const char **end, uint64_t *out, const char **why);

#endif
