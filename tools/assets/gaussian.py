#!/usr/bin/python3
"""Train a sample Gaussian codec avatar (family `gca`) from a shipped mesh avatar (family `dam`).

    /usr/bin/python3 tools/assets/gaussian.py --source assets/ana.cavatar --out assets/ana-gs.cavatar

The source avatar is the teacher: its PyTorch decoder (cavrpy.dam) turns codes drawn from its own
code statistics, seen from random frontal views, into meshes and view-dependent textures. G x G surface
samples (area-stratified over the source's triangles, fixed barycentric coordinates, laid out in the grid by
latitude rows and longitude columns around the head's origin) give per-texel targets: position, a flat disc
aligned with the deformed triangle (rotation), scale from the sample spacing, opacity, and the texture's colour
at the sample's uv. The gca decoder learns them by regression (Adam, deterministic, one CPU thread); the file
keeps the source's code statistics, so the same codes drive both avatars.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import dam, gca, tool


def surface_samples(pos, tris, n, seed):
    """n area-stratified samples: triangle index [n], barycentric [n, 3]."""
    a, b, c = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    cum = np.cumsum(area) / area.sum()
    rng = np.random.RandomState(seed)
    tri = np.searchsorted(cum, (np.arange(n) + rng.random_sample(n)) / n).clip(0, len(tris) - 1)
    r1, r2 = np.sqrt(rng.random_sample(n)), rng.random_sample(n)
    bary = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], 1)
    return tri, bary, area.sum()


def grid_order(p, G):
    """Sample order filling the G x G grid: rows by latitude (top first), each row by longitude."""
    lat = np.arcsin(np.clip(p[:, 1] / np.linalg.norm(p, axis=1), -1, 1))
    lon = np.arctan2(p[:, 0], p[:, 2])
    rows = np.argsort(-lat, kind="stable").reshape(G, G)
    return np.concatenate([r[np.argsort(lon[r], kind="stable")] for r in rows])


def frames_to_quat(m):
    """Rotation matrices [..., 3, 3] (columns: tangent, bitangent, normal) -> quaternions w, x, y, z, w >= 0."""
    w = torch.sqrt(torch.clamp(1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2], min=1e-8)) / 2
    x = (m[..., 2, 1] - m[..., 1, 2]) / (4 * w)
    y = (m[..., 0, 2] - m[..., 2, 0]) / (4 * w)
    z = (m[..., 1, 0] - m[..., 0, 1]) / (4 * w)
    q = torch.stack([w, x, y, z], -1)
    return q / q.norm(dim=-1, keepdim=True)


class Targets:
    """Per-sample targets decoded by the source avatar for a batch of codes and views."""

    def __init__(self, source, G, seed):
        self.spec, self.t, _, _ = dam.load_cavatar(source)
        self.model = dam.decoder_from_folded(self.spec, self.t, torch.float32)
        self.vert_mean = torch.from_numpy(self.t["mesh.vert_mean"].astype(np.float32))
        self.vert_std = float(self.t["mesh.vert_std"][0])
        self.tex_mean = torch.from_numpy(self.t["tex.mean"].astype(np.float32)).permute(2, 0, 1)
        self.tex_std = float(self.t["tex.std"][0])
        tris = self.t["mesh.tri_vertex"].astype(np.int64)
        tri, bary, area = surface_samples(self.t["mesh.vert_mean"].astype(np.float64), tris, G * G, seed)
        template = (self.t["mesh.vert_mean"][tris[tri]] * bary[:, :, None]).sum(1)
        order = grid_order(template, G)
        tri, bary = tri[order], bary[order]
        self.corners = torch.from_numpy(tris[tri])                       # [n, 3] vertex indices
        self.bary = torch.from_numpy(bary.astype(np.float32))
        # Colour from slightly inside the triangle: bilinear taps at a chart's edge would reach the atlas's gutter.
        uv = self.t["mesh.uv"][self.t["mesh.tri_uv"][tri]]               # [n, 3, 2]
        inner = 0.9 * bary + 0.1 / 3
        self.uv = torch.from_numpy(((uv * inner[:, :, None]).sum(1) * 2 - 1).astype(np.float32))
        self.spacing = math.sqrt(area / (G * G))
        self.G = G

    @torch.no_grad()
    def __call__(self, codes, views):
        mesh, tex = self.model(codes, views)
        verts = mesh * self.vert_std + self.vert_mean                   # [N, V, 3] metres
        colour = tex * self.tex_std + self.tex_mean                     # [N, 3, T, T] sRGB, row 0 first
        v = verts[:, self.corners]                                      # [N, n, 3 corners, 3]
        position = (v * self.bary[None, :, :, None]).sum(2)
        t = F.normalize(v[:, :, 1] - v[:, :, 0], dim=-1)
        nrm = F.normalize(torch.cross(v[:, :, 1] - v[:, :, 0], v[:, :, 2] - v[:, :, 0], dim=-1), dim=-1)
        frame = torch.stack([t, torch.cross(nrm, t, dim=-1), nrm], -1)  # columns
        grid = self.uv[None, :, None, :].expand(codes.shape[0], -1, -1, -1)
        rgb = F.grid_sample(colour, grid, mode="bilinear", align_corners=False)[..., 0].permute(0, 2, 1)
        return position, frames_to_quat(frame), rgb.clamp(0.002, 0.998)


def decode_gca(spec, w, codes, views, template, offset_scale):
    """cavrpy.gca.decode with trainable tensors; -> position, opacity, rotation, scale, colour."""
    t = dict(w)
    t["gaussian.template"] = template
    t["gaussian.offset_scale"] = torch.tensor([offset_scale])
    out = gca.decode(spec, t, codes, views)
    return out[..., 0:3], out[..., 3], out[..., 4:8], out[..., 8:11], out[..., 11:14]


def random_views(n, gen):
    v = torch.randn(n, 3, generator=gen)
    v[:, 2] = v[:, 2].abs() + 1.0  # frontal half: the avatar is seen from in front
    return v / v.norm(dim=1, keepdim=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default="assets/ana.cavatar")
    ap.add_argument("--out", default="assets/ana-gs.cavatar")
    ap.add_argument("--name", default=None)
    ap.add_argument("--grid", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--examples", type=int, default=256, help="codes decoded by the source for training")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    t0 = time.time()
    G = a.grid
    init, n_up = 4, int(round(math.log2(a.grid / 4)))
    if init << n_up != G:
        raise SystemExit("gaussian: --grid must be 4 * 2^k")
    geometry = [32, 32, 32, 16, 16, 16, 16, 16][:n_up] + [gca.GEOMETRY]
    colour = [32, 32, 16, 16, 8, 8, 8, 8][:n_up] + [gca.COLOUR]
    spec = gca.GcaSpec(64, G, init, geometry, colour, view=True)
    tg = Targets(a.source, G, a.seed)
    if tg.spec.latent != spec.latent:
        spec = gca.GcaSpec(tg.spec.latent, G, init, geometry, colour, view=True)
    code_mean = torch.from_numpy(tg.t["code.mean"].astype(np.float32))
    code_std = torch.from_numpy(tg.t["code.std"].astype(np.float32))
    gen = torch.Generator().manual_seed(a.seed)
    codes = code_mean + code_std * torch.randn(a.examples, spec.latent, generator=gen)
    codes[0] = code_mean
    views = random_views(a.examples, gen)
    views[0] = torch.tensor([0.0, 0.0, 1.0])
    pos_t, rot_t, rgb_t = [], [], []
    for i in range(0, a.examples, 32):
        p, r, c = tg(codes[i:i + 32], views[i:i + 32])
        pos_t.append(p), rot_t.append(r), rgb_t.append(c)
    pos_t, rot_t, rgb_t = torch.cat(pos_t), torch.cat(rot_t), torch.cat(rgb_t)
    tool.log("gaussian: %d source decodes, %d Gaussians, spacing %.2f mm (%.0f s)"
             % (a.examples, G * G, tg.spacing * 1e3, time.time() - t0))

    # Static per-Gaussian values go into the last layers' untied biases from the start; the trunks learn change.
    template = pos_t[0].clone()
    offset_scale = 0.005
    scale_log = torch.tensor([math.log(0.75 * tg.spacing)] * 2 + [math.log(0.12 * tg.spacing)])
    w = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in
         gca.random_weights(spec, a.seed, tg.spacing).items()}
    gl, cl = "dec.geometry.%d." % (n_up - 1), "dec.colour.%d." % (n_up - 1)
    for k in (gl, cl):
        w[k + "weight"] *= 0.1
        w[k + "bias"].zero_()
    ub = w[gl + "untied_bias"]
    ub.zero_()
    ub[3:7] = rot_t[0].T.reshape(4, G, G)
    ub[7:10] = scale_log[:, None, None]
    ub[10] = 3.5  # opacity 0.97
    w[cl + "untied_bias"].copy_(torch.logit(rgb_t[0]).T.reshape(3, G, G))
    params = {k: v.requires_grad_(True) for k, v in w.items()}
    opt = torch.optim.Adam(params.values(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    for step in range(a.steps):
        idx = torch.randint(0, a.examples, (8,), generator=gen)
        p, _, r, _, c = decode_gca(spec, params, codes[idx], views[idx], template, offset_scale)
        qerr = torch.minimum(((r - rot_t[idx]) ** 2).sum(-1), ((r + rot_t[idx]) ** 2).sum(-1))
        loss_pos = ((p - pos_t[idx]) ** 2).sum(-1).mean() / (1e-3) ** 2   # mm^2
        loss_rgb = ((c - rgb_t[idx]) ** 2).mean() * 1e3
        loss = loss_pos + loss_rgb + 0.1 * qerr.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps - 1:
            tool.log("step %d: position rms %.3f mm, colour rms %.4f, rotation %.4f (%.0f s)"
                     % (step, math.sqrt(float(loss_pos)), math.sqrt(float(loss_rgb) / 1e3), float(qerr.mean()),
                        time.time() - t0))

    # Held-out codes: how well the Gaussians follow the source.
    hcodes = code_mean + code_std * torch.randn(32, spec.latent, generator=torch.Generator().manual_seed(a.seed + 1))
    hviews = random_views(32, torch.Generator().manual_seed(a.seed + 2))
    with torch.no_grad():
        p, _, _, _, c = decode_gca(spec, params, hcodes, hviews, template, offset_scale)
        hp, _, hc = tg(hcodes, hviews)
    pos_rms = float(((p - hp) ** 2).sum(-1).mean().sqrt()) * 1e3
    still_rms = float(((template[None] - hp) ** 2).sum(-1).mean().sqrt()) * 1e3
    tool.log("held out: the template alone (no expression) is %.3f mm rms from the source" % still_rms)
    psnr = -10 * math.log10(float(((c - hc) ** 2).mean()))
    tool.log("held out: position rms %.3f mm, colour PSNR %.1f dB" % (pos_rms, psnr))
    final = {k: v.detach().double().numpy() for k, v in params.items()}
    name = a.name or os.path.basename(a.out).replace(".cavatar", "")
    gca.write_avatar(a.out, spec, final, template.reshape(G, G, 3).numpy(), offset_scale, "F16", name,
                     tg.t["code.mean"], tg.t["code.std"], {
                        "source": "cavr tools/assets/gaussian.py: distilled from %s" % os.path.basename(a.source),
                        "licence": "see assets/README.md", "train_steps": str(a.steps),
                        "heldout_position_rms_mm": "%.3f" % pos_rms, "heldout_colour_psnr_db": "%.2f" % psnr})
    print("gaussian: %s: %d Gaussians, %.2f MB, held-out position rms %.3f mm, colour PSNR %.1f dB"
          % (a.out, G * G, os.path.getsize(a.out) / 1e6, pos_rms, psnr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
