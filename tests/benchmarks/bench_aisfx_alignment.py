"""Can aisfx's ``ucsMixed`` classes be named? Alignment with named sounds, checked on held-out ones.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_aisfx_alignment.py [--library ~/dev-library]

The ``ucsMixed`` head (69 classes, names not shipped) is aligned with UCS categories on the
training and validation packages of the dev library (soundsearch.model.taggers.align: each named
sound's weak UCS category from its caption, then per class the category with the highest lift).
On the held-out packages it prints how often a sound's most confident *named* class agrees with the
sound's own weak category, against always guessing the most common category. A vocabulary is worth
shipping (resources/models/taggers/aisfx-ucsMixed.json, read by soundsearch.model.taggers) only if
it beats that baseline clearly; it did not (2026-12-03: agreement 0.07-0.16 against a majority
baseline of 0.10-0.33 at similarity thresholds 0.45-0.55), so none ships.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from soundsearch import paths
from soundsearch.model import features
from soundsearch.model.api import new_model
from soundsearch.model.checkpoint import EncoderSpec
from soundsearch.model.datasets import library_items
from soundsearch.model.featureset import build_featureset, pad
from soundsearch.model.recipe import HELDOUT, Recipe
from soundsearch.model.taggers.aisfx_heads import load_heads
from soundsearch.model.taggers.align import align, weak_categories
from soundsearch.model.taggers.bridge import unit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", type=Path, default=Recipe().library)
    ap.add_argument("--thresholds", default="0.45,0.5,0.55")
    args = ap.parse_args()
    model = new_model(EncoderSpec("aisfx"), EncoderSpec("minilm"), device="cpu", dim=384)
    items = [it for it in library_items(args.library) if it.captions]
    fs = build_featureset(model, items, 30.0, only_cached=False)
    heads = load_heads()
    probs = []
    with torch.inference_mode():
        for i in range(0, len(fs), 128):
            seq, mask = pad(fs.seqs[i:i + 128])
            probs.append(heads(seq, mask, ("ucsMixed",))["ucsMixed"].numpy())
    probs = np.concatenate(probs)
    rows = json.loads((paths.resources_dir() / "ucs" / "ucs-8.2.1-en.json").read_text(encoding="utf-8"))
    row_vecs = unit(features.text_vectors(model, [
        f"{r['Category']} {r['SubCategory']} {' '.join(r.get('Synonyms') or [])}".lower() for r in rows]))
    captions = unit(features.text_vectors(model, [it.captions[0] for it in fs.items]))
    held = np.array([it.group in HELDOUT for it in fs.items])
    print(f"{len(fs)} named sounds, {held.sum()} of them held out")
    for tau in (float(t) for t in args.thresholds.split(",")):
        weak = weak_categories(captions, row_vecs, [r["Category"] for r in rows], tau)
        result = align(probs[~held], [w for w, h in zip(weak, held) if not h])
        named = {a.index: a.tag for a in result if a.tag}
        tags = sorted(set(named.values()))
        member = np.zeros((probs.shape[1], max(1, len(tags))))
        for c, t in named.items():
            member[c, tags.index(t)] = 1.0
        scores = probs @ member
        test = [i for i in np.where(held)[0] if weak[i]]
        guess = [tags[int(scores[i].argmax())].upper() if named else None for i in test]
        agree = np.mean([g == weak[i] for g, i in zip(guess, test)]) if test else 0.0
        common = Counter(weak[i] for i in test).most_common(1)
        base = common[0][1] / len(test) if common else 0.0
        print(f"threshold {tau}: {len(named)} of {probs.shape[1]} classes named ({len(tags)} categories); "
              f"held-out agreement {agree:.3f} on {len(test)} sounds, majority baseline {base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
