"""Seeds to latents (the same on every device), truncation, and paths through latent space."""

from __future__ import annotations

import math
import re

import torch

from .config import MAX_SEED
from .errors import UsageError



def seed_z(seed: int, nz: int) -> torch.Tensor:
    """The latent of one seed, drawn on the CPU from a generator seeded by that seed alone."""
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(nz, generator=generator)


def seeds_to_z(seeds: list[int], nz: int) -> torch.Tensor:
    return torch.stack([seed_z(seed, nz) for seed in seeds]) if seeds else torch.empty(0, nz)


def truncate(z: torch.Tensor, psi: float) -> torch.Tensor:
    """Pull latents toward the mean latent (0): psi 1 leaves them, psi 0 gives the mean image."""
    return z * psi


def parse_seeds(text: str) -> list[int]:
    """'3,7,10-20' -> [3, 7, 10, ..., 20], in the order given, without repeats."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UsageError(f"--seeds {text!r}: {part!r} is not a seed or a range like 10-20")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise UsageError(f"--seeds {text!r}: the range {part} ends before it starts")
        if last > MAX_SEED:
            raise UsageError(f"--seeds {text!r}: seeds go up to {MAX_SEED}")
        if last - first > 10_000_000:
            raise UsageError(f"--seeds {text!r}: {part} is more than ten million seeds")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise UsageError(f"--seeds {text!r} names no seeds; write e.g. 3,7,10-20")
    return list(dict.fromkeys(seeds))


# Paths through latent space. Each path maps times t in [0, 1] (a 1-D tensor) to latents (len(t), nz);
# a closed path gives the same latent at t = 1 as at t = 0, so frames at t = k / N (k < N) loop with
# no repeated frame and no jump at the seam.

EASES = ("linear", "smooth")
INTERPOLATIONS = ("slerp", "lerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight lines; a and b (B, nz), t (B, 1)."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Along the great circle between the directions, with the length changing linearly.

    Straight lines cut through the low-norm middle of a Gaussian, where a GAN draws washed-out
    images; this keeps every frame at the typical distance from the origin.
    """
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    unit_a, unit_b = a / norm_a.clamp_min(1e-12), b / norm_b.clamp_min(1e-12)
    cosine = (unit_a * unit_b).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    angle = torch.acos(cosine)
    sine = torch.sin(angle)
    # Nearly parallel or opposite directions have no unique great circle: a straight line is as good.
    degenerate = sine.abs() < 1e-6
    safe = torch.where(degenerate, torch.ones_like(sine), sine)
    direction = (torch.sin((1 - t) * angle) * unit_a + torch.sin(t * angle) * unit_b) / safe
    curved = direction * lerp(norm_a, norm_b, t)
    return torch.where(degenerate, lerp(a, b, t), curved)


def ease(s: torch.Tensor, kind: str) -> torch.Tensor:
    """Time within one step between keyframes, reshaped: 'smooth' slows to a stop at each seed."""
    if kind == "linear":
        return s
    if kind == "smooth":
        return s * s * (3 - 2 * s)
    raise UsageError(f"--ease {kind!r}: use {' or '.join(EASES)}")


def frame_times(frames: int, closed: bool) -> torch.Tensor:
    """Times of N frames: k / N on a closed path (t = 1 is frame 0 again), k / (N - 1) on an open one."""
    steps = frames if closed else max(frames - 1, 1)
    return torch.arange(frames, dtype=torch.float64) / steps


def keyframe_path(keys: torch.Tensor, interp: str = "slerp", ease_kind: str = "smooth", loop: bool = True):
    """Through the keyframe latents (K, nz) in order; with loop, back to the first along an ordinary step."""
    if interp not in INTERPOLATIONS:
        raise UsageError(f"--interp {interp!r}: use {' or '.join(INTERPOLATIONS)}")
    ease(torch.zeros(1), ease_kind)  # reject an unknown easing now, not at the first frame
    if len(keys) < 2:
        raise UsageError("a keyframe walk needs at least 2 seeds")
    keys = keys.to(torch.float64)
    segments = len(keys) if loop else len(keys) - 1
    blend = slerp if interp == "slerp" else lerp

    def path(t: torch.Tensor) -> torch.Tensor:
        position = t.to(torch.float64).reshape(-1) * segments
        # The small tolerance puts a time like 0.2 * 5 = 0.99999... on its keyframe, not before it.
        index = torch.floor(position + 1e-9).clamp(0, segments - 1 if not loop else None)
        within = (position - index).clamp(0, 1)
        start = index.long() % len(keys)
        end = (start + 1) % len(keys)
        return blend(keys[start], keys[end], ease(within, ease_kind)[:, None]).to(torch.float32)

    return path


def circle_directions(seed: int, nz: int, second_seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two latents of equal length at right angles: the seed's own latent and a second direction.

    The second comes from `second_seed`, or else from the next draw of the seed's own generator,
    so one seed names one loop.
    """
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    first = torch.randn(nz, generator=generator)
    other = seed_z(second_seed, nz) if second_seed is not None else torch.randn(nz, generator=generator)
    first64, other64 = first.to(torch.float64), other.to(torch.float64)
    other64 = other64 - (other64 @ first64) / (first64 @ first64) * first64
    if other64.norm() < 1e-6:
        raise UsageError(f"seeds {seed} and {second_seed} point the same way; pick another second seed")
    other64 = other64 * (first64.norm() / other64.norm())
    return first64, other64


def circle_path(first: torch.Tensor, second: torch.Tensor):
    """A great circle through `first` and `second` (equal length, at right angles): a periodic noise loop.

    Every latent on it has the same length, and t is taken modulo 1, so t = 1 gives exactly the
    latent of t = 0: seamless by construction.
    """
    first, second = first.to(torch.float64), second.to(torch.float64)

    def path(t: torch.Tensor) -> torch.Tensor:
        angle = (t.to(torch.float64).reshape(-1) % 1.0)[:, None] * (2 * math.pi)
        return (torch.cos(angle) * first + torch.sin(angle) * second).to(torch.float32)

    return path
