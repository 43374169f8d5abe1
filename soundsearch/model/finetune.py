"""End-to-end training: the encoders run in the loop and are fine-tuned with the head (the paper's
setting; worth it on a GPU). SpecAugment masks the mel input; the rest (NT-Xent, schedule, metadata
dropout, shared-caption targets) is :mod:`train`'s.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import torch

from soundsearch.jobs import Job, Progress
from soundsearch.model.datasets import Item
from soundsearch.model.features import load_audio
from soundsearch.model.train import TrainConfig, TrainResult, lr_at, nt_xent

log = logging.getLogger(__name__)


def spec_augment(mel: torch.Tensor, mel_lengths: torch.Tensor, rng: np.random.Generator,
                 freq_masks: int = 2, freq_width: float = 0.15, time_masks: int = 2,
                 time_width: float = 0.1) -> torch.Tensor:
    """Zero ``freq_masks`` random mel bands and ``time_masks`` random time spans per example
    (Park et al., 2019), widths up to the given share of the axis; padding stays padding."""
    mel = mel.clone()
    n_mels = mel.shape[1]
    for b, frames in enumerate(mel_lengths.tolist()):
        for _ in range(freq_masks):
            w = int(rng.integers(0, max(1, int(n_mels * freq_width)) + 1))
            f0 = int(rng.integers(0, max(1, n_mels - w + 1)))
            mel[b, f0:f0 + w, :] = 0
        for _ in range(time_masks):
            w = int(rng.integers(0, max(1, int(frames * time_width)) + 1))
            t0 = int(rng.integers(0, max(1, frames - w + 1)))
            mel[b, :, t0:t0 + w] = 0
    return mel


def _waves(items: list[Item], idx, sample_rate: int, seconds: float, rng: np.random.Generator):
    waves = []
    for i in idx:
        w = load_audio(Path(items[i].audio), sample_rate, max_seconds=None)
        n = int(seconds * sample_rate)
        if len(w) > n:  # a random crop per step is augmentation too
            start = int(rng.integers(0, len(w) - n + 1))
            w = w[start:start + n]
        waves.append(w if len(w) else np.zeros(1, np.float32))
    length = max(len(w) for w in waves)
    batch = np.zeros((len(waves), length), np.float32)
    for k, w in enumerate(waves):
        batch[k, : len(w)] = w
    return torch.from_numpy(batch), torch.tensor([len(w) for w in waves])


def finetune(model, items: list[Item], cfg: TrainConfig, seconds: float = 10.0,
             train_text: bool = True) -> Job[TrainResult]:
    """Train ``model`` (a RetrievalModel: encoders + head) end to end on ``items``; yields one
    Progress per epoch and returns the trained head (the encoders are updated in place)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device, head = model.device, model.head
    audio_enc, text_enc = model.audio_encoder, model.text_encoder
    modules = [head, audio_enc] + ([text_enc] if train_text else [])
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    captions = sorted({c for it in items for c in it.captions})
    cap_id = {c: i for i, c in enumerate(captions)}
    steps_per_epoch = max(1, len(items) // cfg.batch_size)
    result, step, started = TrainResult(head), 0, time.monotonic()
    for epoch in range(1, cfg.epochs + 1):
        for m in modules:
            m.train()
        order, losses = rng.permutation(len(items)), []
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            caps = [items[i].captions[rng.integers(len(items[i].captions))] for i in idx]
            metas = [items[i].metadata for i in idx]
            has = np.array([bool(t) for t in metas]) & (rng.random(len(idx)) >= cfg.meta_dropout)
            wave, lengths = _waves(items, idx, model.sample_rate, seconds, rng)
            mel, mel_lengths = audio_enc.features(wave.to(device), lengths.to(device))
            seq, mask = audio_enc.encode_features(spec_augment(mel, mel_lengths, rng), mel_lengths)
            tokens = {k: v.to(device) for k, v in text_enc.tokenize(caps + [t or "-" for t in metas]).items()}
            text = text_enc(**tokens)
            query, meta = text[: len(idx)], text[len(idx):]
            ids = torch.tensor([cap_id[c] for c in caps])
            targets = (ids[:, None] == ids[None, :]).float().to(device)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, steps_per_epoch, cfg)
            items_vec = head.items(seq, mask, meta, torch.from_numpy(has).to(device))
            scores = head.scores(head.queries(query), items_vec)
            loss = nt_xent(scores, targets, cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            losses.append(loss.item())
            step += 1
        row = {"epoch": epoch, "loss": float(np.mean(losses))}
        result.history.append(row)
        yield Progress("finetune", epoch, cfg.epochs, f"loss {row['loss']:.3f}")
    for m in modules:
        m.eval()
    result.head, result.best_epoch = copy.deepcopy(head).cpu().eval(), cfg.epochs
    result.seconds = time.monotonic() - started
    return result
