/* libFuzzer entry point for the command-line parser (engine/app/args.c) with every command's option table: the
 * input is split at NUL bytes into an argument vector (at most 64), parsed by each table without running anything.
 * Any vector must be parsed or refused, never crash; what is accepted must hold what the table promises (numbers
 * finite and in range, whole where asked, repeat counts kept). Without libFuzzer, tests/fuzz/fuzz_main.c replays
 * the corpus (tests/fuzz/corpus/args) through it. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const struct args_option *o, const struct args_value *v)
{
	double nums[ARGS_MAX_LIST + 2];
	size_t n = 0;
	if (o->kind == ARGS_NUMBER) nums[n++] = v->number;
	if (o->kind == ARGS_SIZE) nums[n++] = v->width, nums[n++] = v->height;
	if (o->kind == ARGS_LIST) {
		if (v->list_count < 1 || v->list_count > ARGS_MAX_LIST) abort();
		for (uint32_t i = 0; i < v->list_count; i++) nums[n++] = v->list[i];
	}
	if (o->kind == ARGS_TEXT && (!v->text || !v->text[0])) abort();
	for (size_t i = 0; i < n; i++)
		if (!isfinite(nums[i]) || nums[i] < o->min || nums[i] > o->max || (o->whole && nums[i] != floor(nums[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) quiet = freopen("/dev/null", "w", stderr) != NULL; /* every refusal prints a line */
	char *copy = malloc(size + 1);
	if (!copy) return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *argv[65];
	int argc = 0;
	for (size_t i = 0; i <= size && argc < 64;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	for (size_t s = 0; s < cmd_spec_count; s++) {
		const struct args_spec *spec = cmd_specs[s];
		struct args a;
		if (args_parse(spec, argc, argv, &a) != -1) continue;
		if (a.positional_count > spec->max_positional) abort();
		for (size_t k = 0; k < spec->option_count; k++) {
			const struct args_option *o = &spec->options[k];
			const struct args_value *v = args_get(&a, o->name);
			if (!v) continue;
			check_value(o, v);
			const char *all[ARGS_MAX_REPEATS];
			size_t n = args_texts(&a, o->name, all, ARGS_MAX_REPEATS);
			if (o->repeat > 1 ? n != a.given[k] || n > o->repeat : a.given[k] != 1) abort();
		}
	}
	free(copy);
	return 0;
}
