"""PNG through Pillow: 8-bit RGB out, grey / palette / alpha / 16-bit grey in (as RGB 0..255)."""

import numpy as np
from PIL import Image

from cavrpy.tool import ToolError


def write_rgb8(path, img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ToolError("internal: PNG writer wants [H, W, 3]")
    try:
        Image.fromarray(img, "RGB").save(path, format="PNG")
    except OSError as e:
        raise ToolError("cannot write %s: %s" % (path, e))


def read(path):
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
