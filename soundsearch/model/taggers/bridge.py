"""The label bridge: from a query's words to the tags a tagger heard in each sound.

The query and every tag's words (for UCS tags: category, subcategories, synonyms) are embedded by
the text encoder *without* the head's projections; the query's cosine with each tag says which
tags it asks for. The ``top`` nearest tags get softmax weights (temperature ``temperature``), and a
sound's bridge score is the weighted sum of its tag confidences. ``gate`` scales the bridge by how
well the query matches the vocabulary at all: ``(best cosine - low) / (high - low)`` clipped to
0..1, so "footsteps on gravel" leans on the FOOTSTEPS tag while "the sound of nostalgia" does not
lean on any. Defaults chosen on the validation packages (tests/benchmarks/bench_quality.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BridgeConfig:
    top: int = 10  # validation descriptive MAP, YAMNet alone: top 1 0.353, 3 0.398, 10 0.398
    temperature: float = 0.05
    low: float = 0.25
    high: float = 0.55


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def bridge_weights(query_vecs: np.ndarray, tag_vecs: np.ndarray,
                   cfg: BridgeConfig = BridgeConfig()) -> tuple[np.ndarray, np.ndarray]:
    """``(weights [Q, V], gate [Q])`` for raw text-encoder query vectors and tag-word vectors."""
    sims = unit(query_vecs) @ unit(tag_vecs).T
    q, v = sims.shape
    weights = np.zeros((q, v), np.float32)
    top = min(cfg.top, v)
    if not v:
        return weights, np.zeros(q, np.float32)
    idx = np.argsort(-sims, axis=1)[:, :top]
    chosen = np.take_along_axis(sims, idx, axis=1)
    soft = np.exp((chosen - chosen[:, :1]) / cfg.temperature)
    np.put_along_axis(weights, idx, (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32), axis=1)
    gate = np.clip((chosen[:, 0] - cfg.low) / max(cfg.high - cfg.low, 1e-6), 0.0, 1.0).astype(np.float32)
    return weights, gate
