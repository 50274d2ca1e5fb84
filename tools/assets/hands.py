#!/usr/bin/python3
"""Convert the WebXR generic hands (glTF binary, MIT) into `.cavhand` files the engine loads
with its safetensors reader (no glTF library).

    /usr/bin/python3 tools/assets/hands.py --out-dir assets

`.cavhand` = safetensors, metadata format=cavhand, format_version=1, handedness=left|right,
units=metres, joint_names = the 25 joint names in OpenXR XR_EXT_hand_tracking order without the
palm (OpenXR joint index = cavhand joint index + 1), skinning=linear.  Tensors:
  hand.position [V,3] F32, hand.normal [V,3] F32, hand.uv [V,2] F32 (bind pose, metres)
  hand.joints [V,4] I32 (cavhand joint indices), hand.weights [V,4] F32 (sum 1)
  hand.indices [F,3] I32 (counter-clockwise seen from outside)
  joint.parent [25] I32 (-1 for the wrist), joint.inverse_bind [25,4,4] F32 (row-major: applied
  as M @ [x,y,z,1]), joint.bind_position [25,3] F32, joint.bind_rotation [25,4] F32 (quaternion
  x,y,z,w): each joint's pose in the bind pose, in the hand model's frame.
Skinning: v' = sum_i w_i * (G_i @ inverse_bind_i) @ v, with G_i a joint's pose (4x4) as tracked.
"""

import argparse
import os
import sys

import numpy as np

import sources
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import safetensors as st

OPENXR_JOINTS = [  # XR_HAND_JOINT_WRIST_EXT .. XR_HAND_JOINT_LITTLE_TIP_EXT (the palm, index 0, is absent)
    "wrist",
    "thumb-metacarpal", "thumb-phalanx-proximal", "thumb-phalanx-distal", "thumb-tip",
    "index-finger-metacarpal", "index-finger-phalanx-proximal", "index-finger-phalanx-intermediate",
    "index-finger-phalanx-distal", "index-finger-tip",
    "middle-finger-metacarpal", "middle-finger-phalanx-proximal", "middle-finger-phalanx-intermediate",
    "middle-finger-phalanx-distal", "middle-finger-tip",
    "ring-finger-metacarpal", "ring-finger-phalanx-proximal", "ring-finger-phalanx-intermediate",
    "ring-finger-phalanx-distal", "ring-finger-tip",
    "pinky-finger-metacarpal", "pinky-finger-phalanx-proximal", "pinky-finger-phalanx-intermediate",
    "pinky-finger-phalanx-distal", "pinky-finger-tip",
]


def quat_to_mat(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def mat_to_quat(m):
    t = np.trace(m)
    if t > 0:
        s = 2 * np.sqrt(t + 1)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0] * 4
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
        q[3] = (m[k, j] - m[j, k]) / s
    q = np.array(q)
    return q / np.linalg.norm(q) * (1 if q[3] >= 0 else -1)


def node_local(n):
    if "matrix" in n:
        return np.array(n["matrix"], dtype=np.float64).reshape(4, 4).T
    m = np.eye(4)
    r = quat_to_mat(n.get("rotation", [0, 0, 0, 1]))
    m[:3, :3] = r * np.array(n.get("scale", [1, 1, 1]))[None]
    m[:3, 3] = n.get("translation", [0, 0, 0])
    return m


def load_hand(path):
    js, acc = sources.read_glb(path)
    nodes = js["nodes"]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def global_m(i):
        m = node_local(nodes[i])
        while i in parent:
            i = parent[i]
            m = node_local(nodes[i]) @ m
        return m

    skin = js["skins"][0]
    names = [nodes[j]["name"] for j in skin["joints"]]
    order = [names.index(n) for n in OPENXR_JOINTS]           # cavhand joint -> skin joint
    remap = np.zeros(len(names), dtype=np.int64)
    remap[order] = np.arange(len(order))                        # skin joint -> cavhand joint
    prim = js["meshes"][0]["primitives"][0]
    at = prim["attributes"]
    pos = acc(at["POSITION"]).astype(np.float64)
    nrm = acc(at["NORMAL"]).astype(np.float64)
    uv = acc(at["TEXCOORD_0"]).astype(np.float64)
    joints = remap[acc(at["JOINTS_0"]).astype(np.int64)]
    weights = acc(at["WEIGHTS_0"]).astype(np.float64)
    weights /= weights.sum(1, keepdims=True)
    idx = acc(prim["indices"]).astype(np.int64).reshape(-1, 3)
    ibm = acc(skin["inverseBindMatrices"]).astype(np.float64).reshape(-1, 4, 4).transpose(0, 2, 1)[order]
    skin_nodes = [skin["joints"][o] for o in order]
    # the glb's joints are siblings (no node hierarchy), so the topology is OpenXR's: metacarpals hang off
    # the wrist, every other joint off the one before it
    par = [-1 if i == 0 else 0 if n.endswith("metacarpal") else i - 1 for i, n in enumerate(OPENXR_JOINTS)]
    G = np.stack([global_m(j) for j in skin_nodes])
    return dict(pos=pos, nrm=nrm, uv=uv, joints=joints, weights=weights, idx=idx, ibm=ibm, parent=np.array(par), G=G)


def skin(h, G):
    """Linear-blend skinning of the bind-pose vertices for joint poses G [25,4,4]."""
    M = G @ h["ibm"]
    ph = np.concatenate([h["pos"], np.ones((len(h["pos"]), 1))], 1)
    out = np.zeros_like(h["pos"])
    for k in range(4):
        out += h["weights"][:, k:k + 1] * np.einsum("vij,vj->vi", M[h["joints"][:, k]], ph)[:, :3]
    return out


def write_cavhand(path, h, handed):
    G = h["G"]
    t = {
        "hand.position": st.encode_tensor(h["pos"].astype(np.float32), "F32"),
        "hand.normal": st.encode_tensor(h["nrm"].astype(np.float32), "F32"),
        "hand.uv": st.encode_tensor(h["uv"].astype(np.float32), "F32"),
        "hand.joints": st.encode_tensor(h["joints"], "I32"),
        "hand.weights": st.encode_tensor(h["weights"].astype(np.float32), "F32"),
        "hand.indices": st.encode_tensor(h["idx"], "I32"),
        "joint.parent": st.encode_tensor(h["parent"], "I32"),
        "joint.inverse_bind": st.encode_tensor(h["ibm"].astype(np.float32), "F32"),
        "joint.bind_position": st.encode_tensor(G[:, :3, 3].astype(np.float32), "F32"),
        "joint.bind_rotation": st.encode_tensor(np.stack([mat_to_quat(g[:3, :3]) for g in G]).astype(np.float32), "F32"),
    }
    st.write(path, t, {
        "format": "cavhand", "format_version": "1", "handedness": handed, "units": "metres",
        "skinning": "linear", "joint_names": ",".join(OPENXR_JOINTS),
        "source": "@webxr-input-profiles/assets 1.0.20 dist/profiles/generic-hand/%s.glb (MIT)" % handed})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args(argv)
    os.makedirs(a.out_dir, exist_ok=True)
    for handed in ("left", "right"):
        h = load_hand(os.path.join(sources.HANDS_DIR, handed + ".glb"))
        # the bind pose skins onto itself: checks the joint order and the matrices
        err = np.abs(skin(h, h["G"]) - h["pos"]).max()
        if err > 1e-4:
            raise SystemExit("hands: %s: bind pose does not reproduce the mesh (%.2g m)" % (handed, err))
        out = os.path.join(a.out_dir, "hand_%s.cavhand" % handed)
        write_cavhand(out, h, handed)
        ext = np.ptp(h["pos"], 0)
        print("hands: %s -> %s: %d vertices, %d triangles, extent %.3f x %.3f x %.3f m, bind-pose skinning error %.1e m"
              % (handed, out, len(h["pos"]), len(h["idx"]), ext[0], ext[1], ext[2], err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
