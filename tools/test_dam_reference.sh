#!/usr/bin/env bash
# Quick self-check of tools/dam_reference.py on small models (about 20 s on 2 cores).
#   tools/test_dam_reference.sh            (PYTHON=/path/to/python3 to override)
# A few end-to-end command-line runs, then one Python process that drives the tool's
# main() in-process for the remaining checks (saves a torch import per check).
# Prints "N passed, N failed"; exits non-zero when anything failed.
set -u

PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL="$HERE/dam_reference.py"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dam_reference_test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pass=0
fail=0

# check NAME COMMAND...: passes when COMMAND exits 0; shows its output otherwise.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name"
        printf '%s\n' "$out" | sed 's/^/     /'
    fi
}

if ! "$PY" -c 'import torch, numpy, PIL' 2>/dev/null; then
    echo "FAIL $PY lacks torch/numpy/PIL (use /usr/bin/python3 with python3-torch, python3-pil)"
    echo "0 passed, 1 failed"
    exit 1
fi

SMALL=(--latent 16 --texture 32 --vertices 50 --init-size 2 --channels 16,16,8,8,3)
T="$PY $TOOL"

# ---- end-to-end command-line runs ------------------------------------------------------
check "--help lists the subcommands" bash -c "$T --help | grep -q convert-multiface"
check "make (Z=16 T=32 V=50, f32)" $T make --out "$WORK/a.cavatar" --ref "$WORK/a_ref.safetensors" "${SMALL[@]}"
check "reference from the written .cavatar" \
    $T reference --avatar "$WORK/a.cavatar" --codes-from "$WORK/a_ref.safetensors" --out "$WORK/a_re.safetensors"
check "reference reproduces make's reference (rtol 1e-6)" \
    $T compare "$WORK/a_re.safetensors" "$WORK/a_ref.safetensors" --rtol 1e-6
check "make-multiface (Z=16 T=32 V=50)" \
    $T make-multiface --out-dir "$WORK/mf" "${SMALL[@]}"
check "convert-multiface" \
    $T convert-multiface --checkpoint "$WORK/mf/best_model.pth" --vert-mean "$WORK/mf/vert_mean.bin" \
    --vert-var "$WORK/mf/vert_var.txt" --tex-mean "$WORK/mf/tex_mean.png" --tex-var "$WORK/mf/tex_var.txt" \
    --obj "$WORK/mf/mesh.obj" --out "$WORK/mf.cavatar"
check "reference of the converted file" \
    $T reference --avatar "$WORK/mf.cavatar" --codes-from "$WORK/mf/reference.safetensors" --out "$WORK/mf_re.safetensors"
check "converted file matches the checkpoint's reference (rtol 1e-5)" \
    $T compare "$WORK/mf_re.safetensors" "$WORK/mf/reference.safetensors" --rtol 1e-5
check "compare detects a difference (exit 1)" \
    bash -c "! $T compare '$WORK/a_re.safetensors' '$WORK/mf/reference.safetensors' >/dev/null"
check "bench prints pytorch_cpu_decode_ms" \
    bash -c "$T bench ${SMALL[*]} --repeat 3 --warmup 1 2>/dev/null | grep -Eqx 'pytorch_cpu_decode_ms=[0-9]+\.[0-9]+'"

# ---- in-process checks -------------------------------------------------------------------
pyout=$("$PY" - "$TOOL" "$WORK" <<'PYEOF'
import contextlib, io, json, os, struct, sys, zlib
import numpy as np
import torch

tool, work = sys.argv[1], sys.argv[2]
sys.dont_write_bytecode = True  # no __pycache__ beside the tool
sys.path.insert(0, os.path.dirname(tool))
import dam_reference as d
from cavrpy import dam, multiface, png
from cavrpy import safetensors as st

npass = nfail = 0
SMALL = ["--latent", "16", "--texture", "32", "--vertices", "50", "--init-size", "2",
         "--channels", "16,16,8,8,3"]


def W(*p):
    return os.path.join(work, *p)


def result(name, ok, detail=""):
    global npass, nfail
    if ok:
        npass += 1
        print("ok   " + name)
    else:
        nfail += 1
        print("FAIL " + name)
        for line in str(detail).rstrip().splitlines():
            print("     " + line)


def run(argv):
    """d.main(argv) in-process -> (status, captured stdout+stderr)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc = d.main(argv)
        except SystemExit as e:  # argparse errors
            rc = e.code
        except Exception as e:   # an uncaught exception is a failure of the tool
            rc = "exception %r" % e
    return rc, buf.getvalue()


def check(name, argv):
    rc, out = run(argv)
    result(name, rc == 0, out)
    return rc == 0


def expect_error(name, argv, pattern):
    rc, out = run(argv)
    result(name, rc == 2 and pattern in out, "status %r, wanted 2 and %r in:\n%s" % (rc, pattern, out))


def same_outputs(name, a, b, rtol):
    check(name, ["compare", a, b, "--rtol", str(rtol)])


def mf_convert(src, out, *extra, tex="tex_mean.png"):
    return ["convert-multiface", "--checkpoint", W(src, "best_model.pth"), "--vert-mean", W(src, "vert_mean.bin"),
            "--vert-var", W(src, "vert_var.txt"), "--tex-mean", W(src, tex), "--tex-var", W(src, "tex_var.txt"),
            "--obj", W(src, "mesh.obj"), "--out", out] + list(extra)


try:
    # -- determinism: same arguments, another process, another directory -> identical bytes
    os.makedirs(W("again"), exist_ok=True)
    if check("make again (in-process)", ["make", "--out", W("again", "a.cavatar"), "--ref",
                                          W("again", "a_ref.safetensors")] + SMALL):
        for f in ("a.cavatar", "a_ref.safetensors"):
            with open(W(f), "rb") as x, open(W("again", f), "rb") as y:
                result("deterministic: %s byte-identical" % f, x.read() == y.read())

    # -- file layout of a .cavatar
    tensors, dtypes, md = st.read(W("a.cavatar"))
    with open(W("a.cavatar"), "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    want_md = {"format": "cavatar", "format_version": "1", "family": "dam", "latent_size": "16",
               "texture_size": "32", "vertex_count": "50", "view_conditioned": "true", "units": "metres",
               "leaky_slope": "0.2", "dam.init_size": "2", "dam.channels": "16,16,8,8,3"}
    result("cavatar metadata", all(md.get(k) == v for k, v in want_md.items()) and "name" in md, md)
    result("cavatar header padded to 8 bytes", hlen % 8 == 0, hlen)
    shapes = {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    want_shapes = {"dec.view_fc.weight": [8, 3], "dec.z_fc.weight": [256, 16], "dec.mesh_fc.weight": [150, 256],
                   "dec.mesh_fc.bias": [150], "dec.texture_fc.weight": [64, 264], "dec.up.0.weight": [16, 16, 4, 4],
                   "dec.up.0.untied_bias": [16, 4, 4], "dec.up.3.weight": [8, 3, 4, 4], "dec.up.3.bias": [3],
                   "dec.up.3.untied_bias": [3, 32, 32], "mesh.vert_mean": [50, 3], "mesh.vert_std": [1],
                   "tex.mean": [32, 32, 3], "tex.std": [1], "code.mean": [16], "code.std": [16]}
    result("cavatar tensor shapes", all(shapes.get(k) == v for k, v in want_shapes.items()),
           {k: shapes.get(k) for k in want_shapes})
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    result("tensor data contiguous, element-aligned",
           spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and all(
               v["data_offsets"][0] % st.ST_ITEMSIZE[v["dtype"]] == 0 for k, v in header.items() if k != "__metadata__"))
    nz = all(np.count_nonzero(tensors[k]) == tensors[k].size and tensors[k].std() > 0.01
             for k in tensors if k.endswith("bias"))
    result("biases and untied biases are random nonzero", nz)
    ref, _, rmd = st.read(W("a_ref.safetensors"))
    result("reference tensors and metadata",
           list(ref["vertices"].shape) == [3, 50, 3] and list(ref["textures"].shape) == [3, 32, 32, 3]
           and list(ref["codes"].shape) == [3, 16] and list(ref["views"].shape) == [3, 3]
           and rmd.get("avatar") == "a.cavatar" and rmd.get("weights_dtype") == "f32",
           (rmd, {k: v.shape for k, v in ref.items()}))
    tstd = np.std((ref["textures"] - tensors["tex.mean"][None]) / tensors["tex.std"][0])
    result("normalised texture output std is O(1) (%.3f)" % tstd, 0.3 < tstd < 3)

    # -- the weight norm folding itself: W * g / ||W||_F with g on the output-channel dim
    torch.manual_seed(0)
    spec = dam.DamSpec(4, 8, 5, 2, [4, 6, 3])
    m, _ = dam.build_random_decoder(spec, 5)
    fo = m.folded()
    w, g = m.up[0].weight.double(), m.up[0].g.double()
    byhand = np.einsum("iokl,o->iokl", w.detach().numpy(), g.detach().numpy()) / np.sqrt((w.detach().numpy() ** 2).sum())
    w2, g2 = m.z_fc.weight.double(), m.z_fc.g.double()
    byhand2 = w2.detach().numpy() * g2.detach().numpy()[:, None] / np.sqrt((w2.detach().numpy() ** 2).sum())
    result("weight-norm fold (ConvTranspose2d g on dim 1, Linear g on rows)",
           np.abs(fo["dec.up.0.weight"] - byhand).max() < 1e-12 and np.abs(fo["dec.z_fc.weight"] - byhand2).max() < 1e-12)

    # -- f16 / bf16 weights
    for dt, tol in (("f16", 1e-2), ("bf16", 5e-2)):
        base = W(dt)
        if check("make --dtype %s" % dt, ["make", "--out", base + ".cavatar", "--ref", base + "_ref.safetensors",
                                          "--dtype", dt] + SMALL):
            _, dts, _ = st.read(base + ".cavatar")
            want = {"f16": "F16", "bf16": "BF16"}[dt]
            result("%s: dec.* stored as %s, mesh/tex F32, triangles I32" % (dt, want),
                   all(v == want for k, v in dts.items() if k.startswith("dec."))
                   and all(v == "F32" for k, v in dts.items() if k.startswith(("tex.", "code.")) or k in (
                       "mesh.vert_mean", "mesh.vert_std", "mesh.uv"))
                   and dts["mesh.tri_vertex"] == "I32" and dts["mesh.tri_uv"] == "I32", dts)
            _, _, m2 = st.read(base + "_ref.safetensors")
            result("%s: reference metadata weights_dtype=%s" % (dt, dt), m2.get("weights_dtype") == dt, m2)
            if check("%s: reference from file" % dt, ["reference", "--avatar", base + ".cavatar", "--codes-from",
                                                      base + "_ref.safetensors", "--out", base + "_re.safetensors"]):
                same_outputs("%s: file reproduces make's reference (rtol 1e-6)" % dt,
                             base + "_re.safetensors", base + "_ref.safetensors", 1e-6)
            same_outputs("%s: close to the f32 model (rtol %g)" % (dt, tol), base + "_ref.safetensors",
                         W("a_ref.safetensors"), tol)

    # -- not view conditioned
    if check("make --no-view", ["make", "--out", W("nv.cavatar"), "--ref", W("nv_ref.safetensors"), "--no-view"] + SMALL):
        t2, _, m2 = st.read(W("nv.cavatar"))
        result("no-view: no view_fc, texture_fc input 256, view_conditioned=false",
               "dec.view_fc.weight" not in t2 and t2["dec.texture_fc.weight"].shape[1] == 256
               and m2["view_conditioned"] == "false")
        if check("no-view: reference", ["reference", "--avatar", W("nv.cavatar"), "--codes-from",
                                        W("nv_ref.safetensors"), "--out", W("nv_re.safetensors")]):
            same_outputs("no-view: matches (rtol 1e-6)", W("nv_re.safetensors"), W("nv_ref.safetensors"), 1e-6)

    # -- converted mesh: OBJ indices, v flipped, metres
    t3, _, m3 = st.read(W("mf.cavatar"))
    vs, vts, fvs = [], [], []
    for line in open(W("mf", "mesh.obj")):
        p = line.split()
        if p and p[0] == "v":
            vs.append([float(x) for x in p[1:]])
        elif p and p[0] == "vt":
            vts.append([float(x) for x in p[1:]])
        elif p and p[0] == "f":
            fvs.append([tuple(int(i) - 1 for i in c.split("/")) for c in p[1:]])
    fvs = np.array(fvs)
    uv_cav = t3["mesh.uv"][t3["mesh.tri_uv"]]
    uv_obj = np.array(vts)[fvs[:, :, 1]]
    result("convert: tri_vertex/tri_uv are the OBJ's (0-based), and differ from each other",
           np.array_equal(t3["mesh.tri_vertex"], fvs[:, :, 0]) and np.array_equal(t3["mesh.tri_uv"], fvs[:, :, 1])
           and not np.array_equal(fvs[:, :, 0], fvs[:, :, 1]))
    result("convert: uv = (u_obj, 1 - v_obj)", np.abs(uv_cav[..., 0] - uv_obj[..., 0]).max() < 1e-6
           and np.abs(uv_cav[..., 1] - (1 - uv_obj[..., 1])).max() < 1e-6)
    vm = np.fromfile(W("mf", "vert_mean.bin"), dtype=np.float32).reshape(-1, 3)
    vvar = float(open(W("mf", "vert_var.txt")).read())
    result("convert: vert_mean and vert_std in metres",
           np.abs(t3["mesh.vert_mean"] - vm * 0.001).max() < 1e-7
           and abs(t3["mesh.vert_std"][0] - np.sqrt(vvar) * 0.001) < 1e-9)
    tex_png = png.read(W("mf", "tex_mean.png"))
    tvar = float(open(W("mf", "tex_var.txt")).read())
    result("convert: tex.mean = PNG / 255 in image row order, tex.std = sqrt(var) / 255",
           np.abs(t3["tex.mean"] - tex_png / 255.0).max() < 1e-6 and abs(t3["tex.std"][0] - np.sqrt(tvar) / 255) < 1e-8)
    result("convert: no code statistics (checkpoint has none)", "code.mean" not in t3)

    # -- converted f16
    if check("convert-multiface --dtype f16", mf_convert("mf", W("mf16.cavatar"), "--dtype", "f16")):
        if check("f16 converted: reference", ["reference", "--avatar", W("mf16.cavatar"), "--codes-from",
                                              W("mf", "reference.safetensors"), "--out", W("mf16_re.safetensors")]):
            same_outputs("f16 converted: close to the checkpoint (rtol 1e-2)", W("mf16_re.safetensors"),
                         W("mf", "reference.safetensors"), 1e-2)

    # -- other checkpoint packaging: DDP 'module.' prefix, wrapped dict, .npy mean, T=64 (S0=4, 2 blocks)
    if check("make-multiface T=64 --ddp-prefix --wrap state_dict --tex-format npy",
             ["make-multiface", "--out-dir", W("mf2"), "--latent", "8", "--texture", "64", "--vertices", "30",
              "--ddp-prefix", "--wrap", "state_dict", "--tex-format", "npy", "--seed", "7", "--codes", "2"]):
        sd = torch.load(W("mf2", "best_model.pth"))
        result("checkpoint has module.-prefixed dec/enc/cc keys under state_dict",
               set(sd) == {"state_dict"} and any(k.startswith("module.enc.") for k in sd["state_dict"])
               and any(k.startswith("module.cc.") for k in sd["state_dict"])
               and "module.dec.texture_decoder.upsample.1.conv2.bias" in sd["state_dict"])
        if check("convert mf2", mf_convert("mf2", W("mf2.cavatar"), tex="tex_mean.npy")):
            _, _, m4 = st.read(W("mf2.cavatar"))
            result("mf2: inferred S0=4, channels 8,32,16,16,3",
                   m4["dam.init_size"] == "4" and m4["dam.channels"] == "8,32,16,16,3", m4)
            if check("mf2: reference", ["reference", "--avatar", W("mf2.cavatar"), "--codes-from",
                                        W("mf2", "reference.safetensors"), "--out", W("mf2_re.safetensors")]):
                same_outputs("mf2: matches checkpoint reference (rtol 1e-5)", W("mf2_re.safetensors"),
                             W("mf2", "reference.safetensors"), 1e-5)

    # -- the 'non' variant: untied biases [1, C, 1, 1]
    sd = torch.load(W("mf", "best_model.pth"))
    non = dict(sd)
    for k in list(non):
        if k.startswith("dec.texture_decoder.") and k.endswith(".bias") and ".deconv." not in k:
            non[k] = non[k].mean(dim=(2, 3), keepdim=True)
    os.makedirs(W("non"), exist_ok=True)
    for f in ("vert_mean.bin", "vert_var.txt", "tex_mean.png", "tex_var.txt", "mesh.obj"):
        with open(W("mf", f), "rb") as x, open(W("non", f), "wb") as y:
            y.write(x.read())
    torch.save(non, W("non", "best_model.pth"))
    if check("convert 'non' variant", mf_convert("non", W("non.cavatar"))):
        rt, _, _ = st.read(W("mf", "reference.safetensors"))
        mesh, tex = multiface.multiface_decode(non, rt["codes"].astype(np.float64), rt["views"].astype(np.float64))
        spec, t5, _, _ = dam.load_cavatar(W("non.cavatar"))
        model = dam.decoder_from_folded(spec, t5)
        with torch.no_grad():
            _, tex2 = model(torch.tensor(rt["codes"], dtype=torch.float64), torch.tensor(rt["views"], dtype=torch.float64))
        err = float((tex2 - tex.flip(2)).abs().max())
        result("'non' variant: folded texture = flipped checkpoint texture (%.1e)" % err, err < 1e-5)

    # -- PNG through Pillow: every filter type, 8/16-bit, grey/RGB/RGBA/palette, as this encoder writes them
    rng = np.random.RandomState(3)

    def png_encode(img, ctype, depth, plte=None):
        h, w = img.shape[:2]
        raw = img.astype(">u2").tobytes() if depth == 16 else img.astype(np.uint8).tobytes()
        rows = np.frombuffer(raw, np.uint8).reshape(h, -1).astype(np.int32)
        bpp = rows.shape[1] // w
        out = b""
        for r in range(h):
            ft = r % 5
            x = rows[r]
            a = np.concatenate([np.zeros(bpp, np.int32), x[:-bpp]])
            b = rows[r - 1] if r else np.zeros_like(x)
            c = np.concatenate([np.zeros(bpp, np.int32), b[:-bpp]])
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pae = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
            pred = [0, a, b, (a + b) // 2, pae][ft]
            out += bytes([ft]) + ((x - pred) & 255).astype(np.uint8).tobytes()

        def chunk(k, pl):
            return struct.pack(">I", len(pl)) + k + pl + struct.pack(">I", zlib.crc32(k + pl) & 0xFFFFFFFF)
        s = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
        if plte is not None:
            s += chunk(b"PLTE", plte.astype(np.uint8).tobytes())
        return s + chunk(b"IDAT", zlib.compress(out)) + chunk(b"IEND", b"")

    ok = True
    rgb = rng.randint(0, 256, (13, 11, 3))
    for ctype, img, depth, expect in (
            (2, rgb, 8, rgb),
            (6, np.concatenate([rgb, rng.randint(0, 256, (13, 11, 1))], 2), 8, rgb),
            (0, rgb[:, :, :1], 8, np.repeat(rgb[:, :, :1], 3, 2)),
            (2, rgb * 257, 16, rgb),
            (0, rgb[:, :, :1] * 257, 16, np.repeat(rgb[:, :, :1], 3, 2))):
        with open(W("t.png"), "wb") as f:
            f.write(png_encode(img, ctype, depth))
        got = png.read(W("t.png"))
        ok = ok and got.shape == expect.shape and np.abs(got - expect).max() < 1e-3
    pal = rng.randint(0, 256, (7, 3))
    idx = rng.randint(0, 7, (5, 9, 1))
    with open(W("t.png"), "wb") as f:
        f.write(png_encode(idx, 3, 8, pal))
    ok = ok and np.array_equal(png.read(W("t.png")), pal[idx[:, :, 0]].astype(np.float32))
    img8 = rng.randint(0, 256, (6, 5, 3)).astype(np.uint8)
    png.write_rgb8(W("t.png"), img8)
    ok = ok and np.array_equal(png.read(W("t.png")), img8.astype(np.float32))
    result("PNG reader: filters 0-4, grey/RGB/RGBA/palette, 8/16-bit; writer round trip", ok)

    # -- tex_mean resize for a model smaller than the mean texture: 2x down = 2x2 box average
    img = rng.rand(8, 8, 3)
    box = img.reshape(4, 2, 4, 2, 3).mean(axis=(1, 3))
    result("tex_mean bilinear 2x downsample = 2x2 average", np.abs(multiface.resize_bilinear(img, 4) - box).max() < 1e-12)

    # -- bf16 rounding is round-to-nearest-even
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, 3.14159], np.float32)
    got = st.bf16_bits_to_f32(st.f32_to_bf16_bits(x))
    result("bf16 rounding", np.array_equal(got, np.array([1.0, 1.0, 1.0 + 4 * 2**-8, -2.5, 3.140625], np.float32)), got)

    # -- clear errors
    sd = torch.load(W("mf", "best_model.pth"))
    bad = dict(sd)
    del bad["dec.texture_decoder.upsample.1.conv2.deconv.g"]
    os.makedirs(W("bad"), exist_ok=True)
    torch.save(bad, W("bad", "best_model.pth"))
    for f in ("vert_mean.bin", "vert_var.txt", "tex_mean.png", "tex_var.txt", "mesh.obj"):
        with open(W("mf", f), "rb") as x, open(W("bad", f), "wb") as y:
            y.write(x.read())
    expect_error("error: missing checkpoint key", mf_convert("bad", W("bad.cavatar")),
                 "missing key dec.texture_decoder.upsample.1.conv2.deconv.g")
    bad = dict(sd)
    bad["dec.texture_decoder.upsample.0.conv2.bias"] = torch.zeros(1, 8, 5, 5)
    torch.save(bad, W("bad", "best_model.pth"))
    expect_error("error: untied bias shape mismatch", mf_convert("bad", W("bad.cavatar")), "has shape [1, 8, 5, 5]")
    bad = dict(sd)
    bad["dec.texture_decoder.upsample.0.conv1.res1.weight"] = torch.zeros(1)
    torch.save(bad, W("bad", "best_model.pth"))
    expect_error("error: unsupported variant keys", mf_convert("bad", W("bad.cavatar")), "unexpected decoder keys")
    torch.save(sd, W("bad", "best_model.pth"))
    with open(W("bad", "vert_mean.bin"), "wb") as f:
        f.write(b"\0" * 12)
    expect_error("error: vert_mean.bin size", mf_convert("bad", W("bad.cavatar")), "the checkpoint needs V*3 = 150")
    expect_error("error: obj vertex count", mf_convert("mf", W("bad.cavatar")) + ["--obj", W("mf2", "mesh.obj")],
                 "has 30 vertices")
    expect_error("error: channels inconsistent with texture size",
                 ["make", "--out", W("x.cavatar"), "--ref", W("x.st"), "--texture", "64", "--init-size", "2",
                  "--channels", "8,8,3", "--latent", "8", "--vertices", "10"], "texture size 64")
    expect_error("error: last channel must be 3",
                 ["make", "--out", W("x.cavatar"), "--ref", W("x.st"), "--texture", "8", "--init-size", "2",
                  "--channels", "8,8,4", "--latent", "8", "--vertices", "10"], "must be 3")
    with open(W("a.cavatar"), "rb") as f:
        blob = f.read()
    with open(W("trunc.cavatar"), "wb") as f:
        f.write(blob[:-100])
    expect_error("error: truncated .cavatar", ["reference", "--avatar", W("trunc.cavatar"), "--out", W("x.st")],
                 "do not match shape")
    rc, out = run(["make", "--out", W("x.cavatar"), "--ref", W("x.st"), "--dtype", "f8"])
    result("error: bad --dtype rejected by argparse", rc == 2 and "invalid choice" in out, out)
except Exception:
    import traceback
    nfail += 1
    print("FAIL python checks raised:")
    print("".join("     " + l for l in traceback.format_exc().splitlines(True)))
print("PYCOUNT %d %d" % (npass, nfail))
PYEOF
)
pyrc=$?
printf '%s\n' "$pyout" | grep -v '^PYCOUNT '
counts=$(printf '%s\n' "$pyout" | sed -n 's/^PYCOUNT //p')
if [ -n "$counts" ]; then
    pass=$((pass + ${counts% *}))
    fail=$((fail + ${counts#* }))
else
    echo "FAIL python checks did not finish (status $pyrc)"
    fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
