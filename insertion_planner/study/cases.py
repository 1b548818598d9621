"""What one case of a study is: a synthetic cortex by seed, or an image file (with its truth).

A :class:`StudyCase` is a small, picklable description; the image is made or read on the
worker that runs the case, so nothing heavy crosses the network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._validation import check_choice, check_int_range, check_positive
from ..config import MAX_THREADS, DuraMode

__all__ = [
    "StudyCase",
    "synthetic_cases",
    "image_cases",
    "IMAGE_SUFFIXES",
    "TRUTH_SUFFIXES",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy", ".bmp", ".webp", ".gif",
                  ".ppm", ".jp2")  # fmt: skip
"""File suffixes taken as images in a folder (the kinds :func:`~insertion_planner.read_image` reads)."""

TRUTH_SUFFIXES = (".npz", ".npy", ".png")
"""Suffixes of ground-truth files, matched to an image by file stem, in this order of
preference. ``.npz`` holds ``mask`` and optionally ``radius_um`` and ``field`` (see
:func:`~insertion_planner.study.task.read_truth_file`)."""

IMAGINGS = ("default", "random")
_MAX_SIDE = 8192


@dataclass(frozen=True)
class StudyCase:
    """One case of a study: where its image comes from and how it is planned.

    Exactly one of ``seed`` (a synthetic cortex, ``ip.synthetic_cortex(seed, ...)``, whose
    ground truth scores the plan) and ``image`` (a file read with ``ip.read_image``; scored
    when ``truth`` names a mask) is given. Build them with :meth:`synthetic`,
    :meth:`from_image`, :func:`synthetic_cases` or :func:`image_cases`.

    Attributes
    ----------
    seed : int or None
        Seed of the synthetic cortex.
    image : str or None
        Path of an image file. Workers on other machines must see the same path.
    truth : str or None
        Path of its ground truth: ``.npy`` (bool or 0/1, (H, W)), ``.png`` (drawn pixels
        brighter than half, as ``--region`` masks are read), or ``.npz`` with ``mask`` and
        optionally ``radius_um`` (true vessel radius per pixel: only vessels of at least the
        hazard diameter then count as hazards) and ``field`` (where the truth is known).
    region : str or None
        Image cases: a mask file of the target region (read as ``--region``); None: the
        planner's default disc.
    dura_mode : {"durectomy", "transdural"}
    shape : (int, int) or None
        Synthetic image shape (H, W), 64 to 8192 px a side; None for image files.
    pixel_size_um : float or None
        Pixel side, micrometres. None: 12 um for a synthetic case; for an image file, the
        TIFF / OME-TIFF metadata's (a case whose file records none fails with that error).
    imaging : {"default", "random"}
        Synthetic camera: the original appearance, or ``Imaging.random`` drawn from the seed
        (with the abundant 20-40 um vessels).
    robot : str
        Robot preset (or robot JSON file) for planning and simulation.
    n_threads : int
        Threads asked for, 1 to 64.
    margin_um : float or None
        Base vessel margin; None: the default ``SafetyMargins`` (50 um, Kozai et al. 2010).
    vessel_polarity : {"dark", "bright"}
    name : str
        Unique name of the case in the study's table; default ``seed<seed>-<dura_mode>`` or
        ``<image stem>-<dura_mode>``.

    Examples
    --------
    >>> StudyCase.synthetic(7, dura_mode="transdural", shape=(512, 512)).name
    'seed7-transdural'
    >>> StudyCase.synthetic(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be between 0 and 4294967295, got -1
    """

    seed: int | None = None
    image: str | None = None
    truth: str | None = None
    region: str | None = None
    dura_mode: str = "durectomy"
    shape: tuple[int, int] | None = (1024, 1024)
    pixel_size_um: float | None = None
    imaging: str = "default"
    robot: str = "R1-2019"
    n_threads: int = MAX_THREADS
    margin_um: float | None = None
    vessel_polarity: str = "dark"
    name: str = field(default="")

    def __post_init__(self) -> None:
        if (self.seed is None) == (self.image is None):
            raise ValueError(
                f"a StudyCase needs exactly one of seed and image, got seed={self.seed!r}, "
                f"image={self.image!r}"
            )
        mode = DuraMode.parse(self.dura_mode).value
        object.__setattr__(self, "dura_mode", mode)
        if self.seed is not None:
            object.__setattr__(
                self, "seed", check_int_range(self.seed, name="seed", low=0, high=2**32 - 1)
            )
            if self.truth is not None or self.region is not None:
                raise ValueError(
                    "truth and region are only for image cases (a synthetic case has its own)"
                )
            if self.shape is None or len(tuple(self.shape)) != 2:
                raise ValueError(f"shape must be (H, W), got {self.shape!r}")
            shape = tuple(
                check_int_range(s, name="shape", low=64, high=_MAX_SIDE) for s in self.shape
            )
            object.__setattr__(self, "shape", shape)
            if self.pixel_size_um is None:
                object.__setattr__(self, "pixel_size_um", 12.0)
            check_choice(self.imaging, name="imaging", choices=IMAGINGS)
        else:
            object.__setattr__(self, "image", os.fspath(self.image))  # type: ignore[arg-type]
            for name in ("truth", "region"):
                if getattr(self, name) is not None:
                    object.__setattr__(self, name, os.fspath(getattr(self, name)))
            object.__setattr__(self, "shape", None)
            object.__setattr__(self, "imaging", "default")
        if self.pixel_size_um is not None:
            object.__setattr__(
                self, "pixel_size_um", check_positive(self.pixel_size_um, name="pixel_size_um")
            )
        if not isinstance(self.robot, str) or not self.robot:
            raise TypeError(f"robot must be a preset name or a robot JSON file, got {self.robot!r}")
        object.__setattr__(
            self, "n_threads", check_int_range(self.n_threads, name="n_threads", low=1, high=MAX_THREADS)
        )  # fmt: skip
        if self.margin_um is not None:
            object.__setattr__(
                self, "margin_um", check_positive(self.margin_um, name="margin_um", allow_zero=True)
            )
        check_choice(self.vessel_polarity, name="vessel_polarity", choices=("dark", "bright"))
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {self.name!r}")
        if not self.name:
            stem = f"seed{self.seed}" if self.seed is not None else Path(str(self.image)).stem
            object.__setattr__(self, "name", f"{stem}-{mode}")

    @classmethod
    def synthetic(cls, seed: int, **options: Any) -> StudyCase:
        """A synthetic cortex of ``seed`` (``options``: the other attributes)."""
        return cls(seed=seed, **options)

    @classmethod
    def from_image(
        cls,
        path: str | os.PathLike[str],
        *,
        truth: str | os.PathLike[str] | None = None,
        pixel_size_um: float | None = None,
        **options: Any,
    ) -> StudyCase:
        """An image file, optionally with its true vessel mask (``options``: other attributes)."""
        return cls(
            image=os.fspath(path),
            truth=None if truth is None else os.fspath(truth),
            pixel_size_um=pixel_size_um,
            **options,
        )

    @property
    def source(self) -> str:
        """``"synthetic"`` or ``"image"``."""
        return "synthetic" if self.seed is not None else "image"

    def spec(self) -> str:
        """Everything that decides the case's result, as canonical JSON (the resume key's check)."""
        d = asdict(self)
        d["shape"] = list(self.shape) if self.shape is not None else None
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_spec(cls, text: str) -> StudyCase:
        """The case described by :meth:`spec`."""
        d = json.loads(text)
        if d.get("shape") is not None:
            d["shape"] = tuple(d["shape"])
        return cls(**d)


def _modes(dura_modes: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(dura_modes, str):
        dura_modes = ("durectomy", "transdural") if dura_modes == "both" else (dura_modes,)
    modes = tuple(DuraMode.parse(m, name="dura_modes").value for m in dura_modes)
    if not modes:
        raise ValueError("dura_modes must name at least one dura mode, got none")
    return modes


def synthetic_cases(
    n_seeds: int,
    *,
    dura_modes: str | Sequence[str] = "both",
    first_seed: int = 0,
    shape: tuple[int, int] = (1024, 1024),
    pixel_size_um: float = 12.0,
    imaging: str = "default",
    **options: Any,
) -> list[StudyCase]:
    """Synthetic cases: seeds ``first_seed`` ... ``first_seed + n_seeds - 1``, each in every mode.

    Parameters
    ----------
    n_seeds : int
        Number of seeds (1 or more); the study has ``n_seeds * len(dura_modes)`` cases.
    dura_modes : "both", "durectomy", "transdural" or a sequence of them
    first_seed : int
    shape, pixel_size_um, imaging
        As :func:`~insertion_planner.synthetic_cortex` (``imaging``: "default" or "random").
    **options
        Other :class:`StudyCase` attributes (``robot``, ``n_threads``, ``margin_um``...).

    Returns
    -------
    list of StudyCase
        Seed-major: seed 0 in each mode, then seed 1...

    Examples
    --------
    >>> [c.name for c in synthetic_cases(2, shape=(256, 256))]
    ['seed0-durectomy', 'seed0-transdural', 'seed1-durectomy', 'seed1-transdural']
    """
    n = check_int_range(n_seeds, name="n_seeds", low=1, high=10**7)
    first = check_int_range(first_seed, name="first_seed", low=0, high=2**32 - 1)
    modes = _modes(dura_modes)
    return [
        StudyCase(
            seed=s,
            dura_mode=m,
            shape=shape,
            pixel_size_um=pixel_size_um,
            imaging=imaging,
            **options,
        )  # fmt: skip
        for s in range(first, first + n)
        for m in modes
    ]


def image_cases(
    images: str | os.PathLike[str],
    *,
    truth: str | os.PathLike[str] | None = None,
    regions: str | os.PathLike[str] | None = None,
    dura_modes: str | Sequence[str] = "durectomy",
    pixel_size_um: float | None = None,
    **options: Any,
) -> list[StudyCase]:
    """One case per image file of the folder ``images`` (and per dura mode).

    Files are taken in name order when their suffix is one of :data:`IMAGE_SUFFIXES`
    (hidden files are skipped); a file that turns out not to be an image is still a case,
    recorded with its error. With ``truth``, the file ``<truth>/<stem>.npz`` (else ``.npy``,
    else ``.png``) of each image's stem scores it; an image without one is planned, not
    scored. With ``regions``, ``<regions>/<stem>.png`` (or any image suffix) is the target
    region of the image of that stem (an image without one gets the default disc).

    Raises
    ------
    ValueError
        ``images`` or ``truth`` is not a folder, ``images`` holds no image file, or
        ``truth`` holds no mask named after any image (naming the folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.png").write_bytes(b""), (d / "a.tif").write_bytes(b""), (d / "x.txt").write_text("")
    >>> [c.name for c in image_cases(d)]
    ['a-durectomy', 'b-durectomy']
    """
    folder = _folder(images, name="images")
    files = sorted(
        p for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )  # fmt: skip
    if not files:
        raise ValueError(
            f"images folder {str(folder)!r} holds no image file ({', '.join(IMAGE_SUFFIXES)})"
        )
    masks: dict[str, Path] = {}
    if truth is not None:
        tdir = _folder(truth, name="truth")
        for p in files:
            for suffix in TRUTH_SUFFIXES:
                if (tdir / (p.stem + suffix)).is_file():
                    masks[p.stem] = tdir / (p.stem + suffix)
                    break
        if not masks:
            raise ValueError(
                f"truth folder {str(tdir)!r} holds no mask named after an image "
                f"(<stem>.npz, <stem>.npy or <stem>.png, e.g. {files[0].stem}.npy)"
            )
    region_of: dict[str, Path] = {}
    if regions is not None:
        rdir = _folder(regions, name="regions")
        for p in files:
            found = [
                q for q in sorted(rdir.glob(p.stem + ".*")) if q.suffix.lower() in IMAGE_SUFFIXES
            ]
            if found:
                region_of[p.stem] = found[0]
    modes = _modes(dura_modes)
    stems = [p.stem for p in files]
    cases = []
    for p in files:
        # two images with one stem (a.png, a.tif) keep their suffix in the name
        stem = p.name if stems.count(p.stem) > 1 else p.stem
        t = masks.get(p.stem)
        for m in modes:
            cases.append(
                StudyCase(
                    image=str(p),
                    truth=None if t is None else str(t),
                    region=str(region_of[p.stem]) if p.stem in region_of else None,
                    dura_mode=m,
                    pixel_size_um=pixel_size_um,
                    name=f"{stem}-{m}",
                    **options,
                )  # fmt: skip
            )
    return cases


def _folder(path: str | os.PathLike[str], *, name: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{name} folder {str(p)!r} does not exist")
    if not p.is_dir():
        raise ValueError(f"{name} {str(p)!r} is not a folder")
    return p
