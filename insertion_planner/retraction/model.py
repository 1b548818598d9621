"""The vectorised Monte Carlo of thread retraction (threads x samples, no sample loop).

For thread ``i`` in sample ``s`` (one possible course of the weeks after surgery):

- excursion of the brain surface away from the thread exit, um::

      E[i, s] = m[s] * (A_cardiac + A_respiratory + A_positional + sag(days))
                + gap * (g_min + (1 - g_min) * u[i, s])

  with ``m[s] = exp(motion_sigma * z[s])``, ``z ~ N(0, 1)`` (the patient's motion scale,
  shared by all threads of a sample) and ``u ~ U(0, 1)`` (the share of the gap the brain
  moves through under that thread);
- excess pull: the tether's slack and the tissue's hold (``h = hold_um_per_mm / 1000``
  um of stretch per um still embedded) take up the excursion first; the thread would
  have to slide out by the rest to relieve it::

      r_eq = max((E - slack - h * depth) / (1 - h), 0)

- ratchet: each cardiac or respiratory cycle the thread slides a share ``f`` of its
  remaining excess and never slides back, so after ``N = (f_c + f_r) * 86400 * days``
  cycles it has slid ``r = min((1 - (1 - f) ** N) * r_eq, depth)``; at ``r = depth``
  it is out of the brain.

Every random number is drawn once, before any parameter is used (:func:`draw`), so two
scenarios evaluated on the same draws differ only by their parameters (common random
numbers): the comparisons between them are exact, not noisy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from .geometry import electrode_counts
from .settings import BrainMotion, RetractionSettings

__all__ = ["Draws", "Scenario", "Outcome", "draw", "ratchet_share", "evaluate"]

_SECONDS_PER_DAY = 86400.0
_CHUNK = 1 << 20  # thread-sample pairs evaluated at once (memory bound, not a sample loop)


@dataclass(frozen=True)
class Draws:
    """The random numbers of one Monte Carlo run.

    Attributes
    ----------
    motion_z : (n_samples,) float
        Standard normal draws scaling the patient's motion amplitudes.
    gap_u : (n_threads, n_samples) float
        Uniform draws of the share of the gap the brain moves through under each thread.
    """

    motion_z: NDArray[np.float64] = field(repr=False)
    gap_u: NDArray[np.float64] = field(repr=False)


def draw(rng: np.random.Generator, n_threads: int, n_samples: int) -> Draws:
    """Draw every random number of a run, in a fixed order independent of the parameters.

    Examples
    --------
    >>> d = draw(np.random.default_rng(0), 3, 5)
    >>> d.motion_z.shape, d.gap_u.shape
    ((5,), (3, 5))
    """
    z = rng.standard_normal(n_samples)
    u = rng.random((n_threads, n_samples))
    return Draws(readonly(z), readonly(u))


@dataclass(frozen=True)
class Scenario:
    """One set of model inputs, per thread where they vary (validated by the caller).

    Attributes
    ----------
    depth_um, thickness_um, slack_um : (n,) float
        Insertion depth along the needle, local cortical thickness and tether slack, um.
    gap_um : float
        Implant-brain gap, um.
    motion : BrainMotion
    days : float
        Time since surgery.
    settings : RetractionSettings
    """

    depth_um: NDArray[np.float64] = field(repr=False)
    thickness_um: NDArray[np.float64] = field(repr=False)
    slack_um: NDArray[np.float64] = field(repr=False)
    gap_um: float
    motion: BrainMotion
    days: float
    settings: RetractionSettings


@dataclass(frozen=True)
class Outcome:
    """What one scenario produced, per thread (``n``) and per sample (``s``).

    Attributes
    ----------
    retraction_um : (n, s) float32
        How far each thread slid out, um.
    at_insertion : (n,) int
        Electrodes in cortex at insertion.
    retained : (n,) float
        Expected electrodes in cortex at insertion that are still in cortex.
    in_cortex : (n,) float
        Expected electrodes in cortex after retraction (whether or not they started
        there: a thread inserted below the grey matter can retract into it).
    pull_out : (n,) float
        Probability that none of the electrodes that started in cortex is still in it.
    retracted : (n,) float
        Probability that at least one of them has left it.
    """

    retraction_um: NDArray[np.float32] = field(repr=False)
    at_insertion: NDArray[np.int64] = field(repr=False)
    retained: NDArray[np.float64] = field(repr=False)
    in_cortex: NDArray[np.float64] = field(repr=False)
    pull_out: NDArray[np.float64] = field(repr=False)
    retracted: NDArray[np.float64] = field(repr=False)

    @property
    def retained_fraction(self) -> float:
        """Share of the electrodes in cortex at insertion that stay there (0 if none)."""
        total = int(self.at_insertion.sum())
        return float(self.retained.sum() / total) if total else 0.0

    @property
    def loss(self) -> float:
        """``1 - retained_fraction``."""
        return 1.0 - self.retained_fraction


def ratchet_share(motion: BrainMotion, days: float, slip_per_cycle: float) -> float:
    """Share of its equilibrium retraction a thread has slid after ``days``, in [0, 1].

    ``1 - (1 - f) ** N`` with ``N = (cardiac + respiratory rate) * 86400 * days`` cycles.

    Examples
    --------
    >>> round(ratchet_share(BrainMotion(), 30.0, 1e-6), 3)
    0.977
    """
    cycles = (motion.cardiac_rate_hz + motion.respiratory_rate_hz) * _SECONDS_PER_DAY * days
    if cycles <= 0 or slip_per_cycle <= 0:
        return 0.0
    if slip_per_cycle >= 1:
        return 1.0
    return float(-math.expm1(cycles * math.log1p(-slip_per_cycle)))


def _retraction(sc: Scenario, draws: Draws, rows: slice) -> NDArray[np.float64]:
    """Retraction (m, s) of the threads in ``rows``."""
    st, mo = sc.settings, sc.motion
    scale = np.exp(st.motion_sigma * draws.motion_z)[None, :]
    amplitude = mo.pulsation_um + mo.positional_shift_um + mo.sag_at_um(sc.days)
    share = st.gap_share_min + (1.0 - st.gap_share_min) * draws.gap_u[rows]
    excursion = scale * amplitude + sc.gap_um * share
    h = st.hold_um_per_mm / 1000.0
    depth = sc.depth_um[rows, None]
    r_eq = np.maximum((excursion - sc.slack_um[rows, None] - h * depth) / (1.0 - h), 0.0)
    return np.minimum(r_eq * ratchet_share(mo, sc.days, st.slip_per_cycle), depth)


def evaluate(sc: Scenario, draws: Draws) -> Outcome:
    """Run the model for every thread and sample of ``draws``.

    Examples
    --------
    >>> st = RetractionSettings()
    >>> sc = Scenario(np.array([3500.0]), np.array([4000.0]), np.array([0.0]), 3000.0,
    ...               BrainMotion(), 30.0, st)
    >>> out = evaluate(sc, draw(np.random.default_rng(0), 1, 2000))
    >>> int(out.at_insertion[0]), bool(out.retained[0] < 8), float(out.retracted[0])
    (16, True, 1.0)
    """
    st = sc.settings
    n, s = draws.gap_u.shape
    if len(sc.depth_um) != n:
        raise ValueError(f"the scenario has {len(sc.depth_um)} threads, the draws {n}")
    k, pitch = st.n_electrodes, st.electrode_pitch_um
    at_insertion = electrode_counts(
        sc.depth_um, 0.0, sc.thickness_um, n_electrodes=k, pitch_um=pitch
    )
    r_all = np.empty((n, s), np.float32)
    retained, in_cortex, pull_out, retracted = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    step = max(1, _CHUNK // max(s, 1))
    for lo in range(0, n, step):  # chunks of threads bound the memory; samples stay vectorised
        rows = slice(lo, min(lo + step, n))
        r = _retraction(sc, draws, rows)
        d, t = sc.depth_um[rows, None], sc.thickness_um[rows, None]
        kept = electrode_counts(d, r, t, n_electrodes=k, pitch_um=pitch)
        retained[rows] = kept.mean(axis=1)
        in_cortex[rows] = electrode_counts(d, r, r + t, n_electrodes=k, pitch_um=pitch).mean(axis=1)
        pull_out[rows] = (kept == 0).mean(axis=1)
        retracted[rows] = (kept < at_insertion[rows, None]).mean(axis=1)
        r_all[rows] = r
    return Outcome(readonly(r_all), readonly(at_insertion), readonly(retained),
                   readonly(in_cortex), readonly(pull_out), readonly(retracted))  # fmt: skip
