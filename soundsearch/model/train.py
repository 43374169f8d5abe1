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

This module is the loop; what is done with trained heads lives beside it: averaging, query centring
and fusion calibration in :mod:`heads`, the caption memory in :mod:`memory`, scoring a head on a
feature set in :mod:`scoring`, and the train / evaluate workflows of the command line in
:mod:`workflow`.
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
from soundsearch.model.featureset import FeatureSet, pad
from soundsearch.model.hybrid import HybridModel
from soundsearch.model.scoring import evaluate_library

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
