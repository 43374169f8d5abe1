"""Small helpers for the GUI tests (imported by them; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def search(qtbot, window, text: str, timeout: int = 10000) -> list:
    """Type ``text`` and press Enter; returns the hits shown."""
    with qtbot.waitSignal(window.search.resultsReady, timeout=timeout):
        window.search_box.edit.setText(text)
        window.search_box.force()
    qtbot.waitUntil(lambda: not window.search.busy, timeout=timeout)
    return window.model.hits


def names(hits) -> list[str]:
    return [Path(h.path).name for h in hits]


def write_sound(path: Path, seconds: float, sr: int, channels: int, subtype: str, freq: float,
                seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = 0.3 * rng.standard_normal(n) if freq == 0 else 0.5 * np.sin(2 * np.pi * freq * t)
    x = (x * np.exp(-3 * t)).astype(np.float32)  # a decay, so every sound has a shape
    if channels > 1:
        x = np.stack([x * (1 - 0.3 * c) for c in range(channels)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype)
    return path
