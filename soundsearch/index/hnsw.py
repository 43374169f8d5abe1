"""An hnswlib index keyed by catalog file ids, persisted atomically with its parameters beside it.

Files in ``path_dir``: ``<name>.hnsw`` (hnswlib's own format) and ``<name>.json`` (space, dim, M,
ef_construction, ef, model id, count, deleted ids, and the size + SHA-256 of the whole index file).
A missing, corrupt or stale (other model) pair is reported and rebuilt from the vectors the catalog
stores — see :meth:`VectorIndex.open`. hnswlib trusts the links it reads: one damaged neighbour id
makes a query read outside its arrays and crash the process, so no byte of the file is used before
the whole file has matched its checksum. One re-entrant lock serialises writes, resizes, saves and
queries: hnswlib may crash if a query runs during ``resize_index``, and a query waits at most for
one batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Collection
from pathlib import Path

import hnswlib
import numpy as np

from soundsearch.atomic import atomic_path, atomic_write_text
from soundsearch.index.exact import exact_knn, normalize

log = logging.getLogger(__name__)

FORMAT = 1
DIGEST = "sha256"  # of the whole file; older files hashed samples of it, which let damage through
# Chosen from tests/benchmarks/bench_index.py (dim 256, queries off the items' manifold like text
# queries are): M=16, ef_construction=100 builds 100k items in 31 CPU-s and 1M in ~630 CPU-s.
# Recall@10 at a fixed ef falls as the index grows (ef=64: 0.998 at 100k, 0.931 at 1M; ef=200:
# 0.990 at 1M), so the query ef grows with the size: ef_for(n). A query costs < 1 ms either way.
DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 100
DEFAULT_EF = None  # None: ef_for(len(index))
# A filtered walk already visits ~ef/selectivity nodes, so a narrow filter needs less ef than an
# unfiltered one: the ef is scaled by the share of items the filter keeps, down to FILTERED_EF.
# 1M items (384-d), 1% kept: ef=64 → recall@10 0.982 in 38 ms, 100 → 0.992 in 60 ms, 128 → 0.998
# in 60 ms (p99 88), 200 → 0.995 in 84 ms.
FILTERED_EF = 100


def ef_for(n: int) -> int:
    """Query ef for an index of ``n`` items: 64 up to ~100k, 200 at 1M (measured ≥ 0.98 recall@10)."""
    return int(min(512, max(64, 200 * math.sqrt(n / 1_000_000))))

# Filtered search (bench_index.py, dim 256): hnswlib's own filtered walk keeps recall@10 ≥ 0.98 at
# every selectivity but visits ~ef/selectivity nodes (100k items: 13 ms at 1%, 94 ms at 0.1%; 1M:
# 0.8–1.2 s at 0.1%); scanning the allowed vectors exactly costs ~30–60 µs each (hnswlib's get_items
# copy: 2 ms for 95, 27 ms for 976, 29–64 ms for 1,021 of 1M, 0.6 s for 9,978). Break-even:
# allowed ≈ sqrt(EXACT_FILTER_COST * ef * n), i.e. ~560 at 100k and ~1,800 at 1M.
EXACT_FILTER_COST = 0.05
EXACT_FILTER_MIN = 256

Filter = Callable[[int], bool] | Collection[int] | np.ndarray | None


class VectorIndex:
    def __init__(self, path_dir: Path | str, dim: int, space: str = "cosine", M: int = DEFAULT_M,
                 ef_construction: int = DEFAULT_EF_CONSTRUCTION, ef: int | None = DEFAULT_EF,
                 model_id: str = "", name: str = "items", num_threads: int = -1):
        self.dir = Path(path_dir)
        self.name = name
        self.dim, self.space, self.M = int(dim), space, int(M)
        self.ef_construction, self.ef = int(ef_construction), ef
        self.model_id = model_id
        self.num_threads = num_threads if num_threads > 0 else max(1, os.cpu_count() or 1)
        self.problem: str | None = None  # why the last load failed, for the user
        self._lock = threading.RLock()
        self._reset(1024)

    # ---- files -------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.dir / f"{self.name}.hnsw"

    @property
    def meta_path(self) -> Path:
        return self.dir / f"{self.name}.json"

    @classmethod
    def open(cls, path_dir: Path | str, dim: int, model_id: str, name: str = "items",
             source: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None, save: bool = True,
             **params) -> VectorIndex:
        """Load the saved index; if it is missing, corrupt or from another model, rebuild it from
        ``source()`` (ids, vectors) and, when ``save``, save it (a reader that does not hold the
        writer lock keeps its rebuilt copy in memory). ``index.problem`` then says what happened."""
        index = cls(path_dir, dim, model_id=model_id, name=name, **params)
        if index.load() or source is None:
            return index
        problem = index.problem
        ids, vecs = source()
        index.rebuild(ids, vecs)
        if save:
            index.save()
        index.problem = problem
        if problem != "missing":  # a new model is routine; a damaged file is worth a warning
            routine = problem.startswith(("built for another", "saved by an older"))
            level = logging.INFO if routine else logging.WARNING
            log.log(level, "%s index: %s; rebuilt from %d stored vectors", name, problem, len(ids))
        return index

    def load(self) -> bool:
        """Replace the in-memory index with the saved one. False (and ``self.problem`` set) when the
        files are missing, damaged, or were built for another model/dimension."""
        with self._lock:
            self.problem = self._load()
            return self.problem is None

    def _load(self) -> str | None:
        if not self.meta_path.exists() and not self.index_path.exists():
            return "missing"
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
            expected = (meta["format"], meta["space"], meta["dim"], meta["model_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"index description {self.meta_path.name} unreadable ({exc})"
        if expected != (FORMAT, self.space, self.dim, self.model_id):
            return f"built for another model or format ({meta.get('model_id')!r}, dim {meta.get('dim')})"
        if meta.get("digest_kind") != DIGEST:
            return "saved by an older soundsearch (its checksum did not cover the whole file)"
        try:
            if _digest(self.index_path) != (meta["file_size"], meta["digest"]):
                return f"index file {self.index_path.name} damaged or incomplete"
            index = hnswlib.Index(space=self.space, dim=self.dim)
            index.load_index(str(self.index_path))
            if index.element_count != meta["count"]:
                return f"index file holds {index.element_count} items, expected {meta['count']}"
            labels = np.sort(np.asarray(index.get_ids_list(), dtype=np.int64))
            deleted = {int(i) for i in meta.get("deleted", [])}
            M, ef_construction = int(meta["M"]), int(meta["ef_construction"])
        except Exception as exc:  # noqa: BLE001 — whatever a damaged description raises means "rebuild"
            return f"index file {self.index_path.name} unreadable ({type(exc).__name__}: {exc})"
        if len(labels) != index.element_count or (len(labels) and labels[0] < 0):
            return f"index file {self.index_path.name} holds invalid ids"
        self._index, self._labels, self._deleted = index, labels, deleted
        self.M, self.ef_construction = M, ef_construction
        index.set_num_threads(self.num_threads)
        return None

    def save(self) -> None:
        """Index file first, then its description (both atomic): a crash between the two leaves a
        digest mismatch, which the next load detects and repairs by rebuilding."""
        with self._lock:
            with atomic_path(self.index_path) as tmp:
                self._index.save_index(str(tmp))
                size, digest = _digest(tmp)
            meta = {"format": FORMAT, "space": self.space, "dim": self.dim, "M": self.M,
                    "ef_construction": self.ef_construction, "ef": self.ef or "auto",
                    "ef_now": self.query_ef(10), "model_id": self.model_id,
                    "count": int(self._index.element_count), "live": len(self),
                    "deleted": sorted(self._deleted), "file_size": size, "digest": digest,
                    "digest_kind": DIGEST}
            atomic_write_text(self.meta_path, json.dumps(meta, indent=1))

    # ---- contents ----------------------------------------------------------------------------
    def _reset(self, capacity: int) -> None:
        self._index = hnswlib.Index(space=self.space, dim=self.dim)
        self._index.init_index(max_elements=max(16, capacity), M=self.M,
                               ef_construction=self.ef_construction, random_seed=100)
        self._index.set_num_threads(self.num_threads)
        self._labels = np.zeros(0, np.int64)  # sorted; includes deleted labels (hnswlib keeps them)
        self._deleted: set[int] = set()

    def __len__(self) -> int:
        return len(self._labels) - len(self._deleted)

    @property
    def capacity(self) -> int:
        return int(self._index.get_max_elements())

    @property
    def deleted_count(self) -> int:
        return len(self._deleted)

    def __contains__(self, file_id: int) -> bool:
        return int(file_id) not in self._deleted and self._known(np.array([file_id]))[0]

    def _known(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._labels, ids)
        pos = np.minimum(pos, max(0, len(self._labels) - 1))
        return (self._labels[pos] == ids) if len(self._labels) else np.zeros(len(ids), bool)

    def ids(self) -> np.ndarray:
        """Live ids, sorted."""
        if not self._deleted:
            return self._labels.copy()
        return np.setdiff1d(self._labels, np.fromiter(self._deleted, np.int64), assume_unique=True)

    def get(self, ids) -> np.ndarray:
        """Stored (normalised, for cosine) vectors of live ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            return np.asarray(self._index.get_items(ids), dtype=np.float32)

    def add(self, ids, vecs: np.ndarray) -> None:
        """Insert or replace vectors; a previously deleted id comes back to life. Grows as needed."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        if not len(ids):
            return
        ids, first = np.unique(ids, return_index=True)  # last write wins would be ambiguous; keep one
        vecs = vecs[first]
        with self._lock:
            new = ids[~self._known(ids)]
            needed = int(self._index.element_count) + len(new)
            if needed > self.capacity:
                self._index.resize_index(max(needed, int(self.capacity * 1.5)))
            self._index.add_items(vecs, ids, num_threads=self.num_threads)
            self._labels = np.union1d(self._labels, new)
            self._deleted.difference_update(ids.tolist())

    def mark_deleted(self, ids) -> int:
        """Hide ``ids`` from queries (hnswlib keeps the slot until a compaction). Returns how many."""
        n = 0
        with self._lock:
            for i in np.asarray(ids, dtype=np.int64).ravel().tolist():
                if i in self:
                    self._index.mark_deleted(i)
                    self._deleted.add(i)
                    n += 1
        return n

    def rebuild(self, ids, vecs: np.ndarray) -> None:
        """Start afresh from (ids, vectors): model change, repair, or compaction."""
        ids = np.asarray(ids, dtype=np.int64)
        with self._lock:
            self._reset(max(1024, int(len(ids) * 1.25)))
            for start in range(0, len(ids), 50_000):
                self.add(ids[start:start + 50_000], vecs[start:start + 50_000])

    def maybe_compact(self, fraction: float = 0.25) -> bool:
        """Rebuild without deleted slots once they are ``fraction`` of the index (a churning library)."""
        with self._lock:
            if len(self._deleted) < max(256, fraction * len(self._labels)):
                return False
            ids = self.ids()
            self.rebuild(ids, self.get(ids))
            return True

    # ---- queries -----------------------------------------------------------------------------
    def knn(self, queries: np.ndarray, k: int, filter: Filter = None,
            ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest ``k`` ids and cosine similarities per query row, best first.

        ``filter`` is a predicate on ids or a collection of allowed ids; a small collection is
        answered exactly. Rows may be shorter than ``k`` if fewer items qualify.
        """
        q = normalize(queries)
        with self._lock:
            if filter is not None and not callable(filter):
                allowed = np.asarray(list(filter) if isinstance(filter, Collection) and not isinstance(
                    filter, np.ndarray) else filter, dtype=np.int64)
                if len(allowed) > 1 and (np.diff(allowed) <= 0).any():
                    allowed = np.unique(allowed)
                allowed = allowed[self._known(allowed)]
                if self._deleted:
                    allowed = allowed[~np.isin(allowed, np.fromiter(self._deleted, np.int64))]
                selectivity = len(allowed) / max(1, len(self))
                walk_ef = self.query_ef(k, ef, selectivity)
                if len(allowed) <= max(EXACT_FILTER_MIN, (EXACT_FILTER_COST * walk_ef * len(self)) ** 0.5):
                    return exact_knn(allowed, self.get(allowed), q, k, normalized=True)
                # A byte per id as the predicate: building a Python set of 500k ids took 277 ms.
                mask = np.zeros(int(self._labels[-1]) + 1, np.uint8)
                mask[allowed] = 1
                return self._query(q, min(k, len(self)), bytearray(mask.tobytes()).__getitem__, walk_ef)
            # a predicate's selectivity is unknown: search as thoroughly as without a filter
            return self._query(q, min(k, len(self)), filter, self.query_ef(k, ef))

    def query_ef(self, k: int, ef: int | None = None, selectivity: float = 1.0) -> int:
        """The ef a query of ``k`` uses: the one asked for, the configured one, or by default
        ef_for(size) scaled by the share of items a filter keeps (at least FILTERED_EF, and never
        more than without a filter)."""
        full = ef_for(len(self))
        return max(k, ef or self.ef or max(min(FILTERED_EF, full), int(full * selectivity)))

    def _query(self, q: np.ndarray, k: int, filter, ef: int) -> tuple[np.ndarray, np.ndarray]:
        self._index.set_ef(max(k, ef))
        # A Python predicate holds the GIL on every call; extra threads would only contend for it.
        threads = 1 if filter is not None or len(q) == 1 else self.num_threads
        while k > 0:
            try:
                labels, dist = self._index.knn_query(q, k=k, num_threads=threads, filter=filter)
                return labels.astype(np.int64), (1.0 - dist).astype(np.float32)
            except RuntimeError:
                # Fewer than k items pass the filter (or the graph around deletions is sparse).
                k //= 2
        return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)


def _digest(path: Path) -> tuple[int, str]:
    """File size + SHA-256 of every byte. A sampled hash (the first 64 KiB and 34 blocks) let
    damage in the unchecked middle through to hnswlib, which then crashed the process on every
    search. SHA-256 runs at ~1.5 GB/s with the CPU's SHA extensions (1.2 s for a 1M-sound index
    at 384-d), and hnswlib reads the whole file right after, from the page cache."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()
