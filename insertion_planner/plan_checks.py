"""Checks of plan files and plans, and the compact encoding of a plan's target region.

A plan file is checked, never trusted (its checksum is a content hash that anyone can
recompute). :func:`~insertion_planner.load_plan` asks, in turn: :func:`json_text_problem`
(the raw text, read by :func:`read_plan_json`: numbers JSON forbids but Python's ``json``
accepts -- ``NaN``, ``Infinity``, numbers beyond the double range -- duplicate keys and
nesting deeper than any plan, each named by its JSON path), the JSON Schema (types and
every range, :func:`~insertion_planner.plan_schema.schema_problem`), and
:func:`plan_problems` (what no planner could have written). :func:`encode_region` /
:func:`decode_region` store the target region in the plan file.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .electrodes import ELECTRODE_PITCH_UM, N_ELECTRODES
from .errors import PlanFileError
from .tether import slack_reach_um
from .thread import ThreadStatus

__all__ = [
    "encode_region",
    "decode_region",
    "plan_problems",
    "derived_problems",
    "json_text_problem",
    "json_path",
    "read_plan_json",
    "MAX_NESTING",
    "MAX_PLAN_BYTES",
]

MAX_NESTING = 32
"""Deepest nesting of arrays and objects accepted in a plan file (a plan needs 5)."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[^\s\[\]{},:"]+')
_NON_FINITE = {"NaN", "Infinity", "-Infinity"}


def json_path(parts: Any) -> str:
    """A JSON path as plan-file messages write it: keys and indices joined by ``/``.

    Examples
    --------
    >>> json_path(["threads", 0, "entry_um", 2])
    'threads/0/entry_um/2'
    >>> json_path([])
    '(top level)'
    """
    return "/".join(str(p) for p in parts) or "(top level)"


def _short_path(parts: list[Any], n: int = 12) -> str:
    text = json_path(parts[:n])
    return text + "/..." if len(parts) > n else text


def json_text_problem(text: str, *, max_depth: int = MAX_NESTING) -> str | None:
    """The first problem of a JSON text that its parser would let through, or None.

    Python's ``json`` accepts ``NaN``, ``Infinity`` and ``-Infinity``, turns a number
    beyond the double range (``1e999``) into infinity, keeps the last of duplicate keys,
    and recurses once per level of nesting (a deeply nested file ends in a
    ``RecursionError``). This scans the text once, without recursion, and returns one
    line naming the JSON path of the first such value. Other syntax errors are left to
    the parser.

    Examples
    --------
    >>> json_text_problem('{"image": {"shape": [4, 4], "pixel_size_um": NaN}}')
    'image/pixel_size_um: NaN is not a finite number'
    >>> json_text_problem('{"threads": [{"entry_um": [0, 1e999, 0]}]}')
    'threads/0/entry_um/1: 1e999 overflows to infinity'
    >>> json_text_problem('[' * 40 + ']' * 40)
    '0/0/0/0/0/0/0/0/0/0/0/0/...: nested deeper than 32 levels'
    >>> json_text_problem('{"a": 1, "a": 2}')
    "a: duplicate key 'a'"
    >>> json_text_problem('{"a": [1.5, -2e300, "NaN"]}') is None
    True
    """
    # each open container: [is_object, key or index, expecting a key, keys seen]
    stack: list[list[Any]] = []

    def here() -> list[Any]:
        return [frame[1] for frame in stack]

    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in "[{":
            if len(stack) >= max_depth:
                return f"{_short_path(here())}: nested deeper than {max_depth} levels"
            stack.append([c == "{", None if c == "{" else 0, c == "{", set()])
        elif c in "]}":
            if stack:
                stack.pop()
        elif c == ",":
            if stack:
                top = stack[-1]
                if top[0]:
                    top[2] = True
                else:
                    top[1] += 1
        elif c == ":":
            if stack and stack[-1][0]:
                stack[-1][2] = False
        elif c == '"':
            if stack and stack[-1][0] and stack[-1][2]:
                top = stack[-1]
                try:
                    key = json.loads(tok)
                except ValueError:
                    key = tok[1:-1]
                if key in top[3]:
                    top[1] = key
                    return f"{_short_path(here())}: duplicate key {key!r}"
                top[3].add(key)
                top[1] = key
        elif tok in _NON_FINITE:
            return f"{_short_path(here())}: {tok} is not a finite number"
        elif c in "-0123456789":
            try:
                value = float(tok)
            except ValueError:
                continue  # not a number: the parser names it
            if not math.isfinite(value):
                return f"{_short_path(here())}: {tok[:24]} overflows to infinity"
    return None


def encode_region(mask: NDArray[np.bool_]) -> dict[str, str]:
    """Run-length encode an (H, W) bool mask by rows: ``{"encoding": "row-runs", "runs": ...}``.

    ``runs`` reads ``row:start-stop,start-stop;row:...`` (columns ``[start, stop)``);
    rows without a region pixel are left out.

    Examples
    --------
    >>> m = np.zeros((3, 6), bool); m[1, 1:3] = m[1, 4:6] = m[2, 0] = True
    >>> encode_region(m)["runs"]
    '1:1-3,4-6;2:0-1'
    >>> bool((decode_region(encode_region(m), (3, 6)) == m).all())
    True
    """
    a = np.asarray(mask, bool)
    padded = np.zeros((a.shape[0], a.shape[1] + 2), np.int8)
    padded[:, 1:-1] = a
    edges = np.diff(padded, axis=1)
    rows_s, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)
    parts: list[str] = []
    for r in np.unique(rows_s):
        sel = rows_s == r
        parts.append(
            f"{r}:" + ",".join(f"{a0}-{b0}" for a0, b0 in zip(starts[sel], stops[sel], strict=True))
        )
    return {"encoding": "row-runs", "runs": ";".join(parts)}


def decode_region(
    data: dict[str, Any], shape: tuple[int, int], *, name: str = "region"
) -> NDArray[np.bool_]:
    """The (H, W) bool mask of an :func:`encode_region` dict.

    Raises
    ------
    ValueError
        A run lies outside ``shape`` or the mask is empty, naming ``name``.

    Examples
    --------
    >>> decode_region({"encoding": "row-runs", "runs": "0:1-3"}, (1, 4)).tolist()
    [[False, True, True, False]]
    """
    h, w = shape
    out = np.zeros((h, w), bool)
    runs = data.get("runs", "")
    for part in runs.split(";") if runs else []:
        row_s, spans = part.split(":")
        r = int(row_s)
        for span in spans.split(","):
            a0, b0 = (int(v) for v in span.split("-"))
            if not (0 <= r < h and 0 <= a0 < b0 <= w):
                raise ValueError(
                    f"{name} run {r}:{a0}-{b0} lies outside the image of shape {shape}"
                )
            out[r, a0:b0] = True
    if not out.any():
        raise ValueError(f"{name} is empty")
    return out


MAX_PLAN_BYTES = 64 * 2**20
"""Largest plan file read (a 64-thread plan with 2,000 vessel segments is under 1 MiB)."""


def read_plan_json(path: str) -> Any:
    """The parsed JSON of plan file ``path``, its text checked first (:func:`json_text_problem`).

    Raises
    ------
    PlanFileError
        The file is missing, larger than ``MAX_PLAN_BYTES``, not UTF-8 JSON, or holds a
        value :func:`json_text_problem` finds (named by its JSON path).
    """
    if not os.path.isfile(path):
        raise PlanFileError(f"plan file {path!r} does not exist")
    size = os.path.getsize(path)
    if size > MAX_PLAN_BYTES:
        raise PlanFileError(
            f"plan file {path!r} is {size / 2**20:.0f} MiB, larger than any plan "
            f"(limit {MAX_PLAN_BYTES // 2**20} MiB)"
        )
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"plan file {path!r} is not valid JSON: {exc}") from None
    problem = json_text_problem(text)
    if problem is not None:
        raise PlanFileError(f"plan file {path!r} holds a value no plan can hold at {problem}")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        why = " ".join(str(exc).split())
        why = why if len(why) <= 160 else why[:157] + "..."
        raise PlanFileError(f"plan file {path!r} is not valid JSON: {why}") from None


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a finite number")  # found earlier, with its path


_CHECKED = tuple(s.value for s in ThreadStatus if s.is_active)
_TOL_UM = 1e-3


def plan_problems(plan: Any) -> list[str]:
    """Problems of a plan's file consistency (empty when none), one line each, naming the thread.

    These are impossible for a plan the planner wrote, so a file holding them was edited
    by hand (its checksum, a content hash, can be recomputed by anyone): a requirement
    below the margin model's floor, a needle axis that is not a unit vector pointing down
    or tilts past the robot's limit, a pixel outside the image, an entry point that is
    not at its pixel (x = col * pixel_size_um, y = row * pixel_size_um), a stored
    craniectomy mask not of the image's shape, duplicate insertion orders or ids not
    0..n-1, a simulation status without a simulation section, a tether ``slack_um``
    beyond what the thread reaches (``config.thread_length_um`` less the taut route,
    :func:`insertion_planner.tether.slack_reach_um`), a ``retraction`` section whose
    setting is not the config's. The constraints themselves (vessel clearance, region,
    opening, spacing, depth, ...) are judged by the one validity checker
    (:func:`insertion_planner.plan_file.plan_violations`).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from insertion_planner.plan import _example_plan
    >>> p = _example_plan()
    >>> plan_problems(p)
    []
    >>> bad = replace(p, threads=(replace(p.threads[0], required_clearance_um=50.0), p.threads[1]))
    >>> plan_problems(bad)
    ["thread 0: required clearance 50.0 um is below the margin model's 86.5 um for durectomy"]
    """
    out: list[str] = []
    h, w = plan.image_shape
    px = plan.pixel_size_um
    floor = float(plan.margins.required_um(plan.dura_mode))
    tilt_max = plan.robot_spec.max_tilt_rad
    opening = getattr(plan.geometry, "craniectomy_mask", None)
    if opening is not None and tuple(opening.shape) != (h, w):
        out.append(f"geometry craniectomy_mask has shape {tuple(opening.shape)}, the image "
                   f"{tuple(plan.image_shape)}")  # fmt: skip
    for t in plan.threads:
        name = f"thread {t.id}"
        r, c = t.pixel
        if not (0 <= r <= h - 1 and 0 <= c <= w - 1):
            out.append(
                f"{name}: pixel {t.pixel} lies outside the image of shape {plan.image_shape}"
            )
        if abs(t.entry_um[0] - c * px) > _TOL_UM or abs(t.entry_um[1] - r * px) > _TOL_UM:
            out.append(f"{name}: entry_um {t.entry_um[:2]} is not at its pixel {t.pixel} "
                       f"(expected x = col * {px}, y = row * {px})")  # fmt: skip
        d = np.asarray(t.direction)
        norm = float(np.linalg.norm(d))
        if abs(norm - 1.0) > 1e-4:
            out.append(f"{name}: direction {t.direction} is not a unit vector (norm {norm:.6g})")
        elif d[2] >= 0:
            out.append(f"{name}: direction {t.direction} does not point down into tissue")
        elif math.acos(min(1.0, -d[2] / norm)) > tilt_max + 1e-3:
            out.append(f"{name}: direction {t.direction} tilts {math.degrees(math.acos(-d[2] / norm)):.1f} deg, "
                       f"more than robot {plan.robot} allows ({math.degrees(tilt_max):.1f} deg)")  # fmt: skip
        if t.status in _CHECKED and t.required_clearance_um < floor - _TOL_UM:
            out.append(f"{name}: required clearance {t.required_clearance_um} um is below the margin "
                       f"model's {floor:.1f} um for {plan.dura_mode.value}")  # fmt: skip
        if t.status in ("validated", "rejected") and plan.simulation is None:
            out.append(f"{name}: status {t.status.value!r} but the plan has no simulation section")
        if getattr(t, "slack_um", None) is not None:
            reach = slack_reach_um(t.tether_um, plan.config.thread_length_um)
            if t.slack_um > reach + _TOL_UM:
                out.append(f"{name}: slack_um {t.slack_um} um is more than its thread reaches, "
                           f"{reach:.1f} um (thread_length_um less the taut tether route)")  # fmt: skip
    out += _config_problems(plan)
    section = getattr(plan, "retraction", None)
    risk = getattr(plan.config, "max_retraction_risk", None)
    if section is not None and section.get("max_retraction_risk") != risk:
        out.append(f"retraction section's max_retraction_risk {section.get('max_retraction_risk')} is "
                   f"not the config's {risk}")  # fmt: skip
    orders = [t.order for t in plan.threads]
    if len(set(orders)) != len(orders):
        out.append(f"threads share an insertion order: orders {sorted(orders)}")
    else:
        out += _not_numbered("insertion orders", orders)
    out += _not_numbered("thread ids", [t.id for t in plan.threads])
    return out


def derived_problems(stored_threads: list[dict[str, Any]], threads: Any) -> list[str]:
    """Stored derived values of threads that are not the derived ones (empty when none).

    A plan file's thread may hold ``target_um`` (the needle tip, ``entry_um + depth_um *
    direction``) and ``electrode_depths_um`` (``depth_um - 200 k``, k = 0..15); both are
    derived from the thread (:class:`~insertion_planner.Thread`), so a stored value that
    differs by more than 1e-3 um was edited by hand. Files of schema 1.0 and 1.1 hold
    neither.

    Parameters
    ----------
    stored_threads : list of dict
        The file's ``threads`` as parsed (named by their index in the file).
    threads : sequence of Thread
        The threads built from them (matched by ``id``).

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> t = _example_plan().threads[0]
    >>> derived_problems([t.to_dict()], [t])
    []
    >>> derived_problems([{**t.to_dict(), "target_um": [0.0, 0.0, -3500.0]}], [t])
    ['threads/0/target_um: [0, 0, -3500] is not entry_um + depth_um * direction = [1200, 1200, -3500]']
    """
    out = []
    what = {"target_um": "entry_um + depth_um * direction",
            "electrode_depths_um": f"depth_um - {ELECTRODE_PITCH_UM:g} k, k = 0..{N_ELECTRODES - 1}"}  # fmt: skip
    by_id = {t.id: t for t in threads}
    for i, d in enumerate(stored_threads):
        t = by_id[d["id"]]
        for name, rule in what.items():
            if name not in d:
                continue
            stored, derived = [float(v) for v in d[name]], list(getattr(t, name))
            if len(stored) != len(derived) or any(
                abs(a - b) > _TOL_UM for a, b in zip(stored, derived, strict=False)
            ):
                out.append(
                    f"threads/{i}/{name}: {_brief(stored)} is not {rule} = {_brief(derived)}"
                )
    return out


def _config_problems(plan: Any) -> list[str]:
    """The settings the config and the geometry both keep, where they disagree."""
    c, g = plan.config, plan.geometry
    dura = c.dura_thickness_um if plan.dura_mode.value == "transdural" else 0.0
    pairs = (("tether_clearance_um", c.tether_clearance_um, g.tether_clearance_um),
             ("skull_thickness_um", c.skull_thickness_um, g.skull_thickness_um),
             ("max_incidence_deg", c.max_incidence_deg, math.degrees(g.max_incidence_rad)),
             ("dura_thickness_um", dura, g.dura_thickness_um))  # fmt: skip
    out = [
        f"config {name} {mine} is not the geometry's {theirs:.6g}"
        for name, mine, theirs in pairs
        if abs(mine - theirs) > 1e-3
    ]
    # the settings the provenance records as the planner ran
    params = (plan.provenance or {}).get("parameters") or {}
    for name in _RECORDED_SETTINGS:
        if name not in params:
            continue
        mine, said = getattr(c, name), params[name]
        same = (mine == said) if isinstance(mine, (bool, str)) or isinstance(said, (bool, str)) else (
            isinstance(said, (int, float)) and abs(float(mine) - float(said)) <= 1e-3)  # fmt: skip
        if not same:
            out.append(f"config {name} {mine!r} is not the {said!r} the provenance records")
    return out


_RECORDED_SETTINGS = ("n_threads", "min_spacing_um", "depth_um", "tether_clearance_um",
                      "max_incidence_deg", "skull_thickness_um", "collision_margin_um", "strict",
                      "vessel_polarity")  # fmt: skip


def _brief(values: list[float]) -> str:
    more = ", ..." if len(values) > 4 else ""
    return "[" + ", ".join(f"{v:g}" for v in values[:4]) + more + "]"


def _not_numbered(what: str, values: list[int]) -> list[str]:
    """``[problem]`` when ``values`` are not 0..n-1 each once (duplicates reported elsewhere)."""
    n = len(values)
    extra = sorted(set(values) - set(range(n)))
    if not extra:
        return []
    missing = sorted(set(range(n)) - set(values))
    return [f"{what} must be 0..{n - 1} each once, got {extra[:3]} instead of {missing[:3]}"]
