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

/* What an OpenXR runtime does with cavr's plans: creates the instance and device from them; cavr adopts both,
 * keeps the plan's features and validation, and leaves the handles to their creator. */
static void test_plans_as_a_runtime_uses_them(void)
{
	struct gpu_instance_plan ip;
	struct gpu_device_plan dp;
	CHECK(gpu_instance_plan(&(struct gpu_context_desc){0}, &ip) == CV_OK);
	VkInstance instance = VK_NULL_HANDLE;
	CHECK(vkCreateInstance(&ip.info, NULL, &instance) == VK_SUCCESS);
	if (!instance) return;
	uint32_t n = 1;
	VkPhysicalDevice pd = VK_NULL_HANDLE;
	vkEnumeratePhysicalDevices(instance, &n, &pd);
	VkDevice device = VK_NULL_HANDLE;
	CHECK(pd && gpu_device_plan(pd, false, &dp) == CV_OK);
	CHECK(pd && vkCreateDevice(pd, &dp.info, NULL, &device) == VK_SUCCESS);
	struct gpu_context *adopted = NULL;
	if (device)
		CHECK(gpu_context_create(&(struct gpu_context_desc){.adopt = {.instance = instance, .physical_device = pd,
		                                                              .device = device, .instance_plan = &ip,
		                                                              .device_plan = &dp}},
		                         &adopted) == CV_OK);
	if (adopted) {
		CHECK(adopted->validation == ip.validation && adopted->queue_family == dp.queue_family);
		float v = 5.0f, back = 0;
		struct gpu_buffer b;
		CHECK(gpu_buffer_init(adopted, &b, &(struct gpu_buffer_desc){.size = 4, .name = "planned"}) == CV_OK);
		CHECK(gpu_buffer_write(adopted, &b, 0, &v, 4) == CV_OK && gpu_buffer_read(adopted, &b, 0, &back, 4) == CV_OK);
		CHECK(back == 5.0f);
		gpu_buffer_fini(adopted, &b);
		CHECK(adopted->validation_messages == 0);
		gpu_context_destroy(&adopted);
	}
	if (device) vkDestroyDevice(device, NULL);
	vkDestroyInstance(instance, NULL);
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
	RUN(test_plans_as_a_runtime_uses_them);
	CHECK_MSG(ctx->validation_messages == 0, "%u validation messages", ctx->validation_messages);
	gpu_context_destroy(&ctx);
	return test_finish();
}
