"""The generator made ready for rendering: weights baked, batch norm folded, seeds in, uint8 pixels out."""

from __future__ import annotations

import copy
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .errors import CheckpointError, UsageError
from .latent import seeds_to_z, truncate
from .nets import Generator, baked_state, without_spectral_norm
from .run import Model


def pick_device(name: str) -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is visible to PyTorch; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps: Apple's Metal is not available here; use --device auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise UsageError(f"--device {name!r}: use auto, cpu, cuda or mps")
    return torch.device(name)


def fold_batchnorm(G: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it (the same arithmetic, one pass less)."""
    for parent in G.modules():
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = parent._modules[first], parent._modules[second]
            if isinstance(norm, nn.BatchNorm2d) and isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)):
                parent._modules[first] = _folded(conv, norm)
                parent._modules[second] = nn.Identity()
    return G


def _folded(conv: nn.Module, norm: nn.BatchNorm2d) -> nn.Module:
    scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias.detach() - norm.running_mean * scale
    fused = copy.deepcopy(conv)
    weight = fused.weight.detach()
    if isinstance(conv, nn.ConvTranspose2d):  # weight is (in, out, kh, kw)
        fused.weight = nn.Parameter(weight * scale.view(1, -1, 1, 1))
    else:
        fused.weight = nn.Parameter(weight * scale.view(-1, 1, 1, 1))
    bias = conv.bias.detach() * scale + shift if conv.bias is not None else shift
    fused.bias = nn.Parameter(bias)
    return fused


def _render_precision(name: str, device: torch.device) -> torch.dtype | None:
    """fp16 on CUDA by default (a few levels of rounding at most); fp32 everywhere else."""
    choices = {"auto": None, "fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
    if name not in choices:
        raise UsageError(f"render precision {name!r}: use auto, fp32, fp16 or bf16")
    if device.type != "cuda":
        return None
    return torch.float16 if name == "auto" else choices[name]


def _no_autocast():
    import contextlib

    return contextlib.nullcontext()


class Renderer:
    """Seeds -> images with a model's averaged generator, batched on the device under inference mode."""

    def __init__(self, model: Model, device: str = "auto", fast: bool = True, precision: str = "auto", compile: bool = False):
        self.model = model
        self.device = pick_device(device)
        self.amp = _render_precision(precision, self.device)
        try:
            if fast:  # plain layers given baked weights: no spectral-norm set-up, no norm per call
                with without_spectral_norm():
                    G = Generator(model.config.net)
                G.load_state_dict(baked_state(model.G_ema, G))
            else:
                G = Generator(model.config.net)
                G.load_state_dict(model.G_ema)
        except (KeyError, ValueError, RuntimeError, TypeError):
            raise CheckpointError(
                f"{model.path}: its weights do not fit its own settings; the file was altered or damaged: use an earlier checkpoint"
            ) from None
        G.eval().requires_grad_(False)
        if fast:
            G = fold_batchnorm(G)
            if self.device.type != "mps":
                G = G.to(memory_format=torch.channels_last)
        self.G = G.to(self.device)
        if compile:
            self.G = torch.compile(self.G, dynamic=False)
        self.nz = model.config.net.nz
        self.res = model.config.net.res

    @torch.inference_mode()
    def images(self, z: torch.Tensor) -> np.ndarray:
        """Latents (B, nz) -> uint8 pixels (B, H, W, 3); one host sync per batch, none per image."""
        z = z.pin_memory() if self.device.type == "cuda" else z
        with torch.autocast(self.device.type, dtype=self.amp) if self.amp else _no_autocast():
            out = self.G(z.to(self.device, non_blocking=True))
        out = ((out.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
        return out.permute(0, 2, 3, 1).contiguous().cpu().numpy()

    def auto_batch(self, largest: int = 512) -> int:
        """The largest batch that fits on a GPU (halved once for headroom); 16 on CPUs, where bigger gains nothing."""
        if self.device.type != "cuda":
            return 16
        batch, fits = 8, 8
        while batch <= largest:
            try:
                self.images(torch.zeros(batch, self.nz))
                fits, batch = batch, batch * 2
            except torch.cuda.OutOfMemoryError:
                break
            finally:
                torch.cuda.empty_cache()
        return fits if fits <= 8 else fits // 2

    def seeds(self, seeds: list[int], psi: float) -> np.ndarray:
        return self.images(truncate(seeds_to_z(seeds, self.nz), psi))

    def batches(self, seeds: list[int], psi: float, batch: int) -> Iterator[tuple[list[int], np.ndarray]]:
        for start in range(0, len(seeds), batch):
            chunk = seeds[start : start + batch]
            yield chunk, self.seeds(chunk, psi)
