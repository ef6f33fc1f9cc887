"""The real public-domain corpora: every painting kept, letterboxes and paper margins trimmed (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from artgan.config import CorpusConfig, load_style
from artgan.corpus import make_corpus

pytestmark = pytest.mark.slow


def border_whiteness(path) -> float:
    """Share of a picture's outer ring that is near-white paper or letterbox."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float((ring.min(axis=1) > 235).mean())


def test_impressionist_keeps_all_42(corpora, tmp_path):
    report = make_corpus(corpora / "impressionist-masterworks" / "images", tmp_path / "c", CorpusConfig(size=64))
    assert report.kept == 42 and not report.rejected


def test_louvre_letterboxes_are_trimmed(corpora, tmp_path):
    cfg = load_style("belamy").corpus
    cfg.size = 64
    report = make_corpus(corpora / "louvre-portraits" / "images", tmp_path / "c", cfg)
    assert report.kept == 294
    whiteness = [border_whiteness(tmp_path / "c" / item["file"]) for item in json.loads((tmp_path / "c" / "corpus.json").read_text())["images"]]
    # Untrimmed, nearly every image would have white bars; a few oval portraits keep white corners.
    assert np.mean([w > 0.5 for w in whiteness]) < 0.05


def test_hiroshige_margins_trimmed_into_crops(corpora, tmp_path):
    cfg = load_style("ukiyo-e").corpus
    cfg.size = 64
    report = make_corpus(corpora / "hiroshige-tokaido-53" / "images", tmp_path / "c", cfg)
    assert report.kept == 55 and report.images >= 2 * 55  # wide prints give several squares each
    whiteness = [border_whiteness(p) for p in sorted((tmp_path / "c" / "images").glob("*.png"))]
    assert np.mean([w > 0.5 for w in whiteness]) < 0.05
