"""What is done to trained heads before they ship: several training runs averaged into one, the
query side centred, and the late-fusion weight calibrated on held-apart data and baked in.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

import numpy as np
import torch

from soundsearch.model.featureset import FeatureSet
from soundsearch.model.hybrid import HybridConfig, HybridModel
from soundsearch.model.scoring import evaluate_library


def average_heads(heads: list[HybridModel]) -> HybridModel:
    """One head whose audio vector is the mean of ``heads``' audio vectors (an ensemble of
    training runs at the cost of one). Needs late-fusion heads with mean pooling and linear
    projections, which are affine in the per-frame normalised input: each head's LayerNorm scale and
    shift and both linear layers fold into one 512 → dim map, and the mean of affine maps is one affine
    map. The text side must be shared (frozen), as the default recipe keeps it."""
    first = heads[0]
    cfg = first.cfg
    if cfg.fusion != "late" or cfg.pool.layers or cfg.audio_hidden or not cfg.pool.input_norm:
        raise ValueError("average_heads needs late fusion, mean pooling, input_norm and a linear "
                         "audio projection")
    if any(h.cfg.memory_size for h in heads):
        raise ValueError("average_heads takes heads without a caption memory (attach it afterwards)")
    def same_text_side(h: HybridModel) -> bool:
        return all(torch.equal(a, b) for name in ("proj_query", "proj_meta")
                   for a, b in zip(getattr(h, name).state_dict().values(),
                                   getattr(first, name).state_dict().values()))

    for h in heads[1:]:
        if h.cfg != cfg or not same_text_side(h):
            raise ValueError("average_heads needs heads of one config with the same text projections")
    weights, biases = [], []
    for h in heads:
        norm, proj = h.pool.in_proj[0], h.pool.in_proj[1]
        proj = proj if isinstance(proj, torch.nn.Linear) else None
        w1 = proj.weight if proj is not None else torch.eye(norm.weight.shape[0])
        b1 = proj.bias if proj is not None else torch.zeros(norm.weight.shape[0])
        w2, b2 = h.proj_audio[-1].weight, h.proj_audio[-1].bias
        weights.append(w2 @ w1 @ torch.diag(norm.weight))  # [dim, in]
        biases.append(w2 @ (w1 @ norm.bias + b1) + b2)
    out_cfg = HybridConfig(**{**asdict(cfg), "pool": {**asdict(cfg.pool), "width": 0}})
    out = HybridModel(out_cfg)
    with torch.no_grad():
        out.proj_meta.load_state_dict(first.proj_meta.state_dict())
        out.proj_query.load_state_dict(first.proj_query.state_dict())
        out.pool.in_proj[0].reset_parameters()  # plain normalisation; the scale is folded in
        out.proj_audio[-1].weight.copy_(torch.stack(weights).mean(0))
        out.proj_audio[-1].bias.copy_(torch.stack(biases).mean(0))
    return out.eval()


def center_queries(head: HybridModel, caption_vecs: np.ndarray) -> HybridModel:
    """Subtract the mean training caption from every query: proj_query's bias ``b`` becomes
    ``b - W @ mean``, so the change is part of the head (checkpoint, runtime, training).

    Text-encoder vectors share a large common direction (MiniLM's anisotropy); with the query side
    frozen at identity, that direction scores every item by how "generic" its vector is, which makes
    hubs of some sounds in audio-only search. Centring the query side removes it; training with it
    lets the audio projection fit the centred space. Linear query projections only."""
    if head.cfg.text_hidden:
        raise ValueError("center_queries needs a linear query projection")
    last = head.proj_query[-1]
    mean = torch.from_numpy(np.asarray(caption_vecs, np.float32).mean(0)).to(last.weight.device)
    with torch.no_grad():
        last.bias.sub_(last.weight @ mean)
    return head


FUSION_GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def scale_metadata(head: HybridModel, weight: float) -> HybridModel:
    """Bake a late-fusion weight into proj_meta (its last linear layer), so that the runtime's
    ``fuse(audio, meta, weight=1.0)`` applies it. Metadata-only ranking is unchanged (normalised)."""
    with torch.no_grad():
        last = head.proj_meta[-1]
        last.weight.mul_(weight)
        last.bias.mul_(weight)
    return head


def calibrate_fusion(head: HybridModel, val: FeatureSet,
                     query_sets: list[tuple[np.ndarray, np.ndarray] | None],
                     grid: tuple[float, ...] = FUSION_GRID, metric: str = "MAP",
                     device: str = "cpu") -> tuple[float, dict[float, float]]:
    """The metadata weight of late fusion that scores best on validation queries, averaged over
    ``query_sets`` (each ``(query vectors, relevant)``, or None for ``val``'s label queries).
    Training sets the audio/metadata balance on data the audio branch has fitted, which overrates
    audio on unseen sounds; this re-balances it on held-apart data. Returns (best weight, {weight:
    mean score}); ``head`` is not changed (see :func:`scale_metadata`)."""
    scores = {}
    for w in grid:
        trial = scale_metadata(copy.deepcopy(head), w)
        scores[w] = float(np.mean([evaluate_library(trial, val, "late", device, *(qs or (None, None)))[metric]
                                   for qs in query_sets]))
    best = max(scores, key=lambda w: (scores[w], -abs(np.log(w))))  # ties: the weight nearest 1
    return best, scores
