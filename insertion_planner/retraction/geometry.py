"""Per-thread geometry of the retraction model: tether slack, reach, cortex, electrodes.

Plain functions on arrays and plan threads; :func:`~insertion_planner.retraction_risk`
converts and checks its inputs once and then calls these. The tether's laid and taut
lengths live in :mod:`insertion_planner.tether` and the electrodes' positions in
:mod:`insertion_planner.electrodes` (the one rule each, shared with the planner and plan
files); they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..electrodes import electrode_counts, sample_map
from ..tether import polyline_length_um, taut_length_um

__all__ = [
    "polyline_length_um",
    "taut_length_um",
    "tether_slack_um",
    "sample_map",
    "electrode_counts",
]


def tether_slack_um(threads: Sequence[Any]) -> NDArray[np.float64]:
    """Slack each thread's tether carries as laid: laid length minus taut need, (n,) um.

    A thread that records its own slack (a ``slack_um`` attribute, set by a planner that
    lays slack on purpose) gives that; otherwise the slack is
    ``polyline_length_um(tether) - taut_length_um(tether)``.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> tether_slack_um(_example_plan().threads).round(1).tolist()
    [960.1, 960.1]
    """
    out = np.zeros(len(threads))
    for i, t in enumerate(threads):
        own = getattr(t, "slack_um", None)
        if own is not None:
            out[i] = float(own)
        else:
            out[i] = polyline_length_um(t.tether_um) - taut_length_um(t.tether_um)
    return np.maximum(out, 0.0)
