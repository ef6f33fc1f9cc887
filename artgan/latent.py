"""Seeds to latents (the same on every device), truncation, and paths through latent space."""

from __future__ import annotations

import re

import torch

from .errors import UsageError

MAX_SEED = 2**63 - 1


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
