/* The option tables of the cavr commands (engine/app/args.h), apart from the commands themselves so the argv fuzz
 * target (tests/fuzz/fuzz_args.c) parses with every table without running anything. */
#ifndef CAVR_APP_COMMANDS_H
#define CAVR_APP_COMMANDS_H

#include "app/args.h"

#define CLI_MAX_FRAMES 10000000u /* headless frames of one run (--frames, or a recording played to its end) */

extern const struct args_spec cmd_main_spec; /* cavr [render|play|view|devices] [FILE] */
extern const struct args_spec cmd_join_spec;
extern const struct args_spec cmd_send_spec;
extern const struct args_spec cmd_rec_inspect_spec, cmd_rec_cut_spec, cmd_rec_merge_spec, cmd_rec_import_spec,
	cmd_rec_bench_spec;
extern const struct args_spec cmd_bench_decode_spec, cmd_bench_codec_spec, cmd_bench_net_spec, cmd_bench_render_spec,
	cmd_bench_splat_spec;
/* Every table, for the fuzz target. */
extern const struct args_spec *const cmd_specs[];
extern const size_t cmd_spec_count;

#endif
