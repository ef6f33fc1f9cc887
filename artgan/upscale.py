"""From the generator's pixels to print pixels: Lanczos in strips, a light sharpening, or the artist's learned model.

A learned super-resolution model invents detail the generator never made; it is plugged in as
`module:function` (or `file.py:function`) taking (a PIL RGB image, (width, height)) and returning the
image at that size, and every print records it in its metadata as `learned:NAME`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
from pathlib import Path
from typing import Callable

from PIL import Image, ImageFilter

from .errors import RenderError, UsageError
from .layout import Box, Layout

SHARPEN = {"radius_mm": 0.2, "percent": 60, "threshold": 2}  # a light unsharp mask, sized on the paper
STRIP_ROWS = 512  # rows resized or sharpened at a time: bounds the working memory on huge prints
Upscaler = Callable[[Image.Image, tuple[int, int]], Image.Image]


@functools.lru_cache(maxsize=8)
def load_upscaler(spec: str) -> tuple[Upscaler | None, str]:
    """'lanczos', or a learned model as module:function or path/to/file.py:function.

    The function takes (a PIL RGB image, (width, height)) and returns the image at that size. A module is
    imported once per process, however often the settings are checked, since a model may load weights.
    """
    spec = (spec or "lanczos").strip()
    if spec.lower() == "lanczos":
        return None, "lanczos"
    module_name, _, function_name = spec.rpartition(":")
    hint = "give lanczos, or module:function (or file.py:function) that takes (image, (width, height))"
    if not module_name or not function_name:
        raise UsageError(f"--upscaler {spec!r}: {hint}")
    try:
        if module_name.endswith(".py"):
            file = Path(module_name).expanduser()
            loader_spec = importlib.util.spec_from_file_location(f"artgan_upscaler_{file.stem}", file)
            if not file.is_file() or loader_spec is None or loader_spec.loader is None:
                raise UsageError(f"--upscaler {spec!r}: {file} is not a Python file; {hint}")
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
            module_name = file.name
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--upscaler {spec!r}: cannot import {module_name} ({exc}); {hint}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise UsageError(f"--upscaler {spec!r}: {module_name} has no function {function_name}; {hint}")
    return function, f"learned:{module_name}:{function_name}"


def resize_into(canvas: Image.Image, picture: Image.Image, crop: tuple[float, float, float, float], box: Box) -> None:
    """Lanczos-resize the cropped picture into box on the canvas, a strip at a time (no full-size copy).

    Pillow's resize reads source pixels beyond a `box` for the filter's reach, so strips join seamlessly.
    """
    src = (crop[0] * picture.width, crop[1] * picture.height, crop[2] * picture.width, crop[3] * picture.height)
    out_w, out_h = box[2] - box[0], box[3] - box[1]
    rows_to_src = (src[3] - src[1]) / out_h
    for top in range(0, out_h, STRIP_ROWS):
        bottom = min(out_h, top + STRIP_ROWS)
        region = (src[0], src[1] + top * rows_to_src, src[2], src[1] + bottom * rows_to_src)
        strip = picture.resize((out_w, bottom - top), Image.Resampling.LANCZOS, box=region)
        canvas.paste(strip, (box[0], box[1] + top))


def sharpen_region(canvas: Image.Image, box: Box, radius_px: float, percent: int, threshold: int) -> None:
    """Unsharp-mask the box in place, strip by strip, each strip reading unsharpened neighbours."""
    pad = math.ceil(4 * radius_px) + 4
    left, top, right, bottom = box
    unsharp = ImageFilter.UnsharpMask(radius=radius_px, percent=percent, threshold=threshold)
    pending = None
    for y in range(top, bottom, STRIP_ROWS):
        y_end = min(bottom, y + STRIP_ROWS)
        reach_top, reach_bottom = max(top, y - pad), min(bottom, y_end + pad)
        context = canvas.crop((left, reach_top, right, reach_bottom))  # taken before the strip above is pasted back
        if pending:
            canvas.paste(*pending)
        sharpened = context.filter(unsharp)
        pending = (sharpened.crop((0, y - reach_top, right - left, y_end - reach_top)), (left, y))
    if pending:
        canvas.paste(*pending)


def compose(picture: Image.Image, layout: Layout, matte: tuple[int, int, int], upscale: Upscaler | None, sharpen: bool) -> Image.Image:
    """The print without its signature: the picture upscaled onto the matte (or across the whole sheet)."""
    canvas = Image.new("RGB", layout.size_px, matte)
    box, crop = layout.picture, layout.crop
    if upscale is None:
        resize_into(canvas, picture, crop, box)
    else:
        full = (round((box[2] - box[0]) / (crop[2] - crop[0])), round((box[3] - box[1]) / (crop[3] - crop[1])))
        try:
            big = upscale(picture.copy(), full)
        except Exception as exc:  # the artist's own code: report it as theirs, in one line
            raise RenderError(f"--upscaler failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(big, Image.Image):
            raise RenderError(f"--upscaler returned {type(big).__name__}, not a PIL image")
        big = big.convert("RGB")
        if big.size != full:
            big = big.resize(full, Image.Resampling.LANCZOS)
        shown = big.crop((round(crop[0] * full[0]), round(crop[1] * full[1]), round(crop[2] * full[0]), round(crop[3] * full[1])))
        del big
        if shown.size != (box[2] - box[0], box[3] - box[1]):
            shown = shown.resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.LANCZOS)
        canvas.paste(shown, box[:2])
    if sharpen:
        radius_px = SHARPEN["radius_mm"] / 25.4 * layout.dpi
        sharpen_region(canvas, box, radius_px, SHARPEN["percent"], SHARPEN["threshold"])
    return canvas
