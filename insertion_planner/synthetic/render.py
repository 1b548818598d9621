"""Render a camera-like image of the exposed cortex from the ground truth.

Image model, in order (all linear intensities in [0, 1]); every number that varies from
camera to camera is a field of :class:`~.imaging.Imaging` (named in brackets):

1. cortex reflectance: a pink-beige base with low-frequency texture (capillary blush)
   [``texture_amplitude``, ``texture_scale_um``];
2. vessels: Beer-Lambert transmission ``exp(-mu_c * t)`` through a tube of thickness t
   along the line of sight, with per-channel absorption ``mu_c`` of arterial
   (oxygenated) or venous (deoxygenated) blood -- strongest in green, weakest in red
   [``absorption_scale``, ``artery_vein_absorption_ratio``]; a penetrating vessel is seen
   end-on, down its blood column: its line-of-sight thickness is ``penetrating_column``
   times its cross-section chord (a dark dot); the shadow is spread by a thin scattering
   layer over the vessel [``edge_softness_um``];
3. transdural mode: the cortex is seen through a scattering dura veil (more blur, lower
   contrast, whitish fibrous layer) [``veil_transmission``, ``veil_blur_px``] and dural
   vessels lie on top of it;
4. the bone rim outside the craniectomy;
5. illumination: Lambertian shading by the surface normal, a linear gradient across the
   field, and cos**4-like vignetting [``illumination_level``, ``illumination_gradient``,
   ``vignetting``];
6. specular glints (small, bright, mostly on large vessels and gyral crowns)
   [``glints_per_mm2``], veiling glare [``flare``], white balance [``white_balance``];
7. optical blur (Gaussian point-spread function) [``psf_sigma_px``]; a monochrome camera
   sums the channels with BT.709 luminance weights [``grey``];
8. Poisson-Gaussian sensor noise (shot noise plus read noise, in the heteroscedastic
   Gaussian approximation of Foi et al., IEEE TIP 2008, doi:10.1109/TIP.2008.2001399)
   [``full_scale_electrons``, ``read_noise_fraction``], then quantisation [``bit_depth``].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .imaging import Imaging
from .trees import ARTERY, DURAL, PENETRATING, VEIN

__all__ = ["RenderStyle", "render_image"]


_LUMA = (0.2126, 0.7152, 0.0722)
"""Linear luminance weights of a monochrome camera (ITU-R BT.709)."""


@dataclass(frozen=True)
class RenderStyle:
    """Fixed optical constants of the renderer (absorption per micrometre of blood, RGB).

    What varies from camera to camera lives in :class:`~.imaging.Imaging`; these are the
    scene's colours and the reference absorption of blood (``Imaging.absorption_scale``
    and ``Imaging.artery_vein_absorption_ratio`` scale them).
    """

    cortex_rgb: tuple[float, float, float] = (0.82, 0.50, 0.44)
    bone_rgb: tuple[float, float, float] = (0.86, 0.80, 0.66)
    dura_rgb: tuple[float, float, float] = (0.86, 0.74, 0.68)
    mu_artery: tuple[float, float, float] = (0.0012, 0.030, 0.022)
    mu_vein: tuple[float, float, float] = (0.0035, 0.040, 0.030)
    mu_penetrating: tuple[float, float, float] = (0.0060, 0.060, 0.045)
    mu_dural: tuple[float, float, float] = (0.0020, 0.034, 0.026)
    penetrating_column: float = 8.0


def _smooth_noise(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    factor: int,
    sigma: float | tuple[float, float],
) -> NDArray[np.float32]:
    """Zero-mean, unit-std smooth noise: filtered at 1/factor resolution, upsampled."""
    h, w = shape
    small = rng.standard_normal(
        ((h + factor - 1) // factor + 2, (w + factor - 1) // factor + 2), dtype=np.float32
    )
    small = ndimage.gaussian_filter(small, sigma, mode="wrap")
    small /= max(float(small.std()), 1e-6)
    big = ndimage.zoom(small, factor, order=1, prefilter=False)
    return np.ascontiguousarray(big[:h, :w])


def _texture(
    shape: tuple[int, int], rng: np.random.Generator, scale_px: float
) -> NDArray[np.float32]:
    """Smooth texture of correlation length ``scale_px`` (24 px: factor 8, sigma 3)."""
    factor = int(np.clip(round(scale_px / 3.0), 1, 16))
    return _smooth_noise(shape, rng, factor=factor, sigma=scale_px / factor)


def render_image(
    *,
    thickness_um: NDArray[np.float32],
    surface_z_um: NDArray[np.float32],
    craniectomy: NDArray[np.bool_],
    center_rc: tuple[float, float],
    pixel_size_um: float,
    transdural: bool,
    glint_weight: NDArray[np.float32],
    rng: np.random.Generator,
    imaging: Imaging | None = None,
    style: RenderStyle | None = None,
) -> NDArray[np.uint8] | NDArray[np.uint16]:
    """Render the camera image.

    Parameters
    ----------
    thickness_um : (5, H, W) float32
        Per kind code (1 artery, 2 vein, 3 dural, 4 penetrating) the blood thickness
        along the line of sight, micrometres.
    surface_z_um : (H, W) float32
        Surface height, micrometres (for shading).
    craniectomy : (H, W) bool
    center_rc : (float, float)
        Centre of the craniectomy (row, col), pixels.
    pixel_size_um : float
    transdural : bool
        Render the dura veil and the dural vessels.
    glint_weight : (H, W) float32
        Relative likelihood of a specular glint at each pixel.
    rng : numpy.random.Generator
    imaging : Imaging, optional
        The camera (default ``Imaging()``: the original appearance).
    style : RenderStyle, optional

    Returns
    -------
    (H, W, 3) or, with ``imaging.grey``, (H, W) array
        uint8 for 8 bits, else uint16 with values below ``2**imaging.bit_depth``.
    """
    st = style or RenderStyle()
    im = imaging or Imaging()
    h, w = craniectomy.shape
    f32 = np.float32
    # Shared (H, W) maps first; then each colour channel is rendered as a contiguous plane.
    tex = _texture((h, w), rng, im.texture_scale_px(pixel_size_um))
    fine = _smooth_noise((h, w), rng, factor=2, sigma=1.5)
    fib = _smooth_noise((h, w), rng, factor=4, sigma=(1.0, 4.0)) if transdural else None
    rr = (np.arange(h, dtype=np.float32) - f32(center_rc[0]))[:, None]
    cc = (np.arange(w, dtype=np.float32) - f32(center_rc[1]))[None, :]
    rho = np.sqrt(rr * rr + cc * cc)
    rim = f32(rho[craniectomy].max()) if craniectomy.any() else f32(0)
    edge = f32(1.0) - f32(0.45) * np.exp(
        -np.maximum(rho - rim, f32(0)) / f32(max(200.0 / pixel_size_um, 1.0))
    )
    bone_tex = (1 + f32(0.05) * fine) * edge
    inside = ndimage.gaussian_filter(craniectomy.astype(np.float32), 0.8)
    # illumination: Lambertian shading of the cortex, gradient, cos^4 vignetting
    gy, gx = np.gradient(surface_z_um, pixel_size_um)
    light = np.array([0.35, -0.25, 0.90])
    light /= np.linalg.norm(light)
    shade = (-gx * f32(light[0]) - gy * f32(light[1]) + f32(light[2])) / np.sqrt(
        1 + gx * gx + gy * gy
    )
    shade = inside * shade + (1 - inside) * f32(light[2])  # the bone is lit flat
    rr /= f32(max(h, w))
    cc /= f32(max(h, w))
    ang = rng.uniform(0, 2 * np.pi)
    gradient = 1 + f32(im.illumination_gradient) * (rr * f32(np.sin(ang)) + cc * f32(np.cos(ang)))
    vignette = 1 / (1 + (rr * rr + cc * cc) * f32(im.vignetting)) ** 2
    illum = (
        (f32(0.15) + f32(0.85) * shade) * gradient * vignette * f32(1.05 * im.illumination_level)
    )
    # specular glints: small saturated spots
    area_mm2 = h * w * (pixel_size_um / 1000.0) ** 2
    n_glints = int(rng.poisson(im.glints_per_mm2 * area_mm2 * float(craniectomy.mean())))
    pw = glint_weight.ravel().astype(np.float64)
    spots = np.zeros(h * w, np.float32)
    if n_glints and pw.sum() > 0:
        idx = rng.choice(pw.size, size=n_glints, p=pw / pw.sum())
        np.add.at(spots, idx, rng.uniform(2.0, 6.0, n_glints).astype(np.float32))
    spots = np.minimum(ndimage.gaussian_filter(spots.reshape(h, w), 0.8), f32(0.9))
    tau = f32(im.veil_transmission) * (1 + f32(0.08) * fib) if fib is not None else None
    soft_px = im.edge_softness_um / pixel_size_um
    mu_scale, art = im.absorption_scale, im.artery_factor()

    def soften(trans: NDArray[np.float32]) -> NDArray[np.float32]:
        """Spread a vessel shadow as a thin scattering tissue layer over it does."""
        return ndimage.gaussian_filter(trans, soft_px, truncate=3.0) if soft_px > 0 else trans

    grey = np.zeros((h, w), np.float32) if im.grey else None
    out = np.empty((h, w, 3), np.uint8 if im.bit_depth == 8 else np.uint16)
    for c in range(3):
        # 1-2. cortex reflectance with texture, times Beer-Lambert vessel transmission
        od = (
            f32(st.mu_artery[c] * art * mu_scale) * thickness_um[ARTERY]
            + f32(st.mu_vein[c] * mu_scale) * thickness_um[VEIN]
            + f32(st.mu_penetrating[c] * st.penetrating_column * mu_scale)
            * thickness_um[PENETRATING]
        )
        gain = f32(im.texture_amplitude * (1.0, 1.3, 1.1)[c])
        base = 1 + gain * tex + f32(0.02) * fine
        if im.texture_amplitude > 0.05:  # a strong texture never makes light negative
            np.maximum(base, f32(0.05), out=base)
        ch = f32(st.cortex_rgb[c]) * base * soften(np.exp(-od))
        # 3. dura veil (scattering: blur and a whitish layer), dural vessels on top
        if tau is not None and fib is not None:
            ch = ndimage.gaussian_filter(ch, im.veil_blur_px)
            ch = tau * ch + (1 - tau) * f32(st.dura_rgb[c]) * (1 + f32(0.04) * fib)
            ch *= soften(np.exp(-f32(st.mu_dural[c] * mu_scale) * thickness_um[DURAL]))
        # 4. bone outside the opening, shadowed at the cut edge
        ch = inside * ch + (1 - inside) * f32(st.bone_rgb[c]) * bone_tex
        # 5-6. illumination, glints, veiling glare, white balance
        ch *= illum
        ch += spots
        if im.flare > 0:
            ch += f32(im.flare * float(ch.mean(dtype=np.float64)))
        if im.white_balance[c] != 1.0:
            ch *= f32(im.white_balance[c])
        # 7. optical blur
        ch = ndimage.gaussian_filter(ch, im.psf_sigma_px, truncate=3.0)
        if grey is not None:
            grey += f32(_LUMA[c]) * ch
            continue
        out[..., c] = _sensor(ch, im, rng)
    if grey is not None:
        return _sensor(grey, im, rng)
    return out


def _sensor(
    ch: NDArray[np.float32], im: Imaging, rng: np.random.Generator
) -> NDArray[np.uint8] | NDArray[np.uint16]:
    """8. Clip to full scale, add Poisson-Gaussian noise, quantise to ``im.bit_depth`` bits."""
    f32 = np.float32
    h, w = ch.shape
    np.clip(ch, 0.0, 1.0, out=ch)
    sd = np.sqrt(ch / f32(im.full_scale_electrons) + f32(im.read_noise_fraction**2))
    ch += sd * rng.standard_normal((h, w), dtype=np.float32)
    if im.bit_depth == 8:
        return np.clip(ch * f32(255.0) + f32(0.5), 0, 255).astype(np.uint8)
    top = (1 << im.bit_depth) - 1
    return np.clip(ch * f32(top) + f32(0.5), 0, top).astype(np.uint16)
