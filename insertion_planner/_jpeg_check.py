"""A JPEG decoded out of step: broken entropy data shifts every later block, which the
decoder does not report (read by ``imageio.read_image``)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._refusal import Refused as _Refused

_JPEG_STEP_LEVELS = 6.0
"""A step of this many levels (of 255) along a row of 8 x 8 block borders, over half the
width and three times any step inside the blocks, is what entropy data decoded out of step
leaves (every later block shifted); sound JPEGs of cortex (quality 30-98) show below 4.7."""


def _check_jpeg(data: bytes, decoded: NDArray[Any], where: str) -> None:
    """Refuse a JPEG whose entropy-coded data is damaged (decoders fill it in silently):
    bytes inserted before the marker closing a segment (a scan or restart interval) must
    not change the picture, the complemented last 4 bytes of a sequential one must; a
    decoder out of step and back in leaves a step along block borders."""
    from PIL import Image

    def same(b: bytes) -> bool | None:  # None: the decoder failed on the edited bytes
        try:
            with Image.open(io.BytesIO(b)) as im:
                return bool(np.array_equal(np.asarray(im), decoded))
        except Exception:
            return None

    bad = f"{where} is a damaged JPEG (its compressed data is corrupt: "
    segs, sequential = _jpeg_segments(data)
    if segs is None:
        raise _Refused(bad + "broken marker structure)")
    cuts = [0] + [end for _, end in segs]
    junk = b"\x5a" * 16  # never a marker
    if not same(junk.join(data[i:j] for i, j in zip(cuts, [*cuts[1:], len(data)], strict=True))):
        raise _Refused(bad + "the decoder ran past the end of a segment)")
    for start, end in segs if sequential and len(segs) <= 16 else ():
        raw = data[start:end].replace(b"\xff\x00", b"\xff")
        raw = raw[:-4] + bytes(b ^ 0xFF for b in raw[-4:])
        if end - start >= 8 and same(data[:start] + raw.replace(b"\xff", b"\xff\x00") + data[end:]):
            raise _Refused(bad + "a segment was decoded before its end)")
    step, inside = _block_row_steps(decoded) if min(decoded.shape[:2]) >= 64 else (0.0, 0.0)
    if step >= _JPEG_STEP_LEVELS and step >= 3.0 * inside:
        raise _Refused(bad + f"a step of {step:.0f} levels along a row of 8 x 8 block borders)")


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, int]] | None, bool]:
    """Byte ranges of the entropy-coded segments (None: markers broken); all sequential?"""
    segs: list[tuple[int, int]] = []
    sequential, i, n = True, 2, len(data)
    while i < n and data[i] == 0xFF:
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        marker = data[i] if i < n else 0xD9
        i += 1
        if marker == 0xD9:
            return segs, sequential
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:
            continue
        sequential &= not (0xC2 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC))
        i += int.from_bytes(data[i : i + 2], "big")
        start = i
        while marker == 0xDA:  # entropy-coded data up to a marker other than RSTn
            j = data.find(b"\xff", i)
            k = j + 1 if j >= 0 else n
            while k < n and data[k] == 0xFF:
                k += 1
            if k >= n:
                return None, sequential
            if data[k] == 0x00:
                i = k + 1
                continue
            segs.append((start, j))
            start = i = k + 1
            if not 0xD0 <= data[k] <= 0xD7:
                i, marker = j, 0
    return None, sequential


def _block_row_steps(a: NDArray[Any]) -> tuple[float, float]:
    """Largest mean step beyond the gradient between two rows, over half the width from an
    edge, on 8 x 8 block borders and on rows 3-5 inside blocks (near-black/white left out)."""
    a = a.astype(np.float32).reshape(a.shape[0], a.shape[1], -1)
    h, w = a.shape[:2]
    rows, found = np.arange(8, h - 1, 8), [0.0, 0.0]
    for k, ys in enumerate((rows, np.concatenate([rows - 3, rows - 4, rows - 5]))):
        e = (a[ys] - a[ys - 1]) - 0.5 * ((a[ys - 1] - a[ys - 2]) + (a[ys + 1] - a[ys]))
        lo, hi = np.minimum(a[ys], a[ys - 1]).min(axis=2), np.maximum(a[ys], a[ys - 1]).max(axis=2)
        ok = np.broadcast_to(((lo > 10) & (hi < 245))[..., None], e.shape).astype(np.float32)
        for run, seen in ((e * ok, ok), ((e * ok)[:, ::-1], ok[:, ::-1])):
            total, count = (np.cumsum(x, axis=1)[:, w // 2 :] for x in (run, seen))
            mean = np.where(count >= w / 4, np.abs(total) / np.maximum(count, 1.0), 0.0)
            found[k] = max(found[k], float(mean.max()) if mean.size else 0.0)
    return found[0], found[1]
