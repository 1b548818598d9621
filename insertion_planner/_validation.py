"""Checks applied once at the door: each names the parameter and what it received."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "check_image",
    "check_positive",
    "check_finite",
    "check_int_range",
    "check_choice",
    "check_bool_mask",
    "as_rng",
]

_IMAGE_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_image(
    image: Any, *, name: str = "image", min_size: int = 2, max_size: int = 8192
) -> NDArray[np.float32]:
    """Return ``image`` as float32 in [0, 1], shape (H, W) or (H, W, 3), after checks.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array of uint8, uint16 or float
        Float images must already be scaled to [0, 1]; an alpha channel is dropped.
    name : str
        The parameter name used in error messages.

    Raises
    ------
    TypeError
        When ``image`` is not an array or has an unsupported dtype.
    ValueError
        When the shape is wrong, the image is too small or too large, or holds NaN/inf.

    Examples
    --------
    >>> import numpy as np
    >>> check_image(np.full((4, 4), 255, np.uint8)).max()
    np.float32(1.0)
    """
    if not isinstance(image, np.ndarray):
        if isinstance(image, (list, tuple)):
            image = np.asarray(image)
        else:
            raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype == bool or image.dtype.type not in _IMAGE_DTYPES:
        raise TypeError(f"{name} must have dtype uint8, uint16 or float, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, 3), got shape {image.shape}")
    h, w = image.shape[:2]
    if min(h, w) < min_size:
        raise ValueError(
            f"{name} must be at least {min_size}x{min_size} pixels, got shape {image.shape}"
        )
    if max(h, w) > max_size:
        raise ValueError(
            f"{name} must be at most {max_size}x{max_size} pixels, got shape {image.shape}"
        )
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255.0)
    if image.dtype == np.uint16:
        return image.astype(np.float32) / np.float32(65535.0)
    if not np.isfinite(image).all():
        bad = int(np.size(image) - np.count_nonzero(np.isfinite(image)))
        raise ValueError(f"{name} holds {bad} NaN or infinite pixel values")
    low, high = float(image.min()), float(image.max())
    if low < 0.0 or high > 1.0:
        # the advice follows the range: counts of a camera are to be scaled, a unit range
        # overshot (a filter's ringing, a colour transform) is to be clipped
        hint = (
            "clip it to [0, 1] if the overshoot is an artefact, e.g. numpy.clip(image, 0, 1)"
            if high <= 1.5 and low >= -0.5
            else "scale it first, e.g. image / 255 for 8-bit data"
        )
        raise ValueError(
            f"{name} is a float image, so its values must lie in [0, 1], got range "
            f"[{low:g}, {high:g}] ({hint})"
        )
    return image.astype(np.float32, copy=False)


def check_finite(value: Any, *, name: str) -> float:
    """Return ``value`` as a finite float or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {_describe(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def check_positive(value: Any, *, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float > 0 (or >= 0 with ``allow_zero``) or raise naming ``name``.

    Examples
    --------
    >>> check_positive(12, name="pixel_size_um")
    12.0
    >>> check_positive(-1, name="pixel_size_um")
    Traceback (most recent call last):
    ...
    ValueError: pixel_size_um must be positive, got -1.0
    """
    out = check_finite(value, name=name)
    if out < 0 or (out == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {kind}, got {out}")
    return out


def check_int_range(value: Any, *, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int in [low, high] or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {int(value)}")
    return int(value)


def check_choice(value: Any, *, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices`` or raise naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {_describe(value)}"
        )
    return value


def check_bool_mask(mask: Any, *, name: str, shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Return ``mask`` as a bool array of ``shape`` or raise naming ``name``."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {mask.shape}")
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number) or not np.isfinite(mask).all():
            raise ValueError(f"{name} must be a boolean mask, got dtype {mask.dtype}")
        mask = mask != 0
    return mask


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Return a Generator from a seed, a Generator or None (seed 0: deterministic)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be an int seed, a numpy Generator or None, got {_describe(rng)}")
    if rng < 0:
        raise ValueError(f"rng must be a non-negative seed, got {int(rng)}")
    return np.random.default_rng(int(rng))
