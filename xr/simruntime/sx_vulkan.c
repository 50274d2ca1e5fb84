/* sx_vulkan: XR_KHR_vulkan_enable and XR_KHR_vulkan_enable2, swapchains of VkImages created on the
 * application's VkDevice, and the PNG capture of submitted projection layers.
 *
 * The runtime touches the application's queue only where XR_KHR_vulkan_enable2 allows it: in
 * xrAcquireSwapchainImage (an image's first acquire moves it from UNDEFINED into the attachment layout the
 * application may expect) and in xrEndFrame (capture copies). Both submit one command buffer from the
 * runtime's own pool and wait on a fence. Vulkan functions come from the vkGetInstanceProcAddr the application
 * passed to xrCreateVulkanInstanceKHR, or from the Vulkan loader for instances the application made itself. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "simxr.h"
#include "sx_internal.h"

/* ---- requirements, instance and device ---- */
static XrResult requirements(XrInstance instance, XrSystemId system, XrGraphicsRequirementsVulkanKHR *req,
                             const char *func)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, func, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, func);
	if (r != XR_SUCCESS) return r;
	if (!req || req->type != XR_TYPE_GRAPHICS_REQUIREMENTS_VULKAN_KHR)
		return sx_error(inst, XR_ERROR_VALIDATION_FAILURE, func, "graphicsRequirements is NULL or the wrong type");
	req->minApiVersionSupported = XR_MAKE_VERSION(1, 0, 0);
	req->maxApiVersionSupported = XR_MAKE_VERSION(1, 3, 0);
	inst->requirements_called = true;
	return XR_SUCCESS;
}

static XrResult xrGetVulkanGraphicsRequirementsKHR_locked(XrInstance instance, XrSystemId system,
                                                          XrGraphicsRequirementsVulkanKHR *req)
{
	return requirements(instance, system, req, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanGraphicsRequirementsKHR,
                (XrInstance instance, XrSystemId system, XrGraphicsRequirementsVulkanKHR *req), (instance, system, req))

static XrResult xrGetVulkanGraphicsRequirements2KHR_locked(XrInstance instance, XrSystemId system,
                                                           XrGraphicsRequirementsVulkan2KHR *req)
{
	return requirements(instance, system, req, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanGraphicsRequirements2KHR,
                (XrInstance instance, XrSystemId system, XrGraphicsRequirementsVulkan2KHR *req), (instance, system, req))

static XrResult extension_string(XrInstance instance, XrSystemId system, uint32_t capacity, uint32_t *count,
                                 char *buffer, bool device, const char *func)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, func, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, func);
	if (r != XR_SUCCESS) return r;
	const char *s = device ? inst->cfg.vulkan_device_extensions : inst->cfg.vulkan_instance_extensions;
	bool fill;
	r = sx_two_call(inst, func, capacity, count, (uint32_t)strlen(s) + 1, buffer, &fill);
	if (r == XR_SUCCESS && fill) memcpy(buffer, s, strlen(s) + 1);
	return r;
}

static XrResult xrGetVulkanInstanceExtensionsKHR_locked(XrInstance instance, XrSystemId system, uint32_t capacity,
                                                        uint32_t *count, char *buffer)
{
	return extension_string(instance, system, capacity, count, buffer, false, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanInstanceExtensionsKHR,
                (XrInstance instance, XrSystemId system, uint32_t capacity, uint32_t *count, char *buffer),
                (instance, system, capacity, count, buffer))

static XrResult xrGetVulkanDeviceExtensionsKHR_locked(XrInstance instance, XrSystemId system, uint32_t capacity,
                                                      uint32_t *count, char *buffer)
{
	return extension_string(instance, system, capacity, count, buffer, true, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanDeviceExtensionsKHR,
                (XrInstance instance, XrSystemId system, uint32_t capacity, uint32_t *count, char *buffer),
                (instance, system, capacity, count, buffer))

/* The application's extension list plus the runtime's (space separated, configurable), without repeats.
 * names[] points into app and into `own` (a copy the caller frees). */
static const char **merge_extensions(const char *const *app, uint32_t app_count, const char *runtime, char **own,
                                     uint32_t *count)
{
	*own = strdup(runtime);
	const char **names = calloc(app_count + strlen(runtime) / 2 + 2, sizeof *names);
	if (!*own || !names) {
		free(*own);
		free(names);
		return NULL;
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < app_count; i++) names[n++] = app[i];
	char *save = NULL;
	for (char *tok = strtok_r(*own, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		bool have = false;
		for (uint32_t i = 0; i < n; i++) have |= strcmp(names[i], tok) == 0;
		if (!have) names[n++] = tok;
	}
	*count = n;
	return names;
}

/* Extensions a real runtime adds to the application's (the kind Monado's client compositor asks for: external
 * memory, fences and semaphores, timeline semaphores), each only where the loader or the device offers it. */
static const char *const g_edit_instance_extensions[] = {
	"VK_KHR_external_fence_capabilities", "VK_KHR_external_memory_capabilities",
	"VK_KHR_external_semaphore_capabilities", "VK_KHR_get_physical_device_properties2",
};
static const char *const g_edit_device_extensions[] = {
	"VK_KHR_dedicated_allocation", "VK_KHR_get_memory_requirements2", "VK_KHR_external_memory",
	"VK_KHR_external_memory_fd", "VK_KHR_external_fence", "VK_KHR_external_fence_fd",
	"VK_KHR_external_semaphore", "VK_KHR_external_semaphore_fd", VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME,
};

#define SX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The runtime's own extensions, space separated (the caller frees): the configured ones and, when it edits
 * create infos, the offered ones of `edit` (device extensions when pd is set). */
static char *runtime_extensions(const struct sx_instance *inst, const char *configured, PFN_vkGetInstanceProcAddr gipa,
                                VkPhysicalDevice pd, const char *const *edit, size_t edit_count)
{
	size_t size = strlen(configured) + 1;
	for (size_t i = 0; i < edit_count; i++) size += strlen(edit[i]) + 1;
	char *s = malloc(size);
	if (!s) return NULL;
	strcpy(s, configured);
	if (inst->cfg.edit_create_infos == SX_EDIT_OFF) return s;
	PFN_vkEnumerateInstanceExtensionProperties instance_fn =
		(PFN_vkEnumerateInstanceExtensionProperties)gipa(NULL, "vkEnumerateInstanceExtensionProperties");
	PFN_vkEnumerateDeviceExtensionProperties device_fn = (PFN_vkEnumerateDeviceExtensionProperties)gipa(
		inst->vk_instance, "vkEnumerateDeviceExtensionProperties");
	uint32_t n = 0;
	VkResult vr = pd ? (device_fn ? device_fn(pd, NULL, &n, NULL) : VK_ERROR_INITIALIZATION_FAILED)
	                 : (instance_fn ? instance_fn(NULL, &n, NULL) : VK_ERROR_INITIALIZATION_FAILED);
	VkExtensionProperties *offered = vr == VK_SUCCESS ? calloc(n + 1, sizeof *offered) : NULL;
	if (offered && (pd ? device_fn(pd, NULL, &n, offered) : instance_fn(NULL, &n, offered)) != VK_SUCCESS) n = 0;
	for (size_t i = 0; offered && i < edit_count; i++)
		for (uint32_t k = 0; k < n; k++)
			if (strcmp(offered[k].extensionName, edit[i]) == 0) {
				strcat(strcat(s, " "), edit[i]);
				break;
			}
	free(offered);
	return s;
}

static bool chain_has(const void *next, VkStructureType type)
{
	for (const VkBaseInStructure *b = next; b; b = b->pNext)
		if (b->sType == type) return true;
	return false;
}

static XrResult xrCreateVulkanInstanceKHR_locked(XrInstance instance, const XrVulkanInstanceCreateInfoKHR *ci,
                                                 VkInstance *out, VkResult *vk_result)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!ci || ci->type != XR_TYPE_VULKAN_INSTANCE_CREATE_INFO_KHR || !out || !vk_result)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo, vulkanInstance or vulkanResult is NULL, or the wrong type");
	if ((r = sx_check_system(inst, ci->systemId, __func__)) != XR_SUCCESS) return r;
	if (ci->createFlags) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createFlags must be 0");
	if (!ci->pfnGetInstanceProcAddr || !ci->vulkanCreateInfo)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "pfnGetInstanceProcAddr or vulkanCreateInfo is NULL");
	PFN_vkCreateInstance create = (PFN_vkCreateInstance)ci->pfnGetInstanceProcAddr(NULL, "vkCreateInstance");
	if (!create) return SX_FAIL(inst, XR_ERROR_RUNTIME_FAILURE, "pfnGetInstanceProcAddr has no vkCreateInstance");
	VkInstanceCreateInfo vci = *ci->vulkanCreateInfo;
	char *own, *runtime = runtime_extensions(inst, inst->cfg.vulkan_instance_extensions, ci->pfnGetInstanceProcAddr,
	                                         VK_NULL_HANDLE, g_edit_instance_extensions,
	                                         SX_COUNT(g_edit_instance_extensions));
	uint32_t n;
	const char **names = runtime ? merge_extensions(vci.ppEnabledExtensionNames, vci.enabledExtensionCount, runtime,
	                                                &own, &n)
	                             : NULL;
	free(runtime);
	if (!names) return XR_ERROR_OUT_OF_MEMORY;
	vci.ppEnabledExtensionNames = names;
	vci.enabledExtensionCount = n;
	bool debug_utils = false;
	for (uint32_t i = 0; i < n; i++) debug_utils |= strcmp(names[i], VK_EXT_DEBUG_UTILS_EXTENSION_NAME) == 0;
	*vk_result = create(&vci, ci->vulkanAllocator, out);
	free(names);
	free(own);
	if (*vk_result != VK_SUCCESS)
		return SX_FAIL(inst, XR_ERROR_RUNTIME_FAILURE, "vkCreateInstance failed (VkResult %d)", *vk_result);
	inst->vk_instance = *out;
	inst->vk_gipa = ci->pfnGetInstanceProcAddr;
	inst->vk_debug_utils = debug_utils;
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateVulkanInstanceKHR,
                (XrInstance instance, const XrVulkanInstanceCreateInfoKHR *ci, VkInstance *out, VkResult *vk_result),
                (instance, ci, out, vk_result))

static PFN_vkGetInstanceProcAddr gipa_for(const struct sx_instance *inst, VkInstance vk)
{
	return vk == inst->vk_instance && inst->vk_gipa ? inst->vk_gipa : vkGetInstanceProcAddr;
}

static int device_rank(VkPhysicalDeviceType type)
{
	switch (type) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
	default: return 0;
	}
}

/* The device the simulated HMD is "plugged into": by name when configured, else the best kind there is. */
static XrResult pick_device(struct sx_instance *inst, VkInstance vk, VkPhysicalDevice *out, const char *func)
{
	PFN_vkGetInstanceProcAddr gipa = gipa_for(inst, vk);
	PFN_vkEnumeratePhysicalDevices enumerate =
		(PFN_vkEnumeratePhysicalDevices)gipa(vk, "vkEnumeratePhysicalDevices");
	PFN_vkGetPhysicalDeviceProperties props = (PFN_vkGetPhysicalDeviceProperties)gipa(vk, "vkGetPhysicalDeviceProperties");
	if (!enumerate || !props) return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, func, "the VkInstance has no device functions");
	VkPhysicalDevice devices[16];
	uint32_t n = 16;
	VkResult vr = enumerate(vk, &n, devices);
	if ((vr != VK_SUCCESS && vr != VK_INCOMPLETE) || !n)
		return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, func, "no Vulkan device (VkResult %d)", vr);
	int best = -1, best_rank = -1;
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		props(devices[i], &p);
		int rank = device_rank(p.deviceType);
		if (inst->cfg.vulkan_device[0]) rank = strstr(p.deviceName, inst->cfg.vulkan_device) ? 1 : -1;
		if (rank > best_rank) best = (int)i, best_rank = rank;
	}
	if (best < 0)
		return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, func, "no Vulkan device name contains '%s'", inst->cfg.vulkan_device);
	*out = devices[best];
	inst->vk_physical_device = devices[best];
	return XR_SUCCESS;
}

static XrResult xrGetVulkanGraphicsDeviceKHR_locked(XrInstance instance, XrSystemId system, VkInstance vk,
                                                    VkPhysicalDevice *out)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r == XR_SUCCESS) r = sx_check_system(inst, system, __func__);
	if (r != XR_SUCCESS) return r;
	if (!vk || !out) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "vkInstance or vkPhysicalDevice is NULL");
	return pick_device(inst, vk, out, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanGraphicsDeviceKHR,
                (XrInstance instance, XrSystemId system, VkInstance vk, VkPhysicalDevice *out), (instance, system, vk, out))

static XrResult xrGetVulkanGraphicsDevice2KHR_locked(XrInstance instance, const XrVulkanGraphicsDeviceGetInfoKHR *info,
                                                     VkPhysicalDevice *out)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!info || info->type != XR_TYPE_VULKAN_GRAPHICS_DEVICE_GET_INFO_KHR || !out || !info->vulkanInstance)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "getInfo, its vulkanInstance or vulkanPhysicalDevice is NULL, or the wrong type");
	if ((r = sx_check_system(inst, info->systemId, __func__)) != XR_SUCCESS) return r;
	return pick_device(inst, info->vulkanInstance, out, __func__);
}
SX_LOCKED_ENTRY(xrGetVulkanGraphicsDevice2KHR,
                (XrInstance instance, const XrVulkanGraphicsDeviceGetInfoKHR *info, VkPhysicalDevice *out),
                (instance, info, out))

static XrResult xrCreateVulkanDeviceKHR_locked(XrInstance instance, const XrVulkanDeviceCreateInfoKHR *ci,
                                               VkDevice *out, VkResult *vk_result)
{
	struct sx_instance *inst;
	XrResult r = sx_get(SX_XR_ID(instance), SX_INSTANCE, __func__, (void **)&inst);
	if (r != XR_SUCCESS) return r;
	if (!ci || ci->type != XR_TYPE_VULKAN_DEVICE_CREATE_INFO_KHR || !out || !vk_result)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo, vulkanDevice or vulkanResult is NULL, or the wrong type");
	if ((r = sx_check_system(inst, ci->systemId, __func__)) != XR_SUCCESS) return r;
	if (ci->createFlags) return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createFlags must be 0");
	if (!ci->pfnGetInstanceProcAddr || !ci->vulkanCreateInfo)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "pfnGetInstanceProcAddr or vulkanCreateInfo is NULL");
	if (!ci->vulkanPhysicalDevice || ci->vulkanPhysicalDevice != inst->vk_physical_device)
		return SX_FAIL(inst, XR_ERROR_HANDLE_INVALID, "vulkanPhysicalDevice is not the one xrGetVulkanGraphicsDevice2KHR reported");
	if (!inst->vk_instance)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "create the VkInstance with xrCreateVulkanInstanceKHR first");
	PFN_vkCreateDevice create = (PFN_vkCreateDevice)ci->pfnGetInstanceProcAddr(inst->vk_instance, "vkCreateDevice");
	if (!create) return SX_FAIL(inst, XR_ERROR_RUNTIME_FAILURE, "pfnGetInstanceProcAddr has no vkCreateDevice");
	VkDeviceCreateInfo dci = *ci->vulkanCreateInfo;
	char *own, *runtime = runtime_extensions(inst, inst->cfg.vulkan_device_extensions, ci->pfnGetInstanceProcAddr,
	                                         ci->vulkanPhysicalDevice, g_edit_device_extensions,
	                                         SX_COUNT(g_edit_device_extensions));
	uint32_t n;
	const char **names = runtime ? merge_extensions(dci.ppEnabledExtensionNames, dci.enabledExtensionCount, runtime,
	                                                &own, &n)
	                             : NULL;
	bool timeline = runtime && strstr(runtime, VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME);
	free(runtime);
	if (!names) return XR_ERROR_OUT_OF_MEMORY;
	dci.ppEnabledExtensionNames = names;
	dci.enabledExtensionCount = n;
	/* As Monado does: timeline semaphores through their own struct unless the chain has that struct already, in
	 * front of the application's chain (which stays unmodified). */
	VkPhysicalDeviceTimelineSemaphoreFeatures timeline_features = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES, .timelineSemaphore = VK_TRUE};
	VkPhysicalDeviceVulkan12Features wrong = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
	                                          .timelineSemaphore = VK_TRUE};
	if (inst->cfg.edit_create_infos != SX_EDIT_OFF && timeline &&
	    !chain_has(dci.pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES)) {
		timeline_features.pNext = (void *)dci.pNext;
		dci.pNext = &timeline_features;
	}
	if (inst->cfg.edit_create_infos == SX_EDIT_WRONG) {
		wrong.pNext = (void *)dci.pNext;
		dci.pNext = &wrong;
	}
	*vk_result = create(ci->vulkanPhysicalDevice, &dci, ci->vulkanAllocator, out);
	free(names);
	free(own);
	if (*vk_result != VK_SUCCESS)
		return SX_FAIL(inst, XR_ERROR_RUNTIME_FAILURE, "vkCreateDevice failed (VkResult %d)", *vk_result);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrCreateVulkanDeviceKHR,
                (XrInstance instance, const XrVulkanDeviceCreateInfoKHR *ci, VkDevice *out, VkResult *vk_result),
                (instance, ci, out, vk_result))

/* ---- the session's Vulkan ---- */
static const VkFormat g_color_formats[] = {VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_UNORM,
                                           VK_FORMAT_B8G8R8A8_UNORM};
static const VkFormat g_depth_formats[] = {VK_FORMAT_D32_SFLOAT, VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D16_UNORM};

static bool is_depth(VkFormat f)
{
	return f == VK_FORMAT_D32_SFLOAT || f == VK_FORMAT_D24_UNORM_S8_UINT || f == VK_FORMAT_D16_UNORM;
}

static void name_object(struct sx_session *s, VkObjectType type, uint64_t handle, const char *name)
{
	if (!s->vk.f.vkSetDebugUtilsObjectNameEXT) return;
	VkDebugUtilsObjectNameInfoEXT info = {VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT, NULL, type, handle, name};
	s->vk.f.vkSetDebugUtilsObjectNameEXT(s->vk.device, &info);
}

XrResult sx_vk_session_init(struct sx_session *s, const XrGraphicsBindingVulkanKHR *b)
{
	struct sx_instance *inst = s->base.instance;
	struct sx_vk *vk = &s->vk;
	const char *fn = "xrCreateSession";
	if (!b->instance || !b->physicalDevice || !b->device)
		return sx_error(inst, XR_ERROR_GRAPHICS_DEVICE_INVALID, fn, "the graphics binding has a NULL Vulkan handle");
	if (b->physicalDevice != inst->vk_physical_device)
		return sx_error(inst, XR_ERROR_GRAPHICS_DEVICE_INVALID, fn,
		                "physicalDevice is not the one xrGetVulkanGraphicsDevice(2)KHR reported");
	vk->instance = b->instance;
	vk->physical_device = b->physicalDevice;
	vk->device = b->device;
	vk->queue_family = b->queueFamilyIndex;
	vk->queue_index = b->queueIndex;
	PFN_vkGetInstanceProcAddr gipa = gipa_for(inst, b->instance);
	bool ok = true;
#define SX_LOAD_INSTANCE(name) ok = ok && (vk->f.name = (PFN_##name)gipa(b->instance, #name)) != NULL;
	SX_VK_INSTANCE_FNS(SX_LOAD_INSTANCE)
#undef SX_LOAD_INSTANCE
#define SX_LOAD_DEVICE(name) ok = ok && (vk->f.name = (PFN_##name)vk->f.vkGetDeviceProcAddr(b->device, #name)) != NULL;
	if (ok) {
		SX_VK_DEVICE_FNS(SX_LOAD_DEVICE)
	}
#undef SX_LOAD_DEVICE
	if (!ok) return sx_error(inst, XR_ERROR_GRAPHICS_DEVICE_INVALID, fn, "the Vulkan device lacks a core function");
	if (b->instance == inst->vk_instance && inst->vk_debug_utils)
		vk->f.vkSetDebugUtilsObjectNameEXT =
			(PFN_vkSetDebugUtilsObjectNameEXT)gipa(b->instance, "vkSetDebugUtilsObjectNameEXT");

	VkQueueFamilyProperties families[16];
	uint32_t nf = 16;
	vk->f.vkGetPhysicalDeviceQueueFamilyProperties(b->physicalDevice, &nf, families);
	if (b->queueFamilyIndex >= nf || b->queueIndex >= families[b->queueFamilyIndex].queueCount ||
	    !(families[b->queueFamilyIndex].queueFlags & VK_QUEUE_GRAPHICS_BIT))
		return sx_error(inst, XR_ERROR_GRAPHICS_DEVICE_INVALID, fn, "queue %u of family %u is not a graphics queue",
		                b->queueIndex, b->queueFamilyIndex);
	vk->f.vkGetDeviceQueue(b->device, b->queueFamilyIndex, b->queueIndex, &vk->queue);
	vk->f.vkGetPhysicalDeviceMemoryProperties(b->physicalDevice, &vk->memory);

	VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, NULL,
	                               VK_COMMAND_POOL_CREATE_TRANSIENT_BIT, b->queueFamilyIndex};
	VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, NULL, 0};
	if (vk->f.vkCreateCommandPool(b->device, &pci, NULL, &vk->pool) != VK_SUCCESS ||
	    vk->f.vkCreateFence(b->device, &fci, NULL, &vk->fence) != VK_SUCCESS)
		return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, fn, "cannot create the runtime's command pool and fence");
	name_object(s, VK_OBJECT_TYPE_COMMAND_POOL, (uint64_t)(uintptr_t)vk->pool, "simxr command pool");
	name_object(s, VK_OBJECT_TYPE_FENCE, (uint64_t)(uintptr_t)vk->fence, "simxr fence");

	/* Formats the device can render to (colour ones also copied from, for the capture), preferred first. */
	for (int depth = 0; depth < 2; depth++) {
		const VkFormat *list = depth ? g_depth_formats : g_color_formats;
		size_t n = depth ? sizeof g_depth_formats / sizeof g_depth_formats[0] : sizeof g_color_formats / sizeof g_color_formats[0];
		VkFormatFeatureFlags need = depth ? VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT
		                                  : VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT;
		for (size_t i = 0; i < n; i++) {
			VkFormatProperties fp;
			vk->f.vkGetPhysicalDeviceFormatProperties(b->physicalDevice, list[i], &fp);
			if ((fp.optimalTilingFeatures & need) == need) vk->formats[vk->format_count++] = list[i];
		}
	}
	return XR_SUCCESS;
}

void sx_vk_session_fini(struct sx_session *s)
{
	struct sx_vk *vk = &s->vk;
	if (!vk->device || !vk->f.vkDestroyFence) return;
	if (vk->readback_map) vk->f.vkUnmapMemory(vk->device, vk->readback_memory);
	if (vk->readback) vk->f.vkDestroyBuffer(vk->device, vk->readback, NULL);
	if (vk->readback_memory) vk->f.vkFreeMemory(vk->device, vk->readback_memory, NULL);
	if (vk->fence) vk->f.vkDestroyFence(vk->device, vk->fence, NULL);
	if (vk->pool) vk->f.vkDestroyCommandPool(vk->device, vk->pool, NULL);
	memset(vk, 0, sizeof *vk);
}

static int memory_type(const struct sx_vk *vk, uint32_t bits, VkMemoryPropertyFlags want)
{
	for (uint32_t i = 0; i < vk->memory.memoryTypeCount; i++)
		if ((bits & (1u << i)) && (vk->memory.memoryTypes[i].propertyFlags & want) == want) return (int)i;
	return -1;
}

/* Records with `record`, submits on the application's queue and waits for completion. */
static XrResult submit_once(struct sx_session *s, void (*record)(struct sx_session *, VkCommandBuffer, void *),
                            void *user, const char *func)
{
	struct sx_vk *vk = &s->vk;
	VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, NULL, vk->pool,
	                                  VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
	VkCommandBuffer cmd;
	if (vk->f.vkAllocateCommandBuffers(vk->device, &ai, &cmd) != VK_SUCCESS)
		return sx_error(s->base.instance, XR_ERROR_RUNTIME_FAILURE, func, "vkAllocateCommandBuffers failed");
	VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL,
	                               VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, NULL};
	VkResult vr = vk->f.vkBeginCommandBuffer(cmd, &bi);
	if (vr == VK_SUCCESS) {
		record(s, cmd, user);
		vr = vk->f.vkEndCommandBuffer(cmd);
	}
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO, NULL, 0, NULL, NULL, 1, &cmd, 0, NULL};
	if (vr == VK_SUCCESS) vr = vk->f.vkResetFences(vk->device, 1, &vk->fence);
	if (vr == VK_SUCCESS) vr = vk->f.vkQueueSubmit(vk->queue, 1, &si, vk->fence);
	if (vr == VK_SUCCESS) vr = vk->f.vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, UINT64_MAX);
	vk->f.vkFreeCommandBuffers(vk->device, vk->pool, 1, &cmd);
	if (vr != VK_SUCCESS)
		return sx_error(s->base.instance, XR_ERROR_RUNTIME_FAILURE, func, "a runtime submission failed (VkResult %d)", vr);
	return XR_SUCCESS;
}

/* ---- swapchains ---- */
static XrResult swapchain_get(XrSwapchain handle, const char *func, struct sx_swapchain **out)
{
	XrResult r = sx_get(SX_XR_ID(handle), SX_SWAPCHAIN, func, (void **)out);
	if (r == XR_SUCCESS && (*out)->session->loss_delivered) r = XR_ERROR_SESSION_LOST;
	return r;
}

static XrResult xrEnumerateSwapchainFormats_locked(XrSession session, uint32_t capacity, uint32_t *count, int64_t *formats)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	bool fill;
	if (r == XR_SUCCESS) r = sx_two_call(s->base.instance, __func__, capacity, count, s->vk.format_count, formats, &fill);
	if (r != XR_SUCCESS) return r;
	if (fill) memcpy(formats, s->vk.formats, s->vk.format_count * sizeof formats[0]);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrEnumerateSwapchainFormats, (XrSession session, uint32_t capacity, uint32_t *count, int64_t *formats),
                (session, capacity, count, formats))

void sx_swapchain_free(struct sx_swapchain *sc)
{
	struct sx_vk *vk = &sc->session->vk;
	for (uint32_t i = 0; i < sc->image_count; i++) {
		if (sc->images[i]) vk->f.vkDestroyImage(vk->device, sc->images[i], NULL);
		if (sc->memory[i]) vk->f.vkFreeMemory(vk->device, sc->memory[i], NULL);
	}
	free(sc);
}

static VkImageUsageFlags usage_flags(XrSwapchainUsageFlags u)
{
	VkImageUsageFlags v = 0;
	if (u & XR_SWAPCHAIN_USAGE_COLOR_ATTACHMENT_BIT) v |= VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
	if (u & XR_SWAPCHAIN_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT) v |= VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
	if (u & XR_SWAPCHAIN_USAGE_UNORDERED_ACCESS_BIT) v |= VK_IMAGE_USAGE_STORAGE_BIT;
	if (u & XR_SWAPCHAIN_USAGE_TRANSFER_SRC_BIT) v |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
	if (u & XR_SWAPCHAIN_USAGE_TRANSFER_DST_BIT) v |= VK_IMAGE_USAGE_TRANSFER_DST_BIT;
	if (u & XR_SWAPCHAIN_USAGE_SAMPLED_BIT) v |= VK_IMAGE_USAGE_SAMPLED_BIT;
	return v;
}

static XrResult create_images(struct sx_session *s, struct sx_swapchain *sc, VkImageUsageFlags usage,
                              VkImageCreateFlags flags)
{
	struct sx_vk *vk = &s->vk;
	struct sx_instance *inst = s->base.instance;
	VkImageCreateInfo ici = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
		.flags = flags,
		.imageType = VK_IMAGE_TYPE_2D,
		.format = sc->format,
		.extent = {sc->info.width, sc->info.height, 1},
		.mipLevels = sc->info.mipCount,
		.arrayLayers = sc->info.arraySize,
		.samples = (VkSampleCountFlagBits)sc->info.sampleCount,
		.tiling = VK_IMAGE_TILING_OPTIMAL,
		.usage = usage,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
		.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	};
	for (uint32_t i = 0; i < sc->image_count; i++) {
		if (vk->f.vkCreateImage(vk->device, &ici, NULL, &sc->images[i]) != VK_SUCCESS)
			return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, "xrCreateSwapchain", "vkCreateImage failed");
		VkMemoryRequirements req;
		vk->f.vkGetImageMemoryRequirements(vk->device, sc->images[i], &req);
		int type = memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
		if (type < 0) type = memory_type(vk, req.memoryTypeBits, 0);
		VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, req.size, (uint32_t)type};
		if (type < 0 || vk->f.vkAllocateMemory(vk->device, &mai, NULL, &sc->memory[i]) != VK_SUCCESS ||
		    vk->f.vkBindImageMemory(vk->device, sc->images[i], sc->memory[i], 0) != VK_SUCCESS)
			return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, "xrCreateSwapchain", "cannot allocate image memory");
		char name[96];
		snprintf(name, sizeof name, "simxr swapchain 0x%" PRIx64 " image %u", sc->base.handle, i);
		name_object(s, VK_OBJECT_TYPE_IMAGE, (uint64_t)(uintptr_t)sc->images[i], name);
	}
	return XR_SUCCESS;
}

static XrResult xrCreateSwapchain_locked(XrSession session, const XrSwapchainCreateInfo *ci, XrSwapchain *out)
{
	struct sx_session *s;
	XrResult r = sx_session_get(session, __func__, &s);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = s->base.instance;
	struct sx_vk *vk = &s->vk;
	if (!ci || ci->type != XR_TYPE_SWAPCHAIN_CREATE_INFO || !out)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "createInfo or swapchain is NULL, or the wrong type");
	const XrSwapchainCreateFlags known_create = XR_SWAPCHAIN_CREATE_PROTECTED_CONTENT_BIT | XR_SWAPCHAIN_CREATE_STATIC_IMAGE_BIT;
	const XrSwapchainUsageFlags known_usage =
		XR_SWAPCHAIN_USAGE_COLOR_ATTACHMENT_BIT | XR_SWAPCHAIN_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT |
		XR_SWAPCHAIN_USAGE_UNORDERED_ACCESS_BIT | XR_SWAPCHAIN_USAGE_TRANSFER_SRC_BIT | XR_SWAPCHAIN_USAGE_TRANSFER_DST_BIT |
		XR_SWAPCHAIN_USAGE_SAMPLED_BIT | XR_SWAPCHAIN_USAGE_MUTABLE_FORMAT_BIT;
	if ((ci->createFlags & ~known_create) || (ci->usageFlags & ~known_usage))
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "unknown createFlags or usageFlags bits");
	if (ci->createFlags & XR_SWAPCHAIN_CREATE_PROTECTED_CONTENT_BIT)
		return SX_FAIL(inst, XR_ERROR_FEATURE_UNSUPPORTED, "protected content is not simulated");
	bool listed = false;
	for (uint32_t i = 0; i < vk->format_count; i++) listed |= vk->formats[i] == ci->format;
	if (!listed) return SX_FAIL(inst, XR_ERROR_SWAPCHAIN_FORMAT_UNSUPPORTED, "format %" PRId64 " is not enumerated", ci->format);
	if (!ci->sampleCount || !ci->width || !ci->height || !ci->arraySize || !ci->mipCount ||
	    (ci->faceCount != 1 && ci->faceCount != 6) || ci->width > SIMXR_MAX_IMAGE_SIZE || ci->height > SIMXR_MAX_IMAGE_SIZE)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "size %ux%u, %u samples, %u layers, %u mips, %u faces",
		               ci->width, ci->height, ci->sampleCount, ci->arraySize, ci->mipCount, ci->faceCount);
	if (ci->faceCount == 6) return SX_FAIL(inst, XR_ERROR_FEATURE_UNSUPPORTED, "cube swapchains are not simulated");

	bool depth = is_depth((VkFormat)ci->format);
	VkImageUsageFlags usage = usage_flags(ci->usageFlags);
	if (!depth) usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT; /* the capture copies colour images */
	VkImageCreateFlags flags = ci->usageFlags & XR_SWAPCHAIN_USAGE_MUTABLE_FORMAT_BIT ? VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT : 0;
	VkImageFormatProperties ifp;
	VkResult vr = vk->f.vkGetPhysicalDeviceImageFormatProperties(vk->physical_device, (VkFormat)ci->format, VK_IMAGE_TYPE_2D,
	                                                             VK_IMAGE_TILING_OPTIMAL, usage, flags, &ifp);
	if (vr != VK_SUCCESS || ci->arraySize > ifp.maxArrayLayers || ci->mipCount > ifp.maxMipLevels ||
	    ci->width > ifp.maxExtent.width || ci->height > ifp.maxExtent.height || !(ifp.sampleCounts & ci->sampleCount) ||
	    (ci->sampleCount & (ci->sampleCount - 1)))
		return SX_FAIL(inst, XR_ERROR_FEATURE_UNSUPPORTED, "the device cannot make such an image (format %" PRId64
		               ", usage 0x%" PRIx64 ", %u layers, %u mips, %u samples)", ci->format, (uint64_t)ci->usageFlags,
		               ci->arraySize, ci->mipCount, ci->sampleCount);

	struct sx_swapchain *sc = calloc(1, sizeof *sc);
	if (!sc) return XR_ERROR_OUT_OF_MEMORY;
	sc->session = s;
	sc->info = *ci;
	sc->info.next = NULL;
	sc->format = (VkFormat)ci->format;
	sc->depth = depth;
	sc->aspect = !depth ? VK_IMAGE_ASPECT_COLOR_BIT
	             : ci->format == VK_FORMAT_D24_UNORM_S8_UINT ? VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT
	                                                         : VK_IMAGE_ASPECT_DEPTH_BIT;
	sc->image_count = ci->createFlags & XR_SWAPCHAIN_CREATE_STATIC_IMAGE_BIT ? 1 : SX_MAX_IMAGES;
	sc->released = -1;
	if ((r = sx_register(&sc->base, SX_SWAPCHAIN, &s->base, inst)) != XR_SUCCESS) {
		free(sc);
		return r;
	}
	if ((r = create_images(s, sc, usage, flags)) != XR_SUCCESS) {
		sx_destroy(&sc->base);
		return r;
	}
	*out = SX_TO_XR(XrSwapchain, sc);
	return sx_session_result(s, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrCreateSwapchain, (XrSession session, const XrSwapchainCreateInfo *ci, XrSwapchain *out),
                (session, ci, out))

static XrResult xrDestroySwapchain_locked(XrSwapchain swapchain)
{
	struct sx_swapchain *sc = sx_lookup(SX_XR_ID(swapchain), SX_SWAPCHAIN);
	if (!sc) return sx_error(sx_current_instance, XR_ERROR_HANDLE_INVALID, __func__, "not a live XrSwapchain");
	sx_destroy(&sc->base);
	return XR_SUCCESS;
}
SX_LOCKED_ENTRY(xrDestroySwapchain, (XrSwapchain swapchain), (swapchain))

static XrResult xrEnumerateSwapchainImages_locked(XrSwapchain swapchain, uint32_t capacity, uint32_t *count,
                                                  XrSwapchainImageBaseHeader *images)
{
	struct sx_swapchain *sc;
	XrResult r = swapchain_get(swapchain, __func__, &sc);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = sc->base.instance;
	bool fill;
	if ((r = sx_two_call(inst, __func__, capacity, count, sc->image_count, images, &fill)) != XR_SUCCESS || !fill)
		return r == XR_SUCCESS ? sx_session_result(sc->session, r) : r;
	XrSwapchainImageVulkanKHR *vk_images = (XrSwapchainImageVulkanKHR *)images;
	for (uint32_t i = 0; i < sc->image_count; i++) {
		if (vk_images[i].type != XR_TYPE_SWAPCHAIN_IMAGE_VULKAN_KHR)
			return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "images[%u].type is %d, not XR_TYPE_SWAPCHAIN_IMAGE_VULKAN_KHR",
			               i, vk_images[i].type);
		vk_images[i].image = sc->images[i];
	}
	return sx_session_result(sc->session, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrEnumerateSwapchainImages,
                (XrSwapchain swapchain, uint32_t capacity, uint32_t *count, XrSwapchainImageBaseHeader *images),
                (swapchain, capacity, count, images))

struct layout_job {
	struct sx_swapchain *sc;
	uint32_t index;
};

static void record_initial_layout(struct sx_session *s, VkCommandBuffer cmd, void *user)
{
	const struct layout_job *job = user;
	VkImageMemoryBarrier b = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		.srcAccessMask = 0,
		.dstAccessMask = job->sc->depth ? VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT : VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
		.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
		.newLayout = job->sc->depth ? VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL : VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
		.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.image = job->sc->images[job->index],
		.subresourceRange = {job->sc->aspect, 0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS},
	};
	s->vk.f.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, NULL, 0,
	                             NULL, 1, &b);
}

static XrResult xrAcquireSwapchainImage_locked(XrSwapchain swapchain, const XrSwapchainImageAcquireInfo *info,
                                               uint32_t *index)
{
	struct sx_swapchain *sc;
	XrResult r = swapchain_get(swapchain, __func__, &sc);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = sc->base.instance;
	if ((info && info->type != XR_TYPE_SWAPCHAIN_IMAGE_ACQUIRE_INFO) || !index)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "acquireInfo has the wrong type or index is NULL");
	if ((sc->info.createFlags & XR_SWAPCHAIN_CREATE_STATIC_IMAGE_BIT) && sc->ever_acquired)
		return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "a static swapchain's image is acquired only once");
	for (uint32_t i = 0; i < sc->acquired_count; i++)
		if (sc->acquired[i] == sc->next)
			return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "image %u, the next one, is still acquired (all %u are)",
			               sc->next, sc->image_count);
	uint32_t i = sc->next;
	if (!sc->laid_out[i]) {
		struct layout_job job = {sc, i};
		if ((r = submit_once(sc->session, record_initial_layout, &job, __func__)) != XR_SUCCESS) return r;
		sc->laid_out[i] = true;
	}
	sc->acquired[sc->acquired_count++] = i;
	sc->next = (i + 1) % sc->image_count;
	sc->ever_acquired = true;
	*index = i;
	return sx_session_result(sc->session, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrAcquireSwapchainImage,
                (XrSwapchain swapchain, const XrSwapchainImageAcquireInfo *info, uint32_t *index),
                (swapchain, info, index))

static XrResult xrWaitSwapchainImage_locked(XrSwapchain swapchain, const XrSwapchainImageWaitInfo *info)
{
	struct sx_swapchain *sc;
	XrResult r = swapchain_get(swapchain, __func__, &sc);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = sc->base.instance;
	if (!info || info->type != XR_TYPE_SWAPCHAIN_IMAGE_WAIT_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "waitInfo is NULL or the wrong type");
	if (!sc->acquired_count) return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "no image is acquired");
	if (sc->oldest_waited)
		return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "release the waited image before waiting on the next one");
	sc->oldest_waited = true; /* the compositor never holds an image: the wait is immediate */
	return sx_session_result(sc->session, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrWaitSwapchainImage, (XrSwapchain swapchain, const XrSwapchainImageWaitInfo *info), (swapchain, info))

static XrResult xrReleaseSwapchainImage_locked(XrSwapchain swapchain, const XrSwapchainImageReleaseInfo *info)
{
	struct sx_swapchain *sc;
	XrResult r = swapchain_get(swapchain, __func__, &sc);
	if (r != XR_SUCCESS) return r;
	struct sx_instance *inst = sc->base.instance;
	if (info && info->type != XR_TYPE_SWAPCHAIN_IMAGE_RELEASE_INFO)
		return SX_FAIL(inst, XR_ERROR_VALIDATION_FAILURE, "releaseInfo has the wrong type");
	if (!sc->oldest_waited) return SX_FAIL(inst, XR_ERROR_CALL_ORDER_INVALID, "no image has been waited on");
	sc->released = (int32_t)sc->acquired[0];
	memmove(sc->acquired, sc->acquired + 1, --sc->acquired_count * sizeof sc->acquired[0]);
	sc->oldest_waited = false;
	return sx_session_result(sc->session, XR_SUCCESS);
}
SX_LOCKED_ENTRY(xrReleaseSwapchainImage, (XrSwapchain swapchain, const XrSwapchainImageReleaseInfo *info),
                (swapchain, info))

/* ---- capture ---- */
struct shot {
	struct sx_swapchain *sc;
	VkImage image;
	uint32_t layer, projection, view;
	XrRect2Di rect;
	VkDeviceSize offset;
};

#define MAX_SHOTS (2 * SIMXR_MAX_LAYERS)

struct capture {
	struct shot shots[MAX_SHOTS];
	uint32_t count;
};

static bool capturable(VkFormat f)
{
	for (size_t i = 0; i < sizeof g_color_formats / sizeof g_color_formats[0]; i++)
		if (f == g_color_formats[i]) return true;
	return false;
}

static void barrier(struct sx_session *s, VkCommandBuffer cmd, const struct shot *shot, bool to_transfer)
{
	VkImageMemoryBarrier b = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		.srcAccessMask = to_transfer ? VK_ACCESS_MEMORY_WRITE_BIT : VK_ACCESS_TRANSFER_READ_BIT,
		.dstAccessMask = to_transfer ? VK_ACCESS_TRANSFER_READ_BIT : VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT,
		.oldLayout = to_transfer ? VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL : VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
		.newLayout = to_transfer ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
		.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.image = shot->image,
		.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS},
	};
	s->vk.f.vkCmdPipelineBarrier(cmd, to_transfer ? VK_PIPELINE_STAGE_ALL_COMMANDS_BIT : VK_PIPELINE_STAGE_TRANSFER_BIT,
	                             to_transfer ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0,
	                             NULL, 0, NULL, 1, &b);
}

static bool first_use(const struct capture *c, uint32_t i)
{
	for (uint32_t k = 0; k < i; k++)
		if (c->shots[k].image == c->shots[i].image) return false;
	return true;
}

static void record_capture(struct sx_session *s, VkCommandBuffer cmd, void *user)
{
	const struct capture *c = user;
	for (uint32_t i = 0; i < c->count; i++)
		if (first_use(c, i)) barrier(s, cmd, &c->shots[i], true);
	for (uint32_t i = 0; i < c->count; i++) {
		const struct shot *sh = &c->shots[i];
		VkBufferImageCopy region = {
			.bufferOffset = sh->offset,
			.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, sh->layer, 1},
			.imageOffset = {sh->rect.offset.x, sh->rect.offset.y, 0},
			.imageExtent = {(uint32_t)sh->rect.extent.width, (uint32_t)sh->rect.extent.height, 1},
		};
		s->vk.f.vkCmdCopyImageToBuffer(cmd, sh->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, s->vk.readback, 1, &region);
	}
	for (uint32_t i = 0; i < c->count; i++)
		if (first_use(c, i)) barrier(s, cmd, &c->shots[i], false);
}

static XrResult ensure_readback(struct sx_session *s, VkDeviceSize size)
{
	struct sx_vk *vk = &s->vk;
	struct sx_instance *inst = s->base.instance;
	if (vk->readback_size >= size) return XR_SUCCESS;
	if (vk->readback_map) vk->f.vkUnmapMemory(vk->device, vk->readback_memory);
	if (vk->readback) vk->f.vkDestroyBuffer(vk->device, vk->readback, NULL);
	if (vk->readback_memory) vk->f.vkFreeMemory(vk->device, vk->readback_memory, NULL);
	vk->readback = VK_NULL_HANDLE;
	vk->readback_memory = VK_NULL_HANDLE;
	vk->readback_map = NULL;
	vk->readback_size = 0;
	VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
	                          VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
	if (vk->f.vkCreateBuffer(vk->device, &bci, NULL, &vk->readback) != VK_SUCCESS)
		return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, "xrEndFrame", "cannot create the capture buffer");
	VkMemoryRequirements req;
	vk->f.vkGetBufferMemoryRequirements(vk->device, vk->readback, &req);
	int type = memory_type(vk, req.memoryTypeBits,
	                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
	VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, req.size, (uint32_t)type};
	if (type < 0 || vk->f.vkAllocateMemory(vk->device, &mai, NULL, &vk->readback_memory) != VK_SUCCESS ||
	    vk->f.vkBindBufferMemory(vk->device, vk->readback, vk->readback_memory, 0) != VK_SUCCESS ||
	    vk->f.vkMapMemory(vk->device, vk->readback_memory, 0, VK_WHOLE_SIZE, 0, &vk->readback_map) != VK_SUCCESS)
		return sx_error(inst, XR_ERROR_RUNTIME_FAILURE, "xrEndFrame", "cannot allocate the capture buffer");
	name_object(s, VK_OBJECT_TYPE_BUFFER, (uint64_t)(uintptr_t)vk->readback, "simxr capture buffer");
	vk->readback_size = size;
	return XR_SUCCESS;
}

/* The pattern with {frame}, {eye}, {view} and {layer} replaced; "-{eye}" goes before the extension when the
 * pattern names neither eye nor view. */
static void expand_pattern(const char *pattern, int64_t frame, uint32_t view, uint32_t layer, char *out, size_t size)
{
	char pat[1100];
	if (!strstr(pattern, "{eye}") && !strstr(pattern, "{view}")) {
		const char *dot = strrchr(pattern, '.'), *slash = strrchr(pattern, '/');
		size_t cut = dot && (!slash || dot > slash) ? (size_t)(dot - pattern) : strlen(pattern);
		snprintf(pat, sizeof pat, "%.*s-{eye}%s", (int)cut, pattern, pattern + cut);
	} else {
		snprintf(pat, sizeof pat, "%s", pattern);
	}
	size_t n = 0;
	for (const char *p = pat; *p && n + 1 < size;) {
		char piece[32] = "";
		size_t skip = 0;
		if (strncmp(p, "{frame}", 7) == 0)
			snprintf(piece, sizeof piece, "%05" PRId64, frame), skip = 7;
		else if (strncmp(p, "{eye}", 5) == 0)
			snprintf(piece, sizeof piece, "%s", view == 0 ? "left" : "right"), skip = 5;
		else if (strncmp(p, "{view}", 6) == 0)
			snprintf(piece, sizeof piece, "%u", view), skip = 6;
		else if (strncmp(p, "{layer}", 7) == 0)
			snprintf(piece, sizeof piece, "%u", layer), skip = 7;
		if (skip) {
			n += (size_t)snprintf(out + n, size - n, "%s", piece);
			if (n >= size) n = size - 1;
			p += skip;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = 0;
}

static uint8_t g_srgb[256]; /* linear byte -> sRGB byte */

static void init_srgb(void)
{
	for (int i = 0; i < 256; i++) {
		double l = i / 255.0, e = l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1 / 2.4) - 0.055;
		g_srgb[i] = (uint8_t)lround(e * 255);
	}
}

/* Writes one shot as an RGBA PNG of what the display shows: sRGB formats as stored, UNORM ones (linear by the
 * OpenXR rule) encoded to sRGB; alpha is 255 (the blend mode is opaque). */
static bool write_png(const struct sx_session *s, const struct shot *sh, const char *path)
{
	uint32_t w = (uint32_t)sh->rect.extent.width, h = (uint32_t)sh->rect.extent.height;
	uint8_t *rgba = malloc((size_t)w * h * 4);
	if (!rgba) return false;
	const uint8_t *src = (const uint8_t *)s->vk.readback_map + sh->offset;
	bool bgra = sh->sc->format == VK_FORMAT_B8G8R8A8_SRGB || sh->sc->format == VK_FORMAT_B8G8R8A8_UNORM;
	bool linear = sh->sc->format == VK_FORMAT_R8G8B8A8_UNORM || sh->sc->format == VK_FORMAT_B8G8R8A8_UNORM;
	if (linear && !g_srgb[255]) init_srgb();
	for (size_t i = 0; i < (size_t)w * h; i++) {
		uint8_t c[3] = {src[4 * i + (bgra ? 2 : 0)], src[4 * i + 1], src[4 * i + (bgra ? 0 : 2)]};
		for (int k = 0; k < 3; k++) rgba[4 * i + k] = linear ? g_srgb[c[k]] : c[k];
		rgba[4 * i + 3] = 255;
	}
	bool ok = stbi_write_png(path, (int)w, (int)h, 4, rgba, (int)w * 4) != 0;
	free(rgba);
	return ok;
}

XrResult sx_vk_capture_frame(struct sx_session *s, const XrFrameEndInfo *info, int64_t frame)
{
	struct sx_instance *inst = s->base.instance;
	struct capture c = {.count = 0};
	VkDeviceSize total = 0;
	uint32_t projection = 0;
	for (uint32_t l = 0; l < info->layerCount; l++) {
		if (info->layers[l]->type != XR_TYPE_COMPOSITION_LAYER_PROJECTION) continue;
		const XrCompositionLayerProjection *p = (const XrCompositionLayerProjection *)info->layers[l];
		for (uint32_t v = 0; v < p->viewCount && c.count < MAX_SHOTS; v++) {
			const XrSwapchainSubImage *sub = &p->views[v].subImage;
			struct sx_swapchain *sc = sx_lookup(SX_XR_ID(sub->swapchain), SX_SWAPCHAIN);
			if (!capturable(sc->format) || sc->info.sampleCount != 1) {
				sx_log(SX_LOG_WARN, "capture: skipping a %s swapchain (format %d, %u samples)",
				       sc->depth ? "depth" : "colour", sc->format, sc->info.sampleCount);
				continue;
			}
			struct shot *sh = &c.shots[c.count++];
			*sh = (struct shot){sc, sc->images[sc->released], sub->imageArrayIndex, projection, v, sub->imageRect, total};
			total += (VkDeviceSize)sub->imageRect.extent.width * (VkDeviceSize)sub->imageRect.extent.height * 4;
		}
		projection++;
	}
	if (!c.count) return XR_SUCCESS;
	XrResult r = ensure_readback(s, total);
	if (r == XR_SUCCESS) r = submit_once(s, record_capture, &c, "xrEndFrame");
	if (r != XR_SUCCESS) return r;
	for (uint32_t i = 0; i < c.count; i++) {
		char path[1200];
		expand_pattern(inst->cfg.capture, frame, c.shots[i].view, c.shots[i].projection, path, sizeof path);
		if (!write_png(s, &c.shots[i], path))
			sx_log(SX_LOG_ERROR, "capture: cannot write '%s' (does its folder exist?)", path);
		else
			sx_log(SX_LOG_DEBUG, "capture: wrote %s", path);
	}
	return XR_SUCCESS;
}
