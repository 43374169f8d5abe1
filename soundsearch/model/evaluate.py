"""Retrieval metrics and the paper's results table.

Single positive (ClothoV2 / AudioCaps, as the paper and the DCASE task define them): every caption
is a query with exactly one relevant recording; R@k = share of queries whose recording ranks in the
top k; mAP@10 = mean of 1/rank when rank <= 10, else 0 (average precision with one positive, cut at 10).

Multi-positive (a library, where "footsteps on gravel" matches many files): AP over the full ranking
(MAP), AP cut at 10 (mAP@10, normalised by min(#relevant, 10)) and P@1 / P@10.

Everything here is numpy on score matrices ``[queries, items]`` (higher = better), so the same
functions score the model, a keyword baseline or a random ranking.
"""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"[a-z]+")
_SMALL = frozenset(str.split("a an and are as at be by for from in into is it its of on or the to with"))


def positive_ranks(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """1-based rank of each query's single positive item. Ties count against the positive (an
    item scoring equal to it is ranked above), so a constant scorer earns nothing."""
    scores = np.asarray(scores, dtype=np.float64)
    pos = scores[np.arange(len(scores)), positives]
    return (scores >= pos[:, None]).sum(axis=1)


def single_positive_metrics(scores: np.ndarray, positives: np.ndarray) -> dict[str, float]:
    ranks = positive_ranks(scores, np.asarray(positives))
    return {
        "mAP@10": float(np.where(ranks <= 10, 1.0 / ranks, 0.0).mean()),
        "R@1": float((ranks <= 1).mean()),
        "R@5": float((ranks <= 5).mean()),
        "R@10": float((ranks <= 10).mean()),
    }


def average_precision(relevant_in_rank_order: np.ndarray, n_relevant: int, k: int | None = None) -> float:
    """AP of one ranking given the relevance (bool) of the ranked items; cut at ``k`` if given."""
    rel = np.asarray(relevant_in_rank_order, dtype=bool)
    if k is not None:
        rel = rel[:k]
    if n_relevant <= 0:
        return 0.0
    hits = np.cumsum(rel)
    precision = hits / np.arange(1, len(rel) + 1)
    denom = min(n_relevant, k) if k is not None else n_relevant
    return float((precision * rel).sum() / denom)


def multi_positive_metrics(scores: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    """``relevant [Q, N]`` bool. Queries without any relevant item are skipped."""
    scores, relevant = np.asarray(scores, dtype=np.float64), np.asarray(relevant, dtype=bool)
    keep = relevant.any(axis=1)
    scores, relevant = scores[keep], relevant[keep]
    if not len(scores):
        return {"MAP": 0.0, "mAP@10": 0.0, "P@1": 0.0, "P@10": 0.0, "queries": 0}
    # Stable sort on the negated score: ties keep item order, which is arbitrary but deterministic.
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = np.take_along_axis(relevant, order, axis=1)
    n_rel = relevant.sum(axis=1)
    return {
        "MAP": float(np.mean([average_precision(r, n) for r, n in zip(ranked, n_rel)])),
        "mAP@10": float(np.mean([average_precision(r, n, 10) for r, n in zip(ranked, n_rel)])),
        "P@1": float(ranked[:, 0].mean()),
        "P@10": float(ranked[:, :10].mean()),
        "queries": int(len(scores)),
    }


def random_baseline(relevant: np.ndarray, repeats: int = 20, seed: int = 0) -> dict[str, float]:
    """Expected metrics of a random ranking (averaged over shuffles)."""
    rng = np.random.default_rng(seed)
    runs = [multi_positive_metrics(rng.random(relevant.shape), relevant) for _ in range(repeats)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def format_table(rows: dict[str, dict[str, float]], columns: list[str] | None = None,
                 title: str = "") -> str:
    """A plain-text table: one row per system (e.g. audio-only / late / mid), one column per metric
    — the shape of the paper's Table I."""
    if not rows:
        return title
    columns = columns or [c for c in next(iter(rows.values())) if c != "queries"]
    name_w = max(len("system"), *(len(n) for n in rows))
    widths = [max(9, len(c) + 2) for c in columns]
    head = "system".ljust(name_w) + "".join(f"{c:>{w}}" for c, w in zip(columns, widths))
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for name, metrics in rows.items():
        cells = "".join(f"{metrics.get(c, float('nan')):>{w}.3f}" for c, w in zip(columns, widths))
        lines.append(name.ljust(name_w) + cells)
    return "\n".join(lines)


def _stem(word: str) -> str:
    # Plural only: "steps" finds "step"; anything cleverer is no longer a plain keyword match.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def keyword_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _SMALL and len(w) > 1}


def keyword_scores(queries: list[str], item_texts: list[str], seed: int = 0) -> np.ndarray:
    """The lexical baseline: the share of a query's words found among an item's words (e.g. its
    path's folder and file-name words). Ties are broken at random (a seeded jitter far below one
    word's weight) so item order gives no advantage."""
    items = [keyword_words(t) for t in item_texts]
    out = np.zeros((len(queries), len(items)))
    for qi, q in enumerate(queries):
        words = keyword_words(q)
        if words:
            out[qi] = [len(words & it) / len(words) for it in items]
    return out + np.random.default_rng(seed).random(out.shape) * 1e-6
