/* xr: cavr in a headset through OpenXR (the Khronos loader; any runtime: SteamVR, Monado, Meta's, or cavr's
 * simulated one). The runtime creates the VkInstance and VkDevice from cavr's plans (XR_KHR_vulkan_enable2) and
 * cavr adopts them; the presenter hands the frame loop one stereo array image per frame with the eyes' views at
 * the predicted display time, and submits it as a projection layer.
 * Ownership: the presenter owns the XR instance, the session and the Vulkan objects the runtime made; the
 * gpu_context returned by xr_presenter_create is the presenter's and is destroyed with it. */
#ifndef CAVR_XR_H
#define CAVR_XR_H

#include "app/present.h"

struct xr_desc {
	bool validation; /* the Vulkan validation layer (also $CAVR_VALIDATION=1) */
};

enum cv_result xr_presenter_create(const struct xr_desc *desc, struct gpu_context **ctx, struct presenter **out);
/* Sessions made so far: 1, plus one for each lost session cavr recovered from (tests). */
uint32_t xr_presenter_sessions(struct presenter *p);
/* Asks the runtime to end the session (STOPPING, then EXITING); should_close turns true when it has. */
void xr_presenter_request_exit(struct presenter *p);

#endif
