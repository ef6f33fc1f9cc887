"""The one training loop: EMA generator, checkpoint cadence, sample grids, JSONL log, resume, Ctrl-C safe."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .augment import AdaptiveP, parse_policy
from .config import Config, validate
from .console import info
from .corpus import load_images
from .errors import CheckpointError, TrainingDiverged, UsageError
from .files import append_line, exclusive, read_jsonl, remove_stale_parts, write_text
from .infer import pick_device
from .latent import seeds_to_z
from .loss import GANLoss
from .nets import Discriminator, Generator
from .report import write_loss_plot, write_sample_grid
from .run import check_integrity, checkpoint_config, load_checkpoint, save_checkpoint, step_checkpoints, write_config

SAMPLE_SEEDS = list(range(16))


@dataclass
class Tick:
    """What the loop reports to on_tick every log interval."""

    step: int
    total: int
    loss_G: float
    loss_D: float
    recon: float
    augment_p: float
    it_s: float
    elapsed_s: float


@dataclass
class Run:
    path: Path
    step: int
    checkpoint: Path | None
    stopped_by: str


class _Stop:
    """Turns Ctrl-C and SIGTERM into a flag the loop checks between steps, so it can checkpoint first."""

    def __init__(self):
        self.reason = ""

    def __call__(self, signum, frame):
        if self.reason:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.reason = "interrupted"


def _precision(name: str, device: torch.device) -> torch.dtype | None:
    if name not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"train.precision {name!r}: use auto, fp32, bf16 or fp16")
    if device.type != "cuda" or name == "fp32":
        return None
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if name == "bf16" else torch.float16


def train(
    cfg: Config,
    corpus: Path,
    run_dir: Path,
    resume: bool = False,
    on_tick: Callable[[Tick], None] | None = None,
) -> Run:
    """Train into run_dir, which one training at a time may hold (a second one is refused at once)."""
    with exclusive(Path(run_dir), "training"):
        return _train(cfg, corpus, Path(run_dir), resume, on_tick)


def _train(cfg: Config, corpus: Path, run_dir: Path, resume: bool, on_tick: Callable[[Tick], None] | None) -> Run:
    t = cfg.train
    validate(cfg)
    kinds = parse_policy(t.augment)
    device = pick_device(t.device)
    amp = _precision(t.precision, device)
    run_dir = Path(run_dir)

    state = None
    if resume:
        latest = run_dir / "latest.pt"
        if not latest.exists():
            raise CheckpointError(f"{run_dir} has no latest.pt to resume from; drop --resume to start a new run")
        state = load_checkpoint(latest)
        check_integrity(state, latest)
        _check_same_net(cfg, checkpoint_config(state, latest), latest)
    elif step_checkpoints(run_dir) or (run_dir / "latest.pt").exists():
        raise UsageError(f"{run_dir} already holds a run; add --resume to continue it, or choose another --out")

    data, fingerprint = load_images(corpus, cfg.net.res, cfg.corpus.min_images)
    if state is not None and state.get("corpus") and state["corpus"] != fingerprint:
        info("[yellow]note:[/] the corpus changed since the last checkpoint; training continues on the new one")
    # Keep the whole corpus on the device when it is small enough; else pin it for fast copies.
    on_device = data.numel() < 2**31 or device.type == "cpu"
    data = data.to(device) if on_device else (data.pin_memory() if device.type == "cuda" else data)

    torch.manual_seed(t.seed)
    G, D = Generator(cfg.net).to(device), Discriminator(cfg.net).to(device)
    # channels_last feeds tensor cores on GPUs; on CPUs the bench showed it slower, so only there.
    layout = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    G, D = G.to(memory_format=layout), D.to(memory_format=layout)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_G = torch.optim.Adam(G.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    opt_D = torch.optim.Adam(D.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    data_rng = torch.Generator().manual_seed(t.seed + 1)
    ada = AdaptiveP(t.augment_p, t.ada_target, t.batch)
    step, elapsed_before = 0, 0.0
    if state is not None:
        try:
            G.load_state_dict(state["G"])
            D.load_state_dict(state["D"])
            G_ema.load_state_dict(state["G_ema"])
            opt_G.load_state_dict(state["opt_G"])
            opt_D.load_state_dict(state["opt_D"])
        except (KeyError, ValueError, RuntimeError):
            raise CheckpointError(
                f"{run_dir / 'latest.pt'} does not fit these settings or is damaged; "
                "resume from an earlier checkpoint: copy checkpoints/step-N.pt over latest.pt"
            ) from None
        for opt in (opt_G, opt_D):  # learning rate and betas follow the current settings
            for group in opt.param_groups:
                group["lr"], group["betas"] = t.lr, (t.beta1, t.beta2)
        torch.set_rng_state(state["rng"]["cpu"])
        if device.type == "cuda" and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        data_rng.set_state(state["rng"]["data"])
        ada.load(state["augment"])
        step, elapsed_before = int(state["step"]), float(state.get("elapsed_s", 0.0))
        info(f"resuming {run_dir.name} at step {step}")
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples"):
        remove_stale_parts(folder)
    _forget_after(run_dir, step)
    write_config(run_dir, cfg)

    loss = GANLoss(G, D, kinds, t.recon_weight)
    sample_z = seeds_to_z(SAMPLE_SEEDS, cfg.net.nz).to(device)
    log_path = run_dir / "log.jsonl"

    def snapshot() -> dict:
        return {
            "step": step,
            "config": cfg.to_dict(),
            "G": G.state_dict(),
            "D": D.state_dict(),
            "G_ema": G_ema.state_dict(),
            "opt_G": opt_G.state_dict(),
            "opt_D": opt_D.state_dict(),
            "rng": {
                "cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
                "data": data_rng.get_state(),
            },
            "augment": ada.state(),
            "corpus": fingerprint,
            "elapsed_s": elapsed_before + (time.monotonic() - started),
        }

    last_saved: Path | None = None
    last_saved_step = -1

    def checkpoint() -> None:
        nonlocal last_saved, last_saved_step, last_save_time
        _check_finite(G_ema, step, last_saved)
        grid = run_dir / "samples" / f"step-{step:07d}.png"
        if step > 0 and not grid.exists():  # every checkpoint has its picture, whatever triggered it
            write_sample_grid(G_ema, sample_z, grid)
        last_saved = save_checkpoint(run_dir, snapshot(), t.keep_checkpoints)
        last_saved_step = step
        last_save_time = time.monotonic()
        write_loss_plot(log_path, run_dir / "loss.png")

    stop = _Stop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with contextlib.suppress(ValueError):  # signals can only be caught on the main thread
        for sig in previous:
            signal.signal(sig, stop)
    started = last_save_time = last_log_time = time.monotonic()
    last_log_step = step
    sums = {"loss_G": 0.0, "loss_D": 0.0, "recon": 0.0}
    autocast = torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext()
    scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None
    try:
        G.train()
        D.train()
        while step < t.steps:
            if t.minutes and time.monotonic() - started >= t.minutes * 60:
                stop.reason = stop.reason or "time limit"
            if stop.reason:
                break
            index = torch.randint(data.shape[0], (t.batch,), generator=data_rng)
            real = data[index.to(data.device)].to(device, non_blocking=True).float().div_(127.5).sub_(1)
            real = real.contiguous(memory_format=layout)
            if t.mirror:
                flip = torch.rand(t.batch, 1, 1, 1, device=device) < 0.5
                real = torch.where(flip, real.flip(3), real)

            with autocast:
                loss_D, stats_D = loss.d_loss(real, torch.randn(t.batch, cfg.net.nz, device=device), ada.p)
            opt_D.zero_grad(set_to_none=True)
            _backward(loss_D, opt_D, scaler)
            ada.observe(stats_D["real_logits"])

            with autocast:
                loss_G, stats_G = loss.g_loss(torch.randn(t.batch, cfg.net.nz, device=device), ada.p)
            opt_G.zero_grad(set_to_none=True)
            _backward(loss_G, opt_G, scaler)
            if scaler is not None:
                scaler.update()
            _update_ema(G_ema, G, t.ema, step)
            step += 1

            for key, value in (("loss_G", stats_G["loss_G"]), ("loss_D", stats_D["loss_D"]), ("recon", stats_D["recon"])):
                sums[key] = sums[key] + value.float()
            if step % t.log_every == 0 or step == t.steps:
                now = time.monotonic()
                count = step - last_log_step
                means = {k: float(v) / count for k, v in sums.items()}  # one device sync per log line
                if not all(math.isfinite(v) for v in means.values()):
                    raise TrainingDiverged(
                        f"the losses became NaN or infinite near step {step} (loss_G {means['loss_G']}, "
                        f"loss_D {means['loss_D']}); the last good checkpoint is "
                        f"{last_saved or 'none yet'}; resume from it with a lower learning rate, "
                        "e.g. --resume --set train.lr=0.0001"
                    )
                tick = Tick(step, t.steps, means["loss_G"], means["loss_D"], means["recon"], ada.update(),
                            count / max(now - last_log_time, 1e-9), elapsed_before + now - started)  # fmt: skip
                append_line(log_path, _log_line(tick))
                if on_tick:
                    on_tick(tick)
                sums = {k: 0.0 for k in sums}
                last_log_step, last_log_time = step, now
            if step % t.sample_every == 0:
                write_sample_grid(G_ema, sample_z, run_dir / "samples" / f"step-{step:07d}.png")
            if step % t.checkpoint_every == 0 or time.monotonic() - last_save_time >= t.checkpoint_minutes * 60:
                checkpoint()
    except KeyboardInterrupt:
        stop.reason = "interrupted"
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError):
                signal.signal(sig, handler)
    if last_saved_step != step:
        checkpoint()
    if stop.reason == "interrupted":
        raise KeyboardInterrupt
    return Run(run_dir, step, last_saved, stop.reason or "steps")


def _forget_after(run_dir: Path, step: int) -> None:
    """Drop log lines and sample grids newer than the checkpoint we start from (a crash left them)."""
    log_path = run_dir / "log.jsonl"
    if log_path.exists():
        rows = [row for row in read_jsonl(log_path) if row.get("step", 0) <= step]
        write_text(log_path, "".join(json.dumps(row) + "\n" for row in rows))
    for sample in (run_dir / "samples").glob("step-*.png") if (run_dir / "samples").is_dir() else []:
        if int(sample.stem[5:]) > step:
            sample.unlink(missing_ok=True)


def _backward(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler) -> None:
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)


@torch.no_grad()
def _update_ema(G_ema: torch.nn.Module, G: torch.nn.Module, decay: float, step: int) -> None:
    # Early on the average would mostly hold the random start; ramp the decay up over the first steps.
    beta = min(decay, (1 + step) / (10 + step))
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


def _check_finite(G_ema: torch.nn.Module, step: int, last_saved: Path | None) -> None:
    if not all(bool(torch.isfinite(p).all()) for p in G_ema.parameters()):
        raise TrainingDiverged(
            f"the generator's weights became NaN or infinite at step {step}; nothing was saved over the last "
            f"good checkpoint ({last_saved or 'none yet'}); resume it with --set train.lr=0.0001"
        )


def _check_same_net(cfg: Config, saved: Config, path: Path) -> None:
    wanted, had = cfg.to_dict()["net"], saved.to_dict()["net"]
    differences = [f"net.{k} {had.get(k)} in the checkpoint, {wanted.get(k)} asked" for k in sorted(had) if had.get(k) != wanted.get(k)]
    if differences:
        raise CheckpointError(f"{path} does not fit: " + "; ".join(differences) + " (resume without changing them, or start a new --out)")


def _log_line(tick: Tick) -> str:
    return json.dumps({
        "step": tick.step, "loss_G": round(tick.loss_G, 5), "loss_D": round(tick.loss_D, 5),
        "recon": round(tick.recon, 5), "augment_p": round(tick.augment_p, 4), "it_s": round(tick.it_s, 4),
        "time_s": round(tick.elapsed_s, 2),
    })  # fmt: skip


def read_log(run_dir: Path) -> list[dict]:
    return read_jsonl(Path(run_dir) / "log.jsonl")
