"""The one place converting pixels (row, col) to physical points (x, y, z) in micrometres.

Frame: x along image columns, y along image rows, origin at the centre of pixel (0, 0),
z up (out of the brain). A needle's ``direction`` is the unit axis pointing into tissue,
so a vertical insertion has direction (0, 0, -1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from ._arrays import readonly as _readonly
from ._validation import check_positive

__all__ = ["Grid"]


@dataclass(frozen=True, eq=False)
class Grid:
    """Pixel grid of an image of the cortex, with the surface height under it.

    Parameters
    ----------
    shape : (int, int)
        Image shape (H, W).
    pixel_size_um : float
        Side of a square pixel, micrometres.
    surface_z_um : (H, W) float32 array or None
        Height of the cortical surface (pia) at each pixel, micrometres, z up.
        None means a flat surface at z = 0 (what a single camera image gives).

    Examples
    --------
    >>> g = Grid((100, 200), pixel_size_um=12.0)
    >>> g.to_um([[10, 20]])
    array([[240., 120.,   0.]])
    >>> g.to_pixel([[240.0, 120.0, 0.0]])
    array([[10., 20.]])
    >>> g.extent_um
    (2400.0, 1200.0)
    """

    shape: tuple[int, int]
    pixel_size_um: float
    surface_z_um: NDArray[np.float32] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be two positive integers (H, W), got {self.shape}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(
            self, "pixel_size_um", check_positive(self.pixel_size_um, name="pixel_size_um")
        )
        if self.surface_z_um is not None:
            z = np.asarray(self.surface_z_um, dtype=np.float32)
            if z.shape != shape:
                raise ValueError(f"surface_z_um must have shape {shape}, got shape {z.shape}")
            if not np.isfinite(z).all():
                raise ValueError("surface_z_um holds NaN or infinite values")
            object.__setattr__(self, "surface_z_um", _readonly(z.copy()))

    @property
    def extent_um(self) -> tuple[float, float]:
        """Physical size (width along x, height along y) in micrometres."""
        return (self.shape[1] * self.pixel_size_um, self.shape[0] * self.pixel_size_um)

    def height_at(self, rc: ArrayLike) -> NDArray[np.float64]:
        """Surface height (um) at (n, 2) fractional pixel positions, bilinear; (n,) float."""
        pts = np.atleast_2d(np.asarray(rc, dtype=np.float64))
        if self.surface_z_um is None:
            return np.zeros(len(pts))
        return ndimage.map_coordinates(self.surface_z_um, pts.T, order=1, mode="nearest").astype(
            np.float64
        )

    def to_um(self, rc: ArrayLike, *, on_surface: bool = True) -> NDArray[np.float64]:
        """Convert (n, 2) pixel (row, col) positions to (n, 3) points (x, y, z) in um.

        With ``on_surface`` the z coordinate is the surface height there, else 0.
        """
        pts = np.atleast_2d(np.asarray(rc, dtype=np.float64))
        if pts.shape[1] != 2:
            raise ValueError(f"rc must have shape (n, 2), got shape {pts.shape}")
        out = np.empty((len(pts), 3))
        out[:, 0] = pts[:, 1] * self.pixel_size_um
        out[:, 1] = pts[:, 0] * self.pixel_size_um
        out[:, 2] = self.height_at(pts) if on_surface else 0.0
        return out

    def to_pixel(self, xyz: ArrayLike) -> NDArray[np.float64]:
        """Convert (n, 2) or (n, 3) points (x, y[, z]) in um to (n, 2) fractional (row, col)."""
        pts = np.atleast_2d(np.asarray(xyz, dtype=np.float64))
        if pts.shape[1] not in (2, 3):
            raise ValueError(f"xyz must have shape (n, 2) or (n, 3), got shape {pts.shape}")
        return np.stack([pts[:, 1], pts[:, 0]], axis=1) / self.pixel_size_um

    def normals(self, rc: ArrayLike) -> NDArray[np.float64]:
        """Unit outward surface normals (n, 3) at (n, 2) pixel positions (z up)."""
        pts = np.atleast_2d(np.asarray(rc, dtype=np.float64))
        out = np.zeros((len(pts), 3))
        out[:, 2] = 1.0
        if self.surface_z_um is None:
            return out
        gy, gx = self.surface_gradient()
        dzdx = ndimage.map_coordinates(gx, pts.T, order=1, mode="nearest")
        dzdy = ndimage.map_coordinates(gy, pts.T, order=1, mode="nearest")
        out[:, 0], out[:, 1] = -dzdx, -dzdy
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def surface_gradient(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(dz/dy, dz/dx) of the surface, dimensionless, each (H, W) float32, read-only.

        Computed once per grid (a 2048 x 2048 surface takes ~20 ms) and reused.
        """
        return self._gradient

    @cached_property
    def _gradient(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        if self.surface_z_um is None:
            zero = _readonly(np.zeros(self.shape, np.float32))
            return zero, zero
        # numpy's stub types the 2-D result as a 1-D array; it is a pair of (H, W) arrays.
        gy, gx = cast(
            "tuple[NDArray[np.floating], NDArray[np.floating]]",
            np.gradient(self.surface_z_um, self.pixel_size_um),
        )
        return _readonly(gy.astype(np.float32)), _readonly(gx.astype(np.float32))

    def slope_rad(self) -> NDArray[np.float32]:
        """Angle (rad) between the surface normal and vertical at every pixel, (H, W)."""
        gy, gx = self.surface_gradient()
        return np.arctan(np.hypot(gx, gy)).astype(np.float32)
