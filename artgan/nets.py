"""Generator and discriminator in the FastGAN manner: skip-layer excitation, self-supervised D.

Both are built only from a NetConfig. Widths follow the resolution: many channels at coarse
layers, few at fine ones, so a 1024 px model costs little more than a 256 px one.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import NetConfig

# Channels per resolution as multiples of the width (ngf / ndf).
G_WIDTH = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
D_WIDTH = {4: 16, 8: 16, 16: 8, 32: 4, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}


def channels(table: dict[int, float], width: int, res: int) -> int:
    return max(8, int(table[res] * width))


_SPECTRAL = [True]


@contextlib.contextmanager
def without_spectral_norm():
    """Build nets with plain layers, for rendering from weights already divided by their norm."""
    _SPECTRAL[0] = False
    try:
        yield
    finally:
        _SPECTRAL[0] = True


def normed(layer: nn.Module) -> nn.Module:
    return spectral_norm(layer) if _SPECTRAL[0] else layer


def conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = False) -> nn.Module:
    return normed(nn.Conv2d(cin, cout, kernel, stride, padding, bias=bias))


def baked_state(state: dict[str, torch.Tensor], plain: nn.Module) -> dict[str, torch.Tensor]:
    """A spectral-normed state dict as plain weights (what the eval-mode norm computes: W / u.(W v))."""
    suffix, baked = ".parametrizations.weight.original", {}
    for key, value in state.items():
        if key.endswith(suffix):
            prefix = key[: -len(suffix)]
            u, v = state[f"{prefix}.parametrizations.weight.0._u"], state[f"{prefix}.parametrizations.weight.0._v"]
            weight = value.float()
            # The norm is taken over the output channels: dim 1 of a transposed convolution's weight.
            flat = weight.transpose(0, 1).flatten(1) if isinstance(plain.get_submodule(prefix), nn.ConvTranspose2d) else weight.flatten(1)
            baked[f"{prefix}.weight"] = (weight / torch.vdot(u.float(), flat @ v.float())).to(value.dtype)
        elif ".parametrizations.weight.0." not in key:
            baked[key] = value
    return baked


def resolutions(res: int, start: int = 4) -> list[int]:
    out, r = [], start
    while r <= res:
        out.append(r)
        r *= 2
    return out


def excitation_sources(res: int) -> dict[int, int]:
    """Skip-layer excitation: the features at `target` are gated by those at the coarse `source`."""
    return {t: max(4, t // 16) for t in resolutions(res) if t >= 32}


class GLUConv(nn.Sequential):
    """3x3 convolution to twice the channels, batch norm, gated linear unit."""

    def __init__(self, cin: int, cout: int):
        super().__init__(conv(cin, cout * 2, 3, 1, 1), nn.BatchNorm2d(cout * 2), nn.GLU(dim=1))


class UpBlock(nn.Sequential):
    """Nearest-neighbour x2 then one or two gated convolutions."""

    def __init__(self, cin: int, cout: int, double: bool):
        layers = [nn.Upsample(scale_factor=2, mode="nearest"), GLUConv(cin, cout)]
        if double:
            layers.append(GLUConv(cout, cout))
        super().__init__(*layers)


class Excitation(nn.Module):
    """Channel gates for a fine feature map, computed from a coarse one (FastGAN's SLE)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            conv(cin, cout, 4),
            nn.SiLU(),
            conv(cout, cout, 1),
            nn.Sigmoid(),
        )

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return fine * self.gate(coarse)


class Generator(nn.Module):
    def __init__(self, net: NetConfig):
        super().__init__()
        self.res, self.nz = net.res, net.nz
        width = {r: channels(G_WIDTH, net.ngf, r) for r in resolutions(net.res)}
        self.init = nn.Sequential(
            normed(nn.ConvTranspose2d(net.nz, width[4] * 2, 4, 1, 0, bias=False)),
            nn.BatchNorm2d(width[4] * 2),
            nn.GLU(dim=1),
        )
        # Two convolutions at every other scale, as FastGAN does, keep capacity where it is cheap.
        self.up = nn.ModuleDict(
            {str(r): UpBlock(width[r // 2], width[r], double=(r in (8, 32, 128, 512))) for r in resolutions(net.res, 8)}
        )
        self.sources = excitation_sources(net.res)
        self.excite = nn.ModuleDict({str(t): Excitation(width[s], width[t]) for t, s in self.sources.items()})
        self.to_rgb = conv(width[net.res], 3, 3, 1, 1, bias=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        feats = {4: self.init(z.view(z.shape[0], self.nz, 1, 1))}
        x = feats[4]
        for key, block in self.up.items():
            r = int(key)
            x = block(x)
            if r in self.sources:
                x = self.excite[key](feats[self.sources[r]], x)
            feats[r] = x
        return torch.tanh(self.to_rgb(x))


class DownBlock(nn.Module):
    """Strided conv path averaged with a pooled shortcut (FastGAN's DownBlockComp)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.main = nn.Sequential(
            conv(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2),
            conv(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.skip = nn.Sequential(nn.AvgPool2d(2), conv(cin, cout, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class Decoder(nn.Sequential):
    """Reconstructs an image from 8x8 discriminator features (the self-supervised task)."""

    def __init__(self, cin: int, ndf: int, out_px: int):
        c = max(8, min(cin, ndf * 2))
        # A 1x1 squeeze first: upsampling all of D's channels would cost more than D itself.
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(8), conv(cin, c, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2)]
        r = 8
        while r < out_px:
            layers.append(UpBlock(c, max(8, c // 2), double=False))
            c, r = max(8, c // 2), r * 2
        layers += [conv(c, 3, 3, 1, 1, bias=True), nn.Tanh()]
        super().__init__(*layers)


class Discriminator(nn.Module):
    def __init__(self, net: NetConfig):
        super().__init__()
        self.res = net.res
        width = {r: channels(D_WIDTH, net.ndf, r) for r in resolutions(net.res)}
        self.stem = nn.Sequential(conv(3, width[net.res // 2], 4, 2, 1), nn.LeakyReLU(0.2))
        self.down = nn.ModuleDict(
            {str(r): DownBlock(width[r * 2], width[r]) for r in reversed(resolutions(net.res // 4, 8))}
        )
        # Excitation from fine to coarse features, 8x the resolution apart.
        self.sources = {t: t * 8 for t in resolutions(net.res // 16, 8)}
        self.excite = nn.ModuleDict({str(t): Excitation(width[s], width[t]) for t, s in self.sources.items()})
        self.head = nn.Sequential(
            conv(width[8], width[8], 1), nn.BatchNorm2d(width[8]), nn.LeakyReLU(0.2), conv(width[8], 1, 4)
        )
        self.decode_px = min(128, net.res)
        self.decode_whole = Decoder(width[8], net.ndf, self.decode_px)
        self.decode_part = Decoder(width[16] if net.res >= 32 else width[8], net.ndf, self.decode_px)

    def features(self, image: torch.Tensor) -> dict[int, torch.Tensor]:
        x = self.stem(image)
        feats = {self.res // 2: x}
        for key, block in self.down.items():
            r = int(key)
            x = block(x)
            if r in self.sources:
                x = self.excite[key](feats[self.sources[r]], x)
            feats[r] = x
        return feats

    def forward(self, image: torch.Tensor, part: int | None = None):
        """Logits per image; with `part` (0-3) also the reconstructions of the whole and that quadrant."""
        feats = self.features(image)
        logits = self.head(feats[8]).flatten(1).mean(1)
        if part is None:
            return logits
        f16 = feats.get(16, feats[8])
        half = f16.shape[-1] // 2
        row, col = divmod(part, 2)
        quadrant = f16[:, :, row * half : (row + 1) * half, col * half : (col + 1) * half]
        return logits, self.decode_whole(feats[8]), self.decode_part(quadrant)


def quadrant(image: torch.Tensor, part: int, out_px: int) -> torch.Tensor:
    """The target for a quadrant reconstruction: that quarter of the image at out_px."""
    half = image.shape[-1] // 2
    row, col = divmod(part, 2)
    crop = image[:, :, row * half : (row + 1) * half, col * half : (col + 1) * half]
    return F.interpolate(crop, size=out_px, mode="area")


def build(net: NetConfig) -> tuple[Generator, Discriminator]:
    return Generator(net), Discriminator(net)
