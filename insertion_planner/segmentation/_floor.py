"""The detectability floor of one image: the thinnest vessel the detector would have seen
at each pixel, from the vessels it found (their contrast and edge blur), the local spread
of its finest scale and, through the dura, vessels injected into the image."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..config import DuraMode
from . import _filters as flt
from ._blur import BlurEstimates, blur_map_px
from ._detect import (
    ABSORPTION_LENGTH_UM,
    BARE_PERCENTILES,
    LAYER_PERCENTILES,
    ScaleCalibration,
    detectable_diameter_px,
    judged_unit_depth,
    transdural_samples,
    vessel_contrast,
)
from ._inject import injected_detectable_px, with_injected

F32 = NDArray[np.float32]

__all__ = ["detectability_floor"]


def detectability_floor(
    dark: F32,
    dark_s: F32,
    valid: NDArray[np.bool_],
    half_max: NDArray[np.bool_],
    radius_hm: F32,
    *,
    blur_est: BlurEstimates | None,
    calibration: list[ScaleCalibration],
    spread: tuple[F32, int, F32],
    mode: DuraMode,
    pixel_size_um: float,
    max_diameter_um: float,
) -> tuple[F32, F32 | None, float]:
    """Smallest vessel diameter (um) the detector would have seen at each pixel.

    Parameters
    ----------
    dark, dark_s : (H, W) float32
        Relative darkness, and the same smoothed at 0.7 px.
    valid : (H, W) bool
        Lit pixels that show what lies there (the injection plants only there).
    half_max : (H, W) bool
        The half-maximum lumen of the vessels found, and ``radius_hm`` (H, W) float32
        its radius in px: the samples of contrast and edge blur.
    blur_est : BlurEstimates or None
        The edge blur estimates of ``_blur.blur_estimates`` (measured once).
    calibration : list of ScaleCalibration
        Each filter scale's threshold as measured on this image.
    spread : ((hb, wb) float32, int, (hb, wb) float32)
        Local over global spread of the finest scale per block (divided by the share of
        contrast kept), the block size, and that share (``_attenuation.kept_contrast``: a block
        attenuated after capture shows its vessels fainter; the injected vessels are
        planted as faint).
    mode : DuraMode
        Through the dura the vessels lie at two depths: the fainter layer sets the
        contrast where the vessels found form two, and the detector's completeness is
        measured by injection (``_inject``).
    pixel_size_um, max_diameter_um : float

    Returns
    -------
    detectable : (H, W) float32
        um; ``inf`` where no vessel up to ``max_diameter_um`` would be seen, and
        everywhere when fewer than 30 inner vessel pixels were found (no contrast to
        judge by).
    blur : (H, W) float32 or None
        The local blur (px) the model used (None without contrast).
    contrast : float
        Median relative darkness of the inner pixels sampled (nan without contrast).
    """
    px = pixel_size_um
    shape = dark_s.shape
    contrast = vessel_contrast(dark_s, half_max, radius_hm)
    if contrast is None:
        return np.full(shape, np.inf, np.float32), None, float("nan")
    depth_s, diam_s, index_s, max_depth = contrast
    median_contrast = float(np.median(depth_s))
    l_px = ABSORPTION_LENGTH_UM / px
    transdural = mode is DuraMode.TRANSDURAL
    vessel_s: NDArray[np.intp] | None = None
    contrast_pct, blur_pct = BARE_PERCENTILES
    if transdural:
        # through the dura: the fainter layer where the vessels found form two, judged
        # vessel by vessel (``transdural_samples``)
        blur_med = blur_map_px(
            dark_s, half_max, radius_hm, percentile=50.0, estimates=blur_est, summed=False
        )[0]
        keep, vessel_s, two = transdural_samples(
            depth_s, diam_s, index_s, blur_med, absorption_length_px=l_px
        )
        depth_s, diam_s = depth_s[keep], diam_s[keep]
        index_s, vessel_s = index_s[keep], vessel_s[keep]
        contrast_pct, blur_pct = LAYER_PERCENTILES[two]
    blur, blur_blocks, blur_b, _ = blur_map_px(
        dark_s, half_max, radius_hm, percentile=blur_pct, estimates=blur_est
    )
    # the contrast is inferred at the blur of the edges that fell alone (a lower bound: a
    # larger blur makes the samples' lumens darker per unit absorbance, and an edge lost
    # in noise, which the floor counts as the blurriest, would make them look darkest)
    seen_blur = blur_map_px(
        dark_s, half_max, radius_hm, percentile=blur_pct, estimates=blur_est, summed=False
    )[0]
    unit = judged_unit_depth(
        depth_s, diam_s, seen_blur.ravel()[index_s], absorption_length_px=l_px,
        percentile=contrast_pct, vessel=vessel_s,
    )  # fmt: skip
    # both maps vary over blocks of 32-64 px: the model runs on 8 x 8 blocks, each at its
    # worst (largest) spread and at the largest blur of the blocks its pixels are blended
    # from (beside a defocused block the blend under-stated its blur: a half defocused by
    # 4 px read 2.1 px 25 px inside it, and a site there came within 48 um of a 30 um
    # vessel), spread back to the pixels
    coarse = detectable_diameter_px(
        calibration, unit_depth=unit, reference_depth=float(np.median(depth_s)),
        absorption_length_px=l_px, max_depth=max_depth,
        blur_px=flt.corner_block_max(blur_blocks, blur_b, shape),
        ratio=flt.linear_block_max(spread[0], spread[1], shape),
        max_diameter_px=max_diameter_um / px,
    )  # fmt: skip
    coarse *= np.float32(px)
    detectable = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[: shape[0], : shape[1]]
    detectable = np.ascontiguousarray(detectable)
    if transdural:
        # through the dura, the detector's completeness measured on the image itself:
        # vessels of a few diameters at the judged contrast and blur are injected and
        # searched for (``_inject``)
        kept = spread[2]
        blocks, block = injected_detectable_px(
            dark, valid, half_max, calibration=calibration, blur_px=blur, unit_depth=unit,
            absorption_length_px=l_px, max_depth=max_depth, pixel_size_um=px,
            kept=None if bool((kept >= 1).all()) else flt.upsample_linear(kept, shape, spread[1]),
        )  # fmt: skip
        detectable = with_injected(detectable, blocks, block, pixel_size_um=px)
    return detectable, blur, median_contrast
