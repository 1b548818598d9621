"""``synthetic_cortex``: a camera-like image of exposed cortex with its exact ground truth."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from .._validation import check_positive
from ..config import DuraMode
from ..frames import Grid
from .case import GroundTruth, SyntheticCase
from .imaging import Imaging
from .raster import rasterize_capsules
from .region import target_region
from .render import render_image
from .surface import craniectomy_disk, surface_height
from .thin import add_thin_vessels
from .trees import (
    ARTERY,
    KIND_NAMES,
    LAYER_DURA,
    LAYER_PIA,
    LAYER_STUMP_BOTTOM,
    LAYER_STUMP_TOP,
    VEIN,
    grow_network,
)

__all__ = ["synthetic_cortex", "DURA_THICKNESS_UM"]

DURA_THICKNESS_UM = 320.0
"""Dura thickness over the pia (human dura: 0.25-0.40 mm)."""

_MIN_SIDE, _MAX_SIDE = 64, 8192
_MAX_FIELD_UM = 200_000.0
"""Largest field of view side, um (a human head is about 200 mm across)."""


def _check_shape(shape: Any) -> tuple[int, int]:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 2:
        raise ValueError(f"shape must be two integers (H, W), got {shape!r}")
    out = []
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"shape must be two integers (H, W), got {shape!r}")
        if not _MIN_SIDE <= int(s) <= _MAX_SIDE:
            raise ValueError(
                f"shape sides must be between {_MIN_SIDE} and {_MAX_SIDE} pixels, "
                f"got {tuple(shape)!r}"
            )
        out.append(int(s))
    return out[0], out[1]


def synthetic_cortex(
    seed: int,
    *,
    shape: tuple[int, int] = (2048, 2048),
    pixel_size_um: float = 12.0,
    dura_mode: DuraMode | str = "durectomy",
    imaging: Imaging | str | None = None,
    thin_vessels: bool | None = None,
) -> SyntheticCase:
    """Generate a synthetic image of cortex exposed by a round craniectomy, with ground truth.

    Pial arteries and veins enter from the rim of the opening and branch by Murray's law
    (diameters from about 700 um down to 30 um), ending in penetrating vessels that dive
    into the cortex; more penetrating stumps (20-60 um) leave the side of small pial
    vessels along their course. The
    surface has gentle gyri and sulci (about a millimetre of relief). In ``transdural``
    mode the cortex is seen through a scattering dura veil and dural vessels lie on top.
    The opening is ``min(25 mm, 0.95 * shorter field side)`` across, centred.

    Parameters
    ----------
    seed : int
        Non-negative seed; the same seed and arguments give the same case. The pial
        vessels and the surface do not depend on ``dura_mode``.
    shape : (int, int)
        Image shape (H, W), each side 64 to 8192 pixels.
    pixel_size_um : float
        Pixel side, micrometres (positive, finite).
    dura_mode : {'durectomy', 'transdural'} or DuraMode
    imaging : None, 'random' or Imaging
        How the cortex is photographed (:class:`Imaging`). None: ``Imaging()``, the
        original appearance (images identical to earlier versions); ``'random'``:
        ``Imaging.random(seed, dura_mode)``, drawn from the case's seed; or an
        :class:`Imaging`. Recorded as ``case.imaging``. The ground truth never depends
        on it.
    thin_vessels : bool or None
        Add abundant thin pial vessels of 20-40 um diameter branching off the trees
        (:mod:`insertion_planner.synthetic.thin`). None (default): added whenever
        ``imaging`` is given (not None), so ``imaging=None`` keeps the original cases
        exactly. They are part of the ground truth; the rest of the geometry is the same
        with or without them.

    Returns
    -------
    SyntheticCase
        ``image`` ((H, W, 3), or (H, W) for a grey camera; uint8, or uint16 above 8 bits)
        plus region, functional weight, grid with surface height, ``truth``
        (:class:`GroundTruth`) and the ``imaging`` used.

    Raises
    ------
    TypeError
        When ``seed`` or a side of ``shape`` is not an integer, or ``pixel_size_um`` is
        not a number.
    ValueError
        When ``seed`` is negative, a side is out of range, ``pixel_size_um`` is not
        positive and finite or makes the field of view wider than 200 mm,
        ``dura_mode`` is unknown, or ``imaging`` is a string other than ``'random'``.

    Examples
    --------
    >>> import insertion_planner as ip
    >>> case = ip.synthetic_cortex(0, shape=(256, 256))
    >>> case.image.shape, case.image.dtype, case.truth.mask.shape
    ((256, 256, 3), dtype('uint8'), (256, 256))
    >>> bool((case.truth.mask <= case.craniectomy).all())
    True
    >>> other = ip.synthetic_cortex(0, shape=(256, 256), imaging="random")
    >>> other.imaging == ip.Imaging.random(0, "durectomy"), other.thin_vessels
    (True, True)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be a non-negative integer below 2**63, got {int(seed)}")
    seed = int(seed)
    hw = _check_shape(shape)
    ps = check_positive(pixel_size_um, name="pixel_size_um")
    if max(hw) * ps > _MAX_FIELD_UM:
        raise ValueError(
            f"pixel_size_um makes the field of view {max(hw) * ps / 1000:.6g} mm across (shape {hw}), "
            f"more than {_MAX_FIELD_UM / 1000:.0f} mm; got pixel_size_um={ps}"
        )
    mode = DuraMode.parse(dura_mode)
    transdural = mode is DuraMode.TRANSDURAL
    if thin_vessels is not None and not isinstance(thin_vessels, (bool, np.bool_)):
        raise TypeError(f"thin_vessels must be a bool or None, got {thin_vessels!r}")
    thin = imaging is not None if thin_vessels is None else bool(thin_vessels)
    # The first four streams are those of the original generator (same cases); the thin
    # vessels get a stream of their own, and a random camera is Imaging.random(seed).
    s_surface, s_trees, s_region, s_render, s_thin = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    im = _resolve_imaging(imaging, seed, mode)

    craniectomy, center_rc, radius_um = craniectomy_disk(hw, ps)
    z = surface_height(hw, ps, s_surface)
    grid = Grid(hw, ps, surface_z_um=z)
    extent = grid.extent_um
    net = grow_network(
        s_trees,
        extent_um=extent,
        center_um=(center_rc[1] * ps, center_rc[0] * ps),
        disk_r_um=radius_um,
        dural=transdural,
    )
    if thin:
        add_thin_vessels(
            net,
            s_thin,
            extent_um=extent,
            center_um=(center_rc[1] * ps, center_rc[0] * ps),
            disk_r_um=radius_um,
        )

    xy = np.asarray(net.xy, dtype=np.float64).reshape(-1, 2)
    radius = np.asarray(net.radius, dtype=np.float64)
    layer = np.asarray(net.layer)
    depth = np.asarray(net.depth, dtype=np.float64)
    rc = xy[:, ::-1] / ps
    ras = rasterize_capsules(rc, radius / ps, net.edges, net.edge_kind, hw, pixel_size_um=ps)
    mask = ras.mask & craniectomy
    radius_map = np.where(mask, ras.radius_um, np.float32(0))
    kind_map = np.where(mask, ras.kind, np.uint8(0))

    # 3-D positions: pial vessels lie on the pia, dural ones on the dura, stumps dive.
    surf = grid.height_at(rc)
    zn = surf.copy()
    zn[layer == LAYER_PIA] += radius[layer == LAYER_PIA]
    zn[layer == LAYER_DURA] += DURA_THICKNESS_UM + radius[layer == LAYER_DURA]
    zn[layer == LAYER_STUMP_BOTTOM] -= depth[layer == LAYER_STUMP_BOTTOM]
    graph = _build_graph(xy, zn, rc, radius, net.kind, net.edges, net.edge_kind)
    top = np.flatnonzero(layer == LAYER_STUMP_TOP)
    penetrating = np.column_stack([xy[top], zn[top], radius[top], depth[top]]).reshape(-1, 5)

    truth = GroundTruth(
        mask=mask,
        radius_um=radius_map,
        kind=kind_map,
        graph=graph,
        penetrating=penetrating,
        surface_z_um=z,
        pixel_size_um=ps,
        dura_thickness_um=DURA_THICKNESS_UM,
    )
    polygon, region, weight = target_region(craniectomy, center_rc, radius_um, ps, s_region)

    glint = _glint_weight(ras.thickness_um, ras.radius_um, z, craniectomy)
    image = render_image(
        thickness_um=ras.thickness_um,
        surface_z_um=z,
        craniectomy=craniectomy,
        center_rc=center_rc,
        pixel_size_um=ps,
        transdural=transdural,
        glint_weight=glint,
        rng=s_render,
        imaging=im,
    )
    return SyntheticCase(
        image=image,
        pixel_size_um=ps,
        dura_mode=mode,
        seed=seed,
        grid=grid,
        region=region,
        region_polygon=polygon,
        functional_weight=weight,
        craniectomy=craniectomy,
        craniectomy_center_rc=center_rc,
        craniectomy_radius_um=radius_um,
        truth=truth,
        imaging=im,
        thin_vessels=thin,
    )


def _resolve_imaging(imaging: Imaging | str | None, seed: int, mode: DuraMode) -> Imaging:
    """The :class:`Imaging` a ``synthetic_cortex`` call asks for."""
    if imaging is None:
        return Imaging()
    if isinstance(imaging, Imaging):
        return imaging
    if isinstance(imaging, str):
        if imaging != "random":
            raise ValueError(f"imaging must be None, 'random' or an Imaging, got {imaging!r}")
        return Imaging.random(seed, mode)
    raise TypeError(f"imaging must be None, 'random' or an Imaging, got {type(imaging).__name__}")


def _build_graph(
    xy: NDArray[np.float64],
    z: NDArray[np.float64],
    rc: NDArray[np.float64],
    radius: NDArray[np.float64],
    kind: list[int],
    edges: list[tuple[int, int]],
    edge_kind: list[int],
) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(
        (
            i,
            {
                "xyz_um": (float(xy[i, 0]), float(xy[i, 1]), float(z[i])),
                "rc": (float(rc[i, 0]), float(rc[i, 1])),
                "radius_um": float(radius[i]),
                "kind": KIND_NAMES[k],
                "kind_code": int(k),
            },
        )
        for i, k in enumerate(kind)
    )
    g.add_edges_from(
        (a, b, {"kind": KIND_NAMES[k]}) for (a, b), k in zip(edges, edge_kind, strict=True)
    )
    return g


def _glint_weight(
    thickness: NDArray[np.float32],
    radius_um: NDArray[np.float32],
    z: NDArray[np.float32],
    craniectomy: NDArray[np.bool_],
) -> NDArray[np.float32]:
    """Where specular glints fall: on the axis of large vessels and on gyral crowns."""
    t = np.maximum(thickness[ARTERY], thickness[VEIN])
    on_axis = (radius_um >= 80.0) & (t >= 1.9 * radius_um)
    crown = z > np.float32(z.mean() + 0.85 * z.std())
    w = np.float32(0.2) + np.float32(1.0) * crown + np.float32(30.0) * on_axis
    return (w * craniectomy).astype(np.float32)
