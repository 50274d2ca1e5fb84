"""Writes card.cavatar: a 0.2 m square facing +z whose texture is four coloured quadrants, with tex.std and
vert_std zero so the decoded texture and mesh are exactly the file's means whatever the (random) weights.
The avatar render test checks that each quadrant lands where its uvs say (v = 0 is the top row)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cavrpy import dam  # noqa: E402

QUADRANTS = {"top_left": (0.8, 0.1, 0.1), "top_right": (0.1, 0.7, 0.2),
             "bottom_left": (0.15, 0.2, 0.85), "bottom_right": (0.95, 0.95, 0.9)}


def main(out):
    spec = dam.DamSpec(latent=8, texture=32, vertices=4, init_size=2, channels=[8, 8, 4, 4, 3], view=True)
    model, _ = dam.build_random_decoder(spec, 5)
    t = spec.texture
    tex = np.zeros((t, t, 3))
    h = t // 2
    tex[:h, :h] = QUADRANTS["top_left"]
    tex[:h, h:] = QUADRANTS["top_right"]
    tex[h:, :h] = QUADRANTS["bottom_left"]
    tex[h:, h:] = QUADRANTS["bottom_right"]
    mesh = {
        "vert_mean": np.array([[-0.1, 0.1, 0], [0.1, 0.1, 0], [0.1, -0.1, 0], [-0.1, -0.1, 0]]),
        "vert_std": 0.0,
        "uv": np.array([[0, 0], [1, 0], [1, 1], [0, 1]]),
        "tri_vertex": np.array([[0, 3, 2], [0, 2, 1]], dtype=np.int32),  # counter-clockwise seen from +z
        "tri_uv": np.array([[0, 3, 2], [0, 2, 1]], dtype=np.int32),
    }
    dam.write_cavatar(out, spec, model.folded(), mesh, tex, 0.0, "F32", "card")


if __name__ == "__main__":
    main(sys.argv[1])
