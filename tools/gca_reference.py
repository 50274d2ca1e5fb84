#!/usr/bin/python3
"""PyTorch reference for cavr's Gaussian codec avatar decoder (family `gca`,
engine/avatar/cavatar-format.md).

Subcommands:
  make         random-weight gca decoder -> .cavatar + reference Gaussians
  reference    decode codes with a .cavatar's own tensors -> reference Gaussians
  splat-scene  a random Gaussian scene + cameras + images from the CPU reference rasteriser (splat_render)

The reference file holds `codes` [N, Z], `views` [N, 3] and `gaussians` [N, G*G, 14] f32, each row
position xyz, opacity, rotation wxyz (unit), scale xyz (metres), colour rgb (sRGB-encoded 0..1).
Run with /usr/bin/python3 (Debian's python3-torch).  Deterministic for the same arguments.
"""

import argparse
import sys

from cavrpy import gca, splat, tool
from cavrpy import safetensors as st


def main(argv=None):
    ap = argparse.ArgumentParser(prog="gca_reference", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make", help="random-weight gca avatar + reference Gaussians")
    p.add_argument("--out", required=True)
    p.add_argument("--ref")
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--init-size", type=int, default=4)
    p.add_argument("--geometry-channels", default="32,16,16,16,11")
    p.add_argument("--colour-channels", default="32,16,16,8,3")
    p.add_argument("--no-view", action="store_true")
    p.add_argument("--dtype", choices=sorted(st.STORAGE_DTYPES), default="f32")
    p.add_argument("--codes", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--offset-scale", type=float, default=0.005)
    p.add_argument("--name")
    p.set_defaults(func=gca.cmd_make)
    p = sub.add_parser("reference", help="decode a gca .cavatar's codes -> reference Gaussians")
    p.add_argument("--avatar", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--codes", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=gca.cmd_reference)
    p = sub.add_parser("splat-scene", help="random Gaussian scene + CPU reference images")
    p.add_argument("--out", required=True, metavar="PREFIX")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--fov", type=float, default=50.0)
    p.add_argument("--eye", type=float, nargs=3, default=(0.2, 0.1, 1.2))
    p.add_argument("--stereo", action="store_true")
    p.add_argument("--ipd", type=float, default=0.064)
    p.set_defaults(func=splat.cmd_splat_scene)
    return tool.run(ap.parse_args(argv), "gca_reference")


if __name__ == "__main__":
    sys.exit(main())
