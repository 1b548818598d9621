"""The insertion cycle of one thread: the phases and how long each takes.

Phases, in order (durations in s): ``load`` (grip the next thread at the cartridge),
``travel`` (cartridge to a point at the safe height above the site, then down to the
standoff, synchronised straight-line moves), ``align`` (tilt axes to the needle
direction, 5-axis robots; then settle), ``touchdown`` (the last standoff to the surface,
slowly), ``puncture`` (through the dura, transdural only), ``insert`` (to depth),
``release`` (let go of the thread), ``retract`` (needle out, fast), ``verify`` (image the
inserted thread) and ``return`` (back to the cartridge, tilt back to vertical).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..robots import RobotSpec
from .motion import plan_move, profile_time

__all__ = ["PHASES", "CycleTimes", "tilt_angles", "stage_frame", "cycle_times"]

PHASES = ("load", "travel", "align", "touchdown", "puncture", "insert", "release", "retract",
          "verify", "return")  # fmt: skip
"""The phases of one insertion cycle, in order (the columns of :attr:`CycleTimes.phases_s`)."""


class _MoveLimits(TypedDict):
    """Keyword arguments of :func:`plan_move` shared by the moves of one axis group."""

    speed: ArrayLike
    accel: ArrayLike
    jerk: ArrayLike | None
    profile: str


@dataclass(frozen=True, eq=False)
class CycleTimes:
    """Per-phase durations of a batch of insertions.

    Attributes
    ----------
    phases_s : (n, 10) float array
        Duration of each phase in :data:`PHASES` order, seconds.
    waypoints_um : (n, 4, 3) float array
        Stage positions visited per insertion: above the site at the safe height,
        the standoff point, the needle tip on the pia, the tip at full depth.
    """

    phases_s: NDArray[np.float64]
    waypoints_um: NDArray[np.float64]

    @property
    def total_s(self) -> NDArray[np.float64]:
        """(n,) total cycle time of each insertion, seconds."""
        return np.asarray(self.phases_s.sum(axis=1))


def tilt_angles(directions: ArrayLike) -> NDArray[np.float64]:
    """Tilt-axis angles (rad) that point a vertical needle along ``directions``.

    Parameters
    ----------
    directions : (n, 3) float
        Unit needle axes pointing into tissue (z < 0).

    Returns
    -------
    (n, 3) float
        Rotation about x, rotation about y, and the total angle from vertical.

    Examples
    --------
    >>> tilt_angles([[0.0, 0.0, -1.0]]).tolist()
    [[0.0, 0.0, 0.0]]
    """
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    down = np.maximum(-d[:, 2], 1e-12)
    out = np.empty((len(d), 3))
    out[:, 0] = np.arctan2(d[:, 1], down)
    out[:, 1] = np.arctan2(d[:, 0], down)
    out[:, 2] = np.arccos(np.clip(-d[:, 2], -1.0, 1.0))
    return out


def stage_frame(
    craniectomy_center_um: ArrayLike, pia_z_um: float, robot: RobotSpec
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The stage's reachable box in the plan frame: (low (3,), high (3,)) um.

    The stage is centred over the craniectomy in x and y, with the pia at mid-travel in z.
    """
    c = np.asarray(craniectomy_center_um, dtype=np.float64)
    centre = np.array([c[0], c[1], pia_z_um])
    half = np.asarray(robot.travel_um) / 2
    return centre - half, centre + half


def cycle_times(
    entries_um: ArrayLike,
    directions: ArrayLike,
    depths_um: ArrayLike,
    *,
    robot: RobotSpec,
    cartridge_um: ArrayLike,
    pia_z_um: float,
    dura_thickness_um: float = 0.0,
) -> CycleTimes:
    """Per-phase durations of inserting threads at ``entries_um``.

    Parameters
    ----------
    entries_um : (n, 3) float
        Entry points on the pia, um.
    directions : (n, 3) float
        Unit needle axes into tissue.
    depths_um : (n,) float
        Insertion depth below the pia along the needle, um.
    robot : RobotSpec
    cartridge_um : (3,) float
        Thread cartridge position (where each cycle starts and ends), um.
    pia_z_um : float
        Reference height of the pia; the safe travel height is measured from it.
    dura_thickness_um : float
        Dura punctured before the pia (0 in durectomy).

    Returns
    -------
    CycleTimes

    Examples
    --------
    >>> from insertion_planner.robots import get_robot
    >>> c = cycle_times([[0.0, 0.0, 0.0]], [[0.0, 0.0, -1.0]], [3500.0],
    ...                 robot=get_robot("R1-2019"), cartridge_um=[40000.0, 0.0, 15000.0],
    ...                 pia_z_um=0.0)
    >>> round(float(c.total_s[0]), 2)
    10.0
    """
    e = np.atleast_2d(np.asarray(entries_um, dtype=np.float64))
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    depth = np.broadcast_to(np.asarray(depths_um, dtype=np.float64), (len(e),))
    home = np.asarray(cartridge_um, dtype=np.float64)
    r = robot
    jerk = r.axis_jerk_um_per_s3 if r.profile == "s-curve" else None
    lin: _MoveLimits = {"speed": r.axis_speed_um_per_s, "accel": r.axis_accel_um_per_s2,
                        "jerk": jerk, "profile": r.profile}  # fmt: skip
    tilt_kw: _MoveLimits = {
        "speed": r.tilt_speed_rad_per_s,
        "accel": r.tilt_accel_rad_per_s2,
        "jerk": 50 * r.tilt_accel_rad_per_s2 if r.profile == "s-curve" else None,
        "profile": r.profile,
    }
    angles = tilt_angles(d)
    dura = float(dura_thickness_um)
    safe_z = pia_z_um + r.safe_height_um
    touch = profile_time(r.standoff_um, speed=r.touchdown_speed_um_per_s,
                         accel=r.axis_accel_um_per_s2[2])  # fmt: skip
    puncture = (
        profile_time(dura, speed=r.puncture_speed_um_per_s, accel=r.needle_accel_um_per_s2)
        + r.puncture_dwell_s
        if dura > 0
        else 0.0
    )
    retract = [profile_time(x + dura, speed=r.retraction_speed_um_per_s,
                            accel=r.retraction_accel_um_per_s2) for x in depth]  # fmt: skip
    insert = [profile_time(x, speed=r.insertion_speed_um_per_s, accel=r.needle_accel_um_per_s2)
              for x in depth]  # fmt: skip
    phases = np.zeros((len(e), len(PHASES)))
    way = np.zeros((len(e), 4, 3))
    for i in range(len(e)):
        tip_touch = e[i] - dura * d[i]  # needle tip on the dura (or the pia)
        standoff = tip_touch - r.standoff_um * d[i]
        # above the standoff point, on the safe plane, along the needle axis
        k = (safe_z - standoff[2]) / max(-d[i, 2], 1e-9)
        above = standoff - max(k, 0.0) * d[i]
        way[i] = (above, standoff, e[i], e[i] + depth[i] * d[i])
        out_move = (
            plan_move(home, above, **lin).duration_s + plan_move(above, standoff, **lin).duration_s
        )
        tilt = 0.0
        if r.n_axes == 5 and angles[i, 2] > 1e-9:
            tilt = plan_move([0.0, 0.0], angles[i, :2], **tilt_kw).duration_s
        phases[i] = (
            r.load_time_s,
            out_move,
            tilt + r.align_settle_s,
            touch,
            puncture,
            insert[i],
            r.release_time_s,
            retract[i],
            r.verify_time_s,
            max(out_move, tilt),
        )
    phases.setflags(write=False)
    way.setflags(write=False)
    return CycleTimes(phases, way)
