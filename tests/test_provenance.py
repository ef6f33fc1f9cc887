"""Provenance inside every file: round-trips, other tools read it, verify catches retouching."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw

from artgan.errors import ModelNotFound
from artgan.provenance import DIGITAL_SOURCE_TYPE, make_record, read_record, save_image
from artgan.render import render_series
from artgan.run import load_model
from artgan.verify import verify

from .test_render import series_cfg


def sample_record(**extra):
    return make_record(title="Portrait of Nobody", artist="Ada Lovelace", year=2026, seed=42, psi=0.7,
                       model="ab" * 32, step=1200, style="belamy", **extra)  # fmt: skip


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif", "webp"])
def test_record_round_trips(tmp_path, fmt):
    image = Image.new("RGB", (64, 64), (120, 80, 40))
    path = tmp_path / f"picture.{fmt}"
    save_image(image, path, sample_record())
    record = read_record(path)
    assert record["seed"] == 42 and record["psi"] == 0.7 and record["step"] == 1200
    assert record["title"] == "Portrait of Nobody" and record["artist"] == "Ada Lovelace"
    assert record["model"] == "ab" * 32 and record["style"] == "belamy" and record["artgan"]


def test_png_levels_are_lossless_and_compress(tmp_path):
    gradient = np.linspace(0, 255, 256, dtype=np.uint8)
    pixels = np.stack(np.broadcast_arrays(gradient[None, :], gradient[:, None], 255 - gradient[None, :]), axis=-1)
    sizes = {}
    for level in (0, 1, 9):
        path = tmp_path / f"level{level}.png"
        _, sizes[level] = save_image(Image.fromarray(pixels), path, sample_record(), png_compress=level)
        with Image.open(path) as image:
            assert np.array_equal(np.asarray(image), pixels) and read_record(path)["seed"] == 42
    assert sizes[9] <= sizes[1] < sizes[0] / 2


def test_record_survives_png_to_tiff_to_jpeg(tmp_path):
    png = tmp_path / "a.png"
    save_image(Image.new("RGB", (32, 32), "red"), png, sample_record())
    tif = tmp_path / "a.tif"
    save_image(Image.open(png), tif, read_record(png))
    jpg = tmp_path / "a.jpg"
    save_image(Image.open(tif), jpg, read_record(tif))
    assert read_record(jpg)["seed"] == 42 and read_record(jpg)["model"] == "ab" * 32


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed (apt package libimage-exiftool-perl)")
@pytest.mark.parametrize("fmt", ["png", "jpg", "tif", "webp"])
def test_exiftool_reads_title_creator_and_source_type(tmp_path, fmt):
    path = tmp_path / f"picture.{fmt}"
    save_image(Image.new("RGB", (64, 64), "blue"), path, sample_record())
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-dc:Title", "-XMP-dc:Creator", "-XMP-iptcExt:DigitalSourceType", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    tags = json.loads(out.stdout)[0]
    assert tags["Title"] == "Portrait of Nobody"
    assert tags["Creator"] == "Ada Lovelace"
    assert tags["DigitalSourceType"] == DIGITAL_SOURCE_TYPE


def test_files_without_a_record(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert read_record(plain) is None
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    assert read_record(text) is None


def test_verify_passes_untouched_and_fails_retouched(tmp_path, tiny_run):
    model = load_model(tiny_run)
    cfg = series_cfg(model, size=128, signature="formula", artist="Ada")
    out = tmp_path / "series"
    render_series(model, [11], out, cfg)
    original = out / "seed-0000011.png"
    verdict = verify(original, [tiny_run.parent])
    assert verdict.matches and verdict.max_diff <= 2

    retouched = tmp_path / "retouched.png"
    image = Image.open(original).convert("RGB")
    ImageDraw.Draw(image).rectangle((40, 40, 60, 60), fill=(255, 0, 255))
    save_image(image, retouched, read_record(original))
    verdict = verify(retouched, [tiny_run.parent])
    assert not verdict.matches and verdict.max_diff > 100

    one_pixel = tmp_path / "one-pixel.png"
    pixels = np.asarray(Image.open(original).convert("RGB")).copy()
    pixels[64, 64, 0] = (int(pixels[64, 64, 0]) + 100) % 256
    save_image(Image.fromarray(pixels), one_pixel, read_record(original))
    assert not verify(one_pixel, [tiny_run.parent]).matches

    with pytest.raises(ModelNotFound):
        verify(original, [tmp_path / "nowhere"])
