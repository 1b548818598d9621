"""A new user's trial: ordinary files from ordinary cameras and viewers, through the CLI.

Every input is built in ``tmp_path`` from ``synthetic_cortex`` (whose ``truth.mask`` is the
true vessel mask) or from the shared cases in ``../shared/cases``. A written plan must be
safe: every site at least its ``required_clearance_um`` from the true vessels (distance to
the nearest true vessel pixel, minus one pixel, times the pixel size: the rule of
``../shared/tools/check_cases.py``). A refusal is one line on stderr, exit status 2, no
traceback, nothing written. Tests marked ``xfail(strict=True)`` record what fails today.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

import insertion_planner as ip
from insertion_planner.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
PX = 12.0


def _shared(name: str) -> Path:
    p = SHARED / name
    if not p.exists():
        pytest.skip(f"shared case {name} not present")
    return p


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it (a fresh process: real stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "insertion_planner.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _unsafe(plan: dict, mask: np.ndarray, px: float = PX, offset=(0, 0)) -> list:
    """Sites closer than their required clearance to the true vessels (check_cases rule)."""
    dist = ndi.distance_transform_edt(~mask)
    bad = []
    for t in plan["threads"]:
        r, c = (int(round(v)) for v in t["pixel"])
        have = max(dist[r + offset[0], c + offset[1]] - 1.0, 0.0) * px
        if have < t["required_clearance_um"]:
            bad.append((t["id"], (r, c), round(float(have), 1), t["required_clearance_um"]))
    return bad


def _refused(r: subprocess.CompletedProcess[str], out: Path) -> None:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-800:]
    assert not out.exists()


def _grey(rgb: np.ndarray) -> np.ndarray:
    a = rgb.astype(np.float64)
    return np.clip(0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2], 0, 255)


@pytest.fixture(scope="module")
def cortex512():
    """synth --seed 10 --shape 512 512: the image a user gets, and its true vessel mask."""
    case = ip.synthetic_cortex(10, shape=(512, 512))
    return case.image, np.asarray(case.truth.mask, bool)


# --- unsafe plans ---------------------------------------------------------------------------


def test_inverted_grey_left_at_dark_polarity_is_refused(tmp_path, cortex512):
    image, mask = cortex512
    src = tmp_path / "fluo.png"
    Image.fromarray(np.round(255 - _grey(image)).astype(np.uint8)).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--out", out)
    if out.exists():
        assert not _unsafe(json.loads(out.read_text()), mask)
    _refused(r, out)


def test_inverted_grey_declared_bright_is_safe(tmp_path, cortex512):
    image, mask = cortex512
    src = tmp_path / "fluo.png"
    Image.fromarray(np.round(255 - _grey(image)).astype(np.uint8)).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--vessel-polarity", "bright", "--out", out)
    assert r.returncode in (0, 2), r.stderr
    if out.exists():
        assert not _unsafe(json.loads(out.read_text()), mask)


def test_dark_vessel_photo_declared_bright_is_refused(tmp_path, cortex512):
    image, mask = cortex512
    src = tmp_path / "photo.png"
    Image.fromarray(image).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--vessel-polarity", "bright", "--out", out)
    if out.exists():
        assert not _unsafe(json.loads(out.read_text()), mask)
    _refused(r, out)


def test_shared_cortex_declared_bright_is_refused(tmp_path):
    out = tmp_path / "plan.json"
    r = _cli("plan", _shared("cortex_rgb_256.png"), "--pixel-size-um", PX,
             "--vessel-polarity", "bright", "--out", out)  # fmt: skip
    _refused(r, out)


def test_icg_like_12bit_tiff_left_at_dark_is_refused(tmp_path, cortex512):
    import tifffile

    image, _ = cortex512
    inv = 1.0 - _grey(image) / 255.0
    lo = np.percentile(inv, 5)
    icg = np.clip((inv - lo) / (inv.max() - lo), 0, 1) ** 2
    src = tmp_path / "icg.tif"
    tifffile.imwrite(src, np.round(icg * 4095 * 0.9).astype(np.uint16), compression="lzw")
    out = tmp_path / "plan.json"
    _refused(_cli("plan", src, "--pixel-size-um", PX, "--out", out), out)


def test_cropped_photo_keeps_clearance_from_what_lies_beyond_the_frame(tmp_path):
    full = np.asarray(Image.open(_shared("cortex_rgb_256.png")).convert("RGB"))
    mask = np.load(_shared("vessels_mask_256.npy"))
    src = tmp_path / "crop.png"
    Image.fromarray(full[:128, :128]).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--threads", 16, "--out", out)
    assert r.returncode == 0, r.stderr
    assert not _unsafe(json.loads(out.read_text()), mask)


def test_transparent_holes_over_vessels_are_never_planned_and_plan_is_safe(tmp_path, cortex512):
    image, mask = cortex512
    h, w = mask.shape
    box = np.zeros_like(mask)
    box[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    hide = ndi.binary_dilation(mask & box, iterations=2) & box  # every vessel there hidden
    src = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([image, np.where(hide, 0, 255).astype(np.uint8)])).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--out", out)
    assert r.returncode == 0, r.stderr
    plan = json.loads(out.read_text())
    assert not [t for t in plan["threads"] if hide[tuple(int(v) for v in t["pixel"])]]
    assert not _unsafe(plan, mask)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_camera_jpeg_with_exif_orientation_and_region_drawn_on_the_display(
    tmp_path, cortex512, orientation, capsys
):
    image, mask = cortex512
    image, mask = image[:, 64:448], mask[:, 64:448]  # not square: a transpose shows
    h, w = mask.shape
    yy, xx = np.mgrid[:h, :w]
    drawn = ((yy - 170) / 110.0) ** 2 + ((xx - 130) / 90.0) ** 2 < 1
    stored = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1],
              4: lambda a: a[::-1], 5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, 1),
              7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, -1)}  # fmt: skip
    im = Image.fromarray(np.ascontiguousarray(stored[orientation](image)))
    exif = im.getexif()
    exif[0x0112] = orientation
    src = tmp_path / "photo.jpg"
    im.save(src, quality=92, exif=exif.tobytes())
    region = tmp_path / "region.png"
    Image.fromarray((drawn * 255).astype(np.uint8)).save(region)
    out = tmp_path / "plan.json"
    rc = main(["plan", str(src), "--pixel-size-um", "12", "--region", str(region),
               "--threads", "16", "--out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    plan = json.loads(out.read_text())
    assert plan["image"]["shape"] == [h, w]
    assert plan["threads"]
    assert all(drawn[tuple(int(v) for v in t["pixel"])] for t in plan["threads"])
    assert not _unsafe(plan, mask)


@pytest.mark.parametrize("bits", [10, 12, 14])
def test_camera_bit_depth_in_lzw_big_endian_tiff_is_planned_safely(tmp_path, cortex512, bits):
    import tifffile

    image, mask = cortex512
    top = 2**bits - 1
    data = np.round(_grey(image) / 255.0 * top * 0.95).astype(np.uint16)
    src = tmp_path / "camera.tif"
    tifffile.imwrite(src, data, compression="lzw", byteorder=">")
    out = tmp_path / "plan.json"
    assert ip.read_image(src)[1]["bit_depth"] == bits
    r = _cli("plan", src, "--pixel-size-um", PX, "--out", out)
    assert r.returncode == 0, r.stderr
    assert not _unsafe(json.loads(out.read_text()), mask)


# --- blind plans ------------------------------------------------------------------------------


def _gradient() -> np.ndarray:
    return np.tile((np.arange(512) / 512 * 255).astype(np.uint8), (512, 1))


def _flat_field() -> np.ndarray:
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[:512, :512]
    ff = np.clip(0.9 - 0.5 * (np.hypot(yy - 256, xx - 256) / 256) ** 2, 0, 1)
    a = np.stack([ff * 0.9, ff * 0.6, ff * 0.55], -1) + rng.normal(0, 0.01, (512, 512, 3))
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("make", [_gradient, _flat_field], ids=["gradient", "flat_field"])
def test_frame_without_any_vessel_is_refused(tmp_path, make):
    src = tmp_path / "frame.png"
    Image.fromarray(make()).save(src)
    out = tmp_path / "plan.json"
    _refused(_cli("plan", src, "--pixel-size-um", PX, "--threads", 8, "--out", out), out)


def test_strip_too_small_to_show_a_vessel_is_refused(tmp_path, cortex512):
    image, _ = cortex512
    src = tmp_path / "strip.png"
    Image.fromarray(np.ascontiguousarray(image[250:253])).save(src)
    out = tmp_path / "plan.json"
    _refused(_cli("plan", src, "--pixel-size-um", PX, "--threads", 8, "--out", out), out)


# --- crashes, tracebacks, more than one line ---------------------------------------------------


@pytest.mark.parametrize("px", ["1", "2"])
def test_small_pixel_size_inside_the_range_never_crashes(tmp_path, px):
    src = tmp_path / "cortex.png"
    Image.fromarray(ip.synthetic_cortex(0, shape=(256, 256)).image).save(src)
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", px, "--threads", 8, "--out", out)
    assert "Traceback" not in r.stderr, r.stderr[-600:]
    assert r.returncode in (0, 2)
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 1


def test_very_dark_frame_refusal_is_one_line(tmp_path):
    case = ip.synthetic_cortex(8, shape=(512, 512), imaging="random")
    src = tmp_path / "dark.png"
    Image.fromarray((case.image >> 8).astype(np.uint8)[100:300, 100:300]).save(src)
    out = tmp_path / "plan.json"
    _refused(_cli("plan", src, "--pixel-size-um", PX, "--out", out), out)


def test_huge_png_header_is_refused_at_once_in_one_line(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    src = tmp_path / "huge.png"
    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 2, 0, 0, 0)
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                    + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))  # fmt: skip
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--out", out)
    _refused(r, out)
    assert "12000" in r.stderr and "8192" in r.stderr


@pytest.mark.parametrize("kind", ["apng", "gif", "tiff"])
def test_several_frames_are_refused_with_their_count(tmp_path, kind):
    import tifffile

    a = ip.synthetic_cortex(0, shape=(128, 128)).image
    src = tmp_path / f"frames.{ {'apng': 'png', 'gif': 'gif', 'tiff': 'tif'}[kind] }"
    if kind == "tiff":
        tifffile.imwrite(src, np.stack([a, a[::-1]]), photometric="rgb")
    else:
        Image.fromarray(a).save(src, save_all=True, append_images=[Image.fromarray(a[::-1])])
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--pixel-size-um", PX, "--out", out)
    _refused(r, out)
    assert "2 frames" in r.stderr


# --- outputs over inputs ------------------------------------------------------------------------


@pytest.fixture()
def small_plan(tmp_path):
    img = tmp_path / "img.png"
    Image.fromarray(ip.synthetic_cortex(0, shape=(128, 128)).image).save(img)
    plan = tmp_path / "plan.json"
    r = _cli("plan", img, "--pixel-size-um", PX, "--threads", 4, "--out", plan)
    assert r.returncode == 0, r.stderr
    return img, plan


@pytest.mark.parametrize("over", ["plan", "image"])
def test_simulate_never_writes_over_its_inputs(small_plan, over):
    img, plan = small_plan
    target = {"plan": plan, "image": img}[over]
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    r = _cli("simulate", plan, "--image", img, "--out", target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_plan_out_through_a_hard_link_to_image_is_refused(tmp_path):
    img = tmp_path / "img.png"
    Image.fromarray(ip.synthetic_cortex(0, shape=(128, 128)).image).save(img)
    link = tmp_path / "link.png"
    link.hardlink_to(img)
    before = img.read_bytes()
    r = _cli("plan", link, "--pixel-size-um", PX, "--out", img, "--force")
    assert r.returncode == 2 and "IMAGE" in r.stderr
    assert img.read_bytes() == before


# --- plan files edited by hand ---------------------------------------------------------------


def test_plan_moved_onto_vessel_with_its_vessel_segments_deleted_is_rejected_with_image(
    tmp_path,
):
    from insertion_planner.plan import _checksum

    data = json.loads(_shared("plan_thread_moved_onto_vessel.json").read_text())
    data["geometry"]["vessel_segments_um"] = []  # the stored vessels can be edited too
    data["checksum"] = _checksum(data)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    report = tmp_path / "report.json"
    r = _cli("simulate", edited, "--image", _shared("cortex_rgb_256.png"), "--out", report)
    assert r.returncode == 1, r.stderr
    rec = [i for i in json.loads(report.read_text())["insertions"] if i["thread_id"] == 0]
    assert rec and not any(i["ok"] for i in rec)


# --- errors name the flag the user typed -------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["plan", "{img}", "--pixel-size-um", "12", "--threads", "0"], "--threads"),
        (["plan", "{img}", "--pixel-size-um", "12", "--margin-um", "-5"], "--margin-um"),
        (["plan", "{img}", "--pixel-size-um", "12", "--spacing-um", "0"], "--spacing-um"),
        (["plan", "{img}", "--pixel-size-um", "0"], "--pixel-size-um"),
        (["plan", "{img}", "--pixel-size-um", "0.012"], "--pixel-size-um"),
        (["plan", "{img}", "--pixel-size-um", "12", "--robot", "nosuch"], "--robot"),
        (["simulate", "{plan}", "--monte-carlo", "-1"], "--monte-carlo"),
        (["simulate", "{plan}", "--failure-rate", "2"], "--failure-rate"),
        (["simulate", "{plan}", "--seed", "-1"], "--seed"),
        (["synth", "--seed", "0", "--shape", "64", "64", "--out", "{img}"], "--out"),
        (["demo", "--size", "100", "--out", "{tmp}/d"], "--size"),
    ],
)
def test_errors_name_the_option_typed(tmp_path, small_plan, capsys, argv, flag):
    img, plan = small_plan
    fill = {"img": str(img), "plan": str(plan), "tmp": str(tmp_path)}
    argv = [a.format(**fill) for a in argv]
    if argv[0] == "plan":
        argv += ["--out", str(tmp_path / "out.json")]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert flag in err, err


# --- reading ordinary files ---------------------------------------------------------------------


def test_tiff_with_a_thumbnail_page_is_read(tmp_path):
    import tifffile

    a = ip.synthetic_cortex(0, shape=(128, 128)).image
    src = tmp_path / "with_thumb.tif"
    with tifffile.TiffWriter(src) as tw:
        tw.write(a, photometric="rgb")
        tw.write(a[::8, ::8], photometric="rgb", subfiletype=1)
    image, _ = ip.read_image(src)
    assert image.shape == a.shape


def test_ycbcr_tiff_is_read_as_its_colours_or_refused(tmp_path):
    a = ip.synthetic_cortex(0, shape=(128, 128)).image
    src = tmp_path / "ycbcr.tif"
    Image.fromarray(a).convert("YCbCr").save(src)
    try:
        image, _ = ip.read_image(src)
    except ValueError:
        return
    assert image.shape == a.shape
    assert np.abs(image.astype(int) - a.astype(int)).mean() < 4


def test_npy_with_five_channels_is_refused_naming_the_channels(tmp_path):
    src = tmp_path / "five.npy"
    np.save(src, np.zeros((64, 64, 5), np.uint8))
    with pytest.raises(ValueError) as err:
        ip.read_image(src)
    assert "frames" not in str(err.value) and "5" in str(err.value)


def test_ome_tiff_pixel_size_in_mm_is_used_and_recorded(tmp_path, cortex512):
    import tifffile

    image, mask = cortex512
    src = tmp_path / "scope.ome.tif"
    data = np.round(_grey(image) / 255 * 4095).astype(np.uint16)
    tifffile.imwrite(src, data, metadata={"PhysicalSizeX": 0.012, "PhysicalSizeY": 0.012,
                                          "PhysicalSizeXUnit": "mm", "PhysicalSizeYUnit": "mm",
                                          "axes": "YX"})  # fmt: skip
    out = tmp_path / "plan.json"
    r = _cli("plan", src, "--out", out)
    assert r.returncode == 0, r.stderr
    plan = json.loads(out.read_text())
    assert plan["image"]["pixel_size_um"] == pytest.approx(12.0)
    assert plan["provenance"]["parameters"]["pixel_size_source"] == "ome-tiff"
    assert not _unsafe(plan, mask)


@pytest.mark.parametrize("damage", ["zeroed", "random"])
def test_jpeg_damaged_in_the_middle_is_refused(tmp_path, cortex512, damage):
    image, _ = cortex512
    good = tmp_path / "good.jpg"
    Image.fromarray(image).save(good, quality=90)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 200] = (
        bytes(200) if damage == "zeroed" else np.random.default_rng(7).bytes(200)
    )
    src = tmp_path / "damaged.jpg"
    src.write_bytes(bytes(data))
    out = tmp_path / "plan.json"
    _refused(_cli("plan", src, "--pixel-size-um", PX, "--threads", 4, "--out", out), out)
