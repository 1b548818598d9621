"""Zhang-Suen thinning compiled with numba, visiting only the mask's border pixels.

``skimage.morphology.skeletonize`` (2-D, Zhang & Suen 1984, doi:10.1145/357994.358023)
scans every pixel of the image in each of its two sub-iterations until nothing is
removed, and copies the image after each. A pixel whose eight neighbours are all set
is never removed (its neighbourhood code, 255, maps to 0 in the look-up table), and a
pixel with an unset neighbour keeps one (pixels are only ever removed): so only the
border pixels need to be looked at, and the border grows by the set neighbours of the
pixels removed. Each sub-iteration still decides on the image as it was before it, and
removes its pixels after: the same pixels are removed in the same sub-iterations, and
the skeleton is bit for bit skimage's.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["skeletonize"]

# skimage's table (``_skeletonize_various_cy._fast_skeletonize``): for the code of the 8
# neighbours (bit 0 top-left, then clockwise: top, top-right, right, bottom-right,
# bottom, bottom-left, left), 1: removed in the first sub-iteration, 2: in the second,
# 3: in both, 0: kept
_LUT = np.array(
    [
        0, 0, 0, 1, 0, 0, 1, 3, 0, 0, 3, 1, 1, 0, 1, 3,
        0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 3, 0, 3, 3,
        0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2, 2,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0,
        3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 0,
        0, 0, 3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        2, 3, 1, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        2, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        3, 3, 0, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0,
    ],
    np.uint8,
)  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _thin(img: NDArray[np.uint8], lut: NDArray[np.uint8]) -> None:  # pragma: no cover
    """Thin ``img`` ((H + 2, W + 2) uint8, 0/1, a zero frame around the image) in place."""
    h, w = img.shape
    n_set = 0
    for r in range(1, h - 1):
        for c in range(1, w - 1):
            n_set += img[r, c]
    border = np.empty(n_set, np.int64)  # flat indices of the set pixels to look at
    listed = np.zeros(h * w, np.uint8)
    removed = np.empty(n_set, np.int64)
    flat = img.ravel()
    nb = 0
    for r in range(1, h - 1):
        for c in range(1, w - 1):
            if img[r, c] and not (
                img[r - 1, c - 1] & img[r - 1, c] & img[r - 1, c + 1] & img[r, c + 1]
                & img[r + 1, c + 1] & img[r + 1, c] & img[r + 1, c - 1] & img[r, c - 1]
            ):  # fmt: skip
                border[nb] = r * w + c
                listed[r * w + c] = 1
                nb += 1
    changed = True
    while changed:
        changed = False
        for step in (1, 2):
            # decide on the image as it is before this sub-iteration
            nr = 0
            for k in range(nb):
                i = border[k]
                code = (
                    flat[i - w - 1] + 2 * flat[i - w] + 4 * flat[i - w + 1] + 8 * flat[i + 1]
                    + 16 * flat[i + w + 1] + 32 * flat[i + w] + 64 * flat[i + w - 1]
                    + 128 * flat[i - 1]
                )  # fmt: skip
                t = lut[code]
                if t == 3 or t == step:
                    removed[nr] = i
                    nr += 1
            if nr == 0:
                continue
            changed = True
            for k in range(nr):
                flat[removed[k]] = 0
            # the border: less the pixels removed, plus their set neighbours
            m = 0
            for k in range(nb):
                if flat[border[k]]:
                    border[m] = border[k]
                    m += 1
            nb = m
            for k in range(nr):
                i = removed[k]
                for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
                    j = i + d
                    if flat[j] and not listed[j]:
                        listed[j] = 1
                        border[nb] = j
                        nb += 1


def skeletonize(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``skimage.morphology.skeletonize(mask)`` for a 2-D mask (Zhang-Suen), bit for bit:
    (H, W) bool.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 9), bool); m[1:4, 1:8] = True
    >>> skeletonize(m).astype(int)[2].tolist()
    [0, 1, 1, 1, 1, 1, 0, 0, 0]
    >>> from skimage.morphology import skeletonize as skimage_skeletonize
    >>> bool((skeletonize(m) == skimage_skeletonize(m)).all())
    True
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), np.uint8)
    img[1:-1, 1:-1] = mask.astype(bool)
    _thin(img, _LUT)
    return img[1:-1, 1:-1].astype(bool)
