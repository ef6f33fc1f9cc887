"""Commands that make and check work from a model: render, walk, edition, inspect, verify."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .cli_common import outputs_root, resolve_config, style_option, typed
from .config import MAX_SEED
from .console import console, info


@click.command()
@click.argument("run", required=False, type=click.Path(path_type=Path))
@click.option("--series", type=click.IntRange(1, 10_000_000), help="Render this many seeds, from --start-seed.")
@click.option("--start-seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True)
@click.option("--seeds", help="Seeds to render, e.g. 3,7,10-20.")
@click.option("--psi", type=float, default=0.7, show_default=True, help="Truncation: 1 none, lower is more typical, 0 the mean image.")
@click.option("--batch", "render_batch", type=click.IntRange(0), default=16, show_default=True, help="Images per generator call (0: auto, the largest that fits on the GPU).")
@click.option("--size", "out_size", type=click.IntRange(0), default=0, help="Output side, px (0: native; larger upscales with Lanczos).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "tif"]), default="png", show_default=True)
@click.option("--png-compress", type=click.IntRange(0, 9), default=1, show_default=True, help="PNG compression: 1-5 fast (run-length), 6-9 smaller but slow, 0 none.")
@click.option("--signature", default="formula", show_default=True, help="formula, none, or your text with {artist} {year} {title} {seed}.")
@click.option("--signature-corner", type=click.Choice(["bottom-right", "bottom-left", "top-right", "top-left"]), default="bottom-right", show_default=True)
@click.option("--title", default="", help="Title recorded in each file.")
@click.option("--artist", default="", help="Artist recorded in each file and usable in the signature.")
@click.option("--device", "render_device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Series folder [default: outputs/series/MODEL-psiPSI].")
@style_option
@click.pass_context
def render(ctx, run, series, start_seed, seeds, psi, render_batch, out_size, fmt, png_compress, signature, signature_corner, title, artist, render_device, out, style, sets):
    """Render a seed-numbered series: one file per seed, a manifest and a contact sheet.

    With no RUN, the bundled model renders.

    \b
    Examples:
      artgan render --series 100
      artgan render outputs/runs/mine --series 1000 --psi 0.8
      artgan render outputs/runs/mine --seeds 3,7,10-20 --size 1024 --format tif
    """
    from .latent import parse_seeds
    from .render import render_series
    from .run import load_model

    if series is not None and seeds:
        raise click.UsageError("give either --series N or --seeds LIST, not both")
    if series is None and not seeds:
        raise click.UsageError("say what to render: --series 100 or --seeds 3,7,10-20")
    if not 0 <= psi <= 2:
        raise click.BadParameter(f"{psi} is outside 0-2 (1 is no truncation)", param_hint="--psi")
    model = load_model(run)
    if model.bundled:
        info(f"no run given: rendering with the bundled model '{model.name}' (step {model.step})")
    cfg = resolve_config(ctx, style, sets, base=model.config)
    if series is not None and start_seed + series - 1 > MAX_SEED:
        raise click.BadParameter(f"the series would pass the last seed, {MAX_SEED}", param_hint="--start-seed")
    seed_list = parse_seeds(seeds) if seeds else list(range(start_seed, start_seed + series))
    out = out or outputs_root() / "series" / f"{model.name}-psi{cfg.render.psi:g}"
    result = render_series(model, seed_list, out, cfg)
    if result.written:
        info(f"{result.written} images in {result.loop_s:.1f} s ({result.written / max(result.loop_s, 1e-9):.1f} images/s)")
    click.echo(result.folder)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON (for scripts).")
def inspect(files, as_json):
    """Show the provenance record inside files artgan wrote.

    \b
    Examples:
      artgan inspect outputs/series/belamy-psi0.7/seed-0000042.png
      artgan inspect --json print-01.tif | jq .seed
    """
    import json

    from rich.table import Table

    from .provenance import read_record

    records, missing = {}, []
    for path in files:
        record = read_record(path) if path.is_file() else None
        if record is None:
            missing.append(path)
        else:
            records[str(path)] = record
    if as_json:
        click.echo(json.dumps(records if len(files) > 1 else next(iter(records.values()), {}), indent=2, ensure_ascii=False))
    else:
        for name, record in records.items():
            table = Table(title=name, show_header=False)
            table.add_column("field", style="bold")
            table.add_column("value", overflow="fold")
            for key in sorted(record):
                table.add_row(key, str(record[key]))
            console.print(table)
    for path in missing:
        console.print(f"{path}: {'no artgan record in this file' if path.is_file() else 'no such file'}")
    if missing:
        raise SystemExit(1)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--runs", "runs", multiple=True, type=click.Path(path_type=Path), help="Run folders or folders of runs to search [default: outputs/runs].")
def verify(file, runs):
    """Render a file again from its own record and compare: exit 0 same, 1 different, 2 cannot check.

    Exit 2 when the model is not found or the file is no artgan render.

    \b
    Examples:
      artgan verify outputs/series/mine-psi0.7/seed-0000042.png
      artgan verify print.png --runs ~/old-runs
    """
    from .verify import verify as verify_file

    verdict = verify_file(file, list(runs) or [outputs_root() / "runs"])
    psnr = "inf" if verdict.psnr_db == float("inf") else f"{verdict.psnr_db:.1f}"
    info(f"model {verdict.model_path}")
    click.echo(
        f"{file}: {'matches' if verdict.matches else 'DIFFERS'} (max pixel difference {verdict.max_diff} "
        f"of {verdict.pixel_tolerance} allowed, PSNR {psnr} dB, worst 8x8 block {verdict.worst_block:.2f} of {verdict.tolerance:g})"
    )
    if not verdict.matches:
        raise SystemExit(1)


@click.command()
@click.argument("run", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Video to write; .mp4, .gif or .webp sets the format.")
@click.option("--seeds", help="Keyframe seeds in order, e.g. 3,17,42 (with --grid, dealt to the tiles in turn).")
@click.option("--random", "random_count", type=click.IntRange(1), help="K random seeds per tile (kept in the file's record).")
@click.option("--mode", "walk_mode", type=click.Choice(["keyframes", "circle"]), default="keyframes", show_default=True, help="Through the seeds, or a periodic loop around one seed.")
@click.option("--frames-per-seed", "walk_frames_per_seed", type=click.IntRange(2), default=48, show_default=True, help="Frames from one seed to the next (a circle turns in 4x this).")
@click.option("--frames", "walk_frames", type=click.IntRange(0), default=0, help="Total frames instead (0: from --frames-per-seed).")
@click.option("--fps", "walk_fps", type=click.IntRange(1, 120), default=24, show_default=True)
@click.option("--interp", "walk_interp", type=click.Choice(["slerp", "lerp"]), default="slerp", show_default=True)
@click.option("--ease", "walk_ease", type=click.Choice(["linear", "smooth"]), default="smooth", show_default=True, help="smooth slows to a stop at each seed.")
@click.option("--loop/--no-loop", "walk_loop", default=True, show_default=True, help="Return to the first seed, seamlessly.")
@click.option("--psi", type=click.FloatRange(0, 2), default=0.7, show_default=True, help="Truncation, as in render.")
@click.option("--size", "out_size", type=click.IntRange(0), default=0, help="Side of each picture, px (0: native; larger upscales with Lanczos).")
@click.option("--grid", "walk_grid", default="1x1", show_default=True, metavar="RxC", help="Tile several walks in one video.")
@click.option("--crf", "walk_crf", type=click.IntRange(0, 51), default=18, show_default=True, help="MP4 quality: lower is better.")
@click.option("--quality", "walk_quality", type=click.IntRange(0, 100), default=90, show_default=True, help="WebP quality.")
@click.option("--lossless", "walk_lossless", is_flag=True, help="Lossless WebP.")
@click.option("--loops", "walk_loops", type=click.IntRange(0), default=0, help="GIF/WebP: play N times, then stop [default: 0, forever].")
@click.option("--dither/--no-dither", "walk_dither", default=False, help="GIF: dither the colours.")
@click.option("--frames-dir", type=click.Path(path_type=Path), help="Also (or only) write numbered PNG frames here.")
@click.option("--signature", "walk_signature", default="none", show_default=True, help="none, formula, or your text with {artist} {year} {title}.")
@click.option("--signature-corner", type=click.Choice(["bottom-right", "bottom-left", "top-right", "top-left"]), default="bottom-right", show_default=True)
@click.option("--title", default="", help="Title recorded in the file.")
@click.option("--artist", default="", help="Artist recorded in the file and usable in the signature.")
@click.option("--batch", "render_batch", type=click.IntRange(1), default=16, show_default=True, help="Frames per generator call.")
@click.option("--device", "render_device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
@style_option
@click.pass_context
def walk(ctx, run, out, seeds, random_count, frames_dir, style, sets, **_flags):
    """Make a latent walk or a seamless loop: MP4, GIF or WebP (and/or PNG frames).

    With no RUN, the bundled model walks. With neither --seeds nor --random, random seeds are
    drawn and printed.

    \b
    Examples:
      artgan walk outputs/runs/mine --seeds 3,17,42,7,99 --size 512 -o loop.mp4
      artgan walk outputs/runs/mine --random 2 --frames-per-seed 24 -o loop.gif
      artgan walk outputs/runs/mine --mode circle --seeds 5 -o circle.webp
      artgan walk outputs/runs/mine --random 3 --grid 2x3 -o grid.mp4 --frames-dir frames/
    """
    from .latent import parse_seeds
    from .run import load_model
    from .walk import default_seed_count, parse_grid, random_seeds, render_walk

    if seeds and random_count:
        raise click.UsageError("give either --seeds LIST or --random K, not both")
    if out is None and frames_dir is None:
        raise click.UsageError("say where the walk goes: -o OUT.mp4|.gif|.webp and/or --frames-dir DIR")
    model = load_model(run)
    if model.bundled:
        info(f"no run given: walking with the bundled model '{model.name}' (step {model.step})")
    cfg = resolve_config(ctx, style, sets, base=model.config)
    if seeds:
        seed_list = parse_seeds(seeds)
    else:
        rows, cols = parse_grid(cfg.walk.grid)
        seed_list = random_seeds((random_count or default_seed_count(cfg.walk.mode)) * rows * cols)
        info(f"random seeds: {','.join(map(str, seed_list))} (give them to --seeds to make this walk again)")
    result = render_walk(model, seed_list, out, cfg, frames_dir=frames_dir)
    info(f"{result.frames} frames, {result.width}x{result.height} px, {result.frames / result.fps:.1f} s at {result.fps} fps; {result.frames_per_s:.1f} frames/s")
    for path in result.files:
        click.echo(path)




@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--seed", "print_seed", type=click.IntRange(0, MAX_SEED), help="With a RUN as SOURCE: the seed to print.")
@click.option("--psi", type=click.FloatRange(0, 2), default=0.7, show_default=True, help="With a RUN: truncation, as in render.")
@click.option("--runs", multiple=True, type=click.Path(path_type=Path), help="With an image: where to find its model [default: outputs/runs].")
@click.option("--size", "print_size", default="16x20in", show_default=True, help="Trim size: 16x20in, 50x70cm, 210x297mm, A3, A3-landscape, letter, 8x10 ...")
@click.option("--dpi", type=click.IntRange(50, 2400), default=300, show_default=True, help="Pixels per inch on the paper.")
@click.option("--bleed", default="0", show_default=True, help="Bleed on every side: 3mm, 0.125in or 0.")
@click.option("--fit", "print_fit", type=click.Choice(["contain", "cover"]), default="contain", show_default=True, help="contain: on a matte border; cover: to the edges, cropped.")
@click.option("--matte", "print_matte", default="white", show_default=True, help="Border colour for contain.")
@click.option("--edition", "edition_prints", type=click.IntRange(1, 10000), default=25, show_default=True, help="Numbered prints N.")
@click.option("--proofs", type=click.IntRange(0), default=0, show_default=True, help="Artist's proofs (at most 10 % of N; 1 from N=5).")
@click.option("--numbers", metavar="LIST", help="Issue only these now, e.g. 1-5,AP1 [default: all].")
@click.option("--title", default="", help="Title [default: the image's own, or MODEL #SEED].")
@click.option("--artist", default="", help="Artist, for the metadata and certificates.")
@click.option("--year", "print_year", type=click.IntRange(0), default=0, help="Year of the work [default: the image's, or this year].")
@click.option("--paper", default="", help="Paper note for the certificates, e.g. 'cotton rag 308 gsm'.")
@click.option("--signature", default="formula", show_default=True, help="formula, none, or your text with {artist} {year} {title} {seed} {edition}.")
@click.option("--format", "print_format", type=click.Choice(["tif", "png", "jpg"]), default="tif", show_default=True)
@click.option("--compression", type=click.Choice(["lzw", "deflate", "none"]), default="lzw", show_default=True, help="TIFF compression (all lossless).")
@click.option("--icc", default="srgb", show_default=True, metavar="srgb|PATH", help="Colour profile to embed.")
@click.option("--convert", "icc_convert", is_flag=True, help="Convert the pixels into the --icc profile (else only embed it).")
@click.option("--upscaler", default="lanczos", show_default=True, metavar="lanczos|MODULE:FUNC", help="A learned upscaler: FUNC(image, (w, h)) -> image.")
@click.option("--sharpen", is_flag=True, help="A light unsharp mask after upscaling.")
@click.option("--force", is_flag=True, help="Issue numbers again that the ledger already holds.")
@click.option("--device", "render_device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Edition folder [default: outputs/editions/MODEL-seedN-SIZE].")
@style_option
@click.pass_context
def edition(ctx, source, print_seed, runs, numbers, force, out, style, sets, **_flags):
    """Print an edition: numbered print files at a physical size, certificates, a ledger and a proof sheet.

    SOURCE is an image artgan rendered (re-rendered clean from its model when found), or a RUN with
    --seed N. Each number is issued once: re-running the same command skips what is done.

    \b
    Examples:
      artgan edition outputs/runs/mine --seed 42 --size 16x20in --bleed 0.125in --edition 25 --proofs 2
      artgan edition outputs/series/mine-psi0.7/seed-0000042.png --size A3 --artist "Ada L."
      artgan edition outputs/runs/mine --seed 7 --size 50x70cm --fit cover --bleed 3mm --numbers 1-5
    """
    from .edition import check, make_edition, source_from_file, source_from_run
    from .run import load_model

    if source.is_dir() or source.suffix == ".pt":
        if print_seed is None:
            raise click.UsageError("SOURCE is a run: say which seed to print with --seed N")
        model = load_model(source)
        cfg = resolve_config(ctx, style, sets, base=model.config)
        check(cfg, numbers)
        picture = source_from_run(model, print_seed, cfg.render.psi, cfg.render.device)
    else:
        if print_seed is not None or typed(ctx, "psi"):
            raise click.UsageError("--seed and --psi go with a RUN as SOURCE; an image carries its own")
        cfg = resolve_config(ctx, style, sets)
        check(cfg, numbers)
        picture = source_from_file(source, list(runs) or [outputs_root() / "runs"], cfg.render.device)
    if out is None:
        slug = re.sub(r"[^a-z0-9.]+", "-", cfg.edition.size.lower()).strip("-")
        name = f"{picture.record.get('model_name', source.stem)}-seed{picture.record.get('seed', 'x')}-{slug}"
        out = outputs_root() / "editions" / name
    result = make_edition(picture, out, cfg, numbers=numbers, force=force)
    width, height = result.layout.size_px
    info(f"{len(result.made)} printed, {result.skipped} already issued; {width} x {height} px at {cfg.edition.dpi} ppi "
         f"in {result.wall_s:.1f} s; ledger {result.ledger}")  # fmt: skip
    for path in result.prints:
        click.echo(path)
