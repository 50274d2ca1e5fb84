/* args: the one command-line parser of every cavr command. A command describes its options in a table (struct
 * args_option); args_parse checks a whole argument vector against it before anything runs: unknown options,
 * missing values, options given too often, empty values, numbers that are not finite, not whole where they must be,
 * out of range or followed by anything are refused with one message format ("cavr COMMAND: ...", then where to
 * find the usage) and exit code 2. The parser knows no command; tests/fuzz/fuzz_args.c runs it over every table. */
#ifndef CAVR_APP_ARGS_H
#define CAVR_APP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum args_kind {
	ARGS_FLAG,   /* no value */
	ARGS_TEXT,   /* a non-empty string (paths, names, addresses) */
	ARGS_NUMBER, /* a finite number in [min, max]; whole: digits only */
	ARGS_SIZE,   /* WxH, both whole in [min, max] */
	ARGS_LIST,   /* comma-separated numbers as ARGS_NUMBER, 1..ARGS_MAX_LIST of them */
};

#define ARGS_MAX_OPTIONS 48
#define ARGS_MAX_LIST 16
#define ARGS_MAX_REPEATS 64  /* values of repeatable options, all together */
#define ARGS_MAX_POSITIONAL 4097 /* rec import: OUT and a performance per participant */

struct args_option {
	const char *name;  /* "--frames" */
	const char *alias; /* "-v", or NULL */
	enum args_kind kind;
	bool whole;        /* numbers must be whole (counts, ids, sizes) */
	double min, max;
	const char *what;  /* what the value must be, for messages: "a positive count" */
	unsigned repeat;   /* how many times it may be given: 0 or 1 once; more for options such as --peer */
	bool (*check)(const char *value); /* more rules for a TEXT value (an output pattern), or NULL */
};

struct args_spec {
	const char *command; /* "cavr join", for messages */
	const struct args_option *options;
	size_t option_count;
	unsigned max_positional; /* arguments that are not options (files) */
};

struct args_value {
	const char *text;
	double number;
	uint32_t width, height;
	double list[ARGS_MAX_LIST];
	uint32_t list_count;
};

struct args {
	const struct args_spec *spec;
	bool help;                              /* -h or --help: nothing else was checked */
	uint32_t given[ARGS_MAX_OPTIONS];       /* times each option was given */
	struct args_value value[ARGS_MAX_OPTIONS]; /* the last value of each */
	const char *repeats[ARGS_MAX_REPEATS];  /* every value of repeatable options, in order */
	uint8_t repeat_option[ARGS_MAX_REPEATS];
	size_t repeat_count;
	const char *positional[ARGS_MAX_POSITIONAL];
	size_t positional_count;
};

/* -1: parsed, go on; 0: help was asked for (print the usage); 2: refused (the message is printed). */
int args_parse(const struct args_spec *spec, int argc, char *const *argv, struct args *out);
/* The same refusal format for rules between options the table cannot say: returns 2. */
int args_error(const struct args_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The option's value, NULL when it was not given (a flag's text is its name). */
const struct args_value *args_get(const struct args *a, const char *name);
bool args_flag(const struct args *a, const char *name);
const char *args_text(const struct args *a, const char *name, const char *fallback);
double args_number(const struct args *a, const char *name, double fallback);
/* Every value of a repeatable option in order, at most `max`; returns how many. */
size_t args_texts(const struct args *a, const char *name, const char **out, size_t max);

/* Rules commands' tables share. */
/* The file for frame `frame` of a PNG pattern: at most one %u or %d, optionally with a width (%04u, %6d, N < 20),
 * replaced by the frame number; %% is a percent sign; any other % is refused. The pattern comes from the user and
 * is never given to printf. False when the pattern is not like that or the result does not fit. */
bool app_frame_path(const char *pattern, uint64_t frame, char *out, size_t size);

#endif
