"""The Gaussian codec avatar (family gca) decoder reference: its shapes, decode, random weights, .cavatar files
of family gca and reference Gaussians, and the gca_reference.py commands make and reference (each takes the
parsed arguments).

The reference file holds `codes` [N, Z], `views` [N, 3] and `gaussians` [N, G*G, 14] f32, each row
position xyz, opacity, rotation wxyz (unit), scale xyz (metres), colour rgb (sRGB-encoded 0..1)."""

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from cavrpy import cavatar
from cavrpy import safetensors as st
from cavrpy.cavatar import LEAKY_SLOPE, VIEW_FEATURES, ZCODE_FEATURES
from cavrpy.tool import ToolError

GEOMETRY = 11  # offset 3, quaternion 4, log-scale 3, opacity logit 1
COLOUR = 3
HIDDEN, VIEW = ZCODE_FEATURES, VIEW_FEATURES
SLOPE = LEAKY_SLOPE


class GcaSpec:
    def __init__(self, latent, grid, init_size, geometry, colour, view=True):
        self.latent, self.grid, self.init_size = latent, grid, init_size
        self.geometry, self.colour, self.view = list(geometry), list(colour), view
        n = len(self.geometry) - 1
        if n < 1 or len(self.colour) - 1 != n:
            raise ToolError("both trunks need the same number (>= 1) of up-convolutions")
        if self.geometry[-1] != GEOMETRY or self.colour[-1] != COLOUR:
            raise ToolError("the geometry trunk must end in %d channels and the colour trunk in %d"
                            % (GEOMETRY, COLOUR))
        if init_size << n != grid:
            raise ToolError("grid %d is not init-size %d doubled %d times" % (grid, init_size, n))
        self.n_up = n

    def feat_in(self):
        return HIDDEN + (VIEW if self.view else 0)

    def shapes(self):
        s0 = self.init_size
        shp = {}
        if self.view:
            shp["dec.view_fc.weight"], shp["dec.view_fc.bias"] = (VIEW, 3), (VIEW,)
        shp["dec.z_fc.weight"], shp["dec.z_fc.bias"] = (HIDDEN, self.latent), (HIDDEN,)
        for trunk, ch, fin in (("geometry", self.geometry, HIDDEN), ("colour", self.colour, self.feat_in())):
            shp["dec.%s_fc.weight" % trunk] = (ch[0] * s0 * s0, fin)
            shp["dec.%s_fc.bias" % trunk] = (ch[0] * s0 * s0,)
            for i in range(self.n_up):
                side = s0 << (i + 1)
                shp["dec.%s.%d.weight" % (trunk, i)] = (ch[i], ch[i + 1], 4, 4)
                shp["dec.%s.%d.bias" % (trunk, i)] = (ch[i + 1],)
                shp["dec.%s.%d.untied_bias" % (trunk, i)] = (ch[i + 1], side, side)
        return shp

    def metadata(self, name, extra=None):
        return cavatar.metadata("gca", name, self.latent, self.view, {
            "gca.grid": str(self.grid), "gca.init_size": str(self.init_size),
            "gca.geometry_channels": ",".join(map(str, self.geometry)),
            "gca.colour_channels": ",".join(map(str, self.colour))}, extra)


def trunk(t, prefix, ch, s0, n_up, feat):
    """fc + LeakyReLU, reshape to [N, C0, S0, S0], up-convolutions (LeakyReLU on all but the last)."""
    x = F.leaky_relu(F.linear(feat, t[prefix + "_fc.weight"], t[prefix + "_fc.bias"]), SLOPE)
    x = x.reshape(feat.shape[0], ch[0], s0, s0)
    for i in range(n_up):
        k = "%s.%d." % (prefix, i)
        x = F.conv_transpose2d(x, t[k + "weight"], t[k + "bias"], stride=2, padding=1) + t[k + "untied_bias"][None]
        if i + 1 < n_up:
            x = F.leaky_relu(x, SLOPE)
    return x


def decode(spec, t, codes, views):
    """t: dec.* and gaussian.* torch tensors (any float dtype).  -> [N, G*G, 14] as the header says."""
    z = F.leaky_relu(F.linear(codes, t["dec.z_fc.weight"], t["dec.z_fc.bias"]), SLOPE)
    if spec.view:
        v = F.leaky_relu(F.linear(views, t["dec.view_fc.weight"], t["dec.view_fc.bias"]), SLOPE)
        feat = torch.cat([v, z], dim=1)
    else:
        feat = z
    g = trunk(t, "dec.geometry", spec.geometry, spec.init_size, spec.n_up, z)
    c = trunk(t, "dec.colour", spec.colour, spec.init_size, spec.n_up, feat)
    n, G = codes.shape[0], spec.grid
    g = g.permute(0, 2, 3, 1).reshape(n, G * G, GEOMETRY)
    c = c.permute(0, 2, 3, 1).reshape(n, G * G, COLOUR)
    pos = t["gaussian.template"].reshape(1, G * G, 3) + g[..., 0:3] * t["gaussian.offset_scale"][0]
    q = g[..., 3:7]
    qn = q.norm(dim=-1, keepdim=True)
    unit = torch.zeros_like(q)
    unit[..., 0] = 1
    q = torch.where(qn > 1e-12, q / qn.clamp_min(1e-30), unit)
    scale = torch.exp(g[..., 7:10])
    opacity = torch.sigmoid(g[..., 10:11])
    colour = torch.sigmoid(c)
    return torch.cat([pos, opacity, q, scale, colour], dim=-1)


def sphere_template(G, radius=0.1):
    """Template surface for random avatars: a sphere, u = longitude, v = latitude (v down)."""
    u = (np.arange(G) + 0.5) / G
    lon, lat = np.meshgrid((u - 0.5) * 2 * math.pi, (0.5 - u) * math.pi)
    return np.stack([radius * np.cos(lat) * np.sin(lon), radius * np.sin(lat),
                     radius * np.cos(lat) * np.cos(lon)], axis=-1)


def random_weights(spec, seed, spacing):
    """Random folded weights, each layer scaled so its output has unit std on random codes; the final
    geometry biases put scales near the template spacing and opacities around 0.5."""
    gen = torch.Generator().manual_seed(seed)
    t = {}
    for k, shp in spec.shapes().items():
        t[k] = (0.1 * torch.randn(shp, generator=gen, dtype=torch.float64)) if "bias" in k \
            else torch.randn(shp, generator=gen, dtype=torch.float64)
    codes = torch.randn(4, spec.latent, generator=gen, dtype=torch.float64)
    views = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    views = views / views.norm(dim=1, keepdim=True)

    def fix(prefix, x, conv):
        w = t[prefix + ".weight"]
        y = F.conv_transpose2d(x, w, None, stride=2, padding=1) if conv else F.linear(x, w)
        t[prefix + ".weight"] = w / float(f"{float(y.std()):.6g}")

    fix("dec.z_fc", codes, False)
    z = F.leaky_relu(F.linear(codes, t["dec.z_fc.weight"], t["dec.z_fc.bias"]), SLOPE)
    feat = z
    if spec.view:
        fix("dec.view_fc", views, False)
        feat = torch.cat([F.leaky_relu(F.linear(views, t["dec.view_fc.weight"], t["dec.view_fc.bias"]), SLOPE), z], 1)
    for name, ch, x in (("geometry", spec.geometry, z), ("colour", spec.colour, feat)):
        fix("dec.%s_fc" % name, x, False)
        x = F.leaky_relu(F.linear(x, t["dec.%s_fc.weight" % name], t["dec.%s_fc.bias" % name]), SLOPE)
        x = x.reshape(x.shape[0], ch[0], spec.init_size, spec.init_size)
        for i in range(spec.n_up):
            k = "dec.%s.%d" % (name, i)
            fix(k, x, True)
            x = F.conv_transpose2d(x, t[k + ".weight"], t[k + ".bias"], stride=2, padding=1) + t[k + ".untied_bias"][None]
            if i + 1 < spec.n_up:
                x = F.leaky_relu(x, SLOPE)
    last = "dec.geometry.%d." % (spec.n_up - 1)
    t[last + "weight"][:, 7:10] *= 0.3  # scale varies by about +-30 %
    t[last + "bias"][7:10] = math.log(0.6 * spacing)
    t[last + "weight"][:, 10] *= 0.5
    t[last + "bias"][10] = 0.5
    return {k: v.numpy() for k, v in t.items()}


def write_avatar(path, spec, weights, template, offset_scale, st_dtype, name, code_mean=None, code_std=None,
                 extra=None):
    """Writes the .cavatar; returns the dec.* tensors as stored (float64)."""
    shapes = spec.shapes()
    for k in shapes:
        if tuple(weights[k].shape) != shapes[k]:
            raise ToolError("internal: %s has shape %s, expected %s" % (k, weights[k].shape, shapes[k]))
    out, stored = cavatar.encode_weights({k: weights[k] for k in shapes}, st_dtype)
    out["gaussian.template"] = cavatar.f32(template)
    out["gaussian.offset_scale"] = cavatar.f32([offset_scale])
    out.update(cavatar.code_stats(code_mean, code_std))
    st.write(path, out, spec.metadata(name, extra))
    return stored


def load_avatar(path):
    tensors, _, md = st.read(path)
    view = cavatar.check_metadata(path, md, "gca")
    try:
        spec = GcaSpec(int(md["latent_size"]), int(md["gca.grid"]), int(md["gca.init_size"]),
                       [int(x) for x in md["gca.geometry_channels"].split(",")],
                       [int(x) for x in md["gca.colour_channels"].split(",")], view)
    except (KeyError, ValueError) as e:
        raise ToolError("%s: bad metadata: %s" % (path, e))
    for k, shp in spec.shapes().items():
        if k not in tensors or tuple(tensors[k].shape) != shp:
            raise ToolError("%s: tensor %s missing or not %s" % (path, k, list(shp)))
    return spec, tensors, md


def reference(spec, tensors, codes, views, dtype=torch.float64):
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)).to(dtype) for k, v in tensors.items()
         if k.startswith("dec.") or k.startswith("gaussian.")}
    with torch.no_grad():
        out = decode(spec, t, torch.as_tensor(codes, dtype=dtype), torch.as_tensor(views, dtype=dtype))
    return out.float().numpy()


def write_reference(path, codes, views, gaussians, avatar):
    st.write(path, {"codes": cavatar.f32(codes), "views": cavatar.f32(views), "gaussians": cavatar.f32(gaussians)},
             {"avatar": os.path.basename(avatar), "layout": "position3,opacity,rotation_wxyz,scale3,colour3"})


def cmd_make(a):
    torch.set_num_threads(2)
    ch = lambda s: [int(x) for x in s.split(",")]
    spec = GcaSpec(a.latent, a.grid, a.init_size, ch(a.geometry_channels), ch(a.colour_channels), not a.no_view)
    template = sphere_template(a.grid)
    spacing = 2 * math.pi * 0.1 / a.grid
    weights = random_weights(spec, a.seed, spacing)
    st_dtype = st.STORAGE_DTYPES[a.dtype]
    gen = np.random.RandomState(a.seed)
    stored = write_avatar(a.out, spec, weights, template, a.offset_scale, st_dtype,
                          a.name or "random-gca-seed%d" % a.seed, 0.1 * gen.standard_normal(a.latent),
                          0.5 + gen.random_sample(a.latent),
                          {"source": "gca_reference.py make (random weights, seed %d)" % a.seed})
    if a.ref:
        codes, views = cavatar.reference_codes(spec.latent, a.codes, a.seed)
        t = dict(stored)
        t["gaussian.template"] = template.astype(np.float32)
        t["gaussian.offset_scale"] = np.array([a.offset_scale], dtype=np.float32)
        write_reference(a.ref, codes, views, reference(spec, t, codes, views), a.out)
    print("make: gca grid %d (%d Gaussians), %s -> %s" % (a.grid, a.grid * a.grid, a.dtype, a.out))
    return 0


def cmd_reference(a):
    torch.set_num_threads(2)
    spec, tensors, _ = load_avatar(a.avatar)
    codes, views = cavatar.reference_codes(spec.latent, a.codes, a.seed)
    write_reference(a.out, codes, views, reference(spec, tensors, codes, views), a.avatar)
    print("reference: %d codes -> %s" % (a.codes, a.out))
    return 0
