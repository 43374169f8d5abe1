"""Encoder-output caches, so that training heads over frozen encoders never re-runs them.

Audio: each file's frame sequence (float16) keyed by path, size, mtime and crop length, in one
safetensors file per encoder configuration (``frames`` [sum T, D], ``offsets`` [N + 1]) plus a JSON
key list. Text: pooled vectors keyed by the exact string. Both live under
``paths.cache_dir()/features/`` and grow incrementally: a new dataset or held-out split only
encodes what is missing. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from safetensors.torch import load_file, save_file

from soundsearch import paths
from soundsearch.atomic import atomic_path, atomic_write_text

log = logging.getLogger(__name__)


def spec_hash(name: str, config: dict) -> str:
    return hashlib.sha256(json.dumps([name, config], sort_keys=True).encode()).hexdigest()[:12]


def load_audio(path: Path, sample_rate: int, max_seconds: float | None = 30.0) -> np.ndarray:
    """Mono float32 at ``sample_rate``; a longer file is cut to its most energetic ``max_seconds``
    (the indexer's long-file policy, so training sees what the index embeds)."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wave = data.mean(axis=1)
    if max_seconds and len(wave) > max_seconds * sr:
        wave = most_energetic(wave, int(max_seconds * sr), sr)
    if sr != sample_rate:
        wave = soxr.resample(wave, sr, sample_rate).astype(np.float32)
    return np.ascontiguousarray(wave, dtype=np.float32)


def most_energetic(wave: np.ndarray, length: int, hop: int) -> np.ndarray:
    energy = np.add.reduceat(wave.astype(np.float64) ** 2, np.arange(0, len(wave), hop))
    per = max(1, length // hop)
    window = np.convolve(energy, np.ones(per), mode="valid")
    start = int(np.argmax(window)) * hop
    return wave[start:start + length]


class _Store:
    """One cache file: keys (JSON) + ragged float rows (safetensors)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.keys: list[str] = []
        self.rows: list[np.ndarray] = []
        keys_path, data_path = folder / "keys.json", folder / "data.safetensors"
        if keys_path.is_file() and data_path.is_file():
            try:
                keys = json.loads(keys_path.read_text(encoding="utf-8"))
                t = load_file(str(data_path))
                data, offsets = t["data"].numpy(), t["offsets"].numpy()
                if len(offsets) == len(keys) + 1:
                    self.keys = keys
                    self.rows = [data[offsets[i]:offsets[i + 1]] for i in range(len(keys))]
            except Exception as exc:  # a damaged cache is only a cost, never an error
                log.warning("feature cache %s unreadable (%s); rebuilding", folder, exc)
        self.index = {k: i for i, k in enumerate(self.keys)}

    def get(self, key: str) -> np.ndarray | None:
        i = self.index.get(key)
        return None if i is None else self.rows[i]

    def put(self, key: str, row: np.ndarray) -> None:
        if key in self.index:
            self.rows[self.index[key]] = row
        else:
            self.index[key] = len(self.keys)
            self.keys.append(key)
            self.rows.append(row)

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        width = next((r.shape[1] for r in self.rows if r.ndim == 2), 0)
        data = np.concatenate(self.rows) if self.rows else np.zeros((0, width), np.float16)
        offsets = np.concatenate([[0], np.cumsum([len(r) for r in self.rows])]).astype(np.int64)
        with atomic_path(self.folder / "data.safetensors") as tmp:
            save_file({"data": torch.from_numpy(np.ascontiguousarray(data)),
                       "offsets": torch.from_numpy(offsets)}, str(tmp))
        atomic_write_text(self.folder / "keys.json", json.dumps(self.keys))


def _file_key(path: Path, max_seconds: float | None) -> str | None:
    """The cache key of a file's current content, or None when the file is gone or unreadable."""
    try:
        st = path.stat()
    except OSError as exc:  # deleted or moved since the dataset was listed: skip it, go on
        log.warning("skipping %s: %s", path, exc.strerror or exc)
        return None
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{max_seconds}"


def audio_sequences(model, files: list[Path], max_seconds: float | None = 30.0,
                    progress: Callable[[int, int], None] | None = None, save_every: int = 256,
                    cache_root: Path | None = None, only_cached: bool = False) -> list[np.ndarray | None]:
    """Frame sequences ``[T, D]`` (float16) of ``files`` under ``model``'s audio encoder (a
    :class:`RetrievalModel`), from the cache where present. Unreadable files give an empty array;
    with ``only_cached`` files not in the cache give None instead of being encoded."""
    spec = model.config.audio
    root = cache_root or paths.cache_dir() / "features"
    store = _Store(root / f"audio-{spec.name}-{spec_hash(spec.name, spec.config)}")
    keys = [_file_key(Path(f), max_seconds) for f in files]
    empty = np.zeros((0, int(model.audio_encoder.dim)), np.float16)
    missing = [i for i, k in enumerate(keys) if k is not None and store.get(k) is None]
    if only_cached:
        return [store.get(k) if k is not None else None for k in keys]
    log.info("audio cache: %d of %d files to encode", len(missing), len(files))
    started, done_seconds = time.monotonic(), 0.0
    for n, start in enumerate(range(0, len(missing), 16)):
        chunk = missing[start:start + 16]
        waves = []
        for i in chunk:
            try:
                waves.append(load_audio(Path(files[i]), model.sample_rate, max_seconds))
            except Exception as exc:  # one bad file must not stop a dataset
                log.warning("skipping %s: %s", files[i], exc)
                waves.append(None)
        ok = [j for j, w in enumerate(waves) if w is not None and len(w)]
        done_seconds += sum(len(waves[j]) for j in ok) / model.sample_rate
        outs = model.audio_sequences([waves[j] for j in ok]) if ok else []
        for j, (seq, mask) in zip(ok, outs):
            store.put(keys[chunk[j]], seq[mask].astype(np.float16))
        for j in set(range(len(chunk))) - set(ok):
            store.put(keys[chunk[j]], empty)
        if progress:
            progress(min(start + 16, len(missing)), len(missing))
        if (n + 1) % max(1, save_every // 16) == 0:
            store.save()
            elapsed = time.monotonic() - started
            log.info("encoded %.0f s of audio in %.0f s (%.1fx real time)", done_seconds, elapsed,
                     done_seconds / max(elapsed, 1e-6))
    if missing:
        store.save()
    return [store.get(k) if k is not None else empty for k in keys]


def text_vectors(model, texts: list[str], cache_root: Path | None = None) -> np.ndarray:
    """Pooled text-encoder vectors ``[N, Dt]`` float32 for ``texts`` (cached by exact string)."""
    spec = model.config.text
    root = cache_root or paths.cache_dir() / "features"
    store = _Store(root / f"text-{spec.name}-{spec_hash(spec.name, spec.config)}")
    missing = sorted({t for t in texts if store.get(t) is None})
    for start in range(0, len(missing), 256):
        chunk = missing[start:start + 256]
        vecs = model._text(chunk).float().cpu().numpy()
        for t, v in zip(chunk, vecs):
            store.put(t, v[None, :].astype(np.float32))
    if missing:
        store.save()
    dim = int(model.text_encoder.dim)
    return np.stack([store.get(t)[0] for t in texts]) if texts else np.zeros((0, dim), np.float32)
