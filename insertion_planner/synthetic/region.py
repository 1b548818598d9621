"""The default target region: a surgeon's lasso around a functional hot spot."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from skimage.draw import polygon as draw_polygon

__all__ = ["target_region"]


def target_region(
    craniectomy: NDArray[np.bool_],
    center_rc: tuple[float, float],
    radius_um: float,
    pixel_size_um: float,
    rng: np.random.Generator,
    *,
    n_vertices: int = 32,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float32]]:
    """A lobed lasso polygon over a functional hot spot (like the hand knob of M1).

    The lasso is about 6 mm across in a 25 mm opening (``0.24 *`` the opening's diameter
    in smaller fields), lies inside the opening, and carries a Gaussian weight map that
    peaks at the hot spot.

    Parameters
    ----------
    craniectomy : (H, W) bool
    center_rc : (float, float)
        Centre of the opening (row, col), pixels.
    radius_um : float
        Radius of the opening, micrometres.
    pixel_size_um : float
    rng : numpy.random.Generator

    Returns
    -------
    polygon_rc : (n, 2) float
        Lasso vertices (row, col), pixels.
    region : (H, W) bool
        Pixels inside the lasso and the opening.
    functional_weight : (H, W) float32
        In [0, 1], 1 at the hot spot, 0 outside the region.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.synthetic.surface import craniectomy_disk
    >>> disk, c, r = craniectomy_disk((128, 128), 50.0)
    >>> poly, reg, wgt = target_region(disk, c, r, 50.0, np.random.default_rng(0))
    >>> bool(reg.any()), bool((reg <= disk).all()), float(wgt.max())
    (True, True, 1.0)
    """
    shape = craniectomy.shape
    r_px = radius_um / pixel_size_um
    lasso_px = min(3000.0, 0.24 * radius_um) / pixel_size_um
    rho = r_px * rng.uniform(0.0, 0.35)
    phi = rng.uniform(0.0, 2.0 * np.pi)
    cr, cc = center_rc[0] + rho * np.sin(phi), center_rc[1] + rho * np.cos(phi)
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    p1, p2 = rng.uniform(0.0, 2.0 * np.pi, 2)
    wobble = (
        1.0
        + 0.14 * np.sin(2 * theta + p1)
        + 0.07 * np.sin(3 * theta + p2)
        + 0.02 * rng.standard_normal(n_vertices)
    )
    rows = cr + lasso_px * wobble * np.sin(theta)
    cols = cc + lasso_px * wobble * np.cos(theta)
    # pull any vertex outside the opening back inside it
    dr, dc = rows - center_rc[0], cols - center_rc[1]
    dist = np.hypot(dr, dc)
    k = np.minimum(1.0, 0.97 * r_px / np.maximum(dist, 1e-9))
    rows, cols = center_rc[0] + dr * k, center_rc[1] + dc * k
    polygon_rc = np.stack([rows, cols], axis=1)
    region = np.zeros(shape, bool)
    pr, pc = draw_polygon(rows, cols, shape=shape)
    region[pr, pc] = True
    region &= craniectomy
    # hot spot: offset from the lasso centre, Gaussian fall-off
    hr = cr + 0.25 * lasso_px * rng.uniform(-1, 1)
    hc = cc + 0.25 * lasso_px * rng.uniform(-1, 1)
    sigma = 0.55 * lasso_px
    yy = ((np.arange(shape[0], dtype=np.float32) - np.float32(hr)) / np.float32(sigma)) ** 2
    xx = ((np.arange(shape[1], dtype=np.float32) - np.float32(hc)) / np.float32(sigma)) ** 2
    weight = np.exp(-0.5 * (yy[:, None] + xx[None, :])).astype(np.float32)
    weight *= region
    peak = float(weight.max())
    if peak > 0:
        weight /= np.float32(peak)
    return polygon_rc, region, weight
