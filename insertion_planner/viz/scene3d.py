"""The 3-D scene (plotly): cortical surface, vessel tubes, needle paths, the robot head's path."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._io import atomic_write_text
from ._deps import require
from ._layers import FAILED_STATUSES, simulation_dict

__all__ = ["plot_scene", "save_scene_html", "tube_mesh", "mesh_arrays", "head_path_um"]

_FEATURE = "the 3-D scene"
_STATUS_COLOURS = {"failed": "red", "rejected": "red", "removed": "orange"}


def tube_mesh(
    p0: ArrayLike, p1: ArrayLike, radius_um: ArrayLike, *, sides: int = 8
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Open cylinders around segments, as one triangle mesh.

    Parameters
    ----------
    p0, p1 : (n, 3) float
        Segment end points (um).
    radius_um : (n,) float or float
        Tube radius of each segment (um).
    sides : int
        Polygon sides of the cross-section (>= 3).

    Returns
    -------
    vertices : (2 * sides * n, 3) float
    faces : (2 * sides * n, 3) int
        Triangles indexing ``vertices``.

    Examples
    --------
    >>> v, f = tube_mesh([[0, 0, 0]], [[0, 0, 10]], 2.0, sides=4)
    >>> v.shape, f.shape
    ((8, 3), (8, 3))
    >>> float(np.hypot(v[:, 0], v[:, 1]).max())
    2.0
    """
    a = np.atleast_2d(np.asarray(p0, dtype=np.float64))
    b = np.atleast_2d(np.asarray(p1, dtype=np.float64))
    if a.shape != b.shape or a.shape[1] != 3:
        raise ValueError(f"p0 and p1 must both have shape (n, 3), got {a.shape} and {b.shape}")
    if int(sides) < 3:
        raise ValueError(f"sides must be at least 3, got {sides}")
    n, k = len(a), int(sides)
    r = np.broadcast_to(np.asarray(radius_um, dtype=np.float64), (n,))
    axis = b - a
    length = np.linalg.norm(axis, axis=1, keepdims=True)
    axis = np.divide(axis, length, out=np.tile([0.0, 0.0, 1.0], (n, 1)), where=length > 0)
    helper = np.where(np.abs(axis[:, [2]]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    ang = 2 * np.pi * np.arange(k) / k
    ring = np.cos(ang)[None, :, None] * u[:, None, :] + np.sin(ang)[None, :, None] * v[:, None, :]
    ring *= r[:, None, None]
    verts = np.concatenate([a[:, None, :] + ring, b[:, None, :] + ring], axis=1)  # (n, 2k, 3)
    j = np.arange(k)
    jn = (j + 1) % k
    tri = np.concatenate([np.stack([j, jn, j + k], 1), np.stack([jn, jn + k, j + k], 1)])
    faces = tri[None, :, :] + (2 * k * np.arange(n))[:, None, None]
    return verts.reshape(-1, 3), faces.reshape(-1, 3).astype(np.int64)


def mesh_arrays(mesh: Any) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """(vertices (n, 3), faces (m, 3)) of a trimesh, an open3d TriangleMesh or a pair.

    Examples
    --------
    >>> import trimesh
    >>> v, f = mesh_arrays(trimesh.creation.box())
    >>> v.shape, f.shape
    ((8, 3), (12, 3))
    """
    if isinstance(mesh, tuple) and len(mesh) == 2:
        verts, faces = mesh
    elif hasattr(mesh, "triangles") and hasattr(mesh, "vertices") and not hasattr(mesh, "faces"):
        verts, faces = mesh.vertices, mesh.triangles  # open3d.geometry.TriangleMesh
    elif hasattr(mesh, "faces") and hasattr(mesh, "vertices"):
        verts, faces = mesh.vertices, mesh.faces  # trimesh.Trimesh
    else:
        raise TypeError(
            f"mesh must be a trimesh.Trimesh, an open3d TriangleMesh or (vertices, faces), "
            f"got {type(mesh).__name__}"
        )
    v = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    return v, f


def head_path_um(plan: Any, *, safe_height_um: float = 2000.0) -> NDArray[np.float64]:
    """The needle head's path through the insertions, (n, 3) um.

    Uses the path the simulation recorded (``simulation["head_path_um"]``) when there is
    one; otherwise the path the insertion order implies: from above the thread exit to
    above each entry point in turn at ``safe_height_um`` above the highest entry, down to
    the surface and back up.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> head_path_um(_example_plan(), safe_height_um=1000.0)[:3]
    array([[14200.,  1200.,  2000.],
           [ 1200.,  1200.,  2000.],
           [ 1200.,  1200.,     0.]])
    """
    sim = simulation_dict(plan)
    if sim and sim.get("head_path_um"):
        return np.asarray(sim["head_path_um"], dtype=np.float64).reshape(-1, 3)
    threads = sorted(plan.threads, key=lambda t: t.order)
    entries = np.array([t.entry_um for t in threads], dtype=np.float64).reshape(-1, 3)
    exit_ = np.asarray(plan.geometry.thread_exit_um, dtype=np.float64)
    top = max(float(entries[:, 2].max()) if len(entries) else 0.0, float(exit_[2])) + safe_height_um
    pts = [[exit_[0], exit_[1], top]]
    for e in entries:
        pts += [[e[0], e[1], top], list(e), [e[0], e[1], top]]
    return np.asarray(pts, dtype=np.float64)


def _surface_trace(go: Any, plan: Any) -> Any:
    surf = getattr(plan.geometry, "surface", None)
    if surf:
        z = np.asarray(surf["z_um"], dtype=np.float64)
        ox, oy = surf["origin_um"][:2]
        step = float(surf["step_um"])
        x = ox + step * np.arange(z.shape[1])
        y = oy + step * np.arange(z.shape[0])
    else:
        h, w = plan.image_shape
        px = float(plan.pixel_size_um)
        x = np.array([0.0, (w - 1) * px])
        y = np.array([0.0, (h - 1) * px])
        z = np.zeros((2, 2))
    return go.Surface(
        x=x,
        y=y,
        z=z,
        colorscale=[[0, "#d7a9a0"], [1, "#f3d6cf"]],
        showscale=False,
        opacity=0.6,
        name="cortical surface (pia)",
        showlegend=True,
        hoverinfo="skip",
    )


def _mesh_trace(
    go: Any,
    verts: NDArray[Any],
    faces: NDArray[Any],
    *,
    name: str,
    color: str,
    opacity: float = 1.0,
) -> Any:
    return go.Mesh3d(
        x=verts[:, 0],
        y=verts[:, 1],
        z=verts[:, 2],
        i=faces[:, 0],
        j=faces[:, 1],
        k=faces[:, 2],
        color=color,
        opacity=opacity,
        name=name,
        showlegend=True,
        flatshading=True,
        hoverinfo="name",
    )


def _lines(points: list[NDArray[Any]]) -> tuple[list[Any], list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    zs: list[Any] = []
    for p in points:
        xs += [*p[:, 0], None]
        ys += [*p[:, 1], None]
        zs += [*p[:, 2], None]
    return xs, ys, zs


def plot_scene(
    plan: Any,
    *,
    mesh: Any = None,
    show_head_path: bool = True,
    tube_sides: int = 8,
    title: str | None = None,
) -> Any:
    """A plotly 3-D scene of a plan.

    Shows the cortical surface (the plan's coarse height grid), vessels as tubes (surface
    segments and penetrating vessels), each needle path from the entry point to depth
    (failed or rejected threads in red), entry points named by thread label (``T01`` is
    inserted first, as in every view), the implant's thread exit, and the robot head's
    path in insertion order. Axes are x, y, z in um with y reversed so the top view
    matches the image.

    Parameters
    ----------
    plan : InsertionPlan
    mesh : trimesh.Trimesh, open3d.geometry.TriangleMesh or (vertices, faces), optional
        An extra mesh to show (e.g. ``case.truth.surface_mesh()``), in um.
    show_head_path : bool
        Draw the robot head's path.
    tube_sides : int
        Cross-section sides of the vessel tubes.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Shows inline in Jupyter; :func:`save_scene_html` writes a standalone page.

    Raises
    ------
    ImportError
        When plotly is not installed.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> fig = plot_scene(_example_plan())
    >>> [t.name for t in fig.data][-3:]
    ['entry points (order)', 'implant thread exit', 'robot head path']
    """
    go = require("plotly.graph_objects", feature=_FEATURE)
    geom = plan.geometry
    traces = [_surface_trace(go, plan)]
    seg = np.asarray(geom.vessel_segments_um, dtype=np.float64).reshape(-1, 7)
    if len(seg):
        v, f = tube_mesh(seg[:, 0:3], seg[:, 3:6], np.maximum(seg[:, 6], 1.0), sides=tube_sides)
        traces.append(_mesh_trace(go, v, f, name="surface vessels", color="#b71c1c"))
    pen = np.asarray(geom.penetrating_um, dtype=np.float64).reshape(-1, 5)
    if len(pen):
        bottom = pen[:, 0:3] - np.stack([0 * pen[:, 4], 0 * pen[:, 4], pen[:, 4]], axis=1)
        v, f = tube_mesh(pen[:, 0:3], bottom, np.maximum(pen[:, 3], 1.0), sides=tube_sides)
        traces.append(_mesh_trace(go, v, f, name="penetrating vessels", color="#6a1b9a"))
    if mesh is not None:
        v, f = mesh_arrays(mesh)
        traces.append(_mesh_trace(go, v, f, name="mesh", color="#90a4ae", opacity=0.5))
    dura = float(getattr(geom, "dura_thickness_um", 0.0) or 0.0)
    groups: dict[str, list[NDArray[Any]]] = {}
    for t in plan.threads:
        entry = np.asarray(t.entry_um, dtype=np.float64)
        d = np.asarray(t.direction, dtype=np.float64)
        start = entry - d * dura
        path = np.stack([start, entry + d * float(t.depth_um)])
        key = t.status if t.status in FAILED_STATUSES else "ok"
        groups.setdefault(key, []).append(path)
    for key, paths in groups.items():
        xs, ys, zs = _lines(paths)
        traces.append(
            go.Scatter3d(
                x=xs,
                y=ys,
                z=zs,
                mode="lines",
                name=f"needle paths ({key})" if key != "ok" else "needle paths",
                line={"color": _STATUS_COLOURS.get(key, "#1565c0"), "width": 4},
            )
        )
    if plan.threads:
        entries = np.array([t.entry_um for t in plan.threads], dtype=np.float64)
        traces.append(
            go.Scatter3d(
                x=entries[:, 0],
                y=entries[:, 1],
                z=entries[:, 2],
                mode="markers+text",
                text=[t.label for t in plan.threads],  # T01 = inserted first, as everywhere
                textposition="top center",
                marker={"size": 3, "color": "#0d47a1"},
                name="entry points (order)",
            )
        )
    ex = np.asarray(geom.thread_exit_um, dtype=np.float64)
    traces.append(
        go.Scatter3d(
            x=[ex[0]],
            y=[ex[1]],
            z=[ex[2]],
            mode="markers",
            marker={"size": 6, "symbol": "square", "color": "#616161"},
            name="implant thread exit",
        )
    )
    if show_head_path and plan.threads:
        hp = head_path_um(plan)
        traces.append(
            go.Scatter3d(
                x=hp[:, 0],
                y=hp[:, 1],
                z=hp[:, 2],
                mode="lines",
                line={"color": "#2e7d32", "width": 2, "dash": "dash"},
                name="robot head path",
            )
        )
    fig = go.Figure(data=traces)
    mode = getattr(plan.dura_mode, "value", plan.dura_mode)
    fig.update_layout(
        title=title or f"{mode}: {len(plan.threads)} threads",
        scene={
            "xaxis_title": "x (\u00b5m)",
            "yaxis_title": "y (\u00b5m)",
            "zaxis_title": "z (\u00b5m)",
            "yaxis": {"autorange": "reversed"},
            "aspectmode": "data",
        },
        legend={"itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return fig


def save_scene_html(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write a plotly figure as one standalone HTML page (plotly.js embedded, works offline).

    The file is written atomically.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from insertion_planner.plan import _example_plan
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_scene_html(plot_scene(_example_plan()), pathlib.Path(d) / "scene.html")
    ...     (pathlib.Path(d) / "scene.html").stat().st_size > 1_000_000  # plotly.js inside
    True
    """
    atomic_write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))
