#include "app/commands.h"

#include <string.h>

#include "net/net.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool ends_with_mp4(const char *s)
{
	size_t n = strlen(s);
	return n >= 4 && !strcmp(s + n - 4, ".mp4");
}

static bool png_pattern_ok(const char *s)
{
	char probe[4096];
	return app_frame_path(s, 0, probe, sizeof(probe));
}

static bool output_ok(const char *s) { return ends_with_mp4(s) || png_pattern_ok(s); }

#define OUTPUT_WHAT "a path with at most one %u (or %04u, %d) for the frame number and no other %"
#define FRAMES {"--frames", NULL, ARGS_NUMBER, true, 1, CLI_MAX_FRAMES, "a positive count (at most 10000000)", 0, NULL}
#define SIZE {"--size", NULL, ARGS_SIZE, true, 1, 16384, "WxH (1..16384)", 0, NULL}
#define SECONDS {"--seconds", NULL, ARGS_NUMBER, false, 0.001, 1e9, "a duration in seconds", 0, NULL}
#define TEXT(name, what) {name, NULL, ARGS_TEXT, false, 0, 0, what, 0, NULL}
#define FLAG(name) {name, NULL, ARGS_FLAG, false, 0, 0, NULL, 0, NULL}

static const struct args_option main_options[] = {
	FLAG("--window"), FLAG("--xr"), FLAG("--headless"), FRAMES, SIZE,
	{"--output", NULL, ARGS_TEXT, false, 0, 0, "a .mp4 file or " OUTPUT_WHAT, 0, output_ok},
	{"--fps", NULL, ARGS_NUMBER, false, 1, 1000, "a rate in 1..1000", 0, NULL},
	{"--samples", NULL, ARGS_NUMBER, true, 1, 8, "1, 2, 4 or 8", 0, NULL},
	FLAG("--no-vsync"), FLAG("--stereo"), TEXT("--device", "a device name"),
	{"--start", NULL, ARGS_NUMBER, false, 0, 1e9, "seconds >= 0", 0, NULL},
	{"--speed", NULL, ARGS_NUMBER, false, 0.0625, 16, "1/16..16", 0, NULL},
	FLAG("--loop"), FLAG("--overlay"), FLAG("--no-overlay"),
	{"--seed", NULL, ARGS_NUMBER, true, 0, 4294967295.0 - 1024, "a number", 0, NULL},
	FLAG("--still"), FLAG("--validation"), {"--verbose", "-v", ARGS_FLAG, false, 0, 0, NULL, 0, NULL}, FLAG("--version"),
};
const struct args_spec cmd_main_spec = {"cavr", main_options, COUNT(main_options), 2};

static const struct args_option join_options[] = {
	TEXT("--meeting", "a meeting name"), TEXT("--secret-file", "a file"), TEXT("--listen", "ADDR:PORT"),
	{"--peer", NULL, ARGS_TEXT, false, 0, 0, "ADDR:PORT", NET_MAX_DESTINATIONS, NULL},
	TEXT("--record", "a .cavrec file"), SECONDS, FLAG("--no-render"), FLAG("--render"), FLAG("--window"),
	FLAG("--headless"), FLAG("--xr"), FRAMES, SIZE,
	{"--output", NULL, ARGS_TEXT, false, 0, 0, OUTPUT_WHAT, 0, png_pattern_ok},
	TEXT("--avatar-dir", "a folder"), FLAG("--overlay"), TEXT("--device", "a device name"), FLAG("--validation"),
	{"--send-as", NULL, ARGS_NUMBER, true, 1, 2147483647, "a participant id (1..2^31-1)", 0, NULL},
	TEXT("--avatar", "an avatar file"), TEXT("--name", "a display name"),
};
const struct args_spec cmd_join_spec = {"cavr join", join_options, COUNT(join_options), 0};

static const struct args_option send_options[] = {
	TEXT("--meeting", "a meeting name"), TEXT("--secret-file", "a file"), TEXT("--listen", "ADDR:PORT"),
	{"--peer", NULL, ARGS_TEXT, false, 0, 0, "ADDR:PORT", NET_MAX_DESTINATIONS, NULL},
	TEXT("--perf", "a .cavperf file"), TEXT("--name", "a display name"),
	{"--participant", NULL, ARGS_NUMBER, true, 0, 2147483647, "an id below 2^31", 0, NULL}, SECONDS, FLAG("--loop"),
};
const struct args_spec cmd_send_spec = {"cavr send", send_options, COUNT(send_options), 1};

#define REC_SECONDS(name) {name, NULL, ARGS_NUMBER, false, 0, 4503599627.370496, "seconds (0..2^52 us)", 0, NULL}
static const struct args_option rec_inspect_options[] = {REC_SECONDS("--gap")};
const struct args_spec cmd_rec_inspect_spec = {"cavr rec inspect", rec_inspect_options, COUNT(rec_inspect_options), 1};
static const struct args_option rec_cut_options[] = {REC_SECONDS("--from"), REC_SECONDS("--to")};
const struct args_spec cmd_rec_cut_spec = {"cavr rec cut", rec_cut_options, COUNT(rec_cut_options), 2};
const struct args_spec cmd_rec_merge_spec = {"cavr rec merge", NULL, 0, ARGS_MAX_POSITIONAL};
static const struct args_option rec_import_options[] = {
	{"--quality", NULL, ARGS_NUMBER, false, 1.0 / 64, 64, "a value in 1/64..64", 0, NULL},
	{"--epoch", NULL, ARGS_NUMBER, false, 0, 1e11, "seconds since 1970", 0, NULL},
	TEXT("--names", "a comma-separated list"),
};
const struct args_spec cmd_rec_import_spec = {"cavr rec import", rec_import_options, COUNT(rec_import_options),
                                              ARGS_MAX_POSITIONAL};
static const struct args_option rec_bench_options[] = {
	{"--seconds", NULL, ARGS_NUMBER, true, 1, 86400, "whole seconds in 1..86400", 0, NULL},
	{"--participants", NULL, ARGS_NUMBER, true, 1, 4096, "a count in 1..4096", 0, NULL},
	{"--packet", NULL, ARGS_NUMBER, true, 1, 1 << 20, "bytes in 1..2^20", 0, NULL},
	FLAG("--fsync"), TEXT("--dir", "a folder"),
};
const struct args_spec cmd_rec_bench_spec = {"cavr rec bench", rec_bench_options, COUNT(rec_bench_options), 0};

#define LIST(name, lo, hi, what) {name, NULL, ARGS_LIST, true, lo, hi, what, 0, NULL}
static const struct args_option bench_decode_options[] = {
	TEXT("--avatar", "an avatar file"), TEXT("--device", "a device name"),
	{"--repeat", NULL, ARGS_NUMBER, true, 1, 1000, "a count in 1..1000", 0, NULL},
	LIST("--participants", 1, 256, "up to 8 comma-separated counts in 1..256"), FLAG("--f32"), FLAG("--no-pytorch"),
	LIST("--kernel", 1, 1024, "PIXELS,CHANNELS,GROUP_X,GROUP_Y (1..1024)"),
};
const struct args_spec cmd_bench_decode_spec = {"cavr bench decode", bench_decode_options,
                                                COUNT(bench_decode_options), 0};
static const struct args_option bench_codec_options[] = {
	TEXT("--avatar", "an avatar file"), TEXT("--perf", "a .cavperf file"), TEXT("--device", "a device name"),
	{"--seconds", NULL, ARGS_NUMBER, false, 1, 3600, "seconds in 1..3600", 0, NULL},
	{"--samples", NULL, ARGS_NUMBER, true, 1, 1000, "a count in 1..1000", 0, NULL},
	{"--key-interval", NULL, ARGS_NUMBER, false, 0.04, 60, "seconds in 0.04..60", 0, NULL},
	{"--noise", NULL, ARGS_NUMBER, false, 0, 10, "a value in 0..10", 0, NULL},
	{"--quality", NULL, ARGS_LIST, false, 1.0 / 64, 64, "up to 8 comma-separated values in 1/64..64", 0, NULL},
};
const struct args_spec cmd_bench_codec_spec = {"cavr bench codec", bench_codec_options, COUNT(bench_codec_options), 0};
static const struct args_option bench_net_options[] = {
	{"--seconds", NULL, ARGS_NUMBER, false, 1, 3600, "seconds in 1..3600", 0, NULL},
	{"--latent", NULL, ARGS_NUMBER, true, 1, 4096, "a code size in 1..4096", 0, NULL},
	LIST("--jitter", 0, 1000, "up to 8 comma-separated ms in 0..1000"),
	LIST("--participants", 1, 256, "up to 8 comma-separated counts in 1..256"),
};
const struct args_spec cmd_bench_net_spec = {"cavr bench net", bench_net_options, COUNT(bench_net_options), 0};
static const struct args_option bench_render_options[] = {
	LIST("--participants", 1, 16, "up to 8 comma-separated counts in 1..16"),
	{"--frames", NULL, ARGS_NUMBER, true, 1, 100000, "a count in 1..100000", 0, NULL},
	FLAG("--mono"), FLAG("--stereo"), TEXT("--session", "a .cavrec file"), TEXT("--device", "a device name"),
};
const struct args_spec cmd_bench_render_spec = {"cavr bench render", bench_render_options,
                                                COUNT(bench_render_options), 0};
static const struct args_option bench_splat_options[] = {
	TEXT("--sizes", "Gaussians per avatar: 64k, 256k, 1M or grid sides, comma-separated"),
	{"--repeat", NULL, ARGS_NUMBER, true, 1, 100, "a count in 1..100", 0, NULL},
	{"--size", NULL, ARGS_SIZE, true, 16, 8192, "WxH (16..8192)", 0, NULL}, TEXT("--device", "a device name"),
	FLAG("--f32"),
};
const struct args_spec cmd_bench_splat_spec = {"cavr bench splat", bench_splat_options, COUNT(bench_splat_options), 0};

const struct args_spec *const cmd_specs[] = {&cmd_bench_decode_spec, &cmd_bench_codec_spec, &cmd_bench_net_spec,
                                             &cmd_bench_render_spec, &cmd_bench_splat_spec, &cmd_main_spec, &cmd_join_spec, &cmd_send_spec, &cmd_rec_inspect_spec,
                                             &cmd_rec_cut_spec, &cmd_rec_merge_spec, &cmd_rec_import_spec,
                                             &cmd_rec_bench_spec};
const size_t cmd_spec_count = COUNT(cmd_specs);
