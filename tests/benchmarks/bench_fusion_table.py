"""The paper's Table I on the dev library: audio-only vs late vs mid fusion, on held-out packages.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_fusion_table.py [--layers 1] [--threads 1]

Trains one head per fusion mode with the default recipe's data split and settings (the pooling
transformer is needed for mid fusion, so all three use ``--layers`` transformer layers), then
scores each on the held-out packages' two query sets. Encoder outputs come from the feature cache
that ``soundsearch train-default`` fills; a first run encodes the library (tens of minutes on CPU).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time

import torch

from soundsearch.jobs import run
from soundsearch.model import features
from soundsearch.model.api import new_model
from soundsearch.model.checkpoint import EncoderSpec
from soundsearch.model.datasets import library_items
from soundsearch.model.evaluate import format_table, multi_positive_metrics
from soundsearch.model.featureset import build_featureset, score_matrix
from soundsearch.model.heads import calibrate_fusion, scale_metadata
from soundsearch.model.hybrid import HybridModel
from soundsearch.model.recipe import VALIDATION_QUERIES, Recipe, descriptive_queries, split
from soundsearch.model.scoring import label_queries
from soundsearch.model.train import train_head


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    recipe = Recipe()
    items = library_items(recipe.library)
    train_items, val_items, held_items = split(items, recipe)
    head_kw = dict(recipe.head)
    head_kw["pool"] = dataclasses.replace(head_kw["pool"], layers=args.layers)
    model = new_model(EncoderSpec("aisfx"), EncoderSpec("minilm"), device="cpu", **head_kw)
    fs_train = build_featureset(model, [it for it in train_items if it.captions])
    fs_val, fs_held = build_featureset(model, val_items), build_featureset(model, held_items)
    vt, vrel = descriptive_queries(fs_val, recipe.library, VALIDATION_QUERIES)
    val_queries = (features.text_vectors(model, vt), vrel)
    names, rel_names = label_queries(fs_held)
    texts, rel_desc = descriptive_queries(fs_held, recipe.library)
    sets = {"names": (features.text_vectors(model, names), rel_names),
            "descriptive": (features.text_vectors(model, texts), rel_desc)}
    rows = {}
    for fusion, label in (("audio", "audio-only"), ("late", "late fusion"), ("mid", "mid fusion")):
        started = time.monotonic()
        cfg = dataclasses.replace(model.config.head, fusion=fusion)
        # Mid fusion trains its own query side (gated embedding units); freezing applies to the
        # projections the other modes use.
        train_cfg = dataclasses.replace(recipe.train, epochs=args.epochs, select_mode=None,
                                        freeze=recipe.train.freeze if fusion != "mid" else ())
        result = run(train_head(HybridModel(cfg), fs_train, fs_val, train_cfg, "cpu", val_queries))
        heads = {label: result.head}
        if fusion == "late":  # as the default recipe does: metadata weight chosen on validation
            weight, _ = calibrate_fusion(result.head, fs_val, [val_queries, None])
            heads[f"late fusion, weight {weight:g}"] = scale_metadata(copy.deepcopy(result.head), weight)
        for name, head in heads.items():
            row = {}
            for set_name, (vecs, relevant) in sets.items():
                m = multi_positive_metrics(score_matrix(head, fs_held, vecs), relevant)
                row[f"{set_name} MAP"], row[f"{set_name} mAP@10"] = m["MAP"], m["mAP@10"]
            rows[name] = row
        print(f"{label}: best epoch {result.best_epoch}, {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(format_table(rows, title=f"Table I shape: held-out packages {', '.join(recipe.heldout)}; "
                                   f"{len(fs_held)} files; pooling layers {args.layers}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
