/* sx_math: rigid poses for the simulated runtime, in double precision (XrPosef only at the API boundary).
 * Quaternions are (x, y, z, w), unit length, and rotate column vectors: v' = q v q*. A pose maps points of
 * its own frame into its parent frame: p_parent = pose.q * p + pose.p. */
#ifndef SX_MATH_H
#define SX_MATH_H

#include <math.h>

#include <openxr/openxr.h>

struct sx_pose {
	double p[3];
	double q[4];
};

#define SX_POSE_IDENTITY_INIT {{0, 0, 0}, {0, 0, 0, 1}}
#define SX_POSE_IDENTITY ((struct sx_pose)SX_POSE_IDENTITY_INIT)

static inline void sx_quat_mul(const double a[4], const double b[4], double out[4])
{
	double r[4] = {
		a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
		a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
		a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
		a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
	};
	for (int i = 0; i < 4; i++) out[i] = r[i];
}

static inline void sx_quat_conj(const double q[4], double out[4])
{
	out[0] = -q[0];
	out[1] = -q[1];
	out[2] = -q[2];
	out[3] = q[3];
}

static inline double sx_quat_norm(const double q[4])
{
	return sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
}

/* Returns 0 for a quaternion too short to normalise. */
static inline int sx_quat_normalize(double q[4])
{
	double n = sx_quat_norm(q);
	if (!(n > 1e-9)) return 0;
	for (int i = 0; i < 4; i++) q[i] /= n;
	return 1;
}

static inline void sx_quat_rotate(const double q[4], const double v[3], double out[3])
{
	/* t = 2 q.xyz x v; v' = v + w t + q.xyz x t */
	double t[3] = {2 * (q[1] * v[2] - q[2] * v[1]), 2 * (q[2] * v[0] - q[0] * v[2]), 2 * (q[0] * v[1] - q[1] * v[0])};
	double r[3] = {
		v[0] + q[3] * t[0] + (q[1] * t[2] - q[2] * t[1]),
		v[1] + q[3] * t[1] + (q[2] * t[0] - q[0] * t[2]),
		v[2] + q[3] * t[2] + (q[0] * t[1] - q[1] * t[0]),
	};
	out[0] = r[0];
	out[1] = r[1];
	out[2] = r[2];
}

static inline void sx_quat_axis_angle(const double axis[3], double angle, double out[4])
{
	double n = sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
	double s = n > 0 ? sin(angle / 2) / n : 0;
	out[0] = axis[0] * s;
	out[1] = axis[1] * s;
	out[2] = axis[2] * s;
	out[3] = cos(angle / 2);
}

/* Intrinsic yaw (about +Y), then pitch (about +X), then roll (about +Z); radians. */
static inline void sx_quat_ypr(double yaw, double pitch, double roll, double out[4])
{
	double qy[4], qp[4], qr[4], t[4];
	sx_quat_axis_angle((const double[3]){0, 1, 0}, yaw, qy);
	sx_quat_axis_angle((const double[3]){1, 0, 0}, pitch, qp);
	sx_quat_axis_angle((const double[3]){0, 0, 1}, roll, qr);
	sx_quat_mul(qy, qp, t);
	sx_quat_mul(t, qr, out);
}

/* Rotation whose columns are the unit axes x, y, z (right-handed, orthonormal). */
static inline void sx_quat_from_axes(const double x[3], const double y[3], const double z[3], double q[4])
{
	double tr = x[0] + y[1] + z[2];
	if (tr > 0) {
		double s = sqrt(tr + 1.0) * 2;
		q[3] = 0.25 * s;
		q[0] = (y[2] - z[1]) / s;
		q[1] = (z[0] - x[2]) / s;
		q[2] = (x[1] - y[0]) / s;
	} else if (x[0] > y[1] && x[0] > z[2]) {
		double s = sqrt(1.0 + x[0] - y[1] - z[2]) * 2;
		q[3] = (y[2] - z[1]) / s;
		q[0] = 0.25 * s;
		q[1] = (y[0] + x[1]) / s;
		q[2] = (z[0] + x[2]) / s;
	} else if (y[1] > z[2]) {
		double s = sqrt(1.0 + y[1] - x[0] - z[2]) * 2;
		q[3] = (z[0] - x[2]) / s;
		q[0] = (y[0] + x[1]) / s;
		q[1] = 0.25 * s;
		q[2] = (z[1] + y[2]) / s;
	} else {
		double s = sqrt(1.0 + z[2] - x[0] - y[1]) * 2;
		q[3] = (x[1] - y[0]) / s;
		q[0] = (z[0] + x[2]) / s;
		q[1] = (z[1] + y[2]) / s;
		q[2] = 0.25 * s;
	}
	sx_quat_normalize(q);
}

/* Shortest-path spherical interpolation. */
static inline void sx_quat_slerp(const double a[4], const double b[4], double t, double out[4])
{
	double bb[4] = {b[0], b[1], b[2], b[3]};
	double d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
	if (d < 0) {
		d = -d;
		for (int i = 0; i < 4; i++) bb[i] = -bb[i];
	}
	double wa, wb;
	if (d > 0.9995) {
		wa = 1 - t;
		wb = t;
	} else {
		double th = acos(d), s = sin(th);
		wa = sin((1 - t) * th) / s;
		wb = sin(t * th) / s;
	}
	for (int i = 0; i < 4; i++) out[i] = wa * a[i] + wb * bb[i];
	sx_quat_normalize(out);
}

/* a * b: b expressed in a's parent frame. */
static inline struct sx_pose sx_pose_mul(const struct sx_pose *a, const struct sx_pose *b)
{
	struct sx_pose r;
	sx_quat_rotate(a->q, b->p, r.p);
	for (int i = 0; i < 3; i++) r.p[i] += a->p[i];
	sx_quat_mul(a->q, b->q, r.q);
	return r;
}

static inline struct sx_pose sx_pose_inverse(const struct sx_pose *a)
{
	struct sx_pose r;
	sx_quat_conj(a->q, r.q);
	double np[3] = {-a->p[0], -a->p[1], -a->p[2]};
	sx_quat_rotate(r.q, np, r.p);
	return r;
}

/* The pose of b relative to a, both given in a common frame: a^-1 * b. */
static inline struct sx_pose sx_pose_relative(const struct sx_pose *a, const struct sx_pose *b)
{
	struct sx_pose ai = sx_pose_inverse(a);
	return sx_pose_mul(&ai, b);
}

static inline struct sx_pose sx_pose_lerp(const struct sx_pose *a, const struct sx_pose *b, double t)
{
	struct sx_pose r;
	for (int i = 0; i < 3; i++) r.p[i] = a->p[i] + (b->p[i] - a->p[i]) * t;
	sx_quat_slerp(a->q, b->q, t, r.q);
	return r;
}

static inline XrPosef sx_pose_to_xr(const struct sx_pose *a)
{
	XrPosef r;
	r.position.x = (float)a->p[0];
	r.position.y = (float)a->p[1];
	r.position.z = (float)a->p[2];
	r.orientation.x = (float)a->q[0];
	r.orientation.y = (float)a->q[1];
	r.orientation.z = (float)a->q[2];
	r.orientation.w = (float)a->q[3];
	return r;
}

static inline struct sx_pose sx_pose_from_xr(const XrPosef *a)
{
	struct sx_pose r = {{a->position.x, a->position.y, a->position.z},
	                    {a->orientation.x, a->orientation.y, a->orientation.z, a->orientation.w}};
	sx_quat_normalize(r.q);
	return r;
}

/* The OpenXR rule for application poses: a unit quaternion, within float rounding (1 %). */
static inline int sx_xr_pose_valid(const XrPosef *a)
{
	double q[4] = {a->orientation.x, a->orientation.y, a->orientation.z, a->orientation.w};
	double n = sx_quat_norm(q);
	double pos = fabs(a->position.x) + fabs(a->position.y) + fabs(a->position.z);
	return isfinite(n) && fabs(n - 1.0) <= 0.01 && isfinite(pos);
}

static inline void sx_vec_sub(const double a[3], const double b[3], double out[3])
{
	for (int i = 0; i < 3; i++) out[i] = a[i] - b[i];
}

static inline void sx_vec_cross(const double a[3], const double b[3], double out[3])
{
	double r[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
	out[0] = r[0];
	out[1] = r[1];
	out[2] = r[2];
}

static inline double sx_vec_dot(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline double sx_vec_normalize(double v[3])
{
	double n = sqrt(sx_vec_dot(v, v));
	if (n > 0)
		for (int i = 0; i < 3; i++) v[i] /= n;
	return n;
}

#endif
