"""Video files written as frames arrive: MP4 (H.264) and animated WebP through ffmpeg, GIF, PNG frames.

Every writer takes one uint8 (H, W, 3) frame at a time and keeps no more than that frame, so memory
stays flat however long the walk. The file is written under a temporary name and renamed when
whole: an interrupted walk never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from .errors import RenderError, UsageError
from .files import atomic_path
from .gif import GifWriter
from .provenance import save_image, xmp_packet

FORMATS = ("mp4", "gif", "webp")


@dataclass
class VideoOptions:
    fps: float = 24.0  # frames per second
    crf: int = 18  # H.264 constant rate factor (0 lossless - 51 worst)
    quality: int = 90  # WebP quality 0-100
    lossless: bool = False  # WebP lossless
    loops: int = 0  # GIF/WebP showings (0: forever)
    dither: bool = False  # GIF Floyd-Steinberg dithering
    palette: Image.Image | None = None  # GIF: one palette for all frames; None gives each frame its own
    record: dict[str, Any] = field(default_factory=dict)  # provenance written into the file


def format_of(path: Path) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"-o {path}: cannot tell the format from '{Path(path).suffix or 'no extension'}'; end the name in .mp4, .gif or .webp")
    return fmt


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 in yuv420p needs even sides."""
    return width + width % 2, height + height % 2


def pad_even(frame: np.ndarray) -> np.ndarray:
    """Add one row or column by repeating the edge, so an odd frame is never stretched or framed in black."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


class _Abandon(BaseException):
    """Thrown into imageio-ffmpeg's writer so it kills ffmpeg at once instead of waiting for it to finish."""


class FfmpegWriter:
    """Raw RGB frames piped to imageio-ffmpeg's bundled ffmpeg."""

    def __init__(self, path: Path, size: tuple[int, int], fmt: str, options: VideoOptions) -> None:
        import imageio_ffmpeg

        self.path, self.size, self.fmt = Path(path), size, fmt
        comment = json.dumps(options.record, ensure_ascii=False, sort_keys=True)
        if fmt == "mp4":
            self.size = even_size(*size)
            pixel_format, codec = "yuv420p", "libx264"
            params = ["-crf", str(options.crf), "-preset", "medium", "-movflags", "+faststart", "-f", "mp4",
                      "-metadata", f"comment={comment}"]  # fmt: skip
            for key in ("title", "artist"):
                if options.record.get(key):
                    params += ["-metadata", f"{key}={options.record[key]}"]
        else:
            # Each frame goes in as a still of its own (libwebp, not libwebp_anim, which keeps the whole
            # animation in memory until the end): a little larger than an optimised animation, but flat
            # in memory, and identical frames are kept rather than merged. Lossless keeps full RGB;
            # lossy WebP is YUV 4:2:0 inside anyway, so ffmpeg converts first.
            pixel_format, codec = ("bgra" if options.lossless else "yuv420p"), "libwebp"
            quality = ["-lossless", "1", "-quality", "75"] if options.lossless else ["-lossless", "0", "-quality", str(options.quality)]
            params = [*quality, "-loop", str(options.loops), "-f", "webp"]
        self._frames = imageio_ffmpeg.write_frames(
            str(self.path), self.size, fps=options.fps, codec=codec, pix_fmt_out=pixel_format,
            macro_block_size=1, output_params=params, ffmpeg_log_level="error",
        )  # fmt: skip
        self._frames.send(None)
        # imageio-ffmpeg does not look at how ffmpeg ended; keep its process to ask (it is the generator's `p`).
        self._process = self._frames.gi_frame.f_locals.get("p") if self._frames.gi_frame else None

    def write(self, frame: np.ndarray) -> None:
        if self.fmt == "mp4":
            frame = pad_even(frame)
        try:
            self._frames.send(np.ascontiguousarray(frame))
        except OSError:  # ffmpeg stopped taking frames
            self._failed()

    def close(self) -> None:
        self._frames.close()  # ffmpeg drains its queue and finishes the file
        code = self._process.wait() if self._process is not None else 0
        if code != 0:
            self._failed()
        if self.path.stat().st_size == 0:
            raise RenderError(f"ffmpeg wrote nothing for {self.path.name}; see its message above")

    def _failed(self) -> None:
        if shutil.disk_usage(self.path.parent).free < (1 << 20):
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        raise RenderError(f"ffmpeg could not finish {self.path.name}; see its message above")

    def abort(self) -> None:
        with contextlib.suppress(_Abandon, StopIteration, OSError):
            self._frames.throw(_Abandon())


class PillowGifWriter:
    def __init__(self, path: Path, size: tuple[int, int], options: VideoOptions) -> None:
        self._file = open(path, "wb")
        comment = json.dumps(options.record, ensure_ascii=False, sort_keys=True)
        self._gif = GifWriter(self._file, size, options.fps, options.palette, options.loops, options.dither, comment)

    def write(self, frame: np.ndarray) -> None:
        self._gif.write(frame)

    def close(self) -> None:
        self._gif.close()
        self._file.close()

    def abort(self) -> None:
        self._file.close()


@contextlib.contextmanager
def video_writer(path: Path, size: tuple[int, int], options: VideoOptions) -> Iterator[Any]:
    """A writer with .write(frame) whose file appears under `path` only once it is whole."""
    fmt = format_of(path)
    with atomic_path(path) as tmp:
        writer = PillowGifWriter(tmp, size, options) if fmt == "gif" else FfmpegWriter(tmp, size, fmt, options)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if fmt == "webp":
            add_webp_xmp(tmp, xmp_packet(options.record))


class FramesWriter:
    """Numbered PNG frames (frame-000000.png, ...) for editing software, each with the walk's record inside."""

    def __init__(self, folder: Path, record: dict[str, Any], png_compress: int = 1) -> None:
        self.folder, self.record, self.png_compress = Path(folder), record, png_compress
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        save_image(Image.fromarray(frame), self.folder / f"frame-{self.count:06d}.png", self.record, png_compress=self.png_compress)
        self.count += 1


def add_webp_xmp(path: Path, packet: bytes) -> None:
    """Append an XMP chunk to an extended (VP8X) WebP file in place and mark it in the header.

    ffmpeg's WebP muxer writes no metadata; the WebP container puts XMP last, so no frame moves.
    """
    with open(path, "r+b") as fh:
        header = fh.read(30)
        if header[:4] != b"RIFF" or header[8:12] != b"WEBP" or header[12:16] != b"VP8X":
            raise RenderError(f"{path.name}: ffmpeg wrote a WebP without an extended header; cannot add its record")
        fh.seek(0, 2)
        end = fh.tell()
        chunk = b"XMP " + struct.pack("<I", len(packet)) + packet + (b"\x00" if len(packet) % 2 else b"")
        fh.write(chunk)
        fh.seek(4)
        fh.write(struct.pack("<I", end + len(chunk) - 8))
        fh.seek(20)
        fh.write(bytes([header[20] | 0x04]))  # the XMP flag of VP8X


@dataclass
class Probe:
    """What ffmpeg reads from a video's headers."""

    codec: str = ""
    pixel_format: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    comment: str = ""


def probe(path: Path) -> Probe:
    """Codec, pixel format, size, frame rate, duration and comment, from `ffmpeg -i` (no decoding)."""
    import imageio_ffmpeg

    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, errors="replace")
    text = run.stderr
    found = Probe()
    stream = re.search(r"Stream #.*?Video: (.*)$", text, re.MULTILINE)
    if not stream:
        raise RenderError(f"{path} holds no video ffmpeg can read")
    parts = _top_level_parts(stream.group(1))
    found.codec = parts[0].split()[0]
    found.pixel_format = parts[1].split("(")[0].strip() if len(parts) > 1 else ""
    for part in parts:
        if size := re.match(r"(\d+)x(\d+)", part):
            found.width, found.height = int(size.group(1)), int(size.group(2))
            break
    if rate := re.search(r"([\d.]+) fps", text):
        found.fps = float(rate.group(1))
    if duration := re.search(r"Duration: (\d+):(\d+):([\d.]+)", text):
        hours, minutes, seconds = duration.groups()
        found.duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    found.comment = container_tags(path).get("comment", "")
    return found


def container_tags(path: Path) -> dict[str, str]:
    """The container's metadata tags, whole (`ffmpeg -i` shortens long ones in its summary)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"]
    text = subprocess.run(command, capture_output=True, text=True, errors="replace").stdout
    tags: dict[str, str] = {}
    # ffmetadata escapes '=', ';', '#', '\\' and newlines with a backslash.
    for line in re.split(r"(?<!\\)\n", text)[1:]:
        key, sep, value = line.partition("=")
        if sep and not key.startswith(("[", ";")):
            tags[key] = re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL)
    return tags


def _top_level_parts(text: str) -> list[str]:
    """'h264 (High), yuv420p(tv, progressive), 34x34' -> the three parts, commas in brackets kept."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return parts + [current.strip()]
