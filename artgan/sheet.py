"""Contact sheets and sample grids: many pictures tiled into one PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .files import atomic_path


def grid(images: Sequence[np.ndarray], columns: int | None = None, gap: int = 2) -> np.ndarray:
    """Tile equally sized HxWx3 uint8 arrays into one array, row by row."""
    count = len(images)
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    height, width = images[0].shape[:2]
    canvas = np.full(
        (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), 255, np.uint8
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def contact_sheet(
    items: Iterable[tuple[Path | Image.Image, str]],
    out: Path,
    thumb_px: int = 128,
    columns: int | None = None,
    limit: int = 100,
) -> Path:
    """Write a labelled thumbnail grid of (image or path, label) pairs, at most `limit` of them."""
    items = list(items)[:limit]
    if not items:
        raise ValueError("a contact sheet needs at least one image")
    columns = columns or min(10, max(1, math.ceil(math.sqrt(len(items)))))
    rows = math.ceil(len(items) / columns)
    label_px = max(10, thumb_px // 10)
    cell_w, cell_h = thumb_px + 4, thumb_px + label_px + 6
    sheet = Image.new("RGB", (columns * cell_w + 4, rows * cell_h + 4), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=label_px)
    for index, (source, label) in enumerate(items):
        if isinstance(source, Image.Image):
            image = source.convert("RGB")
        else:
            with Image.open(source) as opened:
                image = opened.convert("RGB")
        image.thumbnail((thumb_px, thumb_px), Image.Resampling.LANCZOS)
        row, column = divmod(index, columns)
        left, top = 4 + column * cell_w, 4 + row * cell_h
        sheet.paste(image, (left + (thumb_px - image.width) // 2, top + (thumb_px - image.height) // 2))
        draw.text((left, top + thumb_px + 2), label, fill=(220, 220, 220), font=font)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG", optimize=False, compress_level=6)
    return out
