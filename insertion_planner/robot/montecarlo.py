"""Monte Carlo of positioning errors: how likely each needle path breaches its margin.

Each sample moves the whole needle path rigidly by an error vector (um), the sum of

- stage error: normal, one sigma ``stage_accuracy_um`` on each axis;
- registration error: normal, one sigma ``registration_error_um`` on x and y;
- residual brain motion: respiratory and cardiac sinusoids ``A sin(2 pi f t + phase)``
  at a random phase; surface tracking at ``tracking_rate_hz`` removes the motion as it
  was ``tau`` seconds ago, ``tau = latency + U(0, 1 / rate)`` (the age of the last
  frame), leaving ``x(t) - x(t - tau)``; the motion is mostly vertical, with
  ``lateral_fraction`` of it along a random horizontal direction;
- transdural only: lateral puncture deflection, normal, one sigma
  ``puncture_deflection_um_per_mm * dura_mm / cos(incidence)`` on x and y.

A sample *breaches* when the moved path's clearance to the nearest vessel edge, less
the needle radius, falls below the base tissue margin (``SafetyMargins.base_margin_um``,
50 um after Kozai 2010): the needle's own surface then comes closer to a vessel than
the tissue margin the plan exists to keep. Clearances are exact segment-to-capsule
distances against the ``k`` vessels nearest each planned path.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import check_positive
from .clearance import nearest_capsules, segment_distance

__all__ = ["BrainMotion", "motion_residual_um", "breach_probability"]


@dataclass(frozen=True)
class BrainMotion:
    """Brain-surface motion settings (um, Hz). Human values are not well quantified.

    Parameters
    ----------
    respiratory_amplitude_um : float
        Peak respiratory displacement (rat: 10-30 um, Gilletti & Muthuswamy 2006; the
        default 100 um allows for a larger human brain).
    respiratory_rate_hz : float
        Breaths per second (0.25: 15 breaths/min).
    cardiac_amplitude_um : float
        Peak cardiac displacement (rat: 2-4 um; default 25 um for human).
    cardiac_rate_hz : float
        Heartbeats per second (1.2: 72 beats/min).
    lateral_fraction : float
        Share of the motion along a horizontal direction (the rest is vertical), 0 to 1.
    registration_error_um : float or None
        One-sigma image-to-robot registration error; None takes the plan's margin term.

    Examples
    --------
    >>> BrainMotion().respiratory_rate_hz
    0.25
    """

    respiratory_amplitude_um: float = 100.0
    respiratory_rate_hz: float = 0.25
    cardiac_amplitude_um: float = 25.0
    cardiac_rate_hz: float = 1.2
    lateral_fraction: float = 0.3
    registration_error_um: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "registration_error_um":
                continue
            object.__setattr__(self, f.name, check_positive(value, name=f.name, allow_zero=True))
        if self.lateral_fraction > 1:
            raise ValueError(
                f"lateral_fraction must be between 0 and 1, got {self.lateral_fraction}"
            )

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def motion_residual_um(
    motion: BrainMotion,
    shape: tuple[int, ...],
    *,
    tracking_rate_hz: float,
    tracking_latency_s: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Signed residual brain motion (um) left after tracking, one value per sample.

    Examples
    --------
    >>> r = motion_residual_um(BrainMotion(), (20000,), tracking_rate_hz=21.0,
    ...                        tracking_latency_s=0.03, rng=np.random.default_rng(0))
    >>> 5 < float(np.abs(r).max()) < 40
    True
    """
    out = np.zeros(shape)
    for amp, freq in ((motion.respiratory_amplitude_um, motion.respiratory_rate_hz),
                      (motion.cardiac_amplitude_um, motion.cardiac_rate_hz)):  # fmt: skip
        if amp == 0 or freq == 0:
            continue
        phase = rng.uniform(0.0, 2 * math.pi, shape)
        age = tracking_latency_s + rng.uniform(0.0, 1.0 / tracking_rate_hz, shape)
        out += amp * (np.sin(phase) - np.sin(phase - 2 * math.pi * freq * age))
    return out


def breach_probability(
    entries_um: ArrayLike,
    directions: ArrayLike,
    depths_um: ArrayLike,
    capsules: ArrayLike,
    *,
    n_samples: int,
    needle_radius_um: float,
    base_margin_um: float,
    stage_accuracy_um: float,
    registration_error_um: float,
    tracking_rate_hz: float,
    tracking_latency_s: float,
    motion: BrainMotion | None = None,
    deflection_sigma_um: ArrayLike = 0.0,
    dura_thickness_um: ArrayLike = 0.0,
    k: int = 8,
    rng: np.random.Generator,
    progress: bool | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probability that each needle path breaches its base margin under positioning errors.

    Parameters
    ----------
    entries_um, directions : (n, 3) float
    depths_um : (n,) float
    capsules : (c, 7) float
        Vessels, from :func:`~insertion_planner.robot.clearance.vessel_capsules`.
    n_samples : int
        Samples per thread.
    needle_radius_um, base_margin_um : float
        A sample breaches when clearance - needle radius < base margin.
    stage_accuracy_um, registration_error_um : float
        One-sigma errors.
    tracking_rate_hz, tracking_latency_s : float
    motion : BrainMotion, optional
    deflection_sigma_um : (n,) float or float
        One-sigma lateral puncture deflection per thread.
    dura_thickness_um : float or (n,) float
        Length of each path checked above its entry, along the needle axis.
    k : int
        Vessels considered per thread (the k nearest the planned path).
    rng : numpy.random.Generator
    progress : bool or None
        Show a progress bar; None shows one on a terminal when the run is long.

    Returns
    -------
    probability : (n,) float
        Share of samples that breach.
    p05_clearance_um : (n,) float
        5th percentile of the realised clearance to the nearest vessel edge.

    Examples
    --------
    >>> from insertion_planner.robot.clearance import vessel_capsules
    >>> caps = vessel_capsules([[100.0, -900, 0, 100, 900, 0, 10]], np.zeros((0, 5)))
    >>> p, _ = breach_probability([[0.0, 0, 0], [-300.0, 0, 0]], [[0.0, 0, -1]] * 2,
    ...     [3500.0] * 2, caps, n_samples=4000, needle_radius_um=12.0, base_margin_um=50.0,
    ...     stage_accuracy_um=10.0, registration_error_um=5.0, tracking_rate_hz=21.0,
    ...     tracking_latency_s=0.03, rng=np.random.default_rng(0))
    >>> bool(0.0 < p[0] < 0.5), float(p[1])
    (True, 0.0)
    """
    motion = motion or BrainMotion()
    e = np.atleast_2d(np.asarray(entries_um, dtype=np.float64))
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    n = len(e)
    depth = np.broadcast_to(np.asarray(depths_um, dtype=np.float64), (n,))
    defl = np.broadcast_to(np.asarray(deflection_sigma_um, dtype=np.float64), (n,))
    caps = np.asarray(capsules, dtype=np.float64).reshape(-1, 7)
    s = int(n_samples)
    prob = np.zeros(n)
    p05 = np.full(n, np.inf)
    if n == 0 or s <= 0:
        return prob, p05
    # error vectors (n, s, 3), drawn in a fixed order so results depend only on the seed
    err = rng.normal(0.0, stage_accuracy_um, (n, s, 3))
    err[..., :2] += rng.normal(0.0, registration_error_um, (n, s, 2))
    err[..., :2] += rng.normal(0.0, 1.0, (n, s, 2)) * defl[:, None, None]
    residual = motion_residual_um(motion, (n, s), tracking_rate_hz=tracking_rate_hz,
                                  tracking_latency_s=tracking_latency_s, rng=rng)  # fmt: skip
    heading = rng.uniform(0.0, 2 * math.pi, (n, s))
    lat = motion.lateral_fraction
    err[..., 0] += residual * lat * np.cos(heading)
    err[..., 1] += residual * lat * np.sin(heading)
    err[..., 2] += residual * math.sqrt(max(1.0 - lat * lat, 0.0))
    if len(caps) == 0:
        return prob, p05
    near = nearest_capsules(e, d, depth, caps, k=k, dura_thickness_um=dura_thickness_um)
    p0 = e - np.broadcast_to(np.asarray(dura_thickness_um, dtype=np.float64), (n,))[:, None] * d
    p1 = e + depth[:, None] * d
    threshold = base_margin_um + needle_radius_um
    kk = near.shape[1]
    chunk = max(1, int(2_000_000 // max(s * kk, 1)))
    starts = range(0, n, chunk)
    if progress is None:
        progress = n * s * kk > 20_000_000 and sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="Monte Carlo", unit="chunk", leave=False)
    for lo in starts:
        sl = slice(lo, lo + chunk)
        c = caps[near[sl]]  # (m, kk, 7)
        q0, q1, rad = c[:, None, :, 0:3], c[:, None, :, 3:6], c[:, None, :, 6]
        shift = err[sl][:, :, None, :]  # (m, s, 1, 3)
        dist = (
            segment_distance(p0[sl, None, None] + shift, p1[sl, None, None] + shift, q0, q1) - rad
        )
        clear = dist.min(axis=2)  # (m, s)
        prob[sl] = (clear < threshold).mean(axis=1)
        p05[sl] = np.percentile(clear, 5, axis=1)
    return prob, p05
