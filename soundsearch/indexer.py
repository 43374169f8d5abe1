"""The index job: embed every pending file of the catalog and keep the vector indexes in step.

Steps, each resumable: (1) open the indexes (rebuilt from stored vectors if damaged or built for
another model/fusion weight); (2) reconcile them with the catalog's stored vectors — files deleted by
a scan leave (mark_deleted), vectors committed just before a kill -9 come in; (3) files whose
metadata text changed get a new text vector and are re-fused, no decoding; (4) pending files are
decoded on a worker thread while encoder threads embed earlier batches (model/pipeline.py), and each
batch is committed in one catalog transaction, so an interrupted job loses at most the batches in
flight; (5) files indexed before field vectors existed get them (their text's segments embedded;
nothing decoded, the indexes untouched).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsearch import paths
from soundsearch.index.library import LibraryIndex, StoredVectors, load_stored
from soundsearch.jobs import CancelToken, Job, Progress
from soundsearch.library.lock import hold
from soundsearch.library.metadata.text import text_fields
from soundsearch.model.pipeline import Decoded, default_workers, embed_batches, single_threaded_torch
from soundsearch.settings import Settings

log = logging.getLogger(__name__)

SAVE_EVERY_S = 60.0  # index files are derived data: saving often costs more than a rare repair


@dataclass
class IndexResult:
    embedded: int = 0  # files whose audio (and metadata) were embedded
    metadata_only: int = 0  # files indexed by their metadata text alone (audio unusable)
    errors: int = 0  # files with neither usable audio nor metadata text
    refused: int = 0  # files re-fused after a metadata change (text re-embedded, audio kept)
    deleted: int = 0  # vectors removed because their files left the catalog
    fields_added: int = 0  # files indexed before field vectors existed that got theirs
    audio_seconds: float = 0.0  # seconds of audio decoded and embedded
    seconds: float = 0.0  # wall time of the job
    items: int = 0  # searchable items when the job ended
    problems: dict[str, str] = field(default_factory=dict)  # index name → why it was rebuilt

    @property
    def files(self) -> int:
        return self.embedded + self.metadata_only + self.errors

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds else 0.0


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def index_job(catalog, model, settings: Settings | None = None, cancel: CancelToken | None = None,
              index_dir: Path | None = None, batch_size: int = 16, limit: int | None = None,
              workers: int | None = None) -> Job[IndexResult]:
    """Embed pending files (at most ``limit`` of them this run; the rest stay pending) and bring the
    vector indexes in step with the catalog. ``workers``: audio-encoder threads (default: one per
    CPU core, each with a single-threaded torch; one on a GPU). Yields Progress; returns an
    IndexResult."""
    from soundsearch.library.catalog import EmbeddingRow  # catalog import kept lazy for test doubles

    settings = settings or Settings()
    cancel = cancel or CancelToken()
    # One writer at a time, from loading the index files to saving them: an index job paused while
    # another added files would otherwise save its older copy over theirs.
    lock = yield from hold(getattr(catalog, "path", ":memory:"), "index", cancel.check)
    try:
        return (yield from _index(catalog, model, settings, cancel, index_dir, batch_size, limit, workers,
                                  EmbeddingRow))
    finally:
        if lock is not None:
            lock.release()


def _index(catalog, model, settings: Settings, cancel: CancelToken, index_dir: Path | None, batch_size: int,
           limit: int | None, workers: int | None, EmbeddingRow) -> Job[IndexResult]:
    started = time.monotonic()
    result = IndexResult()
    yield Progress("index", 0, None, "opening index", started=started)
    stored = load_stored(catalog, model.model_id)
    lib = LibraryIndex.open(index_dir or paths.index_dir(), catalog, model, settings.fusion_weight,
                            stored=stored)
    result.problems = dict(lib.problems)
    last_save = time.monotonic()
    try:
        # removed: deleted files, and changed ones (their vectors were dropped; re-embedded below)
        added, removed = lib.reconcile(stored)
        if added:
            log.info("index: %d stored vectors were missing from the index files", added)

        stale = catalog.stale_metadata(model.model_id)
        row_of = {int(i): n for n, i in enumerate(stored.ids)}
        for batch in _batches(stale, 64):
            cancel.check()
            texts = [r.metadata.text for r in batch]
            meta = model.embed_metadata(texts)
            fields = embed_fields(model, texts)
            zero = np.zeros(model.dim, np.float32)
            audio = np.stack([stored.audio[row_of[r.id]] if r.id in row_of else zero for r in batch])
            has_audio = np.abs(audio).sum(axis=1) > 0
            has_meta = np.array([bool(t) for t in texts]) & (np.abs(meta).sum(axis=1) > 0)
            catalog.store_embeddings(model.model_id, [
                EmbeddingRow(r.id, audio[n] if has_audio[n] or has_meta[n] else None,
                             meta[n] if has_meta[n] else None,
                             r.content_hash, texts[n], None if has_audio[n] else "audio not embedded",
                             fields=fields[n])
                for n, r in enumerate(batch)])
            lib.add(StoredVectors(np.array([r.id for r in batch], np.int64), audio, meta, has_meta))
            result.refused += len(batch)
            yield Progress("index", result.refused, len(stale), "re-fusing changed metadata", started=started)

        # a tagger switched on since (YAMNet) also hears the files embedded without it
        sources = [t.source for t in getattr(model, "taggers", [])]
        pending = catalog.pending_embeddings(model.model_id, limit=limit, tag_sources=sources)
        result.deleted = len(removed - {r.id for r in pending} - {r.id for r in stale})
        total = len(pending)
        yield Progress("index", 0, total, f"{total} files to embed", started=started)
        max_s = float(settings.long_file_seconds or 0)
        workers = workers or default_workers(model)
        if workers > 1:
            single_threaded_torch()
        done = 0
        for decoded, audio in embed_batches(model, list(_batches(pending, batch_size)), max_s, workers):
            cancel.check()
            rows, vecs = _rows(model, decoded, audio, EmbeddingRow, result)
            catalog.store_embeddings(model.model_id, rows)  # one transaction per batch
            lib.add(vecs)
            done += len(decoded)
            if time.monotonic() - last_save > SAVE_EVERY_S:
                lib.save()
                last_save = time.monotonic()
            yield Progress("index", done, total, str(decoded[-1].record.path.name),
                           audio_seconds=result.audio_seconds, started=started)
        result.fields_added = yield from _fill_fields(catalog, model, cancel, started)
    finally:
        lib.save()  # also on cancel / close(): what was committed is searchable next time
        result.items = len(lib)
        result.seconds = time.monotonic() - started
    yield Progress("index", result.files, result.files, "done", audio_seconds=result.audio_seconds,
                   started=started)
    return result


def _fill_fields(catalog, model, cancel: CancelToken, started: float) -> Job[int]:
    """Field vectors for rows stored before they existed (a catalog from an older soundsearch): the
    texts' segments embedded, nothing decoded, the indexes untouched. Until then such a file is
    scored by its whole text's vector alone. Last, so new files are searchable first."""
    filled = 0
    total = catalog.count_missing_fields(model.model_id)
    while True:
        cancel.check()
        rows = catalog.missing_fields(model.model_id, 256)
        if not rows:
            return filled
        fields = embed_fields(model, [text or "" for _, text in rows])
        catalog.store_fields(model.model_id, [(fid, f) for (fid, _), f in zip(rows, fields)])
        filled += len(rows)
        yield Progress("index", filled, max(total, filled), "adding field vectors to files indexed "
                       "before them", started=started)


def embed_fields(model, texts: list[str]) -> list[np.ndarray]:
    """One [k, D] array per text: the metadata vectors of its segments (text_fields), [0, D] for a
    text of one segment (its metadata vector is the field). Embedded in one call per batch."""
    per = [text_fields(t or "") for t in texts]
    flat = [f for fs in per for f in fs]
    vecs = model.embed_metadata(flat) if flat else np.zeros((0, model.dim), np.float32)
    out, at = [], 0
    for fs in per:
        out.append(np.asarray(vecs[at:at + len(fs)], np.float32).reshape(len(fs), model.dim))
        at += len(fs)
    return out


def _rows(model, decoded: list[Decoded], audio: np.ndarray, EmbeddingRow, result: IndexResult):
    """Catalog rows and index vectors for one batch. The text is embedded here, on the job's
    thread: a fast tokenizer shared by several threads can fail ("Already borrowed")."""
    result.audio_seconds += sum(len(d.wave) for d in decoded if d.wave is not None) / model.sample_rate
    texts = [d.record.metadata.text or "" for d in decoded]
    meta = model.embed_metadata(texts)
    fields = embed_fields(model, texts)
    has_meta = np.array([bool(t) for t in texts]) & (np.abs(meta).sum(axis=1) > 0)
    rows = []
    for n, d in enumerate(decoded):
        has_audio = d.wave is not None
        if has_audio:
            result.embedded += 1
        elif has_meta[n]:
            result.metadata_only += 1
        else:
            result.errors += 1
        # A metadata-only entry stores a zero audio vector, not None: the catalog's load_embeddings
        # skips rows without an audio vector, and the entry must survive an index rebuild.
        rows.append(EmbeddingRow(d.record.id, audio[n] if has_audio or has_meta[n] else None,
                                 meta[n] if has_meta[n] else None, d.record.content_hash, texts[n], d.error,
                                 d.predictions, fields[n]))
    ids = np.array([d.record.id for d in decoded], np.int64)
    return rows, StoredVectors(ids, audio, meta, has_meta)
