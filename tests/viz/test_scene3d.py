"""The 3-D scene: tube geometry, mesh conversion, traces, standalone HTML."""

from __future__ import annotations

import numpy as np
import pytest

from insertion_planner import viz


def test_tube_vertices_lie_on_the_cylinder():
    p0 = np.array([[0.0, 0.0, 0.0], [10.0, 5.0, -3.0]])
    p1 = np.array([[100.0, 0.0, 0.0], [10.0, 5.0, -60.0]])
    v, f = viz.tube_mesh(p0, p1, [4.0, 9.0], sides=6)
    assert v.shape == (2 * 2 * 6, 3) and f.shape == (2 * 2 * 6, 3)
    assert f.min() == 0 and f.max() == len(v) - 1
    first, second = v[:12], v[12:]
    np.testing.assert_allclose(np.hypot(first[:, 1], first[:, 2]), 4.0)  # around the x axis
    np.testing.assert_allclose(np.hypot(second[:, 0] - 10, second[:, 1] - 5), 9.0)  # around z
    np.testing.assert_allclose(sorted(set(np.round(second[:, 2], 6))), [-60.0, -3.0])


def test_tube_mesh_is_watertight_sideways():
    import trimesh

    v, f = viz.tube_mesh([[0, 0, 0]], [[0, 0, 50]], 5.0, sides=12)
    mesh = trimesh.Trimesh(v, f, process=True)
    # open cylinder: area of the side 2 pi r h (polygon slightly below)
    assert mesh.area == pytest.approx(2 * np.pi * 5 * 50, rel=0.02)


def test_tube_mesh_rejects_bad_shapes():
    with pytest.raises(ValueError, match="p0 and p1"):
        viz.tube_mesh(np.zeros((2, 3)), np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="sides"):
        viz.tube_mesh(np.zeros((1, 3)), np.ones((1, 3)), 1.0, sides=2)


def test_mesh_arrays_trimesh_open3d_and_pairs():
    import trimesh

    box = trimesh.creation.box()
    v, f = viz.mesh_arrays(box)
    assert v.shape == (8, 3) and f.shape == (12, 3)
    o3d = pytest.importorskip("open3d")
    sphere = o3d.geometry.TriangleMesh.create_sphere(radius=2.0, resolution=5)
    v, f = viz.mesh_arrays(sphere)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 2.0)
    assert f.shape[1] == 3 and f.max() == len(v) - 1
    v2, f2 = viz.mesh_arrays((v, f))
    np.testing.assert_array_equal(v2, v)
    with pytest.raises(TypeError, match="mesh must be"):
        viz.mesh_arrays(42)


def test_scene_traces_and_needle_depth(simulated_plan):
    fig = viz.plot_scene(simulated_plan)
    names = [t.name for t in fig.data]
    assert names[:3] == ["cortical surface (pia)", "surface vessels", "penetrating vessels"]
    assert "needle paths" in names and "needle paths (failed)" in names
    assert "robot head path" in names and "implant thread exit" in names
    ok = fig.data[names.index("needle paths")]
    z = [v for v in ok.z if v is not None]
    assert z == [0.0, -3500.0]  # entry on the pia to 3.5 mm along (0, 0, -1)
    failed = fig.data[names.index("needle paths (failed)")]
    assert [v for v in failed.y if v is not None] == [1560.0, 1560.0]
    assert fig.layout.scene.yaxis.autorange == "reversed"


def test_scene_takes_an_extra_mesh(example_plan):
    import trimesh

    fig = viz.plot_scene(
        example_plan, mesh=trimesh.creation.box(extents=(100, 100, 100)), show_head_path=False
    )
    names = [t.name for t in fig.data]
    assert "mesh" in names and "robot head path" not in names


def test_head_path_visits_entries_in_order(example_plan):
    hp = viz.head_path_um(example_plan, safe_height_um=1000.0)
    # exit above, then for each thread: above, on the entry, above
    assert hp.shape == (1 + 3 * 2, 3)
    np.testing.assert_allclose(hp[2], example_plan.threads[0].entry_um)
    np.testing.assert_allclose(hp[5], example_plan.threads[1].entry_um)
    assert hp[0, 2] == pytest.approx(1000.0 + 1000.0)  # above the thread exit
    recorded = {"insertions": [], "head_path_um": [[0, 0, 1], [1, 2, 3]]}
    import dataclasses

    p = dataclasses.replace(example_plan, simulation=recorded)
    np.testing.assert_allclose(viz.head_path_um(p), [[0, 0, 1], [1, 2, 3]])


def test_scene_html_is_standalone(tmp_path, example_plan):
    path = tmp_path / "scene.html"
    viz.save_scene_html(viz.plot_scene(example_plan), path)
    text = path.read_text()
    assert text.lstrip().lower().startswith("<html") or text.lstrip().lower().startswith(
        "<!doctype"
    )
    assert '<script src="http' not in text and "Plotly.newPlot" in text
    assert len(text) > 1_000_000  # plotly.js embedded
    assert not list(tmp_path.glob(".*tmp"))
