#!/usr/bin/python3
"""Reference skinning of the shipped hands for tests/test_hand.c, with numpy (independent of the engine),
and hostile variants of a .cavhand that the loader must reject.

    /usr/bin/python3 tools/assets/hand_reference.py --assets assets --out DIR

DIR/hand_{left,right}.ref.safetensors: a known pose (the whole hand turned 40 degrees and moved, the index
finger curled 90 degrees towards the palm at its proximal joint) as the 26 OpenXR joint poses
(`pose.position` [26,3], `pose.orientation` [26,4] x,y,z,w, palm first), the skin matrices it gives
(`skin` [25,4,4] row-major), the skinned mesh (`position`, `normal` [V,3]), and a wrong pose (the index
curled 75 degrees: `wrong.position`, `wrong.orientation`) whose mesh must not match.
DIR/hostile/*.cavhand: the left hand with one thing broken each.
"""

import argparse
import os
import sys

import numpy as np

import hands
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import safetensors as st

INDEX_PROXIMAL = 6  # cavhand joint (OpenXR 7)


def rot(axis, deg):
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    t = np.radians(deg)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K


def mat(R, p):
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = R, p
    return m


def load(path):
    t, _, md = st.read(path)
    return dict(pos=t["hand.position"].astype(np.float64), nrm=t["hand.normal"].astype(np.float64),
                joints=t["hand.joints"].astype(np.int64), weights=t["hand.weights"].astype(np.float64),
                ibm=t["joint.inverse_bind"].astype(np.float64)), t, md


def posed(h, curl_deg):
    """World poses [25,4,4]: the bind pose, index curled at its proximal joint, then the whole hand moved."""
    B = np.linalg.inv(h["ibm"])
    T = mat(rot([1, 2, 0.5], 40), [0.1, 1.2, -0.3])
    # OpenXR joint frames: -Z along the bone, +Y out of the back of the hand, so a curl towards the palm
    # turns -Z towards -Y: a negative rotation about the joint's own x axis
    C = B[INDEX_PROXIMAL] @ mat(rot([1, 0, 0], -curl_deg), [0, 0, 0]) @ np.linalg.inv(B[INDEX_PROXIMAL])
    G = np.stack([T @ (C if j in (6, 7, 8, 9) else np.eye(4)) @ B[j] for j in range(25)])
    return G


def openxr_poses(G):
    """26 joint poses, palm first (the middle of the middle metacarpal, cavhand joints 10 and 11)."""
    pos = np.zeros((26, 3))
    quat = np.zeros((26, 4))
    pos[1:] = G[:, :3, 3]
    quat[1:] = [hands.mat_to_quat(g[:3, :3]) for g in G]
    pos[0] = 0.5 * (G[10, :3, 3] + G[11, :3, 3])
    quat[0] = quat[11]
    return pos, quat


def skin_normals(h, M):
    out = np.zeros_like(h["nrm"])
    for k in range(4):
        out += h["weights"][:, k:k + 1] * np.einsum("vij,vj->vi", M[h["joints"][:, k], :3, :3], h["nrm"])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def hostile(t, md, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    dt = {"hand.joints": "I32", "hand.indices": "I32", "joint.parent": "I32"}
    V = len(t["hand.position"])

    def write(name, changes=None, meta=None, drop=None, dtypes=None):
        tt = {k: v.copy() for k, v in t.items() if k != drop}
        tt.update(changes or {})
        m = dict(md)
        m.update(meta or {})
        d = dict(dt)
        d.update(dtypes or {})
        enc = {k: st.encode_tensor(v if d.get(k, "F32") == "I32" else v.astype(np.float32), d.get(k, "F32"))
               for k, v in tt.items()}
        st.write(os.path.join(out_dir, name + ".cavhand"), enc, m)

    def edit(name, idx, value):
        a = t[name].copy()
        a[idx] = value
        return {name: a}

    write("joint_out_of_range", edit("hand.joints", (7, 2), 25))
    write("joint_negative", edit("hand.joints", (7, 0), -1))
    write("parent_cycle", edit("joint.parent", 3, 5))
    write("parent_self", edit("joint.parent", 4, 4))
    write("wrist_not_root", edit("joint.parent", 0, 0))
    write("parent_out_of_range", edit("joint.parent", 12, 99))
    write("index_out_of_range", edit("hand.indices", (100, 1), V))
    write("index_negative", edit("hand.indices", (3, 0), -7))
    write("weight_nan", edit("hand.weights", (9, 0), np.nan))
    write("weights_not_one", edit("hand.weights", (9, 0), 3.0))
    write("weight_negative", {"hand.weights": np.where(np.arange(4) == 0, 2.0, -1.0 / 3)[None].repeat(V, 0)})
    write("position_inf", edit("hand.position", (0, 1), np.inf))
    write("joints_f32", dtypes={"hand.joints": "F32"})
    write("normal_short", {"hand.normal": t["hand.normal"][:-1]})
    write("no_vertices", {k: t[k][:0] for k in ("hand.position", "hand.normal", "hand.uv", "hand.joints",
                                                "hand.weights")})
    write("no_inverse_bind", drop="joint.inverse_bind")
    write("inverse_bind_24", {"joint.inverse_bind": t["joint.inverse_bind"][:24]})
    write("inverse_bind_scaled", {"joint.inverse_bind": t["joint.inverse_bind"] * np.array([2, 2, 2, 1.0])[None, :, None]})
    write("inverse_bind_wrong_joint", {"joint.inverse_bind": t["joint.inverse_bind"][[1, 0] + list(range(2, 25))]})
    write("bind_rotation_zero", edit("joint.bind_rotation", 5, 0.0))
    write("format_other", meta={"format": "cavatar"})
    write("version_2", meta={"format_version": "2"})
    write("handedness_both", meta={"handedness": "both"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    for side in ("left", "right"):
        h, t, md = load(os.path.join(a.assets, "hand_%s.cavhand" % side))
        G = posed(h, 90)
        M = G @ h["ibm"]
        pos, quat = openxr_poses(G)
        wpos, wquat = openxr_poses(posed(h, 75))
        tip = hands.skin(h, G)
        out = {
            "pose.position": pos, "pose.orientation": quat, "skin": M, "position": tip,
            "normal": skin_normals(h, M), "wrong.position": wpos, "wrong.orientation": wquat,
        }
        st.write(os.path.join(a.out, "hand_%s.ref.safetensors" % side),
                 {k: st.encode_tensor(v.astype(np.float32), "F32") for k, v in out.items()},
                 {"about": "tools/assets/hand_reference.py"})
        if side == "left":
            hostile(t, md, os.path.join(a.out, "hostile"))
    print("hand_reference: wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
