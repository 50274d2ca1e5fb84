"""The .cavatar layout that both decoder families share (engine/avatar/cavatar-format.md): the common metadata,
decoder weights in a storage dtype, code statistics, and the reference codes and views every reference file uses."""

import numpy as np
import torch

from cavrpy import safetensors as st
from cavrpy.tool import ToolError

LEAKY_SLOPE = 0.2
VIEW_FEATURES = 8     # view_fc output width (fixed by both architectures)
ZCODE_FEATURES = 256  # z_fc output width (fixed by both architectures)


def metadata(family, name, latent, view, fields, extra=None):
    """Common metadata, then the family's own fields (`family.*` and sizes), then extra (source, ...)."""
    md = {"format": "cavatar", "format_version": "1", "family": family, "name": name,
          "latent_size": str(latent), "view_conditioned": "true" if view else "false",
          "units": "metres", "leaky_slope": "0.2"}
    md.update(fields)
    md.update(extra or {})
    return md


def meta(path, md, key):
    """md[key], or an error that names the file and the missing key."""
    if key not in md:
        raise ToolError("%s: metadata %s missing" % (path, key))
    return md[key]


def check_metadata(path, md, family):
    """Checks the common metadata of a file read as `family`; returns view_conditioned as a bool."""
    if meta(path, md, "format") != "cavatar" or meta(path, md, "format_version") != "1":
        raise ToolError("%s: not a version-1 .cavatar (format=%r, format_version=%r)"
                        % (path, md.get("format"), md.get("format_version")))
    if meta(path, md, "family") != family:
        raise ToolError("%s: family %r is not %s" % (path, md["family"], family))
    if meta(path, md, "units") != "metres":
        raise ToolError("%s: units %r, expected metres" % (path, md["units"]))
    try:
        slope = float(meta(path, md, "leaky_slope"))
    except ValueError:
        slope = None
    if slope != LEAKY_SLOPE:
        raise ToolError("%s: leaky_slope %s is not 0.2" % (path, md["leaky_slope"]))
    vc = meta(path, md, "view_conditioned")
    if vc not in ("true", "false"):
        raise ToolError("%s: view_conditioned must be true or false, got %r" % (path, vc))
    return vc == "true"


def f32(arr):
    """A float32 tensor entry for st.write."""
    return st.encode_tensor(np.asarray(arr, dtype=np.float32), "F32")


def encode_weights(weights, st_dtype):
    """dec.* float64 arrays -> (tensor entries in st_dtype, the same arrays as stored, float64)."""
    out, stored = {}, {}
    for k, arr in weights.items():
        out[k] = st.encode_tensor(np.asarray(arr, dtype=np.float64).astype(np.float32), st_dtype)
        stored[k] = st.quantize(arr, st_dtype)
    return out, stored


def code_stats(code_mean, code_std):
    """code.mean and code.std entries, or none when the avatar has no code statistics."""
    if code_mean is None:
        return {}
    return {"code.mean": f32(code_mean), "code.std": f32(code_std)}


def random_unit_views(n, gen):
    v = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True)


def reference_codes(latent, n, seed):
    """The random codes [n, latent] and unit views [n, 3] of reference files, float64 holding float32 values
    (their own generator: the count does not change the weights)."""
    gen = torch.Generator().manual_seed(seed * 7919 + 3)
    codes = torch.randn(n, latent, generator=gen, dtype=torch.float64).float().double()
    views = random_unit_views(n, gen).float().double()
    return codes.numpy(), views.numpy()
