"""What a run shows of itself while it trains: fixed-seed sample grids and the loss plot."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from .files import atomic_path, read_jsonl
from .sheet import grid


@torch.no_grad()
def write_sample_grid(G_ema: torch.nn.Module, z: torch.Tensor, out: Path, min_tile_px: int = 128) -> Path:
    """The same seeds every time, so grids from different steps can be compared side by side."""
    images = ((G_ema(z).float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    tiles = list(images)
    if tiles[0].shape[0] < min_tile_px:  # tiny models: enlarge each tile with visible pixels
        factor = -(-min_tile_px // tiles[0].shape[0])
        tiles = [tile.repeat(factor, axis=0).repeat(factor, axis=1) for tile in tiles]
    with atomic_path(out) as tmp:
        Image.fromarray(grid(tiles, columns=4)).save(tmp, format="PNG", compress_level=6)
    return out


def write_loss_plot(log_path: Path, out: Path) -> Path | None:
    rows = read_jsonl(log_path)
    if len(rows) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    steps = [row["step"] for row in rows]
    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    for key, label in (("loss_D", "D (hinge)"), ("loss_G", "G"), ("recon", "D reconstruction")):
        axes.plot(steps, [row.get(key, float("nan")) for row in rows], label=label, linewidth=1)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.tight_layout()
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png")
    return out
