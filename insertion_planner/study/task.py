"""One study case, start to finish, as one task: image -> plan -> simulation -> score -> row.

:func:`run_case` is what a Dask worker runs. It never raises for a case: a refusal
(``ImageQualityError``, or ``InfeasiblePlanError``) is a valid outcome recorded with its
reason, and any other exception is recorded in the row's ``error`` column, so one bad case
never stops a study.
"""

from __future__ import annotations

import math
import os
import resource
import socket
import time
import traceback
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cases import StudyCase
from .scoring import score_plan

__all__ = ["run_case", "load_case", "read_truth", "empty_row"]


def empty_row(case: StudyCase) -> dict[str, Any]:
    """The row of ``case`` before it runs: its description, every result column None."""
    from .._version import __version__
    from .table import COLUMN_NAMES

    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    shape = case.shape or (None, None)
    row.update(
        case=case.name, source=case.source, seed=case.seed, image=case.image, truth=case.truth,
        dura_mode=case.dura_mode, imaging=case.imaging, height=shape[0], width=shape[1],
        pixel_size_um=case.pixel_size_um, robot=case.robot, n_threads=case.n_threads,
        margin_um=case.margin_um, refused=False, refusal="", error="", spec=case.spec(),
        package_version=__version__,
    )  # fmt: skip
    return row


def read_truth(path: str | os.PathLike[str], *, shape: tuple[int, int]) -> NDArray[np.bool_]:
    """A true vessel mask from ``.npy`` (bool, or numbers: nonzero is vessel) or an image file.

    Raises
    ------
    ValueError
        Unreadable file, wrong shape (both shapes named), or not a 2-D mask.
    """
    from ..imageio import read_mask

    p = os.fspath(path)
    if not p.lower().endswith(".npy"):
        return read_mask(p, shape=shape, name="truth")
    try:
        a = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"truth file {p!r} could not be read: {exc}") from None
    if a.ndim != 2 or a.shape != tuple(shape):
        raise ValueError(
            f"truth file {p!r} has shape {a.shape}, the image has shape {tuple(shape)}"
        )
    if a.dtype != bool:
        if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
            raise ValueError(f"truth file {p!r} is not a mask (dtype {a.dtype})")
        a = a != 0
    return a


def load_case(case: StudyCase) -> dict[str, Any]:
    """Make or read the image of ``case`` with everything planning and scoring use.

    Returns
    -------
    dict
        ``image``, ``pixel_size_um``, ``plan_options`` (keyword arguments of
        :func:`~insertion_planner.plan_insertions` beyond the case's settings), ``truth``
        ((H, W) bool or None), ``truth_radius_um`` ((H, W) float or None), ``field``
        ((H, W) bool or None: where the truth is known).
    """
    if case.seed is not None:
        from ..synthetic import synthetic_cortex

        assert case.shape is not None and case.pixel_size_um is not None
        sc = synthetic_cortex(
            case.seed, shape=case.shape, pixel_size_um=case.pixel_size_um,
            dura_mode=case.dura_mode, imaging="random" if case.imaging == "random" else None,
        )  # fmt: skip
        return {
            "image": sc.image,
            "pixel_size_um": sc.pixel_size_um,
            "plan_options": {
                "region": sc.region,
                "weight": sc.functional_weight,
                "surface_height_um": sc.grid.surface_z_um,
                "craniectomy": sc.craniectomy,
                "rng": case.seed,
            },
            "truth": sc.truth.mask,
            "truth_radius_um": sc.truth.radius_um,
            "field": sc.craniectomy,
        }
    from ..imageio import read_image

    assert case.image is not None
    image, meta = read_image(case.image, name="image")
    found = meta["pixel_size_um"]
    if case.pixel_size_um is None:
        if found is None:
            raise ValueError(
                f"image file {case.image!r} records no pixel size (no OME-TIFF PhysicalSizeX, "
                "no TIFF resolution): give pixel_size_um (--pixel-size-um)"
            )
        px, source = float(found), str(meta["pixel_size_source"])
    else:
        px, source = float(case.pixel_size_um), "pixel_size_um"
        if found is not None and abs(px - found) > 0.01 * found:
            raise ValueError(
                f"pixel_size_um {px:g} differs from the {found:g} um per pixel recorded in "
                f"image file {case.image!r} ({meta['pixel_size_source']})"
            )
    shape = (int(image.shape[0]), int(image.shape[1]))
    options: dict[str, Any] = {"pixel_size_source": source}
    if case.region is not None:
        from ..imageio import read_mask

        options["region"] = read_mask(case.region, shape=shape, name="region")
    truth: dict[str, Any] = {"truth": None, "truth_radius_um": None, "field": None}
    if case.truth is not None:
        truth = read_truth_file(case.truth, shape=shape)
    return {"image": image, "pixel_size_um": px, "plan_options": options, **truth}


def read_truth_file(path: str | os.PathLike[str], *, shape: tuple[int, int]) -> dict[str, Any]:
    """The ground truth of an image case: ``truth``, ``truth_radius_um`` and ``field``.

    An ``.npz`` file holds ``mask`` ((H, W), nonzero is vessel) and optionally
    ``radius_um`` ((H, W) float, the true vessel radius at each vessel pixel) and ``field``
    ((H, W), where the truth is known); any other file is a mask for :func:`read_truth`.

    Raises
    ------
    ValueError
        Unreadable file, a missing ``mask``, wrong shapes, or non-finite radii.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.npz"
    >>> m = np.zeros((4, 4), bool); m[1] = True
    >>> np.savez(f, mask=m, radius_um=np.where(m, 20.0, 0.0))
    >>> t = read_truth_file(f, shape=(4, 4))
    >>> int(t["truth"].sum()), float(t["truth_radius_um"].max()), t["field"]
    (4, 20.0, None)
    """
    p = os.fspath(path)
    if not p.lower().endswith(".npz"):
        return {"truth": read_truth(p, shape=shape), "truth_radius_um": None, "field": None}
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in ("mask", "radius_um", "field") if k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"truth file {p!r} could not be read: {exc}") from None
    if "mask" not in arrays:
        raise ValueError(f"truth file {p!r} holds no 'mask' array")
    for k, a in arrays.items():
        if a.shape != tuple(shape):
            raise ValueError(
                f"truth file {p!r} has {k} of shape {a.shape}, the image has shape {tuple(shape)}"
            )
        if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
            raise ValueError(f"truth file {p!r} has {k} of dtype {a.dtype}, not numbers")
    radius = arrays.get("radius_um")
    if radius is not None and not np.isfinite(radius).all():
        raise ValueError(f"truth file {p!r} has NaN or infinite radius_um values")
    field = arrays.get("field")
    return {
        "truth": arrays["mask"] != 0,
        "truth_radius_um": None if radius is None else radius.astype(np.float64),
        "field": None if field is None else field != 0,
    }


def run_case(case: StudyCase) -> dict[str, Any]:
    """Run one case: make or read its image, plan, simulate, score; return its table row.

    Parameters
    ----------
    case : StudyCase

    Returns
    -------
    dict
        One value per column of :data:`~insertion_planner.study.table.COLUMNS`. ``status``
        is ``"planned"``, ``"refused"`` (``refusal`` says why; no threads placed) or
        ``"error"`` (``error``: the exception's type, message and where it was raised).

    Examples
    --------
    >>> row = run_case(StudyCase.synthetic(0, shape=(256, 256), n_threads=4))
    >>> row["case"], row["status"], row["error"]
    ('seed0-durectomy', 'planned', '')
    """
    from ..errors import ImageQualityError, InfeasiblePlanError
    from ..pipeline import plan_insertions
    from ..robot import simulate

    row = empty_row(case)
    t0 = time.perf_counter()
    try:
        loaded = load_case(case)
        image = loaded["image"]
        row.update(height=int(image.shape[0]), width=int(image.shape[1]),
                   pixel_size_um=loaded["pixel_size_um"])  # fmt: skip
        t1 = time.perf_counter()
        row["t_image_s"] = t1 - t0
        try:
            plan = plan_insertions(
                image, pixel_size_um=loaded["pixel_size_um"], dura_mode=case.dura_mode,
                n_threads=case.n_threads, robot=case.robot, margin_um=case.margin_um,
                vessel_polarity=case.vessel_polarity, **loaded["plan_options"],
            )  # fmt: skip
        except (ImageQualityError, InfeasiblePlanError) as exc:
            row.update(status="refused", refused=True, refusal=_refusal(exc), threads_placed=0,
                       threads_validated=0, threads_too_close=0, threads_too_close_any=0)  # fmt: skip
            if isinstance(exc, InfeasiblePlanError):
                row["binding_constraint"] = exc.binding_constraint
            row["t_plan_s"] = time.perf_counter() - t1
            return _finish(row, t0)
        t2 = time.perf_counter()
        report = simulate(plan, robot=case.robot)
        t3 = time.perf_counter()
        params = plan.provenance.get("parameters", {})
        region = np.asarray(plan.region, bool)
        amap = plan.avoidance  # a fresh plan carries its map
        row.update(
            status="planned",
            threads_placed=len(plan.active_threads),
            threads_validated=int(report.n_validated),
            robot_time_s=float(report.total_time_s),
            allowed_share=float(amap.allowed[region].mean()) if amap is not None and region.any() else math.nan,
            binding_constraint=plan.binding_constraint or "",
            region_undetectable_fraction=params.get("region_undetectable_fraction"),
            undetectable_fraction=params.get("undetectable_fraction"),
            t_plan_s=t2 - t1,
            t_simulate_s=t3 - t2,
        )  # fmt: skip
        if loaded["truth"] is not None:
            row.update(
                score_plan(
                    plan,
                    loaded["truth"],
                    truth_radius_um=loaded["truth_radius_um"],
                    field=loaded["field"],
                )  # fmt: skip
            )
        row["t_score_s"] = time.perf_counter() - t3
    except Exception as exc:  # recorded in the table; the study goes on
        row.update(status="error", error=_describe(exc))
    return _finish(row, t0)


def _finish(row: dict[str, Any], t0: float) -> dict[str, Any]:
    row["t_total_s"] = time.perf_counter() - t0
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    row["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return row


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _refusal(exc: BaseException) -> str:
    problems = getattr(exc, "problems", None)
    if problems:
        return "; ".join(_one_line(p) for p in problems)
    return _one_line(str(exc)) or type(exc).__name__


def _describe(exc: BaseException) -> str:
    """``Type: message (at file.py:line in function)``, one line."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        where = f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    return f"{type(exc).__name__}: {_one_line(str(exc))}{where}"
