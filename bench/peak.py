"""This machine's own limits: fp32 matmul and 3x3 convolution GFLOP/s, so other figures read as a fraction."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from common import devices, print_machine, save, table, timed


def matmul_gflops(device: torch.device, n: int = 2048) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    seconds = timed(lambda: a @ b, device, repeat=7, min_s=1.0)
    return 2 * n**3 / seconds / 1e9


def conv_gflops(device: torch.device, channels: int, px: int, batch: int = 8, channels_last: bool = True) -> float:
    x = torch.randn(batch, channels, px, px, device=device)
    w = torch.randn(channels, channels, 3, 3, device=device)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
        w = w.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        seconds = timed(lambda: F.conv2d(x, w, padding=1), device, repeat=7, min_s=1.0)
    return 2 * 9 * channels * channels * px * px * batch / seconds / 1e9


def main() -> None:
    print_machine()
    rows, results = [], {}
    for device in devices():
        mm = matmul_gflops(device)
        convs = {
            f"{c}ch@{p}px{' cl' if cl else ''}": conv_gflops(device, c, p, channels_last=cl)
            for c, p in ((64, 128), (128, 64), (256, 32))
            for cl in (False, True)
        }
        best = max(convs.values())
        rows.append([device.type, mm, best, max(convs, key=convs.get)])
        results[device.type] = {"matmul_gflops": mm, "conv3x3_gflops": best, "conv_cases": convs}
    table("peak fp32 GFLOP/s", ["device", "matmul 2048", "conv 3x3 (best)", "best case"], rows)
    save("peak", results)


if __name__ == "__main__":
    main()
