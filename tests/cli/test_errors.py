"""Every subcommand answers bad input with one line on stderr, a non-zero exit, no traceback,
and no output file written or left half-written."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.cli import SUBCOMMANDS, main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad input files, shared by every case (read-only)."""
    from PIL import Image

    from insertion_planner.plan import _example_plan

    d = tmp_path_factory.mktemp("inputs")
    # a cortex (random pixels would be refused by the image-quality gate before the flags)
    Image.fromarray(ip.synthetic_cortex(0, shape=(128, 128)).image).save(d / "good.png")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(d / "small_mask.png")
    (d / "text.png").write_text("this is not an image\n")
    (d / "notes.txt").write_text("hello\n")
    (d / "folder.png").mkdir()
    plan = _example_plan()
    plan.to_json(d / "plan.json")
    data = json.loads((d / "plan.json").read_text())
    data["threads"][0]["depth_um"] = 9999.0  # checksum no longer matches
    (d / "tampered.json").write_text(json.dumps(data))
    (d / "truncated.json").write_text((d / "plan.json").read_text()[:200])
    (d / "notjson.json").write_text("{not json")
    (d / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "wrong_schema.json").write_text(json.dumps({"schema_version": "1.0", "threads": 3}))
    (d / "a_file").write_text("x")
    nan = np.zeros((64, 64), np.float32)
    nan[3, 4] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "cube.npy", np.zeros((8, 8, 8, 2), np.uint8))
    return d


# (subcommand, arguments after it; {in} = input folder, {out} = a fresh output folder)
CASES = [
    ("demo", "--threads 0 --out {out}/d"),
    ("demo", "--threads 65 --out {out}/d"),
    ("demo", "--seed -1 --out {out}/d"),
    ("demo", "--seed x --out {out}/d"),
    ("demo", "--dura-mode sideways --out {out}/d"),
    ("demo", "--size 10 --out {out}/d"),
    ("demo", "--pixel-size-um nan --out {out}/d"),
    ("demo", "--pixel-size-um 0 --out {out}/d"),
    ("demo", "--pixel-size-um -12 --out {out}/d"),
    ("demo", "--robot R9-2099 --out {out}/d"),
    ("demo", "--out {in}/a_file"),
    ("synth", "--seed -1 --out {out}/s"),
    ("synth", "--seed 0 --dura-mode sideways --out {out}/s"),
    ("synth", "--seed 0 --shape 64 64 --out {in}/a_file"),
    ("synth", "--seed 0 --shape 64 0 --out {out}/s"),
    ("synth", "--seed 0 --shape 64 64 --pixel-size-um nan --out {out}/s"),
    ("plan", "{in}/missing.png --pixel-size-um 12 --out {out}/p.json"),
    ("plan", "{in}/text.png --pixel-size-um 12 --out {out}/p.json"),
    ("plan", "{in}/notes.txt --pixel-size-um 12 --out {out}/p.json"),
    ("plan", "{in}/folder.png --pixel-size-um 12 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --region {in}/small_mask.png --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --region {in}/missing.png --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 0 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um -3 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um nan --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um inf --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --threads 0 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --threads 65 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --dura-mode sideways --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --robot R9-2099 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --margin-um nan --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --margin-um -5 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --spacing-um 0 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --out {out}/p.json --figure {in}/folder.png"),
    ("simulate", "{in}/missing.json --out {out}/r.json"),
    ("simulate", "{in}/notjson.json --out {out}/r.json"),
    ("simulate", "{in}/truncated.json --out {out}/r.json"),
    ("simulate", "{in}/wrong_schema.json --out {out}/r.json"),
    ("simulate", "{in}/tampered.json --out {out}/r.json"),
    ("simulate", "{in}/good.png --out {out}/r.json"),
    ("simulate", "{in}/plan.json --robot R9-2099 --out {out}/r.json"),
    ("simulate", "{in}/plan.json --monte-carlo -1 --out {out}/r.json"),
    ("simulate", "{in}/plan.json --failure-rate nan --out {out}/r.json"),
    ("simulate", "{in}/plan.json --failure-rate 1.5 --out {out}/r.json"),
    ("simulate", "{in}/plan.json --image {in}/missing.png --out {out}/r.json"),
    ("simulate", "{in}/plan.json --image {in}/good.png --out {out}/r.json"),
    ("simulate", "{in}/plan.json --image {in}/text.png --out {out}/r.json"),
    ("simulate", "{in}/plan.json --seed -1 --out {out}/r.json"),
    ("simulate", "{in}/plan.json --out {out}/r.json --plan-out {in}/folder.png"),
    ("plan", "{in}/nan.npy --pixel-size-um 12 --out {out}/p.json"),
    ("plan", "{in}/cube.npy --pixel-size-um 12 --out {out}/p.json"),
    ("export", "{in}/missing.json --format csv --out {out}/t.csv"),
    ("export", "{in}/tampered.json --format slicer --out {out}/p.mrk.json"),
    ("export", "{in}/plan.json --format vtk --out {out}/t.csv"),
    ("export", "{in}/plan.json --format csv --coordinate-system RAS --out {out}/t.csv"),
    ("export", "{in}/plan.json --format slicer --out {in}/folder.png"),
    ("show", "{in}/missing.json"),
    ("show", "{in}/tampered.json"),
    ("show", "{in}/notjson.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --out /proc/x.json"),
    ("plan", "{in}/good.png --pixel-size-um 1e-300 --out {out}/p.json"),
    ("plan", "{in}/good.png --pixel-size-um 12 --depth-um 1e9 --out {out}/p.json"),
    ("simulate", "{in}/plan.json --monte-carlo 10000000"),
    ("simulate", "{in}/nested.json"),
    ("study", "--synthetic 0 --out {out}/s"),
    ("study", "--images {in}/missing --out {out}/s"),
    ("study", "--images {in}/folder.png --out {out}/s"),
    ("study", "--synthetic 2 --workers 0 --out {out}/s"),
    ("study", "--synthetic 2 --out {in}/a_file"),
    ("schema", "--no-such-option"),
    ("schema", "extra-argument"),
]


def _argv(sub, args, inp, out):
    return [sub, *args.format(**{"in": inp, "out": out}).split()]


@pytest.mark.parametrize(
    ("sub", "args"), CASES, ids=[f"{s}: {a.split('{out}')[0].strip()}" for s, a in CASES]
)
def test_bad_input_one_line_no_output(sub, args, files, tmp_path, capsys):
    if sub not in SUBCOMMANDS:
        pytest.skip(f"subcommand {sub!r} is not available")
    out = tmp_path / "out"
    out.mkdir()
    before = sorted(p.name for p in files.iterdir())
    try:
        status = main(_argv(sub, args, files, out))
    except SystemExit as exc:  # argparse rejects the argument itself
        status = exc.code
    err = capsys.readouterr().err
    assert status not in (0, None)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0] and "Traceback" not in err
    assert ".tmp" not in err  # never the atomic writer's temporary file
    # the line names what the user gave: an option, or the input file it is about
    assert re.search(
        r"--[a-z]|IMAGE|PLAN|plan file|image file|unrecognized arguments|\{in\}|"
        + re.escape(str(files)),
        lines[0],
    ), lines[0]
    assert list(out.rglob("*")) == []  # nothing written, nothing half-written
    assert sorted(p.name for p in files.iterdir()) == before


def test_the_console_script_answers_in_one_line(files, tmp_path):
    """The installed command, in a real process: exit status 2, one line, no traceback."""
    cmd = [
        sys.executable,
        "-m",
        "insertion_planner.cli",
        "demo",
        "--threads",
        "99",
        "--out",
        str(tmp_path / "o"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "threads" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "o").exists()


def test_every_subcommand_is_covered():
    covered = {s for s, _ in CASES}
    assert set(SUBCOMMANDS) <= covered, f"add bad-input cases for {set(SUBCOMMANDS) - covered}"
