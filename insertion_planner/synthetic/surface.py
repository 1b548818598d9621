"""The cortical surface under the camera: gyri, sulci and the round craniectomy.

The surface height is a smooth random field built from a few plane waves (wavelengths
of 6-14 mm, like gyri) plus narrow sulcal grooves along one of its level lines, giving
about a millimetre of relief with gentle slopes. The cortical thickness under it
(:func:`cortex_thickness`) follows the height: thicker on the crowns, thinner in the
grooves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "surface_height",
    "craniectomy_disk",
    "cortex_thickness",
    "CRANIECTOMY_DIAMETER_UM",
    "CORTEX_THICKNESS_MID_UM",
    "CORTEX_THICKNESS_PER_HEIGHT",
    "CORTEX_THICKNESS_RANGE_UM",
]

CRANIECTOMY_DIAMETER_UM = 25000.0
"""Nominal craniectomy diameter (N1 surgery, ~25 mm)."""

CORTEX_THICKNESS_MID_UM = 3500.0
"""Cortical thickness where the surface is at its mean height. Human cortex is 1-4.5 mm
thick, 2.5 mm on average; gyri average 2.7 +/- 0.3 mm and sulci 2.2 +/- 0.3 mm, and the
motor cortex on the anterior bank of the central sulcus (Brodmann area 4, around the
hand-knob target) frequently exceeds 4 mm (Fischl & Dale 2000, PNAS 97:11050,
doi:10.1073/pnas.200033797). 3.5 mm at mid height is an assumption for a motor-cortex
view, where the N1 target depth of 3-4 mm keeps all 16 electrodes in cortex (DESIGN.md 3)."""
CORTEX_THICKNESS_PER_HEIGHT = 2.0
"""Micrometres of thickness per micrometre of surface height above the mean (an
assumption): the ~1 mm of synthetic relief then spans ~2.8 mm at the sulcal grooves to
the 4.5 mm cap on the highest crowns, crowns thicker than fundi as Fischl & Dale 2000
found."""
CORTEX_THICKNESS_RANGE_UM = (1500.0, 4500.0)
"""Clip of the thickness map, micrometres: the human range (Fischl & Dale 2000)."""


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


def cortex_thickness(surface_z_um: NDArray[np.float32]) -> NDArray[np.float32]:
    """Cortical thickness (um) under every pixel of a synthetic surface: crowns thicker.

    ``T = clip(CORTEX_THICKNESS_MID_UM + CORTEX_THICKNESS_PER_HEIGHT * (z - mean z),
    *CORTEX_THICKNESS_RANGE_UM)``: 3.5 mm at the mean height, 2 um thicker per um higher,
    within the human 1.5-4.5 mm (Fischl & Dale 2000, PNAS 97:11050,
    doi:10.1073/pnas.200033797: gyri 2.7 mm, sulci 2.2 mm on average, motor cortex often
    over 4 mm). Deterministic: it draws no random numbers.

    Parameters
    ----------
    surface_z_um : (H, W) float
        Pial height, micrometres (z up), e.g. from :func:`surface_height`.

    Returns
    -------
    (H, W) float32
        Thickness of the grey matter below the pia, micrometres.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[-1200.0, -300.0, 0.0, 300.0, 1200.0]], np.float32)  # mean 0
    >>> cortex_thickness(z).tolist()
    [[1500.0, 2900.0, 3500.0, 4100.0, 4500.0]]
    """
    z = np.asarray(surface_z_um, dtype=np.float64)
    t = CORTEX_THICKNESS_MID_UM + CORTEX_THICKNESS_PER_HEIGHT * (z - z.mean())
    return np.clip(t, *CORTEX_THICKNESS_RANGE_UM).astype(np.float32)


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
