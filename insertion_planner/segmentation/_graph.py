"""Centreline graph, lumen radius and stump detection from a vessel mask (vectorised)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

__all__ = ["radius_field", "centreline_graph", "component_stats", "find_stumps"]

_EIGHT = np.ones((3, 3), dtype=bool)


def _distance_px(mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Distance (px) from each mask pixel to the nearest background pixel centre.

    The geometric mean of the chessboard and city-block chamfer distances: exact along
    the axes and the diagonals, within 9% in between, and ~15x cheaper than the exact EDT.
    """
    d8 = ndi.distance_transform_cdt(mask, metric="chessboard").astype(np.float32)
    d4 = ndi.distance_transform_cdt(mask, metric="taxicab").astype(np.float32)
    return np.sqrt(d8 * d4)


def radius_field(
    mask: NDArray[np.bool_], *, pixel_size_um: float
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.float32]]:
    """Lumen radius (um) on vessel pixels, from the distance transform at the centreline.

    Returns
    -------
    radius_um : (H, W) float32, the radius of the nearest centreline point on vessel
        pixels, 0 elsewhere
    skeleton : (H, W) bool centreline pixels
    skeleton_radius_um : (H, W) float32, the radius on centreline pixels, 0 elsewhere
    """
    radius = np.zeros(mask.shape, np.float32)
    if not mask.any():
        return radius, np.zeros(mask.shape, bool), radius.copy()
    skeleton = skeletonize(mask)
    dist = _distance_px(mask)
    # the distance reaches the centre of the first background pixel: the edge lies half
    # a pixel before it; a one-pixel-wide vessel still has a radius of half a pixel
    skel_r = np.where(skeleton, np.maximum(dist - 0.5, 0.5), 0).astype(np.float32)
    skel_r *= np.float32(pixel_size_um)
    _, (ri, ci) = ndi.distance_transform_cdt(~skeleton, metric="chessboard", return_indices=True)
    radius = np.where(mask, skel_r[ri, ci], 0).astype(np.float32)
    return radius, skeleton, skel_r


def centreline_graph(
    skeleton: NDArray[np.bool_], skeleton_radius_um: NDArray[np.float32], *,
    pixel_size_um: float, step_px: int = 8
) -> nx.Graph:
    """A networkx graph of the centreline: one node per piece of skeleton in each
    ``step_px`` x ``step_px`` block, edges between pieces whose pixels touch.

    Node attributes: ``rc`` (row, col) of the piece's pixel nearest its mean, ``xyz_um``
    (x = col * pixel size, y = row * pixel size, z = 0), ``radius_um`` (mean over the
    piece), ``n_pixels``. Edge attribute ``length_um``.
    """
    graph = nx.Graph()
    rows, cols = np.nonzero(skeleton)
    if rows.size == 0:
        return graph
    h, w = skeleton.shape
    comp, _ = ndi.label(skeleton, structure=_EIGHT)
    nbx = (w + step_px - 1) // step_px
    block = (rows // step_px) * nbx + cols // step_px
    key = comp[rows, cols].astype(np.int64) * ((h // step_px + 1) * nbx) + block
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
    rep_r, rep_c = rows[first], cols[first]
    # edges: 8-neighbour skeleton pixel pairs in different pieces
    node_img = np.full(skeleton.shape, -1, np.int64)
    node_img[rows, cols] = node_of
    pairs = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = node_img[: h - dr, max(0, -dc) : w - max(0, dc)]
        b = node_img[dr:, max(0, dc) : w + min(0, dc)]
        sel = (a >= 0) & (b >= 0) & (a != b)
        if sel.any():
            pairs.append(np.stack([a[sel], b[sel]], axis=1))
    px = float(pixel_size_um)
    attrs: list[tuple[int, dict[str, Any]]] = [
        (
            i,
            {
                "rc": (float(rep_r[i]), float(rep_c[i])),
                "xyz_um": (float(rep_c[i]) * px, float(rep_r[i]) * px, 0.0),
                "radius_um": float(rad[i]),
                "n_pixels": int(counts[i]),
            },
        )
        for i in range(n)
    ]
    graph.add_nodes_from(attrs)
    if pairs:
        e = np.sort(np.concatenate(pairs), axis=1)
        e = np.unique(e, axis=0)
        length = np.hypot(rep_r[e[:, 0]] - rep_r[e[:, 1]], rep_c[e[:, 0]] - rep_c[e[:, 1]]) * px
        graph.add_edges_from(
            (int(u), int(v), {"length_um": float(d)}) for (u, v), d in zip(e, length, strict=True)
        )
    return graph


def component_stats(labels: NDArray[np.int32], n: int) -> dict[str, NDArray[np.float64]]:
    """Per-label area, centroid, and principal axis lengths (sqrt of the inertia
    eigenvalues, px) of labels 1..n (index 0 is the background)."""
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc]
    area = np.bincount(lab, minlength=n + 1).astype(np.float64)
    safe = np.maximum(area, 1)
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
    mask: NDArray[np.bool_], *, pixel_size_um: float, max_radius_um: float = 80.0
) -> tuple[NDArray[np.float64], NDArray[np.int32], int, dict[str, NDArray[np.float64]]]:
    """Isolated compact components of ``mask`` (dark discs): penetrating vessel stumps.

    Returns
    -------
    stumps : (n, 3) float: row, col, radius_um
    labels, n_labels, stats : the 8-connected labelling of ``mask`` and its statistics
    """
    labels, n = ndi.label(mask, structure=_EIGHT)
    stats = component_stats(labels, n)
    area = stats["area"]
    radius_px = np.sqrt(area / np.pi)
    compact = (stats["minor"] > 0) & (stats["major"] <= 1.6 * np.maximum(stats["minor"], 0.5))
    small = radius_px * pixel_size_um <= max_radius_um
    sel = np.nonzero(compact & small & (area >= 2))[0]
    sel = sel[sel > 0]
    stumps = np.stack(
        [stats["row"][sel], stats["col"][sel], radius_px[sel] * pixel_size_um], axis=1
    ) if sel.size else np.zeros((0, 3))
    return stumps, labels, n, stats
