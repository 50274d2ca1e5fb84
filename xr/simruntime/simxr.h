/* simxr: cavr's simulated OpenXR runtime, seen from a test program.
 *
 * Applications reach the runtime only through the Khronos loader (XR_RUNTIME_JSON=<build>/xr/simruntime/
 * cavr_simxr.json). A test that also links libcavr_simxr.so gets the same copy the loader opens (the dynamic
 * linker shares one library per file) and can drive it from code with the hooks below. Every hook takes the
 * runtime's lock, so it may be called from any thread; none may be called from a debug messenger callback.
 * Configuration (resolution, IPD, refresh rate, capture) and the script format are in README.md. */
#ifndef SIMXR_H
#define SIMXR_H

#include <stdint.h>

#include <openxr/openxr.h>

#define SIMXR_RUNTIME_NAME "cavr simulated runtime"
#define SIMXR_SYSTEM_NAME "cavr simulated HMD"
#define SIMXR_VERSION_MAJOR 0
#define SIMXR_VERSION_MINOR 1
#define SIMXR_VERSION_PATCH 0
#define SIMXR_MAX_IMAGE_SIZE 4096 /* swapchain images and image rects, each side */
#define SIMXR_MAX_LAYERS 16       /* composition layers per frame */
#define SIMXR_EPOCH_NS 1000000000 /* XrTime of frame 0 (script time 0) */

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces the script (text in the format of README.md) of the live instance and of every later instance,
 * in place of $CAVR_SIMXR_SCRIPT; NULL goes back to the file. 0, or -1 with the parse error on stderr. */
int simxr_set_script(const char *text);

/* Fires a script event now, as if the script had it at the current frame: "loss", "instance_loss", "exit",
 * "stop", "focus", "unfocus", "recenter". 0, or -1 for an unknown name or no instance. */
int simxr_fire(const char *event);

struct simxr_stats {
	int64_t next_frame;      /* frames xrWaitFrame has returned, over every session of the instance */
	XrTime now;              /* predicted display time of the latest frame (SIMXR_EPOCH_NS before any) */
	XrDuration period;       /* one refresh period */
	XrSessionState session_state; /* the last state queued (XR_SESSION_STATE_UNKNOWN without a session) */
	uint64_t frames_ended;   /* successful xrEndFrame calls of the current session */
	uint64_t frames_discarded;
	uint64_t depth_views;    /* projection views of the current session submitted with a valid depth info
	                            (XR_KHR_composition_layer_depth) */
	float haptic_amplitude[2];  /* last xrApplyHapticFeedback per hand (left, right); 0 after a stop */
	XrTime haptic_until[2];
};

/* What the live instance has done. 0, or -1 without an instance. */
int simxr_get_stats(struct simxr_stats *out);

#ifdef __cplusplus
}
#endif

#endif
