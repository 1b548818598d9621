"""Result types of the synthetic generator: :class:`SyntheticCase` and :class:`GroundTruth`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly
from ..config import DuraMode
from ..frames import Grid
from .imaging import Imaging
from .surface import cortex_thickness

if TYPE_CHECKING:  # pragma: no cover
    import trimesh

__all__ = ["GroundTruth", "SyntheticCase", "KIND_CODES"]

KIND_CODES = {"artery": 1, "vein": 2, "dural": 3, "penetrating": 4}
"""Code of each vessel kind in :attr:`GroundTruth.kind` (0 is no vessel)."""


def _readonly(a: Any, dtype: Any) -> NDArray[Any]:
    return readonly(np.asarray(a, dtype=dtype).view())  # the source stays writable


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Exact vessels and surface behind a synthetic image.

    Attributes
    ----------
    mask : (H, W) bool
        Lumen of every hazard vessel (pial arteries and veins, dural vessels, penetrating
        stumps), restricted to the craniectomy: the union of the graph edges' tapered
        capsules (see :mod:`insertion_planner.synthetic.raster`) evaluated at pixel centres.
    radius_um : (H, W) float32
        Vessel radius at each lumen pixel, micrometres; 0 off vessels.
    kind : (H, W) uint8
        0 none, 1 artery, 2 vein, 3 dural, 4 penetrating (see ``KIND_CODES``).
    graph : networkx.Graph
        Centreline graph. Node attributes: ``xyz_um`` (x, y, z) tuple, ``rc`` (row, col)
        tuple, ``radius_um`` float, ``kind`` str ('artery', 'vein', 'dural',
        'penetrating'), ``kind_code`` int. Edge attribute ``kind`` (str). Pial vessels
        lie on the surface (centre one radius above it), dural vessels on the dura, and a
        penetrating vessel is an edge from a node on the surface straight down to a node
        at depth.
    penetrating : (n, 5) float64
        Penetrating vessels: x, y, z (at the surface), radius, depth, micrometres.
    surface_z_um : (H, W) float32
        Height of the pia, micrometres (z up).
    pixel_size_um : float
        Pixel side, micrometres.
    dura_thickness_um : float
        Thickness of the dura over the pia (dural vessels lie on it).
    """

    mask: NDArray[np.bool_]
    radius_um: NDArray[np.float32]
    kind: NDArray[np.uint8]
    graph: nx.Graph
    penetrating: NDArray[np.float64]
    surface_z_um: NDArray[np.float32]
    pixel_size_um: float
    dura_thickness_um: float = 320.0

    def __post_init__(self) -> None:
        for name, dtype in (
            ("mask", bool),
            ("radius_um", np.float32),
            ("kind", np.uint8),
            ("penetrating", np.float64),
            ("surface_z_um", np.float32),
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name), dtype))

    def surface_mesh(self, *, max_side: int = 256) -> trimesh.Trimesh:
        """Triangle mesh of the pial surface from a decimated height grid.

        Parameters
        ----------
        max_side : int
            At most this many vertices along each side of the grid.

        Returns
        -------
        trimesh.Trimesh
            Vertices (x, y, z) in micrometres.
        """
        import trimesh

        h, w = self.surface_z_um.shape
        step = max(1, int(np.ceil(max(h, w) / max(int(max_side), 2))))
        rows = np.unique(np.r_[np.arange(0, h, step), h - 1])
        cols = np.unique(np.r_[np.arange(0, w, step), w - 1])
        z = self.surface_z_um[np.ix_(rows, cols)].astype(np.float64)
        yy, xx = np.meshgrid(rows * self.pixel_size_um, cols * self.pixel_size_um, indexing="ij")
        verts = np.stack([xx.ravel(), yy.ravel(), z.ravel()], axis=1)
        nr, nc = len(rows), len(cols)
        idx = np.arange(nr * nc).reshape(nr, nc)
        a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
        c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
        # counter-clockwise seen from +z (normals point up, out of the brain)
        faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
        return trimesh.Trimesh(vertices=verts, faces=faces, process=False)

    def vessel_mesh(self, *, sections: int = 8) -> trimesh.Trimesh:
        """Tube mesh of every graph edge (an open frustum per edge), concatenated.

        Parameters
        ----------
        sections : int
            Vertices around each ring.

        Returns
        -------
        trimesh.Trimesh
            Vertices (x, y, z) in micrometres.
        """
        import trimesh

        g = self.graph
        nodes = list(g.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        xyz = np.array([g.nodes[n]["xyz_um"] for n in nodes], dtype=np.float64).reshape(-1, 3)
        rad = np.array([g.nodes[n]["radius_um"] for n in nodes], dtype=np.float64)
        e = np.array([(index[u], index[v]) for u, v in g.edges], dtype=np.int64).reshape(-1, 2)
        axis = xyz[e[:, 1]] - xyz[e[:, 0]]
        length = np.linalg.norm(axis, axis=1)
        e, axis, length = e[length > 0], axis[length > 0], length[length > 0]
        if len(e) == 0:
            return trimesh.Trimesh()
        axis /= length[:, None]
        helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        u = np.cross(axis, helper)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        v = np.cross(axis, u)
        k = max(int(sections), 3)
        ang = 2 * np.pi * np.arange(k) / k
        cos, sin = np.cos(ang)[None, :, None], np.sin(ang)[None, :, None]
        ring = cos * u[:, None, :] + sin * v[:, None, :]
        p0 = xyz[e[:, 0]][:, None, :] + rad[e[:, 0]][:, None, None] * ring
        p1 = xyz[e[:, 1]][:, None, :] + rad[e[:, 1]][:, None, None] * ring
        verts = np.concatenate([p0, p1], axis=1).reshape(-1, 3)
        base = (np.arange(len(e)) * 2 * k)[:, None]
        j = np.arange(k)
        j1 = (j + 1) % k
        tri_a = np.stack([j, j1, k + j1], axis=1)
        tri_b = np.stack([j, k + j1, k + j], axis=1)
        local = np.concatenate([tri_a, tri_b])
        faces = (base[:, None, :] + local[None, :, :]).reshape(-1, 3)
        return trimesh.Trimesh(vertices=verts, faces=faces, process=False)


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A synthetic camera image of exposed cortex with its exact ground truth.

    Attributes
    ----------
    image : (H, W, 3) or (H, W) uint8 or uint16
        Camera-like RGB image ((H, W) from a grey camera; uint16 holding
        ``imaging.bit_depth`` bits above 8).
    pixel_size_um : float
    dura_mode : DuraMode
    seed : int
    grid : Grid
        Pixel grid carrying the surface height.
    region : (H, W) bool
        Default target region (inside the craniectomy).
    region_polygon : (n, 2) float64
        Lasso vertices (row, col), pixels.
    functional_weight : (H, W) float32
        In [0, 1], peaking at the functional hot spot, 0 outside ``region``.
    craniectomy : (H, W) bool
        Pixels inside the round opening in the skull.
    craniectomy_center_rc : (float, float)
        Its centre (row, col), pixels.
    craniectomy_radius_um : float
        Its radius, micrometres.
    truth : GroundTruth
    imaging : Imaging
        How the image was photographed (``Imaging()``: the original appearance).
    thin_vessels : bool
        Whether the abundant 20-40 um vessels of :mod:`insertion_planner.synthetic.thin`
        were added to the trees.
    cortex_thickness_um : (H, W) float32
        Thickness of the grey matter under each pixel, micrometres: thicker on gyral
        crowns than in the sulcal grooves, 1.5-4.5 mm
        (:func:`~insertion_planner.synthetic.surface.cortex_thickness`, after Fischl &
        Dale 2000). Derived from ``truth.surface_z_um`` when not given; it draws no random
        numbers, so the image and every other field are the same as without it. Feed it
        to :func:`~insertion_planner.retraction_risk` as ``cortex_thickness_um``.
    """

    image: NDArray[np.uint8] | NDArray[np.uint16]
    pixel_size_um: float
    dura_mode: DuraMode
    seed: int
    grid: Grid
    region: NDArray[np.bool_]
    region_polygon: NDArray[np.float64]
    functional_weight: NDArray[np.float32]
    craniectomy: NDArray[np.bool_]
    craniectomy_center_rc: tuple[float, float]
    craniectomy_radius_um: float
    truth: GroundTruth = field(repr=False)
    imaging: Imaging = field(default_factory=Imaging)
    thin_vessels: bool = False
    cortex_thickness_um: NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), np.float32), repr=False
    )

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3):
            raise ValueError(
                f"image must be a (H, W) or (H, W, 3) uint8/uint16 array, "
                f"got {image.dtype} {image.shape}"
            )
        object.__setattr__(self, "image", _readonly(image, image.dtype))
        for name, dtype in (
            ("region", bool),
            ("region_polygon", np.float64),
            ("functional_weight", np.float32),
            ("craniectomy", bool),
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name), dtype))
        thickness = np.asarray(self.cortex_thickness_um)
        if thickness.size == 0:
            thickness = cortex_thickness(self.truth.surface_z_um)
        if thickness.shape != self.shape:
            raise ValueError(
                f"cortex_thickness_um must have the image shape {self.shape}, got {thickness.shape}"
            )
        object.__setattr__(self, "cortex_thickness_um", _readonly(thickness, np.float32))

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (H, W)."""
        return (int(self.image.shape[0]), int(self.image.shape[1]))
