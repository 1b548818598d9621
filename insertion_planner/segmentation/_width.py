"""Lumen width of thin vessels, the optical blur taken off.

The half-maximum of a blurred vessel profile marks the lumen edge only when the vessel is
much wider than the blur; a vessel as thin as the blur looks as wide as the blur whatever
its true width, so its half-maximum width overstates the lumen by up to a few pixels.
Here the profile across each thin vessel is read perpendicular to it (the normal of the
Hessian, as profiles are taken across the centreline in Bankhead et al. 2012,
doi:10.1371/journal.pone.0032435), its full width at half height above the local
background on each side is measured to a fraction of a pixel (the half-height width,
Brinchmann-Hansen & Heier, Acta Ophthalmol Suppl 179, 1986), and the lumen diameter is the
one whose blurred model profile has that width: a model fit of the cross-section with the
point-spread function (Lowell et al. 2004, doi:10.1109/TMI.2004.830524). The model is a
cylinder of blood seen in transmission (Beer-Lambert along the chord, absorption length
``absorption_length_px``) blurred by a Gaussian: the blur the image shows on the edges of
its wide vessels (``_blur.blur_map_px``) and the smoothing of the darkness.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf

from . import _filters as flt

__all__ = ["fwhm_table", "deblurred_lumen", "gauss_at", "line_blur_px"]

F32 = NDArray[np.float32]

_SIGMAS = np.geomspace(0.3, 8.0, 40)
"""Blur levels (Gaussian sigma, px) of the width table; a blur above the last takes the
last (a smaller blur makes the diameter err toward wide)."""
_DIAMETERS = np.arange(0.0, 24.0001, 0.1)
"""Lumen diameters (px) of the width table."""
_HALF_WINDOW_PX = 7.0
"""Half-length of the profile sampled across a vessel, px."""
_BASE_REACH_PX = 5.0
"""The local background of a profile is its lowest darkness within this distance of its
peak on each side: beyond the half-width of the thinnest vessels measured (4 px) plus
two blurs of a pixel, short of the next vessel in most places."""
_STEP_PX = 0.5
"""Sampling step along the profile, px."""
_NORMAL_SIGMA_PX = 4.0
"""Smoothing (px) of the darkness whose Hessian gives the normal: at least the half-width
of the widest thin vessel measured (``max_fwhm_px / 2``), so that the whole cross-section
of every thin vessel, its edge pixels too, lies where the smoothed profile is concave
across it (at a finer scale the edge pixels of a line take the direction along it)."""
_LINE_PERCENTILE = 10.0
"""Percentile of the half-height widths of the thin profiles of an image read as its
thinnest vessels' (:func:`line_blur_px`): a low one, so that noise, which widens and
narrows profiles alike, rarely reads the blur larger than the image shows it."""
_MIN_LINE_PROFILES = 200
"""Thin profiles an image needs before its lines bound its blur (fewer: no bound)."""
_FLAT_FRACTION = 0.8
"""A profile whose lower side stays above this fraction of its peak darkness within
``_BASE_REACH_PX`` is flat at this scale (a wide lumen, a patch of darker tissue): its
width at half height would be read on noise, so it keeps its half-maximum edge."""


def _fwhm(
    absorption_length_px: float, sigmas: NDArray[np.float64], diameters: NDArray[np.float64]
) -> NDArray[np.float64]:
    """FWHM (px) of the blurred profile of a vessel of each of ``diameters`` (columns) at
    each blur sigma of ``sigmas`` (rows): see :func:`fwhm_table`. Every entry is computed
    on its own, element by element, so a block of the table is bit for bit the same entries
    of the whole table."""
    l_abs = max(float(absorption_length_px), 1e-6)
    s = sigmas[:, None, None]
    r = np.maximum(diameters / 2.0, 1e-4)[None, :, None]
    u = (np.arange(41) + 0.5) / 41 * 2.0 - 1.0  # slice centres over [-1, 1]
    chord = 2.0 * r * np.sqrt(np.maximum(1.0 - u**2, 0.0))[None, None, :]
    weight = np.where(diameters[None, :, None] > 0, -np.expm1(-chord / l_abs), 1.0)
    lo_edge = r * (u - 1.0 / 41)[None, None, :]
    hi_edge = r * (u + 1.0 / 41)[None, None, :]
    b = s * math.sqrt(2.0)

    def profile(x: NDArray[np.float64]) -> NDArray[np.float64]:
        xx = x[..., None]
        v = 0.5 * (erf((xx - lo_edge) / b) - erf((xx - hi_edge) / b)) * weight
        out: NDArray[np.float64] = v.sum(axis=-1)
        return out

    half = 0.5 * profile(np.zeros((sigmas.size, diameters.size)))
    lo = np.zeros_like(half)
    hi = (r[..., 0] + 5.0 * s[..., 0]) * np.ones_like(half)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = profile(mid) >= half
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    fwhm: NDArray[np.float64] = lo + hi
    return fwhm


@functools.lru_cache(maxsize=8)
def fwhm_table(absorption_length_px: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(sigmas, fwhm): FWHM (px) of the blurred profile of a vessel of each diameter in
    ``_DIAMETERS`` (rows: blur sigma in ``sigmas``). The profile is ``1 - exp(-chord /
    l)`` across a cylinder (41 slices of the chord), convolved with a Gaussian (a sum of
    erf steps); a diameter of 0 gives the FWHM of the blur alone. The half-maximum is
    found by bisection (the profile falls monotonically from its centre)."""
    return _SIGMAS.copy(), _fwhm(absorption_length_px, _SIGMAS, _DIAMETERS)


_ROWS: dict[tuple[float, int], NDArray[np.float64]] = {}
"""Running maxima of the leading entries of the rows of :func:`fwhm_table` computed so far,
by (absorption length, row): the width step needs the few rows of the blurs its image
shows, and of each only the diameters up to the widest profile measured."""
_ROWS_MAX = 256
"""Rows kept in ``_ROWS`` (about 2 kB each)."""
_FIRST_DIAMETERS = 80
"""Diameters computed at first (and added each time more are needed) in a row of
``_ROWS``: up to 7.9 px, past the FWHM of 6 px at every blur up to the tabulated 2 px."""


def _row_prefix(absorption_length_px: float, kk: int, above: float) -> NDArray[np.float64]:
    """``np.maximum.accumulate(fwhm_table(absorption_length_px)[1][kk])`` up to its first
    entry above ``above`` (all of it if none is): the leading diameters, computed on their
    own (:func:`_fwhm` is element-wise) and kept in memory, longer ones when asked."""
    key = (absorption_length_px, kk)
    row = _ROWS.get(key)
    n = 0 if row is None else row.size
    if row is None or (row[-1] <= above and n < _DIAMETERS.size):
        n += _FIRST_DIAMETERS
        while True:
            n = min(n, _DIAMETERS.size)
            sig = _SIGMAS[kk : kk + 1]
            row = np.maximum.accumulate(_fwhm(absorption_length_px, sig, _DIAMETERS[:n])[0])
            if row[-1] > above or n == _DIAMETERS.size:
                break
            n += _FIRST_DIAMETERS
        if len(_ROWS) >= _ROWS_MAX:
            _ROWS.clear()
        _ROWS[key] = row
    return row


def line_blur_px(
    fwhm_px: NDArray[np.float64], min_diameter_px: float, absorption_length_px: float
) -> float:
    """Gaussian blur (sigma, px) under which a vessel of ``min_diameter_px``, the thinnest
    the detector looks for, has the ``_LINE_PERCENTILE`` of the half-height widths
    ``fwhm_px`` of an image's thin profiles: the blur those lines show (0 when too few).

    The blur read on the edges of wide vessels (``_blur.blur_map_px``) can fall short of
    the blur of thin ones: a wide lumen saturates (Beer-Lambert), which steepens its edge,
    and a soft vessel wall spreads a thin vessel's blood as a blur would. A line profile
    is never narrower than the point-spread function convolved with the line (Lowell et
    al. 2004, doi:10.1109/TMI.2004.830524); an image's thinnest vessels, about
    ``min_diameter_px`` wide, thus show the blur their width is to be measured at. Read
    for a vessel of the detector's smallest diameter, it reads the blur too large (a
    narrower lumen) on an image whose thinnest vessels are wider: the caller caps it by
    the blurriest edges."""
    f = np.asarray(fwhm_px, np.float64)
    f = f[np.isfinite(f)]
    if f.size < _MIN_LINE_PROFILES:
        return 0.0
    sigmas, table = fwhm_table(absorption_length_px)
    j = min(max(int(round(min_diameter_px / 0.1)), 0), _DIAMETERS.size - 1)
    col = np.maximum.accumulate(table[:, j])  # the FWHM grows with the blur
    return float(np.interp(np.percentile(f, _LINE_PERCENTILE), col, sigmas, left=0.0))


def _diameter_for(
    fwhm: NDArray[np.float64], sigma: NDArray[np.float64], absorption_length_px: float
) -> NDArray[np.float64]:
    """Lumen diameter (px) whose blurred profile has the measured ``fwhm`` at blur
    ``sigma``: read on the two tabulated blurs around it and interpolated linearly in
    the blur (a blur past the table's ends takes its end); 0 when the profile is no
    wider than the blur alone.

    Each row of the table is read up to its first entry above the widest ``fwhm`` of its
    pixels: ``np.interp`` finds the same bracketing entries there as on the whole row."""
    l_key = round(absorption_length_px, 3)
    hi = np.searchsorted(_SIGMAS, sigma - 1e-9).clip(1, _SIGMAS.size - 1)
    lo = hi - 1
    w_hi = ((sigma - _SIGMAS[lo]) / (_SIGMAS[hi] - _SIGMAS[lo])).clip(0.0, 1.0)
    out = np.zeros(fwhm.shape)
    for k, weight in ((lo, 1.0 - w_hi), (hi, w_hi)):
        for kk in np.unique(k):
            sel = (k == kk) & (weight > 0)
            if not sel.any():
                continue
            f = fwhm[sel]
            row = _row_prefix(l_key, int(kk), float(f.max()))
            out[sel] += weight[sel] * np.interp(f, row, _DIAMETERS[: row.size])
    return out


def gauss_at(
    a: F32, sigma: float, points: list[tuple[NDArray[np.intp], NDArray[np.intp]]]
) -> list[F32]:
    """``flt.gauss(a, sigma)[rows, cols]`` for each ``(rows, cols)`` of ``points``, bit for
    bit, smoothing only there: the rows holding a point down the columns, and the points
    along the rows (``_smoothing.gauss_marked``), for ``0.05 < sigma <= 4`` (the range
    ``flt.gauss`` smooths row by row); the whole image otherwise."""
    if not 0.05 < sigma <= 4.0:
        full = flt.gauss(a, sigma)
        return [full[r, c] for r, c in points]
    from ._smoothing import gauss_marked  # numba: compiled on first use

    need = np.zeros(a.shape, bool)
    for r, c in points:
        need[r, c] = True
    sm = gauss_marked(np.asarray(a, np.float32), flt._kernel(sigma), need)
    return [sm[r, c] for r, c in points]


def _normals(dark_s: F32, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> tuple[F32, F32]:
    """Unit normal (row, col components) across the line through each pixel: the
    direction of the most negative second derivative of the darkness smoothed at
    ``_NORMAL_SIGMA_PX``."""
    h, w = dark_s.shape
    up, dn = np.maximum(rows - 1, 0), np.minimum(rows + 1, h - 1)
    lf, rt = np.maximum(cols - 1, 0), np.minimum(cols + 1, w - 1)
    at = [(rows, cols), (dn, cols), (up, cols), (rows, rt), (rows, lf)]
    at += [(dn, rt), (dn, lf), (up, rt), (up, lf)]
    s, s_dn, s_up, s_rt, s_lf, s_dr, s_dl, s_ur, s_ul = gauss_at(dark_s, _NORMAL_SIGMA_PX, at)
    c2 = 2.0 * s
    hrr = s_dn + s_up - c2
    hcc = s_rt + s_lf - c2
    hrc = 0.25 * (s_dr - s_dl - s_ur + s_ul)
    # eigenvector of the smaller eigenvalue of [[hrr, hrc], [hrc, hcc]]
    theta = 0.5 * np.arctan2(2.0 * hrc, hrr - hcc) + np.float32(np.pi / 2)
    return np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)


def deblurred_lumen(
    mask: NDArray[np.bool_],
    dark_s: F32,
    blur_px: F32,
    *,
    candidates: NDArray[np.bool_] | None = None,
    smoothing_px: float,
    absorption_length_px: float,
    max_fwhm_px: float = 8.0,
    min_diameter_px: float | None = None,
    max_blur_px: float | None = None,
) -> tuple[NDArray[np.bool_], int]:
    """The half-maximum ``mask`` with the lumen of thin vessels narrowed to the diameter
    whose blurred profile has the measured FWHM.

    Parameters
    ----------
    mask : (H, W) bool
        Lumen at the half-maximum of the local peak darkness.
    dark_s : (H, W) float32
        Relative darkness smoothed by ``smoothing_px``.
    blur_px : (H, W) float32
        Optical blur (Gaussian sigma, px) measured on the image.
    smoothing_px : float
        Smoothing of ``dark_s``; added to the blur in quadrature.
    absorption_length_px : float
        Depth of blood over which light falls by 1/e, px (the profile model).
    max_fwhm_px : float
        Profiles wider than this are left as ``mask`` has them (wide vessels, whose
        half-maximum is their edge), and so are profiles without a half-height crossing
        on each side within the sampled +-7 px, flat ones (``_FLAT_FRACTION``) and those
        whose other side does not fall halfway down to the lower one.
    candidates : (H, W) bool, optional
        The pixels of ``mask`` worth measuring (those of vessels narrow enough to be
        thin); default all of ``mask``.
    min_diameter_px : float, optional
        The thinnest vessel looked for: the blur is at least what the image's thin
        profiles show for a vessel this wide (:func:`line_blur_px`), but no more than
        ``max_blur_px`` where given; default: no bound.
    max_blur_px : float, optional
        The most (Gaussian sigma, px) the lines' bound raises ``blur_px`` to.

    Returns
    -------
    mask : (H, W) bool
        A subset of ``mask``: a pixel of a thin vessel stays when its distance from the
        middle of its profile's two half-height crossings is below half the diameter (and
        always within half a pixel: the centreline of a detected vessel stays).
    n_thin : int
        Pixels measured as thin.
    """
    from ._resample import bilinear_at, profile_widths  # numba: compiled on first use

    rows, cols = flt.nonzero2d(mask if candidates is None else mask & candidates)
    if rows.size == 0:
        return mask, 0
    nr, nc = _normals(dark_s, rows, cols)
    t = np.arange(-_HALF_WINDOW_PX, _HALF_WINDOW_PX + 1e-9, _STEP_PX, dtype=np.float32)
    n_t = t.size
    centre = n_t // 2
    out = mask.copy()
    n_thin = 0
    chunk = 1 << 16
    fwhm_all = np.full(rows.size, np.nan)
    offset_all = np.zeros(rows.size)
    for c0 in range(0, rows.size, chunk):
        r_ = rows[c0 : c0 + chunk].astype(np.float32)
        c_ = cols[c0 : c0 + chunk].astype(np.float32)
        n_r, n_c = nr[c0 : c0 + chunk], nc[c0 : c0 + chunk]
        pr = r_[:, None] + t[None, :] * n_r[:, None]
        pc = c_[:, None] + t[None, :] * n_c[:, None]
        prof = bilinear_at(dark_s, pr, pc)  # ndimage.map_coordinates, order 1, compiled
        prof = prof.reshape(-1, n_t)
        # climb from the pixel to the local peak of its profile; the local background
        # on each side is the lowest darkness there (a tilted background, a wider vessel
        # nearby, is taken off side by side); the nearest sample below half maximum on
        # either side of the peak, interpolated. A line, not a flat patch: within 5 px of
        # the peak the profile falls on its lower side below ``_FLAT_FRACTION`` of the
        # peak, and on the other side at least halfway down to that (a valley before a
        # wider vessel nearby); a wide lumen or a patch of darker tissue does not, and
        # keeps its half-maximum edge (``_resample.profile_widths``, compiled)
        fw, mid = profile_widths(
            prof, t, start=centre, climb_steps=int(_BASE_REACH_PX / _STEP_PX) + 2,
            reach=int(round(_BASE_REACH_PX / _STEP_PX)), step_px=_STEP_PX,
            flat_fraction=_FLAT_FRACTION, max_fwhm_px=max_fwhm_px,
        )  # fmt: skip
        fwhm_all[c0 : c0 + fw.size] = fw
        offset_all[c0 : c0 + fw.size] = mid
    thin = np.isfinite(fwhm_all)
    n_thin = int(thin.sum())
    if not n_thin:
        return out, 0
    # the width varies slowly along a vessel: averaged over the thin pixels within ~2 px
    acc = np.zeros(mask.shape, np.float32)
    cnt = np.zeros(mask.shape, np.float32)
    acc[rows[thin], cols[thin]] = fwhm_all[thin]
    cnt[rows[thin], cols[thin]] = 1.0
    tr, tc = rows[thin], cols[thin]
    (acc_s,) = gauss_at(acc, 2.0, [(tr, tc)])
    (cnt_s,) = gauss_at(cnt, 2.0, [(tr, tc)])
    fw_s = acc_s / np.maximum(cnt_s, 1e-6)
    sigma = np.sqrt(np.asarray(blur_px)[tr, tc].astype(np.float64) ** 2 + smoothing_px**2)
    if min_diameter_px is not None:
        # both include the smoothing: the widths were read on the smoothed darkness
        line = line_blur_px(fw_s, min_diameter_px, absorption_length_px)
        if max_blur_px is not None:
            line = min(line, math.hypot(max_blur_px, smoothing_px))
        sigma = np.maximum(sigma, line)
    diam = _diameter_for(fw_s.astype(np.float64), sigma, absorption_length_px)
    drop = np.abs(offset_all[thin]) >= np.maximum(diam / 2.0, 0.5)
    out[tr[drop], tc[drop]] = False
    return out, n_thin
