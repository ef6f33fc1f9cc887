"""Print editions: pixel sizes, ppi and profiles read back, numbering, the ledger, certificates, metadata."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms, ImageFilter

from artgan.certificate import CertificateFacts, write_certificate
from artgan.cli import cli
from artgan.config import Config
from artgan.edition import check, make_edition, source_from_run
from artgan.errors import UsageError
from artgan.icc import SRGB_NAME, srgb_bytes
from artgan.layout import parse_length, parse_size, plan, to_px
from artgan.ledger import edition_numbers, max_proofs, select
from artgan.provenance import read_record
from artgan.run import load_model
from artgan.upscale import resize_into, sharpen_region

SMALL = ["--size", "2x2.5in", "--dpi", "100", "--bleed", "0.125in"]  # 225 x 275 px: fast, still a real layout


def pixels(size: str, bleed: str = "0", dpi: int = 300, fit: str = "contain") -> tuple[int, int]:
    return plan(parse_size(size), dpi, parse_length(bleed)[0], fit).size_px


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def profile_name(image: Image.Image) -> str:
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))).strip()


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


# --- geometry -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, bleed, dpi, expected",
    [
        ("16x20in", "0", 300, (4800, 6000)),
        ("16x20in", "0.125in", 300, (4875, 6075)),  # (16 + 2 x 0.125) x 300
        ("20x16in", "0.125in", 300, (6075, 4875)),  # landscape by the order given
        ("50x70cm", "0", 300, (5906, 8268)),
        ("50x70cm", "3mm", 300, (5976, 8339)),
        ("210x297mm", "0", 300, (2480, 3508)),
        ("A4", "0", 300, (2480, 3508)),
        ("A4", "3mm", 300, (2551, 3579)),
        ("A3-landscape", "0", 300, (4961, 3508)),
        ("A0", "0", 300, (9933, 14043)),
        ("8x10", "0", 300, (2400, 3000)),
        ("8.5x11in", "0", 300, (2550, 3300)),
        ("letter", "0.125in", 300, (2625, 3375)),
        ("24x36", "0", 240, (5760, 8640)),
        ("16 x 20 in", "0.3cm", 300, (4871, 6071)),
    ],
)
def test_pixel_size_is_physical_size_times_ppi(size, bleed, dpi, expected):
    assert pixels(size, bleed, dpi) == expected


def test_rounding_is_exact_with_halves_up():
    assert to_px(Fraction(51, 50), 75) == 77  # 76.5 px
    assert to_px(Fraction(1, 3), 300) == 100  # no float drift
    layout = plan(parse_size("16x20in"), 300, Fraction(1, 8), "contain")
    assert layout.trim == (37, 37, 4837, 6037)  # 4800 x 6000 trim, odd leftover pixel in the right/bottom bleed


@pytest.mark.parametrize(
    "flag, text, hint",
    [
        ("--size", "30x40", "needs a unit"),
        ("--size", "16x20ft", "not a print size"),
        ("--size", "A9", "not a print size"),
        ("--size", "16inx20cm", "mixes units"),
        ("--size", "0x20in", "larger than 0"),
        ("--bleed", "3", "needs a unit"),
        ("--bleed", "three mm", "not a length"),
    ],
)
def test_bad_sizes_name_the_flag_and_the_fix(flag, text, hint):
    with pytest.raises(UsageError, match=hint) as caught:
        parse_size(text) if flag == "--size" else parse_length(text)
    assert flag in str(caught.value)


@pytest.mark.parametrize("size", ["16x20in", "20x16in", "A3", "A0-landscape", "50x70cm", "4x6"])
@pytest.mark.parametrize("fit", ["contain", "cover"])
def test_picture_is_never_stretched_and_text_stays_safe(size, fit):
    layout = plan(parse_size(size), 300, Fraction(1, 8), fit)
    left, top, right, bottom = layout.picture
    crop_w, crop_h = layout.crop[2] - layout.crop[0], layout.crop[3] - layout.crop[1]
    assert (right - left) / crop_w == pytest.approx((bottom - top) / crop_h, rel=2e-3)  # square stays square
    sig, safe = layout.signature, layout.safe
    assert safe[0] <= sig[0] < sig[2] <= safe[2] and safe[1] <= sig[1] < sig[3] <= safe[3]
    if fit == "contain":
        assert safe[0] <= left and safe[1] <= top and right <= safe[2] and bottom <= sig[1]
    else:
        assert layout.picture == (0, 0, *layout.size_px)


def test_strips_resize_and_sharpen_like_the_whole_image():
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 24, 3), np.uint8))
    whole = picture.resize((700, 700), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (720, 720), "white")
    resize_into(canvas, picture, (0.0, 0.0, 1.0, 1.0), (10, 10, 710, 710))
    assert np.abs(np.asarray(canvas.crop((10, 10, 710, 710)), np.int16) - np.asarray(whole, np.int16)).max() <= 1
    expected = canvas.crop((10, 10, 710, 710)).filter(ImageFilter.UnsharpMask(2.4, 60, 2))
    sharpen_region(canvas, (10, 10, 710, 710), 2.4, 60, 2)
    assert np.array_equal(np.asarray(canvas.crop((10, 10, 710, 710))), np.asarray(expected))


# --- numbering -------------------------------------------------------------------------------------------


def test_artists_proofs_are_at_most_about_ten_percent():
    assert [max_proofs(n) for n in (1, 4, 5, 10, 19, 25, 100)] == [0, 0, 1, 1, 1, 2, 10]
    labels = [n.label for n in edition_numbers(25, 2)]
    assert labels[0] == "1/25" and labels[24] == "25/25" and labels[25:] == ["AP 1/2", "AP 2/2"]
    assert [n.label for n in select(edition_numbers(25, 2), "3-4,AP2")] == ["3/25", "4/25", "AP 2/2"]
    with pytest.raises(UsageError, match="--proofs 3"):
        edition_numbers(25, 3)
    with pytest.raises(UsageError, match="outside"):
        select(edition_numbers(25, 2), "26")
    with pytest.raises(UsageError, match="ends before it starts"):
        select(edition_numbers(25, 2), "5-3")
    with pytest.raises(UsageError, match="empty"):
        select(edition_numbers(25, 2), "")


# --- a whole edition through the command ------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued(tiny_run, tmp_path_factory):
    """A 5-print edition plus 1 AP, issued once and shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("edition") / "ed"
    args = ["edition", tiny_run, "--seed", "3", *SMALL, "--edition", "5", "--proofs", "1", "--artist", "Zoë Ångström",
            "--paper", "cotton rag", "--title", "Harbour", "-o", out]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    return out, args


def copy_of(issued, tmp_path):
    out, args = issued
    copy = tmp_path / "ed"
    shutil.copytree(out, copy)
    return copy, args[:-1] + [copy]


def test_edition_gives_numbered_prints_certificates_ledger_and_proof(issued):
    out, _ = issued
    prints = sorted(out.glob("print-*.tif"))
    assert [p.name for p in prints] == [f"print-{k}of5.tif" for k in range(1, 6)] + ["print-AP1of1.tif"]
    assert len(list(out.glob("certificate-*.pdf"))) == 6
    rows = [json.loads(line) for line in (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["number"] for r in rows] == ["1/5", "2/5", "3/5", "4/5", "5/5", "AP 1/1"]
    for row in rows:
        assert row["sha256"] == hashlib.sha256((out / row["file"]).read_bytes()).hexdigest()
    with Image.open(out / "proof.png") as proof:
        assert proof.width < 1200


def test_print_has_its_size_ppi_profile_and_record(issued):
    out, _ = issued
    with Image.open(out / "print-3of5.tif") as image:
        assert image.size == (225, 275)
        assert image.info["dpi"] == (100, 100)
        assert image.info["compression"] == "tiff_lzw" and image.tag_v2[317] == 2  # with the predictor
        assert profile_name(image) == SRGB_NAME
        assert image.info["icc_profile"] == srgb_bytes()
    record = read_record(out / "print-3of5.tif")
    assert record["edition"] == "3/5" and record["kind"] == "print" and record["dpi"] == 100
    assert record["seed"] == 3 and record["artist"] == "Zoë Ångström" and record["title"] == "Harbour"
    assert record["upscaler"] == "lanczos" and record["print_size"].startswith("2 x 2.5 in")
    assert read_record(out / "print-AP1of1.tif")["edition"] == "AP 1/1"


def test_prints_differ_only_in_the_signature_box(issued):
    out, _ = issued
    layout = plan(parse_size("2x2.5in"), 100, Fraction(1, 8), "contain")
    first, second = (np.asarray(Image.open(out / f"print-{k}of5.tif")).astype(np.int16) for k in (1, 2))
    differs = np.argwhere((first != second).any(axis=2))
    left, top, right, bottom = layout.signature
    assert len(differs) and (differs[:, 0] >= top).all() and (differs[:, 0] < bottom).all()
    assert (differs[:, 1] >= left).all() and (differs[:, 1] < right).all()
    assert first[layout.signature[1] : layout.signature[3], left:right].min() < 100  # dark ink on the white matte
    assert (first[2, 2] == 255).all()  # matte in the corner, picture not stretched to the edge


def test_certificates_are_one_page_pdfs_naming_the_print(issued):
    out, _ = issued
    rows = [json.loads(line) for line in (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    data = (out / "certificate-2of5.pdf").read_bytes()
    assert data.startswith(b"%PDF") and page_count(data) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out / "certificate-2of5.pdf"), "-"], capture_output=True, text=True).stdout
        assert rows[1]["sha256"] in text and "2/5" in text and "Zoë Ångström" in text and "cotton rag" in text


def test_rerunning_issues_nothing_new(issued, tmp_path):
    out, args = copy_of(issued, tmp_path)
    ledger = (out / "ledger.jsonl").read_bytes()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert (out / "ledger.jsonl").read_bytes() == ledger
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_ledger_refuses_to_issue_a_number_again(issued, tmp_path):
    out, args = copy_of(issued, tmp_path)
    ledger = (out / "ledger.jsonl").read_bytes()
    other = [a if a != "100" else "120" for a in args]  # the same numbers at another ppi
    result = run(*other)
    assert result.exit_code == 1
    assert "never reprinted" in result.output and "dpi 100 there, 120 now" in result.output
    assert (out / "ledger.jsonl").read_bytes() == ledger
    (out / "print-2of5.tif").unlink()
    result = run(*args)
    assert result.exit_code == 1 and "2/5 already issued" in result.output and "--force" in result.output
    result = run(*args, "--numbers", "2", "--force")
    assert result.exit_code == 0, result.output
    last = json.loads((out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert last["number"] == "2/5" and "replaces" in last and (out / "print-2of5.tif").is_file()


def test_a_print_never_entered_in_the_ledger_is_made_again(issued, tmp_path):
    out, args = copy_of(issued, tmp_path)
    lines = (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "ledger.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # stopped before the last line
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "never entered" in result.output
    rows = (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 6 and json.loads(rows[-1])["number"] == "AP 1/1"


@pytest.fixture(scope="module")
def source(tiny_run):
    """Seed 1 of the tiny model, rendered once for the library-level tests."""
    return source_from_run(load_model(tiny_run), 1, 0.7, "cpu")


def settings(**edition) -> Config:
    cfg = Config()
    values = {"size": "2x2.5in", "dpi": 100, "bleed": "0.125in", "edition": 1, **edition}
    for key, value in values.items():
        setattr(cfg.edition, key, value)
    return cfg


@pytest.mark.parametrize(
    "fmt, compression, pillow_compression",
    [("tif", "lzw", "tiff_lzw"), ("tif", "deflate", "tiff_adobe_deflate"), ("png", "lzw", None), ("jpg", "lzw", None)],
)
def test_ppi_and_profile_read_back_in_every_format(source, tmp_path, fmt, compression, pillow_compression):
    cfg = settings(size="A6", dpi=150, bleed="3mm", format=fmt, compression=compression)
    result = make_edition(source, tmp_path / "ed", cfg)
    assert result.made == [tmp_path / "ed" / f"print-1of1.{fmt}"]
    with Image.open(result.made[0]) as image:
        assert image.size == pixels("A6", "3mm", 150) == (656, 909)
        assert tuple(round(v) for v in image.info["dpi"]) == (150, 150)  # PNG stores pixels per metre: 150.01
        assert profile_name(image) == SRGB_NAME
        assert image.info.get("compression") == pillow_compression
    assert read_record(result.made[0])["edition"] == "1/1"


def test_cover_fills_the_sheet_and_numbers_are_issued_on_demand(source, tmp_path):
    cfg = settings(fit="cover", edition=10)
    assert len(make_edition(source, tmp_path, cfg, numbers="1-2").made) == 2
    assert len(make_edition(source, tmp_path, cfg, numbers="3").made) == 1
    assert len((tmp_path / "ledger.jsonl").read_text().splitlines()) == 3
    with Image.open(tmp_path / "print-03of10.tif") as image:
        assert not (np.asarray(image)[0, 0] == 255).all()  # the picture runs into the bleed


def test_upscaler_hook_is_recorded_as_learned(source, tmp_path):
    hook = tmp_path / "my_sr.py"
    hook.write_text("from PIL import Image\n\ndef up(image, size):\n    return image.resize(size, Image.Resampling.NEAREST)\n")
    result = make_edition(source, tmp_path / "ed", settings(upscaler=f"{hook}:up", sharpen=True))
    assert read_record(result.made[0])["upscaler"] == "learned:my_sr.py:up+sharpen"
    with pytest.raises(UsageError, match="has no function nothing"):
        check(settings(upscaler=f"{hook}:nothing"))


def test_a_given_profile_is_embedded_or_converted_to(source, tmp_path):
    icc = tmp_path / "mine.icc"
    icc.write_bytes(srgb_bytes())
    for convert in (False, True):
        result = make_edition(source, tmp_path / f"ed{convert}", settings(icc=str(icc), icc_convert=convert))
        with Image.open(result.made[0]) as image:
            assert image.info["icc_profile"] == icc.read_bytes()
    (tmp_path / "junk.icc").write_text("not a profile")
    with pytest.raises(UsageError, match="is not an ICC profile"):
        check(settings(icc=str(tmp_path / "junk.icc")))


def test_certificate_with_any_name_embeds_a_unicode_font(tmp_path):
    facts = CertificateFacts("Θάλασσα", "Łucja Øster", 2026, "1/1", "number 1 of an edition of 1", [("Paper", "бумага")])
    write_certificate(tmp_path / "c.pdf", facts, Image.new("RGB", (40, 50), "grey"))
    data = (tmp_path / "c.pdf").read_bytes()
    assert page_count(data) == 1 and b"DejaVu" in data


def test_an_image_file_is_re_rendered_from_its_model(tiny_run, tmp_path):
    series = tmp_path / "series"
    assert run("render", tiny_run, "--seeds", "3", "--device", "cpu", "-o", series).exit_code == 0
    image = series / "seed-0000003.png"
    result = run("edition", image, *SMALL, "--edition", "1", "-o", tmp_path / "nope")
    assert result.exit_code == 1 and "series signature" in result.output  # model not found: no double signature
    result = run("edition", image, "--runs", tiny_run, *SMALL, "--edition", "1", "-o", tmp_path / "ed")
    assert result.exit_code == 0, result.output
    record = read_record(tmp_path / "ed" / "print-1of1.tif")
    assert record["seed"] == 3 and record["native_px"] == 32


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--size", "30x40"], "--size '30x40' needs a unit"),
        (["--bleed", "3"], "--bleed '3' needs a unit"),
        (["--edition", "25", "--proofs", "3"], "at most 2 artist's proofs"),
        (["--numbers", "30"], "outside the 25 numbers"),
    ],
)
def test_user_mistakes_end_in_one_line_and_exit_2(tiny_run, tmp_path, flags, message):
    result = run("edition", tiny_run, "--seed", "1", *flags, "-o", tmp_path / "ed")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "ed" / "ledger.jsonl").exists()


@pytest.mark.slow
def test_an_a0_print_at_300_ppi_is_made_and_read_without_a_bomb_warning(source, tmp_path):
    result = make_edition(source, tmp_path, settings(size="A0", dpi=300, bleed="0"))
    assert result.layout.size_px == (9933, 14043)  # 139.5 megapixels
    record = read_record(result.made[0])  # warnings are errors in this suite
    assert record["edition"] == "1/1" and record["dpi"] == 300
