/* gpu: the Vulkan context and the few object kinds every other module builds on.
 * A context's instance and device are created by cavr (headless or for a window) or, from cavr's create infos,
 * by an OpenXR runtime (XR_KHR_vulkan_enable2, struct gpu_creator), or adopted from handles someone else made;
 * either way the rest of the engine sees the same struct gpu_context.
 * Objects here are caller-owned structs with init/fini; every Vulkan object gets a debug name.
 * Needs Vulkan 1.3 (dynamic rendering, synchronization2) and VK_KHR_push_descriptor. */
#ifndef CAVR_GPU_H
#define CAVR_GPU_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

#include "core/core.h"

/* Someone else creates the instance and the device from cavr's create infos: an OpenXR runtime
 * (xrCreateVulkanInstanceKHR, xrGetVulkanGraphicsDevice2KHR, xrCreateVulkanDeviceKHR). cavr plans both, counts
 * validation messages from the first call (its messenger's create info is chained into the instance's, and the
 * messenger is installed before the device is made), and owns and destroys what the creator returns. */
struct gpu_creator {
	void *user;
	enum cv_result (*create_instance)(void *user, const VkInstanceCreateInfo *info, VkInstance *out);
	enum cv_result (*physical_device)(void *user, VkInstance instance, VkPhysicalDevice *out);
	enum cv_result (*create_device)(void *user, VkPhysicalDevice physical_device, const VkDeviceCreateInfo *info,
	                                VkDevice *out);
};

/* The device plan (what cavr's VkDeviceCreateInfo asks for) survives what a runtime adds to it: every feature is
 * requested through its own struct (VkPhysicalDeviceMultiviewFeatures, VkPhysicalDeviceDynamicRenderingFeatures,
 * ...), never through VkPhysicalDeviceVulkan11/12/13Features, and no struct type twice. Runtimes add the standalone
 * structs they need (Monado: VkPhysicalDeviceTimelineSemaphoreFeatures unless the chain has one), which the
 * specification forbids beside a Vulkan1xFeatures struct (VUID-VkDeviceCreateInfo-pNext-02829, -02830, -06532),
 * and nothing can be taken out of a device once the runtime has made it. */

struct gpu_context_desc {
	const char *device_name;   /* substring of the device name; NULL: $CAVR_DEVICE, else the best device */
	bool validation;           /* Khronos validation layer; also on when $CAVR_VALIDATION=1 */
	const char *const *instance_extensions; /* extra ones, e.g. from glfwGetRequiredInstanceExtensions */
	uint32_t instance_extension_count;
	bool present;              /* the device must be able to present (window swapchains) */
	const struct gpu_creator *creator; /* NULL: cavr creates the instance and device itself */
	/* Adopting: when device is set, cavr uses these handles, made by someone else from their own create infos,
	 * and never destroys them; only the queue family is known of them. */
	struct {
		VkInstance instance;
		VkPhysicalDevice physical_device;
		VkDevice device;
		uint32_t queue_family;
	} adopt;
};

struct gpu_context {
	VkInstance instance;
	VkPhysicalDevice physical_device;
	VkDevice device;
	VkQueue queue; /* one queue for graphics, compute, transfer and (if asked) present */
	uint32_t queue_family;
	VkCommandPool command_pool;
	VkPhysicalDeviceProperties properties;
	VkPhysicalDeviceMemoryProperties memory_properties;
	bool owns_handles;
	bool validation;
	bool has_debug_utils;
	bool has_sampler_anisotropy;
	bool has_timestamps;
	bool has_float16;       /* shaderFloat16 + 16-bit storage: f16 weights read natively */
	bool has_multiview;     /* stereo in one pass; false where the driver gets it wrong (see gpu_context.c) */
	VkDebugUtilsMessengerEXT messenger;
	uint32_t validation_messages; /* validation errors and warnings seen; tests require 0 */
	PFN_vkSetDebugUtilsObjectNameEXT set_object_name;
	PFN_vkCmdPushDescriptorSetKHR cmd_push_descriptor_set;
};

enum cv_result gpu_context_create(const struct gpu_context_desc *desc, struct gpu_context **out);
void gpu_context_destroy(struct gpu_context **ctx);
/* Validation messages of every context of this process so far, those raised while contexts were destroyed (objects
 * left alive at vkDestroyDevice) included: a command compares it before and after its run, teardown and all. */
uint32_t gpu_validation_messages_total(void);
/* Prints every Vulkan device this machine offers (for `cavr devices` and error messages). */
enum cv_result gpu_list_devices(void);

/* Names a Vulkan object for validation messages and debuggers; a no-op without debug utils. */
void gpu_set_name(struct gpu_context *ctx, VkObjectType type, uint64_t handle, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define GPU_NAME(ctx, type, handle, ...) gpu_set_name((ctx), (type), (uint64_t)(handle), __VA_ARGS__)

enum cv_result gpu_check(VkResult vr, const char *what, const char *file, int line);
#define GPU_CHECK(call) gpu_check((call), #call, __FILE__, __LINE__)
#define GPU_TRY(call) CV_TRY(GPU_CHECK(call))

/* ---- buffers ---- */
struct gpu_buffer {
	VkBuffer buffer;
	VkDeviceMemory memory;
	VkDeviceSize size;
	void *mapped; /* non-NULL for host-visible buffers */
};

struct gpu_buffer_desc {
	VkDeviceSize size;
	VkBufferUsageFlags usage;
	bool host_visible; /* mapped, coherent; otherwise device-local */
	const char *name;
};

enum cv_result gpu_buffer_init(struct gpu_context *ctx, struct gpu_buffer *buf, const struct gpu_buffer_desc *desc);
void gpu_buffer_fini(struct gpu_context *ctx, struct gpu_buffer *buf);
/* A texel-buffer view of the whole buffer (destroy with vkDestroyBufferView); checks the device's limits. */
enum cv_result gpu_buffer_view_create(struct gpu_context *ctx, const struct gpu_buffer *buf, VkFormat format,
                                      const char *name, VkBufferView *out);
/* Copies through a staging buffer when the buffer is not host-visible; waits for completion. */
enum cv_result gpu_buffer_write(struct gpu_context *ctx, struct gpu_buffer *buf, VkDeviceSize offset,
                                const void *data, VkDeviceSize size);
/* A device-local buffer made and filled with `data` in one go (static meshes). */
enum cv_result gpu_buffer_upload(struct gpu_context *ctx, struct gpu_buffer *buf, VkBufferUsageFlags usage,
                                 const void *data, VkDeviceSize size, const char *name);
enum cv_result gpu_buffer_read(struct gpu_context *ctx, struct gpu_buffer *buf, VkDeviceSize offset,
                               void *data, VkDeviceSize size);

/* ---- images ---- */
struct gpu_image {
	VkImage image;
	VkDeviceMemory memory;
	VkImageView view;
	VkFormat format;
	VkExtent2D extent;
	uint32_t mip_levels;
	VkSampleCountFlagBits samples;
	VkImageAspectFlags aspect;
	uint32_t layers; /* > 1: a 2D array (one layer per view for multiview) */
};

struct gpu_image_desc {
	uint32_t width, height;
	VkFormat format;
	VkImageUsageFlags usage;
	uint32_t mip_levels;           /* 0 means 1 */
	uint32_t layers;               /* 0 means 1 */
	VkSampleCountFlagBits samples; /* 0 means 1 */
	VkImageCreateFlags flags;      /* e.g. MUTABLE_FORMAT for a second view of another format */
	const char *name;
};

enum cv_result gpu_image_init(struct gpu_context *ctx, struct gpu_image *img, const struct gpu_image_desc *desc);
void gpu_image_fini(struct gpu_context *ctx, struct gpu_image *img);
/* Another 2D view of an image: `format` (compatible, MUTABLE_FORMAT images) over mips base..base+count-1 of one
 * layer. */
enum cv_result gpu_image_view_create(struct gpu_context *ctx, const struct gpu_image *img, VkFormat format,
                                     uint32_t base_mip, uint32_t mip_count, uint32_t layer, const char *name,
                                     VkImageView *out);
/* Reads mip 0 of one layer of a 4-byte-per-texel colour image in `layout` into tightly packed rows. */
enum cv_result gpu_image_read(struct gpu_context *ctx, struct gpu_image *img, uint32_t layer, VkImageLayout layout,
                              void *pixels);
/* A full-image layout transition for all mips (synchronization2, conservative stages). */
void gpu_cmd_image_barrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout from,
                           VkImageLayout to);

/* Writes a small buffer (<= 64 KiB) inside the command stream, ordered after earlier reads in `readers` stages
 * and before later ones; call outside a rendering pass. */
void gpu_cmd_update_buffer(VkCommandBuffer cmd, struct gpu_buffer *buf, const void *data, VkDeviceSize size,
                           VkPipelineStageFlags2 readers);
/* Makes compute shader writes visible to later compute, graphics (vertex, index, sampled) and transfer reads. */
void gpu_cmd_compute_barrier(VkCommandBuffer cmd);
/* Fills mips 1.. of a colour image from mip 0 by linear blits; mip 0 is in `from`, all mips end in `to`. */
void gpu_cmd_generate_mips(VkCommandBuffer cmd, const struct gpu_image *img, VkImageLayout from, VkImageLayout to);

/* ---- one-shot command submission ---- */
enum cv_result gpu_cmd_begin(struct gpu_context *ctx, VkCommandBuffer *cmd);
/* Ends, submits, waits on a fence and frees the command buffer. */
enum cv_result gpu_cmd_submit_wait(struct gpu_context *ctx, VkCommandBuffer cmd);

/* ---- pipelines ---- */
/* Binding i of set 0 has descriptor type types[i]; resources are pushed per dispatch/draw. */
struct gpu_pipeline {
	VkPipeline pipeline;
	VkPipelineLayout layout;
	VkDescriptorSetLayout set_layout;
	VkPipelineBindPoint bind_point;
	uint32_t binding_count;
	VkDescriptorType binding_types[16];
};

struct gpu_shader {
	const uint32_t *code;
	size_t size; /* bytes */
};
#define GPU_SHADER(array) ((struct gpu_shader){(array), sizeof(array)})

struct gpu_pipeline_layout_desc {
	const VkDescriptorType *bindings;
	uint32_t binding_count;
	uint32_t push_constant_size;
	const uint32_t *spec_constants; /* constant_id i takes spec_constants[i] (32-bit) */
	uint32_t spec_constant_count;
	const char *name;
};

struct gpu_compute_pipeline_desc {
	struct gpu_shader shader;
	struct gpu_pipeline_layout_desc layout;
};

struct gpu_vertex_attribute {
	VkFormat format;
	uint32_t offset;
};

struct gpu_graphics_pipeline_desc {
	struct gpu_shader vertex, fragment;
	struct gpu_pipeline_layout_desc layout;
	uint32_t vertex_stride;
	const struct gpu_vertex_attribute *attributes; /* location i = attributes[i] */
	uint32_t attribute_count;
	VkFormat color_format;
	VkFormat depth_format;         /* VK_FORMAT_UNDEFINED: no depth */
	VkSampleCountFlagBits samples; /* 0 means 1 */
	VkCullModeFlags cull_mode;
	bool blend;                    /* premultiplied alpha over */
	bool overlay;                  /* drawn over everything: no depth test or write (the pass may have depth) */
	uint32_t view_mask;            /* multiview: bit per view, 0 for a single view */
};

enum cv_result gpu_pipeline_compute_init(struct gpu_context *ctx, struct gpu_pipeline *p,
                                         const struct gpu_compute_pipeline_desc *desc);
enum cv_result gpu_pipeline_graphics_init(struct gpu_context *ctx, struct gpu_pipeline *p,
                                          const struct gpu_graphics_pipeline_desc *desc);
void gpu_pipeline_fini(struct gpu_context *ctx, struct gpu_pipeline *p);

/* One resource per binding, in binding order: a buffer (whole range), a texel buffer view, or an image view
 * (+ sampler). */
struct gpu_binding {
	const struct gpu_buffer *buffer;
	VkBufferView texel_view;
	VkImageView image_view;
	VkImageLayout image_layout;
	VkSampler sampler;
};
void gpu_cmd_bind(struct gpu_context *ctx, VkCommandBuffer cmd, const struct gpu_pipeline *p,
                  const struct gpu_binding *bindings, const void *push_constants, uint32_t push_size);

/* ---- GPU timestamps ---- */
struct gpu_timer {
	VkQueryPool pool;
	uint32_t capacity;
	double ns_per_tick;
};
enum cv_result gpu_timer_init(struct gpu_context *ctx, struct gpu_timer *t, uint32_t capacity, const char *name);
void gpu_timer_fini(struct gpu_context *ctx, struct gpu_timer *t);
void gpu_cmd_timer_reset(VkCommandBuffer cmd, struct gpu_timer *t);
void gpu_cmd_timer_mark(VkCommandBuffer cmd, struct gpu_timer *t, uint32_t index);
/* Milliseconds between marks `from` and `to` of a finished submission. */
enum cv_result gpu_timer_elapsed_ms(struct gpu_context *ctx, struct gpu_timer *t, uint32_t from, uint32_t to,
                                    double *ms);

#endif
