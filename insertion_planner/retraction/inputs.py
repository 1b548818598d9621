"""The inputs of the retraction model, checked once at the door, and their variants.

:func:`prepare` converts a plan and the options of
:func:`~insertion_planner.retraction_risk` into a :class:`~.model.Scenario` and draws
the random numbers; :func:`variants` removes one term at a time (``TERMS``) for the
binding term and the mitigation table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from .._validation import _describe, as_rng, check_int_range
from ..electrodes import cortex_thickness_at_um, sample_map
from ..plan import InsertionPlan, Thread
from ..tether import slack_reach_um
from .geometry import tether_slack_um
from .model import Draws, Outcome, Scenario, draw
from .settings import MAX_LENGTH_UM, BrainMotion, RetractionSettings, check_range

__all__ = ["TERMS", "MAX_SAMPLES", "Prepared", "prepare", "variants", "binding"]

TERMS = ("gap", "motion", "depth", "tether_reach")
"""The terms a loss is attributed to, in the order ties are broken."""
MAX_SAMPLES = 100_000
"""Most Monte Carlo samples per thread (memory: threads x samples float32 kept)."""


@dataclass(frozen=True)
class Prepared:
    """A checked scenario, the threads it covers, their tether reach and the draws."""

    threads: tuple[Thread, ...]
    scenario: Scenario
    reach_um: NDArray[np.float64]
    draws: Draws
    n_samples: int
    seed: int | None


def _thickness(
    value: Any, plan: InsertionPlan, threads: tuple[Thread, ...], default: float
) -> NDArray[np.float64]:
    down = [t.direction[2] for t in threads]
    if value is None:
        return cortex_thickness_at_um(default, [t.pixel for t in threads], down)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = check_range(value, name="cortex_thickness_um", low=1, high=10000, unit=" um")
        return cortex_thickness_at_um(v, [t.pixel for t in threads], down)
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"cortex_thickness_um must be None, a number or an (H, W) array, got "
            f"{type(value).__name__}"
        )
    if value.shape != plan.image_shape:
        raise ValueError(
            f"cortex_thickness_um must be a number or a map of the plan's image shape "
            f"{plan.image_shape}, got shape {value.shape}"
        )
    out = sample_map(value, [t.pixel for t in threads])
    bad = ~(np.isfinite(out) & (out >= 1) & (out <= 10000))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"cortex_thickness_um must be between 1 and 10000 um at every thread, got "
            f"{out[i]} at {threads[i].label} (pixel {threads[i].pixel})"
        )
    return cortex_thickness_at_um(value, [t.pixel for t in threads], down)


def _slack(
    value: Any, threads: tuple[Thread, ...], reach: NDArray[np.float64]
) -> NDArray[np.float64]:
    n = len(threads)
    if value is None:
        return tether_slack_um(threads)
    try:
        a = None if isinstance(value, bool) else np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        a = None
    if a is None or a.ndim > 1 or (a.ndim == 1 and len(a) != n):
        raise ValueError(
            f"slack_um must be None, a number or one value per active thread ({n}), got "
            f"{_describe(value)}"
        )
    a = np.broadcast_to(a, (n,)).astype(np.float64)
    for i in range(n):
        check_range(a[i], name="slack_um", low=0, high=MAX_LENGTH_UM, unit=" um")
        if a[i] > reach[i] + 1e-6:
            raise ValueError(
                f"slack_um must be between 0 and {reach[i]:.0f} um for {threads[i].label} "
                f"(its thread length less the taut tether route), got {a[i]:g}"
            )
    return a


def prepare(
    plan: Any,
    *,
    brain_motion: Any,
    implant_gap_um: Any,
    days: Any,
    n_samples: Any,
    cortex_thickness_um: Any,
    slack_um: Any,
    settings: Any,
    rng: Any,
) -> Prepared:
    """Convert and check every input once; draw the random numbers."""
    if not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan, got {type(plan).__name__}")
    motion = BrainMotion() if brain_motion is None else brain_motion
    if not isinstance(motion, BrainMotion):
        raise TypeError(
            "brain_motion must be an insertion_planner.BrainMotion (the retraction model's, "
            f"with the slow terms), got {type(motion).__name__}"
        )
    st = RetractionSettings() if settings is None else settings
    if not isinstance(st, RetractionSettings):
        raise TypeError(f"settings must be a RetractionSettings, got {type(st).__name__}")
    gap = check_range(implant_gap_um, name="implant_gap_um", low=0, high=MAX_LENGTH_UM, unit=" um")
    n_days = check_range(days, name="days", low=0, high=3650, unit=" days")
    n_s = check_int_range(n_samples, name="n_samples", low=1, high=MAX_SAMPLES)
    threads = plan.active_threads
    if not threads:
        raise ValueError("plan must have at least one active thread, got none")
    depth = np.array([t.depth_um for t in threads])
    for t in threads:
        check_range(t.depth_um, name=f"depth_um of {t.label}", low=1, high=10000, unit=" um")
    length = st.thread_length_um or plan.config.thread_length_um
    reach = np.array([slack_reach_um(t.tether_um, length) for t in threads])
    thickness = _thickness(cortex_thickness_um, plan, threads, st.cortex_thickness_um)
    slack = _slack(slack_um, threads, reach)
    generator = as_rng(rng)
    seed = None if isinstance(rng, np.random.Generator) else 0 if rng is None else int(rng)
    sc = Scenario(_ro(depth), _ro(thickness), _ro(slack), gap, motion, n_days, st)
    return Prepared(threads, sc, _ro(reach), draw(generator, len(threads), n_s), n_s, seed)


def _ro(a: ArrayLike) -> NDArray[np.float64]:
    """A read-only float64 copy."""
    return readonly(np.array(a, dtype=np.float64))


def variants(p: Prepared) -> dict[str, Scenario]:
    """The scenario with each term removed (see ``RetractionReport.binding_term``)."""
    sc, st = p.scenario, p.scenario.settings
    deeper = np.maximum(sc.depth_um, np.clip(sc.thickness_um, *st.depth_range_um))
    slack = np.maximum(sc.slack_um, np.minimum(st.planned_slack_um, p.reach_um))
    return {
        "gap": replace(sc, gap_um=0.0),
        "motion": replace(sc, motion=sc.motion.still()),
        "depth": replace(sc, depth_um=_ro(deeper)),
        "tether_reach": replace(sc, slack_um=_ro(slack)),
    }


def binding(base: Outcome, without: dict[str, float]) -> str | None:
    """The term whose removal keeps the most electrodes (None when nothing is lost)."""
    removed = {k: base.loss - v for k, v in without.items()}
    best = max(TERMS, key=lambda k: (removed[k], -TERMS.index(k)))
    return best if base.loss > 1e-12 and removed[best] > 1e-12 else None
