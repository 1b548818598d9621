"""How the brain moves against the skull: the pulsation settings shared by two models.

:class:`BrainMotion` (respiratory and cardiac pulsation, the lateral share of it, the
registration error) describes the brain for the robot's insertion Monte Carlo
(:mod:`insertion_planner.robot.montecarlo`, which re-exports it), and is the base of the
retraction model's :class:`insertion_planner.retraction.BrainMotion`, which adds the slow
motions of the weeks after surgery. It lives apart from both so that neither model's
package has to import the other's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ._validation import check_positive

__all__ = ["BrainMotion"]


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
