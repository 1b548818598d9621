"""Thread retraction after surgery: how many electrodes a plan keeps in cortex.

In the first human N1 participant most threads slid out of the cortex in the weeks
after surgery; brain motion larger than expected and a gap between the implant and the
brain were named as causes, and a flush implant, a wider range of insertion depths and
more tether slack as mitigations (``docs/retraction.md``). This stage predicts that
loss for a plan, and which term dominates it.

>>> import insertion_planner as ip
>>> from insertion_planner.plan import _example_plan
>>> report = ip.retraction_risk(_example_plan(), implant_gap_um=500.0, rng=0)
>>> 0.0 <= report.electrodes_retained_fraction <= 1.0
True
"""

from __future__ import annotations

from .geometry import electrode_counts, taut_length_um, tether_slack_um
from .inputs import TERMS
from .mitigation import MITIGATIONS, MitigationRow, MitigationTable, mitigation_table
from .risk import RetractionReport, ThreadRetraction, retraction_risk
from .settings import BrainMotion, RetractionSettings

__all__ = [
    "retraction_risk",
    "RetractionReport",
    "ThreadRetraction",
    "BrainMotion",
    "RetractionSettings",
    "mitigation_table",
    "MitigationTable",
    "MitigationRow",
    "MITIGATIONS",
    "TERMS",
    "tether_slack_um",
    "taut_length_um",
    "electrode_counts",
]
