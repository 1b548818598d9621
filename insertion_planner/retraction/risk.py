"""``retraction_risk``: how many electrodes a plan keeps in cortex weeks after surgery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..plan import InsertionPlan
from .inputs import Prepared, binding, prepare, variants
from .model import Outcome, evaluate
from .settings import BrainMotion, RetractionSettings

__all__ = ["ThreadRetraction", "RetractionReport", "retraction_risk"]


@dataclass(frozen=True)
class ThreadRetraction:
    """The predicted fate of one thread.

    Attributes
    ----------
    thread_id : int
    label : str
        ``Thread.label`` (``T01`` is inserted first).
    depth_um, cortex_thickness_um, slack_um : float
        The inputs used for this thread, um.
    electrodes_in_cortex_at_insertion : int
        Electrodes (of ``n_electrodes``) between the pia and the local thickness at
        insertion.
    electrodes_in_cortex : float
        Expected electrodes in cortex after retraction, in [0, n_electrodes].
    electrodes_retained : float
        Expected electrodes that were in cortex at insertion and still are.
    pull_out_probability : float
        Probability that none of the electrodes that started in cortex is still in it
        (1 when none started there).
    retraction_probability : float
        Probability that at least one of them has left it (the thread has retracted).
    retraction_um_median, retraction_um_p95 : float
        Median and 95th percentile of how far the thread slid out, um.
    """

    thread_id: int
    label: str
    depth_um: float
    cortex_thickness_um: float
    slack_um: float
    electrodes_in_cortex_at_insertion: int
    electrodes_in_cortex: float
    electrodes_retained: float
    pull_out_probability: float
    retraction_probability: float
    retraction_um_median: float
    retraction_um_p95: float


@dataclass(frozen=True, eq=False)
class RetractionReport:
    """Result of :func:`retraction_risk`: per-thread fates, totals and the inputs used.

    Attributes
    ----------
    threads : tuple of ThreadRetraction
        One per active thread, in insertion order.
    electrodes_retained_fraction : float
        Share of the electrodes in cortex at insertion still in cortex, in [0, 1].
    electrodes_in_cortex_at_insertion : int
    expected_electrodes_in_cortex : float
        Expected electrodes in cortex after retraction, summed over threads.
    pulled_out_fraction : float
        Mean pull-out probability over threads (expected share of threads lost).
    retracted_fraction : float
        Mean retraction probability over threads (expected share of threads that lost at
        least one electrode from the cortex).
    binding_term : str or None
        Which of ``"gap"``, ``"motion"``, ``"depth"``, ``"tether_reach"`` dominates the
        loss: the term whose removal (a flush implant; a brain that does not move; each
        thread as deep as its cortex allows; each tether laid with
        ``settings.planned_slack_um`` of slack, as far as its thread reaches) keeps the
        most electrodes, evaluated on the same random numbers. None when nothing is lost.
    loss_without : dict of str to float
        ``1 - electrodes_retained_fraction`` with each term removed.
    brain_motion, implant_gap_um, days, n_samples, settings
        The inputs used.
    depth_um, cortex_thickness_um, slack_um : tuple of float
        Per-thread inputs used, um.
    seed : int or None
        The integer seed, or None when a Generator was passed.
    retraction_um : (n_threads, n_samples) float32
        Every sampled retraction, um (read-only).
    """

    threads: tuple[ThreadRetraction, ...]
    electrodes_retained_fraction: float
    electrodes_in_cortex_at_insertion: int
    expected_electrodes_in_cortex: float
    pulled_out_fraction: float
    retracted_fraction: float
    binding_term: str | None
    loss_without: dict[str, float]
    brain_motion: BrainMotion
    implant_gap_um: float
    days: float
    n_samples: int
    settings: RetractionSettings
    depth_um: tuple[float, ...]
    cortex_thickness_um: tuple[float, ...]
    slack_um: tuple[float, ...]
    seed: int | None
    retraction_um: NDArray[np.float32] = field(repr=False)

    @property
    def loss(self) -> float:
        """``1 - electrodes_retained_fraction``."""
        return 1.0 - self.electrodes_retained_fraction

    def table(self) -> str:
        """A markdown table, one row per thread."""
        k = self.settings.n_electrodes
        rows = [f"| thread | depth (um) | cortex (um) | slack (um) | P(pull-out) | electrodes "
                f"in cortex (of {k}) | retraction median / p95 (um) |",
                "|---|---|---|---|---|---|---|"]  # fmt: skip
        for t in self.threads:
            rows.append(
                f"| {t.label} | {t.depth_um:.0f} | {t.cortex_thickness_um:.0f} | "
                f"{t.slack_um:.0f} | {t.pull_out_probability:.2f} | "
                f"{t.electrodes_in_cortex:.1f} | {t.retraction_um_median:.0f} / "
                f"{t.retraction_um_p95:.0f} |"
            )
        return "\n".join(rows)


def retraction_risk(
    plan: InsertionPlan,
    *,
    brain_motion: BrainMotion | None = None,
    implant_gap_um: float = 0.0,
    days: float = 30.0,
    n_samples: int = 1000,
    cortex_thickness_um: float | NDArray[Any] | None = None,
    slack_um: float | ArrayLike | None = None,
    settings: RetractionSettings | None = None,
    rng: int | np.random.Generator | None = None,
) -> RetractionReport:
    """Predict how far each thread slides out of the cortex after surgery, and what is lost.

    A vectorised Monte Carlo (threads x samples, see :mod:`.model`): the brain surface
    moves away from the implant's thread exit by its pulsation, positional shift and
    slow sag (scaled per sample by the patient's motion factor) plus a share of the
    implant-brain gap; the tether's slack and the tissue's hold take up the excursion
    first and the thread slides out by the rest, ratcheting out a little on every
    cardiac and respiratory cycle. Electrode ``k`` of a thread at depth ``d`` sits at
    ``d - k * electrode_pitch_um`` below the pia along the needle and is in cortex while
    its depth is more than 0 and at most the local cortical thickness.

    Parameters
    ----------
    plan : InsertionPlan
        Its active threads (``plan.active_threads``) are assessed; each carries
        ``depth_um``, ``pixel`` and ``tether_um`` (the route from the implant's thread
        exit to the site).
    brain_motion : BrainMotion, optional
        Pulsation, positional shift and sag (defaults documented there).
    implant_gap_um : float
        Gap between the implant's underside and the brain, 0-20000 um; 0 (default) is an
        implant seated flush with the inner contour of the skull.
    days : float
        Time since surgery, 0-3650 days (default 30).
    n_samples : int
        Monte Carlo samples per thread, 1-100000 (default 1000).
    cortex_thickness_um : None, float or (H, W) float
        Local cortical thickness, um: None takes ``settings.cortex_thickness_um``; a map
        of the plan's image shape (e.g. ``SyntheticCase.cortex_thickness_um``) is sampled
        at each thread's pixel.
    slack_um : None, float or (n,) float
        Tether slack per active thread, um, each between 0 and the thread length less
        the taut tether route. None takes the plan's: a thread's own ``slack_um`` if it
        records one, else its tether's laid length minus its taut length
        (:func:`~insertion_planner.retraction.geometry.tether_slack_um`).
    settings : RetractionSettings, optional
        Electrodes, tissue hold, ratchet, uncertainty (defaults documented there).
    rng : int, numpy.random.Generator or None
        Seed or generator (None: seed 0). The same seed gives the same report, and two
        calls with the same integer seed share their random numbers whatever the other
        arguments (common random numbers).

    Returns
    -------
    RetractionReport
        Per-thread pull-out probability, electrodes in cortex and retraction; the
        retained fraction; the binding term; the inputs used.

    Raises
    ------
    TypeError
        ``plan``, ``brain_motion``, ``settings``, ``rng`` or ``cortex_thickness_um`` of
        the wrong type.
    ValueError
        A value outside its range (the message names the parameter and the range), a
        thickness map of the wrong shape, a slack longer than the thread allows, or a
        plan without active threads.

    References
    ----------
    Sources of every term: :class:`BrainMotion`, :class:`RetractionSettings` and
    ``docs/retraction.md`` (first human participant: Neuralink PRIME update, May 2024;
    brain micromotion: Gilletti & Muthuswamy 2006, doi:10.1088/1741-2560/3/3/001).

    Examples
    --------
    >>> import insertion_planner as ip
    >>> from insertion_planner.plan import _example_plan
    >>> plan = _example_plan()
    >>> flush = ip.retraction_risk(plan, rng=0)
    >>> gap = ip.retraction_risk(plan, implant_gap_um=3000.0, slack_um=0.0, rng=0)
    >>> flush.electrodes_retained_fraction > gap.electrodes_retained_fraction
    True
    >>> gap.threads[0].label, gap.binding_term
    ('T01', 'gap')
    >>> 0.0 <= gap.threads[0].electrodes_in_cortex <= 16
    True
    >>> ip.retraction_risk(plan, days=-1)
    Traceback (most recent call last):
    ...
    ValueError: days must be between 0 and 3650 days, got -1.0
    """
    p = prepare(plan, brain_motion=brain_motion, implant_gap_um=implant_gap_um, days=days,
                 n_samples=n_samples, cortex_thickness_um=cortex_thickness_um,
                 slack_um=slack_um, settings=settings, rng=rng)  # fmt: skip
    base = evaluate(p.scenario, p.draws)
    without = {k: evaluate(sc, p.draws).loss for k, sc in variants(p).items()}
    return _report(p, base, without)


def _report(p: Prepared, base: Outcome, without: dict[str, float]) -> RetractionReport:
    sc = p.scenario
    r = base.retraction_um
    med = np.median(r, axis=1) if r.size else np.zeros(0)
    p95 = np.percentile(r, 95, axis=1) if r.size else np.zeros(0)
    threads = tuple(
        ThreadRetraction(
            thread_id=t.id, label=t.label, depth_um=float(sc.depth_um[i]),
            cortex_thickness_um=float(sc.thickness_um[i]), slack_um=float(sc.slack_um[i]),
            electrodes_in_cortex_at_insertion=int(base.at_insertion[i]),
            electrodes_in_cortex=float(base.in_cortex[i]),
            electrodes_retained=float(base.retained[i]),
            pull_out_probability=float(base.pull_out[i]),
            retraction_probability=float(base.retracted[i]),
            retraction_um_median=float(med[i]), retraction_um_p95=float(p95[i]),
        )
        for i, t in enumerate(p.threads)
    )  # fmt: skip
    return RetractionReport(
        threads=threads, electrodes_retained_fraction=base.retained_fraction,
        electrodes_in_cortex_at_insertion=int(base.at_insertion.sum()),
        expected_electrodes_in_cortex=float(base.in_cortex.sum()),
        pulled_out_fraction=float(base.pull_out.mean()),
        retracted_fraction=float(base.retracted.mean()),
        binding_term=binding(base, without), loss_without=dict(without),
        brain_motion=sc.motion, implant_gap_um=sc.gap_um, days=sc.days,
        n_samples=p.n_samples, settings=sc.settings,
        depth_um=tuple(sc.depth_um.tolist()), cortex_thickness_um=tuple(sc.thickness_um.tolist()),
        slack_um=tuple(sc.slack_um.tolist()), seed=p.seed, retraction_um=r,
    )  # fmt: skip
