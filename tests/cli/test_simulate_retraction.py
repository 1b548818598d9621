"""``simulate --retraction-days``: the line printed, the JSON written, the refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest

import insertion_planner as ip
from insertion_planner.cli import main
from insertion_planner.plan import _example_plan

LINE = "electrodes retained at day {days}: {pct:.1f} % (gap {gap} um; binding term: {term})"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """plan.json: a planned synthetic case every thread of which the robot validates;
    rejected.json: two threads a robot of 2 mm stage travel cannot reach (exit 1);
    empty.json: no active thread."""
    d = tmp_path_factory.mktemp("plans")
    case = ip.synthetic_cortex(1, shape=(512, 512), pixel_size_um=16.0)
    plan = ip.plan_insertions(
        case.image, pixel_size_um=case.pixel_size_um, dura_mode="durectomy", n_threads=8,
        region=case.region, robot="R1-2024", weight=case.functional_weight,
        surface_height_um=case.grid.surface_z_um, craniectomy=case.craniectomy, rng=0,
    )  # fmt: skip
    assert len(plan.threads) >= 3
    plan.to_json(d / "plan.json")
    p = _example_plan()
    tiny = p.robot_spec.replace(name="tiny", travel_um=(2000.0, 2000.0, 150000.0))
    dataclasses.replace(p, robot="tiny", robot_spec=tiny).to_json(d / "rejected.json")
    failed = tuple(dataclasses.replace(t, status="failed") for t in p.threads)
    dataclasses.replace(p, threads=failed).to_json(d / "empty.json")
    return d


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _api(path, *, days, gap, seed):
    return ip.retraction_risk(ip.load_plan(path), implant_gap_um=gap, days=days, rng=seed)


def _expected_json(r):
    """The JSON of --retraction-out, built here from the API's report, field by field."""
    threads = [
        {
            "thread_id": t.thread_id, "label": t.label, "depth_um": t.depth_um,
            "cortex_thickness_um": t.cortex_thickness_um, "slack_um": t.slack_um,
            "electrodes_in_cortex_at_insertion": t.electrodes_in_cortex_at_insertion,
            "electrodes_in_cortex": t.electrodes_in_cortex,
            "electrodes_retained": t.electrodes_retained,
            "pull_out_probability": t.pull_out_probability,
            "retraction_probability": t.retraction_probability,
            "retraction_um_median": t.retraction_um_median,
            "retraction_um_p95": t.retraction_um_p95,
        }
        for t in r.threads
    ]  # fmt: skip
    return {
        "days": r.days, "implant_gap_um": r.implant_gap_um, "n_samples": r.n_samples,
        "seed": r.seed, "electrodes_retained_fraction": r.electrodes_retained_fraction,
        "electrodes_in_cortex_at_insertion": r.electrodes_in_cortex_at_insertion,
        "expected_electrodes_in_cortex": r.expected_electrodes_in_cortex,
        "pulled_out_fraction": r.pulled_out_fraction, "retracted_fraction": r.retracted_fraction,
        "binding_term": r.binding_term, "loss_without": r.loss_without,
        "brain_motion": dataclasses.asdict(r.brain_motion), "settings": r.settings.to_dict(),
        "threads": threads,
    }  # fmt: skip


def test_prints_electrodes_retained_at_the_day_and_exits_0(files, capsys):
    code, out, err = _run(["simulate", files / "plan.json", "--retraction-days", "30",
                           "--implant-gap-um", "3000", "--seed", "5"], capsys)  # fmt: skip
    assert code == 0 and err == ""
    n = len(ip.load_plan(files / "plan.json").threads)
    assert out[0].startswith(f"R1-2024: {n} of {n} threads validated")
    r = _api(files / "plan.json", days=30.0, gap=3000.0, seed=5)
    assert out[1:] == [LINE.format(days=30, pct=100 * r.electrodes_retained_fraction, gap=3000,
                                   term=r.binding_term)]  # fmt: skip
    assert r.binding_term == "gap" and r.electrodes_retained_fraction < 0.5


def test_without_retraction_days_nothing_changes(files, capsys):
    code, out, err = _run(["simulate", files / "plan.json"], capsys)
    assert code == 0 and err == "" and len(out) == 1
    assert "electrodes retained" not in out[0]


def test_the_default_gap_is_a_flush_implant_and_days_may_be_fractional(files, tmp_path, capsys):
    ret = tmp_path / "ret.json"
    code, out, _ = _run(["simulate", files / "plan.json", "--retraction-days", "7.5",
                         "--retraction-out", ret], capsys)  # fmt: skip
    assert code == 0
    r = _api(files / "plan.json", days=7.5, gap=0.0, seed=0)
    line = LINE.format(days=7.5, pct=100 * r.electrodes_retained_fraction, gap=0,
                       term=r.binding_term or "none")  # fmt: skip
    assert out[-1] == line and line.startswith("electrodes retained at day 7.5: ")
    assert f"; wrote {ret}" in out[0]
    data = json.loads(ret.read_text())
    assert data == _expected_json(r)
    assert data["implant_gap_um"] == 0.0 and data["days"] == 7.5 and data["seed"] == 0


def test_a_rejected_plan_still_exits_1_with_the_line(files, capsys):
    code, out, _ = _run(["simulate", files / "rejected.json", "--retraction-days", "14",
                         "--implant-gap-um", "2000"], capsys)  # fmt: skip
    assert code == 1
    r = _api(files / "rejected.json", days=14.0, gap=2000.0, seed=0)
    assert out[-1] == LINE.format(days=14, pct=100 * r.electrodes_retained_fraction, gap=2000,
                                  term=r.binding_term)  # fmt: skip
    assert [o.split(":")[0].strip() for o in out[1:-1]] == ["T01", "T02"]  # rejected threads


def test_the_json_written_equals_the_api_with_the_same_seed(files, tmp_path, capsys):
    out, ret = tmp_path / "report.json", tmp_path / "retraction.json"
    code, lines, _ = _run(["simulate", files / "plan.json", "--retraction-days", "30",
                           "--implant-gap-um", "3000", "--seed", "11", "--out", out,
                           "--retraction-out", ret], capsys)  # fmt: skip
    assert code == 0
    assert lines[0].endswith(f"; wrote {out}; wrote {ret}")
    data = json.loads(ret.read_text())
    r = _api(files / "plan.json", days=30.0, gap=3000.0, seed=11)
    assert data == _expected_json(r)
    assert data["electrodes_retained_fraction"] == r.electrodes_retained_fraction  # exact
    assert [t["label"] for t in data["threads"]] == [
        t.label for t in ip.load_plan(files / "plan.json").active_threads
    ]
    assert data["seed"] == 11 and data["n_samples"] == 1000
    # another seed, other random numbers
    assert data != _expected_json(_api(files / "plan.json", days=30.0, gap=3000.0, seed=12))
    assert ret.read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "retraction.json"]
    assert "simulation" not in data and "insertions" in json.loads(out.read_text())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--retraction-days", "0"], "argument --retraction-days: must be a number from 1 to 3650, got 0"),
        (["--retraction-days", "0.5"], "argument --retraction-days: must be a number from 1 to 3650, got 0.5"),
        (["--retraction-days", "3651"], "argument --retraction-days: must be a number from 1 to 3650, got 3651"),
        (["--retraction-days", "nan"], "argument --retraction-days: must be a number from 1 to 3650, got nan"),
        (["--retraction-days", "inf"], "argument --retraction-days: must be a number from 1 to 3650, got inf"),
        (["--retraction-days", "a month"], "argument --retraction-days: must be a number from 1 to 3650, got a month"),
        (["--retraction-days", "30", "--implant-gap-um", "-1"], "argument --implant-gap-um: must be a number from 0 to 20000, got -1"),
        (["--retraction-days", "30", "--implant-gap-um", "20001"], "argument --implant-gap-um: must be a number from 0 to 20000, got 20001"),
        (["--retraction-days", "30", "--implant-gap-um", "nan"], "argument --implant-gap-um: must be a number from 0 to 20000, got nan"),
        (["--implant-gap-um", "3000"], "error: --implant-gap-um needs --retraction-days D"),
        (["--retraction-out", "{tmp}/r.json"], "error: --retraction-out needs --retraction-days D"),
        (["--retraction-days", "30", "--retraction-out", "{plan}"], "error: --retraction-out '{plan}' is the same file as PLAN.json"),
        (["--retraction-days", "30", "--out", "{tmp}/r.json", "--retraction-out", "{tmp}/r.json"], "error: --out '{tmp}/r.json' is the same file as --retraction-out"),
        (["--retraction-days", "30", "--retraction-out", "{tmp}/no/r.json"], "error: --retraction-out: folder '{tmp}/no' does not exist"),
        (["--retraction-days", "30", "--retraction-out", "{tmp}"], "error: --retraction-out '{tmp}' already exists"),
    ],
)  # fmt: skip
def test_refusals_name_the_flag_in_one_line_and_write_nothing(files, tmp_path, capsys, args,
                                                             message):  # fmt: skip
    plan = files / "plan.json"
    fill = {"tmp": tmp_path, "plan": plan}
    argv = ["simulate", plan, *[a.format(**fill) for a in args], "--plan-out", tmp_path / "p.json"]
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == []
    assert err.startswith("insertion-planner simulate: error: ") and err.count("\n") == 1
    assert message.format(**fill) in err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_retraction_out_needs_force(files, tmp_path, capsys):
    ret, out = tmp_path / "ret.json", tmp_path / "report.json"
    ret.write_text("keep me\n")
    argv = ["simulate", files / "plan.json", "--retraction-days", "30", "--out", out,
            "--retraction-out", ret]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == 2 and "--retraction-out" in err and "use --force" in err
    assert ret.read_text() == "keep me\n" and not out.exists()  # nothing written at all
    code, _, _ = _run([*argv, "--force"], capsys)
    assert code == 0 and json.loads(ret.read_text())["days"] == 30.0 and out.exists()


def test_a_plan_without_active_threads_is_refused_naming_the_flag(files, tmp_path, capsys):
    ret = tmp_path / "ret.json"
    code, out, err = _run(["simulate", files / "empty.json", "--retraction-days", "30",
                           "--retraction-out", ret], capsys)  # fmt: skip
    assert code == 2 and out == []
    assert err == (
        "insertion-planner simulate: error: --retraction-days: the plan has no active thread "
        "whose retraction to predict\n"
    )
    assert not ret.exists()
