"""Corpus making: every kind of file an artist's folder holds, decoded to the right pixels or rejected with a reason."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from artgan.config import CorpusConfig
from artgan.corpus import load_images, make_corpus
from artgan.errors import CorpusError, UsageError

from .conftest import make_folder, painting


def corpus_cfg(**changes) -> CorpusConfig:
    cfg = CorpusConfig(size=32, min_images=1)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def entry(out, name):
    files = json.loads((out / "corpus.json").read_text())["files"]
    return next(f for f in files if f["source"] == name)


def kept_pixels(out, name) -> np.ndarray:
    file = entry(out, name)["images"][0]
    return np.asarray(Image.open(out / file).convert("RGB")).astype(int)


def test_modes_become_rgb_with_alpha_on_the_matte(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rgba = Image.new("RGBA", (40, 40), (255, 0, 0, 0))  # fully transparent red
    rgba.paste((0, 0, 255, 255), (10, 10, 30, 30))
    rgba.save(src / "rgba.png")
    grey_alpha = Image.new("LA", (40, 40), (0, 0))  # transparent black ...
    grey_alpha.paste((200, 255), (10, 10, 30, 30))  # ... around an opaque light grey square
    grey_alpha.save(src / "la.png")
    palette = Image.new("P", (40, 40), 1)
    palette.paste(0, (10, 10, 30, 30))  # an opaque black square on a transparent ground
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.info["transparency"] = 1
    palette.save(src / "palette.png", transparency=1)
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(src / "cmyk.jpg", quality=100)  # red in CMYK
    grey16 = Image.fromarray(np.full((40, 40), 65535 // 2, np.uint16))
    grey16.save(src / "grey16.png")
    out = make_corpus(src, tmp_path / "out", corpus_cfg(matte="#00ff00")).path

    rgba_px = kept_pixels(out, "rgba.png")
    assert tuple(rgba_px[0, 0]) == (0, 255, 0)  # transparency shows the matte
    assert tuple(rgba_px[16, 16]) == (0, 0, 255)
    assert tuple(kept_pixels(out, "la.png")[5, 5]) == (0, 255, 0)
    assert tuple(kept_pixels(out, "la.png")[16, 16]) == (200, 200, 200)
    assert tuple(kept_pixels(out, "palette.png")[5, 5]) == (0, 255, 0)
    assert tuple(kept_pixels(out, "palette.png")[16, 16]) == (0, 0, 0)
    cmyk = kept_pixels(out, "cmyk.jpg")[16, 16]
    assert cmyk[0] > 200 and cmyk[1] < 60 and cmyk[2] < 60
    grey = kept_pixels(out, "grey16.png")[16, 16]
    assert all(abs(v - 127) <= 2 for v in grey)


def test_exif_orientation_is_applied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    image = Image.new("RGB", (64, 32), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 32, 32))  # left half black
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display: the black half ends up on top
    image.save(src / "rotated.jpg", exif=exif, quality=100)
    out = make_corpus(src, tmp_path / "out", corpus_cfg(fit="pad", matte="red")).path
    pixels = kept_pixels(out, "rotated.jpg")
    assert pixels[4, 16].sum() < 60  # top is black
    assert pixels[28, 16].sum() > 700  # bottom white


def test_bad_files_are_rejected_with_reasons(tmp_path):
    src = make_folder(tmp_path / "src", count=3)
    good = io.BytesIO()
    painting(9).save(good, format="JPEG")
    (src / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (src / "empty.png").write_bytes(b"")
    (src / "notes.png").write_text("not a picture")
    (src / "readme.txt").write_text("hello")
    (src / ".DS_Store").write_bytes(b"\0\0")
    (src / "Thumbs.db").write_bytes(b"\0")
    Image.new("RGB", (20, 13), "blue").save(src / "tiny.png")
    nested = src / "deeper" / "still"
    nested.mkdir(parents=True)
    painting(5).save(nested / "UPPER.PNG")
    painting(6).save(nested / "Mixed.JpG")
    report = make_corpus(src, tmp_path / "out", corpus_cfg(size=64))
    reasons = dict(report.rejected)
    assert "truncated" in reasons["truncated.jpg"] or "broken" in reasons["truncated.jpg"]
    assert reasons["empty.png"] == "empty file"
    assert "not an image" in reasons["notes.png"]
    assert "too small" in reasons["tiny.png"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"readme.txt", ".DS_Store", "Thumbs.db"}
    assert entry(report.path, "deeper/still/UPPER.PNG")["status"] == "kept"
    assert entry(report.path, "deeper/still/Mixed.JpG")["status"] == "kept"
    assert report.kept == 5
    assert len(list((report.path / "images").glob("*.png"))) == 5


def test_strict_stops_at_the_first_bad_file_and_writes_nothing(tmp_path):
    src = make_folder(tmp_path / "src", count=3)
    (src / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with pytest.raises(CorpusError, match="zz-broken.png"):
        make_corpus(src, tmp_path / "out", corpus_cfg(), strict=True)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_duplicates_fits_and_sizes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    painting(1, 96, 48).save(src / "wide.png")
    painting(1, 96, 48).save(src / "wide-copy.png")
    painting(2, 40, 100).save(src / "tall.png")
    center = make_corpus(src, tmp_path / "center", corpus_cfg())
    assert center.duplicates == 1 and center.images == 2
    crops = make_corpus(src, tmp_path / "crops", corpus_cfg(fit="crops"))
    assert crops.images > 2  # panoramas give several overlapping squares
    for png in (tmp_path / "crops" / "images").glob("*.png"):
        assert Image.open(png).size == (32, 32)
    padded = make_corpus(src, tmp_path / "pad", corpus_cfg(fit="pad", matte="black"))
    wide = kept_pixels(padded.path, "wide-copy.png")  # sorted first, so the copy is the one kept
    assert wide[0].sum() == 0 and wide[-1].sum() == 0  # letterbox bars in the matte colour


def test_trim_auto_removes_a_letterbox(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    canvas = Image.new("RGB", (100, 100), "white")
    canvas.paste(painting(3, 60, 90).resize((60, 90)), (20, 5))
    canvas.save(src / "letterboxed.png")
    out = make_corpus(src, tmp_path / "out", corpus_cfg(trim="auto")).path
    pixels = kept_pixels(out, "letterboxed.png")
    assert (pixels > 245).all(axis=2).mean() < 0.02  # no white bars left


def test_fingerprint_is_stable_and_load_gives_uint8(tmp_path, image_folder):
    a = make_corpus(image_folder, tmp_path / "a", corpus_cfg())
    b = make_corpus(image_folder, tmp_path / "b", corpus_cfg())
    assert a.fingerprint == b.fingerprint
    data, fingerprint = load_images(a.path, 32, min_images=1)
    assert data.dtype.is_floating_point is False and tuple(data.shape) == (12, 3, 32, 32)
    assert fingerprint == a.fingerprint


def test_remaking_a_corpus_says_what_it_replaced(tmp_path, capsys):
    out = tmp_path / "corpus"
    make_corpus(make_folder(tmp_path / "first", count=3), out, corpus_cfg())
    capsys.readouterr()
    make_corpus(make_folder(tmp_path / "second", count=5), out, corpus_cfg(size=64))
    said = capsys.readouterr().err
    assert "replaced the corpus" in said and "3 images of 'first' at 32 px" in said
    assert len(list((out / "images").glob("*.png"))) == 5


def test_folder_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        make_corpus(tmp_path / "missing", tmp_path / "out", corpus_cfg())
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(CorpusError, match="no images"):
        make_corpus(empty, tmp_path / "out", corpus_cfg())
    assert not (tmp_path / "out").exists()
    with pytest.raises(CorpusError, match="need at least 8"):
        make_corpus(make_folder(tmp_path / "few", count=3), tmp_path / "out", CorpusConfig(size=32))
    with pytest.raises(UsageError, match="power of two"):
        make_corpus(tmp_path / "few", tmp_path / "out", corpus_cfg(size=100))
