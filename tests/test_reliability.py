"""Nothing finished is lost: failed writes, a second process on the same folder, the bad-input matrix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from artgan.cli import cli
from artgan.config import CorpusConfig
from artgan.corpus import make_corpus
from artgan.errors import OutputError
from artgan.files import exclusive
from artgan.render import render_series
from artgan.run import load_model, model_hash

from .conftest import make_folder, painting
from .test_render import series_cfg


def run_limited(code: str, limit_bytes: int) -> subprocess.CompletedProcess:
    """Run Python code in a child whose files may not grow past limit_bytes (like a full disk)."""
    prelude = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes}))\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(sys.platform == "win32", reason="file-size limits are a POSIX feature")
def test_a_failed_write_is_one_line_and_keeps_earlier_files(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "series"
    render_series(model, [0, 1, 2], out, series_cfg(model, size=512))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code = f"""
        import sys
        from click.testing import CliRunner
        from artgan.cli import cli
        result = CliRunner().invoke(cli, ["render", {str(tiny_run)!r}, "--series", "6", "-o", {str(out)!r},
                                          "--device", "cpu", "--signature", "none", "--size", "512"])
        sys.stdout.write(result.output)
        sys.exit(result.exit_code)
    """
    child = run_limited(code, 2_000)  # smaller than one 512 px PNG
    assert child.returncode == 1, child.stdout + child.stderr
    assert "Traceback" not in child.stdout
    assert "cannot write" in child.stdout and "larger than this system allows" in child.stdout
    for name, data in before.items():
        if name != "contact.png":
            assert (out / name).read_bytes() == data
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_a_second_render_on_the_same_folder_is_refused(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "series"
    with exclusive(out, "render"):  # as if another artgan process were rendering here
        with pytest.raises(OutputError, match="in use by another artgan"):
            render_series(model, [0, 1], out, series_cfg(model))
    render_series(model, [0, 1], out, series_cfg(model))
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(row["seed"] for row in rows) == [0, 1]


@pytest.mark.skipif(sys.platform == "win32", reason="file-size limits are a POSIX feature")
def test_a_walk_that_cannot_be_written_leaves_the_old_video(tmp_path, tiny_run):
    out = tmp_path / "loop.mp4"
    out.write_bytes(b"the artist's earlier loop")
    code = f"""
        import sys
        from click.testing import CliRunner
        from artgan.cli import cli
        result = CliRunner().invoke(cli, ["walk", {str(tiny_run)!r}, "--seeds", "1,2", "--frames", "48",
                                          "--size", "256", "--device", "cpu", "-o", {str(out)!r}])
        sys.stdout.write(result.output)
        sys.exit(result.exit_code)
    """
    child = run_limited(code, 4_000)  # ffmpeg inherits the limit: the video cannot be finished
    assert child.returncode == 1, child.stdout + child.stderr
    assert "Traceback" not in child.stdout and "loop.mp4" in child.stdout.splitlines()[-1]
    assert out.read_bytes() == b"the artist's earlier loop"
    assert [p.name for p in tmp_path.iterdir()] == ["loop.mp4"]


def test_a_second_training_in_the_same_folder_is_refused(tmp_path, tiny_corpus, tiny_cfg):
    from artgan.train import train

    run_dir = tmp_path / "run"
    with exclusive(run_dir, "training"):  # as if another artgan were training here
        with pytest.raises(OutputError, match="in use by another artgan training"):
            train(tiny_cfg, tiny_corpus, run_dir)
    assert not (run_dir / "latest.pt").exists()


def test_a_damaged_checkpoint_is_refused_not_rendered(tmp_path, tiny_run):
    import torch

    state = torch.load(tiny_run / "latest.pt", weights_only=True)
    assert state["G_ema_sha256"] == load_model(tiny_run).hash
    name = next(k for k, v in state["G_ema"].items() if v.is_floating_point() and v.numel() > 1)
    for label, damage in (("changed since", lambda t: t.view(-1)[0].add_(0.5)), ("not numbers", lambda t: t.view(-1)[0].fill_(float("nan")))):
        broken = {**state, "G_ema": {k: v.clone() for k, v in state["G_ema"].items()}}
        damage(broken["G_ema"][name])
        if label == "not numbers":  # as if saved that way: the hash agrees, the values are still no use
            broken["G_ema_sha256"] = model_hash(broken["G_ema"])
        path = tmp_path / f"{label.split()[0]}.pt"
        torch.save(broken, path)
        result = CliRunner().invoke(cli, ["render", str(path), "--seeds", "1", "-o", str(tmp_path / label)])
        assert result.exit_code == 1 and label in result.output and "Traceback" not in result.output
        assert not (tmp_path / label / "seed-0000001.png").exists()


def test_greyscale_only_corpus_trains(tmp_path, tiny_cfg):
    src = tmp_path / "grey"
    src.mkdir()
    for index in range(10):
        painting(index).convert("L").save(src / f"g{index}.png")
    report = make_corpus(src, tmp_path / "corpus", tiny_cfg.corpus)
    assert report.images == 10
    pixels = np.asarray(Image.open(report.path / "images" / "00000.png"))
    assert pixels.shape[2] == 3 and (pixels[..., 0] == pixels[..., 1]).all()


def test_grey_alpha_and_cmyk_jpeg_among_normal_images(tmp_path):
    src = make_folder(tmp_path / "src", count=4)
    la = Image.new("LA", (48, 48), (90, 0))
    la.paste((30, 255), (8, 8, 40, 40))
    la.save(src / "grey-alpha.png")
    painting(20).convert("CMYK").save(src / "cmyk.JPG", quality=95)
    report = make_corpus(src, tmp_path / "corpus", CorpusConfig(size=32, min_images=1))
    assert report.kept == 6 and not report.rejected


def test_output_paths_with_spaces_and_accents(tmp_path, tiny_run):
    model = load_model(tiny_run)
    out = tmp_path / "Série d'été 2026" / "mes images"
    result = render_series(model, [4], out, series_cfg(model))
    assert (out / "seed-0000004.png").is_file() and result.written == 1


def test_created_file_names_are_valid_on_windows(tmp_path, tiny_run):
    model = load_model(tiny_run)
    render_series(model, [0], tmp_path / "s", series_cfg(model))
    names = [p.name for p in tiny_run.rglob("*")] + [p.name for p in (tmp_path / "s").iterdir()]
    assert not [n for n in names if any(c in n for c in '<>:"|?*') or n.endswith((" ", "."))]


def test_hostile_pickle_given_as_a_run_does_not_run(tmp_path):
    from click.testing import CliRunner

    from artgan.cli import cli

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    import torch

    path = tmp_path / "model.pt"
    torch.save({"format": 1, "G_ema": Payload(), "config": {}}, path)
    result = CliRunner().invoke(cli, ["render", str(path), "--series", "1", "-o", str(tmp_path / "s")])
    assert result.exit_code == 1 and "refused" in result.output
    assert not marker.exists()
