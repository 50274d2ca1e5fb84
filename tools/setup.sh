#!/usr/bin/env bash
# Installs every Debian package cavr needs to build, test and regenerate its assets.
# Idempotent: packages already present are left alone. Run as root or with sudo.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build clang-14 libclang-rt-14-dev pkg-config
  # Vulkan: loader, headers, lavapipe (CPU driver), validation, shader compiler
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools glslc spirv-tools
  # windowing, math, image I/O, JSON, encryption (live meetings), the overlay's font, video export
  libglfw3-dev libcglm-dev libstb-dev libcjson-dev libsodium-dev fonts-dejavu-core ffmpeg
  # OpenXR
  libopenxr-dev libopenxr-loader1 openxr-layer-corevalidation
  # headless display for window tests
  xvfb xauth x11-apps
  # PyTorch references and their PNG I/O (run with /usr/bin/python3)
  python3-torch python3-numpy python3-pil libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages present"
fi
