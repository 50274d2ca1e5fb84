#!/usr/bin/python3
"""PyTorch reference for cavr's Gaussian codec avatar decoder (family `gca`,
engine/avatar/cavatar-format.md).

Subcommands:
  make         random-weight gca decoder -> .cavatar + reference Gaussians
  reference    decode codes with a .cavatar's own tensors -> reference Gaussians
  splat-scene  a random Gaussian scene + cameras + images from the CPU reference rasteriser (splat_render)

The reference file holds `codes` [N, Z], `views` [N, 3] and `gaussians` [N, G*G, 14] f32, each row
position xyz, opacity, rotation wxyz (unit), scale xyz (metres), colour rgb (sRGB-encoded 0..1).
Run with /usr/bin/python3 (Debian's python3-torch).  Deterministic for the same arguments.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dam_reference as dr  # noqa: E402  (safetensors I/O and storage dtypes are shared)
from dam_reference import ToolError, np, torch, F  # noqa: E402

GEOMETRY = 11  # offset 3, quaternion 4, log-scale 3, opacity logit 1
COLOUR = 3
HIDDEN, VIEW = dr.ZCODE_FEATURES, dr.VIEW_FEATURES
SLOPE = dr.LEAKY_SLOPE


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
        md = {"format": "cavatar", "format_version": "1", "family": "gca", "name": name,
              "latent_size": str(self.latent), "view_conditioned": "true" if self.view else "false",
              "units": "metres", "leaky_slope": "0.2", "gca.grid": str(self.grid),
              "gca.init_size": str(self.init_size),
              "gca.geometry_channels": ",".join(map(str, self.geometry)),
              "gca.colour_channels": ",".join(map(str, self.colour))}
        md.update(extra or {})
        return md


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
    out, stored = {}, {}
    for k in shapes:
        if tuple(weights[k].shape) != shapes[k]:
            raise ToolError("internal: %s has shape %s, expected %s" % (k, weights[k].shape, shapes[k]))
        out[k] = dr.encode_tensor(np.asarray(weights[k], dtype=np.float64).astype(np.float32), st_dtype)
        stored[k] = dr.quantize(weights[k], st_dtype)
    out["gaussian.template"] = dr.encode_tensor(np.asarray(template, dtype=np.float32), "F32")
    out["gaussian.offset_scale"] = dr.encode_tensor(np.array([offset_scale], dtype=np.float32), "F32")
    if code_mean is not None:
        out["code.mean"] = dr.encode_tensor(np.asarray(code_mean, dtype=np.float32), "F32")
        out["code.std"] = dr.encode_tensor(np.asarray(code_std, dtype=np.float32), "F32")
    dr.write_safetensors(path, out, spec.metadata(name, extra))
    return stored


def load_avatar(path):
    tensors, dtypes, md = dr.read_safetensors(path)
    if md.get("format") != "cavatar" or md.get("family") != "gca":
        raise ToolError("%s: not a gca .cavatar" % path)
    try:
        spec = GcaSpec(int(md["latent_size"]), int(md["gca.grid"]), int(md["gca.init_size"]),
                       [int(x) for x in md["gca.geometry_channels"].split(",")],
                       [int(x) for x in md["gca.colour_channels"].split(",")], md["view_conditioned"] == "true")
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
    dr.write_safetensors(path, {
        "codes": dr.encode_tensor(np.asarray(codes, dtype=np.float32), "F32"),
        "views": dr.encode_tensor(np.asarray(views, dtype=np.float32), "F32"),
        "gaussians": dr.encode_tensor(np.asarray(gaussians, dtype=np.float32), "F32"),
    }, {"avatar": os.path.basename(avatar), "layout": "position3,opacity,rotation_wxyz,scale3,colour3"})


def reference_codes(spec, n, seed):
    gen = torch.Generator().manual_seed(seed * 7919 + 3)
    codes = torch.randn(n, spec.latent, generator=gen, dtype=torch.float64).float().double().numpy()
    views = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    views = (views / views.norm(dim=1, keepdim=True)).float().double().numpy()
    return codes, views


# --------------------------------------------------------------------------------------
# CPU reference rasteriser (3D Gaussian Splatting, Kerbl et al. 2023), written independently of the shaders:
# camera-space EWA Jacobian, front-to-back accumulation per pixel, float64 throughout.
# --------------------------------------------------------------------------------------

def srgb_to_linear(c):
    c = np.asarray(c, dtype=np.float64)
    return np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)


def linear_to_srgb(c):
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c > 0.0031308, 1.055 * c ** (1 / 2.4) - 0.055, 12.92 * c)


def quat_to_matrix(q):
    """[N, 4] unit quaternions w, x, y, z -> [N, 3, 3]."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], 1)


def look_at(eye, target, up=(0.0, 1.0, 0.0)):
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    f = target - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(fov_y_deg, aspect, near=0.05, far=100.0):
    """Vulkan clip space: y down, depth 0..1 (as render_view_look_at)."""
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    p = np.zeros((4, 4))
    p[0, 0], p[1, 1] = f / aspect, -f
    p[2, 2], p[2, 3] = far / (near - far), near * far / (near - far)
    p[3, 2] = -1.0
    return p


def splat_render(rows, view, proj, width, height, background, sort_view=None):
    """rows [N, 14] (the reference layout) -> linear RGB [H, W, 3]. Sorted by depth from `sort_view` (default:
    the view itself). Pixels get every Gaussian whose alpha there is at least 1/255 (alpha capped at 0.99)."""
    rows = np.asarray(rows, dtype=np.float64)
    if abs(proj[0, 2]) > 1e-12 or abs(proj[1, 2]) > 1e-12 or proj[3, 2] != -1:
        raise ToolError("splat_render wants a symmetric perspective projection")
    pos, opacity, scale = rows[:, 0:3], rows[:, 3], rows[:, 8:11]
    colour = srgb_to_linear(rows[:, 11:14])
    m = quat_to_matrix(rows[:, 4:8]) * scale[:, None, :]
    cov = m @ m.transpose(0, 2, 1)
    wr = view[:3, :3]
    cam = pos @ wr.T + view[:3, 3]
    cov_cam = wr[None] @ cov @ wr.T[None]
    z = -cam[:, 2]
    fx, fy = proj[0, 0] * width / 2, proj[1, 1] * height / 2
    sv = view if sort_view is None else sort_view
    order = np.argsort(-(pos @ sv[2, :3] + sv[2, 3]), kind="stable")  # near first
    acc = np.zeros((height, width, 3))
    trans = np.ones((height, width))
    for i in order:
        if z[i] <= 1e-3 or opacity[i] <= 1 / 255:
            continue
        cx, cy = fx * cam[i, 0] / z[i] + width / 2, fy * cam[i, 1] / z[i] + height / 2
        j = np.array([[fx / z[i], 0, fx * cam[i, 0] / z[i] ** 2], [0, fy / z[i], fy * cam[i, 1] / z[i] ** 2]])
        c2 = j @ cov_cam[i] @ j.T + 0.3 * np.eye(2)
        conic = np.linalg.inv(c2)
        reach = math.sqrt(2 * math.log(255 * opacity[i])) * math.sqrt(np.linalg.eigvalsh(c2).max())
        x0, x1 = max(0, int(math.floor(cx - reach))), min(width, int(math.ceil(cx + reach)) + 1)
        y0, y1 = max(0, int(math.floor(cy - reach))), min(height, int(math.ceil(cy + reach)) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        dx, dy = np.meshgrid(np.arange(x0, x1) + 0.5 - cx, np.arange(y0, y1) + 0.5 - cy)
        power = -0.5 * (conic[0, 0] * dx * dx + conic[1, 1] * dy * dy) - conic[0, 1] * dx * dy
        alpha = np.minimum(0.99, opacity[i] * np.exp(power))
        alpha[alpha < 1 / 255] = 0
        t = trans[y0:y1, x0:x1]
        acc[y0:y1, x0:x1] += (t * alpha)[..., None] * colour[i]
        trans[y0:y1, x0:x1] = t * (1 - alpha)
    return acc + trans[..., None] * np.asarray(background, dtype=np.float64)


def to_srgb8(linear):
    return np.round(linear_to_srgb(linear) * 255).astype(np.uint8)


def random_scene(n, seed, radius=0.25):
    rng = np.random.RandomState(seed)
    pos = rng.standard_normal((n, 3))
    pos *= radius * rng.random_sample((n, 1)) ** (1 / 3) / np.linalg.norm(pos, axis=1, keepdims=True)
    q = rng.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    scale = np.exp(rng.uniform(math.log(0.004), math.log(0.05), (n, 3)))
    opacity = rng.uniform(0.1, 0.95, (n, 1))
    colour = rng.random_sample((n, 3))
    return np.concatenate([pos, opacity, q, scale, colour], axis=1)


def cmd_splat_scene(a):
    """Scene file: gaussians [N, 14], views [V, 4, 4] and projection [4, 4] (row-major, applied as M @ [x, y, z, 1]),
    metadata width, height, background (linear rgb). Views: the camera, then with --stereo its left and right eyes
    (render_views_stereo) and the same eyes toed in. PNG per view: OUT.viewK.png, each sorted from its own view."""
    rows = random_scene(a.count, a.seed)
    centre = look_at(a.eye, (0.0, 0.0, 0.0))
    views = [centre]
    if a.stereo:
        # Parallel eyes (render_views_stereo), then eyes toed in onto the scene's centre (as canted headset
        # displays are): a lateral shift keeps every view depth, a rotation does not.
        for dx in (0.5 * a.ipd, -0.5 * a.ipd):
            shift = np.eye(4)
            shift[0, 3] = dx
            views.append(shift @ centre)
        inv = np.linalg.inv(centre)
        for dx in (-0.5 * a.ipd, 0.5 * a.ipd):
            views.append(look_at(inv[:3, 3] + dx * inv[:3, 0], (0.0, 0.0, 0.0)))
    proj = perspective(a.fov, a.width / a.height)
    bg = (0.05, 0.05, 0.08)
    dr.write_safetensors(a.out + ".safetensors", {
        "gaussians": dr.encode_tensor(rows.astype(np.float32), "F32"),
        "views": dr.encode_tensor(np.stack(views).astype(np.float32), "F32"),
        "projection": dr.encode_tensor(proj.astype(np.float32), "F32"),
    }, {"width": str(a.width), "height": str(a.height), "background": "%g,%g,%g" % bg})
    rows32 = rows.astype(np.float32).astype(np.float64)
    for k, v in enumerate(views):
        v32, p32 = v.astype(np.float32).astype(np.float64), proj.astype(np.float32).astype(np.float64)
        dr.write_png_rgb8("%s.view%d.png" % (a.out, k), to_srgb8(splat_render(rows32, v32, p32, a.width, a.height, bg)))
    print("splat-scene: %d Gaussians, %d view(s) -> %s.*" % (a.count, len(views), a.out))
    return 0


def cmd_make(a):
    torch.set_num_threads(2)
    ch = lambda s: [int(x) for x in s.split(",")]
    spec = GcaSpec(a.latent, a.grid, a.init_size, ch(a.geometry_channels), ch(a.colour_channels), not a.no_view)
    template = sphere_template(a.grid)
    spacing = 2 * math.pi * 0.1 / a.grid
    weights = random_weights(spec, a.seed, spacing)
    st_dtype = dr.STORAGE_DTYPES[a.dtype]
    gen = np.random.RandomState(a.seed)
    stored = write_avatar(a.out, spec, weights, template, a.offset_scale, st_dtype,
                          a.name or "random-gca-seed%d" % a.seed, 0.1 * gen.standard_normal(a.latent),
                          0.5 + gen.random_sample(a.latent),
                          {"source": "gca_reference.py make (random weights, seed %d)" % a.seed})
    if a.ref:
        codes, views = reference_codes(spec, a.codes, a.seed)
        t = dict(stored)
        t["gaussian.template"] = template.astype(np.float32)
        t["gaussian.offset_scale"] = np.array([a.offset_scale], dtype=np.float32)
        write_reference(a.ref, codes, views, reference(spec, t, codes, views), a.out)
    print("make: gca grid %d (%d Gaussians), %s -> %s" % (a.grid, a.grid * a.grid, a.dtype, a.out))
    return 0


def cmd_reference(a):
    torch.set_num_threads(2)
    spec, tensors, _ = load_avatar(a.avatar)
    codes, views = reference_codes(spec, a.codes, a.seed)
    write_reference(a.out, codes, views, reference(spec, tensors, codes, views), a.avatar)
    print("reference: %d codes -> %s" % (a.codes, a.out))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="gca_reference", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make", help="random-weight gca avatar + reference Gaussians")
    p.add_argument("--out", required=True)
    p.add_argument("--ref")
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--init-size", type=int, default=4)
    p.add_argument("--geometry-channels", default="32,16,16,16,11")
    p.add_argument("--colour-channels", default="32,16,16,8,3")
    p.add_argument("--no-view", action="store_true")
    p.add_argument("--dtype", choices=sorted(dr.STORAGE_DTYPES), default="f32")
    p.add_argument("--codes", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--offset-scale", type=float, default=0.005)
    p.add_argument("--name")
    p = sub.add_parser("reference", help="decode a gca .cavatar's codes -> reference Gaussians")
    p.add_argument("--avatar", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--codes", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("splat-scene", help="random Gaussian scene + CPU reference images")
    p.add_argument("--out", required=True, metavar="PREFIX")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--fov", type=float, default=50.0)
    p.add_argument("--eye", type=float, nargs=3, default=(0.2, 0.1, 1.2))
    p.add_argument("--stereo", action="store_true")
    p.add_argument("--ipd", type=float, default=0.064)
    a = ap.parse_args(argv)
    try:
        return {"make": cmd_make, "reference": cmd_reference, "splat-scene": cmd_splat_scene}[a.cmd](a)
    except ToolError as e:
        sys.stderr.write("gca_reference: error: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
