"""Plan threads on an avoidance map: options checked once, scene built, plan assembled."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .._validation import check_bool_mask, check_positive
from ..config import (
    DEFAULT_MAX_INCIDENCE_DEG,
    DEFAULT_TETHER_CLEARANCE_UM,
    MAX_THREADS,
    DuraMode,
    PlannerConfig,
    SafetyMargins,
)
from ..frames import Grid
from ..plan import InsertionPlan
from ..retraction.settings import BrainMotion, RetractionSettings
from ..robots import RobotSpec, get_robot
from .assemble import build_plan, region_mask
from .depth import check_cortex_thickness
from .scene import make_scene
from .slack import RetractionConditions
from .surface import grid_as_saved

__all__ = [
    "plan_from_avoidance",
    "planner_config",
    "map_for_margins",
    "DEFAULT_TETHER_CLEARANCE_UM",
    "DEFAULT_MAX_INCIDENCE_DEG",
]


def image_sha256(image: NDArray[Any] | None) -> str:
    """sha256 of an image's array bytes in C order (64 zeros when there is no image)."""
    if image is None:
        return "0" * 64
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def planner_config(config: PlannerConfig | None, settings: dict[str, Any]) -> PlannerConfig:
    """``config`` (default ``PlannerConfig()``) with ``settings`` replacing its fields.

    Raises
    ------
    TypeError
        ``config`` is not a PlannerConfig, or a setting is not one of its fields.
    ValueError
        A setting out of its range (``n_threads`` above 64 names the implant's limit).

    Examples
    --------
    >>> planner_config(None, {"n_threads": 8}).n_threads
    8
    >>> planner_config(None, {"n_threads": 65})
    Traceback (most recent call last):
    ...
    ValueError: n_threads must be at most 64 (the implant carries 64 threads), got 65
    """
    if config is None:
        config = PlannerConfig()
    elif not isinstance(config, PlannerConfig):
        raise TypeError(f"config must be a PlannerConfig, got {type(config).__name__}")
    n = settings.get("n_threads")
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > MAX_THREADS:
        raise ValueError(
            f"n_threads must be at most {MAX_THREADS} (the implant carries {MAX_THREADS} threads), got {n}"
        )
    return config.replace(**settings) if settings else config


def plan_from_avoidance(
    avoidance: Any,
    *,
    config: PlannerConfig | None = None,
    region: Any = None,
    robot: str | RobotSpec | dict[str, Any] = "R1-2019",
    dura_mode: DuraMode | str | None = None,
    margins: SafetyMargins | None = None,
    weight: NDArray[np.floating[Any]] | None = None,
    surface_height_um: NDArray[np.floating[Any]] | None = None,
    craniectomy: NDArray[np.bool_] | None = None,
    cortex_thickness_um: float | NDArray[np.floating[Any]] | None = None,
    brain_motion: BrainMotion | None = None,
    retraction_settings: RetractionSettings | None = None,
    vessels: Any = None,
    image: NDArray[Any] | None = None,
    seed: int | None = None,
    parameters: dict[str, Any] | None = None,
    **settings: Any,
) -> InsertionPlan:
    """Place and order up to ``n_threads`` threads on an avoidance map.

    Parameters
    ----------
    avoidance : AvoidanceMap
        Or any object with (H, W) ``clearance_um``, ``required_um``, ``allowed`` arrays,
        ``pixel_size_um`` and optionally ``penetrating`` (m, 3) (row, col, radius_um),
        ``dura_mode`` and ``margins``.
    config : PlannerConfig, optional
        Every planner setting (default ``PlannerConfig()``); the plan saves it.
    **settings
        Any :class:`~insertion_planner.PlannerConfig` field, replacing the config's
        (``n_threads``, ``min_spacing_um``, ``depth_um`` (a depth or a range
        ``(min_um, max_um)``: each thread then gets its own depth, every electrode inside
        the cortex, :mod:`~insertion_planner.planning.depth`), ``max_retraction_risk``,
        ``tether_clearance_um``, ``max_incidence_deg``, ``skull_thickness_um``,
        ``collision_margin_um`` (the distance the insertion head keeps from the skull rim
        and the implant, constraint ``head_collision``), ``strict``, ...).
    region : None, (H, W) bool or (n, 2) polygon of (row, col)
        Target region; None: a 6 mm disc around the image centre.
    robot : str, RobotSpec or dict
    dura_mode : DuraMode or str, optional
        Default: the avoidance map's.
    margins : SafetyMargins, optional
        Recorded in the plan; default: the map's (``avoidance.margins``, else the
        defaults). Raised to the robot's needle radius and stage accuracy where they
        assume less (:meth:`SafetyMargins.for_robot
        <insertion_planner.SafetyMargins.for_robot>`). When these require more than the
        map applied, the map's requirement is raised to match before any site is placed
        (:func:`map_for_margins`): a robot of 1 mm stage error requires about 2 mm more
        clearance.
    cortex_thickness_um : float or (H, W) float, optional
        Vertical cortical thickness, um (e.g. ``case.cortex_thickness_um``): no site is
        planned where no allowed depth keeps all 16 electrodes inside it (constraint
        ``depth``). Default: with a range, ``RetractionSettings.cortex_thickness_um`` (4 mm);
        with a single depth, not checked (as before).
    brain_motion, retraction_settings
        Models of the retraction prediction made with ``max_retraction_risk``
        (``retraction_risk``'s ``brain_motion`` and ``settings``; its gap, days and
        samples are the config's); the seed is ``seed`` (0 when None).
    weight : (H, W) float in [0, 1], optional
        Functional weight to cover; default uniform over the region.
    surface_height_um : (H, W) float, optional
        Known surface height (z up); default flat.
    craniectomy : (H, W) bool, optional
        Exposed brain, any shape: the insertion head is kept from the bone around this
        very mask (beyond the image counts as bone), and the plan file stores it. Default:
        the image is a view inside a round opening 25 mm across centred on it.
    Raises
    ------
    ValueError, TypeError
        A bad input or setting, naming it.
    InfeasiblePlanError
        With ``strict=True`` when fewer threads fit than asked.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> amap = avoidance_from_arrays(clearance_um=np.full((200, 200), 400.0))
    >>> plan = plan_from_avoidance(amap, n_threads=8)
    >>> len(plan.threads), plan.binding_constraint, plan.gap
    (8, None, 0.0)
    """
    config = planner_config(config, settings)
    strict = config.strict
    clear = np.asarray(avoidance.clearance_um)
    if clear.ndim != 2:
        raise ValueError(f"avoidance.clearance_um must be (H, W), got shape {clear.shape}")
    shape = (int(clear.shape[0]), int(clear.shape[1]))
    px = check_positive(avoidance.pixel_size_um, name="avoidance.pixel_size_um")
    mode = DuraMode.parse(
        dura_mode if dura_mode is not None else getattr(avoidance, "dura_mode", "durectomy")
    )
    applied = getattr(avoidance, "margins", None) or margins or SafetyMargins()
    margins = margins if margins is not None else applied
    for name, value in (("margins", margins), ("avoidance.margins", applied)):
        if not isinstance(value, SafetyMargins):
            raise TypeError(f"{name} must be a SafetyMargins, got {type(value).__name__}")
    spec = get_robot(robot)
    margins = margins.for_robot(spec)
    robot_name = robot if isinstance(robot, str) and not robot.endswith(".json") else spec.name
    depth_range = config.depth_range_um
    conditions = None
    if config.max_retraction_risk is not None or depth_range is not None:
        conditions = RetractionConditions(
            implant_gap_um=config.implant_gap_um, brain_motion=BrainMotion() if brain_motion is None else brain_motion,
            days=config.retraction_days, n_samples=config.retraction_samples, seed=0 if seed is None else seed,
            settings=RetractionSettings() if retraction_settings is None else retraction_settings,
        )  # fmt: skip
    thickness = check_cortex_thickness(cortex_thickness_um, shape)
    if thickness is None and depth_range is not None and conditions is not None:
        thickness = conditions.settings.cortex_thickness_um
    reg = region_mask(region, shape, px)
    w = None
    if weight is not None:
        w = np.asarray(weight, np.float64)
        if w.shape != shape:
            raise ValueError(f"weight must have shape {shape}, got shape {w.shape}")
        if not np.isfinite(w).all() or w.min() < 0 or w.max() > 1:
            raise ValueError("weight must hold finite values in [0, 1]")
    crani = (
        None
        if craniectomy is None
        else check_bool_mask(np.asarray(craniectomy), name="craniectomy", shape=shape)
    )
    avoidance = map_for_margins(
        avoidance, margins, applied=applied, dura_mode=mode, vessels=vessels
    )
    grid = grid_as_saved(Grid(shape, px, surface_height_um))  # the surface its file keeps
    incidence = config.max_incidence_deg
    # an empty region happens only for the default disc on a coarse image: no thread fits
    centroid = np.argwhere(reg).mean(axis=0) if reg.any() else (np.array(shape) - 1) / 2.0
    scene = make_scene(
        grid, craniectomy=crani, toward_rc=centroid, skull_thickness_um=config.skull_thickness_um,
        thread_length_um=config.thread_length_um, depth_um=config.depth_um,
        dura_thickness_um=config.dura_thickness_um if mode is DuraMode.TRANSDURAL else 0.0,
        tether_clearance_um=config.tether_clearance_um, max_tilt_rad=spec.max_tilt_rad,
        max_incidence_rad=math.radians(incidence), penetrating=getattr(avoidance, "penetrating", None),
        robot=spec, collision_margin_um=config.collision_margin_um, depth_range_um=config.depth_range_um,
        cortex_thickness_um=thickness,
    )  # fmt: skip
    params = {
        "n_threads": config.n_threads, "min_spacing_um": config.min_spacing_um, "depth_um": config.depth_um,
        "tether_clearance_um": config.tether_clearance_um, "max_incidence_deg": incidence,
        "skull_thickness_um": config.skull_thickness_um, "collision_margin_um": scene.collision_margin_um,
        "strict": strict,
        "region": "default" if region is None else ("mask" if np.asarray(region).shape == shape else "polygon"),
        "weight": "uniform" if weight is None else "given",
        "craniectomy": "whole image" if craniectomy is None else "given",
        **(parameters or {}),
    }  # fmt: skip
    if depth_range is not None:
        params["depth_range_um"] = list(depth_range)
    if thickness is not None:
        params["cortex_thickness_um"] = "map" if isinstance(thickness, np.ndarray) else thickness
    blind = getattr(avoidance, "undetectable", None)
    if blind is not None and reg.any():
        # never planning blind: the share of the target region forbidden only because a
        # vessel of the hazard diameter could hide there unseen
        params["hazard_diameter_um"] = float(margins.hazard_diameter_um)
        params["region_undetectable_fraction"] = round(float(np.asarray(blind)[reg].mean()), 6)
    return build_plan(
        avoidance, grid=grid, region=reg, scene=scene, config=config, margins=margins, robot=spec,
        robot_name=robot_name, dura_mode=mode, weight=w, vessels=vessels, image=image,
        image_sha256=image_sha256(image), strict=strict, seed=seed, parameters=params,
        retraction=conditions if config.max_retraction_risk is not None else None,
    )  # fmt: skip


def _requirement_offset_um(want: SafetyMargins, applied: SafetyMargins, mode: DuraMode) -> float:
    """The most ``want`` requires beyond ``applied`` anywhere, um (0 when never more)."""
    extra = max(
        float(want.required_um(mode)) - float(applied.required_um(mode)),
        float(want.required_um(mode, np.inf)) - float(applied.required_um(mode, np.inf)),
    )
    extra += max(0.0, want.low_confidence_extra_um - applied.low_confidence_extra_um)
    return max(extra, 0.0)


_FLOAT32_UM = 1e-3
"""Requirements closer than this are the same (maps hold them as float32)."""


def map_for_margins(
    avoidance: Any,
    margins: SafetyMargins,
    *,
    applied: SafetyMargins | None = None,
    dura_mode: DuraMode | str = "durectomy",
    vessels: Any = None,
) -> Any:
    """The avoidance map under ``margins``, when these require more than the map applied.

    A map built for a 10 um stage must not plan for a robot of 1 mm stage error. When
    ``margins`` require more clearance than ``applied`` (the map's margins), the map is
    rebuilt from ``vessels`` with ``margins`` (exact: :func:`~insertion_planner.build_avoidance_map`)
    when ``vessels`` is a ``VesselMap``; otherwise its required clearance is raised by the
    largest difference (and never left below what ``margins`` require of the smallest
    vessel: a map may ask less than its own margins), ``allowed`` keeps only pixels meeting it, and pixels within that
    difference (plus a pixel) of one the detectability floor forbids (``undetectable``)
    are forbidden too (the floor's reach grows with the requirement). Otherwise
    ``avoidance`` is returned unchanged.

    Parameters
    ----------
    avoidance : AvoidanceMap or any object with (H, W) ``clearance_um``, ``required_um``,
        ``allowed`` and ``pixel_size_um``
    margins : SafetyMargins
        What the plan requires.
    applied : SafetyMargins, optional
        What the map applied; default ``avoidance.margins``, else the defaults.
    dura_mode : DuraMode or str
    vessels : VesselMap, optional

    Returns
    -------
    The map (same type when it is a dataclass).

    Examples
    --------
    >>> from insertion_planner.robots import get_robot
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> amap = avoidance_from_arrays(clearance_um=[[100.0, 3000.0]])
    >>> sloppy = get_robot({"base": "R1-2019", "name": "sloppy", "stage_accuracy_um": 1000.0})
    >>> out = map_for_margins(amap, SafetyMargins().for_robot(sloppy))
    >>> out.required_um.round().tolist(), out.allowed.tolist()
    ([[2062.0, 2062.0]], [[False, True]])
    """
    mode = DuraMode.parse(dura_mode)
    base = (
        applied if applied is not None else getattr(avoidance, "margins", None) or SafetyMargins()
    )
    extra = _requirement_offset_um(margins, base, mode)
    floor = float(margins.required_um(mode))
    low = float(np.min(avoidance.required_um)) if np.size(avoidance.required_um) else floor
    if extra <= 1e-9 and low >= floor - _FLOAT32_UM:
        return avoidance
    if (
        extra > 1e-9
        and vessels is not None
        and hasattr(vessels, "detectable_diameter_um")
        and hasattr(vessels, "graph")
    ):
        from ..avoidance import build_avoidance_map

        return build_avoidance_map(vessels, dura_mode=mode, margins=margins)
    clear = np.asarray(avoidance.clearance_um)
    req = np.asarray(avoidance.required_um)
    # never below the margin model's own requirement (a map may ask less than its margins)
    required = np.maximum(req + np.asarray(extra, req.dtype), np.asarray(floor, req.dtype))
    required = required.astype(req.dtype)
    allowed = np.asarray(avoidance.allowed, bool) & (clear >= required)
    changes: dict[str, Any] = {"required_um": required, "allowed": allowed}
    blind = getattr(avoidance, "undetectable", None)
    grow = max(extra, floor - low)
    if blind is not None and grow > _FLOAT32_UM and np.asarray(blind).any():
        px = float(avoidance.pixel_size_um)
        near = ndimage.distance_transform_edt(~np.asarray(blind, bool)) * px <= grow + px
        changes["undetectable"] = np.asarray(blind, bool) | (allowed & near)
        changes["allowed"] = allowed & ~near
    if hasattr(avoidance, "margins"):
        changes["margins"] = margins
    for v in changes.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    if dataclasses.is_dataclass(avoidance) and not isinstance(avoidance, type):
        return dataclasses.replace(avoidance, **changes)
    return SimpleNamespace(**{**vars(avoidance), **changes})
