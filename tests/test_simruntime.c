/* test_simruntime: cavr's simulated OpenXR runtime (xr/simruntime) driven by a small OpenXR application of
 * its own, through the real Khronos loader (XR_RUNTIME_JSON names the built manifest) with the OpenXR core
 * validation layer (XR_ENABLE_API_LAYERS) and the Vulkan validation layer on; a message from either fails the
 * test. The error-code checks run with the OpenXR layer off, since the layer would answer many of them itself.
 * The program links the runtime too, for its test hooks (simxr.h): the loader opens that same copy. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image.h>

#include "simxr.h"
#include "test.h"
#include "xr/xr_app.h"

#define REQUIRE(cond)                                     \
	do {                                                  \
		bool req_ok_ = (cond);                            \
		CHECK_MSG(req_ok_, "required: %s", #cond);        \
		if (!req_ok_) goto done;                          \
	} while (0)

#define DEG (M_PI / 180.0)

static char g_dir[256]; /* scratch folder: scripts and captured frames */
static char g_layer_log[300]; /* where the OpenXR validation layer writes its messages */

/* The negotiation structures of the loader specification, as the loader passes them. */
typedef struct {
	int structType;
	uint32_t structVersion;
	size_t structSize;
	uint32_t minInterfaceVersion, maxInterfaceVersion;
	XrVersion minApiVersion, maxApiVersion;
} loader_info;
typedef struct {
	int structType;
	uint32_t structVersion;
	size_t structSize;
	uint32_t runtimeInterfaceVersion;
	XrVersion runtimeApiVersion;
	PFN_xrGetInstanceProcAddr getInstanceProcAddr;
} runtime_request;
XrResult xrNegotiateLoaderRuntimeInterface(const loader_info *info, runtime_request *request);

static void set_env(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static double dist3(XrVector3f a, XrVector3f b)
{
	return sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) + (a.z - b.z) * (a.z - b.z));
}

static bool near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

static bool quat_near(XrQuaternionf q, double x, double y, double z, double w, double tol)
{
	double d = fabs(q.x * x + q.y * y + q.z * z + q.w * w); /* q and -q are the same rotation */
	return d >= 1 - tol;
}

static XrPath path(struct xr_app *a, const char *s)
{
	XrPath p = XR_NULL_PATH;
	(void)XA_OK(xrStringToPath(a->instance, s, &p));
	return p;
}

static bool write_file(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	if (!f) return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* The validation layer's messages since the last call (Debian's layer does not give them to debug messengers,
 * so it writes them to a file): prints them, empties the file, and returns whether there were none. When
 * `expect` is given, returns whether that message id was among them instead, printing nothing. */
static bool layer_log_check(const char *expect)
{
	FILE *f = fopen(g_layer_log, "r");
	bool clean = true, found = false;
	char line[1024];
	while (f && fgets(line, sizeof line, f)) {
		if (expect) {
			found |= strstr(line, expect) != NULL;
		} else {
			fprintf(stderr, "OpenXR validation layer: %s", line);
			clean = false;
		}
	}
	if (f) fclose(f);
	f = fopen(g_layer_log, "w");
	if (f) fclose(f);
	return expect ? found : clean;
}

/* ---- loader negotiation ---- */
static void test_negotiation(void)
{
	loader_info li = {1, 1, sizeof li, 1, 1, XR_MAKE_VERSION(1, 0, 0), XR_MAKE_VERSION(1, 1, 0)};
	runtime_request rr = {3, 1, sizeof rr, 0, 0, NULL};
	CHECK(xrNegotiateLoaderRuntimeInterface(&li, &rr) == XR_SUCCESS);
	CHECK(rr.runtimeInterfaceVersion == 1);
	CHECK(XR_VERSION_MAJOR(rr.runtimeApiVersion) == 1 && XR_VERSION_MINOR(rr.runtimeApiVersion) == 0);
	CHECK(rr.getInstanceProcAddr != NULL);
	PFN_xrVoidFunction fn = NULL;
	CHECK(rr.getInstanceProcAddr(XR_NULL_HANDLE, "xrCreateInstance", &fn) == XR_SUCCESS && fn);
	CHECK(rr.getInstanceProcAddr(XR_NULL_HANDLE, "xrBeginFrame", &fn) == XR_ERROR_HANDLE_INVALID && !fn);

	/* The runtime's own checks of xrCreateInstance, called directly (the loader makes some of them first). */
	PFN_xrCreateInstance create = NULL;
	CHECK(rr.getInstanceProcAddr(XR_NULL_HANDLE, "xrCreateInstance", (PFN_xrVoidFunction *)&create) == XR_SUCCESS);
	XrInstanceCreateInfo ci = {.type = XR_TYPE_INSTANCE_CREATE_INFO};
	snprintf(ci.applicationInfo.applicationName, sizeof ci.applicationInfo.applicationName, "direct");
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 1, 0);
	XrInstance inst = XR_NULL_HANDLE;
	set_env("CAVR_SIMXR_LOG", "none");
	CHECK(create && create(&ci, &inst) == XR_ERROR_API_VERSION_UNSUPPORTED);
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 0, 0);
	const char *unknown[] = {"XR_KHR_vulkan_enable2", "XR_CAVR_teleporter"};
	ci.enabledExtensionCount = 2;
	ci.enabledExtensionNames = unknown;
	CHECK(create && create(&ci, &inst) == XR_ERROR_EXTENSION_NOT_PRESENT);
	ci.enabledExtensionCount = 0;
	ci.applicationInfo.applicationName[0] = 0;
	CHECK(create && create(&ci, &inst) == XR_ERROR_NAME_INVALID);
	ci.type = XR_TYPE_SYSTEM_GET_INFO;
	CHECK(create && create(&ci, &inst) == XR_ERROR_VALIDATION_FAILURE);
	set_env("CAVR_SIMXR_LOG", NULL);

	loader_info bad = li;
	bad.structSize = sizeof li - 1;
	CHECK(xrNegotiateLoaderRuntimeInterface(&bad, &rr) == XR_ERROR_INITIALIZATION_FAILED);
	bad = li;
	bad.structType = 3;
	CHECK(xrNegotiateLoaderRuntimeInterface(&bad, &rr) == XR_ERROR_INITIALIZATION_FAILED);
	bad = li;
	bad.minInterfaceVersion = bad.maxInterfaceVersion = 2;
	CHECK(xrNegotiateLoaderRuntimeInterface(&bad, &rr) == XR_ERROR_INITIALIZATION_FAILED);
	bad = li;
	bad.minApiVersion = bad.maxApiVersion = XR_MAKE_VERSION(2, 0, 0);
	CHECK(xrNegotiateLoaderRuntimeInterface(&bad, &rr) == XR_ERROR_INITIALIZATION_FAILED);
	runtime_request bad_rr = rr;
	bad_rr.structVersion = 2;
	CHECK(xrNegotiateLoaderRuntimeInterface(&li, &bad_rr) == XR_ERROR_INITIALIZATION_FAILED);
}

/* ---- configuration and scripts ---- */
static XrResult try_instance(void)
{
	XrInstanceCreateInfo ci = {.type = XR_TYPE_INSTANCE_CREATE_INFO};
	snprintf(ci.applicationInfo.applicationName, sizeof ci.applicationInfo.applicationName, "config test");
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 0, 0);
	XrInstance inst = XR_NULL_HANDLE;
	XrResult r = xrCreateInstance(&ci, &inst);
	if (inst) xrDestroyInstance(inst);
	return r;
}

static bool offers(const char *name)
{
	XrExtensionProperties props[32];
	uint32_t n = 0;
	for (uint32_t i = 0; i < 32; i++) props[i] = (XrExtensionProperties){.type = XR_TYPE_EXTENSION_PROPERTIES};
	if (xrEnumerateInstanceExtensionProperties(NULL, 32, &n, props) != XR_SUCCESS) return false;
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(props[i].extensionName, name) == 0) return true;
	return false;
}

static void test_config_and_scripts(void)
{
	/* Instances that fail to start: the validation layer has nothing to add (and complains of the failure). */
	char *layers = getenv("XR_ENABLE_API_LAYERS") ? strdup(getenv("XR_ENABLE_API_LAYERS")) : NULL;
	set_env("XR_ENABLE_API_LAYERS", NULL);
	fprintf(stderr, "(the errors that follow are expected)\n");
	set_env("CAVR_SIMXR_IPD", "banana");
	CHECK(try_instance() == XR_ERROR_INITIALIZATION_FAILED);
	set_env("CAVR_SIMXR_IPD", NULL);
	set_env("CAVR_SIMXR_RESOLUTION", "0x100");
	CHECK(try_instance() == XR_ERROR_INITIALIZATION_FAILED);
	set_env("CAVR_SIMXR_RESOLUTION", NULL);
	set_env("CAVR_SIMXR_SCRIPT", "/nonexistent/script.txt");
	CHECK(try_instance() == XR_ERROR_INITIALIZATION_FAILED);
	set_env("CAVR_SIMXR_SCRIPT", NULL);

	char file[300];
	snprintf(file, sizeof file, "%s/simxr.conf", g_dir);
	CHECK(write_file(file, "# a config file\nresolution = 320x240\nipd = 0.07 # mm would be wrong\nrefresh_hz=120\n"));
	set_env("CAVR_SIMXR_CONFIG", file);
	CHECK(try_instance() == XR_SUCCESS);
	CHECK(write_file(file, "resolution = 320x240\nwarp_factor = 9\n"));
	CHECK(try_instance() == XR_ERROR_INITIALIZATION_FAILED);
	set_env("CAVR_SIMXR_CONFIG", NULL);

	CHECK(offers(XR_EXT_HAND_TRACKING_EXTENSION_NAME));
	set_env("CAVR_SIMXR_DISABLE_EXTENSIONS", "XR_EXT_hand_tracking");
	CHECK(!offers(XR_EXT_HAND_TRACKING_EXTENSION_NAME) && offers(XR_KHR_VULKAN_ENABLE2_EXTENSION_NAME));
	set_env("CAVR_SIMXR_DISABLE_EXTENSIONS", NULL);

	/* Scripts: every malformed line is refused with its line number (on stderr). */
	static const char *bad[] = {
		"head 0 1.6",                             /* too few numbers */
		"at 1\nat 0.5\n",                         /* time going back */
		"hand middle 0 1 0 0 0 0 1",              /* no such hand */
		"hand left 0 1 0 0 0 0 1 pinch 2",        /* out of range */
		"head 0 1.6 0 0 0 0 0",                   /* not a rotation */
		"event teleport",                         /* no such event */
		"select right maybe",                     /* not a button state */
		"joints left 0 0 0 0 0 0 1 0.01",         /* 1 joint of 26 */
		"warp 9",                                 /* no such command */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK_MSG(simxr_set_script(bad[i]) == -1, "%s", bad[i]);
	CHECK(simxr_set_script("# fine\n\nat 0\nhead 0 1.6 0 ypr 10 0 0\nevent focus\n") == 0);
	CHECK(simxr_set_script(NULL) == 0);
	fprintf(stderr, "(end of expected errors)\n");
	set_env("XR_ENABLE_API_LAYERS", layers);
	free(layers);
}

/* ---- a full session ---- */
#define FRAMES 10
#define CAPTURED_FRAME 5
#define IPD 0.068
static const float g_srgb_colors[2][4] = {{1, 0.2158605f, 0, 1}, {0, 0.2158605f, 1, 1}};   /* per eye, linear */
static const float g_unorm_colors[2][4] = {{0.2158605f, 1, 0, 1}, {0, 1, 0.2158605f, 1}};
static const uint8_t g_expected_png[2][2][3] = {{{255, 128, 0}, {0, 128, 255}}, {{128, 255, 0}, {0, 255, 128}}};

struct scene {
	XrSwapchain color, depth, unorm[2];
	VkImage color_images[3], depth_images[3], unorm_images[2][3];
	uint32_t width, height;
	XrSpace stage, local, view, grip_right;
	XrActionSet set;
	XrAction select, value, grip, move, buzz;
	XrHandTrackerEXT hands[2];
};

static void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageSubresourceRange range, VkImageLayout from,
                          VkImageLayout to)
{
	VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
	b.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
	b.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
	b.oldLayout = from;
	b.newLayout = to;
	b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
	b.image = image;
	b.subresourceRange = range;
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, NULL, 0,
	                     NULL, 1, &b);
}

static void clear_color(VkCommandBuffer cmd, VkImage image, uint32_t layer, const float rgba[4])
{
	VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, layer, 1};
	VkClearColorValue c;
	memcpy(c.float32, rgba, sizeof c.float32);
	image_barrier(cmd, image, range, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
	vkCmdClearColorImage(cmd, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &c, 1, &range);
	image_barrier(cmd, image, range, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
}

static void clear_depth(VkCommandBuffer cmd, VkImage image)
{
	VkImageSubresourceRange range = {VK_IMAGE_ASPECT_DEPTH_BIT, 0, 1, 0, 2};
	VkClearDepthStencilValue d = {1.0f, 0};
	image_barrier(cmd, image, range, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
	vkCmdClearDepthStencilImage(cmd, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &d, 1, &range);
	image_barrier(cmd, image, range, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL);
}

static bool make_swapchain(struct xr_app *a, int64_t format, uint32_t layers, bool depth, uint32_t w, uint32_t h,
                           XrSwapchain *out, VkImage images[3])
{
	XrSwapchainCreateInfo ci = {.type = XR_TYPE_SWAPCHAIN_CREATE_INFO};
	ci.usageFlags = (depth ? XR_SWAPCHAIN_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT : XR_SWAPCHAIN_USAGE_COLOR_ATTACHMENT_BIT) |
	                XR_SWAPCHAIN_USAGE_TRANSFER_DST_BIT;
	ci.format = format;
	ci.sampleCount = 1;
	ci.width = w;
	ci.height = h;
	ci.faceCount = 1;
	ci.arraySize = layers;
	ci.mipCount = 1;
	if (!XA_OK(xrCreateSwapchain(a->session, &ci, out))) return false;
	XrSwapchainImageVulkan2KHR imgs[3];
	uint32_t n = 0;
	if (!XA_OK(xrEnumerateSwapchainImages(*out, 0, &n, NULL)) || n != 3) return false;
	for (int i = 0; i < 3; i++) imgs[i] = (XrSwapchainImageVulkan2KHR){.type = XR_TYPE_SWAPCHAIN_IMAGE_VULKAN2_KHR};
	if (!XA_OK(xrEnumerateSwapchainImages(*out, 3, &n, (XrSwapchainImageBaseHeader *)imgs))) return false;
	for (int i = 0; i < 3; i++) images[i] = imgs[i].image;
	return true;
}

static bool acquire(XrSwapchain sc, uint32_t *index)
{
	XrSwapchainImageWaitInfo wi = {XR_TYPE_SWAPCHAIN_IMAGE_WAIT_INFO, NULL, XR_INFINITE_DURATION};
	return XA_OK(xrAcquireSwapchainImage(sc, NULL, index)) && XA_OK(xrWaitSwapchainImage(sc, &wi));
}

/* Renders a solid colour per eye into every swapchain and submits two projection layers (sRGB array swapchain
 * with depth, then one UNORM swapchain per eye). */
static bool render(struct xr_app *a, struct scene *s, XrTime time)
{
	uint32_t ic, id, iu[2];
	if (!acquire(s->color, &ic) || !acquire(s->depth, &id) || !acquire(s->unorm[0], &iu[0]) || !acquire(s->unorm[1], &iu[1]))
		return false;
	VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL,
	                               VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, NULL};
	vkBeginCommandBuffer(a->cmd, &bi);
	for (uint32_t eye = 0; eye < 2; eye++) {
		clear_color(a->cmd, s->color_images[ic], eye, g_srgb_colors[eye]);
		clear_color(a->cmd, s->unorm_images[eye][iu[eye]], 0, g_unorm_colors[eye]);
	}
	clear_depth(a->cmd, s->depth_images[id]);
	vkEndCommandBuffer(a->cmd);
	if (!xa_submit(a)) return false;
	XrSwapchain all[4] = {s->color, s->depth, s->unorm[0], s->unorm[1]};
	for (int i = 0; i < 4; i++)
		if (!XA_OK(xrReleaseSwapchainImage(all[i], NULL))) return false;

	XrViewLocateInfo li = {XR_TYPE_VIEW_LOCATE_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, time, s->local};
	XrViewState vs = {.type = XR_TYPE_VIEW_STATE};
	XrView views[2] = {{.type = XR_TYPE_VIEW}, {.type = XR_TYPE_VIEW}};
	uint32_t n;
	if (!XA_OK(xrLocateViews(a->session, &li, &vs, 2, &n, views))) return false;
	XrCompositionLayerDepthInfoKHR depth[2];
	XrCompositionLayerProjectionView pv[2], uv[2];
	XrRect2Di rect = {{0, 0}, {(int32_t)s->width, (int32_t)s->height}};
	for (uint32_t eye = 0; eye < 2; eye++) {
		depth[eye] = (XrCompositionLayerDepthInfoKHR){XR_TYPE_COMPOSITION_LAYER_DEPTH_INFO_KHR, NULL,
		                                              {s->depth, rect, eye}, 0, 1, 0.05f, 100};
		pv[eye] = (XrCompositionLayerProjectionView){XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW, &depth[eye],
		                                             views[eye].pose, views[eye].fov, {s->color, rect, eye}};
		uv[eye] = (XrCompositionLayerProjectionView){XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW, NULL, views[eye].pose,
		                                             views[eye].fov, {s->unorm[eye], rect, 0}};
	}
	XrCompositionLayerProjection layer0 = {XR_TYPE_COMPOSITION_LAYER_PROJECTION, NULL, 0, s->local, 2, pv};
	XrCompositionLayerProjection layer1 = {XR_TYPE_COMPOSITION_LAYER_PROJECTION, NULL,
	                                       XR_COMPOSITION_LAYER_BLEND_TEXTURE_SOURCE_ALPHA_BIT, s->local, 2, uv};
	const XrCompositionLayerBaseHeader *layers[2] = {(const void *)&layer0, (const void *)&layer1};
	XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, time, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 2, layers};
	return XA_OK(xrEndFrame(a->session, &ei));
}

static bool setup_actions(struct xr_app *a, struct scene *s)
{
	XrActionSetCreateInfo sci = {XR_TYPE_ACTION_SET_CREATE_INFO, NULL, "test", "Test", 0};
	if (!XA_OK(xrCreateActionSet(a->instance, &sci, &s->set))) return false;
	XrPath hands[2] = {path(a, "/user/hand/left"), path(a, "/user/hand/right")};
	struct {
		XrAction *out;
		const char *name;
		XrActionType type;
	} actions[] = {
		{&s->select, "select", XR_ACTION_TYPE_BOOLEAN_INPUT},  {&s->value, "select_value", XR_ACTION_TYPE_FLOAT_INPUT},
		{&s->grip, "grip", XR_ACTION_TYPE_POSE_INPUT},         {&s->move, "move", XR_ACTION_TYPE_VECTOR2F_INPUT},
		{&s->buzz, "buzz", XR_ACTION_TYPE_VIBRATION_OUTPUT},
	};
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		XrActionCreateInfo ci = {.type = XR_TYPE_ACTION_CREATE_INFO};
		snprintf(ci.actionName, sizeof ci.actionName, "%s", actions[i].name);
		snprintf(ci.localizedActionName, sizeof ci.localizedActionName, "Action %s", actions[i].name);
		ci.actionType = actions[i].type;
		ci.countSubactionPaths = 2;
		ci.subactionPaths = hands;
		if (!XA_OK(xrCreateAction(s->set, &ci, actions[i].out))) return false;
	}
	XrActionSuggestedBinding simple[] = {
		{s->select, path(a, "/user/hand/left/input/select/click")},
		{s->select, path(a, "/user/hand/right/input/select/click")},
		{s->value, path(a, "/user/hand/right/input/select/click")},
		{s->grip, path(a, "/user/hand/left/input/grip/pose")},
		{s->grip, path(a, "/user/hand/right/input/grip/pose")},
		{s->buzz, path(a, "/user/hand/right/output/haptic")},
	};
	XrActionSuggestedBinding touch[] = {
		{s->select, path(a, "/user/hand/right/input/a/click")},
		{s->move, path(a, "/user/hand/left/input/thumbstick")},
	};
	XrInteractionProfileSuggestedBinding sb = {XR_TYPE_INTERACTION_PROFILE_SUGGESTED_BINDING, NULL,
	                                           path(a, "/interaction_profiles/khr/simple_controller"), 6, simple};
	XrInteractionProfileSuggestedBinding tb = {XR_TYPE_INTERACTION_PROFILE_SUGGESTED_BINDING, NULL,
	                                           path(a, "/interaction_profiles/oculus/touch_controller"), 2, touch};
	XrSessionActionSetsAttachInfo ai = {XR_TYPE_SESSION_ACTION_SETS_ATTACH_INFO, NULL, 1, &s->set};
	XrActionSpaceCreateInfo asi = {XR_TYPE_ACTION_SPACE_CREATE_INFO, NULL, s->grip, hands[1], {{0, 0, 0, 1}, {0, 0, 0}}};
	return XA_OK(xrSuggestInteractionProfileBindings(a->instance, &sb)) &&
	       XA_OK(xrSuggestInteractionProfileBindings(a->instance, &tb)) &&
	       XA_OK(xrAttachSessionActionSets(a->session, &ai)) &&
	       XA_OK(xrCreateActionSpace(a->session, &asi, &s->grip_right));
}

static XrSpace reference_space(struct xr_app *a, XrReferenceSpaceType type)
{
	XrReferenceSpaceCreateInfo ci = {XR_TYPE_REFERENCE_SPACE_CREATE_INFO, NULL, type, {{0, 0, 0, 1}, {0, 0, 0}}};
	XrSpace sp = XR_NULL_HANDLE;
	(void)XA_OK(xrCreateReferenceSpace(a->session, &ci, &sp));
	return sp;
}

static bool locate_joints(struct xr_app *a, struct scene *s, int hand, XrTime t, XrHandJointLocationEXT joints[26],
                          XrHandJointVelocityEXT *vels, bool *active)
{
	XrHandJointsLocateInfoEXT li = {XR_TYPE_HAND_JOINTS_LOCATE_INFO_EXT, NULL, s->stage, t};
	XrHandJointVelocitiesEXT v = {XR_TYPE_HAND_JOINT_VELOCITIES_EXT, NULL, 26, vels};
	XrHandJointLocationsEXT loc = {XR_TYPE_HAND_JOINT_LOCATIONS_EXT, vels ? (void *)&v : NULL, XR_FALSE, 26, joints};
	if (!XA_OK(a->locate_hand_joints(s->hands[hand], &li, &loc))) return false;
	*active = loc.isActive;
	return true;
}

struct action_states {
	XrResult sync;
	XrActionStateBoolean select;
	XrActionStateFloat value;
	XrActionStatePose grip;
	XrActionStateVector2f move;
};

static bool read_actions(struct xr_app *a, struct scene *s, struct action_states *st)
{
	XrActiveActionSet active = {s->set, XR_NULL_PATH};
	XrActionsSyncInfo si = {XR_TYPE_ACTIONS_SYNC_INFO, NULL, 1, &active};
	st->sync = xrSyncActions(a->session, &si);
	XrActionStateGetInfo gi = {XR_TYPE_ACTION_STATE_GET_INFO, NULL, s->select, path(a, "/user/hand/right")};
	st->select = (XrActionStateBoolean){.type = XR_TYPE_ACTION_STATE_BOOLEAN};
	st->value = (XrActionStateFloat){.type = XR_TYPE_ACTION_STATE_FLOAT};
	st->grip = (XrActionStatePose){.type = XR_TYPE_ACTION_STATE_POSE};
	st->move = (XrActionStateVector2f){.type = XR_TYPE_ACTION_STATE_VECTOR2F};
	if (!XA_OK(xrGetActionStateBoolean(a->session, &gi, &st->select))) return false;
	gi.action = s->value;
	gi.subactionPath = XR_NULL_PATH;
	if (!XA_OK(xrGetActionStateFloat(a->session, &gi, &st->value))) return false;
	gi.action = s->grip;
	gi.subactionPath = path(a, "/user/hand/right");
	if (!XA_OK(xrGetActionStatePose(a->session, &gi, &st->grip))) return false;
	gi.action = s->move;
	gi.subactionPath = XR_NULL_PATH;
	return XA_OK(xrGetActionStateVector2f(a->session, &gi, &st->move));
}

static bool pixel_is(const char *file, const uint8_t rgb[3])
{
	int w, h, n;
	uint8_t *p = stbi_load(file, &w, &h, &n, 4);
	if (!p) {
		fprintf(stderr, "cannot load %s\n", file);
		return false;
	}
	bool ok = true;
	for (int i = 0; i < w * h && ok; i++)
		for (int k = 0; k < 3; k++) ok = ok && abs((int)p[4 * i + k] - (int)rgb[k]) <= 2;
	if (!ok) fprintf(stderr, "%s: pixel (%d, %d, %d), expected (%d, %d, %d)\n", file, p[0], p[1], p[2], rgb[0], rgb[1], rgb[2]);
	ok = ok && w == 64 && h == 48 && p[3] == 255;
	stbi_image_free(p);
	return ok;
}

/* The scripted head of test_session at script time t: 10 cm to the right and 30 degrees to the left in 0.1 s. */
static void expected_head(double t, double pos[3], double *yaw)
{
	double f = t >= 0.1 ? 1 : t / 0.1;
	pos[0] = 0.1 * f;
	pos[1] = 1.6;
	pos[2] = 0;
	*yaw = 30 * DEG * f;
}

static void check_frame(struct xr_app *a, struct scene *s, int frame, XrTime t, bool focused)
{
	double st = (double)(t - SIMXR_EPOCH_NS) / 1e9, head[3], yaw;
	expected_head(st, head, &yaw);

	/* Views: the eyes are IPD apart around the scripted head, looking where it looks. */
	XrViewLocateInfo li = {XR_TYPE_VIEW_LOCATE_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, t, s->stage};
	XrViewState vs = {.type = XR_TYPE_VIEW_STATE};
	XrView v[2] = {{.type = XR_TYPE_VIEW}, {.type = XR_TYPE_VIEW}};
	uint32_t n = 0;
	CHECK(XA_OK(xrLocateViews(a->session, &li, &vs, 2, &n, v)) && n == 2);
	CHECK(vs.viewStateFlags == (XR_VIEW_STATE_ORIENTATION_VALID_BIT | XR_VIEW_STATE_POSITION_VALID_BIT |
	                            XR_VIEW_STATE_ORIENTATION_TRACKED_BIT | XR_VIEW_STATE_POSITION_TRACKED_BIT));
	CHECK_MSG(near(dist3(v[0].pose.position, v[1].pose.position), IPD, 1e-5), "frame %d: eyes %g m apart", frame,
	          dist3(v[0].pose.position, v[1].pose.position));
	XrVector3f mid = {(v[0].pose.position.x + v[1].pose.position.x) / 2, (v[0].pose.position.y + v[1].pose.position.y) / 2,
	                  (v[0].pose.position.z + v[1].pose.position.z) / 2};
	CHECK_MSG(dist3(mid, (XrVector3f){(float)head[0], (float)head[1], (float)head[2]}) < 1e-5, "frame %d: head at %g %g %g",
	          frame, mid.x, mid.y, mid.z);
	for (int e = 0; e < 2; e++)
		CHECK_MSG(quat_near(v[e].pose.orientation, 0, sin(yaw / 2), 0, cos(yaw / 2), 1e-6), "frame %d eye %d", frame, e);
	/* The left eye is on the head's left: along -X turned by the yaw. */
	CHECK(near(v[0].pose.position.x - mid.x, -IPD / 2 * cos(yaw), 1e-5) &&
	      near(v[0].pose.position.z - mid.z, IPD / 2 * sin(yaw), 1e-5));
	CHECK(near(v[0].fov.angleLeft, -45 * DEG, 1e-6) && near(v[0].fov.angleUp, 45 * DEG, 1e-6));

	/* VIEW in STAGE, with the velocity of the scripted motion (1 m/s along x, 300 degrees/s of yaw). */
	XrSpaceVelocity vel = {.type = XR_TYPE_SPACE_VELOCITY};
	XrSpaceLocation loc = {.type = XR_TYPE_SPACE_LOCATION, .next = &vel};
	CHECK(XA_OK(xrLocateSpace(s->view, s->stage, t, &loc)));
	CHECK(near(loc.pose.position.x, head[0], 1e-5) && near(loc.pose.position.y, head[1], 1e-5));
	if (st > 0.01 && st < 0.09) {
		CHECK_MSG(near(vel.linearVelocity.x, 1.0, 1e-3) && near(vel.angularVelocity.y, 300 * DEG, 1e-3),
		          "frame %d: velocity %g, %g rad/s", frame, vel.linearVelocity.x, vel.angularVelocity.y);
	}

	/* Hands: the right wrist where the script puts it; the pinch closes thumb and index tips. */
	XrHandJointLocationEXT j[2][26];
	XrHandJointVelocityEXT jv[26];
	bool active[2];
	CHECK(locate_joints(a, s, 0, t, j[0], NULL, &active[0]) && locate_joints(a, s, 1, t, j[1], jv, &active[1]));
	CHECK_MSG(active[0] == focused && active[1] == focused, "frame %d: hands active %d %d, focused %d", frame, active[0],
	          active[1], focused);
	if (focused) {
		XrPosef wrist = j[1][XR_HAND_JOINT_WRIST_EXT].pose;
		CHECK(dist3(wrist.position, (XrVector3f){0.2f, 1.3f, -0.4f}) < 1e-5 && quat_near(wrist.orientation, 0, 0, 0, 1, 1e-6));
		double pinch_gap = dist3(j[1][XR_HAND_JOINT_THUMB_TIP_EXT].pose.position, j[1][XR_HAND_JOINT_INDEX_TIP_EXT].pose.position);
		if (st >= 0.1) CHECK_MSG(pinch_gap < 1e-3, "frame %d: pinch gap %g m", frame, pinch_gap);
		if (st < 0.02) CHECK_MSG(pinch_gap > 0.02, "frame %d: open gap %g m", frame, pinch_gap);
		bool flags_ok = true;
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < 26; k++)
				flags_ok = flags_ok && j[h][k].radius > 0 && (j[h][k].locationFlags & XR_SPACE_LOCATION_POSITION_VALID_BIT);
		CHECK(flags_ok);
		/* Fingers point forward (-Z) from the wrist, the left hand mirrors the right. */
		CHECK(j[1][XR_HAND_JOINT_MIDDLE_TIP_EXT].pose.position.z < -0.5f);
		CHECK(j[0][XR_HAND_JOINT_THUMB_TIP_EXT].pose.position.x > j[0][XR_HAND_JOINT_LITTLE_TIP_EXT].pose.position.x &&
		      j[1][XR_HAND_JOINT_THUMB_TIP_EXT].pose.position.x < j[1][XR_HAND_JOINT_LITTLE_TIP_EXT].pose.position.x);
		CHECK(jv[XR_HAND_JOINT_WRIST_EXT].velocityFlags & XR_SPACE_VELOCITY_LINEAR_VALID_BIT);
		CHECK(fabsf(jv[XR_HAND_JOINT_WRIST_EXT].linearVelocity.x) < 1e-4f);
	} else {
		CHECK(j[0][0].locationFlags == 0 && j[1][0].locationFlags == 0);
	}

	/* Actions: nothing while not focused; select goes down at 0.1 s. */
	struct action_states as;
	CHECK(read_actions(a, s, &as));
	CHECK_MSG(as.sync == (focused ? XR_SUCCESS : XR_SESSION_NOT_FOCUSED), "frame %d: xrSyncActions %d", frame, as.sync);
	CHECK(as.select.isActive == focused && as.value.isActive == focused && as.grip.isActive == focused);
	CHECK(!as.move.isActive); /* no simple_controller binding */
	if (focused) {
		bool down = st >= 0.1, first_down = down && st - 0.1 < 1.0 / 72;
		CHECK_MSG(as.select.currentState == down && as.value.currentState == (down ? 1.0f : 0.0f), "frame %d", frame);
		CHECK_MSG(as.select.changedSinceLastSync == first_down, "frame %d: changed %d", frame, as.select.changedSinceLastSync);
		if (first_down) CHECK(as.select.lastChangeTime == t);
		XrSpaceLocation gl = {.type = XR_TYPE_SPACE_LOCATION};
		CHECK(XA_OK(xrLocateSpace(s->grip_right, s->stage, t, &gl)));
		CHECK(gl.locationFlags & XR_SPACE_LOCATION_POSITION_TRACKED_BIT);
		CHECK(dist3(gl.pose.position, (XrVector3f){0.25f, 1.2f, -0.3f}) < 1e-5);
	}
}

static void test_session(void)
{
	char script[300], capture[300], file[400];
	snprintf(script, sizeof script, "%s/session.txt", g_dir);
	snprintf(capture, sizeof capture, "%s/f{frame}-{eye}-L{layer}.png", g_dir);
	CHECK(write_file(script,
	                 "# the head moves 10 cm right and turns 30 degrees left in 0.1 s; the right hand pinches\n"
	                 "at 0\n"
	                 "head 0 1.6 0 ypr 0 0 0\n"
	                 "hand left -0.2 1.3 -0.4 0 0 0 1 curl 0.2\n"
	                 "hand right 0.2 1.3 -0.4 0 0 0 1\n"
	                 "grip right 0.25 1.2 -0.3 0 0 0 1\n"
	                 "select right 0\n"
	                 "at 0.1\n"
	                 "head 0.1 1.6 0 ypr 30 0 0\n"
	                 "hand right 0.2 1.3 -0.4 0 0 0 1 pinch 1\n"
	                 "select right 1\n"));
	set_env("CAVR_SIMXR_SCRIPT", script);
	set_env("CAVR_SIMXR_RESOLUTION", "64x48");
	set_env("CAVR_SIMXR_IPD", "0.068");
	set_env("CAVR_SIMXR_REFRESH_HZ", "72");
	set_env("CAVR_SIMXR_CAPTURE", capture);
	char frames[16];
	snprintf(frames, sizeof frames, "%d", CAPTURED_FRAME);
	set_env("CAVR_SIMXR_CAPTURE_FRAMES", frames);

	struct xr_app a = {0};
	struct scene s = {0};
	const char *ext[] = {XR_EXT_HAND_TRACKING_EXTENSION_NAME, XR_KHR_COMPOSITION_LAYER_DEPTH_EXTENSION_NAME};
	REQUIRE(xa_create_instance(&a, ext, 2));
	/* The OpenXR validation layer is there: a wrong structure type is reported (and not counted after). */
	XrEventDataBuffer wrong = {.type = XR_TYPE_SPACE_LOCATION};
	a.quiet = true;
	CHECK(xrPollEvent(a.instance, &wrong) == XR_ERROR_VALIDATION_FAILURE &&
	      (a.layer_messages > 0 || layer_log_check("VUID-XrEventDataBuffer-type-type")));
	a.quiet = false;
	a.xr_messages = a.layer_messages = 0;
	CHECK(layer_log_check(NULL));

	XrInstanceProperties ip = {.type = XR_TYPE_INSTANCE_PROPERTIES};
	CHECK(XA_OK(xrGetInstanceProperties(a.instance, &ip)) && strcmp(ip.runtimeName, SIMXR_RUNTIME_NAME) == 0);
	XrSystemHandTrackingPropertiesEXT hp = {.type = XR_TYPE_SYSTEM_HAND_TRACKING_PROPERTIES_EXT};
	XrSystemProperties sp = {.type = XR_TYPE_SYSTEM_PROPERTIES, .next = &hp};
	CHECK(XA_OK(xrGetSystemProperties(a.instance, a.system, &sp)) && hp.supportsHandTracking);
	XrViewConfigurationView cv[2] = {{.type = XR_TYPE_VIEW_CONFIGURATION_VIEW}, {.type = XR_TYPE_VIEW_CONFIGURATION_VIEW}};
	uint32_t n = 0;
	CHECK(XA_OK(xrEnumerateViewConfigurationViews(a.instance, a.system, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, 2, &n, cv)));
	CHECK(n == 2 && cv[1].recommendedImageRectWidth == 64 && cv[1].recommendedImageRectHeight == 48);
	s.width = cv[0].recommendedImageRectWidth;
	s.height = cv[0].recommendedImageRectHeight;
	REQUIRE(XA_OK(xrGetInstanceProcAddr(a.instance, "xrCreateHandTrackerEXT", (PFN_xrVoidFunction *)&a.create_hand_tracker)));
	REQUIRE(XA_OK(xrGetInstanceProcAddr(a.instance, "xrLocateHandJointsEXT", (PFN_xrVoidFunction *)&a.locate_hand_joints)));
	REQUIRE(xa_create_vulkan(&a));
	REQUIRE(xa_create_session(&a));

	int64_t formats[16];
	REQUIRE(XA_OK(xrEnumerateSwapchainFormats(a.session, 16, &n, formats)));
	bool has[4] = {false};
	for (uint32_t i = 0; i < n; i++) {
		has[0] |= formats[i] == VK_FORMAT_R8G8B8A8_SRGB;
		has[1] |= formats[i] == VK_FORMAT_R8G8B8A8_UNORM;
		has[2] |= formats[i] == VK_FORMAT_D32_SFLOAT;
		has[3] |= formats[i] == VK_FORMAT_D24_UNORM_S8_UINT;
	}
	CHECK(has[0] && has[1] && has[2] && has[3] && formats[0] == VK_FORMAT_R8G8B8A8_SRGB);
	REQUIRE(make_swapchain(&a, VK_FORMAT_R8G8B8A8_SRGB, 2, false, s.width, s.height, &s.color, s.color_images));
	REQUIRE(make_swapchain(&a, VK_FORMAT_D32_SFLOAT, 2, true, s.width, s.height, &s.depth, s.depth_images));
	for (int e = 0; e < 2; e++)
		REQUIRE(make_swapchain(&a, VK_FORMAT_R8G8B8A8_UNORM, 1, false, s.width, s.height, &s.unorm[e], s.unorm_images[e]));
	s.stage = reference_space(&a, XR_REFERENCE_SPACE_TYPE_STAGE);
	s.local = reference_space(&a, XR_REFERENCE_SPACE_TYPE_LOCAL);
	s.view = reference_space(&a, XR_REFERENCE_SPACE_TYPE_VIEW);
	REQUIRE(s.stage && s.local && s.view);
	XrExtent2Df bounds;
	CHECK(XA_OK(xrGetReferenceSpaceBoundsRect(a.session, XR_REFERENCE_SPACE_TYPE_STAGE, &bounds)) && bounds.width == 3);
	REQUIRE(setup_actions(&a, &s));
	for (int h = 0; h < 2; h++) {
		XrHandTrackerCreateInfoEXT hci = {XR_TYPE_HAND_TRACKER_CREATE_INFO_EXT, NULL, h ? XR_HAND_RIGHT_EXT : XR_HAND_LEFT_EXT,
		                                  XR_HAND_JOINT_SET_DEFAULT_EXT};
		REQUIRE(XA_OK(a.create_hand_tracker(a.session, &hci, &s.hands[h])));
	}

	REQUIRE(xa_poll(&a));
	CHECK(a.state_count == 2 && a.states[0] == XR_SESSION_STATE_IDLE && a.states[1] == XR_SESSION_STATE_READY);
	CHECK(a.profile_changes == 1);
	XrInteractionProfileState prof = {.type = XR_TYPE_INTERACTION_PROFILE_STATE};
	CHECK(XA_OK(xrGetCurrentInteractionProfile(a.session, path(&a, "/user/hand/right"), &prof)) &&
	      prof.interactionProfile == path(&a, "/interaction_profiles/khr/simple_controller"));
	XrSessionBeginInfo bi = {XR_TYPE_SESSION_BEGIN_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO};
	REQUIRE(XA_OK(xrBeginSession(a.session, &bi)));

	/* LOCAL sits where the head was when the session was made. */
	XrSpaceLocation ll = {.type = XR_TYPE_SPACE_LOCATION};
	CHECK(XA_OK(xrLocateSpace(s.local, s.stage, SIMXR_EPOCH_NS, &ll)) &&
	      dist3(ll.pose.position, (XrVector3f){0, 1.6f, 0}) < 1e-6);

	XrTime last = 0;
	for (int frame = 0; frame < FRAMES; frame++) {
		REQUIRE(xa_poll(&a));
		XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
		REQUIRE(XA_OK(xrWaitFrame(a.session, NULL, &fs)));
		CHECK(fs.predictedDisplayPeriod == 13888889); /* 1 s / 72, in ns */
		CHECK_MSG(fs.predictedDisplayTime == SIMXR_EPOCH_NS + (XrTime)frame * fs.predictedDisplayPeriod,
		          "frame %d at %lld", frame, (long long)fs.predictedDisplayTime);
		if (frame) CHECK(fs.predictedDisplayTime - last == fs.predictedDisplayPeriod);
		last = fs.predictedDisplayTime;
		CHECK_MSG(fs.shouldRender == (frame > 0), "frame %d", frame); /* VISIBLE once a frame has completed */
		REQUIRE(XA_OK(xrBeginFrame(a.session, NULL)));
		check_frame(&a, &s, frame, fs.predictedDisplayTime, frame > 0);
		if (fs.shouldRender) {
			REQUIRE(render(&a, &s, fs.predictedDisplayTime));
		} else {
			XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, fs.predictedDisplayTime, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 0, NULL};
			REQUIRE(XA_OK(xrEndFrame(a.session, &ei)));
		}
		if (frame == 3) {
			XrHapticVibration vib = {XR_TYPE_HAPTIC_VIBRATION, NULL, 10000000, XR_FREQUENCY_UNSPECIFIED, 0.5f};
			XrHapticActionInfo hi = {XR_TYPE_HAPTIC_ACTION_INFO, NULL, s.buzz, XR_NULL_PATH};
			struct simxr_stats stats;
			CHECK(XA_OK(xrApplyHapticFeedback(a.session, &hi, (const XrHapticBaseHeader *)&vib)));
			CHECK(simxr_get_stats(&stats) == 0 && stats.haptic_amplitude[1] == 0.5f && stats.haptic_amplitude[0] == 0);
		}
	}
	XrPath sources[4];
	CHECK(XA_OK(xrEnumerateBoundSourcesForAction(a.session,
	                                             &(XrBoundSourcesForActionEnumerateInfo){
	                                                 XR_TYPE_BOUND_SOURCES_FOR_ACTION_ENUMERATE_INFO, NULL, s.select},
	                                             4, &n, sources)) &&
	      n == 2 && sources[1] == path(&a, "/user/hand/right/input/select/click"));
	char name[128];
	XrInputSourceLocalizedNameGetInfo ni = {XR_TYPE_INPUT_SOURCE_LOCALIZED_NAME_GET_INFO, NULL, sources[1],
	                                        XR_INPUT_SOURCE_LOCALIZED_NAME_USER_PATH_BIT |
	                                            XR_INPUT_SOURCE_LOCALIZED_NAME_COMPONENT_BIT};
	CHECK(XA_OK(xrGetInputSourceLocalizedName(a.session, &ni, sizeof name, &n, name)) &&
	      strcmp(name, "Right Hand Select") == 0);

	/* Exit: down through VISIBLE and SYNCHRONIZED to STOPPING; ending the session gives IDLE, then EXITING. */
	REQUIRE(xa_poll(&a));
	uint32_t before = a.state_count;
	REQUIRE(XA_OK(xrRequestExitSession(a.session)));
	REQUIRE(xa_poll(&a));
	CHECK(a.state_count == before + 3 && a.states[before] == XR_SESSION_STATE_VISIBLE &&
	      a.states[before + 1] == XR_SESSION_STATE_SYNCHRONIZED && a.states[before + 2] == XR_SESSION_STATE_STOPPING);
	REQUIRE(XA_OK(xrEndSession(a.session)));
	REQUIRE(xa_poll(&a));
	static const XrSessionState expected[] = {
		XR_SESSION_STATE_IDLE,     XR_SESSION_STATE_READY,        XR_SESSION_STATE_SYNCHRONIZED, XR_SESSION_STATE_VISIBLE,
		XR_SESSION_STATE_FOCUSED,  XR_SESSION_STATE_VISIBLE,      XR_SESSION_STATE_SYNCHRONIZED, XR_SESSION_STATE_STOPPING,
		XR_SESSION_STATE_IDLE,     XR_SESSION_STATE_EXITING,
	};
	CHECK(a.state_count == sizeof expected / sizeof expected[0] && memcmp(a.states, expected, sizeof expected) == 0);

	/* The captured frame: each eye of each projection layer, as the display shows it. */
	for (int layer = 0; layer < 2; layer++)
		for (int eye = 0; eye < 2; eye++) {
			snprintf(file, sizeof file, "%s/f%05d-%s-L%d.png", g_dir, CAPTURED_FRAME, eye ? "right" : "left", layer);
			CHECK_MSG(pixel_is(file, g_expected_png[layer][eye]), "%s", file);
			unlink(file);
		}
	snprintf(file, sizeof file, "%s/f%05d-left-L0.png", g_dir, CAPTURED_FRAME - 1);
	CHECK(access(file, F_OK) != 0); /* only the configured frame */
done:
	xa_destroy(&a);
	CHECK_MSG(a.xr_messages == 0, "%u OpenXR validation messages", a.xr_messages);
	CHECK_MSG(a.vk_messages == 0, "%u Vulkan validation messages", a.vk_messages);
	CHECK(layer_log_check(NULL));
	const char *vars[] = {"CAVR_SIMXR_SCRIPT", "CAVR_SIMXR_RESOLUTION", "CAVR_SIMXR_IPD", "CAVR_SIMXR_REFRESH_HZ",
	                      "CAVR_SIMXR_CAPTURE", "CAVR_SIMXR_CAPTURE_FRAMES"};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) set_env(vars[i], NULL);
	unlink(script);
}

/* ---- stop, restart, blocking waits, losses, a runtime-initiated exit ---- */
struct waiter {
	XrSession session;
	XrFrameState fs[2];
	XrResult r[2];
	atomic_int done;
};

static void *wait_twice(void *p)
{
	struct waiter *w = p;
	for (int i = 0; i < 2; i++) {
		w->fs[i] = (XrFrameState){.type = XR_TYPE_FRAME_STATE};
		w->r[i] = xrWaitFrame(w->session, NULL, &w->fs[i]);
		atomic_store(&w->done, i + 1);
	}
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* A second xrWaitFrame blocks until the first frame is begun, on another thread. */
static void check_wait_blocks(struct xr_app *a)
{
	struct waiter w = {.session = a->session};
	pthread_t thread;
	CHECK(pthread_create(&thread, NULL, wait_twice, &w) == 0);
	for (int i = 0; i < 5000 && atomic_load(&w.done) < 1; i++) sleep_ms(1);
	sleep_ms(100);
	CHECK_MSG(atomic_load(&w.done) == 1, "the second xrWaitFrame did not block");
	CHECK(XA_OK(xrBeginFrame(a->session, NULL)));
	pthread_join(thread, NULL);
	CHECK(w.r[0] == XR_SUCCESS && w.r[1] == XR_SUCCESS && atomic_load(&w.done) == 2);
	CHECK(w.fs[1].predictedDisplayTime - w.fs[0].predictedDisplayTime == w.fs[0].predictedDisplayPeriod);
	CHECK(XA_EXPECT(XR_FRAME_DISCARDED, xrBeginFrame(a->session, NULL)) == XR_FRAME_DISCARDED);
	XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, w.fs[1].predictedDisplayTime, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 0, NULL};
	CHECK(XA_OK(xrEndFrame(a->session, &ei)));
}

/* Runs empty frames until `state` is polled; returns the result of the last failing call or XR_SUCCESS. */
static XrResult run_until(struct xr_app *a, XrSessionState state, int max_frames)
{
	for (int i = 0; i < max_frames; i++) {
		if (!xa_poll(a)) return XR_ERROR_RUNTIME_FAILURE;
		if (a->state == state) return XR_SUCCESS;
		XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
		XrResult r = xrWaitFrame(a->session, NULL, &fs);
		if (r != XR_SUCCESS) return r;
		if ((r = xrBeginFrame(a->session, NULL)) != XR_SUCCESS) return r;
		XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, fs.predictedDisplayTime, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 0, NULL};
		if ((r = xrEndFrame(a->session, &ei)) != XR_SUCCESS) return r;
	}
	return XR_TIMEOUT_EXPIRED;
}

static bool begin(struct xr_app *a)
{
	XrSessionBeginInfo bi = {XR_TYPE_SESSION_BEGIN_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO};
	return xa_poll(a) && a->state == XR_SESSION_STATE_READY && XA_OK(xrBeginSession(a->session, &bi));
}

static void test_lifecycle(void)
{
	set_env("CAVR_SIMXR_REALTIME", "1"); /* paced by the wall clock: the same display times, just slower */
	set_env("CAVR_SIMXR_REFRESH_HZ", "100");
	set_env("CAVR_SIMXR_RESOLUTION", "32x32");
	/* The runtime stops the session at 40 ms (the user took the headset off) and loses it at 200 ms. */
	CHECK(simxr_set_script("at 0.04\nevent stop\nat 0.2\nevent loss\n") == 0);
	struct xr_app a = {0};
	const char *ext[] = {XR_EXT_HAND_TRACKING_EXTENSION_NAME};
	REQUIRE(xa_create_instance(&a, ext, 1));
	REQUIRE(XA_OK(xrGetInstanceProcAddr(a.instance, "xrCreateHandTrackerEXT", (PFN_xrVoidFunction *)&a.create_hand_tracker)));
	REQUIRE(XA_OK(xrGetInstanceProcAddr(a.instance, "xrLocateHandJointsEXT", (PFN_xrVoidFunction *)&a.locate_hand_joints)));
	REQUIRE(xa_create_vulkan(&a));
	REQUIRE(xa_create_session(&a));
	REQUIRE(begin(&a));
	CHECK(XA_OK(run_until(&a, XR_SESSION_STATE_STOPPING, 20)));
	CHECK(XA_OK(xrEndSession(a.session)));
	CHECK(xa_poll(&a) && a.states[a.state_count - 2] == XR_SESSION_STATE_IDLE);
	REQUIRE(begin(&a)); /* READY again after a runtime-initiated stop */
	check_wait_blocks(&a);

	/* The loss: the wait that crosses 200 ms answers LOSS_PENDING, and so does every call until the
	 * application has polled the state; then XR_ERROR_SESSION_LOST. */
	XrResult r = run_until(&a, XR_SESSION_STATE_LOSS_PENDING, 30);
	CHECK_MSG(r == XR_SESSION_LOSS_PENDING, "%d", r);
	struct simxr_stats stats;
	CHECK(simxr_get_stats(&stats) == 0 && stats.now == SIMXR_EPOCH_NS + 20 * 10000000);
	CHECK(XA_EXPECT(XR_SESSION_LOSS_PENDING, xrBeginFrame(a.session, NULL)) == XR_SESSION_LOSS_PENDING);
	CHECK(xa_poll(&a) && a.state == XR_SESSION_STATE_LOSS_PENDING);
	XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
	CHECK(XA_EXPECT(XR_ERROR_SESSION_LOST, xrWaitFrame(a.session, NULL, &fs)) == XR_ERROR_SESSION_LOST);
	CHECK(XA_EXPECT(XR_ERROR_SESSION_LOST, xrRequestExitSession(a.session)) == XR_ERROR_SESSION_LOST);
	xa_destroy_session(&a);

	/* A new session on the same Vulkan device, with a script from code: the head elsewhere and the left hand
	 * as explicit joints moving 10 cm along x in one second. Focus comes and goes, LOCAL is recentred, and
	 * a loss comes from code. */
	char script[8192] = "at 0\nhead 1 1.7 -1 ypr 90 0 0\n";
	for (int key = 0; key < 2; key++) {
		size_t len = strlen(script);
		len += (size_t)snprintf(script + len, sizeof script - len, "at %d\njoints left", key);
		for (int j = 0; j < 26; j++)
			len += (size_t)snprintf(script + len, sizeof script - len, " %g 1 -0.5 0 0 0 1 %g", 0.01 * j + 0.1 * key,
			                        0.005 + 0.0001 * j);
		snprintf(script + len, sizeof script - len, "\n");
	}
	CHECK(simxr_set_script(script) == 0);
	REQUIRE(xa_create_session(&a));
	REQUIRE(begin(&a));
	CHECK(XA_OK(run_until(&a, XR_SESSION_STATE_FOCUSED, 5)));
	XrHandTrackerCreateInfoEXT hci = {XR_TYPE_HAND_TRACKER_CREATE_INFO_EXT, NULL, XR_HAND_LEFT_EXT,
	                                  XR_HAND_JOINT_SET_DEFAULT_EXT};
	struct scene sc = {.stage = reference_space(&a, XR_REFERENCE_SPACE_TYPE_STAGE)};
	XrHandJointLocationEXT joints[26];
	bool active = false;
	REQUIRE(XA_OK(a.create_hand_tracker(a.session, &hci, &sc.hands[0])));
	CHECK(locate_joints(&a, &sc, 0, SIMXR_EPOCH_NS + 500000000, joints, NULL, &active) && active);
	CHECK(near(joints[7].pose.position.x, 0.07 + 0.05, 1e-6) && near(joints[7].radius, 0.0057, 1e-6) &&
	      near(joints[25].pose.position.z, -0.5, 1e-6));
	CHECK(simxr_fire("unfocus") == 0);
	CHECK(xa_poll(&a) && a.state == XR_SESSION_STATE_VISIBLE);
	CHECK(simxr_fire("focus") == 0 && xa_poll(&a) && a.state == XR_SESSION_STATE_FOCUSED);
	CHECK(simxr_fire("recenter") == 0 && xa_poll(&a) && a.space_changes == 1);
	XrSpace local = reference_space(&a, XR_REFERENCE_SPACE_TYPE_LOCAL);
	XrSpaceLocation loc = {.type = XR_TYPE_SPACE_LOCATION};
	CHECK(XA_OK(xrLocateSpace(local, sc.stage, SIMXR_EPOCH_NS, &loc)) &&
	      dist3(loc.pose.position, (XrVector3f){1, 1.7f, -1}) < 1e-6 &&
	      quat_near(loc.pose.orientation, 0, sin(M_PI / 4), 0, cos(M_PI / 4), 1e-6));
	CHECK(simxr_fire("loss") == 0);
	CHECK(XA_EXPECT(XR_SESSION_LOSS_PENDING, xrWaitFrame(a.session, NULL, &fs)) == XR_SESSION_LOSS_PENDING);
	CHECK(xa_poll(&a) && a.state == XR_SESSION_STATE_LOSS_PENDING);
	CHECK(XA_EXPECT(XR_ERROR_SESSION_LOST, xrBeginFrame(a.session, NULL)) == XR_ERROR_SESSION_LOST);
	xa_destroy_session(&a);

	/* The user quits from the system UI: STOPPING, then EXITING after xrEndSession. */
	REQUIRE(xa_create_session(&a));
	REQUIRE(begin(&a));
	CHECK(XA_OK(run_until(&a, XR_SESSION_STATE_FOCUSED, 5)));
	CHECK(simxr_fire("exit") == 0);
	CHECK(XA_OK(run_until(&a, XR_SESSION_STATE_STOPPING, 5)));
	CHECK(XA_OK(xrEndSession(a.session)) && xa_poll(&a) && a.state == XR_SESSION_STATE_EXITING);
	xa_destroy_session(&a);

	/* Instance loss: the event, then XR_ERROR_INSTANCE_LOST from everything but destruction. */
	CHECK(simxr_fire("instance_loss") == 0);
	XrEventDataBuffer ev = {.type = XR_TYPE_EVENT_DATA_BUFFER};
	CHECK(XA_OK(xrPollEvent(a.instance, &ev)) && ev.type == XR_TYPE_EVENT_DATA_INSTANCE_LOSS_PENDING);
	ev.type = XR_TYPE_EVENT_DATA_BUFFER;
	CHECK(XA_EXPECT(XR_ERROR_INSTANCE_LOST, xrPollEvent(a.instance, &ev)) == XR_ERROR_INSTANCE_LOST);
	XrSystemGetInfo gi = {XR_TYPE_SYSTEM_GET_INFO, NULL, XR_FORM_FACTOR_HEAD_MOUNTED_DISPLAY};
	XrSystemId sys;
	CHECK(XA_EXPECT(XR_ERROR_INSTANCE_LOST, xrGetSystem(a.instance, &gi, &sys)) == XR_ERROR_INSTANCE_LOST);
done:
	xa_destroy(&a);
	simxr_set_script(NULL);
	CHECK_MSG(a.xr_messages == 0, "%u OpenXR validation messages", a.xr_messages);
	CHECK_MSG(a.vk_messages == 0, "%u Vulkan validation messages", a.vk_messages);
	CHECK(layer_log_check(NULL));
	set_env("CAVR_SIMXR_REFRESH_HZ", NULL);
	set_env("CAVR_SIMXR_RESOLUTION", NULL);
	set_env("CAVR_SIMXR_REALTIME", NULL);
}

/* ---- Vulkan through XR_KHR_vulkan_enable2 with runtime requirements, and through XR_KHR_vulkan_enable ---- */
static void test_vulkan_variants(void)
{
	char capture[300], file[400];
	snprintf(capture, sizeof capture, "%s/v1-{frame}.png", g_dir); /* no {eye}: "-left"/"-right" is added */
	set_env("CAVR_SIMXR_VULKAN_INSTANCE_EXTENSIONS", "VK_EXT_debug_utils VK_KHR_get_physical_device_properties2");
	set_env("CAVR_SIMXR_VULKAN_DEVICE_EXTENSIONS", "VK_KHR_external_memory VK_KHR_dedicated_allocation");
	set_env("CAVR_SIMXR_RESOLUTION", "16x16");
	set_env("CAVR_SIMXR_CAPTURE", capture);
	struct xr_app a = {0};

	/* enable2: the runtime creates Vulkan with the application's extensions plus its own, each once. */
	REQUIRE(xa_create_instance(&a, NULL, 0));
	REQUIRE(xa_create_vulkan(&a));
	CHECK_MSG(strcmp(xa_created_instance_extensions(), "VK_EXT_debug_utils VK_KHR_get_physical_device_properties2") == 0,
	          "%s", xa_created_instance_extensions());
	CHECK_MSG(strcmp(xa_created_device_extensions(), "VK_KHR_external_memory VK_KHR_dedicated_allocation") == 0, "%s",
	          xa_created_device_extensions());
	xa_destroy(&a);

	/* enable: the application makes Vulkan itself from the runtime's lists, then renders one frame. */
	const char *ext[] = {XR_KHR_VULKAN_ENABLE_EXTENSION_NAME};
	REQUIRE(xa_create_instance(&a, ext, 1));
	REQUIRE(xa_create_vulkan1(&a));
	REQUIRE(xa_create_session(&a));
	REQUIRE(begin(&a));
	XrSwapchain sc;
	VkImage images[3];
	REQUIRE(make_swapchain(&a, VK_FORMAT_B8G8R8A8_SRGB, 2, false, 16, 16, &sc, images));
	XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
	for (int frame = 0; frame < 2; frame++) {
		REQUIRE(xa_poll(&a) && XA_OK(xrWaitFrame(a.session, NULL, &fs)) && XA_OK(xrBeginFrame(a.session, NULL)));
		XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, fs.predictedDisplayTime, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 0, NULL};
		if (frame == 0) {
			REQUIRE(XA_OK(xrEndFrame(a.session, &ei)));
			continue;
		}
		uint32_t index;
		REQUIRE(acquire(sc, &index));
		VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL,
		                               VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, NULL};
		vkBeginCommandBuffer(a.cmd, &bi);
		for (uint32_t eye = 0; eye < 2; eye++) clear_color(a.cmd, images[index], eye, g_srgb_colors[eye]);
		vkEndCommandBuffer(a.cmd);
		REQUIRE(xa_submit(&a) && XA_OK(xrReleaseSwapchainImage(sc, NULL)));
		XrSpace view = reference_space(&a, XR_REFERENCE_SPACE_TYPE_VIEW);
		XrCompositionLayerProjectionView pv[2];
		for (uint32_t e = 0; e < 2; e++)
			pv[e] = (XrCompositionLayerProjectionView){XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW, NULL, {{0, 0, 0, 1}, {0, 0, 0}},
			                                          {-1, 1, 1, -1}, {sc, {{0, 0}, {16, 16}}, e}};
		XrCompositionLayerProjection layer = {XR_TYPE_COMPOSITION_LAYER_PROJECTION, NULL, 0, view, 2, pv};
		const XrCompositionLayerBaseHeader *layers[1] = {(const void *)&layer};
		ei.layerCount = 1;
		ei.layers = layers;
		REQUIRE(XA_OK(xrEndFrame(a.session, &ei)));
	}
	for (int eye = 0; eye < 2; eye++) {
		int w, h, n;
		snprintf(file, sizeof file, "%s/v1-00001-%s.png", g_dir, eye ? "right" : "left");
		uint8_t *p = stbi_load(file, &w, &h, &n, 4);
		CHECK_MSG(p && w == 16 && h == 16 && abs(p[0] - g_expected_png[0][eye][0]) <= 2 &&
		              abs(p[1] - g_expected_png[0][eye][1]) <= 2 && abs(p[2] - g_expected_png[0][eye][2]) <= 2,
		          "%s", file);
		stbi_image_free(p);
		unlink(file);
	}
done:
	xa_destroy(&a);
	CHECK_MSG(a.xr_messages == 0, "%u OpenXR validation messages", a.xr_messages);
	CHECK_MSG(a.vk_messages == 0, "%u Vulkan validation messages", a.vk_messages);
	CHECK(layer_log_check(NULL));
	const char *vars[] = {"CAVR_SIMXR_VULKAN_INSTANCE_EXTENSIONS", "CAVR_SIMXR_VULKAN_DEVICE_EXTENSIONS",
	                      "CAVR_SIMXR_RESOLUTION", "CAVR_SIMXR_CAPTURE"};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) set_env(vars[i], NULL);
}

/* ---- error codes, with the OpenXR validation layer off ---- */
#define EXPECT(want, call) CHECK(XA_EXPECT((want), (call)) == (want))

/* Before any instance exists (the loader allows one at a time). */
static void error_checks_create(void)
{
	XrInstanceCreateInfo ci = {.type = XR_TYPE_INSTANCE_CREATE_INFO};
	snprintf(ci.applicationInfo.applicationName, sizeof ci.applicationInfo.applicationName, "errors");
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 0, 0);
	const char *unknown[] = {"XR_CAVR_no_such_extension"};
	ci.enabledExtensionCount = 1;
	ci.enabledExtensionNames = unknown;
	XrInstance inst;
	EXPECT(XR_ERROR_EXTENSION_NOT_PRESENT, xrCreateInstance(&ci, &inst));
	ci.enabledExtensionCount = 0;
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(2, 0, 0);
	EXPECT(XR_ERROR_API_VERSION_UNSUPPORTED, xrCreateInstance(&ci, &inst));
	ci.applicationInfo.apiVersion = XR_MAKE_VERSION(1, 0, 0);
	ci.applicationInfo.applicationName[0] = 0;
	EXPECT(XR_ERROR_NAME_INVALID, xrCreateInstance(&ci, &inst));
}

static void error_checks_instance(struct xr_app *a)
{
	PFN_xrVoidFunction fn;
	EXPECT(XR_ERROR_FUNCTION_UNSUPPORTED, xrGetInstanceProcAddr(a->instance, "xrGetVulkanGraphicsDeviceKHR", &fn));
	EXPECT(XR_ERROR_FUNCTION_UNSUPPORTED, xrGetInstanceProcAddr(a->instance, "xrGetVulkanInstanceExtensionsKHR", &fn));
	EXPECT(XR_ERROR_FUNCTION_UNSUPPORTED, xrGetInstanceProcAddr(a->instance, "xrCreateCavrTeleporterEXT", &fn));
	XrSystemGetInfo gi = {XR_TYPE_SYSTEM_GET_INFO, NULL, XR_FORM_FACTOR_HANDHELD_DISPLAY};
	XrSystemId sys;
	EXPECT(XR_ERROR_FORM_FACTOR_UNSUPPORTED, xrGetSystem(a->instance, &gi, &sys));
	gi.type = XR_TYPE_SYSTEM_PROPERTIES;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrGetSystem(a->instance, &gi, &sys));
	XrSystemProperties sp = {.type = XR_TYPE_SYSTEM_PROPERTIES};
	EXPECT(XR_ERROR_SYSTEM_INVALID, xrGetSystemProperties(a->instance, 12345, &sp));
	uint32_t n;
	EXPECT(XR_SUCCESS, xrEnumerateViewConfigurations(a->instance, a->system, 0, &n, NULL));
	CHECK(n == 1);
	XrViewConfigurationView views[1] = {{.type = XR_TYPE_VIEW_CONFIGURATION_VIEW}};
	EXPECT(XR_ERROR_SIZE_INSUFFICIENT,
	       xrEnumerateViewConfigurationViews(a->instance, a->system, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, 1, &n, views));
	EXPECT(XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED,
	       xrEnumerateEnvironmentBlendModes(a->instance, a->system, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_MONO, 0, &n, NULL));

	XrPath p;
	EXPECT(XR_ERROR_PATH_FORMAT_INVALID, xrStringToPath(a->instance, "/user//hand", &p));
	EXPECT(XR_ERROR_PATH_FORMAT_INVALID, xrStringToPath(a->instance, "/User/Hand", &p));
	EXPECT(XR_ERROR_PATH_FORMAT_INVALID, xrStringToPath(a->instance, "/user/../hand", &p));
	EXPECT(XR_SUCCESS, xrStringToPath(a->instance, "/user/hand/left", &p));
	char buf[8];
	EXPECT(XR_ERROR_SIZE_INSUFFICIENT, xrPathToString(a->instance, p, sizeof buf, &n, buf));
	CHECK(n == strlen("/user/hand/left") + 1);
	EXPECT(XR_ERROR_PATH_INVALID, xrPathToString(a->instance, 999999, sizeof buf, &n, buf));
	char result[XR_MAX_RESULT_STRING_SIZE];
	CHECK(XA_OK(xrResultToString(a->instance, XR_ERROR_SESSION_LOST, result)) && strcmp(result, "XR_ERROR_SESSION_LOST") == 0);

	XrSessionCreateInfo sci = {XR_TYPE_SESSION_CREATE_INFO, NULL, 0, a->system};
	XrSession s;
	EXPECT(XR_ERROR_GRAPHICS_REQUIREMENTS_CALL_MISSING, xrCreateSession(a->instance, &sci, &s));
}

static void error_checks_actions(struct xr_app *a, XrActionSet *set, XrAction *select)
{
	XrActionSetCreateInfo sci = {XR_TYPE_ACTION_SET_CREATE_INFO, NULL, "Bad Name", "Bad", 0};
	EXPECT(XR_ERROR_NAME_INVALID, xrCreateActionSet(a->instance, &sci, set));
	snprintf(sci.actionSetName, sizeof sci.actionSetName, "game");
	EXPECT(XR_SUCCESS, xrCreateActionSet(a->instance, &sci, set));
	XrActionSet dup;
	EXPECT(XR_ERROR_NAME_DUPLICATED, xrCreateActionSet(a->instance, &sci, &dup));
	XrPath head = path(a, "/user/head"), bad = path(a, "/user/hand/left/input");
	XrActionCreateInfo ci = {XR_TYPE_ACTION_CREATE_INFO, NULL, "select", XR_ACTION_TYPE_BOOLEAN_INPUT, 1, &bad, "Select"};
	EXPECT(XR_ERROR_PATH_UNSUPPORTED, xrCreateAction(*set, &ci, select));
	ci.subactionPaths = &head;
	EXPECT(XR_SUCCESS, xrCreateAction(*set, &ci, select));
	ci.actionType = 42;
	XrAction other;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrCreateAction(*set, &ci, &other));
	XrActionSuggestedBinding b = {*select, path(a, "/user/hand/left/input/trigger/value")};
	XrInteractionProfileSuggestedBinding sb = {XR_TYPE_INTERACTION_PROFILE_SUGGESTED_BINDING, NULL,
	                                           path(a, "/interaction_profiles/khr/simple_controller"), 1, &b};
	EXPECT(XR_ERROR_PATH_UNSUPPORTED, xrSuggestInteractionProfileBindings(a->instance, &sb));
	sb.interactionProfile = path(a, "/interaction_profiles/cavr/imaginary_controller");
	b.binding = path(a, "/user/hand/left/input/select/click");
	EXPECT(XR_ERROR_PATH_UNSUPPORTED, xrSuggestInteractionProfileBindings(a->instance, &sb));
	XrActionStateGetInfo gi = {XR_TYPE_ACTION_STATE_GET_INFO, NULL, *select, XR_NULL_PATH};
	XrActionStateBoolean st = {.type = XR_TYPE_ACTION_STATE_BOOLEAN};
	EXPECT(XR_ERROR_ACTIONSET_NOT_ATTACHED, xrGetActionStateBoolean(a->session, &gi, &st));
	XrSessionActionSetsAttachInfo ai = {XR_TYPE_SESSION_ACTION_SETS_ATTACH_INFO, NULL, 1, set};
	EXPECT(XR_SUCCESS, xrAttachSessionActionSets(a->session, &ai));
	EXPECT(XR_ERROR_ACTIONSETS_ALREADY_ATTACHED, xrAttachSessionActionSets(a->session, &ai));
	ci.actionType = XR_ACTION_TYPE_FLOAT_INPUT;
	snprintf(ci.actionName, sizeof ci.actionName, "late");
	snprintf(ci.localizedActionName, sizeof ci.localizedActionName, "Late");
	EXPECT(XR_ERROR_ACTIONSETS_ALREADY_ATTACHED, xrCreateAction(*set, &ci, &other));
	XrActionStateFloat fst = {.type = XR_TYPE_ACTION_STATE_FLOAT};
	EXPECT(XR_ERROR_ACTION_TYPE_MISMATCH, xrGetActionStateFloat(a->session, &gi, &fst));
	gi.subactionPath = path(a, "/user/hand/right");
	EXPECT(XR_ERROR_PATH_UNSUPPORTED, xrGetActionStateBoolean(a->session, &gi, &st));
	gi.subactionPath = XR_NULL_PATH;
	st.type = XR_TYPE_ACTION_STATE_FLOAT;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrGetActionStateBoolean(a->session, &gi, &st));
	XrActionSpaceCreateInfo asi = {XR_TYPE_ACTION_SPACE_CREATE_INFO, NULL, *select, XR_NULL_PATH, {{0, 0, 0, 1}, {0, 0, 0}}};
	XrSpace space;
	EXPECT(XR_ERROR_ACTION_TYPE_MISMATCH, xrCreateActionSpace(a->session, &asi, &space));
}

static void error_checks_frames(struct xr_app *a)
{
	XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
	XrSessionBeginInfo bi = {XR_TYPE_SESSION_BEGIN_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO};
	EXPECT(XR_ERROR_SESSION_NOT_READY, xrBeginSession(a->session, &bi)); /* READY not polled yet */
	EXPECT(XR_ERROR_SESSION_NOT_RUNNING, xrWaitFrame(a->session, NULL, &fs));
	EXPECT(XR_ERROR_SESSION_NOT_RUNNING, xrRequestExitSession(a->session));
	EXPECT(XR_ERROR_SESSION_NOT_RUNNING, xrEndSession(a->session));
	CHECK(xa_poll(a));
	bi.primaryViewConfigurationType = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_MONO;
	EXPECT(XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED, xrBeginSession(a->session, &bi));
	bi.primaryViewConfigurationType = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO;
	EXPECT(XR_SUCCESS, xrBeginSession(a->session, &bi));
	EXPECT(XR_ERROR_SESSION_RUNNING, xrBeginSession(a->session, &bi));
	EXPECT(XR_ERROR_SESSION_NOT_STOPPING, xrEndSession(a->session));
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrBeginFrame(a->session, NULL));
	XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, SIMXR_EPOCH_NS, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 0, NULL};
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrEndFrame(a->session, &ei));
	fs.type = XR_TYPE_VIEW_STATE;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrWaitFrame(a->session, NULL, &fs));
	fs.type = XR_TYPE_FRAME_STATE;
	EXPECT(XR_SUCCESS, xrWaitFrame(a->session, NULL, &fs));
	EXPECT(XR_SUCCESS, xrBeginFrame(a->session, NULL));
	EXPECT(XR_SUCCESS, xrWaitFrame(a->session, NULL, &fs));
	EXPECT(XR_FRAME_DISCARDED, xrBeginFrame(a->session, NULL));
	ei.displayTime = 0;
	EXPECT(XR_ERROR_TIME_INVALID, xrEndFrame(a->session, &ei));
	ei.displayTime = fs.predictedDisplayTime;
	ei.environmentBlendMode = XR_ENVIRONMENT_BLEND_MODE_ADDITIVE;
	EXPECT(XR_ERROR_ENVIRONMENT_BLEND_MODE_UNSUPPORTED, xrEndFrame(a->session, &ei));
	ei.environmentBlendMode = XR_ENVIRONMENT_BLEND_MODE_OPAQUE;
	ei.layerCount = SIMXR_MAX_LAYERS + 1;
	const XrCompositionLayerBaseHeader *many[SIMXR_MAX_LAYERS + 1] = {0};
	ei.layers = many;
	EXPECT(XR_ERROR_LAYER_LIMIT_EXCEEDED, xrEndFrame(a->session, &ei));
	ei.layerCount = 1;
	EXPECT(XR_ERROR_LAYER_INVALID, xrEndFrame(a->session, &ei));
	ei.layerCount = 0;
	EXPECT(XR_SUCCESS, xrEndFrame(a->session, &ei));
}

static void error_checks_swapchains(struct xr_app *a)
{
	int64_t formats[2];
	uint32_t n;
	EXPECT(XR_ERROR_SIZE_INSUFFICIENT, xrEnumerateSwapchainFormats(a->session, 1, &n, formats));
	XrSwapchainCreateInfo ci = {XR_TYPE_SWAPCHAIN_CREATE_INFO, NULL, 0, XR_SWAPCHAIN_USAGE_COLOR_ATTACHMENT_BIT,
	                            VK_FORMAT_R8G8B8A8_SRGB, 1, 16, 16, 1, 2, 1};
	XrSwapchain sc;
	ci.format = VK_FORMAT_R4G4_UNORM_PACK8;
	EXPECT(XR_ERROR_SWAPCHAIN_FORMAT_UNSUPPORTED, xrCreateSwapchain(a->session, &ci, &sc));
	ci.format = VK_FORMAT_R8G8B8A8_SRGB;
	ci.type = XR_TYPE_SESSION_CREATE_INFO;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrCreateSwapchain(a->session, &ci, &sc));
	ci.type = XR_TYPE_SWAPCHAIN_CREATE_INFO;
	ci.createFlags = XR_SWAPCHAIN_CREATE_PROTECTED_CONTENT_BIT;
	EXPECT(XR_ERROR_FEATURE_UNSUPPORTED, xrCreateSwapchain(a->session, &ci, &sc));
	ci.createFlags = 0;
	EXPECT(XR_SUCCESS, xrCreateSwapchain(a->session, &ci, &sc));
	XrSwapchainImageWaitInfo wi = {XR_TYPE_SWAPCHAIN_IMAGE_WAIT_INFO, NULL, XR_INFINITE_DURATION};
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrWaitSwapchainImage(sc, &wi));
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrReleaseSwapchainImage(sc, NULL));
	XrSwapchainImageVulkan2KHR imgs[3] = {{.type = XR_TYPE_SWAPCHAIN_IMAGE_VULKAN2_KHR}, {.type = XR_TYPE_SWAPCHAIN_IMAGE_VULKAN2_KHR},
	                                      {.type = XR_TYPE_SWAPCHAIN_IMAGE_OPENGL_KHR}};
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrEnumerateSwapchainImages(sc, 3, &n, (XrSwapchainImageBaseHeader *)imgs));
	EXPECT(XR_ERROR_SIZE_INSUFFICIENT, xrEnumerateSwapchainImages(sc, 2, &n, (XrSwapchainImageBaseHeader *)imgs));

	/* A frame whose layer shows an image never released, then one whose rectangle leaves the image. */
	XrFrameState fs = {.type = XR_TYPE_FRAME_STATE};
	EXPECT(XR_SUCCESS, xrWaitFrame(a->session, NULL, &fs));
	EXPECT(XR_SUCCESS, xrBeginFrame(a->session, NULL));
	XrReferenceSpaceCreateInfo rci = {XR_TYPE_REFERENCE_SPACE_CREATE_INFO, NULL, XR_REFERENCE_SPACE_TYPE_LOCAL,
	                                  {{0, 0, 0, 1}, {0, 0, 0}}};
	XrSpace local;
	EXPECT(XR_SUCCESS, xrCreateReferenceSpace(a->session, &rci, &local));
	XrCompositionLayerProjectionView pv[2];
	for (uint32_t e = 0; e < 2; e++)
		pv[e] = (XrCompositionLayerProjectionView){XR_TYPE_COMPOSITION_LAYER_PROJECTION_VIEW, NULL, {{0, 0, 0, 1}, {0, 0, 0}},
		                                          {-1, 1, 1, -1}, {sc, {{0, 0}, {16, 16}}, e}};
	XrCompositionLayerProjection layer = {XR_TYPE_COMPOSITION_LAYER_PROJECTION, NULL, 0, local, 2, pv};
	const XrCompositionLayerBaseHeader *layers[1] = {(const void *)&layer};
	XrFrameEndInfo ei = {XR_TYPE_FRAME_END_INFO, NULL, fs.predictedDisplayTime, XR_ENVIRONMENT_BLEND_MODE_OPAQUE, 1, layers};
	EXPECT(XR_ERROR_LAYER_INVALID, xrEndFrame(a->session, &ei));
	uint32_t idx[4];
	for (int i = 0; i < 3; i++) EXPECT(XR_SUCCESS, xrAcquireSwapchainImage(sc, NULL, &idx[i]));
	CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 2);
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrAcquireSwapchainImage(sc, NULL, &idx[3])); /* all three are out */
	EXPECT(XR_SUCCESS, xrWaitSwapchainImage(sc, &wi));
	EXPECT(XR_ERROR_CALL_ORDER_INVALID, xrWaitSwapchainImage(sc, &wi)); /* release before the next wait */
	EXPECT(XR_SUCCESS, xrReleaseSwapchainImage(sc, NULL));
	EXPECT(XR_SUCCESS, xrAcquireSwapchainImage(sc, NULL, &idx[3]));
	CHECK(idx[3] == 0);
	pv[1].subImage.imageRect.extent.width = 17;
	EXPECT(XR_ERROR_SWAPCHAIN_RECT_INVALID, xrEndFrame(a->session, &ei));
	pv[1].subImage.imageRect.extent.width = 16;
	pv[1].subImage.imageArrayIndex = 2;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrEndFrame(a->session, &ei));
	pv[1].subImage.imageArrayIndex = 1;
	layer.viewCount = 1;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrEndFrame(a->session, &ei));
	layer.viewCount = 2;
	pv[0].pose.orientation.w = 2;
	EXPECT(XR_ERROR_POSE_INVALID, xrEndFrame(a->session, &ei));
	pv[0].pose.orientation.w = 1;
	EXPECT(XR_SUCCESS, xrEndFrame(a->session, &ei));

	/* Views and spaces. */
	XrViewLocateInfo li = {XR_TYPE_VIEW_LOCATE_INFO, NULL, XR_VIEW_CONFIGURATION_TYPE_PRIMARY_STEREO, fs.predictedDisplayTime,
	                       local};
	XrViewState vs = {.type = XR_TYPE_VIEW_STATE};
	XrView views[2] = {{.type = XR_TYPE_VIEW}, {.type = XR_TYPE_VIEW}};
	EXPECT(XR_ERROR_SIZE_INSUFFICIENT, xrLocateViews(a->session, &li, &vs, 1, &n, views));
	views[1].type = XR_TYPE_SPACE_LOCATION;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, xrLocateViews(a->session, &li, &vs, 2, &n, views));
	li.viewConfigurationType = XR_VIEW_CONFIGURATION_TYPE_PRIMARY_MONO;
	EXPECT(XR_ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED, xrLocateViews(a->session, &li, &vs, 2, &n, views));
	XrSpaceLocation loc = {.type = XR_TYPE_SPACE_LOCATION};
	EXPECT(XR_ERROR_TIME_INVALID, xrLocateSpace(local, local, 0, &loc));
	rci.referenceSpaceType = XR_REFERENCE_SPACE_TYPE_UNBOUNDED_MSFT;
	XrSpace other;
	EXPECT(XR_ERROR_REFERENCE_SPACE_UNSUPPORTED, xrCreateReferenceSpace(a->session, &rci, &other));
	EXPECT(XR_SUCCESS, xrDestroySpace(local));
	EXPECT(XR_ERROR_HANDLE_INVALID, xrLocateSpace(local, local, fs.predictedDisplayTime, &loc)); /* destroyed */
	EXPECT(XR_ERROR_HANDLE_INVALID, xrDestroySpace((XrSpace)(uintptr_t)0x1234)); /* never a handle */
	EXPECT(XR_ERROR_HANDLE_INVALID, xrAcquireSwapchainImage((XrSwapchain)(uintptr_t)a->session, NULL, &idx[0]));
	EXPECT(XR_SUCCESS, xrDestroySwapchain(sc));
	EXPECT(XR_ERROR_HANDLE_INVALID, xrAcquireSwapchainImage(sc, NULL, &idx[0]));
}

static void error_checks_hands(struct xr_app *a)
{
	PFN_xrCreateHandTrackerEXT create;
	PFN_xrLocateHandJointsEXT locate;
	if (!XA_OK(xrGetInstanceProcAddr(a->instance, "xrCreateHandTrackerEXT", (PFN_xrVoidFunction *)&create)) ||
	    !XA_OK(xrGetInstanceProcAddr(a->instance, "xrLocateHandJointsEXT", (PFN_xrVoidFunction *)&locate))) {
		CHECK(false);
		return;
	}
	XrHandTrackerCreateInfoEXT ci = {XR_TYPE_HAND_TRACKER_CREATE_INFO_EXT, NULL, 3, XR_HAND_JOINT_SET_DEFAULT_EXT};
	XrHandTrackerEXT t;
	EXPECT(XR_ERROR_VALIDATION_FAILURE, create(a->session, &ci, &t));
	ci.hand = XR_HAND_LEFT_EXT;
	EXPECT(XR_SUCCESS, create(a->session, &ci, &t));
	XrReferenceSpaceCreateInfo rci = {XR_TYPE_REFERENCE_SPACE_CREATE_INFO, NULL, XR_REFERENCE_SPACE_TYPE_STAGE,
	                                  {{0, 0, 0, 1}, {0, 0, 0}}};
	XrSpace stage;
	EXPECT(XR_SUCCESS, xrCreateReferenceSpace(a->session, &rci, &stage));
	XrHandJointLocationEXT joints[26];
	XrHandJointsLocateInfoEXT li = {XR_TYPE_HAND_JOINTS_LOCATE_INFO_EXT, NULL, stage, SIMXR_EPOCH_NS};
	XrHandJointLocationsEXT loc = {XR_TYPE_HAND_JOINT_LOCATIONS_EXT, NULL, XR_FALSE, 10, joints};
	EXPECT(XR_ERROR_VALIDATION_FAILURE, locate(t, &li, &loc));
	loc.jointCount = 26;
	li.time = 0;
	EXPECT(XR_ERROR_TIME_INVALID, locate(t, &li, &loc));
}

static void test_errors(void)
{
	/* The OpenXR validation layer would answer many bad calls itself: here the runtime must. */
	char *layers = getenv("XR_ENABLE_API_LAYERS") ? strdup(getenv("XR_ENABLE_API_LAYERS")) : NULL;
	set_env("XR_ENABLE_API_LAYERS", NULL);
	set_env("CAVR_SIMXR_RESOLUTION", "16x16");
	set_env("CAVR_SIMXR_LOG", "error"); /* the runtime explains each refusal; keep the test log short */
	struct xr_app a = {.quiet = true};
	const char *ext[] = {XR_EXT_HAND_TRACKING_EXTENSION_NAME};
	error_checks_create();
	REQUIRE(xa_create_instance(&a, ext, 1));
	error_checks_instance(&a);
	REQUIRE(xa_create_vulkan(&a));
	REQUIRE(xa_create_session(&a));
	XrActionSet set;
	XrAction select;
	error_checks_actions(&a, &set, &select);
	error_checks_frames(&a);
	error_checks_swapchains(&a);
	error_checks_hands(&a);
	/* Every refusal was explained to the application's messenger. */
	CHECK_MSG(a.xr_messages >= 30, "%u messages", a.xr_messages);
done:
	a.xr_messages = 0;
	xa_destroy(&a);
	CHECK_MSG(a.vk_messages == 0, "%u Vulkan validation messages", a.vk_messages);
	set_env("XR_ENABLE_API_LAYERS", layers);
	free(layers);
	set_env("CAVR_SIMXR_RESOLUTION", NULL);
	set_env("CAVR_SIMXR_LOG", NULL);
}

int main(void)
{
	if (!getenv("XR_RUNTIME_JSON")) {
		fprintf(stderr, "XR_RUNTIME_JSON must name the simulated runtime's manifest (CTest sets it)\n");
		return EXIT_FAILURE;
	}
	if (!test_scratch_dir("cavr-simxr", g_dir, sizeof g_dir)) return EXIT_FAILURE;
	/* The layer writes its findings here; every test that runs with it requires the file to stay empty. */
	snprintf(g_layer_log, sizeof g_layer_log, "%s/xr-validation.txt", g_dir);
	set_env("XR_CORE_VALIDATION_EXPORT_TYPE", "text");
	set_env("XR_CORE_VALIDATION_FILE_NAME", g_layer_log);
	RUN(test_negotiation);
	RUN(test_config_and_scripts);
	RUN(test_session);
	RUN(test_lifecycle);
	RUN(test_vulkan_variants);
	RUN(test_errors);
	char conf[300];
	snprintf(conf, sizeof conf, "%s/simxr.conf", g_dir);
	unlink(conf);
	unlink(g_layer_log);
	rmdir(g_dir);
	return test_finish();
}
