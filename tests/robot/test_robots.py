import json
import math

import pytest

import insertion_planner as ip
from insertion_planner.robots import PRESET_SOURCES, PRESETS, RobotSpec, get_robot


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_round_trip(name):
    spec = PRESETS[name]
    assert RobotSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_preset_published_values():
    r19 = get_robot("R1-2019")
    assert r19.travel_um == (400_000.0, 400_000.0, 150_000.0)
    assert r19.stage_accuracy_um == 10.0 and r19.n_axes == 3 and r19.max_tilt_rad == 0.0
    assert r19.needle_diameter_um == 24.0
    assert r19.retraction_accel_um_per_s2 == 3.0e7  # 30,000 mm/s^2
    assert r19.tracking_rate_hz == 21.0
    assert r19.insertion_success_rate == 0.871
    assert get_robot("R1-2024").n_axes == 5 and get_robot("next-gen").max_tilt_rad > 0
    for key in ("travel_um", "stage_accuracy_um", "retraction_accel_um_per_s2", "tracking_rate_hz"):
        assert key in PRESET_SOURCES


def test_custom_robot_partial_and_base(tmp_path):
    r = RobotSpec.from_dict(
        {
            "name": "mine",
            "n_axes": 3,
            "travel_um": [1e5, 1e5, 5e4],
            "stage_accuracy_um": 5,
            "max_tilt_rad": 0,
            "needle_diameter_um": 20,
        }
    )
    assert r.travel_um == (1e5, 1e5, 5e4) and r.insertion_speed_um_per_s == 10_000.0
    b = RobotSpec.from_dict({"base": "next-gen", "name": "ng2", "verify_time_s": 0.1})
    assert b.profile == "s-curve" and b.verify_time_s == 0.1 and b.name == "ng2"
    path = tmp_path / "robot.json"
    path.write_text(json.dumps({"base": "R1-2024", "name": "file-bot", "load_time_s": 2.0}))
    assert get_robot(str(path)).load_time_s == 2.0
    assert get_robot(path).n_axes == 5


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"insertion_speed_um_per_s": -1.0}, "insertion_speed_um_per_s"),
        ({"profile": "cubic"}, "profile"),
        ({"head_shape": "sphere"}, "head_shape"),
        ({"axis_speed_um_per_s": (1.0, 2.0)}, "axis_speed_um_per_s"),
        ({"insertion_success_rate": 1.5}, "insertion_success_rate"),
        ({"max_incidence_rad": math.pi}, "max_incidence_rad"),
        ({"max_tilt_rad": 0.2}, "max_tilt_rad"),
    ],
)
def test_invalid_robot(change, match):
    with pytest.raises(ValueError, match=match):
        get_robot("R1-2019").replace(**change)


def test_robot_dict_errors():
    with pytest.raises(ValueError, match="unknown field"):
        RobotSpec.from_dict({"base": "R1-2019", "wings": 2})
    with pytest.raises(ValueError, match="missing field"):
        RobotSpec.from_dict({"name": "x"})
    with pytest.raises(ValueError, match="base"):
        RobotSpec.from_dict({"base": "R2"})
    with pytest.raises(TypeError):
        RobotSpec.from_dict(["R1-2019"])
    with pytest.raises(ValueError, match="does not exist"):
        ip.get_robot("missing.json")
