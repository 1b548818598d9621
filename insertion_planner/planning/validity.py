"""The one safety model: every constraint on a thread, checked in one place.

Planning (candidates, placement, edits, replanning), :func:`~insertion_planner.check_plan`,
:func:`~insertion_planner.load_plan` and :func:`~insertion_planner.simulate` all ask the
functions here, against one :class:`~insertion_planner.planning.scene.Scene`, so they cannot
disagree on whether a thread is safe. Like OMPL's ``StateValidityChecker``, which reports a
state's clearance beside its validity (Sucan, Moll and Kavraki, IEEE RAM 2012), each check
returns how far a site is from meeting its constraint, not only whether it does:

========================  ==============================================================
constraint                shortfall (0 when met)
========================  ==============================================================
``vessel_clearance``      required clearance less the clearance found (2-D map and the
                          needle path past penetrating vessels), um; on a pixel the map
                          forbids for another reason (a vessel could hide there unseen),
                          the distance to the nearest allowed pixel
``region``                distance to the nearest pixel of the target region, um
``craniectomy``           distance to the nearest pixel of the opening, um
``surface_slope``         needle incidence beyond the allowed angle, degrees
``tether_reach``          taut tether length beyond the thread length, um
``head_collision``        how far the insertion head reaches into its keep-out, um
``depth``                 how far the depth lies outside the depths the site allows, um
``min_spacing``           minimum spacing less the distance to the nearer site, um
``tether_tangle``         tether clearance less the site's distance to an earlier tether, um
``thread_count``          active threads beyond 64
========================  ==============================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from ..config import MAX_THREADS
from ..protocols import AvoidanceLike, ThreadSite
from ..tether import polyline_length_um
from .depth import site_depth_window_um
from .ordering import point_segment_distance
from .scene import (
    Scene,
    head_slack_um,
    incidence_rad,
    penetrating_path_clearance_um,
    tether_lengths_um,
)
from .vessel_map import (
    _distance_to_mask_um,
    _map_allows,
    hidden_vessel_clearance_um,
    map_clearance,
    surface_clearance_um,
)

__all__ = [
    "CONSTRAINT_UNITS",
    "Violation",
    "SiteShortfalls",
    "ValidityChecker",
    "Validity",
    "map_clearance",
    "site_shortfalls",
    "site_checks",
    "thread_violations",
    "pairwise_violations",
]

SITE_CONSTRAINTS = (
    "vessel_clearance",
    "region",
    "craniectomy",
    "surface_slope",
    "tether_reach",
    "head_collision",
    "depth",
)
"""Per-site hard constraints, in the order they are reported. ``depth``: some depth allowed
at the site keeps every electrode inside the cortex (:mod:`~insertion_planner.planning.depth`;
always met without a depth range or a cortical thickness)."""

CONSTRAINT_UNITS = {
    **{name: "um" for name in SITE_CONSTRAINTS},
    "surface_slope": "deg",
    "min_spacing": "um",
    "tether_tangle": "um",
    "thread_count": "threads",
}
"""Unit of each constraint's shortfall."""


@dataclass(frozen=True)
class Violation:
    """A broken constraint: which thread, which constraint, by how much, and why.

    Attributes
    ----------
    thread_id : int
        -1 for the plan as a whole (``thread_count``).
    constraint : str
        A name of :data:`SITE_CONSTRAINTS`, ``min_spacing``, ``tether_tangle`` or
        ``thread_count``.
    message : str
        One line naming the thread by id and label, with the numbers.
    shortfall : float
        How far the thread is from meeting the constraint, in the unit of
        :data:`CONSTRAINT_UNITS` (> 0; ``inf`` where no distance applies).
    detail : str
        The message without the thread's name (as the robot simulator reports it,
        after the constraint's name).
    """

    thread_id: int
    constraint: str
    message: str
    shortfall: float = math.inf
    detail: str = ""


@dataclass(frozen=True, eq=False)
class SiteShortfalls:
    """What :func:`site_shortfalls` found at n sites.

    Attributes
    ----------
    by_constraint : dict
        Every name of :data:`SITE_CONSTRAINTS` to an (n,) float array: how far each site
        is from meeting it, 0 where met (units: :data:`CONSTRAINT_UNITS`).
    rc : (n, 2) int
        The pixels judged (the nearest inside the image).
    clearance_um : (n,) float
        Vessel clearance found: the map's and the needle path's past penetrating
        vessels, the smaller (without a map: the path's; inf without a vessel near).
    required_um : (n,) float
        The map's requirement there, with the robot's extra (0 without a map).
    hidden : (n,) bool
        The map forbids the site though its clearance meets the requirement (a vessel
        could hide there unseen, or the map forbids it for another reason).
    """

    by_constraint: dict[str, NDArray[np.float64]]
    rc: NDArray[np.int64]
    clearance_um: NDArray[np.float64]
    required_um: NDArray[np.float64]
    hidden: NDArray[np.bool_]


def site_shortfalls(
    avoidance: AvoidanceLike | None,
    region: NDArray[np.bool_] | None,
    scene: Scene,
    rc: ArrayLike,
    *,
    required_extra_um: float = 0.0,
) -> SiteShortfalls:
    """How far each of (n, 2) pixel sites is from meeting each per-site constraint.

    Parameters
    ----------
    avoidance : AvoidanceMap or None
        The map that judges vessel clearance in 2-D; None (a plan file without its
        image): only the needle path past known penetrating vessels is judged here (the
        recorded clearances are judged by :func:`thread_violations`).
    region : (H, W) bool or None
        Target region (None: the whole image).
    scene : Scene
    rc : (n, 2) float
        Sites (row, col), judged at their nearest pixel; a site outside the image fails
        ``region`` (and ``vessel_clearance`` when a map is given).
    required_extra_um : float
        Added to the map's required clearance (a robot whose needle and stage ask more
        than the plan's margins assumed).

    Returns
    -------
    SiteShortfalls

    Examples
    --------
    >>> from insertion_planner import Grid
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning.scene import make_scene
    >>> clear = np.full((50, 50), 300.0); clear[:, :10] = 40.0
    >>> amap = avoidance_from_arrays(clearance_um=clear, required_um=86.5)
    >>> s = site_shortfalls(amap, None, make_scene(Grid((50, 50), 10.0)), [[25, 5], [25, 30]])
    >>> s.by_constraint["vessel_clearance"].tolist()
    [46.5, 0.0]
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float)).reshape(-1, 2)
    h, w = scene.grid.shape
    px = scene.grid.pixel_size_um
    finite = np.isfinite(pts).all(axis=1)
    ij = np.rint(np.where(finite[:, None], pts, -1.0)).astype(np.int64)
    inside = finite & (ij[:, 0] >= 0) & (ij[:, 0] < h) & (ij[:, 1] >= 0) & (ij[:, 1] < w)
    ij = np.clip(ij, 0, [h - 1, w - 1])
    r, c = ij[:, 0], ij[:, 1]
    zero = np.zeros(len(pts))
    if avoidance is not None:
        clear, req, on_map = map_clearance(avoidance, ij)
        req = req + required_extra_um
        # only vessels nearer than the 2-D clearance can lower it (or fail the requirement)
        path = penetrating_path_clearance_um(scene, ij, upto_um=np.maximum(clear, req))
        vessel = np.maximum(req - np.minimum(clear, path), 0.0)
        hidden = inside & ~on_map & (vessel <= 0)  # forbidden though clear: distance to allowed
        if hidden.any():
            ok_map = _map_allows(avoidance.allowed, avoidance.clearance_um, avoidance.required_um)
            vessel[hidden] = np.maximum(_distance_to_mask_um(ok_map, ij[hidden], px), px)
        vessel[~inside] = np.inf
    else:
        path = penetrating_path_clearance_um(scene, ij)
        vessel = zero.copy()
        clear, req, hidden = np.full(len(pts), np.inf), zero.copy(), np.zeros(len(pts), bool)
    reg = np.ones((h, w), bool) if region is None else np.asarray(region, bool)
    out_region = np.where(inside & reg[r, c], 0.0, np.inf)
    miss = inside & ~reg[r, c]
    if miss.any():
        out_region[miss] = _distance_to_mask_um(reg, ij[miss], px)
    out_crani = np.where(scene.craniectomy[r, c], 0.0, 1.0)
    miss = out_crani > 0
    if miss.any():
        out_crani[miss] = _distance_to_mask_um(scene.craniectomy, ij[miss], px)
    slope = np.degrees(incidence_rad(scene, ij) - scene.max_incidence_rad)
    slope = np.where(np.isnan(slope), np.inf, slope)
    low, high = site_depth_window_um(scene, ij)
    by_constraint = {
        "vessel_clearance": vessel,
        "region": out_region,
        "craniectomy": out_crani,
        "surface_slope": np.where(slope > 1e-7, slope, 0.0),
        "tether_reach": np.maximum(tether_lengths_um(scene, ij) - scene.thread_length_um, 0.0),
        "head_collision": np.maximum(-head_slack_um(scene, ij), 0.0),
        "depth": np.maximum(low - high, 0.0),
    }
    by_constraint = {k: np.where(np.isnan(v), np.inf, v) for k, v in by_constraint.items()}
    return SiteShortfalls(by_constraint, rc=ij, clearance_um=np.minimum(clear, path),
                          required_um=req, hidden=hidden)  # fmt: skip


def site_checks(
    avoidance: AvoidanceLike,
    region: NDArray[np.bool_],
    scene: Scene,
    rc: ArrayLike,
) -> dict[str, NDArray[np.bool_]]:
    """Which per-site hard constraints each of (n, 2) pixel sites passes.

    Returns a dict mapping every name in ``SITE_CONSTRAINTS`` to an (n,) bool array
    (:func:`site_shortfalls` equal to 0). Fractional sites are judged at their nearest
    pixel. Sites outside the image fail ``region``.
    """
    found = site_shortfalls(avoidance, region, scene, rc)
    return {name: s <= 0 for name, s in found.by_constraint.items()}


_SITE_WORDS = {
    "region": "lies {s:.1f} um outside the target region",
    "craniectomy": "lies {s:.1f} um outside the craniectomy",
    "surface_slope": "meets the surface {s:.1f} deg beyond the allowed incidence",
    "tether_reach": "needs {s:.0f} um more tether than the thread has",
    "head_collision": "brings the insertion head {s:.0f} um into its keep-out from bone or implant",
    "depth": "has no depth keeping every electrode inside the cortex (short by {s:.0f} um)",
}


def _worst(value: Any) -> float:
    """A shortfall or requirement as a float, NaN taken as the worst (inf)."""
    v = float(value)
    return math.inf if math.isnan(v) else v


def _least(value: Any) -> float:
    """A clearance as a float, NaN taken as the worst (0)."""
    v = float(value)
    return 0.0 if math.isnan(v) else v


def _vessel_detail(
    found: SiteShortfalls,
    k: int,
    clear: float,
    need: float,
    *,
    unseen: NDArray[np.bool_] | None,
    on_map: bool,
) -> str:
    """Why site ``k`` breaks vessel clearance (``clear`` found, ``need`` required), with the numbers."""
    row, col = (int(v) for v in found.rc[k])
    if not math.isfinite(float(found.by_constraint["vessel_clearance"][k])):
        return f"site ({row}, {col}) lies outside the image"
    if not on_map:
        return f"needle path {clear:.1f} um from a penetrating vessel, {need:.1f} um required"
    where = f"site ({row}, {col}) in the image's avoidance map"
    if found.hidden[k] and clear >= need:
        hide = unseen is not None and bool(unseen[row, col])
        why = "a vessel could hide there unseen" if hide else "the map forbids it"
        return f"{where} is not allowed ({why}; {clear:.1f} um from a vessel edge, {need:.1f} um required)"
    return f"{where} is {clear:.1f} um from a vessel edge, {need:.1f} um required"


@dataclass(frozen=True, eq=False)
class Validity:
    """What :meth:`ValidityChecker.check` found, per thread in insertion order.

    Attributes
    ----------
    thread_ids : tuple of int
    violations : list of Violation
        Sorted by thread (insertion order), then constraint.
    per_thread : tuple of tuple of Violation
        The per-site violations of each thread, in the order of ``thread_ids``.
    clearance_um, required_um : (n,) float
        Each thread's vessel clearance found (the smaller of the map's and the needle
        path's past penetrating vessels; inf without either) and the requirement it was
        judged against.
    """

    thread_ids: tuple[int, ...]
    violations: list[Violation]
    clearance_um: NDArray[np.float64]
    required_um: NDArray[np.float64]
    per_thread: tuple[tuple[Violation, ...], ...] = ()

    def of(self, thread_id: int) -> list[Violation]:
        """The violations of one thread."""
        return [v for v in self.violations if v.thread_id == thread_id]


@dataclass(frozen=True, eq=False)
class ValidityChecker:
    """The one validity checker of a scene: every constraint on threads, with shortfalls.

    Planning (:func:`~insertion_planner.check_plan`, edits, replanning), the semantic check
    of :func:`~insertion_planner.load_plan` and :func:`~insertion_planner.simulate` build one
    of these from the plan's :class:`~insertion_planner.planning.scene.Scene` and ask it
    (the simulator with its own robot's head and tilt, the larger of the two collision
    margins, and the requirement its robot adds).

    Attributes
    ----------
    scene : Scene
    avoidance : AvoidanceMap or None
        The image's map (None: a plan file alone; its recorded clearances are judged).
    region : (H, W) bool or None
        Target region (None: the whole image).
    min_spacing_um : float
    required_extra_um, required_floor_um : float
        What the inserting robot adds to every requirement, and the least any thread
        needs (:meth:`SafetyMargins.for_robot <insertion_planner.SafetyMargins.for_robot>`).
    """

    scene: Scene
    avoidance: AvoidanceLike | None
    region: NDArray[np.bool_] | None
    min_spacing_um: float
    required_extra_um: float = 0.0
    required_floor_um: float = 0.0

    def sites(self, rc: ArrayLike) -> SiteShortfalls:
        """The per-site shortfalls of (n, 2) pixel sites (:func:`site_shortfalls`)."""
        return site_shortfalls(self.avoidance, self.region, self.scene, rc,
                               required_extra_um=self.required_extra_um)  # fmt: skip

    def surface_clearance_um(self, xy_um: ArrayLike) -> NDArray[np.float64]:
        """The map's clearance (n,) where surface points (n, 2) (x, y, um) land, to detected
        vessels and to vessels that could hide unseen
        (:func:`~insertion_planner.planning.vessel_map.surface_clearance_um`); inf without
        a map. Asked by the positioning-error Monte Carlo."""
        xy = np.asarray(xy_um, dtype=np.float64).reshape(-1, 2)
        if self.avoidance is None:
            return np.full(len(xy), np.inf)
        return surface_clearance_um(self.avoidance, xy, self.scene.grid.pixel_size_um,
                                    hidden_um=self._hidden_um)  # fmt: skip

    @cached_property
    def _hidden_um(self) -> NDArray[np.float32] | None:
        return None if self.avoidance is None else hidden_vessel_clearance_um(self.avoidance)

    def check(self, threads: Sequence[ThreadSite], *, pairs: bool = True) -> Validity:
        """Every constraint the active ``threads`` break (see :func:`thread_violations`).

        ``pairs=False`` leaves out spacing, tangling and the thread count (a caller that
        judges the pairs in its own order, as the robot simulator does) and keeps the
        threads in the order given (the same thread may then come twice, at two sites).
        """
        active = sorted(threads, key=lambda t: (t.order, t.id)) if pairs else list(threads)
        out: list[Violation] = []
        if pairs and len(active) > MAX_THREADS:
            out.append(Violation(-1, "thread_count", f"{len(active)} active threads, more than {MAX_THREADS}",
                                 float(len(active) - MAX_THREADS)))  # fmt: skip
        n = len(active)
        clear_out, need_out = np.full(n, np.inf), np.zeros(n)
        if not active:
            return Validity((), out, clear_out, need_out, ())
        px = self.scene.grid.pixel_size_um
        pixel = np.array([t.pixel for t in active], dtype=np.float64)
        at_entry = np.array([t.entry_um[:2] for t in active], dtype=np.float64)[:, [1, 0]] / px
        found = [self.sites(pixel), self.sites(at_entry)]
        low, high = site_depth_window_um(self.scene, pixel)
        unseen = getattr(self.avoidance, "undetectable", None)
        on_map = self.avoidance is not None
        per_thread: list[tuple[Violation, ...]] = []
        for k, t in enumerate(active):
            first = len(out)
            required = max(t.required_clearance_um + self.required_extra_um, self.required_floor_um)
            for name in SITE_CONSTRAINTS:
                # the worse of the pixel and the entry point (NaN counts as the worst)
                vals = [_worst(x.by_constraint[name][k]) for x in found]
                f = found[int(np.argmax(vals))]
                s = max(vals)
                if name == "vessel_clearance":
                    clear_out[k] = min(_least(x.clearance_um[k]) for x in found)
                    need_out[k] = max(required, _worst(f.required_um[k]))
                    # the thread's own requirement and the robot's floor, map or not
                    s = max(s, need_out[k] - clear_out[k])
                if name == "tether_reach":  # the route the file records, too
                    s = max(s, polyline_length_um(t.tether_um) - self.scene.thread_length_um)
                if s <= 0:
                    continue
                if name == "vessel_clearance":
                    detail = _vessel_detail(f, k, clear_out[k], need_out[k], unseen=unseen,
                                            on_map=on_map)  # fmt: skip
                else:
                    what = (
                        "lies outside the image"
                        if not math.isfinite(s)
                        else _SITE_WORDS[name].format(s=s)
                    )
                    detail = f"site {tuple(int(v) for v in f.rc[k])} {what}"
                out.append(Violation(t.id, name, f"thread {t.id} ({t.label}) breaks {name}: {detail}",
                                     s, detail))  # fmt: skip
            if not any(
                v.thread_id == t.id and v.constraint == "depth" for v in out[first:]
            ) and not (low[k] - 1e-6 <= t.depth_um <= high[k] + 1e-6):
                s = float(max(low[k] - t.depth_um, t.depth_um - high[k]))
                detail = (f"depth {t.depth_um} um leaves electrodes outside the cortex "
                          f"(allowed there: {low[k]:g}-{high[k]:g} um)")  # fmt: skip
                out.append(
                    Violation(t.id, "depth", f"thread {t.id} ({t.label}) at {detail}", s, detail)
                )
            recorded = required - t.clearance_um
            need_out[k] = max(need_out[k], required)
            if recorded > 0 and not any(v.constraint == "vessel_clearance" for v in out[first:]):
                detail = f"records clearance {t.clearance_um} um < required {required} um"
                out.append(Violation(t.id, "vessel_clearance", f"thread {t.id} ({t.label}) {detail}",
                                     float(recorded), detail))  # fmt: skip
            per_thread.append(tuple(out[first:]))
        if pairs:
            out += pairwise_violations(active, scene=self.scene, min_spacing_um=self.min_spacing_um)
        rank = {t.id: k for k, t in enumerate(active)}
        order = {
            name: i for i, name in enumerate((*SITE_CONSTRAINTS, "min_spacing", "tether_tangle"))
        }
        out.sort(key=lambda v: (rank.get(v.thread_id, -1), order.get(v.constraint, -1)))
        return Validity(tuple(t.id for t in active), out, clear_out, need_out, tuple(per_thread))


def thread_violations(
    threads: Sequence[ThreadSite],
    *,
    scene: Scene,
    avoidance: AvoidanceLike | None,
    region: NDArray[np.bool_] | None,
    min_spacing_um: float,
    required_extra_um: float = 0.0,
    required_floor_um: float = 0.0,
) -> list[Violation]:
    """Every constraint the active ``threads`` break, with its shortfall (empty: all hold).

    The one validity checker (:class:`ValidityChecker`): per thread, each per-site
    constraint of :data:`SITE_CONSTRAINTS` is judged at the thread's pixel and at the pixel
    of its entry point, the worse of the two (:func:`site_shortfalls`); the depth against
    the depths the site allows; the recorded clearance against the requirement (and,
    without a map, the needle path past penetrating vessels); then the pairs
    (:func:`pairwise_violations`) and the thread count.

    Parameters
    ----------
    threads : sequence of Thread
        The active threads (any order; pairs are judged in insertion order).
    scene : Scene
    avoidance : AvoidanceMap or None
        The image's map (None: a plan file alone; its recorded clearances are judged).
    region : (H, W) bool or None
    min_spacing_um : float
    required_extra_um, required_floor_um : float
        See :class:`ValidityChecker`.

    Returns
    -------
    list of Violation
        Sorted by thread (insertion order), then constraint.

    Examples
    --------
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> clear = np.full((120, 120), 400.0); clear[:, :20] = 30.0
    >>> plan = plan_from_avoidance(avoidance_from_arrays(clearance_um=clear), n_threads=4)
    >>> thread_violations(plan.threads, scene=plan.scene, avoidance=plan.avoidance, region=None,
    ...                   min_spacing_um=250.0)
    []
    >>> from dataclasses import replace
    >>> moved = replace(plan.threads[0], pixel=(60.0, 10.0), entry_um=(120.0, 720.0, 0.0))
    >>> [v.message for v in thread_violations([moved], scene=plan.scene, avoidance=plan.avoidance,
    ...                                       region=None, min_spacing_um=250.0)]
    ["thread 0 (T01) breaks vessel_clearance: site (60, 10) in the image's avoidance map is 30.0 um from a vessel edge, 86.5 um required"]
    """
    checker = ValidityChecker(scene, avoidance, region, min_spacing_um,
                              required_extra_um, required_floor_um)  # fmt: skip
    return checker.check(threads).violations


def pairwise_violations(
    threads: Sequence[ThreadSite], *, scene: Scene, min_spacing_um: float
) -> list[Violation]:
    """Spacing and tangling between ``threads``, each blamed on the later-inserted thread.

    ``min_spacing``: two entry points closer than ``min_spacing_um``. ``tether_tangle``: a
    site within ``scene.tether_clearance_um`` of the plan-view tether (thread exit to
    site) of a thread inserted before it (:func:`~insertion_planner.planning.tangle_violations`).

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> from insertion_planner import Grid
    >>> from insertion_planner.planning.scene import make_scene
    >>> a = T(id=0, label="T01", order=0, entry_um=(300.0, 300.0, 0.0))
    >>> b = T(id=1, label="T02", order=1, entry_um=(400.0, 300.0, 0.0))
    >>> [v.constraint for v in pairwise_violations([a, b], scene=make_scene(Grid((60, 60), 10.0)),
    ...                                            min_spacing_um=250.0)]
    ['min_spacing', 'tether_tangle']
    """
    active = sorted(threads, key=lambda t: (t.order, t.id))
    out: list[Violation] = []
    if len(active) < 2:
        return out
    xy = np.array([t.entry_um[:2] for t in active], dtype=np.float64)
    for i, j in sorted(cKDTree(xy).query_pairs(min_spacing_um * (1 - 1e-9))):
        d = float(np.linalg.norm(xy[i] - xy[j]))
        detail = (f"{d:.1f} um from thread {active[i].id} ({active[i].label}), inserted before it, "
                  f"less than min_spacing_um={min_spacing_um}")  # fmt: skip
        out.append(Violation(active[j].id, "min_spacing",
                             f"threads {active[i].id} ({active[i].label}) and {active[j].id} ({active[j].label}) "
                             f"are {d:.1f} um apart, less than min_spacing_um={min_spacing_um}",
                             min_spacing_um - d, detail))  # fmt: skip
    exit_xy = np.asarray(scene.exit_um[:2], dtype=np.float64)
    clearance = scene.tether_clearance_um
    dist = point_segment_distance(xy, exit_xy, xy)
    later, earlier = np.nonzero(np.tril(dist < clearance, k=-1))
    for j, i in zip(later.tolist(), earlier.tolist(), strict=True):
        detail = (f"site {dist[j, i]:.0f} um from the tether of thread {active[i].id} "
                  f"({active[i].label}), inserted before it (clearance {clearance:.0f} um)")  # fmt: skip
        out.append(Violation(active[j].id, "tether_tangle",
                             f"thread {active[j].id} ({active[j].label}) lies under the tether of thread "
                             f"{active[i].id} ({active[i].label}), inserted before it",
                             float(clearance - dist[j, i]), detail))  # fmt: skip
    return out
