#!/usr/bin/env bash
# Regenerates everything in assets/ from real data installed by package name:
#   npm:  @mediapipe/face_mesh 0.4.1657299874 (face mesh), @webxr-input-profiles/assets 1.0.20 (hands)
#   apt:  python3-skimage (astronaut.png, extracted only: its dependencies are heavy), assimp-testmodels (BVH)
# npm and PyTorch are installed here when missing (apt-get, with sudo when not root; tools/setup.sh does not
# install npm). Sources go to tools/assets/cache/ (git-ignored).  Deterministic: same sources and steps, same files.
#
#   tools/build_assets.sh [--steps N] [--minutes M] [--only NAME]
# --steps: training steps per avatar (default 2000, and 4000 for kofi, whose brow raise needs them; about 0.15 s a
# step on one core);
# --minutes: wall-time cap per training run; a run cut short checkpoints and the next run continues
# (files are exported once --steps are reached).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/tools/assets/cache"
py=/usr/bin/python3
steps="" minutes=0 only=""
while (($#)); do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "build_assets: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$cache" "$root/assets"

# npm fetches the two npm sources; tools/setup.sh does not install it, so it is installed here when needed
# (apt-get, with sudo when not root), and so is PyTorch.
need_apt=()
if [ ! -f "$cache/node_modules/@mediapipe/face_mesh/face_mesh_solution_packed_assets.data" ] ||
   [ ! -f "$cache/node_modules/@webxr-input-profiles/assets/dist/profiles/generic-hand/left.glb" ]; then
  command -v npm >/dev/null || need_apt+=(npm)
fi
$py -c "import torch, numpy" 2>/dev/null || need_apt+=(python3-torch python3-numpy)
if ((${#need_apt[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      { echo "build_assets: needs ${need_apt[*]}; install them as root: apt-get install ${need_apt[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "build_assets: installing ${need_apt[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need_apt[@]}" ||
    { echo "build_assets: could not install ${need_apt[*]} (see above)" >&2; exit 1; }
fi

# sources
if [ ! -f "$cache/node_modules/@mediapipe/face_mesh/face_mesh_solution_packed_assets.data" ] ||
   [ ! -f "$cache/node_modules/@webxr-input-profiles/assets/dist/profiles/generic-hand/left.glb" ]; then
  (cd "$cache" && npm install --no-audit --no-fund --no-save --prefix "$cache" \
     @mediapipe/face_mesh@0.4.1657299874 @webxr-input-profiles/assets@1.0.20)
fi
fetch_deb() {  # package, folder: apt-get download + dpkg -x (no root, no dependencies)
  if [ ! -d "$cache/$2" ]; then
    (cd "$cache" && rm -f "$1"_*.deb && apt-get download "$1" && dpkg -x "$1"_*.deb "$2.tmp" && mv "$2.tmp" "$2" && rm -f "$1"_*.deb)
  fi
}
fetch_deb python3-skimage skimage
[ -f /usr/share/assimp/models/BVH/01_01.bvh ] || fetch_deb assimp-testmodels assimp

cd "$root/tools/assets"
$py hands.py --out-dir "$root/assets"
for name in ana kofi ines; do
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  n=${steps:-$([ "$name" = kofi ] && echo 4000 || echo 2000)}
  $py train.py "$name" --steps "$n" --minutes "$minutes" --out-dir "$root/assets"
  if [ -f "$root/assets/$name.cavatar" ]; then
    $py performance.py "$name" --assets "$root/assets"
    $py "$root/tools/dam_reference.py" reference --avatar "$root/assets/$name.cavatar" \
        --out "$cache/$name.reference.safetensors" --codes 2 --precision f32 >/dev/null
  fi
done
# the Gaussian sample avatar, distilled from ana's mesh avatar (about 5 minutes on one core)
[ -n "$only" ] && [ "$only" != ana ] || $py gaussian.py --source "$root/assets/ana.cavatar" --out "$root/assets/ana-gs.cavatar"
du -sh "$root/assets"
# the codes tests/test_assets.c decodes and renders come from the encoders: after retraining, regenerate them, the
# goldens (look at them: CAVR_UPDATE_GOLDEN=1 ctest -R test_assets) and the sessions (tools/make_sessions.sh)
$py golden_codes.py --assets "$root/assets" --out "$root/tests/golden/avatars"
"$root/tools/make_sessions.sh"   # assets/sessions/ from the performances (builds build/cavr when missing)
