"""Series rendering: seed -> the same picture anywhere, resumable series folders, provenance in every file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from artgan.config import Config, from_dict
from artgan.errors import RenderError
from artgan.infer import Renderer
from artgan.latent import parse_seeds, seed_z
from artgan.provenance import read_record
from artgan.render import render_series
from artgan.run import load_model


def series_cfg(model, **render) -> Config:
    cfg = from_dict(model.config.to_dict(), "test")
    cfg.render.device = "cpu"
    cfg.render.signature = "none"
    for key, value in render.items():
        setattr(cfg.render, key, value)
    return cfg


def test_same_seed_same_pixels_alone_or_in_a_batch(tiny_run):
    model = load_model(tiny_run)
    renderer = Renderer(model, "cpu")
    alone = renderer.seeds([42], psi=0.7)[0]
    again = Renderer(load_model(tiny_run), "cpu").seeds([42], psi=0.7)[0]
    batch = renderer.seeds(list(range(30, 60)), psi=0.7)[12]
    assert np.array_equal(alone, again)
    assert np.abs(alone.astype(int) - batch.astype(int)).max() <= 1
    assert not np.array_equal(renderer.seeds([43], psi=0.7)[0], alone)


def test_fast_path_matches_the_plain_generator(tiny_run):
    model = load_model(tiny_run)
    fast = Renderer(model, "cpu", fast=True).seeds(list(range(8)), psi=1.0).astype(int)
    plain = Renderer(model, "cpu", fast=False).seeds(list(range(8)), psi=1.0).astype(int)
    assert np.abs(fast - plain).max() <= 1


def test_seed_latents_do_not_depend_on_global_state():
    import torch

    a = seed_z(7, 16)
    torch.manual_seed(123)
    torch.randn(100)
    assert torch.equal(a, seed_z(7, 16))


def test_truncation_pulls_toward_the_mean_image(tiny_run):
    renderer = Renderer(load_model(tiny_run), "cpu")
    seeds = list(range(8))
    spread = {psi: renderer.seeds(seeds, psi).astype(float).std(axis=0).mean() for psi in (1.0, 0.5, 0.0)}
    assert spread[1.0] > spread[0.5] > spread[0.0] == 0.0


def test_series_writes_files_manifest_and_contact_sheet(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "series"
    result = render_series(model, list(range(10)), out, series_cfg(model))
    assert result.written == 10
    files = sorted(p.name for p in out.glob("seed-*.png"))
    assert files == [f"seed-{i:07d}.png" for i in range(10)]
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(row["seed"] for row in rows) == list(range(10))
    assert all(row["model"] == model.hash for row in rows)
    assert Image.open(out / "contact.png").size[0] > 100
    record = read_record(out / "seed-0000003.png")
    assert record["seed"] == 3 and record["psi"] == 0.7 and record["model"] == model.hash
    assert record["step"] == model.step and record["artgan"]

    contact_made = (out / "contact.png").stat().st_mtime_ns
    again = render_series(model, list(range(10)), out, series_cfg(model))
    assert again.written == 0 and again.skipped == 10
    assert (out / "contact.png").stat().st_mtime_ns == contact_made  # a finished series is not rewritten


def test_rerun_removes_what_a_killed_run_left(tmp_path, tiny_run):
    import subprocess

    model = load_model(tiny_run)
    out = tmp_path / "series"
    render_series(model, list(range(4)), out, series_cfg(model))
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that is no longer running
    left = [out / f".contact.png.{dead.pid}-x1.part", out / f".seed-0000005.png.{dead.pid}-x2.part"]
    for part in left:
        part.write_bytes(b"half")
    (out / "contact.png").unlink()  # killed before the contact sheet was replaced
    result = render_series(model, list(range(4)), out, series_cfg(model))
    assert result.written == 0
    assert not any(part.exists() for part in left)
    assert (out / "contact.png").is_file()


def test_interrupted_series_completes_exactly(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "series"
    render_series(model, list(range(6)), out, series_cfg(model))
    (out / "seed-0000002.png").unlink()  # a file lost after its manifest line
    (out / "seed-0000004.png").write_bytes(b"\x89PNG half")  # a file cut short
    with open(out / "manifest.jsonl", "a") as fh:
        fh.write('{"seed": 9, "file": "seed-00')  # a line cut short by a kill
    result = render_series(model, list(range(8)), out, series_cfg(model))
    assert result.written == 4  # 2, 4, 6, 7
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(row["seed"] for row in rows) == list(range(8))
    for row in rows:
        Image.open(out / row["file"]).load()
    assert sorted(p.name for p in out.glob("seed-*")) == [f"seed-{i:07d}.png" for i in range(8)]


def test_other_settings_in_the_same_folder_are_refused(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "series"
    render_series(model, [1, 2], out, series_cfg(model))
    with pytest.raises(RenderError, match="psi 0.7 there, 0.5 now"):
        render_series(model, [1, 2], out, series_cfg(model, psi=0.5))


def test_formats_and_upscaling(tmp_path, tiny_run):
    model = load_model(tiny_run)
    for fmt in ("jpg", "tif"):
        out = tmp_path / fmt
        render_series(model, [5], out, series_cfg(model, format=fmt, size=96))
        path = out / f"seed-0000005.{fmt}"
        assert Image.open(path).size == (96, 96)
        assert read_record(path)["seed"] == 5


def test_parse_seeds():
    assert parse_seeds("3,7,10-12") == [3, 7, 10, 11, 12]
    assert parse_seeds("5, 5, 4") == [5, 4]
    for bad in ("", "a", "5-2", "1--3"):
        with pytest.raises(Exception):
            parse_seeds(bad)
