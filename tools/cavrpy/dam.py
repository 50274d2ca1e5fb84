"""The Deep Appearance Model (DAM) decoder reference: its shapes, the weight-normalised PyTorch module and
its folding, .cavatar files of family dam, synthetic meshes and textures, and the dam_reference.py commands
make, reference, compare and bench (each takes the parsed arguments)."""

import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cavrpy import cavatar
from cavrpy import safetensors as st
from cavrpy.cavatar import LEAKY_SLOPE, VIEW_FEATURES, ZCODE_FEATURES
from cavrpy.tool import ToolError, log


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


def build_random_decoder(spec, seed, calib_dtype=torch.float64):
    """A weight-normalised DamDecoder with deterministic random float32 parameters."""
    torch.manual_seed(seed)
    model = DamDecoder(spec, wn=True)  # default nn.Linear / nn.ConvTranspose2d init
    gen = torch.Generator().manual_seed(seed * 7919 + 1)
    model.init_random(gen)
    cz = torch.randn(4, spec.latent, generator=gen, dtype=torch.float64)
    cv = cavatar.random_unit_views(4, gen)
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
    tensors = {"codes": cavatar.f32(codes), "views": cavatar.f32(views), "vertices": cavatar.f32(vertices),
               "textures": cavatar.f32(textures)}
    st.write(path, tensors, metadata)


def write_cavatar(path, spec, folded, mesh, tex_mean, tex_std, st_dtype, name,
                  code_mean=None, code_std=None, extra_meta=None):
    """folded: dec.* float64 arrays.  mesh: dict vert_mean [V,3] m, vert_std (m), uv [U,2],
    tri_vertex [F,3], tri_uv [F,3].  Returns the dec.* tensors as stored (float64)."""
    t, stored = cavatar.encode_weights(folded, st_dtype)
    check_cavatar_shapes(spec, {k: v.shape for k, v in folded.items()}, "internal")
    t["mesh.vert_mean"] = cavatar.f32(mesh["vert_mean"])
    t["mesh.vert_std"] = cavatar.f32([mesh["vert_std"]])
    t["mesh.uv"] = cavatar.f32(mesh["uv"])
    t["mesh.tri_vertex"] = st.encode_tensor(np.asarray(mesh["tri_vertex"]), "I32")
    t["mesh.tri_uv"] = st.encode_tensor(np.asarray(mesh["tri_uv"]), "I32")
    t["tex.mean"] = cavatar.f32(tex_mean)
    t["tex.std"] = cavatar.f32([tex_std])
    t.update(cavatar.code_stats(code_mean, code_std))
    md = cavatar.metadata("dam", name, spec.latent, spec.view, {
        "texture_size": str(spec.texture), "vertex_count": str(spec.vertices),
        "dam.init_size": str(spec.init_size), "dam.channels": spec.channels_str()}, extra_meta)
    st.write(path, t, md)
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
    tensors, dtypes, md = st.read(path)
    view = cavatar.check_metadata(path, md, "dam")
    meta = lambda key: cavatar.meta(path, md, key)
    try:
        spec = DamSpec(int(meta("latent_size")), int(meta("texture_size")), int(meta("vertex_count")),
                       int(meta("dam.init_size")), parse_channels(meta("dam.channels")), view=view)
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


def cmd_make(a):
    spec = spec_from_args(a)
    st_dtype = st.STORAGE_DTYPES[a.dtype]
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
    codes, views = cavatar.reference_codes(spec.latent, a.codes, a.seed)
    if st_dtype == "F32":
        ref_model = model.double()  # the un-folded weight-normalised module itself
        how = "weight-normalised module (unfolded float32 parameters) in float64"
    else:
        ref_model = decoder_from_folded(spec, stored)  # folded weights as rounded in the file
        how = "folded weights as rounded to %s in the file, computed in float64" % a.dtype
    # the file's f32 mean/std are what a decoder sees
    vm32 = np.asarray(pos, dtype=np.float32).astype(np.float64)
    tm32 = np.asarray(tex_mean, dtype=np.float32).astype(np.float64)
    verts, texs = decode_all(ref_model, codes, views, vm32, float(np.float32(a.vert_std)),
                             tm32, float(np.float32(a.tex_std)), "reference: ")
    tstd_out = float(((texs.astype(np.float64) - tm32[None]) / float(np.float32(a.tex_std))).std())
    write_reference(a.ref, codes, views, verts, texs, {
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


def cmd_reference(a):
    torch.set_num_threads(2)
    spec, t, md, wdtype = load_cavatar(a.avatar)
    log("reference: %s (%s, weights %s)" % (a.avatar, spec.describe(), wdtype))
    if a.codes_from:
        rt, _, _ = st.read(a.codes_from)
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
        codes, views = cavatar.reference_codes(spec.latent, a.codes, a.seed)
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


def cmd_compare(a):
    ta, _, _ = st.read(a.a)
    tb, _, _ = st.read(a.b)
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
    v = cavatar.random_unit_views(a.batch, gen).float()

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
