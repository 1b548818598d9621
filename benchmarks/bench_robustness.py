"""Robustness of detection and planning across cameras; writes the "robustness" section.

The detector is judged on a grid of imaging settings from two renderers,
``ip.synthetic_cortex`` (its :class:`~insertion_planner.Imaging` camera model) and the
independent test renderer ``tests/renderers/independent.py`` (written apart from the
detector), in both dura modes. Each renderer gets named settings spanning its ranges (the
default camera, a heavy dura veil, high noise at 10/12 bits, strong vignetting and an
illumination gradient, warm and cool white balance, strong coarse texture, soft vessel
edges with optical blur, a grey camera, light arteries) and ``--random`` cameras drawn from
its ranges. The veil settings only exist in transdural mode (there is no veil without dura).

Per case, all in this process: ``segment_vessels`` and ``build_avoidance_map`` (with the
margins the plan uses: default ``SafetyMargins``, the R1-2024 needle radius);
``skimage.filters.sato`` and ``frangi`` (sigmas 1, 2, 4, 8 px, dark ridges, green channel or
grey as float in [0, 1], Otsu threshold of the response over the field); then
``plan_insertions`` (64 threads, robot R1-2024) in a 5 mm disc at the image centre. A
refusal (``ImageQualityError``) is a safe outcome and is counted as one.

Scores, against the geometric ground truth (a true vessel pixel has diameter
``2 * radius_um``): threads placed; threads closer than 49 um (Kozai et al. 2010) to a
true vessel of at least the hazard diameter (30 um), the distance being from the site's
pixel centre to the nearest such true vessel pixel centre, minus one pixel; the closest
thread to any true vessel; true vessel pixels of at least the hazard diameter inside
``allowed``; Dice of ``vm.mask`` (and of sato, frangi) over the field (the craniectomy of a
synthetic case, the whole image of the independent one); the share of the target disc that
stays allowed; the sites a perfect segmentation would leave room for there under the same
margins (``room_by_truth``) and the recall of the centrelines of 30-60 um vessels
(``centreline_recall``); the median detectable diameter there; segmentation time.

    .venv/bin/python benchmarks/bench_robustness.py [--seeds N | --seeds 3,7] [--size PX]
                                                    [--random N] [--quick] [--no-write]

Defaults: seed 0, 1024 x 1024 px, 4 random cameras: 54 cases, about 5-8 minutes on two
(shared) cores, most of it in sato and frangi. ``--seeds 2`` doubles the grid and the time;
``--quick`` (512 px, 1 random camera) is a smoke run of about a minute; ``--seeds 3,7``
reruns chosen seeds (e.g. a worst case).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage
from skimage.filters import frangi, sato, threshold_otsu
from skimage.morphology import skeletonize
from tqdm import tqdm

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))  # the repository root, for tests.renderers
from _report import best_of, machine, table, write_section  # noqa: E402

import insertion_planner as ip  # noqa: E402
from insertion_planner.avoidance.avoidance_map import EDGE_ALLOWANCE_PX  # noqa: E402
from tests.renderers.independent import Camera, random_camera, render  # noqa: E402

SIGMAS = [1, 2, 4, 8]
PIXEL_SIZE_UM = 12.0
MODES = ("durectomy", "transdural")
RENDERERS = ("synthetic_cortex", "independent")
ROBOT = "R1-2024"
N_THREADS = 64
REGION_DIAMETER_UM = 5000.0
KOZAI_MARGIN_UM = 49.0
"""Insert more than 49 um from major surface vessels (Kozai et al., J Neural Eng 2010)."""
HAZARD_DIAMETER_UM = ip.SafetyMargins().hazard_diameter_um
DICE_TARGET = {"durectomy": 0.90, "transdural": 0.80}

#: Named ``Imaging`` settings of ``synthetic_cortex`` (ranges: docs/synthetic.md, "Imaging").
SYNTHETIC_SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "heavy veil": {"veil_transmission": 0.3, "veil_blur_px": 3.0},
    "noisy 10-bit": {"full_scale_electrons": 300.0, "read_noise_fraction": 0.015, "bit_depth": 10},
    "uneven light": {"illumination_level": 0.55, "vignetting": 3.0, "illumination_gradient": 0.6},
    "warm": {"white_balance": (1.25, 1.0, 0.75)},
    "cool": {"white_balance": (0.8, 1.0, 1.3)},
    "coarse texture": {"texture_amplitude": 0.15, "texture_scale_um": 600.0},
    "soft + blurred": {"edge_softness_um": 20.0, "psf_sigma_px": 1.4},
    "grey": {"grey": True},
    "light arteries": {"artery_vein_absorption_ratio": 0.5, "absorption_scale": 0.7},
}
#: Named ``Camera`` settings of the independent renderer (ranges: its ``CAMERA_RANGES``).
INDEPENDENT_SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "heavy veil": {"veil_transmission": 0.25, "veil_blur_px": 4.0},
    "noisy 12-bit": {"noise_sigma": 0.02, "full_well_e": 2000.0, "bit_depth": 12},
    "uneven light": {"illumination_falloff": 0.5, "exposure": 0.45},
    "warm": {"white_balance": (1.1, 1.0, 0.9)},
    "cool": {"white_balance": (0.9, 1.0, 1.1)},
    "coarse texture": {"texture_strength": 0.12, "texture_scale_px": 40.0},
    "soft + blurred": {"edge_softness_px": 1.0, "optical_blur_px": 1.3},
    "grey": {"grey": True},
    "light arteries": {"artery_vein_contrast": 0.4},
}
SETTINGS = {"synthetic_cortex": SYNTHETIC_SETTINGS, "independent": INDEPENDENT_SETTINGS}
VEIL_ONLY = {"heavy veil"}


@dataclass(frozen=True)
class Scene:
    """One rendered picture with what scoring needs of its ground truth."""

    image: NDArray[Any]
    truth: NDArray[np.bool_]
    radius_um: NDArray[np.float32]
    field: NDArray[np.bool_]
    bit_depth: int
    camera: str


def settings_for(renderer: str, mode: str, n_random: int) -> list[str]:
    """Setting names run for ``renderer`` in ``mode``: the named ones, then ``random k``."""
    named = [s for s in SETTINGS[renderer] if mode == "transdural" or s not in VEIL_ONLY]
    return named + [f"random {k}" for k in range(n_random)]


def render_scene(renderer: str, setting: str, seed: int, mode: str, size: int) -> Scene:
    """Render the cortex of ``seed`` (same geometry for every setting) under ``setting``.

    ``random k`` draws the camera from ``numpy.random.default_rng([seed, k])``
    (``Imaging.random`` or ``random_camera``); the same draw in both modes.
    """
    draw = (
        np.random.default_rng([seed, int(setting.split()[1])])
        if setting.startswith("random")
        else None
    )
    if renderer == "synthetic_cortex":
        imaging = (
            ip.Imaging.random(draw, mode)
            if draw is not None
            else ip.Imaging(**SYNTHETIC_SETTINGS[setting])
        )
        case = ip.synthetic_cortex(
            seed, shape=(size, size), pixel_size_um=PIXEL_SIZE_UM, dura_mode=mode,
            imaging=imaging, thin_vessels=True,
        )  # fmt: skip
        return Scene(case.image, case.truth.mask, case.truth.radius_um, case.craniectomy,
                     imaging.bit_depth, _describe(imaging.to_dict(), ip.Imaging().to_dict()))  # fmt: skip
    if renderer == "independent":
        cam = (
            random_camera(draw, mode) if draw is not None
            else Camera(dura_mode=mode, **INDEPENDENT_SETTINGS[setting])
        )  # fmt: skip
        out = render((size, size), pixel_size_um=PIXEL_SIZE_UM, camera=cam, rng=seed)
        field = np.ones(out.mask.shape, bool)
        ref = {k: getattr(Camera(), k) for k in cam.__dataclass_fields__}
        cur = {k: getattr(cam, k) for k in cam.__dataclass_fields__}
        return Scene(out.image, out.mask, out.radius_um, field, cam.bit_depth, _describe(cur, ref))
    raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")


def _describe(values: dict[str, Any], default: dict[str, Any]) -> str:
    """The camera fields that differ from the renderer's default, short."""
    parts = []
    for k, v in values.items():
        if k == "dura_mode" or v == default.get(k):
            continue
        if isinstance(v, (list, tuple)):
            v = "/".join(f"{x:.2g}" for x in v)
        elif isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{k}={v}")
    return ", ".join(parts) or "defaults"


def region_disc(
    shape: tuple[int, int], pixel_size_um: float, diameter_um: float
) -> NDArray[np.bool_]:
    """(H, W) bool: a disc of ``diameter_um`` at the image centre."""
    r, c = np.ogrid[: shape[0], : shape[1]]
    d2 = (r - (shape[0] - 1) / 2.0) ** 2 + (c - (shape[1] - 1) / 2.0) ** 2
    return d2 * pixel_size_um**2 <= (diameter_um / 2.0) ** 2


def dice(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    s = int(a.sum() + b.sum())
    return 2.0 * float((a & b).sum()) / s if s else 1.0


def otsu_mask(response: NDArray[Any], field: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Pixels of ``field`` whose response is above the Otsu threshold of the field."""
    return (response > threshold_otsu(response[field])) & field


def _distance_px(vessels: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Distance (px) from each pixel centre to the nearest ``vessels`` pixel centre."""
    if not vessels.any():
        return np.full(vessels.shape, np.inf)
    return ndimage.distance_transform_edt(~vessels)


def room_by_truth(
    truth: NDArray[np.bool_],
    radius_um: NDArray[Any],
    region: NDArray[np.bool_],
    *,
    mode: str,
    margins: ip.SafetyMargins,
    pixel_size_um: float,
    spacing_um: float,
    cap: int = N_THREADS,
) -> int:
    """Sites the truth leaves room for under the avoidance map's clearance rule.

    A pixel of ``region`` is clear when, measured as the avoidance map measures (the
    distance to the nearest hazard pixel centre less ``EDGE_ALLOWANCE_PX``), it keeps
    ``margins.required_um`` for the true radius of its nearest true vessel of at least the
    hazard diameter, and a large vessel's clearance from every pixel of a true vessel of at
    least ``margins.large_vessel_radius_um``: the map a perfect segmentation would give,
    without the detectability floor. Sites are packed greedily in raster order at least
    ``spacing_um`` apart, at most ``cap``. The planner's other constraints (surface slope,
    tether reach, head collision, depth) are not applied: room by the clearance rule only.

    Parameters
    ----------
    truth : (H, W) bool
        True vessel lumen.
    radius_um : (H, W) float
        True vessel radius at each vessel pixel, um.
    region : (H, W) bool
        Target region.
    mode : {"durectomy", "transdural"}
    margins : SafetyMargins
    pixel_size_um, spacing_um : float
        Pixel side and the least distance between sites, um.
    cap : int
        Most sites counted.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> import insertion_planner as ip
    >>> free = np.zeros((50, 50), bool)
    >>> room_by_truth(free, np.zeros((50, 50)), np.ones((50, 50), bool), mode="durectomy",
    ...               margins=ip.SafetyMargins(), pixel_size_um=12.0, spacing_um=250.0)
    9
    """
    radius = np.asarray(radius_um, np.float64)
    hazard = truth & (2.0 * radius >= margins.hazard_diameter_um)
    ok = region.copy()
    if hazard.any():
        dist, idx = ndimage.distance_transform_edt(~hazard, return_indices=True)
        need = np.asarray(margins.required_um(mode, radius[idx[0], idx[1]]), np.float64)
        ok &= np.maximum(dist - EDGE_ALLOWANCE_PX, 0.0) * pixel_size_um >= need
        large = hazard & (radius >= margins.large_vessel_radius_um)
        if large.any():
            dist_large = ndimage.distance_transform_edt(~large)
            need_large = margins.required_um(mode, margins.large_vessel_radius_um)
            ok &= np.maximum(dist_large - EDGE_ALLOWANCE_PX, 0.0) * pixel_size_um >= need_large
    step = spacing_um / pixel_size_um
    rad = int(np.ceil(step))
    yy, xx = np.mgrid[-rad : rad + 1, -rad : rad + 1]
    stamp = yy**2 + xx**2 < step**2  # pixels closer than the spacing to a site
    blocked = np.zeros_like(ok)
    h, w = ok.shape
    placed = 0
    for r, c in zip(*np.nonzero(ok), strict=True):
        if blocked[r, c]:
            continue
        placed += 1
        if placed >= cap:
            break
        r0, r1, c0, c1 = max(r - rad, 0), min(r + rad + 1, h), max(c - rad, 0), min(c + rad + 1, w)
        blocked[r0:r1, c0:c1] |= stamp[r0 - r + rad : r1 - r + rad, c0 - c + rad : c1 - c + rad]
    return placed


def centreline_recall(
    truth: NDArray[np.bool_],
    radius_um: NDArray[Any],
    found: NDArray[np.bool_],
    *,
    lo_um: float,
    hi_um: float,
) -> float:
    """Share of the centreline (skeleton) pixels of true vessels of diameter in
    [``lo_um``, ``hi_um``) within 2 px (Euclidean) of ``found``: the topology sensitivity
    of clDice (Shit et al. 2021, doi:10.1109/CVPR46437.2021.01629) with a tolerance.

    Parameters
    ----------
    truth, found : (H, W) bool
        True lumen, and the pixels a detector marked.
    radius_um : (H, W) float
        True radius at each vessel pixel, um.
    lo_um, hi_um : float
        Diameter band, um.

    Returns
    -------
    float
        In [0, 1]; nan when no true vessel has a diameter in the band.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((9, 30), bool); truth[3:6, :] = True
    >>> found = np.zeros_like(truth); found[4, :15] = True
    >>> centreline_recall(truth, np.where(truth, 18.0, 0.0), found, lo_um=30, hi_um=60)
    0.6
    """
    skeleton = skeletonize(truth)
    d = 2.0 * np.asarray(radius_um)
    sel = skeleton & (d >= lo_um) & (d < hi_um)
    if not sel.any():
        return float("nan")
    near = ndimage.distance_transform_edt(~found) <= 2.0 if found.any() else np.zeros_like(found)
    return float(near[sel].mean())


def _components(pixels: NDArray[np.bool_], radius_um: NDArray[Any], k: int = 3) -> str:
    """The ``k`` largest connected groups of ``pixels``: size, centre (row, col), diameter."""
    labels, n = ndimage.label(pixels, structure=np.ones((3, 3)))
    if not n:
        return ""
    sizes = np.bincount(labels.ravel())[1:]
    parts = []
    for i in np.argsort(sizes)[::-1][:k]:
        rr, cc = np.nonzero(labels == i + 1)
        d = 2.0 * np.asarray(radius_um)[rr, cc]
        parts.append(
            f"{sizes[i]} px at ({rr.mean():.0f}, {cc.mean():.0f}), "
            f"{d.min():.0f}-{d.max():.0f} um vessel"
        )
    more = f" (+{n - k} more groups)" if n > k else ""
    return "; ".join(parts) + more


def _green01(image: NDArray[Any], bit_depth: int) -> NDArray[np.float32]:
    """Green channel (or grey) as float32 in [0, 1]."""
    g = image if image.ndim == 2 else image[..., 1]
    return g.astype(np.float32) / np.float32(2**bit_depth - 1)


def detector_case(
    renderer: str, setting: str, seed: int, mode: str, size: int, work: Path
) -> tuple[ip.StudyCase, dict[str, Any]]:
    """Render one case, write it for the study, and measure the detector in this process.

    Writes ``work/images/<name>.npy`` (the picture), ``work/truth/<name>.npz`` (``mask``,
    ``radius_um``, ``field``) and ``work/regions/<name>.png`` (the target disc within the
    field); returns the :class:`~insertion_planner.StudyCase` that plans and scores it, and
    the detector's numbers: ours (``segment_vessels`` + ``build_avoidance_map``) against sato
    and frangi.
    """
    scene = render_scene(renderer, setting, seed, mode, size)
    px = PIXEL_SIZE_UM
    name = f"{renderer}-{setting.replace(' ', '_').replace('+', 'and')}-seed{seed}-{mode}"
    margins = ip.SafetyMargins(needle_radius_um=ip.get_robot(ROBOT).needle_radius_um)
    t_seg, out = best_of(
        lambda: ip.segment_vessels(scene.image, pixel_size_um=px, dura_mode=mode), 1
    )
    assert isinstance(out, ip.VesselMap)
    vm = out
    amap = ip.build_avoidance_map(vm, dura_mode=mode, margins=margins)
    green = _green01(scene.image, scene.bit_depth)
    field, truth = scene.field, scene.truth & scene.field
    d_sato = dice(otsu_mask(sato(green, sigmas=SIGMAS, black_ridges=True), field), truth)
    d_frangi = dice(otsu_mask(frangi(green, sigmas=SIGMAS, black_ridges=True), field), truth)
    d_ours = dice(vm.mask & field, truth)
    region = region_disc(truth.shape, px, REGION_DIAMETER_UM) & field
    hazard = truth & (2.0 * scene.radius_um >= HAZARD_DIAMETER_UM)
    clear = _distance_px(hazard)[region]
    for sub in ("images", "truth", "regions"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    np.save(work / "images" / f"{name}.npy", scene.image)
    np.savez_compressed(work / "truth" / f"{name}.npz", mask=scene.truth,
                        radius_um=scene.radius_um, field=scene.field)  # fmt: skip
    Image.fromarray(region.astype(np.uint8) * 255).save(work / "regions" / f"{name}.png")
    case = ip.StudyCase.from_image(
        work / "images" / f"{name}.npy", truth=work / "truth" / f"{name}.npz",
        region=str(work / "regions" / f"{name}.png"), pixel_size_um=px, dura_mode=mode,
        robot=ROBOT, n_threads=N_THREADS, name=name,
    )  # fmt: skip
    return case, {
        "case": name,
        "renderer": renderer,
        "setting": setting,
        "seed": seed,
        "mode": mode,
        "camera": scene.camera,
        "hazard_px_allowed": int((hazard & amap.allowed).sum()),
        "hazard_allowed_where": _components(hazard & amap.allowed, scene.radius_um),
        "dice": d_ours,
        "dice_sato": d_sato,
        "dice_frangi": d_frangi,
        "beats_both": d_ours > max(d_sato, d_frangi),
        "allowed_share": float(amap.allowed[region].mean()),
        "truth_clear_share": float((np.maximum(clear - 1.0, 0.0) * px >= KOZAI_MARGIN_UM).mean()),
        "detectable_um": float(np.median(amap.detectable_diameter_um[region])),
        "room_by_truth": room_by_truth(
            truth,
            scene.radius_um,
            region,
            mode=mode,
            margins=margins,
            pixel_size_um=px,
            spacing_um=ip.PlannerConfig().min_spacing_um,
        ),
        "recall_30_60": centreline_recall(truth, scene.radius_um, vm.mask, lo_um=30.0, hi_um=60.0),
        "t_seg": t_seg,
    }


def merge_study_row(r: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The detector's numbers ``r`` with the planning outcome of the study's ``row``."""
    status = row["status"]
    if status == "error":
        raise RuntimeError(f"study case {row['case']} failed: {row['error']}")
    refused = status == "refused"
    outcome = f"refused: {row['refusal']}" if refused else "planned"
    nan = float("nan")
    return {
        **r,
        "outcome": outcome,
        "refused": refused,
        "binding": row["binding_constraint"] or "-",
        "threads": int(row["threads_placed"] or 0),
        "validated": int(row["threads_validated"] or 0),
        "too_close": int(row["threads_too_close"] or 0),
        "too_close_any": int(row["threads_too_close_any"] or 0),
        "closest_any_um": nan if refused else float(row["min_clearance_to_truth_um"]),
        "closest_hazard_um": nan if refused else float(row["min_clearance_to_hazard_um"]),
        "worst_margin_um": nan if refused else float(row["min_margin_to_truth_um"]),
        "worst_site": row["worst_site"] or "",
        "dice_plan": row["dice"],
    }


# ------------------------------------------------------------------------------ report
def _um(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.0f}"


def _case_id(r: dict[str, Any]) -> str:
    return f"{r['renderer']} / {r['setting']} / seed {r['seed']} / {r['mode']}"


def summary_rows(results: list[dict[str, Any]]) -> list[list[object]]:
    rows = []
    for renderer in RENDERERS:
        for mode in MODES:
            rs = [r for r in results if r["renderer"] == renderer and r["mode"] == mode]
            if not rs:
                continue
            threads = [r["threads"] for r in rs if not r["refused"]]
            allowed = [r["allowed_share"] for r in rs]
            rows.append(
                [
                    renderer,
                    mode,
                    len(rs),
                    sum(r["refused"] for r in rs),
                    f"{min(threads)}-{max(threads)}" if threads else "-",
                    f"{max(r['too_close'] for r in rs)} ({sum(r['too_close'] for r in rs)})",
                    sum(r["too_close_any"] for r in rs),
                    _um(min(r["closest_any_um"] for r in rs)),
                    f"{max(r['hazard_px_allowed'] for r in rs)} ({sum(r['hazard_px_allowed'] for r in rs)})",
                    f"{min(r['dice'] for r in rs):.3f}",
                    f"{statistics.median(r['dice'] for r in rs):.3f}",
                    f"{statistics.median(r['dice_sato'] for r in rs):.3f}",
                    f"{statistics.median(r['dice_frangi'] for r in rs):.3f}",
                    f"{sum(r['beats_both'] for r in rs)}/{len(rs)}",
                    f"{100 * min(allowed):.1f} / {100 * statistics.median(allowed):.1f}",
                    f"{max(r['detectable_um'] for r in rs):.0f}",
                    f"{max(r['t_seg'] for r in rs):.2f}",
                ]
            )
    return rows


SUMMARY_HEADER = [
    "renderer",
    "dura mode",
    "cases",
    "refused",
    "threads placed (min-max, planned cases)",
    "threads inside required clearance of a >= 30 um vessel: worst case (all)",
    "threads inside required clearance of any true vessel (all)",
    "closest thread to any true vessel (um, min)",
    ">= 30 um truth px in allowed: worst case (all)",
    "Dice min",
    "Dice median",
    "sato median",
    "frangi median",
    "ours > sato and frangi",
    "region allowed % (min / median)",
    "detectable diameter in region (um, worst median)",
    "segment (s, max)",
]


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    """The issue's "must show" lines, PASS or FAIL, with the numbers behind them."""
    lines = []
    close = sum(r["too_close"] for r in results)
    worst = max(results, key=lambda r: r["too_close"])
    lines.append(
        f"{'PASS' if close == 0 else 'FAIL'}: threads inside their required clearance "
        f"(>= 49 um, Kozai et al. 2010) of a true vessel >= "
        f"{HAZARD_DIAMETER_UM:.0f} um: worst case {worst['too_close']}, {close} over all "
        f"{len(results)} cases (target 0)"
    )
    in_allowed = sum(r["hazard_px_allowed"] for r in results)
    worst = max(results, key=lambda r: r["hazard_px_allowed"])
    lines.append(
        f"{'PASS' if in_allowed == 0 else 'FAIL'}: true vessel px >= {HAZARD_DIAMETER_UM:.0f} um "
        f"in allowed: worst case {worst['hazard_px_allowed']}, {in_allowed} over all cases (target 0)"
    )
    for mode in MODES:
        medians = {
            renderer: statistics.median(
                r["dice"] for r in results if r["renderer"] == renderer and r["mode"] == mode
            )
            for renderer in RENDERERS
            if any(r["renderer"] == renderer and r["mode"] == mode for r in results)
        }
        if not medians:
            continue
        ok = all(m >= DICE_TARGET[mode] for m in medians.values())
        got = ", ".join(f"{k} {v:.3f}" for k, v in medians.items())
        lines.append(
            f"{'PASS' if ok else 'FAIL'}: median Dice {mode} >= {DICE_TARGET[mode]:.2f} "
            f"per renderer: {got}"
        )
    # refusals are a safe outcome, counted apart (the "refused" list below)
    roomy = [r for r in results if r.get("room_by_truth", 0) >= N_THREADS and not r.get("refused")]
    full = sum(r["threads"] >= N_THREADS for r in roomy)
    verdict = "n/a" if not roomy else "PASS" if full == len(roomy) else "FAIL"
    lines.append(
        f"{verdict}: {N_THREADS}/{N_THREADS} threads placed wherever the truth leaves room for "
        f"them (the avoidance map's clearance rule on the true vessels packs {N_THREADS} sites "
        f"in the disc; other planning constraints not applied): {full} of {len(roomy)} such "
        f"planned cases"
    )
    beats = sum(r["beats_both"] for r in results)
    lines.append(
        f"{'PASS' if beats == len(results) else 'FAIL'}: Dice above sato and frangi on every "
        f"setting: {beats}/{len(results)} cases"
    )
    return lines


def _detail(r: dict[str, Any], key: str) -> str:
    """What went wrong in case ``r`` for the failure measured by ``key``."""
    if key == "too_close":
        return (
            f"{r['too_close']} thread(s); worst at ({r['worst_site']}), "
            f"{r['worst_margin_um']:.0f} um inside its required clearance"
        )
    if key == "hazard_px_allowed":
        return f"{r['hazard_px_allowed']} px: {r['hazard_allowed_where']}"
    if key == "too_close_any":
        return f"{r['too_close_any']} thread(s), closest {r['closest_any_um']:.0f} um"
    if key == "threads":
        return (
            f"{r['threads']} thread(s), binding {r['binding']}, detectable "
            f"{r['detectable_um']:.0f} um, recall of 30-60 um vessels {r['recall_30_60']:.2f}"
        )
    if key == "dice":
        return f"Dice {r['dice']:.3f} (sato {r['dice_sato']:.3f}, frangi {r['dice_frangi']:.3f})"
    return str(r["outcome"])


def worst_cases(results: list[dict[str, Any]], k: int = 5) -> list[str]:
    """The cases behind each failure, worst first, so the detector's owner knows where."""
    out = []
    picks = [
        (
            "threads inside their required clearance of a >= 30 um true vessel",
            "too_close",
            True,
            lambda r: r["too_close"] > 0,
        ),
        (
            ">= 30 um truth px in allowed",
            "hazard_px_allowed",
            True,
            lambda r: r["hazard_px_allowed"] > 0,
        ),
        (
            "threads inside their required clearance of a true vessel of any diameter",
            "too_close_any",
            True,
            lambda r: r["too_close_any"] > 0,
        ),
        (
            f"fewer than {N_THREADS} threads where the truth leaves room",
            "threads",
            False,
            lambda r: (
                r.get("room_by_truth", 0) >= N_THREADS
                and not r.get("refused")
                and r["threads"] < N_THREADS
            ),
        ),
        ("Dice below target", "dice", False, lambda r: r["dice"] < DICE_TARGET[r["mode"]]),
        ("Dice not above sato and frangi", "dice", False, lambda r: not r["beats_both"]),
        ("refused", "seed", False, lambda r: r["refused"]),
    ]
    for title, key, high, bad in picks:
        rs = sorted((r for r in results if bad(r)), key=lambda r: r[key], reverse=high)
        if not rs:
            continue
        items = "; ".join(f"{_case_id(r)}: {_detail(r, key)}" for r in rs[:k])
        more = f" (+{len(rs) - k} more)" if len(rs) > k else ""
        out.append(f"- {title}, {len(rs)} case(s): {items}{more}")
    smallest = sorted(results, key=lambda r: r["allowed_share"])[:3]
    out.append(
        "- least region allowed: "
        + "; ".join(f"{_case_id(r)}: {100 * r['allowed_share']:.1f} %" for r in smallest)
    )
    return out


CASE_HEADER = [
    "renderer",
    "setting",
    "seed",
    "dura mode",
    "outcome",
    "threads",
    "inside clearance (>= 30 um)",
    "inside clearance (any)",
    "closest (um)",
    ">= 30 um px in allowed",
    "Dice",
    "sato",
    "frangi",
    "beats both",
    "region allowed %",
    "region clear by truth %",
    "room by truth (sites)",
    "recall 30-60 um",
    "detectable (um, median)",
    "binding",
    "segment (s)",
]


def case_row(r: dict[str, Any]) -> list[object]:
    return [
        r["renderer"],
        r["setting"],
        r["seed"],
        r["mode"],
        r["outcome"],
        r["threads"],
        r["too_close"],
        r["too_close_any"],
        _um(r["closest_any_um"]),
        r["hazard_px_allowed"],
        f"{r['dice']:.3f}",
        f"{r['dice_sato']:.3f}",
        f"{r['dice_frangi']:.3f}",
        "yes" if r["beats_both"] else "**no**",
        f"{100 * r['allowed_share']:.1f}",
        f"{100 * r['truth_clear_share']:.1f}",
        r["room_by_truth"],
        f"{r['recall_30_60']:.2f}",
        f"{r['detectable_um']:.0f}",
        r["binding"],
        f"{r['t_seg']:.2f}",
    ]


def settings_table() -> str:
    rows: list[list[object]] = []
    for renderer, named in SETTINGS.items():
        for name, params in named.items():
            desc = ", ".join(f"{k}={v}" for k, v in params.items()) or "the renderer's defaults"
            rows.append(
                [renderer, name, desc + (" (transdural only)" if name in VEIL_ONLY else "")]
            )
    return table(["renderer", "setting", "camera fields changed"], rows)


def report(
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    seeds: list[int],
    run_s: float,
    code: str,
    study: Any,
) -> str:
    random_cams = "\n".join(
        f"- {r['renderer']} {r['setting']} seed {r['seed']} {r['mode']}: {r['camera']}"
        for r in results
        if r["setting"].startswith("random")
    )
    return f"""## Robustness (`benchmarks/bench_robustness.py`)

Machine: {machine()}; code: {code}. {len(results)} cases of {args.size} x {args.size} px at
{PIXEL_SIZE_UM:g} um/px (seeds {", ".join(map(str, seeds))}; {args.random} random camera(s) per
renderer, seed and mode), both dura modes, run in {run_s / 60:.1f} min
(`bench_robustness.py --size {args.size} --random {args.random} --seeds {",".join(map(str, seeds))}`).

Two renderers: `ip.synthetic_cortex` with an `ip.Imaging` camera (thin vessels on) and the
independent test renderer `tests/renderers/independent.py`, written apart from the
detector. Per renderer: named settings spanning its camera ranges (below) and random
cameras (`Imaging.random` / `random_camera` with `numpy.random.default_rng([seed, k])`). One
seed gives the same vessels under every camera.

Per case, the detector in this process: `segment_vessels`, `build_avoidance_map` (default
`SafetyMargins` with the {ROBOT} needle, as the plan uses), `skimage.filters.sato` and
`frangi` (sigmas 1, 2, 4, 8 px, dark ridges, green channel or grey in [0, 1], Otsu threshold
of the response over the field). Then the picture, its truth (`mask`, `radius_um`, `field`
in an `.npz`) and its target region (a {REGION_DIAMETER_UM / 1000:g} mm disc at the image centre)
are written as files and every case is planned, simulated and scored by `ip.run_study`
(one Dask task per case on a `LocalCluster` of {study.n_workers} worker processes,
{study.cases_per_minute:.1f} cases/min): `plan_insertions(n_threads={N_THREADS}, robot="{ROBOT}")`,
`simulate`, and the study's scoring. A refusal (`ImageQualityError`) is a safe outcome, counted.

Scores against the geometric ground truth (a true vessel pixel has diameter
`2 * radius_um`). A thread's distance to a vessel: from its site's pixel centre to the
nearest true vessel pixel centre, minus one pixel, times the pixel size. "Inside clearance
(>= 30 um)": threads closer to a true vessel of at least the hazard diameter
({HAZARD_DIAMETER_UM:g} um) than their own `required_clearance_um` (at least 49 um, Kozai et
al. 2010); "(any)": the same against every true vessel, thinner ones included. ">= 30 um
truth px in allowed": true vessel pixels of at least the hazard diameter where the
avoidance map allows insertion (whole field). Dice over the field: the craniectomy of a
synthetic case, the whole independent image. "Region allowed": share of the target disc
the map allows (the cost of caution); "clear by truth": share of the disc at least 49 um
from every true vessel >= 30 um (what the truth leaves). "Room by truth": sites (at most
{N_THREADS}) packed greedily, {ip.PlannerConfig().min_spacing_um:g} um apart, in the part of
the disc the avoidance map's clearance rule allows on the true vessels (each pixel
`SafetyMargins.required_um` from the nearest true vessel >= 30 um, and a large vessel's
clearance from every large one, both less the map's edge allowance; no detectability floor,
and not the planner's other constraints): where it is {N_THREADS}, the truth leaves room
for every thread. "Recall 30-60 um": share of the
centreline of true 30-60 um vessels within 2 px of the mask, what the detector saw of the
vessels the detectability floor stands guard for. "Detectable": median
`detectable_diameter_um` in the disc.

### Worst case per renderer and dura mode

{table(SUMMARY_HEADER, summary_rows(results))}

### Targets

{chr(10).join("- " + line for line in verdicts(results))}

### Where it fails

{chr(10).join(worst_cases(results))}

### Settings

{settings_table()}

Random cameras drawn (fields that differ from the renderer's default):

{random_cams or "- none"}

### Every case

{table(CASE_HEADER, [case_row(r) for r in results])}
"""


def code_state() -> str:
    """The commit measured, and whether insertion_planner/ had uncommitted changes."""
    import subprocess

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=_HERE.parent, capture_output=True, text=True,
                                  check=True).stdout.strip()  # fmt: skip
        except (OSError, subprocess.CalledProcessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "insertion_planner")
    return f"commit {head}" + (" with uncommitted changes in insertion_planner/" if dirty else "")


def parse_seeds(text: str) -> list[int]:
    """``"N"``: seeds 0..N-1; ``"3,7"``: those seeds."""
    if "," in text:
        return [int(s) for s in text.split(",") if s.strip()]
    return list(range(int(text)))


def run_all(
    cases: Sequence[tuple[str, str, int, str]],
    size: int,
    work: Path,
    *,
    n_workers: int | None = None,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], Any]:
    """Measure the detector on every case here, then plan and score them with ``ip.run_study``.

    ``cases`` are (renderer, setting, seed, mode). The study (one Dask task per case on a
    ``LocalCluster`` of ``n_workers`` processes; resumable in ``work/study``) plans each
    rendered picture in its disc with the {ROBOT} robot, simulates it and scores it against
    the truth. Returns the merged rows, in the order of ``cases``, and the ``StudyResult``.
    """
    detector: list[dict[str, Any]] = []
    study_cases = []
    bar = tqdm(cases, unit="case", desc="render + detect", dynamic_ncols=True, disable=not progress)
    for renderer, setting, seed, mode in bar:
        bar.set_postfix_str(f"{renderer} {setting} {seed} {mode}")
        case, r = detector_case(renderer, setting, seed, mode, size, work)
        study_cases.append(case)
        detector.append(r)
    result = ip.run_study(study_cases, out_dir=work / "study", n_workers=n_workers,
                          progress=progress)  # fmt: skip
    by_name = {row["case"]: row for row in result.rows}
    return [merge_study_row(r, by_name[r["case"]]) for r in detector], result


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1", help="N (seeds 0..N-1) or a list like 3,7")
    ap.add_argument("--size", type=int, default=1024, help="image side, px (default 1024)")
    ap.add_argument("--random", type=int, default=4, help="random cameras per renderer and mode")
    ap.add_argument("--quick", action="store_true", help="smoke run: 512 px, 1 random camera")
    ap.add_argument("--workers", type=int, default=None, help="study workers (default: cores)")
    ap.add_argument(
        "--work", default=None, help="folder of the rendered cases and the study (default: temp)"
    )
    ap.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    args = ap.parse_args(argv)
    if args.quick:
        args.size, args.random = 512, 1
    seeds = parse_seeds(args.seeds)
    cases = [
        (renderer, setting, seed, mode)
        for seed in seeds
        for renderer in RENDERERS
        for mode in MODES
        for setting in settings_for(renderer, mode, args.random)
    ]
    code = code_state()  # before the run: the state whose modules are imported
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        results, study = run_all(cases, args.size, work, n_workers=args.workers)
    for r in results:
        print(
            f"{_case_id(r)}: {r['outcome']}, {r['threads']} threads, {r['too_close']} too close, "
            f"{r['hazard_px_allowed']} hazard px allowed, Dice {r['dice']:.3f} "
            f"(sato {r['dice_sato']:.3f}, frangi {r['dice_frangi']:.3f}), "
            f"allowed {100 * r['allowed_share']:.1f} %"
        )
    text = report(results, args, seeds, time.perf_counter() - t0, code, study)
    if not args.no_write:
        write_section("robustness", text)
    print(text)


if __name__ == "__main__":
    main()
