"""An image array as the segmentation reads it: vessel channels, no-data, saturation.

One door for every array a user may bring: grey, grey + alpha, RGB, RGBA; uint8, uint16
holding 10 to 16 bits, or float in [0, 1]; grey stored as RGB; vessels dark (reflectance)
or bright (fluorescence angiography).

Haemoglobin absorbs green and blue light alike strongly and red light weakly. Of a colour
reflectance image the detector reads green and blue blended for the most vessel contrast
per unit of noise (:func:`vessel_blend`): the weights are the matched filter
``inverse(noise covariance) @ vessel signature`` (Reed & Yu 1990,
doi:10.1109/29.60107; the two-class Fisher discriminant), both measured on the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import check_choice
from ..imageio import bit_depth as _imageio_bit_depth
from ..imageio import no_data_mask

__all__ = [
    "ImageChannels",
    "image_channels",
    "vessel_blend",
    "bit_depth",
    "VESSEL_POLARITIES",
    "MAX_SIDE_PX",
]

VESSEL_POLARITIES = ("dark", "bright")
"""``dark``: vessels darker than tissue (white-light reflectance). ``bright``: vessels
brighter than tissue (fluorescence angiography: ICG, fluorescein)."""

MAX_SIDE_PX = 8192
"""Largest image side accepted (an 8192 x 8192 image at 3 um/px covers a 25 mm opening)."""

GREY_TOLERANCE = 2.0 / 255.0
"""Largest channel difference, as a share of the full scale of the bit depth in use, of a
picture still taken as grey stored as RGB (lossy compression leaves a level or two of an
8-bit scale between channels; the same share of a 10-bit camera's scale stored in 16 bits
is 8 levels, not the 514 of a 16-bit one)."""

BLEND_TAIL_PERCENT = 5.0
"""Share (%) of the sampled pixels whose band-passed green darkness is highest: their mean
band-passed darkness in green and blue is the vessel signature (vessels are the image's
dark lines; a few per cent of a cortex image's pixels are vessel). An image without
vessels gives its darkest texture's signature instead, a blend no worse for lines of that
colour."""

_BLEND_TILE_PX = 64
"""Side of the tiles (up to 4 x 4, spread over the image) the blend is measured on."""

_BLEND_MIN_PIXELS = 2000
"""Fewest usable sampled pixels for a blend; fewer: green alone."""

F32 = NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class ImageChannels:
    """The channels the vessel detector reads, float32 in the image's own units.

    Attributes
    ----------
    vessel : (H, W) float32
        The channel vessels are looked for on, in the units of green: of a colour
        reflectance image, green and blue blended (:func:`vessel_blend`; green alone when
        blue shows no vessel); of a grey image, the image; with bright vessels, the mean
        of the channels inverted (full scale minus the value) so that vessels are dark.
    red : (H, W) float32 or None
        Red channel of a colour reflectance image (None for grey and bright images).
    scale : float
        Factor taking the channels to [0, 1] (1 / full scale of the bit depth in use).
    no_data : (H, W) bool
        Pixels without data: alpha below half its range.
    saturated : (H, W) bool
        Pixels clipped at the full scale of the bit depth (no vessel contrast survives).
    grey_as_rgb : bool
        A grey picture stored as three equal channels.
    bit_depth : int
        Bits in use (8 for uint8; 10, 12, 14 or 16 for uint16 from the data; 0 for float).
    blend : (float, float)
        Weights of green and blue in ``vessel``, relative to each one's tissue level
        (summing to 1; (1, 0) for green alone).
    quantisation_gain : float
        Quantisation noise of ``vessel`` relative to one channel's (1 for a single
        channel; less for a blend).
    white : float
        ``vessel`` of a neutral pixel at full scale in every channel (the full scale for a
        single channel): the unit in which added white light raises it.
    """

    vessel: F32
    red: F32 | None
    scale: float
    no_data: NDArray[np.bool_]
    saturated: NDArray[np.bool_]
    grey_as_rgb: bool
    bit_depth: int
    blend: tuple[float, float] = (1.0, 0.0)
    quantisation_gain: float = 1.0
    white: float = 1.0


def bit_depth(image: NDArray[Any]) -> int:
    """Bits in use (:func:`insertion_planner.imageio.bit_depth`; 0 for float images).

    Examples
    --------
    >>> import numpy as np
    >>> bit_depth(np.array([[0, 4095]], np.uint16)), bit_depth(np.zeros((2, 2), np.float32))
    (12, 0)
    """
    arr = np.asarray(image)
    return 0 if arr.dtype.kind == "f" else _imageio_bit_depth(arr)


def _check_array(image: Any) -> NDArray[Any]:
    if isinstance(image, (list, tuple)):
        image = np.asarray(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype == bool or image.dtype.kind not in "uf" or image.dtype.itemsize > 8:
        raise TypeError(f"image must have dtype uint8, uint16 or float, got dtype {image.dtype}")
    if image.dtype.kind == "u" and image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image must have dtype uint8, uint16 or float, got dtype {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (2, 3, 4))):
        raise ValueError(
            "image must have shape (H, W), (H, W, 2) grey + alpha, (H, W, 3) RGB or "
            f"(H, W, 4) RGBA, got shape {image.shape}"
        )
    h, w = image.shape[:2]
    if min(h, w) < 2:
        raise ValueError(f"image must be at least 2x2 pixels, got shape {image.shape}")
    if max(h, w) > MAX_SIDE_PX:
        raise ValueError(
            f"image must be at most {MAX_SIDE_PX}x{MAX_SIDE_PX} pixels, got shape {image.shape}"
        )
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise ValueError("image holds NaN or infinite pixels")
        lo, hi = float(image.min()), float(image.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(
                f"a float image must hold values in [0, 1], got values from {lo:.4g} to {hi:.4g}"
            )
    return image


def _is_grey(rgb: NDArray[Any], full: float) -> bool:
    """Three equal channels, within ``GREY_TOLERANCE`` of ``full`` (the full scale), or of
    an 8-bit scale for 16-bit data whose levels are all multiples of 257 (an 8-bit picture
    scaled up: a dim one uses few bits, yet its levels stay 257 apart)."""
    tol = GREY_TOLERANCE * full
    if rgb.dtype == np.uint16 and not (rgb[::7, ::7] % 257).any():
        tol = max(tol, GREY_TOLERANCE * 65535.0)
    for a, b in ((0, 1), (1, 2)):
        # a strided look first: a colour picture is told apart without a full pass
        if np.abs(rgb[::7, ::7, a].astype(np.float32) - rgb[::7, ::7, b]).max() > tol:
            return False
    return all(
        float(np.abs(rgb[..., a].astype(np.float32) - rgb[..., b]).max()) <= tol
        for a, b in ((0, 1), (1, 2))
    )


def _tile_origins(n: int, side: int) -> NDArray[np.intp]:
    """Up to four evenly spread tile origins along an axis of ``n`` px."""
    k = min(4, max(1, n // side))
    return np.unique(np.linspace(0, n - side, k).round().astype(np.intp))


def _residual_cov(
    stack: NDArray[np.floating], ok: NDArray[np.bool_], fine: NDArray[np.floating] | None = None
) -> NDArray[np.float64]:
    """Covariance (2 x 2) of the two channels' differences from their 3 x 3 means at the
    ``ok`` pixels of a (2, tiles, h, w) stack, values beyond 4 MADs left out; ``fine``:
    those means if already computed."""
    from scipy import ndimage

    if fine is None:
        fine = ndimage.uniform_filter(stack, size=(1, 1, 3, 3), mode="reflect")
    resid = (stack - fine)[:, ok]
    mad = np.median(np.abs(resid - np.median(resid, axis=1)[:, None]), axis=1) * 1.4826
    calm = (np.abs(resid) <= 4.0 * np.maximum(mad, 1e-12)[:, None]).all(axis=0)
    out: NDArray[np.float64] = np.atleast_2d(np.cov(resid[:, calm]))
    return out


def vessel_blend(
    green: NDArray[Any],
    blue: NDArray[Any],
    no_data: NDArray[np.bool_],
    *,
    clip: float,
    dim: float,
) -> tuple[tuple[float, float], float, float]:
    """Weights of green and blue (relative to each one's tissue level) for the most vessel
    contrast per unit of noise, measured on the image.

    On up to 16 tiles of ``_BLEND_TILE_PX`` spread over the image, each channel is divided
    by its median over the usable pixels (relative darkness, so shading and white balance
    drop out), and band-passed: the 13 x 13 mean less the 3 x 3 mean, the darkness of
    lines 1-6 px wide. The noise covariance ``S`` (2 x 2) is that of the band's central
    values (within 3 MADs of its median in both channels: the noise as the band sees it,
    spatially correlated noise included, as demosaicing and compression leave it); the
    vessel signature ``m`` is the mean band of the ``BLEND_TAIL_PERCENT`` of pixels
    darkest in green. The weights are ``inverse(S) @ m``, the matched filter
    for a signal of known colour in correlated noise (Reed & Yu 1990,
    doi:10.1109/29.60107), kept non-negative and summing to 1. A channel whose signature
    is not dark gets weight 0.

    Parameters
    ----------
    green, blue : (H, W) arrays
        The two channels, in the image's units.
    no_data : (H, W) bool
        Pixels without data.
    clip : float
        Level at and above which a channel is saturated.
    dim : float
        Green level below which a pixel is unlit.

    Returns
    -------
    blend : (float, float)
        Weights of green and blue; (1, 0) when fewer than ``_BLEND_MIN_PIXELS`` pixels
        are usable, blue is dark, or blue shows no dark lines.
    green_level, blue_level : float
        Medians of the usable pixels of the tiles (the tissue levels).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g = rng.normal(150, 6, (256, 256)).astype(np.float32)
    >>> b = rng.normal(120, 6, (256, 256)).astype(np.float32)
    >>> for c in range(8, 256, 24):                  # dark lines in both channels
    ...     g[:, c : c + 2] *= 0.8; b[:, c : c + 2] *= 0.8
    >>> none = np.zeros(g.shape, bool)
    >>> (wg, wb), lg, lb = vessel_blend(g, b, none, clip=255.0, dim=10.0)
    >>> 0.3 < wb < 0.7, round(wg + wb, 6)
    (True, 1.0)
    >>> flat = rng.normal(120, 6, g.shape).astype(np.float32)     # blue shows no lines
    >>> vessel_blend(g, flat, none, clip=255.0, dim=10.0)[0][1] < 0.1
    True
    """
    from scipy import ndimage

    h, w = green.shape
    side = min(_BLEND_TILE_PX, h, w)
    if side < 32:
        return (1.0, 0.0), 0.0, 0.0
    rows, cols = _tile_origins(h, side), _tile_origins(w, side)
    stack = np.empty((2, rows.size * cols.size, side, side), np.float32)
    ok = np.empty((rows.size * cols.size, side, side), bool)
    for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
        stack[0, i] = green[r : r + side, c : c + side]
        stack[1, i] = blue[r : r + side, c : c + side]
        ok[i] = ~no_data[r : r + side, c : c + side]
    # lit and unsaturated in both channels
    ok &= (stack[0] > dim) & (stack[0] < clip) & (stack[1] < clip)
    # a pixel whose 13 x 13 neighbourhood is all usable (no field edge, glint or no-data)
    ok = ndimage.uniform_filter(ok.astype(np.float32), size=(1, 13, 13), mode="constant") > 0.999
    if ok.sum() < _BLEND_MIN_PIXELS:
        return (1.0, 0.0), 0.0, 0.0
    levels = np.median(stack[:, ok], axis=1)
    if levels[1] <= 0.02 * max(float(levels[0]), 1e-12) or levels[0] <= 0:
        return (1.0, 0.0), float(levels[0]), float(levels[1])
    stack /= levels[:, None, None, None]
    fine = ndimage.uniform_filter(stack, size=(1, 1, 3, 3), mode="reflect")
    # darkness is the fall below the tissue: band > 0 on a dark line
    band = (ndimage.uniform_filter(stack, size=(1, 1, 13, 13), mode="reflect") - fine)[:, ok]
    # the noise: each pixel's difference from its 3 x 3 mean (times 9/8, white noise's
    # loss to that mean; beyond 4 MADs left out)
    cov = _residual_cov(stack, ok, fine) * (9.0 / 8.0)
    # a Bayer camera samples blue on every other row and column and interpolates between:
    # its pixel-to-pixel noise understates its noise at the lines' scale. The same
    # residual on 2 x 2 block means has a quarter of the pixels' variance for white noise;
    # a channel whose blocks keep more has its noise scaled up by that excess
    t, m = stack.shape[2] // 2 * 2, ok.shape[0]
    blocks = stack[:, :, :t, :t].reshape(2, m, t // 2, 2, t // 2, 2).mean(axis=(3, 5))
    ok2 = ok[:, :t, :t].reshape(m, t // 2, 2, t // 2, 2).all(axis=(2, 4))
    block_var = 4.0 * (9.0 / 8.0) * np.diag(_residual_cov(blocks, ok2))
    excess = np.sqrt(np.maximum(block_var / np.maximum(np.diag(cov), 1e-30), 1.0))
    cov = cov * np.outer(excess, excess)
    # the darkest lines of green: selected on green's noise too, which biases green's
    # signature up but not blue's (the matched filter undoes what the noise correlation
    # carries into blue), so the blend errs toward green alone
    tail = band[0] >= np.percentile(band[0], 100.0 - BLEND_TAIL_PERCENT)
    signature = np.maximum(band[:, tail].mean(axis=1), 0.0)
    if signature[1] <= 0.0:
        return (1.0, 0.0), float(levels[0]), float(levels[1])
    # the pseudo-inverse: channels whose noise is one and the same (or none) have a
    # singular covariance; the blend then weighs them by their signatures alone
    weights = np.maximum(np.linalg.pinv(cov, rcond=1e-6, hermitian=True) @ signature, 0.0)
    if weights.sum() <= 0.0:
        return (1.0, 0.0), float(levels[0]), float(levels[1])
    weights /= weights.sum()
    if not np.isfinite(weights).all():
        return (1.0, 0.0), float(levels[0]), float(levels[1])
    return (float(weights[0]), float(weights[1])), float(levels[0]), float(levels[1])


def image_channels(
    image: Any, *, vessel_polarity: str = "dark", blend: bool = True
) -> ImageChannels:
    """Read an image array into the channels the vessel detector works on.

    Parameters
    ----------
    image : (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) array
        uint8, uint16 (the bit depth in use is found from the data) or float in [0, 1].
        A last channel of a 2- or 4-channel image is alpha: pixels whose alpha is below
        half its range have no data.
    vessel_polarity : {"dark", "bright"}
        ``"bright"`` for fluorescence angiography: the grey level (mean of the channels)
        is inverted so that vessels are dark.
    blend : bool
        Blend green and blue (:func:`vessel_blend`) for a colour reflectance image; False:
        green alone (the image-quality gate's own line and darkness tests, whose
        thresholds were set on green; its noise and contrast tests read the detector's,
        measured on the blend).

    Returns
    -------
    ImageChannels

    Raises
    ------
    TypeError
        Not an array, or an unsupported dtype.
    ValueError
        A wrong shape, fewer than 2 or more than ``MAX_SIDE_PX`` pixels a side, NaN or
        infinite pixels, a float image outside [0, 1], an unknown polarity.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.dstack([np.full((8, 8), 90, np.uint8)] * 3)
    >>> ch = image_channels(rgb)
    >>> ch.grey_as_rgb, ch.red is None, ch.bit_depth
    (True, True, 8)
    >>> rgba = np.dstack([rgb, np.zeros((8, 8), np.uint8)])
    >>> bool(image_channels(rgba).no_data.all())
    True
    """
    arr = _check_array(image)
    polarity = check_choice(vessel_polarity, name="vessel_polarity", choices=VESSEL_POLARITIES)
    shape = arr.shape[:2]
    bits = bit_depth(arr)
    full = float(2**bits - 1) if bits else 1.0
    no_data = no_data_mask(arr)
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        arr = arr[..., :-1] if arr.shape[2] == 4 else arr[..., 0]
    grey_as_rgb = arr.ndim == 3 and _is_grey(arr, full)
    if grey_as_rgb:
        arr = arr[..., 1]
    red: F32 | None = None
    top = np.float32(full)
    clip = top - np.float32(0.5 if bits else 1e-6)
    weights, gain, white = (1.0, 0.0), 1.0, full
    if polarity == "bright":
        grey = arr if arr.ndim == 2 else arr.astype(np.float32).mean(axis=2, dtype=np.float32)
        vessel = top - grey.astype(np.float32)
        saturated = arr.reshape(*shape, -1).min(axis=2) >= clip
    elif arr.ndim == 2:
        vessel = arr.astype(np.float32)
        saturated = vessel >= clip
    else:
        vessel = arr[..., 1].astype(np.float32)
        red = arr[..., 0].astype(np.float32)
        saturated = vessel >= clip
        # the unlit surround (below 5 % of full scale in green) measures nothing
        if blend:
            weights, level_g, level_b = vessel_blend(
                arr[..., 1], arr[..., 2], no_data, clip=float(clip), dim=0.05 * float(top)
            )
        if weights[1] > 0.0:
            # in green's units: green's tissue level stays where it was
            blue = arr[..., 2].astype(np.float32)
            saturated |= blue >= clip
            blue *= np.float32(weights[1] * level_g / level_b)
            vessel *= np.float32(weights[0])
            vessel += blue
            gain = float(np.hypot(weights[0], weights[1] * level_g / level_b))
            white = full * float(weights[0] + weights[1] * level_g / level_b)
    if no_data.any():
        # no-data pixels take the median of the rest: no step at their border for the
        # filters to take for a vessel's side
        fill = np.float32(np.median(vessel[~no_data])) if not no_data.all() else np.float32(0)
        vessel[no_data] = fill
        if red is not None:
            red[no_data] = np.float32(np.median(red[~no_data])) if not no_data.all() else 0
        saturated &= ~no_data
    return ImageChannels(
        vessel=vessel,
        red=red,
        scale=1.0 / full,
        no_data=no_data,
        saturated=saturated,
        grey_as_rgb=bool(grey_as_rgb),
        bit_depth=bits,
        blend=weights,
        quantisation_gain=gain,
        white=white,
    )
