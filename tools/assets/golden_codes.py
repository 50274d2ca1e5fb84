#!/usr/bin/python3
"""The expression codes tests/test_assets.c decodes and renders, from each avatar's own encoder (the sender,
train.py Sender). They are test inputs, committed once to tests/golden/avatars/NAME.codes.safetensors;
rerun this only when an avatar is retrained (and then regenerate the goldens).

    /usr/bin/python3 tools/assets/golden_codes.py [--assets assets] [--out tests/golden/avatars]

Each file: `codes` [5, Z] F32 and `views` [5, 3] F32 (unit direction from the head to the camera, in the
head frame), rows named by the metadata `rows`: neutral and smile from the front, the same two from a
three-quarter view (40 degrees to the avatar's left), and jaw open from the front.
"""

import argparse
import glob
import math
import os
import sys

import numpy as np

import head
import train
import toolpath  # noqa: F401  (tools/ on the import path, for cavrpy)
from cavrpy import safetensors as st

ROWS = [("neutral", {}, 0), ("smile", {"smile_l": 1, "smile_r": 1}, 0), ("neutral", {}, 40),
        ("smile", {"smile_l": 1, "smile_r": 1}, 40), ("jaw_open", {"jaw_open": 1}, 0)]


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", default=os.path.join(root, "assets"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "golden", "avatars"))
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(a.assets, "*.cavatar"))):
        name = os.path.basename(path)[:-len(".cavatar")]
        sender = train.Sender(path)
        e = np.zeros((len(ROWS), head.K), np.float32)
        for i, (_, ex, _) in enumerate(ROWS):
            for k, v in ex.items():
                e[i, head.EXPRESSIONS.index(k)] = v
        codes = sender.codes(e).numpy().astype(np.float32)
        views = np.array([[math.sin(math.radians(d)), 0.0, math.cos(math.radians(d))] for _, _, d in ROWS], np.float32)
        out = os.path.join(a.out, "%s.codes.safetensors" % name)
        st.write(out, {"codes": st.encode_tensor(codes, "F32"), "views": st.encode_tensor(views, "F32")}, {
            "avatar": name + ".cavatar",
            "rows": ",".join("%s@%d" % (n, d) for n, _, d in ROWS),
            "about": "tools/assets/golden_codes.py: codes from the avatar's encoder (train.py Sender)"})
        print("golden_codes: %s: %d codes -> %s" % (name, len(codes), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
