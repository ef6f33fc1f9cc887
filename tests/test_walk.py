"""Latent walks: paths that loop without a seam, and MP4 / GIF / WebP / PNG frames read back from the files."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from artgan.cli import cli
from artgan.errors import UsageError
from artgan.gif import frame_delays_cs
from artgan.latent import circle_directions, circle_path, frame_times, keyframe_path, seeds_to_z, slerp
from artgan.provenance import read_record, sidecar_path
from artgan.run import load_model
from artgan.video import probe
from artgan.walk import render_walk


@pytest.fixture(scope="module")
def model(tiny_run):
    return load_model(tiny_run)


def walk_cfg(model, **walk):
    """The model's own settings (a copy) with small, quick walk settings; table__key=value for other tables."""
    cfg = copy.deepcopy(model.config)
    cfg.render.device, cfg.render.batch, cfg.render.size = "cpu", 8, 0
    cfg.walk.frames_per_seed = 4
    for key, value in walk.items():
        table, _, name = key.rpartition("__")
        setattr(getattr(cfg, table or "walk"), name, value)
    return cfg


def steps(latents: torch.Tensor) -> torch.Tensor:
    """Distance from each frame to the next, the last one to the first (the seam) included."""
    return (torch.roll(latents, -1, 0) - latents).norm(dim=1)


def gif_frames(path):
    with Image.open(path) as image:
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
        return image.n_frames, durations, image.info.get("loop")


# Paths


def test_slerp_keeps_the_ends_and_the_length():
    a, b = seeds_to_z([1, 2], 64)
    t = torch.tensor([[0.0], [0.5], [1.0]])
    out = slerp(a.expand(3, -1), b.expand(3, -1), t)
    assert torch.allclose(out[0], a, atol=1e-6) and torch.allclose(out[2], b, atol=1e-6)
    assert out[1].norm() == pytest.approx((a.norm() + b.norm()).item() / 2, rel=1e-5)
    assert out[1].norm() > ((a + b) / 2).norm() * 1.2  # a straight line would sag toward the origin


def test_circle_is_exactly_periodic_and_keeps_its_length():
    first, second = circle_directions(7, 32)
    assert torch.equal(first.float(), seeds_to_z([7], 32)[0])  # the seed's own latent is on the circle
    path = circle_path(first, second)
    assert torch.equal(path(torch.tensor([1.0, 2.0])), path(torch.tensor([0.0, 0.0])))
    times = frame_times(40, closed=True)
    assert torch.equal(path(times + 1), path(times))
    latents = path(times)
    assert torch.allclose(latents.norm(dim=1), first.norm().float().expand(40), rtol=1e-5)
    seam, median = steps(latents)[-1], steps(latents).median()
    assert seam == pytest.approx(median.item(), rel=1e-4)


@pytest.mark.parametrize("ease", ["linear", "smooth"])
def test_keyframe_loop_returns_with_an_ordinary_step(ease):
    keys = seeds_to_z([3, 17, 42, 5], 32)
    per_seed = 12
    path = keyframe_path(keys, "slerp", ease, loop=True)
    latents = path(frame_times(4 * per_seed, closed=True))
    assert torch.allclose(path(torch.tensor([1.0])), path(torch.tensor([0.0])))
    for k in range(4):  # every seed is a frame of its own
        assert torch.allclose(latents[k * per_seed], keys[k], atol=1e-5)
    distance = steps(latents)
    seam = distance[-1]
    assert distance.min() > 0  # no repeated frame anywhere, the seam included
    if ease == "linear":
        assert 0.8 < seam / distance.median() < 1.25
    else:  # easing slows down at every seed alike: the seam is the same step as arriving at any other seed
        arrivals = distance[per_seed - 1 : -1 : per_seed]
        assert 0.8 * arrivals.min() < seam < 1.25 * arrivals.max()
    # The loop is the open walk through the seeds and back to the first, without its repeated last frame.
    there_and_back = keyframe_path(torch.cat([keys, keys[:1]]), "slerp", ease, loop=False)
    open_latents = there_and_back(frame_times(4 * per_seed + 1, closed=False))
    assert torch.allclose(open_latents[:-1], latents, atol=1e-5)
    assert torch.allclose(open_latents[-1], keys[0], atol=1e-6)


def test_open_walk_ends_on_the_last_seed():
    keys = seeds_to_z([1, 2, 3], 16)
    path = keyframe_path(keys, "lerp", "linear", loop=False)
    latents = path(frame_times(2 * 5 + 1, closed=False))
    assert torch.allclose(latents[-1], keys[-1], atol=1e-6) and torch.allclose(latents[0], keys[0], atol=1e-6)


def test_bad_path_settings_are_usage_errors():
    with pytest.raises(UsageError):
        keyframe_path(seeds_to_z([1, 2], 8), "cubic")
    with pytest.raises(UsageError):
        keyframe_path(seeds_to_z([1], 8))


def test_gif_delays_keep_the_average_frame_rate():
    delays = frame_delays_cs(48, 24)
    assert set(delays) == {4, 5} and sum(delays) == 200  # 48 frames at 24 fps last exactly 2 s
    assert frame_delays_cs(10, 25) == [4] * 10


# Files


def test_mp4_reads_back_frames_fps_even_size_and_record(model, tmp_path):
    out = tmp_path / "walk.mp4"
    result = render_walk(model, [3, 17, 42], out, walk_cfg(model, walk__fps=12, render__size=33))
    assert result.frames == 12 and result.files == [out]
    found = probe(out)
    assert (found.codec, found.pixel_format, found.width, found.height, found.fps) == ("h264", "yuv420p", 34, 34, 12.0)
    assert imageio_ffmpeg.count_frames_and_secs(str(out)) == (12, 1.0)
    comment = json.loads(found.comment)
    assert comment["seeds"] == "3,17,42" and comment["model"] == model.hash and comment["fps"] == 12
    assert read_record(out)["frames"] == 12  # from the sidecar
    assert json.loads(sidecar_path(out).read_text())["bytes"] == out.stat().st_size
    assert not list(tmp_path.glob(".*.part"))


def test_gif_loops_forever_with_exact_delays_and_one_palette(model, tmp_path):
    out = tmp_path / "walk.gif"
    render_walk(model, [3, 17, 42], out, walk_cfg(model))
    frames, durations, loop = gif_frames(out)
    assert frames == 12 and loop == 0
    assert durations == [d * 10 for d in frame_delays_cs(12, 24)] and sum(durations) == 500
    data = out.read_bytes()
    assert data[10] & 0x80  # a global colour table ...
    assert data.count(b"\x21\xf9\x04") == 12  # ... and 12 frames (a local table would follow each descriptor)
    record = read_record(out)
    assert record["mode"] == "keyframes" and record["seeds"] == "3,17,42" and record["loop"] is True


def test_gif_keeps_identical_frames_and_counts_showings(model, tmp_path):
    out = tmp_path / "still.gif"
    # psi 0 gives every latent the mean image: twelve identical frames, none merged.
    render_walk(model, [1, 2, 3], out, walk_cfg(model, render__psi=0.0, walk__loops=3, walk__fps=10))
    frames, durations, loop = gif_frames(out)
    assert frames == 12 and durations == [100] * 12 and loop == 2  # GIF stores repeats after the first showing


def test_gif_with_a_palette_per_frame(model, tmp_path):
    out = tmp_path / "local.gif"
    render_walk(model, [1, 2], out, walk_cfg(model, gif_palette="frame", dither=True))
    data = out.read_bytes()
    assert not data[10] & 0x80 and gif_frames(out)[0] == 8  # no global table; each frame brings its own


def test_circle_webp_and_lossless_frames_match_the_png_frames(model, tmp_path):
    out, folder = tmp_path / "circle.webp", tmp_path / "frames"
    cfg = walk_cfg(model, mode="circle", lossless=True, fps=20)
    result = render_walk(model, [9], out, cfg, frames_dir=folder)
    assert result.frames == 16  # one turn is four steps of --frames-per-seed
    pngs = sorted(folder.glob("frame-*.png"))
    assert len(pngs) == 16 and read_record(pngs[0])["mode"] == "circle"
    with Image.open(out) as image:
        assert image.n_frames == 16 and image.info["loop"] == 0
        image.load()
        assert image.info["duration"] == 50
        assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(Image.open(pngs[0]).convert("RGB")))
    record = read_record(out)  # from the XMP inside
    assert record["mode"] == "circle" and record["frames"] == 16 and record["model"] == model.hash


def test_png_frames_have_no_seam(model, tmp_path):
    folder = tmp_path / "frames"
    render_walk(model, [3, 17, 42], None, walk_cfg(model, ease="linear", frames_per_seed=8), frames_dir=folder)
    frames = np.stack([np.asarray(Image.open(p), dtype=np.float32) for p in sorted(folder.glob("*.png"))])
    distance = np.abs(np.roll(frames, -1, 0) - frames).mean(axis=(1, 2, 3))
    assert len(frames) == 24 and distance.min() > 0
    assert 0.5 < distance[-1] / np.median(distance) < 2.0  # the step from the last frame to the first


def test_grid_tiles_several_walks(model, tmp_path):
    out = tmp_path / "grid.gif"
    result = render_walk(model, [1, 2, 3, 4], out, walk_cfg(model, grid="1x2"))
    assert result.tiles == [[1, 3], [2, 4]] and (result.width, result.height) == (64, 32)
    with Image.open(out) as image:
        assert image.size == (64, 32) and image.n_frames == 8


@pytest.mark.parametrize("suffix", ["mp4", "gif"])
def test_interrupted_walk_leaves_no_file(model, tmp_path, suffix):
    out = tmp_path / f"walk.{suffix}"

    def interrupt(stats):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_walk(model, [1, 2, 3, 4], out, walk_cfg(model, render__batch=2), on_tick=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_walks_temporary_file_is_cleared_and_a_live_ones_kept(model, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f".walk.gif.{dead.pid}-abc123.part"
    live = tmp_path / f".walk.gif.{os.getppid()}-def456.part"  # a process that is running: hands off
    for part in (left, live):
        part.write_bytes(b"half a gif")
    render_walk(model, [1, 2], tmp_path / "walk.gif", walk_cfg(model, frames_per_seed=2))
    assert not left.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["walk.gif", "walk.gif.json"]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_other_tools_read_the_record(model, tmp_path):
    cfg = walk_cfg(model, frames_per_seed=2)
    for suffix, tag in (("gif", "-Comment"), ("mp4", "-Comment"), ("webp", "-XMP-artgan:Seeds")):
        out = tmp_path / f"walk.{suffix}"
        render_walk(model, [5, 6], out, cfg)
        text = subprocess.run(["exiftool", "-s3", tag, str(out)], capture_output=True, text=True).stdout
        assert "5,6" in text, (suffix, text)


# Command line


def test_cli_writes_a_gif_and_prints_its_path(tiny_run, tmp_path):
    out = tmp_path / "loop.gif"
    result = CliRunner().invoke(cli, ["walk", str(tiny_run), "--seeds", "3,17", "--frames-per-seed", "3", "--fps", "12", "--device", "cpu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert gif_frames(out)[:1] == (6,)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "1,2", "-o", "x.avi"], "end the name in .mp4, .gif or .webp"),
        (["--seeds", "1,2", "--random", "2", "-o", "x.mp4"], "not both"),
        (["--seeds", "1,2,3", "--mode", "circle", "-o", "x.gif"], "1 or 2 seeds per tile"),
        (["--seeds", "1,2,3", "--grid", "2x2", "-o", "x.gif"], "multiple of 4"),
        (["--seeds", "1,2", "--grid", "two", "-o", "x.gif"], "rows x columns"),
        (["--seeds", "1,2", "--fps", "60", "-o", "x.gif"], "at most 50"),
        (["--seeds", "1", "-o", "x.gif"], "at least 2 seeds"),
        (["--seeds", "1,2"], "say where the walk goes"),
    ],
)
def test_cli_bad_flags_exit_2_with_one_line(tiny_run, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["walk", str(tiny_run), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_cli_missing_run_exits_1(tmp_path):
    result = CliRunner().invoke(cli, ["walk", str(tmp_path / "nothing"), "--seeds", "1,2", "-o", str(tmp_path / "x.mp4")])
    assert result.exit_code == 1 and "does not exist" in result.output
