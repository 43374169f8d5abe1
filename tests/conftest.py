"""Shared fixtures: an isolated SOUNDSEARCH_HOME and tiny real audio files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh SOUNDSEARCH_HOME: catalog, index, settings and caches all live under it."""
    root = tmp_path / "ss-home"
    root.mkdir()
    monkeypatch.setenv("SOUNDSEARCH_HOME", str(root))
    return root


def tone(seconds: float = 0.5, sr: int = 44100, freq: float = 440.0, channels: int = 1,
         noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A sine (plus optional noise) as float32 frames × channels."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    if noise:
        x = x + noise * np.random.default_rng(seed).standard_normal(len(t))
    x = x.astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


@pytest.fixture
def make_wav():
    """make_wav(path, seconds=0.5, sr=44100, freq=440, channels=1, subtype="PCM_16") -> Path"""

    def _make(path: Path, seconds: float = 0.5, sr: int = 44100, freq: float = 440.0, channels: int = 1,
              subtype: str = "PCM_16", noise: float = 0.0, fmt: str | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), tone(seconds, sr, freq, channels, noise), sr, subtype=subtype, format=fmt)
        return path

    return _make
