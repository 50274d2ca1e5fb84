/* `cavr bench codec`: the stream codec's rate against what it does to the decoded avatar. A performance (a sample
 * .cavperf with --perf: its codes, head and hands; else a synthetic one from codec_synth_frame) goes through the
 * codec at several quality settings, with and without hands; the GPU decoder then decodes a subsample of its
 * frames from both the uncompressed and the decoded codes, and the table gives bits per frame, kbit/s at 30 Hz,
 * texture PSNR and vertex error against the uncompressed decode, and the codec's CPU time per frame. Figures,
 * never assertions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/commands.h"
#include "app/bench_codec.h"
#include "app/rec_cli.h"
#include "avatar/decoder.h"
#include "codec/codec.h"

#define FPS 30
#define MAX_QUALITIES 8

struct codec_args {
	const char *avatar, *device, *perf;
	double seconds, key_interval; /* key_interval: seconds, 0 for the codec's default */
	bool seconds_given;
	uint32_t samples; /* frames decoded on the GPU per quality */
	float noise;
	float qualities[MAX_QUALITIES];
	uint32_t quality_count;
};

/* One quality setting's pass over the performance. */
struct run {
	float quality;
	double bits, key_bits;         /* per frame, and per key frame */
	double hand_bits;              /* per frame, the same with both hands tracked */
	uint32_t keys;
	double encode_us, decode_us;   /* CPU time per frame */
	double worst_error;            /* largest code error in steps (the bound is 0.5) */
	float *codes;                  /* decoded codes of the sampled frames */
	double psnr_sum, psnr_min, vertex_max_mm, vertex_sum_mm;
	struct codec_encoder_stats parts, hand_parts;
};

struct bench {
	struct codec_args a;
	struct avatar_file *file;
	uint32_t latent, frames;
	float *mean, *std_dev;
	bool file_stats;
	uint32_t *sampled;  /* frame indices decoded on the GPU */
	float *originals;   /* their uncompressed codes */
	struct run runs[MAX_QUALITIES];
	struct rec_perf perf; /* --perf: the frames come from it */
	struct run spread;    /* the mean code's decode against each sampled frame's: how much expressions change */
};

static enum cv_result load_stats(struct bench *b)
{
	b->latent = avatar_latent_size(b->file);
	b->mean = calloc(b->latent, sizeof(float));
	b->std_dev = calloc(b->latent, sizeof(float));
	if (!b->mean || !b->std_dev) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code statistics");
	const struct st_tensor *mean = avatar_tensor(b->file, "code.mean");
	const struct st_tensor *std_dev = avatar_tensor(b->file, "code.std");
	b->file_stats = mean && std_dev;
	for (uint32_t i = 0; i < b->latent; i++) b->std_dev[i] = 1.0f;
	if (b->file_stats) {
		CV_TRY(st_tensor_to_f32(mean, b->mean, b->latent));
		CV_TRY(st_tensor_to_f32(std_dev, b->std_dev, b->latent));
	}
	return CV_OK;
}

static struct codec_synth_desc synth_desc(const struct bench *b, bool hands)
{
	return (struct codec_synth_desc){.seed = 1, .latent = b->latent, .code_mean = b->mean, .code_std = b->std_dev,
	                                 .noise = b->a.noise, .hands = hands, .gaze = true, .audio = true};
}

/* Frame i of the performance; `code` holds a synthetic frame's code. */
static void bench_frame(const struct bench *b, const struct codec_synth_desc *synth, uint32_t i, bool hands,
                        float *code, struct codec_frame *f)
{
	if (b->a.perf) {
		rec_perf_frame(&b->perf, i, f);
		if (!hands) f->hands[0].tracked = f->hands[1].tracked = false;
	} else {
		*f = (struct codec_frame){0};
		codec_synth_frame(synth, (double)i / FPS, code, f);
	}
	f->participant = f->avatar = 1;
	f->sequence = i;
}

/* Runs the performance through an encoder and a decoder; keeps the decoded codes of the sampled frames (when
 * run->codes is set) and the rate (in run->hand_bits and hand_parts when `hands`). */
static enum cv_result run_codec(struct bench *b, struct run *run, bool hands)
{
	struct codec_stream_desc sd = {.participant = 1, .avatar = 1, .latent = b->latent, .code_mean = b->mean,
	                               .code_std = b->std_dev, .quality = run->quality,
	                               .key_interval_us = (uint32_t)llround(b->a.key_interval * 1e6)};
	struct codec_synth_desc synth = synth_desc(b, hands);
	struct codec_encoder *enc = NULL;
	struct codec_decoder *dec = NULL;
	size_t capacity = codec_packet_max_size(b->latent);
	uint8_t *packet = malloc(capacity);
	float *code = malloc(b->latent * sizeof(float));
	enum cv_result r = packet && code ? CV_OK : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "codec benchmark buffers");
	if (r == CV_OK) r = codec_encoder_create(&sd, &enc);
	if (r == CV_OK) r = codec_decoder_create(&sd, &dec);
	uint64_t bytes = 0, key_bytes = 0;
	double encode_s = 0, decode_s = 0;
	uint32_t next_sample = 0;
	run->keys = 0;
	run->worst_error = 0;
	for (uint32_t i = 0; i < b->frames && r == CV_OK; i++) {
		struct codec_frame in, out;
		bench_frame(b, &synth, i, hands, code, &in);
		size_t size;
		double t0 = cv_time_now();
		r = codec_encoder_encode(enc, &in, packet, capacity, &size);
		double t1 = cv_time_now();
		enum codec_decode_status status = CODEC_SKIPPED_WAITING_KEY;
		if (r == CV_OK) r = codec_decoder_decode(dec, packet, size, &out, &status);
		double t2 = cv_time_now();
		if (r == CV_OK && status != CODEC_DECODED) r = CV_FAIL(CV_ERROR_MISMATCH, "frame %u did not decode", i);
		if (r != CV_OK) break;
		encode_s += t1 - t0;
		decode_s += t2 - t1;
		bytes += size;
		if (packet[1] & CODEC_PACKET_KEY) {
			key_bytes += size;
			run->keys++;
		}
		for (uint32_t k = 0; k < b->latent; k++) {
			double step = run->quality * CODEC_CODE_STEP * b->std_dev[k];
			run->worst_error = fmax(run->worst_error, fabs((double)out.code[k] - in.code[k]) / step);
		}
		if (run->codes && next_sample < b->a.samples && b->sampled[next_sample] == i) {
			size_t at = (size_t)next_sample * b->latent;
			memcpy(run->codes + at, out.code, b->latent * sizeof(float));
			memcpy(b->originals + at, in.code, b->latent * sizeof(float));
			next_sample++;
		}
	}
	if (hands) {
		run->hand_bits = 8.0 * bytes / b->frames;
		codec_encoder_stats(enc, &run->hand_parts);
	} else {
		run->bits = 8.0 * bytes / b->frames;
		run->key_bits = run->keys ? 8.0 * key_bytes / run->keys : 0;
		run->encode_us = encode_s / b->frames * 1e6;
		run->decode_us = decode_s / b->frames * 1e6;
		codec_encoder_stats(enc, &run->parts);
	}
	codec_encoder_destroy(&enc);
	codec_decoder_destroy(&dec);
	free(packet);
	free(code);
	return r;
}

static double psnr(const float *a, const float *b, size_t n)
{
	double sq = 0;
	for (size_t i = 0; i < n; i++) sq += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sq > 0 ? 10 * log10((double)n / sq) : INFINITY;
}

static void compare_decode(struct run *run, const float *pos, const float *tex, const float *ref_pos,
                           const float *ref_tex, size_t nv, size_t nt)
{
	double p = psnr(tex, ref_tex, nt);
	run->psnr_sum += p;
	run->psnr_min = fmin(run->psnr_min, p);
	for (size_t v = 0; v < nv; v += 3) {
		double sq = 0;
		for (size_t c = v; c < v + 3; c++) sq += ((double)pos[c] - ref_pos[c]) * (pos[c] - ref_pos[c]);
		double mm = 1e3 * sqrt(sq);
		run->vertex_max_mm = fmax(run->vertex_max_mm, mm);
		run->vertex_sum_mm += mm;
	}
}

/* Decodes every sampled frame from the uncompressed code (slot 0), each quality's code (slots 1..) and the
 * mean code (the last slot) in one submission, and compares. */
static enum cv_result gpu_compare(struct bench *b, struct gpu_context *ctx, struct avatar_kernels *k)
{
	uint32_t q_count = b->a.quality_count, slots = 2 + q_count;
	struct avatar_model *m = NULL;
	CV_TRY(avatar_model_create(ctx, k, b->file, &(struct avatar_model_desc){.participants = slots}, &m));
	/* avatar_model_read gives the mesh's own vertices (render vertices are split at uv seams, so there can be
	 * more or fewer of them), and the texture. */
	const struct avatar_dam_arch *arch = avatar_dam_arch(b->file);
	if (!arch) {
		avatar_model_destroy(ctx, &m);
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: not a dam avatar", b->a.avatar);
	}
	uint32_t vertices = arch->vertices;
	size_t nv = (size_t)vertices * 3, nt = (size_t)arch->texture * arch->texture * 3;
	float *ref_pos = malloc(nv * sizeof(float)), *ref_tex = malloc(nt * sizeof(float));
	float *pos = malloc(nv * sizeof(float)), *tex = malloc(nt * sizeof(float));
	enum cv_result r = CV_OK;
	if (!ref_pos || !ref_tex || !pos || !tex) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "readback buffers");
	const float view[3] = {0, 0, 1};
	for (uint32_t q = 0; q <= q_count; q++) {
		struct run *run = q < q_count ? &b->runs[q] : &b->spread;
		run->psnr_min = INFINITY;
		run->psnr_sum = run->vertex_max_mm = run->vertex_sum_mm = 0;
	}
	if (r == CV_OK) r = avatar_model_set_input(m, slots - 1, b->mean, b->latent, view);
	for (uint32_t s = 0; s < b->a.samples && r == CV_OK; s++) {
		fprintf(stderr, "\rbench: GPU decode of sampled frame %u/%u", s + 1, b->a.samples);
		r = avatar_model_set_input(m, 0, b->originals + (size_t)s * b->latent, b->latent, view);
		for (uint32_t q = 0; q < q_count && r == CV_OK; q++)
			r = avatar_model_set_input(m, 1 + q, b->runs[q].codes + (size_t)s * b->latent, b->latent, view);
		VkCommandBuffer cmd;
		if (r == CV_OK) r = gpu_cmd_begin(ctx, &cmd);
		if (r == CV_OK) {
			r = avatar_model_record(ctx, m, cmd, slots, NULL);
			enum cv_result submitted = gpu_cmd_submit_wait(ctx, cmd);
			if (r == CV_OK) r = submitted;
		}
		if (r == CV_OK) r = avatar_model_read(ctx, m, 0, ref_pos, ref_tex);
		for (uint32_t q = 0; q <= q_count && r == CV_OK; q++) {
			r = avatar_model_read(ctx, m, 1 + q, pos, tex);
			if (r == CV_OK)
				compare_decode(q < q_count ? &b->runs[q] : &b->spread, pos, tex, ref_pos, ref_tex, nv, nt);
		}
	}
	fprintf(stderr, "\n");
	for (uint32_t q = 0; q < q_count; q++) b->runs[q].vertex_sum_mm /= (double)b->a.samples * vertices;
	b->spread.vertex_sum_mm /= (double)b->a.samples * vertices;
	free(ref_pos);
	free(ref_tex);
	free(pos);
	free(tex);
	avatar_model_destroy(ctx, &m);
	return r;
}

/* Where the bits of a frame go, on average. */
static void print_parts(const char *what, double bits, const struct codec_encoder_stats *s)
{
	double n = s->packets ? (double)s->packets : 1;
	printf("%s: %.1f bits/frame (%.2f kbit/s) = header %.1f + frame interval %.1f + head %.1f + hands %.1f + "
	       "gaze and audio %.1f + code %.1f\n", what, bits, bits * FPS / 1e3, s->header_bits / n,
	       s->time_bits / n, s->head_bits / n, s->hand_bits / n, s->gaze_audio_bits / n, s->code_bits / n);
}

static void print_table(const struct bench *b)
{
	printf("%8s %9s %11s %8s %9s %11s %8s %8s %8s %10s %10s %10s %10s\n", "quality", "step/std", "bits/frame",
	       "kbit/s", "key bits", "+hands b/f", "kbit/s", "PSNR dB", "min dB", "vert max", "vert mean", "encode us",
	       "decode us");
	printf("%8s %9s %11u %8.1f %9s %11s %8s %8s %8s %10s %10s %10s %10s\n", "raw f32", "-", 32 * b->latent,
	       32.0 * b->latent * FPS / 1e3, "-", "-", "-", "inf", "inf", "0", "0", "-", "-");
	for (uint32_t q = 0; q < b->a.quality_count; q++) {
		const struct run *r = &b->runs[q];
		printf("%8.3g %9.4g %11.1f %8.2f %9.0f %11.1f %8.2f %8.1f %8.1f %10.4f %10.5f %10.1f %10.1f\n",
		       r->quality, r->quality * CODEC_CODE_STEP, r->bits, r->bits * FPS / 1e3, r->key_bits, r->hand_bits,
		       r->hand_bits * FPS / 1e3, r->psnr_sum / b->a.samples, r->psnr_min, r->vertex_max_mm,
		       r->vertex_sum_mm, r->encode_us, r->decode_us);
	}
	printf("vertex errors in mm; PSNR of the de-normalised texture (peak 1.0) against the uncompressed code's "
	       "decode, mean and minimum over the sampled frames\n");
	printf("expression spread (the mean code's decode against each sampled frame's, what the codec's error is "
	       "small against): texture PSNR %.1f dB mean, %.1f dB min; vertices %.2f mm max, %.3f mm mean\n",
	       b->spread.psnr_sum / b->a.samples, b->spread.psnr_min, b->spread.vertex_max_mm,
	       b->spread.vertex_sum_mm);
	printf("+hands: the same stream with both hands tracked (26 joints each)%s\n",
	       b->a.perf ? ", as the performance has them" : "");
	for (uint32_t q = 0; q < b->a.quality_count; q++)
		if (b->runs[q].quality == 1) {
			print_parts("quality 1", b->runs[q].bits, &b->runs[q].parts);
			print_parts("quality 1 with both hands", b->runs[q].hand_bits, &b->runs[q].hand_parts);
		}
	for (uint32_t q = 0; q < b->a.quality_count; q++)
		if (b->runs[q].worst_error > 0.5 + 1e-3)
			printf("warning: quality %g: a code value is %.3f steps off (bound 0.5)\n", b->runs[q].quality,
			       b->runs[q].worst_error);
}

static enum cv_result bench_run(struct bench *b)
{
	if (b->a.perf) {
		CV_TRY(rec_perf_read(b->a.perf, &b->perf));
		if (!b->a.avatar) b->a.avatar = b->perf.avatar_path;
		if (b->perf.fps != FPS)
			return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: %g frames per second (the benchmark is for %d)", b->a.perf,
			               b->perf.fps, FPS);
	}
	CV_TRY(avatar_file_open(b->a.avatar, &b->file));
	CV_TRY(load_stats(b));
	if (b->a.perf && b->perf.latent != b->latent)
		return CV_FAIL(CV_ERROR_MISMATCH, "%s: codes of %u floats, avatar %s takes %u", b->a.perf, b->perf.latent,
		               b->a.avatar, b->latent);
	b->frames = (uint32_t)llround(b->a.seconds * FPS);
	if (b->a.perf && (!b->a.seconds_given || b->frames > b->perf.frames)) b->frames = b->perf.frames;
	if (b->a.samples > b->frames) b->a.samples = b->frames;
	b->sampled = calloc(b->a.samples, sizeof(uint32_t));
	b->originals = calloc((size_t)b->a.samples * b->latent, sizeof(float));
	if (!b->sampled || !b->originals) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "samples");
	/* Evenly spread, offset from the key frames so delta frames dominate as they do in the stream. */
	for (uint32_t s = 0; s < b->a.samples; s++)
		b->sampled[s] = (uint32_t)((2ull * s + 1) * b->frames / (2ull * b->a.samples));
	for (uint32_t q = 0; q < b->a.quality_count; q++) {
		struct run *run = &b->runs[q];
		run->quality = b->a.qualities[q];
		run->codes = calloc((size_t)b->a.samples * b->latent, sizeof(float));
		if (!run->codes) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "samples");
		CV_TRY(run_codec(b, run, false));
		float *codes = run->codes;
		run->codes = NULL; /* the texture does not depend on the hands */
		enum cv_result r = run_codec(b, run, true);
		run->codes = codes;
		CV_TRY(r);
	}

	struct gpu_context *ctx = NULL;
	struct avatar_kernels *k = NULL;
	enum cv_result r = gpu_context_create(&(struct gpu_context_desc){.device_name = b->a.device}, &ctx);
	if (r == CV_OK) r = avatar_kernels_create(ctx, NULL, &k);
	if (r == CV_OK) {
		const char *scales = b->file_stats ? "quantisation scales from the file's code.std"
		                                   : "no code.std in the file: std 1";
		printf("cavr bench codec: %s (Z = %u, %s) on %s\n", avatar_name(b->file), b->latent, scales,
		       ctx->properties.deviceName);
		char noise[64] = "";
		if (b->a.noise > 0) snprintf(noise, sizeof(noise), ", plus white noise of %.3g std", b->a.noise);
		if (b->a.perf)
			printf("performance %s: its codes, head pose, hands and an audio level %s; no gaze\n", b->a.perf,
			       b->perf.audio ? "from jaw_open" : "(none in the file)");
		else
			printf("synthetic performance: every code dimension a sum of 3 sinusoids at 0.1-1.5 Hz scaled by "
			       "code.std%s; head pose, gaze and audio level in every frame\n", noise);
		printf("%u frames at %d Hz (%.1f s), key frame every %g s; %u frames decoded on the GPU per quality\n",
		       b->frames, FPS, (double)b->frames / FPS, b->a.key_interval ? b->a.key_interval : 1.0, b->a.samples);
		r = gpu_compare(b, ctx, k);
	}
	if (r == CV_OK) print_table(b);
	avatar_kernels_destroy(ctx, &k);
	gpu_context_destroy(&ctx);
	return r;
}

static int usage(const char *why)
{
	if (why) fprintf(stderr, "cavr bench codec: %s\n", why);
	fprintf(stderr, "usage: cavr bench codec [--perf FILE.cavperf] [--avatar FILE] [--seconds N] [--samples N] "
	                "[--quality Q1,Q2,...] [--noise F] [--key-interval S] [--device NAME]\n"
	                "  --perf: the performance's codes, head and hands (and its avatar unless --avatar), all of it\n"
	                "  unless --seconds; without it a synthetic performance of --seconds (default 10)\n");
	return 2;
}

int app_bench_codec(int argc, char **argv)
{
	struct bench b = {.a = {.seconds = 10, .samples = 20, .qualities = {0.5f, 1, 2, 4, 8}, .quality_count = 5}};
	struct args p;
	int code = args_parse(&cmd_bench_codec_spec, argc, argv, &p);
	if (p.help) usage("options");
	if (code >= 0) return p.help ? 0 : code;
	b.a.avatar = args_text(&p, "--avatar", NULL);
	b.a.perf = args_text(&p, "--perf", NULL);
	b.a.device = args_text(&p, "--device", NULL);
	b.a.seconds_given = args_flag(&p, "--seconds");
	b.a.seconds = args_number(&p, "--seconds", 10);
	b.a.samples = (uint32_t)args_number(&p, "--samples", 20);
	b.a.key_interval = args_number(&p, "--key-interval", 0);
	b.a.noise = (float)args_number(&p, "--noise", 0);
	const struct args_value *q = args_get(&p, "--quality");
	if (q && q->list_count > MAX_QUALITIES) return args_error(p.spec, "--quality takes at most %d values", MAX_QUALITIES);
	for (uint32_t i = 0; q && i < q->list_count; i++) b.a.qualities[i] = (float)q->list[i];
	if (q) b.a.quality_count = q->list_count;
	char path[4096];
	enum cv_result r = CV_OK;
	if (!b.a.avatar && !b.a.perf) {
		r = app_bench_default_avatar(path, sizeof(path));
		b.a.avatar = path;
	}
	if (r == CV_OK) r = bench_run(&b);
	for (uint32_t q = 0; q < MAX_QUALITIES; q++) free(b.runs[q].codes);
	free(b.sampled);
	free(b.originals);
	free(b.mean);
	free(b.std_dev);
	avatar_file_destroy(&b.file);
	rec_perf_free(&b.perf);
	return r == CV_OK ? 0 : 1;
}
