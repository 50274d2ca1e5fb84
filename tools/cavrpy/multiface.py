"""Multiface DeepAppearanceVAE checkpoints: decoding one as Multiface does, converting one (with its statistics
and .obj) into a .cavatar of family dam, and writing a synthetic one; the dam_reference.py commands
convert-multiface and make-multiface (each takes the parsed arguments)."""

import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cavrpy import cavatar, dam, png
from cavrpy import safetensors as st
from cavrpy.cavatar import VIEW_FEATURES, ZCODE_FEATURES
from cavrpy.tool import ToolError, log


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
    spec = dam.DamSpec(Z, T, V, S0, chans, view=view)
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
    return png.read(path).astype(np.float64)


def cmd_convert_multiface(a):
    torch.set_num_threads(2)
    sd = load_checkpoint_state_dict(a.checkpoint)
    spec = multiface_spec(sd, a.checkpoint)
    log("convert-multiface: %s: %s" % (a.checkpoint, spec.describe()))
    st_dtype = st.STORAGE_DTYPES[a.dtype]
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
    dam.write_cavatar(a.out, spec, folded, mesh, tm, tstd, st_dtype, name, extra_meta={
        "source": "multiface DeepAppearanceVAE checkpoint %s" % os.path.basename(a.checkpoint)})
    print("convert-multiface: %s -> %s (%s, weights %s, %d triangles)"
          % (a.checkpoint, a.out, spec.describe(), a.dtype, fv.shape[0]))
    return 0


def cmd_make_multiface(a):
    spec = dam.spec_from_args(a, multiface=True)
    if a.codes < 1:
        raise ToolError("--codes must be >= 1")
    torch.set_num_threads(2)
    log("make-multiface: %s, seed %d" % (spec.describe(), a.seed))
    os.makedirs(a.out_dir, exist_ok=True)
    model, _ = dam.build_random_decoder(spec, a.seed)
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
    pos, uv, tris = dam.synthetic_mesh(spec.vertices, a.seed)
    vm_units = (pos / a.units_scale).astype(np.float32)
    vm_units.tofile(os.path.join(a.out_dir, "vert_mean.bin"))
    vert_var = (0.005 / a.units_scale) ** 2
    with open(os.path.join(a.out_dir, "vert_var.txt"), "w") as f:
        f.write("%r\n" % vert_var)
    tex_var = 38.0 ** 2
    with open(os.path.join(a.out_dir, "tex_var.txt"), "w") as f:
        f.write("%r\n" % tex_var)
    tex8 = np.round(dam.synthetic_texture(spec.texture) * 255.0).astype(np.uint8)  # image rows, top first
    tex_path = os.path.join(a.out_dir, "tex_mean." + a.tex_format)
    if a.tex_format == "png":
        png.write_rgb8(tex_path, tex8)
    else:
        with open(tex_path, "wb") as f:
            np.save(f, tex8, allow_pickle=False)
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
    codes, views = cavatar.reference_codes(spec.latent, a.codes, a.seed)
    vert_mean = vm_units.astype(np.float64).reshape(1, -1)
    tex_mean_bottom_up = tex8.astype(np.float64)[::-1]   # Multiface flips the PNG on load
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
    dam.write_reference(ref, codes, views, np.stack(verts), np.stack(texs), {
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
