"""Retrieval quality through the product path (scan → index → SearchEngine) on held-out packages.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_retrieval.py [--model DIR] [--library DIR]

The packages the model never trained on (its card's "heldout", else soundsearch.model.recipe.HELDOUT)
are indexed twice, each in its own SOUNDSEARCH_HOME: "named" (the files under their own folders and
names) and "opaque" (the same audio hard-linked under hex names in one flat folder, so only the
audio and any embedded tags are left). Query sets as in bench_quality.py: ``names`` (the name words
of each held-out class; relevant = files of that class) and ``descriptive`` (hand-written, avoiding
the files' words: data/heldout_queries.json). Rows: hybrid with several BM25 blend weights, audio,
metadata, the keyword baseline (evaluate.keyword_scores over path words) and random; metrics from
soundsearch.model.evaluate. Also: "typed a file name" — the share of file stems that rank first.

``--lexical-only``: no model, no index job: the named files are scanned into a catalog and ranked by
the lexical part alone, the catalog's FTS5 index (what search.py blends) beside the in-memory BM25
it replaced (bm25_reference.py), over the same rows' terms, with the same query sets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def link_tree(pairs: list[tuple[Path, Path]]) -> None:
    for src, dst in pairs:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:  # another file system: copy
            shutil.copy2(src, dst)


def build_engine(home: Path, root: Path, model, weight: float):
    os.environ["SOUNDSEARCH_HOME"] = str(home)
    from soundsearch import paths
    from soundsearch.indexer import index_job
    from soundsearch.jobs import run
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.scanner import scan
    from soundsearch.search import SearchEngine
    from soundsearch.settings import Settings

    catalog = Catalog(paths.catalog_path())
    run(scan(catalog, [root]))
    result = run(index_job(catalog, model, Settings()))
    print(f"  {root.name}: {result.files} files indexed in {result.seconds:.0f} s "
          f"({result.realtime_factor:.0f}x real time)", flush=True)
    return catalog, SearchEngine(catalog, model, Settings(lexical_weight=weight))


def score_matrix(engine, queries: list[str], ids: list[int], mode: str, weight: float) -> np.ndarray:
    """Scores [Q, N] from full rankings (files a mode cannot rank get -inf)."""
    engine.settings.lexical_weight = weight
    col = {fid: j for j, fid in enumerate(ids)}
    out = np.full((len(queries), len(ids)), -np.inf)
    for qi, text in enumerate(queries):
        hits = engine.search(text, k=len(ids), mode=mode)
        for rank, h in enumerate(hits):
            out[qi, col[h.file_id]] = len(hits) - rank  # rank order (scores mix cosine and boosts)
    return out


def lexical_only(items, rel: list[str], root: Path, home: Path, query_sets: dict) -> None:
    """MAP of the lexical ranking alone: the old in-memory BM25 and the catalog's FTS5 index."""
    os.environ["SOUNDSEARCH_HOME"] = str(home)
    from bm25_reference import BM25

    from soundsearch import paths
    from soundsearch.jobs import run
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.scanner import scan
    from soundsearch.library.terms import doc_terms, tokenize
    from soundsearch.model.evaluate import format_table, multi_positive_metrics, random_baseline
    from soundsearch.search import _query_name_terms, _typing

    catalog = Catalog(paths.catalog_path())
    run(scan(catalog, [root]))
    col = {str(r.path.relative_to(root)): r.id for r in catalog.iter_files()}
    ids = [col[r] for r in rel]
    pos = {fid: j for j, fid in enumerate(ids)}
    old = BM25().build([(r.id, doc_terms(r)) for r in catalog.get_many(ids)])
    old_col = np.array([pos[i] for i in old.ids.tolist()])
    print(f"\n### lexical ranking only ({len(ids)} named files scanned into a catalog; no model)")
    for set_name, (texts, relevant) in query_sets.items():
        mats = {name: np.zeros((len(texts), len(ids))) for name in
                ("old in-memory BM25", "FTS5 bm25() (as search.py)", "FTS5, no prefix")}
        for qi, text in enumerate(texts):
            terms = tokenize(text)
            full = terms + _query_name_terms(text)
            mats["old in-memory BM25"][qi, old_col] = old.scores(full) / max(old.ideal(full), 1e-9)
            for name, prefix in (("FTS5 bm25() (as search.py)", _typing(text, terms)),
                                 ("FTS5, no prefix", None)):
                got, scores, ideal = catalog.lexical(full, len(ids), prefix)
                mats[name][qi, [pos[i] for i in got.tolist()]] = scores / max(ideal, 1e-9)
        rows = {name: multi_positive_metrics(m, relevant) for name, m in mats.items()}
        rows["random"] = random_baseline(relevant)
        title = f"lexical only / {set_name} queries ({len(texts)} queries)"
        print(format_table(rows, ["MAP", "mAP@10", "P@1", "P@10"], title=title), "\n", flush=True)
    catalog.close()


def main(argv: list[str] | None = None) -> int:
    from soundsearch import paths
    from soundsearch.model.api import load_model
    from soundsearch.model.datasets import library_items
    from soundsearch.model.evaluate import (
        format_table,
        keyword_scores,
        multi_positive_metrics,
        random_baseline,
    )
    from soundsearch.model.recipe import HELDOUT, dev_library_default

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, default=dev_library_default())
    ap.add_argument("--model", default=None, help="model folder (default: the measured head, else default)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ss-bench-retrieval"))
    ap.add_argument("--weights", default="0,0.1,0.3,0.5", help="BM25 blend weights to compare")
    ap.add_argument("--norms", default="query,max", help="BM25 normalisations (search.LEXICAL_NORM)")
    ap.add_argument("--conditions", default="named,opaque")
    ap.add_argument("--fresh", action="store_true", help="rebuild the linked libraries and their indexes")
    ap.add_argument("--lexical-only", action="store_true",
                    help="only the lexical ranking: FTS5 beside the old BM25")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    spec = args.model
    if spec is None:
        measured = paths.models_dir() / "default-measured"
        spec = str(measured) if (measured / "config.json").is_file() else "default"
    if args.lexical_only:
        model, held = None, list(HELDOUT)
        print(f"held-out packages: {', '.join(held)}")
    else:
        model = load_model(spec, "cpu")
        held = list(model.config.training.get("heldout") or HELDOUT)
        print(f"model {model.model_id} ({spec}); held-out packages: {', '.join(held)}")

    items = library_items(args.library, groups=held)
    rel = [str(it.audio.relative_to(args.library)) for it in items]
    if args.fresh and args.work.exists():
        shutil.rmtree(args.work)
    named_root, opaque_root = args.work / "named", args.work / "opaque"
    opaque_name = {r: hashlib.sha1(r.encode()).hexdigest()[:12] + Path(r).suffix.lower() for r in rel}
    link_tree([(it.audio, named_root / r) for it, r in zip(items, rel)])
    link_tree([(it.audio, opaque_root / opaque_name[r]) for it, r in zip(items, rel)])

    labels = sorted({lab for it in items for lab in it.labels})
    name_rel = np.array([[lab in it.labels for it in items] for lab in labels], bool)
    desc = json.loads((HERE / "data" / "heldout_queries.json").read_text(encoding="utf-8"))["queries"]
    desc_texts = [q["text"] for q in desc]
    desc_rel = np.array([[bool(re.search(q["relevant"], r.lower())) for r in rel] for q in desc], bool)
    query_sets = {"names": (labels, name_rel), "descriptive": (desc_texts, desc_rel)}
    weights = [float(w) for w in args.weights.split(",")]
    if args.lexical_only:
        lexical_only(items, rel, named_root, args.work / "home-lexical", query_sets)
        print(f"({time.monotonic() - started:.0f} s)")
        return 0

    import soundsearch.search as search_module

    for condition, root in (("named", named_root), ("opaque", opaque_root)):
        if condition not in args.conditions.split(","):
            continue
        print(f"\n### {condition} files ({len(items)} files)", flush=True)
        catalog, engine = build_engine(args.work / f"home-{condition}", root, model, weights[0])
        path_of_id = {r.id: str(r.path.relative_to(root)) for r in catalog.iter_files()}
        # columns follow `items`; map each catalog id to its item's column
        key = {(r if condition == "named" else opaque_name[r]): j for j, r in enumerate(rel)}
        ids_by_col = [0] * len(items)
        for fid, p in path_of_id.items():
            ids_by_col[key[p]] = fid
        words = [re.sub(r"[^A-Za-z0-9]+", " ", p) for p in (rel if condition == "named"
                                                           else [opaque_name[r] for r in rel])]
        for set_name, (texts, relevant) in query_sets.items():
            rows = {}
            for norm in args.norms.split(","):
                search_module.LEXICAL_NORM = norm
                for w in weights:
                    if w == 0 and norm != args.norms.split(",")[0]:
                        continue  # no blend: the normalisation does not matter
                    name = f"hybrid bm25={w:g}" + (f" /{norm}" if w else "")
                    rows[name] = multi_positive_metrics(score_matrix(engine, texts, ids_by_col, "hybrid", w),
                                                        relevant)
            for mode in ("audio", "metadata"):
                if not len(engine.lib[{"audio": "sounds", "metadata": "meta"}[mode]]):
                    print(f"({mode}: no file has a vector in this mode)")
                    continue
                scores = score_matrix(engine, texts, ids_by_col, mode, 0)
                rows[mode] = multi_positive_metrics(scores, relevant)
            rows["keyword (path words)"] = multi_positive_metrics(keyword_scores(texts, words), relevant)
            rows["random"] = random_baseline(relevant)
            q = next(iter(rows.values()))["queries"]
            print(format_table(rows, ["MAP", "mAP@10", "P@1", "P@10"],
                               title=f"{condition} / {set_name} queries ({q} queries)"), "\n", flush=True)
        if condition == "named":
            exact_name_check(engine, catalog, weights)
        catalog.close()
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


def exact_name_check(engine, catalog, weights: list[float], n: int = 150) -> None:
    """Typed a file's name: share ranked first, with and without the exact-name rule."""
    import soundsearch.search as search_module

    records = list(catalog.iter_files())
    rng = np.random.default_rng(0)
    sample = [records[i] for i in rng.choice(len(records), min(n, len(records)), replace=False)]
    boost = search_module.EXACT_BOOST
    for label, b in (("exact-name rule on", boost), ("exact-name rule off", 0.0)):
        search_module.EXACT_BOOST = b
        for w in weights:
            engine.settings.lexical_weight = w
            top1 = np.mean([(engine.search(r.path.stem, k=1) or [None])[0].file_id == r.id for r in sample])
            print(f"typed the file name ({len(sample)} files), {label}, bm25={w:g}: top-1 {top1:.3f}")
    search_module.EXACT_BOOST = boost


if __name__ == "__main__":
    sys.exit(main())
