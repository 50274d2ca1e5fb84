#!/usr/bin/env bash
# `cavr play --xr --validation` on a runtime that edits the Vulkan create infos it is given, as real runtimes do
# (the simulated runtime's edit_create_infos): cavr's plans must survive what it adds (no validation message),
# and a validation error raised while the runtime creates the device must be counted and fail the run.
set -u
cavr=$1
play() { # EDIT_MODE: runs cavr, sets out and rc
	out=$(CAVR_SIMXR_EDIT_CREATE_INFOS=$1 CAVR_SIMXR_RESOLUTION=64x64 CAVR_SIMXR_REFRESH_HZ=30 \
		"$cavr" play --xr --validation --frames 5 2>&1)
	rc=$?
}

play on
echo "$out" | grep -v '^\[' | tail -5
[ $rc -eq 0 ] || { echo "FAIL: cavr play --xr --validation exited with $rc on a runtime that edits create infos"; exit 1; }
if echo "$out" | grep -qE 'VUID|vulkan (error|warning)'; then
	echo "FAIL: validation messages with a runtime that edits create infos"
	exit 1
fi
echo "ok: no validation message when the runtime adds what real runtimes add"

play wrong
echo "$out" | grep -v '^\[' | grep -v '^ ' | tail -4 | cut -c1-200
[ $rc -ne 0 ] || { echo "FAIL: a forbidden struct added by the runtime did not fail the run"; exit 1; }
echo "$out" | grep -q 'VUID-VkDeviceCreateInfo-pNext-02830' || { echo "FAIL: no VUID-02830 from the wrong chain"; exit 1; }
echo "$out" | grep -qE 'cavr error: [0-9]+ Vulkan validation messages' ||
	{ echo "FAIL: the run failed, but not because the validation error was counted"; exit 1; }
echo "ok: a validation error inside the runtime's vkCreateDevice is counted and fails the run"
