"""Retrieval quality of the default head on dev-library packages it never saw (prints tables).

    nice -n 10 .venv/bin/python tests/benchmarks/bench_quality.py [--library ~/dev-library] [--model DIR]

By default it scores the *measured* head that ``soundsearch train-default`` leaves in
``<models_dir>/default-measured`` (trained without the held-out and validation packages); the
shipped head may have seen the held-out packages (see its card), so it is not the one to measure.
Rows: the head in ``audio``, ``metadata`` and ``late`` modes, a keyword match over folder and file
names, and a random ranking. Query sets: ``names`` (the name words of each held-out class) and
``descriptive`` (hand-written, avoiding the files' words; data/heldout_queries.json). It also prints
audio-to-audio neighbour precision (P@1 of "similar" across the held-out files).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from soundsearch import paths
from soundsearch.model.api import load_for_eval
from soundsearch.model.datasets import library_items
from soundsearch.model.evaluate import format_table, multi_positive_metrics
from soundsearch.model.featureset import build_featureset, pad
from soundsearch.model.recipe import HELDOUT, Recipe, measure


def audio_neighbours(model, fs) -> dict[str, float]:
    """P@1 / MAP of audio-to-audio search among held-out files (relevant: same class, not itself),
    for raw mean-pooled encoder vectors and for the head's audio vectors."""
    labels = [it.labels[0] if it.labels else f"#{i}" for i, it in enumerate(fs.items)]
    rel = np.array([[a == b for b in labels] for a in labels])
    np.fill_diagonal(rel, False)
    out = {}
    raw = np.stack([s.astype(np.float32).mean(0) for s in fs.seqs])
    with torch.inference_mode():
        seq, mask = pad(fs.seqs)
        head = model.head.embed_audio(seq, mask).numpy()
    for name, vecs in (("mean-pooled aisfx", raw), ("head audio vector", head)):
        v = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        scores = v @ v.T
        np.fill_diagonal(scores, -np.inf)
        out[name] = multi_positive_metrics(scores, rel)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", type=Path, default=Recipe().library)
    ap.add_argument("--model", type=Path, default=paths.models_dir() / "default-measured")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (args.model / "config.json").is_file():
        print(f"no measured head at {args.model}: run `soundsearch train-default` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    model = load_for_eval(args.model, "cpu")
    held = model.config.training.get("heldout") or list(HELDOUT)
    items = library_items(args.library, groups=held)
    fs = build_featureset(model, items)
    print(f"model {model.model_id} ({args.model}); held-out packages: {', '.join(held)}; {len(fs)} files")
    print(f"trained on: {', '.join(model.config.training.get('packages', []))}\n")
    results = measure(model, model.head, fs, args.library)
    for set_name, rows in results.items():
        q = next(iter(rows.values()))["queries"]
        title = f"{set_name} queries ({q} queries)"
        print(format_table(rows, ["MAP", "mAP@10", "P@1", "P@10"], title=title))
        ratio = rows["audio"]["MAP"] / max(rows["random"]["MAP"], 1e-9)
        print(f"audio-only MAP = {ratio:.1f}x random\n")
    print(format_table(audio_neighbours(model, fs), ["P@1", "MAP", "P@10"],
                       title="audio-to-audio neighbours (same class, excluding the query file)"))
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
