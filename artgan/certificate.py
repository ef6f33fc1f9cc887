"""Certificates of authenticity: one page of real text PDF per print, made with fpdf2.

fpdf2 writes text (searchable, selectable, small) in pure Python. Its built-in fonts (Times, Courier)
cover Latin-1, which keeps most certificates small and quick; any other character (an artist's name in
Polish, Greek or Cyrillic) switches to the DejaVu fonts that ship with matplotlib, embedded as subsets,
so no font is downloaded.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from .files import atomic_path, sha256_file

PAGES_MM = {"A4": (210.0, 297.0), "letter": (215.9, 279.4)}
GREY, INK = (110, 110, 110), (20, 20, 20)


@dataclass
class CertificateFacts:
    """What one certificate states."""

    title: str
    artist: str
    year: int
    number: str  # "3/25" or "AP 1/2"
    number_words: str  # "number 3 of an edition of 25, plus 2 artist's proofs"
    rows: list[tuple[str, str]] = field(default_factory=list)  # label, value
    hashes: list[tuple[str, str]] = field(default_factory=list)  # label, hex digest
    issued: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))


def _fonts_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _fonts(pdf: Any, facts: CertificateFacts) -> tuple[str, str]:
    """Built-in fonts when every character is Latin-1, else DejaVu (serif, and mono for the hashes)."""
    texts = [facts.title, facts.artist, facts.number, facts.number_words, *(t for row in facts.rows for t in row)]
    try:
        "".join(texts).encode("latin-1")
        return "Times", "Courier"
    except UnicodeEncodeError:
        pass
    fonts = _fonts_dir()
    for style, suffix in (("", ""), ("B", "-Bold"), ("I", "-Italic")):
        pdf.add_font("dejavu-serif", style, fonts / f"DejaVuSerif{suffix}.ttf")
    pdf.add_font("dejavu-mono", "", fonts / "DejaVuSansMono.ttf")
    return "dejavu-serif", "dejavu-mono"


def write_certificate(path: Path, facts: CertificateFacts, thumbnail: Image.Image, page: str = "A4") -> tuple[str, int]:
    """Write the certificate atomically; return its sha256 and size in bytes."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    page_w, page_h = PAGES_MM[page]
    pdf = FPDF(unit="mm", format=(page_w, page_h))
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 18, 20)
    serif, mono = _fonts(pdf, facts)
    pdf.set_title(f"Certificate of authenticity: {facts.title}, {facts.number}")
    pdf.set_author(facts.artist or "artgan")
    pdf.set_subject(facts.number_words)
    pdf.set_creator("artgan")
    pdf.set_creation_date(facts.issued)
    pdf.add_page()
    width = page_w - 40
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    pdf.set_text_color(*GREY)
    pdf.set_font(serif, "", 9)
    pdf.cell(width, 5, "C E R T I F I C A T E   O F   A U T H E N T I C I T Y", align="C", **line)
    pdf.ln(3)
    pdf.set_text_color(*INK)
    pdf.set_font(serif, "B", 20)
    pdf.multi_cell(width, 9, facts.title, align="C", **line)
    pdf.set_font(serif, "", 12)
    pdf.cell(width, 7, ", ".join(str(p) for p in (facts.artist, facts.year) if p), align="C", **line)
    pdf.ln(4)

    box_mm = 88.0  # the thumbnail fits in this square, with the print's own proportions
    scale = box_mm / max(thumbnail.size)
    thumb_w, thumb_h = thumbnail.width * scale, thumbnail.height * scale
    top = pdf.get_y()
    buffer = io.BytesIO()
    thumbnail.convert("RGB").save(buffer, format="JPEG", quality=88)
    pdf.image(buffer, x=(page_w - thumb_w) / 2, y=top, w=thumb_w, h=thumb_h)
    pdf.set_draw_color(200, 200, 200)
    pdf.rect((page_w - thumb_w) / 2, top, thumb_w, thumb_h)
    pdf.set_y(top + thumb_h + 5)

    pdf.set_font(serif, "B", 22)
    pdf.cell(width, 10, facts.number, align="C", **line)
    pdf.set_font(serif, "I", 10)
    pdf.set_text_color(*GREY)
    pdf.cell(width, 5, facts.number_words[:1].upper() + facts.number_words[1:], align="C", **line)
    pdf.ln(5)

    label_w = 42.0
    for label, value in facts.rows:
        pdf.set_font(serif, "", 8.5)
        pdf.set_text_color(*GREY)
        pdf.cell(label_w, 5.2, label)
        pdf.set_font(serif, "", 10)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width - label_w, 5.2, value, align="L", **line)
    pdf.ln(2)
    for label, digest in facts.hashes:
        pdf.set_font(serif, "", 8.5)
        pdf.set_text_color(*GREY)
        pdf.cell(width, 4.2, label, **line)
        pdf.set_font(mono, "", 7.6)
        pdf.set_text_color(*INK)
        pdf.cell(width, 4.2, digest, **line)
    pdf.ln(3)

    pdf.set_font(serif, "", 8.5)
    pdf.set_text_color(*GREY)
    statement = (
        f"This certifies that the print described here is {facts.number_words} of \"{facts.title}\""
        f"{' by ' + facts.artist if facts.artist else ''}. Each number is issued once and entered in the "
        "edition's ledger with the sha256 of the print file; the file's own metadata carries the same record."
    )
    pdf.multi_cell(width, 4.4, statement, align="L", **line)

    pdf.set_y(page_h - 30)
    pdf.set_draw_color(*INK)
    pdf.line(20, pdf.get_y(), 110, pdf.get_y())
    pdf.line(130, pdf.get_y(), page_w - 20, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font(serif, "", 8.5)
    pdf.cell(110, 4, "Signature of the artist")
    pdf.cell(width - 110, 4, f"Date   (issued {facts.issued:%Y-%m-%d})", **line)

    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(pdf.output()))
    return sha256_file(path), Path(path).stat().st_size
