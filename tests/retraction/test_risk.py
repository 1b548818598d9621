"""retraction_risk: monotone in gap, motion and slack (exactly, on common random numbers),
electrode counts in range, deterministic for a seed, inputs checked at the door."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import insertion_planner as ip
from insertion_planner.retraction import BrainMotion, RetractionSettings, retraction_risk

N = 200  # samples per thread in the property tests: the comparisons are exact anyway


def _per_thread(report):
    pull = np.array([t.pull_out_probability for t in report.threads])
    retracted = np.array([t.retraction_probability for t in report.threads])
    kept = np.array([t.electrodes_retained for t in report.threads])
    return pull, retracted, kept


def _no_less_lost(worse, better):
    """Every measure of loss in ``worse`` is at least that in ``better``, thread by thread."""
    pw, rw, kw = _per_thread(worse)
    pb, rb, kb = _per_thread(better)
    assert (pw >= pb).all() and (rw >= rb).all() and (kw <= kb).all()
    assert worse.loss >= better.loss
    assert worse.pulled_out_fraction >= better.pulled_out_fraction
    assert (worse.retraction_um >= better.retraction_um).all()


@settings(max_examples=25)
@given(g1=st.floats(0.0, 6000.0), g2=st.floats(0.0, 6000.0), seed=st.integers(0, 2**31))
def test_retraction_never_falls_as_the_gap_grows(plan64, thickness, g1, g2, seed):
    lo, hi = sorted((g1, g2))
    kw = {"cortex_thickness_um": thickness, "slack_um": 0.0, "n_samples": N, "rng": seed}
    _no_less_lost(retraction_risk(plan64, implant_gap_um=hi, **kw),
                  retraction_risk(plan64, implant_gap_um=lo, **kw))  # fmt: skip


@settings(max_examples=25)
@given(
    f1=st.floats(0.0, 5.0),
    f2=st.floats(0.0, 5.0),
    gap=st.floats(0.0, 4000.0),
    seed=st.integers(0, 2**31),
)
def test_retraction_never_falls_as_the_motion_grows(plan64, thickness, f1, f2, gap, seed):
    lo, hi = sorted((f1, f2))
    base = BrainMotion()

    def scaled(f):
        return replace(
            base,
            respiratory_amplitude_um=base.respiratory_amplitude_um * f,
            cardiac_amplitude_um=base.cardiac_amplitude_um * f,
            positional_shift_um=base.positional_shift_um * f,
            sag_um=base.sag_um * f,
        )

    kw = {"cortex_thickness_um": thickness, "implant_gap_um": gap, "n_samples": N, "rng": seed}
    _no_less_lost(retraction_risk(plan64, brain_motion=scaled(hi), **kw),
                  retraction_risk(plan64, brain_motion=scaled(lo), **kw))  # fmt: skip


@settings(max_examples=25)
@given(
    s1=st.floats(0.0, 2000.0),
    s2=st.floats(0.0, 2000.0),
    gap=st.floats(0.0, 4000.0),
    seed=st.integers(0, 2**31),
)
def test_retraction_never_falls_as_the_slack_shrinks(plan64, thickness, s1, s2, gap, seed):
    lo, hi = sorted((s1, s2))
    kw = {"cortex_thickness_um": thickness, "implant_gap_um": gap, "n_samples": N, "rng": seed}
    _no_less_lost(retraction_risk(plan64, slack_um=lo, **kw),
                  retraction_risk(plan64, slack_um=hi, **kw))  # fmt: skip


@settings(max_examples=25)
@given(
    gap=st.floats(0.0, 20000.0),
    days=st.floats(0.0, 3650.0),
    depth=st.floats(100.0, 9000.0),
    thick=st.floats(1.0, 10000.0),
    seed=st.integers(0, 2**31),
)
def test_electrode_counts_stay_in_range(small_plan, gap, days, depth, thick, seed):
    plan = replace(
        small_plan, threads=tuple(replace(t, depth_um=depth) for t in small_plan.threads)
    )
    r = retraction_risk(plan, implant_gap_um=gap, days=days, cortex_thickness_um=thick,
                        n_samples=N, rng=seed)  # fmt: skip
    for t in r.threads:
        assert 0.0 <= t.electrodes_in_cortex <= 16.0
        assert 0.0 <= t.electrodes_retained <= t.electrodes_in_cortex_at_insertion <= 16
        assert 0.0 <= t.pull_out_probability <= t.retraction_probability or (
            t.electrodes_in_cortex_at_insertion == 0
        )
        assert 0.0 <= t.retraction_um_median <= t.retraction_um_p95 <= depth + 1e-3
    assert 0.0 <= r.electrodes_retained_fraction <= 1.0


def test_a_seed_gives_the_same_report(plan64, thickness):
    kw = {"implant_gap_um": 2500.0, "cortex_thickness_um": thickness, "slack_um": 0.0}
    a = retraction_risk(plan64, rng=7, **kw)
    b = retraction_risk(plan64, rng=7, **kw)
    c = retraction_risk(plan64, rng=np.random.default_rng(7), **kw)
    assert a.threads == b.threads == c.threads
    assert np.array_equal(a.retraction_um, c.retraction_um)
    assert (a.seed, c.seed) == (7, None)
    assert (
        retraction_risk(plan64, rng=None, **kw).threads
        == retraction_risk(plan64, rng=0, **kw).threads
    )
    assert retraction_risk(plan64, rng=8, **kw).threads != a.threads
    # numbers, not just "no exception": this seed's result (64 threads x 1000 samples)
    assert a.electrodes_retained_fraction == pytest.approx(0.1717, abs=0.002)


def test_report_names_threads_as_the_plan_does(plan64, thickness):
    r = retraction_risk(plan64, cortex_thickness_um=thickness, n_samples=50)
    assert [t.label for t in r.threads] == [t.label for t in plan64.active_threads]
    assert [t.thread_id for t in r.threads] == [t.id for t in plan64.active_threads]
    assert r.retraction_um.shape == (64, 50) and not r.retraction_um.flags.writeable
    assert r.n_samples == 50 and r.days == 30.0 and r.implant_gap_um == 0.0
    assert len(r.slack_um) == len(r.depth_um) == len(r.cortex_thickness_um) == 64
    # the thickness map was sampled at each site
    rc = np.rint([t.pixel for t in plan64.active_threads]).astype(int)
    assert np.allclose(r.cortex_thickness_um, thickness[rc[:, 0], rc[:, 1]])
    assert r.table().splitlines()[2].startswith("| T01 |")


def test_removed_threads_are_not_assessed(small_plan):
    plan = replace(
        small_plan,
        threads=(small_plan.threads[0], replace(small_plan.threads[1], status="removed")),
    )
    assert [t.label for t in retraction_risk(plan, n_samples=10).threads] == ["T01"]
    only_removed = replace(
        small_plan, threads=tuple(replace(t, status="removed") for t in small_plan.threads)
    )
    with pytest.raises(ValueError, match="plan must have at least one active thread"):
        retraction_risk(only_removed)


def test_no_motion_and_no_gap_loses_nothing(plan64):
    r = retraction_risk(plan64, brain_motion=BrainMotion().still(), slack_um=0.0, n_samples=50)
    assert r.electrodes_retained_fraction == 1.0 and r.binding_term is None
    assert float(r.retraction_um.max()) == 0.0
    # and no time, no ratchet
    assert retraction_risk(plan64, implant_gap_um=5000.0, days=0.0, n_samples=50).loss == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"implant_gap_um": -1.0}, ValueError, "implant_gap_um must be between 0 and 20000 um, got -1.0"),
        ({"implant_gap_um": float("inf")}, ValueError, "implant_gap_um must be finite"),
        ({"days": 4000}, ValueError, "days must be between 0 and 3650 days, got 4000.0"),
        ({"n_samples": 0}, ValueError, "n_samples must be between 1 and 100000, got 0"),
        ({"n_samples": 10.5}, TypeError, "n_samples must be an integer"),
        ({"cortex_thickness_um": 0.0}, ValueError, "cortex_thickness_um must be between 1 and 10000 um"),
        ({"cortex_thickness_um": np.ones((3, 3))}, ValueError, r"cortex_thickness_um must be a number or a map of the plan's image shape \(200, 200\)"),
        ({"cortex_thickness_um": np.zeros((200, 200))}, ValueError, "cortex_thickness_um must be between 1 and 10000 um at every thread, got 0.0 at T01"),
        ({"cortex_thickness_um": "thick"}, TypeError, "cortex_thickness_um must be None, a number or an"),
        ({"slack_um": -5.0}, ValueError, "slack_um must be between 0 and 20000 um, got -5.0"),
        ({"slack_um": [1.0, 2.0, 3.0]}, ValueError, r"slack_um must be None, a number or one value per active thread \(2\)"),
        ({"slack_um": 15000.0}, ValueError, r"slack_um must be between 0 and 6960 um for T01"),
        ({"brain_motion": ip.robot.BrainMotion()}, TypeError, "brain_motion must be an insertion_planner.BrainMotion"),
        ({"settings": {}}, TypeError, "settings must be a RetractionSettings"),
        ({"rng": -1}, ValueError, "rng must be a non-negative seed"),
    ],
)  # fmt: skip
def test_bad_input_is_named(small_plan, kwargs, error, message):
    with pytest.raises(error, match=message):
        retraction_risk(small_plan, **kwargs)


def test_plan_must_be_a_plan():
    with pytest.raises(TypeError, match="plan must be an InsertionPlan, got dict"):
        retraction_risk({})


def test_thread_length_bounds_the_slack(small_plan):
    # a 16 mm thread leaves 16000 - 13040 = 2960 um beyond the taut route of T01
    st_ = RetractionSettings(thread_length_um=16000.0)
    with pytest.raises(ValueError, match="slack_um must be between 0 and 2960 um for T01"):
        retraction_risk(small_plan, slack_um=5000.0, settings=st_)
    assert retraction_risk(small_plan, slack_um=2000.0, settings=st_, n_samples=10).slack_um == (
        2000.0,
        2000.0,
    )
