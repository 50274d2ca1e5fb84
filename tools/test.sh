#!/usr/bin/env bash
# Builds cavr from a clean tree with CMake's default generator (Unix Makefiles; about 90 s on 2 cores), since
# generators differ (Ninja makes output folders, Makefiles do not); then builds cavr twice more and runs the whole
# test suite on each build:
#   1. gcc, -Werror: every test, the window test under an Xvfb this script starts;
#   2. clang-14 with AddressSanitizer + UndefinedBehaviorSanitizer, -Werror: every test again.
# Vulkan runs on whatever device is found (lavapipe without a GPU), with the validation layer on.
# Usage: tools/test.sh [ctest arguments...], e.g. tools/test.sh -R golden
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)

# A private display and runtime dir for the window tests; stopped on exit.
export XDG_RUNTIME_DIR=$(mktemp -d /tmp/cavr-xdg.XXXXXX)
display_number=$((90 + RANDOM % 400))
Xvfb ":$display_number" -screen 0 1280x1024x24 -nolisten tcp >"$XDG_RUNTIME_DIR/xvfb.log" 2>&1 &
xvfb_pid=$!
trap 'kill $xvfb_pid 2>/dev/null; rm -rf "$XDG_RUNTIME_DIR"' EXIT
export DISPLAY=":$display_number"
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display_number" ] && break; sleep 0.1; done

run_suite() { # NAME BUILD_DIR CMAKE_ARGS...
	local name=$1 dir=$2
	shift 2
	echo "== $name: configure and build in $dir"
	cmake -S "$root" -B "$dir" -G Ninja -DCAVR_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j "$jobs"
	echo "== $name: tests"
	(cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}")
}

ctest_args=("$@")
echo "== default generator: configure and build in a clean build/ci-make"
rm -rf build/ci-make # a clean tree: that is where missing output folders show
cmake -S "$root" -B build/ci-make -DCAVR_WERROR=ON >/dev/null
cmake --build build/ci-make -j "$jobs" >/dev/null
run_suite "gcc" build/ci-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Sanitizers: leaks inside the Vulkan driver, the validation layer and Xlib are suppressed by
# tests/lsan.supp (library names only, never cavr code).
ASAN_OPTIONS=detect_leaks=1 run_suite "clang-14 + ASan/UBSan" build/ci-asan -DCMAKE_C_COMPILER=clang-14 \
	-DCMAKE_BUILD_TYPE=Debug -DCAVR_SANITIZE=ON
