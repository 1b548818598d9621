"""``insertion-planner study``: bad input is one line naming the flag (exit 2, nothing
written); a run starts its own LocalCluster, writes the files and leaves no process."""

from __future__ import annotations

import numpy as np
import psutil
import pytest

import insertion_planner as ip
from insertion_planner.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    images, truth, empty = d / "images", d / "truth", d / "empty"
    for p in (images, truth, empty):
        p.mkdir()
    sc = ip.synthetic_cortex(1, shape=(256, 256))
    np.save(images / "cortex.npy", sc.image)
    np.save(truth / "cortex.npy", sc.truth.mask)
    (images / "broken.png").write_bytes(b"not an image at all")
    (d / "a_file").write_text("x")
    (d / "other").mkdir()
    (d / "other" / "notes.txt").write_text("not a study\n")
    return d


# (arguments, the flag the message must name); {in} input folder, {out} a fresh folder
BAD = [
    ("--synthetic 0 --out {out}/s", "--synthetic"),
    ("--synthetic -3 --out {out}/s", "--synthetic"),
    ("--synthetic x --out {out}/s", "--synthetic"),
    ("--out {out}/s", "--synthetic"),
    ("--synthetic 2 --images {in}/images --out {out}/s", "--images"),
    ("--images {in}/missing --out {out}/s", "--images"),
    ("--images {in}/a_file --out {out}/s", "--images"),
    ("--images {in}/empty --out {out}/s", "--images"),
    ("--images {in}/images --truth {in}/missing --out {out}/s", "--truth"),
    ("--images {in}/images --truth {in}/empty --out {out}/s", "--truth"),
    ("--images {in}/images --shape 256 256 --out {out}/s", "--shape"),
    ("--images {in}/images --imaging random --out {out}/s", "--imaging"),
    ("--synthetic 2 --truth {in}/truth --out {out}/s", "--truth"),
    ("--synthetic 2 --shape 10 10 --out {out}/s", "--shape"),
    ("--synthetic 2 --shape 256 --out {out}/s", "--shape"),
    ("--synthetic 2 --first-seed -1 --out {out}/s", "--first-seed"),
    ("--synthetic 2 --dura-mode sideways --out {out}/s", "--dura-mode"),
    ("--synthetic 2 --imaging weird --out {out}/s", "--imaging"),
    ("--synthetic 2 --pixel-size-um nan --out {out}/s", "--pixel-size-um"),
    ("--synthetic 2 --pixel-size-um 0 --out {out}/s", "--pixel-size-um"),
    ("--synthetic 2 --threads 0 --out {out}/s", "--threads"),
    ("--synthetic 2 --threads 65 --out {out}/s", "--threads"),
    ("--synthetic 2 --margin-um -5 --out {out}/s", "--margin-um"),
    ("--synthetic 2 --robot R9-2099 --out {out}/s", "--robot"),
    ("--synthetic 2 --workers 0 --out {out}/s", "--workers"),
    ("--synthetic 2 --workers 2 --scheduler tcp://127.0.0.1:8786 --out {out}/s", "--scheduler"),
    ("--synthetic 2 --scheduler notanaddress --out {out}/s", "--scheduler"),
    ("--synthetic 2 --scheduler inproc://x --out {out}/s", "--scheduler"),
    ("--synthetic 2 --memory-limit lots --out {out}/s", "--memory-limit"),
    ("--synthetic 2 --memory-limit 1MB --out {out}/s", "--memory-limit"),
    ("--synthetic 2 --out {in}/a_file", "--out"),
    ("--synthetic 2 --out {in}/other", "--out"),
    ("--synthetic 2 --out {out}/no/such/folder", "--out"),
]


@pytest.mark.parametrize(("args", "flag"), BAD, ids=[a.split(" --out")[0] or a for a, _ in BAD])
def test_bad_input_is_one_line_naming_the_flag(args, flag, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    before = sorted(str(p) for p in inputs.rglob("*"))
    argv = ["study", *args.format(**{"in": inputs, "out": out}).split()]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse rejects the argument itself
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("insertion-planner study: error:") and flag in lines[0]
    assert list(out.rglob("*")) == []
    assert sorted(str(p) for p in inputs.rglob("*")) == before


def test_cli_runs_a_study_on_its_own_cluster(inputs, tmp_path, capsys):
    """Default cluster (here --workers 1): a broken image is an error row (exit 1), the
    good one is planned and scored; a rerun runs nothing; no worker process is left."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    out = tmp_path / "s"
    argv = ["study", "--images", str(inputs / "images"), "--truth", str(inputs / "truth"),
            "--pixel-size-um", "12", "--threads", "8", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 1  # a case ended in an error (recorded)
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "2 cases (2 run now" in printed[0] and "1 errors" in printed[0]
    for name in ("results.parquet", "results.csv", "results.jsonl", "study.json", "summary.md",
                 "summary.png"):  # fmt: skip
        assert (out / name).is_file(), name
    csv_text = (out / "results.csv").read_text()
    assert "broken-durectomy" in csv_text and "cortex-durectomy" in csv_text
    assert main(argv) == 1
    assert "0 run now" in capsys.readouterr().out
    left = [
        p for p in me.children(recursive=True)
        if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        and "resource_tracker" not in " ".join(p.cmdline())
    ]  # fmt: skip
    assert left == []


def test_cli_synthetic_exit_0(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["study", "--synthetic", "1", "--dura-mode", "durectomy", "--shape", "256", "256",
            "--threads", "4", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    assert "1 cases (1 run now" in line and "0 errors" in line and "1 workers (4GiB each)" in line
    assert "seed0-durectomy" in (out / "results.csv").read_text()
