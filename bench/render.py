"""Rendering speed: generator images/s and achieved GFLOP/s, plain vs fast path, and a whole series."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import SIZES, devices, print_machine, random_model, save, table, timed

from artgan.config import Config
from artgan.infer import Renderer
from artgan.latent import seeds_to_z
from artgan.nets import Generator
from artgan.render import render_series


def flops_per_image(model) -> float:
    G = Generator(model.config.net).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        G(torch.zeros(1, model.config.net.nz))
    return counter.get_total_flops()


def plain_generator(model, device):
    """The generator as training leaves it: spectral norm and batch norm as separate steps, no_grad only."""
    G = Generator(model.config.net)
    G.load_state_dict(model.G_ema)
    return G.eval().to(device)


def generator_rows(device, batches, resolutions, sizes):
    rows, results = [], []
    for size_name in sizes:
        ngf, nz = SIZES[size_name]
        for res in resolutions:
            model = random_model(res, ngf, nz)
            gflop = flops_per_image(model) / 1e9
            plain = plain_generator(model, device)
            fast = Renderer(model, device.type)
            for batch in batches:
                z = seeds_to_z(list(range(batch)), nz).to(device)

                def run_plain():
                    with torch.no_grad():
                        plain(z)

                t_plain = timed(run_plain, device, repeat=3, warmup=1, min_s=2.0)
                t_fast = timed(lambda: fast.images(z), device, repeat=3, warmup=1, min_s=2.0)
                row = [device.type, size_name, res, batch, gflop, batch / t_plain, batch / t_fast,
                       gflop * batch / t_fast, t_plain / t_fast]  # fmt: skip
                rows.append(row)
                results.append(dict(zip(["device", "widths", "res", "batch", "gflop_per_image", "plain_img_s",
                                         "fast_img_s", "fast_gflops", "speedup"], row)))  # fmt: skip
                print("  " + " ".join(str(round(v, 2) if isinstance(v, float) else v) for v in row), flush=True)
    return rows, results


def series_timing(device, count: int, res: int, size_name: str) -> dict:
    """End to end `render --series` wall time, split into generating and encoding/writing."""
    ngf, nz = SIZES[size_name]
    model = random_model(res, ngf, nz)
    cfg = Config()
    cfg.net = model.config.net
    cfg.render.device, cfg.render.signature, cfg.render.batch = device.type, "formula", 16
    folder = Path(tempfile.mkdtemp(prefix="bench-series-"))
    try:
        seeds = list(range(count))
        runs = []
        for _ in range(3):  # alternate the two, and keep each one's median, so drift hits both alike
            # The generator alone, from a fresh renderer as the series starts: the same first-batch cost.
            renderer = Renderer(model, device.type)
            start = time.perf_counter()
            for first in range(0, count, cfg.render.batch):
                renderer.seeds(seeds[first : first + cfg.render.batch], cfg.render.psi)
            generate_only = time.perf_counter() - start
            shutil.rmtree(folder / "series", ignore_errors=True)
            result = render_series(model, seeds, folder / "series", cfg)
            runs.append((generate_only, result))
        generate_only = sorted(g for g, _ in runs)[1]
        result = sorted((r for _, r in runs), key=lambda r: r.loop_s)[1]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"device": device.type, "images": count, "res": res, "widths": size_name,
            "generator_only_s": generate_only, "series_wall_s": result.wall_s,
            "series_loop_s": result.loop_s, "generate_inside_series_s": result.generate_s,
            "ratio": result.loop_s / generate_only}  # fmt: skip


def compile_timing(device, res: int, size_name: str, batch: int = 8) -> dict:
    """Does torch.compile pay for itself? Its one-off cost against the time it saves per image."""
    ngf, nz = SIZES[size_name]
    model = random_model(res, ngf, nz)
    z = seeds_to_z(list(range(batch)), nz).to(device)
    eager = Renderer(model, device.type)
    t_eager = timed(lambda: eager.images(z), device, repeat=3, warmup=1, min_s=2.0)
    start = time.perf_counter()
    compiled = Renderer(model, device.type, compile=True)
    compiled.images(z)
    compile_s = time.perf_counter() - start
    t_compiled = timed(lambda: compiled.images(z), device, repeat=3, warmup=1, min_s=2.0)
    saved_per_image = (t_eager - t_compiled) / batch
    return {"device": device.type, "widths": size_name, "res": res, "eager_img_s": batch / t_eager,
            "compiled_img_s": batch / t_compiled, "compile_s": compile_s,
            "break_even_images": compile_s / saved_per_image if saved_per_image > 0 else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer cases (batch 8 only)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile comparison")
    args = parser.parse_args()
    print_machine()
    batches = [8] if args.quick else [1, 8, 32]
    all_rows, all_results, series, compiled = [], [], [], []
    for device in devices():
        rows, results = generator_rows(device, batches, [128, 256], ["default", "fastgan"])
        all_rows += rows
        all_results += results
        for res, size_name in ((128, "default"), (256, "fastgan")):
            series.append(series_timing(device, 100, res, size_name))
        if not args.no_compile:
            compiled.append(compile_timing(device, 256, "fastgan"))
    table(
        "generator: images/s (plain = no_grad, BN and spectral norm as separate steps; fast = artgan's Renderer)",
        ["device", "widths", "px", "batch", "GFLOP/img", "plain img/s", "fast img/s", "fast GFLOP/s", "speedup"],
        all_rows,
    )
    table(
        "render --series 100 at native resolution (signed PNGs): the rendering loop against the generator alone",
        ["device", "widths", "px", "generator only s", "series loop s", "loop / generator", "whole call s"],
        [[s["device"], s["widths"], s["res"], s["generator_only_s"], s["series_loop_s"], s["ratio"], s["series_wall_s"]] for s in series],
    )
    if compiled:
        table(
            "torch.compile (FastGAN-size, 256 px, batch 8)",
            ["device", "eager img/s", "compiled img/s", "compile s", "break-even images"],
            [[c["device"], c["eager_img_s"], c["compiled_img_s"], c["compile_s"], c["break_even_images"] or "never"] for c in compiled],
        )
    save("render", {"generator": all_results, "series": series, "compile": compiled})


if __name__ == "__main__":
    main()
