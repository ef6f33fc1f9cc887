"""Animated GIF written frame by frame: one palette for the whole loop, every frame kept, timing in centiseconds.

Pillow's own GIF writer holds every frame until the end and merges identical neighbours into one
longer frame, and imageio's pillow plugin hands it the whole list, so neither streams. This writer
lays out the GIF blocks itself and leaves pixel mapping and LZW compression to Pillow.
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

import numpy as np
from PIL import GifImagePlugin, Image

from .errors import UsageError

MAX_FPS = 50  # browsers play GIF frames shorter than 2 cs at 10 cs, so faster GIFs run slow
PALETTE_COLOURS = 256


def frame_delays_cs(frames: int, fps: float) -> list[int]:
    """Each frame's delay in centiseconds, the unit GIF stores.

    Frame k ends at round(100 (k + 1) / fps) cs, so 24 fps gives 4, 4, 5, 4, 4, 4, ... cs: every
    frame is within half a centisecond of its true time, and a whole loop lasts what it should.
    """
    ends = [math.floor(100 * k / fps + 0.5) for k in range(frames + 1)]
    return [ends[k + 1] - ends[k] for k in range(frames)]


def check_fps(fps: float) -> None:
    if fps > MAX_FPS:
        raise UsageError(f"--fps {fps:g}: GIF shows at most {MAX_FPS} frames per second (browsers slow faster GIFs down); use MP4 or WebP, or a lower --fps")


def palette_from(samples: list[np.ndarray], colours: int = PALETTE_COLOURS) -> Image.Image:
    """One adaptive palette (a 'P' image) for frames like these: median cut over all samples together."""
    tiles = [Image.fromarray(sample) for sample in samples]
    # 64 px thumbnails find the colours as well as full frames (mapping error within 0.1 of 255 on
    # the impressionist walks) and keep one k-means pass, the costly part, near a second.
    for tile in tiles:
        tile.thumbnail((64, 64), Image.Resampling.BOX)
    width = max(tile.width for tile in tiles)
    mosaic = Image.new("RGB", (width, sum(tile.height for tile in tiles)))
    top = 0
    for tile in tiles:
        mosaic.paste(tile, (0, top))
        top += tile.height
    return mosaic.quantize(colours, method=Image.Quantize.MEDIANCUT, kmeans=1)


class GifWriter:
    """Writes frames to an open binary file as they come; `close` ends the file."""

    def __init__(self, fh: BinaryIO, size: tuple[int, int], fps: float, palette: Image.Image | None,
                 loops: int = 0, dither: bool = False, comment: str = "") -> None:  # fmt: skip
        check_fps(fps)
        self.fh, self.size, self.fps = fh, size, fps
        self.palette = palette  # None: each frame gets its own palette (more colours, may flicker)
        self.dither = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
        self.previous: np.ndarray | None = None
        self.count = 0
        self.clock_cs = 0
        self._write_header(loops, comment)

    def _write_header(self, loops: int, comment: str) -> None:
        width, height = self.size
        has_global = self.palette is not None
        # Global colour table of 256 entries, 8 bits of colour resolution.
        flags = 0xF7 if has_global else 0x70
        self.fh.write(b"GIF89a" + struct.pack("<HHBBB", width, height, flags, 0, 0))
        if has_global:
            self.fh.write(_palette_bytes(self.palette))
        # GIF counts repeats after the first showing; `loops` counts showings (0: forever, 1: once).
        if loops != 1:
            repeats = 0 if loops == 0 else min(loops - 1, 0xFFFF)
            self.fh.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", repeats) + b"\x00")
        if comment:
            data = comment.encode("utf-8")
            blocks = b"".join(bytes([len(part)]) + part for part in (data[i : i + 255] for i in range(0, len(data), 255)))
            self.fh.write(b"!\xfe" + blocks + b"\x00")

    def write(self, frame: np.ndarray) -> None:
        image = Image.fromarray(frame)
        if self.palette is not None:
            indexed = image.quantize(palette=self.palette, dither=self.dither)
        else:
            indexed = image.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=self.dither)
        box = self._changed_box(indexed)
        end_cs = math.floor(100 * (self.count + 1) / self.fps + 0.5)
        delay_cs, self.clock_cs = end_cs - self.clock_cs, end_cs
        params = {"duration": delay_cs * 10, "disposal": 1, "include_color_table": self.palette is None}
        part = indexed.crop(box) if box != (0, 0, *self.size) else indexed
        for chunk in GifImagePlugin.getdata(part, offset=box[:2], **params):
            self.fh.write(chunk)
        self.count += 1

    def _changed_box(self, indexed: Image.Image) -> tuple[int, int, int, int]:
        """Only the pixels that changed need storing; an unchanged frame still gets a (1 px) frame of its own."""
        pixels = np.asarray(indexed)
        previous, self.previous = self.previous, pixels
        if previous is None or self.palette is None:
            return (0, 0, *self.size)
        changed = pixels != previous
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if not len(rows):
            return (0, 0, 1, 1)
        return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)

    def close(self) -> None:
        self.fh.write(b";")


def _palette_bytes(palette: Image.Image) -> bytes:
    colours = palette.getpalette() or []
    return bytes(colours[: 3 * PALETTE_COLOURS]).ljust(3 * PALETTE_COLOURS, b"\x00")
