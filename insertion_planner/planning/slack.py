"""Tether slack per thread: keep each thread's predicted pull-out under a setting.

With ``max_retraction_risk`` the planner asks the retraction model
(:mod:`insertion_planner.retraction`, the one prediction, run on the same random numbers
as :func:`~insertion_planner.retraction_risk`) how likely each thread is to be pulled
out of the cortex in the weeks after surgery, and lays just enough tether slack for every
thread to stay at or under the setting:

1. each thread starts with its route's own slack (``tether.polyline - taut``);
2. a thread over the setting even with all the slack its thread reaches
   (:func:`~insertion_planner.tether.slack_reach_um`) is moved to the deepest depth its
   window allows (with a depth range; ``deepest_um``);
3. each thread over the setting gets the least slack of its route's plus a multiple of
   ``SLACK_STEP_UM`` (10 um), at most its reach, that brings it under (bisection: the
   pull-out probability never rises with slack, exactly, on common random numbers);
4. threads still over the setting are reported, with the term that binds them
   (``gap``, ``motion``, ``depth`` or ``tether_reach``; :func:`lay_slack`).

Where the slack goes: in the tether's own vertical plane, as the drape where it drops
from the rim of the opening to the pia (the route's own slack lies there too, and the
retraction model's taut length credits only slack in that plane). It adds nothing to the
tether's footprint in plan view, the segment from the thread exit to the site, which the
tangle-free insertion order keeps clear of every later site (:mod:`.ordering`); the
order is therefore unchanged by slack, and no later needle comes down on a laid loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from .._validation import as_rng, check_int_range
from ..electrodes import cortex_thickness_at_um
from ..plan import InsertionPlan, Thread
from ..retraction.inputs import MAX_SAMPLES
from ..retraction.model import Draws, Outcome, Scenario, draw, evaluate
from ..retraction.settings import MAX_LENGTH_UM, BrainMotion, RetractionSettings, check_range
from ..tether import polyline_length_um, slack_reach_um, taut_length_um
from .depth import site_depth_window_um
from .scene import Scene

__all__ = [
    "SLACK_STEP_UM",
    "BINDING_ORDER",
    "RetractionConditions",
    "SlackPlan",
    "lay_slack",
    "relay_slack",
]

SLACK_STEP_UM = 10.0
"""Slack laid on purpose is found to this resolution (the stage's 10 um accuracy, JMIR 2019)."""
BINDING_ORDER = ("gap", "depth", "tether_reach", "motion")
"""Ties between binding terms name the surgical remedies first (a flush implant, then a
deeper insertion, then a longer thread) and brain motion, not a surgical option, last."""


@dataclass(frozen=True)
class RetractionConditions:
    """The conditions the planner predicts retraction under (``retraction_risk``'s options).

    Parameters
    ----------
    implant_gap_um : float
        Gap between the implant and the brain, 0-20,000 um (default 0: flush).
    brain_motion : BrainMotion
        The retraction model's brain motion (default ``BrainMotion()``).
    days : float
        Time after surgery, 0-3650 days (default 30, as ``retraction_risk``: the first
        participant's threads were found retracted about a month after surgery).
    n_samples : int
        Monte Carlo samples per thread, 1-100,000 (default 1000, as ``retraction_risk``: a
        pull-out probability to 0.001).
    seed : int
        Seed of the random numbers (default 0); the same seed gives ``retraction_risk``
        the same random numbers for the same threads in the same order.
    settings : RetractionSettings
        The model's thread and tissue terms (default ``RetractionSettings()``).

    Raises
    ------
    ValueError, TypeError
        A value out of its range, or of the wrong type, naming the parameter.

    Examples
    --------
    >>> c = RetractionConditions(implant_gap_um=3000.0)
    >>> RetractionConditions.from_dict(c.to_dict()) == c
    True
    >>> RetractionConditions(days=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: days must be between 0 and 3650 days, got -1.0
    """

    implant_gap_um: float = 0.0
    brain_motion: BrainMotion = field(default_factory=BrainMotion)
    days: float = 30.0
    n_samples: int = 1000
    seed: int = 0
    settings: RetractionSettings = field(default_factory=RetractionSettings)

    def __post_init__(self) -> None:
        gap = check_range(
            self.implant_gap_um, name="implant_gap_um", low=0, high=MAX_LENGTH_UM, unit=" um"
        )
        object.__setattr__(self, "implant_gap_um", gap)
        object.__setattr__(
            self, "days", check_range(self.days, name="days", low=0, high=3650, unit=" days")
        )
        object.__setattr__(
            self,
            "n_samples",
            check_int_range(self.n_samples, name="n_samples", low=1, high=MAX_SAMPLES),
        )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        if not isinstance(self.brain_motion, BrainMotion):
            raise TypeError(
                "brain_motion must be an insertion_planner.BrainMotion (the retraction model's), "
                f"got {type(self.brain_motion).__name__}"
            )
        if not isinstance(self.settings, RetractionSettings):
            raise TypeError(
                f"retraction_settings must be a RetractionSettings, got {type(self.settings).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The conditions as plain JSON values (the plan's ``retraction.conditions``)."""
        return {
            "implant_gap_um": self.implant_gap_um,
            "days": self.days,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "brain_motion": asdict(self.brain_motion),
            "settings": self.settings.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetractionConditions:
        """The conditions of :meth:`to_dict` output."""
        st = dict(d["settings"])
        st["depth_range_um"] = tuple(st["depth_range_um"])
        return cls(
            implant_gap_um=d["implant_gap_um"], brain_motion=BrainMotion(**d["brain_motion"]),
            days=d["days"], n_samples=d["n_samples"], seed=d["seed"],
            settings=RetractionSettings(**st),
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class SlackPlan:
    """What :func:`lay_slack` chose.

    Attributes
    ----------
    slack_um : (n,) float
        Slack of each thread's tether, um (read-only).
    depth_um : (n,) float
        Tip depth of each thread, um (deeper than given where slack alone could not do).
    pull_out_probability : (n,) float
        Predicted pull-out probability of each thread with that slack and depth.
    section : dict
        The plan's JSON ``retraction`` section.
    """

    slack_um: NDArray[np.float64] = field(repr=False)
    depth_um: NDArray[np.float64] = field(repr=False)
    pull_out_probability: NDArray[np.float64] = field(repr=False)
    section: dict[str, Any]


def _route_slack(tether: Any) -> float:
    return max(polyline_length_um(tether) - taut_length_um(tether), 0.0)


def lay_slack(
    threads: Any,
    *,
    max_retraction_risk: float,
    thickness_um: ArrayLike,
    thread_length_um: float,
    conditions: RetractionConditions | None = None,
    deepest_um: ArrayLike | None = None,
    keep: ArrayLike | None = None,
) -> SlackPlan:
    """Least tether slack per thread keeping its predicted pull-out at most a setting.

    Parameters
    ----------
    threads : sequence of Thread
        The plan's active threads in insertion order (the order of
        :func:`~insertion_planner.retraction_risk`'s random numbers, so the two agree).
    max_retraction_risk : float
        Largest pull-out probability accepted per thread, in (0, 1].
    thickness_um : (n,) float
        Cortical thickness along each needle, um.
    thread_length_um : float
        Thread length bounding each tether's slack (``settings.thread_length_um`` wins
        when set, as in ``retraction_risk``).
    conditions : RetractionConditions, optional
    deepest_um : (n,) float, optional
        Deepest depth each thread may be moved to (its depth window's deep end); None:
        depths are kept.
    keep : (n,) bool, optional
        Threads whose slack (``slack_um``, else the route's) and depth are kept as they
        are (laid tethers, threads not edited); their prediction is still reported.

    Returns
    -------
    SlackPlan

    Raises
    ------
    ValueError
        ``max_retraction_risk`` outside (0, 1], or arrays not one value per thread.

    Notes
    -----
    When some thread stays over the setting (with all the slack its thread reaches and,
    with a range, as deep as its cortex allows), ``section["binding_term"]`` names which
    term binds those threads: the one whose relaxation alone brings the most of them
    under the setting, on the same random numbers (when none brings any under, the one
    that lowers their summed pull-out probability most); ties in ``BINDING_ORDER``. The
    relaxations: ``gap``, a flush implant; ``depth``, each such thread as deep as
    ``settings.depth_range_um``'s upper end with the cortex taken as thick as that (what
    a thin cortex costs); ``tether_reach``, each such tether with
    ``settings.planned_slack_um`` more slack than its thread reaches (what the thread's
    length costs); ``motion``, a still brain. These are the terms of
    :attr:`~insertion_planner.retraction.RetractionReport.binding_term`, relaxed past the
    limits the planner has already reached.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> threads = _example_plan().threads
    >>> out = lay_slack(threads, max_retraction_risk=0.01, thickness_um=[4000.0, 4000.0],
    ...                 thread_length_um=20000.0,
    ...                 conditions=RetractionConditions(implant_gap_um=3000.0))
    >>> out.section["met"], bool((out.pull_out_probability <= 0.01).all())
    (True, True)
    >>> bool((out.slack_um > 2000.0).all())   # far more than the routes' ~1 mm
    True
    """
    risk = check_range(max_retraction_risk, name="max_retraction_risk", low=0, high=1)
    if risk == 0:
        raise ValueError("max_retraction_risk must be in (0, 1], got 0.0")
    cond = RetractionConditions() if conditions is None else conditions
    st = cond.settings
    n = len(threads)
    thick = _per_thread(thickness_um, n, "thickness_um")
    length = st.thread_length_um or float(thread_length_um)
    reach = np.array([slack_reach_um(t.tether_um, length) for t in threads])
    route = np.minimum([_route_slack(t.tether_um) for t in threads], reach) if n else np.zeros(0)
    own = np.array([route[i] if t.slack_um is None else t.slack_um for i, t in enumerate(threads)])
    kept = np.zeros(n, bool) if keep is None else _per_thread(keep, n, "keep").astype(bool)
    depth = np.array([t.depth_um for t in threads], dtype=np.float64)
    deepest = (
        depth.copy()
        if deepest_um is None
        else np.maximum(_per_thread(deepest_um, n, "deepest_um"), depth)
    )
    draws = draw(as_rng(cond.seed), n, cond.n_samples)

    def pull_out(slack: NDArray[np.float64], d: NDArray[np.float64]) -> NDArray[np.float64]:
        return _evaluate(cond, draws, d, thick, slack).pull_out

    slack = np.where(kept, own, route)
    free = ~kept
    at_reach = np.where(free, reach, slack)
    deepen = free & (pull_out(at_reach, depth) > risk) & (deepest > depth)
    depth = np.where(deepen, deepest, depth)
    need = free & (pull_out(slack, depth) > risk)
    fits = need & (pull_out(np.where(need, reach, slack), depth) <= risk)
    # the least k with route + k * SLACK_STEP_UM (at most the reach) under the setting
    k_lo = np.zeros(n)
    k_hi = np.where(fits, np.ceil((reach - slack) / SLACK_STEP_UM), 0.0)
    while (fits & (k_hi - k_lo > 1)).any():
        k_mid = np.floor(0.5 * (k_lo + k_hi))
        trial = np.where(fits, np.minimum(slack + k_mid * SLACK_STEP_UM, reach), slack)
        ok = pull_out(trial, depth) <= risk
        move = fits & (k_hi - k_lo > 1)
        k_hi = np.where(move & ok, k_mid, k_hi)
        k_lo = np.where(move & ~ok, k_mid, k_lo)
    slack = np.where(fits, np.minimum(slack + k_hi * SLACK_STEP_UM, reach), slack)
    slack = np.where(need & ~fits, reach, slack)
    final = _evaluate(cond, draws, depth, thick, slack)
    route_only = _evaluate(cond, draws, depth, thick, np.where(kept, own, route))
    over = final.pull_out > risk
    term = _binding(cond, draws, over, depth, thick, slack, reach, risk) if over.any() else None
    section = {
        "max_retraction_risk": risk,
        "met": not bool(over.any()),
        "binding_term": term,
        "pull_out_probability_max": round(float(final.pull_out.max(initial=0.0)), 6),
        "electrodes_retained_fraction": round(final.retained_fraction, 6),
        "electrodes_retained_fraction_route_slack": round(route_only.retained_fraction, 6),
        "threads_over": [t.label for t, o in zip(threads, over, strict=True) if o],
        "conditions": cond.to_dict(),
    }
    return SlackPlan(readonly(slack), readonly(depth), readonly(np.array(final.pull_out)), section)


def relay_slack(
    plan: InsertionPlan, threads: tuple[Thread, ...], scene: Scene
) -> tuple[tuple[Thread, ...], dict[str, Any] | None]:
    """Slack for the threads an edit or a replan made, and the plan's new ``retraction``.

    Threads that carry ``slack_um`` keep it (and their depth): laid tethers and threads
    the edit did not touch. New and moved threads (``slack_um`` None) get theirs from
    :func:`lay_slack` under the conditions the plan recorded (``plan.retraction``), with
    the cortical thickness of the plan's scene (a plan loaded from a file knows none:
    ``RetractionSettings.cortex_thickness_um``). Without ``max_retraction_risk`` the
    threads are returned as they are.

    Parameters
    ----------
    plan : InsertionPlan
        The plan before the edit (its config and ``retraction`` section).
    threads : tuple of Thread
        The edited threads, in their new order.
    scene : Scene

    Returns
    -------
    threads : tuple of Thread
    section : dict or None

    Examples
    --------
    >>> from dataclasses import replace
    >>> from insertion_planner.plan import _example_plan
    >>> from insertion_planner.planning.checks import scene_from_plan
    >>> p = _example_plan()
    >>> p = replace(p, config=p.config.replace(max_retraction_risk=0.05))
    >>> threads, section = relay_slack(p, p.threads, scene_from_plan(p))
    >>> [t.slack_um is not None for t in threads], section["met"]
    ([True, True], True)
    """
    risk = plan.config.max_retraction_risk
    if risk is None:
        return threads, None
    cond = (RetractionConditions() if plan.retraction is None
            else RetractionConditions.from_dict(plan.retraction["conditions"]))  # fmt: skip
    active = [t for t in threads if t.status not in ("removed", "failed")]
    if not active:
        return threads, None
    rc = np.array([t.pixel for t in active], dtype=np.float64)
    thick = scene.cortex_thickness_um
    along = cortex_thickness_at_um(cond.settings.cortex_thickness_um if thick is None else thick, rc,
                                   [t.direction[2] for t in active])  # fmt: skip
    keep = np.array([t.slack_um is not None for t in active])
    deepest = None
    if scene.depth_range_um is not None:
        lo, hi = site_depth_window_um(scene, rc)
        deepest = np.where(lo <= hi, hi, [t.depth_um for t in active])
    sp = lay_slack(active, max_retraction_risk=risk, thickness_um=along, conditions=cond,
                   thread_length_um=plan.config.thread_length_um, deepest_um=deepest, keep=keep)  # fmt: skip
    new = {t.id: replace(t, depth_um=float(d), slack_um=float(v))
           for t, d, v in zip(active, sp.depth_um, sp.slack_um, strict=True)}  # fmt: skip
    return tuple(new.get(t.id, t) for t in threads), sp.section


def _per_thread(value: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim > 1 or (a.ndim == 1 and len(a) != n):
        raise ValueError(f"{name} must hold one value per thread ({n}), got shape {a.shape}")
    return np.array(np.broadcast_to(a, (n,)), dtype=np.float64)


def _evaluate(
    cond: RetractionConditions,
    draws: Draws,
    depth: NDArray[np.float64],
    thickness: NDArray[np.float64],
    slack: NDArray[np.float64],
    *,
    gap_um: float | None = None,
    motion: BrainMotion | None = None,
) -> Outcome:
    d, t, s = (readonly(np.array(a, dtype=np.float64)) for a in (depth, thickness, slack))
    sc = Scenario(d, t, s, cond.implant_gap_um if gap_um is None else gap_um,
                  cond.brain_motion if motion is None else motion, cond.days, cond.settings)  # fmt: skip
    return evaluate(sc, draws)


def _binding(
    cond: RetractionConditions,
    draws: Draws,
    over: NDArray[np.bool_],
    depth: NDArray[np.float64],
    thick: NDArray[np.float64],
    slack: NDArray[np.float64],
    reach: NDArray[np.float64],
    risk: float,
) -> str | None:
    """The term binding the threads over the setting (see :func:`lay_slack`, Notes)."""
    st = cond.settings
    sub = Draws(draws.motion_z, draws.gap_u[over])
    d, t, s, r = depth[over], thick[over], slack[over], reach[over]
    deep = np.maximum(d, st.depth_range_um[1])
    cases = {
        "gap": _evaluate(cond, sub, d, t, s, gap_um=0.0),
        "depth": _evaluate(cond, sub, deep, np.maximum(t, deep), s),
        "tether_reach": _evaluate(cond, sub, d, t, r + st.planned_slack_um),
        "motion": _evaluate(cond, sub, d, t, s, motion=cond.brain_motion.still()),
    }
    base = float(_evaluate(cond, sub, d, t, s).pull_out.sum())
    under = {k: int((v.pull_out <= risk).sum()) for k, v in cases.items()}
    removed = {k: base - float(v.pull_out.sum()) for k, v in cases.items()}
    rank = list(BINDING_ORDER)
    if max(under.values()) > 0:
        best = max(rank, key=lambda k: (under[k], -rank.index(k)))
        return best
    best = max(rank, key=lambda k: (removed[k], -rank.index(k)))
    return best if removed[best] > 1e-12 else None
