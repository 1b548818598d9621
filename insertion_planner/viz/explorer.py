"""Interactive explorer (ipywidgets): dura mode, margin, spacing and thread count replan live."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

from .._validation import check_int_range, check_positive
from ..config import MAX_THREADS, DuraMode
from ._deps import require

__all__ = ["Explorer", "explorer"]

_FEATURE = "the interactive explorer"

Planner = Callable[..., Any]


def _default_planner(image: Any, **kwargs: Any) -> Any:
    from ..pipeline import plan_insertions

    return plan_insertions(image, **kwargs)


class Explorer:
    """Replans an image whenever a control changes, and redraws the plan figure.

    The state and the replanning live here, apart from any frontend, so the same object
    drives the ipywidgets panel (:meth:`widget`) and can be called directly
    (:meth:`update`). Plans are cached per control setting, so moving a control back
    is instant.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
    pixel_size_um : float
    region : (H, W) bool array or (n, 2) polygon, optional
        Target region, passed to the planner.
    robot : str
        Robot preset.
    dura_mode : {"durectomy", "transdural"}
    n_threads : int
        Initial thread count, 1 to 64.
    margin_um : float
        Initial base margin from the vessel edge (``SafetyMargins.base_margin_um``).
    spacing_um : float
        Initial minimum spacing between sites (``min_spacing_um``).
    planner : callable, optional
        ``planner(image, *, pixel_size_um, dura_mode, n_threads, margin_um, min_spacing_um,
        region, robot, **plan_options) -> InsertionPlan``; defaults to
        :func:`insertion_planner.plan_insertions`.
    plan_options : dict, optional
        More keywords for the planner (e.g. ``weight``, ``surface_height_um``,
        ``craniectomy`` of a synthetic case).
    dpi : int
        Resolution of the redrawn figure.

    Examples
    --------
    >>> import insertion_planner as ip
    >>> case = ip.synthetic_cortex(0, shape=(128, 128))
    >>> ex = Explorer(case.image, pixel_size_um=case.pixel_size_um, n_threads=2)
    >>> ex.update(spacing_um=400.0).config.min_spacing_um
    400.0
    >>> ex.png[:4]
    b'\x89PNG'
    """

    def __init__(
        self,
        image: Any,
        *,
        pixel_size_um: float,
        region: Any = None,
        robot: str = "R1-2019",
        dura_mode: DuraMode | str = "durectomy",
        n_threads: int = 16,
        margin_um: float = 50.0,
        spacing_um: float = 250.0,
        planner: Planner | None = None,
        plan_options: dict[str, Any] | None = None,
        dpi: int = 80,
    ) -> None:
        self.image = image
        self.pixel_size_um = check_positive(pixel_size_um, name="pixel_size_um")
        self.region = region
        self.robot = robot
        self.planner: Planner = planner or _default_planner
        self.plan_options = dict(plan_options or {})
        self.dpi = int(dpi)
        self.controls: dict[str, Any] = self._checked(
            dura_mode=dura_mode, n_threads=n_threads, margin_um=margin_um, spacing_um=spacing_um
        )
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self.plan: Any = None
        self.figure: Any = None
        self.png: bytes = b""
        self.message: str = ""
        self.n_replans = 0

    @staticmethod
    def _checked(**c: Any) -> dict[str, Any]:
        return {
            "dura_mode": DuraMode.parse(c["dura_mode"]).value,
            "n_threads": check_int_range(c["n_threads"], name="n_threads", low=1, high=MAX_THREADS),
            "margin_um": check_positive(c["margin_um"], name="margin_um", allow_zero=True),
            "spacing_um": check_positive(c["spacing_um"], name="spacing_um"),
        }

    def update(self, **changes: Any) -> Any:
        """Apply control changes, replan (or reuse a cached plan) and redraw.

        Parameters
        ----------
        **changes
            Any of ``dura_mode``, ``n_threads``, ``margin_um``, ``spacing_um``.

        Returns
        -------
        InsertionPlan or None
            The plan for the new settings; None when the planner could not plan them
            (:attr:`message` says why, and the previous figure stays).
        """
        unknown = set(changes) - set(self.controls)
        if unknown:
            raise TypeError(f"unknown control(s): {', '.join(sorted(unknown))}")
        controls = self._checked(**{**self.controls, **changes})
        with self._lock:
            self.controls = controls
            key = tuple(sorted(controls.items()))
            if key not in self._cache:
                from ..errors import PlannerError

                try:
                    self._cache[key] = self.planner(
                        self.image,
                        pixel_size_um=self.pixel_size_um,
                        dura_mode=controls["dura_mode"],
                        n_threads=controls["n_threads"],
                        margin_um=controls["margin_um"],
                        min_spacing_um=controls["spacing_um"],
                        region=self.region,
                        robot=self.robot,
                        **self.plan_options,
                    )
                    self.n_replans += 1
                except PlannerError as exc:
                    self.message = f"cannot plan these settings: {exc}"
                    return None
            self.plan = self._cache[key]
            self._redraw()
            return self.plan

    def _redraw(self) -> None:
        from .plan2d import figure_png, plot_plan

        self.figure = plot_plan(self.plan, self.image, figsize=(6.5, 7.0))
        self.png = figure_png(self.figure, dpi=self.dpi)
        p = self.plan
        margins = [t.clearance_um - t.required_clearance_um for t in p.threads]
        self.message = (
            f"{len(p.threads)} of {p.n_requested} threads placed"
            + (f", bound by {p.binding_constraint}" if p.binding_constraint else "")
            + (f"; smallest margin {min(margins):.0f} \u00b5m" if margins else "")
        )

    def widget(self, *, debounce_s: float = 0.3) -> Any:
        """The ipywidgets panel: controls on top, the live plan figure below.

        Sliders report only on release, and changes arriving within ``debounce_s``
        of each other are folded into one replan.
        """
        w = require("ipywidgets", feature=_FEATURE)
        c = self.controls
        mode = w.ToggleButtons(
            options=[m.value for m in DuraMode], value=c["dura_mode"], description="dura"
        )
        margin = w.FloatSlider(
            value=c["margin_um"],
            min=0.0,
            max=200.0,
            step=5.0,
            description="margin \u00b5m",
            continuous_update=False,
        )
        spacing = w.FloatSlider(
            value=c["spacing_um"],
            min=50.0,
            max=1000.0,
            step=10.0,
            description="spacing \u00b5m",
            continuous_update=False,
        )
        count = w.IntSlider(
            value=c["n_threads"],
            min=1,
            max=MAX_THREADS,
            description="threads",
            continuous_update=False,
        )
        image = w.Image(format="png")
        status = w.HTML()
        timer: list[threading.Timer | None] = [None]

        def refresh() -> None:
            self.update(
                dura_mode=mode.value,
                margin_um=margin.value,
                spacing_um=spacing.value,
                n_threads=count.value,
            )
            image.value = self.png
            status.value = f"<b>{html.escape(self.message)}</b>"

        def on_change(_: Any) -> None:
            if timer[0] is not None:
                timer[0].cancel()
            status.value = "<i>replanning\u2026</i>"
            if debounce_s <= 0:
                refresh()
                return
            pending = threading.Timer(debounce_s, refresh)
            pending.daemon = True
            timer[0] = pending
            pending.start()

        for ctl in (mode, margin, spacing, count):
            ctl.observe(on_change, names="value")
        if self.plan is None:
            self.update()
        image.value = self.png
        status.value = f"<b>{html.escape(self.message)}</b>"
        box = w.VBox([w.HBox([mode, count]), w.HBox([margin, spacing]), status, image])
        box.explorer = self  # reach the state from the widget
        return box


def explorer(image: Any, *, pixel_size_um: float, debounce_s: float = 0.3, **options: Any) -> Any:
    """An ipywidgets panel that replans ``image`` live as its controls change.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
    pixel_size_um : float
    debounce_s : float
        Changes closer together than this are folded into one replan.
    **options
        Passed to :class:`Explorer` (``region``, ``robot``, ``dura_mode``,
        ``n_threads``, ``margin_um``, ``spacing_um``, ``planner``).

    Returns
    -------
    ipywidgets.VBox
        Displays in Jupyter; its ``explorer`` attribute is the :class:`Explorer`.

    Examples
    --------
    >>> import insertion_planner as ip
    >>> case = ip.synthetic_cortex(0, shape=(128, 128))
    >>> panel = explorer(case.image, pixel_size_um=case.pixel_size_um, n_threads=2)
    >>> panel.explorer.controls["n_threads"], panel.explorer.plan.n_requested
    (2, 2)
    """
    return Explorer(image, pixel_size_um=pixel_size_um, **options).widget(debounce_s=debounce_s)
