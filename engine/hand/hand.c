#include "hand/hand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cglm/cglm.h>

#include "avatar/safetensors.h"

#define HAND_MAX_VERTICES (1u << 20)
#define HAND_MAX_TRIANGLES (1u << 21)

/* ---- poses as cglm matrices (column-major, the layout of inverse_bind and skin matrices) ---- */

/* The public arrays need not be 16-byte aligned as cglm's SIMD paths want mat4s to be: copied in and out. */
static void mat_load(const float src[16], mat4 dst) { memcpy(dst, src, sizeof(mat4)); }
static void mat_store(mat4 src, float dst[16]) { memcpy(dst, src, sizeof(mat4)); }

/* Quaternion (x, y, z, w; normalised here) and position to a pose matrix; false when they are unusable. */
static bool mat_from_pose(const float q_in[4], const float p[3], mat4 m)
{
	double n = 0;
	for (int i = 0; i < 4; i++) n += (double)q_in[i] * q_in[i];
	if (!isfinite(n) || n < 0.25 || n > 4.0 || !isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) return false;
	versor q = {q_in[0], q_in[1], q_in[2], q_in[3]};
	glm_quat_normalize(q);
	glm_quat_mat4(q, m);
	glm_vec3_copy((float *)p, m[3]);
	return true;
}

/* The rotation of a rigid matrix as a unit quaternion with w >= 0. */
static void quat_from_mat(mat4 m, float out[4])
{
	versor q;
	glm_mat4_quat(m, q);
	glm_quat_normalize(q);
	if (q[3] < 0) glm_vec4_negate(q);
	memcpy(out, q, sizeof(versor));
}

/* ---- loading ---- */

static enum cv_result tensor_get(const struct st_file *st, const char *name, enum st_dtype dtype, uint32_t rank,
                                 const uint64_t *shape, const struct st_tensor **out)
{
	const struct st_tensor *t = st_find(st, name);
	if (!t) return CV_FAIL(CV_ERROR_FORMAT, "%s: no tensor '%s'", st_path(st), name);
	if (t->dtype != dtype)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: %s is %s, not %s", st_path(st), name, st_dtype_name(t->dtype),
		               st_dtype_name(dtype));
	bool ok = t->rank == rank;
	for (uint32_t i = 0; ok && i < rank; i++) ok = shape[i] == 0 || t->shape[i] == shape[i];
	if (!ok) return CV_FAIL(CV_ERROR_FORMAT, "%s: %s has the wrong shape (rank %u)", st_path(st), name, t->rank);
	*out = t;
	return CV_OK;
}

/* Copies a F32 tensor, requiring every value finite. */
static enum cv_result read_f32(const struct st_file *st, const struct st_tensor *t, float *dst)
{
	CV_TRY(st_tensor_to_f32(t, dst, t->count));
	for (uint64_t i = 0; i < t->count; i++)
		if (!isfinite(dst[i])) return CV_FAIL(CV_ERROR_FORMAT, "%s: %s[%llu] is not finite", st_path(st), t->name,
		                                       (unsigned long long)i);
	return CV_OK;
}

/* Copies an I32 tensor (possibly unaligned), requiring every value in [lo, hi). */
static enum cv_result read_i32(const struct st_file *st, const struct st_tensor *t, int32_t lo, int64_t hi,
                               int32_t *dst)
{
	memcpy(dst, t->data, t->count * sizeof(int32_t));
	for (uint64_t i = 0; i < t->count; i++)
		if (dst[i] < lo || dst[i] >= hi)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: %s[%llu] = %d is out of range %d..%lld", st_path(st), t->name,
			               (unsigned long long)i, dst[i], lo, (long long)hi - 1);
	return CV_OK;
}

static enum cv_result load(struct st_file *st, struct hand_mesh *m)
{
	const char *path = st_path(st), *format = st_metadata(st, "format"), *version = st_metadata(st, "format_version"),
	           *handed = st_metadata(st, "handedness");
	if (!format || strcmp(format, "cavhand") != 0) return CV_FAIL(CV_ERROR_FORMAT, "%s: not a .cavhand file", path);
	if (!version || strcmp(version, "1") != 0)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "%s: .cavhand version %.20s (cavr reads 1)", path, version ? version : "?");
	if (!handed || (strcmp(handed, "left") != 0 && strcmp(handed, "right") != 0))
		return CV_FAIL(CV_ERROR_FORMAT, "%s: handedness must be left or right", path);
	m->left = handed[0] == 'l';

	const struct st_tensor *pos, *nrm, *uv, *joints, *weights, *idx, *parent, *ibind, *bpos, *brot;
	CV_TRY(tensor_get(st, "hand.position", ST_F32, 2, (uint64_t[]){0, 3}, &pos));
	uint64_t v = pos->shape[0];
	if (v == 0 || v > HAND_MAX_VERTICES) return CV_FAIL(CV_ERROR_FORMAT, "%s: %llu vertices", path, (unsigned long long)v);
	CV_TRY(tensor_get(st, "hand.normal", ST_F32, 2, (uint64_t[]){v, 3}, &nrm));
	CV_TRY(tensor_get(st, "hand.uv", ST_F32, 2, (uint64_t[]){v, 2}, &uv));
	CV_TRY(tensor_get(st, "hand.joints", ST_I32, 2, (uint64_t[]){v, 4}, &joints));
	CV_TRY(tensor_get(st, "hand.weights", ST_F32, 2, (uint64_t[]){v, 4}, &weights));
	CV_TRY(tensor_get(st, "hand.indices", ST_I32, 2, (uint64_t[]){0, 3}, &idx));
	if (idx->shape[0] == 0 || idx->shape[0] > HAND_MAX_TRIANGLES)
		return CV_FAIL(CV_ERROR_FORMAT, "%s: %llu triangles", path, (unsigned long long)idx->shape[0]);
	CV_TRY(tensor_get(st, "joint.parent", ST_I32, 1, (uint64_t[]){HAND_JOINTS}, &parent));
	CV_TRY(tensor_get(st, "joint.inverse_bind", ST_F32, 3, (uint64_t[]){HAND_JOINTS, 4, 4}, &ibind));
	CV_TRY(tensor_get(st, "joint.bind_position", ST_F32, 2, (uint64_t[]){HAND_JOINTS, 3}, &bpos));
	CV_TRY(tensor_get(st, "joint.bind_rotation", ST_F32, 2, (uint64_t[]){HAND_JOINTS, 4}, &brot));

	m->vertex_count = (uint32_t)v;
	m->index_count = (uint32_t)idx->count;
	m->position = malloc(v * 3 * sizeof(float));
	m->normal = malloc(v * 3 * sizeof(float));
	m->uv = malloc(v * 2 * sizeof(float));
	m->joint = malloc(v * 4 * sizeof(uint32_t));
	m->weight = malloc(v * 4 * sizeof(float));
	m->index = malloc(idx->count * sizeof(uint32_t));
	if (!m->position || !m->normal || !m->uv || !m->joint || !m->weight || !m->index)
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s: %llu vertices", path, (unsigned long long)v);
	CV_TRY(read_f32(st, pos, m->position));
	CV_TRY(read_f32(st, nrm, m->normal));
	CV_TRY(read_f32(st, uv, m->uv));
	CV_TRY(read_f32(st, weights, m->weight));
	CV_TRY(read_i32(st, joints, 0, HAND_JOINTS, (int32_t *)m->joint));
	CV_TRY(read_i32(st, idx, 0, (int64_t)v, (int32_t *)m->index));
	for (uint64_t i = 0; i < v; i++) {
		const float *w = &m->weight[i * 4];
		if (w[0] < 0 || w[1] < 0 || w[2] < 0 || w[3] < 0 || fabsf(w[0] + w[1] + w[2] + w[3] - 1.0f) > 1e-3f)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: weights of vertex %llu are negative or do not sum to 1", path,
			               (unsigned long long)i);
	}

	/* The joint tree: the wrist is the root and every parent comes before its child (no cycles). */
	CV_TRY(read_i32(st, parent, -1, HAND_JOINTS, m->parent));
	for (int i = 0; i < HAND_JOINTS; i++)
		if (i == 0 ? m->parent[i] != -1 : m->parent[i] < 0 || m->parent[i] >= i)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: joint %d has parent %d (the wrist is the root, parents come first)",
			               path, i, m->parent[i]);

	/* Inverse bind matrices: row-major in the file; rigid, and the inverse of the joint's stated bind pose,
	 * because tracked poses are rigid and a scaled or sheared bind would not give back the mesh. */
	float ib[HAND_JOINTS * 16], bp[HAND_JOINTS * 3], bq[HAND_JOINTS * 4];
	CV_TRY(read_f32(st, ibind, ib));
	CV_TRY(read_f32(st, bpos, bp));
	CV_TRY(read_f32(st, brot, bq));
	for (int j = 0; j < HAND_JOINTS; j++) {
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++) m->inverse_bind[j][c * 4 + r] = ib[j * 16 + r * 4 + c];
		mat4 bind, inverse_bind, prod;
		if (!mat_from_pose(&bq[j * 4], &bp[j * 3], bind))
			return CV_FAIL(CV_ERROR_FORMAT, "%s: joint %d's bind rotation is not a unit quaternion", path, j);
		mat_load(m->inverse_bind[j], inverse_bind);
		glm_mat4_mul(bind, inverse_bind, prod);
		float worst = 0;
		for (int c = 0; c < 4; c++)
			for (int r = 0; r < 4; r++) worst = fmaxf(worst, fabsf(prod[c][r] - (c == r ? 1.0f : 0.0f)));
		if (worst > 1e-3f)
			return CV_FAIL(CV_ERROR_FORMAT, "%s: joint %d's inverse bind matrix is not the inverse of its bind pose "
			               "(off by %.3g)", path, j, worst);
	}
	return CV_OK;
}

/* Loads from an opened file, which it closes. */
static enum cv_result load_from(struct st_file *st, struct hand_mesh **out)
{
	struct hand_mesh *m = calloc(1, sizeof(*m));
	enum cv_result r = m ? load(st, m) : CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "%s", st_path(st));
	st_close(&st);
	if (r != CV_OK) {
		hand_mesh_destroy(&m);
		return r;
	}
	*out = m;
	return CV_OK;
}

enum cv_result hand_mesh_load(const char *path, struct hand_mesh **out)
{
	*out = NULL;
	struct st_file *st = NULL;
	CV_TRY(st_open(path, &st));
	return load_from(st, out);
}

enum cv_result hand_mesh_load_memory(const void *data, size_t size, struct hand_mesh **out)
{
	*out = NULL;
	struct st_file *st = NULL;
	CV_TRY(st_open_memory(data, size, &st));
	return load_from(st, out);
}

void hand_mesh_destroy(struct hand_mesh **pm)
{
	struct hand_mesh *m = *pm;
	if (!m) return;
	free(m->position);
	free(m->normal);
	free(m->uv);
	free(m->joint);
	free(m->weight);
	free(m->index);
	free(m);
	*pm = NULL;
}

/* ---- skinning ---- */

void hand_skin_matrices(const struct hand_mesh *m, const struct codec_hand *hand, float out[HAND_JOINTS][16])
{
	const uint8_t both = CODEC_JOINT_ORIENTATION_VALID | CODEC_JOINT_POSITION_VALID;
	mat4 world[HAND_JOINTS], inverse_bind[HAND_JOINTS];
	for (int i = 0; i < HAND_JOINTS; i++) mat_load(m->inverse_bind[i], inverse_bind[i]);
	for (int i = 0; i < HAND_JOINTS; i++) {
		const struct codec_joint *jt = &hand->joints[i + 1];
		const float zero[3] = {0, 0, 0};
		mat4 tracked, rot;
		bool full = hand->tracked && (jt->flags & both) == both &&
		            mat_from_pose(jt->pose.orientation, jt->pose.position, tracked);
		/* the orientation alone may be usable when the position is not */
		bool rot_ok = !full && hand->tracked && (jt->flags & CODEC_JOINT_ORIENTATION_VALID) &&
		              mat_from_pose(jt->pose.orientation, zero, rot);
		if (full) {
			glm_mat4_copy(tracked, world[i]);
		} else if (m->parent[i] < 0) {
			/* no wrist: the bind pose, so skinning gives the mesh in the model's frame */
			glm_mat4_copy(inverse_bind[i], world[i]);
			glm_inv_tr(world[i]);
		} else {
			/* the bind-pose offset from the parent: world = parent world * inverse_bind[parent] * bind */
			mat4 rel, bind;
			glm_mat4_copy(inverse_bind[i], bind);
			glm_inv_tr(bind);
			glm_mat4_mul(world[m->parent[i]], inverse_bind[m->parent[i]], rel);
			glm_mat4_mul(rel, bind, world[i]);
			if (rot_ok)
				for (int c = 0; c < 3; c++) glm_vec3_copy(rot[c], world[i][c]);
		}
	}
	for (int i = 0; i < HAND_JOINTS; i++) {
		mat4 skin;
		glm_mat4_mul(world[i], inverse_bind[i], skin);
		mat_store(skin, out[i]);
	}
}

void hand_skin_vertices(const struct hand_mesh *m, const float skin[HAND_JOINTS][16], float *position, float *normal)
{
	for (uint32_t v = 0; v < m->vertex_count; v++) {
		float b[16] = {0};
		for (int k = 0; k < 4; k++) {
			float w = m->weight[v * 4 + k];
			const float *s = skin[m->joint[v * 4 + k]];
			for (int e = 0; e < 16; e++) b[e] += w * s[e];
		}
		const float *p = &m->position[v * 3], *n = &m->normal[v * 3];
		float nn[3];
		for (int r = 0; r < 3; r++) {
			if (position) position[v * 3 + r] = b[r] * p[0] + b[4 + r] * p[1] + b[8 + r] * p[2] + b[12 + r];
			nn[r] = b[r] * n[0] + b[4 + r] * n[1] + b[8 + r] * n[2];
		}
		if (normal) {
			float len = sqrtf(nn[0] * nn[0] + nn[1] * nn[1] + nn[2] * nn[2]);
			for (int r = 0; r < 3; r++) normal[v * 3 + r] = len > 0 ? nn[r] / len : n[r];
		}
	}
}

void hand_bind_pose(const struct hand_mesh *m, struct codec_hand *out)
{
	memset(out, 0, sizeof(*out));
	out->tracked = true;
	const uint8_t all = CODEC_JOINT_ORIENTATION_VALID | CODEC_JOINT_POSITION_VALID | CODEC_JOINT_ORIENTATION_TRACKED |
	                    CODEC_JOINT_POSITION_TRACKED;
	for (int i = 0; i < HAND_JOINTS; i++) {
		mat4 bind;
		mat_load(m->inverse_bind[i], bind);
		glm_inv_tr(bind);
		struct codec_joint *j = &out->joints[i + 1];
		glm_vec3_copy(bind[3], j->pose.position);
		quat_from_mat(bind, j->pose.orientation);
		j->radius = codec_average_hand[i + 1][3];
		j->flags = all;
	}
	/* OpenXR's palm: the middle of the middle finger's metacarpal, oriented like it */
	struct codec_joint *palm = &out->joints[CODEC_JOINT_PALM];
	const struct codec_joint *meta = &out->joints[CODEC_JOINT_MIDDLE_METACARPAL],
	                         *prox = &out->joints[CODEC_JOINT_MIDDLE_PROXIMAL];
	for (int a = 0; a < 3; a++) palm->pose.position[a] = 0.5f * (meta->pose.position[a] + prox->pose.position[a]);
	memcpy(palm->pose.orientation, meta->pose.orientation, sizeof(palm->pose.orientation));
	palm->radius = codec_average_hand[CODEC_JOINT_PALM][3];
	palm->flags = all;
}
