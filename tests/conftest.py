"""Shared fixtures: tiny corpora made in tmp_path, a tiny config, and one tiny run for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artgan.config import Config
from artgan.corpus import make_corpus


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow; run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny models: a second thread mostly waits at barriers
    monkeypatch.setenv("ARTGAN_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv("ARTGAN_ARTIST", raising=False)


def painting(seed: int, width: int = 48, height: int = 48) -> Image.Image:
    """A small picture with structure (gradients and a blob), different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = rng.uniform(0, 1, 3)
    tilt = rng.uniform(-1, 1, 3)
    pixels = base + tilt * x[..., None] * 0.8 - tilt * y[..., None] * 0.4
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)
    blob = ((y - cy) ** 2 + (x - cx) ** 2) < r**2
    pixels[blob] = rng.uniform(0, 1, 3)
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))


def make_folder(folder: Path, count: int = 12, size: tuple[int, int] = (48, 48)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        painting(index, *size).save(folder / f"p{index:03d}.png")
    return folder


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_folder(tmp_path / "paintings")


def tiny_config() -> Config:
    cfg = Config()
    cfg.corpus.size = 32
    cfg.net.res, cfg.net.nz, cfg.net.ngf, cfg.net.ndf = 32, 16, 8, 8
    t = cfg.train
    t.batch, t.steps, t.device = 4, 3, "cpu"
    t.checkpoint_every, t.sample_every, t.log_every = 2, 2, 1
    cfg.render.device = "cpu"
    cfg.render.batch = 4
    return cfg


@pytest.fixture
def tiny_cfg() -> Config:
    return tiny_config()


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    cfg = tiny_config()
    return make_corpus(make_folder(tmp_path / "src"), tmp_path / "corpus", cfg.corpus).path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One tiny model trained a few steps, shared (read-only) by the render, walk and edition tests."""
    from artgan.train import train

    base = tmp_path_factory.mktemp("tiny_run")
    cfg = tiny_config()
    cfg.train.steps = 4
    corpus = make_corpus(make_folder(base / "src"), base / "corpus", cfg.corpus).path
    torch.set_num_threads(1)  # tiny models: a second thread mostly waits at barriers
    train(cfg, corpus, base / "run")
    return base / "run"


@pytest.fixture
def corpora() -> Path:
    path = Path(os.environ.get("ARTGAN_CORPORA", Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"))
    if not path.is_dir():
        pytest.skip(f"real corpora not found (set ARTGAN_CORPORA); looked in {path}")
    return path
