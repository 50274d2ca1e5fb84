/* The gca (Gaussian codec avatar) decoder against the PyTorch reference (tools/gca_reference.py, run by the
 * make_gca_avatars fixture). f32 weights: every attribute within 1e-4 relative L2; f16 weights: every position
 * within 0.1 mm, colour PSNR >= 45 dB, rotations, scales and opacities within 5e-3 relative L2. Also: the
 * loader's checks of the family, and codes, slots and view directions rejected. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/gca.h"
#include "test.h"

static struct gpu_context *ctx;
static struct gca_kernels *kernels;
static const char *dir;

#define ROW 14 /* floats per reference Gaussian: position 3, opacity, rotation 4, scale 3, colour 3 */

struct reference {
	struct st_file *file;
	uint32_t count, latent, gaussians;
	float *codes, *views, *rows;
};

static bool reference_load(const char *name, struct reference *ref)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.ref.safetensors", dir, name);
	memset(ref, 0, sizeof(*ref));
	if (st_open(path, &ref->file) != CV_OK) return false;
	const struct st_tensor *codes = st_find(ref->file, "codes"), *g = st_find(ref->file, "gaussians");
	if (!codes || !g || codes->rank != 2 || g->rank != 3 || g->shape[2] != ROW) return false;
	ref->count = (uint32_t)codes->shape[0];
	ref->latent = (uint32_t)codes->shape[1];
	ref->gaussians = (uint32_t)g->shape[1];
	st_read_f32(ref->file, "codes", &ref->codes, NULL);
	st_read_f32(ref->file, "views", &ref->views, NULL);
	st_read_f32(ref->file, "gaussians", &ref->rows, NULL);
	return ref->codes && ref->views && ref->rows;
}

static void reference_fini(struct reference *ref)
{
	st_close(&ref->file);
	free(ref->codes);
	free(ref->views);
	free(ref->rows);
}

static struct avatar_file *open_avatar(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.cavatar", dir, name);
	struct avatar_file *f = NULL;
	CHECK_MSG(avatar_file_open(path, &f) == CV_OK, "cannot open %s", path);
	return f;
}

/* Attribute groups of a row: [first, first + width). */
static const struct {
	const char *name;
	uint32_t first, width;
} groups[] = {{"position", 0, 3}, {"opacity", 3, 1}, {"rotation", 4, 4}, {"scale", 8, 3}, {"colour", 11, 3}};
enum { POSITION, OPACITY, ROTATION, SCALE, COLOUR, GROUPS };

struct accuracy {
	double rel[GROUPS];
	double position_max_m, colour_psnr;
};

static void to_row(const struct gca_gaussian *g, float *row)
{
	memcpy(row, g->position, 12);
	row[3] = g->opacity;
	memcpy(row + 4, g->rotation, 16);
	memcpy(row + 8, g->scale, 12);
	memcpy(row + 11, g->colour, 12);
}

static struct accuracy compare(struct gca_model *m, uint32_t slot, const struct reference *ref, uint32_t k)
{
	struct accuracy a;
	for (int i = 0; i < GROUPS; i++) a.rel[i] = INFINITY;
	a.position_max_m = INFINITY;
	a.colour_psnr = 0;
	uint32_t n = gca_model_gaussian_count(m);
	struct gca_gaussian *g = malloc(n * sizeof(*g));
	if (!g || n != ref->gaussians || gca_model_read(ctx, m, slot, g) != CV_OK) {
		free(g);
		return a;
	}
	const float *want = ref->rows + (size_t)k * n * ROW;
	double num[GROUPS] = {0}, den[GROUPS] = {0}, max_pos = 0, sq_colour = 0;
	for (uint32_t i = 0; i < n; i++) {
		float row[ROW];
		to_row(&g[i], row);
		for (int grp = 0; grp < GROUPS; grp++)
			for (uint32_t c = groups[grp].first; c < groups[grp].first + groups[grp].width; c++) {
				double d = (double)row[c] - want[i * ROW + c];
				num[grp] += d * d;
				den[grp] += (double)want[i * ROW + c] * want[i * ROW + c];
				if (grp == POSITION) max_pos = fmax(max_pos, fabs(d));
				if (grp == COLOUR) sq_colour += d * d;
			}
	}
	for (int grp = 0; grp < GROUPS; grp++) a.rel[grp] = sqrt(num[grp] / (den[grp] > 0 ? den[grp] : 1));
	a.position_max_m = max_pos;
	a.colour_psnr = sq_colour > 0 ? 10 * log10(1.0 / (sq_colour / (3.0 * n))) : INFINITY;
	free(g);
	return a;
}

static void decode_and_check(const char *name, bool f32)
{
	struct reference ref;
	CHECK_MSG(reference_load(name, &ref), "reference %s", name);
	struct avatar_file *file = open_avatar(name);
	struct gca_model *m = NULL;
	if (file && ref.codes)
		CHECK(gca_model_create(ctx, kernels, file, &(struct avatar_model_desc){.participants = ref.count,
		                                                                       .f32_weights = f32}, &m) == CV_OK);
	VkCommandBuffer cmd;
	if (m && gpu_cmd_begin(ctx, &cmd) == CV_OK) {
		for (uint32_t k = 0; k < ref.count; k++)
			CHECK(gca_model_set_input(m, k, ref.codes + (size_t)k * ref.latent, ref.latent, ref.views + 3 * k) == CV_OK);
		CHECK(gca_model_record(ctx, m, cmd, ref.count, NULL) == CV_OK);
		CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
		for (uint32_t k = 0; k < ref.count; k++) {
			struct accuracy a = compare(m, k, &ref, k);
			printf("  %s %s code %u: rel L2 position %.1e opacity %.1e rotation %.1e scale %.1e colour %.1e; "
			       "position max %.4f mm, colour PSNR %.1f dB\n",
			       name, f32 ? "f32" : "f16", k, a.rel[POSITION], a.rel[OPACITY], a.rel[ROTATION], a.rel[SCALE],
			       a.rel[COLOUR], a.position_max_m * 1e3, a.colour_psnr);
			if (f32) {
				for (int g = 0; g < GROUPS; g++)
					CHECK_MSG(a.rel[g] <= 1e-4, "%s: %s rel L2 %.3e", name, groups[g].name, a.rel[g]);
			} else {
				CHECK_MSG(a.position_max_m < 1e-4, "%s: position error %.4f mm", name, a.position_max_m * 1e3);
				CHECK_MSG(a.colour_psnr >= 45.0, "%s: colour PSNR %.2f dB", name, a.colour_psnr);
				for (int g = OPACITY; g <= SCALE; g++)
					CHECK_MSG(a.rel[g] <= 5e-3, "%s: %s rel L2 %.3e", name, groups[g].name, a.rel[g]);
			}
		}
		/* Slots really hold their own codes: slot 0 against code 1 must differ. */
		if (ref.count > 1) {
			struct accuracy swapped = compare(m, 0, &ref, 1);
			CHECK_MSG(swapped.rel[COLOUR] > 1e-3 && swapped.rel[SCALE] > 1e-3, "two codes decoded alike");
		}
	}
	gca_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
	reference_fini(&ref);
}

static void test_gca_f32(void) { decode_and_check("gca-small", true); }
static void test_gca_f16(void) { decode_and_check("gca-small", false); }
static void test_gca_bf16_file_no_view(void) { decode_and_check("gca-other", true); }

static void test_gca_inputs_rejected(void)
{
	struct avatar_file *file = open_avatar("gca-small");
	struct gca_model *m = NULL;
	if (!file) return;
	CHECK(gca_model_create(ctx, kernels, file, &(struct avatar_model_desc){.participants = 1}, &m) == CV_OK);
	if (m) {
		float code[4096] = {0}, view[3] = {0, 0, 1}, zero[3] = {0, 0, 0};
		uint32_t z = avatar_latent_size(file);
		CHECK(gca_model_set_input(m, 0, code, z, view) == CV_OK);
		CHECK(gca_model_set_input(m, 0, code, z + 1, view) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(gca_model_set_input(m, 1, code, z, view) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(gca_model_set_input(m, 0, code, z, zero) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(gca_model_set_input(m, 0, code, z, NULL) == CV_ERROR_INVALID_ARGUMENT);
		VkCommandBuffer cmd;
		if (gpu_cmd_begin(ctx, &cmd) == CV_OK) {
			CHECK(gca_model_record(ctx, m, cmd, 2, NULL) == CV_ERROR_INVALID_ARGUMENT);
			CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
		}
	}
	/* The mesh decoder refuses a gca file, and this one a dam file. */
	struct avatar_kernels *dam_kernels = NULL;
	struct avatar_model *dam = NULL;
	CHECK(avatar_kernels_create(ctx, NULL, &dam_kernels) == CV_OK);
	CHECK(avatar_model_create(ctx, dam_kernels, file, &(struct avatar_model_desc){0}, &dam) == CV_ERROR_UNSUPPORTED);
	avatar_kernels_destroy(ctx, &dam_kernels);
	struct avatar_file *dam_file = open_avatar("small");
	struct gca_model *wrong = NULL;
	if (dam_file)
		CHECK(gca_model_create(ctx, kernels, dam_file, &(struct avatar_model_desc){0}, &wrong) == CV_ERROR_UNSUPPORTED);
	avatar_file_destroy(&dam_file);
	gca_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
}

static uint8_t *find(uint8_t *data, size_t size, const char *what)
{
	size_t n = strlen(what);
	for (size_t i = 0; i + n <= size; i++)
		if (!memcmp(data + i, what, n)) return data + i;
	return NULL;
}

/* The loader: the file's own bytes with one metadata value changed must be refused with the reason. */
static void test_gca_loader(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/gca-small.cavatar", dir);
	size_t size = 0;
	void *data = NULL;
	CHECK(cv_file_read(path, &data, &size) == CV_OK);
	uint8_t *bytes = data;
	if (!bytes) return;
	struct avatar_file *f = NULL;
	CHECK(avatar_file_open_memory(bytes, size, &f) == CV_OK);
	CHECK(f && avatar_family(f) == AVATAR_FAMILY_GCA && avatar_gca_arch(f) && !avatar_dam_arch(f));
	if (f) CHECK(avatar_gca_arch(f)->grid == 32 && avatar_gca_arch(f)->up_count == 3);
	avatar_file_destroy(&f);
	static const struct {
		const char *from, *to;
		enum cv_result want;
	} edits[] = {
		{"\"gca.grid\":\"32\"", "\"gca.grid\":\"64\"", CV_ERROR_FORMAT},                       /* not S0 << up */
		{"16,16,8,11\"", "16,16,8,12\"", CV_ERROR_FORMAT},                                    /* geometry must end in 11 */
		{"\"family\":\"gca\"", "\"family\":\"gcb\"", CV_ERROR_UNSUPPORTED},                   /* unknown family */
		{"\"gaussian.offset_scale\"", "\"gaussian.offset_scalf\"", CV_ERROR_FORMAT},          /* missing tensor */
	};
	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
		uint8_t *copy = malloc(size);
		memcpy(copy, bytes, size);
		uint8_t *hit = find(copy, size < 65536 ? size : 65536, edits[e].from);
		CHECK_MSG(hit != NULL, "no '%s' in the header", edits[e].from);
		if (hit) {
			memcpy(hit, edits[e].to, strlen(edits[e].to));
			CHECK_MSG(avatar_file_open_memory(copy, size, &f) == edits[e].want, "edit '%s'", edits[e].to);
			avatar_file_destroy(&f);
		}
		free(copy);
	}
	free(bytes);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "avatars";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	if (gca_kernels_create(ctx, NULL, &kernels) != CV_OK) return EXIT_FAILURE;
	RUN(test_gca_loader);
	RUN(test_gca_f32);
	RUN(test_gca_f16);
	RUN(test_gca_bf16_file_no_view);
	RUN(test_gca_inputs_rejected);
	gca_kernels_destroy(ctx, &kernels);
	uint32_t messages = ctx->validation_messages;
	gpu_context_destroy(&ctx);
	CHECK_MSG(messages == 0, "%u validation messages", messages);
	return test_finish();
}
