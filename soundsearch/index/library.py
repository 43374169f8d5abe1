"""The three vector indexes of one library and model, kept consistent with the catalog's stored vectors.

- ``items``: fused vectors, ``model.fuse(audio, meta, fusion_weight)`` — the default (hybrid) search;
- ``sounds``: normalised audio vectors — audio-only search and "similar" (query by example);
- ``meta``: normalised metadata vectors of the files that have metadata text — metadata-only search.

The catalog holds the raw vectors (the source of truth); these files are derived data. The items
index records the fusion weight in its model id, so a new weight re-fuses from stored vectors without
decoding anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsearch.index.exact import normalize
from soundsearch.index.hnsw import VectorIndex
from soundsearch.library.lock import WriterLock, lock_path

log = logging.getLogger(__name__)

NAMES = ("items", "sounds", "meta")


@dataclass
class StoredVectors:
    """What ``catalog.load_embeddings(model_id)`` returns, with the derived vectors computed once."""

    ids: np.ndarray
    audio: np.ndarray
    meta: np.ndarray
    has_meta: np.ndarray

    @property
    def has_audio(self) -> np.ndarray:
        return np.abs(self.audio).sum(axis=1) > 0 if len(self.ids) else np.zeros(0, bool)


def fused(model, audio: np.ndarray, meta: np.ndarray, has_meta: np.ndarray, weight: float) -> np.ndarray:
    """Fused item vectors; rows without metadata use a zero metadata vector (= the audio alone)."""
    meta = np.where(has_meta[:, None], meta, 0.0).astype(np.float32)
    return np.asarray(model.fuse(audio, meta, weight), dtype=np.float32)


def split_rows(model, vecs: StoredVectors, weight: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) for each index from stored raw vectors; rows a given index cannot use are dropped."""
    ha, hm = vecs.has_audio, vecs.has_meta.astype(bool)
    any_ = ha | hm
    empty = np.zeros((0, model.dim), np.float32)
    return {
        "items": (vecs.ids[any_], fused(model, vecs.audio[any_], vecs.meta[any_], hm[any_], weight)),
        "sounds": (vecs.ids[ha], normalize(vecs.audio[ha]) if ha.any() else empty),
        "meta": (vecs.ids[hm], normalize(vecs.meta[hm]) if hm.any() else empty),
    }


class LibraryIndex:
    """The three indexes, each loaded on first use: a search process that never runs a
    metadata-only query does not hold that index in memory (~1.7 KB per file at 384-d)."""

    def __init__(self, folder: Path, model, fusion_weight: float = 1.0, catalog=None,
                 stored: StoredVectors | None = None, writer: bool = True):
        self.folder = Path(folder)
        # A writer (the index job) holds the library's writer lock; a reader (search) saves an index
        # it had to rebuild only when no writer is at work, so it never replaces a writer's newer file.
        self.writer = writer
        self.model = model
        self.fusion_weight = float(fusion_weight)
        self.problems: dict[str, str] = {}  # index name → what was wrong before it was rebuilt
        self.indexes: dict[str, VectorIndex] = {}
        self._catalog, self._stored = catalog, stored

    def model_id_for(self, name: str) -> str:
        if name == "items":  # fused vectors depend on the weight as well as the model
            return f"{self.model.model_id}|fusion={self.model.fusion}:{self.fusion_weight:g}"
        return self.model.model_id

    @classmethod
    def open(cls, folder: Path, catalog, model, fusion_weight: float = 1.0,
             stored: StoredVectors | None = None, eager: tuple[str, ...] = NAMES,
             writer: bool = True) -> LibraryIndex:
        """Load the ``eager`` indexes now, the others on first use; any that is missing, damaged or
        stale is rebuilt from the catalog's stored vectors (``stored`` if the caller has them)."""
        lib = cls(folder, model, fusion_weight, catalog, stored, writer)
        if writer:  # the writer lock is held: a temp file here is left by a save that was killed
            for stale in Path(folder).glob(".*.tmp"):
                stale.unlink(missing_ok=True)
        for name in eager:
            lib[name]
        return lib

    def __getitem__(self, name: str) -> VectorIndex:
        if name not in self.indexes:
            if name not in NAMES:
                raise KeyError(name)

            def source():
                vecs = self._stored if self._stored is not None else load_stored(self._catalog,
                                                                                 self.model.model_id)
                return split_rows(self.model, vecs, self.fusion_weight)[name]

            index = VectorIndex.open(self.folder, self.model.dim, self.model_id_for(name), name=name,
                                     source=source, save=self.writer)
            if index.problem and not self.writer and len(index):
                self._save_as_reader(index)
            if index.problem and index.problem != "missing":
                self.problems[name] = index.problem
            self.indexes[name] = index
        return self.indexes[name]

    def _save_as_reader(self, index: VectorIndex) -> None:
        lock = WriterLock(lock_path(self._catalog.path), "search") if getattr(
            self._catalog, "path", ":memory:") != ":memory:" else None
        if lock is None or not lock.try_acquire():
            return  # a writer is at work: it saves its own, newer index
        try:
            index.save()
        except OSError as exc:
            log.warning("could not save the rebuilt %s index: %s", index.name, exc)
        finally:
            lock.release()

    @property
    def items(self) -> VectorIndex:
        return self["items"]

    @property
    def sounds(self) -> VectorIndex:
        return self["sounds"]

    @property
    def meta(self) -> VectorIndex:
        return self["meta"]

    def add(self, vecs: StoredVectors) -> None:
        """Insert or replace rows in every index they belong to; a row that lost its metadata (or
        its audio) leaves that index."""
        rows = split_rows(self.model, vecs, self.fusion_weight)
        for name, (ids, v) in rows.items():
            self[name].add(ids, v)
            gone = np.setdiff1d(vecs.ids, ids)
            if len(gone):
                self[name].mark_deleted(gone)

    def mark_deleted(self, ids) -> int:
        return max(self[name].mark_deleted(ids) for name in NAMES)

    def reconcile(self, stored: StoredVectors) -> tuple[int, set[int]]:
        """Make the indexes hold exactly the stored vectors' ids (after a kill -9 between a catalog
        commit and an index save, or files deleted by a scan). Returns (vectors added, ids removed)."""
        added, removed = 0, set()
        wanted = split_rows(self.model, stored, self.fusion_weight)
        for name, (ids, v) in wanted.items():
            index = self[name]
            have = index.ids()
            missing = ~np.isin(ids, have)
            if missing.any():
                index.add(ids[missing], v[missing])
                added += int(missing.sum())
            extra = np.setdiff1d(have, ids)
            if len(extra):
                index.mark_deleted(extra)
                removed.update(extra.tolist())
        return added, removed

    def save(self) -> None:
        for index in self.indexes.values():
            index.maybe_compact()
            index.save()

    def __len__(self) -> int:
        return len(self.items)


def load_stored(catalog, model_id: str) -> StoredVectors:
    ids, audio, meta, has_meta = catalog.load_embeddings(model_id)
    return StoredVectors(np.asarray(ids, np.int64), np.asarray(audio, np.float32),
                         np.asarray(meta, np.float32), np.asarray(has_meta, bool))
