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
    ],
)
def test_planner_config_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        PlannerConfig(**kwargs)
