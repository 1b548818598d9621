"""Figures, 3-D scene, interactive explorer and HTML report (optional extra ``[viz]``).

Nothing here is imported by the core: ``from insertion_planner import viz``. Importing it
in Jupyter (IPython) registers the rich display of plans and simulation reports
(``plan_html``, ``report_html``); the core never imports this package. The plotting
packages (matplotlib, plotly, ipywidgets) are imported inside the functions that need them;
a missing one raises an ImportError naming ``pip install 'insertion_planner[viz]'``.

=====================  ===================================================================
``plot_plan``          2-D plan figure (matplotlib)
``plot_timeline``      timeline of the simulated surgery (matplotlib)
``plot_retraction``    depth, electrodes kept and pull-out of each thread (matplotlib)
``plot_scene``         3-D scene (plotly); ``save_scene_html`` writes a standalone page
``explorer``           ipywidgets controls that replan live (``Explorer`` without a frontend)
``plan_html``          rich HTML of a plan (what Jupyter shows)
``report_html``        rich HTML of a simulation report
``build_report``       the self-contained report page of the ``demo`` command
=====================  ===================================================================
"""

from __future__ import annotations

from ._layers import PlanLayers, final_outcomes, plan_layers, simulation_dict
from .explorer import Explorer, explorer
from .plan2d import draw_layers, figure_png, nice_scale_um, plot_plan
from .report import (
    ReportRun,
    build_report,
    plan_html,
    plan_summary,
    png_img_tag,
    report_html,
    simulation_counts,
)
from .retraction import plot_retraction
from .scene3d import head_path_um, mesh_arrays, plot_scene, save_scene_html, tube_mesh
from .timeline import TimelineBar, plot_timeline, timeline_bars

__all__ = [
    "PlanLayers",
    "plan_layers",
    "simulation_dict",
    "final_outcomes",
    "simulation_counts",
    "plot_plan",
    "draw_layers",
    "figure_png",
    "nice_scale_um",
    "plot_timeline",
    "timeline_bars",
    "TimelineBar",
    "plot_retraction",
    "plot_scene",
    "save_scene_html",
    "tube_mesh",
    "mesh_arrays",
    "head_path_um",
    "Explorer",
    "explorer",
    "plan_html",
    "report_html",
    "plan_summary",
    "build_report",
    "ReportRun",
    "png_img_tag",
    "register_jupyter_display",
]


def register_jupyter_display(shell: object | None = None) -> bool:
    """Show plans and simulation reports as rich HTML in Jupyter (IPython's HTML formatter).

    Called when this package is imported; returns whether a shell was found.

    Examples
    --------
    >>> from IPython.core.interactiveshell import InteractiveShell
    >>> register_jupyter_display(InteractiveShell.instance())
    True
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    from ..plan import InsertionPlan
    from ..robot.report import SimulationReport

    html = shell.display_formatter.formatters["text/html"]  # type: ignore[attr-defined,union-attr]
    html.for_type(InsertionPlan, plan_html)
    html.for_type(SimulationReport, report_html)
    return True


register_jupyter_display()
