"""``mitigation_table``: how much each mitigation of thread retraction keeps, alone and together."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..plan import InsertionPlan
from .inputs import TERMS, binding, prepare, variants
from .model import Scenario, evaluate
from .settings import BrainMotion, RetractionSettings

__all__ = ["MitigationRow", "MitigationTable", "mitigation_table", "MITIGATIONS"]

MITIGATIONS = {
    "as planned": "the plan and conditions as given",
    "gap": "flush implant: the skull sculpted so no gap is left under the implant",
    "motion": "no brain motion relative to the skull (not a surgical option: the scale of it)",
    "depth": "each thread as deep as its cortex allows (local thickness within the depth "
    "range, never shallower than planned)",
    "tether_reach": "each tether laid with the planned slack (settings.planned_slack_um, "
    "as far as its thread reaches)",
    "gap + depth + tether_reach": "the three surgical mitigations together",
}
"""Each row of the table and what it changes."""


@dataclass(frozen=True)
class MitigationRow:
    """One scenario of the table.

    Attributes
    ----------
    name, description : str
    electrodes_retained_fraction : float
        Share of the electrodes in cortex at insertion still in cortex, in [0, 1].
    pulled_out_fraction : float
        Mean pull-out probability over threads.
    loss_removed : float
        How much of the as-planned loss (``1 - retained fraction``) this removes; the
        same random numbers serve every row, so differences are exact.
    """

    name: str
    description: str
    electrodes_retained_fraction: float
    pulled_out_fraction: float
    loss_removed: float


@dataclass(frozen=True)
class MitigationTable:
    """Rows of :func:`mitigation_table` and the single mitigation that keeps the most.

    Attributes
    ----------
    rows : tuple of MitigationRow
        ``as planned``, each term removed alone (``gap``, ``motion``, ``depth``,
        ``tether_reach``), then the three surgical ones together.
    binding_term : str or None
        The single term whose removal keeps the most electrodes (as in
        :attr:`RetractionReport.binding_term`).
    """

    rows: tuple[MitigationRow, ...]
    binding_term: str | None

    def row(self, name: str) -> MitigationRow:
        """The row called ``name`` (ValueError when absent)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise ValueError(f"name must be one of {[r.name for r in self.rows]}, got {name!r}")

    def to_markdown(self) -> str:
        """The table in markdown."""
        out = ["| mitigation | what changes | electrodes retained | threads pulled out "
               "| loss removed |", "|---|---|---|---|---|"]  # fmt: skip
        for r in self.rows:
            out.append(
                f"| {r.name} | {r.description} | {100 * r.electrodes_retained_fraction:.1f} % "
                f"| {100 * r.pulled_out_fraction:.1f} % | {100 * r.loss_removed:.1f} pts |"
            )
        return "\n".join(out)


def mitigation_table(
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
) -> MitigationTable:
    """Retained electrodes as planned, with each mitigation alone, and with all together.

    Arguments as :func:`~insertion_planner.retraction_risk`, whose inputs they are
    checked as. Every row is evaluated on the same random numbers.

    Returns
    -------
    MitigationTable
        Rows named as in ``MITIGATIONS``.

    Raises
    ------
    TypeError, ValueError
        As :func:`~insertion_planner.retraction_risk`.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> t = mitigation_table(_example_plan(), implant_gap_um=3000.0, slack_um=0.0, rng=0)
    >>> [r.name for r in t.rows][:3], t.binding_term
    (['as planned', 'gap', 'motion'], 'gap')
    >>> t.row("gap + depth + tether_reach").electrodes_retained_fraction > 0.95
    True
    """
    p = prepare(plan, brain_motion=brain_motion, implant_gap_um=implant_gap_um, days=days,
                 n_samples=n_samples, cortex_thickness_um=cortex_thickness_um,
                 slack_um=slack_um, settings=settings, rng=rng)  # fmt: skip
    singles = variants(p)
    together: Scenario = replace(
        singles["tether_reach"], gap_um=0.0, depth_um=singles["depth"].depth_um
    )
    scenarios = {"as planned": p.scenario, **singles, "gap + depth + tether_reach": together}
    outcomes = {k: evaluate(sc, p.draws) for k, sc in scenarios.items()}
    base = outcomes["as planned"]
    rows = tuple(
        MitigationRow(name=k, description=MITIGATIONS[k],
                      electrodes_retained_fraction=o.retained_fraction,
                      pulled_out_fraction=float(o.pull_out.mean()),
                      loss_removed=base.loss - o.loss)
        for k, o in outcomes.items()
    )  # fmt: skip
    return MitigationTable(rows, binding(base, {k: outcomes[k].loss for k in TERMS}))
