"""Abundant thin (20-40 um) pial vessels: present, in the ground truth, physiological."""

from __future__ import annotations

import numpy as np
import pytest

from insertion_planner.synthetic import synthetic_cortex
from insertion_planner.synthetic.thin import THIN_RADIUS_UM


def _pial_length_um(graph, lo_um: float, hi_um: float) -> float:
    """Length of pial edges whose both ends have a radius in [lo, hi], micrometres."""
    total = 0.0
    for u, v in graph.edges:
        a, b = graph.nodes[u], graph.nodes[v]
        if {a["kind"], b["kind"]} <= {"artery", "vein", "penetrating"} and "penetrating" not in (
            a["kind"],
            b["kind"],
        ):
            if all(lo_um <= n["radius_um"] <= hi_um for n in (a, b)):
                total += float(np.hypot(*np.subtract(a["xyz_um"][:2], b["xyz_um"][:2])))
    return total


def test_thin_vessels_are_abundant(case_thin, case_t):
    area_mm2 = case_thin.craniectomy.sum() * (case_thin.pixel_size_um / 1000.0) ** 2
    thin = _pial_length_um(case_thin.truth.graph, 10.0, 20.0) / 1000.0 / area_mm2
    before = _pial_length_um(case_t.truth.graph, 10.0, 20.0) / 1000.0 / area_mm2
    assert thin > 0.8  # mm of 20-40 um vessel per mm^2 of cortex
    assert before < 0.1 * thin  # the trees alone stop at 30 um
    diam = (
        2.0
        * case_thin.truth.radius_um[case_thin.truth.mask & np.isin(case_thin.truth.kind, (1, 2))]
    )
    assert diam.min() == pytest.approx(20.0, abs=1.0)
    assert (diam <= 40.0).mean() > 0.15  # a large share of the pial lumen pixels


def test_thin_vessels_are_in_the_ground_truth(case_thin, case_t):
    t, t0 = case_thin.truth, case_t.truth
    assert (t0.mask <= t.mask).all()  # the original vessels are all still there
    new = t.mask & ~t0.mask
    assert new.sum() > 2000
    r = t.radius_um[new]
    assert (r[np.isin(t.kind[new], (1, 2))] <= THIN_RADIUS_UM[1] + 1e-3).all()
    assert (r > 0).all()


def test_thin_vessel_radii_and_stumps(case_thin, case_t):
    g = case_thin.truth.graph
    radii = [a["radius_um"] for _, a in g.nodes(data=True) if a["kind"] in ("artery", "vein")]
    assert min(radii) >= THIN_RADIUS_UM[0] - 1e-9
    pen = case_thin.truth.penetrating
    assert ((pen[:, 3] >= 10.0) & (pen[:, 3] <= 30.0)).all()
    # most sprouts end by diving: many more penetrating vessels than without them
    assert len(pen) > 2 * len(case_t.truth.penetrating)


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_thin_vessels_option_is_independent_of_imaging(mode):
    a = synthetic_cortex(3, shape=(256, 256), dura_mode=mode, thin_vessels=True)
    b = synthetic_cortex(3, shape=(256, 256), dura_mode=mode, imaging="random")
    np.testing.assert_array_equal(a.truth.mask, b.truth.mask)
    assert a.thin_vessels and b.thin_vessels and a.imaging.is_default()
