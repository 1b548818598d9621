"""Render a camera-like RGB image of the exposed cortex from the ground truth.

Image model, in order (all linear intensities in [0, 1]):

1. cortex reflectance: a pink-beige base with low-frequency texture (capillary blush);
2. vessels: Beer-Lambert transmission ``exp(-mu_c * t)`` through a tube of thickness t
   along the line of sight, with per-channel absorption ``mu_c`` of arterial
   (oxygenated) or venous (deoxygenated) blood -- strongest in green, weakest in red;
   a penetrating vessel is seen end-on, down its blood column: its line-of-sight
   thickness is ``penetrating_column`` times its cross-section chord (a dark dot);
3. transdural mode: the cortex is seen through a scattering dura veil (more blur, lower
   contrast, whitish fibrous layer) and dural vessels lie sharply on top of it;
4. the bone rim outside the craniectomy;
5. illumination: Lambertian shading by the surface normal, a linear gradient across the
   field, and cos**4 vignetting;
6. specular glints (small, bright, mostly on large vessels and gyral crowns);
7. optical blur (Gaussian point-spread function);
8. Poisson-Gaussian sensor noise (shot noise plus read noise, in the heteroscedastic
   Gaussian approximation of Foi et al., IEEE TIP 2008), then 8-bit quantisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .trees import ARTERY, DURAL, PENETRATING, VEIN

__all__ = ["RenderStyle", "render_image"]


@dataclass(frozen=True)
class RenderStyle:
    """Optical constants of the renderer (absorption per micrometre of blood, RGB)."""

    cortex_rgb: tuple[float, float, float] = (0.82, 0.50, 0.44)
    bone_rgb: tuple[float, float, float] = (0.86, 0.80, 0.66)
    dura_rgb: tuple[float, float, float] = (0.86, 0.74, 0.68)
    mu_artery: tuple[float, float, float] = (0.0012, 0.030, 0.022)
    mu_vein: tuple[float, float, float] = (0.0035, 0.040, 0.030)
    mu_penetrating: tuple[float, float, float] = (0.0060, 0.060, 0.045)
    mu_dural: tuple[float, float, float] = (0.0020, 0.034, 0.026)
    penetrating_column: float = 8.0
    texture_amplitude: float = 0.05
    blur_px: float = 0.6
    dura_transmission: float = 0.65
    dura_blur_px: float = 0.7
    photons_per_unit: float = 700.0
    read_noise: float = 0.006
    glints_per_mm2: float = 0.35


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
    style: RenderStyle | None = None,
) -> NDArray[np.uint8]:
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
    style : RenderStyle, optional

    Returns
    -------
    (H, W, 3) uint8
    """
    st = style or RenderStyle()
    h, w = craniectomy.shape
    f32 = np.float32
    # Shared (H, W) maps first; then each colour channel is rendered as a contiguous plane.
    tex = _smooth_noise((h, w), rng, factor=8, sigma=3.0)
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
    gradient = 1 + f32(0.24) * (rr * f32(np.sin(ang)) + cc * f32(np.cos(ang)))
    vignette = 1 / (1 + (rr * rr + cc * cc) * f32(1.2)) ** 2
    illum = (f32(0.15) + f32(0.85) * shade) * gradient * vignette * f32(1.05)
    # specular glints: small saturated spots
    area_mm2 = h * w * (pixel_size_um / 1000.0) ** 2
    n_glints = int(rng.poisson(st.glints_per_mm2 * area_mm2 * float(craniectomy.mean())))
    pw = glint_weight.ravel().astype(np.float64)
    spots = np.zeros(h * w, np.float32)
    if n_glints and pw.sum() > 0:
        idx = rng.choice(pw.size, size=n_glints, p=pw / pw.sum())
        np.add.at(spots, idx, rng.uniform(2.0, 6.0, n_glints).astype(np.float32))
    spots = np.minimum(ndimage.gaussian_filter(spots.reshape(h, w), 0.8), f32(0.9))
    tau = f32(st.dura_transmission) * (1 + f32(0.08) * fib) if fib is not None else None

    out = np.empty((h, w, 3), np.uint8)
    for c in range(3):
        # 1-2. cortex reflectance with texture, times Beer-Lambert vessel transmission
        od = (
            f32(st.mu_artery[c]) * thickness_um[ARTERY]
            + f32(st.mu_vein[c]) * thickness_um[VEIN]
            + f32(st.mu_penetrating[c] * st.penetrating_column) * thickness_um[PENETRATING]
        )
        gain = f32(st.texture_amplitude * (1.0, 1.3, 1.1)[c])
        ch = f32(st.cortex_rgb[c]) * (1 + gain * tex + f32(0.02) * fine) * np.exp(-od)
        # 3. dura veil (scattering: blur and a whitish layer), dural vessels on top
        if tau is not None and fib is not None:
            ch = ndimage.gaussian_filter(ch, st.dura_blur_px)
            ch = tau * ch + (1 - tau) * f32(st.dura_rgb[c]) * (1 + f32(0.04) * fib)
            ch *= np.exp(-f32(st.mu_dural[c]) * thickness_um[DURAL])
        # 4. bone outside the opening, shadowed at the cut edge
        ch = inside * ch + (1 - inside) * f32(st.bone_rgb[c]) * bone_tex
        # 5-6. illumination and glints
        ch *= illum
        ch += spots
        # 7. optical blur
        ch = ndimage.gaussian_filter(ch, st.blur_px, truncate=3.0)
        # 8. Poisson-Gaussian noise, 8-bit quantisation
        np.clip(ch, 0.0, 1.0, out=ch)
        sd = np.sqrt(ch / f32(st.photons_per_unit) + f32(st.read_noise**2))
        ch += sd * rng.standard_normal((h, w), dtype=np.float32)
        out[..., c] = np.clip(ch * f32(255.0) + f32(0.5), 0, 255).astype(np.uint8)
    return out
