/* Shared by the OpenXR presenter's files (xr_presenter.c, xr_input.c); not part of xr.h's interface. */
#ifndef CAVR_XR_INTERNAL_H
#define CAVR_XR_INTERNAL_H

#include <vulkan/vulkan.h>
#define XR_USE_GRAPHICS_API_VULKAN
#include <openxr/openxr.h>
#include <openxr/openxr_platform.h>

#include "hand/gesture.h"
#include "xr.h"

/* An XrResult as a cavr result, with the call named in the log. */
enum cv_result xr_check(XrInstance instance, XrResult xr, const char *what, const char *file, int line);
/* Returns from the caller when `call` fails; `owner` is anything with an `instance` member. */
#define XR_TRY(owner, call) CV_TRY(xr_check((owner)->instance, (call), #call, __FILE__, __LINE__))

/* The user's hands and controllers (xr_input.c), made per session. */
struct xr_input;
enum cv_result xr_input_create(XrInstance instance, XrSystemId system, XrSession session, bool hand_tracking,
                               struct xr_input **out);
void xr_input_destroy(struct xr_input **input);
/* This frame's hands, gestures and pointers in `space` at `time` (views: the eyes, in the same space, for hand
 * pointers); *menu_presses counts the controllers' menu clicks. Without focus everything reads as untracked. */
enum cv_result xr_input_update(struct xr_input *input, XrSpace space, XrTime time, bool focused,
                               const struct render_views *views, struct present_user *user, uint32_t *menu_presses);

#endif
