"""Tether geometry: laid length, taut length, and the slack a thread can carry.

A tether is the thread's polyline from the implant's thread exit to its insertion site
(``Thread.tether_um``, (n, 3) um). Its slack is its laid length less the length it needs
when pulled taut (:func:`taut_length_um`); the thread's length bounds the laid length, so
a tether can carry at most ``thread_length_um - taut_length_um(tether)`` of slack
(:func:`slack_reach_um`: the tether-reach rule that the planner laying slack, plan-file
checks and the retraction model all ask).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["polyline_length_um", "taut_length_um", "slack_reach_um"]


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


def slack_reach_um(points: ArrayLike, thread_length_um: float) -> float:
    """Most slack a tether can carry: the thread length less its taut route, um (>= 0).

    Laying slack ``S`` makes the laid length ``taut + S``, which the thread's length
    bounds (the tether-reach rule).

    Parameters
    ----------
    points : (n, 3) float
        The tether polyline (x, y, z), um.
    thread_length_um : float
        The thread's length (``PlannerConfig.thread_length_um``, 20 mm by default).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``thread_length_um`` not a positive finite number.

    Examples
    --------
    >>> route = [(0, 0, 1000), (500, 0, 1000), (500, 0, 0), (5500, 0, 0)]
    >>> round(slack_reach_um(route, 20000.0), 1)
    14401.0
    """
    length = float(thread_length_um)
    if not (np.isfinite(length) and length > 0):
        raise ValueError(
            f"thread_length_um must be a positive finite number, got {thread_length_um!r}"
        )
    return max(length - taut_length_um(points), 0.0)
