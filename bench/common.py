"""Shared bench helpers: the machine line every bench prints, timing, tables and JSON results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def devices() -> list[torch.device]:
    found = [torch.device("cpu")]
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    return found


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeat: int = 5, warmup: int = 2, min_s: float = 0.0) -> float:
    """Median seconds of fn() over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    while len(times) < repeat or sum(times) < min_s:
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(title: str, columns: list[str], rows: list[list]) -> None:
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_fmt(v).ljust(w) for v, w in zip(row, widths)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
    print(f"\nwrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return path


def print_machine() -> None:
    m = machine()
    print(f"device cpu{' + cuda ' + m['cuda'] if m['cuda'] else ''} | threads {m['threads']} | cores {m['cores']} | torch {m['torch']}")


def random_model(res: int, ngf: int, nz: int, ndf: int | None = None):
    """A Model with freshly initialised weights: speed does not depend on training."""
    from artgan.config import Config
    from artgan.nets import Generator
    from artgan.run import Model, model_hash

    cfg = Config()
    cfg.net.res, cfg.net.ngf, cfg.net.nz, cfg.net.ndf = res, ngf, nz, ndf or ngf
    torch.manual_seed(0)
    G = Generator(cfg.net).eval()
    state = G.state_dict()
    return Model(path=Path("random.pt"), name=f"random-{res}px-ngf{ngf}", config=cfg, step=0,
                 G_ema=state, hash=model_hash(state), corpus="")  # fmt: skip


SIZES = {"default": (16, 128), "fastgan": (64, 256)}  # (ngf, nz): artgan's default widths, FastGAN's
