"""The signature on the canvas: the GAN objective typeset as mathematics, or the artist's own text.

Text is laid out by matplotlib's mathtext at the final pixel size, so a 10,000 px print gets
crisp glyphs rather than an enlarged bitmap. The ink is dark on light corners and light on dark.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import string
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .config import StampConfig
from .console import warn
from .decode import parse_colour
from .errors import UsageError

FORMULA = r"$\min_{G}\,\max_{D}\;\mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]$"
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
PLACEHOLDERS = ("artist", "year", "title", "seed", "edition")
DARK_INK, LIGHT_INK = (24, 22, 20), (242, 238, 230)
_MATPLOTLIB = threading.Lock()  # pyplot-free, but rc settings are global: one typesetting at a time


@dataclass
class Signature:
    """What to write: the main line, and a smaller line under it (e.g. the edition number)."""

    text: str
    under: str = ""


def signature_text(spec: str, fields: dict) -> Signature | None:
    """'formula' -> the GAN objective; 'none' -> None; any other text gets its {placeholders} filled."""
    spec = (spec or "none").strip()
    if spec.lower() == "none":
        return None
    if spec.lower() == "formula":
        return Signature(FORMULA)
    braces = f"--signature {spec!r} has unbalanced braces; write {{{{ and }}}} for literal braces"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(spec) if name}
    except ValueError:
        raise UsageError(braces) from None
    unknown = names - set(PLACEHOLDERS)
    if unknown:
        raise UsageError(
            f"--signature {spec!r}: unknown placeholder {{{sorted(unknown)[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )
    values = {name: fields.get(name, "") for name in PLACEHOLDERS}
    values["year"] = values["year"] or _dt.date.today().year
    try:
        return Signature(spec.format(**values))
    except (ValueError, IndexError):
        raise UsageError(braces) from None


@functools.lru_cache(maxsize=64)
def ink_mask(text: str, height_px: float) -> np.ndarray:
    """Coverage (0-255) of `text` typeset so its line is about height_px tall."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 72.0
    fonts = {"mathtext.fontset": "cm", "font.family": "DejaVu Serif"}
    with _MATPLOTLIB, matplotlib.rc_context(fonts), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a glyph the fonts lack: gathered into one line below
        figure = Figure(figsize=(1, 1), dpi=dpi)
        figure.patch.set_alpha(0)
        canvas = FigureCanvasAgg(figure)
        label = figure.text(0, 0, text, fontsize=height_px, color="black")
        try:
            box = label.get_window_extent(canvas.get_renderer())
        except ValueError:  # a stray $ or bad TeX in the artist's own text: draw it literally
            label.set_text(text.replace("$", r"\$"))
            box = label.get_window_extent(canvas.get_renderer())
        pad = 2 + height_px * 0.1
        width, height = box.width + 2 * pad, box.height + 2 * pad
        figure.set_size_inches(width / dpi, height / dpi)
        label.set_position(((pad - box.x0) / width, (pad - box.y0) / height))
        canvas.draw()
    _say_missing_glyphs(text, caught)
    return np.asarray(canvas.buffer_rgba())[..., 3].copy()


_MISSING_SAID: set[str] = set()


def _say_missing_glyphs(text: str, caught: list[warnings.WarningMessage]) -> None:
    """One line, once per text, instead of matplotlib's warning per glyph; other warnings pass on as they were."""
    glyphs: set[str] = set()
    for w in caught:
        if m := re.match(r"Glyph (\d+) ", str(w.message)):
            glyphs.add(chr(int(m.group(1))))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    missing = sorted(glyphs)
    if missing and text not in _MISSING_SAID:
        _MISSING_SAID.add(text)
        warn(f"signature {text!r}: the signature fonts have no glyph for {' '.join(missing)}; those are drawn as empty boxes")


def _fit_mask(text: str, width_px: int) -> np.ndarray:
    """Typeset again at the size that makes the text width_px wide (sharp at any scale)."""
    probe = ink_mask(text, 40.0)
    height = max(4.0, 40.0 * width_px / max(probe.shape[1], 1))
    return ink_mask(text, round(height, 1))


def _compose(signature: Signature, width_px: int, align_right: bool) -> np.ndarray:
    main = _fit_mask(signature.text, width_px)
    if not signature.under:
        return main
    under = ink_mask(signature.under, round(max(4.0, main.shape[0] * 0.42), 1))
    width = max(main.shape[1], under.shape[1])
    block = np.zeros((main.shape[0] + under.shape[0], width), np.uint8)
    for top, mask in ((0, main), (main.shape[0], under)):
        left = width - mask.shape[1] if align_right else 0
        block[top : top + mask.shape[0], left : left + mask.shape[1]] = mask
    return block


def signature_box(canvas: tuple[int, int], mask_shape: tuple[int, int], corner: str, margin_px: int) -> tuple[int, int]:
    """Top-left pixel where the signature goes."""
    width, height = canvas
    mask_h, mask_w = mask_shape
    left = width - margin_px - mask_w if corner.endswith("right") else margin_px
    top = height - margin_px - mask_h if corner.startswith("bottom") else margin_px
    return max(0, left), max(0, top)


def ink_for(region: np.ndarray) -> tuple[int, int, int]:
    """Dark ink on a light background, light ink on a dark one (Rec. 709 luma of the area under it)."""
    luma = float((region[..., :3].astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)).mean())
    return DARK_INK if luma >= 128 else LIGHT_INK


def stamp(
    image: Image.Image,
    signature: Signature | None,
    corner: str = "bottom-right",
    cfg: StampConfig | None = None,
    in_place: bool = False,
) -> Image.Image:
    """The image with the signature drawn into one corner (a copy, unless in_place for huge prints)."""
    if signature is None:
        return image
    cfg = cfg or StampConfig()
    if corner not in CORNERS:
        raise UsageError(f"--signature-corner {corner!r}: use one of {', '.join(CORNERS)}")
    if not 0 <= cfg.opacity <= 1:
        raise UsageError(f"stamp.opacity {cfg.opacity} must be between 0 and 1")
    width, height = image.size
    # Small canvases get a relatively larger signature so that it stays a mark, not a smudge.
    fraction = max(cfg.width, min(0.6, 96 / max(width, 1)))
    mask = _compose(signature, max(8, round(width * fraction)), corner.endswith("right"))
    margin = round(width * cfg.margin)
    room_w, room_h = max(1, width - 2 * margin), max(1, height - 2 * margin)
    if mask.shape[1] > room_w or mask.shape[0] > room_h:
        scale = min(room_w / mask.shape[1], room_h / mask.shape[0])
        mask = _compose(signature, max(8, int(mask.shape[1] * scale)), corner.endswith("right"))
    if mask.shape[1] > room_w or mask.shape[0] > room_h:  # below the smallest type size: shrink the ink itself
        scale = min(room_w / mask.shape[1], room_h / mask.shape[0])
        shrunk = Image.fromarray(mask).resize((max(1, int(mask.shape[1] * scale)), max(1, int(mask.shape[0] * scale))), Image.Resampling.LANCZOS)
        mask = np.asarray(shrunk)
    left, top = signature_box((width, height), mask.shape, corner, margin)
    # Only the signature's box is copied and blended, so a 140-megapixel print costs no extra copies.
    box = (left, top, min(width, left + mask.shape[1]), min(height, top + mask.shape[0]))
    region = np.asarray(image.crop(box).convert("RGB"))
    mask = mask[: region.shape[0], : region.shape[1]]
    ink = ink_for(region) if cfg.color == "auto" else parse_colour(cfg.color, "stamp.color")
    alpha = mask.astype(np.float32)[..., None] / 255.0 * cfg.opacity
    blended = region.astype(np.float32) * (1 - alpha) + np.array(ink, np.float32) * alpha
    if image.mode != "RGB":
        out = image.convert("RGB")
    else:
        out = image if in_place else image.copy()
    out.paste(Image.fromarray(np.rint(blended).astype(np.uint8)), box[:2])
    return out
