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
