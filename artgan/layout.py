"""Print geometry: physical sizes and lengths, pixels at a ppi, bleed, trim, safe area, where the picture goes.

Rounding (exact, in rational arithmetic): each dimension of the file is
``round((trim + 2 x bleed) x ppi)`` to the nearest pixel, halves rounding up; the trim box is
``round(trim x ppi)`` and sits centred in it (an odd leftover gives the extra bleed pixel to the right
or bottom). So 16 x 20 in with 0.125 in bleed at 300 ppi is (16.25 x 300) x (20.25 x 300) = 4875 x 6075 px.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from .errors import UsageError

INCHES_PER = {"in": Fraction(1), "cm": Fraction(50, 127), "mm": Fraction(5, 127)}  # 1 in = 2.54 cm exactly
ISO_A_MM = {f"a{n}": (w, h) for n, (w, h) in enumerate(
    [(841, 1189), (594, 841), (420, 594), (297, 420), (210, 297), (148, 210), (105, 148)]
)}  # fmt: skip
NAMED_IN = {"letter": ("8.5", "11"), "tabloid": ("11", "17")}
PHOTO_IN = ("4x6", "5x7", "8x10", "11x14", "12x18", "16x20", "18x24", "20x30", "24x36")  # bare names mean inches
SIZE_HELP = "e.g. 16x20in, 50x70cm, 210x297mm, A3, A3-landscape, letter or 8x10"
MAX_MEGAPIXELS = 1000  # beyond this a TIFF passes 4 GB; a print never needs it
# The formula is about 11 times as wide as tall and the number under it 0.42 of its height, so a signature
# at least 80 mm wide keeps the number's digits about 2 mm tall, readable on paper and at 100 % on screen.
MIN_SIGNATURE_MM = 80
SIGNATURE_HEIGHT = 0.16  # height of the signature box (formula + number) per unit of its width

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_SIZE = re.compile(rf"{_NUMBER}\s*(in|cm|mm)?\s*[x×*]\s*{_NUMBER}\s*(in|cm|mm)?")
_LENGTH = re.compile(rf"{_NUMBER}\s*(in|cm|mm)?")


@dataclass(frozen=True)
class PaperSize:
    """A trim size in inches (exact), with the unit and name the user gave it by."""

    width_in: Fraction
    height_in: Fraction
    unit: str  # in, cm or mm
    name: str = ""  # A3, letter ... or "" for an explicit size

    @property
    def label(self) -> str:
        """'16 x 20 in', 'A3 (297 x 420 mm)' or 'A3 landscape (420 x 297 mm)'."""
        dims = f"{format_length(self.width_in, self.unit)} x {format_length(self.height_in, self.unit)} {self.unit}"
        return f"{self.name} ({dims})" if self.name else dims

    def describe(self) -> str:
        """The label with the other system's units too, for certificates."""
        other = "cm" if self.unit == "in" else "in"
        return f"{self.label}, {format_length(self.width_in, other, 2)} x {format_length(self.height_in, other, 2)} {other}"

    def turned(self) -> PaperSize:
        name = self.name
        if name:
            name = name.replace(" landscape", "") if self.width_in > self.height_in else f"{name} landscape"
        return PaperSize(self.height_in, self.width_in, self.unit, name)


def format_length(inches: Fraction, unit: str, places: int = 4) -> str:
    value = float(inches / INCHES_PER[unit])
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def parse_length(text: str, flag: str = "--bleed") -> tuple[Fraction, str]:
    """'3mm', '0.125in', '0.3cm' or '0' -> (inches, unit)."""
    cleaned = str(text).strip().lower().replace('"', "in").replace(" ", "")
    match = _LENGTH.fullmatch(cleaned)
    if not match:
        raise UsageError(f"{flag} {text!r} is not a length; write e.g. 3mm, 0.125in or 0")
    value, unit = Fraction(match.group(1)), match.group(2)
    if unit is None:
        if value != 0:
            raise UsageError(f"{flag} {text!r} needs a unit; write e.g. {match.group(1)}mm or {match.group(1)}in")
        unit = "mm"
    return value * INCHES_PER[unit], unit


def parse_size(text: str) -> PaperSize:
    """A physical size: WxH with a unit, an ISO A name, letter/tabloid or a photo size; -landscape turns it."""
    spec = str(text).strip().lower().replace(" ", "")
    turn = None
    for suffix in ("-landscape", "-portrait"):
        if spec.endswith(suffix):
            spec, turn = spec[: -len(suffix)], suffix[1:]
    if spec in ISO_A_MM:
        w_mm, h_mm = ISO_A_MM[spec]
        size = PaperSize(w_mm * INCHES_PER["mm"], h_mm * INCHES_PER["mm"], "mm", spec.upper())
    elif spec in NAMED_IN:
        w_in, h_in = NAMED_IN[spec]
        size = PaperSize(Fraction(w_in), Fraction(h_in), "in", spec)
    else:
        size = _explicit_size(text, spec)
    if turn and (turn == "landscape") != (size.width_in > size.height_in):
        size = size.turned()
    return size


def _explicit_size(text: str, spec: str) -> PaperSize:
    match = _SIZE.fullmatch(spec)
    if not match:
        raise UsageError(f"--size {text!r} is not a print size; {SIZE_HELP}")
    width, first_unit, height, unit = match.groups()
    if first_unit and unit and first_unit != unit:
        raise UsageError(f"--size {text!r} mixes units; give both sides in one unit, e.g. {width}x{height}{unit}")
    unit = unit or first_unit
    if unit is None:
        if f"{width}x{height}" not in PHOTO_IN and f"{height}x{width}" not in PHOTO_IN:
            raise UsageError(f"--size {text!r} needs a unit; write e.g. {width}x{height}in or {width}x{height}cm")
        unit = "in"
    w, h = Fraction(width), Fraction(height)
    if w <= 0 or h <= 0:
        raise UsageError(f"--size {text!r}: both sides must be larger than 0")
    return PaperSize(w * INCHES_PER[unit], h * INCHES_PER[unit], unit)


def to_px(inches: Fraction, dpi: int) -> int:
    """Nearest whole pixel, halves up, computed exactly."""
    return math.floor(inches * dpi + Fraction(1, 2))


Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels (right and bottom exclusive)


@dataclass(frozen=True)
class Layout:
    """Where everything sits on the file, in pixels."""

    paper: PaperSize
    dpi: int
    bleed_in: Fraction
    fit: str
    size_px: tuple[int, int]  # the whole file, bleed included
    trim: Box  # where the sheet is cut
    safe: Box  # text and signatures stay inside this
    picture: Box  # where the picture's pixels go on the canvas
    crop: tuple[float, float, float, float]  # the part of the picture that shows, as fractions of its width/height
    signature: Box  # the box the signature is drawn into
    signature_corner: str  # its corner inside that box


def plan(
    paper: PaperSize,
    dpi: int,
    bleed_in: Fraction,
    fit: str,
    aspect: float = 1.0,
    safe_in: Fraction = Fraction(5) * INCHES_PER["mm"],
    border: float = 0.08,
    signature_width: float = 0.3,
) -> Layout:
    """Lay a picture of width/height `aspect` out on the sheet; never stretched."""
    if fit not in ("contain", "cover"):
        raise UsageError(f"--fit {fit!r}: use contain (on a matte border) or cover (cropped to the edges)")
    if not 0 <= border < 0.4:
        raise UsageError(f"edition.border {border} must be between 0 and 0.4 (a fraction of the short side)")
    width, height = to_px(paper.width_in + 2 * bleed_in, dpi), to_px(paper.height_in + 2 * bleed_in, dpi)
    if width * height > MAX_MEGAPIXELS * 1_000_000:
        raise UsageError(
            f"--size {paper.label} at {dpi} ppi is {width} x {height} px, over {MAX_MEGAPIXELS} megapixels; lower --dpi"
        )
    trim_w, trim_h = to_px(paper.width_in, dpi), to_px(paper.height_in, dpi)
    left, top = (width - trim_w) // 2, (height - trim_h) // 2
    trim = (left, top, left + trim_w, top + trim_h)
    inset = to_px(safe_in, dpi)
    safe = (trim[0] + inset, trim[1] + inset, trim[2] - inset, trim[3] - inset)
    if safe[2] - safe[0] < 8 or safe[3] - safe[1] < 8:
        raise UsageError(f"--size {paper.label} at {dpi} ppi leaves no room inside the {float(safe_in * 25.4):g} mm safe margin")
    short = min(trim_w, trim_h)
    min_sig_px = to_px(MIN_SIGNATURE_MM * INCHES_PER["mm"], dpi)

    def signature_px(width_px: int) -> int:
        return max(8, min(width_px, max(min_sig_px, round(signature_width * width_px))))

    if fit == "contain":
        margin = max(inset, round(border * short))
        room_w = trim_w - 2 * margin
        band = math.ceil(signature_px(room_w) * SIGNATURE_HEIGHT * 1.25)  # under the picture: a gap, then the signature
        room_h = trim_h - 2 * margin - band
        if room_w < 8 or room_h < 8:
            raise UsageError(f"--size {paper.label} at {dpi} ppi leaves no room for the picture inside the border")
        pic_w = min(room_w, room_h * aspect)
        pic_w, pic_h = max(1, round(pic_w)), max(1, round(pic_w / aspect))
        pic_left = trim[0] + (trim_w - pic_w) // 2
        pic_top = trim[1] + (trim_h - pic_h - band) // 2  # picture and band centred: the picture sits a little high
        picture = (pic_left, pic_top, pic_left + pic_w, pic_top + pic_h)
        sig_w = signature_px(pic_w)
        gap = band // 5
        signature = (picture[2] - sig_w, picture[3] + gap, picture[2], picture[3] + band)
        return Layout(paper, dpi, bleed_in, fit, (width, height), trim, safe, picture, (0.0, 0.0, 1.0, 1.0), signature, "top-right")
    # cover: the picture fills the whole file, bleed included, and the overflow is cut off evenly
    if width / height > aspect:
        shown = aspect * height / width  # fraction of the picture's height that shows
        crop = (0.0, (1 - shown) / 2, 1.0, (1 + shown) / 2)
    else:
        shown = width / height / aspect  # fraction of the width that shows
        crop = ((1 - shown) / 2, 0.0, (1 + shown) / 2, 1.0)
    sig_w = signature_px(safe[2] - safe[0])
    sig_h = max(8, math.ceil(sig_w * SIGNATURE_HEIGHT))
    signature = (max(safe[0], safe[2] - sig_w), max(safe[1], safe[3] - sig_h), safe[2], safe[3])
    return Layout(paper, dpi, bleed_in, fit, (width, height), trim, safe, (0, 0, width, height), crop, signature, "bottom-right")
