"""Time-optimal point-to-point motion profiles: trapezoidal and S-curve (jerk-limited).

A multi-axis move is synchronised along a straight line: every axis follows the same
normalised profile ``s(t)`` from 0 to 1, scaled by its own displacement. The limits of
``s`` are the tightest of ``limit_i / |displacement_i|`` over the moving axes, which gives
the shortest straight-line move that keeps every axis within its velocity, acceleration
(and jerk) limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import check_choice, check_positive

__all__ = ["MoveProfile", "profile_time", "plan_move"]

_EPS = 1e-12


def _segments(
    distance: float, v: float, a: float, j: float | None
) -> list[tuple[float, float, float]]:
    """Segments (duration_s, start acceleration, jerk) of a rest-to-rest move of ``distance``."""
    if distance <= _EPS:
        return []
    if j is None:  # trapezoid (or triangle)
        ta = v / a
        if a * ta * ta >= distance:  # v not reached: triangle
            ta = math.sqrt(distance / a)
            return [(ta, a, 0.0), (ta, -a, 0.0)]
        tv = (distance - a * ta * ta) / v
        return [(ta, a, 0.0), (tv, 0.0, 0.0), (ta, -a, 0.0)]
    # S-curve with symmetric jerk j, acceleration a, velocity v.
    if v * j >= a * a:  # a is reached while accelerating to v
        tj, tc = a / j, v / a - a / j
        vp = v
    else:
        tj, tc = math.sqrt(v / j), 0.0
        vp = v
    acc_dist = vp * (2 * tj + tc) / 2  # distance of the acceleration phase
    if 2 * acc_dist <= distance:
        tv = (distance - 2 * acc_dist) / vp
    else:  # the cruise speed is not reached: find the peak speed vp < v
        tv = 0.0
        vp = (-a * a / j + math.sqrt((a * a / j) ** 2 + 4 * a * distance)) / 2
        if vp >= a * a / j:
            tj, tc = a / j, vp / a - a / j
        else:
            tj, tc = (distance / (2 * j)) ** (1 / 3), 0.0
    ap = j * tj
    return [
        (tj, 0.0, j),
        (tc, ap, 0.0),
        (tj, ap, -j),
        (tv, 0.0, 0.0),
        (tj, 0.0, -j),
        (tc, -ap, 0.0),
        (tj, -ap, j),
    ]


def profile_time(
    distance: float, *, speed: float, accel: float, jerk: float | None = None
) -> float:
    """Shortest rest-to-rest time (s) over ``distance`` within the limits.

    Parameters
    ----------
    distance : float
        Length of the move (any unit u, >= 0).
    speed, accel : float
        Limits in u/s and u/s^2.
    jerk : float, optional
        Limit in u/s^3 for an S-curve; None for a trapezoid.

    Examples
    --------
    >>> profile_time(10.0, speed=5.0, accel=5.0)  # 1 s ramp + 1 s cruise + 1 s ramp
    3.0
    >>> round(profile_time(10.0, speed=5.0, accel=5.0, jerk=50.0), 3)
    3.1
    """
    d = check_positive(distance, name="distance", allow_zero=True)
    v = check_positive(speed, name="speed")
    a = check_positive(accel, name="accel")
    j = None if jerk is None else check_positive(jerk, name="jerk")
    return float(sum(seg[0] for seg in _segments(d, v, a, j)))


@dataclass(frozen=True, eq=False)
class MoveProfile:
    """A synchronised straight-line move of k axes.

    Attributes
    ----------
    start, delta : (k,) float arrays
        Start position and displacement per axis.
    duration_s : float
    seg_t0, seg_dt, seg_s0, seg_v0, seg_a0, seg_j : (m,) float arrays
        The normalised profile ``s`` (0 to 1) as m segments of constant jerk.
    """

    start: NDArray[np.float64]
    delta: NDArray[np.float64]
    duration_s: float
    seg_t0: NDArray[np.float64]
    seg_dt: NDArray[np.float64]
    seg_s0: NDArray[np.float64]
    seg_v0: NDArray[np.float64]
    seg_a0: NDArray[np.float64]
    seg_j: NDArray[np.float64]

    def _s(self, t: ArrayLike, order: int) -> NDArray[np.float64]:
        tt = np.clip(np.asarray(t, dtype=np.float64), 0.0, self.duration_s)
        if len(self.seg_t0) == 0:
            return np.zeros_like(tt)
        k = np.clip(np.searchsorted(self.seg_t0, tt, side="right") - 1, 0, len(self.seg_t0) - 1)
        u = tt - self.seg_t0[k]
        s0, v0, a0, j = self.seg_s0[k], self.seg_v0[k], self.seg_a0[k], self.seg_j[k]
        if order == 0:
            out = s0 + v0 * u + a0 * u**2 / 2 + j * u**3 / 6
            return np.where(tt >= self.duration_s, 1.0, out)
        if order == 1:
            return v0 + a0 * u + j * u**2 / 2
        return a0 + j * u

    def position(self, t: ArrayLike) -> NDArray[np.float64]:
        """Axis positions at times ``t`` (n,) s: (n, k)."""
        return self.start + np.multiply.outer(self._s(t, 0), self.delta)

    def velocity(self, t: ArrayLike) -> NDArray[np.float64]:
        """Axis velocities at times ``t`` (n,) s: (n, k) per second."""
        return np.multiply.outer(self._s(t, 1), self.delta)

    def acceleration(self, t: ArrayLike) -> NDArray[np.float64]:
        """Axis accelerations at times ``t`` (n,) s: (n, k) per second squared."""
        return np.multiply.outer(self._s(t, 2), self.delta)


def _vec(x: Any, k: int, name: str) -> NDArray[np.float64]:
    arr = np.broadcast_to(np.asarray(x, dtype=np.float64), (k,)).copy()
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"{name} must be positive and finite, got {x!r}")
    return arr


def plan_move(
    start: ArrayLike,
    end: ArrayLike,
    *,
    speed: ArrayLike,
    accel: ArrayLike,
    jerk: ArrayLike | None = None,
    profile: str = "trapezoidal",
) -> MoveProfile:
    """The time-optimal synchronised straight-line move from ``start`` to ``end``.

    Parameters
    ----------
    start, end : (k,) float
        Axis positions (each axis in its own unit u_i).
    speed, accel : (k,) float or float
        Per-axis limits, u_i/s and u_i/s^2.
    jerk : (k,) float or float, optional
        Per-axis jerk limits, needed for ``profile="s-curve"``.
    profile : {"trapezoidal", "s-curve"}

    Returns
    -------
    MoveProfile

    Examples
    --------
    >>> m = plan_move([0.0, 0.0], [10.0, 5.0], speed=5.0, accel=5.0)
    >>> m.duration_s
    3.0
    >>> m.position([m.duration_s]).tolist()
    [[10.0, 5.0]]
    """
    check_choice(profile, name="profile", choices=("trapezoidal", "s-curve"))
    p0 = np.atleast_1d(np.asarray(start, dtype=np.float64))
    p1 = np.atleast_1d(np.asarray(end, dtype=np.float64))
    if p0.shape != p1.shape or p0.ndim != 1:
        raise ValueError(
            f"start and end must be (k,) arrays of one shape, got {p0.shape} and {p1.shape}"
        )
    if not (np.isfinite(p0).all() and np.isfinite(p1).all()):
        raise ValueError("start and end must be finite")
    k = len(p0)
    v, a = _vec(speed, k, "speed"), _vec(accel, k, "accel")
    delta = p1 - p0
    moving = np.abs(delta) > _EPS
    j_norm: float | None = None
    if profile == "s-curve":
        if jerk is None:
            raise ValueError("jerk is required for profile='s-curve', got None")
        jv = _vec(jerk, k, "jerk")
        if moving.any():
            j_norm = float(np.min(jv[moving] / np.abs(delta[moving])))
    segs: list[tuple[float, float, float]] = []
    if moving.any():
        v_norm = float(np.min(v[moving] / np.abs(delta[moving])))
        a_norm = float(np.min(a[moving] / np.abs(delta[moving])))
        segs = [s for s in _segments(1.0, v_norm, a_norm, j_norm) if s[0] > 0]
    t0: list[float] = []
    s0: list[float] = []
    v0: list[float] = []
    t = s = vel = 0.0
    for dt, acc, jj in segs:
        t0.append(t)
        s0.append(s)
        v0.append(vel)
        s += vel * dt + acc * dt**2 / 2 + jj * dt**3 / 6
        vel += acc * dt + jj * dt**2 / 2
        t += dt
    arrays = [
        np.asarray(x, dtype=np.float64)
        for x in (
            t0,
            [d for d, _, _ in segs],
            s0,
            v0,
            [c for _, c, _ in segs],
            [c for _, _, c in segs],
        )
    ]
    for arr in (p0, delta, *arrays):
        arr.setflags(write=False)
    return MoveProfile(p0, delta, float(t), *arrays)
