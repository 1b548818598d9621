"""Centreline graph, lumen radius and stump detection from a vessel mask (vectorised)."""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from . import _filters as flt
from ._runs import label_pixels as run_label_pixels

__all__ = [
    "radius_and_graph",
    "radius_and_skeleton",
    "centreline_graph",
    "component_stats",
    "find_stumps",
    "stumps_of_pixels",
]

_EIGHT = np.ones((3, 3), dtype=bool)


def _distance_px(mask: NDArray[np.bool_], at: NDArray[np.intp]) -> NDArray[np.float32]:
    """Distance (px) from the mask pixels of flat indices ``at`` to the nearest background
    pixel centre.

    The geometric mean of the chessboard and city-block chamfer distances: exact along
    the axes and the diagonals, within 9% in between, and ~15x cheaper than the exact EDT.
    """
    from ._raster import chamfer_distance_at  # numba: compiled on first use

    # the distances at those pixels only, searched around each (the two passes' values)
    d8, d4 = chamfer_distance_at(mask, at)
    return np.sqrt(d8.astype(np.float32) * d4.astype(np.float32))


def _pool(mask: NDArray[np.bool_], f: int) -> NDArray[np.bool_]:
    """Logical OR over f x f blocks (f a power of two), padded: ceil(H / f) x ceil(W / f)."""
    while f > 1:
        if mask.shape[0] % 2 or mask.shape[1] % 2:
            mask = np.pad(mask, ((0, mask.shape[0] % 2), (0, mask.shape[1] % 2)))
        mask = mask[0::2, 0::2] | mask[1::2, 0::2] | mask[0::2, 1::2] | mask[1::2, 1::2]
        f //= 2
    return mask


def radius_and_skeleton(
    mask: NDArray[np.bool_], *, pixel_size_um: float, factor: int = 2
) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None, NDArray[np.float32]]:
    """The lumen radius of :func:`radius_and_graph` (um, (H, W) float32, 0 off vessels),
    the centreline (skeleton of the mask max-pooled over ``factor`` blocks; None for an
    empty mask) and its radius (um) on that level, for :func:`centreline_graph`.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((64, 64), bool); m[:, 20:30] = True     # 10 px wide
    >>> r, skel, skel_r = radius_and_skeleton(m, pixel_size_um=1.0)
    >>> skel.shape, 4.0 <= float(r[32, 25]) <= 6.0, float(r[32, 5])
    ((32, 32), True, 0.0)
    """
    h, w = mask.shape
    if not mask.any():
        return np.zeros((h, w), np.float32), None, np.zeros((0, 0), np.float32)
    from ._thin import skeletonize  # numba: compiled on first use

    small = _pool(mask, factor)
    skeleton = skeletonize(small)  # skimage's Zhang-Suen skeleton, on the border only
    on = np.flatnonzero(skeleton)  # the radius is read at the centreline only
    dist = _distance_px(small, on)
    f = float(factor)
    skel_r = np.zeros(small.shape, np.float32)
    skel_r.ravel()[on] = np.maximum(f * dist - (f + 1) / 2, 0.5) * np.float32(pixel_size_um)
    from ._raster import nearest_value  # numba: compiled on first use

    # every level pixel takes the radius of its nearest centreline pixel (chessboard
    # chamfer, as ``ndimage.distance_transform_cdt`` picks it); the vessel pixels of its
    # block take that
    near = nearest_value(skeleton, skel_r)
    return flt.repeat_times(near, factor, mask), skeleton, skel_r


def radius_and_graph(
    mask: NDArray[np.bool_], *, pixel_size_um: float, factor: int = 2, step_px: int = 8
) -> tuple[NDArray[np.float32], nx.Graph]:
    """Lumen radius (um) on vessel pixels and the centreline graph of ``mask``.

    The centreline is the skeleton of the mask max-pooled over ``factor`` x ``factor``
    blocks (a vessel of width w px is about (w + 1) / factor blocks wide there); the
    radius at a centreline block is ``factor * d - (factor + 1) / 2`` px, with ``d`` the
    chamfer distance (blocks) to the background, at least half a pixel; every vessel
    pixel takes the radius of the nearest centreline block.

    Returns
    -------
    radius_um : (H, W) float32, 0 off vessels
    graph : networkx.Graph, see :func:`centreline_graph` (positions in full-resolution px)

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((64, 64), bool); m[:, 20:30] = True     # 10 px wide
    >>> r, g = radius_and_graph(m, pixel_size_um=1.0)
    >>> 4.0 <= float(r[32, 25]) <= 6.0, g.number_of_nodes() > 4
    (True, True)
    """
    radius, skeleton, skel_r = radius_and_skeleton(mask, pixel_size_um=pixel_size_um, factor=factor)
    if skeleton is None:
        return radius, nx.Graph()
    graph = centreline_graph(
        skeleton,
        skel_r,
        pixel_size_um=pixel_size_um,
        factor=factor,
        step_px=max(1, step_px // factor),
        mask=mask,
    )
    return radius, graph


def centreline_graph(
    skeleton: NDArray[np.bool_],
    skeleton_radius_um: NDArray[np.float32],
    *,
    pixel_size_um: float,
    factor: int = 1,
    step_px: int = 8,
    mask: NDArray[np.bool_] | None = None,
) -> nx.Graph:
    """A networkx graph of the centreline: one node per piece of skeleton in each
    ``step_px`` x ``step_px`` block, edges between pieces whose pixels touch.

    ``skeleton`` may be on a level reduced ``factor`` times; positions are returned in
    full-resolution pixels, at a pixel of ``mask`` (when given) inside the level pixel.
    Node attributes: ``rc`` (row, col) of the piece's pixel nearest its mean, ``xyz_um``
    (x = col * pixel size, y = row * pixel size, z = 0), ``radius_um`` (mean over the
    piece), ``n_pixels`` (full-resolution length); edge attribute ``length_um``.
    """
    graph = nx.Graph()
    rows, cols = flt.nonzero2d(skeleton)
    if rows.size == 0:
        return graph
    h, w = skeleton.shape
    # the skeleton's 8-connected labels at its pixels, in the order of ``rows, cols``
    # (raster order), without the label image
    _, comp_at, _ = run_label_pixels(skeleton, diagonal=True)
    nbx = (w + step_px - 1) // step_px
    block = (rows // step_px) * nbx + cols // step_px
    key = comp_at.astype(np.int64) * ((h // step_px + 1) * nbx) + block
    uniq, node_of = np.unique(key, return_inverse=True)
    n = uniq.size
    counts = np.bincount(node_of, minlength=n).astype(np.float64)
    mean_r = np.bincount(node_of, weights=rows, minlength=n) / counts
    mean_c = np.bincount(node_of, weights=cols, minlength=n) / counts
    rad = np.bincount(node_of, weights=skeleton_radius_um[rows, cols], minlength=n) / counts
    # representative pixel: the piece's pixel nearest its mean
    d2 = (rows - mean_r[node_of]) ** 2 + (cols - mean_c[node_of]) ** 2
    order = np.lexsort((d2, node_of))
    first = order[np.r_[0, np.nonzero(np.diff(node_of[order]))[0] + 1]]
    rep_r, rep_c = rows[first] * factor, cols[first] * factor
    if mask is not None and factor > 1:
        # move to the first vessel pixel of the level pixel's block
        done = mask[np.minimum(rep_r, mask.shape[0] - 1), np.minimum(rep_c, mask.shape[1] - 1)]
        for dr in range(factor):
            for dc in range(factor):
                r2 = np.minimum(rows[first] * factor + dr, mask.shape[0] - 1)
                c2 = np.minimum(cols[first] * factor + dc, mask.shape[1] - 1)
                hit = ~done & mask[r2, c2]
                rep_r, rep_c = np.where(hit, r2, rep_r), np.where(hit, c2, rep_c)
                done |= hit
    # edges: 8-neighbour skeleton pixel pairs in different pieces, looked up from the
    # skeleton pixels (flat indices, sorted) rather than compared over the whole image
    flat = rows * w + cols
    pairs = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        inside = (rows + dr < h) & (cols + dc >= 0) & (cols + dc < w)
        src = np.flatnonzero(inside)
        at = np.searchsorted(flat, flat[src] + (dr * w + dc))
        at = np.minimum(at, flat.size - 1)
        hit = flat[at] == flat[src] + (dr * w + dc)
        a, b = node_of[src[hit]], node_of[at[hit]]
        sel = a != b
        if sel.any():
            pairs.append(np.stack([a[sel], b[sel]], axis=1))
    px = float(pixel_size_um)
    rl, cl = rep_r.astype(float).tolist(), rep_c.astype(float).tolist()
    radl, nl = rad.tolist(), (counts.astype(np.int64) * factor).tolist()
    graph.add_nodes_from(
        (i, {"rc": (r, c), "xyz_um": (c * px, r * px, 0.0), "radius_um": ra, "n_pixels": k})
        for i, (r, c, ra, k) in enumerate(zip(rl, cl, radl, nl, strict=True))
    )
    if pairs:
        e = np.concatenate(pairs)
        e = np.sort(e, axis=1)
        e = np.unique(e[:, 0] * n + e[:, 1])
        u, v = e // n, e % n
        length = (np.hypot(rep_r[u] - rep_r[v], rep_c[u] - rep_c[v]) * px).tolist()
        graph.add_edges_from(
            (a, b, {"length_um": d}) for a, b, d in zip(u.tolist(), v.tolist(), length, strict=True)
        )
    return graph


def component_stats(
    labels: NDArray[np.integer] | None,
    n: int,
    *,
    max_area: float = np.inf,
    pixels: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Per-label area, centroid, and principal axis lengths (sqrt of the inertia
    eigenvalues, px) of labels 1..n (index 0 is the background). Centroid and axes are
    computed for labels of at most ``max_area`` pixels only (0 for larger ones).
    ``pixels``: (rows, cols, labels) of the labelled pixels in raster order, when the
    caller has them (``labels`` is then not read)."""
    if pixels is None:
        assert labels is not None
        rr, cc = flt.nonzero2d(labels != 0)
        lab = labels[rr, cc]
    else:
        rr, cc, lab = pixels
    area = np.bincount(lab, minlength=n + 1).astype(np.float64)
    if np.isfinite(max_area):
        keep = (area <= max_area)[lab]
        rr, cc, lab = rr[keep], cc[keep], lab[keep]
    safe = np.maximum(np.bincount(lab, minlength=n + 1), 1)
    mr = np.bincount(lab, weights=rr, minlength=n + 1) / safe
    mc = np.bincount(lab, weights=cc, minlength=n + 1) / safe
    srr = np.bincount(lab, weights=(rr - mr[lab]) ** 2, minlength=n + 1) / safe
    scc = np.bincount(lab, weights=(cc - mc[lab]) ** 2, minlength=n + 1) / safe
    src = np.bincount(lab, weights=(rr - mr[lab]) * (cc - mc[lab]), minlength=n + 1) / safe
    half_tr = (srr + scc) / 2
    disc = np.sqrt(((srr - scc) / 2) ** 2 + src**2)
    return {
        "area": area,
        "row": mr,
        "col": mc,
        "major": np.sqrt(half_tr + disc),
        "minor": np.sqrt(np.maximum(half_tr - disc, 0)),
    }


def find_stumps(
    mask: NDArray[np.bool_],
    *,
    pixel_size_um: float,
    max_radius_um: float = 80.0,
    discs: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp], dict[str, NDArray[np.float64]]]:
    """Isolated small components of ``mask`` that are compact or hold a ``discs`` pixel
    (a dark-disc detection): penetrating vessel stumps.

    Returns
    -------
    stumps : (n, 3) float: row, col, radius_um
    labels : the 8-connected labelling of ``mask`` (intp)
    stump_labels : (n,) the labels of the stumps
    stats : per-label statistics (:func:`component_stats`)
    """
    stumps, (flat, lab), stump_labels, stats = stumps_of_pixels(
        mask, pixel_size_um=pixel_size_um, max_radius_um=max_radius_um, discs=discs
    )
    labels = np.zeros(mask.shape, np.intp)
    labels.ravel()[flat] = lab
    return stumps, labels, stump_labels, stats


def stumps_of_pixels(
    mask: NDArray[np.bool_],
    *,
    pixel_size_um: float,
    max_radius_um: float = 80.0,
    discs: NDArray[np.bool_] | None = None,
) -> tuple[
    NDArray[np.float64],
    tuple[NDArray[np.intp], NDArray[np.intp]],
    NDArray[np.intp],
    dict[str, NDArray[np.float64]],
]:
    """:func:`find_stumps` with the labelling given at the mask's pixels only, (flat
    indices in raster order, their labels), instead of as an (H, W) label image: the
    image is never built, and its whole-image passes are saved."""
    flat, lab, n = run_label_pixels(mask, diagonal=True)
    rr, cc = np.divmod(flat, mask.shape[1])
    stats = component_stats(
        None, n, max_area=np.pi * (max_radius_um / pixel_size_um) ** 2, pixels=(rr, cc, lab)
    )
    area = stats["area"]
    radius_px = np.sqrt(area / np.pi)
    compact = (stats["minor"] > 0) & (stats["major"] <= 1.6 * np.maximum(stats["minor"], 0.5))
    compact &= area >= 2
    if discs is not None and discs.any():
        # the label of each disc pixel, 0 off the mask (``labels[discs]``)
        at = np.flatnonzero(discs)
        disc_lab = np.zeros(at.size, np.intp)
        if flat.size:
            pos = np.minimum(np.searchsorted(flat, at), flat.size - 1)
            on = flat[pos] == at
            disc_lab[on] = lab[pos[on]]
        compact[np.unique(disc_lab)] = True
    small = radius_px * pixel_size_um <= max_radius_um
    sel = np.nonzero(compact & small)[0]
    sel = sel[sel > 0]
    stumps = (
        np.stack([stats["row"][sel], stats["col"][sel], radius_px[sel] * pixel_size_um], axis=1)
        if sel.size
        else np.zeros((0, 3))
    )
    return stumps, (flat, lab), sel, stats
