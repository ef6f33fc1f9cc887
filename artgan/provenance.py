"""Where a picture came from, written inside every file artgan makes and read back from it.

PNG: iTXt keys and an XMP packet; JPEG: EXIF and XMP; TIFF: ImageDescription, Artist, Software,
Copyright and XMP (tag 700); WebP: XMP; GIF: a comment. MP4 gets container tags and a sidecar.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import threading
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any, Iterator
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, PngImagePlugin

from . import __version__
from .files import atomic_path, sha256_file

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "artgan": "http://ns.artgan.org/1.0/",
}
# The record's fields and their types; anything else found in a file is ignored.
FIELDS: dict[str, type] = {
    "title": str, "artist": str, "year": int, "seed": int, "psi": float, "model": str, "model_name": str,
    "step": int, "style": str, "artgan": str, "edition": str, "size": int, "native_px": int,
    "signature": str, "signature_corner": str, "stamp": str, "created": str, "upscaler": str,
    "seeds": str, "mode": str, "fps": float, "frames": int, "dpi": int, "print_size": str, "kind": str,
    "interp": str, "ease": str, "loop": bool, "frames_per_seed": int, "grid": str,
}  # fmt: skip
_OPEN_LOCK = threading.Lock()  # Image.MAX_IMAGE_PIXELS is global
JPEG_APP1_LIMIT = 65502  # bytes an APP1 segment can carry after its header


def make_record(**values: Any) -> dict[str, Any]:
    """A record with the artgan version, the creation time and only the known, non-empty fields."""
    record = {"artgan": __version__, "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    record.update({k: v for k, v in values.items() if v is not None and v != "" and k in FIELDS})
    unknown = set(values) - set(FIELDS)
    assert not unknown, f"unknown provenance fields: {unknown}"
    return record


def default_title(record: dict[str, Any]) -> str:
    if record.get("title"):
        return str(record["title"])
    name = record.get("model_name", "artgan")
    return f"{name} #{record['seed']}" if "seed" in record else str(name)


def rights(record: dict[str, Any]) -> str:
    year = record.get("year") or _dt.date.today().year
    return f"© {year} {record['artist']}" if record.get("artist") else ""


def xmp_packet(record: dict[str, Any]) -> bytes:
    attrs = [
        f'xmp:CreatorTool={quoteattr("artgan " + str(record.get("artgan", __version__)))}',
        f"Iptc4xmpExt:DigitalSourceType={quoteattr(DIGITAL_SOURCE_TYPE)}",
    ]
    if record.get("created"):
        attrs.append(f"xmp:CreateDate={quoteattr(record['created'])}")
    attrs += [f"artgan:{key}={quoteattr(str(value))}" for key, value in record.items() if key in FIELDS]
    body = [f"<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{escape(default_title(record))}</rdf:li></rdf:Alt></dc:title>"]
    if record.get("artist"):
        body.append(f"<dc:creator><rdf:Seq><rdf:li>{escape(str(record['artist']))}</rdf:li></rdf:Seq></dc:creator>")
        body.append(f"<dc:rights><rdf:Alt><rdf:li xml:lang=\"x-default\">{escape(rights(record))}</rdf:li></rdf:Alt></dc:rights>")
    body.append(f"<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{escape(describe(record))}</rdf:li></rdf:Alt></dc:description>")
    namespaces = " ".join(f"xmlns:{p}={quoteattr(u)}" for p, u in NS.items() if p not in ("x", "rdf"))
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" {namespaces}\n   ' + "\n   ".join(attrs) + ">\n   "
        + "\n   ".join(body)
        + "\n  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
    )
    return packet.encode("utf-8")


def describe(record: dict[str, Any]) -> str:
    """One human line: what this is and how to make it again."""
    parts = ["Made with a GAN (artgan)"]
    if "seed" in record:
        parts.append(f"seed {record['seed']}")
    if "psi" in record:
        parts.append(f"psi {record['psi']}")
    if record.get("model"):
        parts.append(f"model {record.get('model_name', '')} {str(record['model'])[:12]}".replace("  ", " "))
    if record.get("edition"):
        parts.append(f"edition {record['edition']}")
    return ", ".join(parts)


def parse_xmp(data: bytes | str) -> dict[str, Any]:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    start, end = data.find("<x:xmpmeta"), data.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        return {}
    try:
        root = ET.fromstring(data[start : end + len("</x:xmpmeta>")])
    except ET.ParseError:
        return {}
    record: dict[str, Any] = {}
    prefix = "{" + NS["artgan"] + "}"
    for description in root.iter("{" + NS["rdf"] + "}Description"):
        for key, value in description.attrib.items():
            if key.startswith(prefix) and key[len(prefix) :] in FIELDS:
                record[key[len(prefix) :]] = _typed(key[len(prefix) :], value)
    return record


def _typed(key: str, value: str) -> Any:
    if FIELDS[key] is bool:  # bool("False") is True
        return value.strip().lower() in ("true", "1", "yes")
    try:
        return FIELDS[key](value)
    except (TypeError, ValueError):
        return value


def png_info(record: dict[str, Any], packet: bytes | None = None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Title", default_title(record))
    if record.get("artist"):
        info.add_itxt("Author", str(record["artist"]))
        info.add_itxt("Copyright", rights(record))
    info.add_itxt("Software", f"artgan {record.get('artgan', __version__)}")
    info.add_itxt("Description", describe(record))
    info.add_itxt("artgan", json.dumps(record, ensure_ascii=False, sort_keys=True))
    info.add_itxt("XML:com.adobe.xmp", (packet or xmp_packet(record)).decode("utf-8"))
    return info


def _exif(image: Image.Image, record: dict[str, Any], dpi: int | None = None) -> Image.Exif:
    exif = image.getexif()
    exif[0x010E] = describe(record)  # ImageDescription
    exif[0x0131] = f"artgan {record.get('artgan', __version__)}"  # Software
    if record.get("artist"):
        exif[0x013B] = str(record["artist"])  # Artist
        exif[0x8298] = rights(record)  # Copyright
    if dpi:  # JFIF holds it too, but some editors read only EXIF's resolution
        exif[0x011A] = exif[0x011B] = dpi  # XResolution, YResolution
        exif[0x0128] = 2  # ResolutionUnit: inches
    return exif


def encode(image: Image.Image, fmt: str, record: dict[str, Any], **options: Any) -> bytes:
    """The file's bytes in `fmt` with the record inside."""
    buffer = io.BytesIO()
    _save(image, buffer, fmt, record, **options)
    return buffer.getvalue()


def png_options(level: int) -> dict[str, int]:
    """Pillow PNG options for an artgan compression level 0-9.

    1-5 use zlib's run-length strategy: on paintings it is as fast as level 1 and as small as level 6
    (bench on rendered portraits: 128 px 1.8 ms and 25.5 KB against 2.2 ms/27.2 KB at level 1;
    1024 px 64 ms/483 KB against 76 ms/639 KB at level 1 and 259 ms/494 KB at level 6). 6-9 are
    zlib's own levels, for the smallest files at many times the cost. 0 stores the pixels unpacked.
    """
    if 1 <= level <= 5:
        return {"compress_level": level, "compress_type": zlib.Z_RLE}
    return {"compress_level": level}


def _save(
    image: Image.Image,
    target: Any,
    fmt: str,
    record: dict[str, Any],
    *,
    png_compress: int = 1,
    jpeg_quality: int = 95,
    dpi: int | None = None,
    icc: bytes | None = None,
    tiff_compression: str = "tiff_lzw",
) -> None:
    fmt = {"jpeg": "jpg", "tiff": "tif"}.get(fmt.lower(), fmt.lower())
    options: dict[str, Any] = {}
    if dpi:
        options["dpi"] = (dpi, dpi)
    if icc:
        options["icc_profile"] = icc
    packet = xmp_packet(record)
    if fmt == "png":
        image.save(target, format="PNG", pnginfo=png_info(record, packet), **png_options(png_compress), **options)
    elif fmt == "jpg":
        if len(packet) > JPEG_APP1_LIMIT:
            raise ValueError("the XMP record is too large for a JPEG segment")
        image.save(target, format="JPEG", quality=jpeg_quality, subsampling=0 if jpeg_quality >= 90 else 2,
                   exif=_exif(image, record, dpi), xmp=packet, **options)  # fmt: skip
    elif fmt == "tif":
        tags = {270: describe(record), 305: f"artgan {record.get('artgan', __version__)}", 700: packet}
        if record.get("artist"):
            tags[315] = str(record["artist"])
            tags[33432] = rights(record)
        if tiff_compression in ("tiff_lzw", "tiff_adobe_deflate"):
            tags[317] = 2  # horizontal-differencing predictor: lossless, and a painting compresses 2-5x better
        image.save(target, format="TIFF", compression=tiff_compression, tiffinfo=tags, **options)
    elif fmt == "webp":
        image.save(target, format="WEBP", xmp=packet, lossless=True, **options)
    else:
        raise ValueError(f"unknown image format {fmt!r}")


def save_image(image: Image.Image, path: Path, record: dict[str, Any], durable: bool = True, **options: Any) -> tuple[str, int]:
    """Write the image with its record atomically, straight to disk; return its sha256 and size."""
    path = Path(path)
    with atomic_path(path, durable=durable) as tmp:
        with open(tmp, "wb") as fh:
            _save(image, fh, path.suffix.lstrip("."), record, **options)
    return sha256_file(path), path.stat().st_size


def read_record(path: Path) -> dict[str, Any] | None:
    """The record inside an image file artgan wrote (or its sidecar), or None."""
    path = Path(path)
    sidecar = sidecar_path(path)
    if path.suffix.lower() in (".mp4", ".mov", ".m4v") or not _is_image(path):
        return _read_sidecar(sidecar)
    with _open_header(path) as image:
        info = image.info
        if "artgan" in info:
            try:
                return json.loads(info["artgan"])
            except json.JSONDecodeError:
                pass
        packet = info.get("xmp") or info.get("XML:com.adobe.xmp")
        if packet is None and hasattr(image, "tag_v2"):
            packet = image.tag_v2.get(700)
        if packet:
            record = parse_xmp(packet)
            if record:
                return record
        comment = info.get("comment")
        if comment:
            try:
                value = json.loads(comment)
                if isinstance(value, dict):
                    return value
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass
    return _read_sidecar(sidecar)


def _is_image(path: Path) -> bool:
    try:
        with _open_header(path):
            return True
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _open_header(path: Path) -> Iterator[Image.Image]:
    """Open a file to read its metadata only; no pixels are decoded, so the decompression-bomb limit
    (which guards pixel memory) is lifted for the open, and a 140-megapixel print reads without a warning."""
    with _OPEN_LOCK:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            image = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = limit
    with image:
        yield image


def sidecar_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".json")


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value.get("record", value) if isinstance(value, dict) else None
