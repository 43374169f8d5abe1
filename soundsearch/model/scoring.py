"""A head scored on a feature set: the retrieval metrics of :mod:`evaluate` over the head's own
score matrix, for validation during training, fusion calibration and `soundsearch eval`.
"""

from __future__ import annotations

import numpy as np

from soundsearch.model.evaluate import multi_positive_metrics, single_positive_metrics
from soundsearch.model.featureset import FeatureSet, score_matrix
from soundsearch.model.hybrid import HybridModel


def label_queries(fs: FeatureSet) -> tuple[list[str], np.ndarray]:
    """Multi-positive queries of a library set: one per distinct label, relevant = items with it."""
    labels = sorted({lab for it in fs.items for lab in it.labels})
    relevant = np.array([[lab in it.labels for it in fs.items] for lab in labels], dtype=bool)
    return labels, relevant


def evaluate_library(head: HybridModel, fs: FeatureSet, mode: str | None = None, device: str = "cpu",
                     query_vecs: np.ndarray | None = None, relevant: np.ndarray | None = None) -> dict:
    """Multi-positive metrics; the label queries of ``fs`` unless queries are given (their text
    vectors must be passed as ``query_vecs`` with ``relevant [Q, N]``)."""
    if query_vecs is None:
        labels, relevant = label_queries(fs)
        index = {t: i for i, t in enumerate(fs.caption_texts)}
        query_vecs = fs.caption_vecs[[index[lab] for lab in labels]]
    return multi_positive_metrics(score_matrix(head, fs, query_vecs, mode, device=device), relevant)


def evaluate_captions(head: HybridModel, fs: FeatureSet, mode: str | None = None,
                      device: str = "cpu") -> dict:
    """Single-positive metrics of a captioned set (ClothoV2 / AudioCaps): every caption a query."""
    q_idx, positives = [], []
    for i, caps in enumerate(fs.item_captions):
        q_idx += caps
        positives += [i] * len(caps)
    scores = score_matrix(head, fs, fs.caption_vecs[q_idx], mode, device=device)
    return single_positive_metrics(scores, np.array(positives))
