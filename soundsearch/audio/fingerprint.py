"""Audio fingerprints for near-duplicate detection: is this the same recording, re-encoded,
resampled, trimmed or played back louder?

A fingerprint is the file's log band energies over time: 8 kHz mono (what every copy still has
after resampling or a lossy encode), 32 ms frames every 8 ms, 24 bands up to 4 kHz. Two files are
compared by sliding one along the other (a trimmed copy starts later) and correlating the overlap's
fine detail: each frame's mean (the loudness envelope) and each band's mean (the average spectrum)
are taken out, so a gain change, which adds a constant to every log energy, does not count, and
neither does a shared envelope or tone colour. The correlation over the aligned frames decides:

- the same recording re-encoded (Ogg, MP3), resampled or gain-changed correlates above 0.95;
- a trimmed copy aligns at its offset and correlates as well over what is left;
- two takes of the same kind of sound (two door slams, two noise bursts) do not: their fine
  time-frequency detail differs even when their envelopes and spectra look alike.

The threshold and its margin are measured on planted copies (tests/benchmarks/bench_duplicates.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 8000
FRAME = 256  # 32 ms
HOP = 64  # 8 ms: a trimmed copy aligns within 4 ms of its cut
BANDS = 24
MAX_SECONDS = 60.0  # enough to recognise a recording; a long file's copy shares its first minute
MIN_OVERLAP = 0.6  # the aligned part must cover this much of the shorter file
CANDIDATE_LAGS = 8
MIN_FRAMES = 16  # ~0.13 s: shorter sounds compare as a whole, without sliding
FLOOR_DB = 100.0  # dynamic range stored below each file's loudest band (digital silence aside)
COMPARE_DB = 60.0  # dynamic range compared, below the loudest band of the aligned part


@dataclass
class Fingerprint:
    bands: np.ndarray  # frames × BANDS, log energy (dB), float32
    level: float  # mean dB over the audible frames (gain differences show here)

    @property
    def frames(self) -> int:
        return len(self.bands)

    @property
    def profile(self) -> np.ndarray:
        """Mean spectrum, mean removed and normalised: a cheap first test between two files."""
        v = self.bands.mean(axis=0) if self.frames else np.zeros(BANDS, np.float32)
        v = v - v.mean()
        n = float(np.linalg.norm(v))
        return (v / n if n > 0 else v).astype(np.float32)


def _band_edges() -> np.ndarray:
    # mel-like spacing from 50 Hz to 4 kHz, as FFT bin indices
    mel = np.linspace(2595 * np.log10(1 + 50 / 700), 2595 * np.log10(1 + 4000 / 700), BANDS + 1)
    hz = 700 * (10 ** (mel / 2595) - 1)
    return np.clip(np.round(hz / (RATE / FRAME)).astype(int), 1, FRAME // 2)


_EDGES = _band_edges()


def fingerprint(samples: np.ndarray) -> Fingerprint:
    """The fingerprint of mono float samples at :data:`RATE`."""
    x = np.asarray(samples, np.float32)
    if len(x) < FRAME:
        x = np.pad(x, (0, FRAME - len(x)))
    n = 1 + (len(x) - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(FRAME).astype(np.float32), axis=1)) ** 2
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(spec, axis=1)], axis=1)
    lo, hi = _EDGES[:-1], np.maximum(_EDGES[1:], _EDGES[:-1] + 1)
    energy = (csum[:, hi] - csum[:, lo]) / (hi - lo)
    db = 10 * np.log10(energy + 1e-12)
    db = np.maximum(db, db.max() - FLOOR_DB).astype(np.float32)
    loud = db.max(axis=1) > db.max() - 40
    level = float(db[loud].mean()) if loud.any() else float(db.mean())
    return Fingerprint(db, level)


def fingerprint_file(path, max_seconds: float = MAX_SECONDS) -> Fingerprint:
    """Decode ``path`` (8 kHz mono, its first ``max_seconds``) and fingerprint it; raises AudioError."""
    from soundsearch.audio.decode import load

    x, _sr = load(path, sample_rate=RATE, mono=True, max_seconds=max_seconds)
    return fingerprint(x)


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, float]:
    """(correlation, offset in seconds of b within a) at the best alignment; correlation 0 when the
    files cannot overlap enough."""
    if a.frames < b.frames:
        s, off = similarity(b, a)
        return s, -off
    shorter = b.frames
    need = max(1, min(shorter, int(np.ceil(MIN_OVERLAP * shorter))))
    if shorter < MIN_FRAMES or a.frames < MIN_FRAMES:
        return _corr(a.bands[:shorter], b.bands[:shorter]), 0.0
    # Candidate offsets: the cross-correlation of the two files' fine detail at every lag, all bands
    # at once by FFT (the envelope alone misleads: a slow decay matches itself at many lags), per
    # frame of overlap; then the exact correlation at the best few decides.
    da, db = _detail(a.bands), _detail(b.bands)
    size = 1 << int(np.ceil(np.log2(len(da) + len(db))))
    xc = np.fft.irfft((np.fft.rfft(da, size, axis=0) * np.conj(np.fft.rfft(db, size, axis=0))).sum(axis=1),
                      size)
    lags = np.concatenate([np.arange(0, len(da)), np.arange(-len(db) + 1, 0)])
    overlap = np.minimum(len(da), lags + len(db)) - np.maximum(0, lags)
    scores = np.concatenate([xc[:len(da)], xc[size - len(db) + 1:]]) / np.maximum(overlap, 1)
    ok = overlap >= need
    best, where = 0.0, 0
    for lag in lags[ok][np.argsort(-scores[ok])[:CANDIDATE_LAGS]]:
        lo_a, lo_b = max(0, lag), max(0, -lag)
        m = min(a.frames - lo_a, b.frames - lo_b)
        c = _corr(a.bands[lo_a:lo_a + m], b.bands[lo_b:lo_b + m])
        if c > best:
            best, where = c, int(lag)
    return best, where * HOP / RATE


def _detail(x: np.ndarray) -> np.ndarray:
    """Band energies, floored COMPARE_DB below their loudest (relative, so a copy 6 dB quieter or a
    trimmed tail keeps the same shape, and the noise an encoder leaves in silences does not count),
    without their loudness envelope (each frame's mean) and their average spectrum
    (each band's mean): what is left is the recording's own fine detail, which two takes of the
    same kind of sound do not share."""
    x = x.astype(np.float64)
    x = np.maximum(x, x.max() - COMPARE_DB) if len(x) else x
    return x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation of the fine detail of two aligned band-energy blocks (gain-free)."""
    if not len(x) or not len(y):
        return 0.0
    x, y = _detail(x).ravel(), _detail(y).ravel()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else (1.0 if np.allclose(x, y) else 0.0)
