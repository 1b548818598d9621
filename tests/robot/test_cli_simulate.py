import json
from pathlib import Path

import numpy as np
import pytest

from insertion_planner.cli import main


def test_simulate_command(plan64, tmp_path, capsys):
    plan64.to_json(tmp_path / "plan.json")
    out, plan_out = tmp_path / "report.json", tmp_path / "plan_sim.json"
    code = main(["simulate", str(tmp_path / "plan.json"), "--robot", "R1-2024", "--out", str(out),
                 "--plan-out", str(plan_out), "--monte-carlo", "20"])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["robot"] == "R1-2024" and len(report["insertions"]) == 64
    assert json.loads(plan_out.read_text())["simulation"]["robot"] == "R1-2024"
    assert "64 of 64 threads validated" in capsys.readouterr().out


def test_simulate_command_errors(plan64, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["simulate", str(tmp_path / "missing.json"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    plan64.to_json(tmp_path / "plan.json")
    assert main(["simulate", str(tmp_path / "plan.json"), "--robot", "R9", "--out", str(out)]) == 2
    assert (
        main(["simulate", str(tmp_path / "plan.json"), "--out", str(tmp_path / "no" / "r.json")])
        == 2
    )
    assert not out.exists()


def test_simulate_with_image_replaces_failed_threads(tmp_path, capsys):
    """With the plan's image, a failed insertion is re-placed away from its hole; without
    it, the plan file alone can only retry at the same site."""
    import numpy as np

    import insertion_planner as ip

    # at 12 um/px a 30 um vessel spans 2.5 px: the image can show every hazard
    case = ip.synthetic_cortex(2, shape=(512, 512), pixel_size_um=12.0)
    np.save(tmp_path / "cortex.npy", case.image)
    assert main(["plan", str(tmp_path / "cortex.npy"), "--pixel-size-um", "12", "--threads", "24",
                 "--out", str(tmp_path / "plan.json")]) == 0  # fmt: skip
    original = json.loads((tmp_path / "plan.json").read_text())
    sites = {t["id"]: t["pixel"] for t in original["threads"]}
    moved = {}
    for name, extra in (("same", []), ("image", ["--image", str(tmp_path / "cortex.npy")])):
        out = tmp_path / f"plan_{name}.json"
        code = main(["simulate", str(tmp_path / "plan.json"), "--failure-rate", "0.3",
                     "--seed", "4", "--plan-out", str(out), *extra])  # fmt: skip
        sim = json.loads(out.read_text())["simulation"]
        assert code == (0 if sim["n_validated"] == sim["n_threads"] else 1)  # failures: exit 1
        done = json.loads(out.read_text())["threads"]
        moved[name] = sum(t["pixel"] != sites[t["id"]] for t in done if t["id"] in sites)
    capsys.readouterr()
    assert moved["same"] == 0
    assert moved["image"] >= 1
    # a re-placed site keeps its clearance in the rebuilt map
    plan = ip.load_plan(tmp_path / "plan_image.json")
    amap = ip.avoidance_for_plan(plan, case.image)
    for t in plan.threads:
        assert amap.allowed[int(round(t.pixel[0])), int(round(t.pixel[1]))]


# ---------------------------------------------------------------- the map rebuilt from the image
# judges every site; exit status 0 all validated, 1 some thread not validated, 2 bad input/refusal

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")


def _report(path):
    return {r["thread_id"]: r for r in json.loads(path.read_text())["insertions"]}


@needs_cases
def test_simulate_image_rejects_a_thread_moved_onto_a_vessel(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["simulate", str(CASES / "plan_thread_moved_onto_vessel.json"),
                 "--image", str(CASES / "cortex_rgb_256.png"), "--out", str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 1
    rec = _report(out)[0]
    assert rec["ok"] is False
    on_map = [r for r in rec["reasons"] if "avoidance map" in r]
    assert on_map == ["vessel_clearance: site (41, 67) in the image's avoidance map is 0.0 um "
                      "from a vessel edge, 80.5 um required"]  # fmt: skip
    plan = json.loads((CASES / "plan_thread_moved_onto_vessel.json").read_text())
    label = next(f"T{t['order'] + 1:02d}" for t in plan["threads"] if t["id"] == 0)
    assert f"  {label}: vessel_clearance" in stdout  # the other sites depend on the segmentation


def _next_to_a_vessel(tmp_path):
    """The shared plan with thread 0 moved next to (not onto) a vessel, inside its required
    clearance, and every stored vessel segment within 400 um of the new site deleted; its
    stored clearance (576 um) left stale; checksum recomputed. Nothing in the file shows the
    vessel: only the image can."""
    from insertion_planner.plan import _checksum

    d = json.loads((CASES / "plan_thread_moved_onto_vessel.json").read_text())
    row, col, px = 87, 202, d["image"]["pixel_size_um"]
    t = d["threads"][0]
    t["pixel"], t["entry_um"] = [float(row), float(col)], [col * px, row * px, 0.0]
    t["tether_um"][-1] = [col * px, row * px, 0.0]
    segs = np.array(d["geometry"]["vessel_segments_um"])
    a, ab = segs[:, :2], segs[:, 3:5] - segs[:, :2]
    site = np.array([col * px, row * px])
    s = np.clip(((site - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
    near = np.linalg.norm(a + s[:, None] * ab - site, axis=1) - segs[:, 6] <= 400.0
    assert near.sum() >= 5  # the vessel beside the site is in the stored segments...
    d["geometry"]["vessel_segments_um"] = segs[~near].tolist()  # ...until deleted
    d["checksum"] = _checksum(d)
    path = tmp_path / "next_to_vessel.json"
    path.write_text(json.dumps(d))
    return path, (row, col)


@needs_cases
def test_a_thread_next_to_a_vessel_is_judged_by_the_image_not_the_file(tmp_path, capsys):
    from scipy import ndimage

    import insertion_planner as ip

    path, (row, col) = _next_to_a_vessel(tmp_path)
    plan = ip.load_plan(path)  # the file itself is consistent: it loads
    truth = np.load(CASES / "vessels_mask_256.npy")
    true_um = ndimage.distance_transform_edt(~truth)[row, col] * 12.0
    t0 = plan.thread(0)
    assert (
        not truth[row, col] and 12.0 < true_um - 12.0 < t0.required_clearance_um
    )  # beside the lumen
    # without the image the stored data pass it
    alone = next(r for r in ip.simulate(plan).insertions if r.thread_id == 0)
    assert alone.ok
    # with the map rebuilt from the image, the API and the CLI reject it, with the numbers
    amap = ip.avoidance_for_plan(plan, ip.read_image(CASES / "cortex_rgb_256.png")[0])
    clear, need = float(amap.clearance_um[row, col]), float(amap.required_um[row, col])
    assert 0.0 < clear < need
    rec = next(r for r in ip.simulate(plan, avoidance=amap).insertions if r.thread_id == 0)
    why = (f"vessel_clearance: site ({row}, {col}) in the image's avoidance map is {clear:.1f} um "
           f"from a vessel edge, {need:.1f} um required")  # fmt: skip
    assert not rec.ok and rec.reasons == (why,)
    assert rec.min_clearance_um == pytest.approx(
        clear
    ) and rec.required_clearance_um == pytest.approx(need)
    out = tmp_path / "report.json"
    code = main(
        ["simulate", str(path), "--image", str(CASES / "cortex_rgb_256.png"), "--out", str(out)]
    )
    capsys.readouterr()
    assert code == 1 and _report(out)[0]["ok"] is False and _report(out)[0]["reasons"] == [why]


def test_the_map_judges_sites_it_forbids_without_vessels_nearby(plan64):
    """A site the map does not allow (e.g. where a vessel could hide unseen) is rejected even
    with a large clearance; a site it allows passes; the map must fit the plan."""
    from types import SimpleNamespace

    import insertion_planner as ip

    from .conftest import vessel_avoidance

    amap = vessel_avoidance()
    assert ip.simulate(plan64, avoidance=amap).ok
    t = plan64.threads[10]
    r, c = (int(v) for v in t.pixel)
    allowed = np.array(amap.allowed)
    allowed[r, c] = False
    hidden = np.zeros_like(allowed)
    hidden[r, c] = True
    forbid = SimpleNamespace(**{**vars(amap), "allowed": allowed, "undetectable": hidden})
    report = ip.simulate(plan64, avoidance=forbid)
    rec = next(x for x in report.insertions if x.thread_id == t.id)
    assert not rec.ok and len(rec.reasons) == 1
    assert rec.reasons[0].startswith(f"vessel_clearance: site ({r}, {c}) in the image's avoidance map "
                                     "is not allowed (a vessel could hide there unseen;")  # fmt: skip
    assert report.n_validated == 63
    with pytest.raises(ValueError, match="avoidance clearance_um has shape"):
        ip.simulate(
            plan64, avoidance=SimpleNamespace(**{**vars(amap), "clearance_um": np.zeros((4, 4))})
        )


def test_exit_status_0_when_all_validated_1_when_not(plan64, tmp_path, capsys):
    from dataclasses import replace

    plan64.to_json(tmp_path / "plan.json")
    assert main(["simulate", str(tmp_path / "plan.json"), "--out", str(tmp_path / "r0.json")]) == 0
    # a vessel of radius 30 um passing 20 um from the edge of thread 5's site: rejected
    x, y, _ = plan64.threads[5].entry_um
    vessel = [x + 50.0, y - 100.0, 30.0, x + 50.0, y + 100.0, 30.0, 30.0]
    g = plan64.geometry
    segs = np.vstack([g.vessel_segments_um, vessel])
    edited = replace(plan64, geometry=replace(g, vessel_segments_um=segs))
    (tmp_path / "bad.json").write_text(edited.to_json_text())
    capsys.readouterr()
    out = tmp_path / "r1.json"
    assert main(["simulate", str(tmp_path / "bad.json"), "--out", str(out)]) == 1
    rec = _report(out)[plan64.threads[5].id]
    assert rec["ok"] is False and rec["reasons"][0].startswith(
        "vessel_clearance: needle path 20.0 um"
    )
    assert "63 of 64 threads validated, 1 rejected" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["demo"], ["synth", "--seed", "0", "--out", "x"], ["plan", "img.png", "--out", "p.json"],
     ["schema"], ["simulate", "p.json"]],
    ids=lambda a: a[0],
)  # fmt: skip
def test_refusals_exit_2_for_every_subcommand(argv, monkeypatch, capsys):
    import importlib

    from insertion_planner.errors import InfeasiblePlanError

    def refuse(args):
        raise InfeasiblePlanError("only 3 of 64 threads fit; the binding constraint is region",
                                  binding_constraint="region", n_placed=3)  # fmt: skip

    monkeypatch.setattr(importlib.import_module(f"insertion_planner.cli.{argv[0]}"), "run", refuse)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"insertion-planner {argv[0]}: only 3 of 64 threads fit; the binding constraint is region"
    ]
