"""Audio files → the waves the model sees → audio vectors, decoding while the model works.

Two stages on worker threads: one thread decodes (and resamples) the next batches; ``workers``
threads run the audio encoder, each on its own batch. Results come back in input order to the
caller's thread, which owns the catalog (SQLite connections are per thread).

Why several single-threaded encoder workers rather than one torch using every core: the work per
CPU-second is the same either way (bench_indexing.py, 500 dev-library files, 2 cores: 17.4 vs 17.3
audio-seconds per CPU-second), but when the cores are shared with other programs torch's OpenMP
threads wait for each other whenever one is descheduled, while independent batches do not (at load
7–10 on 2 cores: 5.4–6.3x real time with two workers against 3.8–5.6x with two torch threads).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsearch.audio.decode import load
from soundsearch.audio.errors import AudioError

log = logging.getLogger(__name__)

SILENCE_PEAK = 1e-4  # ≈ -80 dBFS: below this a file is silence (or digital noise floor) only


@dataclass
class Decoded:
    record: object  # FileRecord (or ExampleFile)
    wave: np.ndarray | None
    error: str | None
    predictions: list = field(default_factory=list)  # what the model's taggers heard (Prediction)


@dataclass
class ExampleFile:
    """Enough of a FileRecord to decode a file that is not in the catalog (query by example)."""

    path: Path
    duration: float | None
    status: str = "ok"
    error: str | None = None


def example_record(path: Path) -> ExampleFile:
    from soundsearch.audio.probe import probe

    try:
        info = probe(path)
    except AudioError as exc:
        return ExampleFile(path, None, "metadata_only", exc.reason)
    return ExampleFile(path, info.duration, "ok" if info.decodable else "metadata_only", info.note or None)


def representative_start(path: Path, duration: float, window: float, probes: int = 8) -> float:
    """Start of the ``window``-second part of a long file that is loudest, judged from ``probes``
    one-second excerpts (a few seeks instead of decoding an hour of audio)."""
    span = max(0.0, duration - window)
    best, best_rms = 0.0, -1.0
    for i in range(probes):
        start = span * i / (probes - 1)
        try:
            x, _ = load(path, None, mono=True, start=start + window / 2 - 0.5, max_seconds=1.0)
        except AudioError:
            continue
        rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
        if rms > best_rms:
            best, best_rms = start, rms
    return best


def decode_one(record, sample_rate: int, max_seconds: float) -> Decoded:
    """The audio the model will see, or the reason there is none. Never raises for a bad file."""
    if record.status == "metadata_only":
        return Decoded(record, None, record.error or "audio not decodable")
    try:
        start = 0.0
        if record.duration and max_seconds and record.duration > max_seconds * 1.2:
            start = representative_start(record.path, record.duration, max_seconds)
        wave, _ = load(record.path, sample_rate, mono=True, start=start, max_seconds=max_seconds or None)
    except AudioError as exc:
        return Decoded(record, None, exc.reason)
    except Exception as exc:  # a decoder bug on one odd file must not end the job
        log.warning("decoding %s failed: %r", record.path, exc)
        return Decoded(record, None, f"decoding failed: {exc}")
    if not len(wave):
        return Decoded(record, None, "no audio frames")
    if not np.isfinite(wave).all() or float(np.abs(wave).max()) < SILENCE_PEAK:
        return Decoded(record, None, "silent audio (nothing above -80 dBFS)")
    return Decoded(record, wave, None)


def default_workers(model) -> int:
    """Encoder workers: one per core on the CPU (each single-threaded), one on a GPU."""
    if str(getattr(model, "device", "cpu")).split(":")[0] != "cpu":
        return 1
    return max(1, min(8, os.cpu_count() or 1))


def single_threaded_torch() -> None:
    """One torch thread per caller: several single-threaded workers beat one multi-threaded torch
    on shared cores (see above). Imports torch: call it once a model is loaded."""
    from soundsearch.model.api import set_threads

    set_threads(1)


def embed_batches(model, batches: list[list], max_seconds: float,
                  workers: int = 1) -> Iterator[tuple[list[Decoded], np.ndarray]]:
    """(decoded batch, audio vectors [B, dim] with zero rows where there is no wave), in order."""

    def decode(batch: list) -> list[Decoded]:
        return [decode_one(r, model.sample_rate, max_seconds) for r in batch]

    def embed(decoded: list[Decoded]) -> np.ndarray:
        audio = np.zeros((len(decoded), model.dim), np.float32)
        ok = [n for n, d in enumerate(decoded) if d.wave is not None]
        if ok:
            preds: list[list] = [[] for _ in ok]
            audio[ok] = model.embed_audio([decoded[n].wave for n in ok], predictions=preds)
            for n, p in zip(ok, preds):
                decoded[n].predictions = p
        return audio

    todo = iter(batches)
    decoding: deque = deque()
    embedding: deque = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="decode") as dpool, \
            ThreadPoolExecutor(workers, thread_name_prefix="embed") as epool:

        def refill() -> None:
            # At most workers + 1 decoded batches wait: memory stays bounded on long files.
            while len(decoding) < workers + 1 and (batch := next(todo, None)) is not None:
                decoding.append(dpool.submit(decode, batch))
            while decoding and len(embedding) < workers:
                decoded = decoding.popleft().result()
                embedding.append((decoded, epool.submit(embed, decoded)))

        try:
            refill()
            while embedding:
                decoded, future = embedding.popleft()
                audio = future.result()
                refill()  # keep the workers busy while the caller stores this batch
                yield decoded, audio
        finally:
            for f in decoding:
                f.cancel()
            for _, f in embedding:
                f.cancel()
