/* xr_app: a minimal OpenXR + Vulkan application for the XR tests, written against the Khronos loader only:
 * an instance (with an XR_EXT_debug_utils messenger counting validation messages), Vulkan created through
 * XR_KHR_vulkan_enable2 with the Khronos validation layer and its own messenger, a session, and an event pump
 * that records every session state it sees. Every failure prints what failed and where. */
#ifndef CAVR_TEST_XR_APP_H
#define CAVR_TEST_XR_APP_H

#define XR_USE_GRAPHICS_API_VULKAN
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>
#include <openxr/openxr.h>
#include <openxr/openxr_platform.h>

#define XA_MAX_STATES 64

struct xr_app {
	XrInstance instance;
	XrSystemId system;
	XrSession session;
	XrDebugUtilsMessengerEXT messenger;
	uint32_t xr_messages;      /* validation messages (core validation layer or runtime) */
	uint32_t layer_messages;   /* ... of them, those with a VUID: the core validation layer's */
	bool quiet;                /* error tests: count messages without printing them */

	VkInstance vk_instance;
	VkPhysicalDevice physical_device;
	VkDevice device;
	uint32_t queue_family;
	VkQueue queue;
	VkCommandPool pool;
	VkCommandBuffer cmd;
	VkFence fence;
	VkDebugUtilsMessengerEXT vk_messenger;
	uint32_t vk_messages;      /* Vulkan validation errors and warnings */

	XrSessionState states[XA_MAX_STATES]; /* every state change polled, in order */
	uint32_t state_count;
	XrSessionState state;
	uint32_t profile_changes, space_changes, instance_losses;

	PFN_xrGetVulkanGraphicsRequirements2KHR get_requirements;
	PFN_xrCreateVulkanInstanceKHR create_vk_instance;
	PFN_xrGetVulkanGraphicsDevice2KHR get_vk_device;
	PFN_xrCreateVulkanDeviceKHR create_vk_device;
	PFN_xrCreateHandTrackerEXT create_hand_tracker;
	PFN_xrLocateHandJointsEXT locate_hand_joints;
	PFN_xrCreateDebugUtilsMessengerEXT create_messenger;
	PFN_xrDestroyDebugUtilsMessengerEXT destroy_messenger;
};

/* Prints the call, its result and the place when a call does not give `want`; evaluates to the result. */
XrResult xa_expect(XrResult got, XrResult want, const char *call, const char *file, int line);
#define XA_EXPECT(want, call) xa_expect((call), (want), #call, __FILE__, __LINE__)
#define XA_OK(call) (XA_EXPECT(XR_SUCCESS, call) == XR_SUCCESS)

/* An instance with XR_KHR_vulkan_enable2, XR_EXT_debug_utils and the extra extensions given, and its HMD. */
bool xa_create_instance(struct xr_app *a, const char *const *extensions, uint32_t count);
/* The VkInstance and VkDevice made by the runtime (XR_KHR_vulkan_enable2), one graphics queue, a command buffer
 * and a fence. The vkGetInstanceProcAddr given to the runtime records the extensions it creates them with. */
bool xa_create_vulkan(struct xr_app *a);
/* The same made by the application itself, as XR_KHR_vulkan_enable (needs that extension) prescribes. */
bool xa_create_vulkan1(struct xr_app *a);
/* Space separated extension lists of the last vkCreateInstance / vkCreateDevice the runtime made. */
const char *xa_created_instance_extensions(void);
const char *xa_created_device_extensions(void);
bool xa_create_session(struct xr_app *a);
/* Polls every pending event; returns false on a poll error. */
bool xa_poll(struct xr_app *a);
/* Submits the recorded command buffer and waits for it. */
bool xa_submit(struct xr_app *a);
/* Destroys what exists, session first; safe on a partly made app. */
void xa_destroy(struct xr_app *a);
void xa_destroy_session(struct xr_app *a);

#endif
