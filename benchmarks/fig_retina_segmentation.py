"""Draw docs/img/retina_segmentation.png: segment_vessels on skimage.data.retina().

The fundus photograph (1411 x 1411 px, about 10 um/px) with the vessel mask and the
centreline graph overlaid, the vesselness map, and the avoidance map: allowed, forbidden
by a vessel's clearance, and forbidden because a 30 um vessel could hide there unseen.

    .venv/bin/python benchmarks/fig_retina_segmentation.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data  # noqa: E402

import insertion_planner as ip  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "retina_segmentation.png"


def main() -> None:
    image = data.retina()
    vm = ip.segment_vessels(image, pixel_size_um=10.0)
    am = ip.build_avoidance_map(vm)
    fig, ax = plt.subplots(1, 4, figsize=(20, 5.4), constrained_layout=True)
    ax[0].imshow(image)
    ax[0].set_title("skimage.data.retina() (~10 um/px)")
    overlay = image.astype(np.float32) / 255.0 * 0.55
    overlay[vm.mask] = (0.1, 0.95, 1.0)
    ax[1].imshow(overlay)
    for u, v in vm.graph.edges():
        (r0, c0), (r1, c1) = vm.graph.nodes[u]["rc"], vm.graph.nodes[v]["rc"]
        ax[1].plot([c0, c1], [r0, r1], color="#ff3b30", lw=0.5)
    ax[1].set_title(
        f"mask ({100 * vm.vessel_fraction:.1f} % of image) and centreline graph "
        f"({vm.graph.number_of_nodes()} nodes)"
    )
    im = ax[2].imshow(vm.vesselness, cmap="magma", vmin=0, vmax=1)
    ax[2].set_title("vesselness")
    fig.colorbar(im, ax=ax[2], shrink=0.8)
    allowed, blind = np.asarray(am.allowed), np.asarray(am.undetectable)
    seen = np.isfinite(vm.detectable_diameter_um)
    rgb = np.zeros(image.shape[:2] + (3,), np.float32)
    rgb[seen & ~allowed] = (0.55, 0.1, 0.1)  # a vessel's clearance
    rgb[blind] = (1.0, 0.6, 0.1)  # a 30 um vessel could hide unseen
    rgb[~seen] = (0.25, 0.25, 0.25)  # nothing seen: unlit, no vessel contrast
    rgb[allowed] = (0.2, 0.8, 0.3)
    ax[3].imshow(rgb)
    ax[3].set_title(
        f"allowed {100 * allowed.mean():.1f} % (green); clearance (red); "
        f"could hide a 30 um vessel {100 * blind.mean():.1f} % (orange); unseen (grey)",
        fontsize=9,
    )
    for a in ax:
        a.set_axis_off()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
