/* sx_action: paths, action sets, actions, suggested bindings and action states.
 *
 * The simulated hands hold khr/simple_controller devices (select and menu buttons, grip and aim poses, a
 * haptic output), driven by the script. Suggestions for a handful of other well-known profiles are accepted
 * and checked for shape (so applications that suggest several profiles work) but never become active: only
 * simple_controller bindings resolve, at xrAttachSessionActionSets. Input is active only while the session is
 * FOCUSED, the action's set was synced and the controller is connected in the script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx_internal.h"

#define MAX_PATHS 65536

/* ---- paths ---- */
static bool path_well_formed(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n >= XR_MAX_PATH_LENGTH || s[0] != '/' || s[n - 1] == '/') return false;
	bool only_dots = true;
	for (size_t i = 1; i <= n; i++) {
		char c = s[i];
		if (c == '/' || c == 0) {
			if (s[i - 1] == '/' || only_dots) return false; /* empty, ".", ".." components */
			only_dots = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
		if (c != '.') only_dots = false;
	}
	return true;
}

XrPath sx_path_intern(struct sx_instance *inst, const char *str)
{
	for (uint32_t i = 0; i < inst->path_count; i++)
		if (strcmp(inst->paths[i], str) == 0) return i + 1;
	if (inst->path_count == MAX_PATHS) return XR_NULL_PATH;
	if (inst->path_count == inst->path_capacity) {
		uint32_t cap = inst->path_capacity ? inst->path_capacity * 2 : 64;
		char **grown = realloc(inst->paths, cap * sizeof *grown);
		if (!grown) return XR_NULL_PATH;
		inst->paths = grown;
		inst->path_capacity = cap;
	}
	char *copy = strdup(str);
	if (!copy) return XR_NULL_PATH;
	inst->paths[inst->path_count++] = copy;
	return inst->path_count;
}

const char *sx_path_string(const struct sx_instance *inst, XrPath path)
{
	return path >= 1 && path <= inst->path_count ? inst->paths[path - 1] : NULL;
}

void sx_instance_free_paths(struct sx_instance *inst)
{
	for (uint32_t i = 0; i < inst->path_count; i++) free(inst->paths[i]);
	free(inst->paths);
	inst->paths = NULL;
	inst->path_count = inst->path_capacity = 0;
}

static const char *g_hand_paths[SX_HAND_COUNT] = {"/user/hand/left", "/user/hand/right"};
static const char *g_top_level[] = {"/user/hand/left", "/user/hand/right", "/user/head", "/user/gamepad",
                                    "/user/treadmill"};

int sx_path_hand(const struct sx_instance *inst, XrPath path)
{
	const char *s = sx_path_string(inst, path);
	for (int h = 0; s && h < SX_HAND_COUNT; h++)
		if (strcmp(s, g_hand_paths[h]) == 0) return h;
	return -1;
}

static bool top_level(const struct sx_instance *inst, XrPath path)
{
	const char *s = sx_path_string(inst, path);
	for (size_t i = 0; s && i < sizeof g_top_level / sizeof g_top_level[0]; i++)
		if (strcmp(s, g_top_level[i]) == 0) return true;
	return false;
}

static XrResult xrStringToPath_locked(XrInstance instance, const char *str, XrPath *path)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!str || !path) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "pathString or path is NULL");
	if (!path_well_formed(str)) return SX_FAIL(inst, XR_ERROR_PATH_FORMAT_INVALID, "'%s' is not a well-formed path", str);
	XrPath p = sx_path_intern(inst, str);
	if (!p) return SX_FAIL(inst, XR_ERROR_PATH_COUNT_EXCEEDED, "no more paths");
	*path = p;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrStringToPath, (XrInstance instance, const char *str, XrPath *path), (instance, str, path))

static XrResult xrPathToString_locked(XrInstance instance, XrPath path, uint32_t capacity, uint32_t *count, char *buffer)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	const char *s = sx_path_string(inst, path);
	if (!s) return SX_FAIL(inst, XR_ERROR_PATH_INVALID, "path %llu was not made by xrStringToPath", (unsigned long long)path);
	bool fill;
	r = sx_two_call(inst, __func__, capacity, count, (uint32_t)strlen(s) + 1, buffer, &fill);
	if (r == XR_SUCCESS && fill) memcpy(buffer, s, strlen(s) + 1);
	return r;
}
SX_LOCKED_ENTRY(xrPathToString, (XrInstance instance, XrPath path, uint32_t capacity, uint32_t *count, char *buffer),
                (instance, path, capacity, count, buffer))

/* ---- interaction profiles ---- */
#define SIMPLE_CONTROLLER "/interaction_profiles/khr/simple_controller"

static const struct {
	const char *suffix; /* after /user/hand/<hand>/ */
	enum sx_source src;
} g_simple_components[] = {
	{"input/select/click", SX_SRC_SELECT}, {"input/select", SX_SRC_SELECT}, {"input/menu/click", SX_SRC_MENU},
	{"input/menu", SX_SRC_MENU},           {"input/grip/pose", SX_SRC_GRIP}, {"input/grip", SX_SRC_GRIP},
	{"input/aim/pose", SX_SRC_AIM},        {"input/aim", SX_SRC_AIM},        {"output/haptic", SX_SRC_HAPTIC},
};

/* Profiles applications commonly suggest alongside simple_controller: accepted, never active. */
static const char *g_other_profiles[] = {
	"/interaction_profiles/oculus/touch_controller",   "/interaction_profiles/valve/index_controller",
	"/interaction_profiles/htc/vive_controller",       "/interaction_profiles/microsoft/motion_controller",
	"/interaction_profiles/google/daydream_controller", "/interaction_profiles/oculus/go_controller",
	"/interaction_profiles/htc/vive_pro",              "/interaction_profiles/microsoft/xbox_controller",
};

/* The source a simple_controller binding names, with its hand; SX_SRC_NONE when it is not one. */
static enum sx_source simple_source(const char *binding, int *hand)
{
	for (int h = 0; h < SX_HAND_COUNT; h++) {
		size_t n = strlen(g_hand_paths[h]);
		if (strncmp(binding, g_hand_paths[h], n) != 0 || binding[n] != '/') continue;
		for (size_t i = 0; i < sizeof g_simple_components / sizeof g_simple_components[0]; i++)
			if (strcmp(binding + n + 1, g_simple_components[i].suffix) == 0) {
				*hand = h;
				return g_simple_components[i].src;
			}
	}
	return SX_SRC_NONE;
}

/* Shape check for the other profiles: <top level user path>/input|output/<identifier>[/<component>]. */
static bool plausible_binding(const char *binding)
{
	for (size_t i = 0; i < sizeof g_top_level / sizeof g_top_level[0]; i++) {
		size_t n = strlen(g_top_level[i]);
		if (strncmp(binding, g_top_level[i], n) != 0) continue;
		const char *rest = binding + n;
		if (strncmp(rest, "/input/", 7) == 0 || strncmp(rest, "/output/", 8) == 0) {
			const char *id = strchr(rest + 1, '/') + 1;
			int slashes = 0;
			for (const char *c = id; *c; c++) slashes += *c == '/';
			return *id && slashes <= 1;
		}
	}
	return false;
}

static int profile_kind(const char *profile)
{
	if (strcmp(profile, SIMPLE_CONTROLLER) == 0) return 1;
	for (size_t i = 0; i < sizeof g_other_profiles / sizeof g_other_profiles[0]; i++)
		if (strcmp(profile, g_other_profiles[i]) == 0) return 2;
	return 0;
}

/* ---- action sets and actions ---- */
static bool name_ok(const char *s, size_t size)
{
	if (!memchr(s, 0, size) || !s[0]) return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')) return false;
	return true;
}

struct dup_search {
	const char *name, *localized;
	struct sx_object *except;
	bool name_dup, localized_dup;
};

static void find_dup_set(struct sx_object *obj, void *user)
{
	struct dup_search *d = user;
	struct sx_action_set *set = (struct sx_action_set *)obj;
	if (obj == d->except) return;
	d->name_dup |= strcmp(set->name, d->name) == 0;
	d->localized_dup |= strcmp(set->localized, d->localized) == 0;
}

static void find_dup_action(struct sx_object *obj, void *user)
{
	struct dup_search *d = user;
	struct sx_action *a = (struct sx_action *)obj;
	d->name_dup |= strcmp(a->name, d->name) == 0;
	d->localized_dup |= strcmp(a->localized, d->localized) == 0;
}

static XrResult xrCreateActionSet_locked(XrInstance instance, const XrActionSetCreateInfo *ci, XrActionSet *out)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!ci || ci->type != XR_TYPE_ACTION_SET_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or actionSet is NULL, or the wrong type");
	if (!name_ok(ci->actionSetName, sizeof ci->actionSetName))
		return SX_FAIL(inst, XR_ERROR_NAME_INVALID, "actionSetName must be lower-case letters, digits, '-', '_', '.'");
	if (!memchr(ci->localizedActionSetName, 0, sizeof ci->localizedActionSetName) || !ci->localizedActionSetName[0])
		return SX_FAIL(inst, XR_ERROR_LOCALIZED_NAME_INVALID, "localizedActionSetName is empty or not terminated");
	struct dup_search d = {ci->actionSetName, ci->localizedActionSetName, NULL, false, false};
	sx_for_each(SX_ACTION_SET, &inst->base, find_dup_set, &d);
	if (d.name_dup) return SX_FAIL(inst, XR_ERROR_NAME_DUPLICATED, "an action set '%s' exists", ci->actionSetName);
	if (d.localized_dup)
		return SX_FAIL(inst, XR_ERROR_LOCALIZED_NAME_DUPLICATED, "an action set localized '%s' exists",
		               ci->localizedActionSetName);
	struct sx_action_set *set = calloc(1, sizeof *set);
	if (!set) return XR_ERROR_OUT_OF_MEMORY;
	snprintf(set->name, sizeof set->name, "%s", ci->actionSetName);
	snprintf(set->localized, sizeof set->localized, "%s", ci->localizedActionSetName);
	set->priority = ci->priority;
	if ((r = sx_register(&set->base, SX_ACTION_SET, &inst->base, inst)) != XR_SUCCESS) {
		free(set);
		return r;
	}
	*out = SX_TO_XR(XrActionSet, set);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateActionSet, (XrInstance instance, const XrActionSetCreateInfo *ci, XrActionSet *out),
                (instance, ci, out))

static XrResult xrDestroyActionSet_locked(XrActionSet handle)
{
	struct sx_action_set *set = sx_lookup(SX_XR_ID(handle), SX_ACTION_SET);
	if (!set) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrActionSet");
	sx_destroy(&set->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroyActionSet, (XrActionSet set), (set))

static XrResult xrCreateAction_locked(XrActionSet set_handle, const XrActionCreateInfo *ci, XrAction *out)
{
	struct sx_action_set *set;
	XrResult r = sx_get(SX_XR_ID(set_handle), SX_ACTION_SET, __func__, (void **)&set);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = set->base.instance;
	if (!ci || ci->type != XR_TYPE_ACTION_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or action is NULL, or the wrong type");
	if (set->attached)
		return SX_FAIL(inst, XR_ERROR_ACTIONSETS_ALREADY_ATTACHED, "action set '%s' is attached to a session", set->name);
	if (!name_ok(ci->actionName, sizeof ci->actionName))
		return SX_FAIL(inst, XR_ERROR_NAME_INVALID, "actionName must be lower-case letters, digits, '-', '_', '.'");
	if (!memchr(ci->localizedActionName, 0, sizeof ci->localizedActionName) || !ci->localizedActionName[0])
		return SX_FAIL(inst, XR_ERROR_LOCALIZED_NAME_INVALID, "localizedActionName is empty or not terminated");
	switch (ci->actionType) {
	case XR_ACTION_TYPE_BOOLEAN_INPUT:
	case XR_ACTION_TYPE_FLOAT_INPUT:
	case XR_ACTION_TYPE_VECTOR2F_INPUT:
	case XR_ACTION_TYPE_POSE_INPUT:
	case XR_ACTION_TYPE_VIBRATION_OUTPUT: break;
	default: return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "actionType %d is not an XrActionType", ci->actionType);
	}
	if (ci->countSubactionPaths && !ci->subactionPaths)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "subactionPaths is NULL");
	for (uint32_t i = 0; i < ci->countSubactionPaths; i++) {
		if (!sx_path_string(inst, ci->subactionPaths[i])) return SX_FAIL(inst, XR_ERROR_PATH_INVALID, "subactionPaths[%u]", i);
		if (!top_level(inst, ci->subactionPaths[i]))
			return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "subactionPaths[%u] '%s' is not a top level user path", i,
			               sx_path_string(inst, ci->subactionPaths[i]));
		for (uint32_t j = 0; j < i; j++)
			if (ci->subactionPaths[j] == ci->subactionPaths[i])
				return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "subactionPaths[%u] repeats [%u]", i, j);
	}
	struct dup_search d = {ci->actionName, ci->localizedActionName, NULL, false, false};
	sx_for_each(SX_ACTION, &set->base, find_dup_action, &d);
	if (d.name_dup) return SX_FAIL(inst, XR_ERROR_NAME_DUPLICATED, "set '%s' has an action '%s'", set->name, ci->actionName);
	if (d.localized_dup)
		return SX_FAIL(inst, XR_ERROR_LOCALIZED_NAME_DUPLICATED, "set '%s' has an action localized '%s'", set->name,
		               ci->localizedActionName);
	struct sx_action *a = calloc(1, sizeof *a);
	if (!a) return XR_ERROR_OUT_OF_MEMORY;
	a->set = set;
	a->type = ci->actionType;
	snprintf(a->name, sizeof a->name, "%s", ci->actionName);
	snprintf(a->localized, sizeof a->localized, "%s", ci->localizedActionName);
	a->subaction_count = ci->countSubactionPaths;
	memcpy(a->subactions, ci->subactionPaths, ci->countSubactionPaths * sizeof(XrPath));
	if ((r = sx_register(&a->base, SX_ACTION, &set->base, inst)) != XR_SUCCESS) {
		free(a);
		return r;
	}
	*out = SX_TO_XR(XrAction, a);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateAction, (XrActionSet set, const XrActionCreateInfo *ci, XrAction *out), (set, ci, out))

static XrResult xrDestroyAction_locked(XrAction handle)
{
	struct sx_action *a = sx_lookup(SX_XR_ID(handle), SX_ACTION);
	if (!a) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrAction");
	sx_destroy(&a->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroyAction, (XrAction action), (action))

/* ---- bindings ---- */
static XrResult xrSuggestInteractionProfileBindings_locked(XrInstance instance,
                                                           const XrInteractionProfileSuggestedBinding *sb)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!sb || sb->type != XR_TYPE_INTERACTION_PROFILE_SUGGESTED_BINDING)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "suggestedBindings is NULL or the wrong type");
	if (!sb->countSuggestedBindings || !sb->suggestedBindings)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "no suggested bindings");
	const char *profile = sx_path_string(inst, sb->interactionProfile);
	if (!profile) return SX_FAIL(inst, XR_ERROR_PATH_INVALID, "interactionProfile is not a path");
	int kind = profile_kind(profile);
	if (!kind) return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "interaction profile '%s' is not known", profile);
	struct sx_binding *copy = calloc(sb->countSuggestedBindings, sizeof *copy);
	if (!copy) return XR_ERROR_OUT_OF_MEMORY;
	for (uint32_t i = 0; i < sb->countSuggestedBindings; i++) {
		const XrActionSuggestedBinding *b = &sb->suggestedBindings[i];
		struct sx_action *a = NULL;
		const char *path = sx_path_string(inst, b->binding);
		int hand;
		r = sx_get(SX_XR_ID(b->action), SX_ACTION, __func__, (void **)&a);
		if (r != XR_SUCCESS) break;
		if (a->base.instance != inst)
			r = SX_FAIL(inst, XR_ERROR_HANDLE_INVALID, "suggestedBindings[%u].action is of another instance", i);
		else if (a->set->attached)
			r = SX_FAIL(inst, XR_ERROR_ACTIONSETS_ALREADY_ATTACHED, "action '%s' is in an attached set", a->name);
		else if (!path)
			r = SX_FAIL(inst, XR_ERROR_PATH_INVALID, "suggestedBindings[%u].binding is not a path", i);
		else if (kind == 1 ? simple_source(path, &hand) == SX_SRC_NONE : !plausible_binding(path))
			r = SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "'%s' is not a binding of %s", path, profile);
		if (r != XR_SUCCESS) break;
		copy[i] = (struct sx_binding){SX_XR_ID(b->action), b->binding};
	}
	if (r != XR_SUCCESS) {
		free(copy);
		return r;
	}
	struct sx_profile_bindings *pb = NULL;
	for (uint32_t i = 0; i < inst->suggested_count; i++)
		if (inst->suggested[i].profile == sb->interactionProfile) pb = &inst->suggested[i];
	if (!pb) {
		struct sx_profile_bindings *grown = realloc(inst->suggested, (inst->suggested_count + 1) * sizeof *grown);
		if (!grown) {
			free(copy);
			return XR_ERROR_OUT_OF_MEMORY;
		}
		inst->suggested = grown;
		pb = &inst->suggested[inst->suggested_count++];
		pb->profile = sb->interactionProfile;
	} else {
		free(pb->bindings);
	}
	pb->bindings = copy; /* a new suggestion replaces the previous one for that profile */
	pb->count = sb->countSuggestedBindings;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrSuggestInteractionProfileBindings,
                (XrInstance instance, const XrInteractionProfileSuggestedBinding *sb), (instance, sb))

static bool has_subaction(const struct sx_action *a, XrPath path)
{
	if (!a->subaction_count) return true;
	for (uint32_t i = 0; i < a->subaction_count; i++)
		if (a->subactions[i] == path) return true;
	return false;
}

static bool compatible(XrActionType type, enum sx_source src)
{
	switch (type) {
	case XR_ACTION_TYPE_BOOLEAN_INPUT:
	case XR_ACTION_TYPE_FLOAT_INPUT: return src == SX_SRC_SELECT || src == SX_SRC_MENU;
	case XR_ACTION_TYPE_POSE_INPUT: return src == SX_SRC_GRIP || src == SX_SRC_AIM;
	case XR_ACTION_TYPE_VIBRATION_OUTPUT: return src == SX_SRC_HAPTIC;
	default: return false;
	}
}

static void resolve_bindings(struct sx_session *s)
{
	struct sx_instance *inst = s->base.instance;
	XrPath simple = sx_path_intern(inst, SIMPLE_CONTROLLER);
	for (uint32_t i = 0; i < inst->suggested_count; i++) {
		const struct sx_profile_bindings *pb = &inst->suggested[i];
		if (pb->profile != simple) continue;
		for (uint32_t k = 0; k < pb->count; k++) {
			struct sx_action *a = sx_lookup(pb->bindings[k].action, SX_ACTION);
			int hand;
			if (!a || !a->set->attached) continue;
			enum sx_source src = simple_source(sx_path_string(inst, pb->bindings[k].path), &hand);
			XrPath hand_path = sx_path_intern(inst, g_hand_paths[hand]);
			if (!compatible(a->type, src) || !has_subaction(a, hand_path)) {
				sx_log(SX_LOG_DEBUG, "binding %s ignored for action '%s'", sx_path_string(inst, pb->bindings[k].path), a->name);
				continue;
			}
			a->sources[hand] |= src;
		}
		for (int h = 0; h < SX_HAND_COUNT; h++) {
			s->profile[h] = simple;
			struct sx_event ev = {.size = sizeof(XrEventDataInteractionProfileChanged)};
			ev.u.profile = (XrEventDataInteractionProfileChanged){XR_TYPE_EVENT_DATA_INTERACTION_PROFILE_CHANGED, NULL,
			                                                      SX_TO_XR(XrSession, s)};
			if (h == 0) sx_queue_event(inst, &ev); /* one event covers both hands */
		}
	}
}

static XrResult xrAttachSessionActionSets_locked(XrSession session, const XrSessionActionSetsAttachInfo *info)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_SESSION_ACTION_SETS_ATTACH_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "attachInfo is NULL or the wrong type");
	if (!info->countActionSets || !info->actionSets) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "no action sets");
	if (s->attached) return SX_FAIL(inst, XR_ERROR_ACTIONSETS_ALREADY_ATTACHED, "the session already has action sets");
	for (uint32_t i = 0; i < info->countActionSets; i++) {
		struct sx_action_set *set;
		if ((r = sx_get(SX_XR_ID(info->actionSets[i]), SX_ACTION_SET, __func__, (void **)&set)) != XR_SUCCESS) return r;
	}
	s->attached_sets = calloc(info->countActionSets, sizeof *s->attached_sets);
	if (!s->attached_sets) return XR_ERROR_OUT_OF_MEMORY;
	for (uint32_t i = 0; i < info->countActionSets; i++) {
		struct sx_action_set *set = sx_lookup(SX_XR_ID(info->actionSets[i]), SX_ACTION_SET);
		set->attached = true;
		s->attached_sets[i] = set->base.handle;
	}
	s->attached_count = info->countActionSets;
	s->attached = true;
	resolve_bindings(s);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrAttachSessionActionSets, (XrSession session, const XrSessionActionSetsAttachInfo *info),
                (session, info))

static bool set_attached(const struct sx_session *s, const struct sx_action_set *set)
{
	for (uint32_t i = 0; i < s->attached_count; i++)
		if (s->attached_sets[i] == set->base.handle) return true;
	return false;
}

static XrResult xrGetCurrentInteractionProfile_locked(XrSession session, XrPath top, XrInteractionProfileState *state)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!state || state->type != XR_TYPE_INTERACTION_PROFILE_STATE)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "interactionProfile is NULL or the wrong type");
	if (!s->attached) return SX_FAIL(inst, XR_ERROR_ACTIONSET_NOT_ATTACHED, "no action sets are attached");
	if (!sx_path_string(inst, top)) return SX_FAIL(inst, XR_ERROR_PATH_INVALID, "topLevelUserPath is not a path");
	if (!top_level(inst, top)) return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "'%s' is not a top level user path",
	                                          sx_path_string(inst, top));
	int hand = sx_path_hand(inst, top);
	state->interactionProfile = hand >= 0 ? s->profile[hand] : XR_NULL_PATH;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetCurrentInteractionProfile, (XrSession session, XrPath top, XrInteractionProfileState *state),
                (session, top, state))

/* ---- states ---- */
bool sx_action_active(const struct sx_action *a, enum sx_hand hand)
{
	return a->state[hand].active;
}

struct sync {
	struct sx_session *s;
	const XrActionsSyncInfo *info;
	bool focused;
	double t;
};

static void sync_action(struct sx_object *obj, void *user)
{
	struct sync *y = user;
	struct sx_action *a = (struct sx_action *)obj;
	struct sx_instance *inst = y->s->base.instance;
	if (!set_attached(y->s, a->set)) return;
	for (int h = 0; h < SX_HAND_COUNT; h++) {
		bool synced = false; /* the set is among the active ones, for this hand or all */
		for (uint32_t i = 0; i < y->info->countActiveActionSets; i++) {
			const XrActiveActionSet *as = &y->info->activeActionSets[i];
			if (SX_XR_ID(as->actionSet) == a->set->base.handle &&
			    (as->subactionPath == XR_NULL_PATH || sx_path_hand(inst, as->subactionPath) == h))
				synced = true;
		}
		struct sx_controller c = sx_script_controller(inst->script, (enum sx_hand)h, y->t);
		struct sx_action_state *st = &a->state[h], prev = *st;
		uint32_t src = a->sources[h];
		st->active = y->focused && synced && c.connected && src && a->type != XR_ACTION_TYPE_VIBRATION_OUTPUT;
		bool pressed = ((src & SX_SRC_SELECT) && c.select) || ((src & SX_SRC_MENU) && c.menu);
		st->value = st->active && pressed ? 1.0f : 0.0f;
		st->x = st->y = 0;
		st->changed = st->active && prev.active && st->value != prev.value;
		if (st->changed || (st->active && !prev.active)) st->last_change = inst->now;
	}
}

static XrResult xrSyncActions_locked(XrSession session, const XrActionsSyncInfo *info)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_ACTIONS_SYNC_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "syncInfo is NULL or the wrong type");
	if (info->countActiveActionSets && !info->activeActionSets)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "activeActionSets is NULL");
	for (uint32_t i = 0; i < info->countActiveActionSets; i++) {
		const XrActiveActionSet *as = &info->activeActionSets[i];
		struct sx_action_set *set;
		if ((r = sx_get(SX_XR_ID(as->actionSet), SX_ACTION_SET, __func__, (void **)&set)) != XR_SUCCESS) return r;
		if (!set_attached(s, set))
			return SX_FAIL(inst, XR_ERROR_ACTIONSET_NOT_ATTACHED, "action set '%s' is not attached", set->name);
		if (as->subactionPath != XR_NULL_PATH && !top_level(inst, as->subactionPath))
			return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "activeActionSets[%u].subactionPath is not a top level path", i);
	}
	struct sync y = {s, info, sx_session_focused(s), sx_script_time(inst, inst->now)};
	sx_for_each(SX_ACTION, &inst->base, sync_action, &y);
	s->last_sync = inst->now;
	return sx_session_result(s, y.focused ? XR_SUCCESS : XR_SESSION_NOT_FOCUSED);
}
SX_LOCKED_ENTRY(xrSyncActions, (XrSession session, const XrActionsSyncInfo *info), (session, info))

/* The action of a get info, checked: type, attachment, subaction path. hand is -1 for all hands, -2 for a
 * subaction path that no simulated device serves. */
static XrResult get_action(struct sx_session *s, XrAction handle, XrPath subaction, XrActionType type,
                           const char *func, struct sx_action **out, int *hand)
{
	struct sx_instance *inst = s->base.instance;
	struct sx_action *a;
	XrResult r = sx_get(SX_XR_ID(handle), SX_ACTION, func, (void **)&a);
	if (r != XR_SUCCESS) return r;
	if (a->type != type) return sx_error(inst, XR_ERROR_ACTION_TYPE_MISMATCH, func, "action '%s' has type %d, not %d", a->name, a->type, type);
	if (!set_attached(s, a->set))
		return sx_error(inst, XR_ERROR_ACTIONSET_NOT_ATTACHED, func, "action '%s''s set is not attached", a->name);
	*hand = -1;
	if (subaction != XR_NULL_PATH) {
		bool declared = false;
		for (uint32_t i = 0; i < a->subaction_count; i++) declared |= a->subactions[i] == subaction;
		if (!declared)
			return sx_error(inst, XR_ERROR_PATH_UNSUPPORTED, func, "subactionPath is not one of action '%s''s", a->name);
		*hand = sx_path_hand(inst, subaction);
		if (*hand < 0) *hand = -2;
	}
	*out = a;
	return XR_SUCCESS;
}

/* Combines the hands an action state query covers: OR / largest value, any change, latest change time. */
static struct sx_action_state combined(const struct sx_action *a, int hand)
{
	struct sx_action_state c = {0};
	for (int h = 0; h < SX_HAND_COUNT; h++) {
		const struct sx_action_state *st = &a->state[h];
		if ((hand >= 0 && h != hand) || hand == -2 || !st->active) continue;
		c.active = true;
		if (st->value > c.value) c.value = st->value;
		c.changed |= st->changed;
		if (st->last_change > c.last_change) c.last_change = st->last_change;
	}
	return c;
}

static XrResult state_query(XrSession session, const XrActionStateGetInfo *info, const void *state,
                            XrStructureType state_type, XrActionType action_type, const char *func,
                            struct sx_session **s, struct sx_action_state *out)
{
	XrResult r = sx_session_get(session, func, s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = (*s)->base.instance;
	if (!info || info->type != XR_TYPE_ACTION_STATE_GET_INFO)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "getInfo is NULL or the wrong type");
	if (!state || ((const XrBaseOutStructure *)state)->type != state_type)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "state is NULL or the wrong type");
	struct sx_action *a;
	int hand;
	if ((r = get_action(*s, info->action, info->subactionPath, action_type, func, &a, &hand)) != XR_SUCCESS) return r;
	*out = combined(a, hand);
	return XR_SUCCESS;
}

static XrResult xrGetActionStateBoolean_locked(XrSession session, const XrActionStateGetInfo *info,
                                               XrActionStateBoolean *state)
{
	struct sx_session *s;
	struct sx_action_state c;
	XrResult r = state_query(session, info, state, XR_TYPE_ACTION_STATE_BOOLEAN, XR_ACTION_TYPE_BOOLEAN_INPUT, __func__,
	                         &s, &c);
	if (r != XR_SUCCESS) return r;
	state->currentState = c.value != 0;
	state->changedSinceLastSync = c.changed;
	state->lastChangeTime = c.last_change;
	state->isActive = c.active;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetActionStateBoolean,
                (XrSession session, const XrActionStateGetInfo *info, XrActionStateBoolean *state),
                (session, info, state))

static XrResult xrGetActionStateFloat_locked(XrSession session, const XrActionStateGetInfo *info,
                                             XrActionStateFloat *state)
{
	struct sx_session *s;
	struct sx_action_state c;
	XrResult r = state_query(session, info, state, XR_TYPE_ACTION_STATE_FLOAT, XR_ACTION_TYPE_FLOAT_INPUT, __func__, &s, &c);
	if (r != XR_SUCCESS) return r;
	state->currentState = c.value;
	state->changedSinceLastSync = c.changed;
	state->lastChangeTime = c.last_change;
	state->isActive = c.active;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetActionStateFloat, (XrSession session, const XrActionStateGetInfo *info, XrActionStateFloat *state),
                (session, info, state))

static XrResult xrGetActionStateVector2f_locked(XrSession session, const XrActionStateGetInfo *info,
                                                XrActionStateVector2f *state)
{
	struct sx_session *s;
	struct sx_action_state c;
	XrResult r = state_query(session, info, state, XR_TYPE_ACTION_STATE_VECTOR2F, XR_ACTION_TYPE_VECTOR2F_INPUT, __func__,
	                         &s, &c);
	if (r != XR_SUCCESS) return r;
	state->currentState = (XrVector2f){c.x, c.y};
	state->changedSinceLastSync = c.changed;
	state->lastChangeTime = c.last_change;
	state->isActive = c.active;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetActionStateVector2f,
                (XrSession session, const XrActionStateGetInfo *info, XrActionStateVector2f *state),
                (session, info, state))

static XrResult xrGetActionStatePose_locked(XrSession session, const XrActionStateGetInfo *info, XrActionStatePose *state)
{
	struct sx_session *s;
	struct sx_action_state c;
	XrResult r = state_query(session, info, state, XR_TYPE_ACTION_STATE_POSE, XR_ACTION_TYPE_POSE_INPUT, __func__, &s, &c);
	if (r != XR_SUCCESS) return r;
	state->isActive = c.active;
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetActionStatePose, (XrSession session, const XrActionStateGetInfo *info, XrActionStatePose *state),
                (session, info, state))

static XrResult xrEnumerateBoundSourcesForAction_locked(XrSession session, const XrBoundSourcesForActionEnumerateInfo *info,
                                                        uint32_t capacity, uint32_t *count, XrPath *sources)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_BOUND_SOURCES_FOR_ACTION_ENUMERATE_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "enumerateInfo is NULL or the wrong type");
	struct sx_action *a;
	if ((r = sx_get(SX_XR_ID(info->action), SX_ACTION, __func__, (void **)&a)) != XR_SUCCESS) return r;
	if (!set_attached(s, a->set)) return SX_FAIL(inst, XR_ERROR_ACTIONSET_NOT_ATTACHED, "action '%s''s set is not attached", a->name);
	XrPath found[SX_HAND_COUNT * 5];
	uint32_t n = 0;
	for (int h = 0; h < SX_HAND_COUNT; h++)
		/* The even entries are the full paths (select/click, menu/click, grip/pose, aim/pose, haptic). */
		for (size_t i = 0; i < sizeof g_simple_components / sizeof g_simple_components[0]; i += 2) {
			if (!(a->sources[h] & g_simple_components[i].src)) continue;
			char path[XR_MAX_PATH_LENGTH];
			snprintf(path, sizeof path, "%s/%s", g_hand_paths[h], g_simple_components[i].suffix);
			found[n++] = sx_path_intern(inst, path);
		}
	bool fill;
	if ((r = sx_two_call(inst, __func__, capacity, count, n, sources, &fill)) != XR_SUCCESS) return r;
	if (fill) memcpy(sources, found, n * sizeof found[0]);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrEnumerateBoundSourcesForAction,
                (XrSession session, const XrBoundSourcesForActionEnumerateInfo *info, uint32_t capacity,
                 uint32_t *count, XrPath *sources),
                (session, info, capacity, count, sources))

static XrResult xrGetInputSourceLocalizedName_locked(XrSession session, const XrInputSourceLocalizedNameGetInfo *info,
                                                     uint32_t capacity, uint32_t *count, char *buffer)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_INPUT_SOURCE_LOCALIZED_NAME_GET_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "getInfo is NULL or the wrong type");
	const XrInputSourceLocalizedNameFlags all = XR_INPUT_SOURCE_LOCALIZED_NAME_USER_PATH_BIT |
	                                            XR_INPUT_SOURCE_LOCALIZED_NAME_INTERACTION_PROFILE_BIT |
	                                            XR_INPUT_SOURCE_LOCALIZED_NAME_COMPONENT_BIT;
	if (!info->whichComponents || (info->whichComponents & ~all))
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "whichComponents is 0 or has unknown bits");
	if (!s->attached) return SX_FAIL(inst, XR_ERROR_ACTIONSET_NOT_ATTACHED, "no action sets are attached");
	const char *path = sx_path_string(inst, info->sourcePath);
	int hand;
	if (!path) return SX_FAIL(inst, XR_ERROR_PATH_INVALID, "sourcePath is not a path");
	enum sx_source src = simple_source(path, &hand);
	if (src == SX_SRC_NONE) return SX_FAIL(inst, XR_ERROR_PATH_UNSUPPORTED, "'%s' is not a simulated input source", path);
	static const char *parts[] = {"Select", "Menu", "Grip", "Aim", "Haptic"};
	int bit = 0;
	while (!(src & (1u << bit))) bit++;
	char name[128] = "";
	if (info->whichComponents & XR_INPUT_SOURCE_LOCALIZED_NAME_USER_PATH_BIT)
		strcat(name, hand == SX_HAND_LEFT ? "Left Hand " : "Right Hand ");
	if (info->whichComponents & XR_INPUT_SOURCE_LOCALIZED_NAME_INTERACTION_PROFILE_BIT) strcat(name, "Simple Controller ");
	if (info->whichComponents & XR_INPUT_SOURCE_LOCALIZED_NAME_COMPONENT_BIT) strcat(name, parts[bit]);
	size_t n = strlen(name);
	if (n && name[n - 1] == ' ') name[--n] = 0;
	bool fill;
	if ((r = sx_two_call(inst, __func__, capacity, count, (uint32_t)n + 1, buffer, &fill)) != XR_SUCCESS) return r;
	if (fill) memcpy(buffer, name, n + 1);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrGetInputSourceLocalizedName,
                (XrSession session, const XrInputSourceLocalizedNameGetInfo *info, uint32_t capacity, uint32_t *count,
                 char *buffer),
                (session, info, capacity, count, buffer))

/* ---- haptics: recorded per hand for simxr_get_stats ---- */
static XrResult haptic(XrSession session, const XrHapticActionInfo *info, const XrHapticBaseHeader *feedback,
                       bool stop, const char *func)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, func, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	if (!info || info->type != XR_TYPE_HAPTIC_ACTION_INFO)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "hapticActionInfo is NULL or the wrong type");
	if (!stop && (!feedback || feedback->type != XR_TYPE_HAPTIC_VIBRATION))
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "hapticFeedback is NULL or not XR_TYPE_HAPTIC_VIBRATION");
	struct sx_action *a;
	int hand;
	if ((r = get_action(s, info->action, info->subactionPath, XR_ACTION_TYPE_VIBRATION_OUTPUT, func, &a, &hand)) != XR_SUCCESS)
		return r;
	if (!sx_session_focused(s)) return sx_session_result(s, XR_SESSION_NOT_FOCUSED);
	const XrHapticVibration *v = (const XrHapticVibration *)feedback;
	for (int h = 0; h < SX_HAND_COUNT; h++) {
		if ((hand >= 0 && h != hand) || hand == -2 || !(a->sources[h] & SX_SRC_HAPTIC)) continue;
		XrDuration d = stop ? 0 : v->duration == XR_MIN_HAPTIC_DURATION ? inst->period : v->duration;
		s->haptic[h].amplitude = stop ? 0 : v->amplitude;
		s->haptic[h].until = inst->now + d;
	}
	return sx_session_result(s, XR_SUCCESS);
}

static XrResult xrApplyHapticFeedback_locked(XrSession session, const XrHapticActionInfo *info,
                                             const XrHapticBaseHeader *feedback)
{
	return haptic(session, info, feedback, false, __func__);
}
SX_LOCKED_ENTRY(xrApplyHapticFeedback,
                (XrSession session, const XrHapticActionInfo *info, const XrHapticBaseHeader *feedback),
                (session, info, feedback))

static XrResult xrStopHapticFeedback_locked(XrSession session, const XrHapticActionInfo *info)
{
	return haptic(session, info, NULL, true, __func__);
}
SX_LOCKED_ENTRY(xrStopHapticFeedback, (XrSession session, const XrHapticActionInfo *info), (session, info))
