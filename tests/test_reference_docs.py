"""The reference documentation (docs/reference) builds from the docstrings without a
single warning, and documents every public name."""

import importlib
import re
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main
from sphinx.util.inventory import InventoryFile

import insertion_planner as ip

SOURCE = Path(__file__).resolve().parent.parent / "docs" / "reference"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    warnings = out / "warnings.txt"
    argv = ["-W", "--keep-going", "-q", "-w", str(warnings), "-b", "html"]
    code = build_main([*argv, str(SOURCE), str(out / "html")])
    assert code == 0, warnings.read_text() if warnings.exists() else f"exit {code}"
    return out / "html"


def documented_names(html: Path) -> set[str]:
    with open(html / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    return {name for kind, items in inventory.items() if kind.startswith("py:") for name in items}


def test_known_entries_are_on_their_pages(built):
    pages = {
        "api/insertion_planner.html": "insertion_planner.pipeline.plan_insertions",
        "api/segmentation.html": "insertion_planner.segmentation.segment_vessels",
        "api/quality.html": "insertion_planner.quality.assess_image",
        "api/plan.html": "insertion_planner.plan.InsertionPlan",
        "api/robot.html": "insertion_planner.robot.PHASES",
    }
    for page, name in pages.items():
        assert f'id="{name}"' in (built / page).read_text(), (page, name)
    # The numpydoc sections are rendered, not left as text.
    plan_page = (built / "api/insertion_planner.html").read_text()
    assert "Parameters" in plan_page and "----------" not in plan_page


def test_every_name_in_a_documented_all_has_an_entry(built):
    names = documented_names(built)
    modules = [
        line.split("::", 1)[1].strip()
        for page in sorted((SOURCE / "api").glob("*.rst"))
        for line in page.read_text().splitlines()
        if line.startswith(".. automodule::")
    ]
    assert len(modules) >= 15
    missing = [
        f"{module}.{name}"
        for module in modules
        if module != "insertion_planner"
        for name in importlib.import_module(module).__all__
        if f"{module}.{name}" not in names
    ]
    assert missing == []


def test_top_level_table_links_every_public_name(built):
    page = (built / "api/insertion_planner.html").read_text()
    names = [name for name in ip.__all__ if not name.startswith("__")]
    unlinked = [
        name
        for name in names
        if not re.search(rf'href="[a-z_]*(?:\.html)?#insertion_planner\.[\w.]*\b{name}"', page)
    ]
    assert unlinked == []
    assert 'id="insertion_planner.__version__"' in page
