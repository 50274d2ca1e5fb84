#!/usr/bin/python3
"""Look at what the asset tools make: a small numpy z-buffer rasteriser of a textured mesh.

    /usr/bin/python3 tools/assets/preview.py --out-dir /tmp/cavr-previews [assets/NAME.cavatar ...]

For each avatar: decodes (with cavrpy.dam's PyTorch decoder, the file's own folded tensors)
the codes the avatar's encoder gives for a neutral face, a smile, an open jaw, a blink with raised
brows and an "oo", and renders each front-on and from a three-quarter view, next to the generator's
ground truth for the same expression.  Writes one PNG sheet per avatar.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

import head
import sources
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import dam, png
from cavrpy import safetensors as st

POSES = {  # expression name -> parameter values
    "neutral": {},
    "smile": {"smile_l": 1.0, "smile_r": 1.0},
    "jaw": {"jaw_open": 1.0},
    "blink+brows": {"blink_l": 1.0, "blink_r": 1.0, "brow_raise_l": 1.0, "brow_raise_r": 1.0},
    "oo": {"pucker": 1.0, "jaw_open": 0.35},
}


def expr(d):
    e = np.zeros(head.K)
    for k, v in d.items():
        e[head.EXPRESSIONS.index(k)] = v
    return e


def look_at_rot(yaw_deg, pitch_deg=0.0):
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return rx @ ry


def render(verts, uv, tv, tu, tex, yaw=0.0, size=256, dist=0.75, fov=24.0, bg=(0.16, 0.17, 0.2), cull=True,
           canvas=None, target_y=-0.01):
    """verts [V,3] metres (head frame: x left-of-avatar... y up, z forward); camera on +z turned by yaw
    about the head; texture [T,T,3] sRGB.  Returns uint8 [size, size, 3]."""
    R = look_at_rot(yaw)
    p = verts @ R.T
    p = p - np.array([0.0, target_y, dist])               # camera at +z looking to -z
    f = 0.5 * size / math.tan(math.radians(fov) / 2)
    zc = -p[:, 2]
    sx = size / 2 + f * p[:, 0] / zc
    sy = size / 2 - f * p[:, 1] / zc
    if canvas is None:
        canvas = (np.tile(np.array(bg), (size, size, 1)), np.full((size, size), np.inf))
    img, zb = canvas
    T = tex.shape[0]
    # a little shading so the shape reads (the texture carries the baked lighting)
    n = head.vertex_normals(p, tv)
    shade = 0.75 + 0.25 * np.clip(n @ np.array([0.0, 0.0, 1.0]), 0, 1)
    for fi in range(tv.shape[0]):
        a, b, c = tv[fi]
        xs, ys = sx[[a, b, c]], sy[[a, b, c]]
        d = (ys[1] - ys[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (ys[0] - ys[2])
        if d >= 0 and cull or d == 0:        # back-facing (or degenerate) in screen space
            continue
        x0, x1 = max(0, int(xs.min())), min(size - 1, int(math.ceil(xs.max())))
        y0, y1 = max(0, int(ys.min())), min(size - 1, int(math.ceil(ys.max())))
        if x1 < x0 or y1 < y0:
            continue
        X, Y = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        w0 = ((ys[1] - ys[2]) * (X - xs[2]) + (xs[2] - xs[1]) * (Y - ys[2])) / d
        w1 = ((ys[2] - ys[0]) * (X - xs[2]) + (xs[0] - xs[2]) * (Y - ys[2])) / d
        w2 = 1 - w0 - w1
        m = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not m.any():
            continue
        iz = w0 / zc[a] + w1 / zc[b] + w2 / zc[c]            # perspective-correct interpolation
        z = 1 / iz
        Yi, Xi = (Y - 0.5).astype(int), (X - 0.5).astype(int)
        m &= z < zb[Yi, Xi]
        if not m.any():
            continue
        uvs = uv[tu[fi]]
        pu = (w0 / zc[a] * uvs[0, 0] + w1 / zc[b] * uvs[1, 0] + w2 / zc[c] * uvs[2, 0]) * z
        pv = (w0 / zc[a] * uvs[0, 1] + w1 / zc[b] * uvs[1, 1] + w2 / zc[c] * uvs[2, 1]) * z
        s = (w0 * shade[a] + w1 * shade[b] + w2 * shade[c])
        col = head.sample_bilinear(tex, np.stack([pu[m] * T - 0.5, pv[m] * T - 0.5], 1)) * s[m][:, None]
        zb[Yi[m], Xi[m]] = z[m]
        img[Yi[m], Xi[m]] = col
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def perf_sheet(name, assets, size, times=(0.0, 6.0, 12.0, 18.0, 24.0, 30.0)):
    """Frames of NAME.cavperf: the decoded head posed by head.position/rotation and both hands
    skinned to their 26-joint poses (palm dropped), seen from 1.1 m in front, a little above."""
    import hands
    spec, t, _, _ = dam.load_cavatar(os.path.join(assets, name + ".cavatar"))
    model = dam.decoder_from_folded(spec, t, torch.float32)
    pf, _, md = st.read(os.path.join(assets, name + ".cavperf"))
    hand = {}
    for side in ("left", "right"):
        ht, _, _ = st.read(os.path.join(assets, "hand_%s.cavhand" % side))
        hand[side] = {"pos": ht["hand.position"].astype(np.float64), "joints": ht["hand.joints"].astype(np.int64),
                      "weights": ht["hand.weights"].astype(np.float64),
                      "ibm": ht["joint.inverse_bind"].astype(np.float64), "idx": ht["hand.indices"],
                      "uv": ht["hand.uv"]}
    fps = float(md["fps"])
    cells = []
    for ts in times:
        f = min(int(round(ts * fps)), pf["codes"].shape[0] - 1)
        R = hands.quat_to_mat(pf["head.rotation"][f].astype(np.float64))
        view = R.T @ np.array([0.0, 0.0, 1.0])                 # camera direction in the head frame
        verts, texs = dam.decode_all(model, pf["codes"][f:f + 1].astype(np.float64), view[None], t["mesh.vert_mean"],
                                     float(t["mesh.vert_std"][0]), t["tex.mean"], float(t["tex.std"][0]))
        v = verts[0] @ R.T + pf["head.position"][f]
        canvas = (np.tile(np.array((0.16, 0.17, 0.2)), (size, size, 1)), np.full((size, size), np.inf))
        render(v, t["mesh.uv"], t["mesh.tri_vertex"], t["mesh.tri_uv"], np.clip(texs[0], 0, 1), 0.0, size,
               dist=1.1, fov=40.0, canvas=canvas, target_y=-0.2)
        skin_tex = np.tile(np.clip(texs[0][int(0.5 * spec.texture), int(0.2 * spec.texture)], 0, 1), (4, 4, 1))
        for side in ("left", "right"):
            P = pf["hand.%s.position" % side][f].astype(np.float64)
            Q = pf["hand.%s.rotation" % side][f].astype(np.float64)
            G = np.tile(np.eye(4), (25, 1, 1))
            for j in range(25):
                G[j, :3, :3] = hands.quat_to_mat(Q[j + 1])
                G[j, :3, 3] = P[j + 1]
            hv = hands.skin(hand[side], G)
            render(hv, hand[side]["uv"], hand[side]["idx"], hand[side]["idx"], skin_tex, 0.0, size, dist=1.1,
                   fov=40.0, canvas=canvas, target_y=-0.2, cull=False)
        cells.append(np.round(np.clip(canvas[0], 0, 1) * 255).astype(np.uint8))
    return np.concatenate(cells, 1)


def label_strip(width, height=4, colour=(90, 90, 90)):
    return np.tile(np.array(colour, np.uint8), (height, width, 1))


def sheet_for(avatar_path, size):
    import train
    name = os.path.basename(avatar_path).split(".")[0]
    spec, t, md, _ = dam.load_cavatar(avatar_path)
    model = dam.decoder_from_folded(spec, t, torch.float32)
    setup = train.Setup(name, spec.texture, head.PARTICIPANTS[name]["seed"])
    sender = train.Sender(avatar_path)
    rows = []
    for pname, d in POSES.items():
        e = torch.tensor(expr(d), dtype=torch.float32)[None]
        z = sender.codes(e)
        cells = []
        for yaw in (0.0, 35.0):
            view = np.array([math.sin(math.radians(yaw)), 0.0, math.cos(math.radians(yaw))])
            verts, texs = dam.decode_all(model, z.double().numpy(), view[None], t["mesh.vert_mean"],
                                         float(t["mesh.vert_std"][0]), t["tex.mean"], float(t["tex.std"][0]))
            cells.append(render(verts[0], t["mesh.uv"], t["mesh.tri_vertex"], t["mesh.tri_uv"],
                                np.clip(texs[0], 0, 1), yaw, size))
        with torch.no_grad():   # ground truth from the generator, front view
            gm = setup.G.mesh(e)[0].double().numpy()
            gt = setup.G.texture(e)[0].permute(1, 2, 0).double().numpy()
        cells.append(render(gm, t["mesh.uv"], t["mesh.tri_vertex"], t["mesh.tri_uv"], gt, 0.0, size))
        cells.append(render(gm, t["mesh.uv"], t["mesh.tri_vertex"], t["mesh.tri_uv"], gt, 90.0, size))
        rows.append(np.concatenate(cells, 1))
        rows.append(label_strip(rows[-1].shape[1]))
    return np.concatenate(rows, 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("avatars", nargs="*")
    ap.add_argument("--out-dir", default="/tmp/cavr-previews")
    ap.add_argument("--size", type=int, default=200)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(a.out_dir, exist_ok=True)
    root = os.path.dirname(os.path.dirname(sources.HERE))
    avatars = a.avatars or [os.path.join(root, "assets", n + ".cavatar") for n in sorted(head.PARTICIPANTS)]
    for p in avatars:
        img = sheet_for(p, a.size)
        out = os.path.join(a.out_dir, os.path.basename(p).replace(".cavatar", ".png"))
        png.write_rgb8(out, img)
        perf = p.replace(".cavatar", ".cavperf")
        if os.path.exists(perf):
            name = os.path.basename(p).split(".")[0]
            pout = os.path.join(a.out_dir, name + "-performance.png")
            png.write_rgb8(pout, perf_sheet(name, os.path.dirname(p), a.size))
            print("preview: %s -> %s (frames at 0, 6, 12, 18, 24, 30 s)" % (perf, pout))
        print("preview: %s -> %s (rows: %s; columns: decoded front, decoded 35 deg, generator front, "
              "generator side)" % (p, out, ", ".join(POSES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
