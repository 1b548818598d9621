import dataclasses
import math

import numpy as np
import pytest

from insertion_planner import DuraMode, PlannerConfig, SafetyMargins


def test_default_margins_follow_the_margin_model():
    m = SafetyMargins()
    positioning = 2.0 * math.sqrt(10**2 + 5**2 + 5**2)
    assert m.positioning_error_um == pytest.approx(positioning)
    assert m.required_um("durectomy") == pytest.approx(50 + 12 + positioning)
    assert m.required_um(DuraMode.TRANSDURAL) == pytest.approx(50 + 12 + positioning + 30 + 25)


def test_large_vessels_demand_more_clearance():
    m = SafetyMargins()
    req = m.required_um("durectomy", np.array([20.0, 99.0, 100.0, 350.0]))
    assert req.dtype == np.float32
    small, large = m.required_um("durectomy"), m.required_um("durectomy") + 25.0
    np.testing.assert_allclose(req, [small, small, large, large], rtol=1e-6)


def test_replace_validates_again_and_names_unknown_terms():
    m = SafetyMargins().replace(base_margin_um=80.0)
    assert m.base_margin_um == 80.0
    with pytest.raises(ValueError, match="base_margin_um must be non-negative"):
        SafetyMargins().replace(base_margin_um=-1.0)
    with pytest.raises(TypeError, match="unknown safety margin term"):
        SafetyMargins().replace(margin=3.0)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_margins_reject_non_finite(value):
    with pytest.raises(ValueError, match="stage_accuracy_um must be finite"):
        SafetyMargins(stage_accuracy_um=value)


def test_dura_mode_parse_names_the_parameter():
    assert DuraMode.parse("durectomy") is DuraMode.DURECTOMY
    with pytest.raises(
        ValueError, match="dura_mode must be one of 'durectomy', 'transdural', got 'open'"
    ):
        DuraMode.parse("open")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_threads": 0}, ValueError, "n_threads must be between 1 and 64, got 0"),
        ({"n_threads": 65}, ValueError, "n_threads must be between 1 and 64, got 65"),
        ({"n_threads": 3.5}, TypeError, "n_threads must be an integer"),
        ({"min_spacing_um": -5}, ValueError, "min_spacing_um must be positive"),
        ({"depth_um": float("nan")}, ValueError, "depth_um must be finite"),
        ({"dura_thickness_um": 1000}, ValueError, "dura_thickness_um must be between 250 and 400"),
        (
            {"max_incidence_deg": 95.0},
            ValueError,
            "max_incidence_deg must be between 0 and 90, got 95.0",
        ),
        ({"tether_clearance_um": -1.0}, ValueError, "tether_clearance_um must be between 0 and"),
        ({"collision_margin_um": float("inf")}, ValueError, "collision_margin_um must be finite"),
        ({"retraction_samples": 0}, ValueError, "retraction_samples must be between 1 and 100000"),
        ({"retraction_days": 4000}, ValueError, "retraction_days must be between 0 and 3650"),
        ({"vessel_polarity": "light"}, ValueError, "vessel_polarity must be one of"),
        ({"strict": "yes"}, TypeError, "strict must be a bool"),
        ({"depth_um": (4500, 2500)}, ValueError, "depth_um must be a number or a range"),
        ({"depth_um": (2500, 4500), "depth_range_um": (2500, 4500)}, ValueError, "not both"),
    ],
)
def test_planner_config_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        PlannerConfig(**kwargs)


def test_planner_config_is_keyword_only_and_replace_names_unknown_settings():
    with pytest.raises(TypeError):
        PlannerConfig(8)  # type: ignore[misc]
    with pytest.raises(
        TypeError, match="unknown planner setting.s. spacing_um .PlannerConfig takes"
    ):
        PlannerConfig().replace(spacing_um=300.0)
    ranged = PlannerConfig(depth_um=(2500.0, 4500.0))
    assert ranged.depth_range_um == (2500.0, 4500.0) and ranged.depth_um == 4500.0
    assert ranged.replace(depth_um=3000.0).depth_range_um is None  # a new depth, no range
    assert ranged.replace(n_threads=8).depth_range_um == (2500.0, 4500.0)
    with pytest.raises(ValueError, match="depth_um 3000 is not the deepest end of depth_range_um"):
        dataclasses.replace(ranged, depth_um=3000)  # keeps the range: refused, never guessed


def test_plan_insertions_takes_a_config_or_its_fields_and_saves_it_whole():
    import insertion_planner as ip

    img = np.full((160, 160), 200, np.uint8)
    img[:, 70:76] = 90
    config = PlannerConfig(n_threads=4, min_spacing_um=300.0, tether_clearance_um=150.0,
                           max_incidence_deg=12.0)  # fmt: skip
    a = ip.plan_insertions(img, pixel_size_um=12.0, config=config)
    b = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4, min_spacing_um=300.0,
                           tether_clearance_um=150.0, max_incidence_deg=12.0)  # fmt: skip
    assert a.config == config == b.config and a.to_json_text() == b.to_json_text()
    assert a.geometry.tether_clearance_um == 150.0
    assert a.geometry.max_incidence_rad == pytest.approx(math.radians(12.0), abs=1e-6)
    saved = a.to_dict()["config"]
    assert set(saved) == {f.name for f in dataclasses.fields(PlannerConfig)}
    # a keyword replaces the config's field
    c = ip.plan_insertions(img, pixel_size_um=12.0, config=config, n_threads=2)
    assert c.config == config.replace(n_threads=2) and len(c.threads) == 2
    with pytest.raises(TypeError, match="unknown planner setting.s. spacing"):
        ip.plan_insertions(img, pixel_size_um=12.0, spacing=300.0)
    with pytest.raises(TypeError, match="config must be a PlannerConfig, got dict"):
        ip.plan_insertions(img, pixel_size_um=12.0, config={"n_threads": 4})
    with pytest.raises(ValueError, match="n_threads must be at most 64 .the implant"):
        ip.plan_insertions(img, pixel_size_um=12.0, n_threads=65)
