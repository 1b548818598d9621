"""The cortical surface as a plan keeps it: one surface for planning, files and simulation.

A plan file stores the surface height on a grid of at most 128 x 128 samples
(:func:`coarse_surface`); planning works on that same surface, resampled to the image
(:func:`grid_as_saved`), so a plan loaded from its file sees the scene it was planned in
(the same normals, incidences and tether routes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from ..frames import Grid
from ..thread import _r

__all__ = ["coarse_surface", "surface_from_summary", "grid_as_saved", "MAX_SURFACE_SAMPLES"]

MAX_SURFACE_SAMPLES = 128
"""Samples per side of the surface a plan file keeps (the schema's limit)."""


def coarse_surface(grid: Grid, *, max_size: int = MAX_SURFACE_SAMPLES) -> dict[str, Any] | None:
    """The surface height on a grid of at most ``max_size`` x ``max_size`` samples, or None if flat.

    Heights are rounded as a plan file keeps them (1e-6 um).

    Examples
    --------
    >>> g = Grid((300, 300), 10.0, np.add.outer(np.arange(300.0), np.zeros(300)))
    >>> s = coarse_surface(g)
    >>> s["step_um"], len(s["z_um"]), s["z_um"][1][0]
    (30.0, 100, 3.0)
    """
    if grid.surface_z_um is None:
        return None
    h, w = grid.shape
    step = max(1, math.ceil(max(h, w) / max_size))
    z = np.asarray(grid.surface_z_um)[::step, ::step][:max_size, :max_size]
    return {
        "origin_um": [0.0, 0.0],
        "step_um": _r(step * grid.pixel_size_um),
        "z_um": [[_r(v) for v in row] for row in z.astype(float).tolist()],
    }


def surface_from_summary(
    surface: dict[str, Any], shape: tuple[int, int], pixel_size_um: float
) -> NDArray[np.float32]:
    """The (H, W) surface height (um, float32) of a stored coarse surface, bilinear.

    Examples
    --------
    >>> s = {"origin_um": [0.0, 0.0], "step_um": 20.0, "z_um": [[0.0, 2.0], [0.0, 2.0]]}
    >>> surface_from_summary(s, (2, 3), 10.0)[0].tolist()
    [0.0, 1.0, 2.0]
    """
    z = np.asarray(surface["z_um"], float)
    step = float(surface["step_um"])
    ox, oy = (float(v) for v in surface.get("origin_um", (0.0, 0.0)))
    h, w = shape
    rr, cc = np.mgrid[:h, :w].astype(float) * pixel_size_um
    rr, cc = (rr - oy) / step, (cc - ox) / step
    out: NDArray[np.float32] = ndimage.map_coordinates(z, [rr, cc], order=1, mode="nearest").astype(
        np.float32
    )
    return out


def grid_as_saved(grid: Grid) -> Grid:
    """``grid`` with the surface a plan file keeps of it (itself when flat or already coarse).

    Examples
    --------
    >>> g = Grid((300, 300), 10.0, np.random.default_rng(0).normal(0, 50, (300, 300)))
    >>> s = grid_as_saved(g)
    >>> bool(np.array_equal(grid_as_saved(s).surface_z_um, s.surface_z_um))
    True
    """
    summary = coarse_surface(grid)
    if summary is None:
        return grid
    z = surface_from_summary(summary, grid.shape, grid.pixel_size_um)
    if grid.surface_z_um is not None and np.array_equal(z, grid.surface_z_um):
        return grid
    return Grid(grid.shape, grid.pixel_size_um, z)
