"""Settings of the retraction model: how the brain moves, and how a thread holds.

Every number is a named field with its source, or says that it is an assumption. See
``docs/retraction.md`` for the model these settings feed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .._validation import check_finite
from ..brain_motion import BrainMotion as _PulsationMotion
from ..electrodes import ELECTRODE_PITCH_UM, N_ELECTRODES

__all__ = ["BrainMotion", "RetractionSettings", "check_range"]

MAX_LENGTH_UM = 20000.0
"""Upper bound of every displacement and length setting: the ~20 mm thread (DESIGN.md 3)."""


def check_range(value: Any, *, name: str, low: float, high: float, unit: str = "") -> float:
    """Return ``value`` as a float in [low, high] or raise naming ``name`` and the range.

    Examples
    --------
    >>> check_range(3.0, name="days", low=0, high=3650)
    3.0
    >>> check_range(-1, name="implant_gap_um", low=0, high=20000, unit=" um")
    Traceback (most recent call last):
    ...
    ValueError: implant_gap_um must be between 0 and 20000 um, got -1.0
    """
    out = check_finite(value, name=name)
    if not low <= out <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}{unit}, got {out}")
    return out


@dataclass(frozen=True)
class BrainMotion(_PulsationMotion):
    """How the brain moves relative to the skull (and the implant seated in it), um.

    Extends the robot's intra-operative :class:`insertion_planner.robot.BrainMotion`
    (pulsation, whose fields and defaults it keeps, so one object describes the brain
    for both the insertion Monte Carlo and the retraction model) with the slower,
    larger motions of the weeks after surgery. Human values are poorly known: every
    amplitude is scaled per Monte Carlo sample by a log-normal factor
    (:attr:`RetractionSettings.motion_sigma`).

    Parameters
    ----------
    respiratory_amplitude_um : float
        Peak respiratory pulsation, default 100 um. Rat cortex: 10-30 um (Gilletti &
        Muthuswamy 2006, J Neural Eng 3:189, doi:10.1088/1741-2560/3/3/001); the default
        allows for a larger human brain (an assumption shared with the robot model).
    respiratory_rate_hz : float
        Breaths per second, default 0.25 (15 per minute).
    cardiac_amplitude_um : float
        Peak cardiac pulsation, default 25 um. Rat: 2-4 um (Gilletti & Muthuswamy 2006);
        human brain tissue moves 10-180 um with each heartbeat by amplified MRI (as
        reported of Terem et al.'s aMRI; 3-D aMRI: Magn Reson Med 86:1674, 2021,
        doi:10.1002/mrm.28797), net parenchymal excursions at most 0.5 mm (Poncelet et al.
        1992, Radiology 185:645, doi:10.1148/radiology.185.3.1438740).
    cardiac_rate_hz : float
        Heartbeats per second, default 1.2 (72 per minute). Cardiac and respiratory
        cycles are the cycles that ratchet a thread out.
    lateral_fraction, registration_error_um
        Used only by the insertion Monte Carlo (see the robot model).
    positional_shift_um : float
        Largest shift of the brain surface away from the skull with head position (lying
        on one side, prone, sitting up), default 700 um: from prone to supine the brain
        shifts 0.52-0.77 mm at surgically relevant structures (11 young adults, Bennion,
        Zappala et al.; positional brain shift is "a few millimetres", Sci Rep 2021,
        doi:10.1038/s41598-021-97150-5) and deforms by up to 1.7 mm (Schnaudigel et al.
        2010, Neurosurgery 66:376, doi:10.1227/01.NEU.0000363704.74450.B4).
    sag_um : float
        Slow net displacement of the brain surface away from the implant after surgery
        (post-operative swelling resolving, cerebrospinal fluid re-accumulating), reached
        with time constant ``sag_days``; default 300 um, an assumption (no published
        human value under a cranial implant). Swelling toward the implant loosens the
        tether and is not counted.
    sag_days : float
        Time constant of the sag, default 14 days: an assumption (post-operative
        oedema and intracranial air resolve over days to weeks).

    Raises
    ------
    ValueError
        A value outside its range (each amplitude 0-20000 um, rates 0-10 Hz,
        ``sag_days`` 0-3650); the message names the field and the range.

    Examples
    --------
    >>> m = BrainMotion()
    >>> m.cardiac_amplitude_um, m.positional_shift_um, m.sag_days
    (25.0, 700.0, 14.0)
    >>> BrainMotion(sag_um=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: sag_um must be between 0 and 20000 um, got -1.0
    """

    positional_shift_um: float = 700.0
    sag_um: float = 300.0
    sag_days: float = 14.0

    def __post_init__(self) -> None:
        for name in ("respiratory_amplitude_um", "cardiac_amplitude_um",
                     "positional_shift_um", "sag_um"):  # fmt: skip
            v = check_range(getattr(self, name), name=name, low=0, high=MAX_LENGTH_UM, unit=" um")
            object.__setattr__(self, name, v)
        for name in ("respiratory_rate_hz", "cardiac_rate_hz"):
            object.__setattr__(
                self, name, check_range(getattr(self, name), name=name, low=0, high=10, unit=" Hz")
            )
        days = check_range(self.sag_days, name="sag_days", low=0, high=3650, unit=" days")
        object.__setattr__(self, "sag_days", days)
        super().__post_init__()

    @property
    def pulsation_um(self) -> float:
        """Peak cardiac plus respiratory pulsation, um."""
        return self.cardiac_amplitude_um + self.respiratory_amplitude_um

    def sag_at_um(self, days: float) -> float:
        """The sag reached after ``days``: ``sag_um * (1 - exp(-days / sag_days))``.

        Examples
        --------
        >>> round(BrainMotion(sag_um=300.0, sag_days=14.0).sag_at_um(14.0), 1)
        189.6
        """
        if self.sag_days == 0:
            return self.sag_um if days > 0 else 0.0
        return self.sag_um * -math.expm1(-days / self.sag_days)

    def still(self) -> BrainMotion:
        """The same settings with every amplitude zero (no brain motion at all)."""
        from dataclasses import replace

        return replace(self, respiratory_amplitude_um=0.0, cardiac_amplitude_um=0.0,
                       positional_shift_um=0.0, sag_um=0.0)  # fmt: skip


@dataclass(frozen=True)
class RetractionSettings:
    """Thread, tissue and model terms of the retraction model, each with its source.

    Parameters
    ----------
    n_electrodes : int
        Electrodes per thread, default 16; electrode ``k`` (0 at the tip) sits
        ``k * electrode_pitch_um`` above the tip (N1: 64 threads x 16 electrodes,
        DESIGN.md section 3, Neuralink on Lex Fridman podcast #438, 2024).
    electrode_pitch_um : float
        Spacing of the electrodes along the thread, default 200 um (same source).
    cortex_thickness_um : float
        Cortical thickness used when ``retraction_risk`` gets no map, default 4000 um:
        the motor cortex on the anterior bank of the central sulcus (Brodmann area 4)
        frequently exceeds 4 mm (Fischl & Dale 2000, PNAS 97:11050,
        doi:10.1073/pnas.200033797; human range 1-4.5 mm, mean 2.5 mm), and the N1
        target depth of 3-4 mm keeps all 16 electrodes in cortex (DESIGN.md section 3).
    hold_um_per_mm : float
        Stretch the tether and the tissue take up before the thread slides, per mm of
        thread embedded, default 20 um/mm: an order-of-magnitude assumption. Extraction
        forces of silicon probes from rat cortex rise from 1.7 g at implantation to 4.9 g
        at 4 weeks for a four-shank array (McConnell et al. 2007, IEEE Trans Biomed Eng
        54(6), https://scholars.duke.edu/display/pub1127340): about 2 mN per mm of shank
        (assuming ~2 mm implanted per shank); scaled to a
        thread's ~50 um perimeter, ~0.4 mN per mm; divided by the axial stiffness of a
        polyimide tether (~5 x 20 um section, ~2.5 GPa, 15 mm free: ~17 uN/um), ~20 um
        of stretch per mm embedded. Negligible beside mm-scale brain motion, as it should
        be: a flexible thread is held by friction, not anchored.
    slip_per_cycle : float
        Share of its remaining excess pull a thread slides out per cardiac or respiratory
        cycle, default 1e-6: an assumption calibrated to the reports that threads
        retracted "in the weeks following the surgery" (Neuralink, May 2024): the excess
        is half realised after about 5.5 days of cycles and 97 % after 4 weeks.
    gap_share_min : float
        Under each thread the brain surface moves through a share of the implant-brain
        gap drawn uniformly in [gap_share_min, 1], default 0.5: an assumption (the brain
        "puckers up into the gap", Neuralink update, 2024; more under the middle of the
        implant than at its edge).
    motion_sigma : float
        Log-normal spread (sigma of the log) of the patient's motion amplitudes, one
        draw per Monte Carlo sample, default 0.5 (a factor ~1.6 either way): an assumption
        standing for how poorly human chronic brain motion is known.
    depth_range_um : (float, float)
        Depths allowed when the ``"depth"`` mitigation sets each thread to its local
        cortical thickness, default (2500, 4500) um (the planner's per-thread depth range,
        DESIGN.md section 2).
    planned_slack_um : float
        Slack the ``"tether_reach"`` mitigation lays in each tether, at most what the
        thread length leaves beyond the taut route; default 2000 um, an assumption: the
        first participant's brain reportedly moved ~3 mm where ~1 mm had been allowed
        for (second-hand account of his interview; see ``docs/retraction.md``).
    thread_length_um : float or None
        Thread length bounding the tether (the planner's tether-reach rule); None takes
        the plan's ``config.thread_length_um`` (~20 mm, DESIGN.md section 3).

    Raises
    ------
    ValueError
        A value outside its range; the message names the field and the range.

    Examples
    --------
    >>> s = RetractionSettings()
    >>> s.n_electrodes, s.electrode_pitch_um, s.cortex_thickness_um
    (16, 200.0, 4000.0)
    >>> RetractionSettings(slip_per_cycle=2.0)
    Traceback (most recent call last):
    ...
    ValueError: slip_per_cycle must be between 0 and 1, got 2.0
    """

    n_electrodes: int = N_ELECTRODES
    electrode_pitch_um: float = ELECTRODE_PITCH_UM
    cortex_thickness_um: float = 4000.0
    hold_um_per_mm: float = 20.0
    slip_per_cycle: float = 1e-6
    gap_share_min: float = 0.5
    motion_sigma: float = 0.5
    depth_range_um: tuple[float, float] = (2500.0, 4500.0)
    planned_slack_um: float = 2000.0
    thread_length_um: float | None = None

    def __post_init__(self) -> None:
        n = self.n_electrodes
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
            raise ValueError(f"n_electrodes must be an integer between 1 and 64, got {n!r}")
        ranges = {
            "electrode_pitch_um": (1.0, 2000.0, " um"),
            "cortex_thickness_um": (1.0, 10000.0, " um"),
            "hold_um_per_mm": (0.0, 500.0, " um/mm"),
            "slip_per_cycle": (0.0, 1.0, ""),
            "gap_share_min": (0.0, 1.0, ""),
            "motion_sigma": (0.0, 3.0, ""),
            "planned_slack_um": (0.0, MAX_LENGTH_UM, " um"),
        }
        for name, (lo, hi, unit) in ranges.items():
            v = check_range(getattr(self, name), name=name, low=lo, high=hi, unit=unit)
            object.__setattr__(self, name, v)
        rng = tuple(self.depth_range_um)
        if len(rng) != 2:
            raise ValueError(f"depth_range_um must be (low, high), got {self.depth_range_um!r}")
        lo = check_range(rng[0], name="depth_range_um[0]", low=1, high=10000, unit=" um")
        hi = check_range(rng[1], name="depth_range_um[1]", low=lo, high=10000, unit=" um")
        object.__setattr__(self, "depth_range_um", (lo, hi))
        if self.thread_length_um is not None:
            v = check_range(self.thread_length_um, name="thread_length_um", low=1,
                            high=100000, unit=" um")  # fmt: skip
            object.__setattr__(self, "thread_length_um", v)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        out = asdict(self)
        out["depth_range_um"] = list(self.depth_range_um)
        return out

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the settings, in order."""
        return tuple(f.name for f in fields(cls))
