"""The ``demo`` subcommand end to end, and its report read back from a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import insertion_planner as ip
from insertion_planner.cli import main

SIZE = 1024  # at 12 um/px a 12.3 mm field: small and fast, same code path as the default


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(html_path: Path, tmp_path: Path) -> str:
    """The DOM of ``html_path`` after a real headless Chromium has loaded it."""
    browser = _chromium()
    if browser is None:
        pytest.skip(
            "Chromium is not installed (apt-get install -y chromium; `make test` does it as root)"
        )
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--dump-dom",
        html_path.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.imgs: dict[str, str] = {}
        self._stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs[a.get("id") or f"img{len(self.imgs)}"] = a.get("src", "")
            return
        if tag in ("br", "meta", "link", "hr", "input"):
            return
        self._stack.append(a.get("id"))
        if a.get("id"):
            self.text[a["id"]] = ""

    def handle_endtag(self, tag):
        if tag not in ("img", "br", "meta", "link", "hr", "input") and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for ident in self._stack:
            if ident:
                self.text[ident] += data


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    status = main(
        [
            "demo",
            "--out",
            str(out),
            "--seed",
            "3",
            "--size",
            str(SIZE),
            "--pixel-size-um",
            "12",
            "--threads",
            "12",
        ]
    )
    assert status == 0
    return out


def test_demo_writes_every_file(demo_out):
    names = sorted(str(p.relative_to(demo_out)) for p in demo_out.rglob("*") if p.is_file())
    assert names == [
        "plan.json",
        "plan.png",
        "report.html",
        "transdural/plan.json",
        "transdural/plan.png",
    ]
    for png in demo_out.rglob("plan.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plans_load_and_are_simulated(demo_out):
    d = ip.load_plan(demo_out / "plan.json")
    t = ip.load_plan(demo_out / "transdural" / "plan.json")
    assert d.dura_mode.value == "durectomy" and t.dura_mode.value == "transdural"
    for plan in (d, t):
        assert plan.simulation is not None
        assert 1 <= len(plan.threads) <= 12 and plan.n_requested == 12
        assert {i["thread_id"] for i in plan.simulation["insertions"]} <= {
            th.id for th in plan.threads
        }
        for th in plan.threads:
            assert th.clearance_um >= th.required_clearance_um
    # the transdural margin model asks for more clearance everywhere
    assert min(th.required_clearance_um for th in t.threads) > min(
        th.required_clearance_um for th in d.threads
    )


def test_report_read_back_from_a_real_browser(demo_out, tmp_path):
    dom = dump_dom(demo_out / "report.html", tmp_path)
    page = _Ids()
    page.feed(dom)
    ids = page.text
    plans = {
        "durectomy": ip.load_plan(demo_out / "plan.json"),
        "transdural": ip.load_plan(demo_out / "transdural" / "plan.json"),
    }
    for mode, plan in plans.items():
        assert int(ids[f"n-threads-{mode}"]) == len(plan.threads)
        assert int(ids[f"n-requested-{mode}"]) == 12
        assert float(ids[f"total-time-s-{mode}"]) == pytest.approx(
            plan.simulation["total_time_s"], abs=0.05
        )
        margin = min(th.clearance_um - th.required_clearance_um for th in plan.threads)
        assert float(ids[f"min-margin-um-{mode}"]) == pytest.approx(margin, abs=0.05)
        rows = re.findall(
            r'<tr class="thread">', dom.split(f'id="threads-{mode}"', 1)[1].split("</table>", 1)[0]
        )
        assert len(rows) == len(plan.threads)
        assert page.imgs[f"plan-figure-{mode}"].startswith("data:image/png;base64,")
        assert page.imgs[f"timeline-{mode}"].startswith("data:image/png;base64,")
    # the primary (first) mode also has the unsuffixed ids
    assert ids["n-threads"] == ids["n-threads-durectomy"]
    assert ids["total-time-s"] == ids["total-time-s-durectomy"]
    assert ids["package-version"] == ip.__version__


def test_single_mode_and_rerun_is_deterministic(tmp_path):
    out = tmp_path / "one"
    argv = [
        "demo",
        "--out",
        str(out),
        "--dura-mode",
        "transdural",
        "--size",
        "256",
        "--threads",
        "4",
    ]
    assert main(argv) == 0
    first = (out / "plan.json").read_bytes()
    assert not (out / "transdural").exists()
    assert json.loads(first)["dura_mode"] == "transdural"
    assert main(argv) == 2  # an earlier demo's files are not overwritten silently
    assert (out / "plan.json").read_bytes() == first
    assert main([*argv, "--force"]) == 0
    assert (out / "plan.json").read_bytes() == first
    assert not list(out.rglob(".*.tmp"))


def test_a_failure_midway_leaves_no_file(tmp_path, monkeypatch):
    import insertion_planner.robot as robot

    def broken(*args, **kwargs):
        raise RuntimeError("simulator crashed")

    monkeypatch.setattr(robot, "simulate", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="crashed"):
        main(["demo", "--out", str(out), "--size", "128", "--threads", "2"])
    assert not out.exists() or list(out.rglob("*")) == []


def test_partial_write_is_rolled_back(tmp_path, monkeypatch):
    """The third file fails to write (a full disk): no output file is left, and an
    existing one is not replaced (--force)."""
    import insertion_planner._io as io_mod

    calls = []
    real = io_mod._stage

    def flaky(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(io_mod, "_stage", flaky)
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("old plan\n")
    status = main(["demo", "--out", str(out), "--size", "128", "--threads", "2", "--force"])
    assert status == 2 and len(calls) == 3
    assert (out / "plan.json").read_text() == "old plan\n"
    (out / "plan.json").unlink()
    assert [p for p in out.rglob("*") if p.is_file()] == []
