"""The command line: results on stdout, one clear line and the right exit code for every mistake."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from artgan.cli import cli

from .conftest import make_folder

TINY = ["--set", "net.ngf=8", "--set", "net.ndf=8", "--set", "net.nz=16", "--set", "train.log_every=1"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *words):
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_corpus_train_render_inspect_verify(tmp_path):
    src = make_folder(tmp_path / "my paintings é", count=10)
    corpus = tmp_path / "out dir" / "corpus"
    result = run("corpus", src, "-o", corpus, "--size", 32)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("contact.png")
    run_dir = tmp_path / "runs" / "tiny"
    result = run("train", corpus, "--out", run_dir, "--res", 32, "--steps", 2, "--batch", 2, "--device", "cpu", *TINY)
    assert result.exit_code == 0, result.output
    assert (run_dir / "latest.pt").exists()
    series = tmp_path / "séries"
    result = run("render", run_dir, "--series", 3, "-o", series, "--device", "cpu", "--size", 64)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in series.glob("seed-*")) == ["seed-0000000.png", "seed-0000001.png", "seed-0000002.png"]
    assert ":" not in "".join(p.name for p in series.iterdir())  # names valid on Windows too
    result = run("inspect", "--json", series / "seed-0000001.png")
    assert result.exit_code == 0 and json.loads(result.stdout)["seed"] == 1
    result = run("verify", series / "seed-0000001.png", "--runs", run_dir)
    assert result.exit_code == 0, result.output
    assert "matches" in result.stdout


def test_usage_mistakes_exit_2(tmp_path, tiny_corpus):
    one_line_error(run("train", tiny_corpus, "-n", "--set", "train.lr=abc"), "train.lr", "number")
    one_line_error(run("train", tiny_corpus, "-n", "--set", "train.nope=1"), "nope", "valid keys")
    one_line_error(run("train", tiny_corpus, "-n", "--res", 100), "power of two")
    one_line_error(run("train", tiny_corpus, "-n", "--style", "nosuch"), "unknown style")
    for result in (
        run("train", tiny_corpus, "-n", "--set", "train.lr=abc"),
        run("render", "--seeds", "5-2"),
        run("render", "--series", 3, "--psi", "abc"),
        run("render"),
    ):
        assert result.exit_code == 2, result.output


def test_data_mistakes_exit_1(tmp_path, tiny_run):
    one_line_error(run("corpus", tmp_path / "missing", "-o", tmp_path / "c"), "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(run("corpus", empty, "-o", tmp_path / "c"), "no images")
    assert not (tmp_path / "c").exists()
    few = make_folder(tmp_path / "few", count=3)
    one_line_error(run("corpus", few, "-o", tmp_path / "c", "--size", 32), "need at least 8")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    one_line_error(run("render", notes, "--series", 2), "not an artgan checkpoint")
    one_line_error(run("render", tmp_path, "--series", 2), "no latest.pt")
    one_line_error(run("inspect", notes), "no artgan record")


def test_mistakes_found_by_trying_to_break_it(tmp_path, tiny_run, tiny_corpus):
    """Each of these once ended in a traceback, a kill for memory, or a quiet wrong result."""
    readme = tmp_path / "README.md"
    readme.write_text("my notes")
    one_line_error(run("export", tiny_run, "-o", readme), "ends in .pt")
    (tmp_path / "notes.pt").write_text("my notes")
    one_line_error(run("export", tiny_run, "-o", tmp_path / "notes.pt"), "not an artgan model")
    assert readme.read_text() == "my notes" and (tmp_path / "notes.pt").read_text() == "my notes"
    one_line_error(run("render", tiny_run, "--seeds", 1, "--size", 100000), "render size", "10000")
    one_line_error(run("render", tiny_run, "--seeds", 1, "--set", "render.size=-1"), "render size")
    one_line_error(run("render", tiny_run, "--seeds", 1, "--set", "render.psi=3"), "render.psi")
    one_line_error(run("render", tiny_run, "--series", 2, "--start-seed", 10**20), "--start-seed")
    one_line_error(run("render", tiny_run, "--series", 10**9), "--series")
    style = tmp_path / "latin1.toml"
    style.write_bytes("[render]\ntitle = 'caf\xe9'\n".encode("latin-1"))
    one_line_error(run("render", tiny_run, "--seeds", 1, "--style", style), "not UTF-8")
    one_line_error(run("corpus", tiny_corpus, "-o", readme), "is a file")
    one_line_error(run("corpus", tiny_corpus, "-o", tiny_corpus / "inside"), "inside")
    one_line_error(run("verify", tmp_path), "is a folder")
    result = run("verify", readme)
    assert result.exit_code == 2 and "no artgan record" in result.output
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "scan.jpg").write_text("not a picture")
    (junk / "blank.png").write_bytes(b"")
    one_line_error(run("corpus", junk, "-o", tmp_path / "c2", "--size", 32), "0 usable images", "rejected ", "and 1 more")
    cut = tmp_path / "cut.pt"
    cut.write_bytes((tiny_run / "latest.pt").read_bytes()[:20_000])
    one_line_error(run("render", cut, "--seeds", 1), "damaged or cut short")


def test_psi_zero_says_every_seed_is_the_mean_image(tmp_path, tiny_run):
    result = run("render", tiny_run, "--seeds", "1,2", "--psi", 0, "-o", tmp_path / "s", "--device", "cpu")
    assert result.exit_code == 0
    assert "mean image" in result.stderr
    first, second = (Image.open(tmp_path / "s" / f"seed-000000{i}.png").tobytes() for i in (1, 2))
    assert first == second


def test_styles_lists_the_presets():
    result = run("styles")
    assert result.exit_code == 0
    assert set(result.stdout.split()) >= {"belamy", "ukiyo-e", "impressionist", "sketch"}


@pytest.mark.parametrize("name", ["belamy", "ukiyo-e", "impressionist", "sketch"])
def test_every_preset_resolves(name, tiny_corpus):
    result = run("train", tiny_corpus, "--style", name, "-n")
    assert result.exit_code == 0, result.output


def test_ctrl_c_in_train_says_how_to_resume_and_nothing_else(tmp_path, tiny_corpus, monkeypatch):
    import artgan.trainview

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(artgan.trainview, "train", interrupted)
    run_dir = tmp_path / "runs" / "stopped"
    result = run("train", tiny_corpus, "--out", run_dir, "--res", 32, "--steps", 2, "--device", "cpu", *TINY)
    assert result.exit_code == 130
    assert f"--resume --out {run_dir}" in result.output
    assert "run the same command again" not in result.output  # that would fail: the folder holds a run now
