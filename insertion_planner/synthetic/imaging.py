"""How a camera sees the cortex: :class:`Imaging`, the varying part of the image model.

The geometry (surface, vessels, ground truth) is drawn first; an :class:`Imaging` then
says how it is photographed: how soft the vessel edges are, how blurred and veiled the
picture is, how noisy and with how many bits, how it is lit and white-balanced, how dark
arteries and veins are, how textured the background is and how much glare there is.
``Imaging()`` reproduces the renderer's original appearance exactly;
:meth:`Imaging.random` draws every field from a range documented, with its source, in
``docs/synthetic.md`` (section "Imaging") and in the attribute list below.

The ground truth never depends on the imaging: it is the geometric lumen.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .._validation import as_rng
from ..config import DuraMode

__all__ = ["Imaging", "BIT_DEPTHS", "RANDOM_RANGES"]

BIT_DEPTHS = (8, 10, 12, 14, 16)
"""Bit depths a camera writes (GenICam SFNC pixel formats Mono8/10/12/14/16, RGB alike)."""

_REFERENCE_RATIO = 0.75
"""Green-channel artery/vein absorption ratio of the original renderer (0.030 / 0.040)."""

RANDOM_RANGES: dict[str, tuple[float, float]] = {
    "edge_softness_um": (0.0, 20.0),
    "psf_sigma_px": (0.4, 1.4),
    "veil_transmission": (0.3, 0.8),
    "veil_blur_px": (0.5, 3.0),
    "full_scale_electrons": (300.0, 5000.0),  # drawn log-uniformly
    "read_noise_fraction": (0.002, 0.015),
    "illumination_level": (0.55, 1.15),
    "vignetting": (0.0, 3.0),
    "illumination_gradient": (0.0, 0.6),
    "white_balance_red": (0.8, 1.25),
    "white_balance_blue": (0.75, 1.3),
    "absorption_scale": (0.7, 1.3),
    "artery_vein_absorption_ratio": (0.5, 0.95),
    "texture_amplitude": (0.02, 0.15),
    "texture_scale_um": (100.0, 1500.0),  # drawn log-uniformly
    "glints_per_mm2": (0.0, 1.5),
    "flare": (0.0, 0.05),
}
"""Range of each field drawn by :meth:`Imaging.random` (bit depth: one of ``BIT_DEPTHS``;
grey: a monochrome camera with probability ``GREY_PROBABILITY``)."""

GREY_PROBABILITY = 0.2


def _number(value: Any, name: str, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Imaging.{name} must be a number, got {type(value).__name__} {value!r}")
    out = float(value)
    bad = not math.isfinite(out) or out > high or (out <= low if open_low else out < low)
    if bad:
        bracket = "(" if open_low else "["
        raise ValueError(f"Imaging.{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return out


@dataclass(frozen=True)
class Imaging:
    """How the synthetic cortex is photographed (frozen; validated on construction).

    Every field has a default that reproduces the original renderer; "random" is the range
    :meth:`Imaging.random` draws from, "valid" what the constructor accepts. Sources and
    assumptions behind each range are in ``docs/synthetic.md`` ("Imaging").

    Attributes
    ----------
    edge_softness_um : float
        Gaussian sigma (um) by which each vessel's shadow is spread, as when a vessel lies
        partly within tissue and is seen through a thin scattering layer (pia, arachnoid,
        dura). Default 0 (sharp), random 0-20, valid 0-200.
    psf_sigma_px : float
        Optical point-spread function, Gaussian sigma in pixels. Default 0.6, random
        0.4-1.4, valid 0-10.
    veil_transmission : float
        ``transdural`` only: share of the cortex image that passes the dura veil (the rest
        is the veil's own whitish light). Default 0.65, random 0.3-0.8 (0.3 leaves vessels
        barely visible), valid (0, 1].
    veil_blur_px : float
        ``transdural`` only: Gaussian blur (sigma, pixels) of the cortex under the veil.
        Default 0.7, random 0.5-3, valid 0-10.
    full_scale_electrons : float
        Photo-electrons collected at full scale (shot noise: relative noise at full scale
        ``1 / sqrt(full_scale_electrons)``). Default 700, random 300-5000 (log-uniform),
        valid 10-1e6.
    read_noise_fraction : float
        Read noise, standard deviation as a fraction of full scale. Default 0.006,
        random 0.002-0.015, valid 0-0.2.
    bit_depth : int
        Bits per sample, one of 8, 10, 12, 14, 16. 8 gives uint8; more gives uint16 holding
        values below ``2**bit_depth``. Default 8, random: any of them.
    illumination_level : float
        Exposure relative to the original (1: the brightest cortex near 0.9 of full scale;
        above about 1.1 highlights clip). Default 1, random 0.55-1.15, valid (0, 4].
    vignetting : float
        Fall-off coefficient k of ``1 / (1 + k rho**2)**2`` (rho: distance from the centre
        over the longer side; cos**4-like). Default 1.2, random 0-3, valid 0-10.
    illumination_gradient : float
        Peak-to-peak linear illumination change across the longer side, in a random
        direction. Default 0.24, random 0-0.6, valid 0-1.4.
    white_balance : (float, float, float)
        Per-channel gains (R, G, B) left by a white-balance mismatch. Default (1, 1, 1),
        random R 0.8-1.25, G 1, B 0.75-1.3, each valid (0, 4].
    absorption_scale : float
        Factor on every blood absorption coefficient (haematocrit, camera band). Default 1,
        random 0.7-1.3, valid 0-5.
    artery_vein_absorption_ratio : float
        Arterial over venous absorption in green (red and blue in proportion); below 1
        arteries are lighter than veins. Default 0.75, random 0.5-0.95, valid (0, 3].
    texture_amplitude : float
        Relative standard deviation of the cortex background texture (capillary blush,
        unresolved vessels). Default 0.05, random 0.02-0.15, valid 0-0.5.
    texture_scale_um : float or None
        Correlation length of that texture, micrometres; None: 24 pixels (the original).
        Random 100-1500 (log-uniform), valid (0, 100000].
    glints_per_mm2 : float
        Specular glints per mm^2 of the opening. Default 0.35, random 0-1.5, valid 0-100.
    flare : float
        Veiling glare: share of the mean image light added uniformly (lens flare; ISO 9358
        glare index). Default 0, random 0-0.05, valid 0-0.5.
    grey : bool
        Monochrome camera: a (H, W) image of linear luminance (ITU-R BT.709 weights).
        Default False, random True with probability 0.2.

    Examples
    --------
    >>> Imaging().bit_depth, Imaging().veil_transmission
    (8, 0.65)
    >>> im = Imaging.random(3, "transdural")
    >>> 0.3 <= im.veil_transmission <= 0.8 and im == Imaging.random(3, "transdural")
    True
    >>> Imaging(veil_transmission=1.5)
    Traceback (most recent call last):
    ...
    ValueError: Imaging.veil_transmission must be in (0, 1], got 1.5
    """

    edge_softness_um: float = 0.0
    psf_sigma_px: float = 0.6
    veil_transmission: float = 0.65
    veil_blur_px: float = 0.7
    full_scale_electrons: float = 700.0
    read_noise_fraction: float = 0.006
    bit_depth: int = 8
    illumination_level: float = 1.0
    vignetting: float = 1.2
    illumination_gradient: float = 0.24
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    absorption_scale: float = 1.0
    artery_vein_absorption_ratio: float = 0.75
    texture_amplitude: float = 0.05
    texture_scale_um: float | None = None
    glints_per_mm2: float = 0.35
    flare: float = 0.0
    grey: bool = False

    def __post_init__(self) -> None:
        checks: dict[str, tuple[float, float, bool]] = {
            "edge_softness_um": (0.0, 200.0, False),
            "psf_sigma_px": (0.0, 10.0, False),
            "veil_transmission": (0.0, 1.0, True),
            "veil_blur_px": (0.0, 10.0, False),
            "full_scale_electrons": (10.0, 1e6, False),
            "read_noise_fraction": (0.0, 0.2, False),
            "illumination_level": (0.0, 4.0, True),
            "vignetting": (0.0, 10.0, False),
            "illumination_gradient": (0.0, 1.4, False),
            "absorption_scale": (0.0, 5.0, False),
            "artery_vein_absorption_ratio": (0.0, 3.0, True),
            "texture_amplitude": (0.0, 0.5, False),
            "glints_per_mm2": (0.0, 100.0, False),
            "flare": (0.0, 0.5, False),
        }
        for name, (low, high, open_low) in checks.items():
            value = _number(getattr(self, name), name, low, high, open_low=open_low)
            object.__setattr__(self, name, value)
        bits = self.bit_depth
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
            raise TypeError(f"Imaging.bit_depth must be an integer, got {bits!r}")
        if int(bits) not in BIT_DEPTHS:
            raise ValueError(f"Imaging.bit_depth must be one of {BIT_DEPTHS}, got {int(bits)}")
        object.__setattr__(self, "bit_depth", int(bits))
        wb = self.white_balance
        if isinstance(wb, (str, bytes)) or not hasattr(wb, "__len__") or len(wb) != 3:
            raise ValueError(f"Imaging.white_balance must be three gains (R, G, B), got {wb!r}")
        gains = tuple(_number(g, "white_balance", 0.0, 4.0, open_low=True) for g in wb)
        object.__setattr__(self, "white_balance", gains)
        if self.texture_scale_um is not None:
            scale = _number(self.texture_scale_um, "texture_scale_um", 0.0, 1e5, open_low=True)
            object.__setattr__(self, "texture_scale_um", scale)
        if not isinstance(self.grey, (bool, np.bool_)):
            raise TypeError(f"Imaging.grey must be a bool, got {self.grey!r}")
        object.__setattr__(self, "grey", bool(self.grey))

    @classmethod
    def random(
        cls,
        rng: int | np.random.Generator | None = None,
        dura_mode: DuraMode | str = "durectomy",
    ) -> Imaging:
        """Draw every field from its range in ``RANDOM_RANGES`` (uniform unless noted).

        The fields are drawn in a fixed order whatever the mode, so one seed gives the same
        camera in both modes; in ``durectomy`` the veil fields keep their defaults (there
        is no veil).

        Parameters
        ----------
        rng : int, numpy.random.Generator or None
            Seed or generator (None: seed 0).
        dura_mode : {'durectomy', 'transdural'} or DuraMode

        Returns
        -------
        Imaging

        Examples
        --------
        >>> a, b = Imaging.random(5, "durectomy"), Imaging.random(5, "transdural")
        >>> a.veil_transmission, a.psf_sigma_px == b.psf_sigma_px
        (0.65, True)
        """
        gen = as_rng(rng)
        mode = DuraMode.parse(dura_mode)

        def draw(name: str) -> float:
            lo, hi = RANDOM_RANGES[name]
            if name in ("full_scale_electrons", "texture_scale_um"):
                return float(np.exp(gen.uniform(np.log(lo), np.log(hi))))
            return float(gen.uniform(lo, hi))

        names = [
            "edge_softness_um",
            "psf_sigma_px",
            "veil_transmission",
            "veil_blur_px",
            "full_scale_electrons",
            "read_noise_fraction",
            "illumination_level",
            "vignetting",
            "illumination_gradient",
            "white_balance_red",
            "white_balance_blue",
            "absorption_scale",
            "artery_vein_absorption_ratio",
            "texture_amplitude",
            "texture_scale_um",
            "glints_per_mm2",
            "flare",
        ]
        v = {name: draw(name) for name in names}
        bits = int(gen.choice(BIT_DEPTHS))
        grey = bool(gen.random() < GREY_PROBABILITY)
        if mode is not DuraMode.TRANSDURAL:
            v["veil_transmission"] = cls.veil_transmission
            v["veil_blur_px"] = cls.veil_blur_px
        wb = (v.pop("white_balance_red"), 1.0, v.pop("white_balance_blue"))
        return cls(**v, white_balance=wb, bit_depth=bits, grey=grey)

    # -- derived quantities used by the renderer ------------------------------------

    def artery_factor(self) -> float:
        """Factor on the reference arterial absorption giving ``artery_vein_absorption_ratio``."""
        return self.artery_vein_absorption_ratio / _REFERENCE_RATIO

    def texture_scale_px(self, pixel_size_um: float) -> float:
        """Texture correlation length in pixels (24 when ``texture_scale_um`` is None)."""
        if self.texture_scale_um is None:
            return 24.0
        return self.texture_scale_um / pixel_size_um

    def is_default(self) -> bool:
        """Whether every field has its default value (the original appearance)."""
        return self == Imaging()

    # -- (de)serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (``white_balance`` as a list).

        Examples
        --------
        >>> Imaging.from_dict(Imaging(grey=True).to_dict()) == Imaging(grey=True)
        True
        """
        out = asdict(self)
        out["white_balance"] = list(self.white_balance)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Imaging:
        """Rebuild from :meth:`to_dict` output (unknown keys are refused)."""
        if not isinstance(data, dict):
            raise TypeError(f"Imaging data must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"Imaging data has unknown fields {extra}")
        kw = dict(data)
        if "white_balance" in kw:
            kw["white_balance"] = tuple(kw["white_balance"])
        return cls(**kw)
