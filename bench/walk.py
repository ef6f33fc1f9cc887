"""Walk throughput and memory: frames/s end to end into MP4 and GIF, and peak memory for short vs long walks.

Models are built in memory from a NetConfig with random weights, so no trained run is needed. Each
memory case runs in a subprocess of its own; its peak resident memory is read from the kernel
(wait4's rusage), and the encoder's (ffmpeg's) peak is reported beside it.

    python bench/walk.py                      # CPU, and CUDA when present
    python bench/walk.py --speed-frames 96 --memory-frames 300,3000 --device cpu
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from common import SIZES, devices, print_machine, random_model, save, table

SEEDS = [0, 1, 2, 3, 4]


def one_walk(fmt: str, frames: int, res_px: int, device: str, folder: Path) -> dict:
    from artgan.console import set_quiet
    from artgan.walk import render_walk

    set_quiet(True)
    model = random_model(res_px, *SIZES["default"])
    cfg = model.config
    cfg.render.device, cfg.render.size = device, 0
    cfg.walk.frames = frames
    result = render_walk(model, SEEDS, folder / f"walk.{fmt}", cfg)
    out = folder / f"walk.{fmt}"
    return {"frames": frames, "wall_s": result.wall_s, "generate_s": result.generate_s,
            "frames_per_s": result.frames_per_s, "bytes": out.stat().st_size}  # fmt: skip


class EncoderPeak(threading.Thread):
    """Polls this process's children (ffmpeg) for their peak resident memory (Linux /proc only).

    RUSAGE_CHILDREN cannot tell: a child forked from a large Python process inherits its peak.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb, self.running = 0, True

    def run(self) -> None:
        while self.running:
            for pid in self._children():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            time.sleep(0.1)

    @staticmethod
    def _children() -> list[str]:
        pids = []
        for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
            try:
                pids += (task / "children").read_text().split()
            except OSError:
                pass
        return pids


def child(args: argparse.Namespace) -> None:
    """One case in this process; prints its figures and its own peak memory as JSON."""
    torch.set_num_threads(args.threads or torch.get_num_threads())
    encoder = EncoderPeak()
    encoder.start()
    with tempfile.TemporaryDirectory() as folder:
        figures = one_walk(args.fmt, args.frames, args.px, args.device, Path(folder))
    encoder.running = False
    figures["rss_python_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["rss_encoder_mb"] = encoder.peak_kb / 1024
    print(json.dumps(figures))


def run_child(fmt: str, frames: int, px: int, device: str, threads: int) -> dict:
    command = [sys.executable, __file__, "--child", "--fmt", fmt, "--frames", str(frames), "--px", str(px),
               "--device", device, "--threads", str(threads)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"case {fmt} {frames} frames failed (exit {process.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    figures["rss_peak_mb"] = usage.ru_maxrss / 1024  # as the kernel saw it: the child or its children, the larger
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed-px", type=int, default=256)
    parser.add_argument("--speed-frames", type=int, default=240)
    parser.add_argument("--memory-px", type=int, default=128)
    parser.add_argument("--memory-frames", default="300,3000")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fmt", default="mp4", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--px", type=int, default=128, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    threads = args.threads or torch.get_num_threads()
    print_machine()
    wanted = [d.type for d in devices() if args.device in ("all", d.type)]
    speed_rows, memory_rows, results = [], [], {"threads": threads, "speed": [], "memory": []}
    for device in wanted:
        for fmt in ("mp4", "gif"):
            figures = run_child(fmt, args.speed_frames, args.speed_px, device, threads)
            speed_rows.append([device, fmt, f"{args.speed_px}", figures["frames"], figures["frames_per_s"],
                               figures["frames"] / figures["generate_s"], figures["bytes"] / 1e6])  # fmt: skip
            results["speed"].append({"device": device, "format": fmt, "px": args.speed_px, **figures})
        for fmt in ("mp4", "gif"):
            peaks = []
            for frames in (int(n) for n in args.memory_frames.split(",")):
                figures = run_child(fmt, frames, args.memory_px, device, threads)
                peaks.append(figures["rss_python_mb"])
                memory_rows.append([device, fmt, f"{args.memory_px}", frames, figures["rss_python_mb"],
                                    figures["rss_encoder_mb"], figures["frames_per_s"]])  # fmt: skip
                results["memory"].append({"device": device, "format": fmt, "px": args.memory_px, **figures})
            if len(peaks) > 1:
                memory_rows[-1].append(f"{(peaks[-1] / peaks[0] - 1) * 100:+.1f} %")
    table("walk speed (end to end: generate, upscale, encode, write)",
          ["device", "format", "px", "frames", "frames/s", "generate-only frames/s", "MB"], speed_rows)  # fmt: skip
    for row in memory_rows:
        row += [""] * (8 - len(row))
    table("walk peak memory (each case in its own process)",
          ["device", "format", "px", "frames", "python peak MB", "ffmpeg peak MB", "frames/s", "long vs short"], memory_rows)  # fmt: skip
    save("walk", {**results, "when": time.strftime("%Y-%m-%d %H:%M")})


if __name__ == "__main__":
    main()
