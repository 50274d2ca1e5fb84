#include "app/args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_error(const struct args_spec *spec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", spec->command);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nrun '%s --help' for usage\n", spec->command);
	va_end(ap);
	return 2;
}

/* One number of [s, end): finite, in range, whole where asked, nothing else. */
static bool parse_number(const char *s, size_t len, const struct args_option *o, double *out)
{
	char buf[64];
	if (!len || len >= sizeof(buf)) return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (o->whole) {
		size_t i = buf[0] == '-';
		if (!buf[i]) return false;
		for (; buf[i]; i++)
			if (buf[i] < '0' || buf[i] > '9') return false;
	}
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno == ERANGE || end == buf || *end || !isfinite(v) || v < o->min || v > o->max) return false;
	*out = v;
	return true;
}

static bool parse_value(const char *s, const struct args_option *o, struct args_value *v)
{
	*v = (struct args_value){.text = s};
	switch (o->kind) {
	case ARGS_FLAG: return true;
	case ARGS_TEXT: return s[0] && (!o->check || o->check(s));
	case ARGS_NUMBER: return parse_number(s, strlen(s), o, &v->number);
	case ARGS_SIZE: {
		const char *x = strchr(s, 'x');
		double w, h;
		if (!x || !parse_number(s, (size_t)(x - s), o, &w) || !parse_number(x + 1, strlen(x + 1), o, &h)) return false;
		v->width = (uint32_t)w;
		v->height = (uint32_t)h;
		return true;
	}
	case ARGS_LIST:
		for (const char *p = s;; v->list_count++) {
			size_t len = strcspn(p, ",");
			if (v->list_count == ARGS_MAX_LIST || !parse_number(p, len, o, &v->list[v->list_count])) return false;
			if (!p[len]) {
				v->list_count++;
				return true;
			}
			p += len + 1;
		}
	}
	return false;
}

static int find_option(const struct args_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->option_count; i++) {
		const struct args_option *o = &spec->options[i];
		if (!strcmp(o->name, name) || (o->alias && !strcmp(o->alias, name))) return (int)i;
	}
	return -1;
}

int args_parse(const struct args_spec *spec, int argc, char *const *argv, struct args *out)
{
	memset(out, 0, sizeof(*out));
	out->spec = spec;
	if (spec->option_count > ARGS_MAX_OPTIONS) return args_error(spec, "too many options in the table");
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			out->help = true;
			return 0;
		}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1]) {
			if (!a[0]) return args_error(spec, "an empty argument");
			if (out->positional_count == spec->max_positional || out->positional_count == ARGS_MAX_POSITIONAL)
				return args_error(spec, "unexpected argument '%s'", a);
			out->positional[out->positional_count++] = a;
			continue;
		}
		int k = find_option(spec, a);
		if (k < 0) return args_error(spec, "unknown option '%s'", a);
		const struct args_option *o = &spec->options[k];
		unsigned most = o->repeat > 1 ? o->repeat : 1;
		if (out->given[k] == most)
			return most > 1 ? args_error(spec, "%s is given more than %u times", o->name, most)
			                : args_error(spec, "%s is given twice", o->name);
		const char *value = a;
		if (o->kind != ARGS_FLAG) {
			if (i + 1 == argc) return args_error(spec, "option %s needs a value (%s)", o->name, o->what);
			value = argv[++i];
		}
		if (!parse_value(value, o, &out->value[k]))
			return args_error(spec, "%s needs %s, not '%s'", o->name, o->what, value);
		out->given[k]++;
		if (o->repeat > 1) {
			if (out->repeat_count == ARGS_MAX_REPEATS) return args_error(spec, "too many repeated options");
			out->repeats[out->repeat_count] = value;
			out->repeat_option[out->repeat_count++] = (uint8_t)k;
		}
	}
	return -1;
}

const struct args_value *args_get(const struct args *a, const char *name)
{
	int k = find_option(a->spec, name);
	return k >= 0 && a->given[k] ? &a->value[k] : NULL;
}

bool args_flag(const struct args *a, const char *name) { return args_get(a, name) != NULL; }

const char *args_text(const struct args *a, const char *name, const char *fallback)
{
	const struct args_value *v = args_get(a, name);
	return v ? v->text : fallback;
}

double args_number(const struct args *a, const char *name, double fallback)
{
	const struct args_value *v = args_get(a, name);
	return v ? v->number : fallback;
}

size_t args_texts(const struct args *a, const char *name, const char **out, size_t max)
{
	int k = find_option(a->spec, name);
	size_t n = 0;
	for (size_t i = 0; k >= 0 && i < a->repeat_count && n < max; i++)
		if (a->repeat_option[i] == k) out[n++] = a->repeats[i];
	return n;
}
