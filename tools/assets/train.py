#!/usr/bin/python3
"""Train one participant's encoder + `dam` decoder on the synthetic expression generator, and
export the decoder as a .cavatar (weight normalisation folded, f16) and the encoder as safetensors.

    /usr/bin/python3 tools/assets/train.py NAME --steps N [--minutes M] --out-dir assets

Deterministic: the training batch of step s is drawn from a generator seeded by (seed, s), one
CPU thread, so the weights after N steps do not depend on how many runs it took to get there.
--minutes caps this run's wall time: the state is checkpointed (tools/assets/cache/train/) and a
later run with the same --steps continues; files are exported only once N steps are done
(or with --export-partial).  Prints the held-out reconstruction PSNR.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import head
import sources
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import dam, tool
from cavrpy import safetensors as st

LATENT = 64
ENC_TEX = 64          # the encoder sees the texture change at 64 x 64
CACHE_TRAIN = os.path.join(sources.CACHE, "train")


def log(msg):
    tool.log(msg)


# --------------------------------------------------------------------------------------
# the generator in torch (batches of expressions -> normalised mesh and texture)
# --------------------------------------------------------------------------------------

class Generator:
    def __init__(self, P, X):
        self.P, self.X = P, X
        f = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        self.rest = f((P.pos - head.HEAD_CENTRE) / 100.0)          # metres, head origin
        self.D = f(P.D / 100.0)
        self.jaw_w = f(P.jaw_w)[None, :, None]
        self.pivot = f((P.jaw_pivot - head.HEAD_CENTRE) / 100.0)
        self.jaw_max = P.jaw_max
        self.base = f(X.base).permute(2, 0, 1).contiguous()        # [3, T, T] sRGB
        self.S = f(X.S)                                            # [K, T, T]

    def mesh(self, e):
        p = self.rest[None] + torch.einsum("nk,kvc->nvc", e[:, 1:], self.D[1:])
        ang = e[:, 0] * self.jaw_max
        c, s = torch.cos(ang)[:, None], torch.sin(ang)[:, None]
        q = p - self.pivot
        rot = torch.stack([q[..., 0], c * q[..., 1] - s * q[..., 2], s * q[..., 1] + c * q[..., 2]], -1) + self.pivot
        return p * (1 - self.jaw_w) + rot * self.jaw_w

    def texture(self, e):
        f = 1.0 + torch.einsum("nk,khw->nhw", e, self.S)
        return (self.base[None] * f[:, None]).clamp(0, 1)


def sample_expressions(n, gen):
    """Sparse, partly symmetric activations in 0..1, like speech and social expressions."""
    K = head.K
    u = torch.rand(n, K, generator=gen)
    act = torch.rand(n, K, generator=gen) < 0.45
    e = torch.where(act, u, torch.zeros_like(u))
    for a, b, p in ((1, 2, 0.7), (3, 4, 0.85), (5, 6, 0.7)):   # smiles, blinks, brows mostly together
        sym = torch.rand(n, generator=gen) < p
        jitter = 0.1 * (torch.rand(n, generator=gen) - 0.5)
        e[:, b] = torch.where(sym, (e[:, a] + jitter).clamp(0, 1) * (e[:, a] > 0), e[:, b])
    # blinks are mostly fully open or fully closed
    for k in (3, 4):
        e[:, k] = torch.where(torch.rand(n, generator=gen) < 0.5, e[:, k].round(), e[:, k])
    # a quarter of the rows: one expression alone (with its other side for the paired ones), so the
    # pure poses a viewer asks for (a smile, raised brows) are learnt as well as the mixtures
    alone = torch.rand(n, generator=gen) < 0.25
    k = torch.randint(0, K, (n,), generator=gen)
    v = 0.5 + 0.5 * torch.rand(n, generator=gen)
    single = torch.zeros(n, K)
    single[torch.arange(n), k] = v
    partner = torch.tensor([0, 2, 1, 4, 3, 6, 5, 7, 8, 9])[k]
    both = torch.rand(n, generator=gen) < 0.6
    single[torch.arange(n), partner] = torch.where(both | (partner == k), v, single[torch.arange(n), partner])
    return torch.where(alone[:, None], single, e)


def sample_views(n, gen):
    v = torch.randn(n, 3, generator=gen)
    v[:, 2] = v[:, 2].abs() + 0.5        # cameras in front of the face, within about 70 degrees
    return v / v.norm(dim=1, keepdim=True)


# --------------------------------------------------------------------------------------
# encoder
# --------------------------------------------------------------------------------------

class Encoder(nn.Module):
    """What a sender runs: mesh offsets + a 64x64 view of the texture change -> latent code."""

    def __init__(self, V, latent):
        super().__init__()
        self.mesh = nn.Linear(3 * V, 128)
        self.conv = nn.ModuleList([nn.Conv2d(3, 16, 4, 2, 1), nn.Conv2d(16, 32, 4, 2, 1),
                                   nn.Conv2d(32, 32, 4, 2, 1)])
        self.tex = nn.Linear(32 * 8 * 8, 128)
        self.fc = nn.Linear(256, 256)
        self.out = nn.Linear(256, latent)

    def forward(self, mesh_n, tex_n):
        """mesh_n [N, V, 3] and tex_n [N, 3, T, T], both normalised (minus mean, over std)."""
        m = F.leaky_relu(self.mesh(mesh_n.reshape(mesh_n.shape[0], -1)), 0.2)
        t = F.adaptive_avg_pool2d(tex_n, ENC_TEX)
        for c in self.conv:
            t = F.leaky_relu(c(t), 0.2)
        t = F.leaky_relu(self.tex(t.reshape(t.shape[0], -1)), 0.2)
        h = F.leaky_relu(self.fc(torch.cat([m, t], 1)), 0.2)
        return self.out(h)


# --------------------------------------------------------------------------------------

def spec_for(V, T):
    ch = dam.default_channels(LATENT, int(round(math.log2(T // 4))))
    return dam.DamSpec(LATENT, T, V, 4, ch, view=True)


class Setup:
    def __init__(self, name, T, seed):
        self.P = head.Participant(name, T)
        self.X = head.Textures(self.P)
        self.G = Generator(self.P, self.X)
        self.spec = spec_for(self.P.V, T)
        g = torch.Generator().manual_seed(seed * 1000 + 7)
        e = sample_expressions(512, g)
        with torch.no_grad():
            m = self.G.mesh(e)
            self.vert_mean = self.G.mesh(torch.zeros(1, head.K))[0]
            self.vert_std = float(f"{float((m - self.vert_mean).std()):.6g}")
            t = torch.cat([self.G.texture(e[i:i + 64]) for i in range(0, 512, 64)])
            self.tex_mean = self.G.base
            self.tex_std = float(f"{float((t - self.tex_mean).std()):.6g}")

    def batch(self, e):
        mesh_n = (self.G.mesh(e) - self.vert_mean) / self.vert_std
        tex_n = (self.G.texture(e) - self.tex_mean) / self.tex_std
        return mesh_n, tex_n


def make_models(setup, seed):
    torch.manual_seed(seed)
    dec, _ = dam.build_random_decoder(setup.spec, seed, calib_dtype=torch.float32)
    with torch.no_grad():
        for _, m in dec.layers():
            m.bias.zero_()
            if hasattr(m, "untied_bias"):
                m.untied_bias.zero_()
    enc = Encoder(setup.spec.vertices, LATENT)
    return enc, dec


def losses(setup, enc, dec, e, views):
    mesh_n, tex_n = setup.batch(e)
    z = enc(mesh_n, tex_n)
    mesh_p, tex_p = dec(z, views)
    lm = F.mse_loss(mesh_p, mesh_n)
    lt = F.mse_loss(tex_p, tex_n)
    return lm, lt, (z ** 2).mean()


def heldout(setup, enc, dec, seed, n=48):
    """Held-out expressions (a generator the training never draws from): texture PSNR (sRGB 0..1,
    every texel of the atlas) and vertex RMS error (mm)."""
    g = torch.Generator().manual_seed(seed * 1000 + 999_983)
    e = sample_expressions(n, g)
    v = sample_views(n, g)
    se, se0, cnt, verr = 0.0, 0.0, 0, 0.0
    with torch.no_grad():
        for i in range(0, n, 8):
            mesh_n, tex_n = setup.batch(e[i:i + 8])
            z = enc(mesh_n, tex_n)
            mp, tp = dec(z, v[i:i + 8])
            tex_true = tex_n * setup.tex_std + setup.tex_mean
            tex_pred = (tp * setup.tex_std + setup.tex_mean).clamp(0, 1)
            se += float(((tex_pred - tex_true) ** 2).sum())
            se0 += float(((setup.tex_mean[None] - tex_true) ** 2).sum())
            cnt += tex_true.numel()
            verr += float((((mp - mesh_n) * setup.vert_std) ** 2).sum(-1).sum())
    log("held-out: always predicting the neutral texture would give %.2f dB" % (10 * math.log10(cnt / se0)))
    return 10 * math.log10(cnt / se), 1000 * math.sqrt(verr / (n * setup.spec.vertices))


def export(setup, enc, dec, name, out_dir, steps, psnr, vrms, seed):
    P = setup.P
    g = torch.Generator().manual_seed(seed * 1000 + 5)
    e = sample_expressions(1024, g)
    with torch.no_grad():
        zs = torch.cat([enc(*setup.batch(e[i:i + 64])) for i in range(0, 1024, 64)])
    code_mean = zs.double().mean(0).numpy()
    code_std = zs.double().std(0).numpy()
    mesh = {"vert_mean": setup.vert_mean.double().numpy(), "vert_std": setup.vert_std, "uv": P.uv,
            "tri_vertex": P.tri_vertex, "tri_uv": P.tri_uv}
    tex_mean = setup.tex_mean.permute(1, 2, 0).double().numpy()
    path = os.path.join(out_dir, "%s.cavatar" % name)
    dam.write_cavatar(path, setup.spec, dec.folded(), mesh, tex_mean, setup.tex_std, "F16", name,
                      code_mean, code_std, {
                         "source": "cavr tools/assets/train.py: MediaPipe canonical face completed into a "
                                   "head, skimage astronaut.png skin, synthetic expressions",
                         "expressions": ",".join(head.EXPRESSIONS),
                         "train_steps": str(steps), "heldout_texture_psnr_db": "%.2f" % psnr,
                         "heldout_vertex_rms_mm": "%.3f" % vrms, "licence": "see assets/README.md"})
    # the sender's encoder, with the generator it turns expression parameters into inputs with
    with torch.no_grad():
        delta = setup.G.base[None] * setup.G.S[:, None] / setup.tex_std          # [K, 3, T, T]
        delta = F.adaptive_avg_pool2d(delta, ENC_TEX)
    t = {"enc." + k: st.encode_tensor(v.detach().double().numpy(), "F16") for k, v in enc.state_dict().items()}
    t["generator.mesh_delta"] = st.encode_tensor(setup.G.D.numpy(), "F32")
    t["generator.jaw_weight"] = st.encode_tensor(P.jaw_w.astype(np.float32), "F32")
    t["generator.tex_delta"] = st.encode_tensor(delta.numpy(), "F16")
    st.write(os.path.join(out_dir, "%s.encoder.safetensors" % name), t, {
        "format": "cavr-encoder", "format_version": "1", "avatar": "%s.cavatar" % name,
        "latent_size": str(LATENT), "expressions": ",".join(head.EXPRESSIONS),
        "jaw_max_rad": repr(P.jaw_max), "jaw_pivot_m": ",".join(repr(float(x)) for x in setup.G.pivot),
        "encoder_texture_size": str(ENC_TEX),
        "about": "codes = enc(mesh_n, tex_n): mesh_n = (generator mesh - mesh.vert_mean) / mesh.vert_std "
                 "of the .cavatar, tex_n = sum_k e_k tex_delta[k] (the normalised texture change at "
                 "%dx%d); see tools/assets/train.py Sender" % (ENC_TEX, ENC_TEX)})
    return path


class Sender:
    """Expression parameters -> latent codes, from the shipped files alone (the .cavatar and its
    encoder file): what a sender runs."""

    def __init__(self, avatar_path, encoder_path=None):
        encoder_path = encoder_path or avatar_path.replace(".cavatar", ".encoder.safetensors")
        spec, at, _, _ = dam.load_cavatar(avatar_path)
        t, _, md = st.read(encoder_path)
        f = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))
        self.spec = spec
        self.vert_mean, self.vert_std = f(at["mesh.vert_mean"]), float(at["mesh.vert_std"][0])
        self.D, self.jaw_w = f(t["generator.mesh_delta"]), f(t["generator.jaw_weight"])[None, :, None]
        self.tex_delta = f(t["generator.tex_delta"])
        self.jaw_max = float(md["jaw_max_rad"])
        self.pivot = torch.tensor([float(x) for x in md["jaw_pivot_m"].split(",")])
        self.enc = Encoder(spec.vertices, spec.latent)
        self.enc.load_state_dict({k[4:]: f(v) for k, v in t.items() if k.startswith("enc.")})
        self.enc.eval()

    def mesh(self, e):
        """e [N, K] -> the generator's vertices [N, V, 3] (metres, head frame)."""
        e = torch.as_tensor(e, dtype=torch.float32)
        p = self.vert_mean[None] + torch.einsum("nk,kvc->nvc", e[:, 1:], self.D[1:])
        ang = e[:, 0] * self.jaw_max
        c, s = torch.cos(ang)[:, None], torch.sin(ang)[:, None]
        q = p - self.pivot
        rot = torch.stack([q[..., 0], c * q[..., 1] - s * q[..., 2], s * q[..., 1] + c * q[..., 2]], -1) + self.pivot
        return p * (1 - self.jaw_w) + rot * self.jaw_w

    def tex_change(self, e):
        """e [N, K] -> the generator's normalised texture change at 64 x 64 [N, 3, 64, 64]."""
        return torch.einsum("nk,kchw->nchw", torch.as_tensor(e, dtype=torch.float32), self.tex_delta)

    def codes(self, e):
        """e [N, K] expression parameters -> codes [N, Z] (torch float32)."""
        with torch.no_grad():
            mesh_n = (self.mesh(e) - self.vert_mean) / self.vert_std
            tex_n = self.tex_change(e)
            return torch.cat([self.enc(mesh_n[i:i + 64], tex_n[i:i + 64]) for i in range(0, len(e), 64)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(head.PARTICIPANTS))
    ap.add_argument("--steps", type=int, default=3000, help="total training steps (default 3000)")
    ap.add_argument("--minutes", type=float, default=0, help="wall-time cap of this run (0: none)")
    ap.add_argument("--texture", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.dirname(sources.HERE)), "assets"))
    ap.add_argument("--export-partial", action="store_true", help="export even before --steps are done")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    seed = head.PARTICIPANTS[a.name]["seed"]
    t0 = time.time()
    setup = Setup(a.name, a.texture, seed)
    log("%s: %s, vert_std %.5f m, tex_std %.4f, setup %.1fs" % (a.name, setup.spec.describe(), setup.vert_std,
                                                                 setup.tex_std, time.time() - t0))
    enc, dec = make_models(setup, seed)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    os.makedirs(CACHE_TRAIN, exist_ok=True)
    ck = os.path.join(CACHE_TRAIN, "%s-T%d.pt" % (a.name, a.texture))
    step, spent = 0, 0.0
    st = torch.load(ck) if os.path.exists(ck) else None
    if st is not None and st.get("target", a.steps) != a.steps:
        # the learning-rate schedule depends on --steps: a different target is a different run
        log("%s was trained towards %d steps, not %d: starting over" % (ck, st["target"], a.steps))
        st = None
    if st is not None:
        enc.load_state_dict(st["enc"])
        dec.load_state_dict(st["dec"])
        opt.load_state_dict(st["opt"])
        step, spent = st["step"], st["seconds"]
        log("resumed %s at step %d (%.1f min trained)" % (ck, step, spent / 60))

    def save():
        torch.save({"enc": enc.state_dict(), "dec": dec.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seconds": spent, "target": a.steps}, ck + ".tmp")
        os.replace(ck + ".tmp", ck)

    run0 = time.time()
    last = run0
    while step < a.steps and not (a.minutes and time.time() - run0 > a.minutes * 60):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        e = sample_expressions(a.batch, g)
        v = sample_views(a.batch, g)
        lr = a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / a.steps))))
        for pg in opt.param_groups:
            pg["lr"] = lr
        lm, lt, lz = losses(setup, enc, dec, e, v)
        loss = lt + lm + 1e-3 * lz
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        now = time.time()
        spent += now - last
        last = now
        if step % 100 == 0 or step == a.steps:
            log("%s step %d/%d loss tex %.4f mesh %.4f |z|2 %.3f lr %.2e (%.2fs/step)"
                % (a.name, step, a.steps, float(lt), float(lm), float(lz), lr, spent / step))
        if step % 250 == 0:
            save()
    save()
    psnr, vrms = heldout(setup, enc, dec, seed)
    print("%s: step %d/%d, %.1f min trained, held-out texture PSNR %.2f dB, vertex RMS %.3f mm"
          % (a.name, step, a.steps, spent / 60, psnr, vrms))
    if step >= a.steps or a.export_partial:
        os.makedirs(a.out_dir, exist_ok=True)
        path = export(setup, enc, dec, a.name, a.out_dir, step, psnr, vrms, seed)
        print("%s: wrote %s (%.1f MB)" % (a.name, path, os.path.getsize(path) / 1e6))
    else:
        print("%s: not exported: %d of %d steps (run again to continue)" % (a.name, step, a.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
