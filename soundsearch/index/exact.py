"""Exact (brute-force) cosine k-NN in numpy: the oracle the HNSW index is
checked against.

Also the fallback for small candidate sets (a narrow filter), where scanning a few thousand vectors
is both faster and exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize(vecs: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation in float32; all-zero rows stay zero."""
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs[None, :]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


class ExactIndex:
    """All vectors in one float32 matrix, normalised once; ``knn`` is a matrix product + partial sort."""

    def __init__(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vecs = normalize(vecs) if len(self.ids) else np.zeros((0, np.shape(vecs)[-1]), np.float32)
        if len(self.ids) != len(self.vecs):
            raise ValueError(f"{len(self.ids)} ids for {len(self.vecs)} vectors")

    def __len__(self) -> int:
        return len(self.ids)

    def knn(self, queries: np.ndarray, k: int,
            mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ids and cosine similarities per query, best first.

        ``mask`` (bool per stored vector) restricts the search. Rows hold fewer than ``k`` entries
        only when fewer vectors exist; the shape is then [Q, available].
        """
        return exact_knn(self.ids, self.vecs, queries, k, mask=mask, normalized=True)


def exact_knn(ids: np.ndarray, vecs: np.ndarray, queries: np.ndarray, k: int,
              mask: np.ndarray | None = None, normalized: bool = False,
              block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force cosine top-k. Scans in blocks so a 1M × 512 matrix needs no 1M × Q temporary."""
    q = normalize(queries)
    ids = np.asarray(ids, dtype=np.int64)
    if mask is not None:
        ids, vecs = ids[mask], vecs[mask]
    if not normalized:
        vecs = normalize(vecs)
    n = len(ids)
    k = min(k, n)
    if k <= 0:
        return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for start in range(0, n, block):
        sims = q @ vecs[start:start + block].T
        kk = min(k, sims.shape[1])
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        cand_s = np.take_along_axis(sims, part, axis=1)
        best_s = np.concatenate([best_s, cand_s], axis=1)
        best_i = np.concatenate([best_i, part + start], axis=1)
        if best_s.shape[1] > k:
            keep = np.argpartition(-best_s, k - 1, axis=1)[:, :k]
            best_s = np.take_along_axis(best_s, keep, axis=1)
            best_i = np.take_along_axis(best_i, keep, axis=1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    best_s = np.take_along_axis(best_s, order, axis=1)
    best_i = np.take_along_axis(best_i, order, axis=1)
    return ids[best_i], best_s.astype(np.float32)


def recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the exact top-k found in the approximate top-k."""
    hits = total = 0
    for a, e in zip(approx_ids, exact_ids, strict=True):
        truth = set(np.asarray(e[:k]).tolist())
        hits += len(truth & set(np.asarray(a[:k]).tolist()))
        total += len(truth)
    return hits / total if total else 1.0
