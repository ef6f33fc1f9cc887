"""Seed-numbered series: batched, written as they finish, resumable, with a manifest and a contact sheet."""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .config import Config
from .console import info, progress, warn
from .errors import RenderError, UsageError
from .files import append_line, exclusive, read_jsonl, remove_stale_parts, sync_file, write_text
from .infer import Renderer
from .provenance import make_record, save_image
from .run import Model
from .sheet import contact_sheet
from .stamp import signature_text, stamp

# Threads that sign, encode and write beside the generator. PNG encoding releases the GIL; two hid
# encoding completely on a 2-core CPU in bench/render.py, one did not.
ENCODERS = max(2, min(8, (os.cpu_count() or 2) // 2))

# Settings that change the pixels: a series folder holds one combination of them.
PIXEL_SETTINGS = ("model", "psi", "size", "format", "signature", "signature_corner", "stamp")


@dataclass
class SeriesResult:
    folder: Path
    written: int = 0
    skipped: int = 0
    files: list[Path] = field(default_factory=list)
    generate_s: float = 0.0  # in the generator, for the images rendered
    loop_s: float = 0.0  # from the first batch to the last file written (no model loading, no contact sheet)
    wall_s: float = 0.0


def seed_file(seed: int, fmt: str) -> str:
    return f"seed-{seed:07d}.{fmt}"


def settings_of(model: Model, cfg: Config) -> dict[str, Any]:
    r = cfg.render
    if r.format not in ("png", "jpg", "tif"):
        raise UsageError(f"--format {r.format!r}: use png, jpg or tif")
    stamp_cfg = cfg.stamp
    return {
        "model": model.hash,
        "psi": r.psi,
        "size": r.size or model.config.net.res,
        "format": r.format,
        "signature": r.signature,
        "signature_corner": r.signature_corner,
        "stamp": json.dumps([stamp_cfg.margin, stamp_cfg.width, stamp_cfg.color, stamp_cfg.opacity]),
    }


def finish_image(pixels: np.ndarray, seed: int, model: Model, cfg: Config, settings: dict, year: int) -> tuple[Image.Image, dict]:
    """Upscale, sign and describe one generated image (shared by render and verify)."""
    image = Image.fromarray(pixels)
    size = settings["size"]
    if size != image.width:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    r = cfg.render
    record = make_record(
        title=r.title, artist=r.artist, year=year, seed=seed, psi=r.psi, model=model.hash, model_name=model.name,
        step=model.step, style=cfg.style.name, size=size, native_px=model.config.net.res,
        signature=r.signature, signature_corner=r.signature_corner, stamp=settings["stamp"], kind="series",
    )  # fmt: skip
    fields = {"artist": r.artist, "year": year, "title": r.title or f"{model.name} #{seed}", "seed": seed}
    image = stamp(image, signature_text(r.signature, fields), r.signature_corner, cfg.stamp)
    return image, record


def render_series(model: Model, seeds: list[int], out: Path, cfg: Config, fast: bool = True) -> SeriesResult:
    import datetime as _dt
    import time

    r = cfg.render
    if r.psi == 0:
        info("psi 0: every seed gives the same image, the model's mean image")
    settings = settings_of(model, cfg)
    year = cfg.stamp.year or _dt.date.today().year
    out = Path(out)
    result = SeriesResult(folder=out)
    started = time.perf_counter()
    with exclusive(out, "render"):
        done = _finished(out, settings)
        todo = [s for s in seeds if s not in done]
        result.skipped = len(seeds) - len(todo)
        if result.skipped:
            info(f"{result.skipped} of {len(seeds)} images already in {out}; rendering the other {len(todo)}")
        if todo:
            renderer = Renderer(model, r.device, fast=fast, precision=r.precision, compile=r.compile)
            batch = r.batch or renderer.auto_batch()  # 0 means: find the largest that fits
            manifest_lock = threading.Lock()

            def write_one(seed: int, pixels: np.ndarray) -> Path:
                image, record = finish_image(pixels, seed, model, cfg, settings, year)
                path = out / seed_file(seed, r.format)
                # Not flushed one by one: a re-run checks each file against its manifest line and redoes it.
                digest, size = save_image(image, path, record, durable=False, png_compress=r.png_compress, jpeg_quality=r.jpeg_quality)
                line = {"seed": seed, "file": path.name, "sha256": digest, "bytes": size, **settings,
                        "step": model.step, "model_name": model.name, "artgan": record["artgan"]}  # fmt: skip
                with manifest_lock:
                    append_line(out / "manifest.jsonl", json.dumps(line), durable=False)
                return path

            pending: deque[Future] = deque()
            loop_started = time.perf_counter()
            with progress() as bar, ThreadPoolExecutor(max_workers=ENCODERS) as pool:
                task = bar.add_task("render", total=len(todo))
                for chunk, images in _timed(renderer.batches(todo, r.psi, batch), result):
                    for seed, pixels in zip(chunk, images):
                        pending.append(pool.submit(write_one, seed, pixels))
                    # Encoding runs beside the next batch; never more than two batches in flight.
                    while len(pending) > 2 * batch:
                        result.files.append(pending.popleft().result())
                        bar.advance(task)
                while pending:
                    result.files.append(pending.popleft().result())
                    bar.advance(task)
            sync_file(out / "manifest.jsonl")
            result.loop_s = time.perf_counter() - loop_started
            result.written = len(todo)
        if todo or _stale(out / "contact.png", out / "manifest.jsonl"):  # a finished series is left untouched
            _write_contact(out)
    result.wall_s = time.perf_counter() - started
    return result


def _timed(batches, result: SeriesResult):
    import time

    iterator = iter(batches)
    while True:
        start = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            return
        result.generate_s += time.perf_counter() - start
        yield item


def _finished(out: Path, settings: dict) -> set[int]:
    """Seeds whose file exists whole and whose manifest line matches; tidy the manifest to just those."""
    manifest = out / "manifest.jsonl"
    remove_stale_parts(out)  # images, manifest or contact sheet a killed run left half-written
    rows = read_jsonl(manifest)
    for row in rows[:1]:
        mismatched = [k for k in PIXEL_SETTINGS if row.get(k) != settings[k]]
        if mismatched:
            details = ", ".join(f"{k} {row.get(k)!r} there, {settings[k]!r} now" for k in mismatched if k != "stamp")
            raise RenderError(
                f"{out} holds a series made with other settings ({details or 'other signature layout'}); "
                "use another --out, or the same settings to continue it"
            )
    done: dict[int, dict] = {}
    for row in rows:
        path = out / str(row.get("file", ""))
        if isinstance(row.get("seed"), int) and path.is_file() and path.stat().st_size == row.get("bytes"):
            done[row["seed"]] = row
    if len(done) != len(rows) or manifest.exists() and manifest.read_bytes()[-1:] not in (b"\n", b""):
        if rows:
            warn(f"{manifest.name}: dropped {len(rows) - len(done)} lines whose image is missing or incomplete")
        write_text(manifest, "".join(json.dumps(row) + "\n" for row in done.values()))
    return set(done)


def _stale(made: Path, source: Path) -> bool:
    """True when `made` is missing or older than `source` (a run was killed between the two)."""
    if not made.is_file():
        return True
    return source.is_file() and made.stat().st_mtime_ns < source.stat().st_mtime_ns


def _write_contact(out: Path) -> None:
    rows = sorted(read_jsonl(out / "manifest.jsonl"), key=lambda row: row["seed"])
    if rows:
        contact_sheet(((out / row["file"], f"seed {row['seed']}") for row in rows), out / "contact.png", limit=100)
