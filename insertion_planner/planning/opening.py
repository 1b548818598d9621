"""The craniectomy opening: the one distance-to-bone rule of planning and simulation.

An :class:`Opening` answers one question, at any (x, y) in micrometres (Grid frame): how
far is the bone edge, signed (positive inside the opening, negative over bone)? The
planner's head keep-out (:func:`~insertion_planner.planning.scene.head_slack_um`) and the
robot simulator's skull collision (:mod:`insertion_planner.robot.collision`) both ask
:meth:`Opening.edge_distance_um`, so the two cannot disagree about where the bone is.

Two shapes:

- a **mask** (the real opening, any shape): the distance comes from the exact Euclidean
  distance transform (Maurer et al., IEEE TPAMI 2003, doi:10.1109/TPAMI.2003.1177156, as
  ``scipy.ndimage.distance_transform_edt``) of the bone's edge pixels. At a pixel centre
  inside the opening it is the distance to the nearest bone pixel centre minus half a
  pixel (the edge lies half a pixel before that centre); between centres it is the
  largest ``f(c) - |p - c|`` over the four surrounding centres ``c`` (the distance is
  1-Lipschitz, so this never overstates it). Everything beyond the image counts as bone:
  a mask says nothing of what lies outside the frame, and the modelled opening must never
  be larger than the real one.
- a **circle** (centre, radius): exact. Used for the default opening around an image
  given without a mask, and for plan files written before masks were stored
  (``schema_version`` 1.0).

The skull rim is a wall over the bone, its top at the scene's ``rim_z_um``;
:meth:`Opening.wall_distance_um` gives the 3-D distance of points to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from .._arrays import readonly
from .._validation import check_bool_mask, check_positive

__all__ = ["Opening", "opening_from_geometry", "plan_opening"]


@dataclass(frozen=True, eq=False)
class Opening:
    """A craniectomy opening: a pixel mask of the real opening, or a circle.

    Build one with :meth:`from_mask` or :meth:`circle`.

    Attributes
    ----------
    center_um : (x, y)
        Centre of the smallest disc about the opening's centroid holding it (the circle's
        own centre for a circle); where the implant is laid out from, never a safety test.
    radius_um : float
        Radius of that disc (the circle's radius), micrometres.
    mask : (H, W) bool or None
        The opening's pixels (read-only); None for a circle.
    pixel_size_um : float
        Pixel size of ``mask`` (for a circle: that of the image it belongs to).

    Examples
    --------
    >>> m = np.zeros((40, 60), bool); m[10:30, 10:50] = True   # 20 x 40 px at 10 um
    >>> op = Opening.from_mask(m, pixel_size_um=10.0)
    >>> op.edge_distance_um([[290.0, 190.0], [290.0, 100.0], [0.0, 0.0]]).round(1).tolist()
    [95.0, 5.0, -139.5]
    >>> Opening.circle((0.0, 0.0), 1000.0).edge_distance_um([[600.0, 0.0]]).tolist()
    [400.0]
    """

    center_um: tuple[float, float]
    radius_um: float
    mask: NDArray[np.bool_] | None = field(default=None, repr=False)
    pixel_size_um: float = 1.0

    @classmethod
    def from_mask(cls, mask: ArrayLike, *, pixel_size_um: float) -> Opening:
        """The opening marked by ``mask`` (True: exposed brain).

        Parameters
        ----------
        mask : (H, W) bool
            Pixels inside the opening; at least one.
        pixel_size_um : float
            Side of a pixel, micrometres.

        Returns
        -------
        Opening

        Raises
        ------
        ValueError
            ``mask`` is not a 2-D bool array, or is empty; ``pixel_size_um`` not positive.

        Examples
        --------
        >>> op = Opening.from_mask(np.ones((3, 3), bool), pixel_size_um=12.0)
        >>> op.center_um, round(op.radius_um, 2)
        ((12.0, 12.0), 22.97)
        """
        px = check_positive(pixel_size_um, name="pixel_size_um")
        m = np.asarray(mask)
        if m.ndim != 2:
            raise ValueError(f"craniectomy must be an (H, W) bool mask, got shape {m.shape}")
        m = check_bool_mask(m, name="craniectomy", shape=m.shape)
        if not m.any():
            raise ValueError("craniectomy must mark at least one pixel, got an empty mask")
        rr, cc = np.nonzero(m)
        cx, cy = float(cc.mean() * px), float(rr.mean() * px)
        radius = float(np.hypot(cc * px - cx, rr * px - cy).max()) + px / 2
        return cls((cx, cy), radius, readonly(np.array(m, bool)), px)

    @classmethod
    def circle(
        cls, center_um: ArrayLike, radius_um: float, *, pixel_size_um: float = 1.0
    ) -> Opening:
        """A round opening of ``radius_um`` about ``center_um`` (x, y).

        Examples
        --------
        >>> Opening.circle((5.0, 5.0), 100.0).radius_um
        100.0
        """
        c = np.asarray(center_um, dtype=np.float64).reshape(-1)[:2]
        if len(c) != 2 or not np.isfinite(c).all():
            raise ValueError(f"center_um must be two finite numbers (x, y), got {center_um!r}")
        r = check_positive(radius_um, name="radius_um", allow_zero=True)
        px = check_positive(pixel_size_um, name="pixel_size_um")
        return cls((float(c[0]), float(c[1])), r, None, px)

    @property
    def is_circle(self) -> bool:
        return self.mask is None

    @cached_property
    def _field_um(self) -> NDArray[np.float32]:
        """Signed distance at the pixel centres, padded by one bone pixel all round, (H+2, W+2)."""
        assert self.mask is not None
        px = self.pixel_size_um
        inside = np.pad(self.mask, 1)  # beyond the image: bone
        # the bone pixels touching the opening: the nearest bone pixel of any point inside
        # is one of them (a bone pixel with no open neighbour has a bone neighbour nearer)
        edge = ~inside & ndimage.binary_dilation(inside)
        d = ndimage.distance_transform_edt(~edge).astype(np.float32)
        out = np.where(inside, d * np.float32(px) - np.float32(px / 2),
                       -(d * np.float32(px) + np.float32(px / 2)))  # fmt: skip
        return readonly(out.astype(np.float32))

    def edge_distance_um(self, xy_um: ArrayLike) -> NDArray[np.float64]:
        """Signed horizontal distance (n,) from points to the bone edge, micrometres.

        Positive inside the opening, negative over bone. For a mask, a lower bound inside
        the opening (exact at pixel centres, edge half a pixel before the bone pixel
        centre); over bone it is only known to be negative (its size is the depth to
        within a pixel).

        Parameters
        ----------
        xy_um : (n, 2) float
            Points (x, y) in micrometres (a z column is ignored).

        Returns
        -------
        (n,) float

        Examples
        --------
        >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
        >>> Opening.from_mask(m, pixel_size_um=10.0).edge_distance_um([[20.0, 20.0]]).tolist()
        [15.0]
        """
        pts = np.atleast_2d(np.asarray(xy_um, dtype=np.float64))[:, :2]
        if self.mask is None:
            out: NDArray[np.float64] = self.radius_um - np.hypot(
                pts[:, 0] - self.center_um[0], pts[:, 1] - self.center_um[1]
            )
            return out
        f = self._field_um
        px = self.pixel_size_um
        h, w = f.shape
        # fractional position in the padded grid: pixel (0, 0) of the image is (1, 1)
        col = pts[:, 0] / px + 1.0
        row = pts[:, 1] / px + 1.0
        best = np.full(len(pts), -np.inf)
        r0 = np.floor(np.where(np.isfinite(row), row, 0.0))
        c0 = np.floor(np.where(np.isfinite(col), col, 0.0))
        for dr in (0.0, 1.0):
            for dc in (0.0, 1.0):
                r = np.clip(r0 + dr, 0, h - 1)
                c = np.clip(c0 + dc, 0, w - 1)
                gap = np.hypot(row - r, col - c) * px
                val = f[r.astype(np.intp), c.astype(np.intp)].astype(np.float64) - gap
                best = np.maximum(best, val)
        return np.where(np.isfinite(pts).all(axis=1), best, -np.inf)

    def wall_distance_um(
        self, points_um: ArrayLike, *, top_z_um: float, bottom_z_um: float = -math.inf
    ) -> NDArray[np.float64]:
        """Signed 3-D distance (n,) from points to the skull rim, micrometres.

        The rim is the bone (everywhere outside the opening) between ``bottom_z_um`` and
        ``top_z_um``: for a point whose horizontal distance to the bone edge is ``h``
        (:meth:`edge_distance_um`) and whose height is ``dz`` beyond the rim's heights,
        the distance is ``hypot(max(h, 0), dz)``, and ``h`` (negative) inside the wall.

        Parameters
        ----------
        points_um : (n, 3) float
        top_z_um, bottom_z_um : float
            Heights of the rim's top and bottom.

        Returns
        -------
        (n,) float
            Negative inside the rim.

        Examples
        --------
        >>> op = Opening.circle((0.0, 0.0), 1000.0)
        >>> op.wall_distance_um([[700.0, 0, 0], [700.0, 0, 400], [1100.0, 0, 0]], top_z_um=0.0).tolist()
        [300.0, 500.0, -100.0]
        """
        p = np.asarray(points_um, dtype=np.float64).reshape(-1, 3)
        h = self.edge_distance_um(p[:, :2])
        dz = np.maximum(np.maximum(p[:, 2] - float(top_z_um), float(bottom_z_um) - p[:, 2]), 0.0)
        out: NDArray[np.float64] = np.where(dz > 0, np.hypot(np.maximum(h, 0.0), dz), h)
        return out

    def to_geometry(self) -> dict[str, Any]:
        """What a plan file stores: centre, radius and (for a mask) the mask itself."""
        return {"center_um": self.center_um, "radius_um": self.radius_um, "mask": self.mask}


def opening_from_geometry(geometry: Any, pixel_size_um: float) -> Opening:
    """The opening a plan's geometry describes: its stored mask, else its circle.

    Parameters
    ----------
    geometry : PlanGeometry
        With ``craniectomy_center_um``, ``craniectomy_radius_um`` and
        ``craniectomy_mask`` ((H, W) bool or None: plans written before masks were
        stored hold a circle).
    pixel_size_um : float
        The plan's pixel size.

    Returns
    -------
    Opening

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> p = _example_plan()
    >>> op = opening_from_geometry(p.geometry, p.pixel_size_um)
    >>> op.is_circle, op.radius_um
    (True, 12500.0)
    """
    mask = getattr(geometry, "craniectomy_mask", None)
    if mask is not None:
        op = Opening.from_mask(mask, pixel_size_um=pixel_size_um)
        # the stored centre and radius lay out the implant; keep them as written
        return Opening(tuple(geometry.craniectomy_center_um), float(geometry.craniectomy_radius_um),
                       op.mask, op.pixel_size_um)  # fmt: skip
    return Opening.circle(geometry.craniectomy_center_um, geometry.craniectomy_radius_um,
                          pixel_size_um=pixel_size_um)  # fmt: skip


def plan_opening(plan: Any) -> Opening:
    """The opening of a plan: its in-memory scene's (distances already computed), else
    the one its geometry describes (:func:`opening_from_geometry`).

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> plan_opening(_example_plan()).center_um
    (1200.0, 1200.0)
    """
    g = plan.geometry
    mine = getattr(getattr(plan, "scene", None), "opening", None)
    stored = getattr(g, "craniectomy_mask", None)
    if isinstance(mine, Opening) and stored is not None and mine.mask is stored:
        return mine
    return opening_from_geometry(g, float(plan.pixel_size_um))
