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
import json
import math
import os
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from PIL import Image
except ImportError as _e:  # pragma: no cover
    sys.stderr.write("dam_reference: error: %s; run this tool with /usr/bin/python3 "
                     "(Debian python3-torch, python3-numpy and python3-pil)\n" % _e)
    sys.exit(2)

PROG = "dam_reference"
LEAKY_SLOPE = 0.2
VIEW_FEATURES = 8     # view_fc output width (fixed by the DAM architecture)
ZCODE_FEATURES = 256  # z_fc output width (fixed by the DAM architecture)
_T0 = time.time()


class ToolError(Exception):
    """An error reported to the user as one clear line, exit status 2."""


def log(msg):
    sys.stderr.write("[%6.1fs] %s\n" % (time.time() - _T0, msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------------------
# safetensors, written and read with our own few lines
# --------------------------------------------------------------------------------------

ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8, "U8": 1}
STORAGE_DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


def f32_to_bf16_bits(a):
    """Round float32 values to bfloat16 (round to nearest, ties to even); uint16 bits."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def encode_tensor(arr, st_dtype):
    """numpy array -> (st_dtype, shape, little-endian bytes)."""
    arr = np.asarray(arr)
    if st_dtype == "F32":
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    elif st_dtype == "F16":
        a32 = np.asarray(arr, dtype=np.float32)
        if np.isfinite(a32).all() and np.abs(a32).max(initial=0.0) > 65504.0:
            raise ToolError("a value overflows float16 (|x| > 65504)")
        data = np.ascontiguousarray(a32.astype("<f2")).tobytes()
    elif st_dtype == "BF16":
        data = f32_to_bf16_bits(np.asarray(arr, dtype=np.float32)).astype("<u2").tobytes()
    elif st_dtype == "I32":
        a64 = np.asarray(arr)
        if a64.size and (a64.min() < -2**31 or a64.max() >= 2**31):
            raise ToolError("an index does not fit in int32")
        data = np.ascontiguousarray(a64, dtype="<i4").tobytes()
    else:
        raise ToolError("cannot write dtype %s" % st_dtype)
    return (st_dtype, [int(s) for s in arr.shape], data)


def quantize(arr, st_dtype):
    """The float64 values a float tensor has after storage in st_dtype."""
    a = np.asarray(arr, dtype=np.float64)
    if st_dtype == "F32":
        return a.astype(np.float32).astype(np.float64)
    if st_dtype == "F16":
        return a.astype(np.float32).astype(np.float16).astype(np.float64)
    if st_dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a.astype(np.float32))).astype(np.float64)
    raise ToolError("not a float storage dtype: %s" % st_dtype)


def write_safetensors(path, tensors, metadata):
    """tensors: name -> (st_dtype, shape, bytes).  metadata: str -> str.

    Tensors are laid out by decreasing element size, then by name, so every tensor
    starts aligned to its element size; there are no holes between them.  The JSON
    header is padded with spaces so the data starts on an 8-byte boundary."""
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ToolError("metadata must map strings to strings (%r)" % (k,))
    order = sorted(tensors, key=lambda n: (-ST_ITEMSIZE[tensors[n][0]], n))
    header = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in order:
        dt, shape, data = tensors[name]
        n = 1
        for s in shape:
            n *= s
        if n * ST_ITEMSIZE[dt] != len(data):
            raise ToolError("internal: tensor %s has %d bytes, expected %d"
                            % (name, len(data), n * ST_ITEMSIZE[dt]))
        header[name] = {"dtype": dt, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp-%d" % os.getpid()
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(hjson)))
            f.write(hjson)
            for name in order:
                f.write(tensors[name][2])
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ToolError("cannot write %s: %s" % (path, e.strerror or e))


def read_safetensors(path):
    """-> (tensors, dtypes, metadata); tensors: name -> numpy array (F16/BF16 decoded to
    float32), dtypes: name -> safetensors dtype string.  Validates the whole layout."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ToolError("cannot read %s: %s" % (path, e.strerror or e))
    if len(blob) < 8:
        raise ToolError("%s: too short for a safetensors file" % path)
    (hlen,) = struct.unpack("<Q", blob[:8])
    if hlen > len(blob) - 8 or hlen > 100_000_000:
        raise ToolError("%s: header length %d does not fit the file" % (path, hlen))
    try:
        header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ToolError("%s: bad JSON header: %s" % (path, e))
    if not isinstance(header, dict):
        raise ToolError("%s: header is not a JSON object" % path)
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ToolError("%s: __metadata__ must map strings to strings" % path)
    data = memoryview(blob)[8 + hlen:]
    tensors, dtypes, spans = {}, {}, []
    for name, info in header.items():
        try:
            dt = info["dtype"]
            shape = [int(s) for s in info["shape"]]
            b, e = [int(x) for x in info["data_offsets"]]
        except (KeyError, TypeError, ValueError):
            raise ToolError("%s: malformed entry for tensor %s" % (path, name))
        if dt not in ST_ITEMSIZE:
            raise ToolError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        if any(s < 0 for s in shape):
            raise ToolError("%s: tensor %s has a negative dimension" % (path, name))
        n = 1
        for s in shape:
            n *= s
        if not (0 <= b <= e <= len(data)) or e - b != n * ST_ITEMSIZE[dt]:
            raise ToolError("%s: tensor %s: offsets [%d, %d] do not match shape %s %s "
                            "within %d data bytes" % (path, name, b, e, shape, dt, len(data)))
        raw = data[b:e]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dt == "F64":
            a = np.frombuffer(raw, dtype="<f8")
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        elif dt == "I32":
            a = np.frombuffer(raw, dtype="<i4")
        elif dt == "I64":
            a = np.frombuffer(raw, dtype="<i8")
        else:
            a = np.frombuffer(raw, dtype=np.uint8)
        tensors[name] = a.reshape(shape)
        dtypes[name] = dt
        spans.append((b, e, name))
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            raise ToolError("%s: tensor %s starts at %d, expected %d (hole or overlap)"
                            % (path, name, b, pos))
        pos = e
    if pos != len(data):
        raise ToolError("%s: %d trailing bytes after the last tensor" % (path, len(data) - pos))
    return tensors, dtypes, metadata


# --------------------------------------------------------------------------------------
# PNG through Pillow
# --------------------------------------------------------------------------------------

def write_png_rgb8(path, img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ToolError("internal: PNG writer wants [H, W, 3]")
    try:
        Image.fromarray(img, "RGB").save(path, format="PNG")
    except OSError as e:
        raise ToolError("cannot write %s: %s" % (path, e))


def read_png(path):
    """-> float32 [H, W, 3] in 0..255: grey, palette and alpha images as RGB; 16-bit grey scaled by 255/65535
    (Pillow reads 16-bit colour as its high bytes)."""
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                raise ToolError("%s: not a PNG file" % path)
            if im.mode in ("I", "I;16", "I;16B"):
                grey = np.asarray(im, dtype=np.float32) * (255.0 / 65535.0)
                return np.repeat(grey[:, :, None], 3, axis=2)
            return np.asarray(im.convert("RGB"), dtype=np.float32)
    except OSError as e:  # missing, unreadable, not an image, or broken image data
        raise ToolError("cannot read %s: %s" % (path, e))


# --------------------------------------------------------------------------------------
# The decoder: shapes, the PyTorch module, de-normalisation
# --------------------------------------------------------------------------------------

class DamSpec:
    """Z, T, V, S0, channels (C0 then each up-convolution's output), view conditioning."""

    def __init__(self, latent, texture, vertices, init_size, channels, view=True):
        self.latent, self.texture, self.vertices = int(latent), int(texture), int(vertices)
        self.init_size, self.channels, self.view = int(init_size), [int(c) for c in channels], bool(view)
        self.validate()

    def validate(self):
        if self.latent < 1:
            raise ToolError("latent size must be >= 1 (got %d)" % self.latent)
        if self.vertices < 1:
            raise ToolError("vertex count must be >= 1 (got %d)" % self.vertices)
        if self.init_size < 1:
            raise ToolError("init size must be >= 1 (got %d)" % self.init_size)
        if len(self.channels) < 2:
            raise ToolError("channels need C0 and at least one up-convolution")
        if any(c < 1 for c in self.channels):
            raise ToolError("channel counts must be >= 1: %s" % self.channels_str())
        if self.channels[-1] != 3:
            raise ToolError("the last channel count must be 3 (RGB), got %s" % self.channels_str())
        want = self.init_size * 2 ** self.n_up
        if want != self.texture:
            raise ToolError("texture size %d != init size %d * 2^%d up-convolutions = %d "
                            "(channels %s)" % (self.texture, self.init_size, self.n_up, want,
                                               self.channels_str()))

    @property
    def n_up(self):
        return len(self.channels) - 1

    @property
    def feat_in(self):
        return ZCODE_FEATURES + (VIEW_FEATURES if self.view else 0)

    def up_side(self, i):
        return self.init_size * 2 ** (i + 1)

    def channels_str(self):
        return ",".join(str(c) for c in self.channels)

    def describe(self):
        return ("Z=%d T=%d V=%d S0=%d channels=%s view=%s"
                % (self.latent, self.texture, self.vertices, self.init_size,
                   self.channels_str(), "yes" if self.view else "no"))


def default_channels(latent, n_up):
    """The reference doc's 1024 model (Z, Z,64, 64,32, 32,16, 16,3) trimmed or extended
    to n_up up-convolutions: outputs are the last n_up of [.., Z, Z, 64, 64, 32, 32, 16, 16, 3]."""
    outs = [latent] * max(0, n_up - 8) + [latent, 64, 64, 32, 32, 16, 16, 3]
    return [latent] + outs[len(outs) - n_up:]


def parse_channels(text):
    try:
        ch = [int(x) for x in text.split(",") if x.strip() != ""]
    except ValueError:
        raise ToolError("--channels must be a comma list of integers, got %r" % text)
    return ch


def spec_from_args(a, multiface=False):
    T, S0 = a.texture, a.init_size
    if T < 2:
        raise ToolError("--texture must be >= 2 (got %d)" % T)
    if S0 is None:
        if multiface:  # 4 when 4 * 4^k == T (1024: 4 blocks), else 2 (512: 4 blocks)
            S0 = 4 if T >= 16 and int(round(math.log2(T // 4))) % 2 == 0 else 2
        else:
            S0 = 4
    if a.channels:
        ch = parse_channels(a.channels)
    else:
        if T % S0 or (T // S0) & (T // S0 - 1) or T // S0 < 2:
            raise ToolError("--texture %d is not --init-size %d times a power of two >= 2" % (T, S0))
        ch = default_channels(a.latent, int(round(math.log2(T // S0))))
    spec = DamSpec(a.latent, T, a.vertices, S0, ch, view=not getattr(a, "no_view", False))
    if multiface:
        if spec.n_up % 2:
            raise ToolError("a Multiface texture decoder has blocks of 2 up-convolutions; "
                            "channels %s give %d" % (spec.channels_str(), spec.n_up))
        if spec.channels[0] != spec.latent:
            raise ToolError("a Multiface texture code has Z=%d channels (C0), got %d"
                            % (spec.latent, spec.channels[0]))
    return spec


class LinearWN(nn.Linear):
    """nn.Linear with the DAM weight normalisation: W * g[:, None] / ||W||_F.
    With wn=False the layer holds already folded weights (no g)."""

    def __init__(self, fin, fout, wn=True):
        super().__init__(fin, fout)
        self.g = nn.Parameter(torch.ones(fout)) if wn else None

    def eff_weight(self):
        if self.g is None:
            return self.weight
        return self.weight * (self.g / torch.sqrt(torch.sum(self.weight ** 2)))[:, None]

    def forward(self, x):
        return F.linear(x, self.eff_weight(), self.bias)


class ConvT2dWN(nn.ConvTranspose2d):
    """ConvTranspose2d(k=4, s=2, p=1) + per-channel bias + untied bias [Cout, H, W];
    weight normalisation W * g[None, :, None, None] / ||W||_F (weight is [Cin, Cout, 4, 4])."""

    def __init__(self, cin, cout, side_out, wn=True):
        super().__init__(cin, cout, 4, stride=2, padding=1)
        self.g = nn.Parameter(torch.ones(cout)) if wn else None
        self.untied_bias = nn.Parameter(torch.zeros(cout, side_out, side_out))

    def eff_weight(self):
        if self.g is None:
            return self.weight
        return self.weight * (self.g / torch.sqrt(torch.sum(self.weight ** 2)))[None, :, None, None]

    def forward(self, x):
        y = F.conv_transpose2d(x, self.eff_weight(), self.bias, stride=2, padding=1)
        return y + self.untied_bias[None]


class DamDecoder(nn.Module):
    """forward(z [N, Z], view [N, 3]) -> (mesh [N, V, 3], texture [N, 3, T, T]), both
    normalised network outputs (texture rows in .cavatar order, row 0 first)."""

    def __init__(self, spec, wn=True):
        super().__init__()
        self.spec = spec
        s = spec
        self.view_fc = LinearWN(3, VIEW_FEATURES, wn) if s.view else None
        self.z_fc = LinearWN(s.latent, ZCODE_FEATURES, wn)
        self.mesh_fc = LinearWN(ZCODE_FEATURES, 3 * s.vertices, wn)
        self.texture_fc = LinearWN(s.feat_in, s.channels[0] * s.init_size ** 2, wn)
        self.up = nn.ModuleList(
            ConvT2dWN(s.channels[i], s.channels[i + 1], s.up_side(i), wn) for i in range(s.n_up))

    def layers(self):
        out = [("z_fc", self.z_fc), ("mesh_fc", self.mesh_fc)]
        if self.view_fc is not None:
            out.append(("view_fc", self.view_fc))
        out.append(("texture_fc", self.texture_fc))
        out += [("up.%d" % i, m) for i, m in enumerate(self.up)]
        return out

    def forward(self, z, view=None):
        s = self.spec
        zc = F.leaky_relu(self.z_fc(z), LEAKY_SLOPE)
        mesh = self.mesh_fc(zc).reshape(z.shape[0], s.vertices, 3)
        if s.view:
            vc = F.leaky_relu(self.view_fc(view), LEAKY_SLOPE)
            feat = torch.cat([vc, zc], dim=1)
        else:
            feat = zc
        t = F.leaky_relu(self.texture_fc(feat), LEAKY_SLOPE)
        t = t.reshape(z.shape[0], s.channels[0], s.init_size, s.init_size)
        for i, m in enumerate(self.up):
            t = m(t)
            if i + 1 < len(self.up):
                t = F.leaky_relu(t, LEAKY_SLOPE)
        return mesh, t

    @torch.no_grad()
    def init_random(self, gen):
        """Per-channel g spread around ||W||_F / ||W_o|| (so W_eff row norms vary by channel
        and a wrongly broadcast g shows), small random nonzero biases and untied biases."""
        for _name, m in self.layers():
            w = m.weight
            fro = torch.sqrt(torch.sum(w ** 2))
            per_out = torch.sqrt(torch.sum(w ** 2, dim=[d for d in range(w.dim()) if d != m.out_dim]))
            jitter = 0.7 + 0.6 * torch.rand(per_out.shape, generator=gen, dtype=w.dtype)
            m.g.copy_(fro / per_out * jitter)
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen, dtype=w.dtype))
            if isinstance(m, ConvT2dWN):
                m.untied_bias.copy_(0.1 * torch.randn(m.untied_bias.shape, generator=gen, dtype=w.dtype))

    @torch.no_grad()
    def calibrate(self, z, view):
        """Scale each layer's g so its pre-bias output has unit standard deviation on the
        given inputs (data-driven init: activations neither explode nor vanish).  Scale
        factors are rounded to 6 significant digits so files do not depend on summation
        order.  Returns the std of the final (normalised) texture output."""
        def fix(m, x, op):
            y = op(x, m.eff_weight())
            sd = float(f"{float(y.std()):.6g}")
            if not sd > 0:
                raise ToolError("internal: a layer's output is constant during calibration")
            m.g.div_(sd)
            return m(x)

        conv = lambda x, w: F.conv_transpose2d(x, w, None, stride=2, padding=1)
        lin = lambda x, w: F.linear(x, w)
        s = self.spec
        zc = F.leaky_relu(fix(self.z_fc, z, lin), LEAKY_SLOPE)
        fix(self.mesh_fc, zc, lin)
        if s.view:
            vc = F.leaky_relu(fix(self.view_fc, view, lin), LEAKY_SLOPE)
            feat = torch.cat([vc, zc], dim=1)
        else:
            feat = zc
        t = F.leaky_relu(fix(self.texture_fc, feat, lin), LEAKY_SLOPE)
        t = t.reshape(z.shape[0], s.channels[0], s.init_size, s.init_size)
        for i, m in enumerate(self.up):
            t = fix(m, t, conv)
            if i + 1 < len(self.up):
                t = F.leaky_relu(t, LEAKY_SLOPE)
        return float(t.std())

    @torch.no_grad()
    def folded(self):
        """Folded float64 tensors under their .cavatar names (dec.*)."""
        out = {}
        for name, m in self.layers():
            key = "dec." + name
            w = m.weight.detach().double()
            if m.g is not None:  # W * g / ||W||_F, g along the output-channel dimension
                shape = [1] * w.dim()
                shape[m.out_dim] = -1
                w = w * (m.g.detach().double() / torch.sqrt(torch.sum(w ** 2))).reshape(shape)
            out[key + ".weight"] = w.numpy().copy()
            out[key + ".bias"] = m.bias.detach().double().numpy().copy()
            if isinstance(m, ConvT2dWN):
                out[key + ".untied_bias"] = m.untied_bias.detach().double().numpy().copy()
        return out


LinearWN.out_dim = 0   # dimension of the weight that g indexes
ConvT2dWN.out_dim = 1


def random_unit_views(n, gen):
    v = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True)


def build_random_decoder(spec, seed, calib_dtype=torch.float64):
    """A weight-normalised DamDecoder with deterministic random float32 parameters."""
    torch.manual_seed(seed)
    model = DamDecoder(spec, wn=True)  # default nn.Linear / nn.ConvTranspose2d init
    gen = torch.Generator().manual_seed(seed * 7919 + 1)
    model.init_random(gen)
    cz = torch.randn(4, spec.latent, generator=gen, dtype=torch.float64)
    cv = random_unit_views(4, gen)
    model.to(calib_dtype)
    tex_std = model.calibrate(cz.to(calib_dtype), cv.to(calib_dtype))
    model.float()
    return model, tex_std


def decoder_from_folded(spec, folded, dtype=torch.float64):
    """A DamDecoder (no weight normalisation) holding the given folded tensors."""
    m = DamDecoder(spec, wn=False).to(dtype)
    sd = {}
    for name, arr in folded.items():
        if not name.startswith("dec."):
            continue
        sd[name[4:]] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).to(dtype)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise ToolError("decoder tensors do not match the spec: missing %s, unexpected %s"
                        % (list(missing), list(unexpected)))
    return m


def decode_all(model, codes, views, vert_mean, vert_std, tex_mean, tex_std, label=""):
    """Decode each code in turn (float64 unless the model is float32); returns
    de-normalised float32 arrays vertices [N, V, 3] and textures [N, T, T, 3]."""
    dt = next(model.parameters()).dtype
    vm = torch.from_numpy(np.asarray(vert_mean, dtype=np.float64)).to(dt)
    tm = torch.from_numpy(np.asarray(tex_mean, dtype=np.float64)).to(dt)
    verts, texs = [], []
    with torch.no_grad():
        for i in range(codes.shape[0]):
            t0 = time.time()
            z = torch.as_tensor(np.asarray(codes[i:i + 1]), dtype=dt)
            v = torch.as_tensor(np.asarray(views[i:i + 1]), dtype=dt)
            mesh, tex = model(z, v)
            verts.append((mesh[0] * float(vert_std) + vm).float().numpy())
            texs.append((tex[0].permute(1, 2, 0) * float(tex_std) + tm).float().numpy())
            if time.time() - t0 > 0.5 or codes.shape[0] > 1 and model.spec.texture >= 256:
                log("%sdecoded code %d/%d (%.1fs)" % (label, i + 1, codes.shape[0], time.time() - t0))
    return np.stack(verts), np.stack(texs)


def write_reference(path, codes, views, vertices, textures, metadata):
    tensors = {
        "codes": encode_tensor(np.asarray(codes, dtype=np.float32), "F32"),
        "views": encode_tensor(np.asarray(views, dtype=np.float32), "F32"),
        "vertices": encode_tensor(vertices, "F32"),
        "textures": encode_tensor(textures, "F32"),
    }
    write_safetensors(path, tensors, metadata)


# --------------------------------------------------------------------------------------
# .cavatar writing and reading
# --------------------------------------------------------------------------------------

def cavatar_metadata(spec, name, extra=None):
    md = {
        "format": "cavatar",
        "format_version": "1",
        "family": "dam",
        "name": name,
        "latent_size": str(spec.latent),
        "texture_size": str(spec.texture),
        "vertex_count": str(spec.vertices),
        "view_conditioned": "true" if spec.view else "false",
        "units": "metres",
        "leaky_slope": "0.2",
        "dam.init_size": str(spec.init_size),
        "dam.channels": spec.channels_str(),
    }
    md.update(extra or {})
    return md


def write_cavatar(path, spec, folded, mesh, tex_mean, tex_std, st_dtype, name,
                  code_mean=None, code_std=None, extra_meta=None):
    """folded: dec.* float64 arrays.  mesh: dict vert_mean [V,3] m, vert_std (m), uv [U,2],
    tri_vertex [F,3], tri_uv [F,3].  Returns the dec.* tensors as stored (float64)."""
    t = {}
    stored = {}
    for key, arr in folded.items():
        t[key] = encode_tensor(np.asarray(arr, dtype=np.float64).astype(np.float32), st_dtype)
        stored[key] = quantize(arr, st_dtype)
    check_cavatar_shapes(spec, {k: v.shape for k, v in folded.items()}, "internal")
    t["mesh.vert_mean"] = encode_tensor(np.asarray(mesh["vert_mean"], dtype=np.float32), "F32")
    t["mesh.vert_std"] = encode_tensor(np.array([mesh["vert_std"]], dtype=np.float32), "F32")
    t["mesh.uv"] = encode_tensor(np.asarray(mesh["uv"], dtype=np.float32), "F32")
    t["mesh.tri_vertex"] = encode_tensor(np.asarray(mesh["tri_vertex"]), "I32")
    t["mesh.tri_uv"] = encode_tensor(np.asarray(mesh["tri_uv"]), "I32")
    t["tex.mean"] = encode_tensor(np.asarray(tex_mean, dtype=np.float32), "F32")
    t["tex.std"] = encode_tensor(np.array([tex_std], dtype=np.float32), "F32")
    if code_mean is not None:
        t["code.mean"] = encode_tensor(np.asarray(code_mean, dtype=np.float32), "F32")
        t["code.std"] = encode_tensor(np.asarray(code_std, dtype=np.float32), "F32")
    write_safetensors(path, t, cavatar_metadata(spec, name, extra_meta))
    return stored


def expected_dec_shapes(spec):
    s = spec
    shp = {}
    if s.view:
        shp["dec.view_fc.weight"] = (VIEW_FEATURES, 3)
        shp["dec.view_fc.bias"] = (VIEW_FEATURES,)
    shp["dec.z_fc.weight"] = (ZCODE_FEATURES, s.latent)
    shp["dec.z_fc.bias"] = (ZCODE_FEATURES,)
    shp["dec.mesh_fc.weight"] = (3 * s.vertices, ZCODE_FEATURES)
    shp["dec.mesh_fc.bias"] = (3 * s.vertices,)
    shp["dec.texture_fc.weight"] = (s.channels[0] * s.init_size ** 2, s.feat_in)
    shp["dec.texture_fc.bias"] = (s.channels[0] * s.init_size ** 2,)
    for i in range(s.n_up):
        side = s.up_side(i)
        shp["dec.up.%d.weight" % i] = (s.channels[i], s.channels[i + 1], 4, 4)
        shp["dec.up.%d.bias" % i] = (s.channels[i + 1],)
        shp["dec.up.%d.untied_bias" % i] = (s.channels[i + 1], side, side)
    return shp


def check_cavatar_shapes(spec, shapes, where):
    want = expected_dec_shapes(spec)
    for k, shp in want.items():
        if k not in shapes:
            raise ToolError("%s: missing tensor %s" % (where, k))
        if tuple(shapes[k]) != tuple(shp):
            raise ToolError("%s: tensor %s has shape %s, expected %s" % (where, k, list(shapes[k]), list(shp)))
    extra = [k for k in shapes if k.startswith("dec.") and k not in want]
    if extra:
        raise ToolError("%s: unexpected decoder tensors %s" % (where, extra))


def load_cavatar(path):
    """-> (spec, tensors (numpy; dec.* as float64), metadata, weight dtype)."""
    tensors, dtypes, md = read_safetensors(path)

    def meta(key):
        if key not in md:
            raise ToolError("%s: metadata %s missing" % (path, key))
        return md[key]

    if meta("format") != "cavatar" or meta("format_version") != "1":
        raise ToolError("%s: not a version-1 .cavatar (format=%r, format_version=%r)"
                        % (path, md.get("format"), md.get("format_version")))
    if meta("family") != "dam":
        raise ToolError("%s: family %r is not dam" % (path, md["family"]))
    if meta("units") != "metres":
        raise ToolError("%s: units %r, expected metres" % (path, md["units"]))
    try:
        slope = float(meta("leaky_slope"))
    except ValueError:
        slope = None
    if slope != LEAKY_SLOPE:
        raise ToolError("%s: leaky_slope %s is not 0.2" % (path, md["leaky_slope"]))
    vc = meta("view_conditioned")
    if vc not in ("true", "false"):
        raise ToolError("%s: view_conditioned must be true or false, got %r" % (path, vc))
    try:
        spec = DamSpec(int(meta("latent_size")), int(meta("texture_size")), int(meta("vertex_count")),
                       int(meta("dam.init_size")), parse_channels(meta("dam.channels")), view=(vc == "true"))
    except ValueError as e:
        raise ToolError("%s: bad metadata: %s" % (path, e))
    except ToolError as e:
        raise ToolError("%s: %s" % (path, e))
    check_cavatar_shapes(spec, {k: v.shape for k, v in tensors.items()}, path)
    wdts = sorted({dtypes[k] for k in tensors if k.startswith("dec.")})
    if not set(wdts) <= {"F32", "F16", "BF16"}:
        raise ToolError("%s: decoder weights must be F32, F16 or BF16, found %s" % (path, wdts))
    V, T, Z = spec.vertices, spec.texture, spec.latent
    fixed = {"mesh.vert_mean": (V, 3), "mesh.vert_std": (1,), "tex.mean": (T, T, 3), "tex.std": (1,)}
    for k, shp in fixed.items():
        if k not in tensors or tuple(tensors[k].shape) != shp or dtypes[k] != "F32":
            raise ToolError("%s: %s must be F32 %s" % (path, k, list(shp)))
    for k in ("mesh.uv", "mesh.tri_vertex", "mesh.tri_uv"):
        if k not in tensors:
            raise ToolError("%s: missing tensor %s" % (path, k))
    if tensors["mesh.uv"].ndim != 2 or tensors["mesh.uv"].shape[1] != 2:
        raise ToolError("%s: mesh.uv must be [U, 2]" % path)
    tv, tu = tensors["mesh.tri_vertex"], tensors["mesh.tri_uv"]
    if dtypes["mesh.tri_vertex"] != "I32" or dtypes["mesh.tri_uv"] != "I32" or tv.ndim != 2 \
            or tv.shape[1] != 3 or tv.shape != tu.shape:
        raise ToolError("%s: mesh.tri_vertex and mesh.tri_uv must be I32 [F, 3]" % path)
    if tv.size and (tv.min() < 0 or tv.max() >= V or tu.min() < 0 or tu.max() >= tensors["mesh.uv"].shape[0]):
        raise ToolError("%s: triangle index out of range" % path)
    for k in ("code.mean", "code.std"):
        if k in tensors and tuple(tensors[k].shape) != (Z,):
            raise ToolError("%s: %s must be [%d]" % (path, k, Z))
    out = dict(tensors)
    for k in tensors:
        if k.startswith("dec."):
            out[k] = tensors[k].astype(np.float64)
    wd = wdts[0] if len(wdts) == 1 else "mixed"
    return spec, out, md, {"F32": "f32", "F16": "f16", "BF16": "bf16"}.get(wd, wd)


# --------------------------------------------------------------------------------------
# synthetic mesh and texture data
# --------------------------------------------------------------------------------------

def synthetic_mesh(V, seed):
    """A face-like patch: V vertices on a grid over the front of an ellipsoid about 0.2 m
    across (metres), one UV per vertex (uv index = vertex index), grid triangles."""
    cols = max(2, int(math.ceil(math.sqrt(V))))
    rows = max(2, int(math.ceil(V / cols)))
    i = np.arange(V)
    r, c = i // cols, i % cols
    u = (c + 0.5) / cols
    v = (r + 0.5) / rows
    lon = (u - 0.5) * 0.9 * math.pi          # -81..81 degrees
    lat = (0.5 - v) * 0.9 * math.pi          # top row = up
    ax = np.array([0.075, 0.11, 0.095])      # semi-axes, metres
    rng = np.random.RandomState(seed % (2**32))
    bump = 1.0 + 0.02 * rng.standard_normal(V)
    pos = np.stack([ax[0] * np.cos(lat) * np.sin(lon),
                    ax[1] * np.sin(lat),
                    ax[2] * np.cos(lat) * np.cos(lon)], axis=1) * bump[:, None]
    pos += np.array([0.0, 0.03, 0.02])
    tris = []
    for rr in range(rows - 1):
        for cc in range(cols - 1):
            a, b, d, e = rr * cols + cc, rr * cols + cc + 1, (rr + 1) * cols + cc, (rr + 1) * cols + cc + 1
            if e < V:
                tris.append((a, d, b))
                tris.append((b, d, e))
            elif d < V and b < V:
                tris.append((a, d, b))
    if not tris and V >= 3:
        tris.append((0, 1, 2))
    tris = np.array(tris, dtype=np.int64).reshape(-1, 3)
    uv = np.stack([u, v], axis=1)
    return pos, uv, tris


def synthetic_texture(T):
    """A smooth, vertically and horizontally asymmetric colour pattern in 0..1, [T, T, 3]."""
    y = (np.arange(T) + 0.5) / T
    x = (np.arange(T) + 0.5) / T
    X, Y = np.meshgrid(x, y)
    base = np.array([0.78, 0.58, 0.50])
    out = np.empty((T, T, 3))
    for ch in range(3):
        out[:, :, ch] = (base[ch] + 0.12 * np.sin(2 * math.pi * (X + 0.3 * ch)) * np.cos(math.pi * Y)
                         + 0.10 * (Y - 0.5) - 0.05 * (X - 0.5))
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------
# subcommand: make
# --------------------------------------------------------------------------------------

def cmd_make(a):
    spec = spec_from_args(a)
    st_dtype = STORAGE_DTYPES[a.dtype]
    if a.codes < 1:
        raise ToolError("--codes must be >= 1")
    if not (a.vert_std > 0 and a.tex_std > 0 and math.isfinite(a.vert_std) and math.isfinite(a.tex_std)):
        raise ToolError("--vert-std and --tex-std must be positive")
    torch.set_num_threads(2)
    log("make: %s, weights %s, seed %d" % (spec.describe(), a.dtype, a.seed))
    model, tex_std_cal = build_random_decoder(spec, a.seed)
    nparams = sum(p.numel() for p in model.parameters())
    log("built weight-normalised decoder: %d parameters; texture output std on calibration "
        "codes %.3f" % (nparams, tex_std_cal))
    folded = model.folded()

    # mesh, texture and code statistics
    pos, uv, tris = synthetic_mesh(spec.vertices, a.seed)
    gen = torch.Generator().manual_seed(a.seed * 7919 + 2)
    code_mean = (0.1 * torch.randn(spec.latent, generator=gen, dtype=torch.float64)).numpy()
    code_std = (0.5 + torch.rand(spec.latent, generator=gen, dtype=torch.float64)).numpy()
    mesh = {"vert_mean": pos, "vert_std": a.vert_std, "uv": uv, "tri_vertex": tris, "tri_uv": tris}
    tex_mean = synthetic_texture(spec.texture)
    name = a.name or "random-dam-seed%d" % a.seed
    stored = write_cavatar(a.out, spec, folded, mesh, tex_mean, a.tex_std, st_dtype, name,
                           code_mean, code_std,
                           {"source": "dam_reference.py make (random weights, seed %d)" % a.seed})
    log("wrote %s (%.1f MB)" % (a.out, os.path.getsize(a.out) / 1e6))

    # reference codes and views (their own generator: --codes does not change the weights)
    gen = torch.Generator().manual_seed(a.seed * 7919 + 3)
    codes = torch.randn(a.codes, spec.latent, generator=gen, dtype=torch.float64).float().double()
    views = random_unit_views(a.codes, gen).float().double()
    if st_dtype == "F32":
        ref_model = model.double()  # the un-folded weight-normalised module itself
        how = "weight-normalised module (unfolded float32 parameters) in float64"
    else:
        ref_model = decoder_from_folded(spec, stored)  # folded weights as rounded in the file
        how = "folded weights as rounded to %s in the file, computed in float64" % a.dtype
    # the file's f32 mean/std are what a decoder sees
    vm32 = np.asarray(pos, dtype=np.float32).astype(np.float64)
    tm32 = np.asarray(tex_mean, dtype=np.float32).astype(np.float64)
    verts, texs = decode_all(ref_model, codes.numpy(), views.numpy(), vm32, float(np.float32(a.vert_std)),
                             tm32, float(np.float32(a.tex_std)), "reference: ")
    tstd_out = float(((texs.astype(np.float64) - tm32[None]) / float(np.float32(a.tex_std))).std())
    write_reference(a.ref, codes.numpy(), views.numpy(), verts, texs, {
        "avatar": os.path.basename(a.out),
        "weights_dtype": a.dtype,
        "reference_precision": "float64",
        "reference_weights": how,
        "seed": str(a.seed),
        "texture_output_std": "%.4f" % tstd_out,
    })
    log("wrote %s (%d codes)" % (a.ref, a.codes))
    print("make: %s -> %s, %s" % (spec.describe(), a.out, a.ref))
    print("make: normalised texture output std %.3f (reference codes), vertices span %.3f m"
          % (tstd_out, float(np.ptp(verts[0], axis=0).max())))
    return 0


# --------------------------------------------------------------------------------------
# subcommand: reference
# --------------------------------------------------------------------------------------

def cmd_reference(a):
    torch.set_num_threads(2)
    spec, t, md, wdtype = load_cavatar(a.avatar)
    log("reference: %s (%s, weights %s)" % (a.avatar, spec.describe(), wdtype))
    if a.codes_from:
        rt, _, _ = read_safetensors(a.codes_from)
        if "codes" not in rt or "views" not in rt:
            raise ToolError("%s: needs tensors codes and views" % a.codes_from)
        codes = rt["codes"].astype(np.float64)
        views = rt["views"].astype(np.float64)
        if codes.ndim != 2 or codes.shape[1] != spec.latent:
            raise ToolError("%s: codes have shape %s, the avatar needs [N, %d]"
                            % (a.codes_from, list(codes.shape), spec.latent))
        if views.shape != (codes.shape[0], 3):
            raise ToolError("%s: views must be [%d, 3]" % (a.codes_from, codes.shape[0]))
    else:
        if a.codes < 1:
            raise ToolError("--codes must be >= 1")
        gen = torch.Generator().manual_seed(a.seed * 7919 + 3)
        codes = torch.randn(a.codes, spec.latent, generator=gen, dtype=torch.float64).float().double().numpy()
        views = random_unit_views(a.codes, gen).float().double().numpy()
    dt = torch.float64 if a.precision == "f64" else torch.float32
    model = decoder_from_folded(spec, t, dt)
    verts, texs = decode_all(model, codes, views, t["mesh.vert_mean"].astype(np.float64),
                             float(t["mesh.vert_std"][0]), t["tex.mean"].astype(np.float64),
                             float(t["tex.std"][0]), "reference: ")
    write_reference(a.out, codes, views, verts, texs, {
        "avatar": os.path.basename(a.avatar),
        "weights_dtype": wdtype,
        "reference_precision": "float64" if a.precision == "f64" else "float32",
        "reference_weights": "folded tensors of the .cavatar",
    })
    print("reference: %d codes -> %s" % (codes.shape[0], a.out))
    return 0


# --------------------------------------------------------------------------------------
# subcommand: compare
# --------------------------------------------------------------------------------------

def cmd_compare(a):
    ta, _, _ = read_safetensors(a.a)
    tb, _, _ = read_safetensors(a.b)
    names = a.tensors.split(",") if a.tensors else ["codes", "views", "vertices", "textures"]
    fails = 0
    for n in names:
        if n not in ta or n not in tb:
            print("compare: %s: missing in %s" % (n, a.a if n not in ta else a.b))
            fails += 1
            continue
        x, y = ta[n].astype(np.float64), tb[n].astype(np.float64)
        if x.shape != y.shape:
            print("compare: %s: shapes differ %s vs %s" % (n, list(x.shape), list(y.shape)))
            fails += 1
            continue
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            print("compare: %s: non-finite values" % n)
            fails += 1
            continue
        d = float(np.abs(x - y).max()) if x.size else 0.0
        scale = float(np.abs(y).max()) if y.size else 0.0
        rel = d / scale if scale > 0 else d
        ok = d <= a.atol + a.rtol * scale
        print("compare: %-9s max_abs=%.3e max|ref|=%.3e rel=%.3e %s"
              % (n, d, scale, rel, "ok" if ok else "FAIL"))
        fails += 0 if ok else 1
    return 1 if fails else 0


# --------------------------------------------------------------------------------------
# Multiface checkpoints
# --------------------------------------------------------------------------------------

MF = "dec.texture_decoder.upsample.%d.conv%d"


def multiface_up_key(i):
    return MF % (i // 2, i % 2 + 1)


def multiface_decode(sd, codes, views):
    """Decode straight from a Multiface state_dict (dec.* keys), weight normalisation
    applied at run time, in the original layout: returns normalised mesh [N, V*3] and
    the texture [N, 3, T, T] bottom-up (Multiface's orientation).  Float64."""
    def P(k):
        return sd[k].detach().to(torch.float64)

    def lin(prefix, x):
        w, g = P(prefix + ".weight"), P(prefix + ".g")
        return x @ (w * g.reshape(-1, 1) / w.norm()).t() + P(prefix + ".bias")

    lrelu = lambda x: torch.where(x >= 0, x, 0.2 * x)
    z = torch.as_tensor(codes, dtype=torch.float64)
    v = torch.as_tensor(views, dtype=torch.float64)
    view_code = lrelu(lin("dec.view_fc", v))
    z_code = lrelu(lin("dec.z_fc", z))
    mesh = lin("dec.mesh_fc", z_code)
    tcode = lrelu(lin("dec.texture_fc", torch.cat((view_code, z_code), 1)))
    c0 = sd[MF % (0, 1) + ".deconv.weight"].shape[0]
    side = int(round(math.sqrt(tcode.shape[1] / c0)))
    x = tcode.reshape(-1, c0, side, side)
    nblocks = 0
    while (MF % (nblocks, 1) + ".deconv.weight") in sd:
        nblocks += 1
    for b in range(nblocks):
        for k in (1, 2):
            p = MF % (b, k)
            w, g = P(p + ".deconv.weight"), P(p + ".deconv.g")
            w = w * g.reshape(1, -1, 1, 1) / w.norm()
            x = F.conv_transpose2d(x, w, P(p + ".deconv.bias"), stride=2, padding=1) + P(p + ".bias")
            if not (b == nblocks - 1 and k == 2):
                x = lrelu(x)
    return mesh, x


def load_checkpoint_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        raise ToolError("checkpoint %s does not exist" % path)
    except Exception as e:  # torch.load raises many kinds
        raise ToolError("cannot load checkpoint %s: %s" % (path, e))
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for k in ("state_dict", "model"):
            if k in obj and isinstance(obj[k], dict) and not any(
                    isinstance(x, torch.Tensor) and n.startswith("dec.") for n, x in obj.items()):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not obj:
        raise ToolError("%s: not a state_dict (a dict of tensors)" % path)
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    # DistributedDataParallel (how Multiface's train.py saves) prefixes every key with module.
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def multiface_spec(sd, where):
    """Infer Z, T, V, S0, channels from a Multiface state_dict; check every decoder key."""
    def need(k):
        if k not in sd:
            raise ToolError("%s: missing key %s" % (where, k))
        return sd[k]

    def shape_is(k, shp):
        t = need(k)
        if tuple(t.shape) != tuple(shp):
            raise ToolError("%s: %s has shape %s, expected %s" % (where, k, list(t.shape), list(shp)))

    bad = [k for k in sd if k.startswith("warp.")]
    if bad:
        raise ToolError("%s: warp-field model (keys %s...) is not supported by the dam family"
                        % (where, bad[0]))
    zw = need("dec.z_fc.weight")
    if zw.dim() != 2 or zw.shape[0] != ZCODE_FEATURES:
        raise ToolError("%s: dec.z_fc.weight has shape %s, expected [256, Z]" % (where, list(zw.shape)))
    Z = zw.shape[1]
    mw = need("dec.mesh_fc.weight")
    if mw.dim() != 2 or mw.shape[1] != ZCODE_FEATURES or mw.shape[0] % 3:
        raise ToolError("%s: dec.mesh_fc.weight has shape %s, expected [3V, 256]" % (where, list(mw.shape)))
    V = mw.shape[0] // 3
    view = "dec.view_fc.weight" in sd
    nb = 0
    while (MF % (nb, 1) + ".deconv.weight") in sd:
        nb += 1
    if nb == 0:
        raise ToolError("%s: missing key %s" % (where, MF % (0, 1) + ".deconv.weight"))
    chans = [need(MF % (0, 1) + ".deconv.weight").shape[0]]
    for i in range(2 * nb):
        w = need(multiface_up_key(i) + ".deconv.weight")
        if w.dim() != 4 or tuple(w.shape[2:]) != (4, 4):
            raise ToolError("%s: %s has shape %s; only 4x4 transposed convolutions (not the "
                            "bilinear variant) are supported" % (where, multiface_up_key(i) + ".deconv.weight",
                                                                  list(w.shape)))
        if w.shape[0] != chans[-1]:
            raise ToolError("%s: %s has %d input channels, previous layer gives %d"
                            % (where, multiface_up_key(i) + ".deconv.weight", w.shape[0], chans[-1]))
        chans.append(w.shape[1])
    tw = need("dec.texture_fc.weight")
    if tw.dim() != 2 or tw.shape[0] % chans[0]:
        raise ToolError("%s: dec.texture_fc.weight has shape %s, not a multiple of C0=%d rows"
                        % (where, list(tw.shape), chans[0]))
    S0 = int(round(math.sqrt(tw.shape[0] // chans[0])))
    if S0 * S0 * chans[0] != tw.shape[0]:
        raise ToolError("%s: dec.texture_fc.weight rows %d are not C0=%d times a square"
                        % (where, tw.shape[0], chans[0]))
    T = S0 * 2 ** (2 * nb)
    spec = DamSpec(Z, T, V, S0, chans, view=view)
    # every key, every shape
    lin = [("dec.z_fc", ZCODE_FEATURES, Z), ("dec.mesh_fc", 3 * V, ZCODE_FEATURES),
           ("dec.texture_fc", chans[0] * S0 * S0, spec.feat_in)]
    if view:
        lin.append(("dec.view_fc", VIEW_FEATURES, 3))
    for p, fout, fin in lin:
        shape_is(p + ".weight", (fout, fin))
        shape_is(p + ".bias", (fout,))
        if need(p + ".g").numel() != fout:
            raise ToolError("%s: %s.g has %d values, expected %d" % (where, p, sd[p + ".g"].numel(), fout))
    for i in range(spec.n_up):
        p = multiface_up_key(i)
        cout, side = chans[i + 1], spec.up_side(i)
        shape_is(p + ".deconv.bias", (cout,))
        if need(p + ".deconv.g").numel() != cout:
            raise ToolError("%s: %s.deconv.g has %d values, expected %d" % (where, p, sd[p + ".deconv.g"].numel(), cout))
        ub = need(p + ".bias")
        if tuple(ub.shape) not in ((1, cout, side, side), (1, cout, 1, 1)):
            raise ToolError("%s: %s.bias has shape %s, expected [1, %d, %d, %d] (or [1, %d, 1, 1])"
                            % (where, p, list(ub.shape), cout, side, side, cout))
    known = set()
    for p, _, _ in lin:
        known |= {p + ".weight", p + ".bias", p + ".g"}
    for i in range(spec.n_up):
        p = multiface_up_key(i)
        known |= {p + ".deconv.weight", p + ".deconv.bias", p + ".deconv.g", p + ".bias"}
    extra = sorted(k for k in sd if k.startswith("dec.") and k not in known)
    if extra:
        raise ToolError("%s: unexpected decoder keys (unsupported variant?): %s"
                        % (where, ", ".join(extra[:6]) + (" ..." if len(extra) > 6 else "")))
    return spec


def fold_multiface(sd, spec):
    """Fold weight normalisation and the texture's vertical flip into .cavatar tensors.

    Multiface's texture is bottom-up; .cavatar row 0 is the first row of the image.  A
    ConvTranspose2d(k=4, s=2, p=1) gives the row-flipped output of a row-flipped input
    when its kernel is flipped along kh, so: reverse the rows of the initial grid (by
    permuting texture_fc's output rows), flip every kernel along kh and every untied
    bias along H.  LeakyReLU and per-channel biases commute with the flip."""
    out = {}

    def g64(k):
        return sd[k].detach().to(torch.float64).reshape(-1)

    names = ["z_fc", "mesh_fc", "texture_fc"] + (["view_fc"] if spec.view else [])
    for n in names:
        w = sd["dec.%s.weight" % n].detach().to(torch.float64)
        w = w * (g64("dec.%s.g" % n) / torch.sqrt(torch.sum(w ** 2)))[:, None]
        out["dec.%s.weight" % n] = w.numpy()
        out["dec.%s.bias" % n] = sd["dec.%s.bias" % n].detach().to(torch.float64).numpy()
    c0, s0 = spec.channels[0], spec.init_size
    w = out["dec.texture_fc.weight"].reshape(c0, s0, s0, -1)[:, ::-1]
    out["dec.texture_fc.weight"] = np.ascontiguousarray(w.reshape(c0 * s0 * s0, -1))
    b = out["dec.texture_fc.bias"].reshape(c0, s0, s0)[:, ::-1]
    out["dec.texture_fc.bias"] = np.ascontiguousarray(b.reshape(-1))
    for i in range(spec.n_up):
        p = multiface_up_key(i)
        w = sd[p + ".deconv.weight"].detach().to(torch.float64)
        w = w * (g64(p + ".deconv.g") / torch.sqrt(torch.sum(w ** 2)))[None, :, None, None]
        out["dec.up.%d.weight" % i] = np.ascontiguousarray(w.numpy()[:, :, ::-1, :])
        out["dec.up.%d.bias" % i] = sd[p + ".deconv.bias"].detach().to(torch.float64).numpy()
        side, cout = spec.up_side(i), spec.channels[i + 1]
        ub = sd[p + ".bias"].detach().to(torch.float64).numpy().reshape(cout, *sd[p + ".bias"].shape[2:])
        ub = np.broadcast_to(ub, (cout, side, side))[:, ::-1, :]
        out["dec.up.%d.untied_bias" % i] = np.ascontiguousarray(ub)
    return out


def read_scalar_file(path, what):
    try:
        with open(path, "r") as f:
            toks = f.read().split()
    except OSError as e:
        raise ToolError("cannot read %s %s: %s" % (what, path, e.strerror or e))
    if len(toks) != 1:
        raise ToolError("%s %s must hold exactly one number, found %d tokens" % (what, path, len(toks)))
    try:
        x = float(toks[0])
    except ValueError:
        raise ToolError("%s %s: %r is not a number" % (what, path, toks[0]))
    if not (x > 0 and math.isfinite(x)):
        raise ToolError("%s %s: variance must be positive and finite, got %r" % (what, path, x))
    return x


def read_obj(path):
    """-> (positions [Nv,3], uvs [U,2], tri_vertex [F,3], tri_uv [F,3]), 0-based; polygons
    are fan-triangulated; negative (relative) indices are resolved."""
    verts, uvs, fv, fu = [], [], [], []
    try:
        f = open(path, "r")
    except OSError as e:
        raise ToolError("cannot read %s: %s" % (path, e.strerror or e))
    with f:
        for ln, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            try:
                if parts[0] == "v":
                    verts.append([float(x) for x in parts[1:4]])
                    if len(verts[-1]) != 3:
                        raise ValueError("v needs 3 coordinates")
                elif parts[0] == "vt":
                    uvs.append([float(x) for x in parts[1:3]])
                    if len(uvs[-1]) != 2:
                        raise ValueError("vt needs 2 coordinates")
                elif parts[0] == "f":
                    corners = []
                    for tok in parts[1:]:
                        sub = tok.split("/")
                        if len(sub) < 2 or sub[1] == "":
                            raise ValueError("face corner %r has no texture index (need v/vt)" % tok)
                        vi, ti = int(sub[0]), int(sub[1])
                        vi = vi - 1 if vi > 0 else len(verts) + vi
                        ti = ti - 1 if ti > 0 else len(uvs) + ti
                        corners.append((vi, ti))
                    if len(corners) < 3:
                        raise ValueError("face with fewer than 3 corners")
                    for k in range(1, len(corners) - 1):
                        tri = (corners[0], corners[k], corners[k + 1])
                        fv.append([c[0] for c in tri])
                        fu.append([c[1] for c in tri])
            except ValueError as e:
                raise ToolError("%s:%d: %s" % (path, ln, e))
    if not fv:
        raise ToolError("%s: no faces" % path)
    fv, fu = np.array(fv, dtype=np.int64), np.array(fu, dtype=np.int64)
    if fv.min() < 0 or fv.max() >= len(verts):
        raise ToolError("%s: a face references vertex %d of %d" % (path, int(fv.max()) + 1, len(verts)))
    if fu.min() < 0 or fu.max() >= len(uvs):
        raise ToolError("%s: a face references texture coordinate %d of %d" % (path, int(fu.max()) + 1, len(uvs)))
    return np.array(verts, dtype=np.float64).reshape(-1, 3), np.array(uvs, dtype=np.float64).reshape(-1, 2), fv, fu


def resize_bilinear(img, size):
    """Bilinear resize with half-pixel centres and edge clamping (what Multiface's
    cv2.resize does to tex_mean when the model's texture size differs); [H,W,C]."""
    h, w = img.shape[:2]

    def axis(n_in, n_out):
        s = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        s = np.clip(s, 0, n_in - 1)
        i0 = np.floor(s).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, s - i0

    y0, y1, fy = axis(h, size)
    x0, x1, fx = axis(w, size)
    img = img.astype(np.float64)
    rows = img[y0] * (1 - fy)[:, None, None] + img[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def read_tex_mean(path):
    """tex_mean as float64 [H, W, 3] in 0..255, first row = first row of the image file.
    .png (8/16-bit) or .npy ([H, W, 3|4], 0..255, image row order, any numeric dtype)."""
    if path.lower().endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ToolError("cannot read %s: %s" % (path, e))
        if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype.kind not in "uif":
            raise ToolError("%s: expected a numeric [H, W, 3] array, got %s %s" % (path, arr.dtype, list(arr.shape)))
        return arr[:, :, :3].astype(np.float64)
    return read_png(path).astype(np.float64)


# --------------------------------------------------------------------------------------
# subcommand: convert-multiface
# --------------------------------------------------------------------------------------

def cmd_convert_multiface(a):
    torch.set_num_threads(2)
    sd = load_checkpoint_state_dict(a.checkpoint)
    spec = multiface_spec(sd, a.checkpoint)
    log("convert-multiface: %s: %s" % (a.checkpoint, spec.describe()))
    st_dtype = STORAGE_DTYPES[a.dtype]
    if not (a.units_scale > 0):
        raise ToolError("--units-scale must be positive")
    # vertices
    try:
        vm = np.fromfile(a.vert_mean, dtype="<f4").astype(np.float64)
    except OSError as e:
        raise ToolError("cannot read %s: %s" % (a.vert_mean, e.strerror or e))
    if vm.size != 3 * spec.vertices:
        raise ToolError("%s holds %d floats, the checkpoint needs V*3 = %d" % (a.vert_mean, vm.size, 3 * spec.vertices))
    vm = vm.reshape(spec.vertices, 3) * a.units_scale
    vstd = math.sqrt(read_scalar_file(a.vert_var, "vertex variance")) * a.units_scale
    extent = float(np.ptp(vm, axis=0).max())
    if not 0.05 <= extent <= 1.0:
        log("warning: mean mesh spans %.4g m after --units-scale %g; a head is about 0.2 m"
            % (extent, a.units_scale))
    # texture statistics: 0..255 -> 0..1, image row order (no flip: .cavatar row 0 = first row)
    tm = read_tex_mean(a.tex_mean)
    if tm.shape[0] != tm.shape[1]:
        raise ToolError("%s is %dx%d, expected a square texture" % (a.tex_mean, tm.shape[1], tm.shape[0]))
    if tm.shape[0] != spec.texture:
        log("resizing %s from %d to %d (bilinear, as Multiface does)" % (a.tex_mean, tm.shape[0], spec.texture))
        tm = resize_bilinear(tm, spec.texture)
    tm = tm / 255.0
    tstd = math.sqrt(read_scalar_file(a.tex_var, "texture variance")) / 255.0
    # topology
    pos, uvs, fv, fu = read_obj(a.obj)
    if pos.shape[0] != spec.vertices:
        raise ToolError("%s has %d vertices, the checkpoint has V = %d" % (a.obj, pos.shape[0], spec.vertices))
    uv = np.stack([uvs[:, 0], 1.0 - uvs[:, 1]], axis=1)  # OBJ v is up; .cavatar v is down
    mesh = {"vert_mean": vm, "vert_std": vstd, "uv": uv, "tri_vertex": fv, "tri_uv": fu}
    folded = fold_multiface(sd, spec)
    name = a.name or os.path.basename(os.path.dirname(os.path.abspath(a.checkpoint))) or "multiface"
    write_cavatar(a.out, spec, folded, mesh, tm, tstd, st_dtype, name, extra_meta={
        "source": "multiface DeepAppearanceVAE checkpoint %s" % os.path.basename(a.checkpoint)})
    print("convert-multiface: %s -> %s (%s, weights %s, %d triangles)"
          % (a.checkpoint, a.out, spec.describe(), a.dtype, fv.shape[0]))
    return 0


# --------------------------------------------------------------------------------------
# subcommand: make-multiface
# --------------------------------------------------------------------------------------

def cmd_make_multiface(a):
    spec = spec_from_args(a, multiface=True)
    if a.codes < 1:
        raise ToolError("--codes must be >= 1")
    torch.set_num_threads(2)
    log("make-multiface: %s, seed %d" % (spec.describe(), a.seed))
    os.makedirs(a.out_dir, exist_ok=True)
    model, _ = build_random_decoder(spec, a.seed)
    # the decoder under Multiface's key names and shapes
    sd = {}
    for n in ("view_fc", "z_fc", "mesh_fc", "texture_fc"):
        m = getattr(model, n)
        sd["dec.%s.weight" % n] = m.weight.detach().clone()
        sd["dec.%s.bias" % n] = m.bias.detach().clone()
        sd["dec.%s.g" % n] = m.g.detach().clone()
    for i, m in enumerate(model.up):
        p = multiface_up_key(i)
        sd[p + ".deconv.weight"] = m.weight.detach().clone()
        sd[p + ".deconv.bias"] = m.bias.detach().clone()
        sd[p + ".deconv.g"] = m.g.detach().clone()
        sd[p + ".bias"] = m.untied_bias.detach().clone()[None]
    # encoder and colour-correction stand-ins (ignored by the converter)
    gen = torch.Generator().manual_seed(a.seed * 7919 + 4)
    full = {}
    full["enc.texture_encoder.downsample.0.conv1.weight"] = torch.randn(16, 3, 4, 4, generator=gen)
    full["enc.texture_encoder.downsample.0.conv1.bias"] = torch.zeros(16)
    full["enc.texture_encoder.downsample.0.conv1.g"] = torch.ones(16)
    full["enc.mesh_fc.weight"] = torch.randn(256, 3 * spec.vertices, generator=gen) * 0.01
    full["enc.mesh_fc.bias"] = torch.zeros(256)
    full["enc.mesh_fc.g"] = torch.ones(256)
    full["enc.fc.weight"] = torch.randn(2 * spec.latent, 512, generator=gen) * 0.01
    full["enc.fc.bias"] = torch.zeros(2 * spec.latent)
    full["enc.fc.g"] = torch.ones(2 * spec.latent)
    full.update(sd)
    full["cc.weight_anchor"] = torch.ones(1, 3, 1, 1)
    full["cc.bias_anchor"] = torch.zeros(1, 3, 1, 1)
    full["cc.weight"] = torch.ones(37, 3, 1, 1)
    full["cc.bias"] = torch.zeros(37, 3, 1, 1)
    if a.ddp_prefix:
        full = {"module." + k: v for k, v in full.items()}
    obj = {"state_dict": full} if a.wrap == "state_dict" else {"model": full} if a.wrap == "model" else full
    ckpt = os.path.join(a.out_dir, "best_model.pth")
    torch.save(obj, ckpt)
    # statistics in capture units (millimetres for the default --units-scale 0.001)
    pos, uv, tris = synthetic_mesh(spec.vertices, a.seed)
    vm_units = (pos / a.units_scale).astype(np.float32)
    vm_units.tofile(os.path.join(a.out_dir, "vert_mean.bin"))
    vert_var = (0.005 / a.units_scale) ** 2
    with open(os.path.join(a.out_dir, "vert_var.txt"), "w") as f:
        f.write("%r\n" % vert_var)
    tex_var = 38.0 ** 2
    with open(os.path.join(a.out_dir, "tex_var.txt"), "w") as f:
        f.write("%r\n" % tex_var)
    png = np.round(synthetic_texture(spec.texture) * 255.0).astype(np.uint8)  # image rows, top first
    tex_path = os.path.join(a.out_dir, "tex_mean." + a.tex_format)
    if a.tex_format == "png":
        write_png_rgb8(tex_path, png)
    else:
        with open(tex_path, "wb") as f:
            np.save(f, png, allow_pickle=False)
    # an .obj whose texture coordinates are stored in a different order from the vertices
    # (so tri_uv != tri_vertex) and with OBJ's v-up convention
    perm = np.random.RandomState(a.seed % (2**32)).permutation(spec.vertices)  # vt k = uv of vertex perm[k]
    inv = np.argsort(perm)
    with open(os.path.join(a.out_dir, "mesh.obj"), "w") as f:
        f.write("# synthetic Multiface-style tracked mesh (dam_reference.py make-multiface)\n")
        for p in vm_units.astype(np.float64):
            f.write("v %.6f %.6f %.6f\n" % tuple(p))
        for k in perm:
            f.write("vt %.6f %.6f\n" % (uv[k, 0], 1.0 - uv[k, 1]))
        for t in tris:
            f.write("f %d/%d %d/%d %d/%d\n" % (t[0] + 1, inv[t[0]] + 1, t[1] + 1, inv[t[1]] + 1,
                                               t[2] + 1, inv[t[2]] + 1))
    log("wrote checkpoint directory %s" % a.out_dir)
    # reference straight from the state_dict, Multiface's way
    gen = torch.Generator().manual_seed(a.seed * 7919 + 3)
    codes = torch.randn(a.codes, spec.latent, generator=gen, dtype=torch.float64).float().double()
    views = random_unit_views(a.codes, gen).float().double()
    vert_mean = vm_units.astype(np.float64).reshape(1, -1)
    tex_mean_bottom_up = png.astype(np.float64)[::-1]   # Multiface flips the PNG on load
    verts, texs = [], []
    with torch.no_grad():
        for i in range(a.codes):
            mesh, tex = multiface_decode(sd, codes[i:i + 1], views[i:i + 1])
            vu = mesh.numpy() * math.sqrt(vert_var) + vert_mean                # capture units
            verts.append((vu.reshape(-1, 3) * a.units_scale).astype(np.float32))
            col = (tex[0].permute(1, 2, 0).numpy() * math.sqrt(tex_var) + tex_mean_bottom_up) / 255.0
            texs.append(np.ascontiguousarray(col[::-1]).astype(np.float32))   # to image row order
            if spec.texture >= 256:
                log("reference: decoded code %d/%d" % (i + 1, a.codes))
    ref = a.ref or os.path.join(a.out_dir, "reference.safetensors")
    write_reference(ref, codes.numpy(), views.numpy(), np.stack(verts), np.stack(texs), {
        "avatar": a.avatar_name,
        "weights_dtype": "f32",
        "reference_precision": "float64",
        "reference_weights": "Multiface state_dict, weight normalisation at run time, bottom-up "
                             "texture flipped to image row order",
        "units_scale": repr(a.units_scale),
        "seed": str(a.seed),
    })
    print("make-multiface: %s -> %s (checkpoint, vert_mean.bin, vert_var.txt, tex_mean.%s, "
          "tex_var.txt, mesh.obj), reference %s" % (spec.describe(), a.out_dir, a.tex_format, ref))
    return 0


# --------------------------------------------------------------------------------------
# subcommand: bench
# --------------------------------------------------------------------------------------

def cmd_bench(a):
    torch.set_num_threads(a.threads)
    if a.avatar:
        spec, t, _, _ = load_cavatar(a.avatar)
        model = decoder_from_folded(spec, t, torch.float32)
        vm, vstd = t["mesh.vert_mean"], float(t["mesh.vert_std"][0])
        tm, tstd = t["tex.mean"], float(t["tex.std"][0])
    else:
        spec = spec_from_args(a)
        wn_model, _ = build_random_decoder(spec, a.seed, calib_dtype=torch.float32)
        model = decoder_from_folded(spec, wn_model.folded(), torch.float32)
        vm = synthetic_mesh(spec.vertices, a.seed)[0].astype(np.float32)
        vstd, tm, tstd = 0.005, synthetic_texture(spec.texture).astype(np.float32), 0.15
    model.eval()
    vm_t, tm_t = torch.from_numpy(np.array(vm, np.float32)), torch.from_numpy(np.array(tm, np.float32))
    gen = torch.Generator().manual_seed(a.seed * 7919 + 3)
    z = torch.randn(a.batch, spec.latent, generator=gen)
    v = random_unit_views(a.batch, gen).float()

    def decode():
        mesh, tex = model(z, v)
        verts = mesh * vstd + vm_t
        col = tex.permute(0, 2, 3, 1) * tstd + tm_t
        return verts, col.contiguous()

    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            decode()
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            decode()
            times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
    log("bench: %s, batch %d, %d threads, float32, runs (ms): %s"
        % (spec.describe(), a.batch, a.threads, " ".join("%.1f" % x for x in times)))
    print("pytorch_cpu_decode_ms=%.2f" % med)
    return 0


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------

def _positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %d" % v)
    return v


def _seed(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % s)
    if not 0 <= v < 2**31:
        raise argparse.ArgumentTypeError("seed must be in 0..2^31-1")
    return v


def add_shape_args(p, multiface=False):
    p.add_argument("--latent", type=_positive_int, default=256, metavar="Z", help="latent code size Z (default 256)")
    p.add_argument("--texture", type=_positive_int, default=1024, metavar="T", help="texture side T (default 1024)")
    p.add_argument("--vertices", type=_positive_int, default=7306, metavar="V", help="vertex count V (default 7306)")
    p.add_argument("--init-size", type=_positive_int, default=None if multiface else 4, metavar="S0",
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
    p.add_argument("--dtype", choices=sorted(STORAGE_DTYPES), default="f32",
                   help="storage dtype of the dec.* tensors (default f32); the reference uses the "
                        "weights as rounded to it")
    p.add_argument("--codes", type=_positive_int, default=3, metavar="N", help="reference codes (default 3)")
    p.add_argument("--seed", type=_seed, default=1)
    p.add_argument("--name", help="avatar name metadata (default random-dam-seed<SEED>)")
    p.add_argument("--vert-std", type=float, default=0.005, help="mesh.vert_std in metres (default 0.005)")
    p.add_argument("--tex-std", type=float, default=0.15, help="tex.std (default 0.15)")
    p.set_defaults(func=cmd_make)

    p = sub.add_parser("reference", help="decode with a .cavatar's own tensors -> reference outputs",
                       description="Decode codes with a module built from the .cavatar's folded tensors "
                                   "(as stored, any weight dtype) and write reference outputs.")
    p.add_argument("--avatar", required=True, metavar="PATH.cavatar")
    p.add_argument("--out", required=True, metavar="PATH.safetensors")
    p.add_argument("--codes-from", metavar="REF.safetensors",
                   help="take codes and views from this reference file (else random, see --codes/--seed)")
    p.add_argument("--codes", type=_positive_int, default=3, metavar="N")
    p.add_argument("--seed", type=_seed, default=1)
    p.add_argument("--precision", choices=["f64", "f32"], default="f64",
                   help="arithmetic precision (default f64)")
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser("compare", help="compare two reference-output files",
                       description="Per tensor: pass when max|A-B| <= atol + rtol * max|B|.  "
                                   "Exit 1 when any tensor fails.")
    p.add_argument("a", metavar="A.safetensors")
    p.add_argument("b", metavar="B.safetensors", help="the reference (scale of the tolerance)")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--tensors", help="comma list (default codes,views,vertices,textures)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("make-multiface", help="synthetic Multiface-style checkpoint directory + reference",
                       description="Write best_model.pth (Multiface key names, enc.* and cc.* stand-ins), "
                                   "vert_mean.bin, vert_var.txt, tex_mean.png|npy, tex_var.txt and "
                                   "mesh.obj into --out-dir, and reference outputs computed directly "
                                   "from the state_dict (weight norm at run time, bottom-up texture "
                                   "flipped to image row order, vertices in metres).")
    p.add_argument("--out-dir", required=True, metavar="DIR")
    p.add_argument("--ref", metavar="PATH.safetensors", help="default DIR/reference.safetensors")
    add_shape_args(p, multiface=True)
    p.add_argument("--codes", type=_positive_int, default=3, metavar="N")
    p.add_argument("--seed", type=_seed, default=1)
    p.add_argument("--tex-format", choices=["png", "npy"], default="png")
    p.add_argument("--units-scale", type=float, default=0.001,
                   help="metres per capture unit used for the reference (default 0.001, mm)")
    p.add_argument("--ddp-prefix", action="store_true",
                   help="prefix every key with module. (as DistributedDataParallel saves)")
    p.add_argument("--wrap", choices=["none", "state_dict", "model"], default="none",
                   help="store the state_dict bare (default) or under this key")
    p.add_argument("--avatar-name", default="multiface.cavatar",
                   help="value of the reference's avatar metadata (default multiface.cavatar)")
    p.set_defaults(func=cmd_make_multiface)

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
    p.add_argument("--dtype", choices=sorted(STORAGE_DTYPES), default="f32")
    p.add_argument("--name", help="avatar name metadata (default: the checkpoint's directory name)")
    p.set_defaults(func=cmd_convert_multiface)

    p = sub.add_parser("bench", help="PyTorch CPU decode time (prints pytorch_cpu_decode_ms=<ms>)",
                       description="Time one decode (mesh + texture + de-normalisation) in float32 with "
                                   "folded weights: --warmup runs, then the median of --repeat runs.  "
                                   "Only the result line goes to stdout.")
    p.add_argument("--avatar", metavar="PATH.cavatar", help="time this file (else a random model of the given shape)")
    add_shape_args(p)
    p.add_argument("--no-view", action="store_true")
    p.add_argument("--threads", type=_positive_int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--batch", type=_positive_int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeat", type=_positive_int, default=5)
    p.add_argument("--seed", type=_seed, default=1)
    p.set_defaults(func=cmd_bench)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ToolError as e:
        sys.stderr.write("%s: error: %s\n" % (PROG, e))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
