"""What every command shares: settings from style, --set and typed flags; errors as one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click
from click.core import ParameterSource

from .config import Config, apply_sets, load_style, validate
from .console import console
from .errors import ArtganError
from .files import ENVIRONMENT_ERRNOS, output_error

# Which flag sets which setting; a flag overrides the style only when it was typed.
FLAG_KEYS = {
    "size": "corpus.size", "fit": "corpus.fit", "matte": "corpus.matte", "trim": "corpus.trim",
    "res": "net.res", "steps": "train.steps", "minutes": "train.minutes", "batch": "train.batch",
    "device": "train.device", "seed": "train.seed",
    "psi": "render.psi", "render_batch": "render.batch", "out_size": "render.size", "fmt": "render.format",
    "signature": "render.signature", "signature_corner": "render.signature_corner",
    "title": "render.title", "artist": "render.artist", "render_device": "render.device",
    "png_compress": "render.png_compress",
    "walk_mode": "walk.mode", "walk_frames_per_seed": "walk.frames_per_seed", "walk_frames": "walk.frames",
    "walk_fps": "walk.fps", "walk_interp": "walk.interp", "walk_ease": "walk.ease", "walk_loop": "walk.loop",
    "walk_grid": "walk.grid", "walk_crf": "walk.crf", "walk_quality": "walk.quality",
    "walk_lossless": "walk.lossless", "walk_loops": "walk.loops", "walk_dither": "walk.dither",
    "walk_signature": "walk.signature",
    # edition's flags are named apart from corpus/render ones (--size, --fit, --matte mean other things there)
    "print_size": "edition.size", "dpi": "edition.dpi", "bleed": "edition.bleed", "print_fit": "edition.fit",
    "print_matte": "edition.matte", "edition_prints": "edition.edition", "proofs": "edition.proofs",
    "print_format": "edition.format", "compression": "edition.compression", "icc": "edition.icc",
    "icc_convert": "edition.icc_convert", "upscaler": "edition.upscaler", "sharpen": "edition.sharpen",
    "paper": "edition.paper", "print_year": "stamp.year",
}  # fmt: skip


class ArtganGroup(click.Group):
    """Turns ArtganError into one line and an exit code, with no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ArtganError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except OSError as exc:
            # A full, read-only or forbidden disk is the machine's state, not a bug: one line, exit 1.
            if exc.errno not in ENVIRONMENT_ERRNOS:
                raise
            path = Path(exc.filename) if exc.filename else Path(".")
            if exc.errno in (errno.EACCES, errno.EPERM):  # may be a read as well as a write
                raise click.ClickException(f"permission denied: {path}; check its permissions or choose another path") from None
            raise click.ClickException(str(output_error(path, exc))) from None
        except (KeyboardInterrupt, click.Abort):
            console.print("stopped; what was finished is kept — run the same command again to continue")
            ctx.exit(130)


def outputs_root() -> Path:
    return Path(os.environ.get("ARTGAN_OUTPUTS", "outputs"))


def typed(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def resolve_config(ctx: click.Context, style: str | None, sets: tuple[str, ...], base: Config | None = None) -> Config:
    """base (defaults, or a run's saved config) < style < --set < typed flags."""
    cfg = load_style(style, base)
    if not cfg.render.artist and os.environ.get("ARTGAN_ARTIST"):
        cfg.render.artist = os.environ["ARTGAN_ARTIST"]  # like git's user.name: set once, signed everywhere
    apply_sets(cfg, sets)
    for name, key in FLAG_KEYS.items():
        if name in ctx.params and typed(ctx, name):
            table, field = key.split(".")
            setattr(getattr(cfg, table), field, ctx.params[name])
    return validate(cfg)


def style_option(f):
    f = click.option("--set", "sets", multiple=True, metavar="TABLE.KEY=VALUE", help="Override one setting, e.g. --set train.lr=0.0001.")(f)
    return click.option("-s", "--style", metavar="NAME|PATH", help="A preset from `artgan styles` or a .toml file.")(f)
