"""Model commands: train, eval, train-default.

torch is imported inside the handlers (through soundsearch.model) so the CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from soundsearch import paths

KINDS = ("clotho", "audiocaps", "library", "catalog")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a retrieval head on a captioned dataset or your own sounds",
                       description="Train the hybrid head over frozen encoders (their outputs are cached "
                                   "under the cache folder, so later runs take minutes). KIND: clotho "
                                   "(ClothoV2 layout), audiocaps, library (a folder: names and tags as "
                                   "captions), catalog (a soundsearch catalog file).")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("path", type=Path, help="dataset folder (or catalog file for 'catalog')")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument("--base", default="default", help="model whose encoders and head shape to use "
                   "('default' or a checkpoint folder)")
    p.add_argument("--init", action="store_true", help="start from --base's trained head (fine-tune)")
    p.add_argument("--fusion", choices=("late", "mid", "audio", "metadata"), default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--meta-dropout", type=float, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--val-fraction", type=float, default=0.1, help="library/catalog: share of top-level "
                   "folders held out to choose the epoch")
    p.add_argument("--finetune", action="store_true", help="run the encoders in the loop and train them "
                   "too (SpecAugment on the mel input; slow without a GPU; the checkpoint then stores "
                   "the encoders' weights)")
    p.add_argument("--memory", type=_memory_arg, default=4096, metavar="N|all|off",
                   help="caption memory stored with a late-fusion or audio head: N prototypes of the "
                   "training sounds (default 4096), 'all' of them, or 'off'")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="retrieval metrics of one or more models on a dataset's test split",
                       description="ClothoV2 / AudioCaps: mAP@10 and R@1/5/10 (one positive per caption). "
                                   "library / catalog: MAP, mAP@10, P@1, P@10 (every file of the query's "
                                   "class is relevant). Several --model NAME=DIR print the paper's Table I.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("path", type=Path)
    p.add_argument("--model", action="append", default=None, metavar="[NAME=]SPEC",
                   help="model to evaluate ('default' or a checkpoint folder); repeat to compare")
    p.add_argument("--modes", default=None, help="for one late-fusion model: modes to compare, "
                   "e.g. audio,metadata,late (default)")
    p.add_argument("--split", default="test", help="group to evaluate (clotho/audiocaps: test)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default=None)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train-default", help="reproduce the shipped default head from the dev library",
                       description="Train and measure the default head exactly as shipped: dev library "
                                   "split by package, held-out packages measured, model card written.")
    p.add_argument("--library", type=Path, default=None, help="dev library folder (default ~/dev-library)")
    p.add_argument("--out", type=Path, default=paths.resources_dir() / "models" / "default")
    p.add_argument("--final", choices=("all", "train"), default="all",
                   help="ship a head retrained on every package (all) or the measured one (train)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seeds", type=int, default=None, help="heads averaged into the shipped one (default 5)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.set_defaults(func=cmd_train_default)


def _memory_arg(text: str) -> int | None:
    """--memory: prototypes (N > 0), every training item ('all' -> 0) or none ('off' -> None)."""
    if text in ("off", "all"):
        return None if text == "off" else 0
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive count, 'all' or 'off', not {text!r}")
    return n


def _progress(p) -> None:
    total = f"/{p.total}" if p.total else ""
    print(f"[{p.stage}] {p.done}{total} {p.message}", file=sys.stderr, flush=True)


def _train_config(args, base=None):
    from soundsearch.model.train import TrainConfig

    cfg = base or TrainConfig()
    for name in ("epochs", "lr", "batch_size", "meta_dropout", "temperature"):
        if getattr(args, name, None) is not None:
            setattr(cfg, name, getattr(args, name))
    return cfg


def _split(items, kind: str, val_fraction: float, seed: int = 0):
    if kind in ("clotho", "audiocaps"):
        return [i for i in items if i.group == "train"], [i for i in items if i.group == "val"]
    groups = sorted({i.group for i in items})
    random.Random(seed).shuffle(groups)
    n_val = max(1, round(len(groups) * val_fraction)) if len(groups) > 1 else 0
    val_groups = set(groups[:n_val])
    if not val_groups:  # one folder only: hold out a share of its files instead
        cut = int(len(items) * (1 - val_fraction))
        return items[:cut], items[cut:]
    return [i for i in items if i.group not in val_groups], [i for i in items if i.group in val_groups]


def cmd_train(args) -> int:
    from dataclasses import replace

    from soundsearch.jobs import run
    from soundsearch.model import ModelError
    from soundsearch.model.api import load_for_eval, set_threads
    from soundsearch.model.checkpoint import collect_state, save_checkpoint
    from soundsearch.model.datasets import load_items
    from soundsearch.model.featureset import build_featureset
    from soundsearch.model.hybrid import HybridModel
    from soundsearch.model.train import MemoryConfig, attach_memory, train_head

    set_threads(args.threads)
    try:
        base = load_for_eval(args.base, args.device)
        items = load_items(args.kind, args.path)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    train_items, val_items = _split(items, args.kind, args.val_fraction)
    print(f"{len(train_items)} training and {len(val_items)} validation items", file=sys.stderr)
    if args.finetune:
        return _finetune(args, base, train_items)
    fs_train = build_featureset(base, train_items, progress=lambda d, t: _progress_count("encode", d, t))
    fs_val = build_featureset(base, val_items) if val_items else None
    head_cfg = replace(base.config.head, fusion=args.fusion or base.config.head.fusion)
    head = HybridModel(head_cfg)
    if args.init and head_cfg.fusion == base.config.head.fusion:
        head.load_state_dict(base.head.state_dict())
    result = run(train_head(head, fs_train, fs_val, _train_config(args), base.device), on_progress=_progress)
    if args.memory is not None and head_cfg.fusion in ("late", "audio"):
        attach_memory(result.head, fs_train, MemoryConfig(size=args.memory), base.device)
    cfg = base.config
    cfg.head = result.head.cfg
    cfg.training = {"data": f"{args.kind}: {args.path}", "items": len(fs_train), "epochs": result.best_epoch,
                    "validation": result.best_val}
    card = (f"# soundsearch head\n\nTrained with `soundsearch train {args.kind} {args.path}` on "
            f"{len(fs_train)} items; best epoch {result.best_epoch}.\n\n"
            f"Validation: {json.dumps(result.best_val)}\n")
    state = collect_state(result.head, base.audio_encoder if cfg.audio.in_checkpoint else None,
                          base.text_encoder if cfg.text.in_checkpoint else None)
    model_id = save_checkpoint(args.out, cfg, state, card)
    print(f"wrote {args.out} (model id {model_id}, {result.seconds:.0f} s)")
    return 0


def _finetune(args, base, train_items) -> int:
    from dataclasses import replace

    from soundsearch.jobs import run
    from soundsearch.model.checkpoint import collect_state, save_checkpoint
    from soundsearch.model.finetune import finetune

    cfg = _train_config(args)
    if args.lr is None:
        cfg.lr = 2e-5  # the paper's rate for fine-tuning whole encoders
    result = run(finetune(base, train_items, cfg), on_progress=_progress)
    config = base.config
    config.audio = replace(config.audio, in_checkpoint=True)
    config.text = replace(config.text, in_checkpoint=True)
    config.training = {"data": f"{args.kind}: {args.path}", "items": len(train_items),
                       "epochs": cfg.epochs, "finetuned": True}
    state = collect_state(result.head, base.audio_encoder, base.text_encoder)
    card = (f"# soundsearch model (fine-tuned encoders)\n\nTrained end to end with `soundsearch train "
            f"{args.kind} {args.path} --finetune` on {len(train_items)} items, {cfg.epochs} epochs.\n")
    model_id = save_checkpoint(args.out, config, state, card)
    print(f"wrote {args.out} (model id {model_id}, {result.seconds:.0f} s)")
    return 0


def _progress_count(stage: str, done: int, total: int) -> None:
    print(f"[{stage}] {done}/{total}", file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    from soundsearch.model import ModelError
    from soundsearch.model.api import load_for_eval
    from soundsearch.model.datasets import load_items
    from soundsearch.model.evaluate import format_table
    from soundsearch.model.featureset import build_featureset
    from soundsearch.model.train import evaluate_captions, evaluate_library

    specs = args.model or ["default"]
    named = [s.split("=", 1) if "=" in s else [s, s] for s in specs]
    try:
        items = load_items(args.kind, args.path)
        models = [(name, load_for_eval(spec, args.device)) for name, spec in named]
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    if args.kind in ("clotho", "audiocaps"):
        items = [i for i in items if i.group == args.split] or items
    modes = args.modes.split(",") if args.modes else ([None] if len(models) > 1 else
                                                       _default_modes(models[0][1]))
    rows = {}
    for name, model in models:
        fs = build_featureset(model, items, progress=lambda d, t: _progress_count("encode", d, t))
        for mode in modes:
            label = name if mode is None else (f"{name} [{mode}]" if len(models) > 1 else mode)
            fn = evaluate_captions if args.kind in ("clotho", "audiocaps") else evaluate_library
            rows[label] = fn(model.head, fs, mode, device=model.device)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows, title=f"{args.kind} {args.path} ({len(items)} items)"))
    return 0


def _default_modes(model) -> list:
    return ["audio", "metadata", "late"] if model.config.head.fusion == "late" else [None]


def cmd_train_default(args) -> int:
    from soundsearch.jobs import run
    from soundsearch.model.api import set_threads
    from soundsearch.model.recipe import Recipe, report_markdown, train_default

    set_threads(args.threads)
    recipe = Recipe(device=args.device, final=args.final)
    if args.seeds is not None:
        recipe.seeds = max(1, args.seeds)
    if args.library is not None:
        recipe.library = args.library
    recipe.train = _train_config(args, recipe.train)
    measure_out = paths.models_dir() / "default-measured"
    try:
        result = run(train_default(recipe, args.out, measure_out), on_progress=_progress)
    except FileNotFoundError as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    print(report_markdown(result["results"], result["n_held"]))
    print(f"wrote {args.out} (model id {result['model_id']}); measured head in {measure_out}")
    return 0
