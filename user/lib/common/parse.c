// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vfioscope/common/parse.h"

static int fail(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

static int digit(char c, bool hex)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (hex && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (hex && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits at @s (0x: hex) into @out; @end after them. No sign, no blank, at least one digit. */
static int parse_digits(const char *s, const char **end, uint64_t *out, const char **why)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned int base = hex ? 16 : 10;
	const char *p = hex ? s + 2 : s;
	uint64_t v = 0;
	int d;

	if (*s == '-')
		return fail(why, "negative", -ERANGE);
	if ((d = digit(*p, hex)) < 0)
		return fail(why, "not a number", -EINVAL);
	for (; (d = digit(*p, hex)) >= 0; p++) {
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return fail(why, "too large", -ERANGE);
	}
	*end = p;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **why)
{
	const char *end;
	uint64_t v;
	int err;

	if (!s || !*s)
		return fail(why, "empty", -EINVAL);
	err = parse_digits(s, &end, &v, why);
	if (err)
		return err;
	if (*end)
		return fail(why, "not a number", -EINVAL);
	if (v < min)
		return fail(why, min == 1 ? "must be at least 1" : "too small", -ERANGE);
	if (v > max)
		return fail(why, "too large", -ERANGE);
	*out = v;
	return 0;
}

int parse_int(const char *s, int min, int max, int *out, const char **why)
{
	uint64_t v;
	int err;

	if (min < 0 && s && *s == '-')
		return fail(why, "negative", -ERANGE); /* no caller wants negative numbers yet */
	err = parse_u64(s, min < 0 ? 0 : (uint64_t)min, (uint64_t)max, &v, why);
	if (!err)
		*out = (int)v;
	return err;
}

int parse_duration_ns(const char *s, uint64_t bare_unit_ns, uint64_t min_ns, uint64_t max_ns,
		      uint64_t *out, const char **why)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000ULL },
		      { "m", 60000000000ULL } };
	uint64_t whole = 0, frac = 0, frac_div = 1, unit = bare_unit_ns, v;
	const char *p;
	int err;

	if (!s || !*s)
		return fail(why, "empty", -EINVAL);
	if (*s == '-')
		return fail(why, "negative", -ERANGE);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return fail(why, "not a duration", -EINVAL);
	err = parse_digits(s, &p, &whole, why);
	if (err)
		return err == -EINVAL ? fail(why, "not a duration", -EINVAL) : err;
	if (*p == '.') {
		p++;
		if (digit(*p, false) < 0)
			return fail(why, "not a duration", -EINVAL);
		for (; digit(*p, false) >= 0; p++) {
			if (frac_div < 1000000000ULL) { /* nanoseconds are the finest step */
				frac = frac * 10 + (*p - '0');
				frac_div *= 10;
			}
		}
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(p, units[i].name))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return fail(why, "unknown unit (use ns, us, ms, s or m)", -EINVAL);
		unit = units[i].ns;
	}
	if (__builtin_mul_overflow(whole, unit, &v) ||
	    __builtin_add_overflow(v, frac * unit / frac_div, &v))
		return fail(why, "too large", -ERANGE);
	if (v < min_ns)
		return fail(why, min_ns == 1 ? "must be more than zero" : "too short", -ERANGE);
	if (v > max_ns)
		return fail(why, "too long", -ERANGE);
	*out = v;
	return 0;
}

int parse_size_prefix(const char *s, const char **end, uint64_t *out, const char **why)
{
	uint64_t v;
	int shift = 0, err;

	if (!s || !*s)
		return fail(why, "empty", -EINVAL);
	err = parse_digits(s, end, &v, why);
	if (err)
		return err;
	switch (**end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		(*end)++;
		if (v > (UINT64_MAX >> shift))
			return fail(why, "too large", -ERANGE);
		v <<= shift;
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out, const char **why)
{
	const char *end;
	int err = parse_size_prefix(s, &end, out, why);

	if (!err && *end)
		return fail(why, "not a size (use a number with K, M, G or T)", -EINVAL);
	return err;
}
