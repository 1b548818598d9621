import json

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

    case = ip.synthetic_cortex(2, shape=(384, 384), pixel_size_um=20.0)
    np.save(tmp_path / "cortex.npy", case.image)
    assert main(["plan", str(tmp_path / "cortex.npy"), "--pixel-size-um", "20", "--threads", "24",
                 "--out", str(tmp_path / "plan.json")]) == 0  # fmt: skip
    original = json.loads((tmp_path / "plan.json").read_text())
    sites = {t["id"]: t["pixel"] for t in original["threads"]}
    moved = {}
    for name, extra in (("same", []), ("image", ["--image", str(tmp_path / "cortex.npy")])):
        out = tmp_path / f"plan_{name}.json"
        code = main(["simulate", str(tmp_path / "plan.json"), "--failure-rate", "0.3",
                     "--seed", "4", "--plan-out", str(out), *extra])  # fmt: skip
        assert code == 0
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
