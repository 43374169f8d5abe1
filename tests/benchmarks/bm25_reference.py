"""The in-memory BM25 the search engine used before the catalog's FTS5 index (issue 15), kept as the
reference the benchmarks compare FTS5's ranking with (bench_index.py --parts start, bench_quality.py).

Okapi BM25 (k1 1.2, b 0.75) with Lucene's idf, log(1 + (N − df + 0.5) / (df + 0.5)); FTS5's bm25()
uses log((N − df + 0.5) / (df + 0.5)), floored at 1e-6 for a word in more than half the files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.ids = np.zeros(0, np.int64)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doc_len = np.zeros(0, np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def build(self, docs: Iterable[tuple[int, list[str]]]) -> BM25:
        """``docs``: (file id, terms) pairs; terms from :func:`tokenize` and :func:`name_terms`."""
        ids, lengths = [], []
        post: dict[str, dict[int, int]] = defaultdict(dict)
        for row, (file_id, terms) in enumerate(docs):
            ids.append(file_id)
            lengths.append(len(terms))
            for t in terms:
                post[t][row] = post[t].get(row, 0) + 1
        self.ids = np.asarray(ids, dtype=np.int64)
        self._doc_len = np.asarray(lengths, dtype=np.float32)
        self._postings = {
            t: (np.fromiter(d.keys(), np.int32, len(d)), np.fromiter(d.values(), np.float32, len(d)))
            for t, d in post.items()}
        return self

    def idf(self, term: str) -> float:
        df = len(self._postings.get(term, ((),))[0])
        n = len(self.ids)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def ideal(self, terms: list[str]) -> float:
        """The score of an average-length document holding each query term once (a word the
        library never uses counts too): "all the words I typed are there" scores about 1."""
        return sum(self.idf(t) for t in dict.fromkeys(terms))

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document (aligned with ``self.ids``)."""
        out = np.zeros(len(self.ids), np.float32)
        if not len(self.ids):
            return out
        avg = float(self._doc_len.mean()) or 1.0
        for term in dict.fromkeys(terms):  # each distinct term once
            if term not in self._postings:
                continue
            rows, tf = self._postings[term]
            norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[rows] / avg)
            out[rows] += self.idf(term) * tf * (self.k1 + 1.0) / (tf + norm)
        return out

    def top(self, terms: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``n`` (file ids, scores) with a positive score, best first."""
        s = self.scores(terms)
        hit = np.flatnonzero(s > 0)
        if len(hit) > n:
            hit = hit[np.argpartition(-s[hit], n - 1)[:n]]
        hit = hit[np.argsort(-s[hit], kind="stable")]
        return self.ids[hit], s[hit]

    def rows_with(self, term: str) -> np.ndarray:
        """File ids whose text contains ``term`` (already tokenized): the required/excluded-word filter."""
        rows = self._postings.get(term)
        return self.ids[rows[0]] if rows is not None else np.zeros(0, np.int64)
