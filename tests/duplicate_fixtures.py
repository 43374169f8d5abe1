"""A library with planted duplicates: byte-identical copies, and the same recordings re-encoded,
resampled, trimmed and gain-changed, among distinct sounds made to look alike (two noise bursts
with the same envelope, two notes at the same pitch, two runs of footsteps): the near-duplicate
test must find every planted group and none among the look-alikes.

Used by tests/test_duplicates.py and tests/benchmarks/bench_duplicates.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def _burst(rng, seconds: float, colour: float) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    noise = rng.standard_normal(n)
    noise = np.convolve(noise, np.ones(int(colour)) / colour, mode="same")  # darker with a longer kernel
    return noise * np.exp(-4 * t) * np.minimum(1, t * 200)


def _note(rng, seconds: float, freq: float) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    vib = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 6) * t + rng.uniform(0, 6))
    x = sum(np.sin(2 * np.pi * freq * k * np.cumsum(vib) / SR + rng.uniform(0, 6)) / k for k in range(1, 6))
    breath = 0.05 * rng.standard_normal(n)
    return (x + breath) * np.exp(-1.5 * t) * np.minimum(1, t * 50)


def _steps(rng, seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    x = 0.01 * rng.standard_normal(n)
    at = 0.1
    while at < seconds - 0.2:
        i = int(at * SR)
        k = int(0.08 * SR)
        x[i:i + k] += rng.standard_normal(k) * np.exp(-np.arange(k) / (0.015 * SR)) * rng.uniform(0.5, 1.0)
        at += rng.uniform(0.35, 0.6)
    return x


def _chirp(rng, seconds: float, f0: float, f1: float) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f = f0 * (f1 / f0) ** (t / seconds)
    return np.sin(2 * np.pi * np.cumsum(f) / SR) * np.hanning(n) + 0.02 * rng.standard_normal(n)


def originals() -> dict[str, np.ndarray]:
    """Distinct sounds, normalised to -3 dBFS peak; pairs of look-alikes on purpose."""
    rng = np.random.default_rng(1234)
    sounds = {
        "impacts/burst_a.wav": _burst(rng, 1.5, 4),
        "impacts/burst_b.wav": _burst(rng, 1.5, 4),  # same recipe, another take
        "impacts/burst_dark.wav": _burst(rng, 2.0, 40),
        "music/note_a3_take1.wav": _note(rng, 2.0, 220.0),
        "music/note_a3_take2.wav": _note(rng, 2.0, 220.0),  # same pitch, another take
        "music/note_e4.wav": _note(rng, 2.5, 330.0),
        "foley/steps_gravel_1.wav": _steps(rng, 3.0),
        "foley/steps_gravel_2.wav": _steps(rng, 3.0),
        "fx/riser.wav": _chirp(rng, 2.0, 200, 3000),
        "fx/faller.wav": _chirp(rng, 2.0, 3000, 200),
        "fx/riser_slow.wav": _chirp(rng, 3.0, 200, 3000),
    }
    return {k: (0.7 * v / np.abs(v).max()).astype(np.float32) for k, v in sounds.items()}


def _write(path: Path, x: np.ndarray, sr: int, fmt: str | None = None, subtype: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, format=fmt, subtype=subtype)


def plant(root: Path) -> dict[str, list[set[str]]]:
    """Write the library under ``root``; returns the expected groups (relative paths):
    {"exact": [...], "near": [...]} — a near group holds the original and its altered copies."""
    sounds = originals()
    for name, x in sounds.items():
        _write(root / name, x, SR, subtype="PCM_16")
    import soxr

    def resampled(x, sr):
        return soxr.resample(x, SR, sr).astype(np.float32)

    # exact: the same bytes in another folder (twice for one of them)
    shutil.copyfile(root / "impacts/burst_a.wav", (root / "backup").mkdir(parents=True, exist_ok=True)
                    or root / "backup/burst_a.wav")
    shutil.copyfile(root / "fx/riser.wav", root / "backup/riser copy.wav")
    shutil.copyfile(root / "fx/riser.wav", root / "backup/riser copy 2.wav")
    exact = [{"impacts/burst_a.wav", "backup/burst_a.wav"},
             {"fx/riser.wav", "backup/riser copy.wav", "backup/riser copy 2.wav"}]

    near_dir = root / "delivered"
    x = sounds["music/note_a3_take1.wav"]
    _write(near_dir / "note_a3.ogg", x, SR, "OGG", "VORBIS")  # re-encoded, lossy
    _write(near_dir / "note_a3.flac", x, SR, "FLAC")  # re-encoded, lossless
    x = sounds["foley/steps_gravel_1.wav"]
    _write(near_dir / "steps_gravel_48k.wav", resampled(x, 48000), 48000, subtype="PCM_24")  # resampled
    x = sounds["impacts/burst_dark.wav"]
    _write(near_dir / "burst_dark_edit.wav", x[int(0.3 * SR):-int(0.2 * SR)], SR, subtype="PCM_16")  # trimmed
    x = sounds["music/note_e4.wav"]
    _write(near_dir / "note_e4_quiet.wav", x * 0.5, SR, subtype="PCM_16")  # -6 dB
    x = sounds["fx/faller.wav"]
    _write(near_dir / "faller_22k_loud.wav", resampled(x * 1.3, 22050), 22050, subtype="PCM_16")  # both
    near = [
        {"music/note_a3_take1.wav", "delivered/note_a3.ogg", "delivered/note_a3.flac"},
        {"foley/steps_gravel_1.wav", "delivered/steps_gravel_48k.wav"},
        {"impacts/burst_dark.wav", "delivered/burst_dark_edit.wav"},
        {"music/note_e4.wav", "delivered/note_e4_quiet.wav"},
        {"fx/faller.wav", "delivered/faller_22k_loud.wav"},
    ]
    return {"exact": exact, "near": near}
