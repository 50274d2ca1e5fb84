/* xr_app: see xr_app.h. */
#include "xr_app.h"

#include <stdio.h>
#include <string.h>

XrResult xa_expect(XrResult got, XrResult want, const char *call, const char *file, int line)
{
	if (got != want) fprintf(stderr, "%s:%d: %s gave %d, expected %d\n", file, line, call, (int)got, (int)want);
	return got;
}

static XRAPI_ATTR XrBool32 XRAPI_CALL on_xr_message(XrDebugUtilsMessageSeverityFlagsEXT severity,
                                                    XrDebugUtilsMessageTypeFlagsEXT types,
                                                    const XrDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	struct xr_app *a = user;
	(void)severity;
	if (types & XR_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT) {
		a->xr_messages++;
		if (data->messageId && strncmp(data->messageId, "VUID", 4) == 0) a->layer_messages++;
		if (!a->quiet) fprintf(stderr, "OpenXR validation: %s: %s\n", data->functionName, data->message);
	}
	return XR_FALSE;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_vk_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT types,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	struct xr_app *a = user;
	(void)types;
	if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
		a->vk_messages++;
		fprintf(stderr, "Vulkan validation: %s\n", data->pMessage);
	}
	return VK_FALSE;
}

#define LOAD(a, name, field) XA_OK(xrGetInstanceProcAddr((a)->instance, name, (PFN_xrVoidFunction *)&(a)->field))

bool xa_create_instance(struct xr_app *a, const char *const *extensions, uint32_t count)
{
	const char *names[16] = {XR_KHR_VULKAN_ENABLE2_EXTENSION_NAME, XR_EXT_DEBUG_UTILS_EXTENSION_NAME};
	uint32_t n = 2;
	for (uint32_t i = 0; i < count && n < 16; i++) names[n++] = extensions[i];
	XrDebugUtilsMessengerCreateInfoEXT mci = {.type = XR_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
	mci.messageSeverities = XR_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT |
	                        XR_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
	mci.messageTypes = XR_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
	                   XR_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_TYPE_CONFORMANCE_BIT_EXT;
	mci.userCallback = on_xr_message;
	mci.userData = a;
	XrInstanceCreateInfo ci = {.type = XR_TYPE_INSTANCE_CREATE_INFO};
	snprintf(ci.applicationInfo.applicationName, sizeof ci.applicationInfo.applicationName, "cavr xr test");
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 0, 0);
	ci.enabledExtensionCount = n;
	ci.enabledExtensionNames = names;
	ci.next = &mci;
	if (!XA_OK(xrCreateInstance(&ci, &a->instance))) return false;
	/* A messenger of the application's own, so the validation layer (which sees it created) reports to it. */
	if (!LOAD(a, "xrCreateDebugUtilsMessengerEXT", create_messenger) ||
	    !LOAD(a, "xrDestroyDebugUtilsMessengerEXT", destroy_messenger) ||
	    !XA_OK(a->create_messenger(a->instance, &mci, &a->messenger)))
		return false;
	XrSystemGetInfo gi = {XR_TYPE_SYSTEM_GET_INFO, NULL, XR_FORM_FACTOR_HEAD_MOUNTED_DISPLAY};
	return XA_OK(xrGetSystem(a->instance, &gi, &a->system)) &&
	       LOAD(a, "xrGetVulkanGraphicsRequirements2KHR", get_requirements) &&
	       LOAD(a, "xrCreateVulkanInstanceKHR", create_vk_instance) &&
	       LOAD(a, "xrGetVulkanGraphicsDevice2KHR", get_vk_device) &&
	       LOAD(a, "xrCreateVulkanDeviceKHR", create_vk_device);
}

#define VK_OK(call) vk_ok((call), #call, __FILE__, __LINE__)
static bool vk_ok(VkResult r, const char *call, const char *file, int line)
{
	if (r != VK_SUCCESS) fprintf(stderr, "%s:%d: %s gave VkResult %d\n", file, line, call, (int)r);
	return r == VK_SUCCESS;
}

/* What the runtime asked vkCreateInstance / vkCreateDevice for, through the function pointer it was given. */
static char g_instance_extensions[2048], g_device_extensions[2048];

static void record_names(char *out, size_t size, const char *const *names, uint32_t count)
{
	out[0] = 0;
	for (uint32_t i = 0; i < count; i++) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, "%s%s", i ? " " : "", names[i]);
	}
}

static VKAPI_ATTR VkResult VKAPI_CALL spy_create_instance(const VkInstanceCreateInfo *ci, const VkAllocationCallbacks *alloc,
                                                          VkInstance *out)
{
	record_names(g_instance_extensions, sizeof g_instance_extensions, ci->ppEnabledExtensionNames, ci->enabledExtensionCount);
	return vkCreateInstance(ci, alloc, out);
}

static VKAPI_ATTR VkResult VKAPI_CALL spy_create_device(VkPhysicalDevice pd, const VkDeviceCreateInfo *ci,
                                                        const VkAllocationCallbacks *alloc, VkDevice *out)
{
	record_names(g_device_extensions, sizeof g_device_extensions, ci->ppEnabledExtensionNames, ci->enabledExtensionCount);
	return vkCreateDevice(pd, ci, alloc, out);
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL spy_get_instance_proc_addr(VkInstance instance, const char *name)
{
	if (strcmp(name, "vkCreateInstance") == 0) return (PFN_vkVoidFunction)spy_create_instance;
	if (strcmp(name, "vkCreateDevice") == 0) return (PFN_vkVoidFunction)spy_create_device;
	return vkGetInstanceProcAddr(instance, name);
}

const char *xa_created_instance_extensions(void)
{
	return g_instance_extensions;
}

const char *xa_created_device_extensions(void)
{
	return g_device_extensions;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(struct xr_app *a)
{
	VkDebugUtilsMessengerCreateInfoEXT mci = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
	mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
	mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
	                  VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
	mci.pfnUserCallback = on_vk_message;
	mci.pUserData = a;
	return mci;
}

/* After the VkInstance and VkDevice exist: the messenger, the queue, a command buffer and a fence. */
static bool finish_vulkan(struct xr_app *a, const VkDebugUtilsMessengerCreateInfoEXT *mci)
{
	PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
		(PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(a->vk_instance, "vkCreateDebugUtilsMessengerEXT");
	if (!create_messenger || !VK_OK(create_messenger(a->vk_instance, mci, NULL, &a->vk_messenger))) return false;
	vkGetDeviceQueue(a->device, a->queue_family, 0, &a->queue);
	VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, NULL,
	                               VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, a->queue_family};
	VkCommandBufferAllocateInfo cai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, NULL, VK_NULL_HANDLE,
	                                   VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
	VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, NULL, 0};
	if (!VK_OK(vkCreateCommandPool(a->device, &pci, NULL, &a->pool))) return false;
	cai.commandPool = a->pool;
	return VK_OK(vkAllocateCommandBuffers(a->device, &cai, &a->cmd)) && VK_OK(vkCreateFence(a->device, &fci, NULL, &a->fence));
}

static bool pick_queue_family(struct xr_app *a)
{
	VkQueueFamilyProperties families[8];
	uint32_t nf = 8;
	vkGetPhysicalDeviceQueueFamilyProperties(a->physical_device, &nf, families);
	a->queue_family = UINT32_MAX;
	for (uint32_t i = 0; i < nf && a->queue_family == UINT32_MAX; i++)
		if (families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) a->queue_family = i;
	return a->queue_family != UINT32_MAX;
}

bool xa_create_vulkan(struct xr_app *a)
{
	XrGraphicsRequirementsVulkan2KHR req = {.type = XR_TYPE_GRAPHICS_REQUIREMENTS_VULKAN2_KHR};
	if (!XA_OK(a->get_requirements(a->instance, a->system, &req))) return false;
	if (XR_VERSION_MAJOR(req.minApiVersionSupported) != 1) return false;

	VkDebugUtilsMessengerCreateInfoEXT mci = messenger_info(a);
	const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
	const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
	VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, NULL, "cavr xr test", 1, "cavr", 1, VK_API_VERSION_1_1};
	VkInstanceCreateInfo vci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, &mci, 0, &app, 1, layers, 1, exts};
	XrVulkanInstanceCreateInfoKHR xci = {.type = XR_TYPE_VULKAN_INSTANCE_CREATE_INFO_KHR};
	xci.systemId = a->system;
	xci.pfnGetInstanceProcAddr = spy_get_instance_proc_addr;
	xci.vulkanCreateInfo = &vci;
	VkResult vr;
	if (!XA_OK(a->create_vk_instance(a->instance, &xci, &a->vk_instance, &vr)) || !VK_OK(vr)) return false;

	XrVulkanGraphicsDeviceGetInfoKHR gi = {XR_TYPE_VULKAN_GRAPHICS_DEVICE_GET_INFO_KHR, NULL, a->system, a->vk_instance};
	if (!XA_OK(a->get_vk_device(a->instance, &gi, &a->physical_device)) || !pick_queue_family(a)) return false;
	float priority = 1;
	VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, a->queue_family, 1, &priority};
	VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, NULL, 0, 1, &qci, 0, NULL, 0, NULL, NULL};
	XrVulkanDeviceCreateInfoKHR xdci = {.type = XR_TYPE_VULKAN_DEVICE_CREATE_INFO_KHR};
	xdci.systemId = a->system;
	xdci.pfnGetInstanceProcAddr = spy_get_instance_proc_addr;
	xdci.vulkanPhysicalDevice = a->physical_device;
	xdci.vulkanCreateInfo = &dci;
	if (!XA_OK(a->create_vk_device(a->instance, &xdci, &a->device, &vr)) || !VK_OK(vr)) return false;
	return finish_vulkan(a, &mci);
}

/* Splits a runtime's space separated list into names[] (pointing into `buffer`), after `first`. */
static uint32_t split(char *buffer, const char **names, uint32_t max, const char *first)
{
	uint32_t n = 0;
	if (first) names[n++] = first;
	char *save = NULL;
	for (char *tok = strtok_r(buffer, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save)) names[n++] = tok;
	return n;
}

bool xa_create_vulkan1(struct xr_app *a)
{
	PFN_xrGetVulkanGraphicsRequirementsKHR get_requirements;
	PFN_xrGetVulkanInstanceExtensionsKHR get_instance_extensions;
	PFN_xrGetVulkanDeviceExtensionsKHR get_device_extensions;
	PFN_xrGetVulkanGraphicsDeviceKHR get_device;
	if (!XA_OK(xrGetInstanceProcAddr(a->instance, "xrGetVulkanGraphicsRequirementsKHR", (PFN_xrVoidFunction *)&get_requirements)) ||
	    !XA_OK(xrGetInstanceProcAddr(a->instance, "xrGetVulkanInstanceExtensionsKHR", (PFN_xrVoidFunction *)&get_instance_extensions)) ||
	    !XA_OK(xrGetInstanceProcAddr(a->instance, "xrGetVulkanDeviceExtensionsKHR", (PFN_xrVoidFunction *)&get_device_extensions)) ||
	    !XA_OK(xrGetInstanceProcAddr(a->instance, "xrGetVulkanGraphicsDeviceKHR", (PFN_xrVoidFunction *)&get_device)))
		return false;
	XrGraphicsRequirementsVulkanKHR req = {.type = XR_TYPE_GRAPHICS_REQUIREMENTS_VULKAN_KHR};
	char instance_list[1024], device_list[1024];
	uint32_t n;
	if (!XA_OK(get_requirements(a->instance, a->system, &req)) ||
	    !XA_OK(get_instance_extensions(a->instance, a->system, sizeof instance_list, &n, instance_list)) ||
	    !XA_OK(get_device_extensions(a->instance, a->system, sizeof device_list, &n, device_list)))
		return false;

	VkDebugUtilsMessengerCreateInfoEXT mci = messenger_info(a);
	const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
	const char *exts[16];
	uint32_t next = split(instance_list, exts, 16, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
	VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, NULL, "cavr xr test", 1, "cavr", 1, VK_API_VERSION_1_1};
	VkInstanceCreateInfo vci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, &mci, 0, &app, 1, layers, next, exts};
	if (!VK_OK(vkCreateInstance(&vci, NULL, &a->vk_instance))) return false;
	if (!XA_OK(get_device(a->instance, a->system, a->vk_instance, &a->physical_device)) || !pick_queue_family(a))
		return false;
	const char *dexts[16];
	uint32_t ndext = split(device_list, dexts, 16, NULL);
	float priority = 1;
	VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, a->queue_family, 1, &priority};
	VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, NULL, 0, 1, &qci, 0, NULL, ndext, dexts, NULL};
	if (!VK_OK(vkCreateDevice(a->physical_device, &dci, NULL, &a->device))) return false;
	return finish_vulkan(a, &mci);
}

bool xa_submit(struct xr_app *a)
{
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO, NULL, 0, NULL, NULL, 1, &a->cmd, 0, NULL};
	return VK_OK(vkResetFences(a->device, 1, &a->fence)) && VK_OK(vkQueueSubmit(a->queue, 1, &si, a->fence)) &&
	       VK_OK(vkWaitForFences(a->device, 1, &a->fence, VK_TRUE, UINT64_MAX));
}

bool xa_create_session(struct xr_app *a)
{
	XrGraphicsBindingVulkan2KHR binding = {.type = XR_TYPE_GRAPHICS_BINDING_VULKAN2_KHR};
	binding.instance = a->vk_instance;
	binding.physicalDevice = a->physical_device;
	binding.device = a->device;
	binding.queueFamilyIndex = a->queue_family;
	binding.queueIndex = 0;
	XrSessionCreateInfo ci = {XR_TYPE_SESSION_CREATE_INFO, &binding, 0, a->system};
	a->state_count = 0;
	a->state = XR_SESSION_STATE_UNKNOWN;
	return XA_OK(xrCreateSession(a->instance, &ci, &a->session));
}

bool xa_poll(struct xr_app *a)
{
	for (;;) {
		XrEventDataBuffer ev = {.type = XR_TYPE_EVENT_DATA_BUFFER};
		XrResult r = xrPollEvent(a->instance, &ev);
		if (r == XR_EVENT_UNAVAILABLE) return true;
		if (r != XR_SUCCESS) {
			fprintf(stderr, "xrPollEvent gave %d\n", (int)r);
			return false;
		}
		switch (ev.type) {
		case XR_TYPE_EVENT_DATA_SESSION_STATE_CHANGED: {
			const XrEventDataSessionStateChanged *sc = (const XrEventDataSessionStateChanged *)&ev;
			if (sc->session != a->session) {
				fprintf(stderr, "a state event for another session\n");
				return false;
			}
			a->state = sc->state;
			if (a->state_count < XA_MAX_STATES) a->states[a->state_count++] = sc->state;
			break;
		}
		case XR_TYPE_EVENT_DATA_INTERACTION_PROFILE_CHANGED: a->profile_changes++; break;
		case XR_TYPE_EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING: a->space_changes++; break;
		case XR_TYPE_EVENT_DATA_INSTANCE_LOSS_PENDING: a->instance_losses++; break;
		default: break;
		}
	}
}

void xa_destroy_session(struct xr_app *a)
{
	if (a->session) xrDestroySession(a->session);
	a->session = XR_NULL_HANDLE;
}

void xa_destroy(struct xr_app *a)
{
	xa_destroy_session(a);
	if (a->device) {
		vkDeviceWaitIdle(a->device);
		if (a->fence) vkDestroyFence(a->device, a->fence, NULL);
		if (a->pool) vkDestroyCommandPool(a->device, a->pool, NULL);
		vkDestroyDevice(a->device, NULL);
	}
	if (a->vk_messenger) {
		PFN_vkDestroyDebugUtilsMessengerEXT destroy =
			(PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(a->vk_instance, "vkDestroyDebugUtilsMessengerEXT");
		if (destroy) destroy(a->vk_instance, a->vk_messenger, NULL);
	}
	if (a->vk_instance) vkDestroyInstance(a->vk_instance, NULL);
	if (a->messenger) a->destroy_messenger(a->messenger);
	if (a->instance) xrDestroyInstance(a->instance);
	uint32_t xr = a->xr_messages, vk = a->vk_messages;
	memset(a, 0, sizeof *a);
	a->xr_messages = xr;
	a->vk_messages = vk;
}
