/* Skinned hands (.cavhand): the shipped hands load, the bind pose gives back the bind mesh, a known pose (the
 * hand turned and moved, the index finger curled 90 degrees) matches numpy's skinning (tools/assets/
 * hand_reference.py, run by the make_hand_reference fixture into ./hands), a wrong pose does not, joints that are
 * not tracked follow their parents, and hostile or truncated files are rejected. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/safetensors.h"
#include "hand/hand.h"
#include "test.h"

static const char *const sides[2] = {"left", "right"};
static const uint8_t all_flags = CODEC_JOINT_ORIENTATION_VALID | CODEC_JOINT_POSITION_VALID |
                                 CODEC_JOINT_ORIENTATION_TRACKED | CODEC_JOINT_POSITION_TRACKED;

static struct hand_mesh *load_shipped(const char *side)
{
	char path[4096];
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/assets/hand_%s.cavhand", src ? src : ".", side);
	struct hand_mesh *m = NULL;
	CHECK_MSG(hand_mesh_load(path, &m) == CV_OK, "cannot load %s", path);
	return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
	return isnan(m) ? INFINITY : m;
}

static bool all_finite(const float *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(a[i])) return false;
	return true;
}

static void test_shipped_hands_load(void)
{
	for (int s = 0; s < 2; s++) {
		struct hand_mesh *m = load_shipped(sides[s]);
		if (!m) continue;
		CHECK(m->left == (s == 0));
		CHECK(m->vertex_count > 500 && m->index_count > 1000 && m->index_count % 3 == 0);
		/* the topology is OpenXR's (the codec's skeleton, palm removed) */
		for (int i = 1; i < HAND_JOINTS; i++) CHECK(m->parent[i] == codec_joint_parent[i + 1] - 1);
		CHECK(m->parent[0] == -1);
		hand_mesh_destroy(&m);
		CHECK(m == NULL);
	}
}

static void test_bind_pose(void)
{
	for (int s = 0; s < 2; s++) {
		struct hand_mesh *m = load_shipped(sides[s]);
		if (!m) continue;
		struct codec_hand hand;
		float skin[HAND_JOINTS][16];
		hand_bind_pose(m, &hand);
		CHECK(hand.tracked && hand.joints[CODEC_JOINT_PALM].flags == all_flags);
		hand_skin_matrices(m, &hand, skin);
		double worst = 0;
		for (int j = 0; j < HAND_JOINTS; j++)
			for (int k = 0; k < 16; k++) worst = fmax(worst, fabs(skin[j][k] - (k % 5 == 0 ? 1.0 : 0.0)));
		CHECK_MSG(worst < 1e-5, "%s: bind-pose skin matrices differ from identity by %.2g", sides[s], worst);
		size_t n = (size_t)m->vertex_count * 3;
		float *pos = malloc(n * sizeof(float)), *nrm = malloc(n * sizeof(float));
		hand_skin_vertices(m, (const float(*)[16])skin, pos, nrm);
		double dp = max_diff(pos, m->position, n), dn = max_diff(nrm, m->normal, n);
		printf("  %s: bind pose gives the bind mesh within %.2g m, normals %.2g\n", sides[s], dp, dn);
		CHECK(dp < 1e-6 && dn < 1e-4);
		/* a hand that is not tracked gives the bind pose too, not garbage */
		hand.tracked = false;
		hand_skin_matrices(m, &hand, skin);
		hand_skin_vertices(m, (const float(*)[16])skin, pos, nrm);
		CHECK(max_diff(pos, m->position, n) < 1e-6);
		free(pos);
		free(nrm);
		hand_mesh_destroy(&m);
	}
}

struct reference {
	struct st_file *file;
	float pos[26][3], quat[26][4], wrong_pos[26][3], wrong_quat[26][4], skin[25][16];
	float *position, *normal;
};

static bool copy(struct st_file *f, const char *name, float *dst, size_t count)
{
	const struct st_tensor *t = st_find(f, name);
	return t && t->count == count && st_tensor_to_f32(t, dst, count) == CV_OK;
}

static bool reference_load(const char *side, uint32_t vertices, struct reference *r)
{
	char path[256];
	snprintf(path, sizeof(path), "hands/hand_%s.ref.safetensors", side);
	memset(r, 0, sizeof(*r));
	if (st_open(path, &r->file) != CV_OK) return false;
	r->position = malloc((size_t)vertices * 3 * sizeof(float));
	r->normal = malloc((size_t)vertices * 3 * sizeof(float));
	return copy(r->file, "pose.position", &r->pos[0][0], 26 * 3) &&
	       copy(r->file, "pose.orientation", &r->quat[0][0], 26 * 4) &&
	       copy(r->file, "wrong.position", &r->wrong_pos[0][0], 26 * 3) &&
	       copy(r->file, "wrong.orientation", &r->wrong_quat[0][0], 26 * 4) &&
	       copy(r->file, "skin", &r->skin[0][0], 25 * 16) && copy(r->file, "position", r->position, vertices * 3) &&
	       copy(r->file, "normal", r->normal, vertices * 3);
}

static void reference_fini(struct reference *r)
{
	st_close(&r->file);
	free(r->position);
	free(r->normal);
}

static void make_hand(const float pos[26][3], const float quat[26][4], struct codec_hand *hand)
{
	memset(hand, 0, sizeof(*hand));
	hand->tracked = true;
	for (int j = 0; j < 26; j++) {
		memcpy(hand->joints[j].pose.position, pos[j], sizeof(pos[j]));
		memcpy(hand->joints[j].pose.orientation, quat[j], sizeof(quat[j]));
		hand->joints[j].radius = 0.01f;
		hand->joints[j].flags = all_flags;
	}
}

/* Skins `hand` and returns the largest vertex distance from the reference mesh (metres). */
static double skin_error(const struct hand_mesh *m, const struct codec_hand *hand, const struct reference *r,
                         double *normal_error)
{
	size_t n = (size_t)m->vertex_count * 3;
	float skin[HAND_JOINTS][16], *pos = malloc(n * sizeof(float)), *nrm = malloc(n * sizeof(float));
	hand_skin_matrices(m, hand, skin);
	hand_skin_vertices(m, (const float(*)[16])skin, pos, nrm);
	double e = all_finite(pos, n) && all_finite(nrm, n) ? max_diff(pos, r->position, n) : INFINITY;
	if (normal_error) *normal_error = max_diff(nrm, r->normal, n);
	free(pos);
	free(nrm);
	return e;
}

static void test_known_pose(void)
{
	for (int s = 0; s < 2; s++) {
		struct hand_mesh *m = load_shipped(sides[s]);
		struct reference r;
		bool have = m && reference_load(sides[s], m->vertex_count, &r);
		CHECK_MSG(have, "no reference for the %s hand (the make_hand_reference fixture writes it)", sides[s]);
		if (!have) {
			if (m) reference_fini(&r);
			hand_mesh_destroy(&m);
			continue;
		}
		struct codec_hand hand;
		make_hand((const float(*)[3])r.pos, (const float(*)[4])r.quat, &hand);
		/* skin matrices: column-major, the reference's are row-major */
		float skin[HAND_JOINTS][16];
		hand_skin_matrices(m, &hand, skin);
		double ws = 0;
		for (int j = 0; j < HAND_JOINTS; j++)
			for (int row = 0; row < 4; row++)
				for (int c = 0; c < 4; c++) ws = fmax(ws, fabs(skin[j][c * 4 + row] - r.skin[j][row * 4 + c]));
		CHECK_MSG(ws < 1e-5, "%s: skin matrices differ from numpy's by %.2g", sides[s], ws);
		double en, e = skin_error(m, &hand, &r, &en);
		printf("  %s: known pose within %.2g m of numpy (normals %.2g)\n", sides[s], e, en);
		CHECK_MSG(e < 1e-5 && en < 1e-4, "%s: skinned mesh off by %.3g m, normals by %.3g", sides[s], e, en);

		/* the index curled 75 degrees instead of 90 must not match */
		struct codec_hand wrong;
		make_hand((const float(*)[3])r.wrong_pos, (const float(*)[4])r.wrong_quat, &wrong);
		double ew = skin_error(m, &wrong, &r, NULL);
		printf("  %s: a 75-degree curl is %.1f mm off\n", sides[s], ew * 1e3);
		CHECK_MSG(ew > 5e-3, "%s: a wrong pose matched the reference (%.3g m)", sides[s], ew);

		/* Joints that lose tracking follow their parents. The pose is rigid from each joint's parent on,
		 * except at the curled proximal joint, so any other joint may drop out with the mesh unchanged. */
		struct codec_hand part = hand;
		const int lost[] = {CODEC_JOINT_INDEX_INTERMEDIATE, CODEC_JOINT_LITTLE_METACARPAL, CODEC_JOINT_LITTLE_PROXIMAL,
		                    CODEC_JOINT_LITTLE_INTERMEDIATE, CODEC_JOINT_LITTLE_DISTAL, CODEC_JOINT_LITTLE_TIP,
		                    CODEC_JOINT_THUMB_TIP};
		for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
			struct codec_joint *j = &part.joints[lost[i]];
			j->flags = 0;
			j->pose.position[0] = j->pose.orientation[1] = NAN;
		}
		/* orientation without position; and a valid-flagged joint with a zero quaternion */
		part.joints[CODEC_JOINT_RING_DISTAL].flags = CODEC_JOINT_ORIENTATION_VALID;
		part.joints[CODEC_JOINT_RING_DISTAL].pose.position[2] = 1e30f;
		memset(part.joints[CODEC_JOINT_MIDDLE_TIP].pose.orientation, 0, 4 * sizeof(float));
		double ep = skin_error(m, &part, &r, NULL);
		printf("  %s: partly tracked hand within %.2g m\n", sides[s], ep);
		CHECK_MSG(ep < 1e-5, "%s: partly tracked hand off by %.3g m", sides[s], ep);
		/* a curled joint that drops out takes the bind offset: the finger straightens, and stays finite */
		part.joints[CODEC_JOINT_INDEX_PROXIMAL].flags = 0;
		double es = skin_error(m, &part, &r, NULL);
		CHECK_MSG(isfinite(es) && es > 5e-3, "%s: lost proximal joint: %.3g m", sides[s], es);

		reference_fini(&r);
		hand_mesh_destroy(&m);
	}
}

static void test_hostile_files(void)
{
	DIR *d = opendir("hands/hostile");
	CHECK_MSG(d, "no hands/hostile (the make_hand_reference fixture writes it)");
	if (!d) return;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".cavhand")) continue;
		char path[4096];
		snprintf(path, sizeof(path), "hands/hostile/%s", e->d_name);
		struct hand_mesh *m = (struct hand_mesh *)&count; /* must come back NULL */
		enum cv_result r = hand_mesh_load(path, &m);
		CHECK_MSG((r == CV_ERROR_FORMAT || r == CV_ERROR_UNSUPPORTED) && m == NULL, "%s: %s", e->d_name,
		          cv_result_str(r));
		hand_mesh_destroy(&m);
		count++;
	}
	closedir(d);
	CHECK_MSG(count >= 20, "only %d hostile files", count);
	struct hand_mesh *m = NULL;
	CHECK(hand_mesh_load("hands/no-such-file.cavhand", &m) == CV_ERROR_IO && m == NULL);
}

/* Every cut of the header (and the bytes after it), then cuts through the data every 997 bytes. */
static void test_truncated_files(void)
{
	char path[4096];
	const char *src = getenv("CAVR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/assets/hand_left.cavhand", src ? src : ".");
	void *data = NULL;
	size_t size = 0;
	CHECK(cv_file_read(path, &data, &size) == CV_OK);
	if (!data || size < 8) {
		free(data);
		return;
	}
	uint64_t header = 0;
	memcpy(&header, data, 8);
	int tried = 0, rejected = 0;
	enum cv_log_level level = cv_log_get_level();
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* hundreds of expected errors */
	for (size_t len = 0; len < size; len += len < header + 72 ? 1 : 997) {
		if (cv_file_write("hands/truncated.cavhand", data, len) != CV_OK) break;
		struct hand_mesh *m = NULL;
		tried++;
		rejected += hand_mesh_load("hands/truncated.cavhand", &m) != CV_OK && m == NULL;
		hand_mesh_destroy(&m);
	}
	cv_log_set_level(level);
	CHECK_MSG(tried > 100 && rejected == tried, "%d of %d truncated files rejected", rejected, tried);
	remove("hands/truncated.cavhand");
	free(data);
}

int main(void)
{
	RUN(test_shipped_hands_load);
	RUN(test_bind_pose);
	RUN(test_known_pose);
	RUN(test_hostile_files);
	RUN(test_truncated_files);
	return test_finish();
}
