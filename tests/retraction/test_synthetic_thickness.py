"""SyntheticCase.cortex_thickness_um: a thickness map that changes nothing else."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.synthetic.surface import cortex_thickness

# sha256 of case.image.tobytes() for synthetic_cortex(seed, shape=(256, 256), ...), computed
# with the generator as it was before the thickness map existed (commit fe7dffe).
IMAGE_SHA256 = {
    (0, "durectomy", None): "155c9fde9923461dcb62a2aba6e65d9227130dcc9abab8680cf25bfce9c93302",
    (3, "transdural", None): "8a34d85d87b2db20c9a4707b8515e36076197ba4b794c4621f2cc9ac455782e8",
    (1, "durectomy", "random"): "e331f0bfebb700eb7aa6389622faeb4c7939c6ff446eff730d38b0de62bea158",
}


@pytest.mark.parametrize(("seed", "mode", "imaging"), list(IMAGE_SHA256))
def test_image_bytes_are_unchanged(seed, mode, imaging):
    case = ip.synthetic_cortex(seed, shape=(256, 256), dura_mode=mode, imaging=imaging)
    assert hashlib.sha256(case.image.tobytes()).hexdigest() == IMAGE_SHA256[(seed, mode, imaging)]
    again = ip.synthetic_cortex(seed, shape=(256, 256), dura_mode=mode, imaging=imaging)
    assert np.array_equal(case.cortex_thickness_um, again.cortex_thickness_um)


def test_thickness_map_is_human_and_thicker_on_crowns():
    case = ip.synthetic_cortex(2, shape=(512, 512), pixel_size_um=48.0)
    t = case.cortex_thickness_um
    assert t.shape == case.shape and t.dtype == np.float32 and not t.flags.writeable
    inside = case.craniectomy
    assert 1500.0 <= float(t.min()) and float(t.max()) <= 4500.0
    z = case.truth.surface_z_um
    crowns = inside & (z > np.percentile(z[inside], 90))
    grooves = inside & (z < np.percentile(z[inside], 10))
    assert t[crowns].mean() > t[grooves].mean() + 500.0
    assert np.corrcoef(z[inside], t[inside])[0, 1] > 0.99  # monotone in height (clipped)
    assert np.array_equal(t, cortex_thickness(z))


def test_thickness_map_can_be_given_and_must_fit_the_image():
    case = ip.synthetic_cortex(0, shape=(128, 128))
    given = np.full(case.shape, 3000.0, np.float32)
    assert replace(case, cortex_thickness_um=given).cortex_thickness_um.max() == 3000.0
    with pytest.raises(
        ValueError, match=r"cortex_thickness_um must have the image shape \(128, 128\)"
    ):
        replace(case, cortex_thickness_um=np.ones((4, 4), np.float32))
