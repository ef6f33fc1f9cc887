"""Make a training corpus from a folder of images, and load one for training."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import __version__
from .config import CorpusConfig
from .console import info, progress
from .decode import IMAGE_EXTENSIONS, BadImage, open_rgb, parse_colour, parse_trim, resize_square, squares, trim
from .errors import CorpusError, UsageError
from .files import write_json
from .sheet import contact_sheet

CORPUS_FORMAT = 1
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


@dataclass
class CorpusReport:
    path: Path
    kept: int = 0
    images: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0
    fingerprint: str = ""


def check_size(size: int, flag: str = "--size") -> int:
    if size < 32 or size > 1024 or size & (size - 1):
        raise UsageError(f"{flag} {size} is not a power of two from 32 to 1024 (use 32, 64, 128, 256, 512 or 1024)")
    return size


def scan(source: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Image files under `source` (recursive, any letter case), and the other files with why they were skipped."""
    if not source.exists():
        raise CorpusError(f"folder {source} does not exist; give the folder that holds your images")
    if not source.is_dir():
        raise CorpusError(f"{source} is not a folder; give the folder that holds your images")
    images, skipped = [], []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            relative = path.relative_to(source).as_posix()
            if name.lower() in IGNORED_NAMES or name.startswith("._"):
                skipped.append((relative, "system file"))
            elif path.suffix.lower() in IMAGE_EXTENSIONS:
                images.append(path)
            else:
                skipped.append((relative, f"not an image extension ({path.suffix or 'none'})"))
    return images, skipped


def make_corpus(source: Path, out: Path, cfg: CorpusConfig, strict: bool = False) -> CorpusReport:
    """Scan, decode, dedupe, trim, square and resize every image; write out/ all at once at the end."""
    check_size(cfg.size)
    if cfg.fit not in ("center", "pad", "crops"):
        raise UsageError(f"--fit {cfg.fit!r} is not one of center, pad, crops")
    matte = parse_colour(cfg.matte)
    trim_how = parse_trim(cfg.trim)
    source, out = Path(source), Path(out)
    if out.exists() and not out.is_dir():
        raise CorpusError(f"-o {out} is a file; give a folder for the corpus")
    if source.is_dir() and out.resolve().is_relative_to(source.resolve()):
        raise CorpusError(f"-o {out} is inside {source}; put the corpus outside the folder it is made from")
    if out.exists() and not (out / "corpus.json").exists() and any(out.iterdir()):
        raise CorpusError(f"{out} exists and is not an artgan corpus; choose an empty or new folder")
    files, skipped = scan(source)
    if not files:
        raise CorpusError(
            f"no images in {source} (looked for {', '.join(sorted(e[1:] for e in IMAGE_EXTENSIONS))}); "
            "point at the folder that holds your pictures"
        )

    def prepare(path: Path):
        try:
            image = open_rgb(path.read_bytes(), matte, draft_px=2 * cfg.size)
        except BadImage as exc:
            return path, None, str(exc)
        except OSError as exc:
            return path, None, f"cannot read ({exc.strerror})"
        digest = hashlib.sha256(f"{image.size}".encode() + image.tobytes()).hexdigest()
        image = trim(image, trim_how)
        if min(image.size) < cfg.size / 4:
            return path, None, f"too small ({image.width}x{image.height} px) for --size {cfg.size}; it would train blur"
        return path, (digest, [resize_square(s, cfg.size) for s in squares(image, cfg.fit, matte)]), None

    report = CorpusReport(path=out, skipped=skipped)
    entries: list[dict] = [{"source": s, "status": "skipped", "reason": r} for s, r in skipped]
    kept_images: list[dict] = []
    seen: dict[str, str] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        (staging / "images").mkdir()
        workers = min(4, os.cpu_count() or 1)
        with progress() as bar, ThreadPoolExecutor(max_workers=workers) as pool:
            task = bar.add_task("corpus", total=len(files))
            for path, result, reason in _in_chunks(pool, prepare, files, chunk=4 * workers):
                bar.advance(task)
                relative = path.relative_to(source).as_posix()
                if result is None:
                    if strict:
                        raise CorpusError(f"{relative}: {reason} (remove it, or drop --strict to skip bad files)")
                    report.rejected.append((relative, reason))
                    entries.append({"source": relative, "status": "rejected", "reason": reason})
                    continue
                digest, crops = result
                if digest in seen:
                    report.duplicates += 1
                    entries.append({"source": relative, "status": "rejected", "reason": f"duplicate of {seen[digest]}"})
                    report.rejected.append((relative, f"duplicate of {seen[digest]}"))
                    continue
                seen[digest] = relative
                names = []
                for crop in crops:
                    name = f"images/{len(kept_images):05d}.png"
                    crop.save(staging / name, format="PNG", compress_level=6)
                    pixel_hash = hashlib.sha256(crop.tobytes()).hexdigest()
                    kept_images.append({"file": name, "source": relative, "sha256": pixel_hash})
                    names.append(name)
                entries.append({"source": relative, "status": "kept", "images": names})
                report.kept += 1
        if len(kept_images) < cfg.min_images:
            why = ""
            if report.rejected:  # nothing is written, so say here why files were turned away
                name, reason = report.rejected[0]
                more = f" and {len(report.rejected) - 1} more" if len(report.rejected) > 1 else ""
                why = f"; rejected {name}: {reason}{more}"
            raise CorpusError(
                f"{source} gives {len(kept_images)} usable images{why}; need at least {cfg.min_images} "
                "(add images, or lower it with --set corpus.min_images=N)"
            )
        report.images = len(kept_images)
        report.fingerprint = fingerprint(kept_images, cfg.size)
        write_json(
            staging / "corpus.json",
            {
                "format": CORPUS_FORMAT,
                "artgan": __version__,
                "source": source.name,
                "settings": {"size": cfg.size, "fit": cfg.fit, "matte": cfg.matte, "trim": cfg.trim},
                "fingerprint": report.fingerprint,
                "images": kept_images,
                "files": entries,
            },
        )
        contact_sheet(
            ((staging / item["file"], Path(item["source"]).stem[:18]) for item in kept_images),
            staging / "contact.png",
            thumb_px=min(cfg.size, 128),
            limit=400,
        )
        before = _described(out)
        _swap_in(staging, out)
        if before:
            info(f"[yellow]replaced[/] the corpus in {out}: it held {before}")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _in_chunks(pool, function, items, chunk):
    """pool.map, but never more than `chunk` decoded images waiting in memory."""
    for start in range(0, len(items), chunk):
        yield from pool.map(function, items[start : start + chunk])


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` with the finished staging folder; an old corpus is removed only after the swap."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _described(folder: Path) -> str:
    """What an existing corpus holds, in a few words ('' when there is none or it cannot be read)."""
    if not is_corpus(folder):
        return ""
    try:
        record = read_manifest(folder)
        return f"{len(record['images'])} images of '{record['source']}' at {record['settings']['size']} px"
    except (CorpusError, KeyError, TypeError):
        return "a corpus artgan cannot read"


def fingerprint(images: list[dict], size: int) -> str:
    digest = hashlib.sha256(f"artgan-corpus:{size}:".encode())
    for item in sorted(images, key=lambda i: i["sha256"]):
        digest.update(item["sha256"].encode())
    return digest.hexdigest()


def is_corpus(path: Path) -> bool:
    return (Path(path) / "corpus.json").is_file()


def read_manifest(path: Path) -> dict:
    manifest_path = Path(path) / "corpus.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"{path} is not an artgan corpus (no corpus.json); make one with `artgan corpus`") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CorpusError(f"{manifest_path} is damaged; make the corpus again with `artgan corpus`") from None
    if manifest.get("format") != CORPUS_FORMAT:
        raise CorpusError(
            f"{manifest_path} has corpus format {manifest.get('format')}; this artgan reads format "
            f"{CORPUS_FORMAT}; make the corpus again"
        )
    return manifest


def load_images(path: Path, res: int, min_images: int = 8) -> tuple[torch.Tensor, str]:
    """The whole corpus as one uint8 tensor (N, 3, res, res) and its fingerprint."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest["settings"]["size"] < res:
        raise CorpusError(
            f"{path} holds {manifest['settings']['size']} px images, smaller than --res {res}; "
            f"make the corpus again with --size {res}"
        )
    images = manifest["images"]
    if len(images) < min_images:
        raise CorpusError(f"{path} has {len(images)} images; need at least {min_images} (add images)")
    stack = np.empty((len(images), res, res, 3), np.uint8)
    for index, item in enumerate(images):
        file = path / item["file"]
        try:
            with Image.open(file) as image:
                stack[index] = np.asarray(resize_square(image.convert("RGB"), res))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{file} cannot be read ({exc}); make the corpus again with `artgan corpus`") from None
    info(f"{len(images)} training images at {res} px from {path}")
    return torch.from_numpy(stack).permute(0, 3, 1, 2).contiguous(), manifest["fingerprint"]
