"""Vessel geometry for the independent renderer: pial and dural vessel trees, rasterised.

Vessels are grown as unit-step random walks whose curvature is an Ornstein-Uhlenbeck
process, and branch with Murray's law (C. D. Murray 1926, :doi:`10.1073/pnas.12.3.207`):
a parent of radius r giving a child of radius c continues with radius (r^3 - c^3)^(1/3).
Sizes follow human pial anatomy (conducting ~700 um, distributing ~200 um, precortical
~60 um, cortical 30-40 um in diameter; Neuropathology 2003), cut to 20-400 um here.
Written apart from ``insertion_planner.synthetic``; shares no code with it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

__all__ = ["MIN_RADIUS_UM", "Field", "Vessel", "dural_vessels", "pial_vessels", "stamp"]

MIN_RADIUS_UM = 10.0  # 20 um diameter: the thinnest vessel drawn


class Vessel(NamedTuple):
    """A centreline (row, col) px with its radius (px) and its rendering layer."""

    points: NDArray[np.float64]  # (n, 2) (row, col) px
    radius_px: NDArray[np.float64]  # (n,)
    layer: str  # "artery", "vein", "dural_artery" or "dural_vein"


class Field(NamedTuple):
    """Where vessels grow: the random stream, the image shape and the pixel size (um)."""

    rng: np.random.Generator
    shape: tuple[int, int]
    px_um: float


_Seed = tuple[NDArray[np.float64], float, float, float]  # start (row, col) px, heading, r um, L um


def _walk(
    rng: np.random.Generator,
    start: NDArray[np.float64],
    heading: float,
    n: int,
    kappa: float,
    corr_px: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit-step path whose curvature (rad/px) is an OU process of std ``kappa``."""
    a = math.exp(-1.0 / corr_px)
    curvature = signal.lfilter([kappa * math.sqrt(1 - a * a)], [1.0, -a], rng.standard_normal(n))
    theta = heading + np.concatenate([[0.0], np.cumsum(curvature)])
    steps = np.stack([np.sin(theta[:-1]), np.cos(theta[:-1])], axis=1)
    return start + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)]), theta


def _inside_length(points: NDArray[np.float64], shape: tuple[int, int], margin: float) -> int:
    """Number of leading points before the path first leaves the image (plus margin)."""
    limit = np.asarray(shape) - 1 + margin
    out = np.any((points < -margin) | (points > limit), axis=1)
    out[0] = False
    hits = np.flatnonzero(out)
    return int(hits[0]) + 1 if hits.size else len(points)


def _branch(f: Field, vessel: Vessel, theta: NDArray[np.float64]) -> list[_Seed]:
    """Place side branches along ``vessel``, thinning it by Murray's law; their seeds back."""
    r_um = vessel.radius_px * f.px_um
    children: list[_Seed] = []
    pos_um = 0.0
    while r_um[0] >= 1.8 * MIN_RADIUS_UM:
        pos_um += f.rng.exponential(8.0 * r_um[0] + 800.0)
        i = int(pos_um / f.px_um)
        if i >= len(r_um) - 2:
            break
        child = max(MIN_RADIUS_UM, r_um[i] * f.rng.uniform(0.15, 0.6))
        if child > 0.8 * r_um[i]:
            continue
        r_um[i:] *= np.cbrt(1.0 - (child / r_um[i]) ** 3)
        angle = theta[i] + f.rng.choice([-1.0, 1.0]) * f.rng.uniform(0.5, 1.4)
        length_um = child * f.rng.uniform(10.0, 30.0) + f.rng.uniform(500.0, 2000.0)
        children.append((vessel.points[i].copy(), float(angle), float(child), length_um))
    vessel.radius_px[:] = np.maximum(r_um, MIN_RADIUS_UM) / f.px_um
    return children


def _grow(
    f: Field, seeds: list[_Seed], out: list[Vessel], *, layer: str, tortuosity: float, budget: int
) -> None:
    """Grow vessel trees from ``seeds`` into ``out`` until it holds ``budget`` vessels."""
    stack = list(seeds)
    while stack and len(out) < budget:
        start, heading, r0, length_um = stack.pop()
        kappa = tortuosity * 0.001 / (1.0 + r0 / 50.0) * f.px_um  # rad/px
        n = max(3, int(length_um / f.px_um))
        corr_px = f.rng.uniform(150.0, 500.0) / f.px_um
        points, theta = _walk(f.rng, start, heading, n, kappa, corr_px)
        keep = _inside_length(points, f.shape, r0 / f.px_um + 3.0)
        if keep < 3:
            continue
        s = np.arange(keep) / n
        radius_um = r0 * (1.0 - f.rng.uniform(0.0, 0.25) * s)
        if keep == len(points):  # ends in the field: narrows as it dives into the cortex
            radius_um *= np.interp(s, [0.0, 0.6, 1.0], [1.0, 1.0, MIN_RADIUS_UM / r0])
        vessel = Vessel(points[:keep], np.maximum(radius_um, MIN_RADIUS_UM) / f.px_um, layer)
        stack.extend(_branch(f, vessel, theta[:keep]))
        out.append(vessel)


def _companion(
    f: Field, host: Vessel, radius_um: float, layer: str, side: float
) -> tuple[Vessel, NDArray[np.float64]] | None:
    """A vessel running beside ``host`` over part of its length, drifting across it at times."""
    n, rng = len(host.points), f.rng
    # Half the time it runs in from (or out to) the field's edge with its host.
    i0 = 0 if rng.random() < 0.5 else int(n * rng.uniform(0.0, 0.3))
    i1 = n if rng.random() < 0.5 else int(n * rng.uniform(0.7, 1.0))
    if i1 - i0 < 10:
        return None
    tangent = np.gradient(host.points[i0:i1], axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    r_px = radius_um / f.px_um
    gap = host.radius_px[i0:i1] + r_px + rng.uniform(0.5, 4.0)
    sigma = 720.0 / f.px_um  # the drift's correlation length, 720 um
    drift = ndimage.gaussian_filter1d(rng.standard_normal(i1 - i0), sigma, mode="wrap")
    drift *= 1.3 * math.sqrt(2.0 * sigma * math.sqrt(math.pi))  # std 1.3 gaps
    points = host.points[i0:i1] + normal * (gap * (side + drift))[:, None]
    s = np.linspace(0.0, 1.0, i1 - i0)
    thin = MIN_RADIUS_UM / radius_um  # rising from / diving into the cortex in the field
    ends = [1.0 if i0 == 0 else thin, 1.0, 1.0, 1.0 if i1 == n else thin]
    radius = r_px * np.interp(s, [0.0, 1.0], [1.0, rng.uniform(0.8, 1.0)])
    radius = np.maximum(
        radius * np.interp(s, [0.0, 0.15, 0.85, 1.0], ends), MIN_RADIUS_UM / f.px_um
    )
    return Vessel(points, radius, layer), np.arctan2(tangent[:, 0], tangent[:, 1])


def _border_seed(f: Field, radius_um: float) -> _Seed:
    """A trunk entering at the border, heading to the central part of the field."""
    h, w = f.shape
    t = f.rng.uniform(0.05, 0.95)
    starts = [(0.0, t * w), (h - 1.0, t * w), (t * h, 0.0), (t * h, w - 1.0)]
    start = np.array(starts[f.rng.integers(4)])
    d = np.array([f.rng.uniform(0.25, 0.75) * h, f.rng.uniform(0.25, 0.75) * w]) - start
    return start, float(math.atan2(d[0], d[1])), radius_um, 2.0 * math.hypot(h, w) * f.px_um


def pial_vessels(f: Field) -> list[Vessel]:
    """Veins (160-400 um trunks), arteries beside and across them, many long thin vessels."""
    rng = f.rng
    area_mm2 = f.shape[0] * f.shape[1] * f.px_um**2 / 1e6
    side_mm = math.sqrt(area_mm2)  # trunks cross the field: their count goes with its side
    budget = int(8 * area_mm2) + 20
    veins: list[Vessel] = []
    arteries: list[Vessel] = []
    cap = max(1, round(side_mm / 4.0))  # a field holds few large veins
    for k in range(min(max(1, rng.poisson(side_mm / 8.0)), cap)):
        seed = _border_seed(f, rng.uniform(110.0 if k == 0 else 80.0, 200.0))
        _grow(f, [seed], veins, layer="vein", tortuosity=0.8, budget=budget)
    for host in [v for v in veins if v.radius_px[0] * f.px_um >= 80.0]:
        pair = _companion(f, host, rng.uniform(35.0, 90.0), "artery", rng.choice([-1.0, 1.0]))
        if pair is not None and rng.random() < 0.7:
            arteries.append(pair[0])
            branches = _branch(f, *pair)
            _grow(f, branches, arteries, layer="artery", tortuosity=1.4, budget=budget)
    for _ in range(min(rng.poisson(side_mm / 6.0), cap)):
        seed = _border_seed(f, rng.uniform(40.0, 120.0))
        _grow(f, [seed], arteries, layer="artery", tortuosity=1.4, budget=budget)
    # Long thin vessels (20-40 um diameter): most leave a larger vessel, some come from below.
    for _ in range(rng.poisson(0.6 * area_mm2)):
        layer, pool = ("artery", arteries) if rng.random() < 0.5 else ("vein", veins)
        if pool and rng.random() < 0.6:
            host = pool[rng.integers(len(pool))]
            i = int(rng.integers(len(host.points)))
            d = host.points[min(i + 1, len(host.points) - 1)] - host.points[max(i - 1, 0)]
            start = host.points[i].copy()
            heading = math.atan2(d[0], d[1]) + rng.choice([-1, 1]) * rng.uniform(0.6, 1.5)
        else:
            start, heading = rng.uniform([0.0, 0.0], f.shape), rng.uniform(-math.pi, math.pi)
        seed = (start, heading, rng.uniform(MIN_RADIUS_UM, 20.0), rng.uniform(1000.0, 3000.0))
        _grow(f, [seed], pool, layer=layer, tortuosity=1.2, budget=budget)
    return veins + arteries


def dural_vessels(f: Field) -> list[Vessel]:
    """Meningeal arteries (50-160 um) each flanked by two veins, straighter than pial ones."""
    arteries: list[Vessel] = []
    veins: list[Vessel] = []
    for _ in range(f.rng.integers(1, 3)):
        first = len(arteries)
        seed = _border_seed(f, f.rng.uniform(25.0, 80.0))
        _grow(f, [seed], arteries, layer="dural_artery", tortuosity=0.7, budget=first + 5)
        for side in (-1.0, 1.0) if len(arteries) > first else ():
            pair = _companion(f, arteries[first], f.rng.uniform(15.0, 50.0), "dural_vein", side)
            veins.extend([pair[0]] if pair is not None else [])
    return arteries + veins


# One int64 per pixel: S + 512 in 2**-20 px (30 bits), then the radius in 1e-5 px (32 bits).
_S_OFFSET, _S_SCALE, _R_BITS, _R_SCALE = 512.0, float(2**20), 32, 1e5


def _resample(vessel: Vessel) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centreline samples close enough that the union of discs is a smooth tube."""
    seg = np.hypot(*np.diff(vessel.points, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    spacing = float(np.clip(0.5 * vessel.radius_px.min(), 0.4, 1.5))
    t = np.linspace(0.0, s[-1], max(2, int(math.ceil(s[-1] / spacing)) + 1))
    pts = np.stack([np.interp(t, s, vessel.points[:, 0]), np.interp(t, s, vessel.points[:, 1])], 1)
    return pts, np.interp(t, s, vessel.radius_px)


def stamp(
    vessels: list[Vessel], shape: tuple[int, int], pad_px: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inside-ness ``S = max_i (r_i - |p - c_i|)`` (px) and the radius (px) of the maximiser.

    ``S > 0`` exactly where a pixel centre lies inside the tube; ``-inf`` beyond ``pad_px``.
    """
    h, w = shape
    key = np.full(h * w, -1, dtype=np.int64)  # (S quantised) << _R_BITS | radius code
    if vessels:
        samples = [_resample(v) for v in vessels]
        centres = np.concatenate([c for c, _ in samples])
        radii = np.concatenate([r for _, r in samples])
        half = np.ceil(radii + pad_px).astype(np.int64)
        for hw in np.unique(half):
            off = np.arange(-hw, hw + 1)
            o_row, o_col = np.repeat(off, off.size), np.tile(off, off.size)
            sel = np.flatnonzero(half == hw)
            per = max(1, 3_000_000 // o_row.size)
            for k in range(0, sel.size, per):
                c, r = centres[sel[k : k + per]], radii[sel[k : k + per], None]
                base = np.rint(c).astype(np.int64)
                rows, cols = base[:, :1] + o_row, base[:, 1:] + o_col
                val = r - np.hypot(rows - c[:, :1], cols - c[:, 1:])
                ok = (val > -pad_px) & (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
                code = ((val[ok] + _S_OFFSET) * _S_SCALE).astype(np.int64) << _R_BITS
                code |= np.rint(np.broadcast_to(r, val.shape)[ok] * _R_SCALE).astype(np.int64)
                np.maximum.at(key, (rows * w + cols)[ok], code)
    present = key >= 0
    inside = np.where(present, (key >> _R_BITS) / _S_SCALE - _S_OFFSET, -np.inf)
    radius = np.where(present, (key & (2**_R_BITS - 1)) / _R_SCALE, 0.0)
    return inside.reshape(shape), radius.reshape(shape)
