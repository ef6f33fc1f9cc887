"""The GAN objective: hinge loss for D and G, plus D's self-supervised reconstruction of real images."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .augment import augment
from .nets import Discriminator, Generator, quadrant


class GANLoss:
    """min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))], in its hinge form, on augmented images."""

    def __init__(self, G: Generator, D: Discriminator, kinds: tuple[str, ...], recon_weight: float):
        self.G, self.D, self.kinds, self.recon_weight = G, D, kinds, recon_weight

    def d_loss(self, real: torch.Tensor, z: torch.Tensor, p: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.no_grad():
            fake = self.G(z)
        part = int(torch.randint(4, (1,)))
        real_aug = augment(real, self.kinds, p)
        real_logits, whole, piece = self.D(real_aug, part=part)
        fake_logits = self.D(augment(fake, self.kinds, p))
        hinge = F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
        px = self.D.decode_px
        recon = F.l1_loss(whole, F.interpolate(real_aug, size=px, mode="area")) + F.l1_loss(
            piece, quadrant(real_aug, part, px)
        )
        loss = hinge + self.recon_weight * recon
        return loss, {"loss_D": hinge.detach(), "recon": recon.detach(), "real_logits": real_logits.detach()}

    def g_loss(self, z: torch.Tensor, p: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fake_logits = self.D(augment(self.G(z), self.kinds, p))
        loss = -fake_logits.mean()
        return loss, {"loss_G": loss.detach()}
