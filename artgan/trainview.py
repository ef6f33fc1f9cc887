"""Training at the terminal: a rich progress line fed by the loop's on_tick, and Ctrl-C reported."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import TextColumn

from .config import Config
from .console import info, progress
from .train import Run, Tick, train


def train_with_progress(cfg: Config, corpus: Path, run_dir: Path, resume: bool) -> Run:
    columns = TextColumn(
        "step {task.fields[step]} G {task.fields[loss_G]:.3f} D {task.fields[loss_D]:.3f} "
        "p {task.fields[p]:.2f} {task.fields[it_s]:.2f} it/s"
    )
    by_time = cfg.train.minutes > 0  # a time limit: the bar shows seconds of it used
    total = cfg.train.minutes * 60 if by_time else cfg.train.steps
    first_elapsed: dict[str, float] = {}
    with progress(columns) as bar:
        task = bar.add_task("train", total=total, step=0, loss_G=0.0, loss_D=0.0, p=cfg.train.augment_p, it_s=0.0)

        def on_tick(tick: Tick) -> None:
            start = first_elapsed.setdefault("s", tick.elapsed_s - cfg.train.log_every / max(tick.it_s, 1e-9))
            done = min(total, tick.elapsed_s - start) if by_time else tick.step
            bar.update(task, completed=done, step=tick.step, loss_G=tick.loss_G, loss_D=tick.loss_D,
                       p=tick.augment_p, it_s=tick.it_s)  # fmt: skip

        try:
            result = train(cfg, corpus, run_dir, resume=resume, on_tick=on_tick)
        except KeyboardInterrupt:
            bar.stop()
            info(f"stopped; a checkpoint was saved in {run_dir}; continue with --resume --out {run_dir}")
            raise click.exceptions.Exit(130) from None  # said what to do: not the generic "stopped" line
    info(f"{result.stopped_by}: step {result.step}, checkpoint {result.checkpoint}")
    return result
