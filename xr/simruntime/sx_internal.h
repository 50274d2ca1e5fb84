/* sx: internals of cavr's simulated OpenXR runtime (libcavr_simxr.so; see README.md for what it simulates).
 *
 * Ownership: an XrInstance owns everything; destroying a handle destroys its children first (session ->
 * swapchains, spaces, hand trackers; action set -> actions). Handles handed to the application are registry
 * ids, never pointers, so a stale, destroyed or forged handle is always answered with XR_ERROR_HANDLE_INVALID.
 * One recursive lock serialises every API call; xrWaitFrame sleeps on a condition variable under it.
 * Modules: sx_core (negotiation, dispatch, registry, instance, system, events, debug utils), sx_config,
 * sx_script (scripted head, hands, controllers, events), sx_session (state machine, frame loop, views),
 * sx_space (spaces, hand trackers), sx_action (paths, actions, bindings), sx_vulkan (graphics binding,
 * swapchains, frame capture). */
#ifndef SX_INTERNAL_H
#define SX_INTERNAL_H

#define XR_USE_GRAPHICS_API_VULKAN
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>
#include <openxr/openxr.h>
#include <openxr/openxr_platform.h>

#include "sx_math.h"

/* ---- loader negotiation: the OpenXR loader's runtime interface (loader_interfaces.h of the OpenXR SDK,
 * which Debian's libopenxr-dev does not ship), version 1 of every structure. ---- */
#define XR_CURRENT_LOADER_RUNTIME_VERSION 1
#define XR_LOADER_INFO_STRUCT_VERSION 1
#define XR_RUNTIME_INFO_STRUCT_VERSION 1

typedef enum XrLoaderInterfaceStructs {
	XR_LOADER_INTERFACE_STRUCT_UNINTIALIZED = 0,
	XR_LOADER_INTERFACE_STRUCT_LOADER_INFO = 1,
	XR_LOADER_INTERFACE_STRUCT_API_LAYER_REQUEST = 2,
	XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST = 3,
	XR_LOADER_INTERFACE_STRUCT_API_LAYER_CREATE_INFO = 4,
	XR_LOADER_INTERFACE_STRUCT_API_LAYER_NEXT_INFO = 5,
	XR_LOADER_INTERFACE_STRUCTS_MAX_ENUM = 0x7FFFFFFF
} XrLoaderInterfaceStructs;

typedef struct XrNegotiateLoaderInfo {
	XrLoaderInterfaceStructs structType; /* XR_LOADER_INTERFACE_STRUCT_LOADER_INFO */
	uint32_t structVersion;              /* XR_LOADER_INFO_STRUCT_VERSION */
	size_t structSize;                   /* sizeof(XrNegotiateLoaderInfo) */
	uint32_t minInterfaceVersion;
	uint32_t maxInterfaceVersion;
	XrVersion minApiVersion;
	XrVersion maxApiVersion;
} XrNegotiateLoaderInfo;

typedef struct XrNegotiateRuntimeRequest {
	XrLoaderInterfaceStructs structType; /* XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST */
	uint32_t structVersion;              /* XR_RUNTIME_INFO_STRUCT_VERSION */
	size_t structSize;                   /* sizeof(XrNegotiateRuntimeRequest) */
	uint32_t runtimeInterfaceVersion;    /* XR_CURRENT_LOADER_RUNTIME_VERSION */
	XrVersion runtimeApiVersion;
	PFN_xrGetInstanceProcAddr getInstanceProcAddr;
} XrNegotiateRuntimeRequest;

typedef XrResult(XRAPI_PTR *PFN_xrNegotiateLoaderRuntimeInterface)(const XrNegotiateLoaderInfo *loaderInfo,
                                                                   XrNegotiateRuntimeRequest *runtimeRequest);

#define SX_EXPORT __attribute__((visibility("default")))

/* ---- the API: every function the runtime implements, with the extension that provides it ---- */
enum sx_ext {
	SX_EXT_CORE,
	SX_EXT_VULKAN,
	SX_EXT_VULKAN2,
	SX_EXT_HAND_TRACKING,
	SX_EXT_DEBUG_UTILS,
	SX_EXT_DEPTH,
	SX_EXT_COUNT
};

/* The extension of that name, or -1. */
int sx_extension_index(const char *name);

#define SX_API_FUNCTIONS(X)                                   \
	X(xrGetInstanceProcAddr, SX_EXT_CORE)                     \
	X(xrEnumerateApiLayerProperties, SX_EXT_CORE)             \
	X(xrEnumerateInstanceExtensionProperties, SX_EXT_CORE)    \
	X(xrCreateInstance, SX_EXT_CORE)                          \
	X(xrDestroyInstance, SX_EXT_CORE)                         \
	X(xrGetInstanceProperties, SX_EXT_CORE)                   \
	X(xrPollEvent, SX_EXT_CORE)                               \
	X(xrResultToString, SX_EXT_CORE)                          \
	X(xrStructureTypeToString, SX_EXT_CORE)                   \
	X(xrGetSystem, SX_EXT_CORE)                               \
	X(xrGetSystemProperties, SX_EXT_CORE)                     \
	X(xrEnumerateEnvironmentBlendModes, SX_EXT_CORE)          \
	X(xrCreateSession, SX_EXT_CORE)                           \
	X(xrDestroySession, SX_EXT_CORE)                          \
	X(xrEnumerateReferenceSpaces, SX_EXT_CORE)                \
	X(xrCreateReferenceSpace, SX_EXT_CORE)                    \
	X(xrGetReferenceSpaceBoundsRect, SX_EXT_CORE)             \
	X(xrCreateActionSpace, SX_EXT_CORE)                       \
	X(xrLocateSpace, SX_EXT_CORE)                             \
	X(xrDestroySpace, SX_EXT_CORE)                            \
	X(xrEnumerateViewConfigurations, SX_EXT_CORE)             \
	X(xrGetViewConfigurationProperties, SX_EXT_CORE)          \
	X(xrEnumerateViewConfigurationViews, SX_EXT_CORE)         \
	X(xrEnumerateSwapchainFormats, SX_EXT_CORE)               \
	X(xrCreateSwapchain, SX_EXT_CORE)                         \
	X(xrDestroySwapchain, SX_EXT_CORE)                        \
	X(xrEnumerateSwapchainImages, SX_EXT_CORE)                \
	X(xrAcquireSwapchainImage, SX_EXT_CORE)                   \
	X(xrWaitSwapchainImage, SX_EXT_CORE)                      \
	X(xrReleaseSwapchainImage, SX_EXT_CORE)                   \
	X(xrBeginSession, SX_EXT_CORE)                            \
	X(xrEndSession, SX_EXT_CORE)                              \
	X(xrRequestExitSession, SX_EXT_CORE)                      \
	X(xrWaitFrame, SX_EXT_CORE)                               \
	X(xrBeginFrame, SX_EXT_CORE)                              \
	X(xrEndFrame, SX_EXT_CORE)                                \
	X(xrLocateViews, SX_EXT_CORE)                             \
	X(xrStringToPath, SX_EXT_CORE)                            \
	X(xrPathToString, SX_EXT_CORE)                            \
	X(xrCreateActionSet, SX_EXT_CORE)                         \
	X(xrDestroyActionSet, SX_EXT_CORE)                        \
	X(xrCreateAction, SX_EXT_CORE)                            \
	X(xrDestroyAction, SX_EXT_CORE)                           \
	X(xrSuggestInteractionProfileBindings, SX_EXT_CORE)       \
	X(xrAttachSessionActionSets, SX_EXT_CORE)                 \
	X(xrGetCurrentInteractionProfile, SX_EXT_CORE)            \
	X(xrGetActionStateBoolean, SX_EXT_CORE)                   \
	X(xrGetActionStateFloat, SX_EXT_CORE)                     \
	X(xrGetActionStateVector2f, SX_EXT_CORE)                  \
	X(xrGetActionStatePose, SX_EXT_CORE)                      \
	X(xrSyncActions, SX_EXT_CORE)                             \
	X(xrEnumerateBoundSourcesForAction, SX_EXT_CORE)          \
	X(xrGetInputSourceLocalizedName, SX_EXT_CORE)             \
	X(xrApplyHapticFeedback, SX_EXT_CORE)                     \
	X(xrStopHapticFeedback, SX_EXT_CORE)                      \
	X(xrGetVulkanInstanceExtensionsKHR, SX_EXT_VULKAN)        \
	X(xrGetVulkanDeviceExtensionsKHR, SX_EXT_VULKAN)          \
	X(xrGetVulkanGraphicsDeviceKHR, SX_EXT_VULKAN)            \
	X(xrGetVulkanGraphicsRequirementsKHR, SX_EXT_VULKAN)      \
	X(xrCreateVulkanInstanceKHR, SX_EXT_VULKAN2)              \
	X(xrCreateVulkanDeviceKHR, SX_EXT_VULKAN2)                \
	X(xrGetVulkanGraphicsDevice2KHR, SX_EXT_VULKAN2)          \
	X(xrGetVulkanGraphicsRequirements2KHR, SX_EXT_VULKAN2)    \
	X(xrSetDebugUtilsObjectNameEXT, SX_EXT_DEBUG_UTILS)       \
	X(xrCreateDebugUtilsMessengerEXT, SX_EXT_DEBUG_UTILS)     \
	X(xrDestroyDebugUtilsMessengerEXT, SX_EXT_DEBUG_UTILS)    \
	X(xrSubmitDebugUtilsMessageEXT, SX_EXT_DEBUG_UTILS)       \
	X(xrSessionBeginDebugUtilsLabelRegionEXT, SX_EXT_DEBUG_UTILS) \
	X(xrSessionEndDebugUtilsLabelRegionEXT, SX_EXT_DEBUG_UTILS)   \
	X(xrSessionInsertDebugUtilsLabelEXT, SX_EXT_DEBUG_UTILS)  \
	X(xrCreateHandTrackerEXT, SX_EXT_HAND_TRACKING)           \
	X(xrDestroyHandTrackerEXT, SX_EXT_HAND_TRACKING)          \
	X(xrLocateHandJointsEXT, SX_EXT_HAND_TRACKING)

/* Each implementation is sx_<name>, declared with exactly the type of the header's PFN_<name>. */
#define SX_DECLARE_API(name, ext) extern __typeof__(*(PFN_##name)0) sx_##name;
SX_API_FUNCTIONS(SX_DECLARE_API)
#undef SX_DECLARE_API

/* ---- lock, log, errors ---- */
void sx_lock(void);
void sx_unlock(void);
void sx_cond_init(pthread_cond_t *cond); /* on CLOCK_MONOTONIC */
/* Waits under the lock, at most `seconds`; true when the time ran out. */
bool sx_cond_wait(pthread_cond_t *cond, double seconds);

enum sx_log_level { SX_LOG_DEBUG, SX_LOG_INFO, SX_LOG_WARN, SX_LOG_ERROR, SX_LOG_NONE };
void sx_log(enum sx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sx_set_log_level(enum sx_log_level level);

struct sx_instance;
/* Explains a failed call (log at warn, and the instance's debug messengers as a validation error) and
 * returns the code: `return sx_error(inst, XR_ERROR_CALL_ORDER_INVALID, __func__, "no xrWaitFrame");`. */
XrResult sx_error(struct sx_instance *inst, XrResult r, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define SX_FAIL(inst, r, ...) sx_error((inst), (r), __func__, __VA_ARGS__)

/* Wraps an implementation `static XrResult name##_locked(args)` as the API function sx_<name>. */
#define SX_LOCKED_ENTRY(name, params, args)      \
	XrResult XRAPI_CALL sx_##name params         \
	{                                            \
		sx_lock();                               \
		XrResult sx_r_ = name##_locked args;     \
		sx_unlock();                             \
		return sx_r_;                            \
	}

/* ---- handles ---- */
enum sx_type {
	SX_INSTANCE = 1,
	SX_SESSION,
	SX_SPACE,
	SX_SWAPCHAIN,
	SX_ACTION_SET,
	SX_ACTION,
	SX_HAND_TRACKER,
	SX_MESSENGER,
};

/* The first member of every runtime object. */
struct sx_object {
	uint64_t handle;
	enum sx_type type;
	struct sx_object *parent; /* destroyed along with it */
	struct sx_instance *instance;
	char name[64];            /* XR_EXT_debug_utils object name, for messages */
};

#define SX_TO_XR(xr_type, obj) ((xr_type)(uintptr_t)(obj)->base.handle)
#define SX_XR_ID(h) ((uint64_t)(uintptr_t)(h))

/* Registers obj (calloc'd by the caller, freed by sx_destroy) and gives it a fresh handle. */
XrResult sx_register(struct sx_object *obj, enum sx_type type, struct sx_object *parent,
                     struct sx_instance *inst);
/* The live object of that handle and type, or NULL. */
void *sx_lookup(uint64_t handle, enum sx_type type);
/* Like sx_lookup, but answers XR_ERROR_HANDLE_INVALID (explained) or XR_ERROR_INSTANCE_LOST. */
XrResult sx_get(uint64_t handle, enum sx_type type, const char *func, void **out);
/* Destroys children first, then obj; obj's handle is invalid afterwards. */
void sx_destroy(struct sx_object *obj);
/* Calls fn for each live object of a type (whose parent chain includes `under`, when not NULL). */
void sx_for_each(enum sx_type type, struct sx_object *under, void (*fn)(struct sx_object *, void *), void *user);

/* ---- configuration (sx_config.c; README.md lists every key) ---- */
#define SX_MAX_FRAME_RANGES 32

/* off: the application's create infos as given (plus vulkan_*_extensions); on: also what real runtimes add
 * (Monado: a timeline semaphore features struct, external memory, fence and semaphore extensions); wrong (tests
 * only): on, plus a VkPhysicalDeviceVulkan12Features, which the specification forbids beside that struct. */
enum sx_edit { SX_EDIT_OFF, SX_EDIT_ON, SX_EDIT_WRONG };

struct sx_config {
	uint32_t width, height;     /* recommended image size per eye */
	double ipd;                 /* metres */
	double refresh_hz;
	double fov[4];              /* radians: angleLeft, angleRight, angleUp, angleDown */
	char script[1024];          /* script file, or "" */
	char capture[1024];         /* PNG path pattern, or "" */
	struct {
		int64_t first, last;
	} capture_frames[SX_MAX_FRAME_RANGES];
	uint32_t capture_frame_ranges; /* 0: every frame */
	bool realtime;              /* xrWaitFrame sleeps to hold the refresh rate in wall-clock time */
	bool hand_tracking;         /* the system reports hand tracking support */
	bool unavailable;           /* xrGetSystem answers XR_ERROR_FORM_FACTOR_UNAVAILABLE */
	bool disabled[SX_EXT_COUNT];
	char vulkan_device[256];    /* substring of the device name xrGetVulkanGraphicsDevice*KHR picks */
	char vulkan_instance_extensions[512]; /* what the runtime "needs" from Vulkan, space separated */
	char vulkan_device_extensions[512];
	enum sx_edit edit_create_infos; /* what xrCreateVulkan*KHR add to the application's create infos */
	double stage_size[2];       /* STAGE bounds: width (x) and depth (z), metres */
	double loss_at;             /* simulated seconds at which the session is lost; < 0: never */
	enum sx_log_level log_level;
};

/* Reads $CAVR_SIMXR_CONFIG (a key = value file), then the CAVR_SIMXR_* variables over it.
 * On error writes a one-line explanation into err and returns false. */
bool sx_config_load(struct sx_config *cfg, char *err, size_t err_size);
bool sx_config_capture_frame(const struct sx_config *cfg, int64_t frame);

/* ---- scripts (sx_script.c; format in README.md) ---- */
enum sx_hand { SX_HAND_LEFT, SX_HAND_RIGHT, SX_HAND_COUNT };

struct sx_joint {
	struct sx_pose pose; /* STAGE space */
	double radius;
};

struct sx_controller {
	bool connected;
	struct sx_pose grip, aim; /* STAGE space */
	bool select, menu;
};

enum sx_script_event {
	SX_EVENT_LOSS,          /* session loss: LOSS_PENDING, then XR_ERROR_SESSION_LOST */
	SX_EVENT_INSTANCE_LOSS, /* instance loss pending, then XR_ERROR_INSTANCE_LOST */
	SX_EVENT_EXIT,          /* the user quits from the system UI: STOPPING ... EXITING */
	SX_EVENT_STOP,          /* the runtime stops the session: STOPPING, IDLE, then READY again */
	SX_EVENT_FOCUS,         /* back to FOCUSED */
	SX_EVENT_UNFOCUS,       /* a system pop-up takes input focus: VISIBLE */
	SX_EVENT_RECENTER,      /* LOCAL moves to the current head pose (reference space change event) */
};

/* The event a script line or simxr_fire names ("loss", "exit", ...); false for an unknown name. */
bool sx_script_event_named(const char *name, enum sx_script_event *out);

struct sx_script;
/* Parses a script; `what` names it in errors ("file.txt" or "script"), which go to err. */
struct sx_script *sx_script_parse(const char *text, const char *what, char *err, size_t err_size);
struct sx_script *sx_script_load(const char *path, char *err, size_t err_size);
void sx_script_destroy(struct sx_script **s);
struct sx_pose sx_script_head(const struct sx_script *s, double t);
/* Fills 26 joints in XR_EXT_hand_tracking order; false when the hand is not tracked at t. */
bool sx_script_hand(const struct sx_script *s, enum sx_hand hand, double t, struct sx_joint joints[26]);
struct sx_controller sx_script_controller(const struct sx_script *s, enum sx_hand hand, double t);
/* Events with after < time <= until, in time order; returns how many were written (at most max). */
uint32_t sx_script_events(const struct sx_script *s, double after, double until, enum sx_script_event *out,
                          uint32_t max);
/* The procedural hand (exposed for the tests of the model itself). */
void sx_hand_model(enum sx_hand hand, const struct sx_pose *wrist, double curl, double pinch,
                   struct sx_joint joints[26]);

/* ---- instance ---- */
#define SX_EVENT_CAPACITY 64

struct sx_event {
	union {
		XrEventDataBaseHeader base;
		XrEventDataSessionStateChanged state;
		XrEventDataInstanceLossPending instance_loss;
		XrEventDataInteractionProfileChanged profile;
		XrEventDataReferenceSpaceChangePending space_change;
		XrEventDataEventsLost lost;
	} u;
	size_t size;
};

struct sx_binding {
	uint64_t action; /* handle: actions may be destroyed after suggesting */
	XrPath path;
};

struct sx_profile_bindings {
	XrPath profile;
	struct sx_binding *bindings;
	uint32_t count;
};

struct sx_session;

struct sx_instance {
	struct sx_object base;
	bool ext[SX_EXT_COUNT];
	struct sx_config cfg;
	struct sx_script *script;
	char app_name[XR_MAX_APPLICATION_NAME_SIZE];

	/* The simulated clock: frame n is displayed at epoch + n * period, on every session of the instance. */
	XrTime epoch;
	XrDuration period;
	int64_t next_frame;
	XrTime now;                /* display time of the latest frame (epoch before any) */
	double script_done;        /* script events up to this script time have fired */
	double wall_start;         /* realtime mode: wall clock of frame 0 */

	bool system_got;           /* xrGetSystem succeeded */
	bool requirements_called;  /* xrGetVulkanGraphicsRequirements(2)KHR */
	VkInstance vk_instance;    /* the last one xrCreateVulkanInstanceKHR made */
	PFN_vkGetInstanceProcAddr vk_gipa;
	bool vk_debug_utils;       /* that instance has VK_EXT_debug_utils (objects get names) */
	VkPhysicalDevice vk_physical_device; /* what xrGetVulkanGraphicsDevice(2)KHR reported */

	struct sx_event events[SX_EVENT_CAPACITY];
	uint32_t event_head, event_count, events_lost;
	bool loss_queued;          /* instance loss pending */
	bool lost;                 /* ... and delivered: calls answer XR_ERROR_INSTANCE_LOST */

	char **paths;              /* XrPath n is paths[n - 1] */
	uint32_t path_count, path_capacity;
	struct sx_profile_bindings *suggested;
	uint32_t suggested_count;

	struct sx_session *session; /* one at a time */
};

extern struct sx_instance *sx_current_instance;

#define SX_SYSTEM_ID ((XrSystemId)0x5158) /* the one simulated HMD */

void sx_queue_event(struct sx_instance *inst, const struct sx_event *ev);
void sx_drop_session_events(struct sx_instance *inst, XrSession session);
/* Sends a message to the instance's XR_EXT_debug_utils messengers. */
void sx_debug_message(struct sx_instance *inst, XrDebugUtilsMessageSeverityFlagsEXT severity,
                      XrDebugUtilsMessageTypeFlagsEXT types, const char *func, const char *message);
/* Applies script events (and the configured loss time) with script time up to t. */
void sx_instance_advance(struct sx_instance *inst, double t);
double sx_script_time(const struct sx_instance *inst, XrTime time);
void sx_instance_fire(struct sx_instance *inst, enum sx_script_event ev);
XrResult sx_check_system(struct sx_instance *inst, XrSystemId system, const char *func);
/* Two-call idiom: sets *count_out; returns XR_SUCCESS with *fill true when the caller must write `needed`
 * elements, XR_SUCCESS with *fill false for a size query, or an error. */
XrResult sx_two_call(struct sx_instance *inst, const char *func, uint32_t capacity, uint32_t *count_out,
                     uint32_t needed, const void *array, bool *fill);
/* Finds a structure of a type in a next chain. */
const void *sx_find_next(const void *next, XrStructureType type);

/* ---- Vulkan (sx_vulkan.c) ---- */
struct sx_vk_fns {
#define SX_VK_INSTANCE_FNS(X)                    \
	X(vkGetDeviceProcAddr)                       \
	X(vkEnumeratePhysicalDevices)                \
	X(vkGetPhysicalDeviceProperties)             \
	X(vkGetPhysicalDeviceMemoryProperties)       \
	X(vkGetPhysicalDeviceFormatProperties)       \
	X(vkGetPhysicalDeviceImageFormatProperties)  \
	X(vkGetPhysicalDeviceQueueFamilyProperties)
#define SX_VK_DEVICE_FNS(X)       \
	X(vkGetDeviceQueue)           \
	X(vkCreateImage)              \
	X(vkDestroyImage)             \
	X(vkGetImageMemoryRequirements) \
	X(vkAllocateMemory)           \
	X(vkFreeMemory)               \
	X(vkBindImageMemory)          \
	X(vkCreateBuffer)             \
	X(vkDestroyBuffer)            \
	X(vkGetBufferMemoryRequirements) \
	X(vkBindBufferMemory)         \
	X(vkMapMemory)                \
	X(vkUnmapMemory)              \
	X(vkCreateCommandPool)        \
	X(vkDestroyCommandPool)       \
	X(vkAllocateCommandBuffers)   \
	X(vkFreeCommandBuffers)       \
	X(vkBeginCommandBuffer)       \
	X(vkEndCommandBuffer)         \
	X(vkCmdPipelineBarrier)       \
	X(vkCmdCopyImageToBuffer)     \
	X(vkQueueSubmit)              \
	X(vkCreateFence)              \
	X(vkDestroyFence)             \
	X(vkWaitForFences)            \
	X(vkResetFences)
#define SX_VK_FIELD(name) PFN_##name name;
	SX_VK_INSTANCE_FNS(SX_VK_FIELD)
	SX_VK_DEVICE_FNS(SX_VK_FIELD)
#undef SX_VK_FIELD
	PFN_vkSetDebugUtilsObjectNameEXT vkSetDebugUtilsObjectNameEXT; /* NULL without VK_EXT_debug_utils */
};

#define SX_MAX_FORMATS 8

struct sx_vk {
	VkInstance instance;
	VkPhysicalDevice physical_device;
	VkDevice device;
	uint32_t queue_family, queue_index;
	VkQueue queue;
	struct sx_vk_fns f;
	VkPhysicalDeviceMemoryProperties memory;
	VkCommandPool pool;
	VkFence fence;
	VkBuffer readback;
	VkDeviceMemory readback_memory;
	VkDeviceSize readback_size;
	void *readback_map;
	int64_t formats[SX_MAX_FORMATS]; /* what xrEnumerateSwapchainFormats answers, preferred first */
	uint32_t format_count;
};

/* Takes the graphics binding of xrCreateSession (already type-checked) and prepares the session's Vulkan. */
XrResult sx_vk_session_init(struct sx_session *s, const XrGraphicsBindingVulkanKHR *binding);
void sx_vk_session_fini(struct sx_session *s);

#define SX_MAX_IMAGES 3

struct sx_swapchain {
	struct sx_object base;
	struct sx_session *session;
	XrSwapchainCreateInfo info;
	VkFormat format;
	VkImageAspectFlags aspect;
	bool depth;
	uint32_t image_count;
	VkImage images[SX_MAX_IMAGES];
	VkDeviceMemory memory[SX_MAX_IMAGES];
	bool laid_out[SX_MAX_IMAGES];      /* moved out of UNDEFINED into the attachment layout */
	uint32_t next;                     /* the index the next acquire returns */
	uint32_t acquired[SX_MAX_IMAGES];  /* acquired, not yet released; oldest first */
	uint32_t acquired_count;
	bool oldest_waited;                /* acquired[0] was waited on */
	int32_t released;                  /* the last released index, -1 before the first release */
	bool ever_acquired;
};

void sx_swapchain_free(struct sx_swapchain *sc);
/* Copies the released images that the frame's projection layers show and writes them as PNG files. */
XrResult sx_vk_capture_frame(struct sx_session *s, const XrFrameEndInfo *info, int64_t frame);

/* ---- session ---- */
enum sx_source {
	SX_SRC_NONE = 0,
	SX_SRC_SELECT = 1 << 0,
	SX_SRC_MENU = 1 << 1,
	SX_SRC_GRIP = 1 << 2,
	SX_SRC_AIM = 1 << 3,
	SX_SRC_HAPTIC = 1 << 4,
};

struct sx_session {
	struct sx_object base;
	XrSessionState state;      /* the runtime's state: the last one queued */
	XrSessionState app_state;  /* the last one xrPollEvent delivered; calls are checked against it */
	bool running;
	bool exit_requested;       /* ends in EXITING rather than READY again */
	bool unfocused;            /* scripted: a system pop-up has input focus */
	bool loss_queued, loss_delivered;
	XrViewConfigurationType view_config;

	/* Frame loop: one xrWaitFrame may be outstanding until xrBeginFrame consumes it. */
	pthread_cond_t frame_cond;
	bool wait_outstanding;
	bool frame_begun;
	int64_t waited_frame, begun_frame;
	uint64_t run_generation;   /* bumped when the session starts or stops running, to release waiters */
	uint64_t frames_ended, frames_discarded;
	uint64_t depth_views; /* projection views submitted with a valid depth info */

	struct sx_vk vk;

	/* Input */
	bool attached;
	uint64_t *attached_sets;   /* action set handles */
	uint32_t attached_count;
	XrPath profile[SX_HAND_COUNT]; /* current interaction profile per hand */
	XrTime last_sync;
	struct sx_pose local;      /* LOCAL in STAGE */
	struct {
		double amplitude;
		XrTime until;
	} haptic[SX_HAND_COUNT];
};

/* Every session call starts with this: the session, or why not (including XR_ERROR_SESSION_LOST). */
XrResult sx_session_get(XrSession handle, const char *func, struct sx_session **out);
/* A success result as the session's loss allows: XR_SESSION_LOSS_PENDING while the loss is pending. */
XrResult sx_session_result(const struct sx_session *s, XrResult r);
void sx_session_free(struct sx_session *s);
void sx_session_queue_state(struct sx_session *s, XrSessionState state);
void sx_session_fire(struct sx_session *s, enum sx_script_event ev);
void sx_session_state_delivered(struct sx_session *s, XrSessionState state);
bool sx_session_focused(const struct sx_session *s);

/* ---- spaces (sx_space.c) ---- */
struct sx_space {
	struct sx_object base;
	struct sx_session *session;
	XrReferenceSpaceType ref;  /* 0 for an action space */
	uint64_t action;           /* action spaces: the pose action's handle */
	XrPath subaction;
	struct sx_pose offset;     /* poseInReferenceSpace / poseInActionSpace */
};

/* The space's pose in STAGE at time t; false when it cannot be located (an inactive action). */
bool sx_space_pose(const struct sx_space *sp, XrTime time, struct sx_pose *out);
/* The pose of a controller source (grip or aim) in STAGE, when connected. */
bool sx_controller_pose(const struct sx_session *s, enum sx_hand hand, enum sx_source src, XrTime time,
                        struct sx_pose *out);

struct sx_hand_tracker {
	struct sx_object base;
	struct sx_session *session;
	XrHandEXT hand;
};

/* ---- actions (sx_action.c) ---- */
#define SX_MAX_SUBACTIONS 8

struct sx_action_set {
	struct sx_object base;
	char name[XR_MAX_ACTION_SET_NAME_SIZE];
	char localized[XR_MAX_LOCALIZED_ACTION_SET_NAME_SIZE];
	uint32_t priority;
	bool attached;
};

struct sx_action_state {
	bool active;
	float value;       /* boolean and float */
	float x, y;        /* vector2f */
	bool changed;
	XrTime last_change;
};

struct sx_action {
	struct sx_object base;
	struct sx_action_set *set;
	char name[XR_MAX_ACTION_NAME_SIZE];
	char localized[XR_MAX_LOCALIZED_ACTION_NAME_SIZE];
	XrActionType type;
	XrPath subactions[SX_MAX_SUBACTIONS];
	uint32_t subaction_count;
	uint32_t sources[SX_HAND_COUNT];   /* enum sx_source bits bound at attach time */
	struct sx_action_state state[SX_HAND_COUNT];
};

/* Paths are per instance; 0 is XR_NULL_PATH. Returns 0 when out of memory. */
XrPath sx_path_intern(struct sx_instance *inst, const char *str);
const char *sx_path_string(const struct sx_instance *inst, XrPath path);
/* The hand a top-level user path names, or -1. */
int sx_path_hand(const struct sx_instance *inst, XrPath path);
void sx_instance_free_paths(struct sx_instance *inst);
/* Whether an action on this hand is active as of the last xrSyncActions. */
bool sx_action_active(const struct sx_action *a, enum sx_hand hand);

#endif
