"""The cortical surface under the camera: gyri, sulci and the round craniectomy.

The surface height is a smooth random field built from a few plane waves (wavelengths
of 6-14 mm, like gyri) plus narrow sulcal grooves along one of its level lines, giving
about a millimetre of relief with gentle slopes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["surface_height", "craniectomy_disk", "CRANIECTOMY_DIAMETER_UM"]

CRANIECTOMY_DIAMETER_UM = 25000.0
"""Nominal craniectomy diameter (N1 surgery, ~25 mm)."""


def _waves(
    shape: tuple[int, int],
    pixel_size_um: float,
    rng: np.random.Generator,
    *,
    n_waves: int,
    wavelength_um: tuple[float, float],
) -> NDArray[np.float32]:
    """Sum of ``n_waves`` random plane waves on the pixel grid, unit variance, (H, W)."""
    h, w = shape
    y = (np.arange(h, dtype=np.float64) * pixel_size_um)[:, None]
    x = (np.arange(w, dtype=np.float64) * pixel_size_um)[None, :]
    out = np.zeros(shape, np.float32)
    for _ in range(n_waves):
        lam = rng.uniform(*wavelength_um)
        ang = rng.uniform(0.0, np.pi)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        k = 2.0 * np.pi / lam
        kx, ky = k * np.cos(ang), k * np.sin(ang)
        # cos(a + b) = cos a cos b - sin a sin b: two outer products instead of H*W cosines.
        ax = (kx * x + phase).astype(np.float32)
        by = (ky * y).astype(np.float32)
        out += np.cos(by) * np.cos(ax) - np.sin(by) * np.sin(ax)
    out /= np.float32(np.sqrt(n_waves / 2.0))
    return out


def surface_height(
    shape: tuple[int, int],
    pixel_size_um: float,
    rng: np.random.Generator,
    *,
    relief_um: float = 700.0,
) -> NDArray[np.float32]:
    """Height (um, z up) of the pia at every pixel: gyri and sulci.

    Parameters
    ----------
    shape : (int, int)
        Image shape (H, W).
    pixel_size_um : float
        Pixel side, micrometres.
    rng : numpy.random.Generator
    relief_um : float
        Approximate peak-to-peak relief (crown of a gyrus to the lip of a sulcus).

    Returns
    -------
    (H, W) float32
        Surface height in micrometres, mean about 0.

    Examples
    --------
    >>> import numpy as np
    >>> z = surface_height((64, 64), 100.0, np.random.default_rng(0))
    >>> z.shape, z.dtype, bool(0 < np.ptp(z) < 2000)
    ((64, 64), dtype('float32'), True)
    """
    s = _waves(shape, pixel_size_um, rng, n_waves=6, wavelength_um=(7000.0, 15000.0))
    level = np.float32(rng.uniform(-0.4, 0.4))
    width = np.float32(0.8)
    groove = np.exp(-(((s - level) / width) ** 2))
    z = np.float32(0.3 * relief_um) * s - np.float32(0.5 * relief_um) * groove
    z -= z.mean(dtype=np.float64)
    return z.astype(np.float32)


def craniectomy_disk(
    shape: tuple[int, int], pixel_size_um: float
) -> tuple[NDArray[np.bool_], tuple[float, float], float]:
    """The round craniectomy, centred in the image.

    Its diameter is ``min(25 mm, 0.95 * the shorter side of the field)``, so a small image
    shows a correspondingly smaller opening.

    Returns
    -------
    mask : (H, W) bool
        Pixels whose centre lies inside the opening.
    center_rc : (float, float)
        Centre (row, col), pixels.
    radius_um : float
        Radius of the opening, micrometres.

    Examples
    --------
    >>> m, c, r = craniectomy_disk((100, 100), 12.0)
    >>> c, round(r, 1), bool(m[50, 50]), bool(m[0, 0])
    ((49.5, 49.5), 570.0, True, False)
    """
    h, w = shape
    field_um = min(h, w) * pixel_size_um
    radius_um = 0.5 * min(CRANIECTOMY_DIAMETER_UM, 0.95 * field_um)
    center = ((h - 1) / 2.0, (w - 1) / 2.0)
    rr = (np.arange(h, dtype=np.float32) - np.float32(center[0]))[:, None]
    cc = (np.arange(w, dtype=np.float32) - np.float32(center[1]))[None, :]
    rpx = np.float32(radius_um / pixel_size_um)
    mask = rr * rr + cc * cc <= rpx * rpx
    return mask, center, float(radius_um)
