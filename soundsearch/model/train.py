"""Training the hybrid head: symmetric NT-Xent over (caption, item) pairs.

Paper settings are the defaults where the paper is specific: temperature 0.05, Adam, one warm-up
epoch then cosine decay to 1e-7. With frozen encoders the head trains on cached encoder outputs
(:mod:`featureset`), which takes minutes on a CPU; there the learning rate that works is far above
the paper's 2e-5 (which was for fine-tuning whole encoders) — it is a config value, measure it.

Two things the paper's data did not need and a sound library does:

- *metadata dropout*: an item's metadata is hidden with probability ``meta_dropout`` so that the
  audio branch must carry the item alone (untagged files are served by audio only);
- *shared captions*: many files share one caption ("footstep gravel"), so every item whose caption
  equals the query's is a positive (the targets spread over them) instead of a false negative.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from soundsearch.jobs import Job, Progress
from soundsearch.model.evaluate import multi_positive_metrics, single_positive_metrics
from soundsearch.model.featureset import FeatureSet, pad, score_matrix
from soundsearch.model.hybrid import HybridConfig, HybridModel

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 128
    lr: float = 5e-4
    lr_end: float = 1e-7
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-2  # AdamW; 0 = Adam as the paper
    temperature: float = 0.05
    meta_dropout: float = 0.5
    max_frames: int = 8  # random crop of long sequences per step (8 aisfx blocks ≈ 18 s)
    frame_dropout: float = 0.1  # drop whole frames (feature-level stand-in for SpecAugment)
    seed: int = 0
    select_metric: str = "mAP@10"  # on the validation set, to keep the best epoch
    # Mode scored for that choice (None = the head's own fusion). On a library whose captions come
    # from the same names as its metadata, metadata-side scores are high from the start; "audio"
    # tracks what training actually has to teach.
    select_mode: str | None = None
    # Head parts kept as initialised, e.g. ("proj_query", "proj_meta") keeps the text side exactly
    # the pretrained text encoder's space (identity init), so words never seen in training still work.
    freeze: tuple[str, ...] = ()
    stop_epoch: int = 0  # stop after this epoch (the schedule still spans ``epochs``); 0 = run all

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    head: HybridModel
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val: dict = field(default_factory=dict)
    seconds: float = 0.0


def lr_at(step: int, steps_per_epoch: int, cfg: TrainConfig) -> float:
    """Linear warm-up for ``warmup_epochs``, then cosine decay from ``lr`` to ``lr_end``."""
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    total = max(warm + 1, cfg.epochs * steps_per_epoch)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return cfg.lr_end + 0.5 * (cfg.lr - cfg.lr_end) * (1 + math.cos(math.pi * min(1.0, t)))


def nt_xent(scores: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric NT-Xent on a [B queries, B items] score matrix; ``targets`` rows (and columns)
    are distributions over the positives (the identity when every pair is unique)."""
    logits = scores / temperature
    t_rows = targets / targets.sum(1, keepdim=True)
    t_cols = targets.T / targets.T.sum(1, keepdim=True)
    loss_q = -(t_rows * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_i = -(t_cols * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return 0.5 * (loss_q + loss_i)


def _batch(fs: FeatureSet, idx: np.ndarray, cfg: TrainConfig, rng: np.random.Generator, device: str):
    caps = np.array([fs.item_captions[i][rng.integers(len(fs.item_captions[i]))] for i in idx])
    seqs = []
    for i in idx:
        s = fs.seqs[i]
        if cfg.frame_dropout and len(s) > 1:
            keep = rng.random(len(s)) >= cfg.frame_dropout
            s = s[keep] if keep.any() else s[rng.integers(len(s)):][:1]
        seqs.append(s)
    seq, mask = pad(seqs, cfg.max_frames, rng, device)
    has = fs.has_meta[idx] & (rng.random(len(idx)) >= cfg.meta_dropout)
    meta = torch.from_numpy(fs.meta[idx]).to(device)
    query = torch.from_numpy(fs.caption_vecs[caps]).to(device)
    targets = torch.from_numpy((caps[:, None] == caps[None, :]).astype(np.float32)).to(device)
    return seq, mask, meta, torch.from_numpy(has).to(device), query, targets


def train_head(head: HybridModel, train: FeatureSet, val: FeatureSet | None, cfg: TrainConfig,
               device: str = "cpu",
               val_queries: tuple[np.ndarray, np.ndarray] | None = None) -> Job[TrainResult]:
    """Train ``head`` on cached features; yields one Progress per epoch; returns the best head
    (by ``cfg.select_metric`` on ``val``, averaged over the modes of ``cfg.select_mode``; the last
    one without a validation set). ``val_queries`` = (text vectors, relevant [Q, len(val)]) replaces
    the label queries of ``val``."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if head.cfg.memory_size:  # it recalls the old training set's captions; attach_memory rebuilds it
        log.info("training without the head's caption memory (%d rows)", head.cfg.memory_size)
        head.set_memory(None)
    head.to(device)
    for name in cfg.freeze:
        getattr(head, name).requires_grad_(False)
    params = [p for p in head.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay) if cfg.weight_decay \
        else torch.optim.Adam(params, lr=cfg.lr)
    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    result, best_score, step, started = TrainResult(head), -1.0, 0, time.monotonic()
    for epoch in range(1, cfg.epochs + 1):
        head.train()
        order = rng.permutation(len(train))
        losses = []
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            seq, mask, meta, has, query, targets = _batch(train, idx, cfg, rng, device)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, steps_per_epoch, cfg)
            scores = head.scores(head.queries(query), head.items(seq, mask, meta, has))
            loss = nt_xent(scores, targets, cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            losses.append(loss.item())
            step += 1
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "lr": lr_at(step - 1, steps_per_epoch, cfg)}
        if val is not None and len(val):
            qv, rel = val_queries if val_queries is not None else (None, None)
            scores = []
            for mode in (cfg.select_mode or head.fusion).split(","):
                metrics = evaluate_library(head, val, mode, device, qv, rel)
                row.update({f"val_{mode}_{k}": v for k, v in metrics.items() if k != "queries"})
                scores.append(metrics[cfg.select_metric])
            score = row[f"val_{cfg.select_metric}"] = float(np.mean(scores))
            if score > best_score:
                best_score, result.best_epoch = score, epoch
                result.head = copy.deepcopy(head).cpu()
                result.best_val = {k: v for k, v in row.items() if k.startswith("val_")}
        result.history.append(row)
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in row.items()})
        note = f"loss {row['loss']:.3f}"
        if val is not None:
            note += f", val {cfg.select_metric} {row.get('val_' + cfg.select_metric, 0):.3f}"
        yield Progress("train", epoch, cfg.epochs, note)
        if cfg.stop_epoch and epoch >= cfg.stop_epoch:
            break
    if val is None or not len(val):
        result.head, result.best_epoch = head.cpu(), len(result.history)
    result.head.eval()
    result.seconds = time.monotonic() - started
    return result


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
