"""BrainMotion and RetractionSettings: defaults with sources, validation at the door."""

from __future__ import annotations

import pytest

import insertion_planner as ip
from insertion_planner.retraction import BrainMotion, RetractionSettings
from insertion_planner.robot import BrainMotion as RobotBrainMotion


def test_defaults_are_the_documented_numbers():
    m = BrainMotion()
    assert (m.respiratory_amplitude_um, m.cardiac_amplitude_um) == (100.0, 25.0)
    assert (m.positional_shift_um, m.sag_um, m.sag_days) == (700.0, 300.0, 14.0)
    s = RetractionSettings()
    assert (s.n_electrodes, s.electrode_pitch_um, s.cortex_thickness_um) == (16, 200.0, 4000.0)
    assert s.depth_range_um == (2500.0, 4500.0)
    assert s.planned_slack_um == 2000.0


def test_one_brain_motion_serves_the_insertion_monte_carlo_too():
    # the top-level BrainMotion is the retraction model's, a robot BrainMotion with the
    # slow terms added: it keeps the robot's fields and defaults.
    assert ip.BrainMotion is BrainMotion
    m = ip.BrainMotion()
    assert isinstance(m, RobotBrainMotion)
    robot = RobotBrainMotion()
    for name in robot.to_dict():
        assert getattr(m, name) == getattr(robot, name)


def test_sag_grows_to_its_amplitude():
    m = BrainMotion(sag_um=300.0, sag_days=14.0)
    assert m.sag_at_um(0.0) == 0.0
    assert m.sag_at_um(14.0) == pytest.approx(300.0 * (1 - 2.718281828**-1))
    assert m.sag_at_um(3650.0) == pytest.approx(300.0)
    assert BrainMotion(sag_days=0.0).sag_at_um(1.0) == 300.0
    still = m.still()
    assert still.pulsation_um == still.positional_shift_um == still.sag_um == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sag_um": -1.0}, "sag_um must be between 0 and 20000 um, got -1.0"),
        ({"positional_shift_um": 3e4}, "positional_shift_um must be between 0 and 20000 um"),
        ({"cardiac_rate_hz": 11.0}, "cardiac_rate_hz must be between 0 and 10 Hz"),
        ({"sag_days": float("nan")}, "sag_days must be finite"),
        ({"lateral_fraction": 2.0}, "lateral_fraction must be between 0 and 1"),
    ],
)
def test_brain_motion_names_the_bad_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BrainMotion(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_electrodes": 0}, "n_electrodes must be an integer between 1 and 64"),
        ({"electrode_pitch_um": 0.0}, "electrode_pitch_um must be between 1 and 2000 um"),
        ({"slip_per_cycle": -0.1}, "slip_per_cycle must be between 0 and 1"),
        ({"gap_share_min": 1.5}, "gap_share_min must be between 0 and 1"),
        ({"hold_um_per_mm": 1000.0}, "hold_um_per_mm must be between 0 and 500 um/mm"),
        ({"depth_range_um": (4000.0, 3000.0)}, r"depth_range_um\[1\] must be between 4000"),
        ({"thread_length_um": -5.0}, "thread_length_um must be between 1 and 100000 um"),
    ],
)
def test_settings_name_the_bad_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetractionSettings(**kwargs)
