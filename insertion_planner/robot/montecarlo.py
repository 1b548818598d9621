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
the tissue margin the plan exists to keep. The clearance is the smaller of the path's
distance to the vessel capsules (below) and, in :func:`~insertion_planner.simulate`,
what the validity checker's avoidance map says where the moved entry point lands
(:meth:`ValidityChecker.surface_clearance_um
<insertion_planner.planning.validity.ValidityChecker.surface_clearance_um>`: 0 off the
image or beside a region where a vessel could hide unseen), so the Monte Carlo judges
vessels by the same map as planning.

Every vessel a moved path could reach is checked. Moving a path by ``e`` changes its
distance to any capsule by at most ``|e|``. If the moved path lies ``u`` from some capsule
(the one nearest its moved entry point; never more than ``d0 + |e|``, ``d0`` the planned
path's clearance), a capsule farther than ``u + |e|`` from the planned path lies farther
than ``u`` from the moved one and cannot be its nearest; each sample is measured (exact
segment-to-capsule distances) against every capsule within that bound, which grows with
the sampled error. The clearance of every
sample is therefore exact, and the probability is exactly what a loop over every capsule
gives for the same samples. It is a binomial estimate: its standard error is
``sqrt(p (1 - p) / n_samples)`` (:func:`breach_standard_error`).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from ..brain_motion import BrainMotion
from .clearance import segment_distance

__all__ = [
    "BrainMotion",
    "motion_residual_um",
    "positioning_errors",
    "breach_probability",
    "breach_standard_error",
]

_BLOCK = 512
"""Samples measured together (sorted by their bound, so a block's capsules are few)."""
_BUDGET = 2_000_000
"""Largest number of segment distances computed at once."""
_FEW = 32
"""Capsules per sample below which the bound ``d0 + 2 |e|`` is not tightened."""
_FAR_UM = 1e12
"""Clearance standing for "no vessel known anywhere" in the percentile."""


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


def positioning_errors(
    n: int,
    n_samples: int,
    *,
    stage_accuracy_um: float,
    registration_error_um: float,
    tracking_rate_hz: float,
    tracking_latency_s: float,
    motion: BrainMotion | None = None,
    deflection_sigma_um: ArrayLike = 0.0,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Rigid error vectors (n, n_samples, 3) of the needle paths, um.

    Drawn in a fixed order (stage, registration, deflection, motion phases and ages,
    motion headings), so a seed gives the same samples whatever the sigmas: the stage
    term is ``stage_accuracy_um`` times the same standard normals (common random numbers
    across stage errors).

    Examples
    --------
    >>> e = positioning_errors(2, 5000, stage_accuracy_um=10.0, registration_error_um=0.0,
    ...                        tracking_rate_hz=21.0, tracking_latency_s=0.03,
    ...                        motion=BrainMotion(0.0, 0.25, 0.0), rng=np.random.default_rng(0))
    >>> e.shape, round(float(e[..., 2].std()), 0)
    ((2, 5000, 3), 10.0)
    """
    motion = motion or BrainMotion()
    defl = np.broadcast_to(np.asarray(deflection_sigma_um, dtype=np.float64), (n,))
    err = rng.normal(0.0, stage_accuracy_um, (n, n_samples, 3))
    err[..., :2] += rng.normal(0.0, registration_error_um, (n, n_samples, 2))
    err[..., :2] += rng.normal(0.0, 1.0, (n, n_samples, 2)) * defl[:, None, None]
    residual = motion_residual_um(motion, (n, n_samples), tracking_rate_hz=tracking_rate_hz,
                                  tracking_latency_s=tracking_latency_s, rng=rng)  # fmt: skip
    heading = rng.uniform(0.0, 2 * math.pi, (n, n_samples))
    lat = motion.lateral_fraction
    err[..., 0] += residual * lat * np.cos(heading)
    err[..., 1] += residual * lat * np.sin(heading)
    err[..., 2] += residual * math.sqrt(max(1.0 - lat * lat, 0.0))
    return err


def breach_standard_error(probability: ArrayLike, n_samples: int) -> NDArray[np.float64]:
    """Binomial standard error ``sqrt(p (1 - p) / n)`` of a Monte Carlo probability.

    Examples
    --------
    >>> breach_standard_error([0.0, 0.3], 1000).round(4).tolist()
    [0.0, 0.0145]
    """
    p = np.asarray(probability, dtype=np.float64)
    out: NDArray[np.float64] = np.sqrt(p * (1.0 - p) / max(int(n_samples), 1))
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
    rng: np.random.Generator,
    progress: bool | None = None,
    surface_clearance: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probability that each needle path breaches its base margin under positioning errors.

    Every capsule a moved path could reach is checked (see the module notes), so the
    estimate equals a loop over all capsules for the same samples, and grows with the
    error as long as larger errors carry the needle into vessels. Its standard error is
    :func:`breach_standard_error` (binomial, ``sqrt(p (1 - p) / n_samples)``).

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
    rng : numpy.random.Generator
        The samples are :func:`positioning_errors` drawn from it.
    progress : bool or None
        Show a progress bar; None shows one on a terminal when the run is long.
    surface_clearance : callable, optional
        Clearance (s,) of the avoidance map where moved entry points (s, 2) (x, y, um)
        land, 0 where it cannot vouch (the validity checker's
        :meth:`~insertion_planner.planning.validity.ValidityChecker.surface_clearance_um`):
        each sample's clearance is the smaller of the map's and the capsules', so a
        needle moved into a vessel the capsules simplify away, off the image or beside a
        region where a vessel could hide unseen breaches.

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
    e = np.atleast_2d(np.asarray(entries_um, dtype=np.float64))
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    n = len(e)
    depth = np.broadcast_to(np.asarray(depths_um, dtype=np.float64), (n,))
    caps = np.asarray(capsules, dtype=np.float64).reshape(-1, 7)
    s = int(n_samples)
    prob = np.zeros(n)
    p05 = np.full(n, np.inf)
    if n == 0 or s <= 0:
        return prob, p05
    err = positioning_errors(n, s, stage_accuracy_um=stage_accuracy_um,
                             registration_error_um=registration_error_um,
                             tracking_rate_hz=tracking_rate_hz, tracking_latency_s=tracking_latency_s,
                             motion=motion, deflection_sigma_um=deflection_sigma_um, rng=rng)  # fmt: skip
    if len(caps) == 0 and surface_clearance is None:
        return prob, p05
    above = np.broadcast_to(np.asarray(dura_thickness_um, dtype=np.float64), (n,))
    p0 = e - above[:, None] * d
    p1 = e + depth[:, None] * d
    threshold = base_margin_um + needle_radius_um
    threads: Any = range(n)
    if progress is None:
        progress = n * s > 2_000_000 and sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        threads = tqdm(threads, desc="Monte Carlo", unit="thread", leave=False)

    @functools.cache
    def near() -> tuple[cKDTree, NDArray[np.intp]]:
        pts, owner = _capsule_points(caps)
        return cKDTree(pts), owner

    for i in threads:
        clear = (
            _sample_clearance(p0[i], p1[i], e[i], err[i], caps, near)
            if len(caps)
            else np.full(s, np.inf)
        )
        if surface_clearance is not None:
            clear = np.minimum(clear, surface_clearance(e[i, :2] + err[i, :, :2]))
        prob[i] = float((clear < threshold).mean())
        p05[i] = float(np.percentile(np.minimum(clear, _FAR_UM), 5))
        p05[i] = np.inf if p05[i] >= _FAR_UM else p05[i]  # nothing anywhere near
    return prob, p05


def _capsule_points(
    caps: NDArray[np.float64], step_um: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Points (m, 3) along every capsule axis, at most ``step_um`` apart, and their capsule (m,)."""
    length = np.linalg.norm(caps[:, 3:6] - caps[:, 0:3], axis=1)
    k = np.clip(np.ceil(length / step_um).astype(np.intp), 1, 10_000) + 1
    owner = np.repeat(np.arange(len(caps)), k)
    start = np.concatenate([[0], np.cumsum(k)[:-1]])
    t = (np.arange(int(k.sum())) - np.repeat(start, k)) / np.repeat(k - 1, k)
    pts = caps[owner, 0:3] + t[:, None] * (caps[owner, 3:6] - caps[owner, 0:3])
    return pts, owner


def _sample_clearance(
    p0: NDArray[np.float64],
    p1: NDArray[np.float64],
    entry: NDArray[np.float64],
    err: NDArray[np.float64],
    caps: NDArray[np.float64],
    near: Callable[[], tuple[cKDTree, NDArray[np.intp]]],
) -> NDArray[np.float64]:
    """Exact clearance (s,) of one path p0-p1 moved by each error (s, 3) from capsules (c, 7).

    ``u``, the moved path's distance to the capsule nearest its moved entry point (found
    with the k-d tree of capsule points ``near()`` gives, when ``d0 + |e|`` alone would
    take more than a few capsules; never more than ``d0 + |e|``), bounds its clearance
    from above; a capsule farther than ``u + |e|`` from the planned path is
    then farther than ``u`` from the moved one and cannot be its nearest. Samples are taken
    in order of that bound, in blocks, each against the capsules within its largest bound
    (nearest first).
    """
    d0 = segment_distance(p0[None], p1[None], caps[:, 0:3], caps[:, 3:6]) - caps[:, 6]
    by_d0 = np.argsort(d0, kind="stable")
    d_sorted = d0[by_d0]
    norm = np.linalg.norm(err, axis=1)
    bound = d_sorted[0] + 2.0 * norm
    if np.searchsorted(d_sorted, bound.max(), side="right") > _FEW:
        tree, owner = near()
        j = owner[tree.query(entry + err)[1]]
        u = segment_distance(p0 + err, p1 + err, caps[j, 0:3], caps[j, 3:6]) - caps[j, 6]
        bound = np.minimum(u, d_sorted[0] + norm) + norm
    order = np.argsort(bound, kind="stable")
    counts = np.searchsorted(d_sorted, bound[order], side="right")
    out = np.empty(len(err))
    for lo in range(0, len(err), _BLOCK):
        idx = order[lo : lo + _BLOCK]
        k = max(int(counts[min(lo + _BLOCK, len(err)) - 1]), 1)
        shift = err[idx][:, None, :]  # (b, 1, 3)
        best = np.full(len(idx), np.inf)
        step = max(1, _BUDGET // max(len(idx), 1))
        for c0 in range(0, k, step):
            c = caps[by_d0[c0 : min(k, c0 + step)]]  # (m, 7)
            dist = (
                segment_distance(p0 + shift, p1 + shift, c[None, :, 0:3], c[None, :, 3:6])
                - c[None, :, 6]
            )
            best = np.minimum(best, dist.min(axis=1))
        out[idx] = best
    return out
