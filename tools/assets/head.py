"""The synthetic participants: MediaPipe's face mask completed into a head, a texture atlas from a
real photo, and a parametric expression generator (mesh deformations + texture shading).

Coordinates: centimetres while building (MediaPipe's canonical frame: x to the avatar's left,
y up, z out of the face); `Participant.export_mesh` gives metres with the origin at the head's
centre (HEAD_CENTRE).  Texture atlas, v downwards, T x T:
  face  u in [0, .75), v in [0, .75)   MediaPipe's own UV layout, scaled
  eye   u in [.76, 1), v in [0, .24)   one iris/sclera disc shared by both eyeballs
  mouth u in [.76, 1), v in [.26, .74) inner mouth (teeth, gums, tongue, throat)
  scalp u in [0, 1),   v in [.76, 1)   back of head, hair and neck (longitude -> u)

Expression parameters (EXPRESSIONS, each 0..1): the generator's mesh is
    rest + sum_k e_k D_k (then the jaw rotation, weighted per vertex)
and its texture is base * (1 + sum_k e_k S_k): S_k is the change of baked lighting that D_k
causes plus hand-placed creases (nasolabial folds, forehead lines, eyelid lash line).
"""

import math

import numpy as np

import sources

EXPRESSIONS = ["jaw_open", "smile_l", "smile_r", "blink_l", "blink_r", "brow_raise_l", "brow_raise_r",
               "brow_furrow", "pucker", "stretch"]
K = len(EXPRESSIONS)
HEAD_CENTRE = np.array([0.0, 1.0, -4.5])  # cm, canonical frame: the head's origin in the .cavatar

# MediaPipe landmark index lists (FACEMESH_LIPS / _LEFT_EYE / _RIGHT_EYE; "right" is the avatar's)
LIP_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIP_LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
LIP_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIP_LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
EYE_R_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133]
EYE_R_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133]
EYE_L_UPPER = [263, 466, 388, 387, 386, 385, 384, 398, 362]
EYE_L_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362]

# atlas regions (u0, v0, u1, v1)
R_FACE = (0.0, 0.0, 0.75, 0.75)
R_EYE = (0.76, 0.0, 1.0, 0.24)
R_MOUTH = (0.76, 0.26, 1.0, 0.74)
R_SCALP = (0.0, 0.76, 1.0, 1.0)


def smoothstep(e0, e1, x):
    t = np.clip((np.asarray(x, dtype=np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def loop(upper, lower):
    """Closed contour: upper from corner to corner, then lower back (no repeated corners)."""
    return list(upper) + list(lower[::-1][1:-1])


def vertex_normals(pos, tris):
    n = np.zeros_like(pos)
    fn = np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]])
    for c in range(3):
        np.add.at(n, tris[:, c], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def raster_uv(uv, tri_uv, tri_vertex, values, T):
    """Interpolate per-vertex values [V, C] over the atlas: -> [T, T, C], coverage [T, T]."""
    C = values.shape[1]
    out = np.zeros((T, T, C))
    cov = np.zeros((T, T), dtype=bool)
    px = uv * T - 0.5
    for f in range(tri_uv.shape[0]):
        a, b, c = px[tri_uv[f]]
        x0, x1 = int(max(0, math.floor(min(a[0], b[0], c[0])))), int(min(T - 1, math.ceil(max(a[0], b[0], c[0]))))
        y0, y1 = int(max(0, math.floor(min(a[1], b[1], c[1])))), int(min(T - 1, math.ceil(max(a[1], b[1], c[1]))))
        if x1 < x0 or y1 < y0:
            continue
        X, Y = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        d = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1])
        if abs(d) < 1e-12:
            continue
        w0 = ((b[1] - c[1]) * (X - c[0]) + (c[0] - b[0]) * (Y - c[1])) / d
        w1 = ((c[1] - a[1]) * (X - c[0]) + (a[0] - c[0]) * (Y - c[1])) / d
        w2 = 1 - w0 - w1
        inside = (w0 >= -1e-3) & (w1 >= -1e-3) & (w2 >= -1e-3)
        if not inside.any():
            continue
        vv = values[tri_vertex[f]]
        val = w0[..., None] * vv[0] + w1[..., None] * vv[1] + w2[..., None] * vv[2]
        ys, xs = Y[inside], X[inside]
        out[ys, xs] = val[inside]
        cov[ys, xs] = True
    return out, cov


def dilate(img, cov, steps):
    """Push covered texels' values into uncovered neighbours (so bilinear filtering and mips do not
    bleed the background into the surface)."""
    img, cov = img.copy(), cov.copy()
    for _ in range(steps):
        acc = np.zeros_like(img)
        cnt = np.zeros(cov.shape)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            sc = np.roll(cov, (dy, dx), (0, 1))
            acc += np.roll(img, (dy, dx), (0, 1)) * sc[..., None]
            cnt += sc
        new = (~cov) & (cnt > 0)
        img[new] = acc[new] / cnt[new][:, None]
        cov = cov | new
        if cov.all():
            break
    return img


def blur(img, r):
    """Separable box blur, 3 passes (about Gaussian), wrap-free (edge clamped)."""
    out = img.astype(np.float64)
    for _ in range(3):
        for ax in (0, 1):
            pad = [(0, 0)] * out.ndim
            pad[ax] = (r, r)
            p = np.pad(out, pad, mode="edge")
            c = np.cumsum(p, axis=ax)
            c = np.concatenate([np.zeros_like(np.take(c, [0], axis=ax)), c], axis=ax)
            n = out.shape[ax]
            out = (np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=ax)
                   - np.take(c, np.arange(0, n), axis=ax)) / (2 * r + 1)
    return out


def value_noise(shape, cells, rng):
    """Smooth random field in about -1..1 (bilinear value noise)."""
    H, W = shape
    g = rng.standard_normal((cells[0] + 2, cells[1] + 2))
    y = np.linspace(0, cells[0], H)
    x = np.linspace(0, cells[1], W)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = smoothstep(0, 1, y - y0)[:, None], smoothstep(0, 1, x - x0)[None, :]
    a = g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx
    b = g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx
    return a * (1 - fy) + b * fy


def region_uv(region, uv01):
    u0, v0, u1, v1 = region
    return np.stack([u0 + uv01[:, 0] * (u1 - u0), v0 + uv01[:, 1] * (v1 - v0)], axis=1)


def region_pixels(region, T):
    u0, v0, u1, v1 = region
    return (int(round(v0 * T)), int(round(v1 * T)), int(round(u0 * T)), int(round(u1 * T)))


def srgb_to_linear(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


# --------------------------------------------------------------------------------------
# identities
# --------------------------------------------------------------------------------------

PARTICIPANTS = {
    # face shape: scale (x, y, z), jaw width, chin length, nose width, lip fullness; skin: target
    # mean linear-RGB skin colour (None keeps the photo's); hair: sRGB colour (None keeps the
    # photo's), lowest hairline at the sides and the back (cm); iris colour
    "ana": dict(seed=11, scale=(1.0, 1.0, 1.0), jaw=0.0, chin=0.0, nose=0.0, lips=0.0,
                skin=None, freckles=0.0, stubble=0.0, mirror=False,
                hair=None, hair_low=(-1.0, -5.5), iris=(0.30, 0.20, 0.10),
                brows=0.0, lip_tint=(0.72, 0.36, 0.36)),
    "kofi": dict(seed=23, scale=(1.06, 1.02, 1.02), jaw=0.35, chin=0.15, nose=0.45, lips=0.35,
                 skin=(0.115, 0.058, 0.033), freckles=0.0, stubble=0.5, mirror=True,
                 hair=(0.07, 0.055, 0.05), hair_low=(3.0, -3.5), iris=(0.16, 0.09, 0.05),
                 brows=0.5, lip_tint=(0.38, 0.20, 0.19)),
    "ines": dict(seed=37, scale=(0.95, 1.04, 0.97), jaw=-0.3, chin=0.25, nose=-0.2, lips=0.1,
                 skin=(0.62, 0.36, 0.27), freckles=0.8, stubble=0.0, mirror=False,
                 hair=(0.58, 0.26, 0.10), hair_low=(0.0, -7.0), iris=(0.20, 0.38, 0.30),
                 brows=-0.2, lip_tint=(0.80, 0.42, 0.42)),
}


def identity_deform(p, idn):
    """Face-shape change of the canonical mask (cm)."""
    p = p.copy()
    sx, sy, sz = idn["scale"]
    p *= np.array([sx, sy, sz])
    low = smoothstep(-2.0, -8.0, p[:, 1])                      # 1 at the jaw
    p[:, 0] *= 1.0 + 0.12 * idn["jaw"] * low
    chin = smoothstep(-5.0, -9.5, p[:, 1]) * np.exp(-(p[:, 0] / 3.0) ** 2)
    p[:, 1] -= 0.9 * idn["chin"] * chin
    nose = np.exp(-((p[:, 0] / 1.6) ** 2 + ((p[:, 1] + 1.2) / 1.4) ** 2)) * smoothstep(4.0, 6.0, p[:, 2])
    p[:, 0] *= 1.0 + 0.25 * idn["nose"] * nose
    lips = np.exp(-((p[:, 0] / 2.4) ** 2 + ((p[:, 1] + 4.3) / 1.1) ** 2))
    p[:, 2] += 0.35 * idn["lips"] * lips
    return p


# --------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------

def ray_hits(origins, dirs, pos, tris):
    """Distance along each ray to the nearest triangle (inf where none) and that triangle's index
    (-1): Moller-Trumbore."""
    v0, v1, v2 = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    e1, e2 = v1 - v0, v2 - v0
    best = np.full(origins.shape[0], np.inf)
    which = np.full(origins.shape[0], -1)
    for s in range(0, origins.shape[0], 256):
        o, d = origins[s:s + 256, None], dirs[s:s + 256, None]
        pv = np.cross(d, e2[None])
        det = np.sum(e1[None] * pv, -1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        tv = o - v0[None]
        u = np.sum(tv * pv, -1) * inv
        qv = np.cross(tv, e1[None])
        v = np.sum(d * qv, -1) * inv
        t = np.sum(e2[None] * qv, -1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        tt = np.where(hit, t, np.inf)
        best[s:s + 256] = tt.min(axis=1)
        which[s:s + 256] = np.where(np.isfinite(best[s:s + 256]), tt.argmin(axis=1), -1)
    return best, which


def scalp_rings():
    """(y, rx, rz, zc) per ring from the crown to the base of the neck (cm)."""
    rings = []
    for lat in np.linspace(80, -40, 24):          # the skull: an ellipsoid about HEAD_CENTRE
        th = math.radians(lat)
        rings.append((1.5 + 10.8 * math.sin(th), 7.9 * math.cos(th), 10.0 * math.cos(th), -4.5))
    for y in np.linspace(-6.5, -21.0, 14):        # jaw, chin and the jaw's underside into the neck
        w = float(smoothstep(-7.5, -12.0, y))
        th = math.asin(max(-1.0, (y - 1.5) / 10.8))
        head = (7.9 * math.cos(th), 10.0 * math.cos(th))
        rings.append((y, (1 - w) * max(head[0], 5.2) + w * 5.3, (1 - w) * max(head[1], 5.5) + w * 5.6,
                      (1 - w) * -4.5 + w * -5.8))
    return rings


class Participant:
    def __init__(self, name, T=256):
        self.name, self.T = name, T
        self.idn = PARTICIPANTS[name]
        fpos, fuv, ftri = sources.canonical_face_mesh()
        fpos = identity_deform(fpos, self.idn)
        self.nface = fpos.shape[0]
        # open the eyes and the mouth: drop the triangles that span each opening
        holes = [set(loop(EYE_R_UPPER, EYE_R_LOWER)), set(loop(EYE_L_UPPER, EYE_L_LOWER)),
                 set(loop(LIP_UPPER_INNER, LIP_LOWER_INNER))]
        keep = [not any(all(int(v) in h for v in t) for h in holes) for t in ftri]
        ftri = ftri[np.array(keep)]
        self.face_tris_for_rays = ftri
        edges = {}
        for t in ftri:
            for a_, b_ in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
                key = (min(a_, b_), max(a_, b_))
                edges[key] = edges.get(key, 0) + 1
        holes_all = set().union(*holes)
        self.face_outline = sorted((int(a_), int(b_)) for (a_, b_), c_ in edges.items()
                                   if c_ == 1 and a_ not in holes_all)   # the mask's outer edges
        pos, uvs, tv, tu = [fpos], [region_uv(R_FACE, fuv)], [ftri], [ftri.copy()]
        self.part = np.zeros(self.nface, dtype=np.int64)   # 0 face 1 scalp 2 eye 3 mouth
        nv, nu = self.nface, self.nface

        def add(p, u, t_v, t_u, part):
            nonlocal nv, nu
            pos.append(p)
            uvs.append(u)
            tv.append(t_v)
            tu.append(t_u)
            self.part = np.concatenate([self.part, np.full(p.shape[0], part)])
            nv += p.shape[0]
            nu += u.shape[0]

        # scalp and neck: rings of longitudes that hug the back of the face mask
        rings = scalp_rings()
        L = 48
        phi = 2 * math.pi * np.arange(L) / L                  # 0 = straight ahead (+z)
        R = len(rings)
        dirs = np.stack([np.sin(phi), np.zeros(L), np.cos(phi)], 1)
        orig = np.zeros((R, L, 3))
        rbase = np.zeros((R, L))
        for k, (y, rx, rz, zc) in enumerate(rings):
            # distance to the ellipse along each horizontal direction
            rbase[k] = 1.0 / np.sqrt((np.sin(phi) / rx) ** 2 + (np.cos(phi) / rz) ** 2)
            orig[k] = np.array([0.0, y, zc])
        hit, tri_hit = ray_hits(orig.reshape(-1, 3), np.tile(dirs, (R, 1)), fpos, ftri)
        hit, tri_hit = hit.reshape(R, L), tri_hit.reshape(R, L)
        # hugging the mask: 2.5 mm behind it (measured along its normal, so the shell does not graze the
        # mask where the rays meet it at a slant), a screened-harmonic blend elsewhere
        is_hit = np.isfinite(hit)
        fn = np.cross(fpos[ftri[:, 1]] - fpos[ftri[:, 0]], fpos[ftri[:, 2]] - fpos[ftri[:, 0]])
        fn /= np.linalg.norm(fn, axis=1, keepdims=True)
        cosang = np.abs(np.sum(fn[np.maximum(tri_hit, 0)] * dirs[None], -1))
        back = np.minimum(0.25 / np.maximum(cosang, 0.2), 1.25)
        target = np.where(is_hit, hit - back - rbase, 0.0)
        # rays through the eye and mouth openings miss the mask but are inside it: find them (not
        # reachable from the back of the head without crossing the mask) and sink them into the head
        reach = np.zeros((R, L), dtype=bool)
        reach[:, L // 2] = ~is_hit[:, L // 2]
        while True:
            grow = reach | np.roll(reach, 1, 1) | np.roll(reach, -1, 1) | \
                np.vstack([reach[:1], reach[:-1]]) | np.vstack([reach[1:], reach[-1:]])
            grow &= ~is_hit
            if (grow == reach).all():
                break
            reach = grow
        enclosed = ~is_hit & ~reach
        target = np.where(enclosed, -0.4 * rbase, target)
        is_hit = is_hit | enclosed
        # only the band next to the mask's rim hugs it; further in, the shell sinks away so that it
        # cannot cut through concave parts of the face (under the nose, between lip and chin)
        steps_in = np.where(is_hit, np.inf, 0.0)
        for _ in range(4):
            nb = np.minimum.reduce([np.roll(steps_in, 1, 1), np.roll(steps_in, -1, 1),
                                    np.vstack([steps_in[:1], steps_in[:-1]]), np.vstack([steps_in[1:], steps_in[-1:]])])
            steps_in = np.minimum(steps_in, nb + 1)
        target = np.where(is_hit, target - 1.5 * np.clip(steps_in - 1, 0, 3), target)
        off = target.copy()
        for _ in range(400):
            nb = (np.roll(off, 1, 1) + np.roll(off, -1, 1)
                  + np.vstack([off[:1], off[:-1]]) + np.vstack([off[1:], off[-1:]])) / 4.0
            off = np.where(is_hit, target, 0.97 * nb)
        # tuck the shell under the mask's rim: vertices just outside the mask sink a few millimetres, so the
        # shell passes behind the rim instead of through it
        steps = np.where(is_hit, 0.0, np.inf)
        for s_ in range(1, 4):
            grown = np.minimum.reduce([np.roll(steps, 1, 1), np.roll(steps, -1, 1),
                                       np.vstack([steps[:1], steps[:-1]]), np.vstack([steps[1:], steps[-1:]])]) + 1
            steps = np.minimum(steps, grown)
        inset = np.where(is_hit, 0.0, 0.45 * np.exp(-((steps - 1) ** 2) / 2.0))
        rad = rbase + off - inset
        sp = orig + rad[..., None] * dirs[None]
        deep = is_hit.copy()
        for _ in range(2):
            deep = deep & np.roll(deep, 1, 1) & np.roll(deep, -1, 1) & \
                np.vstack([deep[:1], deep[:-1]]) & np.vstack([deep[1:], deep[-1:]])
        crown = np.array([[0.0, 1.5 + 10.8, -4.5]])
        spos = np.concatenate([crown, sp.reshape(-1, 3)])
        # uv: longitude -> u (column L duplicates column 0 for the seam at the back), ring -> v
        ucol = (np.arange(L + 1) + 0.0) / L
        uphi = ucol  # u = 0 and 1 at the front, hidden behind the face
        vrow = (np.arange(R) + 1.0) / (R + 0.5)
        suv = [np.array([[0.5, 0.01]])]
        suv.append(np.stack(np.meshgrid(uphi, vrow), -1).reshape(-1, 2))
        suv = region_uv(R_SCALP, np.concatenate(suv))
        st_v, st_u = [], []
        vid = lambda k, l: 1 + k * L + (l % L)
        uid = lambda k, l: 1 + k * (L + 1) + l
        for l in range(L):
            st_v.append((0, vid(0, l + 1), vid(0, l)))
            st_u.append((0, uid(0, l + 1), uid(0, l)))
        for k in range(R - 1):
            for l in range(L):
                q = [(k, l), (k, l + 1), (k + 1, l), (k + 1, l + 1)]
                if all(deep[a, b % L] for a, b in q):
                    continue  # hidden behind the face: keeps the eye and mouth openings clear
                a, b, c, d = q
                st_v += [(vid(*a), vid(*b), vid(*c)), (vid(*b), vid(*d), vid(*c))]
                st_u += [(uid(*a), uid(*b), uid(*c)), (uid(*b), uid(*d), uid(*c))]
        st_v, st_u = np.array(st_v), np.array(st_u)
        # faces' winding: outward normals
        self.scalp_off = nv
        add(spos, suv, st_v + nv, st_u + nu, 1)
        self.scalp_L, self.scalp_R = L, R

        # eyeballs behind the eye openings, with a socket strip from the lids back into the head
        self.eye_centres = []
        for upper, lower in ((EYE_R_UPPER, EYE_R_LOWER), (EYE_L_UPPER, EYE_L_LOWER)):
            lp = loop(upper, lower)
            c = fpos[lp].mean(0)
            ex = 0.5 * np.ptp(fpos[lp][:, 0]) + 0.15
            semi = np.array([ex, 1.15, 1.1])
            centre = c - np.array([0.0, 0.0, semi[2] - 0.05])
            self.eye_centres.append(centre)
            nlat, nlon = 9, 16
            ep, eu = [np.array([[0.0, 0.0, 1.0]])], [np.array([[0.5, 0.5]])]
            for i in range(1, nlat + 1):
                al = math.pi * 0.85 * i / nlat
                be = 2 * math.pi * np.arange(nlon) / nlon
                d = np.stack([math.sin(al) * np.cos(be), math.sin(al) * np.sin(be), np.full(nlon, math.cos(al))], 1)
                ep.append(d)
                rr = 0.5 * al / math.pi
                eu.append(np.stack([0.5 + rr * np.cos(be), 0.5 - rr * np.sin(be)], 1))
            ep = np.concatenate(ep) * semi + centre
            eu = region_uv(R_EYE, np.concatenate(eu))
            et = []
            for l in range(nlon):
                et.append((0, 1 + (l + 1) % nlon, 1 + l)[::-1])
            for i in range(nlat - 1):
                for l in range(nlon):
                    a, b = 1 + i * nlon + l, 1 + i * nlon + (l + 1) % nlon
                    c2, d2 = a + nlon, b + nlon
                    et += [(a, c2, b), (b, c2, d2)]
            et = np.array(et)
            add(ep, eu, et + nv, et + nu, 2)
            # socket: contour -> ring 0.6 cm back, shrunk towards the eye's centre
            ring = fpos[lp] + (c - fpos[lp]) * 0.3 - np.array([0.0, 0.0, 0.6])
            n = len(lp)
            sv = [(lp[i], lp[(i + 1) % n], nv + i) for i in range(n)] + \
                 [(lp[(i + 1) % n], nv + (i + 1) % n, nv + i) for i in range(n)]
            sv = np.array(sv)
            # socket uv: just inside the eye opening of the face layout (texels no face triangle uses)
            fuv_lp = region_uv(R_FACE, fuv[lp])
            suv_ring = fuv_lp + (fuv_lp.mean(0) - fuv_lp) * 0.3
            su = np.where(sv >= nv, sv - nv + nu, -1)
            self.socket_of = getattr(self, "socket_of", []) + [(nv, lp)]
            add(ring, suv_ring, sv, su, 2)

        # inner mouth: the inner-lip contour, two rings back into the head, a throat cap
        lp = loop(LIP_UPPER_INNER, LIP_LOWER_INNER)
        n = len(lp)
        c = fpos[lp].mean(0)
        r1 = c + (fpos[lp] - c) * np.array([1.15, 1.6, 1.0]) - np.array([0.0, 0.0, 0.9])
        r2 = c + (fpos[lp] - c) * np.array([0.9, 2.6, 1.0]) - np.array([0.0, 0.3, 3.2])
        cap = c - np.array([0.0, 0.4, 5.0])
        mp = np.concatenate([r1, r2, cap[None]])
        ang = (np.arange(n + 1) / n)
        muv = [np.stack([ang, np.full(n + 1, 0.0)], 1), np.stack([ang, np.full(n + 1, 0.25)], 1),
               np.stack([ang, np.full(n + 1, 0.7)], 1), np.array([[0.5, 1.0]])]
        muv = region_uv(R_MOUTH, np.concatenate(muv))
        mv, mu = [], []
        ring_v = [lp, [nv + i for i in range(n)], [nv + n + i for i in range(n)]]
        ring_u = [[nu + j for j in range(n + 1)], [nu + n + 1 + j for j in range(n + 1)],
                  [nu + 2 * (n + 1) + j for j in range(n + 1)]]
        for r in range(2):
            for i in range(n):
                j = i + 1
                a, b = ring_v[r][i], ring_v[r][j % n]
                c2, d2 = ring_v[r + 1][i], ring_v[r + 1][j % n]
                ua, ub, uc, ud = ring_u[r][i], ring_u[r][j], ring_u[r + 1][i], ring_u[r + 1][j]
                mv += [(a, c2, b), (b, c2, d2)]
                mu += [(ua, uc, ub), (ub, uc, ud)]
        capv, capu = nv + 2 * n, nu + 3 * (n + 1)
        for i in range(n):
            mv.append((ring_v[2][i], capv, ring_v[2][(i + 1) % n]))
            mu.append((ring_u[2][i], capu, ring_u[2][i + 1]))
        self.mouth_loop = lp
        self.mouth_off = nv
        add(mp, muv, np.array(mv), np.array(mu), 3)
        self.pos = np.concatenate(pos)
        uv_all = np.concatenate(uvs)
        # socket strips: contour corners take the face's own uvs (no seam in colour)
        for t_u, t_v in zip(tu, tv):
            neg = t_u < 0
            t_u[neg] = t_v[neg]
        self.uv = uv_all
        self.tri_vertex = np.concatenate(tv).astype(np.int64)
        self.tri_uv = np.concatenate(tu).astype(np.int64)
        self.V = self.pos.shape[0]
        mouth_c = self.pos[self.mouth_loop].mean(0)
        ec = np.array(self.eye_centres)

        def centres(part, m):
            c = np.stack([np.zeros(len(m)), m[:, 1], np.full(len(m), -5.0)], 1)
            eye = part == 2
            c[eye] = ec[(m[eye, 0] > 0).astype(int)]
            mo = part == 3
            c[mo] = 2 * m[mo] - np.stack([np.zeros(mo.sum()), np.full(mo.sum(), mouth_c[1]), m[mo, 2]], 1)
            return c

        flip = orient_outward(self.pos, self.tri_vertex, self.part, 1.0, centres)
        self.tri_vertex[flip] = self.tri_vertex[flip][:, ::-1]
        self.tri_uv[flip] = self.tri_uv[flip][:, ::-1]
        self.canon = sources.canonical_face_mesh()[0]
        self._close_rest_mouth()
        self._expression_basis()

    # ----------------------------------------------------------------------------------
    def _close_rest_mouth(self):
        """MediaPipe's canonical lips are 5 mm apart; close them to a relaxed neutral."""
        p = self.pos
        up, lo = p[LIP_UPPER_INNER[1:-1]], p[LIP_LOWER_INNER[1:-1]]
        gap = float(np.mean(up[:, 1] - lo[:, 1]))
        d = self._contour_dist(LIP_UPPER_INNER[1:-1])
        e = self._contour_dist(LIP_LOWER_INNER[1:-1])
        mouthy = (np.abs(p[:, 0] - 0) < 3.5) & (self.part != 1)
        above = p[:, 1] > p[LIP_LOWER_INNER[1:-1], 1].max() - 0.05
        w_up = np.exp(-(d / 0.6) ** 2) * mouthy
        w_lo = np.exp(-(e / 0.6) ** 2) * mouthy
        p[:, 1] -= 0.45 * gap * w_up * (self.part != 3)
        p[:, 1] += 0.45 * gap * w_lo * (self.part != 3) * ~above

    def _contour_dist(self, idx):
        q = self.pos[idx]
        return np.sqrt(((self.pos[:, None, :] - q[None]) ** 2).sum(-1)).min(1)

    def _gauss(self, centre, sigma):
        d = (self.pos - centre) / np.asarray(sigma)
        return np.exp(-np.sum(d * d, axis=1))

    def _expression_basis(self):
        p = self.pos
        V = self.V
        D = np.zeros((K, V, 3))
        face = (self.part == 0) | (self.part == 3)
        skin = self.part != 2
        # jaw: rotation about the jaw hinges, per-vertex weight
        mouth_y = 0.5 * (p[13, 1] + p[14, 1])
        w = smoothstep(mouth_y + 0.3, mouth_y - 1.2, p[:, 1])
        w *= smoothstep(-9.0, -5.5, p[:, 2]) * smoothstep(-17.0, -11.0, p[:, 1])
        lower_ids = set(LIP_LOWER_INNER[1:-1])
        upper_ids = set(LIP_UPPER_INNER[1:-1])
        for i in lower_ids:
            w[i] = 1.0
        for i in upper_ids:
            w[i] = 0.0
        # inner mouth: the lower half (and its rings) with the jaw
        lp, n = self.mouth_loop, len(self.mouth_loop)
        for r in range(2):
            for i, vtx in enumerate(lp):
                w[self.mouth_off + r * n + i] = 1.0 if vtx in lower_ids else (0.5 if vtx in (78, 308) else 0.0)
        w[self.mouth_off + 2 * n] = 0.5
        w[self.part == 2] = 0.0
        self.jaw_w = w
        self.jaw_pivot = np.array([0.0, -0.5, -6.0])
        self.jaw_max = math.radians(17.0)
        # smiles: mouth corner up, out and back; cheek up; lower lid up a little
        for k, sgn, corner, cheek, eye in ((1, 1, 291, 280, 1), (2, -1, 61, 50, 0)):
            g = self._gauss(p[corner], (1.6, 1.3, 2.5)) * face
            D[k] += g[:, None] * np.array([0.55 * sgn, 0.5, -0.35])
            gc = self._gauss(p[cheek] + np.array([0, -0.5, 0]), (2.0, 1.8, 3.0)) * skin
            D[k] += gc[:, None] * np.array([0.1 * sgn, 0.35, 0.2])
            lower = EYE_L_LOWER if eye else EYE_R_LOWER
            ge = np.exp(-(self._contour_dist(lower[1:-1]) / 0.5) ** 2) * (self.part == 0)
            D[k] += ge[:, None] * np.array([0.0, 0.12, 0.0])
        # blinks: the upper lid comes down onto the lower lid, bulging forward over the eyeball
        for k, upper, lower, sock in ((3, EYE_L_UPPER, EYE_L_LOWER, 1), (4, EYE_R_UPPER, EYE_R_LOWER, 0)):
            lo = p[lower]
            order = np.argsort(lo[:, 0])
            disp = np.zeros((V, 3))
            wsum = np.zeros(V)
            up_in = upper[1:-1]
            for u in up_in:
                ty = np.interp(p[u, 0], lo[order, 0], lo[order, 1])
                tz = np.interp(p[u, 0], lo[order, 0], lo[order, 2])
                dv = np.array([0.0, ty - p[u, 1] + 0.02, max(0.0, tz - p[u, 2]) + 0.12])
                gw = np.exp(-(np.linalg.norm(p - p[u], axis=1) / 0.35) ** 2)
                disp += gw[:, None] * dv
                wsum += gw
            falloff = np.exp(-(self._contour_dist(up_in) / 0.55) ** 2)
            above = p[:, 1] > np.interp(p[:, 0], lo[order, 0], lo[order, 1]) + 0.02
            m = (self.part == 0) & above
            D[k] += (disp / np.maximum(wsum, 1e-9)[:, None]) * (falloff * m)[:, None]
            for i in up_in:
                D[k, i] = disp[i] / max(wsum[i], 1e-9)
            # the socket ring behind the upper lid follows it
            soff, slp = self.socket_of[sock]
            for j, vtx in enumerate(slp):
                D[k, soff + j] = 0.6 * D[k, vtx]
        # brow raises
        for k, brow, sgn in ((5, 334, 1), (6, 105, -1)):
            g = self._gauss(p[brow] + np.array([0.0, 0.6, 0.0]), (2.6, 2.0, 3.0)) * (self.part == 0)
            g *= smoothstep(p[brow, 1] - 2.2, p[brow, 1] - 0.4, p[:, 1])
            D[k] += g[:, None] * np.array([0.05 * sgn, 0.55, 0.05])
        # furrow: inner brows in and down
        for brow, sgn in ((336, 1), (107, -1)):
            g = self._gauss(p[brow], (1.0, 0.9, 2.0)) * (self.part == 0)
            D[7] += g[:, None] * np.array([-0.28 * sgn, -0.22, 0.08])
        # pucker (O/U): corners in, lips forward
        c = 0.5 * (p[13] + p[14])
        g = self._gauss(c, (2.6, 1.6, 3.0)) * face
        D[8] += g[:, None] * np.array([0.0, 0.0, 0.45])
        for corner, sgn in ((291, 1), (61, -1)):
            gc = self._gauss(p[corner], (1.2, 1.2, 2.5)) * face
            D[8] += gc[:, None] * np.array([-0.55 * sgn, 0.0, 0.15])
        # stretch (E/I): corners out, lips thin against the teeth
        for corner, sgn in ((291, 1), (61, -1)):
            gc = self._gauss(p[corner], (1.5, 1.3, 2.5)) * face
            D[9] += gc[:, None] * np.array([0.5 * sgn, -0.05, -0.2])
        D[9] += (g * face)[:, None] * np.array([0.0, 0.0, -0.12])
        self.D = D

    # ----------------------------------------------------------------------------------
    def mesh(self, e):
        """Expression e [K] (or [N, K]) -> vertices [.., V, 3] cm (numpy, float64)."""
        e = np.asarray(e, dtype=np.float64)
        single = e.ndim == 1
        e = np.atleast_2d(e)
        p = self.pos[None] + np.einsum("nk,kvc->nvc", e[:, 1:], self.D[1:])
        ang = e[:, 0] * self.jaw_max
        c, s = np.cos(ang), np.sin(ang)
        q = p - self.jaw_pivot
        # about +x: the chin (in front of and below the hinge) goes down and back
        rot = np.stack([q[..., 0], c[:, None] * q[..., 1] - s[:, None] * q[..., 2],
                        s[:, None] * q[..., 1] + c[:, None] * q[..., 2]], -1) + self.jaw_pivot
        w = self.jaw_w[None, :, None]
        out = p * (1 - w) + rot * w
        return out[0] if single else out


def orient_outward(pos, tri, part, face_sign, centres):
    """Flip non-face triangles whose normal points towards their part's centre (scalp: the head's
    centre line, eyes: the eyeball centre) or, for the inner mouth, away from the cavity."""
    a, b, c = pos[tri[:, 0]], pos[tri[:, 1]], pos[tri[:, 2]]
    n = np.cross(b - a, c - a) * face_sign
    m = (a + b + c) / 3
    p = part[tri[:, 0]]
    out = m - centres(p, m)
    flip = np.sum(n * out, axis=1) < 0
    flip &= p != 0
    return flip


# --------------------------------------------------------------------------------------
# texture
# --------------------------------------------------------------------------------------

# photo landmarks in skimage's astronaut.png (pixels, picked by eye): canonical vertex (or loop) -> (x, y)
PHOTO_LANDMARKS = [
    ([33], (192.5, 100.0)), ([133], (216.3, 100.6)), ([159], (204.4, 97.5)), ([145], (204.4, 103.8)),
    ([263], (258.8, 103.1)), ([362], (235.0, 102.5)), ([386], (246.3, 98.8)), ([374], (246.3, 105.6)),
    ([1], (225.0, 127.0)), ([61], (204.5, 141.5)), ([291], (249.5, 140.5)), ([152], (226.0, 175.0)),
    ([234], (184.0, 118.0)), ([454], (264.5, 118.0)), ([10], (224.0, 72.0)),
    ([0], (226.5, 138.0)), ([17], (226.5, 156.0)), ([105], (203.0, 91.0)), ([334], (247.0, 92.0)),
]
LIGHT = np.array([0.35, 0.55, 1.0]) / np.linalg.norm([0.35, 0.55, 1.0])


def photo_warp(canon):
    """canonical (x, y) cm -> photo pixels: least-squares affine + Gaussian RBF residuals that put
    every landmark exactly where it was picked."""
    src = np.array([canon[idx, :2].mean(0) for idx, _ in PHOTO_LANDMARKS])
    dst = np.array([xy for _, xy in PHOTO_LANDMARKS])
    A = np.concatenate([src, np.ones((len(src), 1))], 1)
    aff, *_ = np.linalg.lstsq(A, dst, rcond=None)
    res = dst - A @ aff
    sig = 1.5
    G = np.exp(-((src[:, None] - src[None]) ** 2).sum(-1) / sig ** 2)
    wts = np.linalg.solve(G + 1e-6 * np.eye(len(src)), res)

    def f(xy):
        g = np.exp(-((xy[:, None] - src[None]) ** 2).sum(-1) / sig ** 2)
        return np.concatenate([xy, np.ones((len(xy), 1))], 1) @ aff + g @ wts
    return f


def sample_bilinear(img, xy):
    h, w = img.shape[:2]
    x = np.clip(xy[:, 0], 0, w - 1.001)
    y = np.clip(xy[:, 1], 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    return (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x0 + 1] * fx * (1 - fy)
            + img[y0 + 1, x0] * (1 - fx) * fy + img[y0 + 1, x0 + 1] * fx * fy)


def seg_dist(pts, a, b):
    ab = b - a
    t = np.clip(((pts - a) @ ab) / (ab @ ab), 0, 1)
    return np.linalg.norm(pts - (a + t[:, None] * ab), axis=1)


def point_in_poly(xy, poly):
    inside = np.zeros(len(xy), dtype=bool)
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        cond = (a[1] > xy[:, 1]) != (b[1] > xy[:, 1])
        xint = a[0] + (xy[:, 1] - a[1]) * (b[0] - a[0]) / np.where(b[1] == a[1], 1e-12, b[1] - a[1])
        inside ^= cond & (xy[:, 0] < xint)
    return inside


class Textures:
    """Per participant: base texture [T, T, 3] (sRGB 0..1) and shading maps S [K, T, T]."""

    def __init__(self, P):
        self.P = P
        T = P.T
        idn = P.idn
        rng = np.random.RandomState(idn["seed"])
        # where each atlas texel sits on the rest head (canonical face for the photo, rest mesh)
        vals = np.concatenate([P.pos, np.zeros((P.V, 3))], 1)
        vals[:, 3:] = P.pos            # elsewhere (sockets) the rest position stands in
        vals[:P.nface, 3:] = P.canon
        restmap, cov = raster_uv(P.uv, P.tri_uv, P.tri_vertex, vals, T)
        self.cov = cov
        self.rest = dilate(restmap[..., :3], cov, T)
        canon_map = dilate(restmap[..., 3:], cov, T)
        r = {n: region_pixels(reg, T) for n, reg in (("face", R_FACE), ("eye", R_EYE), ("mouth", R_MOUTH),
                                                       ("scalp", R_SCALP))}
        tex = np.zeros((T, T, 3))
        # face: the photo through the landmark warp
        y0, y1, x0, x1 = r["face"]
        photo = sources.read_astronaut()
        warp = photo_warp(P.canon)
        cm = canon_map[y0:y1, x0:x1].reshape(-1, 3)
        face = sample_bilinear(photo, warp(cm[:, :2])).reshape(y1 - y0, x1 - x0, 3)
        if idn["mirror"]:
            face = face[:, ::-1]   # the UV layout is symmetric: a mirrored face
        lin = srgb_to_linear(face)
        cmr = cm.reshape(y1 - y0, x1 - x0, 3)
        cheek = (np.abs(cmr[..., 0]) > 2.5) & (np.abs(cmr[..., 0]) < 5.5) & (cmr[..., 1] > -3) & (cmr[..., 1] < 0.5)
        photo_skin = np.median(lin[cheek], axis=0)
        if idn["skin"] is not None:
            low = blur(lin, 6)
            detail = lin / np.maximum(low, 1e-4)
            lin = np.clip(low / photo_skin * np.array(idn["skin"]) * detail, 0, 1)
        skin = np.median(lin[cheek], axis=0)
        self.skin_lin = skin
        # lips, brows, stubble, freckles: painted over the photo by position on the canonical face
        xy = cmr[..., :2].reshape(-1, 2)
        lip_poly = P.canon[loop(LIP_UPPER_OUTER, LIP_LOWER_OUTER), :2]
        lipm = point_in_poly(xy, lip_poly).reshape(y1 - y0, x1 - x0).astype(float)
        lipm = blur(lipm, 1)
        lip_col = srgb_to_linear(np.array(idn["lip_tint"]))
        lin = lin * (1 - 0.45 * lipm[..., None]) + 0.45 * lipm[..., None] * lip_col * lin / np.maximum(
            lin.mean(-1, keepdims=True), 1e-4) * lin.mean(-1, keepdims=True) / np.maximum(skin.mean(), 1e-4)
        X, Y = cmr[..., 0], cmr[..., 1]
        if idn["stubble"] > 0:
            area = smoothstep(-1.8, -3.0, Y) * (1 - lipm) * smoothstep(-10.5, -8.5, Y)
            area = np.maximum(area, smoothstep(-2.2, -2.8, Y) * (np.abs(X) < 2.6) * (1 - lipm))
            speck = value_noise((y1 - y0, x1 - x0), (120, 120), rng)
            lin *= 1 - (0.45 * idn["stubble"] * area * (0.6 + 0.4 * np.clip(speck, -1, 1)))[..., None]
        if idn["freckles"] > 0:
            zone = np.exp(-((np.abs(X) - 2.6) / 2.2) ** 2 - ((Y + 0.3) / 1.6) ** 2) + \
                np.exp(-(X / 1.0) ** 2 - ((Y + 0.2) / 1.5) ** 2)
            spots = np.clip((value_noise((y1 - y0, x1 - x0), (90, 90), rng) - 0.9) * 4, 0, 1)
            lin *= 1 - (0.35 * idn["freckles"] * zone * spots)[..., None] * np.array([0.6, 0.9, 1.0])
        if idn["brows"] != 0:
            bm = np.zeros_like(X)
            for a_, b_ in ((70, 107), (300, 336)):
                bm = np.maximum(bm, np.exp(-(seg_dist(np.stack([X, Y], -1).reshape(-1, 2),
                                                      P.canon[a_, :2] + [0, 0.35], P.canon[b_, :2] + [0, 0.25])
                                             / 0.45) ** 2).reshape(X.shape))
            lin *= 1 - (0.45 * idn["brows"] * bm)[..., None]
        # the photo's hair (fringe and temples), recoloured to the participant's, luminance detail kept
        hairm = np.maximum(smoothstep(5.9, 6.5, Y), smoothstep(6.6, 7.3, np.abs(X)) * smoothstep(3.0, 4.5, Y))
        top = (Y > 7.0) & (np.abs(X) < 3.0)
        if idn["hair"] is not None:
            plum = srgb_to_linear(face) @ np.array([0.2126, 0.7152, 0.0722])
            rel = plum / np.median(plum[top])
            recol = srgb_to_linear(np.array(idn["hair"]))[None, None] * np.clip(rel, 0, 3)[..., None]
            lin = lin * (1 - hairm[..., None]) + recol * hairm[..., None]
        hair_lin = np.median(lin[top], axis=0)
        # the skin where the mask meets the scalp: the scalp and neck take this colour (no seam)
        pts = cmr.reshape(-1, 3)
        d = np.min([seg_dist(pts, P.canon[a_], P.canon[b_]) for a_, b_ in P.face_outline], axis=0).reshape(X.shape)
        border = (d < 0.8) & (Y < 2.0) & (Y > -3.0)
        skin = np.median(lin[border], axis=0)
        self.skin_lin = skin
        # fade the mask's rim into that colour (keeping the photo's fine detail)
        fade = (smoothstep(2.0, 0.3, d) * (1 - hairm))[..., None]
        detail = lin / np.maximum(blur(lin, 3), 1e-4)
        lin = lin * (1 - fade) + np.clip(skin * detail, 0, 1) * fade
        tex[y0:y1, x0:x1] = linear_to_srgb(lin)
        self._scalp(tex, r["scalp"], hair_lin, skin, rng)
        self._eye(tex, r["eye"], rng)
        self._mouth(tex, r["mouth"], skin)
        self.base = np.clip(tex, 0, 1)
        self.S = self._shading()

    def _scalp(self, tex, reg, hair, skin, rng):
        idn = self.P.idn
        y0, y1, x0, x1 = reg
        rest = self.rest[y0:y1, x0:x1]
        h, w = rest.shape[:2]
        phi = np.arctan2(rest[..., 0], rest[..., 2] + 4.5)          # 0 ahead, +-pi behind
        side, back = idn["hair_low"]
        a = np.abs(phi)
        line = np.where(a < 1.2, 7.5 + (side - 7.5) * smoothstep(0.7, 1.2, a),
                        side + (back - side) * smoothstep(1.6, 2.6, a))
        y = rest[..., 1]
        hair_m = smoothstep(line - 0.4, line + 0.4, y)
        strands = value_noise((h, w), (6, 90), rng) * 0.6 + value_noise((h, w), (20, 200), rng) * 0.4
        hair_c = hair[None, None] * (0.8 + 0.45 * strands[..., None])
        sk = skin[None, None] * (1 + 0.05 * value_noise((h, w), (8, 40), rng)[..., None])
        shadow = 1 - 0.35 * smoothstep(-8.0, -11.0, y) * smoothstep(-1.5, 1.5, np.cos(phi) * 3)
        sk = sk * shadow[..., None]
        tex[y0:y1, x0:x1] = linear_to_srgb(hair_c * hair_m[..., None] + sk * (1 - hair_m[..., None]))

    def _eye(self, tex, reg, rng):
        y0, y1, x0, x1 = reg
        h, w = y1 - y0, x1 - x0
        yy, xx = np.meshgrid((np.arange(h) + 0.5) / h - 0.5, (np.arange(w) + 0.5) / w - 0.5, indexing="ij")
        rr = np.sqrt(xx ** 2 + yy ** 2) * 2 * math.pi   # = angle from the front (see the eyeball uvs)
        ang = np.arctan2(yy, xx)
        iris = srgb_to_linear(np.array(self.P.idn["iris"]))
        streak = 0.75 + 0.35 * np.sin(ang * 37 + 3 * value_noise((h, w), (4, 4), rng))
        sclera = np.array([0.80, 0.74, 0.70]) * (1 - 0.25 * smoothstep(0.7, 1.6, rr))[..., None]
        col = np.where((rr < 0.52)[..., None], iris * streak[..., None] * (1.3 - 0.6 * rr / 0.52)[..., None], sclera)
        col = np.where((rr < 0.22)[..., None], np.array([0.01, 0.01, 0.01]), col)
        limb = np.exp(-((rr - 0.52) / 0.04) ** 2)
        col *= (1 - 0.6 * limb)[..., None]
        glint = np.exp(-(((xx - 0.025) ** 2 + (yy + 0.03) ** 2) / 0.0004))
        col = col + glint[..., None] * 0.8
        rim = smoothstep(2.2, 2.9, rr)
        col = col * (1 - rim[..., None]) + rim[..., None] * np.array([0.25, 0.08, 0.07])
        tex[y0:y1, x0:x1] = linear_to_srgb(col)

    def _mouth(self, tex, reg, skin):
        y0, y1, x0, x1 = reg
        h, w = y1 - y0, x1 - x0
        v = (np.arange(h) + 0.5)[:, None] / h * np.ones((1, w))
        u = (np.arange(w) + 0.5)[None, :] / w * np.ones((h, 1))
        lip = np.array([0.30, 0.08, 0.08])
        teeth = np.array([0.75, 0.70, 0.60]) * (0.85 + 0.15 * (np.cos(u * 2 * math.pi * 10) > -0.6))[..., None]
        deep = np.array([0.10, 0.02, 0.02]) * (1 - 0.8 * smoothstep(0.3, 1.0, v))[..., None]
        lower = (u > 0.5)
        tongue = np.array([0.35, 0.10, 0.10])
        col = np.where((v < 0.04)[..., None], lip, np.where(((v >= 0.04) & (v < 0.2))[..., None], teeth, deep))
        col = np.where((lower & (v > 0.3) & (v < 0.55))[..., None], tongue * (1 - 0.5 * v)[..., None], col)
        tex[y0:y1, x0:x1] = linear_to_srgb(col)

    def _shading(self):
        """S_k: baked front-top lighting change caused by D_k, plus creases."""
        P, T = self.P, self.P.T
        tris = P.tri_vertex
        n0 = vertex_normals(P.pos, tris)
        sh0 = 0.35 + 0.65 * np.clip(n0 @ LIGHT, 0, 1)
        S = np.zeros((K, T, T))
        for k in range(K):
            e = np.zeros(K)
            e[k] = 1.0
            nk = vertex_normals(P.mesh(e), tris)
            ratio = (0.35 + 0.65 * np.clip(nk @ LIGHT, 0, 1)) / sh0 - 1.0
            m, _ = raster_uv(P.uv, P.tri_uv, tris, ratio[:, None], T)
            S[k] = np.clip(m[..., 0], -0.4, 0.4)
        rest = self.rest.reshape(-1, 3)
        facem = np.zeros((T, T), dtype=bool)
        y0, y1, x0, x1 = region_pixels(R_FACE, T)
        facem[y0:y1, x0:x1] = True
        facem = facem.reshape(-1)
        pos = P.pos

        def crease(d, width, depth):
            return (-depth * np.exp(-(d / width) ** 2)) * facem

        # smiles: nasolabial folds
        for k, wing, corner, sgn in ((1, 358, 291, 1), (2, 129, 61, -1)):
            d = seg_dist(rest, pos[wing] + [0.35 * sgn, 0.0, -0.2], pos[corner] + [0.55 * sgn, -1.0, -0.4])
            S[k] += crease(d, 0.2, 0.22).reshape(T, T)
        # brow raises: forehead lines on the raised side
        for k, brow, sgn in ((5, 334, 1), (6, 105, -1)):
            by = pos[brow, 1]
            yrel = rest[:, 1] - by
            band = smoothstep(0.8, 1.3, yrel) * smoothstep(4.2, 3.4, yrel) * \
                smoothstep(-0.5, 1.0, rest[:, 0] * sgn) * smoothstep(7.5, 5.0, np.abs(rest[:, 0]))
            lines = np.clip(np.sin(2 * math.pi * yrel / 0.8), 0, 1) ** 6
            S[k] -= (0.2 * band * lines * facem).reshape(T, T)
        # blinks: lid fold and lash line on the closed lid
        for k, upper in ((3, EYE_L_UPPER), (4, EYE_R_UPPER)):
            cont = pos[upper]
            d = np.min([seg_dist(rest, cont[i], cont[i + 1]) for i in range(len(cont) - 1)], axis=0)
            S[k] -= (0.25 * np.exp(-(d / 0.12) ** 2) * facem).reshape(T, T)
        # furrow: vertical lines between the brows
        for sgn in (1, -1):
            a = np.array([0.45 * sgn, pos[107, 1] - 0.3, pos[107, 2] + 0.2])
            S[7] += crease(seg_dist(rest, a, a + [0.1 * sgn, 1.4, 0]), 0.12, 0.25).reshape(T, T)
        # pucker: fine radial lines round the lips
        mc = 0.5 * (pos[13] + pos[14])
        rel = rest - mc
        rad = np.sqrt((rel[:, 0] / 1.3) ** 2 + (rel[:, 1] / 0.8) ** 2)
        ring = smoothstep(0.9, 1.3, rad) * smoothstep(2.6, 1.8, rad)
        lines = np.clip(np.sin(np.arctan2(rel[:, 1], rel[:, 0]) * 24), 0, 1) ** 4
        S[8] -= (0.15 * ring * lines * facem).reshape(T, T)
        return S

    def texture(self, e):
        """Expression e [K] -> texture [T, T, 3] (sRGB 0..1)."""
        f = 1.0 + np.tensordot(np.asarray(e, dtype=np.float64), self.S, axes=1)
        return np.clip(self.base * f[..., None], 0, 1)
