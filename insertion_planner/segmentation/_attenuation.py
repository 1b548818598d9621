"""Contrast lost over part of a picture: a block calmer than its brightness allows was
attenuated after capture (blurred, denoised, fogged, compressed flat), and a block whose
tissue faded toward white was washed out by added white light (glare, a reflection, a
fogged lens); its vessels lost as much contrast."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

__all__ = ["COLOURED", "COLOUR_KEPT", "NOISE_KEPT", "colour_kept", "kept_contrast", "washed_out"]

F32 = NDArray[np.float32]

NOISE_KEPT = 0.4
"""Share of the noise its brightness allows below which a block counts as attenuated
(:func:`kept_contrast`). On 30 unaltered pictures (both test renderers, the shared cases,
the retina photograph) no 32 px block fell below 0.38."""

COLOURED = 0.2
"""Least ``1 - rho0`` (the tissue's vessel channel below its red, each in units of its
white) for which :func:`colour_kept` reads a block's colour: greyer tissue tells added
white light too poorly."""

RED_TOP = 0.97
"""Share of its white above which a red pixel is left out of :func:`colour_kept`: near its
top a channel clips, or bends at a compression's knee, and cannot rise with added light
(a bright cortex's red often lies there)."""

CORTEX_SHARE = 0.75
"""Share of a block's background the detector searched above which :func:`colour_kept`
reads the block on those pixels alone (cortex beside a little bone)."""

TISSUE_PERCENTILE = 10.0
"""Percentile of the blocks of cortex whose colour :func:`colour_kept` takes as the
tissue's own (``rho0``): a low one, the most coloured, so that a veil over most of the
field does not set it (against the median, a veil over half the field did: 117-1,185
allowed pixels inside a clearance). On 51 unaltered colour pictures no block of cortex
then read below 0.69 (0.78 against the median). Tissue of very uneven colour (blood-
coloured texture of 20-40 % relative SD, a test image) reads as washed out nearly
everywhere: safe, but little is allowed there."""

COLOUR_KEPT = 0.6
"""Share of its contrast by its colour (:func:`colour_kept`) below which a block counts as
washed out by added white light."""


def kept_contrast(ratio: F32, brightness: NDArray[np.floating]) -> F32:
    """Share of the vessel contrast a block keeps, judged from its noise: (hb, wb) in
    (0, 1].

    A camera's noise, relative to the light, grows where the light is weaker and falls no
    faster than the light rises (read noise: ``1 / level``; shot noise: ``1 /
    sqrt(level)``). A block whose fine-scale spread (``ratio``, over the image's, not yet
    floored at 1) is below ``min(1, median level / its level)`` was attenuated after the
    light was caught: blurred, denoised, blended toward a flat tone (a fog, a
    compression's flat block). Below ``NOISE_KEPT`` of that bound (unaltered pictures stay
    above it) its vessels are taken to have lost contrast as its noise did: the share kept
    is ``ratio / bound``; at or above, all. Brighter blocks may be calmer (a stronger
    light, an added glare); blocks without a level keep everything.

    Examples
    --------
    >>> import numpy as np
    >>> ratio = np.array([[1.0, 0.2, 0.2]], np.float32)      # the 2nd and 3rd are calm
    >>> level = np.array([[100.0, 100.0, 400.0]])           # the 3rd four times as bright
    >>> kept_contrast(ratio, level).round(2).tolist()
    [[1.0, 0.2, 1.0]]
    """
    if not np.isfinite(brightness).any():
        return np.ones(np.shape(ratio), np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.float32(np.nanmedian(brightness)) / brightness.astype(np.float32)
        share = ratio / np.minimum(q, np.float32(1.0))
    kept = np.where(np.isfinite(share) & (share < NOISE_KEPT), share, np.float32(1.0))
    return np.maximum(kept, np.float32(1e-3)).astype(np.float32)


def colour_kept(
    vessel: F32,
    red: F32,
    background: NDArray[np.bool_],
    valid: NDArray[np.bool_],
    *,
    block_px: int,
    white: tuple[float, float],
) -> tuple[F32, F32]:
    """Share of the vessel contrast a block keeps, judged from its colour: (hb, wb) in
    (0, 1], ``hb = H // block_px``.

    White light added to a block (a veil of glare, a reflection off fluid, a fogged lens,
    a blend toward white after capture) lifts every channel by the same share ``a`` of
    its white: in units of each channel's white (``white``: the vessel channel's and the
    red channel's), ``x' = (1 - a) x + a`` in the vessel channel and ``y' = (1 - a) y +
    a`` in red. A vessel's relative darkness keeps ``k = (1 - a) x / x'`` of itself. The
    tissue's colour tells ``k`` without knowing ``a``: with ``rho = x / y`` of the block's
    background and ``rho0`` the tissue's own (the ``TISSUE_PERCENTILE`` of the blocks of
    cortex: the most coloured, so that a veil over most of the field does not set it),
    ``k = rho0 (1 - rho) / (rho (1 - rho0))`` exactly where the block's tissue has
    that colour and the channels are linear in the light, whatever its shading (shading
    leaves ``rho`` alone). Blocks of that colour keep 1; those whiter keep less. On
    gamma-encoded files (sRGB) the share is overstated, by up to 1.4x for a veil of half
    of white: the blocks it judges washed out are fewer than a linear camera's would be.

    ``background`` (H, W) bool: the pixels whose colour is read (tissue, off the vessels);
    ``valid`` (H, W) bool: those the detector searched. ``rho0`` is taken over the blocks
    of cortex: at least ``CORTEX_SHARE`` of their background valid, and read on it
    alone; other blocks (bone, or a veil the detector left out as bone) are read on all
    their background.

    Returns ``(k, cortex)``, (hb, wb) float32 each: the raw ``k``, clipped to ``[1e-3,
    1]`` (1 where a block has too few background pixels, and everywhere when the tissue
    is not coloured: ``1 - rho0`` below ``COLOURED``), and 1 for the blocks of cortex, 0
    for the others.

    Examples
    --------
    >>> import numpy as np
    >>> tissue = np.array([0.30, 0.60])                 # (vessel, red) of white's share
    >>> veiled = 0.5 * tissue + 0.5                     # half of white added
    >>> px = np.array([tissue] * 3 + [veiled])          # four 2 px blocks in a row
    >>> v = np.repeat(px[:, 0], 2)[None].repeat(2, 0).astype(np.float32) * 1023
    >>> r = np.repeat(px[:, 1], 2)[None].repeat(2, 0).astype(np.float32) * 1023
    >>> every = np.ones(v.shape, bool)
    >>> k, cortex = colour_kept(v, r, every, every, block_px=2, white=(1023, 1023))
    >>> k.round(3).tolist()                             # 0.5 * 0.3 / 0.65
    [[1.0, 1.0, 1.0, 0.231]]
    """
    h, w = vessel.shape
    b = int(block_px)
    hb, wb = h // b, w // b
    ones = np.ones((max(hb, 1), max(wb, 1)), np.float32)
    if hb < 1 or wb < 1:
        return ones, ones

    def block_sum(a: NDArray[np.floating]) -> NDArray[np.float64]:
        return a[: hb * b, : wb * b].reshape(hb, b, wb, b).sum(axis=(1, 3), dtype=np.float64)

    # red near its top (a clip's knee, compression) cannot rise with added light
    bg = background[: hb * b, : wb * b] & (red[: hb * b, : wb * b] < RED_TOP * white[1])
    on = bg & valid[: hb * b, : wb * b]
    count, count_on = block_sum(bg.astype(np.float32)), block_sum(on.astype(np.float32))
    # a block mostly of cortex is read on its cortex; one mostly of what the detector left
    # out (bone, or a veil as white as bone) on all of it
    cortex = (count_on >= CORTEX_SHARE * count) & (count > 0)
    use = np.where(cortex[:, None, :, None], on.reshape(hb, b, wb, b), bg.reshape(hb, b, wb, b))
    use = use.reshape(hb * b, wb * b)
    n = block_sum(use.astype(np.float32))
    enough = n >= b * b / 4
    if not (enough & cortex).any():
        return ones, cortex.astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = block_sum(np.where(use, vessel[: hb * b, : wb * b], 0)) / n / white[0]
        y = block_sum(np.where(use, red[: hb * b, : wb * b], 0)) / n / white[1]
        rho = x / y
        rho0 = float(np.percentile(rho[enough & cortex & np.isfinite(rho)], TISSUE_PERCENTILE))
        if not np.isfinite(rho0) or 1.0 - rho0 < COLOURED:
            return ones, cortex.astype(np.float32)
        k = rho0 * (1.0 - rho) / (rho * (1.0 - rho0))
    k = np.where(enough & np.isfinite(k), k, 1.0)
    return np.clip(k, 1e-3, 1.0).astype(np.float32), cortex.astype(np.float32)


def washed_out(k: F32, cortex: F32) -> F32:
    """The share of contrast each block keeps by its colour, from :func:`colour_kept`'s
    ``(k, cortex)``: ``k`` where under ``COLOUR_KEPT`` (washed out), else 1; a washed-out
    block of cortex lends its share to its 3 x 3 neighbours (a veil spreads over blocks,
    whose tissue tells it unevenly).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.array([[1.0, 0.9, 0.3, 0.9, 1.0]], np.float32)
    >>> washed_out(k, np.ones_like(k)).tolist()
    [[1.0, 0.3..., 0.3..., 0.3..., 1.0]]
    >>> washed_out(k, np.array([[1, 1, 0, 1, 1]], np.float32)).tolist()   # not cortex
    [[1.0, 1.0, 0.3..., 1.0, 1.0]]
    """
    washed = np.where(k < COLOUR_KEPT, k, np.float32(1)).astype(np.float32)
    lent = ndi.minimum_filter(np.where(cortex > 0, washed, np.float32(1)), size=3, mode="nearest")
    return np.minimum(washed, lent)
