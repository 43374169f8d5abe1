"""The workflows behind `soundsearch train` and `soundsearch eval`: load the base model and the
data, split it, cache the encoder outputs, train the head (or fine-tune the encoders too), add the
caption memory, write the checkpoint with its card; or score one or more models on a dataset.

The command line parses its arguments into a :class:`TrainRequest` and prints what comes back;
everything here reports through ``on_progress`` and raises ModelError, FileNotFoundError or
ValueError for what the user can fix.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from soundsearch.jobs import Progress, run
from soundsearch.model.datasets import CAPTIONED
from soundsearch.model.train import TrainConfig

OnProgress = Callable[[Progress], object] | None


@dataclass
class TrainRequest:
    kind: str  # one of datasets.DATASETS
    path: Path  # dataset folder, or a catalog file for "catalog"
    out: Path  # checkpoint folder to write
    base: str = "default"  # model whose encoders and head shape are used
    init: bool = False  # start from the base's trained head
    fusion: str | None = None  # late | mid | audio | metadata; None = the base's
    val_fraction: float = 0.1  # library/catalog: share of top-level folders held out
    finetune: bool = False  # train the encoders too (their weights then go into the checkpoint)
    memory: int | None = 4096  # caption memory prototypes; 0 = every item, None = none
    device: str | None = None
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class Trained:
    out: Path
    model_id: str
    seconds: float
    train_items: int
    val_items: int


def split_items(items: list, kind: str, val_fraction: float, seed: int = 0) -> tuple[list, list]:
    """(train, validation): the dataset's own groups for captioned sets; otherwise whole top-level
    folders held out (files of one pack look alike, so a split inside a folder flatters the model)."""
    if kind in CAPTIONED:
        return [i for i in items if i.group == "train"], [i for i in items if i.group == "val"]
    groups = sorted({i.group for i in items})
    random.Random(seed).shuffle(groups)
    n_val = max(1, round(len(groups) * val_fraction)) if len(groups) > 1 else 0
    val_groups = set(groups[:n_val])
    if not val_groups:  # one folder only: hold out a share of its files instead
        cut = int(len(items) * (1 - val_fraction))
        return items[:cut], items[cut:]
    return [i for i in items if i.group not in val_groups], [i for i in items if i.group in val_groups]


def _counter(stage: str, on_progress: OnProgress):
    return None if on_progress is None else (lambda done, total: on_progress(Progress(stage, done, total)))


def train_model(request: TrainRequest, on_progress: OnProgress = None) -> Trained:
    from soundsearch.model.api import load_for_eval
    from soundsearch.model.datasets import load_items

    base = load_for_eval(request.base, request.device)
    items = load_items(request.kind, request.path)
    train_items, val_items = split_items(items, request.kind, request.val_fraction)
    if on_progress is not None:
        on_progress(Progress("split", len(train_items), len(items),
                             f"{len(train_items)} training and {len(val_items)} validation items"))
    if request.finetune:
        return _finetune(request, base, train_items, len(val_items), on_progress)
    return _train_head(request, base, train_items, val_items, on_progress)


def _train_head(request: TrainRequest, base, train_items: list, val_items: list,
                on_progress: OnProgress) -> Trained:
    from soundsearch.model.checkpoint import collect_state, save_checkpoint
    from soundsearch.model.featureset import build_featureset
    from soundsearch.model.hybrid import HybridModel
    from soundsearch.model.memory import MemoryConfig, attach_memory
    from soundsearch.model.train import train_head

    fs_train = build_featureset(base, train_items, progress=_counter("encode", on_progress))
    fs_val = build_featureset(base, val_items) if val_items else None
    head_cfg = replace(base.config.head, fusion=request.fusion or base.config.head.fusion)
    head = HybridModel(head_cfg)
    if request.init and head_cfg.fusion == base.config.head.fusion:
        head.load_state_dict(base.head.state_dict())
    result = run(train_head(head, fs_train, fs_val, request.train, base.device), on_progress=on_progress)
    if request.memory is not None and head_cfg.fusion in ("late", "audio"):
        attach_memory(result.head, fs_train, MemoryConfig(size=request.memory), base.device)
    cfg = base.config
    cfg.head = result.head.cfg
    cfg.training = {"data": f"{request.kind}: {request.path}", "items": len(fs_train),
                    "epochs": result.best_epoch, "validation": result.best_val}
    card = (f"# soundsearch head\n\nTrained with `soundsearch train {request.kind} {request.path}` on "
            f"{len(fs_train)} items; best epoch {result.best_epoch}.\n\n"
            f"Validation: {json.dumps(result.best_val)}\n")
    state = collect_state(result.head, base.audio_encoder if cfg.audio.in_checkpoint else None,
                          base.text_encoder if cfg.text.in_checkpoint else None)
    model_id = save_checkpoint(request.out, cfg, state, card)
    return Trained(request.out, model_id, result.seconds, len(fs_train), len(val_items))


def _finetune(request: TrainRequest, base, train_items: list, n_val: int, on_progress: OnProgress) -> Trained:
    from soundsearch.model.checkpoint import collect_state, save_checkpoint
    from soundsearch.model.finetune import finetune

    cfg = request.train
    result = run(finetune(base, train_items, cfg), on_progress=on_progress)
    config = base.config
    config.audio = replace(config.audio, in_checkpoint=True)
    config.text = replace(config.text, in_checkpoint=True)
    config.training = {"data": f"{request.kind}: {request.path}", "items": len(train_items),
                       "epochs": cfg.epochs, "finetuned": True}
    state = collect_state(result.head, base.audio_encoder, base.text_encoder)
    card = (f"# soundsearch model (fine-tuned encoders)\n\nTrained end to end with `soundsearch train "
            f"{request.kind} {request.path} --finetune` on {len(train_items)} items, {cfg.epochs} epochs.\n")
    model_id = save_checkpoint(request.out, config, state, card)
    return Trained(request.out, model_id, result.seconds, len(train_items), n_val)


def evaluate_models(kind: str, path: Path, specs: list[str], modes: list[str] | None = None,
                    split: str = "test", device: str | None = None,
                    on_progress: OnProgress = None) -> tuple[dict[str, dict], int]:
    """Metrics per model (``specs``: "NAME=SPEC" or "SPEC") and mode; with one late-fusion model
    and no ``modes``, its audio, metadata and late modes side by side. Returns (rows, items)."""
    from soundsearch.model.api import load_for_eval
    from soundsearch.model.datasets import load_items
    from soundsearch.model.featureset import build_featureset
    from soundsearch.model.scoring import evaluate_captions, evaluate_library

    named = [s.split("=", 1) if "=" in s else [s, s] for s in specs]
    items = load_items(kind, path)
    models = [(name, load_for_eval(spec, device)) for name, spec in named]
    if kind in CAPTIONED:
        items = [i for i in items if i.group == split] or items
    if not modes:
        late = len(models) == 1 and models[0][1].config.head.fusion == "late"
        modes = ["audio", "metadata", "late"] if late else [None]
    score = evaluate_captions if kind in CAPTIONED else evaluate_library
    rows = {}
    for name, model in models:
        fs = build_featureset(model, items, progress=_counter("encode", on_progress))
        for mode in modes:
            label = name if mode is None else (f"{name} [{mode}]" if len(models) > 1 else mode)
            rows[label] = score(model.head, fs, mode, device=model.device)
    return rows, len(items)
