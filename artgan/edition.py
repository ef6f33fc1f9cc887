"""Print editions: a render laid out at a physical size and ppi, upscaled, signed with its number, certified, ledgered.

Memory: the print is built once as one full-size canvas (the picture is resized into it in strips, and
sharpened in strips), then each numbered print only repaints the small signature box and is written
straight to disk. An A0 print at 300 ppi (about 140 megapixels) therefore holds one 420 MB canvas.
"""

from __future__ import annotations

import datetime as _dt
import io
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms

from . import __version__
from .certificate import CertificateFacts, write_certificate
from .config import Config, EditionConfig, StampConfig
from .console import info, progress, warn
from .decode import parse_colour
from .errors import ModelNotFound, RenderError, UsageError
from .files import exclusive, remove_stale_parts, sha256_file
from .icc import Profile, convert, load_profile, srgb_bytes, transform_to
from .layout import INCHES_PER, Layout, PaperSize, format_length, parse_length, parse_size, plan
from .ledger import Ledger, Number, certificate_name, edition_numbers, print_name, select
from .proof import proof_sheet
from .provenance import default_title, make_record, read_record, save_image
from .stamp import Signature, signature_text, stamp
from .upscale import Upscaler, compose, load_upscaler

FORMATS = ("tif", "png", "jpg")
TIFF_COMPRESSION = {"lzw": "tiff_lzw", "deflate": "tiff_adobe_deflate", "none": "raw"}
THUMB_PX, PROOF_PX = 1000, 900  # long side of the certificate thumbnail and of the proof sheet picture


@dataclass
class Source:
    """The picture to print, at the generator's native resolution, and what is known about it."""

    picture: Image.Image
    record: dict[str, Any]  # seed, psi, model, model_name, step, style, native_px; title/artist/year if known
    identity: dict[str, Any]  # what makes two editions "of the same picture": model+seed+psi, or the file's sha256
    origin: str  # one line for the person at the terminal


@dataclass
class EditionResult:
    folder: Path
    layout: Layout
    prints: list[Path] = field(default_factory=list)  # every print asked for, new or already there
    made: list[Path] = field(default_factory=list)
    skipped: int = 0
    ledger: Path | None = None
    proof: Path | None = None
    wall_s: float = 0.0


def source_from_run(model: Any, seed: int, psi: float, device: str = "auto", known: dict | None = None) -> Source:
    """Render one seed at the model's native resolution (the sharpest pixels it can make)."""
    from .infer import Renderer

    pixels = Renderer(model, device).seeds([seed], psi)[0]
    record = {k: v for k, v in (known or {}).items() if k in ("title", "artist", "year")}
    record.update(seed=seed, psi=psi, model=model.hash, model_name=model.name, step=model.step,
                  style=model.config.style.name, native_px=model.config.net.res)  # fmt: skip
    origin = f"seed {seed} rendered by {model.name} (step {model.step}) at its native {model.config.net.res} px"
    return Source(Image.fromarray(pixels), record, {"model": model.hash, "seed": seed, "psi": psi}, origin)


def source_from_file(path: Path, search: list[Path], device: str = "auto") -> Source:
    """An image artgan rendered: re-rendered clean from its model (found by hash under `search`) when possible."""
    from .verify import find_model

    path = Path(path)
    record = read_record(path) if path.is_file() else None
    if not record:
        raise RenderError(f"{path} holds no artgan record; print an image artgan rendered, or give RUN --seed N")
    if record.get("kind") == "print":
        raise RenderError(f"{path} is already a print ({record.get('edition', '')}); give the render it came from, or RUN --seed N")
    if record.get("kind") == "walk" or path.suffix.lower() in (".gif", ".webp", ".mp4", ".mov", ".m4v"):
        seeds = record.get("seeds") or "N"
        raise RenderError(f"{path.name} is a moving picture; print a still: give the run and --seed (one of {seeds})")
    model = None
    if record.get("model"):
        try:
            model = find_model(str(record["model"]), search)
        except ModelNotFound:
            pass
    if model is not None and "seed" in record:
        return source_from_run(model, int(record["seed"]), float(record.get("psi", 1.0)), device, record)
    if str(record.get("signature", "none")).lower() != "none":
        raise RenderError(
            f"{path.name} carries its series signature, and its model ({record.get('model_name', '?')}) was not found; "
            "point --runs at the run that made it so it is re-rendered clean, or print a render made with --signature none"
        )
    with Image.open(path) as opened:
        picture = opened.convert("RGB")
    warn(f"the model that made {path.name} was not found: printing the file's own {picture.width} x {picture.height} px")
    keep = ("title", "artist", "year", "seed", "psi", "model", "model_name", "step", "style", "native_px")
    known = {k: record[k] for k in keep if k in record}
    return Source(picture, known, {"file_sha256": sha256_file(path)}, f"the pixels of {path.name}")


def signature_for(spec: str, fields: dict[str, Any], label: str) -> Signature | None:
    """The signature with the print's number under it (unless the text already holds {edition})."""
    signature = signature_text(spec, {**fields, "edition": label})
    if signature is not None and "{edition}" not in spec:
        signature.under = label
    return signature


def thumbnail(canvas: Image.Image, long_px: int, profile: Profile) -> Image.Image:
    scale = long_px / max(canvas.size)
    size = (max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale)))
    small = canvas.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if small.mode != "RGB":  # a print converted to CMYK: show it as the lab will print it, back in sRGB
        target, srgb = (ImageCms.ImageCmsProfile(io.BytesIO(data)) for data in (profile.data, srgb_bytes()))
        small = ImageCms.profileToProfile(small, target, srgb, outputMode="RGB")
    return small


def _format(fmt: str) -> str:
    fmt = {"tiff": "tif", "jpeg": "jpg"}.get(fmt.lower(), fmt.lower())
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use tif, png or jpg")
    return fmt


@dataclass
class Checked:
    """The edition settings, parsed and checked before any pixel is made."""

    fmt: str
    paper: PaperSize
    bleed_in: Fraction
    bleed: str  # as the ledger and certificates write it: 0.125in, 3mm or 0
    profile: Profile
    transform: ImageCms.ImageCmsTransform | None
    matte: tuple[int, int, int]
    upscale: Upscaler | None
    upscaler: str  # lanczos, learned:NAME, with +sharpen
    numbers: list[Number]


def check(cfg: Config, numbers: str | None = None) -> Checked:
    """Every mistake in the edition's settings, found before the model is even loaded."""
    e = cfg.edition
    fmt = _format(e.format)
    if e.compression not in TIFF_COMPRESSION:
        raise UsageError(f"--compression {e.compression!r}: use lzw, deflate or none")
    if not 50 <= e.dpi <= 2400:
        raise UsageError(f"--dpi {e.dpi}: use 50-2400 (300 is the usual print resolution)")
    if e.fit not in ("contain", "cover"):
        raise UsageError(f"--fit {e.fit!r}: use contain (on a matte border) or cover (cropped to the edges)")
    paper = parse_size(e.size)
    bleed_in, bleed_unit = parse_length(e.bleed, "--bleed")
    if bleed_in > min(paper.width_in, paper.height_in) / 4:
        raise UsageError(f"--bleed {e.bleed} is more than a quarter of the paper; bleed is usually 3mm or 0.125in")
    if not 0 <= e.safe_mm <= 50:
        raise UsageError(f"edition.safe_mm {e.safe_mm}: use 0-50 mm (3-5 is usual)")
    profile = load_profile(e.icc)
    if profile.mode == "CMYK" and not e.icc_convert:
        raise UsageError(f"--icc {e.icc} is a CMYK profile; add --convert so the pixels are converted into it")
    if profile.mode == "CMYK" and fmt == "png":
        raise UsageError("PNG cannot hold CMYK; use --format tif or jpg with a CMYK profile")
    transform = transform_to(profile, e.intent) if e.icc_convert else None
    upscale, upscaler = load_upscaler(e.upscaler)
    return Checked(
        fmt=fmt, paper=paper, bleed_in=bleed_in, bleed=f"{format_length(bleed_in, bleed_unit)}{bleed_unit}" if bleed_in else "0",
        profile=profile, transform=transform, matte=parse_colour(e.matte, "--matte"), upscale=upscale,
        upscaler=upscaler + ("+sharpen" if e.sharpen else ""), numbers=select(edition_numbers(e.edition, e.proofs), numbers),
    )  # fmt: skip


def make_edition(source: Source, out: Path, cfg: Config, numbers: str | None = None, force: bool = False) -> EditionResult:
    """Issue the asked-for numbers of an edition into the folder `out`; what is issued and intact is skipped."""
    started = time.perf_counter()
    e = cfg.edition
    c = check(cfg, numbers)
    fmt, paper, profile, transform, upscaler, bleed, wanted = c.fmt, c.paper, c.profile, c.transform, c.upscaler, c.bleed, c.numbers
    picture = source.picture
    safe_in = Fraction(str(e.safe_mm)) * INCHES_PER["mm"]
    layout = plan(paper, e.dpi, c.bleed_in, e.fit, picture.width / picture.height, safe_in, e.border, cfg.stamp.width)
    if fmt == "jpg" and max(layout.size_px) > 65500:
        raise UsageError(f"JPEG holds at most 65500 px a side; this print is {layout.size_px[0]} x {layout.size_px[1]} px: use --format tif")
    out = Path(out)
    result = EditionResult(folder=out, layout=layout, ledger=out / "ledger.jsonl")
    with exclusive(out, "edition"):
        remove_stale_parts(out)
        ledger = Ledger(out)
        first = next(iter(ledger.current().values()), {})
        year = cfg.stamp.year or (first.get("settings") or {}).get("year") or source.record.get("year") or _dt.date.today().year
        title = cfg.render.title or default_title(source.record)
        artist = cfg.render.artist or str(source.record.get("artist", ""))
        settings = {
            "source": source.identity, "size": paper.label, "dpi": e.dpi, "bleed": bleed, "fit": e.fit,
            "matte": e.matte if e.fit == "contain" else "", "border": e.border if e.fit == "contain" else 0.0,
            "safe_mm": e.safe_mm, "edition": e.edition, "proofs": e.proofs, "format": fmt,
            "compression": e.compression if fmt == "tif" else "", "jpeg_quality": e.jpeg_quality if fmt == "jpg" else 0,
            "icc": f"{profile.name} {profile.sha256[:16]}", "convert": e.intent if e.icc_convert else "",
            "upscaler": upscaler, "signature": cfg.render.signature,
            "stamp": [cfg.stamp.width, cfg.stamp.color, cfg.stamp.opacity],
            "title": title, "artist": artist, "year": year, "paper": e.paper,
        }  # fmt: skip
        issue = ledger.plan(wanted, settings, force)
        result.prints = [out / print_name(n, fmt) for n in wanted]
        result.skipped = len(issue.done)
        if issue.done:
            info(f"{len(issue.done)} of {len(wanted)} prints already issued in {out}; nothing to do for them")
        if issue.redo_unlisted:
            info(f"{issue.redo_unlisted} print file(s) were never entered in the ledger (a stopped run); making them again")
        if not issue.make:
            result.wall_s = time.perf_counter() - started
            return result
        pic_w = layout.picture[2] - layout.picture[0]
        info(f"{layout.size_px[0]} x {layout.size_px[1]} px ({paper.label}, bleed {bleed}, {e.dpi} ppi); "
             f"{source.origin}, upscaled {pic_w / picture.width / (layout.crop[2] - layout.crop[0]):.1f}x with {upscaler}")  # fmt: skip
        canvas = compose(picture, layout, c.matte, c.upscale, e.sharpen)
        blank = canvas.crop(layout.signature)  # the signature box before any number, in sRGB
        if transform is not None:
            canvas = convert(canvas, transform)
        stamp_cfg = StampConfig(margin=0.0, width=1.0, color=cfg.stamp.color, opacity=cfg.stamp.opacity)
        fields = {"artist": artist, "year": year, "title": title, "seed": source.record.get("seed", "")}
        context = _Context(source, layout, profile, paper, bleed, upscaler, title, artist, int(year), settings)
        with progress() as bar:
            task = bar.add_task("edition", total=len(issue.make))
            for number in issue.make:
                signature = signature_for(cfg.render.signature, fields, number.label)
                if signature is not None:
                    region = stamp(blank, signature, layout.signature_corner, stamp_cfg)
                    canvas.paste(convert(region, transform) if transform is not None else region, layout.signature[:2])
                path = _issue_one(canvas, number, out, ledger, context, cfg, issue.replaces.get(number.label))
                result.made.append(path)
                if result.proof is None:
                    result.proof = _proof(canvas, layout, profile, out, context)
                bar.advance(task)
    result.wall_s = time.perf_counter() - started
    return result


@dataclass
class _Context:
    """What every print of one run shares."""

    source: Source
    layout: Layout
    profile: Profile
    paper: PaperSize
    bleed: str
    upscaler: str
    title: str
    artist: str
    year: int
    settings: dict[str, Any]


def _issue_one(canvas: Image.Image, number: Number, out: Path, ledger: Ledger, c: _Context, cfg: Config, replaces: str | None) -> Path:
    """Write one print, then its certificate, then its ledger line (in that order, so a crash is redone)."""
    e, r = cfg.edition, c.source.record
    fmt = c.settings["format"]
    path = out / print_name(number, fmt)
    pic_w = c.layout.picture[2] - c.layout.picture[0]
    record = make_record(
        title=c.title, artist=c.artist, year=c.year, seed=r.get("seed"), psi=r.get("psi"), model=r.get("model"),
        model_name=r.get("model_name"), step=r.get("step"), style=r.get("style"), native_px=r.get("native_px"),
        size=pic_w, signature=cfg.render.signature, edition=number.label, dpi=e.dpi,
        print_size=f"{c.paper.label}, bleed {c.bleed}", upscaler=c.upscaler, kind="print",
    )  # fmt: skip
    digest, size = save_image(
        canvas, path, record, dpi=e.dpi, icc=c.profile.data, tiff_compression=TIFF_COMPRESSION[e.compression],
        jpeg_quality=e.jpeg_quality, png_compress=3,
    )  # fmt: skip
    issued = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    facts = _facts(number, c, path.name, digest, issued, e)
    cert = out / certificate_name(number)
    cert_digest, _ = write_certificate(cert, facts, thumbnail(canvas, THUMB_PX, c.profile), "letter" if c.paper.unit == "in" else "A4")
    row = {
        "number": number.label, "file": path.name, "sha256": digest, "bytes": size, "certificate": cert.name,
        "certificate_sha256": cert_digest, "seed": r.get("seed"), "psi": r.get("psi"), "model": r.get("model"),
        "model_name": r.get("model_name"), "size": c.paper.label, "bleed": c.bleed, "dpi": e.dpi,
        "pixels": list(c.layout.size_px), "issued": issued.strftime("%Y-%m-%dT%H:%M:%SZ"), "artgan": __version__,
        "settings": c.settings,
    }  # fmt: skip
    if replaces:
        row["replaces"] = replaces
    ledger.issue(row)
    return path


def _facts(number: Number, c: _Context, file_name: str, digest: str, issued: _dt.datetime, e: EditionConfig) -> CertificateFacts:
    r, layout = c.source.record, c.layout
    edition, proofs = e.edition, e.proofs
    plus = f", plus {proofs} artist's proof{'s' if proofs != 1 else ''}" if proofs else ""
    words = (f"artist's proof {number.k} of {number.of}, outside the numbered edition of {edition}" if number.proof
             else f"number {number.k} of an edition of {edition}{plus}")  # fmt: skip
    pic_w, pic_h = layout.picture[2] - layout.picture[0], layout.picture[3] - layout.picture[1]
    unit = "in" if c.paper.unit == "in" else "cm"
    image_size = f"{format_length(Fraction(pic_w, e.dpi), unit, 2)} x {format_length(Fraction(pic_h, e.dpi), unit, 2)} {unit}"
    placement = f"image {image_size} on a {e.matte} border" if layout.fit == "contain" else "image to the edges (full bleed)"
    upscaling = f"Lanczos from {c.source.picture.width} px"
    if c.upscaler.startswith("learned:"):
        upscaling = f"learned super-resolution ({c.upscaler.removeprefix('learned:').split('+')[0]}): it invents detail the generator did not make"
    if c.upscaler.endswith("+sharpen"):
        upscaling += ", lightly sharpened"
    rows = [
        ("Size", f"{c.paper.describe()}; {placement}" + (f"; bleed {c.bleed}" if c.bleed != "0" else "")),
        ("Resolution", f"{e.dpi} ppi, {layout.size_px[0]} x {layout.size_px[1]} px"),
        ("Paper", e.paper or "not stated"),
        ("Colour", f"{c.profile.description} ({'converted' if e.icc_convert else 'embedded'})"),
        ("Generated by", f"{r.get('model_name', 'a GAN')}" + (f", step {r['step']}" if r.get("step") is not None else "")
         + (f"; seed {r['seed']}" if "seed" in r else "") + (f", psi {r['psi']:g}" if "psi" in r else "")),
        ("Upscaled with", upscaling),
        ("Print file", file_name),
    ]  # fmt: skip
    hashes = [("sha256 of the print file", digest)]
    if r.get("model"):
        hashes.append(("Model: sha256 of the generator's weights", str(r["model"])))
    return CertificateFacts(c.title, c.artist, c.year, number.label, words, rows, hashes, issued)


def _proof(canvas: Image.Image, layout: Layout, profile: Profile, out: Path, c: _Context) -> Path:
    pic_w, pic_h = layout.picture[2] - layout.picture[0], layout.picture[3] - layout.picture[1]
    picture = f"picture {pic_w} x {pic_h} px" if layout.fit == "contain" else "picture to the edges, cropped"
    notes = [
        f"{c.paper.describe()}; bleed {c.bleed}; safe margin {c.settings['safe_mm']:g} mm; {layout.fit}",
        f"file {layout.size_px[0]} x {layout.size_px[1]} px at {layout.dpi} ppi; {picture}; {c.upscaler}",
    ]
    small = thumbnail(canvas, min(PROOF_PX, max(canvas.size)), profile)
    return proof_sheet(small, layout, out / "proof.png", notes)
