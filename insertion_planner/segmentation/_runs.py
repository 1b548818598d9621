"""Connected components of sparse masks from their row runs.

A mask of a few per cent of the pixels (the grow mask of a hysteresis threshold) is
labelled far faster from its runs (maximal horizontal segments) than pixel by pixel:
runs of consecutive rows that touch are joined (8-connectivity: their column ranges
overlap or meet diagonally), and the components of that graph of runs are found by
``scipy.sparse.csgraph.connected_components``. The result is the same set of pixels as
labelling by ``scipy.ndimage.label`` (Rosenfeld & Pfaltz 1966,
doi:10.1145/321356.321357; runs: Haralick & Shapiro 1992, *Computer and Robot Vision*
I, ch. 2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "runs",
    "label",
    "label_pixels",
    "seeded_components",
    "small_components",
    "small_component_runs",
]


def _starts(flat: NDArray[np.bool_], w: int) -> NDArray[np.intp]:
    """Flat indices of the set pixels of ``flat`` (rows of ``w``) whose left neighbour in
    the same row is not set."""
    prev = np.empty_like(flat)
    prev[0] = False
    prev[1:] = flat[:-1]
    prev[::w] = False
    return np.flatnonzero(flat > prev)


def runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row runs of a 2-D mask: flat indices of the first and of the last pixel of each
    maximal horizontal segment of set pixels, in raster order.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], bool)
    >>> [r.tolist() for r in runs(m)]
    [[0, 3, 4, 7], [1, 3, 4, 7]]
    """
    h, w = mask.shape
    flat = np.ascontiguousarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty
    nxt = np.empty_like(flat)
    nxt[-1] = False
    nxt[:-1] = flat[1:]
    nxt[w - 1 :: w] = False
    return _starts(flat, w), np.flatnonzero(flat > nxt)


def _run_components(
    start: NDArray[np.intp], end: NDArray[np.intp], w: int, *, diagonal: bool = True
) -> NDArray[np.intp]:
    """Component index of each run: runs of consecutive rows are joined where their
    columns overlap, or (``diagonal``: 8-connectivity) meet at a corner."""
    n = start.size
    row = start // w
    # keys on rows of w + 2: a run's ends moved by one column stay inside its row
    skey, ekey = start + 2 * row, end + 2 * row
    j = np.flatnonzero(row > 0)
    above = (row[j] - 1) * (w + 2) - row[j] * w
    # the runs of the row above that touch run j form one interval [lo, hi): those ending
    # at or after its first column - 1 and starting at or before its last column + 1
    reach = 1 if diagonal else 0
    lo = np.searchsorted(ekey, start[j] + above - reach, "left")
    hi = np.searchsorted(skey, end[j] + above + reach, "right")
    cnt = np.maximum(hi - lo, 0)
    total = int(cnt.sum())
    if total == 0:
        return np.arange(n)
    first = np.cumsum(cnt) - cnt
    src = np.repeat(j, cnt)
    dst = np.arange(total) - np.repeat(first - lo, cnt)
    graph = csr_matrix((np.ones(total, np.int8), (src, dst)), shape=(n, n))
    comp: NDArray[np.intp] = connected_components(graph, directed=False)[1].astype(np.intp)
    return comp


def seeded_components(seed: NDArray[np.bool_], grow: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The 8-connected components of ``grow`` that hold a ``seed`` pixel, (H, W) bool:
    what labelling ``grow`` with ``scipy.ndimage.label`` and keeping the labels of the
    seeds gives (hysteresis, Canny 1986, doi:10.1109/TPAMI.1986.4767851).

    Examples
    --------
    >>> import numpy as np
    >>> grow = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], bool)
    >>> seed = np.zeros_like(grow); seed[0, 0] = True
    >>> seeded_components(seed, grow).astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    """
    h, w = grow.shape
    out = np.zeros(h * w, bool)
    start, end = runs(grow)
    if start.size == 0:
        return out.reshape(h, w)
    comp = _run_components(start, end, w)
    # one query per run of seeds: the run of grow holding it
    first_seed = _starts(np.logical_and(seed, grow).ravel(), w)
    if first_seed.size == 0:
        return out.reshape(h, w)
    keep = np.zeros(int(comp.max()) + 1, bool)
    keep[comp[np.searchsorted(start, first_seed, "right") - 1]] = True
    kept = np.flatnonzero(keep[comp])
    st, length = start[kept], end[kept] - start[kept] + 1
    total = int(length.sum())
    out[np.arange(total) - np.repeat(np.cumsum(length) - length - st, length)] = True
    return out.reshape(h, w)


def _raster_components(
    start: NDArray[np.intp], end: NDArray[np.intp], w: int, diagonal: bool
) -> tuple[NDArray[np.intp], int]:
    """Component of each run, numbered 0, 1, ... in raster order of the components'
    first pixels (the order of pixel labelling), and the number of components."""
    comp = _run_components(start, end, w, diagonal=diagonal)
    _, first = np.unique(comp, return_index=True)
    rank = np.empty(first.size, np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[comp], int(first.size)


def _paint(labels: NDArray[np.intp], start: NDArray[np.intp], length: NDArray[np.intp],
           value: NDArray[np.intp]) -> None:  # fmt: skip
    """``labels`` (flat view) set to ``value`` over each run (``start``, ``length``)."""
    total = int(length.sum())
    idx = np.arange(total) - np.repeat(np.cumsum(length) - length - start, length)
    labels.ravel()[idx] = np.repeat(value, length)


def label(mask: NDArray[np.bool_], *, diagonal: bool = True) -> tuple[NDArray[np.intp], int]:
    """``scipy.ndimage.label`` of a 2-D mask (8-connected with ``diagonal``, else
    4-connected) from its row runs: the same labels, as intp, and their number.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]], bool)
    >>> lab, n = label(m)
    >>> lab.tolist(), n
    ([[1, 0, 1], [0, 1, 0], [0, 0, 0], [2, 2, 0]], 2)
    """
    h, w = mask.shape
    labels = np.zeros((h, w), np.intp)
    start, end = runs(mask)
    if start.size == 0:
        return labels, 0
    comp, n = _raster_components(start, end, w, diagonal)
    _paint(labels, start, end - start + 1, comp + 1)
    return labels, n


def label_pixels(
    mask: NDArray[np.bool_], *, diagonal: bool = True
) -> tuple[NDArray[np.intp], NDArray[np.intp], int]:
    """The set pixels of ``mask`` and their :func:`label` labels, without the (H, W)
    label image: ``flat = numpy.flatnonzero(mask)`` (raster order), ``label(mask)[0]``
    at those pixels (1, 2, ...), and the number of components. The runs' pixels in order
    are the mask's, so no pass over the image beyond finding the runs is needed.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]], bool)
    >>> flat, lab, n = label_pixels(m)
    >>> flat.tolist(), lab.tolist(), n
    ([0, 2, 4, 9, 10], [1, 1, 1, 2, 2], 2)
    """
    start, end = runs(mask)
    if start.size == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty.copy(), 0
    comp, n = _raster_components(start, end, mask.shape[1], diagonal)
    length = end - start + 1
    flat = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length - start, length)
    return flat.astype(np.intp, copy=False), np.repeat(comp + 1, length).astype(np.intp), n


def small_components(
    mask: NDArray[np.bool_], *, max_area: float, pixel_area: int = 1, diagonal: bool = False
) -> tuple[NDArray[np.intp], int, list[tuple[int, tuple[slice, slice]]]]:
    """The components of ``mask`` (4-connected, or 8 with ``diagonal``) of at most
    ``max_area`` (their pixel count times ``pixel_area``).

    Returns
    -------
    labels : (H, W) intp
        1, 2, ... on the pixels of the small components, 0 elsewhere (also on the larger
        components).
    n : int
        Number of components of any size.
    boxes : list of (label, (rows, cols) slices)
        Each small component's label and bounding box, as ``scipy.ndimage.find_objects``
        gives it.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0]], bool)
    >>> lab, n, boxes = small_components(m, max_area=2)
    >>> n, lab.tolist(), boxes
    (3, [[1, 0, 0, 0], [0, 0, 0, 0], [2, 2, 0, 0]], [(1, (slice(0, 1, None), slice(0, 1, None))), (2, (slice(2, 3, None), slice(0, 2, None)))])
    """
    labels = np.zeros(mask.shape, np.intp)
    n, boxes, (st, ln, lab) = small_component_runs(
        mask, max_area=max_area, pixel_area=pixel_area, diagonal=diagonal
    )
    if st.size:
        _paint(labels, st, ln, lab)
    return labels, n, boxes


def small_component_runs(
    mask: NDArray[np.bool_], *, max_area: float, pixel_area: int = 1, diagonal: bool = False
) -> tuple[
    int,
    list[tuple[int, tuple[slice, slice]]],
    tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]],
]:
    """:func:`small_components` without the (H, W) label image (whose zeroing costs a
    pass over 8 bytes a pixel when only a few small components are read): the number of
    components, the small ones' boxes, and their row runs (flat index of the first
    pixel, length, label), in raster order."""
    h, w = mask.shape
    empty = np.zeros(0, np.intp)
    start, end = runs(mask)
    if start.size == 0:
        return 0, [], (empty, empty, empty)
    # components numbered in raster order of their first pixel (as pixel labelling does)
    comp, n = _raster_components(start, end, w, diagonal)
    length = end - start + 1
    area = np.bincount(comp, weights=length, minlength=n) * pixel_area
    small = np.flatnonzero(area <= max_area)
    if small.size == 0:
        return n, [], (empty, empty, empty)
    new = np.zeros(n, np.intp)
    new[small] = np.arange(1, small.size + 1)
    keep = np.flatnonzero(new[comp] > 0)
    st, ln, lab = start[keep], length[keep], new[comp[keep]]
    row, col0 = np.divmod(st, w)
    col1 = col0 + ln
    m = small.size + 1
    r_lo, r_hi = np.full(m, h), np.zeros(m, np.intp)
    c_lo, c_hi = np.full(m, w), np.zeros(m, np.intp)
    np.minimum.at(r_lo, lab, row)
    np.maximum.at(r_hi, lab, row + 1)
    np.minimum.at(c_lo, lab, col0)
    np.maximum.at(c_hi, lab, col1)
    boxes = [
        (i, (slice(int(r_lo[i]), int(r_hi[i])), slice(int(c_lo[i]), int(c_hi[i]))))
        for i in range(1, m)
    ]
    return n, boxes, (st, ln, lab)
