/* sx_core: what the loader sees (negotiation, xrGetInstanceProcAddr), the handle registry, the instance and
 * its system, the event queue, XR_EXT_debug_utils, and the small helpers every module uses. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openxr/openxr_reflection.h>

#include "simxr.h"
#include "sx_internal.h"

/* ---- lock ---- */
static pthread_mutex_t g_lock;
static pthread_once_t g_lock_once = PTHREAD_ONCE_INIT;

static void lock_init(void)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&g_lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

void sx_lock(void)
{
	pthread_once(&g_lock_once, lock_init);
	pthread_mutex_lock(&g_lock);
}

void sx_unlock(void)
{
	pthread_mutex_unlock(&g_lock);
}

void sx_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

bool sx_cond_wait(pthread_cond_t *cond, double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double t = (double)ts.tv_nsec * 1e-9 + seconds;
	ts.tv_sec += (time_t)t;
	ts.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	return pthread_cond_timedwait(cond, &g_lock, &ts) != 0;
}

/* ---- log ---- */
static enum sx_log_level g_log_level = SX_LOG_WARN;

void sx_set_log_level(enum sx_log_level level)
{
	g_log_level = level;
}

void sx_log(enum sx_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	if (level < g_log_level || level >= SX_LOG_NONE) return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "simxr %s: ", names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *result_name(XrResult r)
{
#define SX_RESULT_CASE(name, value) \
	case name: return #name;
	switch (r) {
		XR_LIST_ENUM_XrResult(SX_RESULT_CASE)
	default:
		return NULL;
	}
#undef SX_RESULT_CASE
}

XrResult sx_error(struct sx_instance *inst, XrResult r, const char *func, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* func is the implementation's name: sx_xrFoo or xrFoo_locked; show the API name. */
	char api[96];
	snprintf(api, sizeof api, "%s", strncmp(func, "sx_", 3) == 0 ? func + 3 : func);
	char *suffix = strstr(api, "_locked");
	if (suffix) *suffix = 0;
	const char *name = result_name(r);
	sx_log(SX_LOG_WARN, "%s: %s: %s", api, name ? name : "?", msg);
	if (inst) {
		char full[1024];
		snprintf(full, sizeof full, "%s: %s", name ? name : "?", msg);
		sx_debug_message(inst, XR_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		                 XR_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT, api, full);
	}
	return r;
}

/* ---- handle registry ---- */
static struct sx_object **g_objects;
static size_t g_object_count, g_object_capacity;
static uint64_t g_next_handle = 1;

struct sx_instance *sx_current_instance;

XrResult sx_register(struct sx_object *obj, enum sx_type type, struct sx_object *parent, struct sx_instance *inst)
{
	if (g_object_count == g_object_capacity) {
		size_t cap = g_object_capacity ? g_object_capacity * 2 : 64;
		struct sx_object **grown = realloc(g_objects, cap * sizeof *grown);
		if (!grown) return XR_ERROR_OUT_OF_MEMORY;
		g_objects = grown;
		g_object_capacity = cap;
	}
	/* The type in the top byte makes handles recognisable in logs; the counter never repeats. */
	obj->handle = ((uint64_t)type << 56) | g_next_handle++;
	obj->type = type;
	obj->parent = parent;
	obj->instance = inst;
	g_objects[g_object_count++] = obj;
	return XR_SUCCESS;
}

void *sx_lookup(uint64_t handle, enum sx_type type)
{
	if (!handle) return NULL;
	for (size_t i = 0; i < g_object_count; i++)
		if (g_objects[i]->handle == handle) return g_objects[i]->type == type ? g_objects[i] : NULL;
	return NULL;
}

static const char *type_name(enum sx_type type)
{
	switch (type) {
	case SX_INSTANCE: return "XrInstance";
	case SX_SESSION: return "XrSession";
	case SX_SPACE: return "XrSpace";
	case SX_SWAPCHAIN: return "XrSwapchain";
	case SX_ACTION_SET: return "XrActionSet";
	case SX_ACTION: return "XrAction";
	case SX_HAND_TRACKER: return "XrHandTrackerEXT";
	case SX_MESSENGER: return "XrDebugUtilsMessengerEXT";
	}
	return "handle";
}

XrResult sx_get(uint64_t handle, enum sx_type type, const char *func, void **out)
{
	struct sx_object *obj = sx_lookup(handle, type);
	if (!obj)
		return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, func,
		                "%s 0x%" PRIx64 " is not a live handle of that type", type_name(type), handle);
	if (obj->instance && obj->instance->lost) return XR_ERROR_INSTANCE_LOST;
	*out = obj;
	return XR_SUCCESS;
}

static bool descends_from(const struct sx_object *obj, const struct sx_object *ancestor)
{
	for (const struct sx_object *o = obj; o; o = o->parent)
		if (o == ancestor) return true;
	return false;
}

void sx_for_each(enum sx_type type, struct sx_object *under, void (*fn)(struct sx_object *, void *), void *user)
{
	for (size_t i = 0; i < g_object_count; i++)
		if (g_objects[i]->type == type && (!under || descends_from(g_objects[i], under))) fn(g_objects[i], user);
}

static void instance_free(struct sx_instance *inst);

void sx_destroy(struct sx_object *obj)
{
	for (;;) {
		struct sx_object *child = NULL;
		for (size_t i = 0; i < g_object_count && !child; i++)
			if (g_objects[i]->parent == obj) child = g_objects[i];
		if (!child) break;
		sx_destroy(child);
	}
	for (size_t i = 0; i < g_object_count; i++)
		if (g_objects[i] == obj) {
			g_objects[i] = g_objects[--g_object_count];
			break;
		}
	if (!g_object_count) { /* nothing left: give the table back (the library may be unloaded next) */
		free(g_objects);
		g_objects = NULL;
		g_object_capacity = 0;
	}
	switch (obj->type) {
	case SX_INSTANCE: instance_free((struct sx_instance *)obj); break;
	case SX_SESSION: sx_session_free((struct sx_session *)obj); break;
	case SX_SWAPCHAIN: sx_swapchain_free((struct sx_swapchain *)obj); break;
	default: free(obj); break;
	}
}

/* ---- helpers ---- */
XrResult sx_two_call(struct sx_instance *inst, const char *func, uint32_t capacity, uint32_t *count_out,
                     uint32_t needed, const void *array, bool *fill)
{
	*fill = false;
	if (!count_out) return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "the count output pointer is NULL");
	*count_out = needed;
	if (capacity == 0) return XR_SUCCESS;
	if (capacity < needed)
		return sx_error(inst, XR_ERROR_SIZE_INSUFFICIENT, func, "capacity %u, %u needed", capacity, needed);
	if (!array) return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "capacity %u but the array is NULL", capacity);
	*fill = true;
	return XR_SUCCESS;
}

const void *sx_find_next(const void *next, XrStructureType type)
{
	for (const XrBaseInStructure *s = next; s; s = s->next)
		if (s->type == type) return s;
	return NULL;
}

XrResult sx_check_system(struct sx_instance *inst, XrSystemId system, const char *func)
{
	if (system != SX_SYSTEM_ID || !inst->system_got)
		return sx_error(inst, XR_ERROR_SYSTEM_INVALID, func, "system id 0x%" PRIx64 " was not returned by xrGetSystem",
		                (uint64_t)system);
	return XR_SUCCESS;
}

double sx_script_time(const struct sx_instance *inst, XrTime time)
{
	return (double)(time - inst->epoch) / 1e9; /* division rounds correctly: frame times match script literals */
}

/* ---- loader negotiation ---- */
static XrVersion major_minor(XrVersion v)
{
	return XR_MAKE_VERSION(XR_VERSION_MAJOR(v), XR_VERSION_MINOR(v), 0);
}

SX_EXPORT XrResult XRAPI_CALL xrNegotiateLoaderRuntimeInterface(const XrNegotiateLoaderInfo *loader_info,
                                                                XrNegotiateRuntimeRequest *request)
{
	if (!loader_info || loader_info->structType != XR_LOADER_INTERFACE_STRUCT_LOADER_INFO ||
	    loader_info->structVersion != XR_LOADER_INFO_STRUCT_VERSION || loader_info->structSize != sizeof *loader_info)
		return XR_ERROR_INITIALIZATION_FAILED;
	if (!request || request->structType != XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST ||
	    request->structVersion != XR_RUNTIME_INFO_STRUCT_VERSION || request->structSize != sizeof *request)
		return XR_ERROR_INITIALIZATION_FAILED;
	if (loader_info->minInterfaceVersion > XR_CURRENT_LOADER_RUNTIME_VERSION ||
	    loader_info->maxInterfaceVersion < XR_CURRENT_LOADER_RUNTIME_VERSION)
		return XR_ERROR_INITIALIZATION_FAILED;
	/* OpenXR 1.0 (patch ignored) must lie in the loader's range. */
	XrVersion ours = XR_MAKE_VERSION(1, 0, 0);
	if (major_minor(loader_info->minApiVersion) > ours || major_minor(loader_info->maxApiVersion) < ours)
		return XR_ERROR_INITIALIZATION_FAILED;
	request->runtimeInterfaceVersion = XR_CURRENT_LOADER_RUNTIME_VERSION;
	request->runtimeApiVersion = XR_CURRENT_API_VERSION;
	request->getInstanceProcAddr = sx_xrGetInstanceProcAddr;
	return XR_SUCCESS;
}

/* ---- dispatch ---- */
struct proc {
	const char *name;
	PFN_xrVoidFunction fn;
	enum sx_ext ext;
};

static const struct proc g_procs[] = {
#define SX_PROC(name, ext) {#name, (PFN_xrVoidFunction)sx_##name, ext},
	SX_API_FUNCTIONS(SX_PROC)
#undef SX_PROC
};

static const struct {
	const char *name;
	uint32_t version;
} g_extensions[SX_EXT_COUNT] = {
	[SX_EXT_CORE] = {NULL, 0},
	[SX_EXT_VULKAN] = {XR_KHR_VULKAN_ENABLE_EXTENSION_NAME, XR_KHR_vulkan_enable_SPEC_VERSION},
	[SX_EXT_VULKAN2] = {XR_KHR_VULKAN_ENABLE2_EXTENSION_NAME, XR_KHR_vulkan_enable2_SPEC_VERSION},
	[SX_EXT_HAND_TRACKING] = {XR_EXT_HAND_TRACKING_EXTENSION_NAME, XR_EXT_hand_tracking_SPEC_VERSION},
	[SX_EXT_DEBUG_UTILS] = {XR_EXT_DEBUG_UTILS_EXTENSION_NAME, XR_EXT_debug_utils_SPEC_VERSION},
	[SX_EXT_DEPTH] = {XR_KHR_COMPOSITION_LAYER_DEPTH_EXTENSION_NAME, XR_KHR_composition_layer_depth_SPEC_VERSION},
};

int sx_extension_index(const char *name)
{
	for (int i = 1; i < SX_EXT_COUNT; i++)
		if (strcmp(name, g_extensions[i].name) == 0) return i;
	return -1;
}

XrResult XRAPI_CALL sx_xrGetInstanceProcAddr(XrInstance instance, const char *name, PFN_xrVoidFunction *function)
{
	if (!function) return XR_ERROR_VALIDATION_FAILURE;
	*function = NULL;
	if (!name) return XR_ERROR_VALIDATION_FAILURE;
	const struct proc *p = NULL;
	for (size_t i = 0; i < sizeof g_procs / sizeof g_procs[0]; i++)
		if (strcmp(g_procs[i].name, name) == 0) p = &g_procs[i];
	if (instance == XR_NULL_HANDLE) {
		/* Without an instance only the functions that create one are reachable. */
		if (p && (strcmp(name, "xrEnumerateInstanceExtensionProperties") == 0 ||
		          strcmp(name, "xrEnumerateApiLayerProperties") == 0 || strcmp(name, "xrCreateInstance") == 0)) {
			*function = p->fn;
			return XR_SUCCESS;
		}
		return XR_ERROR_HANDLE_INVALID;
	}
	sx_lock();
	/* A lost instance still hands out functions: loaders look up the destroy functions while tearing down. */
	struct sx_instance *inst = sx_lookup(SX_XR_ID(instance), SX_INSTANCE);
	XrResult r = inst ? XR_SUCCESS : XR_ERROR_HANDLE_INVALID;
	if (r == XR_SUCCESS) {
		if (!p || (p->ext != SX_EXT_CORE && !inst->ext[p->ext]))
			r = XR_ERROR_FUNCTION_UNSUPPORTED; /* not an error worth a message: loaders probe every name */
		else
			*function = p->fn;
	}
	sx_unlock();
	return r;
}

/* ---- instance ---- */
XrResult XRAPI_CALL sx_xrEnumerateApiLayerProperties(uint32_t capacity, uint32_t *count, XrApiLayerProperties *props)
{
	(void)capacity;
	(void)props;
	if (!count) return XR_ERROR_VALIDATION_FAILURE;
	*count = 0; /* layers are the loader's business */
	return XR_SUCCESS;
}

static XrResult xrEnumerateInstanceExtensionProperties_locked(const char *layer, uint32_t capacity, uint32_t *count,
                                                              XrExtensionProperties *props)
{
	if (layer) return sx_error(NULL, XR_ERROR_API_LAYER_NOT_PRESENT, __func__, "the runtime has no layer '%s'", layer);
	struct sx_config cfg;
	char err[512];
	sx_config_load(&cfg, err, sizeof err); /* a bad setting is reported by xrCreateInstance, once */
	uint32_t n = 0;
	for (int i = 1; i < SX_EXT_COUNT; i++) n += !cfg.disabled[i];
	bool fill;
	XrResult r = sx_two_call(NULL, __func__, capacity, count, n, props, &fill);
	if (r != XR_SUCCESS || !fill) return r;
	uint32_t k = 0;
	for (int i = 1; i < SX_EXT_COUNT; i++) {
		if (cfg.disabled[i]) continue;
		if (props[k].type != XR_TYPE_EXTENSION_PROPERTIES)
			return sx_error(NULL, XR_ERROR_VALIDATION_FAILURE, __func__, "properties[%u].type is %d", k, props[k].type);
		snprintf(props[k].extensionName, sizeof props[k].extensionName, "%s", g_extensions[i].name);
		props[k].extensionVersion = g_extensions[i].version;
		k++;
	}
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrEnumerateInstanceExtensionProperties,
                (const char *layer, uint32_t capacity, uint32_t *count, XrExtensionProperties *props),
                (layer, capacity, count, props))

static char *g_hook_script; /* simxr_set_script: used instead of CAVR_SIMXR_SCRIPT while set */

static XrResult load_script(struct sx_instance *inst)
{
	char err[512];
	if (g_hook_script)
		inst->script = sx_script_parse(g_hook_script, "simxr_set_script", err, sizeof err);
	else if (inst->cfg.script[0])
		inst->script = sx_script_load(inst->cfg.script, err, sizeof err);
	else
		inst->script = sx_script_parse("", "default script", err, sizeof err);
	if (!inst->script) {
		sx_log(SX_LOG_ERROR, "%s", err);
		return XR_ERROR_INITIALIZATION_FAILED;
	}
	return XR_SUCCESS;
}

static bool fixed_string_ok(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL && s[0] != 0;
}

static XrResult create_messenger(struct sx_instance *inst, const XrDebugUtilsMessengerCreateInfoEXT *ci,
                                 const char *func, XrDebugUtilsMessengerEXT *out);

static XrResult xrCreateInstance_locked(const XrInstanceCreateInfo *ci, XrInstance *out)
{
	if (sx_current_instance)
		return sx_error(NULL, XR_ERROR_LIMIT_REACHED, __func__, "one XrInstance at a time");
	/* The settings first, so that their log level applies to what follows. */
	struct sx_config cfg;
	char err[512];
	bool cfg_ok = sx_config_load(&cfg, err, sizeof err);
	sx_set_log_level(cfg_ok ? cfg.log_level : SX_LOG_WARN);
	if (!ci || ci->type != XR_TYPE_INSTANCE_CREATE_INFO || !out)
		return sx_error(NULL, XR_ERROR_VALIDATION_FAILURE, __func__, "createInfo or instance is NULL, or the wrong type");
	if (ci->createFlags != 0)
		return sx_error(NULL, XR_ERROR_VALIDATION_FAILURE, __func__, "createFlags must be 0");
	if (!fixed_string_ok(ci->applicationInfo.applicationName, sizeof ci->applicationInfo.applicationName))
		return sx_error(NULL, XR_ERROR_NAME_INVALID, __func__, "applicationName is empty or not terminated");
	if (XR_VERSION_MAJOR(ci->applicationInfo.apiVersion) != 1 || XR_VERSION_MINOR(ci->applicationInfo.apiVersion) != 0)
		return sx_error(NULL, XR_ERROR_API_VERSION_UNSUPPORTED, __func__, "apiVersion %u.%u; this runtime is OpenXR 1.0",
		                (unsigned)XR_VERSION_MAJOR(ci->applicationInfo.apiVersion),
		                (unsigned)XR_VERSION_MINOR(ci->applicationInfo.apiVersion));
	if (ci->enabledApiLayerCount)
		return sx_error(NULL, XR_ERROR_API_LAYER_NOT_PRESENT, __func__, "the runtime has no API layers");
	if (ci->enabledExtensionCount && !ci->enabledExtensionNames)
		return sx_error(NULL, XR_ERROR_VALIDATION_FAILURE, __func__, "enabledExtensionNames is NULL");
	if (!cfg_ok) {
		sx_log(SX_LOG_ERROR, "%s", err);
		return XR_ERROR_INITIALIZATION_FAILED;
	}
	struct sx_instance *inst = calloc(1, sizeof *inst);
	if (!inst) return XR_ERROR_OUT_OF_MEMORY;
	inst->cfg = cfg;
	for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
		const char *name = ci->enabledExtensionNames[i];
		int e = name ? sx_extension_index(name) : -1;
		if (e < 0 || inst->cfg.disabled[e]) {
			free(inst);
			return sx_error(NULL, XR_ERROR_EXTENSION_NOT_PRESENT, __func__, "extension '%s' is not offered",
			                name ? name : "(null)");
		}
		inst->ext[e] = true;
	}
	snprintf(inst->app_name, sizeof inst->app_name, "%s", ci->applicationInfo.applicationName);
	inst->epoch = 1000000000; /* 1 s: time 0 is not a valid XrTime */
	inst->period = (XrDuration)llround(1e9 / inst->cfg.refresh_hz);
	inst->now = inst->epoch;
	inst->script_done = -1e30;
	XrResult r = load_script(inst);
	if (r == XR_SUCCESS) r = sx_register(&inst->base, SX_INSTANCE, NULL, inst);
	if (r != XR_SUCCESS) {
		sx_script_destroy(&inst->script);
		free(inst);
		return r;
	}
	sx_current_instance = inst;
	/* A messenger in the next chain covers the whole life of the instance, creation included. */
	const XrDebugUtilsMessengerCreateInfoEXT *dci = sx_find_next(ci->next, XR_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT);
	if (dci && inst->ext[SX_EXT_DEBUG_UTILS]) {
		XrDebugUtilsMessengerEXT m;
		r = create_messenger(inst, dci, __func__, &m);
		if (r != XR_SUCCESS) {
			sx_destroy(&inst->base);
			sx_current_instance = NULL;
			return r;
		}
	}
	sx_log(SX_LOG_INFO, "instance for '%s': %ux%u per eye, IPD %.1f mm, %.2f Hz", inst->app_name, inst->cfg.width,
	       inst->cfg.height, inst->cfg.ipd * 1000, inst->cfg.refresh_hz);
	*out = SX_TO_XR(XrInstance, inst);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateInstance, (const XrInstanceCreateInfo *ci, XrInstance *out), (ci, out))

static void instance_free(struct sx_instance *inst)
{
	if (sx_current_instance == inst) sx_current_instance = NULL;
	sx_set_log_level(SX_LOG_WARN);
	sx_script_destroy(&inst->script);
	sx_instance_free_paths(inst);
	for (uint32_t i = 0; i < inst->suggested_count; i++) free(inst->suggested[i].bindings);
	free(inst->suggested);
	free(inst);
}

static XrResult xrDestroyInstance_locked(XrInstance instance)
{
	struct sx_instance *inst = sx_lookup(SX_XR_ID(instance), SX_INSTANCE);
	if (!inst) return sx_error(NULL, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrInstance");
	sx_destroy(&inst->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroyInstance, (XrInstance instance), (instance))

static XrResult xrGetInstanceProperties_locked(XrInstance instance, XrInstanceProperties *props)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!props || props->type != XR_TYPE_INSTANCE_PROPERTIES)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "instanceProperties is NULL or not XR_TYPE_INSTANCE_PROPERTIES");
	props->runtimeVersion = XR_MAKE_VERSION(SIMXR_VERSION_MAJOR, SIMXR_VERSION_MINOR, SIMXR_VERSION_PATCH);
	snprintf(props->runtimeName, sizeof props->runtimeName, "%s", SIMXR_RUNTIME_NAME);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrGetInstanceProperties, (XrInstance instance, XrInstanceProperties *props), (instance, props))

/* ---- strings ---- */
static XrResult xrResultToString_locked(XrInstance instance, XrResult value, char buffer[XR_MAX_RESULT_STRING_SIZE])
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!buffer) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "buffer is NULL");
	const char *name = result_name(value);
	if (name)
		snprintf(buffer, XR_MAX_RESULT_STRING_SIZE, "%s", name);
	else
		snprintf(buffer, XR_MAX_RESULT_STRING_SIZE, "XR_UNKNOWN_%s_%d", value >= 0 ? "SUCCESS" : "FAILURE", (int)value);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrResultToString, (XrInstance instance, XrResult value, char buffer[XR_MAX_RESULT_STRING_SIZE]),
                (instance, value, buffer))

static XrResult xrStructureTypeToString_locked(XrInstance instance, XrStructureType value,
                                               char buffer[XR_MAX_STRUCTURE_NAME_SIZE])
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!buffer) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "buffer is NULL");
	const char *name = NULL;
#define SX_TYPE_CASE(n, v) \
	case n: name = #n; break;
	switch (value) {
		XR_LIST_ENUM_XrStructureType(SX_TYPE_CASE)
	default:
		break;
	}
#undef SX_TYPE_CASE
	if (name)
		snprintf(buffer, XR_MAX_STRUCTURE_NAME_SIZE, "%s", name);
	else
		snprintf(buffer, XR_MAX_STRUCTURE_NAME_SIZE, "XR_UNKNOWN_STRUCTURE_TYPE_%d", (int)value);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrStructureTypeToString,
                (XrInstance instance, XrStructureType value, char buffer[XR_MAX_STRUCTURE_NAME_SIZE]),
                (instance, value, buffer))

/* ---- system ---- */
static XrResult xrGetSystem_locked(XrInstance instance, const XrSystemGetInfo *info, XrSystemId *system)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!info || info->type != XR_TYPE_SYSTEM_GET_INFO || !system)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "getInfo or systemId is NULL, or getInfo has the wrong type");
	if (info->formFactor == XR_FORM_FACTOR_HANDHELD_DISPLAY)
		return SX_FAIL(inst, XR_ERROR_FORM_FACTOR_UNSUPPORTED, "only a head-mounted display is simulated");
	if (info->formFactor != XR_FORM_FACTOR_HEAD_MOUNTED_DISPLAY)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "formFactor %d is not an XrFormFactor", info->formFactor);
	if (inst->cfg.unavailable) return XR_ERROR_FORM_FACTOR_UNAVAILABLE; /* the headset is "unplugged" */
	inst->system_got = true;
	*system = SX_SYSTEM_ID;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrGetSystem, (XrInstance instance, const XrSystemGetInfo *info, XrSystemId *system),
                (instance, info, system))

static XrResult xrGetSystemProperties_locked(XrInstance instance, XrSystemId system, XrSystemProperties *props)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	if (r != XR_SUCCESS) return r;
	if (!props || props->type != XR_TYPE_SYSTEM_PROPERTIES)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "properties is NULL or not XR_TYPE_SYSTEM_PROPERTIES");
	props->systemId = system;
	props->vendorId = 0xCA7; /* cavr */
	snprintf(props->systemName, sizeof props->systemName, "%s", SIMXR_SYSTEM_NAME);
	props->graphicsProperties.maxSwapchainImageWidth = SIMXR_MAX_IMAGE_SIZE;
	props->graphicsProperties.maxSwapchainImageHeight = SIMXR_MAX_IMAGE_SIZE;
	props->graphicsProperties.maxLayerCount = SIMXR_MAX_LAYERS;
	props->trackingProperties.orientationTracking = XR_TRUE;
	props->trackingProperties.positionTracking = XR_TRUE;
	for (XrBaseOutStructure *s = props->next; s; s = s->next)
		if (s->type == XR_TYPE_SYSTEM_HAND_TRACKING_PROPERTIES_EXT && inst->ext[SX_EXT_HAND_TRACKING])
			((XrSystemHandTrackingPropertiesEXT *)s)->supportsHandTracking = inst->cfg.hand_tracking;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrGetSystemProperties, (XrInstance instance, XrSystemId system, XrSystemProperties *props),
                (instance, system, props))

static XrResult check_view_config(struct sx_instance *inst, XrViewConfigurationType type, const char *func)
{
	if (type == XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO) return XR_SUCCESS;
	return sx_error(inst, XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED, func,
	                "view configuration %d: only PRIMARY_STEREO is simulated", type);
}

static XrResult xrEnumerateEnvironmentBlendModes_locked(XrInstance instance, XrSystemId system,
                                                        XrViewConfigurationType type, uint32_t capacity,
                                                        uint32_t *count, XrEnvironmentBlendMode *modes)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	if (r == XR_SUCCESS) r = check_view_config(inst, type, __func__);
	bool fill;
	if (r == XR_SUCCESS) r = sx_two_call(inst, __func__, capacity, count, 1, modes, &fill);
	if (r == XR_SUCCESS && fill) modes[0] = XR_ENVIRONMENT_BLEND_MODE_OPAQUE;
	return r;
}
SX_LOCKED_ENTRY(xrEnumerateEnvironmentBlendModes,
                (XrInstance instance, XrSystemId system, XrViewConfigurationType type, uint32_t capacity,
                 uint32_t *count, XrEnvironmentBlendMode *modes),
                (instance, system, type, capacity, count, modes))

static XrResult xrEnumerateViewConfigurations_locked(XrInstance instance, XrSystemId system, uint32_t capacity,
                                                     uint32_t *count, XrViewConfigurationType *types)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	bool fill;
	if (r == XR_SUCCESS) r = sx_two_call(inst, __func__, capacity, count, 1, types, &fill);
	if (r == XR_SUCCESS && fill) types[0] = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO;
	return r;
}
SX_LOCKED_ENTRY(xrEnumerateViewConfigurations,
                (XrInstance instance, XrSystemId system, uint32_t capacity, uint32_t *count,
                 XrViewConfigurationType *types),
                (instance, system, capacity, count, types))

static XrResult xrGetViewConfigurationProperties_locked(XrInstance instance, XrSystemId system,
                                                        XrViewConfigurationType type,
                                                        XrViewConfigurationProperties *props)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	if (r == XR_SUCCESS) r = check_view_config(inst, type, __func__);
	if (r != XR_SUCCESS) return r;
	if (!props || props->type != XR_TYPE_VIEW_CONFIGURATION_PROPERTIES)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "configurationProperties is NULL or the wrong type");
	props->viewConfigurationType = type;
	props->fovMutable = XR_FALSE;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrGetViewConfigurationProperties,
                (XrInstance instance, XrSystemId system, XrViewConfigurationType type,
                 XrViewConfigurationProperties *props),
                (instance, system, type, props))

static XrResult xrEnumerateViewConfigurationViews_locked(XrInstance instance, XrSystemId system,
                                                         XrViewConfigurationType type, uint32_t capacity,
                                                         uint32_t *count, XrViewConfigurationView *views)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	if (r == XR_SUCCESS) r = check_view_config(inst, type, __func__);
	bool fill;
	if (r == XR_SUCCESS) r = sx_two_call(inst, __func__, capacity, count, 2, views, &fill);
	if (r != XR_SUCCESS || !fill) return r;
	for (uint32_t i = 0; i < 2; i++) {
		if (views[i].type != XR_TYPE_VIEW_CONFIGURATION_VIEW)
			return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "views[%u].type is %d", i, views[i].type);
		views[i].recommendedImageRectWidth = inst->cfg.width;
		views[i].recommendedImageRectHeight = inst->cfg.height;
		views[i].maxImageRectWidth = SIMXR_MAX_IMAGE_SIZE;
		views[i].maxImageRectHeight = SIMXR_MAX_IMAGE_SIZE;
		views[i].recommendedSwapchainSampleCount = 1;
		views[i].maxSwapchainSampleCount = 4;
	}
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrEnumerateViewConfigurationViews,
                (XrInstance instance, XrSystemId system, XrViewConfigurationType type, uint32_t capacity,
                 uint32_t *count, XrViewConfigurationView *views),
                (instance, system, type, capacity, count, views))

/* ---- events ---- */
void sx_queue_event(struct sx_instance *inst, const struct sx_event *ev)
{
	if (inst->event_count == SX_EVENT_CAPACITY) {
		inst->events_lost++;
		return;
	}
	inst->events[(inst->event_head + inst->event_count++) % SX_EVENT_CAPACITY] = *ev;
}

void sx_drop_session_events(struct sx_instance *inst, XrSession session)
{
	struct sx_event kept[SX_EVENT_CAPACITY];
	uint32_t n = 0;
	for (uint32_t i = 0; i < inst->event_count; i++) {
		const struct sx_event *ev = &inst->events[(inst->event_head + i) % SX_EVENT_CAPACITY];
		XrSession about = XR_NULL_HANDLE;
		switch (ev->u.base.type) {
		case XR_TYPE_EVENT_DATA_SESSION_STATE_CHANGED: about = ev->u.state.session; break;
		case XR_TYPE_EVENT_DATA_INTERACTION_PROFILE_CHANGED: about = ev->u.profile.session; break;
		case XR_TYPE_EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING: about = ev->u.space_change.session; break;
		default: break;
		}
		if (about != session) kept[n++] = *ev;
	}
	memcpy(inst->events, kept, n * sizeof kept[0]);
	inst->event_head = 0;
	inst->event_count = n;
}

static XrResult xrPollEvent_locked(XrInstance instance, XrEventDataBuffer *buffer)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!buffer || buffer->type != XR_TYPE_EVENT_DATA_BUFFER)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "eventData is NULL or not XR_TYPE_EVENT_DATA_BUFFER");
	if (inst->events_lost) {
		XrEventDataEventsLost lost = {XR_TYPE_EVENT_DATA_EVENTS_LOST, NULL, inst->events_lost};
		memcpy(buffer, &lost, sizeof lost);
		inst->events_lost = 0;
		return XR_SUCCESS;
	}
	if (!inst->event_count) return XR_EVENT_UNAVAILABLE;
	struct sx_event ev = inst->events[inst->event_head];
	inst->event_head = (inst->event_head + 1) % SX_EVENT_CAPACITY;
	inst->event_count--;
	memcpy(buffer, &ev.u, ev.size);
	if (ev.u.base.type == XR_TYPE_EVENT_DATA_SESSION_STATE_CHANGED && inst->session &&
	    SX_TO_XR(XrSession, inst->session) == ev.u.state.session)
		sx_session_state_delivered(inst->session, ev.u.state.state);
	if (ev.u.base.type == XR_TYPE_EVENT_DATA_INSTANCE_LOSS_PENDING) inst->lost = true;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrPollEvent, (XrInstance instance, XrEventDataBuffer *buffer), (instance, buffer))

void sx_instance_fire(struct sx_instance *inst, enum sx_script_event ev)
{
	if (ev != SX_EVENT_INSTANCE_LOSS) {
		if (inst->session) sx_session_fire(inst->session, ev);
		return;
	}
	if (inst->loss_queued) return;
	inst->loss_queued = true;
	struct sx_event e = {.size = sizeof(XrEventDataInstanceLossPending)};
	e.u.instance_loss = (XrEventDataInstanceLossPending){XR_TYPE_EVENT_DATA_INSTANCE_LOSS_PENDING, NULL, inst->now};
	sx_queue_event(inst, &e);
	sx_log(SX_LOG_INFO, "instance loss pending");
}

void sx_instance_advance(struct sx_instance *inst, double t)
{
	enum sx_script_event evs[64];
	uint32_t n = sx_script_events(inst->script, inst->script_done, t, evs, 64);
	double loss = inst->cfg.loss_at;
	bool config_loss = loss >= 0 && loss > inst->script_done && loss <= t;
	inst->script_done = t;
	for (uint32_t i = 0; i < n; i++) sx_instance_fire(inst, evs[i]);
	if (config_loss) sx_instance_fire(inst, SX_EVENT_LOSS);
}

/* ---- XR_EXT_debug_utils ---- */
struct messenger {
	struct sx_object base;
	XrDebugUtilsMessengerCreateInfoEXT info;
};

static XrResult create_messenger(struct sx_instance *inst, const XrDebugUtilsMessengerCreateInfoEXT *ci,
                                 const char *func, XrDebugUtilsMessengerEXT *out)
{
	if (!ci || ci->type != XR_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT || !out)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "createInfo or messenger is NULL, or the wrong type");
	if (!ci->messageSeverities || !ci->messageTypes || !ci->userCallback)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "no severities, no types or no callback");
	struct messenger *m = calloc(1, sizeof *m);
	if (!m) return XR_ERROR_OUT_OF_MEMORY;
	m->info = *ci;
	m->info.next = NULL;
	XrResult r = sx_register(&m->base, SX_MESSENGER, &inst->base, inst);
	if (r != XR_SUCCESS) {
		free(m);
		return r;
	}
	*out = SX_TO_XR(XrDebugUtilsMessengerEXT, m);
	return XR_SUCCESS;
}

static XrResult xrCreateDebugUtilsMessengerEXT_locked(XrInstance instance, const XrDebugUtilsMessengerCreateInfoEXT *ci,
                                                      XrDebugUtilsMessengerEXT *out)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	return r == XR_SUCCESS ? create_messenger(inst, ci, __func__, out) : r;
}
SX_LOCKED_ENTRY(xrCreateDebugUtilsMessengerEXT,
                (XrInstance instance, const XrDebugUtilsMessengerCreateInfoEXT *ci, XrDebugUtilsMessengerEXT *out),
                (instance, ci, out))

static XrResult xrDestroyDebugUtilsMessengerEXT_locked(XrDebugUtilsMessengerEXT messenger)
{
	struct messenger *m = sx_lookup(SX_XR_ID(messenger), SX_MESSENGER);
	if (!m) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live messenger");
	sx_destroy(&m->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroyDebugUtilsMessengerEXT, (XrDebugUtilsMessengerEXT messenger), (messenger))

struct deliver {
	XrDebugUtilsMessageSeverityFlagsEXT severity;
	XrDebugUtilsMessageTypeFlagsEXT types;
	const XrDebugUtilsMessengerCallbackDataEXT *data;
};

static void deliver_one(struct sx_object *obj, void *user)
{
	struct messenger *m = (struct messenger *)obj;
	const struct deliver *d = user;
	if ((m->info.messageSeverities & d->severity) && (m->info.messageTypes & d->types))
		m->info.userCallback(d->severity, d->types, d->data, m->info.userData);
}

static void deliver(struct sx_instance *inst, const struct deliver *d)
{
	sx_for_each(SX_MESSENGER, &inst->base, deliver_one, (void *)d);
}

void sx_debug_message(struct sx_instance *inst, XrDebugUtilsMessageSeverityFlagsEXT severity,
                      XrDebugUtilsMessageTypeFlagsEXT types, const char *func, const char *message)
{
	if (!inst->ext[SX_EXT_DEBUG_UTILS]) return;
	XrDebugUtilsMessengerCallbackDataEXT data = {.type = XR_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT};
	data.messageId = "simxr";
	data.functionName = func;
	data.message = message;
	deliver(inst, &(struct deliver){severity, types, &data});
}

static XrResult xrSubmitDebugUtilsMessageEXT_locked(XrInstance instance, XrDebugUtilsMessageSeverityFlagsEXT severity,
                                                    XrDebugUtilsMessageTypeFlagsEXT types,
                                                    const XrDebugUtilsMessengerCallbackDataEXT *data)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!data || data->type != XR_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT || !data->message)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "callbackData is NULL, has no message or the wrong type");
	if (!severity || !types) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "no severity or no type");
	deliver(inst, &(struct deliver){severity, types, data});
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrSubmitDebugUtilsMessageEXT,
                (XrInstance instance, XrDebugUtilsMessageSeverityFlagsEXT severity,
                 XrDebugUtilsMessageTypeFlagsEXT types, const XrDebugUtilsMessengerCallbackDataEXT *data),
                (instance, severity, types, data))

static enum sx_type object_type(XrObjectType t)
{
	switch (t) {
	case XR_OBJECT_TYPE_INSTANCE: return SX_INSTANCE;
	case XR_OBJECT_TYPE_SESSION: return SX_SESSION;
	case XR_OBJECT_TYPE_SWAPCHAIN: return SX_SWAPCHAIN;
	case XR_OBJECT_TYPE_SPACE: return SX_SPACE;
	case XR_OBJECT_TYPE_ACTION_SET: return SX_ACTION_SET;
	case XR_OBJECT_TYPE_ACTION: return SX_ACTION;
	case XR_OBJECT_TYPE_DEBUG_UTILS_MESSENGER_EXT: return SX_MESSENGER;
	case XR_OBJECT_TYPE_HAND_TRACKER_EXT: return SX_HAND_TRACKER;
	default: return 0;
	}
}

static XrResult xrSetDebugUtilsObjectNameEXT_locked(XrInstance instance, const XrDebugUtilsObjectNameInfoEXT *info)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!info || info->type != XR_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "nameInfo is NULL or the wrong type");
	enum sx_type t = object_type(info->objectType);
	if (!t) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "objectType %d is not a handle type", info->objectType);
	struct sx_object *obj = sx_lookup(info->objectHandle, t);
	if (!obj || obj->instance != inst) return SX_FAIL(inst, XR_ERROR_HANDLE_INVALID, "objectHandle is not live");
	snprintf(obj->name, sizeof obj->name, "%s", info->objectName ? info->objectName : "");
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrSetDebugUtilsObjectNameEXT, (XrInstance instance, const XrDebugUtilsObjectNameInfoEXT *info),
                (instance, info))

static XrResult check_label(XrSession session, const XrDebugUtilsLabelEXT *label, const char *func)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, func, &s);
	if (r != XR_SUCCESS) return r;
	if (label && (label->type != XR_TYPE_DEBUG_UTILS_LABEL_EXT || !label->labelName))
		return sx_error(s->base.instance, XR_ERROR_VALIDATION_FAILURE, func, "labelInfo has the wrong type or no name");
	return sx_session_result(s, XR_SUCCESS);
}

static XrResult xrSessionBeginDebugUtilsLabelRegionEXT_locked(XrSession session, const XrDebugUtilsLabelEXT *label)
{
	if (!label) return sx_error(sx_current_instance, XR_ERROR_VALIDATION_FAILURE, __func__, "labelInfo is NULL");
	return check_label(session, label, __func__);
}
SX_LOCKED_ENTRY(xrSessionBeginDebugUtilsLabelRegionEXT, (XrSession session, const XrDebugUtilsLabelEXT *label),
                (session, label))

static XrResult xrSessionEndDebugUtilsLabelRegionEXT_locked(XrSession session)
{
	return check_label(session, NULL, __func__);
}
SX_LOCKED_ENTRY(xrSessionEndDebugUtilsLabelRegionEXT, (XrSession session), (session))

static XrResult xrSessionInsertDebugUtilsLabelEXT_locked(XrSession session, const XrDebugUtilsLabelEXT *label)
{
	if (!label) return sx_error(sx_current_instance, XR_ERROR_VALIDATION_FAILURE, __func__, "labelInfo is NULL");
	return check_label(session, label, __func__);
}
SX_LOCKED_ENTRY(xrSessionInsertDebugUtilsLabelEXT, (XrSession session, const XrDebugUtilsLabelEXT *label),
                (session, label))

/* ---- hooks (simxr.h) ---- */
SX_EXPORT int simxr_set_script(const char *text)
{
	int ok = 0;
	sx_lock();
	free(g_hook_script);
	g_hook_script = NULL;
	if (text) {
		char err[512];
		struct sx_script *s = sx_script_parse(text, "simxr_set_script", err, sizeof err);
		if (!s) {
			sx_log(SX_LOG_ERROR, "%s", err);
			ok = -1;
		} else {
			g_hook_script = strdup(text);
			if (sx_current_instance) {
				sx_script_destroy(&sx_current_instance->script);
				sx_current_instance->script = s;
			} else {
				sx_script_destroy(&s);
			}
		}
	} else if (sx_current_instance) {
		if (load_script(sx_current_instance) != XR_SUCCESS) ok = -1;
	}
	sx_unlock();
	return ok;
}

SX_EXPORT int simxr_fire(const char *event)
{
	enum sx_script_event ev;
	int ok = -1;
	sx_lock();
	if (sx_script_event_named(event, &ev) && sx_current_instance) {
		sx_instance_fire(sx_current_instance, ev);
		ok = 0;
	}
	sx_unlock();
	return ok;
}

SX_EXPORT int simxr_get_stats(struct simxr_stats *out)
{
	int ok = -1;
	sx_lock();
	struct sx_instance *inst = sx_current_instance;
	if (inst && out) {
		memset(out, 0, sizeof *out);
		out->next_frame = inst->next_frame;
		out->now = inst->now;
		out->period = inst->period;
		if (inst->session) {
			struct sx_session *s = inst->session;
			out->session_state = s->state;
			out->frames_ended = s->frames_ended;
			out->depth_views = s->depth_views;
			out->frames_discarded = s->frames_discarded;
			for (int h = 0; h < SX_HAND_COUNT; h++) {
				out->haptic_amplitude[h] = (float)s->haptic[h].amplitude;
				out->haptic_until[h] = s->haptic[h].until;
			}
		}
		ok = 0;
	}
	sx_unlock();
	return ok;
}

/* Runs when the library is unloaded: what the hooks kept. */
__attribute__((destructor)) static void sx_unload(void)
{
	free(g_hook_script);
	g_hook_script = NULL;
}
