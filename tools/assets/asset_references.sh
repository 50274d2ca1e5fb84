#!/usr/bin/env bash
# Test fixture for tests/test_assets.c: decodes the committed golden codes of every shipped avatar with the
# PyTorch reference (tools/dam_reference.py, float64, the file's own f16 weights) into $1/NAME.ref.safetensors.
set -euo pipefail
out=$1
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3 # Debian's interpreter, which has python3-torch
mkdir -p "$out"
for avatar in "$root"/assets/*.cavatar; do
  name=$(basename "$avatar" .cavatar)
  grep -qa '"family":"dam"' <(head -c 65536 "$avatar") || continue # the gca sample has its own tests
  codes="$root/tests/golden/avatars/$name.codes.safetensors"
  [ -f "$codes" ] || { echo "asset_references: no $codes (tools/assets/golden_codes.py writes it)" >&2; exit 1; }
  $py "$root/tools/dam_reference.py" reference --avatar "$avatar" --codes-from "$codes" --precision f64 \
    --out "$out/$name.ref.safetensors"
done
