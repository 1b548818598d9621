"""The README's Python quickstart runs as written and does what its comments say."""

import re
from pathlib import Path

import insertion_planner as ip

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    plan, same, report = scope["plan"], scope["same"], scope["report"]
    assert len(plan.threads) == 64 and plan.binding_constraint is None
    assert same == plan
    assert all(t.clearance_um >= t.required_clearance_um for t in plan.threads)
    assert report.n_validated == 64
    assert (tmp_path / "plan.png").stat().st_size > 10_000
    assert isinstance(same, ip.InsertionPlan)
