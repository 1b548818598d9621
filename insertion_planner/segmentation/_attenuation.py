"""Contrast lost after capture: a block of the image calmer than its brightness allows
was attenuated (blurred, denoised, fogged, compressed flat), and its vessels with it."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["NOISE_KEPT", "kept_contrast"]

F32 = NDArray[np.float32]

NOISE_KEPT = 0.4
"""Share of the noise its brightness allows below which a block counts as attenuated
(:func:`kept_contrast`). On 30 unaltered pictures (both test renderers, the shared cases,
the retina photograph) no 32 px block fell below 0.38."""


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
