"""What a plan was computed from, kept in memory beside the saved plan.

An :class:`~insertion_planner.InsertionPlan` holds what its file saves (the model, in
the sense of Carpentier et al.'s Model/Data split in pinocchio). A fresh plan also
carries a :class:`PlanContext` (the data): the image, its segmentation and avoidance map,
the functional weight, and what the planner derived from the saved fields (the image
grid, the scene, the candidate sites). A loaded plan has no context; everything the
checks need is rebuilt from the file and, for the map, from the image
(:func:`~insertion_planner.avoidance_for_plan`).

The derived parts (grid, scene, candidates) belong to the saved fields they were built
from. A context remembers those objects (its ``basis``); a plan changed with
:func:`dataclasses.replace` in any of them no longer sees them, and its scene is rebuilt
from its own saved fields (:func:`~insertion_planner.planning.checks.scene_from_plan`),
exactly as a loaded plan's is. The image-derived parts (image, vessels, avoidance,
weight) do not depend on the saved fields and stay.

Reference: J. Carpentier et al., "The Pinocchio C++ library", IEEE/SICE SII 2019
(Model and Data kept apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover - types only
    from .avoidance import AvoidanceMap
    from .frames import Grid
    from .planning.candidates import Candidates
    from .planning.scene import Scene
    from .segmentation import VesselMap

__all__ = ["PlanContext"]


@dataclass(frozen=True, eq=False)
class PlanContext:
    """The in-memory context of a fresh plan (never saved; None after ``load_plan``).

    Attributes
    ----------
    image : (H, W) or (H, W, C) array or None
        The image the plan was made from.
    vessels : VesselMap or None
        Its segmentation.
    avoidance : AvoidanceMap or None
        Its avoidance map (clearance, requirement, allowed sites).
    weight : (H, W) float32 or None
        The functional weight the placement covered.
    grid : Grid or None
        The image grid with the surface the plan file stores.
    scene : Scene or None
        The surgical scene the planner judged every site in.
    candidates : Candidates or None
        The candidate sites, reused by :func:`~insertion_planner.replan`.
    cortex_thickness_um : float, (H, W) float32 or None
        The cortical thickness the depths were checked against (an input the file does
        not keep; a rebuilt scene keeps checking against it).
    basis : tuple
        The saved fields ``grid``, ``scene`` and ``candidates`` were derived from
        (geometry, config, robot spec, margins, region), compared by identity (the region
        by content when it is another array), and the image shape, pixel size and dura
        mode, by value.

    Examples
    --------
    >>> import numpy as np
    >>> import insertion_planner as ip
    >>> from dataclasses import replace
    >>> img = np.full((160, 160), 200, np.uint8); img[:, 70:76] = 90
    >>> plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4)
    >>> plan.scene is plan.context.scene, plan.avoidance is plan.context.avoidance
    (True, True)
    >>> moved = replace(plan, geometry=replace(plan.geometry, skull_thickness_um=3000.0))
    >>> moved.scene is None, moved.avoidance is plan.avoidance   # the scene is stale
    (True, True)
    """

    image: NDArray[Any] | None = field(default=None, repr=False)
    vessels: VesselMap | None = field(default=None, repr=False)
    avoidance: AvoidanceMap | None = field(default=None, repr=False)
    weight: NDArray[np.float32] | None = field(default=None, repr=False)
    grid: Grid | None = field(default=None, repr=False)
    scene: Scene | None = field(default=None, repr=False)
    candidates: Candidates | None = field(default=None, repr=False)
    cortex_thickness_um: float | NDArray[np.float32] | None = field(default=None, repr=False)
    basis: tuple[Any, ...] = field(default=(), repr=False)

    def fits(self, basis: tuple[Any, ...]) -> bool:
        """Whether the derived parts were built from exactly these saved fields."""
        n = len(self.basis)
        if n != len(basis) or n == 0:
            return False
        # objects by identity (a replaced field is a new object); values by value
        return all(_same(a, b) for a, b in zip(self.basis, basis, strict=True))


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (int, float, str, tuple)):
        return bool(a == b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):  # a copied region
        return a.shape == b.shape and bool(np.array_equal(a, b))
    return False
