"""Training: the run folder, resume that really continues, Ctrl-C, and checkpoints that survive crashes."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest
import torch

from artgan.errors import CheckpointError, TrainingDiverged, UsageError
from artgan.run import load_checkpoint, load_model, save_checkpoint, step_checkpoints
from artgan.train import train


def test_run_folder_has_every_part(tmp_path, tiny_cfg, tiny_corpus):
    run = tmp_path / "run"
    result = train(tiny_cfg, tiny_corpus, run)
    assert result.step == 3
    assert [p.name for p in step_checkpoints(run)] == ["step-0000002.pt", "step-0000003.pt"]
    assert (run / "latest.pt").is_file() and (run / "config.toml").is_file() and (run / "loss.png").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000002.png", "step-0000003.png"]
    lines = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]
    assert {"loss_G", "loss_D", "recon", "augment_p", "it_s", "time_s"} <= set(lines[0])
    state = load_checkpoint(run / "latest.pt")
    assert state["step"] == 3 and state["format"] == 1
    assert {"G", "D", "G_ema", "opt_G", "opt_D", "rng", "augment", "corpus", "config"} <= set(state)


def test_resume_continues_exactly(tmp_path, tiny_cfg, tiny_corpus):
    """3 steps, stop, 3 more == 6 steps straight through: same weights, same optimiser state."""
    tiny_cfg.train.steps = 6
    tiny_cfg.train.checkpoint_every = 3
    straight = tmp_path / "straight"
    train(tiny_cfg, tiny_corpus, straight)
    tiny_cfg.train.steps = 3
    resumed = tmp_path / "resumed"
    train(tiny_cfg, tiny_corpus, resumed)
    saved = load_checkpoint(resumed / "latest.pt")
    assert saved["opt_G"]["state"][0]["step"].item() == 3  # Adam's own count was saved
    tiny_cfg.train.steps = 6
    train(tiny_cfg, tiny_corpus, resumed, resume=True)
    a, b = load_checkpoint(straight / "latest.pt"), load_checkpoint(resumed / "latest.pt")
    assert b["step"] == 6
    for key in ("G", "D", "G_ema"):
        for name in a[key]:
            torch.testing.assert_close(a[key][name], b[key][name], rtol=1e-5, atol=1e-6, msg=f"{key}.{name}")
    for name, value in a["opt_D"]["state"][0].items():
        torch.testing.assert_close(value, b["opt_D"]["state"][0][name], rtol=1e-5, atol=1e-6)
    assert [json.loads(l)["step"] for l in (resumed / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path, tiny_cfg, tiny_corpus):
    run = tmp_path / "run"
    train(tiny_cfg, tiny_corpus, run)
    with pytest.raises(UsageError, match="--resume"):
        train(tiny_cfg, tiny_corpus, run)
    with pytest.raises(CheckpointError, match="no latest.pt"):
        train(tiny_cfg, tiny_corpus, tmp_path / "other", resume=True)


def test_resume_with_another_width_names_both_values(tmp_path, tiny_cfg, tiny_corpus):
    run = tmp_path / "run"
    train(tiny_cfg, tiny_corpus, run)
    before = (run / "latest.pt").read_bytes()
    tiny_cfg.net.ngf = 16
    with pytest.raises(CheckpointError, match=r"net.ngf 8 in the checkpoint, 16 asked"):
        train(tiny_cfg, tiny_corpus, run, resume=True)
    assert (run / "latest.pt").read_bytes() == before


def test_interrupt_writes_a_checkpoint(tmp_path, tiny_cfg, tiny_corpus):
    tiny_cfg.train.steps = 10_000
    tiny_cfg.train.checkpoint_every = 10_000
    tiny_cfg.train.sample_every = 10_000
    seen = []

    def on_tick(tick):
        seen.append(tick.step)
        if tick.step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg, tiny_corpus, tmp_path / "run", on_tick=on_tick)
    state = load_checkpoint(tmp_path / "run" / "latest.pt")
    assert 5 <= state["step"] <= 6


def test_interrupted_checkpoint_write_keeps_the_previous_one(tmp_path, tiny_cfg, tiny_corpus, monkeypatch):
    run = tmp_path / "run"
    train(tiny_cfg, tiny_corpus, run)
    state = load_checkpoint(run / "latest.pt")

    def dies_half_way(obj, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_half_way)
    state["step"] = 99
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(run, state, keep=3)
    monkeypatch.undo()
    assert load_checkpoint(run / "latest.pt")["step"] == 3
    assert not (run / "checkpoints" / "step-0000099.pt").exists()
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.endswith(".part")]


def test_nan_losses_stop_and_keep_the_good_checkpoint(tmp_path, tiny_cfg, tiny_corpus, monkeypatch):
    from artgan import loss as loss_module

    run = tmp_path / "run"
    train(tiny_cfg, tiny_corpus, run)
    good = (run / "latest.pt").read_bytes()
    original = loss_module.GANLoss.g_loss

    def poisoned(self, z, p):
        value, stats = original(self, z, p)
        return value * float("nan"), {"loss_G": stats["loss_G"] * float("nan")}

    monkeypatch.setattr(loss_module.GANLoss, "g_loss", poisoned)
    tiny_cfg.train.steps = 6
    with pytest.raises(TrainingDiverged, match="NaN"):
        train(tiny_cfg, tiny_corpus, run, resume=True)
    assert (run / "latest.pt").read_bytes() == good
    assert load_model(run).step == 3


def test_hostile_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    hostile = tmp_path / "hostile.pt"
    torch.save({"format": 1, "G_ema": Payload()}, hostile)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(hostile)
    assert not marker.exists()
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not an artgan checkpoint"):
        load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="another kind"):
        load_checkpoint(other)
    future = tmp_path / "future.pt"
    torch.save({"format": 99, "G_ema": {}, "artgan": "9.0"}, future)
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(future)


def test_adaptive_augmentation_follows_the_discriminator():
    from artgan.augment import AdaptiveP

    sure = AdaptiveP(p=0.5, target=0.6, batch=8, speed_images=1000)
    for _ in range(10):
        sure.observe(torch.ones(8))  # D calls every real "real": it is memorising them
    assert sure.update() > 0.5
    unsure = AdaptiveP(p=0.5, target=0.6, batch=8, speed_images=1000)
    for _ in range(10):
        unsure.observe(torch.tensor([1.0, -1.0] * 4))
    assert unsure.update() < 0.5
    fixed = AdaptiveP(p=0.5, target=0.0, batch=8)
    fixed.observe(torch.ones(8))
    assert fixed.update() == 0.5
    state = sure.state()
    restored = AdaptiveP(p=0.0, target=0.6, batch=8)
    restored.load(state)
    assert restored.p == sure.p


def test_every_checkpoint_has_its_sample_grid(tmp_path, tiny_cfg, tiny_corpus):
    """Checkpoints made by the clock (not the step count) and the last one get a grid too."""
    tiny_cfg.train.steps, tiny_cfg.train.sample_every, tiny_cfg.train.checkpoint_every = 3, 100, 100
    tiny_cfg.train.checkpoint_minutes = 0.0  # a checkpoint after every step, by time
    run = tmp_path / "run"
    train(tiny_cfg, tiny_corpus, run)
    steps = sorted(int(p.stem[5:]) for p in step_checkpoints(run))
    assert steps and sorted(int(p.stem[5:]) for p in (run / "samples").glob("step-*.png")) == [1, 2, 3]
