"""An independent renderer of photographs of the exposed cortex, for tests and benchmarks.

It is written apart from ``insertion_planner.synthetic`` and from the vessel detector, so
that the detector can be judged on pictures it was not shaped around. Its model:

* geometry: pial vessel trees grown as random walks whose curvature is an Ornstein-Uhlenbeck
  process, branching with Murray's law (Murray 1926, :doi:`10.1073/pnas.12.3.207`); arteries
  running beside veins and crossing them; many long thin (20-40 um) vessels; in transdural
  mode, meningeal arteries flanked by two veins lying in the dura;
* appearance: Beer-Lambert absorption of blood along the chord through each vessel (strong
  in green and blue, weak in red; oxygenated arterial blood weaker in red, see S. Prahl's
  haemoglobin tables, https://omlc.org/spectra/hemoglobin/), soft vessel edges, a pinkish
  textured cortex, a scattering dural veil, vignetting, specular glints;
* camera: optical blur, white balance, shot and read noise (EMVA 1288 model), quantisation.

Ground truth is geometric: a pixel is in ``mask`` when its centre lies inside a vessel's
lumen, whatever the image shows there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, special

from ._vessels import Field, dural_vessels, pial_vessels, stamp

__all__ = ["CAMERA_RANGES", "Camera", "Rendered", "random_camera", "render"]

#: Plausible range of every :class:`Camera` field, as drawn by :func:`random_camera`.
CAMERA_RANGES: dict[str, tuple[float, float]] = {
    "edge_softness_px": (0.2, 1.0),  # 2.4-12 um of tissue over the vessel wall at 12 um/px
    "optical_blur_px": (0.3, 1.3),  # PSF sigma of a surgical microscope / macro lens
    "veil_transmission": (0.25, 0.8),  # 0.25-0.40 mm of dura; < 0.25 hides 20 um vessels
    "veil_blur_px": (0.5, 4.0),  # forward scattering in the dura
    "noise_sigma": (0.002, 0.02),  # read noise, fraction of full scale
    "illumination_falloff": (0.0, 0.5),  # darkening at the field corner
    "white_balance": (0.9, 1.1),  # per-channel gain
    "artery_vein_contrast": (0.4, 1.0),  # arterial / venous absorption
    "texture_strength": (0.0, 0.12),  # log-reflectance std of the tissue texture
    "texture_scale_px": (4.0, 40.0),  # 50-500 um texture grain
    "glare_fraction": (0.0, 0.003),  # fraction of the field under specular glints
    "exposure": (0.45, 0.85),  # tissue red level, fraction of full scale
    "full_well_e": (2000.0, 30000.0),  # electrons at full scale (shot noise)
}
_BIT_DEPTHS = (8, 10, 12, 14)
#: Effective venous absorption per um of chord (R, G, B); a reflectance camera's broad bands
#: and diffuse light give about half the tabulated whole-blood values (Prahl, omlc.org).
_VEIN_MU_PER_UM = np.array([0.0016, 0.015, 0.012])
_FLOOR = 0.1  # light scattered back above a vessel: a vessel never goes black


@dataclass(frozen=True)
class Camera:
    """How one picture of the cortex was taken (every field is something real imaging varies).

    Parameters
    ----------
    dura_mode : {"durectomy", "transdural"}
        Dura removed, or intact (veiled image with dural vessels on top).
    edge_softness_px : float
        Width of the sigmoid edge of vessels lying partly within tissue, 0.2 .. 1.0 px.
    optical_blur_px : float
        Sigma of the Gaussian point-spread function, 0.3 .. 1.3 px.
    veil_transmission : float
        Transdural only: fraction of the cortex contrast surviving the dura, 0.25 .. 0.8.
    veil_blur_px : float
        Transdural only: scattering blur of the dura, 0.5 .. 4 px.
    noise_sigma : float
        Read noise as a fraction of full scale, 0.002 .. 0.02 (shot noise comes on top).
    bit_depth : int
        8, 10, 12 or 14; stored as uint8 for 8 bits, else uint16 holding that many bits.
    illumination_falloff : float
        Relative darkening at the field's far corner (vignetting, uneven light), 0 .. 0.5.
    white_balance : tuple of 3 float
        Gains of the red, green and blue channels, each 0.9 .. 1.1.
    artery_vein_contrast : float
        Arterial over venous absorption, 0.4 .. 1 (arteries are lighter than veins).
    texture_strength : float
        Std of the tissue's log-reflectance texture, 0 .. 0.12.
    texture_scale_px : float
        Grain of the texture, 4 .. 40 px.
    glare_fraction : float
        Fraction of the field covered by specular glints, 0 .. 0.003.
    grey : bool
        Monochrome camera: the image is (H, W).
    exposure : float
        Mean red level of the tissue as a fraction of full scale, 0.45 .. 0.85.
    full_well_e : float
        Electrons at full scale, setting shot noise, 2,000 .. 30,000.
    """

    dura_mode: str = "durectomy"
    edge_softness_px: float = 0.5
    optical_blur_px: float = 0.7
    veil_transmission: float = 0.5
    veil_blur_px: float = 1.5
    noise_sigma: float = 0.006
    bit_depth: int = 8
    illumination_falloff: float = 0.2
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    artery_vein_contrast: float = 0.7
    texture_strength: float = 0.05
    texture_scale_px: float = 12.0
    glare_fraction: float = 0.002
    grey: bool = False
    exposure: float = 0.7
    full_well_e: float = 10000.0

    def __post_init__(self) -> None:
        if self.dura_mode not in ("durectomy", "transdural"):
            raise ValueError(
                f"dura_mode must be 'durectomy' or 'transdural', got {self.dura_mode!r}"
            )
        if self.bit_depth not in _BIT_DEPTHS:
            raise ValueError(f"bit_depth must be one of {_BIT_DEPTHS}, got {self.bit_depth!r}")
        if not 0.25 <= self.veil_transmission <= 1.0:
            raise ValueError(
                f"veil_transmission must be in [0.25, 1], got {self.veil_transmission}"
            )
        if len(self.white_balance) != 3 or min(self.white_balance) <= 0:
            raise ValueError(f"white_balance must be 3 positive gains, got {self.white_balance}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{f.name} must be finite and >= 0, got {value}")
        if not 0 < self.exposure <= 1 or self.full_well_e <= 0:
            raise ValueError(f"exposure must be in (0, 1] and full_well_e > 0, got {self}")


@dataclass(frozen=True)
class Rendered:
    """One rendered picture and its ground truth (arrays are read-only).

    Attributes
    ----------
    image : (H, W, 3) or (H, W) uint8 or uint16
        The picture; (H, W) when ``camera.grey``; uint16 holds ``camera.bit_depth`` bits.
    mask : (H, W) bool
        Pixels whose centre lies inside a vessel lumen (dural vessels included).
    radius_um : (H, W) float32
        Radius of the vessel owning each mask pixel (the largest where vessels overlap), 0
        elsewhere.
    pixel_size_um : float
    camera : Camera
    """

    image: NDArray[np.uint8] | NDArray[np.uint16]
    mask: NDArray[np.bool_]
    radius_um: NDArray[np.float32]
    pixel_size_um: float
    camera: Camera


def random_camera(rng: int | np.random.Generator | None, dura_mode: str = "durectomy") -> Camera:
    """Draw every :class:`Camera` field uniformly from its range in :data:`CAMERA_RANGES`.

    The veil fields are drawn in both modes (ignored in durectomy), so that
    ``dataclasses.replace(camera, dura_mode="transdural")`` is a plausible camera too. The
    bit depth is drawn from 8, 10, 12, 14 and one camera in four is monochrome.

    Examples
    --------
    >>> cam = random_camera(3, "transdural")
    >>> cam.dura_mode, 0.25 <= cam.veil_transmission <= 0.8
    ('transdural', True)
    """
    gen = np.random.default_rng(rng)

    def draw(name: str) -> float:
        lo, hi = CAMERA_RANGES[name]
        return float(gen.uniform(lo, hi))

    values: dict[str, object] = {n: draw(n) for n in CAMERA_RANGES if n != "white_balance"}
    lo, hi = CAMERA_RANGES["white_balance"]
    values["white_balance"] = tuple(float(g) for g in gen.uniform(lo, hi, 3))
    values["bit_depth"] = int(gen.choice(_BIT_DEPTHS))
    values["grey"] = bool(gen.random() < 0.25)
    return Camera(dura_mode=dura_mode, **values)  # type: ignore[arg-type]


def _chord_um(
    inside: NDArray[np.float64], radius: NDArray[np.float64], soft_px: float, px_um: float
) -> NDArray[np.float64]:
    """Blood path length (um) through a cylinder of soft edge (a vessel partly in tissue)."""
    with np.errstate(invalid="ignore"):
        d = radius - inside
        reach = radius + 3.0 * soft_px
        shape_term = np.sqrt(np.clip(1.0 - (d / np.maximum(reach, 1e-9)) ** 2, 0.0, 1.0))
        chord = 2.0 * radius * special.expit(inside / soft_px) * shape_term
    return np.where(np.isfinite(inside), chord, 0.0) * px_um


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma_px: float
) -> NDArray[np.float64]:
    """Zero-mean, unit-std Gaussian-correlated noise (FFT filter, periodic)."""
    spectrum = np.fft.rfft2(rng.standard_normal(shape))
    fr, fc = np.fft.fftfreq(shape[0])[:, None], np.fft.rfftfreq(shape[1])[None, :]
    field = np.fft.irfft2(
        spectrum * np.exp(-2.0 * (math.pi * sigma_px) ** 2 * (fr**2 + fc**2)), shape
    )
    return (field - field.mean()) / max(float(field.std()), 1e-12)


def _blur(image: NDArray[np.float64], sigma_px: float) -> NDArray[np.float64]:
    if sigma_px <= 0:
        return image
    sigma = (sigma_px, sigma_px) + (0.0,) * (image.ndim - 2)
    return ndimage.gaussian_filter(image, sigma, mode="reflect", truncate=3.0)


def _glints(
    rng: np.random.Generator, shape: tuple[int, int], fraction: float, on: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Additive specular glints: elongated Gaussians, half of them on vessels (wet, convex)."""
    out = np.zeros(shape)
    n = rng.poisson(fraction * shape[0] * shape[1] / 11.0)  # ~11 px above half peak each
    on_idx = np.flatnonzero(on)
    for _ in range(n):
        if on_idx.size and rng.random() < 0.5:
            centre = np.array(np.unravel_index(on_idx[rng.integers(on_idx.size)], shape), float)
        else:
            centre = rng.uniform([0.0, 0.0], shape)
        a, b, phi = rng.uniform(1.0, 4.0), rng.uniform(0.5, 1.5), rng.uniform(0, math.pi)
        hw = int(math.ceil(3 * a))
        r0, c0 = int(centre[0]), int(centre[1])
        rows = np.arange(max(r0 - hw, 0), min(r0 + hw + 1, shape[0]))[:, None]
        cols = np.arange(max(c0 - hw, 0), min(c0 + hw + 1, shape[1]))[None, :]
        u = (rows - centre[0]) * math.sin(phi) + (cols - centre[1]) * math.cos(phi)
        v = (rows - centre[0]) * math.cos(phi) - (cols - centre[1]) * math.sin(phi)
        out[rows, cols] += rng.uniform(1.0, 2.5) * np.exp(-0.5 * ((u / a) ** 2 + (v / b) ** 2))
    return out


# --------------------------------------------------------------------------- render
def render(
    shape: tuple[int, int] = (512, 512),
    *,
    pixel_size_um: float = 12.0,
    camera: Camera,
    rng: int | np.random.Generator | None,
) -> Rendered:
    """Render one photograph of the exposed cortex with its geometric ground truth.

    The pial vessels depend only on ``rng`` (not on ``camera``), so one seed gives the same
    cortex under every camera; transdural mode adds dural vessels and the veil.

    Parameters
    ----------
    shape : (int, int)
        Image rows and columns (each >= 16).
    pixel_size_um : float
        Pixel size in um; vessel sizes are anatomical (20-400 um diameter).
    camera : Camera
    rng : int, numpy.random.Generator or None

    Returns
    -------
    Rendered

    Examples
    --------
    >>> out = render((64, 64), camera=Camera(), rng=0)
    >>> out.image.shape, out.image.dtype, bool((out.radius_um > 0).sum() == out.mask.sum())
    ((64, 64, 3), dtype('uint8'), True)
    """
    if len(shape) != 2 or min(shape) < 16:
        raise ValueError(f"shape must be (rows, cols) with each >= 16, got {shape}")
    if not (math.isfinite(pixel_size_um) and pixel_size_um > 0):
        raise ValueError(f"pixel_size_um must be finite and > 0, got {pixel_size_um}")
    if not isinstance(camera, Camera):
        raise TypeError(f"camera must be a Camera, got {type(camera).__name__}")
    shape = (int(shape[0]), int(shape[1]))
    streams = [np.random.default_rng(s) for s in np.random.default_rng(rng).integers(2**63, size=6)]
    geo_rng, dura_rng, tissue_rng, light_rng, glint_rng, noise_rng = streams
    scene_rng = np.random.default_rng(geo_rng.integers(2**63))
    cam = camera
    transdural = cam.dura_mode == "transdural"
    soft = max(cam.edge_softness_px, 0.05)

    pial = pial_vessels(Field(geo_rng, shape, pixel_size_um))
    dural = dural_vessels(Field(dura_rng, shape, pixel_size_um)) if transdural else []
    layers = {}
    for name in ("vein", "artery", "dural_vein", "dural_artery"):
        members = [v for v in pial + dural if v.layer == name]
        if members:
            layers[name] = stamp(members, shape, 3.0 * soft + 1.0)
    mask = np.zeros(shape, bool)
    radius_um = np.zeros(shape, np.float32)
    for inside, radius in layers.values():
        lumen = inside > 0
        mask |= lumen
        np.maximum(radius_um, np.where(lumen, radius * pixel_size_um, 0.0), out=radius_um)

    # Tissue: pinkish cortex (G/R 0.6-0.75), textured, with capillary blush.
    green = scene_rng.uniform(0.6, 0.75)
    base = np.array([1.0, green, green * scene_rng.uniform(0.85, 1.0)])
    grain = _smooth_noise(tissue_rng, shape, cam.texture_scale_px)
    coarse = _smooth_noise(tissue_rng, shape, 2.5 * cam.texture_scale_px)
    blush = np.clip(_smooth_noise(tissue_rng, shape, 4.0 * cam.texture_scale_px), 0, None)
    log_refl = cam.texture_strength * (0.6 * grain + 0.8 * coarse)[..., None]
    log_refl = log_refl - cam.texture_strength * blush[..., None] * np.array([0.2, 1.0, 0.8])
    radiance = base * np.exp(log_refl)

    # Blood: Beer-Lambert along the chord; arteries absorb less, much less in red.
    mu_vein = _VEIN_MU_PER_UM * scene_rng.uniform(0.8, 1.2)
    ratio = cam.artery_vein_contrast
    mu_artery = mu_vein * np.array([0.3 * ratio, ratio, ratio])
    mu = {"vein": mu_vein, "artery": mu_artery, "dural_vein": mu_vein, "dural_artery": mu_artery}
    density = np.zeros((*shape, 3))
    for name in ("vein", "artery"):
        if name in layers:
            density += _chord_um(*layers[name], soft, pixel_size_um)[..., None] * mu[name]
    radiance *= _FLOOR + (1.0 - _FLOOR) * np.exp(-density)

    if transdural:
        veil_colour = np.array([1.0, 0.86, 0.78]) * scene_rng.uniform(0.95, 1.1)
        thickness = 0.08 * _smooth_noise(tissue_rng, shape, 40.0)
        trans = np.clip(cam.veil_transmission * (1.0 + thickness), 0.25, 0.95)[..., None]
        radiance = trans * _blur(radiance, cam.veil_blur_px) + (1.0 - trans) * veil_colour
        dural_density = np.zeros((*shape, 3))
        for name in ("dural_vein", "dural_artery"):
            if name in layers:
                chord = _chord_um(*layers[name], soft, pixel_size_um)
                dural_density += chord[..., None] * mu[name]
        depth = scene_rng.uniform(0.6, 0.9)  # share of the dura over the dural vessels
        seen = _FLOOR + (1.0 - _FLOOR) * np.exp(-depth * dural_density)
        radiance *= _blur(seen, 0.3 * cam.veil_blur_px)

    # Light: vignetting around an off-centre spot plus a tilt; glints; lens blur.
    rows = (np.arange(shape[0])[:, None] - light_rng.uniform(0.3, 0.7) * shape[0]) / max(shape)
    cols = (np.arange(shape[1])[None, :] - light_rng.uniform(0.3, 0.7) * shape[1]) / max(shape)
    tilt = light_rng.uniform(-1, 1, 2) * 0.3
    fall = rows**2 + cols**2 + tilt[0] * rows + tilt[1] * cols
    fall = (fall - fall.min()) / max(float(np.ptp(fall)), 1e-12)
    radiance *= (1.0 - cam.illumination_falloff * fall)[..., None]
    radiance += _glints(glint_rng, shape, cam.glare_fraction, mask)[..., None]
    radiance = _blur(radiance, cam.optical_blur_px)

    # Sensor: white balance, exposure, shot + read noise, quantisation.
    signal_fs = radiance * np.asarray(cam.white_balance) * cam.exposure
    if cam.grey:
        signal_fs = signal_fs @ np.array([0.3, 0.55, 0.15]) / (0.3 + 0.55 * green + 0.15 * base[2])
    shot = np.sqrt(np.clip(signal_fs, 0.0, None) / cam.full_well_e)
    noisy = signal_fs + noise_rng.standard_normal(signal_fs.shape) * np.hypot(shot, cam.noise_sigma)
    top = 2**cam.bit_depth - 1
    dtype = np.uint8 if cam.bit_depth == 8 else np.uint16
    image = np.rint(np.clip(noisy, 0.0, 1.0) * top).astype(dtype)

    for array in (image, mask, radius_um):
        array.setflags(write=False)
    return Rendered(image, mask, radius_um, float(pixel_size_um), cam)
