#!/usr/bin/python3
"""Checks of the asset pipeline and of the shipped assets (exit 1 on any failure).

    /usr/bin/python3 tools/assets/selftest.py [--assets assets] [--no-sources]

- every shipped .cavatar loads through cavrpy.dam (and dam_reference.py's `reference` subcommand),
  decodes, and different codes give different faces: the smile code lifts the mouth corners, the
  jaw code lowers the chin, blinks lower the lids, brows rise; each decoded change (mesh, and
  texture at 64x64) matches the generator's change for that expression;
- where the training checkpoint is at hand (tools/assets/cache/train), the file's f16 folded
  weights match the weight-normalised training model (texture PSNR >= 45 dB, vertices < 0.1 mm);
- .cavhand files: 25 joints in OpenXR order and OpenXR's joint tree, a fist pose brings the index tip to the palm and the
  open hand keeps it 9+ cm away (skinning a known pose);
- .cavperf files: >= 30 s at 30 Hz, finite codes that move, unit quaternions, hands near the body;
- with the sources present (--no-sources skips): the protobuf reader finds 468 vertices and 898
  triangles, the completed head is built the same way twice (determinism).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import head
import sources
import train
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import dam
from cavrpy import safetensors as st

FAILS = []


def check(ok, what):
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        FAILS.append(what)


def decode(model, codes, views, t):
    return dam.decode_all(model, codes, views, t["mesh.vert_mean"], float(t["mesh.vert_std"][0]), t["tex.mean"],
                          float(t["tex.std"][0]))


def psnr(a, b):
    return 10 * math.log10(1.0 / max(float(np.mean((np.asarray(a, np.float64) - b) ** 2)), 1e-20))


def cavatar_family(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n)).get("__metadata__", {}).get("family")


def check_avatar(path):
    name = os.path.basename(path).split(".")[0]
    spec, t, md, wd = dam.load_cavatar(path)
    check(64 <= spec.latent <= 256 and "code.mean" in t and "code.std" in t,
          "%s: latent %d with code statistics, weights %s, %s" % (name, spec.latent, wd, spec.describe()))
    sender = train.Sender(path)
    E = head.EXPRESSIONS
    poses = {"neutral": {}, "smile": {"smile_l": 1, "smile_r": 1}, "jaw": {"jaw_open": 1},
             "blink": {"blink_l": 1, "blink_r": 1}, "brows": {"brow_raise_l": 1, "brow_raise_r": 1}}
    e = np.zeros((len(poses), head.K))
    for i, d in enumerate(poses.values()):
        for k, v in d.items():
            e[i, E.index(k)] = v
    codes = sender.codes(e).double().numpy()
    views = np.tile([[0.0, 0.0, 1.0]], (len(poses), 1))
    model = dam.decoder_from_folded(spec, t, torch.float64)
    verts, texs = decode(model, codes, views, t)
    vm = t["mesh.vert_mean"]
    corner = [291, 61]     # MediaPipe mouth corners (face vertices come first in the mesh)
    lift = float(np.mean(verts[1, corner, 1] - verts[0, corner, 1])) * 1000
    drop = float(verts[0, 152, 1] - verts[2, 152, 1]) * 1000
    check(lift > 2.0, "%s: smile lifts the mouth corners by %.1f mm" % (name, lift))
    check(drop > 10.0, "%s: jaw open lowers the chin by %.1f mm" % (name, drop))
    blink = float(np.mean(verts[0, [159, 386], 1] - verts[3, [159, 386], 1])) * 1000
    check(blink > 3.0, "%s: blink lowers the upper lids by %.1f mm" % (name, blink))
    brow = float(np.mean(verts[4, [105, 334], 1] - verts[0, [105, 334], 1])) * 1000
    check(brow > 2.0, "%s: brow raise lifts the brows by %.1f mm" % (name, brow))
    # decoded changes against the generator's (the encoder file carries both)
    with torch.no_grad():
        gm = sender.mesh(e).double().numpy()
        gt = sender.tex_change(e).double().numpy() * float(t["tex.std"][0])
    for i, p in enumerate(list(poses)[1:], 1):
        g = gm[i] - gm[0]
        dm = verts[i] - verts[0]
        rel = float(np.linalg.norm(dm - g) / np.linalg.norm(g))
        dt = torch.nn.functional.adaptive_avg_pool2d(
            torch.from_numpy((texs[i] - texs[0]).transpose(2, 0, 1)[None].copy()), gt.shape[-1])[0].numpy()
        ratio = float(np.linalg.norm(dt) / np.linalg.norm(gt[i]))
        cos = float(np.sum(dt * gt[i]) / (np.linalg.norm(dt) * np.linalg.norm(gt[i])))
        check(rel < 0.35 and cos > 0.8 and 0.6 < ratio < 1.5,
              "%s: %s: decoded mesh change within %.0f %% of the generator's; texture change cosine %.2f, "
              "size ratio %.2f (PSNR to neutral %.1f dB)" % (name, p, 100 * rel, cos, ratio, psnr(texs[i], texs[0])))
    check(float(np.abs(verts[0] - vm).max()) < 0.01, "%s: neutral code decodes near the mean mesh" % name)
    # the reference CLI accepts the file
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, os.path.join(os.path.dirname(sources.HERE), "dam_reference.py"),
                            "reference", "--avatar", path, "--out", os.path.join(tmp, "r.safetensors"),
                            "--codes", "1", "--precision", "f32"], capture_output=True, text=True)
        check(r.returncode == 0, "%s: dam_reference.py reference decodes it%s" % (name, "" if r.returncode == 0
                                                                                  else ": " + r.stderr.strip()[-200:]))
    # the file against the training model, where the checkpoint is at hand
    ck = os.path.join(train.CACHE_TRAIN, "%s-T%d.pt" % (name, spec.texture))
    if os.path.exists(ck):
        st = torch.load(ck)
        setup_spec = train.spec_for(spec.vertices, spec.texture)
        torch.manual_seed(0)
        wn = dam.DamDecoder(setup_spec, wn=True)
        wn.load_state_dict(st["dec"])
        if st["step"] == int(md.get("train_steps", -1)):
            wn = wn.double()
            v2, t2 = decode(wn, codes, views, t)
            p = min(psnr(texs[i], t2[i]) for i in range(len(codes)))
            dv = float(np.abs(verts - v2).max()) * 1000
            check(p >= 45.0 and dv < 0.1, "%s: f16 file vs training model: texture PSNR %.1f dB, vertices within "
                  "%.3f mm" % (name, p, dv))


def check_hand(path):
    import hands
    import performance
    t, _, md = st.read(path)
    names = md["joint_names"].split(",")
    check(names == hands.OPENXR_JOINTS and t["joint.inverse_bind"].shape == (25, 4, 4),
          "%s: 25 joints in OpenXR order" % os.path.basename(path))
    xr_tree = [-1] + [0 if n.endswith("metacarpal") else j for j, n in enumerate(hands.OPENXR_JOINTS[1:])]
    check(t["joint.parent"].tolist() == xr_tree, "%s: joint.parent is OpenXR's joint tree" % os.path.basename(path))
    h = {"pos": t["hand.position"].astype(np.float64), "joints": t["hand.joints"].astype(np.int64),
         "weights": t["hand.weights"].astype(np.float64), "ibm": t["joint.inverse_bind"].astype(np.float64)}
    rig = performance.HandRig(cavhand=path)
    for g, lo, hi in (("fist", 0.0, 0.05), ("open", 0.09, 1.0)):
        J = rig.pose(np.array(performance.GESTURES[g]), rig.G[0])
        v = hands.skin(h, J)
        tip = J[9][:3, 3]
        palm = 0.5 * (J[10][:3, 3] + J[11][:3, 3])
        d = float(np.linalg.norm(tip - palm))
        # the skinned mesh follows the skeleton: some vertex sits near the posed index tip
        near = float(np.min(np.linalg.norm(v - tip, axis=1)))
        check(lo <= d <= hi and near < 0.015, "%s: %s: index tip %.3f m from the palm, mesh within %.3f m of it"
              % (os.path.basename(path), g, d, near))


def check_perf(path):
    t, _, md = st.read(path)
    n = int(md["frames"])
    name = os.path.basename(path)
    check(n / float(md["fps"]) >= 30.0 and t["codes"].shape[0] == n, "%s: %d frames at %s Hz" % (name, n, md["fps"]))
    c = t["codes"]
    check(np.isfinite(c).all() and float(np.abs(np.diff(c, axis=0)).mean()) > 1e-3, "%s: codes finite and moving" % name)
    q = np.concatenate([t["head.rotation"].reshape(-1, 4), t["hand.left.rotation"].reshape(-1, 4),
                        t["hand.right.rotation"].reshape(-1, 4)])
    check(float(np.abs(np.linalg.norm(q, axis=1) - 1).max()) < 1e-4, "%s: unit quaternions" % name)
    for side in ("left", "right"):
        p = t["hand.%s.position" % side]
        check(p.shape == (n, 26, 3) and float(np.linalg.norm(p[:, 1], axis=1).max()) < 0.8,
              "%s: %s hand within 0.8 m of the head" % (name, side))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", default=os.path.join(os.path.dirname(os.path.dirname(sources.HERE)), "assets"))
    ap.add_argument("--no-sources", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not a.no_sources:
        p, uv, tri = sources.canonical_face_mesh()
        check(p.shape == (468, 3) and tri.shape == (898, 3) and uv.min() >= 0 and uv.max() <= 1,
              "MediaPipe canonical mesh: 468 vertices, 898 triangles, uvs in 0..1")
        P1, P2 = head.Participant("ana"), head.Participant("ana")
        check(np.array_equal(P1.pos, P2.pos) and np.array_equal(P1.tri_vertex, P2.tri_vertex),
              "completed head is deterministic (%d vertices, %d triangles)" % (P1.V, len(P1.tri_vertex)))
    files = sorted(os.listdir(a.assets))
    for f in files:
        path = os.path.join(a.assets, f)
        if f.endswith(".cavatar") and cavatar_family(path) == "dam":
            check_avatar(path)  # the gca sample (ana-gs) is tested by test_gca / test_splat
        elif f.endswith(".cavhand"):
            check_hand(path)
        elif f.endswith(".cavperf"):
            check_perf(path)
    print("selftest: %d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
