"""The insertion plan: threads, geometry, certificate, and its JSON form.

A plan is frozen. :meth:`InsertionPlan.to_json` writes it atomically and byte-identically
for identical inputs (sorted keys, floats rounded to 1e-6 um, no wall-clock time), with a
``checksum`` (sha256 of the canonical JSON of everything else) that
:func:`~insertion_planner.load_plan` (:mod:`~insertion_planner.plan_file`) checks after
validating the file against the JSON Schema shipped in
``insertion_planner/schema/plan.schema.json``.

Run ``python -m insertion_planner.plan --markdown`` to print the schema as markdown
(the source of ``docs/json-schema.md``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._io import atomic_write_text
from .config import DuraMode, PlannerConfig, SafetyMargins
from .plan_checks import (
    MAX_NESTING,
    decode_region,
    encode_region,
    plan_problems,
)
from .plan_context import PlanContext
from .plan_schema import _schema_text, plan_schema, schema_markdown
from .robots import RobotSpec
from .thread import THREAD_STATUSES, Thread, ThreadStatus, _r, _rt, thread_label

if TYPE_CHECKING:  # pragma: no cover - types only
    from .avoidance import AvoidanceMap
    from .frames import Grid
    from .planning.candidates import Candidates
    from .planning.scene import Scene
    from .segmentation import VesselMap

__all__ = [
    "SCHEMA_VERSION",
    "THREAD_STATUSES",
    "ThreadStatus",
    "Thread",
    "thread_label",
    "PlanGeometry",
    "InsertionPlan",
    "PlanContext",
    "plan_schema",
    "schema_markdown",
    "SCHEMA_VERSIONS",
    "encode_region",
    "decode_region",
    "plan_problems",
    "MAX_NESTING",
]

SCHEMA_VERSION = "1.3"
"""Version of the plan's JSON format, written as ``schema_version`` and checked on load.
1.1 stores the real craniectomy (``geometry.craniectomy_mask``); 1.0 files still load,
their opening the circle they record. 1.2 gives each thread its tip ``target_um`` and its
``electrode_depths_um`` (derived, checked on load), the tether slack the planner laid
(``slack_um``), the depth range and ``max_retraction_risk`` in ``config``, and the
predicted ``retraction`` of a plan made with ``max_retraction_risk``; 1.0 and 1.1 files
still load, those fields derived or absent. 1.3 saves every planner setting in ``config``
(:class:`~insertion_planner.PlannerConfig`); an earlier file's config is completed from its
geometry, its provenance's parameters and its retraction conditions."""
SCHEMA_VERSIONS = ("1.0", "1.1", "1.2", SCHEMA_VERSION)
"""Versions :func:`~insertion_planner.load_plan` reads."""


def _ra(values: Any, ncols: int, *, name: str) -> NDArray[np.float64]:
    a = (
        np.asarray(values, dtype=np.float64).reshape(-1, ncols)
        if len(values)
        else np.zeros((0, ncols))
    )
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    a = np.array([[_r(v) for v in row] for row in a.tolist()], dtype=np.float64).reshape(-1, ncols)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class PlanGeometry:
    """Everything about the surgical scene a robot simulation needs besides the threads.

    Lengths in micrometres (Grid frame: x along columns, y along rows, z up), angles in rad.

    Parameters
    ----------
    craniectomy_center_um : (x, y)
        Centre of the smallest disc about the opening's centroid holding it (the implant
        is laid out from it).
    craniectomy_radius_um : float
        Radius of that disc; the opening itself when ``craniectomy_mask`` is None.
    skull_thickness_um : float
        The skull rim rises this far above the highest point of the surface.
    implant_center_um : (x, y, z)
        Centre of the implant's base; the implant sits on the skull beside the craniectomy.
    implant_radius_um, implant_height_um : float
    thread_exit_um : (x, y, z)
        Where every tether starts (the implant's edge facing the craniectomy).
    vessel_segments_um : (n, 7) float
        Simplified vessel centreline: x0, y0, z0, x1, y1, z1, radius_um.
    penetrating_um : (m, 5) float
        Known penetrating vessels: x, y, z (at the surface), radius_um, depth_um.
    surface : dict or None
        Coarse surface height grid ``{origin_um: [x, y], step_um, z_um: [[...]]}``
        (at most 128 x 128), or None for a flat surface at z = 0.
    dura_thickness_um : float
        0 in durectomy; the needle punctures this much dura in transdural mode.
    tether_clearance_um : float
        No later site may lie within this distance of a tether already laid.
    max_incidence_rad : float
        Largest angle allowed between the needle axis and the surface normal.
    craniectomy_mask : (H, W) bool or None
        The real opening on the image grid (read-only), which the head keep-out and the
        simulator's skull collision check exactly
        (:class:`~insertion_planner.planning.opening.Opening`); None: the opening is the
        circle above (the default opening, and plan files of schema 1.0). Stored
        run-length encoded by rows, with its shape.
    """

    craniectomy_center_um: tuple[float, float]
    craniectomy_radius_um: float
    skull_thickness_um: float
    implant_center_um: tuple[float, float, float]
    implant_radius_um: float
    implant_height_um: float
    thread_exit_um: tuple[float, float, float]
    vessel_segments_um: NDArray[np.float64] = field(repr=False)
    penetrating_um: NDArray[np.float64] = field(repr=False)
    surface: dict[str, Any] | None = field(default=None, repr=False)
    dura_thickness_um: float = 0.0
    tether_clearance_um: float = 100.0
    max_incidence_rad: float = 0.0
    craniectomy_mask: NDArray[np.bool_] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, n in (
            ("craniectomy_center_um", 2),
            ("implant_center_um", 3),
            ("thread_exit_um", 3),
        ):
            object.__setattr__(self, name, _rt(getattr(self, name), n, name=name))
        for name in ("craniectomy_radius_um", "skull_thickness_um", "implant_radius_um",
                     "implant_height_um", "dura_thickness_um", "tether_clearance_um",
                     "max_incidence_rad"):  # fmt: skip
            v = _r(getattr(self, name))
            if v < 0:
                raise ValueError(f"{name} must be non-negative, got {v}")
            object.__setattr__(self, name, v)
        object.__setattr__(
            self, "vessel_segments_um", _ra(self.vessel_segments_um, 7, name="vessel_segments_um")
        )
        object.__setattr__(
            self, "penetrating_um", _ra(self.penetrating_um, 5, name="penetrating_um")
        )
        if self.surface is not None:
            s = self.surface
            z = [[_r(v) for v in row] for row in s["z_um"]]
            if len(z) > 128 or any(len(row) > 128 for row in z):
                raise ValueError("surface z_um must be at most 128 x 128")
            surf = {"origin_um": list(_rt(s["origin_um"], 2, name="origin_um")),
                    "step_um": _r(s["step_um"]), "z_um": z}  # fmt: skip
            object.__setattr__(self, "surface", surf)
        if self.craniectomy_mask is not None:
            object.__setattr__(self, "craniectomy_mask", _opening_mask(self.craniectomy_mask))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "craniectomy_mask":
                v = None if v is None else {**encode_region(v), "shape": list(v.shape)}
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, dict):
                v = json.loads(json.dumps(v))
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlanGeometry:
        optional = ("craniectomy_mask",)  # absent from schema 1.0 files: a round opening
        values: dict[str, Any] = {f.name: d[f.name] if f.name not in optional else d.get(f.name)
                                  for f in fields(cls)}  # fmt: skip
        return cls(**values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlanGeometry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _opening_mask(value: Any) -> NDArray[np.bool_]:
    """A stored opening as a read-only (H, W) bool mask: a mask, or its encoding with its shape."""
    if isinstance(value, dict):
        shape = value.get("shape")
        if not (isinstance(shape, (list, tuple)) and len(shape) == 2
                and all(isinstance(v, int) and 0 < v <= 8192 for v in shape)):  # fmt: skip
            raise ValueError(f"craniectomy_mask shape must be two integers 1-8192, got {shape!r}")
        mask = decode_region(value, (int(shape[0]), int(shape[1])), name="craniectomy_mask")
    else:
        mask = np.asarray(value)
        if mask.ndim != 2 or mask.dtype != bool:
            raise ValueError(
                f"craniectomy_mask must be an (H, W) bool mask, got {mask.dtype} {mask.shape}"
            )
        if not mask.any():
            raise ValueError("craniectomy_mask is empty")
        if mask.flags.writeable:  # a read-only mask (a scene's) is shared, not copied
            mask = np.array(mask, bool)
    mask.setflags(write=False)
    return mask


@dataclass(frozen=True, eq=False)
class InsertionPlan:
    """A complete insertion plan, frozen; see ``docs/json-schema.md`` for its JSON form.

    The fields are what the file saves. What the plan was computed from lives beside
    them in ``context`` (a :class:`PlanContext`, never serialised, None after
    :func:`load_plan`): read it through ``avoidance``, ``vessels``, ``image`` and
    ``weight``, and through ``grid``, ``scene`` and ``candidates``, which are None once a
    saved field they derive from is replaced (the checks then rebuild the scene from the
    saved fields, as for a loaded plan). The target ``region`` (H, W) bool is
    serialised run-length encoded (see :func:`encode_region`) and restored on load, so
    edits on a loaded plan are still checked against it. Two plans are equal when their
    JSON content is equal.

    ``retraction`` (JSON section ``retraction``, schema 1.2) is present when the plan was
    made with ``max_retraction_risk``: the setting, the conditions the retraction model
    was run under, the predicted worst per-thread pull-out probability and retained
    share of electrodes, whether the setting was met and, when not, the term that binds
    (``gap``, ``motion``, ``depth`` or ``tether_reach``; ``docs/retraction.md``, "Planning
    with it").
    """

    schema_version: str
    dura_mode: DuraMode
    image_shape: tuple[int, int]
    pixel_size_um: float
    image_sha256: str
    robot: str
    robot_spec: RobotSpec
    config: PlannerConfig
    margins: SafetyMargins
    threads: tuple[Thread, ...]
    geometry: PlanGeometry
    n_requested: int
    binding_constraint: str | None
    objective: float
    bound: float
    gap: float
    simulation: dict[str, Any] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    retraction: dict[str, Any] | None = None
    region: NDArray[np.bool_] | None = field(default=None, repr=False)
    context: PlanContext | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dura_mode", DuraMode.parse(self.dura_mode))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        px = self.pixel_size_um
        if (
            isinstance(px, bool)
            or not isinstance(px, (int, float, np.number))
            or not px > 0
            or not math.isfinite(px)
        ):
            raise ValueError(f"pixel_size_um must be a positive finite number, got {px!r}")
        threads = tuple(sorted(self.threads, key=lambda t: (t.order, t.id)))
        ids = [t.id for t in threads]
        if len(set(ids)) != len(ids):
            raise ValueError(f"threads must have distinct ids, got {ids}")
        object.__setattr__(self, "threads", threads)
        for name in ("objective", "bound", "gap"):
            object.__setattr__(self, name, _r(getattr(self, name)))
        if self.region is not None:
            reg = np.asarray(self.region)
            if reg.shape != self.image_shape or reg.dtype != bool:
                raise ValueError(
                    f"region must be a bool mask of shape {self.image_shape}, got {reg.dtype} {reg.shape}"
                )
            if reg is not self.region or reg.flags.writeable:  # a copy of its own, read-only
                reg = np.array(reg, bool)
                reg.setflags(write=False)
                object.__setattr__(self, "region", reg)
        if self.context is not None and not isinstance(self.context, PlanContext):
            raise TypeError(f"context must be a PlanContext, got {type(self.context).__name__}")
        if self.simulation is not None:
            object.__setattr__(self, "simulation", _canonical(self.simulation))
        object.__setattr__(self, "provenance", _canonical(self.provenance))
        if self.retraction is not None:
            object.__setattr__(self, "retraction", _canonical(self.retraction))

    # ------------------------------------------------------------------ context
    def _basis(self) -> tuple[Any, ...]:
        """The saved fields the context's grid, scene and candidates derive from."""
        return (self.geometry, self.config, self.robot_spec, self.margins, self.region,
                self.image_shape, float(self.pixel_size_um), self.dura_mode.value)  # fmt: skip

    def _image_parts_hold(self, ctx: PlanContext) -> bool:
        """The image-derived parts hold while the image grid and the dura mode are the
        ones they were made for (segmentation depends on the dura mode)."""
        return len(ctx.basis) == 8 and ctx.basis[5:] == self._basis()[5:]

    def with_context(self, **parts: Any) -> InsertionPlan:
        """A copy whose :class:`PlanContext` holds ``parts``, derived from this plan's fields.

        ``parts`` are :class:`PlanContext` fields; those not given are kept from the
        current context when it still fits this plan (image-derived parts always).
        """
        old = self.context
        keep: dict[str, Any] = {}
        if old is not None and self._image_parts_hold(old):
            keep = {"image": old.image, "vessels": old.vessels, "avoidance": old.avoidance,
                    "weight": old.weight, "cortex_thickness_um": old.cortex_thickness_um}  # fmt: skip
            if old.fits(self._basis()):
                keep.update(grid=old.grid, scene=old.scene, candidates=old.candidates)
        return replace(self, context=PlanContext(**{**keep, **parts, "basis": self._basis()}))

    def _derived(self, name: str) -> Any:
        ctx = self.context
        return getattr(ctx, name) if ctx is not None and ctx.fits(self._basis()) else None

    def _imaged(self, name: str) -> Any:
        ctx = self.context
        return getattr(ctx, name) if ctx is not None and self._image_parts_hold(ctx) else None

    @property
    def image(self) -> NDArray[Any] | None:
        """The image the plan was made from (in memory only; None after ``load_plan``)."""
        return self._imaged("image")  # type: ignore[no-any-return]

    @property
    def vessels(self) -> VesselMap | None:
        """Its segmentation (in memory only; None once the dura mode is replaced)."""
        return self._imaged("vessels")  # type: ignore[no-any-return]

    @property
    def avoidance(self) -> AvoidanceMap | None:
        """Its avoidance map (in memory only, None once the dura mode is replaced; rebuilt
        by ``avoidance_for_plan``)."""
        return self._imaged("avoidance")  # type: ignore[no-any-return]

    @property
    def weight(self) -> NDArray[np.float32] | None:
        """The functional weight the placement covered (in memory only)."""
        return self._imaged("weight")  # type: ignore[no-any-return]

    @property
    def grid(self) -> Grid | None:
        """The image grid the plan was made on, while the saved fields it came from hold."""
        return self._derived("grid")  # type: ignore[no-any-return]

    @property
    def scene(self) -> Scene | None:
        """The planner's scene, while the saved fields it came from hold (else None:
        :func:`~insertion_planner.planning.checks.scene_from_plan` rebuilds it)."""
        return self._derived("scene")  # type: ignore[no-any-return]

    @property
    def candidates(self) -> Candidates | None:
        """The candidate sites, while the saved fields they came from hold."""
        return self._derived("candidates")  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ access
    @property
    def active_threads(self) -> tuple[Thread, ...]:
        """Threads not removed or failed (those that occupy a site)."""
        return tuple(t for t in self.threads if t.status not in ("removed", "failed"))

    def thread(self, thread_id: int) -> Thread:
        """The thread with id ``thread_id`` (ValueError when absent)."""
        for t in self.threads:
            if t.id == thread_id:
                return t
        raise ValueError(
            f"thread_id {thread_id!r} is not in the plan (ids {[t.id for t in self.threads]})"
        )

    def with_simulation(self, section: dict[str, Any], statuses: dict[int, str]) -> InsertionPlan:
        """A copy with the JSON ``simulation`` section and new thread statuses.

        Examples
        --------
        >>> from insertion_planner.plan import _example_plan
        >>> p = _example_plan().with_simulation(
        ...     {"robot": "R1-2019", "total_time_s": 10.0,
        ...      "insertions": [{"thread_id": 0, "ok": True, "reasons": [], "time_s": 10.0}]},
        ...     {0: "validated"})
        >>> p.threads[0].status.value, p.simulation["total_time_s"]
        ('validated', 10.0)
        """
        if not isinstance(section, dict):
            raise TypeError(f"section must be a dict, got {type(section).__name__}")
        known = {t.id for t in self.threads}
        bad = set(statuses) - known
        if bad:
            raise ValueError(f"statuses name unknown thread ids {sorted(bad)}")
        threads = tuple(replace(t, status=ThreadStatus(statuses.get(t.id, t.status)))
                        for t in self.threads)  # fmt: skip
        return replace(self, simulation=section, threads=threads)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict (without the checksum)."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,  # a plan is always written in today's format
            "units": {"length": "um", "time": "s", "angle": "rad"},
            "dura_mode": self.dura_mode.value,
            "image": {
                "shape": list(self.image_shape),
                "pixel_size_um": self.pixel_size_um,
                "sha256": self.image_sha256,
            },  # fmt: skip
            "robot": {"name": self.robot, "spec": _canonical(self.robot_spec.to_dict())},
            "config": _canonical(_asdict(self.config)),
            "margins": _canonical(self.margins.to_dict()),
            "threads": [t.to_dict() for t in self.threads],
            "geometry": self.geometry.to_dict(),
            **({"region": encode_region(self.region)} if self.region is not None else {}),
            "n_requested": self.n_requested,
            "binding_constraint": self.binding_constraint,
            "certificate": {"objective": self.objective, "bound": self.bound, "gap": self.gap},
            "provenance": self.provenance,
        }
        if self.simulation is not None:
            out["simulation"] = self.simulation
        if self.retraction is not None:
            out["retraction"] = self.retraction
        return out

    def to_json_text(self) -> str:
        """The canonical JSON text (with checksum), as written by :meth:`to_json`."""
        d = self.to_dict()
        d["checksum"] = _checksum(d)
        return json.dumps(d, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n"

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the plan to ``path`` atomically (byte-identical for identical plans)."""
        atomic_write_text(path, self.to_json_text())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InsertionPlan:
        """Build a plan from a dict produced by :meth:`to_dict` (no schema check)."""
        cert = d["certificate"]
        return cls(
            schema_version=d["schema_version"],
            dura_mode=DuraMode.parse(d["dura_mode"]),
            image_shape=tuple(d["image"]["shape"]),
            pixel_size_um=d["image"]["pixel_size_um"],
            image_sha256=d["image"]["sha256"],
            robot=d["robot"]["name"],
            robot_spec=RobotSpec.from_dict(dict(d["robot"]["spec"])),
            config=PlannerConfig(**config_from_file(d)),
            margins=SafetyMargins(**d["margins"]),
            threads=tuple(Thread.from_dict(t) for t in d["threads"]),
            geometry=PlanGeometry.from_dict(d["geometry"]),
            n_requested=d["n_requested"],
            binding_constraint=d["binding_constraint"],
            objective=cert["objective"],
            bound=cert["bound"],
            gap=cert["gap"],
            simulation=d.get("simulation"),
            retraction=d.get("retraction"),
            provenance=d["provenance"],
            region=decode_region(d["region"], tuple(d["image"]["shape"]))
            if "region" in d
            else None,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InsertionPlan) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def config_from_file(d: dict[str, Any]) -> dict[str, Any]:
    """A plan file's ``config``, completed for files before 1.3 (which saved only some settings).

    The settings a 1.0-1.2 file kept elsewhere come from there: tether clearance, skull
    thickness and incidence limit from ``geometry``; collision margin, strictness and
    vessel polarity from ``provenance.parameters``; the retraction gap, days and samples
    from ``retraction.conditions``; the rest are the defaults they had.

    Examples
    --------
    >>> d = _example_plan().to_dict()
    >>> d["config"] = {k: d["config"][k] for k in ("n_threads", "min_spacing_um", "depth_um",
    ...                                             "dura_thickness_um", "thread_length_um")}
    >>> config_from_file(d)["max_incidence_deg"], config_from_file(d)["skull_thickness_um"]
    (0.0, 6000.0)
    """
    cfg = dict(d["config"])
    g = d.get("geometry") or {}
    params = (d.get("provenance") or {}).get("parameters") or {}
    cond = (d.get("retraction") or {}).get("conditions") or {}
    found = {
        "tether_clearance_um": g.get("tether_clearance_um"),
        "skull_thickness_um": g.get("skull_thickness_um"),
        "max_incidence_deg": None
        if g.get("max_incidence_rad") is None
        else round(math.degrees(float(g["max_incidence_rad"])), 3),  # stored to 1e-6 rad
        "collision_margin_um": params.get("collision_margin_um"),
        "strict": params.get("strict"),
        "vessel_polarity": params.get("vessel_polarity"),
        "implant_gap_um": cond.get("implant_gap_um"),
        "retraction_days": cond.get("days"),
        "retraction_samples": cond.get("n_samples"),
    }
    for name, value in found.items():
        if value is not None:
            cfg.setdefault(name, value)
    return cfg


def _asdict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _canonical(obj: Any) -> Any:
    """A JSON round-trip of ``obj`` (tuples to lists, numpy scalars to Python)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, DuraMode):
            return o.value
        raise TypeError(f"cannot serialise {type(o).__name__} in a plan")

    return json.loads(json.dumps(obj, default=default, allow_nan=False, sort_keys=True))


def _checksum(d: dict[str, Any]) -> str:
    body = {k: v for k, v in d.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _short(value: Any, n: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= n else text[: n - 3] + "..."


def _example_plan() -> InsertionPlan:
    """A tiny two-thread plan for doctests and tests: a 2.4 mm view inside a 25 mm opening."""
    from .robots import get_robot

    exit_um = (14200.0, 1200.0, 1000.0)
    geo = PlanGeometry(
        craniectomy_center_um=(1200.0, 1200.0), craniectomy_radius_um=12500.0,
        skull_thickness_um=6000.0, implant_center_um=(25700.0, 1200.0, 1000.0),
        implant_radius_um=11500.0, implant_height_um=9000.0,
        thread_exit_um=exit_um, vessel_segments_um=np.zeros((0, 7)),
        penetrating_um=np.zeros((0, 5)),
    )  # fmt: skip

    def thread(i: int) -> Thread:
        x, y = 1200.0, 1200.0 + 360 * i
        rim = np.array(exit_um[:2]) + (np.array([x, y]) - exit_um[:2]) * (
            500.0 / math.hypot(x - exit_um[0], y - exit_um[1])
        )  # 500 um inside the exit
        tether = (exit_um, (*rim, exit_um[2]), (*rim, 0.0), (x, y, 0.0))
        return Thread(i, i, (100.0 + 30 * i, 100.0), (x, y, 0.0), (0.0, 0.0, -1.0), 3500.0,
                      200.0, 86.5, ThreadStatus.PLANNED, tether, 1.0)  # fmt: skip

    return InsertionPlan(
        SCHEMA_VERSION, DuraMode.DURECTOMY, (200, 200), 12.0, "0" * 64, "R1-2019",
        get_robot("R1-2019"), PlannerConfig(n_threads=2, max_incidence_deg=0.0), SafetyMargins(), (thread(0), thread(1)),
        geo, 2, None, 4.0, 4.0, 0.0, None, {"package_version": "0.1.0", "parameters": {}, "seed": 0},
    )  # fmt: skip


if __name__ == "__main__":  # pragma: no cover - exercised through the docs test
    import sys

    if sys.argv[1:] == ["--markdown"]:
        sys.stdout.write(schema_markdown())
    else:
        sys.stdout.write(_schema_text())
