"""Synthetic cortex with exact ground truth: vessel trees, surface, camera rendering.

>>> from insertion_planner.synthetic import synthetic_cortex
>>> synthetic_cortex(1, shape=(128, 128)).truth.kind.dtype
dtype('uint8')
"""

from __future__ import annotations

from .case import KIND_CODES, GroundTruth, SyntheticCase
from .generate import DURA_THICKNESS_UM, synthetic_cortex
from .imaging import Imaging
from .raster import rasterize_capsules

__all__ = [
    "synthetic_cortex",
    "Imaging",
    "SyntheticCase",
    "GroundTruth",
    "KIND_CODES",
    "DURA_THICKNESS_UM",
    "rasterize_capsules",
]
