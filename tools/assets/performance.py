#!/usr/bin/python3
"""Per participant, a performance: 30 Hz latent codes with head pose and 26-joint hand poses.

    /usr/bin/python3 tools/assets/performance.py NAME --assets assets [--seconds 36]

Motion: CMU mocap (BVH, Debian assimp-testmodels): the head's rotation relative to the chest
(damped) and the wrists' motion relative to the chest (damped, around a rest pose in front of
the body), so a standing mocap clip becomes a seated meeting participant; procedural fingers
(open, relaxed, pinch, point, fist) on the generic hand's skeleton; procedural speech (syllables
of jaw opening with alternating pucker / stretch, phrases and pauses), blinks, smiles, brow
raises; each frame's expression encoded by the participant's own encoder.

Output NAME.cavperf = safetensors (format=cavperf, format_version=1, fps=30, frames, avatar,
hand_joints = the 26 OpenXR XR_EXT_hand_tracking joint names in order, units=metres).
Frame of reference ("seat"): x to the participant's left, y up, z the way they face; origin at
their head centre at rest.  Quaternions are x, y, z, w.  Tensors:
  codes [N, Z] F32                         the avatar's latent codes
  expressions [N, K] F32                   generator parameters (names in metadata `expressions`)
  head.position [N, 3], head.rotation [N, 4] F32   head frame (the .cavatar's) -> seat
  hand.{left,right}.position [N, 26, 3], hand.{left,right}.rotation [N, 26, 4] F32  joint poses
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

import hands
import head
import sources
import train
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import safetensors as st

FPS = 30
CLIPS = {"ana": "01_01.bvh", "kofi": "01_03.bvh", "ines": "Boxing_Toes.bvh"}
JOINT_NAMES = {"chest": ("Spine1", "Chest"), "head": ("Head",), "left": ("LeftHand", "LeftWrist"),
               "right": ("RightHand", "RightWrist"), "root": ("Hips",)}
OPENXR_26 = ["palm"] + hands.OPENXR_JOINTS


def rot_axis_angle(axis, ang):
    axis = axis / np.linalg.norm(axis)
    K_ = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * K_ + (1 - math.cos(ang)) * K_ @ K_


def log_rot(R):
    c = np.clip((np.trace(R) - 1) / 2, -1, 1)
    ang = math.acos(c)
    if ang < 1e-8:
        return np.zeros(3)
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * math.sin(ang))
    return v * ang


def exp_rot(w):
    ang = np.linalg.norm(w)
    return np.eye(3) if ang < 1e-12 else rot_axis_angle(w / ang, ang)


def mean_rot(Rs):
    """Chordal mean of rotations [N, 3, 3]."""
    u, _, vt = np.linalg.svd(Rs.mean(0))
    m = u @ vt
    if np.linalg.det(m) < 0:
        u[:, -1] *= -1
        m = u @ vt
    return m


def smooth(x, frames):
    """Centred moving average along axis 0 (edge clamped), twice."""
    if frames <= 1:
        return x
    k = np.ones(frames) / frames
    for _ in range(2):
        pad = np.concatenate([np.repeat(x[:1], frames // 2, 0), x, np.repeat(x[-1:], frames - 1 - frames // 2, 0)])
        x = np.stack([np.convolve(pad[:, i], k, mode="valid") for i in range(x.shape[1])], 1)
    return x


def mocap(clip, n):
    """-> head R [n,3,3], head offset [n,3] m, wrist offsets {left,right} [n,3] m, wrist R deltas."""
    b = sources.Bvh(sources.bvh_path(clip))
    R, P = b.global_transforms()
    idx = {k: next(b.names.index(nm) for nm in v if nm in b.names) for k, v in JOINT_NAMES.items()}
    height = P[0, :, 1].max() - P[0, :, 1].min()
    scale = 1.6 / height                      # BVH units -> metres for a person about 1.7 m tall
    t_src = np.arange(b.frames.shape[0]) * b.dt
    t = np.arange(n) / FPS
    dur = t_src[-1]
    ts = np.where((t // dur).astype(int) % 2 == 0, t % dur, dur - t % dur)   # ping-pong past the end
    fi = np.clip(np.round(ts / b.dt).astype(int), 0, len(t_src) - 1)
    Rc = R[fi, idx["chest"]]
    out = {}
    rel_head = np.einsum("nji,njk->nik", Rc, R[fi, idx["head"]])
    w = np.stack([log_rot(mean_rot(rel_head).T @ r) for r in rel_head])   # about the clip's mean pose
    w = smooth(w, 5) * 0.6
    out["head_R"] = np.stack([exp_rot(x) for x in w])
    ph = np.einsum("nji,nj->ni", Rc, P[fi, idx["head"]] - P[fi, idx["chest"]]) * scale
    out["head_p"] = smooth(ph - ph.mean(0), 5) * 0.5
    for side in ("left", "right"):
        pw = np.einsum("nji,nj->ni", Rc, P[fi, idx[side]] - P[fi, idx["chest"]]) * scale
        out[side + "_p"] = np.clip(smooth(pw - pw.mean(0), 5) * 0.35, -0.12, 0.12)
        rw = np.einsum("nji,njk->nik", Rc, R[fi, idx[side]])
        ww = np.stack([log_rot(mean_rot(rw).T @ r) for r in rw])
        out[side + "_R"] = np.stack([exp_rot(x) for x in smooth(ww, 5) * 0.4])
    return out


# --------------------------------------------------------------------------------------
# fingers
# --------------------------------------------------------------------------------------

GESTURES = {  # curl per finger (thumb, index, middle, ring, pinky), 0 straight .. 1 curled
    "open": (0.0, 0.02, 0.02, 0.02, 0.02),
    "relaxed": (0.25, 0.25, 0.3, 0.35, 0.4),
    "pinch": (0.75, 0.55, 0.3, 0.3, 0.3),
    "point": (0.8, 0.0, 1.0, 1.0, 1.0),
    "fist": (0.8, 1.0, 1.0, 1.0, 1.0),
}
FINGERS = [[1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19], [20, 21, 22, 23, 24]]
MAX_BEND = {0: (0.35, 0.6, 0.7), 1: (1.4, 1.7, 1.2)}   # thumb / other fingers: radians per joint


class HandRig:
    """Procedural finger poses on the generic hand's skeleton.  G: the 25 joints' bind poses (4x4,
    OpenXR order without the palm), from the glTF (`handed` = left/right) or a .cavhand file."""

    def __init__(self, handed=None, cavhand=None):
        if cavhand is not None:
            t, _, _ = st.read(cavhand)
            G = np.tile(np.eye(4), (25, 1, 1))
            for j in range(25):
                G[j, :3, :3] = hands.quat_to_mat(t["joint.bind_rotation"][j].astype(np.float64))
                G[j, :3, 3] = t["joint.bind_position"][j]
            self.G = G
        else:
            self.G = hands.load_hand(os.path.join(sources.HANDS_DIR, handed + ".glb"))["G"]
        self.parent = np.array([-1] + [0 if j in (1, 5, 10, 15, 20) else j - 1 for j in range(1, 25)])
        pos = self.G[:, :3, 3]
        thumb_side = pos[4] - pos[5]
        fdir = pos[11] - pos[10]
        lat = pos[5] - pos[20]
        n = np.cross(fdir, lat)
        n /= np.linalg.norm(n)
        if np.dot(n, thumb_side) < 0:
            n = -n
        self.palm_n, self.fdir = n, fdir / np.linalg.norm(fdir)
        self.local = np.stack([np.linalg.inv(self.G[self.parent[j]]) @ self.G[j] if j else self.G[0]
                               for j in range(25)])

    def pose(self, curls, wrist):
        """curls [5], wrist 4x4 (model wrist bind -> seat) -> joint poses [25, 4, 4] in the seat frame."""
        pos = self.G[:, :3, 3]
        out = np.zeros((25, 4, 4))
        out[0] = wrist
        for fi, chain in enumerate(FINGERS):
            bends = MAX_BEND[0 if fi == 0 else 1]
            for k, j in enumerate(chain):
                par = self.parent[j]
                L = self.local[j]
                b = k if fi == 0 else k - 1   # bend at this joint (turns what follows it); finger
                if 0 <= b < 3 and k + 1 < len(chain):   # metacarpals stay, the thumb's bends at its base
                    d = pos[chain[k + 1]] - pos[j]
                    axis_g = np.cross(d / np.linalg.norm(d), self.palm_n)
                    Rl = np.eye(4)
                    Rl[:3, :3] = rot_axis_angle(self.G[j][:3, :3].T @ axis_g, curls[fi] * bends[b])
                    L = L @ Rl
                out[j] = out[par] @ L
        return out


def wrist_pose(rig, R, target):
    """The wrist's pose in the seat frame when the hand model is turned by R and its wrist put at target."""
    M = np.eye(4)
    M[:3, :3] = R
    M[:3, 3] = target - R @ rig.G[0][:3, 3]
    return M @ rig.G[0]


def gesture_track(n, rng):
    keys = list(GESTURES)
    curls = np.zeros((n, 5))
    t = 0
    cur = np.array(GESTURES["relaxed"])
    while t < n:
        g = keys[rng.randint(len(keys))] if rng.rand() < 0.8 else "relaxed"
        hold = int(FPS * rng.uniform(0.8, 2.5))
        trans = int(FPS * 0.3)
        tgt = np.array(GESTURES[g])
        for i in range(min(trans, n - t)):
            a = head.smoothstep(0, 1, (i + 1) / trans)
            curls[t + i] = cur * (1 - a) + tgt * a
        t += trans
        curls[t:t + hold] = tgt
        t += hold
        cur = tgt
    return curls[:n]


# --------------------------------------------------------------------------------------
# speech and face
# --------------------------------------------------------------------------------------

def expression_track(n, rng):
    E = head.EXPRESSIONS
    e = np.zeros((n, head.K))
    ix = {k: i for i, k in enumerate(E)}
    t = 0
    while t < n:   # phrases of syllables, then a pause
        phrase = int(FPS * rng.uniform(1.2, 3.5))
        f = t
        while f < min(n, t + phrase):
            syl = int(FPS * rng.uniform(0.15, 0.28))
            amp = rng.uniform(0.2, 0.75)
            shape = rng.rand()
            for i in range(min(syl, n - f)):
                s = math.sin(math.pi * (i + 0.5) / syl)
                e[f + i, ix["jaw_open"]] = max(e[f + i, ix["jaw_open"]], amp * s)
                if shape < 0.3:
                    e[f + i, ix["pucker"]] = 0.8 * s
                elif shape < 0.6:
                    e[f + i, ix["stretch"]] = 0.7 * s
            f += syl
        if rng.rand() < 0.4:   # emphasis: brows up through the phrase
            b = rng.uniform(0.4, 1.0)
            e[t:t + phrase, ix["brow_raise_l"]] = b
            e[t:t + phrase, ix["brow_raise_r"]] = b * rng.uniform(0.8, 1.0)
        t += phrase + int(FPS * rng.uniform(0.4, 1.5))
    t = int(FPS * rng.uniform(2, 6))
    while t < n:   # smiles
        d = int(FPS * rng.uniform(1.5, 4))
        s = rng.uniform(0.5, 1.0)
        e[t:t + d, ix["smile_l"]] = s
        e[t:t + d, ix["smile_r"]] = s * rng.uniform(0.85, 1.0)
        t += d + int(FPS * rng.uniform(3, 8))
    t = int(FPS * rng.uniform(1, 4))
    while t < n:   # occasional frowns
        d = int(FPS * rng.uniform(0.8, 2))
        e[t:t + d, ix["brow_furrow"]] = rng.uniform(0.3, 0.8)
        t += d + int(FPS * rng.uniform(5, 12))
    e = smooth(e, 3)
    t = int(FPS * rng.uniform(0.5, 2))
    while t < n:   # blinks: 5 frames, both eyes
        for i, v in enumerate((0.5, 1.0, 1.0, 0.6, 0.2)):
            if t + i < n:
                e[t + i, ix["blink_l"]] = e[t + i, ix["blink_r"]] = v
        t += int(FPS * rng.uniform(2.0, 5.0))
    return np.clip(e, 0, 1)


def quat(R):
    return hands.mat_to_quat(R)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(head.PARTICIPANTS))
    ap.add_argument("--assets", required=True, help="folder with NAME.cavatar and NAME.encoder.safetensors")
    ap.add_argument("--seconds", type=float, default=36.0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    n = int(round(a.seconds * FPS))
    seed = head.PARTICIPANTS[a.name]["seed"]
    rng = np.random.RandomState(seed + 101)
    mc = mocap(CLIPS[a.name], n)
    expr = expression_track(n, rng)
    # codes from the participant's encoder
    codes = train.Sender(os.path.join(a.assets, a.name + ".cavatar")).codes(expr).numpy()
    t = {"codes": codes.astype(np.float32), "expressions": expr.astype(np.float32),
         "head.position": mc["head_p"].astype(np.float32),
         "head.rotation": np.stack([quat(r) for r in mc["head_R"]]).astype(np.float32)}
    for side, sx in (("left", 1.0), ("right", -1.0)):
        rig = HandRig(side)
        curls = gesture_track(n, rng)
        # base wrist orientation: fingers forward (+z), palm towards the body's midline and down
        fwd = np.array([0.0, 0.0, 1.0])
        palm = np.array([-sx, -1.0, 0.0]) / math.sqrt(2)
        m_axes = np.stack([rig.fdir, rig.palm_n, np.cross(rig.fdir, rig.palm_n)], 1)
        s_axes = np.stack([fwd, palm, np.cross(fwd, palm)], 1)
        B = s_axes @ np.linalg.inv(m_axes)
        rest = np.array([0.17 * sx, -0.36, 0.25])
        P = np.zeros((n, 26, 3), np.float32)
        Q = np.zeros((n, 26, 4), np.float32)
        for f in range(n):
            J = rig.pose(curls[f], wrist_pose(rig, mc[side + "_R"][f] @ B, rest + mc[side + "_p"][f]))
            palm_pose = J[10].copy()
            palm_pose[:3, 3] = 0.5 * (J[10][:3, 3] + J[11][:3, 3])
            J26 = np.concatenate([palm_pose[None], J])
            P[f] = J26[:, :3, 3]
            Q[f] = np.stack([quat(m[:3, :3]) for m in J26])
        t["hand.%s.position" % side] = P
        t["hand.%s.rotation" % side] = Q
    out = os.path.join(a.assets, a.name + ".cavperf")
    st.write(out, {k: st.encode_tensor(v, "F32") for k, v in t.items()}, {
        "format": "cavperf", "format_version": "1", "fps": str(FPS), "frames": str(n), "avatar": a.name + ".cavatar",
        "units": "metres", "hand_joints": ",".join(OPENXR_26), "expressions": ",".join(head.EXPRESSIONS),
        "source": "CMU mocap %s (assimp-testmodels), procedural fingers and speech, seed %d" % (CLIPS[a.name], seed)})
    print("performance: %s -> %s (%d frames, %.1f s, code std %.3f)" % (a.name, out, n, n / FPS, codes.std()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
