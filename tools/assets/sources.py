"""Readers for the asset pipeline's real-data sources, each installed by package name.

- MediaPipe canonical face mesh: a protobuf (GeometryPipelineMetadata) packed inside
  @mediapipe/face_mesh's face_mesh_solution_packed_assets.data; read with a minimal protobuf
  wire-format reader (no protobuf library).
- glTF binary (.glb) skinned meshes: the WebXR generic hands (@webxr-input-profiles/assets).
- BVH motion capture (CMU, Debian assimp-testmodels).
PNG reading comes from cavrpy.png.
"""

import json
import os
import re
import struct

import numpy as np

import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import png

HERE = os.path.dirname(os.path.abspath(__file__))

CACHE = os.environ.get("CAVR_ASSET_CACHE", os.path.join(HERE, "cache"))
FACE_MESH_PKG = os.path.join(CACHE, "node_modules", "@mediapipe", "face_mesh")
HANDS_DIR = os.path.join(CACHE, "node_modules", "@webxr-input-profiles", "assets", "dist", "profiles",
                         "generic-hand")
ASTRONAUT = os.path.join(CACHE, "skimage", "usr", "lib", "python3", "dist-packages", "skimage", "data",
                         "astronaut.png")
BVH_DIR_SYSTEM = "/usr/share/assimp/models/BVH"
BVH_DIR_CACHE = os.path.join(CACHE, "assimp", "usr", "share", "assimp", "models", "BVH")


class SourceError(Exception):
    pass


def bvh_path(name):
    for d in (BVH_DIR_SYSTEM, BVH_DIR_CACHE):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SourceError("%s not found in %s or %s (tools/build_assets.sh fetches assimp-testmodels)"
                      % (name, BVH_DIR_SYSTEM, BVH_DIR_CACHE))


# --------------------------------------------------------------------------------------
# minimal protobuf wire-format reader
# --------------------------------------------------------------------------------------

def _varint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise SourceError("protobuf: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise SourceError("protobuf: varint too long")


def pb_fields(buf):
    """-> list of (field_number, wire_type, value); value is int for varint/fixed, bytes for
    length-delimited.  Groups (wire types 3/4) are not used by the messages read here."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            val = buf[pos:pos + ln]
            if len(val) != ln:
                raise SourceError("protobuf: truncated field %d" % field)
            pos += ln
        elif wt == 5:
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise SourceError("protobuf: unsupported wire type %d" % wt)
        out.append((field, wt, val))
    return out


def _packed(fields, number, kind):
    """Repeated scalar field `number` (packed or not): kind 'f' (float) or 'u' (varint)."""
    vals = []
    for f, wt, v in fields:
        if f != number:
            continue
        if kind == "f":
            vals.extend(struct.unpack("<%df" % (len(v) // 4), bytes(v)) if wt == 2 else struct.unpack("<f", bytes(v)))
        else:
            if wt == 2:
                pos = 0
                while pos < len(v):
                    x, pos = _varint(v, pos)
                    vals.append(x)
            else:
                vals.append(v)
    return vals


def packed_asset(pkg_dir, suffix):
    """Bytes of the packed file whose name ends with suffix, using the loader's byte ranges."""
    loader = open(os.path.join(pkg_dir, "face_mesh_solution_packed_assets_loader.js")).read()
    for m in re.finditer(r'"filename":\s*"([^"]+)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)', loader):
        if m.group(1).endswith(suffix):
            with open(os.path.join(pkg_dir, "face_mesh_solution_packed_assets.data"), "rb") as f:
                f.seek(int(m.group(2)))
                return f.read(int(m.group(3)) - int(m.group(2)))
    raise SourceError("%s not listed in face_mesh_solution_packed_assets_loader.js" % suffix)


def canonical_face_mesh(pkg_dir=FACE_MESH_PKG):
    """MediaPipe's canonical face model -> (positions [468,3] cm (x right, y up, z towards the
    viewer), uv [468,2] (v downwards), triangles [898,3])."""
    if not os.path.isdir(pkg_dir):
        raise SourceError("%s missing (tools/build_assets.sh installs @mediapipe/face_mesh)" % pkg_dir)
    blob = packed_asset(pkg_dir, "geometry_pipeline_metadata_landmarks.binarypb")
    meta = pb_fields(blob)
    # GeometryPipelineMetadata: canonical_mesh is field 1 (Mesh3d), procrustes_landmark_basis 2
    mesh = [v for f, wt, v in meta if f == 1 and wt == 2]
    if len(mesh) != 1:
        raise SourceError("canonical_mesh not found in the metadata protobuf")
    mf = pb_fields(mesh[0])
    vtype = [v for f, wt, v in mf if f == 1] or [0]
    ptype = [v for f, wt, v in mf if f == 2] or [0]
    if vtype[0] != 0 or ptype[0] != 0:  # VERTEX_PT, TRIANGLE
        raise SourceError("unexpected mesh vertex/primitive type %s/%s" % (vtype, ptype))
    vb = np.array(_packed(mf, 3, "f"), dtype=np.float64).reshape(-1, 5)
    ib = np.array(_packed(mf, 4, "u"), dtype=np.int64).reshape(-1, 3)
    if vb.shape[0] != 468 or ib.shape[0] != 898 or ib.max() >= 468:
        raise SourceError("canonical mesh has %d vertices / %d triangles, expected 468 / 898"
                          % (vb.shape[0], ib.shape[0]))
    # MediaPipe's texture coordinates already have v downwards (forehead v ~ 0.1, chin ~ 0.95),
    # the .cavatar convention
    uv = vb[:, 3:5].copy()
    return vb[:, :3].copy(), uv, ib


def read_astronaut():
    if not os.path.exists(ASTRONAUT):
        raise SourceError("%s missing (tools/build_assets.sh extracts python3-skimage)" % ASTRONAUT)
    return png.read(ASTRONAUT) / 255.0


# --------------------------------------------------------------------------------------
# glTF binary
# --------------------------------------------------------------------------------------

GLTF_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
                   5126: np.float32}
GLTF_TYPES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def read_glb(path):
    """-> (gltf json dict, accessor(index) -> numpy array)."""
    with open(path, "rb") as f:
        blob = f.read()
    magic, version, length = struct.unpack("<4sII", blob[:12])
    if magic != b"glTF" or version != 2:
        raise SourceError("%s: not a glTF 2 binary" % path)
    pos, js, bin_chunk = 12, None, None
    while pos < length:
        clen, ctype = struct.unpack("<II", blob[pos:pos + 8])
        data = blob[pos + 8:pos + 8 + clen]
        if ctype == 0x4E4F534A:
            js = json.loads(data.decode("utf-8"))
        elif ctype == 0x004E4942:
            bin_chunk = data
        pos += 8 + clen
    if js is None or bin_chunk is None:
        raise SourceError("%s: missing JSON or BIN chunk" % path)

    def accessor(i):
        acc = js["accessors"][i]
        bv = js["bufferViews"][acc["bufferView"]]
        dt = np.dtype(GLTF_COMPONENTS[acc["componentType"]]).newbyteorder("<")
        n = GLTF_TYPES[acc["type"]]
        start = bv.get("byteOffset", 0) + acc.get("byteOffset", 0)
        stride = bv.get("byteStride", 0) or n * dt.itemsize
        count = acc["count"]
        raw = np.frombuffer(bin_chunk, dtype=np.uint8, count=stride * (count - 1) + n * dt.itemsize,
                            offset=start)
        rows = np.lib.stride_tricks.as_strided(raw, shape=(count, n * dt.itemsize), strides=(stride, 1))
        arr = np.ascontiguousarray(rows).view(dt).reshape(count, n)
        if acc.get("normalized"):
            arr = arr.astype(np.float64) / np.iinfo(dt).max
        return arr

    return js, accessor


# --------------------------------------------------------------------------------------
# BVH
# --------------------------------------------------------------------------------------

class Bvh:
    """names, parents, offsets [J,3], channels (per joint list of names), frames [N, C], dt."""

    def __init__(self, path):
        toks = open(path).read().split()
        self.names, self.parents, self.offsets, self.channels = [], [], [], []
        i, stack = 0, []
        if toks[0] != "HIERARCHY":
            raise SourceError("%s: not a BVH file" % path)
        i = 1
        while toks[i] != "MOTION":
            t = toks[i]
            if t in ("ROOT", "JOINT"):
                self.names.append(toks[i + 1])
                self.parents.append(stack[-1] if stack else -1)
                stack.append(len(self.names) - 1)
                i += 2
            elif t == "End":
                self.names.append(self.names[stack[-1]] + "_End")
                self.parents.append(stack[-1])
                stack.append(len(self.names) - 1)
                i += 2
            elif t == "{":
                i += 1
            elif t == "}":
                stack.pop()
                i += 1
            elif t == "OFFSET":
                self.offsets.append([float(x) for x in toks[i + 1:i + 4]])
                if len(self.channels) < len(self.offsets):
                    self.channels.append([])
                i += 4
            elif t == "CHANNELS":
                n = int(toks[i + 1])
                self.channels[-1] = toks[i + 2:i + 2 + n]
                i += 2 + n
            else:
                raise SourceError("%s: unexpected token %r" % (path, t))
        nframes = int(toks[i + 2])
        self.dt = float(toks[i + 5])
        vals = np.array([float(x) for x in toks[i + 6:]], dtype=np.float64)
        nch = sum(len(c) for c in self.channels)
        # some files hold one frame more than their header says (Boxing_Toes.bvh): keep the declared ones
        if vals.size < nframes * nch or vals.size % nch:
            raise SourceError("%s: %d motion values, expected %d" % (path, vals.size, nframes * nch))
        self.frames = vals[:nframes * nch].reshape(nframes, nch)
        self.offsets = np.array(self.offsets)

    def global_transforms(self):
        """-> rotations [N, J, 3, 3], positions [N, J, 3] (BVH units)."""
        N, J = self.frames.shape[0], len(self.names)
        R = np.zeros((N, J, 3, 3))
        P = np.zeros((N, J, 3))
        col = 0
        for j in range(J):
            local_r = np.broadcast_to(np.eye(3), (N, 3, 3)).copy()
            local_p = np.broadcast_to(self.offsets[j], (N, 3)).copy()
            for ch in self.channels[j]:
                v = self.frames[:, col]
                col += 1
                if ch.endswith("position"):
                    local_p[:, "XYZ".index(ch[0])] += v
                else:
                    local_r = local_r @ axis_rotation(ch[0], np.radians(v))
            p = self.parents[j]
            if p < 0:
                R[:, j], P[:, j] = local_r, local_p
            else:
                R[:, j] = R[:, p] @ local_r
                P[:, j] = P[:, p] + np.einsum("nij,nj->ni", R[:, p], local_p)
        return R, P


def axis_rotation(axis, ang):
    c, s = np.cos(ang), np.sin(ang)
    o, z = np.ones_like(ang), np.zeros_like(ang)
    if axis == "X":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), [0, 1], [-2, -1])
