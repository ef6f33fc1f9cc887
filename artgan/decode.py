"""Open any image file an artist might have, defensively, as 8-bit sRGB; trim borders; make squares."""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageColor, ImageOps, UnidentifiedImageError

from .errors import UsageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
_SRGB = ImageCms.createProfile("sRGB")


class BadImage(Exception):
    """A file that cannot be used as a training image; the message is the reason."""


def parse_colour(text: str, flag: str = "--matte") -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a colour; use a name like white or a hex like #f4efe4") from None


def open_rgb(data: bytes, matte: tuple[int, int, int], draft_px: int = 0) -> Image.Image:
    """Decode every pixel, apply EXIF orientation, convert to sRGB, put alpha onto the matte.

    `draft_px` lets JPEG decode at a reduced scale that still covers that many pixels a side.
    """
    if not data:
        raise BadImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if draft_px and image.format == "JPEG" and image.mode in ("RGB", "L"):
                image.draft(image.mode, (draft_px, draft_px))
            image.load()
    except Image.DecompressionBombError as exc:
        raise BadImage(_short(exc, "too many pixels to open safely")) from None
    except UnidentifiedImageError:
        raise BadImage("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(_short(exc, "broken or truncated image")) from None
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a malformed EXIF block should not cost the picture
        pass
    return _to_rgb(image, matte)


def _to_rgb(image: Image.Image, matte: tuple[int, int, int]) -> Image.Image:
    icc = image.info.get("icc_profile")
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _deep_grey_to_l(image)
        mode = "L"
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    elif mode == "L" and "transparency" in image.info:
        image = image.convert("RGBA")
    elif mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        image = _profile_to_srgb(image, icc)
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, matte)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _deep_grey_to_l(image: Image.Image) -> Image.Image:
    array = np.asarray(image, dtype=np.float64)
    top = array.max() if array.size else 0.0
    if image.mode == "F" and top <= 1.0:
        scale = 255.0
    elif top <= 255:
        scale = 1.0
    else:
        scale = 255.0 / 65535.0
    return Image.fromarray(np.clip(np.rint(array * scale), 0, 255).astype(np.uint8), "L")


def _profile_to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: fall back to the plain numbers


def _short(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{fallback} ({text})" if text else fallback


def parse_trim(text: str) -> float | str | None:
    """'none' -> None, 'auto' -> 'auto', '4%' -> 0.04 (a margin cut from every side)."""
    text = text.strip().lower()
    if text in ("none", "0", "0%", ""):
        return None
    if text == "auto":
        return "auto"
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if not match or not 0 <= float(match.group(1)) < 50:
        raise UsageError(f"--trim {text!r} is not understood; use none, auto, or a margin like 4%")
    return float(match.group(1)) / 100.0


def trim(image: Image.Image, how: float | str | None) -> Image.Image:
    if how is None:
        return image
    width, height = image.size
    if how == "auto":
        left, top, right, bottom = _content_box(np.asarray(image))
    else:
        dx, dy = round(width * float(how)), round(height * float(how))
        left, top, right, bottom = dx, dy, width - dx, height - dy
    if right - left < 8 or bottom - top < 8:
        return image
    return image.crop((left, top, right, bottom))


def _content_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """The box inside borders that are one flat colour (letterboxing, paper margins)."""
    height, width = pixels.shape[:2]
    grey = pixels.astype(np.int16)
    # The border colour is read from the outermost ring; paper and mats are never perfectly flat.
    ring = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    border = np.median(ring, axis=0)
    near = np.abs(grey - border).max(axis=2) <= 40
    row_flat = near.mean(axis=1) >= 0.90
    col_flat = near.mean(axis=0) >= 0.90

    def run(flags: np.ndarray) -> int:
        count = 0
        for flag in flags:
            if not flag:
                break
            count += 1
        return count

    top, bottom = run(row_flat), height - run(row_flat[::-1])
    left, right = run(col_flat), width - run(col_flat[::-1])
    # A thin rebate or shadow often remains; cut a hair more where a border was found.
    pad_y, pad_x = (max(1, (bottom - top) // 100), max(1, (right - left) // 100))
    if top > 0:
        top += pad_y
    if bottom < height:
        bottom -= pad_y
    if left > 0:
        left += pad_x
    if right < width:
        right -= pad_x
    return left, top, right, bottom


def squares(image: Image.Image, fit: str, matte: tuple[int, int, int]) -> list[Image.Image]:
    """One square per image (center crop or pad), or several overlapping squares (crops)."""
    width, height = image.size
    side = min(width, height)
    if fit == "pad":
        big = max(width, height)
        canvas = Image.new("RGB", (big, big), matte)
        canvas.paste(image, ((big - width) // 2, (big - height) // 2))
        return [canvas]
    if fit == "crops" and max(width, height) > side * 1.05:
        longer = max(width, height)
        count = math.ceil(2 * (longer - side) / side) + 1
        offsets = [round(i * (longer - side) / (count - 1)) for i in range(count)]
        if width > height:
            return [image.crop((o, 0, o + side, side)) for o in offsets]
        return [image.crop((0, o, side, o + side)) for o in offsets]
    left, top = (width - side) // 2, (height - side) // 2
    return [image.crop((left, top, left + side, top + side))]


def resize_square(image: Image.Image, size: int) -> Image.Image:
    if image.size == (size, size):
        return image
    return image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
