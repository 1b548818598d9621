"""Per-thread geometry of the retraction model: tether slack, reach, cortex, electrodes.

Plain functions on arrays and plan threads; :func:`~insertion_planner.retraction_risk`
converts and checks its inputs once and then calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "polyline_length_um",
    "taut_length_um",
    "tether_slack_um",
    "sample_map",
    "electrode_counts",
]

_EPS = 1e-6


def polyline_length_um(points: ArrayLike) -> float:
    """Length of a polyline of (x, y, z) points, micrometres (0 for fewer than 2 points).

    Examples
    --------
    >>> polyline_length_um([(0, 0, 1000), (0, 0, 0), (3000, 4000, 0)])
    6000.0
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(p) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def taut_length_um(points: ArrayLike) -> float:
    """Length the tether needs when pulled taut over its route, micrometres.

    The route is unrolled into its profile: horizontal distance travelled ``s`` against
    height ``z``. A taut string anchored at both ends rests only on the convex corners of
    the profile (the rim of the opening) and lifts off the concave ones (the foot of the
    craniectomy wall, dips of the surface), so the need is the length of the upper convex
    hull of the profile from the first point to the last. Horizontal bends of the route
    are kept (a conservative choice: slack laid as sideways loops is not credited).

    Parameters
    ----------
    points : (n, 3) float
        The tether polyline (x, y, z), micrometres, from the implant's thread exit to the
        insertion site (``Thread.tether_um``).

    Returns
    -------
    float
        The taut length, never more than the polyline's own length.

    Examples
    --------
    A tether running 500 um from the exit to the rim, 1000 um down to the pia and
    5000 um across needs only the rim-to-site chord once pulled taut:

    >>> route = [(0, 0, 1000), (500, 0, 1000), (500, 0, 0), (5500, 0, 0)]
    >>> round(taut_length_um(route), 1), polyline_length_um(route)
    (5599.0, 6500.0)
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(p) < 2:
        return 0.0
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p[:, :2], axis=0).T))])
    hull: list[tuple[float, float]] = []
    for q in zip(s.tolist(), p[:, 2].tolist(), strict=True):
        while len(hull) >= 2:
            (ax, az), (bx, bz) = hull[-2], hull[-1]
            cross = (bx - ax) * (q[1] - az) - (bz - az) * (q[0] - ax)
            if cross < 0:  # a right turn: b is a convex corner the string rests on
                break
            hull.pop()
        hull.append(q)
    h = np.asarray(hull)
    return float(min(np.hypot(*np.diff(h, axis=0).T).sum(), polyline_length_um(p)))


def tether_slack_um(threads: Sequence[Any]) -> NDArray[np.float64]:
    """Slack each thread's tether carries as laid: laid length minus taut need, (n,) um.

    A thread that records its own slack (a ``slack_um`` attribute, set by a planner that
    lays slack on purpose) gives that; otherwise the slack is
    ``polyline_length_um(tether) - taut_length_um(tether)``.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> tether_slack_um(_example_plan().threads).round(1).tolist()
    [1081.2, 781.5]
    """
    out = np.zeros(len(threads))
    for i, t in enumerate(threads):
        own = getattr(t, "slack_um", None)
        if own is not None:
            out[i] = float(own)
        else:
            out[i] = polyline_length_um(t.tether_um) - taut_length_um(t.tether_um)
    return np.maximum(out, 0.0)


def sample_map(values: NDArray[Any], pixels: ArrayLike) -> NDArray[np.float64]:
    """Values of an (H, W) map at (n, 2) (row, col) pixels (nearest pixel, clipped inside).

    Examples
    --------
    >>> import numpy as np
    >>> sample_map(np.arange(6.0).reshape(2, 3), [(0.4, 1.6), (9.0, -2.0)]).tolist()
    [2.0, 3.0]
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    h, w = values.shape
    r = np.clip(np.rint(px[:, 0]).astype(np.int64), 0, h - 1)
    c = np.clip(np.rint(px[:, 1]).astype(np.int64), 0, w - 1)
    return np.asarray(values[r, c], dtype=np.float64)


def electrode_counts(
    depth_um: ArrayLike,
    low_um: ArrayLike,
    high_um: ArrayLike,
    *,
    n_electrodes: int,
    pitch_um: float,
) -> NDArray[np.int64]:
    """How many electrodes of each thread lie at depths in (low_um, high_um] below the pia.

    Electrode ``k`` of a thread whose tip is ``depth_um`` below the pia (along the
    needle) sits at ``depth_um - k * pitch_um``, ``k = 0 .. n_electrodes - 1``. The
    interval is open at the top: an electrode exactly at the pia (depth 0) is not in
    cortex, so a thread retracted by its whole depth keeps none. All arguments broadcast
    together; no loop over electrodes.

    Examples
    --------
    >>> int(electrode_counts(3500.0, 0.0, 2500.0, n_electrodes=16, pitch_um=200.0))
    11
    >>> electrode_counts([3500.0, 3500.0, 3500.0], [0.0, 600.0, 3500.0], 4000.0,
    ...                  n_electrodes=16, pitch_um=200.0).tolist()
    [16, 15, 0]
    """
    d = np.asarray(depth_um, dtype=np.float64)
    k_lo = np.ceil((d - np.asarray(high_um, dtype=np.float64)) / pitch_um - _EPS)
    k_hi = np.ceil((d - np.asarray(low_um, dtype=np.float64)) / pitch_um - _EPS) - 1.0
    k_lo = np.maximum(k_lo, 0.0)
    k_hi = np.minimum(k_hi, float(n_electrodes - 1))
    return np.maximum(k_hi - k_lo + 1.0, 0.0).astype(np.int64)
