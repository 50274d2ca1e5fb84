/* sx_space: reference spaces (VIEW = the scripted head, LOCAL = the head's floor heading at session start or
 * the last recenter, STAGE = the script's own frame), action spaces (a controller's grip or aim pose while its
 * pose action is active), locating one in another, and XR_EXT_hand_tracking's hand trackers. Velocities are
 * central differences of the script over +-1 ms. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sx_internal.h"

#define VELOCITY_STEP 1000000 /* ns */

static const struct sx_pose g_identity = SX_POSE_IDENTITY_INIT;

bool sx_controller_pose(const struct sx_session *s, enum sx_hand hand, enum sx_source src, XrTime time,
                        struct sx_pose *out)
{
	const struct sx_instance *inst = s->base.instance;
	struct sx_controller c = sx_script_controller(inst->script, hand, sx_script_time(inst, time));
	if (!c.connected) return false;
	*out = src == SX_SRC_AIM ? c.aim : c.grip;
	return true;
}

bool sx_space_pose(const struct sx_space *sp, XrTime time, struct sx_pose *out)
{
	const struct sx_session *s = sp->session;
	const struct sx_instance *inst = s->base.instance;
	struct sx_pose ref = SX_POSE_IDENTITY;
	switch (sp->ref) {
	case XR_REFERENCE_SPACE_TYPE_VIEW: ref = sx_script_head(inst->script, sx_script_time(inst, time)); break;
	case XR_REFERENCE_SPACE_TYPE_LOCAL: ref = s->local; break;
	case XR_REFERENCE_SPACE_TYPE_STAGE: break;
	default: { /* action space */
		const struct sx_action *a = sx_lookup(sp->action, SX_ACTION);
		if (!a) return false;
		int hand = sx_path_hand(inst, sp->subaction);
		if (sp->subaction == XR_NULL_PATH) /* the first hand whose pose source is active */
			for (int h = SX_HAND_COUNT - 1; h >= 0; h--)
				if (sx_action_active(a, (enum sx_hand)h)) hand = h;
		if (hand < 0 || !sx_action_active(a, (enum sx_hand)hand)) return false;
		enum sx_source src = (a->sources[hand] & SX_SRC_AIM) && !(a->sources[hand] & SX_SRC_GRIP) ? SX_SRC_AIM : SX_SRC_GRIP;
		if (!sx_controller_pose(s, (enum sx_hand)hand, src, time, &ref)) return false;
	}
	}
	*out = sx_pose_mul(&ref, &sp->offset);
	return true;
}

/* Linear and angular velocity (in the base frame) from poses at t - h and t + h. */
static void velocity(const struct sx_pose *a, const struct sx_pose *b, double dt, XrVector3f *linear,
                     XrVector3f *angular)
{
	linear->x = (float)((b->p[0] - a->p[0]) / dt);
	linear->y = (float)((b->p[1] - a->p[1]) / dt);
	linear->z = (float)((b->p[2] - a->p[2]) / dt);
	double ca[4], d[4];
	sx_quat_conj(a->q, ca);
	sx_quat_mul(b->q, ca, d);
	if (d[3] < 0)
		for (int i = 0; i < 4; i++) d[i] = -d[i];
	double s = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
	double angle = 2 * atan2(s, d[3]);
	double k = s > 1e-12 ? angle / s / dt : 2 / dt;
	angular->x = (float)(d[0] * k);
	angular->y = (float)(d[1] * k);
	angular->z = (float)(d[2] * k);
}

static XrResult space_session(struct sx_space *sp)
{
	return sp->session->loss_delivered ? XR_ERROR_SESSION_LOST : XR_SUCCESS;
}

/* ---- reference spaces ---- */
static const XrReferenceSpaceType g_reference_spaces[] = {
	XR_REFERENCE_SPACE_TYPE_VIEW, XR_REFERENCE_SPACE_TYPE_LOCAL, XR_REFERENCE_SPACE_TYPE_STAGE};

static XrResult check_reference_type(struct sx_instance *inst, XrReferenceSpaceType type, const char *func)
{
	for (size_t i = 0; i < 3; i++)
		if (type == g_reference_spaces[i]) return XR_SUCCESS;
	return sx_error(inst, XR_ERROR_REFERENCE_SPACE_UNSUPPORTED, func, "reference space type %d (VIEW, LOCAL, STAGE only)",
	                type);
}

static XrResult xrEnumerateReferenceSpaces_locked(XrSession session, uint32_t capacity, uint32_t *count,
                                                  XrReferenceSpaceType *spaces)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	bool fill;
	if (r == XR_SUCCESS) r = sx_two_call(s->base.instance, __func__, capacity, count, 3, spaces, &fill);
	if (r != XR_SUCCESS) return r;
	if (fill) memcpy(spaces, g_reference_spaces, sizeof g_reference_spaces);
	return sx_session_result(s, r);
}
SX_LOCKED_ENTRY(xrEnumerateReferenceSpaces,
                (XrSession session, uint32_t capacity, uint32_t *count, XrReferenceSpaceType *spaces),
                (session, capacity, count, spaces))

static XrResult new_space(struct sx_session *s, XrReferenceSpaceType ref, uint64_t action, XrPath subaction,
                          const XrPosef *offset, XrSpace *out)
{
	struct sx_space *sp = calloc(1, sizeof *sp);
	if (!sp) return XR_ERROR_OUT_OF_MEMORY;
	sp->session = s;
	sp->ref = ref;
	sp->action = action;
	sp->subaction = subaction;
	sp->offset = sx_pose_from_xr(offset);
	XrResult r = sx_register(&sp->base, SX_SPACE, &s->base, s->base.instance);
	if (r != XR_SUCCESS) {
		free(sp);
		return r;
	}
	*out = SX_TO_XR(XrSpace, sp);
	return sx_session_result(s, XR_SUCCESS);
}

static XrResult xrCreateReferenceSpace_locked(XrSession session, const XrReferenceSpaceCreateInfo *ci, XrSpace *out)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!ci || ci->type != XR_TYPE_REFERENCE_SPACE_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or space is NULL, or the wrong type");
	if ((r = check_reference_type(inst, ci->referenceSpaceType, __func__)) != XR_SUCCESS) return r;
	if (!sx_xr_pose_valid(&ci->poseInReferenceSpace))
		return SX_FAIL(inst, XR_ERROR_POSE_INVALID, "poseInReferenceSpace is not a valid pose");
	return new_space(s, ci->referenceSpaceType, 0, XR_NULL_PATH, &ci->poseInReferenceSpace, out);
}
SX_LOCKED_ENTRY(xrCreateReferenceSpace, (XrSession session, const XrReferenceSpaceCreateInfo *ci, XrSpace *out),
                (session, ci, out))

static XrResult xrGetReferenceSpaceBoundsRect_locked(XrSession session, XrReferenceSpaceType type, XrExtent2Df *bounds)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!bounds) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "bounds is NULL");
	if ((r = check_reference_type(inst, type, __func__)) != XR_SUCCESS) return r;
	if (type != XR_REFERENCE_SPACE_TYPE_STAGE) {
		*bounds = (XrExtent2Df){0, 0};
		return sx_session_result(s, XR_SPACE_BOUNDS_UNAVAILABLE);
	}
	*bounds = (XrExtent2Df){(float)inst->cfg.stage_size[0], (float)inst->cfg.stage_size[1]};
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetReferenceSpaceBoundsRect, (XrSession session, XrReferenceSpaceType type, XrExtent2Df *bounds),
                (session, type, bounds))

static XrResult xrCreateActionSpace_locked(XrSession session, const XrActionSpaceCreateInfo *ci, XrSpace *out)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!ci || ci->type != XR_TYPE_ACTION_SPACE_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or space is NULL, or the wrong type");
	struct sx_action *a;
	if ((r = sx_get(SX_XR_ID(ci->action), SX_ACTION, __func__, (void **)&a)) != XR_SUCCESS) return r;
	if (a->type != XR_ACTION_TYPE_POSE_INPUT)
		return SX_FAIL(inst, XR_ERROR_ACTION_TYPE_MISMATCH, "action '%s' is not a pose action", a->name);
	bool known = ci->subactionPath == XR_NULL_PATH;
	for (uint32_t i = 0; i < a->subaction_count; i++) known = known || a->subactions[i] == ci->subactionPath;
	if (!known)
		return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "subactionPath '%s' is not one of action '%s''s",
		               sx_path_string(inst, ci->subactionPath) ? sx_path_string(inst, ci->subactionPath) : "?", a->name);
	if (!sx_xr_pose_valid(&ci->poseInActionSpace))
		return SX_FAIL(inst, XR_ERROR_POSE_INVALID, "poseInActionSpace is not a valid pose");
	return new_space(s, 0, a->base.handle, ci->subactionPath, &ci->poseInActionSpace, out);
}
SX_LOCKED_ENTRY(xrCreateActionSpace, (XrSession session, const XrActionSpaceCreateInfo *ci, XrSpace *out),
                (session, ci, out))

static XrResult xrDestroySpace_locked(XrSpace space)
{
	struct sx_space *sp = sx_lookup(SX_XR_ID(space), SX_SPACE);
	if (!sp) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrSpace");
	sx_destroy(&sp->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroySpace, (XrSpace space), (space))

static bool relative_pose(const struct sx_space *sp, const struct sx_space *base, XrTime time, struct sx_pose *out)
{
	struct sx_pose a, b;
	if (!sx_space_pose(sp, time, &a) || !sx_space_pose(base, time, &b)) return false;
	*out = sx_pose_relative(&b, &a);
	return true;
}

static XrResult xrLocateSpace_locked(XrSpace space, XrSpace base_space, XrTime time, XrSpaceLocation *location)
{
	struct sx_space *sp, *base;
	XrResult r = sx_get(SX_XR_ID(space), SX_SPACE, __func__, (void **)&sp);
	if (r == XR_SUCCESS) r = sx_get(SX_XR_ID(base_space), SX_SPACE, __func__, (void **)&base);
	if (r == XR_SUCCESS) r = space_session(sp);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = sp->base.instance;
	if (base->session != sp->session) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "the spaces belong to different sessions");
	if (!location || location->type != XR_TYPE_SPACE_LOCATION)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "location is NULL or not XR_TYPE_SPACE_LOCATION");
	if (time <= 0) return SX_FAIL(inst, XR_ERROR_TIME_INVALID, "time %" PRId64, time);
	XrSpaceVelocity *vel = NULL;
	for (XrBaseOutStructure *n = location->next; n; n = n->next)
		if (n->type == XR_TYPE_SPACE_VELOCITY) vel = (XrSpaceVelocity *)n;
	struct sx_pose rel;
	bool ok = relative_pose(sp, base, time, &rel);
	location->locationFlags = ok ? XR_SPACE_LOCATION_ORIENTATION_VALID_BIT | XR_SPACE_LOCATION_POSITION_VALID_BIT |
	                                   XR_SPACE_LOCATION_ORIENTATION_TRACKED_BIT | XR_SPACE_LOCATION_POSITION_TRACKED_BIT
	                             : 0;
	location->pose = sx_pose_to_xr(ok ? &rel : &g_identity);
	if (vel) {
		struct sx_pose a, b;
		vel->velocityFlags = 0;
		if (ok && relative_pose(sp, base, time - VELOCITY_STEP, &a) && relative_pose(sp, base, time + VELOCITY_STEP, &b)) {
			velocity(&a, &b, 2 * VELOCITY_STEP * 1e-9, &vel->linearVelocity, &vel->angularVelocity);
			vel->velocityFlags = XR_SPACE_VELOCITY_LINEAR_VALID_BIT | XR_SPACE_VELOCITY_ANGULAR_VALID_BIT;
		}
	}
	return sx_session_result(sp->session, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrLocateSpace, (XrSpace space, XrSpace base_space, XrTime time, XrSpaceLocation *location),
                (space, base_space, time, location))

/* ---- hand trackers ---- */
static XrResult xrCreateHandTrackerEXT_locked(XrSession session, const XrHandTrackerCreateInfoEXT *ci,
                                              XrHandTrackerEXT *out)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!ci || ci->type != XR_TYPE_HAND_TRACKER_CREATE_INFO_EXT || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or handTracker is NULL, or the wrong type");
	if (ci->hand != XR_HAND_LEFT_EXT && ci->hand != XR_HAND_RIGHT_EXT)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "hand %d is not an XrHandEXT", ci->hand);
	if (ci->handJointSet != XR_HAND_JOINT_SET_DEFAULT_EXT)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "handJointSet %d is not supported", ci->handJointSet);
	if (!inst->cfg.hand_tracking)
		return SX_FAIL(inst, XR_ERROR_FEATURE_UNSUPPORTED, "the system has no hand tracking (hand_tracking = 0)");
	struct sx_hand_tracker *t = calloc(1, sizeof *t);
	if (!t) return XR_ERROR_OUT_OF_MEMORY;
	t->session = s;
	t->hand = ci->hand;
	if ((r = sx_register(&t->base, SX_HAND_TRACKER, &s->base, inst)) != XR_SUCCESS) {
		free(t);
		return r;
	}
	*out = SX_TO_XR(XrHandTrackerEXT, t);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrCreateHandTrackerEXT,
                (XrSession session, const XrHandTrackerCreateInfoEXT *ci, XrHandTrackerEXT *out),
                (session, ci, out))

static XrResult xrDestroyHandTrackerEXT_locked(XrHandTrackerEXT tracker)
{
	struct sx_hand_tracker *t = sx_lookup(SX_XR_ID(tracker), SX_HAND_TRACKER);
	if (!t) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrHandTrackerEXT");
	sx_destroy(&t->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroyHandTrackerEXT, (XrHandTrackerEXT tracker), (tracker))

/* The joints relative to base at time; false when the hand is not tracked or base cannot be located. */
static bool hand_joints(const struct sx_hand_tracker *t, const struct sx_space *base, XrTime time,
                        struct sx_joint joints[XR_HAND_JOINT_COUNT_EXT])
{
	const struct sx_instance *inst = t->base.instance;
	struct sx_pose b;
	enum sx_hand hand = t->hand == XR_HAND_LEFT_EXT ? SX_HAND_LEFT : SX_HAND_RIGHT;
	if (!sx_script_hand(inst->script, hand, sx_script_time(inst, time), joints) || !sx_space_pose(base, time, &b))
		return false;
	for (int j = 0; j < XR_HAND_JOINT_COUNT_EXT; j++) joints[j].pose = sx_pose_relative(&b, &joints[j].pose);
	return true;
}

static XrResult xrLocateHandJointsEXT_locked(XrHandTrackerEXT tracker, const XrHandJointsLocateInfoEXT *info,
                                             XrHandJointLocationsEXT *locations)
{
	struct sx_hand_tracker *t;
	XrResult r = sx_get(SX_XR_ID(tracker), SX_HAND_TRACKER, __func__, (void **)&t);
	if (r != XR_SUCCESS) return r;
	struct sx_session *s = t->session;
	struct sx_instance *inst = s->base.instance;
	if (s->loss_delivered) return XR_ERROR_SESSION_LOST;
	if (!info || info->type != XR_TYPE_HAND_JOINTS_LOCATE_INFO_EXT)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "locateInfo is NULL or the wrong type");
	if (!locations || locations->type != XR_TYPE_HAND_JOINT_LOCATIONS_EXT || !locations->jointLocations ||
	    locations->jointCount != XR_HAND_JOINT_COUNT_EXT)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "locations must be XR_TYPE_HAND_JOINT_LOCATIONS_EXT with %d joints",
		               XR_HAND_JOINT_COUNT_EXT);
	XrHandJointVelocitiesEXT *vel = NULL;
	for (XrBaseOutStructure *n = locations->next; n; n = n->next)
		if (n->type == XR_TYPE_HAND_JOINT_VELOCITIES_EXT) vel = (XrHandJointVelocitiesEXT *)n;
	if (vel && (vel->jointCount != XR_HAND_JOINT_COUNT_EXT || !vel->jointVelocities))
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "XrHandJointVelocitiesEXT must have %d joints", XR_HAND_JOINT_COUNT_EXT);
	if (info->time <= 0) return SX_FAIL(inst, XR_ERROR_TIME_INVALID, "time %" PRId64, info->time);
	struct sx_space *base;
	if ((r = sx_get(SX_XR_ID(info->baseSpace), SX_SPACE, __func__, (void **)&base)) != XR_SUCCESS) return r;
	if (base->session != s) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "baseSpace belongs to another session");

	struct sx_joint now[XR_HAND_JOINT_COUNT_EXT], before[XR_HAND_JOINT_COUNT_EXT], after[XR_HAND_JOINT_COUNT_EXT];
	/* Hands are input: without focus they are not tracked. */
	bool active = sx_session_focused(s) && hand_joints(t, base, info->time, now);
	locations->isActive = active;
	bool moving = active && vel && hand_joints(t, base, info->time - VELOCITY_STEP, before) &&
	              hand_joints(t, base, info->time + VELOCITY_STEP, after);
	for (int j = 0; j < XR_HAND_JOINT_COUNT_EXT; j++) {
		XrHandJointLocationEXT *loc = &locations->jointLocations[j];
		loc->locationFlags = active ? XR_SPACE_LOCATION_ORIENTATION_VALID_BIT | XR_SPACE_LOCATION_POSITION_VALID_BIT |
		                                  XR_SPACE_LOCATION_ORIENTATION_TRACKED_BIT | XR_SPACE_LOCATION_POSITION_TRACKED_BIT
		                            : 0;
		loc->pose = sx_pose_to_xr(active ? &now[j].pose : &g_identity);
		loc->radius = active ? (float)now[j].radius : 0;
		if (vel) {
			XrHandJointVelocityEXT *v = &vel->jointVelocities[j];
			v->velocityFlags = 0;
			v->linearVelocity = v->angularVelocity = (XrVector3f){0, 0, 0};
			if (moving) {
				velocity(&before[j].pose, &after[j].pose, 2 * VELOCITY_STEP * 1e-9, &v->linearVelocity, &v->angularVelocity);
				v->velocityFlags = XR_SPACE_VELOCITY_LINEAR_VALID_BIT | XR_SPACE_VELOCITY_ANGULAR_VALID_BIT;
			}
		}
	}
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrLocateHandJointsEXT,
                (XrHandTrackerEXT tracker, const XrHandJointsLocateInfoEXT *info, XrHandJointLocationsEXT *locations),
                (tracker, info, locations))
