"""Regenerate the sample cases in data/ (used by tests and notebooks).

Run from the repository root:

    .venv/bin/python data/make_samples.py

Each sample is exactly ``insertion_planner.synthetic_cortex(seed, shape=..., pixel_size_um=...,
dura_mode=...)`` written by ``insertion_planner.synthetic.io.write_case(..., compact=True)``.
"""

from __future__ import annotations

from pathlib import Path

import insertion_planner as ip
from insertion_planner.synthetic.io import write_case

HERE = Path(__file__).resolve().parent

SAMPLES = {
    "sample_durectomy_384": dict(
        seed=1, shape=(384, 384), pixel_size_um=12.0, dura_mode="durectomy"
    ),
    "sample_transdural_384": dict(
        seed=1, shape=(384, 384), pixel_size_um=12.0, dura_mode="transdural"
    ),
}


def main() -> None:
    for name, kw in SAMPLES.items():
        seed = kw.pop("seed")
        case = ip.synthetic_cortex(seed, **kw)
        kw["seed"] = seed
        files = write_case(case, HERE / name, compact=True)
        size = sum(f.stat().st_size for f in files)
        print(f"{name}: {len(files)} files, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
