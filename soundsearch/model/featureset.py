"""Encoded datasets: items turned into cached encoder outputs, and scoring in every fusion mode.

A :class:`FeatureSet` is what training and evaluation of the head work on when the encoders are
frozen: per item the audio encoder's frame sequence, the text encoder's vector of its metadata text
and of each caption. Building one runs the encoders only for what the feature cache lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from soundsearch.model import features
from soundsearch.model.datasets import Item
from soundsearch.model.hybrid import HybridModel


@dataclass
class FeatureSet:
    items: list[Item]
    seqs: list[np.ndarray]  # [T, Da] float16 per item
    meta: np.ndarray  # [N, Dt] float32 (zeros where there is no metadata)
    has_meta: np.ndarray  # [N] bool
    caption_texts: list[str]
    caption_vecs: np.ndarray  # [C, Dt]
    item_captions: list[list[int]]  # per item, indices into caption_texts

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, keep: list[int]) -> FeatureSet:
        return FeatureSet([self.items[i] for i in keep], [self.seqs[i] for i in keep], self.meta[keep],
                          self.has_meta[keep], self.caption_texts, self.caption_vecs,
                          [self.item_captions[i] for i in keep])


def build_featureset(model, items: list[Item], max_seconds: float | None = 30.0, progress=None,
                     only_cached: bool = False) -> FeatureSet:
    """Encode ``items`` with ``model``'s encoders (a RetrievalModel), via the feature cache.
    Items whose audio could not be read (or, with ``only_cached``, is not cached) are dropped."""
    seqs = features.audio_sequences(model, [it.audio for it in items], max_seconds, progress=progress,
                                    only_cached=only_cached)
    keep = [i for i, s in enumerate(seqs) if s is not None and len(s)]
    items, seqs = [items[i] for i in keep], [seqs[i] for i in keep]
    # Labels are embedded too: they are the text of the multi-positive evaluation queries.
    texts = sorted({c for it in items for c in it.captions} | {lab for it in items for lab in it.labels})
    index = {t: i for i, t in enumerate(texts)}
    metas = [it.metadata.strip() for it in items]
    vecs = features.text_vectors(model, texts + [m for m in metas if m])
    caption_vecs, meta_vecs = vecs[: len(texts)], vecs[len(texts):]
    meta = np.zeros((len(items), caption_vecs.shape[1] if len(vecs) else model.text_encoder.dim), np.float32)
    has_meta = np.array([bool(m) for m in metas], dtype=bool)
    meta[has_meta] = meta_vecs
    return FeatureSet(items, seqs, meta, has_meta, texts, caption_vecs,
                      [[index[c] for c in it.captions] for it in items])


def pad(seqs: list[np.ndarray], max_frames: int | None = None, rng: np.random.Generator | None = None,
        device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ragged sequences to ``[B, T, D]`` + mask; with ``max_frames`` longer ones are cropped
    (at a random offset when ``rng`` is given, else from the start)."""
    cut = []
    for s in seqs:
        if max_frames and len(s) > max_frames:
            start = int(rng.integers(0, len(s) - max_frames + 1)) if rng is not None else 0
            s = s[start:start + max_frames]
        cut.append(s)
    t = max(1, max(len(s) for s in cut))
    out = np.zeros((len(cut), t, cut[0].shape[1]), np.float32)
    mask = np.zeros((len(cut), t), bool)
    for i, s in enumerate(cut):
        out[i, : len(s)] = s
        mask[i, : len(s)] = True
    return torch.from_numpy(out).to(device), torch.from_numpy(mask).to(device)


MODES = ("audio", "metadata", "late", "mid")


def item_vectors(head: HybridModel, seq, mask, meta, has_meta, mode: str | None = None):
    """Item side in ``mode`` (default: the head's own fusion). A late-fusion head also serves the
    single-branch ``audio`` and ``metadata`` modes (what the search engine's --mode does)."""
    mode = mode or head.fusion
    if mode == head.fusion:
        return head.items(seq, mask, meta, has_meta)
    if "mid" in (mode, head.fusion):
        raise ValueError(f"a {head.fusion}-fusion head cannot score in {mode} mode")
    if mode == "audio":
        return F.normalize(head.embed_audio(seq, mask), dim=-1)
    if mode == "metadata":
        return F.normalize(head.embed_meta(meta), dim=-1) * has_meta.to(meta.dtype).unsqueeze(-1)
    return head.fuse(head.embed_audio(seq, mask), head.embed_meta(meta), has_meta)


@torch.inference_mode()
def score_matrix(head: HybridModel, fs: FeatureSet, query_vecs: np.ndarray, mode: str | None = None,
                 batch: int = 256, device: str = "cpu", recall: bool = False) -> np.ndarray:
    """Scores ``[Q, N]`` of text-encoder query vectors against every item of ``fs``. ``recall``: in
    ``audio`` mode, the queries go through :meth:`HybridModel.recall_query` first (as the search
    engine's audio mode does)."""
    head.eval()
    parts = []
    for start in range(0, len(fs), batch):
        idx = list(range(start, min(start + batch, len(fs))))
        seq, mask = pad([fs.seqs[i] for i in idx], device=device)
        meta = torch.from_numpy(fs.meta[idx]).to(device)
        has = torch.from_numpy(fs.has_meta[idx]).to(device)
        parts.append(item_vectors(head, seq, mask, meta, has, mode))
    if isinstance(parts[0], tuple):
        items = tuple(torch.cat([p[k] for p in parts]) for k in range(3))
    else:
        items = torch.cat(parts)
    q = torch.from_numpy(np.asarray(query_vecs, np.float32)).to(device)
    if (mode or head.fusion) == head.fusion:
        return head.scores(head.queries(q), items).float().cpu().numpy()
    q = head.embed_query(q)
    if recall and mode == "audio":
        q = head.recall_query(q)
    return (q @ items.T).float().cpu().numpy()
