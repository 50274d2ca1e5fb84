#!/usr/bin/env bash
# Test fixture: builds the avatars the decoder tests use, with the PyTorch reference (tools/dam_reference.py),
# into the folder given as $1. Random weights are generated here, at test time; nothing is committed.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
tool="$here/../tools/dam_reference.py"
py=/usr/bin/python3 # Debian's interpreter, which has python3-torch
mkdir -p "$out"
cd "$out"
# small: view-conditioned, 2 reference codes
$py "$tool" make --out small.cavatar --ref small.ref.safetensors --latent 32 --texture 64 --vertices 200 \
	--init-size 4 --channels 32,16,16,8,3 --codes 3 --seed 11 --name small
# other: a second avatar file with another shape, not view-conditioned, weights stored as bf16 in the file
$py "$tool" make --out other.cavatar --ref other.ref.safetensors --latent 20 --texture 32 --vertices 120 \
	--init-size 2 --channels 8,8,8,4,3 --no-view --dtype bf16 --codes 2 --seed 12 --name other
# card: four coloured quadrants on a square, for the render test's uv orientation check
$py "$here/make_card_avatar.py" card.cavatar
# full size: Z = 256, 1024x1024 texture, 7306 vertices
$py "$tool" make --out full.cavatar --ref full.ref.safetensors --codes 1 --seed 13 --name full
# a Multiface-style checkpoint (reference computed from the checkpoint itself), converted to .cavatar
$py "$tool" make-multiface --out-dir multiface --ref multiface.ref.safetensors --latent 64 --texture 128 \
	--vertices 300 --init-size 2 --channels 64,64,32,32,16,16,3 --codes 2 --seed 14
$py "$tool" convert-multiface --checkpoint multiface/best_model.pth --vert-mean multiface/vert_mean.bin \
	--vert-var multiface/vert_var.txt --tex-mean multiface/tex_mean.png --tex-var multiface/tex_var.txt \
	--obj multiface/mesh.obj --out multiface.cavatar --name multiface
