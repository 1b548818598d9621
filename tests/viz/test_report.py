"""Rich HTML of plans and reports, and the self-contained report page."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from insertion_planner import viz


class _Ids(HTMLParser):
    """Text of every element with an id, and the img sources."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.imgs: list[str] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
            return
        self._open.append(a.get("id"))
        if a.get("id"):
            self.text[a["id"]] = ""

    def handle_endtag(self, tag):
        if tag != "img" and self._open:
            self._open.pop()

    def handle_data(self, data):
        for ident in self._open:
            if ident:
                self.text[ident] += data


def parse(page: str) -> _Ids:
    p = _Ids()
    p.feed(page)
    return p


def test_summary_numbers(simulated_plan):
    s = viz.plan_summary(simulated_plan)
    assert s["n_threads"] == 2 and s["n_requested"] == 2
    assert s["min_margin_um"] == pytest.approx(200.0 - 86.5)
    assert s["total_time_s"] == 23.5 and s["time_per_thread_s"] == pytest.approx(11.75)
    assert (s["n_ok"], s["n_failed"], s["success_rate"]) == (1, 1, 0.5)


def test_unsimulated_summary_has_no_times(example_plan):
    assert "total_time_s" not in viz.plan_summary(example_plan)


def test_plan_html_is_the_jupyter_repr(simulated_plan):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert viz.register_jupyter_display(shell)
    data, _ = shell.display_formatter.format(simulated_plan)
    page = data["text/html"]
    assert page == viz.plan_html(simulated_plan)
    ids = parse(page)
    assert ids.text["n-threads"] == "2"
    assert ids.text["min-margin-um"] == "113.5"
    assert ids.text["total-time-s"] == "23.5"
    assert len(ids.imgs) == 1 and ids.imgs[0].startswith("data:image/png;base64,")
    assert base64.b64decode(ids.imgs[0].split(",", 1)[1])[:4] == b"\x89PNG"


def test_plan_html_without_matplotlib_keeps_the_table(monkeypatch, example_plan):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    page = viz.plan_html(example_plan)
    assert "n-threads" in page and "pip install" in page and "<img" not in page


def test_report_html(simulated_plan):
    ids = parse(viz.report_html(simulated_plan.simulation))
    assert ids.text["n-ok"] == "1 of 2"
    assert ids.text["total-time-s"] == "23.5"
    with pytest.raises(ValueError, match="report must be"):
        viz.report_html(42)


def test_report_page_ids_per_run_and_primary(simulated_plan, example_plan):
    runs = [
        viz.ReportRun(simulated_plan, timing_s={"plan": 1.25}),
        viz.ReportRun(example_plan, label="Second case"),
    ]
    page = viz.build_report(runs, title="t <&>", notes={"seed": 7})
    ids = parse(page)
    assert ids.text["n-threads"] == "2" and ids.text["n-threads-durectomy"] == "2"
    assert ids.text["total-time-s"] == "23.5"
    assert ids.text["n-threads-second-case"] == "2"
    assert "total-time-s-second-case" not in ids.text  # not simulated
    assert ids.text["compute-plan-s-durectomy"] == "1.25"
    assert "<title>t &lt;&amp;&gt;</title>" in page
    assert len(ids.imgs) == 3  # two plan figures and one timeline
    rows = page.count('<tr class="thread">')
    assert rows == 4
    table = ids.text["threads-durectomy"]
    assert "insertion failed" in table  # the last attempt's reasons
    assert "13.50" in table  # both attempts of thread 1: 7.5 + 6.0 s
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched


def test_report_needs_runs():
    with pytest.raises(ValueError, match="at least one"):
        viz.build_report([])


def test_counts_are_per_thread_last_attempt_deciding(simulated_plan):
    c = viz.simulation_counts(simulated_plan)
    assert (c["n_ok"], c["n_failed"], c["n_retries"]) == (1, 1, 1)
    retried_ok = {"insertions": [{"thread_id": 0, "ok": False, "attempt": 0},
                                 {"thread_id": 0, "ok": True, "attempt": 1}]}  # fmt: skip
    c = viz.simulation_counts(retried_ok)
    assert (c["n_ok"], c["n_failed"], c["success_rate"]) == (1, 0, 1.0)
