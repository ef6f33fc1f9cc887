"""Latent walks and seamless loops: frames along a path through latent space, streamed into a video file."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import re
import secrets
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from .config import Config, WalkConfig
from .console import progress
from .errors import UsageError
from .files import remove_stale_parts, sha256_file, write_json
from .gif import check_fps, palette_from
from .infer import Renderer
from .latent import circle_directions, circle_path, frame_times, keyframe_path, seeds_to_z, truncate
from .provenance import make_record, sidecar_path
from .run import Model
from .stamp import ink_for, signature_text, stamp
from .video import FramesWriter, VideoOptions, format_of, video_writer

PALETTE_SAMPLES = 32  # frames, spread over the whole walk, that choose a GIF's one palette
CIRCLE_QUARTERS = 4  # a quarter turn moves as far as one step between two random seeds


@dataclass
class WalkPlan:
    """Which seeds each tile walks through, and the path each tile follows."""

    tiles: list[list[int]]
    paths: list[Callable[[torch.Tensor], torch.Tensor]]
    frames: int
    closed: bool
    rows: int = 1
    cols: int = 1


@dataclass
class WalkResult:
    out: Path | None
    frames_dir: Path | None
    frames: int
    fps: int
    width: int
    height: int
    tiles: list[list[int]]
    record: dict[str, Any]
    sidecar: Path | None = None
    generate_s: float = 0.0
    wall_s: float = 0.0
    files: list[Path] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0


def parse_grid(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= 16 or not 1 <= int(match.group(2)) <= 16:
        raise UsageError(f"--grid {text!r}: write rows x columns, e.g. 2x3 (1-16 each)")
    return int(match.group(1)), int(match.group(2))


def random_seeds(count: int) -> list[int]:
    """Fresh seeds for a walk; they go into the file's record, so the walk can be made again."""
    return [secrets.randbelow(2**31) for _ in range(count)]


def default_seed_count(mode: str) -> int:
    return 1 if mode == "circle" else 4


def plan_walk(seeds: list[int], nz: int, w: WalkConfig) -> WalkPlan:
    """Deal the seeds to the tiles in turn (tile k gets seeds k, k + cells, ...) and build each tile's path."""
    rows, cols = parse_grid(w.grid)
    cells = rows * cols
    if w.mode not in ("keyframes", "circle"):
        raise UsageError(f"--mode {w.mode!r}: use keyframes or circle")
    if w.frames_per_seed < 2:
        raise UsageError(f"--frames-per-seed {w.frames_per_seed}: a step needs at least 2 frames")
    if w.frames < 0 or w.fps < 1:
        raise UsageError("walk.frames must be 0 or more and walk.fps at least 1")
    if not seeds or len(seeds) % cells:
        raise UsageError(f"{len(seeds)} seeds do not share out evenly over a {rows}x{cols} grid; give a multiple of {cells}")
    tiles = [seeds[k::cells] for k in range(cells)]
    per_tile = len(tiles[0])
    if w.mode == "circle":
        if not w.loop:
            raise UsageError("--mode circle always loops; drop --no-loop, or use --mode keyframes")
        if per_tile > 2:
            raise UsageError(f"--mode circle takes 1 or 2 seeds per tile (the circle's two directions), not {per_tile}")
        paths = [circle_path(*circle_directions(tile[0], nz, tile[1] if len(tile) > 1 else None)) for tile in tiles]
        frames = w.frames or CIRCLE_QUARTERS * w.frames_per_seed
    else:
        if per_tile < 2:
            raise UsageError(f"a keyframe walk needs at least 2 seeds per tile; got {per_tile} (give more seeds, or --mode circle)")
        paths = [keyframe_path(seeds_to_z(tile, nz), w.interp, w.ease, w.loop) for tile in tiles]
        steps = per_tile if w.loop else per_tile - 1
        frames = w.frames or steps * w.frames_per_seed + (0 if w.loop else 1)
    return WalkPlan(tiles, paths, frames, closed=w.loop, rows=rows, cols=cols)


class FrameMaker:
    """Latents of a range of frames -> finished frames: every tile upscaled, tiled, and signed."""

    def __init__(self, plan: WalkPlan, renderer: Renderer, psi: float, tile_px: int, sign: Callable[[Image.Image], Image.Image] | None):
        self.plan, self.renderer, self.psi, self.tile_px, self.sign = plan, renderer, psi, tile_px, sign
        self.times = frame_times(plan.frames, plan.closed)

    @property
    def size(self) -> tuple[int, int]:
        return self.plan.cols * self.tile_px, self.plan.rows * self.tile_px

    def generate(self, indices: list[int]) -> np.ndarray:
        """uint8 pixels (tiles, frames, H, W, 3) at the model's native size."""
        t = self.times[indices]
        z = torch.cat([truncate(path(t), self.psi) for path in self.plan.paths])
        pixels = self.renderer.images(z)
        return pixels.reshape(len(self.plan.paths), len(indices), *pixels.shape[1:])

    def finish(self, pixels: np.ndarray) -> list[np.ndarray]:
        frames = []
        for k in range(pixels.shape[1]):
            canvas = Image.new("RGB", self.size)
            for cell in range(pixels.shape[0]):
                tile = Image.fromarray(pixels[cell, k])
                if tile.width != self.tile_px:
                    tile = tile.resize((self.tile_px, self.tile_px), Image.Resampling.LANCZOS)
                canvas.paste(tile, ((cell % self.plan.cols) * self.tile_px, (cell // self.plan.cols) * self.tile_px))
            frames.append(np.asarray(self.sign(canvas) if self.sign else canvas))
        return frames

    def frames(self, indices: list[int]) -> list[np.ndarray]:
        return self.finish(self.generate(indices))


def walk_record(model: Model, seeds: list[int], plan: WalkPlan, cfg: Config, tile_px: int, year: int) -> dict[str, Any]:
    r, w = cfg.render, cfg.walk
    keyframes = w.mode == "keyframes"
    return make_record(
        title=r.title, artist=r.artist, year=year, seeds=",".join(map(str, seeds)), psi=r.psi, model=model.hash,
        model_name=model.name, step=model.step, style=cfg.style.name, size=tile_px, native_px=model.config.net.res,
        signature=w.signature, signature_corner=r.signature_corner, kind="walk", mode=w.mode, fps=w.fps,
        frames=plan.frames, interp=w.interp if keyframes else None, ease=w.ease if keyframes else None,
        loop=w.loop, frames_per_seed=w.frames_per_seed, grid=f"{plan.rows}x{plan.cols}",
    )  # fmt: skip


def _signer(cfg: Config, model: Model, record: dict, year: int) -> Callable[[Image.Image], Image.Image] | None:
    r = cfg.render
    fields = {"artist": r.artist, "year": year, "title": r.title or model.name, "seed": record.get("seeds", "")}
    signature = signature_text(cfg.walk.signature, fields)
    if signature is None:
        return None
    stamp_cfg = dataclasses.replace(cfg.stamp)

    def sign(canvas: Image.Image) -> Image.Image:
        if stamp_cfg.color == "auto":
            # One ink for the whole walk, chosen on the first frame: ink that flips with the picture flickers.
            corner = np.asarray(canvas)
            height, width = corner.shape[:2]
            rows = slice(height * 3 // 4, None) if r.signature_corner.startswith("bottom") else slice(0, height // 4)
            cols = slice(width // 2, None) if r.signature_corner.endswith("right") else slice(0, width // 2)
            stamp_cfg.color = "#%02x%02x%02x" % ink_for(corner[rows, cols])
        return stamp(canvas, signature, r.signature_corner, stamp_cfg, in_place=True)

    return sign


def check_settings(cfg: Config, fmt: str | None) -> None:
    """Refuse impossible settings before any model is loaded onto the device."""
    r, w = cfg.render, cfg.walk
    if fmt == "gif":
        check_fps(w.fps)
    if not 0 <= r.psi <= 2:
        raise UsageError(f"--psi {r.psi}: use 0-2 (1 is no truncation)")
    if r.size and not 8 <= r.size <= 4096:
        raise UsageError(f"--size {r.size}: a walk's frames are 8-4096 px a side")
    if not 0 <= w.crf <= 51 or not 0 <= w.quality <= 100 or w.loops < 0:
        raise UsageError("walk.crf must be 0-51, walk.quality 0-100 and walk.loops 0 or more")
    if w.gif_palette not in ("global", "frame"):
        raise UsageError(f"walk.gif_palette {w.gif_palette!r}: use global or frame")


def render_walk(
    model: Model,
    seeds: list[int],
    out: Path | None,
    cfg: Config,
    frames_dir: Path | None = None,
    on_tick: Callable[[dict[str, Any]], None] | None = None,
) -> WalkResult:
    """Render a walk through the seeds' latents into `out` (.mp4, .gif or .webp) and/or numbered PNGs."""
    started = time.perf_counter()
    r, w = cfg.render, cfg.walk
    if out is None and frames_dir is None:
        raise UsageError("say where the walk goes: -o OUT.mp4|.gif|.webp and/or --frames-dir DIR")
    fmt = format_of(out) if out is not None else None
    check_settings(cfg, fmt)
    if out is not None:
        remove_stale_parts(Path(out).parent, Path(out).name)
    if frames_dir is not None:
        remove_stale_parts(frames_dir)
    plan = plan_walk(list(seeds), model.config.net.nz, w)
    tile_px = r.size or model.config.net.res
    year = cfg.stamp.year or _dt.date.today().year
    record = walk_record(model, list(seeds), plan, cfg, tile_px, year)
    renderer = Renderer(model, r.device, precision=r.precision, compile=r.compile)
    maker = FrameMaker(plan, renderer, r.psi, tile_px, _signer(cfg, model, record, year))
    result = WalkResult(out, frames_dir, plan.frames, w.fps, *maker.size, plan.tiles, record)
    options = VideoOptions(fps=w.fps, crf=w.crf, quality=w.quality, lossless=w.lossless, loops=w.loops, dither=w.dither, record=record)
    if fmt == "gif" and w.gif_palette == "global":
        options.palette = _gif_palette(maker, r.batch)
    batch = max(1, r.batch // len(plan.paths))
    writers: list[Any] = [FramesWriter(frames_dir, record)] if frames_dir is not None else []
    with video_writer(out, maker.size, options) if out is not None else contextlib.nullcontext() as video:
        _stream(maker, writers + ([video] if video is not None else []), batch, result, on_tick)
    if out is not None:
        result.files.append(Path(out))
        result.sidecar = sidecar_path(out)
        file_info = {"file": Path(out).name, "bytes": Path(out).stat().st_size, "sha256": sha256_file(out),
                     "width": result.width, "height": result.height, "tiles": plan.tiles}  # fmt: skip
        write_json(result.sidecar, {"record": record, **file_info})
    if frames_dir is not None:
        result.files.append(Path(frames_dir))
    result.wall_s = time.perf_counter() - started
    return result


def _gif_palette(maker: FrameMaker, batch: int) -> Image.Image:
    """A first, cheap pass: a few frames spread over the whole walk choose the one palette.

    Colours that appear late in the walk get entries too, and no frame's colours jump, as they
    would if the palette changed partway.
    """
    frames = maker.plan.frames
    picks = sorted(set(np.linspace(0, frames - 1, min(PALETTE_SAMPLES, frames)).round().astype(int).tolist()))
    samples = [frame for start in range(0, len(picks), batch) for frame in maker.frames(picks[start : start + batch])]
    return palette_from(samples)


def _stream(maker: FrameMaker, writers: list[Any], batch: int, result: WalkResult, on_tick) -> None:
    """Generate batches on this thread while one worker finishes and writes the previous batch, in order."""

    def finish_and_write(pixels: np.ndarray) -> int:
        frames = maker.finish(pixels)
        for frame in frames:
            for writer in writers:
                writer.write(frame)
        return len(frames)

    total = maker.plan.frames
    done = 0
    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with progress() as bar:
            task = bar.add_task("walk", total=total)

            def collect() -> None:
                nonlocal done
                done += pending.popleft().result()
                bar.update(task, completed=done)
                if on_tick:
                    on_tick({"frames": done, "total": total})

            for start in range(0, total, batch):
                began = time.perf_counter()
                pixels = maker.generate(list(range(start, min(total, start + batch))))
                result.generate_s += time.perf_counter() - began
                pending.append(pool.submit(finish_and_write, pixels))
                while len(pending) > 1:
                    collect()
            while pending:
                collect()
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
    if done != total:
        raise AssertionError(f"wrote {done} of {total} frames")
