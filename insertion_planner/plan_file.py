"""Reading a plan file: every value and every constraint checked, nothing trusted.

:func:`load_plan` checks a file in layers, the last of which asks the one validity
checker (:class:`~insertion_planner.planning.validity.ValidityChecker`) that planning and
simulation ask, against the scene rebuilt from the file
(:func:`~insertion_planner.planning.checks.scene_from_plan`).
"""

from __future__ import annotations

import os
from typing import Any

from .config import PlannerConfig, SafetyMargins
from .errors import PlanFileError
from .plan import InsertionPlan, PlanGeometry, _checksum, _short, config_from_file
from .plan_checks import decode_region, derived_problems, plan_problems, read_plan_json
from .plan_schema import schema_problem
from .planning.checks import requirement_floor_um, scene_from_plan
from .planning.validity import Violation, thread_violations
from .robots import RobotSpec
from .thread import Thread, ThreadStatus, thread_label

__all__ = ["load_plan", "plan_violations", "CHECKED_STATUSES"]

CHECKED_STATUSES = tuple(s.value for s in ThreadStatus if s.is_active)
"""Threads whose constraints a plan file must meet: the active ones (not failed or removed),
the threads planning and simulation judge too."""


def plan_violations(plan: InsertionPlan, *, avoidance: Any = None) -> list[Violation]:
    """The constraints a plan's checked threads break, judged as planning judges them.

    The threads of :data:`CHECKED_STATUSES` are asked of the one validity checker, in the
    scene rebuilt from the plan (its opening, surface, implant, robot and region), exactly
    as :func:`~insertion_planner.check_plan` asks it (a requirement below the margin model's
    is a file inconsistency, refused by ``plan_problems``). Without ``avoidance``
    (a plan file alone) vessel clearance is judged from the recorded clearances and the
    recorded penetrating vessels; with the image's map (:func:`~insertion_planner.avoidance_for_plan`)
    the map judges it, as :func:`~insertion_planner.check_plan` does.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from insertion_planner.plan import _example_plan
    >>> p = _example_plan()
    >>> plan_violations(p)
    []
    >>> bad = replace(p, threads=(replace(p.threads[0], clearance_um=50.0), p.threads[1]))
    >>> [v.message for v in plan_violations(bad)]
    ['thread 0 (T01) records clearance 50.0 um < required 86.5 um']
    """
    checked = [t for t in plan.threads if t.status.is_active]
    floor, extra = requirement_floor_um(plan.margins, plan.robot_spec, plan.dura_mode)
    return thread_violations(
        checked, scene=scene_from_plan(plan, avoidance), avoidance=avoidance, region=plan.region,
        min_spacing_um=plan.config.min_spacing_um, required_extra_um=extra,
        required_floor_um=floor,
    )  # fmt: skip


def load_plan(path: str | os.PathLike[str]) -> InsertionPlan:
    """Read a plan file and check everything in it; a plan file is checked, never trusted.

    The file's checksum is a content hash that anyone can recompute, so the content
    itself is checked, in this order: the text (every number finite -- Python's ``json``
    would accept ``NaN``, ``Infinity`` and numbers beyond the double range -- no duplicate
    key, nesting at most ``MAX_NESTING`` deep), the JSON Schema (types and the range of
    every number: pixel size 0.5-100 um, depths in (0, 10000] um, clearances >= 0, pixels
    inside 8192 x 8192, thread ids and orders 0-63, ...), the checksum, the values of each
    section (robot, config, margins, threads, geometry), the file's consistency
    (:func:`~insertion_planner.plan.plan_problems`: pixels inside the image, entry points at
    their pixels, unit needle axes, ids and orders 0..n-1, derived values and labels, ...),
    and then every constraint of every active thread, asked of the one validity checker
    that planning and simulation ask (:func:`plan_violations`: vessel clearance as recorded,
    region, opening, head keep-out, incidence, tether reach, depth, spacing, tangling).

    Raises
    ------
    PlanFileError
        One line naming the file and the JSON path of the first failing value (e.g.
        ``image/pixel_size_um``, ``threads/0/entry_um/2``), or the thread concerned.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from insertion_planner.plan import _example_plan
    >>> p = _example_plan()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p.to_json(pathlib.Path(d) / "plan.json")
    ...     load_plan(pathlib.Path(d) / "plan.json") == p
    True
    >>> with tempfile.TemporaryDirectory() as d:
    ...     bad = pathlib.Path(d) / "bad.json"
    ...     _ = bad.write_text(p.to_json_text().replace('"pixel_size_um": 12.0', '"pixel_size_um": NaN'))
    ...     load_plan(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    insertion_planner.errors.PlanFileError: plan file '...bad.json' holds a value no plan can hold at image/pixel_size_um: NaN is not a finite number
    """
    p = os.fspath(path)
    data = read_plan_json(p)
    problem = schema_problem(data)
    if problem is not None:
        raise PlanFileError(f"plan file {p!r} fails the plan schema at {problem}")
    if data["checksum"] != _checksum(data):
        raise PlanFileError(
            f"plan file {p!r} was modified after it was written: its checksum does not match its content"
        )
    plan = _from_checked_dict(p, data)
    problems = plan_problems(plan)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PlanFileError(f"plan file {p!r} holds an impossible plan: {problems[0]}{more}")
    problems = derived_problems(data["threads"], plan.threads)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PlanFileError(f"plan file {p!r} holds an impossible plan: {problems[0]}{more}")
    for i, t in enumerate(data["threads"]):
        if "label" in t and t["label"] != thread_label(t["order"]):
            raise PlanFileError(
                f"plan file {p!r} names thread {i} {t['label']!r}, but its insertion order "
                f"{t['order']} makes it {thread_label(t['order'])!r}"
            )
    found = plan_violations(plan)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PlanFileError(f"plan file {p!r} holds an impossible plan: {found[0].message}{more}")
    return plan


def _from_checked_dict(p: str, data: dict[str, Any]) -> InsertionPlan:
    """:meth:`InsertionPlan.from_dict`, a section's bad value named by the section's path."""
    sections: tuple[tuple[str, Any], ...] = (
        ("robot/spec", lambda: RobotSpec.from_dict(dict(data["robot"]["spec"]))),
        ("config", lambda: PlannerConfig(**config_from_file(data))),
        ("margins", lambda: SafetyMargins(**data["margins"])),
        *((f"threads/{i}", lambda t=t: Thread.from_dict(t)) for i, t in enumerate(data["threads"])),
        ("geometry", lambda: PlanGeometry.from_dict(data["geometry"])),
        ("region", lambda: data.get("region") and decode_region(data["region"], tuple(data["image"]["shape"]))),
        ("(top level)", lambda: InsertionPlan.from_dict(data)),
    )  # fmt: skip
    for where, build in sections:
        try:
            out = build()
        except (ValueError, TypeError, KeyError) as exc:
            why = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise PlanFileError(
                f"plan file {p!r} holds an invalid value at {where}: {_short(why, 200)}"
            ) from None
    assert isinstance(out, InsertionPlan)
    return out
