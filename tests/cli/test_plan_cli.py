"""``insertion-planner plan``: how it reads its inputs and guards its outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import insertion_planner as ip
from insertion_planner.cli import main

CASES = Path(__file__).parents[2].parent / "shared" / "cases"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="shared cases folder not present")


@pytest.fixture(scope="module")
def cortex(tmp_path_factory):
    """A small synthetic cortex as a plain PNG and as a TIFF that records 12 um pixels."""
    d = tmp_path_factory.mktemp("cortex")
    image = ip.synthetic_cortex(0, shape=(256, 256), pixel_size_um=12.0).image
    Image.fromarray(image).save(d / "cortex.png")
    tifffile.imwrite(d / "cortex.tif", image, photometric="rgb", compression="lzw",
                     resolution=(1 / 12e-4, 1 / 12e-4), resolutionunit="CENTIMETER")  # fmt: skip
    rr, cc = np.mgrid[:256, :256]
    disc = (rr - 128) ** 2 + (cc - 128) ** 2 < 70**2
    Image.fromarray((disc * 255).astype(np.uint8)).save(d / "region.png")
    return d


def _run(capsys, *argv: object) -> tuple[int, str]:
    status = main(["plan", *(str(a) for a in argv)])
    err = capsys.readouterr().err
    return status, err


def _refused(status: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _sites(plan_file: Path) -> list[tuple[int, int]]:
    data = json.loads(plan_file.read_text())
    return [(round(t["pixel"][0]), round(t["pixel"][1])) for t in data["threads"]]


# --- the pixel size -------------------------------------------------------------------------


def test_missing_pixel_size_names_the_option(cortex, tmp_path, capsys):
    out = tmp_path / "p.json"
    line = _refused(*_run(capsys, cortex / "cortex.png", "--threads", 4, "--out", out))
    assert "--pixel-size-um" in line and "records no pixel size" in line
    assert not out.exists()


def test_pixel_size_given_twice_must_agree(cortex, tmp_path, capsys):
    out = tmp_path / "p.json"
    line = _refused(*_run(capsys, cortex / "cortex.tif", "--pixel-size-um", 10, "--out", out))
    assert "--pixel-size-um 10" in line and "12 um per pixel" in line and "tiff-resolution" in line
    assert not out.exists()


def test_pixel_size_from_the_tiff(cortex, tmp_path, capsys):
    out = tmp_path / "p.json"
    status, err = _run(capsys, cortex / "cortex.tif", "--threads", 6, "--out", out)
    assert status == 0, err
    data = json.loads(out.read_text())
    assert data["image"]["pixel_size_um"] == pytest.approx(12.0)
    assert data["image"]["shape"] == [256, 256]
    assert "tiff-resolution" in json.dumps(data["provenance"])
    # within 1 % of the recorded size: accepted, and recorded as typed
    out2 = tmp_path / "p2.json"
    status, err = _run(capsys, cortex / "cortex.tif", "--pixel-size-um", 12.05, "--threads", 6,
                       "--out", out2)  # fmt: skip
    assert status == 0, err
    assert "--pixel-size-um" in json.dumps(json.loads(out2.read_text())["provenance"])


# --- outputs: never over an input, never over a file without --force -----------------------


def test_existing_output_needs_force(cortex, tmp_path, capsys):
    out = tmp_path / "p.json"
    out.write_text("old plan\n")
    args = (cortex / "cortex.png", "--pixel-size-um", 12, "--threads", 4, "--out", out)
    line = _refused(*_run(capsys, *args))
    assert "--out" in line and "already exists" in line and "--force" in line
    assert out.read_text() == "old plan\n"
    fig = tmp_path / "p.png"
    fig.write_bytes(b"old figure")
    line = _refused(*_run(capsys, *args[:-1], tmp_path / "new.json", "--figure", fig))
    assert "--figure" in line and not (tmp_path / "new.json").exists()
    status, err = _run(capsys, *args, "--force")
    assert status == 0, err
    assert json.loads(out.read_text())["image"]["shape"] == [256, 256]


@pytest.mark.parametrize("existing", [False, True])
def test_a_figure_that_cannot_be_written_leaves_no_plan_either(
    cortex, tmp_path, capsys, monkeypatch, existing
):
    """A full disk when the figure is written: the run fails in one line, and --out is
    neither created nor (with --force) replaced: the plan and its figure land together."""
    import insertion_planner._io as io_mod

    stage = io_mod._stage

    def full_disk_for_png(target, data):
        if target.suffix == ".png":
            raise OSError(f"cannot write {str(target)!r}: No space left on device")
        return stage(target, data)

    monkeypatch.setattr(io_mod, "_stage", full_disk_for_png)
    out, fig = tmp_path / "p.json", tmp_path / "p.png"
    if existing:
        out.write_text("old plan\n")
    args = (cortex / "cortex.png", "--pixel-size-um", 12, "--threads", 4, "--out", out)
    status, err = _run(capsys, *args, "--figure", fig, "--force")
    assert status != 0 and "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert (out.read_text() == "old plan\n") if existing else not out.exists()
    assert not fig.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["p.json"] if existing else [])


def test_output_never_overwrites_an_input(cortex, tmp_path, capsys):
    image = tmp_path / "cortex.png"
    image.write_bytes((cortex / "cortex.png").read_bytes())
    region = tmp_path / "region.png"
    region.write_bytes((cortex / "region.png").read_bytes())
    os.symlink(region, tmp_path / "link.png")
    os.link(region, tmp_path / "hard.png")
    (tmp_path / "sub").mkdir()
    before = {p.name: p.read_bytes() for p in (image, region)}
    base = (image, "--pixel-size-um", 12, "--threads", 4, "--force")
    for extra, words in [
        (("--out", image), ("--out", "same file as IMAGE")),
        (("--out", tmp_path / "p.json", "--figure", image), ("--figure", "IMAGE")),
        (("--region", region, "--out", tmp_path / "link.png"), ("--out", "--region")),
        (("--craniectomy", region, "--out", tmp_path / "hard.png"), ("--out", "--craniectomy")),
        (("--out", tmp_path / "p.json", "--figure", tmp_path / "p.json"), ("--out", "--figure")),
        (("--out", tmp_path / "sub" / ".." / "cortex.png"), ("same file as IMAGE",)),
    ]:
        line = _refused(*_run(capsys, *base, *extra))
        assert all(w in line for w in words), line
    assert {p.name: p.read_bytes() for p in (image, region)} == before
    assert not (tmp_path / "p.json").exists()


# --- masks: region and craniectomy ----------------------------------------------------------


def test_craniectomy_mask_bounds_the_sites(tmp_path, capsys):
    """A 9.1 mm opening in a 9.6 mm field: every site inside, and clear of the rim."""
    image = ip.synthetic_cortex(0, shape=(800, 800), pixel_size_um=12.0).image
    Image.fromarray(image).save(tmp_path / "cortex.png")
    rr, cc = np.mgrid[:800, :800]
    radius = np.hypot(rr - 400, cc - 400)
    Image.fromarray(np.where(radius < 380, 255, 0).astype(np.uint8)).save(tmp_path / "open.png")
    out = tmp_path / "p.json"
    status, err = _run(capsys, tmp_path / "cortex.png", "--pixel-size-um", 12, "--threads", 8,
                       "--craniectomy", tmp_path / "open.png", "--out", out)  # fmt: skip
    assert status == 0, err
    sites = _sites(out)
    assert len(sites) == 8
    assert max(radius[r, c] for r, c in sites) < 380 - 1000 / 12  # 1 mm inside the rim at least


def test_mask_of_the_wrong_shape_names_both(cortex, tmp_path, capsys):
    Image.fromarray(np.full((50, 60), 255, np.uint8)).save(tmp_path / "small.png")
    for opt in ("--region", "--craniectomy"):
        line = _refused(*_run(capsys, cortex / "cortex.png", "--pixel-size-um", 12, opt,
                              tmp_path / "small.png", "--out", tmp_path / "p.json"))  # fmt: skip
        assert f"{opt} file" in line and "(50, 60)" in line and "(256, 256)" in line
    assert not (tmp_path / "p.json").exists()


def test_vessel_polarity_choices(cortex, tmp_path, capsys):
    rc = main(["plan", str(cortex / "cortex.png"), "--pixel-size-um", "12", "--vessel-polarity",
               "purple", "--out", str(tmp_path / "p.json")])  # fmt: skip
    assert rc == 2 and "--vessel-polarity" in capsys.readouterr().err


@needs_cases
def test_case_region_drawn_as_an_rgba_layer(tmp_path, capsys):
    out = tmp_path / "p.json"
    status, err = _run(capsys, CASES / "cortex_rgb_256.png", "--pixel-size-um", 12, "--threads",
                       8, "--region", CASES / "region_rgba_transparent_white_256.png",
                       "--out", out)  # fmt: skip
    assert status == 0, err
    disc = np.load(CASES / "region_drawn_disc_256.npy")
    sites = _sites(out)
    assert sites and all(disc[r, c] for r, c in sites)


@needs_cases
def test_case_region_drawn_on_the_photo_as_shown(tmp_path, capsys):
    out = tmp_path / "p.json"
    region = CASES / "region_drawn_on_displayed_photo_256.png"
    status, err = _run(capsys, CASES / "exif_orientation6_256.jpg", "--pixel-size-um", 12,
                       "--threads", 8, "--region", region, "--out", out)  # fmt: skip
    assert status == 0, err
    drawn = np.asarray(Image.open(region).convert("L")) > 127
    sites = _sites(out)
    assert sites and all(drawn[r, c] for r, c in sites)


# --- the summary line -------------------------------------------------------------------------


def test_summary_says_where_the_image_could_not_show_the_hazard():
    """A plan bound by the detectability floor says on what share of the region, and for
    which hazard diameter, insertion was forbidden; other plans do not."""
    from dataclasses import replace

    from insertion_planner.cli.plan import plan_summary
    from insertion_planner.plan import _example_plan

    plan = _example_plan()
    assert "could not have shown" not in plan_summary(plan)
    params = {"region_undetectable_fraction": 0.381, "hazard_diameter_um": 30.0}
    blind = replace(
        plan, binding_constraint="detectability",
        provenance={**plan.provenance, "parameters": params},
    )  # fmt: skip
    line = plan_summary(blind)
    assert "bound by detectability (the image could not have shown a 30 um vessel on 38 %" in line
    other = replace(plan, binding_constraint="spacing", provenance=blind.provenance)
    assert "could not have shown" not in plan_summary(other)


def test_plan_shows_its_stage_on_a_terminal_and_is_quiet_otherwise(cortex, tmp_path, capsys,
                                                                   monkeypatch):  # fmt: skip
    """A 6000 px photograph plans for about 40 s: on a terminal the stage and the time
    spent show on stderr; piped, stderr stays empty."""
    import io

    args = (cortex / "cortex.png", "--pixel-size-um", 12, "--threads", 2)
    status, err = _run(capsys, *args, "--out", tmp_path / "a.json")
    assert status == 0 and err == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main(["plan", *(str(a) for a in args), "--out", str(tmp_path / "b.json")]) == 0
    shown = term.getvalue()
    assert "plan: reading the image" in shown
    assert "plan: segmenting the vessels and placing the threads" in shown
