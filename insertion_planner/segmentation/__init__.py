"""Vessel segmentation: multi-scale Hessian vesselness -> :class:`VesselMap`."""

from __future__ import annotations

from .segment import VesselMap, segment_vessels

__all__ = ["VesselMap", "segment_vessels"]
