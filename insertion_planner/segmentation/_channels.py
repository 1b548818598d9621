"""An image array as the segmentation reads it: vessel channels, no-data, saturation.

One door for every array a user may bring: grey, grey + alpha, RGB, RGBA; uint8, uint16
holding 10 to 16 bits, or float in [0, 1]; grey stored as RGB; vessels dark (reflectance)
or bright (fluorescence angiography).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import check_choice
from ..imageio import bit_depth as _imageio_bit_depth
from ..imageio import no_data_mask

__all__ = ["ImageChannels", "image_channels", "bit_depth", "VESSEL_POLARITIES", "MAX_SIDE_PX"]

VESSEL_POLARITIES = ("dark", "bright")
"""``dark``: vessels darker than tissue (white-light reflectance). ``bright``: vessels
brighter than tissue (fluorescence angiography: ICG, fluorescein)."""

MAX_SIDE_PX = 8192
"""Largest image side accepted (an 8192 x 8192 image at 3 um/px covers a 25 mm opening)."""

_GREY_TOLERANCE = {np.dtype(np.uint8): 2, np.dtype(np.uint16): 2 * 257}
"""Largest channel difference (levels) of a picture still taken as grey stored as RGB
(lossy compression leaves a level or two between channels)."""

F32 = NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class ImageChannels:
    """The channels the vessel detector reads, float32 in the image's own units.

    Attributes
    ----------
    green : (H, W) float32
        Green channel (where haemoglobin absorbs most), or the grey image; with bright
        vessels, inverted (full scale minus the value) so that vessels are dark.
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
    """

    green: F32
    red: F32 | None
    scale: float
    no_data: NDArray[np.bool_]
    saturated: NDArray[np.bool_]
    grey_as_rgb: bool
    bit_depth: int


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


def _is_grey(rgb: NDArray[Any]) -> bool:
    tol = _GREY_TOLERANCE.get(rgb.dtype, 2.0 / 255.0)
    for a, b in ((0, 1), (1, 2)):
        # a strided look first: a colour picture is told apart without a full pass
        if np.abs(rgb[::7, ::7, a].astype(np.float32) - rgb[::7, ::7, b]).max() > tol:
            return False
    return all(
        float(np.abs(rgb[..., a].astype(np.float32) - rgb[..., b]).max()) <= tol
        for a, b in ((0, 1), (1, 2))
    )


def image_channels(image: Any, *, vessel_polarity: str = "dark") -> ImageChannels:
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
    grey_as_rgb = arr.ndim == 3 and _is_grey(arr)
    if grey_as_rgb:
        arr = arr[..., 1]
    red: F32 | None = None
    if arr.ndim == 2:
        green = arr.astype(np.float32)
    elif polarity == "bright":
        green = arr.astype(np.float32).mean(axis=2, dtype=np.float32)
    else:
        green = arr[..., 1].astype(np.float32)
        red = arr[..., 0].astype(np.float32)
    top = np.float32(full)
    saturated = green >= top - np.float32(0.5 if bits else 1e-6)
    if polarity == "bright":
        green = top - green
        saturated = arr.reshape(*shape, -1).min(axis=2) >= top - np.float32(0.5 if bits else 1e-6)
    if no_data.any():
        # no-data pixels take the median of the rest: no step at their border for the
        # filters to take for a vessel's side
        fill = np.float32(np.median(green[~no_data])) if not no_data.all() else np.float32(0)
        green[no_data] = fill
        if red is not None:
            red[no_data] = np.float32(np.median(red[~no_data])) if not no_data.all() else 0
        saturated &= ~no_data
    return ImageChannels(
        green=green,
        red=red,
        scale=1.0 / full,
        no_data=no_data,
        saturated=saturated,
        grey_as_rgb=bool(grey_as_rgb),
        bit_depth=bits,
    )
