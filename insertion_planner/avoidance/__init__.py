"""Avoidance map: clearance to the nearest vessel edge and the margin model -> allowed mask."""

from __future__ import annotations

from .arrays import avoidance_from_arrays
from .avoidance_map import AvoidanceMap, build_avoidance_map

__all__ = ["AvoidanceMap", "avoidance_from_arrays", "build_avoidance_map"]
