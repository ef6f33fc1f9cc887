"""Styles and the bundled model are found from a checkout and from an installed wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from artgan.config import style_names, styles_dir
from artgan.run import bundled_model_path

ROOT = Path(__file__).resolve().parents[1]


def test_presets_are_found():
    assert {"belamy", "ukiyo-e", "impressionist", "sketch"} <= set(style_names())
    assert (styles_dir() / "belamy.toml").is_file()


@pytest.mark.slow
def test_wheel_carries_styles_model_and_card(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    wheel = next(tmp_path.glob("artgan-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in ("belamy", "ukiyo-e", "impressionist", "sketch"):
        assert f"artgan/styles/{preset}.toml" in names
    assert "artgan/styles/MODEL_CARD.md" in names
    if bundled_model_path().is_file():
        assert "artgan/styles/belamy.pt" in names
