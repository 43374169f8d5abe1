"""A small in-memory BM25 (Okapi) over the metadata text of every file, with an inverted index.

Exact words still matter to sound designers: a typed file name or UCS CatID should come first, and
rare words ("theremin") are better matched lexically than by an embedding. The index is built from
the catalog when a search engine starts (about a second per 100k files) and answers a query in
time proportional to the postings of its words. Written here rather than depending on rank-bm25 /
bm25s: 100 lines, numpy only, and the tokenizer must match the filters' word matching.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "it",
                       "of", "on", "or", "the", "to", "with"])


def stem(word: str) -> str:
    """Plural / verb-ending folding, enough for "doors"/"door", "slamming"/"slam" (not a full stemmer)."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("es", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + keep
            if keep == "" and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # slamming → slamm → slam
            break
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed word tokens; camelCase and snake_case are split."""
    text = _CAMEL.sub(" ", text).lower()
    return [stem(w) for w in _WORD.findall(text) if w not in STOPWORDS]


def name_terms(name: str) -> list[str]:
    """Whole-name tokens (a file stem such as "door_wood_slam_03", a CatID such as "DOORWood"), so
    that typing the exact name matches one rare term instead of several common words."""
    compact = re.sub(r"[^a-z0-9]+", "", name.lower())
    return [f"={compact}"] if compact else []


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
