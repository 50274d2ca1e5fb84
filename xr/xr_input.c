/* The headset user's input: both hands from XR_EXT_hand_tracking (joints, and gestures from them), and the
 * action system's khr/simple_controller (select, menu, aim pose) as the fallback when a hand is not tracked.
 * Everything is located in the presenter's reference space at the frame's predicted display time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xr_internal.h"

struct xr_input {
	XrInstance instance;
	XrSession session;
	XrActionSet set;
	XrAction select, menu, aim;
	XrPath hands[2];
	XrSpace aim_spaces[2];
	XrHandTrackerEXT trackers[2];
	PFN_xrCreateHandTrackerEXT create_tracker;
	PFN_xrDestroyHandTrackerEXT destroy_tracker;
	PFN_xrLocateHandJointsEXT locate_joints;
	struct hand_gestures gestures[2];
	bool menu_down[2];
};

static enum cv_result make_action(struct xr_input *in, const char *name, const char *label, XrActionType type,
                                  XrAction *out)
{
	XrActionCreateInfo ai = {.type = XR_TYPE_ACTION_CREATE_INFO, .actionType = type, .countSubactionPaths = 2,
	                         .subactionPaths = in->hands};
	strncpy(ai.actionName, name, sizeof(ai.actionName) - 1);
	strncpy(ai.localizedActionName, label, sizeof(ai.localizedActionName) - 1);
	XR_TRY(in, xrCreateAction(in->set, &ai, out));
	return CV_OK;
}

static enum cv_result path(struct xr_input *in, const char *s, XrPath *out)
{
	return xr_check(in->instance, xrStringToPath(in->instance, s, out), s, __FILE__, __LINE__); /* names the path */
}

static enum cv_result create_actions(struct xr_input *in)
{
	CV_TRY(path(in, "/user/hand/left", &in->hands[0]));
	CV_TRY(path(in, "/user/hand/right", &in->hands[1]));
	XrActionSetCreateInfo si = {.type = XR_TYPE_ACTION_SET_CREATE_INFO, .actionSetName = "meeting",
	                            .localizedActionSetName = "Meeting"};
	XR_TRY(in, xrCreateActionSet(in->instance, &si, &in->set));
	CV_TRY(make_action(in, "select", "Select", XR_ACTION_TYPE_BOOLEAN_INPUT, &in->select));
	CV_TRY(make_action(in, "menu", "Play or pause", XR_ACTION_TYPE_BOOLEAN_INPUT, &in->menu));
	CV_TRY(make_action(in, "aim", "Aim", XR_ACTION_TYPE_POSE_INPUT, &in->aim));
	static const char *const suffix[3] = {"input/select/click", "input/menu/click", "input/aim/pose"};
	XrAction actions[3] = {in->select, in->menu, in->aim};
	XrActionSuggestedBinding b[6];
	for (int h = 0; h < 2; h++)
		for (int a = 0; a < 3; a++) {
			char p[128];
			snprintf(p, sizeof(p), "/user/hand/%s/%s", h ? "right" : "left", suffix[a]);
			b[h * 3 + a].action = actions[a];
			CV_TRY(path(in, p, &b[h * 3 + a].binding));
		}
	XrInteractionProfileSuggestedBinding sb = {.type = XR_TYPE_INTERACTION_PROFILE_SUGGESTED_BINDING,
	                                           .countSuggestedBindings = 6, .suggestedBindings = b};
	CV_TRY(path(in, "/interaction_profiles/khr/simple_controller", &sb.interactionProfile));
	XR_TRY(in, xrSuggestInteractionProfileBindings(in->instance, &sb));
	XrSessionActionSetsAttachInfo at = {.type = XR_TYPE_SESSION_ACTION_SETS_ATTACH_INFO, .countActionSets = 1,
	                                    .actionSets = &in->set};
	XR_TRY(in, xrAttachSessionActionSets(in->session, &at));
	for (int h = 0; h < 2; h++) {
		XrActionSpaceCreateInfo ci = {.type = XR_TYPE_ACTION_SPACE_CREATE_INFO, .action = in->aim,
		                              .subactionPath = in->hands[h], .poseInActionSpace = {.orientation = {0, 0, 0, 1}}};
		XR_TRY(in, xrCreateActionSpace(in->session, &ci, &in->aim_spaces[h]));
	}
	return CV_OK;
}

static enum cv_result create_trackers(struct xr_input *in, XrSystemId system)
{
	XrSystemHandTrackingPropertiesEXT ht = {.type = XR_TYPE_SYSTEM_HAND_TRACKING_PROPERTIES_EXT};
	XrSystemProperties sp = {.type = XR_TYPE_SYSTEM_PROPERTIES, .next = &ht};
	XR_TRY(in, xrGetSystemProperties(in->instance, system, &sp));
	if (!ht.supportsHandTracking) {
		CV_INFO("xr: the headset does not track hands; controllers only");
		return CV_OK;
	}
	xrGetInstanceProcAddr(in->instance, "xrCreateHandTrackerEXT", (PFN_xrVoidFunction *)&in->create_tracker);
	xrGetInstanceProcAddr(in->instance, "xrDestroyHandTrackerEXT", (PFN_xrVoidFunction *)&in->destroy_tracker);
	xrGetInstanceProcAddr(in->instance, "xrLocateHandJointsEXT", (PFN_xrVoidFunction *)&in->locate_joints);
	if (!in->create_tracker || !in->destroy_tracker || !in->locate_joints)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "XR_EXT_hand_tracking is enabled but its functions are missing");
	for (int h = 0; h < 2; h++) {
		XrHandTrackerCreateInfoEXT ci = {.type = XR_TYPE_HAND_TRACKER_CREATE_INFO_EXT,
		                                 .hand = h ? XR_HAND_RIGHT_EXT : XR_HAND_LEFT_EXT,
		                                 .handJointSet = XR_HAND_JOINT_SET_DEFAULT_EXT};
		XR_TRY(in, in->create_tracker(in->session, &ci, &in->trackers[h]));
	}
	return CV_OK;
}

enum cv_result xr_input_create(XrInstance instance, XrSystemId system, XrSession session, bool hand_tracking,
                               struct xr_input **out)
{
	*out = NULL;
	struct xr_input *in = calloc(1, sizeof(*in));
	if (!in) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "xr input");
	in->instance = instance;
	in->session = session;
	enum cv_result r = create_actions(in);
	if (r == CV_OK && hand_tracking) r = create_trackers(in, system);
	if (r != CV_OK) {
		xr_input_destroy(&in);
		return r;
	}
	*out = in;
	return CV_OK;
}

void xr_input_destroy(struct xr_input **pin)
{
	struct xr_input *in = *pin;
	if (!in) return;
	for (int h = 0; h < 2; h++) {
		if (in->trackers[h]) in->destroy_tracker(in->trackers[h]);
		if (in->aim_spaces[h]) xrDestroySpace(in->aim_spaces[h]);
	}
	if (in->set) xrDestroyActionSet(in->set); /* destroys its actions */
	free(in);
	*pin = NULL;
}

static void pose_to_codec(const XrPosef *p, struct codec_pose *out)
{
	out->position[0] = p->position.x;
	out->position[1] = p->position.y;
	out->position[2] = p->position.z;
	out->orientation[0] = p->orientation.x;
	out->orientation[1] = p->orientation.y;
	out->orientation[2] = p->orientation.z;
	out->orientation[3] = p->orientation.w;
}

static enum cv_result locate_hand(struct xr_input *in, int h, XrSpace space, XrTime time, struct codec_hand *out)
{
	out->tracked = false;
	if (!in->trackers[h]) return CV_OK;
	XrHandJointLocationEXT joints[XR_HAND_JOINT_COUNT_EXT];
	XrHandJointLocationsEXT locations = {.type = XR_TYPE_HAND_JOINT_LOCATIONS_EXT,
	                                     .jointCount = XR_HAND_JOINT_COUNT_EXT, .jointLocations = joints};
	XrHandJointsLocateInfoEXT li = {.type = XR_TYPE_HAND_JOINTS_LOCATE_INFO_EXT, .baseSpace = space, .time = time};
	XR_TRY(in, in->locate_joints(in->trackers[h], &li, &locations));
	if (!locations.isActive) return CV_OK;
	out->tracked = true;
	for (int j = 0; j < CODEC_HAND_JOINTS; j++) {
		pose_to_codec(&joints[j].pose, &out->joints[j].pose);
		out->joints[j].radius = joints[j].radius;
		out->joints[j].flags = (uint8_t)(joints[j].locationFlags & 0xf); /* the XrSpaceLocationFlags bits */
	}
	return CV_OK;
}

/* A pointer from the centre eye through the pinch point: where the user looks and pinches is what they mean. */
static void hand_pointer(const struct render_views *views, struct present_hand *hand)
{
	vec3 eye, dir;
	glm_vec3_center((float *)views->view[0].eye, (float *)views->view[1].eye, eye);
	glm_vec3_sub(hand->gestures.pinch_point, eye, dir);
	if (glm_vec3_norm(dir) < 1e-3f) return;
	glm_vec3_normalize(dir);
	glm_vec3_copy(eye, hand->pointer_origin);
	glm_vec3_copy(dir, hand->pointer_dir);
	hand->has_pointer = true;
}

static bool boolean_state(struct xr_input *in, XrAction action, int h)
{
	XrActionStateGetInfo gi = {.type = XR_TYPE_ACTION_STATE_GET_INFO, .action = action, .subactionPath = in->hands[h]};
	XrActionStateBoolean st = {.type = XR_TYPE_ACTION_STATE_BOOLEAN};
	return XR_SUCCEEDED(xrGetActionStateBoolean(in->session, &gi, &st)) && st.isActive && st.currentState;
}

enum cv_result xr_input_update(struct xr_input *in, XrSpace space, XrTime time, bool focused,
                               const struct render_views *views, struct present_user *user, uint32_t *menu_presses)
{
	*menu_presses = 0;
	memset(user, 0, sizeof(*user));
	if (!focused) { /* input belongs to the system while it has focus */
		memset(in->gestures, 0, sizeof(in->gestures));
		return CV_OK;
	}
	XrActiveActionSet active = {.actionSet = in->set};
	XrActionsSyncInfo sync = {.type = XR_TYPE_ACTIONS_SYNC_INFO, .countActiveActionSets = 1, .activeActionSets = &active};
	XrResult xr = xrSyncActions(in->session, &sync);
	if (xr != XR_SESSION_NOT_FOCUSED) XR_TRY(in, xr);
	for (int h = 0; h < 2; h++) {
		struct present_hand *hand = &user->hands[h];
		CV_TRY(locate_hand(in, h, space, time, &hand->joints));
		bool menu = boolean_state(in, in->menu, h);
		if (menu && !in->menu_down[h]) (*menu_presses)++;
		in->menu_down[h] = menu;
		if (hand->joints.tracked) {
			hand_gestures_update(&in->gestures[h], &hand->joints);
			hand->gestures = in->gestures[h];
			if (views->count == 2) hand_pointer(views, hand);
			continue;
		}
		/* No tracked hand: the controller's aim ray, select as a pinch. */
		memset(&in->gestures[h], 0, sizeof(in->gestures[h]));
		XrSpaceLocation loc = {.type = XR_TYPE_SPACE_LOCATION};
		if (!XR_SUCCEEDED(xrLocateSpace(in->aim_spaces[h], space, time, &loc)) ||
		    !(loc.locationFlags & XR_SPACE_LOCATION_POSITION_VALID_BIT) ||
		    !(loc.locationFlags & XR_SPACE_LOCATION_ORIENTATION_VALID_BIT))
			continue;
		struct codec_pose aim;
		pose_to_codec(&loc.pose, &aim);
		versor q = {aim.orientation[0], aim.orientation[1], aim.orientation[2], aim.orientation[3]};
		vec3 forward = {0, 0, -1};
		glm_quat_rotatev(q, forward, hand->pointer_dir);
		glm_vec3_copy(aim.position, hand->pointer_origin);
		glm_vec3_copy(aim.position, hand->gestures.pinch_point);
		glm_vec3_copy(aim.position, hand->gestures.palm);
		hand->has_pointer = true;
		hand->controller = true;
		hand->gestures.pinch = boolean_state(in, in->select, h);
	}
	return CV_OK;
}
