"""The signature: where it lands, which ink it picks, and that it is typeset at the final size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artgan.config import StampConfig
from artgan.errors import UsageError
from artgan.stamp import DARK_INK, FORMULA, LIGHT_INK, Signature, signature_text, stamp


def changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    return (np.asarray(before).astype(int) != np.asarray(after).astype(int)).any(axis=2)


@pytest.mark.parametrize("corner", ["bottom-right", "bottom-left", "top-right", "top-left"])
def test_signature_lands_in_the_requested_corner_only(corner):
    canvas = Image.new("RGB", (400, 400), (200, 190, 170))
    signed = stamp(canvas, Signature(FORMULA), corner)
    rows, cols = np.nonzero(changed(canvas, signed))
    assert len(rows) > 200
    top, left = corner.split("-")
    assert (rows >= 200).all() if top == "bottom" else (rows < 200).all()
    assert (cols >= 200).all() if left == "right" else (cols < 200).all()
    margin = round(400 * StampConfig().margin)
    assert rows.min() >= margin - 1 and rows.max() <= 400 - margin and cols.min() >= margin - 1


def test_ink_contrasts_with_the_corner():
    black = Image.new("RGB", (300, 300), (5, 5, 5))
    white = Image.new("RGB", (300, 300), (250, 250, 250))
    cfg = StampConfig(opacity=1.0)
    on_black = np.asarray(stamp(black, Signature(FORMULA), cfg=cfg))
    on_white = np.asarray(stamp(white, Signature(FORMULA), cfg=cfg))
    assert tuple(on_black.reshape(-1, 3).max(axis=0)) == LIGHT_INK
    assert tuple(on_white.reshape(-1, 3).min(axis=0)) == DARK_INK


def solid_share(image: Image.Image) -> float:
    """Share of the inked pixels that are pure ink (not a soft edge)."""
    pixels = np.asarray(image)
    inked = pixels[(pixels != 255).any(axis=2)]
    return float((inked == np.array(DARK_INK)).all(axis=1).mean())


def test_typeset_at_the_final_size_not_enlarged():
    cfg = StampConfig(opacity=1.0)
    large = stamp(Image.new("RGB", (4096, 4096), "white"), Signature(FORMULA), cfg=cfg)
    cols = np.nonzero((np.asarray(large) != 255).any(axis=2).any(axis=0))[0]
    assert 0.25 * 4096 <= cols.max() - cols.min() <= 0.35 * 4096  # about StampConfig.width of the canvas
    # The same signature made small and enlarged to that width: edges go soft, almost no pure ink left.
    small = stamp(Image.new("RGB", (400, 400), "white"), Signature(FORMULA), cfg=cfg)
    box = Image.fromarray(((np.asarray(small) != 255).any(axis=2) * 255).astype(np.uint8)).getbbox()
    crop = small.crop(box)
    scale = (cols.max() - cols.min()) / crop.width
    enlarged = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    assert solid_share(large) > 0.3
    assert solid_share(large) > 20 * solid_share(enlarged)


def test_placeholders_and_errors():
    text = signature_text("{artist} {year} · {title} · {seed}", {"artist": "Ada", "year": 2026, "title": "T", "seed": 7})
    assert text.text == "Ada 2026 · T · 7"
    assert signature_text("formula", {}).text == FORMULA
    assert signature_text("none", {}) is None
    with pytest.raises(UsageError, match="unknown placeholder"):
        signature_text("{name}", {})
    with pytest.raises(UsageError, match="braces"):
        signature_text("{artist", {})
    # A stray dollar sign is drawn literally instead of failing as bad mathematics.
    stamp(Image.new("RGB", (300, 300), "white"), Signature("costs $5"))


def test_edition_number_under_the_signature():
    canvas = Image.new("RGB", (600, 600), "white")
    with_number = changed(canvas, stamp(canvas, Signature(FORMULA, under="3/25")))
    without = changed(canvas, stamp(canvas, Signature(FORMULA)))
    assert np.nonzero(with_number)[0].min() < np.nonzero(without)[0].min()  # the block grew upwards


def test_a_glyph_the_fonts_lack_is_one_warning_line(capsys):
    from artgan.stamp import ink_mask

    mask = ink_mask("Hokusai \u2713 \u5317\u658e", 24.0)
    assert mask.max() > 0  # the Latin letters are still drawn
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "\u2713" in err and "\u5317" in err
    assert "UserWarning" not in err
