/* The desktop window presenter: GLFW (X11) and a Vulkan swapchain that survives resize and minimise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include "present.h"

#define FRAMES_IN_FLIGHT 2
#define MAX_IMAGES 8
#define MAX_INPUTS 64

struct window {
	struct presenter base;
	struct gpu_context *ctx;
	GLFWwindow *glfw;
	VkSurfaceKHR surface;
	VkSwapchainKHR swapchain;
	VkSurfaceFormatKHR surface_format;
	VkExtent2D extent;
	uint32_t image_count;
	VkImage images[MAX_IMAGES];
	VkImageView views[MAX_IMAGES];
	VkSemaphore rendered[MAX_IMAGES]; /* per image: a semaphore is only reused once its image comes back */
	VkCommandBuffer cmds[FRAMES_IN_FLIGHT];
	VkFence fences[FRAMES_IN_FLIGHT];
	VkSemaphore acquired[FRAMES_IN_FLIGHT];
	uint32_t slot, image_index, generation;
	bool vsync, needs_rebuild, can_capture;
	struct cv_image *capture_out;
	struct gpu_buffer capture_buffer;
	struct meeting_input inputs[MAX_INPUTS]; /* since the last poll */
	uint32_t input_count;
	double cursor_x, cursor_y, last_poll;
	bool dragging;
};

static void push_input(struct window *w, enum meeting_action action, float value, float dx, float dy)
{
	if (w->input_count < MAX_INPUTS)
		w->inputs[w->input_count++] = (struct meeting_input){.action = action, .value = value, .dx = dx, .dy = dy};
}

static void glfw_error(int code, const char *message) { CV_WARN("glfw error %d: %s", code, message); }

enum cv_result window_system_init(void)
{
	glfwSetErrorCallback(glfw_error);
	if (!glfwInit())
		return CV_FAIL(CV_ERROR_WINDOW, "cannot open a window: no X display (is DISPLAY set? use --headless)");
	if (!glfwVulkanSupported()) {
		glfwTerminate();
		return CV_FAIL(CV_ERROR_WINDOW, "cannot open a window: GLFW finds no Vulkan loader");
	}
	return CV_OK;
}

void window_system_fini(void) { glfwTerminate(); }

const char *const *window_instance_extensions(uint32_t *count) { return glfwGetRequiredInstanceExtensions(count); }

static void destroy_swapchain_images(struct window *w)
{
	for (uint32_t i = 0; i < w->image_count; i++) {
		vkDestroyImageView(w->ctx->device, w->views[i], NULL);
		vkDestroySemaphore(w->ctx->device, w->rendered[i], NULL);
	}
	w->image_count = 0;
}

static VkPresentModeKHR pick_present_mode(struct window *w)
{
	if (w->vsync) return VK_PRESENT_MODE_FIFO_KHR; /* always available */
	uint32_t n = 0;
	vkGetPhysicalDeviceSurfacePresentModesKHR(w->ctx->physical_device, w->surface, &n, NULL);
	VkPresentModeKHR modes[16];
	if (n > 16) n = 16;
	vkGetPhysicalDeviceSurfacePresentModesKHR(w->ctx->physical_device, w->surface, &n, modes);
	VkPresentModeKHR best = VK_PRESENT_MODE_FIFO_KHR;
	for (uint32_t i = 0; i < n; i++) {
		if (modes[i] == VK_PRESENT_MODE_MAILBOX_KHR) return modes[i];
		if (modes[i] == VK_PRESENT_MODE_IMMEDIATE_KHR) best = modes[i];
	}
	return best;
}

static void pick_surface_format(struct window *w)
{
	uint32_t n = 0;
	vkGetPhysicalDeviceSurfaceFormatsKHR(w->ctx->physical_device, w->surface, &n, NULL);
	VkSurfaceFormatKHR formats[64];
	if (n > 64) n = 64;
	vkGetPhysicalDeviceSurfaceFormatsKHR(w->ctx->physical_device, w->surface, &n, formats);
	w->surface_format = formats[0];
	/* Shading is linear; an sRGB swapchain encodes on write. */
	for (uint32_t i = 0; i < n; i++) {
		if ((formats[i].format == VK_FORMAT_B8G8R8A8_SRGB || formats[i].format == VK_FORMAT_R8G8B8A8_SRGB) &&
		    formats[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR) {
			w->surface_format = formats[i];
			return;
		}
	}
	CV_WARN("window: no sRGB swapchain format; colours will look dark");
}

/* Creates or recreates the swapchain for the current framebuffer size; a zero size (minimised) leaves none. */
static enum cv_result build_swapchain(struct window *w)
{
	struct gpu_context *ctx = w->ctx;
	vkDeviceWaitIdle(ctx->device);
	destroy_swapchain_images(w);
	w->needs_rebuild = false;
	int fw, fh;
	glfwGetFramebufferSize(w->glfw, &fw, &fh);
	VkSurfaceCapabilitiesKHR caps;
	GPU_TRY(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx->physical_device, w->surface, &caps));
	VkExtent2D extent = caps.currentExtent;
	if (extent.width == UINT32_MAX) extent = (VkExtent2D){(uint32_t)fw, (uint32_t)fh};
	if (extent.width == 0 || extent.height == 0 || fw == 0 || fh == 0) {
		w->extent = (VkExtent2D){0, 0};
		return CV_OK;
	}
	uint32_t count = caps.minImageCount + 1;
	if (caps.maxImageCount && count > caps.maxImageCount) count = caps.maxImageCount;
	w->can_capture = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
	VkSwapchainKHR old = w->swapchain;
	VkSwapchainCreateInfoKHR si = {
		.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
		.surface = w->surface,
		.minImageCount = count,
		.imageFormat = w->surface_format.format,
		.imageColorSpace = w->surface_format.colorSpace,
		.imageExtent = extent,
		.imageArrayLayers = 1,
		.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (w->can_capture ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0),
		.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
		.preTransform = caps.currentTransform,
		.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
		.presentMode = pick_present_mode(w),
		.clipped = VK_TRUE,
		.oldSwapchain = old,
	};
	VkResult vr = vkCreateSwapchainKHR(ctx->device, &si, NULL, &w->swapchain);
	if (old) vkDestroySwapchainKHR(ctx->device, old, NULL);
	if (vr != VK_SUCCESS) w->swapchain = VK_NULL_HANDLE;
	GPU_TRY(vr);
	GPU_NAME(ctx, VK_OBJECT_TYPE_SWAPCHAIN_KHR, w->swapchain, "window swapchain %u", w->generation);
	w->extent = extent;
	w->generation++;
	uint32_t n = 0;
	GPU_TRY(vkGetSwapchainImagesKHR(ctx->device, w->swapchain, &n, NULL));
	if (n > MAX_IMAGES) return CV_FAIL(CV_ERROR_UNSUPPORTED, "swapchain has %u images (at most %d)", n, MAX_IMAGES);
	GPU_TRY(vkGetSwapchainImagesKHR(ctx->device, w->swapchain, &n, w->images));
	for (uint32_t i = 0; i < n; i++) {
		VkImageViewCreateInfo vi = {
			.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
			.image = w->images[i],
			.viewType = VK_IMAGE_VIEW_TYPE_2D,
			.format = w->surface_format.format,
			.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
		};
		VkSemaphoreCreateInfo sem = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
		GPU_TRY(vkCreateImageView(ctx->device, &vi, NULL, &w->views[i]));
		GPU_TRY(vkCreateSemaphore(ctx->device, &sem, NULL, &w->rendered[i]));
		w->image_count = i + 1;
		GPU_NAME(ctx, VK_OBJECT_TYPE_IMAGE, w->images[i], "swapchain image %u", i);
		GPU_NAME(ctx, VK_OBJECT_TYPE_IMAGE_VIEW, w->views[i], "swapchain view %u", i);
		GPU_NAME(ctx, VK_OBJECT_TYPE_SEMAPHORE, w->rendered[i], "rendered %u", i);
	}
	CV_DEBUG("window: swapchain %ux%u, %u images, present mode %d", extent.width, extent.height, n, si.presentMode);
	return CV_OK;
}

static void on_framebuffer_resize(GLFWwindow *glfw, int width, int height)
{
	(void)width;
	(void)height;
	((struct window *)glfwGetWindowUserPointer(glfw))->needs_rebuild = true;
}

static void on_key(GLFWwindow *glfw, int key, int scancode, int action, int mods)
{
	(void)scancode;
	(void)mods;
	if (action != GLFW_PRESS && action != GLFW_REPEAT) return;
	struct window *w = glfwGetWindowUserPointer(glfw);
	bool shift = mods & GLFW_MOD_SHIFT;
	if (action == GLFW_REPEAT && key != GLFW_KEY_LEFT && key != GLFW_KEY_RIGHT) return;
	if (key == GLFW_KEY_ESCAPE || key == GLFW_KEY_Q) glfwSetWindowShouldClose(glfw, GLFW_TRUE);
	else if (key == GLFW_KEY_V) window_set_vsync(&w->base, !w->vsync);
	else if (key == GLFW_KEY_SPACE || key == GLFW_KEY_K) push_input(w, MEETING_PLAY_PAUSE, 0, 0, 0);
	else if (key == GLFW_KEY_LEFT || key == GLFW_KEY_RIGHT)
		push_input(w, MEETING_SEEK, (key == GLFW_KEY_LEFT ? -1.0f : 1.0f) * (shift ? 1.0f : 5.0f), 0, 0);
	else if (key == GLFW_KEY_EQUAL || key == GLFW_KEY_KP_ADD || key == GLFW_KEY_RIGHT_BRACKET)
		push_input(w, MEETING_SPEED, 2.0f, 0, 0);
	else if (key == GLFW_KEY_MINUS || key == GLFW_KEY_KP_SUBTRACT || key == GLFW_KEY_LEFT_BRACKET)
		push_input(w, MEETING_SPEED, 0.5f, 0, 0);
	else if (key == GLFW_KEY_L) push_input(w, MEETING_TOGGLE_LOOP, 0, 0, 0);
	else if (key >= GLFW_KEY_1 && key <= GLFW_KEY_9) push_input(w, MEETING_SELECT, (float)(key - GLFW_KEY_1), 0, 0);
	else if (key == GLFW_KEY_0) push_input(w, MEETING_SELECT, 1e6f, 0, 0); /* none */
	else if (key == GLFW_KEY_TAB) push_input(w, MEETING_SELECT, -1, 0, 0);
	else if (key == GLFW_KEY_C) push_input(w, MEETING_CAMERA_NEXT, 0, 0, 0);
	else if (key == GLFW_KEY_O) push_input(w, MEETING_TOGGLE_OVERLAY, 0, 0, 0);
}

static void on_mouse_button(GLFWwindow *glfw, int button, int action, int mods)
{
	(void)mods;
	struct window *w = glfwGetWindowUserPointer(glfw);
	if (button == GLFW_MOUSE_BUTTON_LEFT || button == GLFW_MOUSE_BUTTON_RIGHT) w->dragging = action == GLFW_PRESS;
	glfwGetCursorPos(glfw, &w->cursor_x, &w->cursor_y);
}

static void on_cursor(GLFWwindow *glfw, double x, double y)
{
	struct window *w = glfwGetWindowUserPointer(glfw);
	if (w->dragging) push_input(w, MEETING_LOOK, 0, (float)(x - w->cursor_x) * 0.005f, (float)(w->cursor_y - y) * 0.005f);
	w->cursor_x = x;
	w->cursor_y = y;
}

static void on_scroll(GLFWwindow *glfw, double dx, double dy)
{
	(void)dx;
	push_input(glfwGetWindowUserPointer(glfw), MEETING_ZOOM, powf(0.9f, (float)dy), 0, 0);
}

static uint32_t window_poll_input(struct presenter *p, struct meeting_input *out, uint32_t max)
{
	struct window *w = (struct window *)p;
	/* W A S D (and E / Q... Q quits, so R / F) walk the free camera while held: metres per second. */
	double now = glfwGetTime(), dt = w->last_poll > 0 ? fmin(now - w->last_poll, 0.1) : 0;
	w->last_poll = now;
	float fwd = (float)((glfwGetKey(w->glfw, GLFW_KEY_W) == GLFW_PRESS) - (glfwGetKey(w->glfw, GLFW_KEY_S) == GLFW_PRESS));
	float side = (float)((glfwGetKey(w->glfw, GLFW_KEY_D) == GLFW_PRESS) - (glfwGetKey(w->glfw, GLFW_KEY_A) == GLFW_PRESS));
	float up = (float)((glfwGetKey(w->glfw, GLFW_KEY_R) == GLFW_PRESS) - (glfwGetKey(w->glfw, GLFW_KEY_F) == GLFW_PRESS));
	if (fwd != 0 || side != 0 || up != 0)
		push_input(w, MEETING_MOVE, up * 1.5f * (float)dt, side * 1.5f * (float)dt, fwd * 1.5f * (float)dt);
	uint32_t n = w->input_count < max ? w->input_count : max;
	memcpy(out, w->inputs, n * sizeof(*out));
	w->input_count = 0;
	return n;
}

static enum cv_result window_begin(struct presenter *p, struct present_frame *f)
{
	struct window *w = (struct window *)p;
	struct gpu_context *ctx = w->ctx;
	uint64_t index = f->index;
	memset(f, 0, sizeof(*f));
	f->index = index;
	glfwPollEvents();
	if (w->needs_rebuild || !w->swapchain) CV_TRY(build_swapchain(w));
	if (w->extent.width == 0) {
		glfwWaitEventsTimeout(0.05); /* minimised: nothing to draw, do not spin */
		w->needs_rebuild = true;
		f->skip = true;
		return CV_OK;
	}
	GPU_TRY(vkWaitForFences(ctx->device, 1, &w->fences[w->slot], VK_TRUE, UINT64_MAX));
	VkResult vr = vkAcquireNextImageKHR(ctx->device, w->swapchain, UINT64_MAX, w->acquired[w->slot], VK_NULL_HANDLE,
	                                    &w->image_index);
	if (vr == VK_ERROR_OUT_OF_DATE_KHR) {
		w->needs_rebuild = true;
		f->skip = true;
		return CV_OK;
	}
	if (vr != VK_SUBOPTIMAL_KHR) GPU_TRY(vr);
	GPU_TRY(vkResetFences(ctx->device, 1, &w->fences[w->slot]));
	f->cmd = w->cmds[w->slot];
	GPU_TRY(vkResetCommandBuffer(f->cmd, 0));
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
	GPU_TRY(vkBeginCommandBuffer(f->cmd, &bi));
	f->image = w->images[w->image_index];
	f->view = w->views[w->image_index];
	f->extent = w->extent;
	f->format = w->surface_format.format;
	f->view_count = 1;
	gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
	                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
	return CV_OK;
}

/* Copies the frame's image into the capture buffer; the pixels are unpacked once the frame's fence signals. */
static enum cv_result record_capture(struct window *w, struct present_frame *f)
{
	VkDeviceSize size = (VkDeviceSize)f->extent.width * f->extent.height * 4;
	gpu_buffer_fini(w->ctx, &w->capture_buffer);
	CV_TRY(gpu_buffer_init(w->ctx, &w->capture_buffer,
	                       &(struct gpu_buffer_desc){.size = size, .host_visible = true, .name = "window capture"}));
	gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
	                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
	VkBufferImageCopy region = {
		.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		.imageExtent = {f->extent.width, f->extent.height, 1},
	};
	vkCmdCopyImageToBuffer(f->cmd, f->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, w->capture_buffer.buffer, 1, &region);
	gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
	                      VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
	return CV_OK;
}

static enum cv_result finish_capture(struct window *w, struct present_frame *f)
{
	GPU_TRY(vkWaitForFences(w->ctx->device, 1, &w->fences[w->slot], VK_TRUE, UINT64_MAX));
	struct cv_image *out = w->capture_out;
	w->capture_out = NULL;
	CV_TRY(cv_image_init(out, f->extent.width, f->extent.height));
	memcpy(out->pixels, w->capture_buffer.mapped, (size_t)f->extent.width * f->extent.height * 4);
	if (f->format == VK_FORMAT_B8G8R8A8_SRGB || f->format == VK_FORMAT_B8G8R8A8_UNORM) {
		for (size_t i = 0; i < (size_t)f->extent.width * f->extent.height; i++) {
			uint8_t t = out->pixels[i * 4];
			out->pixels[i * 4] = out->pixels[i * 4 + 2];
			out->pixels[i * 4 + 2] = t;
		}
	}
	return CV_OK;
}

static enum cv_result window_end(struct presenter *p, struct present_frame *f)
{
	struct window *w = (struct window *)p;
	bool capture = w->capture_out && w->can_capture;
	if (capture) CV_TRY(record_capture(w, f));
	else
		gpu_cmd_image_barrier(f->cmd, f->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
		                      VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
	GPU_TRY(vkEndCommandBuffer(f->cmd));
	VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.waitSemaphoreCount = 1,
		.pWaitSemaphores = &w->acquired[w->slot],
		.pWaitDstStageMask = &wait_stage,
		.commandBufferCount = 1,
		.pCommandBuffers = &f->cmd,
		.signalSemaphoreCount = 1,
		.pSignalSemaphores = &w->rendered[w->image_index],
	};
	GPU_TRY(vkQueueSubmit(w->ctx->queue, 1, &si, w->fences[w->slot]));
	VkPresentInfoKHR pi = {
		.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
		.waitSemaphoreCount = 1,
		.pWaitSemaphores = &w->rendered[w->image_index],
		.swapchainCount = 1,
		.pSwapchains = &w->swapchain,
		.pImageIndices = &w->image_index,
	};
	VkResult vr = vkQueuePresentKHR(w->ctx->queue, &pi);
	if (vr == VK_ERROR_OUT_OF_DATE_KHR || vr == VK_SUBOPTIMAL_KHR) w->needs_rebuild = true;
	else GPU_TRY(vr);
	if (capture) CV_TRY(finish_capture(w, f));
	w->slot = (w->slot + 1) % FRAMES_IN_FLIGHT;
	return CV_OK;
}

static bool window_should_close(struct presenter *p) { return glfwWindowShouldClose(((struct window *)p)->glfw); }

static void window_destroy(struct presenter *p)
{
	struct window *w = (struct window *)p;
	struct gpu_context *ctx = w->ctx;
	vkDeviceWaitIdle(ctx->device);
	destroy_swapchain_images(w);
	gpu_buffer_fini(ctx, &w->capture_buffer);
	for (int i = 0; i < FRAMES_IN_FLIGHT; i++) {
		if (w->fences[i]) vkDestroyFence(ctx->device, w->fences[i], NULL);
		if (w->acquired[i]) vkDestroySemaphore(ctx->device, w->acquired[i], NULL);
	}
	if (w->cmds[0]) vkFreeCommandBuffers(ctx->device, ctx->command_pool, FRAMES_IN_FLIGHT, w->cmds);
	if (w->swapchain) vkDestroySwapchainKHR(ctx->device, w->swapchain, NULL);
	if (w->surface) vkDestroySurfaceKHR(ctx->instance, w->surface, NULL);
	if (w->glfw) glfwDestroyWindow(w->glfw);
	free(w);
}

static enum cv_result window_init(struct window *w, const struct window_desc *desc)
{
	struct gpu_context *ctx = w->ctx;
	glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
	glfwWindowHint(GLFW_VISIBLE, desc->hidden ? GLFW_FALSE : GLFW_TRUE);
	w->glfw = glfwCreateWindow(desc->width ? (int)desc->width : 1280, desc->height ? (int)desc->height : 720,
	                           desc->title ? desc->title : "cavr", NULL, NULL);
	if (!w->glfw) return CV_FAIL(CV_ERROR_WINDOW, "cannot open a window (see the GLFW error above)");
	glfwSetWindowUserPointer(w->glfw, w);
	glfwSetFramebufferSizeCallback(w->glfw, on_framebuffer_resize);
	glfwSetKeyCallback(w->glfw, on_key);
	glfwSetMouseButtonCallback(w->glfw, on_mouse_button);
	glfwSetCursorPosCallback(w->glfw, on_cursor);
	glfwSetScrollCallback(w->glfw, on_scroll);
	GPU_TRY(glfwCreateWindowSurface(ctx->instance, w->glfw, NULL, &w->surface));
	VkBool32 can_present = VK_FALSE;
	GPU_TRY(vkGetPhysicalDeviceSurfaceSupportKHR(ctx->physical_device, ctx->queue_family, w->surface, &can_present));
	if (!can_present)
		return CV_FAIL(CV_ERROR_UNSUPPORTED, "device '%s' cannot present to this window", ctx->properties.deviceName);
	pick_surface_format(w);
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = ctx->command_pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = FRAMES_IN_FLIGHT,
	};
	GPU_TRY(vkAllocateCommandBuffers(ctx->device, &ai, w->cmds));
	for (int i = 0; i < FRAMES_IN_FLIGHT; i++) {
		VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT};
		VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
		GPU_TRY(vkCreateFence(ctx->device, &fi, NULL, &w->fences[i]));
		GPU_TRY(vkCreateSemaphore(ctx->device, &si, NULL, &w->acquired[i]));
		GPU_NAME(ctx, VK_OBJECT_TYPE_COMMAND_BUFFER, w->cmds[i], "window frame %d", i);
		GPU_NAME(ctx, VK_OBJECT_TYPE_FENCE, w->fences[i], "window frame %d", i);
		GPU_NAME(ctx, VK_OBJECT_TYPE_SEMAPHORE, w->acquired[i], "acquired %d", i);
	}
	return build_swapchain(w);
}

enum cv_result window_create(struct gpu_context *ctx, const struct window_desc *desc, struct presenter **out)
{
	*out = NULL;
	struct window *w = calloc(1, sizeof(*w));
	if (!w) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "window");
	w->base = (struct presenter){
		.name = "window",
		.begin_frame = window_begin,
		.end_frame = window_end,
		.should_close = window_should_close,
		.destroy = window_destroy,
		.poll_input = window_poll_input,
	};
	w->ctx = ctx;
	w->vsync = desc->vsync;
	enum cv_result r = window_init(w, desc);
	if (r != CV_OK) {
		window_destroy(&w->base);
		return r;
	}
	*out = &w->base;
	return CV_OK;
}

void window_set_vsync(struct presenter *p, bool vsync)
{
	struct window *w = (struct window *)p;
	if (w->vsync == vsync) return;
	w->vsync = vsync;
	w->needs_rebuild = true;
	CV_INFO("window: vsync %s", vsync ? "on" : "off");
}

void window_set_size(struct presenter *p, uint32_t width, uint32_t height)
{
	glfwSetWindowSize(((struct window *)p)->glfw, (int)width, (int)height);
}

void window_iconify(struct presenter *p, bool iconified)
{
	struct window *w = (struct window *)p;
	if (iconified) glfwIconifyWindow(w->glfw);
	else glfwRestoreWindow(w->glfw);
}

void window_request_capture(struct presenter *p, struct cv_image *out) { ((struct window *)p)->capture_out = out; }

uint32_t window_swapchain_generation(struct presenter *p) { return ((struct window *)p)->generation; }
