#!/usr/bin/python3
"""PyTorch reference for cavr's Deep Appearance Model (DAM) decoder.

Writes `.cavatar` files (engine/avatar/cavatar-format.md) and safetensors files of
expected decoder outputs, converts Multiface-style DeepAppearanceVAE checkpoints, and
measures PyTorch's CPU decode time.  Needs /usr/bin/python3 (Debian's python3-torch,
python3-numpy and python3-pil); nothing else.

Subcommands (see `dam_reference.py SUBCOMMAND --help`):
  make               random-weight DAM -> .cavatar + reference outputs
  reference          decode codes with a .cavatar's own (folded) tensors -> reference outputs
  compare            compare two reference-output files (exit 1 when they differ)
  make-multiface     synthetic Multiface-style checkpoint directory + its own reference outputs
  convert-multiface  Multiface checkpoint + statistics + .obj -> .cavatar
  bench              PyTorch CPU time of one decode (prints pytorch_cpu_decode_ms=<ms>)

Everything is deterministic: the same arguments give byte-identical files.
"""

import argparse
import sys

from cavrpy import dam, multiface, tool
from cavrpy import safetensors as st

PROG = "dam_reference"


def add_shape_args(p, multiface=False):
    p.add_argument("--latent", type=tool.positive_int, default=256, metavar="Z",
                   help="latent code size Z (default 256)")
    p.add_argument("--texture", type=tool.positive_int, default=1024, metavar="T",
                   help="texture side T (default 1024)")
    p.add_argument("--vertices", type=tool.positive_int, default=7306, metavar="V",
                   help="vertex count V (default 7306)")
    p.add_argument("--init-size", type=tool.positive_int, default=None if multiface else 4, metavar="S0",
                   help=("side of the first texture grid (default: 4 when T = 4*4^k, else 2)" if multiface
                         else "side of the first texture grid (default 4)"))
    p.add_argument("--channels", metavar="C0,C1,...",
                   help="C0 then each up-convolution's output channels, last 3; T must equal "
                        "S0*2^(count-1) (default: Z,Z,64,64,32,32,16,16,3 trimmed to the needed count)")


def build_parser():
    ap = argparse.ArgumentParser(
        prog="dam_reference.py",
        description="PyTorch reference for cavr's Deep Appearance Model decoder: writes .cavatar "
                    "files and expected outputs, converts Multiface checkpoints, benchmarks.",
        epilog="Run with /usr/bin/python3.  Deterministic: same arguments, byte-identical files.")
    sub = ap.add_subparsers(dest="cmd", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("make", help="random-weight DAM -> .cavatar + reference outputs",
                       description="Build a weight-normalised DAM decoder with random weights; write "
                                   "it (weight norm folded) as a .cavatar and write reference outputs "
                                   "for --codes random codes and views (computed in float64).")
    p.add_argument("--out", required=True, metavar="PATH.cavatar")
    p.add_argument("--ref", required=True, metavar="PATH.safetensors")
    add_shape_args(p)
    p.add_argument("--no-view", action="store_true", help="decoder without view conditioning")
    p.add_argument("--dtype", choices=sorted(st.STORAGE_DTYPES), default="f32",
                   help="storage dtype of the dec.* tensors (default f32); the reference uses the "
                        "weights as rounded to it")
    p.add_argument("--codes", type=tool.positive_int, default=3, metavar="N", help="reference codes (default 3)")
    p.add_argument("--seed", type=tool.seed, default=1)
    p.add_argument("--name", help="avatar name metadata (default random-dam-seed<SEED>)")
    p.add_argument("--vert-std", type=float, default=0.005, help="mesh.vert_std in metres (default 0.005)")
    p.add_argument("--tex-std", type=float, default=0.15, help="tex.std (default 0.15)")
    p.set_defaults(func=dam.cmd_make)

    p = sub.add_parser("reference", help="decode with a .cavatar's own tensors -> reference outputs",
                       description="Decode codes with a module built from the .cavatar's folded tensors "
                                   "(as stored, any weight dtype) and write reference outputs.")
    p.add_argument("--avatar", required=True, metavar="PATH.cavatar")
    p.add_argument("--out", required=True, metavar="PATH.safetensors")
    p.add_argument("--codes-from", metavar="REF.safetensors",
                   help="take codes and views from this reference file (else random, see --codes/--seed)")
    p.add_argument("--codes", type=tool.positive_int, default=3, metavar="N")
    p.add_argument("--seed", type=tool.seed, default=1)
    p.add_argument("--precision", choices=["f64", "f32"], default="f64",
                   help="arithmetic precision (default f64)")
    p.set_defaults(func=dam.cmd_reference)

    p = sub.add_parser("compare", help="compare two reference-output files",
                       description="Per tensor: pass when max|A-B| <= atol + rtol * max|B|.  "
                                   "Exit 1 when any tensor fails.")
    p.add_argument("a", metavar="A.safetensors")
    p.add_argument("b", metavar="B.safetensors", help="the reference (scale of the tolerance)")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--tensors", help="comma list (default codes,views,vertices,textures)")
    p.set_defaults(func=dam.cmd_compare)

    p = sub.add_parser("make-multiface", help="synthetic Multiface-style checkpoint directory + reference",
                       description="Write best_model.pth (Multiface key names, enc.* and cc.* stand-ins), "
                                   "vert_mean.bin, vert_var.txt, tex_mean.png|npy, tex_var.txt and "
                                   "mesh.obj into --out-dir, and reference outputs computed directly "
                                   "from the state_dict (weight norm at run time, bottom-up texture "
                                   "flipped to image row order, vertices in metres).")
    p.add_argument("--out-dir", required=True, metavar="DIR")
    p.add_argument("--ref", metavar="PATH.safetensors", help="default DIR/reference.safetensors")
    add_shape_args(p, multiface=True)
    p.add_argument("--codes", type=tool.positive_int, default=3, metavar="N")
    p.add_argument("--seed", type=tool.seed, default=1)
    p.add_argument("--tex-format", choices=["png", "npy"], default="png")
    p.add_argument("--units-scale", type=float, default=0.001,
                   help="metres per capture unit used for the reference (default 0.001, mm)")
    p.add_argument("--ddp-prefix", action="store_true",
                   help="prefix every key with module. (as DistributedDataParallel saves)")
    p.add_argument("--wrap", choices=["none", "state_dict", "model"], default="none",
                   help="store the state_dict bare (default) or under this key")
    p.add_argument("--avatar-name", default="multiface.cavatar",
                   help="value of the reference's avatar metadata (default multiface.cavatar)")
    p.set_defaults(func=multiface.cmd_make_multiface)

    p = sub.add_parser("convert-multiface", help="Multiface checkpoint -> .cavatar",
                       description="Convert a Multiface DeepAppearanceVAE checkpoint (base or 'non' "
                                   "architecture) into a .cavatar: infers Z, T, V and channels, folds "
                                   "weight norm and the bottom-up texture flip into the weights, "
                                   "scales vertices to metres, colours to 0..1, flips OBJ v.")
    p.add_argument("--checkpoint", required=True, metavar="best_model.pth",
                   help="state_dict (bare, under 'state_dict' or 'model'; a 'module.' prefix is removed)")
    p.add_argument("--vert-mean", required=True, metavar="vert_mean.bin", help="float32, V*3")
    p.add_argument("--vert-var", required=True, metavar="vert_var.txt", help="one number: vertex variance")
    p.add_argument("--tex-mean", required=True, metavar="tex_mean.png",
                   help=".png (8/16-bit) or .npy [T,T,3] in 0..255, image row order")
    p.add_argument("--tex-var", required=True, metavar="tex_var.txt", help="one number: texture variance (0..255 units)")
    p.add_argument("--obj", required=True, metavar="mesh.obj", help="topology: v, vt, f v/vt lines")
    p.add_argument("--units-scale", type=float, default=0.001,
                   help="metres per capture unit (default 0.001: millimetres)")
    p.add_argument("--out", required=True, metavar="PATH.cavatar")
    p.add_argument("--dtype", choices=sorted(st.STORAGE_DTYPES), default="f32")
    p.add_argument("--name", help="avatar name metadata (default: the checkpoint's directory name)")
    p.set_defaults(func=multiface.cmd_convert_multiface)

    p = sub.add_parser("bench", help="PyTorch CPU decode time (prints pytorch_cpu_decode_ms=<ms>)",
                       description="Time one decode (mesh + texture + de-normalisation) in float32 with "
                                   "folded weights: --warmup runs, then the median of --repeat runs.  "
                                   "Only the result line goes to stdout.")
    p.add_argument("--avatar", metavar="PATH.cavatar", help="time this file (else a random model of the given shape)")
    add_shape_args(p)
    p.add_argument("--no-view", action="store_true")
    p.add_argument("--threads", type=tool.positive_int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--batch", type=tool.positive_int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeat", type=tool.positive_int, default=5)
    p.add_argument("--seed", type=tool.seed, default=1)
    p.set_defaults(func=dam.cmd_bench)
    return ap


def main(argv=None):
    return tool.run(build_parser().parse_args(argv), PROG)


if __name__ == "__main__":
    sys.exit(main())
