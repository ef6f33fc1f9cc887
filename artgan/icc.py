"""Colour profiles for prints: a properly named sRGB profile, a user's ICC file, and conversion into it."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms

from .errors import UsageError

SRGB_NAME = "sRGB IEC61966-2.1"
MODES = {"RGB ": "RGB", "CMYK": "CMYK"}  # ICC colour space -> Pillow mode we can print in


@dataclass(frozen=True)
class Profile:
    """An ICC profile to embed, and what is known about it."""

    data: bytes
    description: str
    mode: str  # the Pillow mode of pixels in this profile: RGB or CMYK
    name: str  # "srgb" or the file name, for settings and certificates

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@functools.lru_cache(maxsize=1)
def srgb_bytes() -> bytes:
    """littleCMS's built-in sRGB (the IEC 61966-2.1 primaries, white point and tone curve), named as such.

    The built-in calls itself "sRGB built-in"; print labs and editors look for the standard name, so the
    description tag is rewritten and the profile ID recomputed. The colour data is untouched.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # littleCMS stamps the current time; a fixed date (the standard's) keeps every print's bytes reproducible.
    data[24:36] = struct.pack(">6H", 1999, 10, 18, 0, 0, 0)
    return _with_tags(bytes(data), {b"desc": _mluc(SRGB_NAME)})


def _mluc(text: str) -> bytes:
    """An ICC v4 multiLocalizedUnicode tag holding one en-US string."""
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _with_tags(data: bytes, replace: dict[bytes, bytes]) -> bytes:
    """The profile with some tags' contents replaced; tags that share data keep sharing it."""
    count = struct.unpack(">I", data[128:132])[0]
    entries = [struct.unpack(">4sII", data[132 + 12 * i : 144 + 12 * i]) for i in range(count)]
    body, placed = bytearray(), {}
    table_end = 132 + 12 * count
    table = []
    for signature, offset, size in entries:
        key = signature if signature in replace else (offset, size)
        if key not in placed:
            blob = replace.get(signature, data[offset : offset + size])
            while (table_end + len(body)) % 4:
                body.append(0)
            placed[key] = (table_end + len(body), len(blob))
            body += blob
        table.append(struct.pack(">4sII", signature, *placed[key]))
    while (table_end + len(body)) % 4:
        body.append(0)
    out = bytearray(data[:128]) + struct.pack(">I", count) + b"".join(table) + body
    out[0:4] = struct.pack(">I", len(out))
    # Profile ID: MD5 of the whole profile with flags, rendering intent and the ID itself zeroed (ICC.1:2010 7.2.18).
    for start, end in ((44, 48), (64, 68), (84, 100)):
        out[start:end] = bytes(end - start)
    digest = hashlib.md5(bytes(out)).digest()
    out[44:48], out[64:68] = data[44:48], data[64:68]
    out[84:100] = digest
    return bytes(out)


def load_profile(spec: str) -> Profile:
    """'srgb' (the default) or the path of an .icc/.icm file."""
    if spec.strip().lower() in ("srgb", "", "default"):
        return Profile(srgb_bytes(), SRGB_NAME, "RGB", "srgb")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UsageError(f"--icc {spec!r}: no such file; give srgb or the path of an .icc profile")
    data = path.read_bytes()
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError, TypeError):
        raise UsageError(f"--icc {spec!r} is not an ICC profile; give srgb or an .icc/.icm file") from None
    space = profile.profile.xcolor_space
    if space not in MODES:
        raise UsageError(f"--icc {spec!r} is a {space.strip()} profile; give an RGB or CMYK profile")
    description = (ImageCms.getProfileDescription(profile) or "").strip() or path.stem
    return Profile(data, description, MODES[space], path.name)


def transform_to(profile: Profile, intent: str = "perceptual") -> ImageCms.ImageCmsTransform:
    """sRGB pixels (what the generator learned from) into the profile's space."""
    intents = {"perceptual": ImageCms.Intent.PERCEPTUAL, "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC}
    if intent not in intents:
        raise UsageError(f"edition.intent {intent!r}: use perceptual or relative")
    source = ImageCms.ImageCmsProfile(io.BytesIO(srgb_bytes()))
    target = ImageCms.ImageCmsProfile(io.BytesIO(profile.data))
    try:
        return ImageCms.buildTransform(
            source, target, "RGB", profile.mode, renderingIntent=intents[intent],
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )  # fmt: skip
    except ImageCms.PyCMSError as exc:
        raise UsageError(f"--icc {profile.name}: cannot convert into it ({exc}); embed it without --convert") from None


def convert(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    """Apply a transform; in place when the mode stays the same, so a huge print is not copied."""
    if transform.output_mode == image.mode:
        ImageCms.applyTransform(image, transform, inPlace=True)
        return image
    return ImageCms.applyTransform(image, transform)
