/* The GPU decoder against the PyTorch reference (tools/dam_reference.py, run by the make_avatars fixture):
 * f32 weights within 1e-4 relative L2 on mesh and texture; f16 weights with texture PSNR >= 45 dB and every
 * vertex within 0.1 mm. Also: a full-size model, two avatar files in one submission, a converted Multiface
 * checkpoint, the RGBA8 texture and the recomputed normals, and a code of the wrong length. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/decoder.h"
#include "test.h"

static struct gpu_context *ctx;
static struct avatar_kernels *kernels;
static const char *dir;

struct reference {
	struct st_file *file;
	uint32_t count, latent, vertices, texture;
	float *codes, *views, *vertices_ref, *textures_ref;
};

static bool reference_load(const char *name, struct reference *ref)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.ref.safetensors", dir, name);
	memset(ref, 0, sizeof(*ref));
	if (st_open(path, &ref->file) != CV_OK) return false;
	const struct st_tensor *codes = st_find(ref->file, "codes"), *verts = st_find(ref->file, "vertices"),
	                       *tex = st_find(ref->file, "textures");
	if (!codes || !verts || !tex || codes->rank != 2 || verts->rank != 3 || tex->rank != 4) return false;
	ref->count = (uint32_t)codes->shape[0];
	ref->latent = (uint32_t)codes->shape[1];
	ref->vertices = (uint32_t)verts->shape[1];
	ref->texture = (uint32_t)tex->shape[1];
	st_read_f32(ref->file, "codes", &ref->codes, NULL);
	st_read_f32(ref->file, "views", &ref->views, NULL);
	st_read_f32(ref->file, "vertices", &ref->vertices_ref, NULL);
	st_read_f32(ref->file, "textures", &ref->textures_ref, NULL);
	return ref->codes && ref->views && ref->vertices_ref && ref->textures_ref;
}

static void reference_fini(struct reference *ref)
{
	st_close(&ref->file);
	free(ref->codes);
	free(ref->views);
	free(ref->vertices_ref);
	free(ref->textures_ref);
}

static struct avatar_file *open_avatar(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.cavatar", dir, name);
	struct avatar_file *f = NULL;
	CHECK_MSG(avatar_file_open(path, &f) == CV_OK, "cannot open %s", path);
	return f;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
		den += (double)b[i] * b[i];
	}
	return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double max_abs(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
	return m;
}

static double psnr(const float *a, const float *b, size_t n)
{
	double sq = 0;
	for (size_t i = 0; i < n; i++) sq += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sq > 0 ? 10 * log10(1.0 / (sq / (double)n)) : INFINITY;
}

struct accuracy {
	double mesh_rel, tex_rel, mesh_max_m, tex_psnr;
};

/* Compares slot `slot` of a decoded model with reference code `k`. */
static struct accuracy compare(struct avatar_model *m, uint32_t slot, const struct reference *ref, uint32_t k)
{
	size_t nv = (size_t)ref->vertices * 3, nt = (size_t)ref->texture * ref->texture * 3;
	float *pos = malloc(nv * sizeof(float)), *tex = malloc(nt * sizeof(float));
	struct accuracy a = {INFINITY, INFINITY, INFINITY, 0};
	if (avatar_model_read(ctx, m, slot, pos, tex) == CV_OK) {
		a.mesh_rel = rel_l2(pos, ref->vertices_ref + k * nv, nv);
		a.tex_rel = rel_l2(tex, ref->textures_ref + k * nt, nt);
		a.mesh_max_m = max_abs(pos, ref->vertices_ref + k * nv, nv);
		a.tex_psnr = psnr(tex, ref->textures_ref + k * nt, nt);
	}
	free(pos);
	free(tex);
	return a;
}

/* Decodes every reference code of `name` (one slot each, one submission) and checks the tolerances. */
static void decode_and_check(const char *name, bool f32, uint32_t max_codes)
{
	struct reference ref;
	CHECK_MSG(reference_load(name, &ref), "reference %s", name);
	struct avatar_file *file = open_avatar(name);
	if (!file || !ref.codes) {
		reference_fini(&ref);
		avatar_file_destroy(&file);
		return;
	}
	uint32_t n = ref.count < max_codes ? ref.count : max_codes;
	struct avatar_model *m = NULL;
	CHECK(avatar_model_create(ctx, kernels, file, &(struct avatar_model_desc){.participants = n, .f32_weights = f32},
	                          &m) == CV_OK);
	VkCommandBuffer cmd = VK_NULL_HANDLE;
	if (!m || gpu_cmd_begin(ctx, &cmd) != CV_OK) {
		CHECK_MSG(false, "%s: no model or command buffer", name);
		avatar_model_destroy(ctx, &m);
		avatar_file_destroy(&file);
		reference_fini(&ref);
		return;
	}
	for (uint32_t k = 0; k < n; k++)
		CHECK(avatar_model_set_input(m, k, ref.codes + (size_t)k * ref.latent, ref.latent, ref.views + k * 3) == CV_OK);
	double started = cv_time_now();
	CHECK(avatar_model_record(ctx, m, cmd, n, NULL) == CV_OK);
	CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
	double seconds = cv_time_now() - started;
	for (uint32_t k = 0; k < n; k++) {
		struct accuracy a = compare(m, k, &ref, k);
		printf("  %s %s code %u: mesh rel L2 %.2e (max %.3f mm), texture rel L2 %.2e, PSNR %.1f dB [%.2f s]\n", name,
		       f32 ? "f32" : "f16", k, a.mesh_rel, a.mesh_max_m * 1e3, a.tex_rel, a.tex_psnr, seconds);
		if (f32) {
			CHECK_MSG(a.mesh_rel <= 1e-4, "%s: mesh rel L2 %.3e", name, a.mesh_rel);
			CHECK_MSG(a.tex_rel <= 1e-4, "%s: texture rel L2 %.3e", name, a.tex_rel);
		} else {
			CHECK_MSG(a.tex_psnr >= 45.0, "%s: texture PSNR %.2f dB", name, a.tex_psnr);
			CHECK_MSG(a.mesh_max_m < 1e-4, "%s: vertex error %.4f mm", name, a.mesh_max_m * 1e3);
		}
	}
	avatar_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
	reference_fini(&ref);
}

static void test_small_f32(void) { decode_and_check("small", true, 16); }
static void test_small_f16(void) { decode_and_check("small", false, 16); }
static void test_bf16_file_no_view(void) { decode_and_check("other", true, 16); }
static void test_multiface_converted(void) { decode_and_check("multiface", true, 16); }
static void test_full_size_f32(void) { decode_and_check("full", true, 1); }
static void test_full_size_f16(void) { decode_and_check("full", false, 1); }

/* Two avatar files decoded in the same command buffer, each against its own reference. */
static void test_two_files_one_frame(void)
{
	struct reference ra, rb;
	CHECK(reference_load("small", &ra) && reference_load("other", &rb));
	struct avatar_file *fa = open_avatar("small"), *fb = open_avatar("other");
	struct avatar_model *ma = NULL, *mb = NULL;
	CHECK(fa && avatar_model_create(ctx, kernels, fa, &(struct avatar_model_desc){.participants = 2, .f32_weights = true}, &ma) == CV_OK);
	CHECK(fb && avatar_model_create(ctx, kernels, fb, &(struct avatar_model_desc){.participants = 1, .f32_weights = true}, &mb) == CV_OK);
	if (ma && mb) {
		/* slot 0 of `small` gets reference code 1 and slot 1 code 0, so slots and codes cannot be confused */
		CHECK(avatar_model_set_input(ma, 0, ra.codes + ra.latent, ra.latent, ra.views + 3) == CV_OK);
		CHECK(avatar_model_set_input(ma, 1, ra.codes, ra.latent, ra.views) == CV_OK);
		CHECK(avatar_model_set_input(mb, 0, rb.codes, rb.latent, NULL) == CV_OK);
		VkCommandBuffer cmd;
		CHECK(gpu_cmd_begin(ctx, &cmd) == CV_OK);
		CHECK(avatar_model_record(ctx, ma, cmd, 2, NULL) == CV_OK);
		CHECK(avatar_model_record(ctx, mb, cmd, 1, NULL) == CV_OK);
		CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
		struct accuracy a0 = compare(ma, 0, &ra, 1), a1 = compare(ma, 1, &ra, 0), b0 = compare(mb, 0, &rb, 0);
		CHECK(a0.mesh_rel <= 1e-4 && a0.tex_rel <= 1e-4);
		CHECK(a1.mesh_rel <= 1e-4 && a1.tex_rel <= 1e-4);
		CHECK(b0.mesh_rel <= 1e-4 && b0.tex_rel <= 1e-4);
		/* and the two codes really decode differently */
		struct accuracy swapped = compare(ma, 0, &ra, 0);
		CHECK_MSG(swapped.tex_rel > 1e-3, "different codes gave the same texture (rel L2 %.2e)", swapped.tex_rel);
	}
	avatar_model_destroy(ctx, &ma);
	avatar_model_destroy(ctx, &mb);
	avatar_file_destroy(&fa);
	avatar_file_destroy(&fb);
	reference_fini(&ra);
	reference_fini(&rb);
}

/* The texture image (mip 0, RGBA8 sRGB) holds the decoded colour, and the vertex buffer's normals are the
 * normalised sums of the adjacent triangles' normals computed from the decoded positions. */
static void test_render_outputs(void)
{
	struct reference ref;
	CHECK(reference_load("small", &ref));
	struct avatar_file *file = open_avatar("small");
	struct avatar_model *m = NULL;
	CHECK(file && avatar_model_create(ctx, kernels, file, &(struct avatar_model_desc){.f32_weights = true}, &m) == CV_OK);
	if (!m) goto done;
	CHECK(avatar_model_set_input(m, 0, ref.codes, ref.latent, ref.views) == CV_OK);
	VkCommandBuffer cmd;
	CHECK(gpu_cmd_begin(ctx, &cmd) == CV_OK);
	CHECK(avatar_model_record(ctx, m, cmd, 1, NULL) == CV_OK);
	CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
	struct avatar_outputs out;
	avatar_model_outputs(m, 0, &out);
	uint32_t t = out.texture_size;
	uint8_t *rgba = malloc((size_t)t * t * 4);
	float *tex = malloc((size_t)t * t * 12), *pos = malloc((size_t)ref.vertices * 12);
	CHECK(avatar_model_read(ctx, m, 0, pos, tex) == CV_OK);
	struct gpu_image img = {.image = out.texture, .extent = {t, t}, .aspect = VK_IMAGE_ASPECT_COLOR_BIT};
	CHECK(gpu_image_read(ctx, &img, 0, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, rgba) == CV_OK);
	int worst = 0;
	for (size_t i = 0; i < (size_t)t * t; i++)
		for (int c = 0; c < 3; c++) {
			float v = fminf(fmaxf(tex[i * 3 + c], 0.0f), 1.0f) * 255.0f;
			worst = (int)fmax(worst, fabs(v - rgba[i * 4 + c]));
		}
	CHECK_MSG(worst <= 1, "RGBA8 texture differs from the decoded colour by %d/255", worst);

	/* Normals from the CPU, from the GPU's own positions and the file's triangles. */
	const struct st_tensor *tv = avatar_tensor(file, "mesh.tri_vertex");
	int32_t *tris = malloc(tv->size);
	memcpy(tris, tv->data, tv->size);
	float *normals = calloc((size_t)ref.vertices * 3, sizeof(float));
	for (size_t f = 0; f < tv->shape[0]; f++) {
		const float *a = &pos[tris[f * 3] * 3], *b = &pos[tris[f * 3 + 1] * 3], *c = &pos[tris[f * 3 + 2] * 3];
		float e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
		float n[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]};
		for (int k = 0; k < 3; k++)
			for (int j = 0; j < 3; j++) normals[tris[f * 3 + k] * 3 + j] += n[j];
	}
	float *verts = malloc((size_t)out.vertex_count * 32);
	CHECK(gpu_buffer_read(ctx, (struct gpu_buffer *)out.vertices, out.vertex_offset, verts, (size_t)out.vertex_count * 32) == CV_OK);
	double worst_normal = 0, worst_pos = 0;
	uint32_t checked = 0;
	for (uint32_t r = 0; r < out.vertex_count; r++) {
		const float *v = &verts[r * 8];
		/* find the source vertex by position (positions are distinct in the random mesh) */
		for (uint32_t s = 0; s < ref.vertices; s++) {
			const float *p = &pos[s * 3];
			if (p[0] != v[0] || p[1] != v[1] || p[2] != v[2]) continue;
			const float *n = &normals[s * 3];
			double len = sqrt((double)n[0] * n[0] + (double)n[1] * n[1] + (double)n[2] * n[2]);
			if (len > 1e-12)
				for (int j = 0; j < 3; j++) worst_normal = fmax(worst_normal, fabs(n[j] / len - v[4 + j]));
			checked++;
			break;
		}
		worst_pos = fmax(worst_pos, fabs(v[3]) > 1.0f || fabs(v[7]) > 1.0f); /* uvs in 0..1 */
	}
	CHECK_MSG(checked == out.vertex_count, "%u of %u render vertices found among decoded positions", checked,
	          out.vertex_count);
	CHECK_MSG(worst_normal < 1e-4, "normal error %.2e", worst_normal);
	CHECK(worst_pos == 0);
	CHECK(out.index_count == tv->shape[0] * 3);
	free(rgba);
	free(tex);
	free(pos);
	free(tris);
	free(normals);
	free(verts);
done:
	avatar_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
	reference_fini(&ref);
}

static void test_bad_inputs(void)
{
	struct avatar_file *file = open_avatar("small");
	struct avatar_model *m = NULL;
	CHECK(file && avatar_model_create(ctx, kernels, file, &(struct avatar_model_desc){.participants = 2}, &m) == CV_OK);
	if (m) {
		float code[33] = {0}, view[3] = {0, 0, 1}, zero[3] = {0};
		CHECK(avatar_model_set_input(m, 0, code, 31, view) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(avatar_model_set_input(m, 0, code, 33, view) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(avatar_model_set_input(m, 0, code, 32, view) == CV_OK);
		CHECK(avatar_model_set_input(m, 2, code, 32, view) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(avatar_model_set_input(m, 0, code, 32, zero) == CV_ERROR_INVALID_ARGUMENT);
		VkCommandBuffer cmd;
		CHECK(gpu_cmd_begin(ctx, &cmd) == CV_OK);
		CHECK(avatar_model_record(ctx, m, cmd, 3, NULL) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
	}
	avatar_model_destroy(ctx, &m);
	avatar_file_destroy(&file);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "avatars";
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) return EXIT_FAILURE;
	if (avatar_kernels_create(ctx, NULL, &kernels) != CV_OK) return EXIT_FAILURE;
	RUN(test_small_f32);
	RUN(test_small_f16);
	RUN(test_bf16_file_no_view);
	RUN(test_multiface_converted);
	RUN(test_two_files_one_frame);
	RUN(test_render_outputs);
	RUN(test_bad_inputs);
	RUN(test_full_size_f32);
	RUN(test_full_size_f16);
	avatar_kernels_destroy(ctx, &kernels);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
