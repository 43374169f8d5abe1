"""The caption memory stored with a head: what lets an untagged sound borrow the words of the
training sounds it resembles, reduced to prototypes by spherical k-means.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from soundsearch.model.featureset import FeatureSet, pad
from soundsearch.model.hybrid import HybridModel


@dataclass
class MemoryConfig:
    """Caption memory of :func:`attach_memory`. Chosen on the default recipe's validation packages
    (k 20-200, temperature 0.02-0.1, weight 0.5-3, 1024-4096 prototypes or every item tried): with
    the 5-seed head, validation descriptive audio-only MAP 0.254 -> 0.337 (every item: 0.342;
    2048 prototypes: 0.272), name queries 0.102 -> 0.132."""

    size: int = 4096  # prototypes kept (k-means over the training items); 0 = every item
    k: int = 50
    temperature: float = 0.1
    weight: float = 1.0
    seed: int = 0


@torch.inference_mode()
def attach_memory(head: HybridModel, fs: FeatureSet, cfg: MemoryConfig | None = None,
                  device: str = "cpu") -> HybridModel:
    """Give ``head`` a caption memory of ``fs`` (its training items): keys are the items' unit
    audio vectors, values their unit mean caption in the query space. At run time an audio vector
    is pulled toward the captions of its nearest training sounds (:meth:`HybridModel.recall`) — a
    non-parametric map from sound to words beside the learned linear one, and it is what lets a
    sound from an unseen package borrow the words of the training sounds it resembles.

    With ``cfg.size`` below the item count the pairs are reduced to that many prototypes by
    spherical k-means (the file stays a few MB)."""
    cfg = cfg or MemoryConfig()
    head.set_memory(None)
    head.eval().to(device)
    keep = [i for i, caps in enumerate(fs.item_captions) if caps]
    if not keep:
        raise ValueError("attach_memory needs items with captions")
    keys = []
    for start in range(0, len(keep), 256):
        idx = keep[start:start + 256]
        seq, mask = pad([fs.seqs[i] for i in idx], device=device)
        keys.append(F.normalize(head.embed_audio(seq, mask), dim=-1))
    keys = torch.cat(keys).cpu()
    caps = head.embed_query(torch.from_numpy(fs.caption_vecs).to(device)).cpu()
    values = F.normalize(torch.stack([caps[fs.item_captions[i]].mean(0) for i in keep]), dim=-1)
    if cfg.size and cfg.size < len(keys):
        keys, values = prototypes(keys, values, cfg.size, cfg.seed)
    head.set_memory(keys, values, cfg.k, cfg.temperature, cfg.weight)
    return head


def prototypes(keys: torch.Tensor, values: torch.Tensor, n: int, seed: int = 0,
               iters: int = 25) -> tuple[torch.Tensor, torch.Tensor]:
    """Spherical k-means of unit ``keys`` into at most ``n`` centroids; each centroid's value is the
    unit mean of its members' values (empty clusters are dropped)."""
    gen = torch.Generator().manual_seed(seed)
    centroids = keys[torch.randperm(len(keys), generator=gen)[:n]].clone()
    for _ in range(iters):
        assign = (keys @ centroids.T).argmax(1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, keys)
        filled = torch.bincount(assign, minlength=len(centroids)) > 0
        centroids = torch.where(filled[:, None], F.normalize(sums, dim=-1), centroids)
    assign = (keys @ centroids.T).argmax(1)
    filled = torch.bincount(assign, minlength=len(centroids)) > 0
    vals = torch.zeros_like(centroids).index_add_(0, assign, values)
    return centroids[filled], F.normalize(vals[filled], dim=-1)
