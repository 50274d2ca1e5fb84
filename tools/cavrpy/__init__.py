"""cavr's Python tools as one package: the file formats (safetensors, PNG, .cavatar) and the reference models
(dam, gca, the splat rasteriser, the Multiface converter) that the thin command-line tools call.

The import root is tools/: scripts in tools/ find the package through Python's script directory, scripts in
tools/assets through `import toolpath` (tools/assets/toolpath.py), tests/make_card_avatar.py by its own path.
Needs /usr/bin/python3 (Debian's python3-torch, python3-numpy and python3-pil).
"""

import os
import sys

try:  # one clear line instead of a traceback when run with a Python that lacks them
    import numpy  # noqa: F401
    import PIL  # noqa: F401
    import torch  # noqa: F401
except ImportError as _e:  # pragma: no cover
    sys.stderr.write("%s: error: %s; run this tool with /usr/bin/python3 (Debian python3-torch, python3-numpy "
                     "and python3-pil)\n" % (os.path.splitext(os.path.basename(sys.argv[0] or "cavrpy"))[0], _e))
    sys.exit(2)
