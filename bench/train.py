"""Training speed: seconds per step at 128 and 256 px, batch 8, and where the time goes (G, D, augment, optimiser)."""

from __future__ import annotations

import argparse

import torch

from common import SIZES, devices, print_machine, save, table, timed

from artgan.augment import augment
from artgan.config import Config
from artgan.loss import GANLoss
from artgan.nets import Discriminator, Generator

KINDS = ("color", "translation", "cutout")


def setup(device, res, size_name, batch):
    ngf, nz = SIZES[size_name]
    cfg = Config()
    cfg.net.res, cfg.net.ngf, cfg.net.ndf, cfg.net.nz = res, ngf, ngf, nz
    torch.manual_seed(0)
    G, D = Generator(cfg.net).to(device), Discriminator(cfg.net).to(device)
    opt_G = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, res, res, device=device) * 2 - 1
    return cfg, G, D, opt_G, opt_D, real


def measure(device, res, size_name, batch=8):
    cfg, G, D, opt_G, opt_D, real = setup(device, res, size_name, batch)
    nz = cfg.net.nz
    loss = GANLoss(G, D, KINDS, 1.0)

    def step():
        value, _ = loss.d_loss(real, torch.randn(batch, nz, device=device), 1.0)
        opt_D.zero_grad(set_to_none=True)
        value.backward()
        opt_D.step()
        value, _ = loss.g_loss(torch.randn(batch, nz, device=device), 1.0)
        opt_G.zero_grad(set_to_none=True)
        value.backward()
        opt_G.step()

    total = timed(step, device, repeat=3, warmup=1)

    # The parts, each timed alone as the step runs them.
    z = torch.randn(batch, nz, device=device)

    def g_forward_no_grad():
        with torch.no_grad():
            G(z)

    def g_forward_backward():
        G(z).mean().backward()

    fake = G(z).detach()

    def d_real_with_reconstruction():
        logits, whole, part = D(real, part=0)
        (logits.mean() + whole.mean() + part.mean()).backward()

    def d_fake():
        D(fake).mean().backward()

    def augmentation():
        augment(real, KINDS, 1.0)

    def optimisers():
        opt_G.step()
        opt_D.step()

    parts = {
        "G": timed(g_forward_no_grad, device) + timed(g_forward_backward, device),
        "D": timed(d_real_with_reconstruction, device) + 2 * timed(d_fake, device),
        "augment": 4 * timed(augmentation, device),
        "optimiser": timed(optimisers, device),
    }
    # In the G step, D's backward also runs to reach G; count it under D.
    parts["D"] += timed(d_fake, device) - timed(lambda: D(fake), device)
    return total, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only artgan's default widths")
    args = parser.parse_args()
    print_machine()
    rows, results = [], []
    for device in devices():
        for size_name in ["default"] if args.quick else ["default", "fastgan"]:
            for res in (128, 256):
                total, parts = measure(device, res, size_name)
                share = {k: v / sum(parts.values()) for k, v in parts.items()}
                rows.append([device.type, size_name, res, total, *(f"{100 * share[k]:.0f}%" for k in parts)])
                results.append({"device": device.type, "widths": size_name, "res": res, "batch": 8,
                                "seconds_per_step": total, "parts_s": parts, "share": share})  # fmt: skip
                print("  " + " ".join(str(x) for x in rows[-1]), flush=True)
    table("training step, batch 8, augmentation on", ["device", "widths", "px", "s/step", "G", "D", "augment", "optimiser"], rows)
    save("train", {"steps": results})


if __name__ == "__main__":
    main()
