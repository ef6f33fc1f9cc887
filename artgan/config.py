"""Settings as dataclasses, style presets from styles/*.toml, and the merge: defaults < style < --set < flags."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass
class CorpusConfig:
    size: int = 256  # side of the square training images, px (a power of two, 32-1024)
    fit: str = "center"  # non-square images: center (crop), pad (onto the matte) or crops (overlapping squares)
    matte: str = "white"  # colour under transparency and around padded images (name or #rrggbb)
    trim: str = "none"  # borders to cut first: none, auto (uniform borders) or a margin like 4%
    min_images: int = 8  # fewer usable images than this is an error


@dataclass
class NetConfig:
    res: int = 128  # output resolution, px (a power of two, 32-1024)
    nz: int = 128  # latent size
    ngf: int = 16  # generator width (channels at 128 px; more at coarser layers)
    ndf: int = 16  # discriminator width (channels at 128 px)


@dataclass
class TrainConfig:
    steps: int = 20000  # stop at this step (counted across resumes)
    minutes: float = 0.0  # stop after this many minutes of this session (0: no time limit)
    batch: int = 8  # images per step
    lr: float = 0.0002  # Adam learning rate of G and D
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    ema: float = 0.999  # decay of the averaged generator used for every render
    augment: str = "color,translation,cutout"  # differentiable augmentations for small data ("" for none)
    augment_p: float = 1.0  # chance each augmentation is applied to an image
    ada_target: float = 0.0  # adapt augment_p so that D's sign on reals averages this (0: fixed p)
    mirror: bool = True  # also show the reals mirrored left-right
    recon_weight: float = 1.0  # weight of D's self-supervised reconstruction loss
    checkpoint_every: int = 500  # steps between checkpoints
    checkpoint_minutes: float = 10.0  # also checkpoint after this many minutes
    sample_every: int = 500  # steps between sample grids
    log_every: int = 20  # steps between log.jsonl lines
    keep_checkpoints: int = 3  # step checkpoints kept besides latest.pt
    seed: int = 0  # seeds the weights, the augmentations and the order of images
    device: str = "auto"  # auto, cpu, cuda or mps
    precision: str = "auto"  # auto (bf16 on CUDA, else fp32), fp32, bf16 or fp16


MIN_RENDER_PX, MAX_RENDER_PX = 16, 10_000  # series files, a side; prints go through artgan edition
MAX_SEED = 2**63 - 1  # torch.Generator takes a 64-bit seed


@dataclass
class RenderConfig:
    psi: float = 0.7  # truncation: 1 none, 0 every seed gives the mean image
    batch: int = 16  # images per generator call (0: the largest that fits on the GPU)
    size: int = 0  # output side, px (0: the model's native resolution; larger upscales with Lanczos)
    format: str = "png"  # png, jpg or tif
    png_compress: int = 1  # PNG: 1-5 fast run-length deflate (small for paintings), 6-9 zlib levels (smallest, slow), 0 none
    jpeg_quality: int = 95  # JPEG quality 1-100
    signature: str = "formula"  # formula, none, or your own text with {artist} {year} {title} {seed} {edition}
    signature_corner: str = "bottom-right"  # bottom-right, bottom-left, top-right or top-left
    title: str = ""  # title written into each file's metadata
    artist: str = ""  # artist written into each file's metadata and usable in the signature
    device: str = "auto"  # auto, cpu, cuda or mps
    precision: str = "auto"  # auto (fp16 on CUDA, else fp32), fp32, fp16 or bf16
    compile: bool = False  # torch.compile the generator first (pays off on long series, mostly on GPUs)


@dataclass
class WalkConfig:
    mode: str = "keyframes"  # keyframes (through seeds) or circle (a periodic noise loop)
    frames_per_seed: int = 48  # frames from one keyframe to the next
    fps: int = 24  # frames per second
    interp: str = "slerp"  # slerp or lerp between keyframes
    ease: str = "smooth"  # linear or smooth
    loop: bool = True  # return to the first seed so the video loops seamlessly
    crf: int = 18  # H.264 quality (lower is better, 17-23 is visually lossless to good)
    quality: int = 90  # WebP quality (0-100; 100 with lossless)
    lossless: bool = False  # lossless WebP
    dither: bool = False  # dither GIF colours
    loops: int = 0  # GIF/WebP showings before it stops (0: forever)
    frames: int = 0  # total frames (0: frames_per_seed per step; a circle turns once in 4 x frames_per_seed)
    grid: str = "1x1"  # rows x columns of walks tiled in one video, e.g. 2x3
    signature: str = "none"  # formula, none, or your text as in render (a moving picture is usually unsigned)
    gif_palette: str = "global"  # global (one palette for all frames, no flicker) or frame (one per frame)


@dataclass
class StampConfig:
    margin: float = 0.025  # distance from the edges, as a fraction of the canvas width
    width: float = 0.30  # signature width, as a fraction of the canvas width
    color: str = "auto"  # auto (contrast with the corner) or a colour
    opacity: float = 0.85  # 0-1
    year: int = 0  # year in the signature and metadata (0: this year)


@dataclass
class EditionConfig:
    size: str = "16x20in"  # physical size: 16x20in, 50x70cm, 210x297mm, A3, 8x10 ...
    dpi: int = 300  # pixels per inch at the final size
    bleed: str = "0"  # bleed per side: 3mm, 0.125in or 0
    fit: str = "contain"  # contain (on a matte border) or cover (cropped)
    matte: str = "white"  # border colour for contain
    edition: int = 25  # numbered prints N
    proofs: int = 0  # artist's proofs (at most 10 % of N)
    format: str = "tif"  # tif, png or jpg
    compression: str = "lzw"  # TIFF compression: lzw, deflate or none (all lossless)
    jpeg_quality: int = 95  # JPEG quality 1-100 (prints: 95 or more)
    icc: str = "srgb"  # srgb (IEC 61966-2.1) or the path of an ICC profile to embed
    icc_convert: bool = False  # convert the pixels into the --icc profile (else it is only embedded)
    intent: str = "perceptual"  # rendering intent of that conversion: perceptual or relative
    upscaler: str = "lanczos"  # lanczos, or module:function / file.py:function for a learned model
    sharpen: bool = False  # a light unsharp mask after upscaling (radius 0.2 mm on the paper)
    safe_mm: float = 5.0  # signature and matte edges stay this far inside the trim, mm
    border: float = 0.08  # contain: matte margin around the picture, as a fraction of the short side
    paper: str = ""  # paper note for the certificate


@dataclass
class StyleInfo:
    name: str = "default"  # preset name
    description: str = ""  # one line on what it is for
    suits: str = ""  # the kind of corpus it suits


@dataclass
class Config:
    style: StyleInfo = field(default_factory=StyleInfo)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    net: NetConfig = field(default_factory=NetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    walk: WalkConfig = field(default_factory=WalkConfig)
    stamp: StampConfig = field(default_factory=StampConfig)
    edition: EditionConfig = field(default_factory=EditionConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)


TABLES = [f.name for f in fields(Config)]


def _table(cfg: Config, name: str, origin: str) -> Any:
    if name not in TABLES:
        raise ConfigError(f"{origin}: unknown table [{name}]; valid tables: {', '.join(TABLES)}")
    return getattr(cfg, name)


def _field_type(section: Any, key: str, origin: str, table: str) -> type:
    types = {f.name: f.type for f in fields(section)}
    if key not in types:
        raise ConfigError(
            f"{origin}: unknown key '{key}' in [{table}]; valid keys: {', '.join(sorted(types))}"
        )
    return {"int": int, "float": float, "str": str, "bool": bool}[types[key]]


def _check_type(value: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be a whole number, got {value!r}")
    if not isinstance(value, kind):
        names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
        raise ConfigError(f"{where} must be {names[kind]}, got {value!r}")
    return value


def apply_tables(cfg: Config, tables: dict[str, Any], origin: str) -> Config:
    """Apply a {table: {key: value}} mapping (a style file, a saved config) onto cfg, checking every key."""
    for table, values in tables.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: '{table}' must be a table like [{table}]")
        section = _table(cfg, table, origin)
        for key, value in values.items():
            kind = _field_type(section, key, origin, table)
            setattr(section, key, _check_type(value, kind, f"{origin}: {table}.{key}"))
    return cfg


def parse_value(text: str, kind: type, where: str) -> Any:
    """Read a --set value as the type its key wants."""
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError
        return kind(text)
    except ValueError:
        names = {int: "a whole number", float: "a number", bool: "true or false"}
        raise ConfigError(f"{where} must be {names.get(kind, kind.__name__)}, got {text!r}") from None


def apply_sets(cfg: Config, assignments: tuple[str, ...] | list[str]) -> Config:
    """Apply `--set table.key=value` assignments."""
    for item in assignments:
        where = f"--set {item}"
        name, sep, text = item.partition("=")
        table, dot, key = name.strip().partition(".")
        if not sep or not dot or not key:
            raise ConfigError(f"{where}: write it as table.key=value, e.g. --set train.lr=0.0001")
        section = _table(cfg, table, where)
        kind = _field_type(section, key, where, table)
        setattr(section, key, parse_value(text, kind, f"{where}: {table}.{key}"))
    return cfg


def styles_dir() -> Path:
    return Path(str(resources.files("artgan.styles")))


def style_names() -> list[str]:
    return sorted(p.stem for p in styles_dir().glob("*.toml"))


def style_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"style file {path} not found; give a preset name ({', '.join(style_names())}) or a .toml path")
        return path
    candidate = styles_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        raise ConfigError(
            f"unknown style '{name_or_path}'; presets: {', '.join(style_names())} (or give a .toml path)"
        )
    return candidate


def read_style(name_or_path: str) -> dict[str, Any]:
    path = style_path(name_or_path)
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"style file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"style file {path} is not UTF-8 text; save it as UTF-8") from None
    tables.setdefault("style", {}).setdefault("name", path.stem)
    return tables


def load_style(name_or_path: str | None, base: Config | None = None) -> Config:
    """Defaults (or `base`, e.g. a run's saved config) with a style preset applied on top."""
    cfg = base if base is not None else Config()
    if name_or_path:
        apply_tables(cfg, read_style(name_or_path), str(style_path(name_or_path)))
    return cfg


def from_dict(tables: dict[str, Any], origin: str) -> Config:
    """Rebuild a Config from a saved dict (a run's config or a checkpoint's)."""
    return apply_tables(Config(), tables, origin)


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, a's value, b's value) for every key whose values differ in two flat tables."""
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def power_of_two_px(value: int, where: str) -> int:
    if value < 32 or value > 1024 or value & (value - 1):
        raise ConfigError(f"{where} {value} is not a power of two from 32 to 1024 (use 32, 64, 128, 256, 512 or 1024)")
    return value


def validate(cfg: Config) -> Config:
    """Check the settings that have a fixed set of values or a range, before any work starts."""
    power_of_two_px(cfg.net.res, "net.res (--res)")
    power_of_two_px(cfg.corpus.size, "corpus.size (--size)")
    choices = {
        "corpus.fit": (cfg.corpus.fit, ("center", "pad", "crops")),
        "train.device": (cfg.train.device, ("auto", "cpu", "cuda", "mps")),
        "train.precision": (cfg.train.precision, ("auto", "fp32", "bf16", "fp16")),
        "render.format": (cfg.render.format, ("png", "jpg", "tif")),
        "render.device": (cfg.render.device, ("auto", "cpu", "cuda", "mps")),
        "render.precision": (cfg.render.precision, ("auto", "fp32", "fp16", "bf16")),
        "render.signature_corner": (cfg.render.signature_corner, ("bottom-right", "bottom-left", "top-right", "top-left")),
        "walk.mode": (cfg.walk.mode, ("keyframes", "circle")),
        "walk.interp": (cfg.walk.interp, ("slerp", "lerp")),
        "walk.ease": (cfg.walk.ease, ("linear", "smooth")),
        "edition.fit": (cfg.edition.fit, ("contain", "cover")),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"{key} {value!r} is not one of {', '.join(allowed)}")
    positive = {
        "net.nz": cfg.net.nz, "net.ngf": cfg.net.ngf, "net.ndf": cfg.net.ndf, "train.batch": cfg.train.batch,
        "train.steps": cfg.train.steps, "train.checkpoint_every": cfg.train.checkpoint_every,
        "train.sample_every": cfg.train.sample_every, "train.log_every": cfg.train.log_every,
        "walk.fps": cfg.walk.fps, "edition.dpi": cfg.edition.dpi,
    }  # fmt: skip
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key} must be at least 1, got {value}")
    ranges = {
        "train.lr": (cfg.train.lr, 0.0, 1.0), "train.ema": (cfg.train.ema, 0.0, 1.0),
        "train.augment_p": (cfg.train.augment_p, 0.0, 1.0), "train.ada_target": (cfg.train.ada_target, 0.0, 1.0),
        "render.psi": (cfg.render.psi, 0.0, 2.0), "render.png_compress": (cfg.render.png_compress, 0, 9),
        "render.jpeg_quality": (cfg.render.jpeg_quality, 1, 100), "stamp.opacity": (cfg.stamp.opacity, 0.0, 1.0),
        "stamp.width": (cfg.stamp.width, 0.01, 1.0), "stamp.margin": (cfg.stamp.margin, 0.0, 0.4),
        "train.minutes": (cfg.train.minutes, 0.0, float("inf")), "render.batch": (cfg.render.batch, 0, 65536),
    }  # fmt: skip
    for key, (value, low, high) in ranges.items():
        if not low <= value <= high:
            raise ConfigError(f"{key} {value} is outside {low}-{high}")
    if cfg.render.size != 0 and not MIN_RENDER_PX <= cfg.render.size <= MAX_RENDER_PX:
        raise ConfigError(f"render size {cfg.render.size} px: use 0 (native) or {MIN_RENDER_PX}-{MAX_RENDER_PX} px; for prints use artgan edition")
    return cfg
