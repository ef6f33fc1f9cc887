"""Check a picture against its own record: find the model by hash, render the seed again, compare pixels."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .config import from_dict
from .errors import CheckpointError, ModelNotFound, UsageError
from .infer import Renderer
from .provenance import encode, read_record
from .render import finish_image, settings_of
from .run import Model, bundled_model_path, load_checkpoint, load_model, model_hash

LOSSLESS_BLOCK_TOLERANCE = 4.0  # mean |difference| of any 8x8 block, in 0-255 levels (device rounding)
JPEG_BLOCK_TOLERANCE = 8.0  # the same after both sides went through JPEG
# Any single pixel, in levels: re-renders on one machine differ by 0-2, across devices by a few;
# a retouched pixel by far more.
LOSSLESS_PIXEL_TOLERANCE = 12
JPEG_PIXEL_TOLERANCE = 40


@dataclass
class Verdict:
    path: Path
    model_path: Path
    max_diff: int
    psnr_db: float
    worst_block: float
    tolerance: float
    pixel_tolerance: int = LOSSLESS_PIXEL_TOLERANCE

    @property
    def matches(self) -> bool:
        return self.worst_block <= self.tolerance and self.max_diff <= self.pixel_tolerance


def candidate_files(search: list[Path]) -> list[Path]:
    """Every checkpoint or model file under the given run folders (or folders of runs), newest first."""
    found: list[Path] = []
    for place in search:
        place = Path(place)
        if place.is_file():
            found.append(place)
        elif place.is_dir():
            found += sorted(place.glob("**/latest.pt"), reverse=True)
            found += sorted(place.glob("**/checkpoints/step-*.pt"), reverse=True)
            found += sorted(p for p in place.glob("*.pt") if p.name != "latest.pt")
    bundled = bundled_model_path()
    if bundled.is_file():
        found.append(bundled)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def find_model(wanted_hash: str, search: list[Path]) -> Model:
    for path in candidate_files(search):
        try:
            state = load_checkpoint(path, mmap=True)  # only G_ema is read to hash it
        except CheckpointError:
            continue
        if model_hash(state["G_ema"]) == wanted_hash:
            return load_model(path)
    places = ", ".join(str(p) for p in search) or "no folders"
    raise ModelNotFound(
        f"no checkpoint with model {wanted_hash[:12]} in {places} or the bundled model; point --runs at the run that made it"
    )


def verify(path: Path, search: list[Path]) -> Verdict:
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give one image file artgan rendered")
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    record = read_record(path)
    if not record or "model" not in record or "seed" not in record:
        raise UsageError(f"{path} has no artgan record with a model and seed; there is nothing to verify")
    if record.get("kind", "series") != "series":
        raise UsageError(f"{path} is a {record['kind']} file; verify checks single renders (series images)")
    try:
        seed, psi, size = int(record["seed"]), float(record["psi"]), int(record.get("size") or 0)
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{path}: its artgan record is damaged (seed, psi or size unreadable); it cannot be verified") from None
    model = find_model(record["model"], search)
    model.name = record.get("model_name", model.name)  # the signature may spell the name out
    cfg = from_dict(model.config.to_dict(), str(model.path))
    r = cfg.render
    r.psi, r.size = psi, size or model.config.net.res
    r.signature = record.get("signature", "none")
    r.signature_corner = record.get("signature_corner", "bottom-right")
    r.title, r.artist = record.get("title", ""), record.get("artist", "")
    if record.get("stamp"):
        cfg.stamp.margin, cfg.stamp.width, cfg.stamp.color, cfg.stamp.opacity = json.loads(record["stamp"])
    pixels = Renderer(model, "auto").seeds([seed], r.psi)[0]
    settings = settings_of(model, cfg)
    rendered, _ = finish_image(pixels, seed, model, cfg, settings, int(record.get("year", 0)) or 0)
    with Image.open(path) as opened:
        actual = np.asarray(opened.convert("RGB"))
    tolerance, pixel_tolerance = LOSSLESS_BLOCK_TOLERANCE, LOSSLESS_PIXEL_TOLERANCE
    if path.suffix.lower() in (".jpg", ".jpeg"):
        rendered = Image.open(io.BytesIO(encode(rendered, "jpg", record)))
        tolerance, pixel_tolerance = JPEG_BLOCK_TOLERANCE, JPEG_PIXEL_TOLERANCE
    expected = np.asarray(rendered.convert("RGB"))
    if expected.shape != actual.shape:
        return Verdict(path, model.path, 255, 0.0, 255.0, tolerance, pixel_tolerance)
    diff = np.abs(expected.astype(np.int16) - actual.astype(np.int16))
    mse = float((diff.astype(np.float64) ** 2).mean())
    psnr = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
    return Verdict(path, model.path, int(diff.max()), psnr, _worst_block(diff), tolerance, pixel_tolerance)


def _worst_block(diff: np.ndarray, block: int = 8) -> float:
    """The largest mean difference over any block: a small painted-over patch stands out here."""
    height, width = (diff.shape[0] // block) * block, (diff.shape[1] // block) * block
    if not height or not width:
        return float(diff.mean())
    tiles = diff[:height, :width].mean(axis=2).reshape(height // block, block, width // block, block)
    return float(tiles.mean(axis=(1, 3)).max())
