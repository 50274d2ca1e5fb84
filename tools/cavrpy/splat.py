"""CPU reference rasteriser for 3D Gaussian Splatting (Kerbl et al. 2023), written independently of the shaders:
camera-space EWA Jacobian, front-to-back accumulation per pixel, float64 throughout; and the gca_reference.py
command splat-scene (random scenes, cameras and their images; takes the parsed arguments)."""

import math

import numpy as np

from cavrpy import cavatar, png
from cavrpy import safetensors as st
from cavrpy.tool import ToolError


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
    st.write(a.out + ".safetensors", {
        "gaussians": cavatar.f32(rows), "views": cavatar.f32(np.stack(views)), "projection": cavatar.f32(proj),
    }, {"width": str(a.width), "height": str(a.height), "background": "%g,%g,%g" % bg})
    rows32 = rows.astype(np.float32).astype(np.float64)
    for k, v in enumerate(views):
        v32, p32 = v.astype(np.float32).astype(np.float64), proj.astype(np.float32).astype(np.float64)
        png.write_rgb8("%s.view%d.png" % (a.out, k), to_srgb8(splat_render(rows32, v32, p32, a.width, a.height, bg)))
    print("splat-scene: %d Gaussians, %d view(s) -> %s.*" % (a.count, len(views), a.out))
    return 0
