"""Differentiable augmentation for small data (DiffAugment-style colour, translation, cutout).

The same random transforms are applied to real and generated images, for both D and G steps,
so D cannot memorise the few real pictures and G still gets gradients through the transform.
Each is applied to an image with probability p. Images are in [-1, 1].
"""

from __future__ import annotations

import torch

KINDS = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in policy.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        from .errors import ConfigError

        raise ConfigError(f"train.augment: unknown augmentation {unknown[0]!r}; choose from {', '.join(KINDS)}")
    return kinds


def _rand(x: torch.Tensor, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.rand(*shape, device=x.device, dtype=x.dtype, generator=generator)


def _chosen(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """A (B,1,1,1) 0/1 mask: which images get this transform."""
    if p >= 1.0:
        return torch.ones(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)
    return (_rand(x, x.shape[0], 1, 1, 1, generator=generator) < p).to(x.dtype)


def color(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    b = x.shape[0]
    brightness = _rand(x, b, 1, 1, 1, generator=generator) - 0.5
    saturation = _rand(x, b, 1, 1, 1, generator=generator) * 2
    contrast = _rand(x, b, 1, 1, 1, generator=generator) + 0.5
    y = x + brightness
    mean = y.mean(dim=1, keepdim=True)
    y = (y - mean) * saturation + mean
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = (y - mean) * contrast + mean
    keep = _chosen(x, p, generator)
    return y * keep + x * (1 - keep)


def translation(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size; uncovered pixels become 0 (mid grey)."""
    b, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    keep = _chosen(x, p, generator).view(b, 1, 1).long()
    shift_y = ((_rand(x, b, 1, 1, generator=generator) * (2 * max_y + 1)).long() - max_y) * keep
    shift_x = ((_rand(x, b, 1, 1, generator=generator) * (2 * max_x + 1)).long() - max_x) * keep
    rows = torch.arange(h, device=x.device).view(1, h, 1) - shift_y  # source row of each target row
    cols = torch.arange(w, device=x.device).view(1, 1, w) - shift_x
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1).to(x.dtype)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).view(b, 1, h * w).expand(-1, x.shape[1], -1)
    moved = x.reshape(b, x.shape[1], h * w).gather(2, index).view_as(x)
    return moved * inside


def cutout(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Blank one square of `ratio` of the image size per image, at a random place."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = (_rand(x, b, 1, 1, generator=generator) * (h + 1 - size_y % 2)).long() - size_y // 2
    left = (_rand(x, b, 1, 1, generator=generator) * (w + 1 - size_x % 2)).long() - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    hole = hole.unsqueeze(1).to(x.dtype) * _chosen(x, p, generator)
    return x * (1 - hole)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def augment(x: torch.Tensor, kinds: tuple[str, ...], p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    if p <= 0:
        return x
    for kind in kinds:
        x = TRANSFORMS[kind](x, p, generator)
    return x


class AdaptiveP:
    """Raise p when D grows sure of the reals (overfitting), lower it when not (StyleGAN2-ADA's heuristic)."""

    def __init__(self, p: float, target: float, batch: int, speed_images: int = 100_000):
        self.p, self.target, self.batch, self.speed_images = p, target, batch, speed_images
        self.signs: torch.Tensor | float = 0.0  # summed on the device; read only in update()
        self.count = 0

    def observe(self, real_logits: torch.Tensor) -> None:
        if self.target > 0:
            self.signs = self.signs + real_logits.detach().float().sign().sum()
            self.count += real_logits.numel()

    def update(self) -> float:
        if self.target > 0 and self.count:
            rt = float(self.signs) / self.count
            step = self.count / self.speed_images
            self.p = min(1.0, max(0.0, self.p + step * (1 if rt > self.target else -1)))
        self.signs, self.count = 0.0, 0
        return self.p

    def state(self) -> dict:
        return {"p": self.p, "signs": float(self.signs), "count": self.count}

    def load(self, state: dict) -> None:
        self.p, self.signs, self.count = float(state["p"]), float(state["signs"]), int(state["count"])
