"""The proof sheet: a small picture of the print's layout with bleed, trim, safe area and signature box drawn on."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .files import atomic_path
from .layout import Box, Layout

BLEED_TINT, TRIM, SAFE, PICTURE, SIGNATURE = (220, 40, 40), (220, 40, 40), (30, 110, 230), (120, 120, 120), (230, 140, 20)


def _scaled(box: Box, scale: float, offset: int) -> Box:
    return tuple(round(v * scale) + offset for v in box)  # type: ignore[return-value]


def _dashed(draw: ImageDraw.ImageDraw, box: Box, colour: tuple[int, int, int], dash: int = 6, width: int = 1) -> None:
    left, top, right, bottom = box
    for start, end, fixed, horizontal in ((left, right, top, True), (left, right, bottom, True), (top, bottom, left, False), (top, bottom, right, False)):
        for a in range(start, end, 2 * dash):
            b = min(a + dash, end)
            draw.line((a, fixed, b, fixed) if horizontal else (fixed, a, fixed, b), fill=colour, width=width)


def proof_sheet(thumbnail: Image.Image, layout: Layout, out: Path, notes: list[str]) -> Path:
    """Draw the layout over a thumbnail of the whole file (bleed included) and write it as a PNG."""
    pad, line_px = 24, 16
    scale = thumbnail.width / layout.size_px[0]
    legend = [
        (TRIM, "trim (cut) line; the tinted band outside it is bleed"),
        (SAFE, "safe area: text and signature stay inside"),
        (SIGNATURE, "signature box"),
    ]
    if layout.fit == "contain":
        legend.insert(2, (PICTURE, "picture"))
    text_h = (len(legend) + len(notes)) * (line_px + 4) + 8
    sheet = Image.new("RGB", (thumbnail.width + 2 * pad, thumbnail.height + 2 * pad + text_h), (236, 236, 232))
    sheet.paste(thumbnail.convert("RGB"), (pad, pad))
    trim = _scaled(layout.trim, scale, pad)
    tint = Image.new("RGBA", sheet.size, (0, 0, 0, 0))
    tint_draw = ImageDraw.Draw(tint)
    outer = (pad, pad, pad + thumbnail.width, pad + thumbnail.height)
    for band in ((outer[0], outer[1], outer[2], trim[1]), (outer[0], trim[3], outer[2], outer[3]),
                 (outer[0], trim[1], trim[0], trim[3]), (trim[2], trim[1], outer[2], trim[3])):  # fmt: skip
        if band[2] > band[0] and band[3] > band[1]:
            tint_draw.rectangle((band[0], band[1], band[2] - 1, band[3] - 1), fill=(*BLEED_TINT, 70))
    sheet = Image.alpha_composite(sheet.convert("RGBA"), tint).convert("RGB")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle(outer, outline=(90, 90, 90))
    draw.rectangle((trim[0], trim[1], trim[2] - 1, trim[3] - 1), outline=TRIM, width=2)
    if layout.fit == "contain":
        _dashed(draw, _scaled(layout.picture, scale, pad), PICTURE, dash=3)
    _dashed(draw, _scaled(layout.safe, scale, pad), SAFE)
    _dashed(draw, _scaled(layout.signature, scale, pad), SIGNATURE, dash=3)
    font = ImageFont.load_default(size=line_px - 2)
    y = thumbnail.height + 2 * pad - 8
    for colour, text in legend:
        draw.rectangle((pad, y + 4, pad + 18, y + line_px - 4), fill=colour)
        draw.text((pad + 26, y), text, fill=(30, 30, 30), font=font)
        y += line_px + 4
    for text in notes:
        draw.text((pad, y), text, fill=(30, 30, 30), font=font)
        y += line_px + 4
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG", compress_level=6)
    return out
