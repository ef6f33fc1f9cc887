"""The `artgan` command: parse, merge style + flags, call one library function, print result paths.

The commands that make work from a model live in cli_work.py; what all commands share, in cli_common.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from . import __version__
from .cli_common import ArtganGroup, outputs_root, resolve_config, style_option
from .cli_work import edition, inspect, render, verify, walk
from .config import Config, load_style, validate
from .console import console, info, set_quiet
from .errors import ArtganError


@click.group(cls=ArtganGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="artgan")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or notes; results only.")
def cli(quiet: bool) -> None:
    """Train a GAN on your own small corpus, then make series, loops and signed print editions."""
    set_quiet(quiet)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Corpus folder to write.")
@click.option("--size", type=int, default=256, show_default=True, help="Side of the square images, px (power of two, 32-1024).")
@click.option("--fit", type=click.Choice(["center", "pad", "crops"]), default="center", show_default=True, help="Non-square images: centre crop, pad onto the matte, or several overlapping crops.")
@click.option("--matte", default="white", show_default=True, help="Colour under transparency and around padded images.")
@click.option("--trim", default="none", show_default=True, help="Cut borders first: none, auto (uniform borders) or a margin like 4%.")
@click.option("--strict", is_flag=True, help="Stop at the first bad file instead of skipping it.")
@style_option
@click.pass_context
def corpus(ctx, source, out, size, fit, matte, trim, strict, style, sets):
    """Make a training corpus from a folder of images.

    \b
    Examples:
      artgan corpus ~/paintings -o outputs/corpora/mine --size 128
      artgan corpus scans/ -o outputs/corpora/prints --trim auto --fit crops
    """
    from .corpus import make_corpus

    cfg = resolve_config(ctx, style, sets)
    report = make_corpus(source, out, cfg.corpus, strict=strict)
    info(
        f"[bold]{report.kept}[/] of {report.kept + len(report.rejected)} images kept "
        f"({report.images} training images at {cfg.corpus.size} px), {len(report.rejected)} rejected, "
        f"{len(report.skipped)} other files skipped"
    )
    for name, reason in report.rejected[:20]:
        info(f"  [red]rejected[/] {name}: {reason}")
    if len(report.rejected) > 20:
        info(f"  … and {len(report.rejected) - 20} more (see corpus.json)")
    click.echo(out / "contact.png")


def _source_name(source: Path) -> str:
    """A run's name from its source folder ('paintings/images' is named 'paintings')."""
    source = source.resolve()
    generic = {"images", "image", "img", "imgs", "pictures", "photos", "data", "corpus"}
    name = source.parent.name if source.name.lower() in generic and source.parent.name else source.name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"


def _next_run_dir(name: str, res: int) -> Path:
    runs = outputs_root() / "runs"
    ids = [int(m.group(1)) for p in (runs.iterdir() if runs.is_dir() else []) if (m := re.match(r"(\d{5})-", p.name))]
    return runs / f"{max(ids, default=-1) + 1:05d}-{name}-{res}px"


def _newest_run_dir(name: str) -> Path | None:
    runs = outputs_root() / "runs"
    found = sorted(runs.glob(f"[0-9][0-9][0-9][0-9][0-9]-{name}-*px")) if runs.is_dir() else []
    return found[-1] if found else None


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Run folder [default: outputs/runs/NNNNN-NAME-RESpx].")
@click.option("--res", type=int, default=128, show_default=True, help="Resolution, px (power of two, 32-1024).")
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True, help="Train up to this step.")
@click.option("--minutes", type=click.FloatRange(0), default=0.0, help="Stop after this many minutes (0: no limit).")
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True, help="Images per step.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds weights, augmentation and image order.")
@click.option("-n", "--dry-run", is_flag=True, help="Print the resolved settings and exit.")
@style_option
@click.pass_context
def train(ctx, source, out, res, steps, minutes, batch, resume, device, seed, dry_run, style, sets):
    """Train a GAN on a corpus folder (or a plain folder of images, prepared first).

    \b
    Examples:
      artgan train outputs/corpora/mine --out outputs/runs/mine --minutes 30
      artgan train ~/paintings --style belamy
      artgan train outputs/corpora/mine --out outputs/runs/mine --resume
    """
    from . import corpus as corpus_mod
    from .run import checkpoint_config, load_checkpoint

    base = None
    if resume:
        out = out or _newest_run_dir(_source_name(source))
        if out is None or not (out / "latest.pt").exists():
            raise ArtganError(f"nothing to resume: no run of {source} with a latest.pt; give it with --out")
        base = checkpoint_config(load_checkpoint(out / "latest.pt"), out / "latest.pt")
        base.train.minutes = 0.0  # a time limit counts from now, only when typed again
    cfg = resolve_config(ctx, style, sets, base)
    if not corpus_mod.is_corpus(source):
        cfg.corpus.size = cfg.net.res
    validate(cfg)
    if dry_run:
        _print_config(cfg)
        return
    out = out or _next_run_dir(_source_name(source), cfg.net.res)
    if not corpus_mod.is_corpus(source):
        prepared = out / "corpus"
        if not corpus_mod.is_corpus(prepared) or not resume:
            info(f"preparing {source} into {prepared} with style {cfg.style.name}")
            corpus_mod.make_corpus(source, prepared, cfg.corpus)
        source = prepared
    from .trainview import train_with_progress

    result = train_with_progress(cfg, source, out, resume)
    click.echo(result.checkpoint)


def _print_config(cfg: Config) -> None:
    from rich.table import Table

    table = Table(title=f"resolved settings (style {cfg.style.name})")
    table.add_column("setting")
    table.add_column("value")
    for section, values in cfg.to_dict().items():
        for key, value in values.items():
            table.add_row(f"{section}.{key}", repr(value))
    console.print(table)



@cli.command()
def styles() -> None:
    """List the style presets.

    \b
    Examples:
      artgan styles
      artgan train ~/portraits --style belamy
    """
    from rich.table import Table

    from .config import style_names

    table = Table(title="styles")
    for column in ("name", "resolution", "suits", "description"):
        table.add_column(column)
    for name in style_names():
        cfg = load_style(name)
        table.add_row(name, f"{cfg.net.res} px", cfg.style.suits, cfg.style.description)
    console.print(table)
    for name in style_names():
        click.echo(name)


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Model file to write (.pt).")
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the size).")
def export(run, out, half):
    """Write a small model file (the averaged generator and its settings) from a run.

    \b
    Examples:
      artgan export outputs/runs/mine -o mine.pt
      artgan render mine.pt --series 10
    """
    from .run import export_model

    click.echo(export_model(run, out, half=half))




for command in (render, walk, edition, inspect, verify):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="artgan")
