"""Model commands: train, eval, train-default. They parse and print; the workflows are in
soundsearch.model (workflow.py, recipe.py), which load torch only when a handler runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soundsearch import paths
from soundsearch.model.datasets import DATASETS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a retrieval head on a captioned dataset or your own sounds",
                       description="Train the hybrid head over frozen encoders (their outputs are cached "
                                   "under the cache folder, so later runs take minutes). KIND: clotho "
                                   "(ClothoV2 layout), audiocaps, library (a folder: names and tags as "
                                   "captions), catalog (a soundsearch catalog file).")
    p.add_argument("kind", choices=DATASETS)
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
    p.add_argument("kind", choices=DATASETS)
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


def cmd_train(args) -> int:
    from soundsearch.model import ModelError
    from soundsearch.model.api import set_threads
    from soundsearch.model.workflow import TrainRequest, train_model

    set_threads(args.threads)
    config = _train_config(args)
    if args.finetune and args.lr is None:
        config.lr = 2e-5  # the paper's rate for fine-tuning whole encoders
    request = TrainRequest(args.kind, args.path, args.out, args.base, args.init, args.fusion,
                           args.val_fraction, args.finetune, args.memory, args.device, config)
    try:
        trained = train_model(request, on_progress=_progress)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {trained.out} (model id {trained.model_id}, {trained.seconds:.0f} s)")
    return 0


def cmd_eval(args) -> int:
    from soundsearch.model import ModelError
    from soundsearch.model.evaluate import format_table
    from soundsearch.model.workflow import evaluate_models

    try:
        rows, n_items = evaluate_models(args.kind, args.path, args.model or ["default"],
                                        args.modes.split(",") if args.modes else None, args.split,
                                        args.device, on_progress=_progress)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows, title=f"{args.kind} {args.path} ({n_items} items)"))
    return 0


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
