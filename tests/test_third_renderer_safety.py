"""Safety on pictures of the third renderer (tests/renderers/third.py), written apart
from the detector and from the two other renderers: vessel trees grown by space
colonisation with Murray's-law radii, non-Gaussian optics (defocus disc, Airy pattern,
long-tailed glare), Bayer mosaics, JPEG, a striated dura veil with dural vessels on top,
and vessels partly submerged below the pia."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from tests.renderers.third import Render, random_camera, render

PIXEL_UM = 12.0
KOZAI_UM = 49.0  # the smallest clearance any plan keeps (Kozai et al. 2010)


@cache
def _case(mode: str, seed: int, **extra: object) -> tuple[Render, ip.AvoidanceMap]:
    camera = {**random_camera(seed, mode), **extra}
    out = render((512, 512), pixel_size_um=PIXEL_UM, dura_mode=mode, seed=seed, **camera)
    vm = ip.segment_vessels(out.image, pixel_size_um=PIXEL_UM, dura_mode=mode)
    return out, ip.build_avoidance_map(vm, dura_mode=mode)


def _hazard(out: Render, *, surface_only: bool) -> np.ndarray:
    hazard = out.mask & (2.0 * np.asarray(out.radius_um) >= ip.SafetyMargins().hazard_diameter_um)
    if surface_only:  # on the pia, or on the dura
        depth = np.nan_to_num(np.asarray(out.depth_um), nan=0.0)
        hazard &= (depth <= 0.0) | np.asarray(out.dural)
    return hazard


@pytest.mark.parametrize(
    ("mode", "seed"),
    [("durectomy", 0), ("durectomy", 1), ("durectomy", 2),
     ("transdural", 0), ("transdural", 1), ("transdural", 3)],
)  # fmt: skip
def test_surface_vessels_are_never_allowed_nor_approached(mode: str, seed: int) -> None:
    """No true pixel of a surface vessel of the hazard diameter is allowed, and no allowed
    pixel is closer to one than 49 um, on random cameras of the third renderer. (Through
    the dura, seed 2 allows nothing since the blur is read under the sensor's noise: seed 3,
    which still allows some cortex, stands in for it.)"""
    out, amap = _case(mode, seed)
    hazard = _hazard(out, surface_only=True)
    assert hazard.any()
    assert amap.allowed.any()  # a map that forbids everything would pass the rest
    assert not (hazard & amap.allowed).any()
    distance_um = np.maximum(ndimage.distance_transform_edt(~hazard) - 1.0, 0.0) * PIXEL_UM
    assert distance_um[amap.allowed].min() >= KOZAI_UM


def test_the_picture_has_submerged_hazard_vessels() -> None:
    out, _ = _case("durectomy", 0)
    submerged = _hazard(out, surface_only=False) & ~_hazard(out, surface_only=True)
    assert submerged.sum() > 100


@pytest.mark.xfail(
    strict=True,
    reason="vessels lying 20-160 um below the pia are fainter and blurrier than the "
    "surface vessels the detectability floor is judged by; they are not guaranteed",
)
def test_submerged_vessels_are_never_allowed() -> None:
    out, amap = _case("durectomy", 0)
    assert not (_hazard(out, surface_only=False) & amap.allowed).any()
