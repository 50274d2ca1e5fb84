/* The Vulkan context: instance, device choice, queue, debug messenger, and adoption of external handles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

enum cv_result gpu_check(VkResult vr, const char *what, const char *file, int line)
{
	if (vr == VK_SUCCESS) return CV_OK;
	if (vr == VK_ERROR_OUT_OF_HOST_MEMORY || vr == VK_ERROR_OUT_OF_DEVICE_MEMORY)
		return cv_fail(CV_ERROR_OUT_OF_MEMORY, file, line, "%s: out of memory (VkResult %d)", what, vr);
	return cv_fail(CV_ERROR_GPU, file, line, "%s failed (VkResult %d)", what, vr);
}

static _Atomic uint32_t messages_total;

uint32_t gpu_validation_messages_total(void) { return messages_total; }

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT types,
                                                     const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	struct gpu_context *ctx = user;
	(void)types;
	ctx->validation_messages++;
	messages_total++;
	CV_WARN("vulkan %s: %s", severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
	        data->pMessage);
	return VK_FALSE;
}

static bool has_layer(const char *name)
{
	uint32_t n = 0;
	vkEnumerateInstanceLayerProperties(&n, NULL);
	VkLayerProperties *layers = calloc(n ? n : 1, sizeof(*layers));
	vkEnumerateInstanceLayerProperties(&n, layers);
	bool found = false;
	for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(layers[i].layerName, name);
	free(layers);
	return found;
}

static bool has_extension(VkPhysicalDevice pd, const char *layer, const char *name)
{
	uint32_t n = 0;
	VkResult vr = pd ? vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL)
	                 : vkEnumerateInstanceExtensionProperties(layer, &n, NULL);
	if (vr != VK_SUCCESS) return false;
	VkExtensionProperties *ext = calloc(n ? n : 1, sizeof(*ext));
	if (pd) vkEnumerateDeviceExtensionProperties(pd, NULL, &n, ext);
	else vkEnumerateInstanceExtensionProperties(layer, &n, ext);
	bool found = false;
	for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(ext[i].extensionName, name);
	free(ext);
	return found;
}

static bool validation_wanted(const struct gpu_context_desc *desc)
{
	const char *env = getenv("CAVR_VALIDATION");
	return desc->validation || (env && env[0] == '1');
}

/* What cavr asks of an instance and a device, as create infos for whoever creates them (cavr or a gpu_creator).
 * The create infos point into the plan: keep a plan in place while its info is in use. */
struct instance_plan {
	VkApplicationInfo app;
	const char *layers[1];
	const char *extensions[16];
	VkDebugUtilsMessengerCreateInfoEXT messenger; /* watches vkCreateInstance and vkDestroyInstance */
	VkInstanceCreateInfo info;
	bool validation, debug_utils;
};

/* Validation messages go through cavr's log and are counted in ctx (tests require none). */
static VkDebugUtilsMessengerCreateInfoEXT messenger_info(struct gpu_context *ctx)
{
	return (VkDebugUtilsMessengerCreateInfoEXT){
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
		.pfnUserCallback = debug_callback,
		.pUserData = ctx,
	};
}

static enum cv_result instance_plan(struct gpu_context *ctx, const struct gpu_context_desc *desc,
                                    struct instance_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->validation = validation_wanted(desc);
	if (plan->validation) {
		if (!has_layer(VALIDATION_LAYER))
			return CV_FAIL(CV_ERROR_UNSUPPORTED,
			               "validation asked for but %s is not installed (Debian: vulkan-validationlayers)",
			               VALIDATION_LAYER);
		plan->layers[0] = VALIDATION_LAYER;
	}
	if (desc->instance_extension_count > 15) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "too many instance extensions");
	uint32_t n = 0;
	for (uint32_t i = 0; i < desc->instance_extension_count; i++) {
		if (!has_extension(NULL, NULL, desc->instance_extensions[i]))
			return CV_FAIL(CV_ERROR_UNSUPPORTED, "the Vulkan loader lacks instance extension %s",
			               desc->instance_extensions[i]);
		plan->extensions[n++] = desc->instance_extensions[i];
	}
	plan->debug_utils = has_extension(NULL, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
	                    (plan->validation && has_extension(NULL, VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME));
	if (plan->debug_utils) plan->extensions[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
	plan->app = (VkApplicationInfo){
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "cavr",
		.pEngineName = "cavr",
		.apiVersion = VK_API_VERSION_1_3,
	};
	plan->messenger = messenger_info(ctx);
	plan->info = (VkInstanceCreateInfo){
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pNext = plan->validation && plan->debug_utils ? &plan->messenger : NULL,
		.pApplicationInfo = &plan->app,
		.enabledLayerCount = plan->validation ? 1 : 0,
		.ppEnabledLayerNames = plan->layers,
		.enabledExtensionCount = n,
		.ppEnabledExtensionNames = plan->extensions,
	};
	return CV_OK;
}

/* Installed as soon as the instance exists, so that device creation is watched too. */
static enum cv_result create_messenger(struct gpu_context *ctx)
{
	PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
		ctx->instance, "vkCreateDebugUtilsMessengerEXT");
	VkDebugUtilsMessengerCreateInfoEXT mi = messenger_info(ctx);
	if (create) GPU_TRY(create(ctx->instance, &mi, NULL, &ctx->messenger));
	return CV_OK;
}

static const char *device_type_name(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
	default: return "other";
	}
}

/* Why a device cannot run cavr, or NULL when it can; *family receives the queue family to use. */
static const char *device_unsuitable(VkPhysicalDevice pd, bool present, uint32_t *family)
{
	VkPhysicalDeviceProperties props;
	vkGetPhysicalDeviceProperties(pd, &props);
	if (props.apiVersion < VK_API_VERSION_1_3) return "Vulkan 1.3 is not supported";
	if (!has_extension(pd, NULL, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME)) return "VK_KHR_push_descriptor is missing";
	if (present && !has_extension(pd, NULL, VK_KHR_SWAPCHAIN_EXTENSION_NAME)) return "VK_KHR_swapchain is missing";
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
	VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f13};
	vkGetPhysicalDeviceFeatures2(pd, &f);
	if (!f13.dynamicRendering || !f13.synchronization2) return "dynamic rendering or synchronization2 is missing";
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	VkQueueFamilyProperties qf[32];
	if (n > 32) n = 32;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, qf);
	const VkQueueFlags need = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
	for (uint32_t i = 0; i < n; i++) {
		if ((qf[i].queueFlags & need) == need) {
			*family = i;
			return NULL;
		}
	}
	return "no queue family does both graphics and compute";
}

/* The features are chained one struct each, never as VkPhysicalDeviceVulkan1xFeatures: see the rule in gpu.h. */
struct device_plan {
	float priority;
	VkDeviceQueueCreateInfo queue;
	const char *extensions[2];
	VkPhysicalDevice16BitStorageFeatures storage16;
	VkPhysicalDeviceShaderFloat16Int8Features float16;
	VkPhysicalDeviceMultiviewFeatures multiview;
	VkPhysicalDeviceDynamicRenderingFeatures dynamic_rendering;
	VkPhysicalDeviceSynchronization2Features synchronization2;
	VkPhysicalDeviceFeatures2 features;
	VkDeviceCreateInfo info;
	uint32_t queue_family;
	bool has_float16, has_anisotropy, has_multiview;
};

/* Fails, naming what is missing, when the physical device cannot run cavr. */
static enum cv_result device_plan(VkPhysicalDevice pd, bool present, struct device_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	const char *why = device_unsuitable(pd, present, &plan->queue_family);
	if (why) {
		VkPhysicalDeviceProperties props;
		vkGetPhysicalDeviceProperties(pd, &props);
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "Vulkan device '%s' cannot run cavr: %s", props.deviceName, why);
	}
	VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f11};
	VkPhysicalDeviceFeatures2 have = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12};
	vkGetPhysicalDeviceFeatures2(pd, &have);
	/* Enable only what cavr uses; optional features switch faster shader variants on. */
	plan->has_float16 = f12.shaderFloat16 && f11.storageBuffer16BitAccess;
	plan->has_anisotropy = have.features.samplerAnisotropy;
	/* lavapipe (Mesa 22.3) rasterises the second view of a multiview pass wrongly where triangles cross the
	 * frustum's edges (a floor vanishes from the right eye), so stereo there is drawn as one pass per eye. */
	VkPhysicalDeviceVulkan12Properties p12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
	VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &p12};
	vkGetPhysicalDeviceProperties2(pd, &props);
	plan->has_multiview = f11.multiview && p12.driverID != VK_DRIVER_ID_MESA_LLVMPIPE;
	plan->storage16 = (VkPhysicalDevice16BitStorageFeatures){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
		.storageBuffer16BitAccess = plan->has_float16,
	};
	plan->float16 = (VkPhysicalDeviceShaderFloat16Int8Features){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
		.pNext = &plan->storage16,
		.shaderFloat16 = plan->has_float16,
	};
	plan->multiview = (VkPhysicalDeviceMultiviewFeatures){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MULTIVIEW_FEATURES,
		.pNext = &plan->float16,
		.multiview = f11.multiview,
	};
	plan->dynamic_rendering = (VkPhysicalDeviceDynamicRenderingFeatures){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES,
		.pNext = &plan->multiview,
		.dynamicRendering = VK_TRUE,
	};
	plan->synchronization2 = (VkPhysicalDeviceSynchronization2Features){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES,
		.pNext = &plan->dynamic_rendering,
		.synchronization2 = VK_TRUE,
	};
	plan->features = (VkPhysicalDeviceFeatures2){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
		.pNext = &plan->synchronization2,
		.features = {.samplerAnisotropy = plan->has_anisotropy},
	};
	plan->extensions[0] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
	plan->extensions[1] = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
	plan->priority = 1.0f;
	plan->queue = (VkDeviceQueueCreateInfo){
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = plan->queue_family,
		.queueCount = 1,
		.pQueuePriorities = &plan->priority,
	};
	plan->info = (VkDeviceCreateInfo){
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.pNext = &plan->features,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &plan->queue,
		.enabledExtensionCount = present ? 2 : 1,
		.ppEnabledExtensionNames = plan->extensions,
	};
	return CV_OK;
}

static int device_rank(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
	default: return 0;
	}
}

static enum cv_result pick_device(struct gpu_context *ctx, const struct gpu_context_desc *desc)
{
	const char *wanted = desc->device_name ? desc->device_name : getenv("CAVR_DEVICE");
	if (wanted && !wanted[0]) wanted = NULL;
	uint32_t n = 0;
	GPU_TRY(vkEnumeratePhysicalDevices(ctx->instance, &n, NULL));
	VkPhysicalDevice devices[16];
	if (n > 16) n = 16;
	GPU_TRY(vkEnumeratePhysicalDevices(ctx->instance, &n, devices));
	if (n == 0) return CV_FAIL(CV_ERROR_UNSUPPORTED, "no Vulkan device found (Debian: mesa-vulkan-drivers gives lavapipe)");

	int best_rank = -1;
	const char *last_reason = NULL, *last_name = NULL;
	static char name_buf[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties props;
		vkGetPhysicalDeviceProperties(devices[i], &props);
		if (wanted && !strstr(props.deviceName, wanted)) continue;
		uint32_t family = 0;
		const char *why = device_unsuitable(devices[i], desc->present, &family);
		if (why) {
			CV_DEBUG("skipping Vulkan device '%s': %s", props.deviceName, why);
			last_reason = why;
			snprintf(name_buf, sizeof(name_buf), "%s", props.deviceName);
			last_name = name_buf;
			continue;
		}
		int rank = device_rank(props.deviceType);
		if (rank > best_rank) {
			best_rank = rank;
			ctx->physical_device = devices[i];
		}
	}
	if (best_rank < 0) {
		if (last_reason)
			return CV_FAIL(CV_ERROR_UNSUPPORTED, "Vulkan device '%s' cannot run cavr: %s", last_name, last_reason);
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "no Vulkan device matches '%s' (see `cavr devices`)", wanted);
	}
	return CV_OK;
}

/* Everything that follows from a device, whether created or adopted. */
static enum cv_result finish_context(struct gpu_context *ctx)
{
	vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->properties);
	vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory_properties);
	vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &n, NULL);
	VkQueueFamilyProperties qf[32];
	if (n > 32) n = 32;
	vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &n, qf);
	ctx->has_timestamps = ctx->queue_family < n && qf[ctx->queue_family].timestampValidBits > 0 &&
	                      ctx->properties.limits.timestampPeriod > 0;
	ctx->cmd_push_descriptor_set =
		(PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(ctx->device, "vkCmdPushDescriptorSetKHR");
	if (!ctx->cmd_push_descriptor_set) return CV_FAIL(CV_ERROR_UNSUPPORTED, "vkCmdPushDescriptorSetKHR is missing");
	if (ctx->has_debug_utils)
		ctx->set_object_name = (PFN_vkSetDebugUtilsObjectNameEXT)vkGetInstanceProcAddr(
			ctx->instance, "vkSetDebugUtilsObjectNameEXT");
	VkCommandPoolCreateInfo pi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
		.queueFamilyIndex = ctx->queue_family,
	};
	GPU_TRY(vkCreateCommandPool(ctx->device, &pi, NULL, &ctx->command_pool));
	GPU_NAME(ctx, VK_OBJECT_TYPE_DEVICE, ctx->device, "cavr device");
	GPU_NAME(ctx, VK_OBJECT_TYPE_QUEUE, ctx->queue, "cavr queue");
	GPU_NAME(ctx, VK_OBJECT_TYPE_COMMAND_POOL, ctx->command_pool, "cavr command pool");
	CV_DEBUG("using Vulkan device '%s' (%s), queue family %u", ctx->properties.deviceName,
	         device_type_name(ctx->properties.deviceType), ctx->queue_family);
	return CV_OK;
}

/* Plans, then instance, messenger, device: made by cavr, or by desc->creator from cavr's create infos. */
static enum cv_result create_handles(struct gpu_context *ctx, const struct gpu_context_desc *desc)
{
	const struct gpu_creator *creator = desc->creator;
	struct instance_plan ip;
	struct device_plan dp;
	CV_TRY(instance_plan(ctx, desc, &ip));
	ctx->validation = ip.validation;
	ctx->has_debug_utils = ip.debug_utils;
	if (creator) {
		CV_TRY(creator->create_instance(creator->user, &ip.info, &ctx->instance));
	} else {
		VkResult vr = vkCreateInstance(&ip.info, NULL, &ctx->instance);
		if (vr == VK_ERROR_INCOMPATIBLE_DRIVER)
			return CV_FAIL(CV_ERROR_UNSUPPORTED,
			               "no Vulkan driver found (Debian: mesa-vulkan-drivers gives lavapipe)");
		GPU_TRY(vr);
	}
	if (ctx->validation && ctx->has_debug_utils) CV_TRY(create_messenger(ctx));
	if (creator) CV_TRY(creator->physical_device(creator->user, ctx->instance, &ctx->physical_device));
	else CV_TRY(pick_device(ctx, desc));
	CV_TRY(device_plan(ctx->physical_device, desc->present, &dp));
	ctx->queue_family = dp.queue_family;
	ctx->has_float16 = dp.has_float16;
	ctx->has_sampler_anisotropy = dp.has_anisotropy;
	ctx->has_multiview = dp.has_multiview;
	if (creator) CV_TRY(creator->create_device(creator->user, ctx->physical_device, &dp.info, &ctx->device));
	else GPU_TRY(vkCreateDevice(ctx->physical_device, &dp.info, NULL, &ctx->device));
	return CV_OK;
}

enum cv_result gpu_context_create(const struct gpu_context_desc *desc, struct gpu_context **out)
{
	*out = NULL;
	struct gpu_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "gpu context");
	enum cv_result r;
	if (desc->adopt.device) {
		ctx->instance = desc->adopt.instance;
		ctx->physical_device = desc->adopt.physical_device;
		ctx->device = desc->adopt.device;
		ctx->queue_family = desc->adopt.queue_family;
	} else {
		ctx->owns_handles = true;
		r = create_handles(ctx, desc);
		if (r != CV_OK) {
			gpu_context_destroy(&ctx);
			return r;
		}
	}
	r = finish_context(ctx);
	if (r != CV_OK) {
		gpu_context_destroy(&ctx);
		return r;
	}
	*out = ctx;
	return CV_OK;
}

void gpu_context_destroy(struct gpu_context **pctx)
{
	struct gpu_context *ctx = *pctx;
	if (!ctx) return;
	if (ctx->device) vkDeviceWaitIdle(ctx->device);
	if (ctx->command_pool) vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
	if (ctx->owns_handles && ctx->device) vkDestroyDevice(ctx->device, NULL);
	if (ctx->messenger) {
		PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
			ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
		if (destroy) destroy(ctx->instance, ctx->messenger, NULL);
	}
	if (ctx->owns_handles && ctx->instance) vkDestroyInstance(ctx->instance, NULL);
	free(ctx);
	*pctx = NULL;
}

enum cv_result gpu_list_devices(void)
{
	VkInstance instance;
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_3};
	VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
	VkResult vr = vkCreateInstance(&info, NULL, &instance);
	if (vr != VK_SUCCESS) return CV_FAIL(CV_ERROR_UNSUPPORTED, "no Vulkan driver found (VkResult %d)", vr);
	uint32_t n = 0;
	vkEnumeratePhysicalDevices(instance, &n, NULL);
	VkPhysicalDevice devices[16];
	if (n > 16) n = 16;
	vkEnumeratePhysicalDevices(instance, &n, devices);
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		vkGetPhysicalDeviceProperties(devices[i], &p);
		uint32_t family;
		const char *why = device_unsuitable(devices[i], false, &family);
		printf("%u: %s (%s, Vulkan %u.%u)%s%s\n", i, p.deviceName, device_type_name(p.deviceType),
		       VK_API_VERSION_MAJOR(p.apiVersion), VK_API_VERSION_MINOR(p.apiVersion), why ? ": unusable, " : "",
		       why ? why : "");
	}
	vkDestroyInstance(instance, NULL);
	return CV_OK;
}

void gpu_set_name(struct gpu_context *ctx, VkObjectType type, uint64_t handle, const char *fmt, ...)
{
	if (!ctx->set_object_name || !handle) return;
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	VkDebugUtilsObjectNameInfoEXT info = {
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
		.objectType = type,
		.objectHandle = handle,
		.pObjectName = name,
	};
	ctx->set_object_name(ctx->device, &info);
}
