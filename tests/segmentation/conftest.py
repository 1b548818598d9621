import numpy as np
import pytest
from scipy import ndimage as ndi


def draw_lines(n: int = 256, *, noise: float = 0.02, seed: int = 0):
    """Grey image of vertical-ish dark lines of several widths, glints and two dark discs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    truth = np.zeros((n, n), bool)
    widths = [2, 4, 6, 10, 16]
    for i, w in enumerate(widths):
        x0 = (i + 0.5) * n / len(widths)
        d = np.abs((xx - x0) * np.cos(0.1) - (yy - n / 2) * np.sin(0.1))
        truth |= d <= w / 2
    discs = [(40.0, 100.0), (200.0, 152.0)]
    for r, c in discs:
        truth |= (yy - r) ** 2 + (xx - c) ** 2 <= 3.0**2
    illum = 0.7 + 0.2 * xx / n
    img = illum * (1 - 0.45 * ndi.gaussian_filter(truth.astype(np.float32), 0.8))
    img = img + rng.normal(0, noise, img.shape)
    for r, c in [(128.0, 60.0), (90.0, 180.0)]:
        img[(yy - r) ** 2 + (xx - c) ** 2 <= 4] = 1.0
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), truth, discs


@pytest.fixture(scope="session")
def draw():
    return draw_lines


@pytest.fixture(scope="session")
def lines_case():
    return draw_lines()


@pytest.fixture(scope="session")
def synthetic_small():
    import insertion_planner as ip

    out = {}
    for mode in ("durectomy", "transdural"):
        case = ip.synthetic_cortex(3, shape=(384, 384), dura_mode=mode)
        out[mode] = (
            case,
            ip.segment_vessels(case.image, pixel_size_um=case.pixel_size_um, dura_mode=mode),
        )
    return out
