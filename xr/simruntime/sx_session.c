/* sx_session: the session state machine and the frame loop.
 *
 * States move IDLE -> READY at creation; xrBeginSession (allowed once the application has polled READY)
 * starts the frame loop; the first xrWaitFrame moves to SYNCHRONIZED, the first one after a completed frame to
 * VISIBLE and FOCUSED. A requested exit walks back through VISIBLE and SYNCHRONIZED to STOPPING, and
 * xrEndSession ends in IDLE then EXITING (or READY again after a runtime-initiated stop). Calls are checked
 * against the state the application has polled, so an application that acts before reading its events is
 * caught. A loss queues LOSS_PENDING; calls answer XR_SESSION_LOSS_PENDING until the application has polled it
 * and XR_ERROR_SESSION_LOST after.
 *
 * Clock: frame n of the instance is displayed at SIMXR_EPOCH_NS + n * period, whatever the wall clock says;
 * xrWaitFrame never sleeps unless realtime mode is on. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simxr.h"
#include "sx_internal.h"

static const char *state_name(XrSessionState s)
{
	switch (s) {
	case XR_SESSION_STATE_IDLE: return "IDLE";
	case XR_SESSION_STATE_READY: return "READY";
	case XR_SESSION_STATE_SYNCHRONIZED: return "SYNCHRONIZED";
	case XR_SESSION_STATE_VISIBLE: return "VISIBLE";
	case XR_SESSION_STATE_FOCUSED: return "FOCUSED";
	case XR_SESSION_STATE_STOPPING: return "STOPPING";
	case XR_SESSION_STATE_LOSS_PENDING: return "LOSS_PENDING";
	case XR_SESSION_STATE_EXITING: return "EXITING";
	default: return "UNKNOWN";
	}
}

XrResult sx_session_get(XrSession handle, const char *func, struct sx_session **out)
{
	struct sx_session *s;
	XrResult r = sx_get(SX_XR_ID(handle), SX_SESSION, func, (void **)&s);
	if (r != XR_SUCCESS) return r;
	if (s->loss_delivered) return XR_ERROR_SESSION_LOST;
	*out = s;
	return XR_SUCCESS;
}

XrResult sx_session_result(const struct sx_session *s, XrResult r)
{
	return r >= 0 && s->loss_queued ? XR_SESSION_LOSS_PENDING : r;
}

void sx_session_queue_state(struct sx_session *s, XrSessionState state)
{
	struct sx_instance *inst = s->base.instance;
	s->state = state;
	struct sx_event ev = {.size = sizeof(XrEventDataSessionStateChanged)};
	ev.u.state = (XrEventDataSessionStateChanged){XR_TYPE_EVENT_DATA_SESSION_STATE_CHANGED, NULL,
	                                              SX_TO_XR(XrSession, s), state, inst->now};
	sx_queue_event(inst, &ev);
	sx_log(SX_LOG_DEBUG, "session state %s", state_name(state));
}

void sx_session_state_delivered(struct sx_session *s, XrSessionState state)
{
	s->app_state = state;
	if (state == XR_SESSION_STATE_LOSS_PENDING) s->loss_delivered = true;
}

bool sx_session_focused(const struct sx_session *s)
{
	return s->state == XR_SESSION_STATE_FOCUSED && !s->loss_queued;
}

/* Back down from wherever the running session is to STOPPING, one state at a time. */
static void queue_stopping(struct sx_session *s)
{
	if (s->state == XR_SESSION_STATE_FOCUSED) sx_session_queue_state(s, XR_SESSION_STATE_VISIBLE);
	if (s->state == XR_SESSION_STATE_VISIBLE || s->state == XR_SESSION_STATE_READY)
		sx_session_queue_state(s, XR_SESSION_STATE_SYNCHRONIZED);
	if (s->state == XR_SESSION_STATE_SYNCHRONIZED) sx_session_queue_state(s, XR_SESSION_STATE_STOPPING);
}

static struct sx_pose yaw_only(struct sx_pose p)
{
	/* Heading of the -Z axis projected on the floor. */
	double fwd[3];
	sx_quat_rotate(p.q, (const double[3]){0, 0, -1}, fwd);
	double yaw = atan2(-fwd[0], -fwd[2]);
	sx_quat_axis_angle((const double[3]){0, 1, 0}, yaw, p.q);
	return p;
}

static void recenter(struct sx_session *s)
{
	struct sx_instance *inst = s->base.instance;
	struct sx_pose old = s->local;
	s->local = yaw_only(sx_script_head(inst->script, sx_script_time(inst, inst->now)));
	struct sx_event ev = {.size = sizeof(XrEventDataReferenceSpaceChangePending)};
	struct sx_pose in_previous = sx_pose_relative(&old, &s->local);
	ev.u.space_change = (XrEventDataReferenceSpaceChangePending){
		XR_TYPE_EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING, NULL, SX_TO_XR(XrSession, s),
		XR_REFERENCE_SPACE_TYPE_LOCAL, inst->now, XR_TRUE, sx_pose_to_xr(&in_previous)};
	sx_queue_event(inst, &ev);
}

void sx_session_fire(struct sx_session *s, enum sx_script_event ev)
{
	if (s->loss_queued) return;
	switch (ev) {
	case SX_EVENT_LOSS:
		s->loss_queued = true;
		sx_session_queue_state(s, XR_SESSION_STATE_LOSS_PENDING);
		pthread_cond_broadcast(&s->frame_cond);
		sx_log(SX_LOG_INFO, "session loss pending");
		break;
	case SX_EVENT_EXIT:
	case SX_EVENT_STOP:
		if (ev == SX_EVENT_EXIT) s->exit_requested = true;
		if (s->running)
			queue_stopping(s);
		else if (s->state == XR_SESSION_STATE_IDLE && s->exit_requested)
			sx_session_queue_state(s, XR_SESSION_STATE_EXITING);
		/* READY but not begun: xrBeginSession goes straight on to STOPPING. */
		break;
	case SX_EVENT_UNFOCUS:
		s->unfocused = true;
		if (s->state == XR_SESSION_STATE_FOCUSED) sx_session_queue_state(s, XR_SESSION_STATE_VISIBLE);
		break;
	case SX_EVENT_FOCUS:
		s->unfocused = false;
		if (s->state == XR_SESSION_STATE_VISIBLE && s->running) sx_session_queue_state(s, XR_SESSION_STATE_FOCUSED);
		break;
	case SX_EVENT_RECENTER:
		recenter(s);
		break;
	case SX_EVENT_INSTANCE_LOSS:
		break;
	}
}

/* ---- creation ---- */
static XrResult xrCreateSession_locked(XrInstance instance, const XrSessionCreateInfo *ci, XrSession *out)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!ci || ci->type != XR_TYPE_SESSION_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or session is NULL, or the wrong type");
	if ((r = sx_check_system(inst, ci->systemId, __func__)) != XR_SUCCESS) return r;
	if (ci->createFlags) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createFlags must be 0");
	if (!inst->requirements_called)
		return SX_FAIL(inst, XR_ERROR_GRAPHICS_REQUIREMENTS_CALL_MISSING,
		               "call xrGetVulkanGraphicsRequirements(2)KHR before xrCreateSession");
	const XrGraphicsBindingVulkanKHR *binding = NULL;
	uint32_t bindings = 0;
	for (const XrBaseInStructure *n = ci->next; n; n = n->next)
		if (n->type == XR_TYPE_GRAPHICS_BINDING_VULKAN_KHR) binding = (const void *)n, bindings++;
	if (bindings != 1 || !(inst->ext[SX_EXT_VULKAN] || inst->ext[SX_EXT_VULKAN2]))
		return SX_FAIL(inst, XR_ERROR_GRAPHICS_DEVICE_INVALID,
		               "the next chain needs exactly one XrGraphicsBindingVulkan(2)KHR (with a Vulkan extension enabled)");
	if (inst->session) return SX_FAIL(inst, XR_ERROR_LIMIT_REACHED, "one session at a time");

	struct sx_session *s = calloc(1, sizeof *s);
	if (!s) return XR_ERROR_OUT_OF_MEMORY;
	sx_cond_init(&s->frame_cond);
	s->state = s->app_state = XR_SESSION_STATE_UNKNOWN;
	s->waited_frame = s->begun_frame = -1;
	if ((r = sx_register(&s->base, SX_SESSION, &inst->base, inst)) != XR_SUCCESS) {
		pthread_cond_destroy(&s->frame_cond);
		free(s);
		return r;
	}
	inst->session = s;
	if ((r = sx_vk_session_init(s, binding)) != XR_SUCCESS) {
		sx_destroy(&s->base);
		return r;
	}
	s->local = yaw_only(sx_script_head(inst->script, sx_script_time(inst, inst->now)));
	sx_session_queue_state(s, XR_SESSION_STATE_IDLE);
	sx_session_queue_state(s, XR_SESSION_STATE_READY);
	*out = SX_TO_XR(XrSession, s);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateSession, (XrInstance instance, const XrSessionCreateInfo *ci, XrSession *out),
                (instance, ci, out))

void sx_session_free(struct sx_session *s)
{
	struct sx_instance *inst = s->base.instance;
	sx_vk_session_fini(s);
	sx_drop_session_events(inst, SX_TO_XR(XrSession, s));
	if (inst->session == s) inst->session = NULL;
	pthread_cond_destroy(&s->frame_cond);
	free(s->attached_sets);
	free(s);
}

static XrResult xrDestroySession_locked(XrSession session)
{
	struct sx_session *s = sx_lookup(SX_XR_ID(session), SX_SESSION);
	if (!s) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrSession");
	sx_destroy(&s->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroySession, (XrSession session), (session))

/* ---- running ---- */
static XrResult xrBeginSession_locked(XrSession session, const XrSessionBeginInfo *info)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_SESSION_BEGIN_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "beginInfo is NULL or not XR_TYPE_SESSION_BEGIN_INFO");
	if (info->primaryViewConfigurationType != XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO)
		return SX_FAIL(inst, XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED, "only PRIMARY_STEREO is simulated");
	if (s->running) return SX_FAIL(inst, XR_ERROR_SESSION_RUNNING, "the session is already running");
	if (s->app_state != XR_SESSION_STATE_READY)
		return SX_FAIL(inst, XR_ERROR_SESSION_NOT_READY, "the application has not received READY (it has seen %s)",
		               state_name(s->app_state));
	s->running = true;
	s->run_generation++;
	s->view_config = info->primaryViewConfigurationType;
	s->wait_outstanding = s->frame_begun = false;
	s->frames_ended = 0;
	s->depth_views = 0;
	if (s->exit_requested || s->state != XR_SESSION_STATE_READY) queue_stopping(s); /* stopped before it began */
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrBeginSession, (XrSession session, const XrSessionBeginInfo *info), (session, info))

static XrResult xrEndSession_locked(XrSession session)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!s->running) return SX_FAIL(inst, XR_ERROR_SESSION_NOT_RUNNING, "the session is not running");
	if (s->app_state != XR_SESSION_STATE_STOPPING && !s->loss_queued)
		return SX_FAIL(inst, XR_ERROR_SESSION_NOT_STOPPING, "the application has not received STOPPING (it has seen %s)",
		               state_name(s->app_state));
	s->running = false;
	s->run_generation++;
	s->wait_outstanding = s->frame_begun = false;
	pthread_cond_broadcast(&s->frame_cond);
	if (!s->loss_queued) {
		sx_session_queue_state(s, XR_SESSION_STATE_IDLE);
		sx_session_queue_state(s, s->exit_requested ? XR_SESSION_STATE_EXITING : XR_SESSION_STATE_READY);
	}
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrEndSession, (XrSession session), (session))

static XrResult xrRequestExitSession_locked(XrSession session)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	if (!s->running) return SX_FAIL(s->base.instance, XR_ERROR_SESSION_NOT_RUNNING, "the session is not running");
	s->exit_requested = true;
	queue_stopping(s);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrRequestExitSession, (XrSession session), (session))

/* ---- frame loop ---- */
static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void realtime_pace(struct sx_instance *inst, int64_t frame)
{
	if (frame == 0 || inst->wall_start == 0) inst->wall_start = wall_now() - (double)frame * inst->period * 1e-9;
	double wait = inst->wall_start + (double)frame * inst->period * 1e-9 - wall_now();
	if (wait <= 0) return;
	struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
	sx_unlock(); /* other threads keep calling while this one paces */
	nanosleep(&ts, NULL);
	sx_lock();
}

static XrResult xrWaitFrame_locked(XrSession session, const XrFrameWaitInfo *info, XrFrameState *state)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (info && info->type != XR_TYPE_FRAME_WAIT_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "frameWaitInfo is not XR_TYPE_FRAME_WAIT_INFO");
	if (!state || state->type != XR_TYPE_FRAME_STATE)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "frameState is NULL or not XR_TYPE_FRAME_STATE");
	if (!s->running) return SX_FAIL(inst, XR_ERROR_SESSION_NOT_RUNNING, "the session is not running");
	/* A second wait blocks until the previous frame has begun (on another thread). */
	uint64_t generation = s->run_generation;
	for (int seconds = 0; s->wait_outstanding && s->run_generation == generation && !s->loss_queued;)
		if (sx_cond_wait(&s->frame_cond, 1.0) && ++seconds == 5)
			sx_log(SX_LOG_WARN, "xrWaitFrame: blocked 5 s until the previous frame's xrBeginFrame (two waits on one "
			                    "thread never return)");
	if (s->run_generation != generation || !s->running)
		return SX_FAIL(inst, XR_ERROR_SESSION_NOT_RUNNING, "the session stopped running during the wait");

	int64_t frame = inst->next_frame++;
	if (inst->cfg.realtime) realtime_pace(inst, frame);
	inst->now = inst->epoch + frame * inst->period;
	s->wait_outstanding = true;
	s->waited_frame = frame;

	if (s->state == XR_SESSION_STATE_READY) {
		sx_session_queue_state(s, XR_SESSION_STATE_SYNCHRONIZED);
	} else if (s->state == XR_SESSION_STATE_SYNCHRONIZED && s->frames_ended > 0) {
		sx_session_queue_state(s, XR_SESSION_STATE_VISIBLE);
		if (!s->unfocused) sx_session_queue_state(s, XR_SESSION_STATE_FOCUSED);
	}
	sx_instance_advance(inst, sx_script_time(inst, inst->now));

	state->predictedDisplayTime = inst->now;
	state->predictedDisplayPeriod = inst->period;
	state->shouldRender = s->state == XR_SESSION_STATE_VISIBLE || s->state == XR_SESSION_STATE_FOCUSED;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrWaitFrame, (XrSession session, const XrFrameWaitInfo *info, XrFrameState *state),
                (session, info, state))

static XrResult xrBeginFrame_locked(XrSession session, const XrFrameBeginInfo *info)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (info && info->type != XR_TYPE_FRAME_BEGIN_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "frameBeginInfo is not XR_TYPE_FRAME_BEGIN_INFO");
	if (!s->running) return SX_FAIL(inst, XR_ERROR_SESSION_NOT_RUNNING, "the session is not running");
	if (!s->wait_outstanding)
		return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "no xrWaitFrame since the last xrBeginFrame");
	r = XR_SUCCESS;
	if (s->frame_begun) { /* the previous frame was never ended: it is discarded */
		r = XR_FRAME_DISCARDED;
		s->frames_discarded++;
	}
	s->wait_outstanding = false;
	s->frame_begun = true;
	s->begun_frame = s->waited_frame;
	pthread_cond_broadcast(&s->frame_cond);
	return sx_session_result(s, r);
}
SX_LOCKED_ENTRY(xrBeginFrame, (XrSession session, const XrFrameBeginInfo *info), (session, info))

static XrResult check_sub_image(struct sx_session *s, const XrSwapchainSubImage *sub, bool want_depth,
                                const char *what, struct sx_swapchain **out)
{
	struct sx_instance *inst = s->base.instance;
	struct sx_swapchain *sc;
	XrResult r = sx_get(SX_XR_ID(sub->swapchain), SX_SWAPCHAIN, "xrEndFrame", (void **)&sc);
	if (r != XR_SUCCESS) return r;
	if (sc->session != s) return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: swapchain of another session", what);
	if (sc->released < 0)
		return sx_error(inst, XR_ERROR_LAYER_INVALID, "xrEndFrame", "%s: the swapchain has no released image", what);
	const XrRect2Di *rc = &sub->imageRect;
	if (rc->offset.x < 0 || rc->offset.y < 0 || rc->extent.width <= 0 || rc->extent.height <= 0 ||
	    (int64_t)rc->offset.x + rc->extent.width > (int64_t)sc->info.width ||
	    (int64_t)rc->offset.y + rc->extent.height > (int64_t)sc->info.height)
		return sx_error(inst, XR_ERROR_SWAPCHAIN_RECT_INVALID, "xrEndFrame",
		                "%s: imageRect (%d,%d) %dx%d is outside the %ux%u swapchain", what, rc->offset.x, rc->offset.y,
		                rc->extent.width, rc->extent.height, sc->info.width, sc->info.height);
	if (sub->imageArrayIndex >= sc->info.arraySize)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: imageArrayIndex %u, the swapchain has %u layers",
		                what, sub->imageArrayIndex, sc->info.arraySize);
	if (sc->depth != want_depth)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: a %s swapchain is needed", what,
		                want_depth ? "depth" : "colour");
	*out = sc;
	return XR_SUCCESS;
}

static XrResult check_space(struct sx_session *s, XrSpace space, const char *what)
{
	struct sx_space *sp;
	XrResult r = sx_get(SX_XR_ID(space), SX_SPACE, "xrEndFrame", (void **)&sp);
	if (r == XR_SUCCESS && sp->session != s)
		r = sx_error(s->base.instance, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: space of another session", what);
	return r;
}

static XrResult check_projection(struct sx_session *s, const XrCompositionLayerProjection *p, uint32_t l)
{
	struct sx_instance *inst = s->base.instance;
	char what[64];
	snprintf(what, sizeof what, "layers[%u]", l);
	XrResult r = check_space(s, p->space, what);
	if (r != XR_SUCCESS) return r;
	if (p->viewCount != 2 || !p->views)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: viewCount %u, PRIMARY_STEREO has 2 views",
		                what, p->viewCount);
	for (uint32_t v = 0; v < 2; v++) {
		const XrCompositionLayerProjectionView *view = &p->views[v];
		snprintf(what, sizeof what, "layers[%u].views[%u]", l, v);
		if (view->type != XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW)
			return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: wrong structure type %d", what, view->type);
		if (!sx_xr_pose_valid(&view->pose))
			return sx_error(inst, XR_ERROR_POSE_INVALID, "xrEndFrame", "%s: pose orientation is not a unit quaternion", what);
		struct sx_swapchain *sc;
		if ((r = check_sub_image(s, &view->subImage, false, what, &sc)) != XR_SUCCESS) return r;
		const XrCompositionLayerDepthInfoKHR *d =
			inst->ext[SX_EXT_DEPTH] ? sx_find_next(view->next, XR_TYPE_COMPOSITION_LAYER_DEPTH_INFO_KHR) : NULL;
		if (d) {
			snprintf(what, sizeof what, "layers[%u].views[%u] depth", l, v);
			if ((r = check_sub_image(s, &d->subImage, true, what, &sc)) != XR_SUCCESS) return r;
			if (!(d->minDepth >= 0 && d->minDepth <= d->maxDepth && d->maxDepth <= 1) || d->nearZ == d->farZ ||
			    !isfinite(d->nearZ) || d->nearZ < 0 || d->farZ < 0)
				return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame",
				                "%s: depth range %g..%g or near/far %g/%g is invalid", what, d->minDepth, d->maxDepth,
				                d->nearZ, d->farZ);
			s->depth_views++;
		}
	}
	return XR_SUCCESS;
}

static XrResult check_quad(struct sx_session *s, const XrCompositionLayerQuad *q, uint32_t l)
{
	char what[64];
	snprintf(what, sizeof what, "layers[%u]", l);
	XrResult r = check_space(s, q->space, what);
	if (r != XR_SUCCESS) return r;
	if (!sx_xr_pose_valid(&q->pose))
		return sx_error(s->base.instance, XR_ERROR_POSE_INVALID, "xrEndFrame", "%s: pose is not valid", what);
	if (q->eyeVisibility > XR_EYE_VISIBILITY_RIGHT || !(q->size.width > 0) || !(q->size.height > 0))
		return sx_error(s->base.instance, XR_ERROR_VALIDATION_FAILURE, "xrEndFrame", "%s: bad eyeVisibility or size", what);
	struct sx_swapchain *sc;
	return check_sub_image(s, &q->subImage, false, what, &sc);
}

static XrResult xrEndFrame_locked(XrSession session, const XrFrameEndInfo *info)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_FRAME_END_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "frameEndInfo is NULL or not XR_TYPE_FRAME_END_INFO");
	if (!s->running) return SX_FAIL(inst, XR_ERROR_SESSION_NOT_RUNNING, "the session is not running");
	if (!s->frame_begun) return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "no xrBeginFrame for this frame");
	if (info->displayTime <= 0) return SX_FAIL(inst, XR_ERROR_TIME_INVALID, "displayTime %" PRId64, info->displayTime);
	if (info->environmentBlendMode != XR_ENVIRONMENT_BLEND_MODE_OPAQUE)
		return SX_FAIL(inst, XR_ERROR_ENVIRONMENT_BLEND_MODE_UNSUPPORTED, "blend mode %d; only OPAQUE",
		               info->environmentBlendMode);
	if (info->layerCount > SIMXR_MAX_LAYERS)
		return SX_FAIL(inst, XR_ERROR_LAYER_LIMIT_EXCEEDED, "%u layers, at most %u", info->layerCount, SIMXR_MAX_LAYERS);
	if (info->layerCount && !info->layers) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "layers is NULL");
	const XrCompositionLayerFlags known = XR_COMPOSITION_LAYER_CORRECT_CHROMATIC_ABERRATION_BIT |
	                                      XR_COMPOSITION_LAYER_BLEND_TEXTURE_SOURCE_ALPHA_BIT |
	                                      XR_COMPOSITION_LAYER_UNPREMULTIPLIED_ALPHA_BIT;
	for (uint32_t l = 0; l < info->layerCount; l++) {
		const XrCompositionLayerBaseHeader *layer = info->layers[l];
		if (!layer) return SX_FAIL(inst, XR_ERROR_LAYER_INVALID, "layers[%u] is NULL", l);
		if (layer->layerFlags & ~known)
			return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "layers[%u].layerFlags has unknown bits", l);
		if (layer->type == XR_TYPE_COMPOSITION_LAYER_PROJECTION)
			r = check_projection(s, (const XrCompositionLayerProjection *)layer, l);
		else if (layer->type == XR_TYPE_COMPOSITION_LAYER_QUAD)
			r = check_quad(s, (const XrCompositionLayerQuad *)layer, l);
		else
			r = SX_FAIL(inst, XR_ERROR_LAYER_INVALID, "layers[%u] has unsupported type %d", l, layer->type);
		if (r != XR_SUCCESS) return r;
	}
	if (inst->cfg.capture[0] && sx_config_capture_frame(&inst->cfg, s->begun_frame) &&
	    (r = sx_vk_capture_frame(s, info, s->begun_frame)) != XR_SUCCESS)
		return r;
	s->frame_begun = false;
	s->frames_ended++;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrEndFrame, (XrSession session, const XrFrameEndInfo *info), (session, info))

/* ---- views ---- */
static XrResult xrLocateViews_locked(XrSession session, const XrViewLocateInfo *info, XrViewState *state,
                                     uint32_t capacity, uint32_t *count, XrView *views)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_VIEW_LOCATE_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "viewLocateInfo is NULL or not XR_TYPE_VIEW_LOCATE_INFO");
	if (!state || state->type != XR_TYPE_VIEW_STATE)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "viewState is NULL or not XR_TYPE_VIEW_STATE");
	if (info->viewConfigurationType != XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO)
		return SX_FAIL(inst, XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED, "only PRIMARY_STEREO is simulated");
	if (s->view_config != info->viewConfigurationType)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "the session was not begun with that view configuration");
	if (info->displayTime <= 0) return SX_FAIL(inst, XR_ERROR_TIME_INVALID, "displayTime %" PRId64, info->displayTime);
	struct sx_space *sp;
	if ((r = sx_get(SX_XR_ID(info->space), SX_SPACE, __func__, (void **)&sp)) != XR_SUCCESS) return r;
	if (sp->session != s) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "space belongs to another session");
	bool fill;
	if ((r = sx_two_call(inst, __func__, capacity, count, 2, views, &fill)) != XR_SUCCESS || !fill)
		return r == XR_SUCCESS ? sx_session_result(s, r) : r;
	for (uint32_t v = 0; v < 2; v++)
		if (views[v].type != XR_TYPE_VIEW)
			return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "views[%u].type is %d", v, views[v].type);

	struct sx_pose base;
	bool located = sx_space_pose(sp, info->displayTime, &base);
	struct sx_pose head = sx_script_head(inst->script, sx_script_time(inst, info->displayTime));
	state->viewStateFlags = located ? XR_VIEW_STATE_ORIENTATION_VALID_BIT | XR_VIEW_STATE_POSITION_VALID_BIT |
	                                      XR_VIEW_STATE_ORIENTATION_TRACKED_BIT | XR_VIEW_STATE_POSITION_TRACKED_BIT
	                                : 0;
	for (uint32_t v = 0; v < 2; v++) {
		struct sx_pose eye_in_head = {{(v == 0 ? -0.5 : 0.5) * inst->cfg.ipd, 0, 0}, {0, 0, 0, 1}};
		struct sx_pose eye = sx_pose_mul(&head, &eye_in_head);
		struct sx_pose rel = located ? sx_pose_relative(&base, &eye) : SX_POSE_IDENTITY;
		views[v].pose = sx_pose_to_xr(&rel);
		views[v].fov = (XrFovf){(float)inst->cfg.fov[0], (float)inst->cfg.fov[1], (float)inst->cfg.fov[2],
		                        (float)inst->cfg.fov[3]};
	}
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrLocateViews,
                (XrSession session, const XrViewLocateInfo *info, XrViewState *state, uint32_t capacity,
                 uint32_t *count, XrView *views),
                (session, info, state, capacity, count, views))
