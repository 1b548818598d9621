"""The pipeline: image -> vessels -> avoidance map -> placed, ordered threads (a plan)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import as_rng, check_image, check_positive
from .config import DuraMode, PlannerConfig, SafetyMargins
from .plan import InsertionPlan
from .planning.plan_sites import plan_from_avoidance, planner_config
from .retraction.settings import BrainMotion, RetractionSettings
from .robots import RobotSpec, get_robot

__all__ = ["plan_insertions", "avoidance_for_plan"]


def plan_insertions(
    image: NDArray[Any],
    *,
    pixel_size_um: float,
    config: PlannerConfig | None = None,
    dura_mode: DuraMode | str = "durectomy",
    region: Any = None,
    robot: str | RobotSpec | dict[str, Any] = "R1-2019",
    margins: SafetyMargins | None = None,
    margin_um: float | None = None,
    weight: NDArray[np.floating[Any]] | None = None,
    surface_height_um: NDArray[np.floating[Any]] | None = None,
    craniectomy: NDArray[np.bool_] | None = None,
    cortex_thickness_um: float | NDArray[np.floating[Any]] | None = None,
    brain_motion: BrainMotion | None = None,
    retraction_settings: RetractionSettings | None = None,
    rng: int | np.random.Generator | None = None,
    pixel_size_source: str = "pixel_size_um",
    **settings: Any,
) -> InsertionPlan:
    """Plan the insertion of up to 64 threads into the cortex shown in ``image``.

    Runs :func:`~insertion_planner.segment_vessels`,
    :func:`~insertion_planner.build_avoidance_map`, then placement (candidates, greedy +
    local improvement, MILP certificate) and ordering (no site under a laid tether, short
    travel).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array, uint8, uint16 or float in [0, 1]
    pixel_size_um : float
    config : PlannerConfig, optional
        Every planner setting, with their defaults (:class:`~insertion_planner.PlannerConfig`);
        the plan saves it as its JSON ``config``.
    **settings
        Any :class:`~insertion_planner.PlannerConfig` field, replacing the config's. The
        common ones:

        - ``n_threads``: threads to place, 1 to 64 (more is an error naming the limit);
        - ``min_spacing_um``: minimum distance between sites (250 um);
        - ``depth_um``: tip depth below the pia along the needle (3500 um), or a range
          ``(min_um, max_um)`` (e.g. ``(2500.0, 4500.0)``): the planner then chooses a
          depth per thread that keeps all 16 electrodes (200 um apart) inside the cortex
          and spreads the threads over its depth
          (``plan.provenance["parameters"]["depth_coverage"]``); a site where no depth
          of the range does is not planned (constraint ``depth``);
        - ``max_retraction_risk``: largest predicted pull-out probability accepted per
          thread weeks after surgery, in (0, 1] (:func:`~insertion_planner.retraction_risk`):
          the planner lays tether slack (``Thread.slack_um``, at most what the thread
          reaches) and, with a depth range, deepens threads to stay under it;
          ``plan.retraction`` reports the prediction and, when it cannot be met, the
          binding term (``gap``, ``motion``, ``depth``, ``tether_reach``). None
          (default): no slack is laid. ``implant_gap_um``, ``retraction_days`` and
          ``retraction_samples`` are its conditions;
        - ``vessel_polarity``: ``"bright"`` for fluorescence angiography;
        - ``strict``: raise :class:`~insertion_planner.InfeasiblePlanError` when fewer
          threads fit, or when ``max_retraction_risk`` cannot be met;
        - ``tether_clearance_um``, ``max_incidence_deg``, ``skull_thickness_um``,
          ``collision_margin_um``, ``thread_length_um``, ``dura_thickness_um``.
    dura_mode : {"durectomy", "transdural"}
    region : None, (H, W) bool or (n, 2) polygon of (row, col)
        Target region; None: a 6 mm disc around the image centre.
    robot : str, RobotSpec or dict
        ``"R1-2019"`` (vertical needle), ``"R1-2024"``, ``"next-gen"`` or a custom robot.
    margins : SafetyMargins, optional
        Margin model; default ``SafetyMargins`` with the robot's needle radius and stage
        accuracy. Given margins are raised to the robot's needle radius and stage
        accuracy where they assume less (:meth:`SafetyMargins.for_robot
        <insertion_planner.SafetyMargins.for_robot>`): a robot of 1 mm stage error
        requires about 2 mm more clearance.
    margin_um : float, optional
        Shortcut replacing ``margins.base_margin_um``.
    weight : (H, W) float in [0, 1], optional
        Functional weight to cover (default uniform over the region).
    surface_height_um : (H, W) float, optional
        Known surface height (e.g. ``case.grid.surface_z_um``); default flat.
    craniectomy : (H, W) bool, optional
        Exposed brain, any shape: the insertion head is kept from the bone around this
        very mask (beyond the image counts as bone), and the plan file stores it. Default:
        the image is a view inside a round opening 25 mm across centred on it.
    cortex_thickness_um : float or (H, W) float, optional
        Vertical cortical thickness, um (e.g. ``case.cortex_thickness_um``, varying with
        gyri and sulci). Default: 4 mm with a depth range; not checked with one depth.
    brain_motion, retraction_settings
        Models of the retraction prediction (``retraction_risk``'s ``brain_motion`` and
        ``settings``; the seed is ``rng``'s integer, else 0).
    rng : int, Generator or None
        Recorded as the seed in the plan's provenance (placement is deterministic).
    pixel_size_source : str
        Where the pixel size came from (``"pixel_size_um"``, ``"--pixel-size-um"``,
        ``"tiff-resolution"``, ``"ome-tiff"``), recorded in the plan's provenance.

    Returns
    -------
    InsertionPlan

    Raises
    ------
    ValueError, TypeError
        Bad input, naming the parameter.
    InfeasiblePlanError
        With ``strict=True`` when fewer than ``n_threads`` fit.
    ImageQualityError
        The image cannot support a plan (:func:`~insertion_planner.assess_image`): an
        implausible pixel size, a blank or saturated frame, no vessel contrast, or a
        vessel polarity that contradicts the image.
    """
    config = planner_config(config, settings)
    vessel_polarity = config.vessel_polarity
    arr = _image_array(image)
    px = check_positive(pixel_size_um, name="pixel_size_um")
    mode = DuraMode.parse(dura_mode)
    spec = get_robot(robot)
    if margins is None:
        margins = SafetyMargins(
            needle_radius_um=spec.needle_radius_um, stage_accuracy_um=spec.stage_accuracy_um
        )
    elif not isinstance(margins, SafetyMargins):
        raise TypeError(f"margins must be a SafetyMargins, got {type(margins).__name__}")
    if margin_um is not None:
        margins = margins.replace(
            base_margin_um=check_positive(margin_um, name="margin_um", allow_zero=True)
        )
    margins = margins.for_robot(spec)  # never a thinner needle or a better stage than the robot's
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    as_rng(rng)  # validates rng
    if not isinstance(pixel_size_source, str) or not pixel_size_source:
        raise TypeError(f"pixel_size_source must be a non-empty str, got {pixel_size_source!r}")
    from .errors import ImageQualityError
    from .quality import PIXEL_SIZE_RANGE_UM, assess_image

    if not PIXEL_SIZE_RANGE_UM[0] <= px <= PIXEL_SIZE_RANGE_UM[1]:
        raise ImageQualityError(list(assess_image(arr, pixel_size_um=px).problems))
    vessels, amap = _vessels_and_avoidance(arr, px, mode, margins, vessel_polarity)
    quality = assess_image(
        arr, pixel_size_um=px, dura_mode=mode, vessel_polarity=vessel_polarity, vessels=vessels
    )
    if quality.problems:
        raise ImageQualityError(list(quality.problems))
    return plan_from_avoidance(
        amap, config=config, region=region, robot=robot, dura_mode=mode, margins=margins,
        weight=weight, surface_height_um=surface_height_um, craniectomy=craniectomy,
        vessels=vessels, image=arr, seed=seed, cortex_thickness_um=cortex_thickness_um,
        brain_motion=brain_motion, retraction_settings=retraction_settings, parameters={
            "pixel_size_um": px, "pixel_size_source": pixel_size_source, "robot": spec.name,
            "vessel_polarity": vessels.vessel_polarity,
            "hazard_diameter_um": margins.hazard_diameter_um,
            "undetectable_fraction": round(float(amap.undetectable.mean()), 6),
        },
    )  # fmt: skip


def avoidance_for_plan(plan: InsertionPlan, image: NDArray[Any]) -> Any:
    """Rebuild the avoidance map of a plan loaded from JSON from the image it was made from.

    A plan file holds the plan, not its avoidance map; with the map, a failed insertion
    can be re-placed (:func:`~insertion_planner.replan`, or ``simulate(..., avoidance=)``)
    instead of retried at the same site. The image must be the one the plan was made
    from (same array, checked by its SHA-256); segmentation and the margin model are run
    with the plan's pixel size, dura mode and margins.

    Raises
    ------
    TypeError
        ``plan`` is not an InsertionPlan.
    ValueError
        ``image`` is not the plan's image (shape or SHA-256 differs), or not a valid image.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import insertion_planner as ip
    >>> img = np.full((160, 160), 200, np.uint8); img[:, 70:76] = 90
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4).to_json(pathlib.Path(d) / "p.json")
    ...     plan = ip.load_plan(pathlib.Path(d) / "p.json")
    >>> amap = avoidance_for_plan(plan, img)
    >>> bool(amap.allowed[80, 73]), bool(amap.allowed[80, 20])
    (False, True)
    """
    from .planning.plan_sites import image_sha256

    if not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan, got {type(plan).__name__}")
    arr = _image_array(image)
    if tuple(arr.shape[:2]) != tuple(plan.image_shape):
        raise ValueError(
            f"image has shape {tuple(arr.shape[:2])}, the plan was made from {tuple(plan.image_shape)}"
        )
    digest = image_sha256(arr)
    if digest != plan.image_sha256:
        raise ValueError(
            f"image is not the one the plan was made from (sha256 {digest[:12]}..., "
            f"the plan's {plan.image_sha256[:12]}...)"
        )
    polarity = plan.config.vessel_polarity
    return _vessels_and_avoidance(arr, plan.pixel_size_um, plan.dura_mode, plan.margins, polarity)[
        1
    ]


def _image_array(image: Any) -> Any:
    """The image as an array (lists and tuples converted), checked (alpha kept)."""
    from .segmentation._channels import image_channels

    arr = np.asarray(image) if isinstance(image, (list, tuple)) else image
    if isinstance(arr, np.ndarray) and arr.ndim == 3 and arr.shape[2] in (2, 4):
        image_channels(arr)  # the checks of every accepted layout
        return arr
    check_image(arr, name="image")
    return arr


def _vessels_and_avoidance(
    image: Any,
    pixel_size_um: float,
    mode: DuraMode,
    margins: SafetyMargins,
    vessel_polarity: str = "dark",
) -> tuple[Any, Any]:
    """Segmentation and avoidance map, the same for a new plan and a loaded one."""
    from .avoidance import build_avoidance_map
    from .segmentation import segment_vessels

    vessels = segment_vessels(
        image, pixel_size_um=pixel_size_um, dura_mode=mode, vessel_polarity=vessel_polarity
    )
    return vessels, build_avoidance_map(vessels, dura_mode=mode, margins=margins)
