"""Helpers for the index/search tests: a small real library written with soundfile, scan/index
shortcuts. Their fixtures are in search_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from soundsearch.jobs import run

# name → (seconds, sample rate, channels, frequency); folders carry words too
LIBRARY = {
    "doors/door_wood_slam.wav": (0.6, 44100, 1, 180.0),
    "doors/door_metal_creak.wav": (0.9, 48000, 2, 240.0),
    "doors/DOORWood_Heavy Slam_JD_Lib.wav": (0.5, 44100, 1, 190.0),
    "glass/glass_break_small.wav": (0.4, 44100, 1, 3000.0),
    "glass/glass_clink.flac": (0.3, 48000, 1, 3400.0),
    "nature/dog_bark_loud.wav": (0.7, 22050, 1, 700.0),
    "nature/birds_forest_morning.wav": (1.2, 44100, 2, 5000.0),
    "nature/rain_roof_heavy.wav": (1.5, 44100, 2, 9000.0),
    "music/piano_chord_music.wav": (1.0, 44100, 2, 440.0),
    "ZOOM0001.wav": (0.8, 44100, 1, 1200.0),  # untagged: no words in its name or folder
}


def write_sound(path: Path, seconds: float, sr: int, channels: int, freq: float, seed: int = 0) -> Path:
    """A tone with some noise (so different files embed differently even with random weights)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(len(t))
    x = (x * np.minimum(1.0, 10 * t)).astype(np.float32)
    if channels > 1:
        x = np.stack([x, 0.8 * x], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr)
    return path


def make_library(root: Path, spec: dict = LIBRARY) -> Path:
    for n, (name, (seconds, sr, ch, freq)) in enumerate(spec.items()):
        write_sound(root / name, seconds, sr, ch, freq, seed=n)
    return root


def scan(catalog, *roots: Path):
    from soundsearch.library.scanner import scan as scan_job

    return run(scan_job(catalog, list(roots) or None))


def index(catalog, model, settings=None, **kw):
    from soundsearch.indexer import index_job

    return run(index_job(catalog, model, settings, **kw))


def by_name(catalog) -> dict[str, int]:
    return {r.path.name: r.id for r in catalog.iter_files()}
