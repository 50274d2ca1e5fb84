/* GPU tests on the real Vulkan loader and driver (lavapipe without a GPU), validation layer on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"
#include "test.h"

static const uint32_t saxpy_comp[] =
#include "test/saxpy.comp.inc"
;

static struct gpu_context *ctx;

static void test_context(void)
{
	CHECK(ctx->device && ctx->queue && ctx->command_pool);
	CHECK(ctx->validation); /* CTest sets CAVR_VALIDATION=1 */
	CHECK(ctx->has_timestamps);
}

static void test_buffer_roundtrip(void)
{
	float data[1000], back[1000];
	for (int i = 0; i < 1000; i++) data[i] = (float)i * 0.5f;
	for (int host = 0; host < 2; host++) {
		struct gpu_buffer b;
		CHECK(gpu_buffer_init(ctx, &b, &(struct gpu_buffer_desc){.size = sizeof(data), .host_visible = host,
		                                                        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
		                                                        .name = "roundtrip"}) == CV_OK);
		CHECK(gpu_buffer_write(ctx, &b, 0, data, sizeof(data)) == CV_OK);
		memset(back, 0, sizeof(back));
		CHECK(gpu_buffer_read(ctx, &b, 0, back, sizeof(back)) == CV_OK);
		CHECK(!memcmp(data, back, sizeof(data)));
		CHECK(gpu_buffer_write(ctx, &b, 8, data, sizeof(data)) == CV_ERROR_INVALID_ARGUMENT);
		CHECK(gpu_buffer_read(ctx, &b, sizeof(data) + 1, back, 0) == CV_ERROR_INVALID_ARGUMENT);
		gpu_buffer_fini(ctx, &b);
	}
	struct gpu_buffer empty;
	CHECK(gpu_buffer_init(ctx, &empty, &(struct gpu_buffer_desc){.size = 0, .name = "empty"}) == CV_ERROR_INVALID_ARGUMENT);
}

/* saxpy against the CPU, with a count that is not a multiple of the workgroup, timed with timestamps. */
static void test_compute_and_timer(void)
{
	enum { N = 100003 };
	float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++) {
		x[i] = sinf((float)i);
		y[i] = (float)(i % 17);
	}
	struct gpu_buffer bx, by;
	struct gpu_buffer_desc d = {.size = N * sizeof(float), .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, .name = "x"};
	CHECK(gpu_buffer_init(ctx, &bx, &d) == CV_OK);
	d.name = "y";
	CHECK(gpu_buffer_init(ctx, &by, &d) == CV_OK);
	CHECK(gpu_buffer_write(ctx, &bx, 0, x, d.size) == CV_OK);
	CHECK(gpu_buffer_write(ctx, &by, 0, y, d.size) == CV_OK);

	const uint32_t workgroup = 64;
	const VkDescriptorType types[2] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER};
	struct gpu_pipeline p;
	CHECK(gpu_pipeline_compute_init(ctx, &p, &(struct gpu_compute_pipeline_desc){
		.shader = GPU_SHADER(saxpy_comp),
		.layout = {.bindings = types, .binding_count = 2, .push_constant_size = 8, .spec_constants = &workgroup,
		           .spec_constant_count = 1, .name = "saxpy"}}) == CV_OK);
	struct gpu_timer timer;
	CHECK(gpu_timer_init(ctx, &timer, 2, "saxpy") == CV_OK);
	VkCommandBuffer cmd;
	CHECK(gpu_cmd_begin(ctx, &cmd) == CV_OK);
	gpu_cmd_timer_reset(cmd, &timer);
	gpu_cmd_timer_mark(cmd, &timer, 0);
	struct {
		float a;
		uint32_t n;
	} push = {2.5f, N};
	gpu_cmd_bind(ctx, cmd, &p, (struct gpu_binding[]){{.buffer = &bx}, {.buffer = &by}}, &push, sizeof(push));
	vkCmdDispatch(cmd, (N + workgroup - 1) / workgroup, 1, 1);
	gpu_cmd_timer_mark(cmd, &timer, 1);
	CHECK(gpu_cmd_submit_wait(ctx, cmd) == CV_OK);
	CHECK(gpu_buffer_read(ctx, &by, 0, out, d.size) == CV_OK);
	int wrong = 0;
	for (int i = 0; i < N; i++) wrong += out[i] != 2.5f * x[i] + y[i];
	CHECK_MSG(wrong == 0, "%d of %d results differ", wrong, N);
	double ms = -1;
	CHECK(gpu_timer_elapsed_ms(ctx, &timer, 0, 1, &ms) == CV_OK);
	CHECK_MSG(ms > 0 && ms < 60000, "timer says %f ms", ms);
	CHECK(gpu_timer_elapsed_ms(ctx, &timer, 0, 2, &ms) == CV_ERROR_INVALID_ARGUMENT);
	gpu_timer_fini(ctx, &timer);
	gpu_pipeline_fini(ctx, &p);
	gpu_buffer_fini(ctx, &bx);
	gpu_buffer_fini(ctx, &by);
	free(x);
	free(y);
	free(out);
}

/* A device that does not exist (or cannot run cavr) is a clear error, not a crash. */
static void test_missing_device(void)
{
	struct gpu_context *other = (void *)1;
	CHECK(gpu_context_create(&(struct gpu_context_desc){.device_name = "no such GPU 9000"}, &other) ==
	      CV_ERROR_UNSUPPORTED);
	CHECK(other == NULL);
	gpu_context_destroy(&other); /* destroying NULL is fine */
}

/* Adopting handles (as the OpenXR path does) yields a working context that leaves them alone. */
static void test_adopt(void)
{
	struct gpu_context *adopted = NULL;
	CHECK(gpu_context_create(&(struct gpu_context_desc){.adopt = {.instance = ctx->instance,
	                                                              .physical_device = ctx->physical_device,
	                                                              .device = ctx->device,
	                                                              .queue_family = ctx->queue_family}},
	                         &adopted) == CV_OK);
	CHECK(adopted && !adopted->owns_handles && adopted->queue == ctx->queue);
	float v = 3.0f, back = 0;
	struct gpu_buffer b;
	CHECK(gpu_buffer_init(adopted, &b, &(struct gpu_buffer_desc){.size = 4, .name = "adopted"}) == CV_OK);
	CHECK(gpu_buffer_write(adopted, &b, 0, &v, 4) == CV_OK && gpu_buffer_read(adopted, &b, 0, &back, 4) == CV_OK);
	CHECK(back == 3.0f);
	gpu_buffer_fini(adopted, &b);
	gpu_context_destroy(&adopted);
	CHECK(adopted == NULL);
}

/* A creator that does what an OpenXR runtime does with cavr's create infos: creates the instance and device
 * from them, adding to the device's chain what Monado adds (a timeline semaphore struct in front), and, when
 * asked, something the specification forbids. */
struct runtime {
	bool wrong_instance, wrong_device;
	bool messenger_chained, device_chain_ok;
};

static bool chain_has(const void *next, VkStructureType type)
{
	for (const VkBaseInStructure *b = next; b; b = b->pNext)
		if (b->sType == type) return true;
	return false;
}

static enum cv_result runtime_instance(void *user, const VkInstanceCreateInfo *info, VkInstance *out)
{
	struct runtime *rt = user;
	rt->messenger_chained = chain_has(info->pNext, VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT);
	VkInstanceCreateInfo ci = *info;
	/* a device struct in an instance chain: VUID-VkInstanceCreateInfo-pNext-pNext */
	VkPhysicalDeviceFeatures2 wrong = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
	                                   .pNext = (void *)ci.pNext};
	if (rt->wrong_instance) ci.pNext = &wrong;
	return GPU_CHECK(vkCreateInstance(&ci, NULL, out));
}

static enum cv_result runtime_physical_device(void *user, VkInstance instance, VkPhysicalDevice *out)
{
	(void)user;
	uint32_t n = 1;
	VkResult vr = vkEnumeratePhysicalDevices(instance, &n, out);
	return vr == VK_SUCCESS || vr == VK_INCOMPLETE ? CV_OK : GPU_CHECK(vr);
}

static enum cv_result runtime_device(void *user, VkPhysicalDevice pd, const VkDeviceCreateInfo *info, VkDevice *out)
{
	struct runtime *rt = user;
	/* the rule in gpu.h: no Vulkan1xFeatures struct, no struct type twice */
	rt->device_chain_ok = true;
	for (const VkBaseInStructure *b = info->pNext; b; b = b->pNext)
		rt->device_chain_ok &= b->sType != VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES &&
		                       b->sType != VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES &&
		                       b->sType != VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES &&
		                       !chain_has(b->pNext, b->sType);
	VkDeviceCreateInfo ci = *info;
	VkPhysicalDeviceTimelineSemaphoreFeatures timeline = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES, .pNext = (void *)ci.pNext,
		.timelineSemaphore = VK_TRUE};
	if (!chain_has(ci.pNext, timeline.sType)) ci.pNext = &timeline;
	/* beside the timeline struct: VUID-VkDeviceCreateInfo-pNext-02830 */
	VkPhysicalDeviceVulkan12Features wrong = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
	                                          .pNext = (void *)ci.pNext};
	if (rt->wrong_device) ci.pNext = &wrong;
	return GPU_CHECK(vkCreateDevice(pd, &ci, NULL, out));
}

static uint32_t create_through(struct runtime *rt)
{
	const struct gpu_creator creator = {.user = rt,
	                                    .create_instance = runtime_instance,
	                                    .physical_device = runtime_physical_device,
	                                    .create_device = runtime_device};
	struct gpu_context *made = NULL;
	CHECK(gpu_context_create(&(struct gpu_context_desc){.creator = &creator}, &made) == CV_OK);
	if (!made) return UINT32_MAX;
	CHECK(made->owns_handles && made->validation && made->has_debug_utils);
	float v = 5.0f, back = 0;
	struct gpu_buffer b;
	CHECK(gpu_buffer_init(made, &b, &(struct gpu_buffer_desc){.size = 4, .name = "created"}) == CV_OK);
	CHECK(gpu_buffer_write(made, &b, 0, &v, 4) == CV_OK && gpu_buffer_read(made, &b, 0, &back, 4) == CV_OK);
	CHECK(back == 5.0f);
	gpu_buffer_fini(made, &b);
	uint32_t messages = made->validation_messages;
	gpu_context_destroy(&made); /* also the creator's instance and device */
	return messages;
}

/* Validation watches the creator's work from vkCreateInstance on: a clean run has no message, a forbidden
 * struct added inside the creator's vkCreateInstance or vkCreateDevice is counted in the context. */
static void test_creator(void)
{
	struct runtime rt = {0};
	CHECK(create_through(&rt) == 0);
	CHECK(rt.messenger_chained && rt.device_chain_ok);
	enum cv_log_level level = cv_log_get_level();
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* the expected messages */
	rt = (struct runtime){.wrong_instance = true};
	uint32_t instance_messages = create_through(&rt);
	rt = (struct runtime){.wrong_device = true};
	uint32_t device_messages = create_through(&rt);
	cv_log_set_level(level);
	CHECK_MSG(instance_messages > 0 && instance_messages != UINT32_MAX, "%u", instance_messages);
	CHECK_MSG(device_messages > 0 && device_messages != UINT32_MAX, "%u", device_messages);
}

/* What validation says while a context is destroyed counts too: a buffer left alive at vkDestroyDevice. */
static void test_teardown_messages(void)
{
	struct gpu_context *c = NULL;
	CHECK(gpu_context_create(&(struct gpu_context_desc){.validation = true}, &c) == CV_OK);
	if (!c) return;
	VkBuffer leaked = VK_NULL_HANDLE;
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 16,
	                         .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
	CHECK(vkCreateBuffer(c->device, &bi, NULL, &leaked) == VK_SUCCESS);
	uint32_t before = gpu_validation_messages_total();
	CHECK(c->validation_messages == 0);
	enum cv_log_level level = cv_log_get_level();
	cv_log_set_level((enum cv_log_level)(CV_LOG_ERROR + 1)); /* the expected message */
	gpu_context_destroy(&c);
	cv_log_set_level(level);
	CHECK_MSG(gpu_validation_messages_total() > before, "the leaked buffer went unreported");
}

int main(void)
{
	if (gpu_context_create(&(struct gpu_context_desc){0}, &ctx) != CV_OK) {
		fprintf(stderr, "no usable Vulkan device\n");
		return EXIT_FAILURE;
	}
	RUN(test_context);
	RUN(test_buffer_roundtrip);
	RUN(test_compute_and_timer);
	RUN(test_missing_device);
	RUN(test_adopt);
	RUN(test_creator);
	RUN(test_teardown_messages);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
