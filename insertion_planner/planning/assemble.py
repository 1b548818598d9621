"""From an avoidance map to an :class:`~insertion_planner.plan.InsertionPlan`.

:func:`build_plan` makes the candidates, places the sites, orders them and packs the
result with the scene geometry into a plan. It takes plain arrays (or an ``AvoidanceMap``)
so it runs without the segmentation stage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import check_bool_mask
from ..avoidance.arrays import avoidance_from_arrays
from ..config import DuraMode, PlannerConfig, SafetyMargins
from ..electrodes import cortex_thickness_at_um
from ..errors import InfeasiblePlanError
from ..frames import Grid
from ..plan import SCHEMA_VERSION, InsertionPlan, PlanGeometry, Thread, ThreadStatus
from ..robots import RobotSpec
from .candidates import Candidates, make_candidates
from .depth import choose_depths, depth_coverage, site_depth_window_um
from .optimise import Placement, greedy_select, place_sites
from .ordering import insertion_order
from .scene import (
    Scene,
    needle_directions,
    tether_polylines,
)
from .slack import RetractionConditions, lay_slack
from .surface import coarse_surface

__all__ = [
    "DEFAULT_REGION_DIAMETER_UM",
    "TIE_ORDER",
    "default_region",
    "region_mask",
    "vessel_segments_um",
    "coarse_surface",
    "make_threads",
    "make_geometry",
    "depths_and_slack",
    "build_plan",
]

DEFAULT_REGION_DIAMETER_UM = 6000.0
"""Default target region: a disc of this diameter around the image centre."""

TIE_ORDER = (
    "detectability",
    "vessel_clearance",
    "head_collision",
    "craniectomy",
    "depth",
    "surface_slope",
    "tether_reach",
    "region",
)
"""Which binding constraint is named when relaxing several fits equally many sites.

What the surgeon can change last comes first: the vessels and the bone (the skull rim
the insertion head meets, and the opening itself) before the cortex's thickness
(``depth``: no depth of the range keeps every electrode in cortex; nothing changes it)
and the surface's slope (a tilting robot follows it), the thread's reach, and the target
region (a lasso redrawn at will) last. The floor comes
before ``vessel_clearance``, whose relaxation includes it: a tie means the floor alone
binds, and a better image is the remedy."""


def default_region(shape: tuple[int, int], pixel_size_um: float) -> NDArray[np.bool_]:
    """A disc of ``DEFAULT_REGION_DIAMETER_UM`` around the image centre, clipped to the image.

    Examples
    --------
    >>> int(default_region((100, 100), 100.0).sum())
    2828
    """
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2) * pixel_size_um
    out: NDArray[np.bool_] = r <= DEFAULT_REGION_DIAMETER_UM / 2
    return out


def region_mask(region: Any, shape: tuple[int, int], pixel_size_um: float) -> NDArray[np.bool_]:
    """The target region as an (H, W) bool mask.

    ``region`` is None (the default disc), an (H, W) bool mask, or an (n, 2) polygon of
    (row, col) vertices, n >= 3.
    """
    if region is None:
        return default_region(shape, pixel_size_um)
    arr = np.asarray(region)
    if arr.ndim == 2 and arr.shape == tuple(shape):
        mask = check_bool_mask(arr, name="region", shape=shape)
    elif (
        arr.ndim == 2
        and arr.shape[1] == 2
        and arr.shape[0] >= 3
        and np.issubdtype(arr.dtype, np.number)
    ):
        from skimage.draw import polygon2mask

        if not np.isfinite(arr).all():
            raise ValueError("region polygon holds NaN or infinite vertices")
        mask = polygon2mask(shape, arr.astype(float))
    else:
        raise ValueError(
            f"region must be None, a bool mask of shape {tuple(shape)} or an (n, 2) polygon of "
            f"(row, col) vertices with n >= 3, got an array of shape {arr.shape}"
        )
    if not mask.any():
        raise ValueError("region must cover at least one pixel of the image, got an empty region")
    return np.asarray(mask, bool)


def vessel_segments_um(
    graph: nx.Graph | None, grid: Grid, *, max_segments: int = 2000
) -> NDArray[np.float64]:
    """Simplified centreline segments (n, 7): x0, y0, z0, x1, y1, z1, radius_um.

    Chains of degree-2 nodes are subsampled so at most about ``max_segments`` remain.
    Node (x, y) come from the node's pixel ``rc`` (else ``xyz_um``); z is the surface
    height there plus the vessel radius (a vessel lies on the pia, its axis one radius
    above it), so the 3-D clearance checks see the vessels where the surface is.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_node(0, rc=(0.0, 0.0), radius_um=10.0); g.add_node(1, rc=(0.0, 4.0), radius_um=10.0)
    >>> g.add_edge(0, 1)
    >>> z = np.full((8, 8), 200.0, np.float32)
    >>> vessel_segments_um(g, Grid((8, 8), 10.0, z)).tolist()
    [[0.0, 0.0, 210.0, 40.0, 0.0, 210.0, 10.0]]
    """
    if graph is None or graph.number_of_edges() == 0:
        return np.zeros((0, 7))
    pos: dict[Any, NDArray[np.float64]] = {}
    nodes = list(graph.nodes)
    rc = np.array([graph.nodes[n]["rc"] if "rc" in graph.nodes[n]
                   else grid.to_pixel([graph.nodes[n]["xyz_um"]])[0] for n in nodes], float).reshape(-1, 2)  # fmt: skip
    hw = np.array(grid.shape) - 1
    xyz_all = grid.to_um(np.clip(rc, 0, hw))
    xyz_all[:, :2] = grid.to_um(rc, on_surface=False)[:, :2]
    xyz_all[:, 2] += np.array([float(graph.nodes[n].get("radius_um", 0.0)) for n in nodes])
    pos = dict(zip(nodes, xyz_all, strict=True))

    def xyz(n: Any) -> NDArray[np.float64]:
        return pos[n]

    k = max(1, math.ceil(graph.number_of_edges() / max_segments))
    seen: set[frozenset[Any]] = set()
    segs: list[list[float]] = []
    for u, v in sorted(graph.edges, key=lambda e: (str(e[0]), str(e[1]))):
        if frozenset((u, v)) in seen:
            continue
        # walk the chain through degree-2 nodes in both directions
        chain = [u, v]
        seen.add(frozenset((u, v)))
        for end in (0, 1):
            while graph.degree(chain[-1 if end else 0]) == 2:
                tip = chain[-1 if end else 0]
                prev = chain[-2 if end else 1]
                nxt = [n for n in graph.neighbors(tip) if n != prev]
                if not nxt or frozenset((tip, nxt[0])) in seen:
                    break
                seen.add(frozenset((tip, nxt[0])))
                if end:
                    chain.append(nxt[0])
                else:
                    chain.insert(0, nxt[0])
        keep = chain[::k] if (len(chain) - 1) % k == 0 else chain[::k] + [chain[-1]]
        for a, b in zip(keep[:-1], keep[1:], strict=True):
            r = 0.5 * (
                float(graph.nodes[a].get("radius_um", 0.0))
                + float(graph.nodes[b].get("radius_um", 0.0))
            )
            segs.append([*xyz(a), *xyz(b), r])
    return np.asarray(segs, float).reshape(-1, 7)


def make_threads(
    scene: Scene,
    rc: NDArray[Any],
    order: NDArray[np.int64],
    *,
    ids: ArrayLike,
    clearance_um: ArrayLike,
    required_um: ArrayLike,
    weight: ArrayLike,
    depth_um: ArrayLike,
    status: str | Iterable[str] = "planned",
    slack_um: ArrayLike | None = None,
) -> tuple[Thread, ...]:
    """Threads for sites ``rc`` (n, 2) inserted in ``order`` (a permutation of range(n)).

    ``depth_um`` is one depth or one per site; ``slack_um`` (one per site, um) the tether
    slack laid on purpose, None: the route's own.
    """
    rc = np.asarray(rc, float).reshape(-1, 2)
    depth = np.broadcast_to(np.asarray(depth_um, float), (len(rc),))
    slack: list[float | None] = (
        [None] * len(rc)
        if slack_um is None
        else [float(v) for v in np.broadcast_to(np.asarray(slack_um, float), (len(rc),))]
    )
    entry = scene.grid.to_um(rc)
    dirs = needle_directions(scene, rc)
    tethers = tether_polylines(scene, rc)
    rank = np.empty(len(rc), np.int64)
    rank[np.asarray(order, np.int64)] = np.arange(len(rc))
    ids = np.asarray(ids, int)
    cl, rq, wt = (np.asarray(a, float) for a in (clearance_um, required_um, weight))
    st = [status] * len(rc) if isinstance(status, str) else list(status)
    return tuple(
        Thread(int(ids[i]), int(rank[i]), (rc[i, 0], rc[i, 1]), tuple(entry[i]), tuple(dirs[i]), depth[i],
               cl[i], rq[i], ThreadStatus(st[i]), tuple(map(tuple, tethers[i])), wt[i], slack[i])
        for i in range(len(rc))
    )  # fmt: skip


def make_geometry(
    scene: Scene, *, vessel_segments: NDArray[np.float64], dura_mode: DuraMode
) -> PlanGeometry:
    """The serialisable scene geometry of a plan."""
    pen = scene.penetrating
    pen_um = np.zeros((len(pen), 5))
    if len(pen):
        pen_um[:, :3] = scene.grid.to_um(pen[:, :2])
        pen_um[:, 3] = pen[:, 2]
        pen_um[:, 4] = scene.depth_um + scene.dura_thickness_um  # at least as deep as the needle
    return PlanGeometry(
        craniectomy_center_um=scene.center_um, craniectomy_radius_um=scene.radius_um,
        skull_thickness_um=scene.skull_thickness_um, implant_center_um=scene.implant_center_um,
        implant_radius_um=scene.implant_radius_um, implant_height_um=scene.implant_height_um,
        thread_exit_um=scene.exit_um, vessel_segments_um=vessel_segments, penetrating_um=pen_um,
        surface=coarse_surface(scene.grid),
        dura_thickness_um=scene.dura_thickness_um if dura_mode is DuraMode.TRANSDURAL else 0.0,
        tether_clearance_um=scene.tether_clearance_um, max_incidence_rad=scene.max_incidence_rad,
        craniectomy_mask=scene.opening.mask,
    )  # fmt: skip


def diagnose(
    avoidance: Any,
    region: NDArray[np.bool_],
    scene: Scene,
    n: int,
    *,
    min_spacing_um: float,
    weight: Any = None,
    n_placed: int,
) -> tuple[str, dict[str, int]]:
    """Which constraint bound the plan: the per-site constraint whose relaxation fits the
    most more sites, else ``min_spacing``.

    A tie is broken by :data:`TIE_ORDER` (what the surgeon can change last first: a
    region beside the rim that the insertion head cannot reach names ``head_collision``,
    not ``region``).

    Returns the constraint name and, per constraint, how many sites a greedy packing fits
    with it relaxed (``min_spacing`` relaxed to half).
    """
    ones = np.ones(region.shape, bool)
    relaxed: dict[str, tuple[Any, NDArray[np.bool_], Scene, float]] = {}
    blind = getattr(avoidance, "undetectable", None)
    if blind is not None and np.asarray(blind).any():
        # the detectability floor alone (before vessel_clearance, which relaxes it too:
        # a tie means the floor is what binds, and a better image is the remedy)
        relaxed["detectability"] = (
            replace(
                avoidance,
                allowed=np.asarray(avoidance.allowed) | np.asarray(blind),
                undetectable=np.zeros(region.shape, bool),
            ),
            region,
            scene,
            min_spacing_um,
        )
    relaxed |= {
        "vessel_clearance": (
            avoidance_from_arrays(clearance_um=np.full(region.shape, np.inf), required_um=0.0),
            region,
            replace(scene, penetrating=np.zeros((0, 3))),
            min_spacing_um,
        ),
        "tether_reach": (
            avoidance,
            region,
            replace(scene, thread_length_um=math.inf),
            min_spacing_um,
        ),
        "surface_slope": (
            avoidance,
            region,
            replace(scene, max_incidence_rad=math.pi),
            min_spacing_um,
        ),
        "region": (avoidance, ones, scene, min_spacing_um),
        "craniectomy": (avoidance, region, replace(scene, craniectomy=ones), min_spacing_um),
        "head_collision": (avoidance, region, replace(scene, robot=None), min_spacing_um),
        "depth": (
            avoidance,
            region,
            replace(scene, depth_range_um=None, cortex_thickness_um=None),
            min_spacing_um,
        ),
        "min_spacing": (avoidance, region, scene, min_spacing_um / 2),
    }
    counts: dict[str, int] = {}
    for name, (amap, reg, sc, d) in relaxed.items():
        c = make_candidates(amap, reg, sc, min_spacing_um=d, weight=weight)
        raster = np.lexsort((c.rc[:, 1], c.rc[:, 0])) if len(c) else np.zeros(0, np.int64)
        counts[name] = len(greedy_select(c, n, d, order=raster))
    # a per-site constraint binds when relaxing it fits more; the spacing (a fixed
    # requirement, which relaxed nearly always fits more) is named only when none does
    # and it does; a tie names what the surgeon can change last (TIE_ORDER): where no
    # site is allowed by two constraints at once, relaxing either alone fits nothing
    site = [k for k in TIE_ORDER if k in relaxed]
    best = max(site, key=lambda k: (counts[k], -site.index(k)))
    if counts[best] <= n_placed and counts["min_spacing"] > n_placed:
        best = "min_spacing"
    return best, counts


def build_plan(
    avoidance: Any,
    *,
    grid: Grid,
    region: NDArray[np.bool_],
    scene: Scene,
    config: PlannerConfig,
    margins: SafetyMargins,
    robot: RobotSpec,
    robot_name: str,
    dura_mode: DuraMode,
    weight: NDArray[np.floating[Any]] | None = None,
    vessels: Any = None,
    image: NDArray[Any] | None = None,
    image_sha256: str = "0" * 64,
    strict: bool = False,
    seed: int | None = None,
    parameters: dict[str, Any] | None = None,
    node_limit: int = 500,
    retraction: RetractionConditions | None = None,
) -> InsertionPlan:
    """Place, certify and order ``config.n_threads`` threads; return the plan.

    With a depth range (``scene.depth_range_um``) each thread gets its own depth
    (:func:`~.depth.choose_depths`); with ``config.max_retraction_risk`` each tether its
    slack, under the ``retraction`` conditions (:func:`~.slack.lay_slack`).

    Raises
    ------
    InfeasiblePlanError
        With ``strict`` when fewer threads fit than asked (names the binding constraint),
        or when some thread's predicted pull-out stays over ``config.max_retraction_risk``
        (names the retraction term that binds: ``gap``, ``motion``, ``depth`` or
        ``tether_reach``).
    """
    n = config.n_threads
    if not region.any():
        msg = (
            f"the target region covers no pixel: the default region, a {DEFAULT_REGION_DIAMETER_UM / 1000:g} mm "
            f"disc around the image centre, is smaller than one pixel of {grid.pixel_size_um:g} um; pass region="
        )
        if strict:
            raise InfeasiblePlanError(msg, binding_constraint="region", n_placed=0)
    cands = make_candidates(
        avoidance, region, scene, min_spacing_um=config.min_spacing_um, weight=weight
    )
    placement = place_sites(cands, n, min_spacing_um=config.min_spacing_um, node_limit=node_limit)
    k = len(placement.chosen)
    binding: str | None = None
    if k < n and not region.any():
        binding = "region"
    elif k < n:
        binding, counts = diagnose(avoidance, region, scene, n, min_spacing_um=config.min_spacing_um,
                                   weight=weight, n_placed=k)  # fmt: skip
        if strict:
            raise InfeasiblePlanError(
                f"only {k} of the {n} threads asked fit; the binding constraint is {binding} "
                f"(greedy packing with each constraint relaxed fits {counts})",
                binding_constraint=binding,
                n_placed=k,
            )
    return _pack(avoidance, placement, grid=grid, region=region, scene=scene, config=config, margins=margins,
                 robot=robot, robot_name=robot_name, dura_mode=dura_mode, weight=weight, vessels=vessels,
                 image=image, image_sha256=image_sha256, binding=binding, seed=seed,
                 parameters=parameters or {}, retraction=retraction, strict=strict)  # fmt: skip


def depths_and_slack(
    scene: Scene,
    threads: tuple[Thread, ...],
    config: PlannerConfig,
    conditions: RetractionConditions | None = None,
    *,
    keep: ArrayLike | None = None,
) -> tuple[tuple[Thread, ...], dict[str, Any], dict[str, Any] | None]:
    """Each thread's depth and tether slack, the depth coverage and the retraction section.

    With a depth range, threads (in insertion order) are spread over their depth windows
    (:func:`~.depth.choose_depths`); with ``config.max_retraction_risk``, tethers get their
    slack (:func:`~.slack.lay_slack`, which may deepen a thread within its window). A plan
    with neither a range, a thickness nor a retraction setting is returned unchanged.
    ``keep`` (one bool per thread, in insertion order): threads whose depth and slack are
    kept (edits and replans keep what is laid).

    Returns
    -------
    threads : tuple of Thread
        In insertion order.
    parameters : dict
        ``{"depth_coverage": ...}`` (:func:`~.depth.depth_coverage`) when depths are
        checked against a cortex, else empty.
    section : dict or None
        The plan's ``retraction`` section, None without ``max_retraction_risk``.

    Examples
    --------
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> amap = avoidance_from_arrays(clearance_um=np.full((200, 200), 400.0))
    >>> plan = plan_from_avoidance(amap, n_threads=4, depth_um=(2500.0, 4500.0), cortex_thickness_um=4000.0)
    >>> [t.depth_um for t in plan.threads], plan.provenance["parameters"]["depth_coverage"]["covered_fraction"]
    ([4000.0, 3550.0, 3800.0, 3300.0], 0.95)
    """
    ordered = tuple(sorted(threads, key=lambda t: (t.order, t.id)))
    risk = config.max_retraction_risk
    ranged = scene.depth_range_um is not None
    if not ordered or (not ranged and scene.cortex_thickness_um is None and risk is None):
        return ordered, {}, None
    kept = np.zeros(len(ordered), bool) if keep is None else np.asarray(keep, bool)
    rc = np.array([t.pixel for t in ordered], dtype=np.float64)
    low, high = site_depth_window_um(scene, rc)
    depth = np.array([t.depth_um for t in ordered])
    if ranged:
        free = ~kept & (low <= high)
        depth = np.where(free, 0.0, depth)
        depth[free] = choose_depths(low[free], high[free])
    cond = conditions if conditions is not None else RetractionConditions()
    down = [t.direction[2] for t in ordered]
    known = scene.cortex_thickness_um
    out = tuple(replace(t, depth_um=float(d)) for t, d in zip(ordered, depth, strict=True))
    section = None
    if risk is not None:
        thick = known if known is not None else cond.settings.cortex_thickness_um
        sp = lay_slack(out, max_retraction_risk=risk, thickness_um=cortex_thickness_at_um(thick, rc, down),
                       conditions=cond, thread_length_um=config.thread_length_um, keep=kept,
                       deepest_um=np.where(kept | (low > high), depth, high) if ranged else None)  # fmt: skip
        out = tuple(replace(t, depth_um=float(d), slack_um=float(v))
                    for t, d, v in zip(out, sp.depth_um, sp.slack_um, strict=True))  # fmt: skip
        section = sp.section
    params: dict[str, Any] = {}
    if known is not None:
        params["depth_coverage"] = depth_coverage(
            [t.depth_um for t in out], cortex_thickness_at_um(known, rc, down),
            deepest_um=high if ranged else None,
        )  # fmt: skip
    return out, params, section


def _pack(avoidance: Any, placement: Placement, *, grid: Grid, region: NDArray[np.bool_], scene: Scene,
          config: PlannerConfig, margins: SafetyMargins, robot: RobotSpec, robot_name: str,
          dura_mode: DuraMode, weight: Any, vessels: Any, image: Any, image_sha256: str,
          binding: str | None, seed: int | None, parameters: dict[str, Any],
          retraction: RetractionConditions | None, strict: bool) -> InsertionPlan:  # fmt: skip
    from .._version import __version__

    c: Candidates = placement.candidates
    idx = placement.chosen
    rc = c.rc[idx]
    order = insertion_order(c.xy_um[idx], scene.exit_um[:2], scene.tether_clearance_um)
    ids = np.empty(len(idx), np.int64)
    ids[order] = np.arange(len(idx))  # fresh plans number threads in insertion order
    threads = make_threads(scene, rc, order, ids=ids, clearance_um=c.clearance_um[idx],
                           required_um=c.required_um[idx], weight=c.weight[idx],
                           depth_um=config.depth_um)  # fmt: skip
    threads, depth_params, section = depths_and_slack(scene, threads, config, retraction)
    if section is not None and not section["met"] and strict:
        raise InfeasiblePlanError(
            f"{len(section['threads_over'])} of {len(threads)} threads stay over max_retraction_risk="
            f"{config.max_retraction_risk} (worst predicted pull-out {section['pull_out_probability_max']}) "
            f"with all the slack their threads reach and as deep as their cortex allows; the binding "
            f"retraction term is {section['binding_term']}",
            binding_constraint=str(section["binding_term"]), n_placed=len(threads),
        )  # fmt: skip
    graph = getattr(vessels, "graph", None)
    geometry = make_geometry(
        scene, vessel_segments=vessel_segments_um(graph, grid), dura_mode=dura_mode
    )
    params = {**parameters, **depth_params,
              "certificate": {"method": placement.method, "spacing_um": round(placement.spacing_um, 6),
                              "n_candidates": len(c), "milp_status": placement.milp_status}}  # fmt: skip
    return InsertionPlan(
        schema_version=SCHEMA_VERSION, dura_mode=dura_mode, image_shape=grid.shape,
        pixel_size_um=grid.pixel_size_um, image_sha256=image_sha256, robot=robot_name, robot_spec=robot,
        config=config, margins=margins, threads=threads, geometry=geometry, n_requested=config.n_threads,
        binding_constraint=binding, objective=placement.objective, bound=placement.bound, gap=placement.gap,
        simulation=None, provenance={"package_version": __version__, "parameters": params, "seed": seed},
        retraction=section, region=region,
    ).with_context(image=image, vessels=vessels, avoidance=avoidance, weight=weight, grid=grid,
                   scene=scene, candidates=c, cortex_thickness_um=scene.cortex_thickness_um)  # fmt: skip
