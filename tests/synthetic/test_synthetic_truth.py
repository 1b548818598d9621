"""Properties of the generator's ground truth: Murray's law, radii, mask, graph, surface."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from insertion_planner import DuraMode, Grid, SyntheticCase
from insertion_planner.synthetic import KIND_CODES, GroundTruth, synthetic_cortex
from insertion_planner.synthetic.trees import murray_angles, murray_daughters

SURFACE_KINDS = ("artery", "vein", "dural")


def _bifurcations(g: nx.Graph):
    for n in g.nodes:
        if g.degree[n] == 3 and g.nodes[n]["kind"] in SURFACE_KINDS:
            yield n


def test_contract_fields(case_d):
    c = case_d
    h, w = 512, 512
    assert isinstance(c, SyntheticCase) and isinstance(c.truth, GroundTruth)
    assert c.image.shape == (h, w, 3) and c.image.dtype == np.uint8
    assert c.dura_mode is DuraMode.DURECTOMY and c.seed == 7 and c.pixel_size_um == 12.0
    assert isinstance(c.grid, Grid) and c.grid.shape == (h, w)
    np.testing.assert_array_equal(c.grid.surface_z_um, c.truth.surface_z_um)
    t = c.truth
    for name, dtype in [
        ("mask", bool),
        ("radius_um", np.float32),
        ("kind", np.uint8),
        ("surface_z_um", np.float32),
    ]:
        a = getattr(t, name)
        assert a.shape == (h, w) and a.dtype == dtype and not a.flags.writeable
    assert c.region.dtype == bool and c.functional_weight.dtype == np.float32
    assert c.region_polygon.ndim == 2 and c.region_polygon.shape[1] == 2
    assert t.penetrating.ndim == 2 and t.penetrating.shape[1] == 5 and len(t.penetrating) > 0
    with pytest.raises(ValueError):
        t.mask[0, 0] = True


def test_maps_consistent(case_d):
    t = case_d.truth
    np.testing.assert_array_equal(t.mask, t.kind > 0)
    np.testing.assert_array_equal(t.mask, t.radius_um > 0)
    assert set(np.unique(t.kind)) <= {0, 1, 2, 4}  # no dural vessels without dura
    assert (t.mask <= case_d.craniectomy).all()
    frac = t.mask[case_d.craniectomy].mean()
    assert 0.02 < frac < 0.35


def test_region_and_weight(case_d):
    c = case_d
    assert c.region.any() and (c.region <= c.craniectomy).all()
    wgt = c.functional_weight
    assert float(wgt.max()) == pytest.approx(1.0) and float(wgt.min()) >= 0.0
    assert (wgt[~c.region] == 0).all()
    # the lasso vertices lie inside the opening
    d = np.hypot(*(c.region_polygon - np.asarray(c.craniectomy_center_rc)).T)
    assert (d * c.pixel_size_um <= c.craniectomy_radius_um).all()


def test_transdural_has_dural_vessels(case_t):
    t = case_t.truth
    kinds = {d["kind"] for _, d in t.graph.nodes(data=True)}
    assert kinds == {"artery", "vein", "dural", "penetrating"}
    assert (t.kind == KIND_CODES["dural"]).any()


@pytest.mark.parametrize("fixture", ["case_wide", "case_d", "case_thin"])
def test_murray_law_at_every_bifurcation(fixture, request):
    g = request.getfixturevalue(fixture).truth.graph
    nodes = list(_bifurcations(g))
    assert len(nodes) >= (40 if fixture == "case_wide" else 3)
    for n in nodes:
        r = sorted(g.nodes[m]["radius_um"] for m in g.neighbors(n))
        assert r[2] ** 3 == pytest.approx(r[0] ** 3 + r[1] ** 3, rel=1e-9), n
        assert g.nodes[n]["radius_um"] == pytest.approx(r[2])


def test_murray_optimal_angles_balance():
    # Murray's optimum is the force balance r0^2 e0 = r1^2 e1 + r2^2 e2.
    for alpha in (0.2, 0.5, 0.8, 1.0):
        r1, r2 = murray_daughters(100.0, alpha)
        t1, t2 = murray_angles(100.0, r1, r2)
        assert r1**2 * math.cos(t1) + r2**2 * math.cos(t2) == pytest.approx(100.0**2)
        assert r1**2 * math.sin(t1) == pytest.approx(r2**2 * math.sin(t2))
    assert [round(math.degrees(a), 2) for a in murray_angles(1.0, *murray_daughters(1.0, 1.0))] == [
        37.47,
        37.47,
    ]


def test_branching_angles_follow_murray(case_wide):
    g = case_wide.truth.graph
    errs = []
    for n in _bifurcations(g):
        xy = np.asarray(g.nodes[n]["xyz_um"][:2])
        nb = sorted(g.neighbors(n), key=lambda m: g.nodes[m]["radius_um"], reverse=True)
        r0, r1, r2 = (g.nodes[m]["radius_um"] for m in nb)
        d = [np.asarray(g.nodes[m]["xyz_um"][:2]) - xy for m in nb[1:]]
        measured = math.acos(
            np.clip(np.dot(d[0], d[1]) / np.linalg.norm(d[0]) / np.linalg.norm(d[1]), -1, 1)
        )
        errs.append(abs(measured - sum(murray_angles(r0, r1, r2))))
    assert np.median(errs) < 0.25


def test_radii_within_bounds(case_wide, case_d):
    for c in (case_wide, case_d):
        g = c.truth.graph
        for _, a in g.nodes(data=True):
            if a["kind"] == "penetrating":
                assert 10.0 <= a["radius_um"] <= 30.0
            else:
                assert 15.0 - 1e-9 <= a["radius_um"] <= 350.0
        pen = c.truth.penetrating
        assert ((pen[:, 3] >= 10) & (pen[:, 3] <= 30)).all() and (pen[:, 4] > 0).all()
        r = c.truth.radius_um[c.truth.mask]
        assert r.min() >= 10.0 - 1e-3 and r.max() <= 350.0 + 1e-3
    big = max(a["radius_um"] for _, a in case_wide.truth.graph.nodes(data=True))
    assert big >= 150.0  # diameters reach several hundred micrometres


def _brute_force_mask(c):
    """Union of the graph edges' tapered capsules at pixel centres, float64, per edge."""
    g = c.truth.graph
    ps = c.pixel_size_um
    h, w = c.shape
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float64)
    inside = np.zeros((h, w), bool)
    margin = np.full((h, w), np.inf)
    for u, v in g.edges:
        (ya, xa), (yb, xb) = g.nodes[u]["rc"], g.nodes[v]["rc"]
        ra, rb = g.nodes[u]["radius_um"] / ps, g.nodes[v]["radius_um"] / ps
        rm = max(ra, rb)
        lo_r, hi_r = int(max(min(ya, yb) - rm - 2, 0)), int(min(max(ya, yb) + rm + 3, h))
        lo_c, hi_c = int(max(min(xa, xb) - rm - 2, 0)), int(min(max(xa, xb) + rm + 3, w))
        if hi_r <= lo_r or hi_c <= lo_c:
            continue
        win = (slice(lo_r, hi_r), slice(lo_c, hi_c))
        pr, pc = rr[win] - ya, cc[win] - xa
        dr, dc = yb - ya, xb - xa
        l2 = dr * dr + dc * dc
        t = np.clip((pr * dr + pc * dc) / l2, 0, 1) if l2 > 0 else np.zeros_like(pr)
        d = np.hypot(pr - t * dr, pc - t * dc)
        rad = ra + t * (rb - ra)
        inside[win] |= d <= rad
        margin[win] = np.minimum(margin[win], np.abs(d - rad))
    return inside & c.craniectomy, margin


@pytest.mark.parametrize("fixture", ["case_d", "case_t", "case_wide", "case_thin"])
def test_mask_is_union_of_graph_tubes(fixture, request):
    c = request.getfixturevalue(fixture)
    expected, margin = _brute_force_mask(c)
    diff = expected != c.truth.mask
    # identical except (at most) float32-vs-float64 ties exactly on a capsule boundary
    assert (margin[diff] < 1e-4).all()
    assert diff.sum() <= 2
    assert expected.sum() > 1000


def test_penetrating_in_graph_and_mask(case_d):
    c = case_d
    g = c.truth.graph
    pen_nodes = [n for n, a in g.nodes(data=True) if a["kind"] == "penetrating"]
    assert len(pen_nodes) == 2 * len(c.truth.penetrating)
    for x, y, z, _r, _depth in c.truth.penetrating:
        row, col = y / c.pixel_size_um, x / c.pixel_size_um
        assert z == pytest.approx(float(c.grid.height_at([[row, col]])[0]), abs=1e-3)
        ri, ci = int(round(row)), int(round(col))
        if c.craniectomy[ri, ci]:
            assert c.truth.mask[ri, ci]
            assert c.truth.kind[ri, ci] == KIND_CODES["penetrating"]
    for n in pen_nodes:
        zs = [
            g.nodes[m]["xyz_um"][2] for m in g.neighbors(n) if g.nodes[m]["kind"] == "penetrating"
        ]
        assert len(zs) == 1  # each stump: one surface node joined to one deep node


@pytest.mark.parametrize("fixture", ["case_d", "case_t", "case_thin"])
def test_penetrating_vessels_leave_pial_vessels(fixture, request):
    """Every penetrating vessel's surface end touches a pial artery or vein (Duvernoy
    1981): none stands alone in free cortex, where a 20 um stump would be invisible."""
    from scipy import ndimage as ndi

    c = request.getfixturevalue(fixture)
    # the stump covers the parent's edge, and a dural vessel may cover the parent
    pial = np.isin(c.truth.kind, [KIND_CODES[k] for k in SURFACE_KINDS])
    dist = ndi.distance_transform_edt(~pial) * c.pixel_size_um
    checked = 0
    for x, y, _z, r, _depth in c.truth.penetrating:
        ri, ci = int(round(y / c.pixel_size_um)), int(round(x / c.pixel_size_um))
        if not c.craniectomy[max(ri - 5, 0) : ri + 6, max(ci - 5, 0) : ci + 6].all():
            continue
        checked += 1
        assert dist[ri, ci] <= r + 1.5 * c.pixel_size_um, (x, y, r)
    assert checked >= 10


@pytest.mark.parametrize("fixture", ["case_t", "case_thin"])
def test_vessels_lie_on_surface(fixture, request):
    c = request.getfixturevalue(fixture)
    g = c.truth.graph
    for _, a in g.nodes(data=True):
        zs = float(c.grid.height_at([a["rc"]])[0])
        if a["kind"] in ("artery", "vein"):
            assert a["xyz_um"][2] == pytest.approx(zs + a["radius_um"], abs=1e-3)
        elif a["kind"] == "dural":
            assert a["xyz_um"][2] == pytest.approx(
                zs + c.truth.dura_thickness_um + a["radius_um"], abs=1e-3
            )
        else:
            assert a["xyz_um"][2] <= zs + 1e-3


def test_surface_relief_and_slope():
    c = synthetic_cortex(11, shape=(256, 256), pixel_size_um=100.0)
    z = c.truth.surface_z_um[c.craniectomy]
    assert 300.0 < np.ptp(z) < 2500.0  # millimetre relief
    slope = np.degrees(c.grid.slope_rad()[c.craniectomy])
    assert np.percentile(slope, 95) < 35.0


def test_meshes(case_d):
    t = case_d.truth
    sm = t.surface_mesh(max_side=64)
    assert len(sm.faces) > 0
    assert sm.vertices[:, 2].min() >= t.surface_z_um.min() - 1e-3
    assert sm.vertices[:, 2].max() <= t.surface_z_um.max() + 1e-3
    assert (sm.face_normals[:, 2] > 0).mean() > 0.99  # normals point up, out of the brain
    vm = t.vessel_mesh(sections=6)
    n_edges = sum(
        1 for u, v in t.graph.edges if t.graph.nodes[u]["xyz_um"] != t.graph.nodes[v]["xyz_um"]
    )
    assert len(vm.faces) == 2 * 6 * n_edges
    lo, hi = vm.bounds
    assert lo[2] < t.surface_z_um.min()  # penetrating vessels go down into the cortex
