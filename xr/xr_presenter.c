/* The OpenXR presenter: instance, system, Vulkan through the runtime, session state machine, stereo swapchain. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xr_internal.h"

#define MAX_IMAGES 8
#define XR_NEAR_M 0.05f /* the eyes' near and far planes, metres */
#define XR_FAR_M 100.0f

/* One stereo swapchain (colour or depth): 2 layers, one per eye, with views of both layers and of each. */
struct xr_chain {
	XrSwapchain handle;
	uint32_t count, index;
	VkImage images[MAX_IMAGES];
	VkImageView array_views[MAX_IMAGES], layer_views[MAX_IMAGES][2];
};

struct xr_presenter {
	struct presenter base;
	XrReferenceSpaceType space_type;
	XrInstance instance;
	XrSystemId system;
	XrSession session;
	XrSpace space;
	XrSessionState state;
	bool running, quit, has_hand_tracking;
	PFN_xrCreateVulkanInstanceKHR create_vk_instance;
	PFN_xrGetVulkanGraphicsDevice2KHR get_vk_device;
	PFN_xrCreateVulkanDeviceKHR create_vk_device;
	VkDevice vk_device; /* ctx's, which owns it */
	struct gpu_context *ctx;
	struct xr_chain color, depth; /* depth: when the runtime takes depth (XR_KHR_composition_layer_depth) */
	bool has_depth_ext;
	VkExtent2D extent;
	VkFormat format;
	VkCommandBuffer cmd;
	VkFence fence;
	XrFrameState frame;
	XrView views[2];
	struct render_views render_views;
	struct xr_input *input;
	struct present_user user;
	uint32_t menu_presses;  /* since the last poll_input */
	bool lost;              /* the session was lost: make a new one at the next frame */
	bool instance_lost;     /* the runtime is going away: the application makes a new presenter */
	uint32_t sessions;      /* sessions made so far (1 + recoveries) */
	XrDebugUtilsMessengerEXT messenger;
	bool has_debug_utils;
};

enum cv_result xr_check(XrInstance instance, XrResult xr, const char *what, const char *file, int line)
{
	if (XR_SUCCEEDED(xr)) return CV_OK;
	char name[XR_MAX_RESULT_STRING_SIZE] = "";
	if (instance) xrResultToString(instance, xr, name);
	return cv_fail(xr == XR_ERROR_EXTENSION_NOT_PRESENT || xr == XR_ERROR_FORM_FACTOR_UNAVAILABLE ||
	                       xr == XR_ERROR_RUNTIME_UNAVAILABLE
	                   ? CV_ERROR_UNSUPPORTED
	                   : CV_ERROR_GPU,
	               file, line, "%s failed: %s (%d)", what, name[0] ? name : "XrResult", xr);
}

static bool has_xr_extension(const XrExtensionProperties *ext, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(ext[i].extensionName, name)) return true;
	return false;
}

/* The runtime's (and layers') warnings and errors go to cavr's log. */
static XRAPI_ATTR XrBool32 XRAPI_CALL on_xr_message(XrDebugUtilsMessageSeverityFlagsEXT severity,
                                                   XrDebugUtilsMessageTypeFlagsEXT types,
                                                   const XrDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	(void)types;
	(void)user;
	if (severity & XR_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) CV_WARN("openxr error: %s", data->message);
	else CV_DEBUG("openxr: %s", data->message);
	return XR_FALSE;
}

static enum cv_result create_messenger(struct xr_presenter *x)
{
	PFN_xrCreateDebugUtilsMessengerEXT create = NULL;
	XR_TRY(x, xrGetInstanceProcAddr(x->instance, "xrCreateDebugUtilsMessengerEXT", (PFN_xrVoidFunction *)&create));
	XrDebugUtilsMessengerCreateInfoEXT ci = {
		.type = XR_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverities = XR_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		.messageTypes = XR_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
		                XR_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT | XR_DEBUG_UTILS_MESSAGE_TYPE_CONFORMANCE_BIT_EXT,
		.userCallback = on_xr_message,
	};
	XR_TRY(x, create(x->instance, &ci, &x->messenger));
	return CV_OK;
}

static enum cv_result create_instance(struct xr_presenter *x)
{
	uint32_t n = 0;
	XrResult xr = xrEnumerateInstanceExtensionProperties(NULL, 0, &n, NULL);
	if (xr == XR_ERROR_RUNTIME_UNAVAILABLE || xr == XR_ERROR_RUNTIME_FAILURE)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "no OpenXR runtime is active (start SteamVR or Monado, or set XR_RUNTIME_JSON)");
	XR_TRY(x, xr);
	XrExtensionProperties *ext = calloc(n ? n : 1, sizeof(*ext));
	if (!ext) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "xr extensions");
	for (uint32_t i = 0; i < n; i++) ext[i].type = XR_TYPE_EXTENSION_PROPERTIES;
	xr = xrEnumerateInstanceExtensionProperties(NULL, n, &n, ext);
	bool vulkan2 = has_xr_extension(ext, n, XR_KHR_VULKAN_ENABLE2_EXTENSION_NAME);
	x->has_hand_tracking = has_xr_extension(ext, n, XR_EXT_HAND_TRACKING_EXTENSION_NAME);
	x->has_debug_utils = has_xr_extension(ext, n, XR_EXT_DEBUG_UTILS_EXTENSION_NAME);
	x->has_depth_ext = has_xr_extension(ext, n, XR_KHR_COMPOSITION_LAYER_DEPTH_EXTENSION_NAME);
	free(ext);
	XR_TRY(x, xr);
	if (!vulkan2) return CV_FAIL(CV_ERROR_UNSUPPORTED, "the OpenXR runtime lacks XR_KHR_vulkan_enable2, which cavr needs");
	if (!x->has_hand_tracking) CV_INFO("xr: the runtime has no XR_EXT_hand_tracking; controllers only");
	const char *enabled[4] = {XR_KHR_VULKAN_ENABLE2_EXTENSION_NAME};
	uint32_t count = 1;
	if (x->has_depth_ext) enabled[count++] = XR_KHR_COMPOSITION_LAYER_DEPTH_EXTENSION_NAME;
	if (x->has_hand_tracking) enabled[count++] = XR_EXT_HAND_TRACKING_EXTENSION_NAME;
	if (x->has_debug_utils) enabled[count++] = XR_EXT_DEBUG_UTILS_EXTENSION_NAME;
	XrInstanceCreateInfo ci = {
		.type = XR_TYPE_INSTANCE_CREATE_INFO,
		.applicationInfo = {.applicationName = "cavr", .applicationVersion = 1, .engineName = "cavr",
		                    .engineVersion = 1, .apiVersion = XR_CURRENT_API_VERSION},
		.enabledExtensionCount = count,
		.enabledExtensionNames = enabled,
	};
	XR_TRY(x, xrCreateInstance(&ci, &x->instance));
	if (x->has_debug_utils) CV_TRY(create_messenger(x));
	XrSystemGetInfo si = {.type = XR_TYPE_SYSTEM_GET_INFO, .formFactor = XR_FORM_FACTOR_HEAD_MOUNTED_DISPLAY};
	xr = xrGetSystem(x->instance, &si, &x->system);
	if (xr == XR_ERROR_FORM_FACTOR_UNAVAILABLE) return CV_FAIL(CV_ERROR_UNSUPPORTED, "no headset is connected");
	XR_TRY(x, xr);
	return CV_OK;
}

/* The runtime creates the VkInstance and VkDevice from cavr's create infos (struct gpu_creator). */
static enum cv_result runtime_create_instance(void *user, const VkInstanceCreateInfo *info, VkInstance *out)
{
	struct xr_presenter *x = user;
	XrVulkanInstanceCreateInfoKHR ici = {
		.type = XR_TYPE_VULKAN_INSTANCE_CREATE_INFO_KHR,
		.systemId = x->system,
		.pfnGetInstanceProcAddr = vkGetInstanceProcAddr,
		.vulkanCreateInfo = info,
	};
	VkResult vr = VK_SUCCESS;
	XR_TRY(x, x->create_vk_instance(x->instance, &ici, out, &vr));
	return GPU_CHECK(vr);
}

static enum cv_result runtime_physical_device(void *user, VkInstance instance, VkPhysicalDevice *out)
{
	struct xr_presenter *x = user;
	XrVulkanGraphicsDeviceGetInfoKHR gi = {
		.type = XR_TYPE_VULKAN_GRAPHICS_DEVICE_GET_INFO_KHR, .systemId = x->system, .vulkanInstance = instance};
	XR_TRY(x, x->get_vk_device(x->instance, &gi, out));
	return CV_OK;
}

static enum cv_result runtime_create_device(void *user, VkPhysicalDevice pd, const VkDeviceCreateInfo *info,
                                            VkDevice *out)
{
	struct xr_presenter *x = user;
	XrVulkanDeviceCreateInfoKHR dci = {
		.type = XR_TYPE_VULKAN_DEVICE_CREATE_INFO_KHR,
		.systemId = x->system,
		.pfnGetInstanceProcAddr = vkGetInstanceProcAddr,
		.vulkanPhysicalDevice = pd,
		.vulkanCreateInfo = info,
	};
	VkResult vr = VK_SUCCESS;
	XR_TRY(x, x->create_vk_device(x->instance, &dci, out, &vr));
	return GPU_CHECK(vr);
}

static enum cv_result create_vulkan(struct xr_presenter *x, const struct xr_desc *desc)
{
	PFN_xrGetVulkanGraphicsRequirements2KHR requirements = NULL;
	XR_TRY(x, xrGetInstanceProcAddr(x->instance, "xrGetVulkanGraphicsRequirements2KHR", (PFN_xrVoidFunction *)&requirements));
	XR_TRY(x, xrGetInstanceProcAddr(x->instance, "xrCreateVulkanInstanceKHR",
	                                (PFN_xrVoidFunction *)&x->create_vk_instance));
	XR_TRY(x, xrGetInstanceProcAddr(x->instance, "xrGetVulkanGraphicsDevice2KHR",
	                                (PFN_xrVoidFunction *)&x->get_vk_device));
	XR_TRY(x, xrGetInstanceProcAddr(x->instance, "xrCreateVulkanDeviceKHR",
	                                (PFN_xrVoidFunction *)&x->create_vk_device));
	XrGraphicsRequirementsVulkanKHR req = {.type = XR_TYPE_GRAPHICS_REQUIREMENTS_VULKAN2_KHR};
	XR_TRY(x, requirements(x->instance, x->system, &req));
	if (XR_VERSION_MAJOR(req.maxApiVersionSupported) < 1 ||
	    (XR_VERSION_MAJOR(req.maxApiVersionSupported) == 1 && XR_VERSION_MINOR(req.maxApiVersionSupported) < 3))
		CV_WARN("the OpenXR runtime says it supports Vulkan up to %u.%u; cavr uses 1.3",
		        (unsigned)XR_VERSION_MAJOR(req.maxApiVersionSupported), (unsigned)XR_VERSION_MINOR(req.maxApiVersionSupported));
	const struct gpu_creator creator = {
		.user = x,
		.create_instance = runtime_create_instance,
		.physical_device = runtime_physical_device,
		.create_device = runtime_create_device,
	};
	CV_TRY(gpu_context_create(&(struct gpu_context_desc){.validation = desc->validation, .creator = &creator},
	                          &x->ctx));
	x->vk_device = x->ctx->device;
	return CV_OK;
}

static enum cv_result create_session(struct xr_presenter *x)
{
	XrGraphicsBindingVulkanKHR binding = {
		.type = XR_TYPE_GRAPHICS_BINDING_VULKAN_KHR,
		.instance = x->ctx->instance,
		.physicalDevice = x->ctx->physical_device,
		.device = x->vk_device,
		.queueFamilyIndex = x->ctx->queue_family,
		.queueIndex = 0,
	};
	XrSessionCreateInfo sci = {.type = XR_TYPE_SESSION_CREATE_INFO, .next = &binding, .systemId = x->system};
	XR_TRY(x, xrCreateSession(x->instance, &sci, &x->session));
	/* STAGE (floor-level, room-scale) when the runtime has it, else LOCAL (seated, head height). */
	uint32_t n = 0;
	XR_TRY(x, xrEnumerateReferenceSpaces(x->session, 0, &n, NULL));
	XrReferenceSpaceType spaces[16];
	if (n > 16) n = 16;
	XR_TRY(x, xrEnumerateReferenceSpaces(x->session, n, &n, spaces));
	XrReferenceSpaceType type = XR_REFERENCE_SPACE_TYPE_LOCAL;
	for (uint32_t i = 0; i < n; i++)
		if (spaces[i] == XR_REFERENCE_SPACE_TYPE_STAGE) type = XR_REFERENCE_SPACE_TYPE_STAGE;
	XrReferenceSpaceCreateInfo rci = {
		.type = XR_TYPE_REFERENCE_SPACE_CREATE_INFO,
		.referenceSpaceType = type,
		.poseInReferenceSpace = {.orientation = {0, 0, 0, 1}},
	};
	XR_TRY(x, xrCreateReferenceSpace(x->session, &rci, &x->space));
	x->space_type = type;
	x->sessions++;
	CV_TRY(xr_input_create(x->instance, x->system, x->session, x->has_hand_tracking, &x->input));
	CV_DEBUG("xr: reference space %s", type == XR_REFERENCE_SPACE_TYPE_STAGE ? "STAGE" : "LOCAL");
	return CV_OK;
}

/* sRGB formats first: shading is linear and the swapchain encodes on write. */
static VkFormat pick_format(const int64_t *formats, uint32_t n)
{
	const VkFormat preferred[4] = {VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_UNORM,
	                               VK_FORMAT_B8G8R8A8_UNORM};
	for (int p = 0; p < 4; p++)
		for (uint32_t i = 0; i < n; i++)
			if (formats[i] == preferred[p]) return preferred[p];
	return VK_FORMAT_UNDEFINED;
}

static enum cv_result create_chain(struct xr_presenter *x, struct xr_chain *c, VkFormat format, bool depth)
{
	XrSwapchainCreateInfo sci = {
		.type = XR_TYPE_SWAPCHAIN_CREATE_INFO,
		/* transfer-dst: eye-by-eye drawing copies each resolved eye into its layer (see app/loop.c) */
		.usageFlags = depth ? XR_SWAPCHAIN_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT
		                    : XR_SWAPCHAIN_USAGE_COLOR_ATTACHMENT_BIT | XR_SWAPCHAIN_USAGE_TRANSFER_DST_BIT,
		.format = format,
		.sampleCount = 1,
		.width = x->extent.width,
		.height = x->extent.height,
		.faceCount = 1,
		.arraySize = 2,
		.mipCount = 1,
	};
	XR_TRY(x, xrCreateSwapchain(x->session, &sci, &c->handle));
	uint32_t n = 0;
	XR_TRY(x, xrEnumerateSwapchainImages(c->handle, 0, &n, NULL));
	if (n > MAX_IMAGES) return CV_FAIL(CV_ERROR_UNSUPPORTED, "swapchain of %u images (at most %d)", n, MAX_IMAGES);
	XrSwapchainImageVulkanKHR images[MAX_IMAGES];
	for (uint32_t i = 0; i < n; i++) images[i] = (XrSwapchainImageVulkanKHR){.type = XR_TYPE_SWAPCHAIN_IMAGE_VULKAN_KHR};
	XR_TRY(x, xrEnumerateSwapchainImages(c->handle, n, &n, (XrSwapchainImageBaseHeader *)images));
	VkImageAspectFlags aspect = depth ? VK_IMAGE_ASPECT_DEPTH_BIT : VK_IMAGE_ASPECT_COLOR_BIT;
	for (uint32_t i = 0; i < n; i++) {
		c->images[i] = images[i].image;
		c->count = i + 1;
		struct gpu_image img = {.image = images[i].image, .aspect = aspect, .layers = 2};
		VkImageViewCreateInfo vi = {
			.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
			.image = images[i].image,
			.viewType = VK_IMAGE_VIEW_TYPE_2D_ARRAY,
			.format = format,
			.subresourceRange = {aspect, 0, 1, 0, 2},
		};
		GPU_TRY(vkCreateImageView(x->vk_device, &vi, NULL, &c->array_views[i]));
		for (uint32_t e = 0; e < 2; e++)
			CV_TRY(gpu_image_view_create(x->ctx, &img, format, 0, 1, e, depth ? "xr eye depth" : "xr eye",
			                             &c->layer_views[i][e]));
	}
	return CV_OK;
}

static void destroy_chain(struct xr_presenter *x, struct xr_chain *c)
{
	for (uint32_t i = 0; i < c->count; i++) {
		vkDestroyImageView(x->vk_device, c->array_views[i], NULL);
		for (int e = 0; e < 2; e++) vkDestroyImageView(x->vk_device, c->layer_views[i][e], NULL);
	}
	if (c->handle) xrDestroySwapchain(c->handle);
	*c = (struct xr_chain){0};
}

static enum cv_result acquire(struct xr_presenter *x, struct xr_chain *c)
{
	XR_TRY(x, xrAcquireSwapchainImage(c->handle, &(XrSwapchainImageAcquireInfo){.type = XR_TYPE_SWAPCHAIN_IMAGE_ACQUIRE_INFO},
	                                  &c->index));
	XrSwapchainImageWaitInfo wi = {.type = XR_TYPE_SWAPCHAIN_IMAGE_WAIT_INFO, .timeout = XR_INFINITE_DURATION};
	XR_TRY(x, xrWaitSwapchainImage(c->handle, &wi));
	return CV_OK;
}

static enum cv_result create_swapchain(struct xr_presenter *x)
{
	uint32_t n = 0;
	XrViewConfigurationView vcv[2] = {{.type = XR_TYPE_VIEW_CONFIGURATION_VIEW}, {.type = XR_TYPE_VIEW_CONFIGURATION_VIEW}};
	XR_TRY(x, xrEnumerateViewConfigurationViews(x->instance, x->system, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, 2,
	                                            &n, vcv));
	if (n != 2) return CV_FAIL(CV_ERROR_UNSUPPORTED, "the headset has %u views; cavr renders stereo pairs", n);
	x->extent = (VkExtent2D){vcv[0].recommendedImageRectWidth, vcv[0].recommendedImageRectHeight};
	int64_t formats[64];
	XR_TRY(x, xrEnumerateSwapchainFormats(x->session, 0, &n, NULL));
	if (n > 64) n = 64;
	XR_TRY(x, xrEnumerateSwapchainFormats(x->session, n, &n, formats));
	x->format = pick_format(formats, n);
	if (x->format == VK_FORMAT_UNDEFINED) return CV_FAIL(CV_ERROR_UNSUPPORTED, "the runtime offers no 8-bit RGBA swapchain");
	CV_TRY(create_chain(x, &x->color, x->format, false));
	/* Depth for the compositor's reprojection, in the format the renderer's depth already has. */
	bool d32 = false;
	for (uint32_t i = 0; i < n; i++) d32 |= formats[i] == VK_FORMAT_D32_SFLOAT;
	if (x->has_depth_ext && d32) CV_TRY(create_chain(x, &x->depth, VK_FORMAT_D32_SFLOAT, true));
	else if (x->has_depth_ext) CV_INFO("xr: the runtime takes depth but not as D32_SFLOAT; no depth is submitted");
	if (x->cmd) return CV_OK; /* a new session after a loss reuses them */
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = x->ctx->command_pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	GPU_TRY(vkAllocateCommandBuffers(x->vk_device, &ai, &x->cmd));
	VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT};
	GPU_TRY(vkCreateFence(x->vk_device, &fi, NULL, &x->fence));
	CV_INFO("xr: %ux%u per eye, %s swapchain of %u images%s", x->extent.width, x->extent.height,
	        x->format == VK_FORMAT_R8G8B8A8_SRGB || x->format == VK_FORMAT_B8G8R8A8_SRGB ? "sRGB" : "UNORM", x->color.count,
	        x->depth.handle ? ", depth submitted" : "");
	return CV_OK;
}

/* Drains the runtime's events and walks the session state machine. */
static enum cv_result poll_events(struct xr_presenter *x)
{
	for (;;) {
		XrEventDataBuffer ev = {.type = XR_TYPE_EVENT_DATA_BUFFER};
		XrResult xr = xrPollEvent(x->instance, &ev);
		if (xr == XR_EVENT_UNAVAILABLE) return CV_OK;
		if (xr == XR_ERROR_INSTANCE_LOST) { /* the runtime went away before telling us */
			x->quit = x->instance_lost = true;
			return CV_OK;
		}
		XR_TRY(x, xr);
		if (ev.type == XR_TYPE_EVENT_DATA_INSTANCE_LOSS_PENDING) {
			CV_WARN("xr: the runtime is going away");
			x->quit = x->instance_lost = true;
		} else if (ev.type == XR_TYPE_EVENT_DATA_SESSION_STATE_CHANGED) {
			const XrEventDataSessionStateChanged *sc = (const XrEventDataSessionStateChanged *)&ev;
			x->state = sc->state;
			CV_DEBUG("xr: session state %d", sc->state);
			if (sc->state == XR_SESSION_STATE_READY) {
				XrSessionBeginInfo bi = {.type = XR_TYPE_SESSION_BEGIN_INFO,
				                         .primaryViewConfigurationType = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO};
				XR_TRY(x, xrBeginSession(x->session, &bi));
				x->running = true;
			} else if (sc->state == XR_SESSION_STATE_STOPPING) {
				XR_TRY(x, xrEndSession(x->session));
				x->running = false;
			} else if (sc->state == XR_SESSION_STATE_EXITING) {
				x->running = false;
				x->quit = true;
			} else if (sc->state == XR_SESSION_STATE_LOSS_PENDING) {
				CV_WARN("xr: the session was lost; making a new one");
				x->running = false;
				x->lost = true;
				return CV_OK; /* the old session's events end here */
			}
		}
	}
}

/* An asymmetric frustum from the runtime's field of view, in Vulkan clip space (y down, depth 0..1). */
static void projection_from_fov(XrFovf fov, float near_m, float far_m, mat4 out)
{
	float l = tanf(fov.angleLeft), r = tanf(fov.angleRight), u = tanf(fov.angleUp), d = tanf(fov.angleDown);
	glm_mat4_zero(out);
	out[0][0] = 2.0f / (r - l);
	out[2][0] = (r + l) / (r - l);
	out[1][1] = -2.0f / (u - d);
	out[2][1] = -(u + d) / (u - d);
	out[2][2] = far_m / (near_m - far_m);
	out[2][3] = -1.0f;
	out[3][2] = near_m * far_m / (near_m - far_m);
}

static void view_from_pose(XrPosef pose, struct render_view *v)
{
	versor q = {pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w};
	mat4 world;
	glm_quat_mat4(q, world);
	glm_vec3_copy((vec3){pose.position.x, pose.position.y, pose.position.z}, world[3]);
	glm_mat4_inv(world, v->view);
	glm_vec3_copy(world[3], v->eye);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static enum cv_result end_empty_frame(struct xr_presenter *x)
{
	XrFrameEndInfo ei = {.type = XR_TYPE_FRAME_END_INFO, .displayTime = x->frame.predictedDisplayTime,
	                     .environmentBlendMode = XR_ENVIRONMENT_BLEND_MODE_OPAQUE};
	XR_TRY(x, xrEndFrame(x->session, &ei));
	return CV_OK;
}

/* Everything that belongs to one session: a lost session is torn down and made again with the same Vulkan device. */
static void destroy_session(struct xr_presenter *x)
{
	destroy_chain(x, &x->color);
	destroy_chain(x, &x->depth);
	xr_input_destroy(&x->input);
	if (x->space) xrDestroySpace(x->space);
	if (x->session) xrDestroySession(x->session);
	x->space = XR_NULL_HANDLE;
	x->session = XR_NULL_HANDLE;
	x->running = false;
	x->state = XR_SESSION_STATE_UNKNOWN;
}

static enum cv_result recover_session(struct xr_presenter *x)
{
	GPU_TRY(vkDeviceWaitIdle(x->vk_device));
	destroy_session(x);
	x->lost = false;
	CV_TRY(create_session(x));
	CV_TRY(create_swapchain(x));
	CV_INFO("xr: session %u running", x->sessions);
	return CV_OK;
}

static enum cv_result xr_begin(struct presenter *p, struct present_frame *f)
{
	struct xr_presenter *x = (struct xr_presenter *)p;
	uint64_t index = f->index;
	memset(f, 0, sizeof(*f));
	f->index = index;
	CV_TRY(poll_events(x));
	if (x->quit) { /* exiting, or the runtime is going away: nothing more to draw */
		f->skip = true;
		return CV_OK;
	}
	if (x->lost) CV_TRY(recover_session(x));
	if (!x->running) {
		sleep_ms(10); /* not visible yet: nothing to draw, do not spin */
		f->skip = true;
		return CV_OK;
	}
	x->frame = (XrFrameState){.type = XR_TYPE_FRAME_STATE};
	XR_TRY(x, xrWaitFrame(x->session, &(XrFrameWaitInfo){.type = XR_TYPE_FRAME_WAIT_INFO}, &x->frame));
	XR_TRY(x, xrBeginFrame(x->session, &(XrFrameBeginInfo){.type = XR_TYPE_FRAME_BEGIN_INFO}));
	if (!x->frame.shouldRender) {
		f->skip = true;
		return end_empty_frame(x);
	}
	XrViewState vs = {.type = XR_TYPE_VIEW_STATE};
	XrViewLocateInfo li = {
		.type = XR_TYPE_VIEW_LOCATE_INFO,
		.viewConfigurationType = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO,
		.displayTime = x->frame.predictedDisplayTime,
		.space = x->space,
	};
	uint32_t n = 0;
	x->views[0] = x->views[1] = (XrView){.type = XR_TYPE_VIEW};
	XR_TRY(x, xrLocateViews(x->session, &li, &vs, 2, &n, x->views));
	if (n != 2 || !(vs.viewStateFlags & XR_VIEW_STATE_POSITION_VALID_BIT) ||
	    !(vs.viewStateFlags & XR_VIEW_STATE_ORIENTATION_VALID_BIT)) {
		f->skip = true; /* tracking lost: show nothing rather than a wrong pose */
		return end_empty_frame(x);
	}
	x->render_views.count = 2;
	for (int e = 0; e < 2; e++) {
		view_from_pose(x->views[e].pose, &x->render_views.view[e]);
		projection_from_fov(x->views[e].fov, XR_NEAR_M, XR_FAR_M, x->render_views.view[e].projection);
	}
	uint32_t presses = 0;
	CV_TRY(xr_input_update(x->input, x->space, x->frame.predictedDisplayTime, x->state == XR_SESSION_STATE_FOCUSED,
	                       &x->render_views, &x->user, &presses));
	x->menu_presses += presses;
	CV_TRY(acquire(x, &x->color));
	if (x->depth.handle) CV_TRY(acquire(x, &x->depth));
	GPU_TRY(vkWaitForFences(x->vk_device, 1, &x->fence, VK_TRUE, UINT64_MAX));
	GPU_TRY(vkResetFences(x->vk_device, 1, &x->fence));
	GPU_TRY(vkResetCommandBuffer(x->cmd, 0));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
	                               .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
	GPU_TRY(vkBeginCommandBuffer(x->cmd, &bi));
	f->cmd = x->cmd;
	f->image = x->color.images[x->color.index];
	f->view = x->color.array_views[x->color.index];
	f->layer_views[0] = x->color.layer_views[x->color.index][0];
	f->layer_views[1] = x->color.layer_views[x->color.index][1];
	if (x->depth.handle) {
		f->depth_view = x->depth.array_views[x->depth.index];
		f->depth_layer_views[0] = x->depth.layer_views[x->depth.index][0];
		f->depth_layer_views[1] = x->depth.layer_views[x->depth.index][1];
		gpu_cmd_image_barrier(f->cmd, x->depth.images[x->depth.index], VK_IMAGE_ASPECT_DEPTH_BIT,
		                      VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL);
	}
	f->extent = x->extent;
	f->format = x->format;
	f->view_count = 2;
	f->views = &x->render_views;
	f->views_floor_level = x->space_type == XR_REFERENCE_SPACE_TYPE_STAGE;
	f->user = &x->user;
	f->display_time_s = (double)x->frame.predictedDisplayTime * 1e-9;
	gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
	                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
	return CV_OK;
}

static enum cv_result xr_end(struct presenter *p, struct present_frame *f)
{
	struct xr_presenter *x = (struct xr_presenter *)p;
	/* OpenXR takes Vulkan swapchain images back in COLOR_ATTACHMENT_OPTIMAL, where the frame left them. */
	GPU_TRY(vkEndCommandBuffer(f->cmd));
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &f->cmd};
	GPU_TRY(vkQueueSubmit(x->ctx->queue, 1, &si, x->fence));
	const XrSwapchainImageReleaseInfo ri = {.type = XR_TYPE_SWAPCHAIN_IMAGE_RELEASE_INFO};
	XR_TRY(x, xrReleaseSwapchainImage(x->color.handle, &ri));
	if (x->depth.handle) XR_TRY(x, xrReleaseSwapchainImage(x->depth.handle, &ri));
	const XrRect2Di rect = {{0, 0}, {(int32_t)x->extent.width, (int32_t)x->extent.height}};
	XrCompositionLayerProjectionView pv[2];
	XrCompositionLayerDepthInfoKHR depth[2];
	for (uint32_t e = 0; e < 2; e++) {
		/* The renderer's projection maps the near plane to 0 and the far plane to 1 (see projection_from_fov). */
		depth[e] = (XrCompositionLayerDepthInfoKHR){
			.type = XR_TYPE_COMPOSITION_LAYER_DEPTH_INFO_KHR,
			.subImage = {.swapchain = x->depth.handle, .imageRect = rect, .imageArrayIndex = e},
			.minDepth = 0.0f, .maxDepth = 1.0f, .nearZ = XR_NEAR_M, .farZ = XR_FAR_M};
		pv[e] = (XrCompositionLayerProjectionView){
			.type = XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW,
			.next = x->depth.handle ? &depth[e] : NULL,
			.pose = x->views[e].pose,
			.fov = x->views[e].fov,
			.subImage = {.swapchain = x->color.handle, .imageRect = rect, .imageArrayIndex = e},
		};
	}
	XrCompositionLayerProjection layer = {
		.type = XR_TYPE_COMPOSITION_LAYER_PROJECTION, .space = x->space, .viewCount = 2, .views = pv};
	const XrCompositionLayerBaseHeader *layers[1] = {(const XrCompositionLayerBaseHeader *)&layer};
	XrFrameEndInfo ei = {
		.type = XR_TYPE_FRAME_END_INFO,
		.displayTime = x->frame.predictedDisplayTime,
		.environmentBlendMode = XR_ENVIRONMENT_BLEND_MODE_OPAQUE,
		.layerCount = 1,
		.layers = layers,
	};
	XR_TRY(x, xrEndFrame(x->session, &ei));
	return CV_OK;
}

static bool xr_should_close(struct presenter *p) { return ((struct xr_presenter *)p)->quit; }

static bool xr_lost(struct presenter *p) { return ((struct xr_presenter *)p)->instance_lost; }

void xr_presenter_request_exit(struct presenter *p)
{
	struct xr_presenter *x = (struct xr_presenter *)p;
	if (x->session && x->running) xrRequestExitSession(x->session);
	else x->quit = true;
}

static uint32_t xr_poll_input(struct presenter *p, struct meeting_input *out, uint32_t max)
{
	struct xr_presenter *x = (struct xr_presenter *)p;
	uint32_t n = 0;
	for (; n < max && x->menu_presses; x->menu_presses--) out[n++] = (struct meeting_input){.action = MEETING_PLAY_PAUSE};
	return n;
}

uint32_t xr_presenter_sessions(struct presenter *p) { return ((struct xr_presenter *)p)->sessions; }

static void xr_destroy(struct presenter *p)
{
	struct xr_presenter *x = (struct xr_presenter *)p;
	if (x->vk_device) vkDeviceWaitIdle(x->vk_device);
	/* End a running session politely: request exit and follow the states (bounded: a runtime may not answer). */
	if (x->session && x->running) {
		xrRequestExitSession(x->session);
		for (int i = 0; i < 200 && x->running && poll_events(x) == CV_OK; i++) sleep_ms(1);
	}
	destroy_session(x);
	if (x->fence) vkDestroyFence(x->vk_device, x->fence, NULL);
	if (x->cmd) vkFreeCommandBuffers(x->vk_device, x->ctx->command_pool, 1, &x->cmd);
	gpu_context_destroy(&x->ctx); /* also the VkDevice and VkInstance the runtime made */
	if (x->instance) xrDestroyInstance(x->instance); /* also its messenger */
	free(x);
}

enum cv_result xr_presenter_create(const struct xr_desc *desc, struct gpu_context **ctx, struct presenter **out)
{
	*ctx = NULL;
	*out = NULL;
	struct xr_presenter *x = calloc(1, sizeof(*x));
	if (!x) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "xr presenter");
	x->base = (struct presenter){
		.name = "openxr",
		.begin_frame = xr_begin,
		.end_frame = xr_end,
		.should_close = xr_should_close,
		.destroy = xr_destroy,
		.poll_input = xr_poll_input,
		.lost = xr_lost,
	};
	enum cv_result r = create_instance(x);
	if (r == CV_OK) r = create_vulkan(x, desc);
	if (r == CV_OK) r = create_session(x);
	if (r == CV_OK) r = create_swapchain(x);
	if (r != CV_OK) {
		xr_destroy(&x->base);
		return r;
	}
	*ctx = x->ctx;
	*out = &x->base;
	return CV_OK;
}
