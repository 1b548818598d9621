"""Candidate insertion sites.

Candidates lie on a hexagonal lattice over the allowed zone (target region, craniectomy,
vessel clearance); a lattice point on a forbidden pixel is nudged to the best allowed
pixel a third of a step away. Every candidate meets every per-site hard constraint of the
one validity checker (:mod:`~insertion_planner.planning.validity`, whose ``site_checks``,
``map_clearance`` and ``SITE_CONSTRAINTS`` this module re-exports); spacing between sites
is left to the optimiser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from .scene import Scene
from .validity import SITE_CONSTRAINTS, _map_allows, map_clearance, site_checks, site_shortfalls

__all__ = [
    "SITE_CONSTRAINTS",
    "Candidates",
    "site_checks",
    "map_clearance",
    "zone_mask",
    "make_candidates",
    "CLEARANCE_BONUS",
    "CLEARANCE_REF_UM",
]

CLEARANCE_BONUS = 0.5
"""Score bonus for clearance beyond the requirement, reached at ``CLEARANCE_REF_UM`` of slack."""
CLEARANCE_REF_UM = 100.0


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites, each satisfying every per-site hard constraint.

    Attributes
    ----------
    rc : (n, 2) int
        Pixel (row, col) of each candidate.
    xy_um : (n, 2) float
        The same points (x, y) in micrometres.
    clearance_um, required_um : (n,) float
        Achieved and required clearance (2-D and along the needle path, the smaller).
    weight : (n,) float
        Functional weight at the candidate, in [0, 1].
    score : (n,) float
        ``1 + weight + CLEARANCE_BONUS * min(slack / CLEARANCE_REF_UM, 1)``: one point per
        placed thread, plus coverage of the functional weight, plus clearance kept beyond
        the requirement.
    step_um : float
        Lattice step.
    zone_area_um2 : float
        Area of the pixels allowed by the per-site constraints checked on the pixel grid.
    """

    rc: NDArray[np.int64] = field(repr=False)
    xy_um: NDArray[np.float64] = field(repr=False)
    clearance_um: NDArray[np.float64] = field(repr=False)
    required_um: NDArray[np.float64] = field(repr=False)
    weight: NDArray[np.float64] = field(repr=False)
    score: NDArray[np.float64] = field(repr=False)
    step_um: float
    zone_area_um2: float

    def __len__(self) -> int:
        return len(self.rc)

    def subset(self, keep: NDArray[np.bool_]) -> Candidates:
        """The candidates where ``keep`` is True."""
        return Candidates(
            rc=_ro(self.rc[keep]),
            xy_um=_ro(self.xy_um[keep]),
            clearance_um=_ro(self.clearance_um[keep]),
            required_um=_ro(self.required_um[keep]),
            weight=_ro(self.weight[keep]),
            score=_ro(self.score[keep]),
            step_um=self.step_um,
            zone_area_um2=self.zone_area_um2,
        )


def _ro(a: NDArray[Any]) -> NDArray[Any]:
    return readonly(np.array(a))


def site_scores(weight: NDArray[np.float64], slack_um: NDArray[np.float64]) -> NDArray[np.float64]:
    """Score of sites with functional ``weight`` and clearance ``slack_um`` beyond required."""
    return 1.0 + weight + CLEARANCE_BONUS * np.clip(slack_um / CLEARANCE_REF_UM, 0.0, 1.0)


def zone_mask(avoidance: Any, region: NDArray[np.bool_], scene: Scene) -> NDArray[np.bool_]:
    """Pixels passing the region, craniectomy and 2-D vessel clearance constraints, (H, W)."""
    vessel = _map_allows(avoidance.allowed, avoidance.clearance_um, avoidance.required_um)
    out: NDArray[np.bool_] = region & scene.craniectomy & vessel
    return out


def _hex_lattice(
    shape: tuple[int, int], bbox: tuple[int, int, int, int], step_px: float
) -> NDArray[np.float64]:
    r0, r1, c0, c1 = bbox
    dr = step_px * math.sqrt(3) / 2
    rows = np.arange(r0, r1 + dr, dr)
    pts = []
    for k, row in enumerate(rows):
        off = (step_px / 2) * (k % 2)
        cols = np.arange(c0 + off, c1 + step_px, step_px)
        pts.append(np.column_stack([np.full(len(cols), row), cols]))
    out = np.concatenate(pts) if pts else np.zeros((0, 2))
    return out[(out[:, 0] <= shape[0] - 1) & (out[:, 1] <= shape[1] - 1)]


def make_candidates(
    avoidance: Any,
    region: NDArray[np.bool_],
    scene: Scene,
    *,
    min_spacing_um: float,
    weight: NDArray[np.floating[Any]] | None = None,
    max_candidates: int = 1500,
    exclude_xy_um: ArrayLike | None = None,
    exclude_radius_um: float = 0.0,
) -> Candidates:
    """Candidate sites on a hexagonal lattice over the allowed zone.

    Parameters
    ----------
    avoidance : AvoidanceMap or any object with ``clearance_um``, ``required_um``,
        ``allowed`` (H, W) arrays
    region : (H, W) bool
        Target region.
    scene : Scene
    min_spacing_um : float
        The lattice step is half of this (finer never helps a packing at this spacing),
        coarser when the zone would hold more than ``max_candidates``.
    weight : (H, W) float in [0, 1], optional
        Functional weight; default 1 everywhere.
    exclude_xy_um : (k, 2) float, optional
        Points (x, y) no candidate may lie within ``exclude_radius_um`` of (failed holes).

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner import Grid
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning.scene import make_scene
    >>> amap = avoidance_from_arrays(clearance_um=np.full((100, 100), 500.0), pixel_size_um=10.0)
    >>> scene = make_scene(Grid((100, 100), pixel_size_um=10.0))
    >>> cands = make_candidates(amap, np.ones((100, 100), bool), scene, min_spacing_um=250.0)
    >>> len(cands), cands.step_um
    (80, 125.0)
    """
    px = scene.grid.pixel_size_um
    zone = zone_mask(avoidance, region, scene)
    area = float(zone.sum()) * px * px
    empty = np.zeros(0)
    if not zone.any():
        return Candidates(_ro(np.zeros((0, 2), np.int64)), _ro(np.zeros((0, 2))), _ro(empty),
                          _ro(empty), _ro(empty), _ro(empty), step_um=min_spacing_um / 2,
                          zone_area_um2=0.0)  # fmt: skip
    step_um = max(min_spacing_um / 2.0, math.sqrt(area / (0.866 * max_candidates)), px)
    rows = np.flatnonzero(zone.any(axis=1))
    cols = np.flatnonzero(zone.any(axis=0))
    bbox = (int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))
    lattice = _hex_lattice(zone.shape, bbox, step_um / px)
    clear = np.asarray(avoidance.clearance_um)
    req = np.asarray(avoidance.required_um)
    slack_map = clear - req
    # nudge: the lattice point itself, else the best of six points a third of a step away
    ang = np.arange(6) * np.pi / 3
    offs = np.vstack([[0.0, 0.0], np.column_stack([np.sin(ang), np.cos(ang)]) * step_um / px / 3])
    trial = np.rint(lattice[:, None, :] + offs[None]).astype(np.int64)
    trial[..., 0] = np.clip(trial[..., 0], 0, zone.shape[0] - 1)
    trial[..., 1] = np.clip(trial[..., 1], 0, zone.shape[1] - 1)
    ok = zone[trial[..., 0], trial[..., 1]]
    val = np.where(ok, slack_map[trial[..., 0], trial[..., 1]], -np.inf)
    val[:, 0] = np.where(ok[:, 0], np.inf, -np.inf)
    best = val.argmax(axis=1)
    keep = ok[np.arange(len(trial)), best]
    rc = np.unique(trial[np.arange(len(trial)), best][keep], axis=0)
    if exclude_xy_um is not None and exclude_radius_um > 0 and len(rc):
        ex = np.asarray(exclude_xy_um, float).reshape(-1, 2)
        if len(ex):
            d = np.linalg.norm(rc[:, None, [1, 0]] * px - ex[None], axis=2)
            rc = rc[(d >= exclude_radius_um).all(axis=1)]
    found = site_shortfalls(avoidance, region, scene, rc)
    good = (
        np.logical_and.reduce([found.by_constraint[k] <= 0 for k in SITE_CONSTRAINTS])
        if len(rc)
        else np.zeros(0, bool)
    )
    rc, c = rc[good], found.clearance_um[good]
    rq = req[rc[:, 0], rc[:, 1]].astype(np.float64)
    w = (
        np.ones(len(rc))
        if weight is None
        else np.clip(np.asarray(weight, np.float64)[rc[:, 0], rc[:, 1]], 0, 1)
    )
    score = site_scores(w, c - rq)
    xy = rc[:, [1, 0]].astype(np.float64) * px
    return Candidates(_ro(rc.astype(np.int64)), _ro(xy), _ro(c), _ro(rq), _ro(w), _ro(score),
                      step_um=float(step_um), zone_area_um2=area)  # fmt: skip
