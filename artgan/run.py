"""The run directory and checkpoint format: atomic save, safe load, "latest", model hashes."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
import torch

from . import __version__
from .config import Config, from_dict, styles_dir
from .errors import CheckpointError, ConfigError, ModelNotFound, UsageError
from .files import atomic_path, write_text

CHECKPOINT_FORMAT = 1
STEP_FILE = re.compile(r"step-(\d{7,})\.pt$")
BUNDLED_MODEL = "belamy"


def checkpoint_name(step: int) -> str:
    return f"step-{step:07d}.pt"


def write_config(run_dir: Path, cfg: Config) -> None:
    text = "# The fully resolved settings of this run (written by artgan " + __version__ + ").\n"
    write_text(run_dir / "config.toml", text + tomli_w.dumps(cfg.to_dict()))


def save_checkpoint(run_dir: Path, state: dict[str, Any], keep: int) -> Path:
    """Write checkpoints/step-N.pt atomically, point latest.pt at it, drop all but the newest `keep`."""
    folder = run_dir / "checkpoints"
    path = folder / checkpoint_name(state["step"])
    state = {"format": CHECKPOINT_FORMAT, "artgan": __version__, **state, "G_ema_sha256": model_hash(state["G_ema"])}
    with atomic_path(path) as tmp:
        _save(state, tmp)
    with atomic_path(run_dir / "latest.pt") as tmp:
        tmp.unlink()
        try:
            os.link(path, tmp)
        except OSError:  # file systems without hard links get a copy
            tmp.write_bytes(path.read_bytes())
    for old in step_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def step_checkpoints(run_dir: Path) -> list[Path]:
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if STEP_FILE.search(p.name)), key=lambda p: int(STEP_FILE.search(p.name).group(1)))


def load_checkpoint(path: Path, mmap: bool = False) -> dict[str, Any]:
    """Load tensors and plain values only; anything else is refused and never executed.

    `mmap` reads tensors from disk only when touched (cheap for looking at one part of a big file).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; give a run folder or a .pt file written by artgan")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":  # starts as a checkpoint does, but its end is missing
                raise CheckpointError(f"{path} is damaged or cut short; use an earlier checkpoint from its run")
        raise CheckpointError(f"{path} is not an artgan checkpoint (not a PyTorch file); give a run folder or its latest.pt")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} is not an artgan checkpoint: it asks to load Python objects, which could run code; it was refused"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path} is damaged or cut short ({str(exc).splitlines()[0][:80]}); use an earlier checkpoint") from None
    if not isinstance(state, dict) or "format" not in state or "G_ema" not in state:
        raise CheckpointError(f"{path} is not an artgan checkpoint (a PyTorch file of another kind)")
    if state["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format']} (artgan {state.get('artgan', '?')}); "
            f"this artgan {__version__} reads format {CHECKPOINT_FORMAT}; use the artgan that wrote it"
        )
    return state


def checkpoint_config(state: dict[str, Any], path: Path) -> Config:
    try:
        return from_dict(state["config"], str(path))
    except ConfigError as exc:
        raise CheckpointError(f"{path} holds settings this artgan does not know ({exc})") from None


def model_hash(G_ema_state: dict[str, torch.Tensor]) -> str:
    """sha256 of the averaged generator's weights: names, shapes and float32 values, in name order."""
    digest = hashlib.sha256()
    for name in sorted(G_ema_state):
        tensor = G_ema_state[name].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


@dataclass
class Model:
    """What rendering needs: the averaged generator's weights and the settings it was trained with."""

    path: Path
    name: str
    config: Config
    step: int
    G_ema: dict[str, torch.Tensor]
    hash: str
    corpus: str
    bundled: bool = False


def bundled_model_path() -> Path:
    return styles_dir() / f"{BUNDLED_MODEL}.pt"


def resolve(source: Path | str | None) -> tuple[Path, str, bool]:
    """A run folder, a checkpoint or model file, or None for the bundled model -> (file, name, bundled)."""
    if source is None:
        path = bundled_model_path()
        if not path.is_file():
            raise ModelNotFound("no run given and the bundled model is missing; give a run folder (artgan train makes one)")
        return path, BUNDLED_MODEL, True
    source = Path(source)
    if source.is_dir():
        latest = source / "latest.pt"
        if not latest.is_file():
            raise CheckpointError(f"{source} holds no latest.pt; give a run folder made by artgan train, or a .pt file")
        return latest, source.name, False
    if not source.exists():
        raise CheckpointError(f"{source} does not exist; give a run folder or a .pt file written by artgan")
    name = source.parent.parent.name if source.parent.name == "checkpoints" else (
        source.parent.name if source.name == "latest.pt" else source.stem
    )
    return source, name, False


def check_integrity(state: dict[str, Any], path: Path) -> str:
    """The averaged generator's hash, after checking it against the one written at save time."""
    weights_hash = model_hash(state["G_ema"])
    # Files from before the hash was written have none; a flipped bit would otherwise render quietly wrong.
    if state.get("G_ema_sha256", weights_hash) != weights_hash:
        raise CheckpointError(f"{path} is damaged: its weights changed since they were saved; use an earlier checkpoint")
    if not all(bool(torch.isfinite(v).all()) for v in state["G_ema"].values() if v.is_floating_point()):
        raise CheckpointError(f"{path} holds weights that are not numbers (NaN or infinite); use an earlier checkpoint")
    return weights_hash


def load_model(source: Path | str | None) -> Model:
    path, name, bundled = resolve(source)
    state = load_checkpoint(path)
    cfg = checkpoint_config(state, path)
    weights_hash = check_integrity(state, path)
    return Model(
        path=path,
        name=name,
        config=cfg,
        step=int(state.get("step", 0)),
        G_ema=state["G_ema"],
        hash=weights_hash,
        corpus=str(state.get("corpus", "")),
        bundled=bundled,
    )


def export_model(source: Path | str, out: Path, half: bool = False) -> Path:
    """A small file with only what rendering needs (G_ema and the settings), e.g. to share or bundle."""
    out = Path(out)
    if out.suffix.lower() != ".pt":
        raise UsageError(f"-o {out}: a model file ends in .pt (e.g. -o mine.pt)")
    if out.is_dir():
        raise UsageError(f"-o {out} is a folder; give a file name ending in .pt")
    if out.exists():
        try:
            load_checkpoint(out)
        except CheckpointError:
            raise UsageError(f"-o {out} exists and is not an artgan model; choose another name") from None
    path, _, _ = resolve(source)
    state = load_checkpoint(path)
    G_ema = {k: (v.half() if half and v.is_floating_point() else v) for k, v in state["G_ema"].items()}
    keep = {"step": state.get("step", 0), "config": state["config"], "corpus": state.get("corpus", ""), "G_ema": G_ema}
    keep = {"format": CHECKPOINT_FORMAT, "artgan": __version__, "kind": "model", **keep, "G_ema_sha256": model_hash(G_ema)}
    with atomic_path(out) as tmp:
        _save(keep, tmp)
    return out


def _save(state: dict[str, Any], tmp: Path) -> None:
    """torch.save, with a full disk reported as one (torch says only 'unexpected pos' or 'failed writing')."""
    try:
        torch.save(state, tmp)
    except RuntimeError as exc:
        if shutil.disk_usage(tmp.parent).free < (1 << 20):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp)) from exc
        raise
