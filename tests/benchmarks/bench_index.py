"""Index benchmark: HNSW vs exact numpy search at 10k / 100k / 1M synthetic vectors.

Prints, per size: build time, memory per item, query latency p50/p99 (k=10 and k=100), recall@10
against the exact oracle at several ef, the same for exact search, and filtered search strategies
(hnswlib predicate vs over-fetch + post-filter vs exact over the allowed subset) at several
selectivities. Built indexes are kept under --cache so later runs only load them.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_index.py --sizes 10000,100000,1000000

``--parts start --model none``: the search engine's own start on a catalog of synthetic rows (no
vector index, no model): what it must read before the first worded result, the first worded query's
lexical part and the first filtered query, with the process's RSS after each.

Synthetic data: items scattered around many centres with a decaying spectrum (embeddings of real
sounds have low intrinsic dimension); queries are centres plus noise plus one fixed offset, like text
queries that sit off the audio items' manifold (the "modality gap").
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from soundsearch.index.exact import exact_knn, normalize, recall_at_k
from soundsearch.index.facets import LibraryTable
from soundsearch.index.hnsw import DEFAULT_EF_CONSTRUCTION, DEFAULT_M, VectorIndex, ef_for
from soundsearch.library.terms import tokenize
from soundsearch.model.pipeline import single_threaded_torch


def synthetic(n: int, dim: int, seed: int = 0, n_queries: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    n_centres = max(50, n // 500)
    spectrum = (1.0 / np.sqrt(1.0 + np.arange(dim) / 8.0)).astype(np.float32)
    centres = rng.standard_normal((n_centres, dim)).astype(np.float32) * spectrum
    gap = rng.standard_normal(dim).astype(np.float32) * spectrum * 0.5
    items = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # chunked: deterministic for any n, bounded temporaries
        r = np.random.default_rng(seed + start)
        m = min(100_000, n - start)
        items[start:start + m] = centres[r.integers(0, n_centres, m)] + 0.7 * spectrum * r.standard_normal(
            (m, dim), dtype=np.float32)
    r = np.random.default_rng(seed + 999_999_999)
    queries = centres[r.integers(0, n_centres, n_queries)] + gap + 0.7 * spectrum * r.standard_normal(
        (n_queries, dim), dtype=np.float32)
    return items, queries.astype(np.float32)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    times, out = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q[None, :]))
        times.append((time.perf_counter() - t) * 1000)
    return out, times


def pct(times: list[float]) -> str:
    return f"p50 {np.percentile(times, 50):7.2f} ms  p99 {np.percentile(times, 99):7.2f} ms"


def bench_size(n: int, dim: int, cache: Path, M: int, efc: int, n_queries: int, e2e=None,
               parts: str = "ann,filters,e2e", engines: str = "old,fts5") -> VectorIndex | None:
    if parts == "start":
        bench_start(n, cache, engines)
        return None
    print(f"\n=== {n:,} items, dim {dim}, M={M}, ef_construction={efc} ===", flush=True)
    items, queries = synthetic(n, dim, n_queries=n_queries)
    ids = np.arange(1, n + 1, dtype=np.int64)
    folder = cache / f"n{n}-d{dim}-M{M}-efc{efc}"
    before = rss_mb()
    index = VectorIndex(folder, dim, M=M, ef_construction=efc, model_id="bench")
    if index.load():
        print(f"loaded cached index from {folder}")
    else:
        t = time.perf_counter()
        index.rebuild(ids, items)
        build = time.perf_counter() - t
        index.save()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        print(f"build: {build:.1f} s wall ({n / build:,.0f} items/s, {os.cpu_count()} cores; "
              f"process CPU so far {cpu.ru_utime + cpu.ru_stime:.0f} s)")
    rss = rss_mb() - before
    file_size = index.index_path.stat().st_size
    print(f"memory: index file {file_size / n:.0f} B/item ({file_size / 2**20:.0f} MiB); "
          f"RSS growth {rss * 2**20 / n:.0f} B/item; raw float32 vector {4 * dim} B")

    vn = normalize(items)
    if "ann" in parts:
        bench_ann(index, ids, vn, queries, n)
    if "filters" in parts:
        bench_filters(index, ids, vn, queries[:100], n)
    if e2e is not None and "e2e" in parts:
        end_to_end(index, queries, n, cache, e2e)
    return index


def bench_ann(index: VectorIndex, ids: np.ndarray, vn: np.ndarray, queries: np.ndarray, n: int) -> None:
    exact10 = exact_knn(ids, vn, queries, 10, normalized=True)[0]
    _, t_exact = timed(lambda q: exact_knn(ids, vn, q, 10, normalized=True), queries[:50])
    print(f"exact numpy  k=10           {pct(t_exact)}  recall 1.000")
    for ef in sorted({32, 64, 100, 200, ef_for(n)}):
        res, times = timed(lambda q, ef=ef: index.knn(q, 10, ef=ef)[0][0], queries)
        mark = " <- default (ef_for(n))" if ef == ef_for(n) else ""
        print(f"hnsw ef={ef:<4}  k=10           {pct(times)}  recall@10 "
              f"{recall_at_k(np.array(res), exact10):.3f}{mark}")
    res, times = timed(lambda q: index.knn(q, 100)[0][0], queries)
    print(f"hnsw ef=max(ef,k) k=100     {pct(times)}  recall@10 of top-100 "
          f"{recall_at_k(np.array([r[:10] for r in res]), exact10):.3f}")


QUERIES = ["footsteps on gravel", "heavy wooden door slam, reverberant", "glass breaking", "dog barking",
           "rain on a tin roof", "distant thunder", "laser zap", "sword clash", "crowd cheering",
           "wind howling through trees", "small bell ding", "explosion with debris", "car engine idle",
           "birds chirping in the morning", "water dripping in a cave", "ui click", "magic spell whoosh",
           "metal creak", "horse galloping", "keyboard typing"]


def synthetic_texts(n: int, seed: int = 5) -> list[str]:
    """``n`` metadata texts of 6–14 words drawn Zipf-like from a sound-effects vocabulary (the query
    words first, so common query words have postings in the hundreds of thousands at 1M files)."""
    vocab = list(dict.fromkeys(" ".join(QUERIES).replace(",", "").split())) + [f"w{i}" for i in range(20_000)]
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    lengths = rng.integers(6, 15, n)
    words = rng.choice(len(vocab), int(lengths.sum()), p=p / p.sum())
    ends = np.cumsum(lengths)
    return [" ".join(vocab[w] for w in words[e - k:e]) for e, k in zip(ends, lengths)]


def synthetic_catalog(path: Path, n: int):
    """A catalog with ``n`` file rows (no audio behind them) whose metadata texts give BM25 realistic
    postings: the row look-up and lexical parts of a query."""
    from soundsearch.audio.probe import AudioInfo
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.metadata import Metadata

    fresh = not path.exists()
    catalog = Catalog(path)
    if fresh or catalog.count() != n:
        t = time.perf_counter()
        root = catalog.add_root("/synthetic-library")
        root_id = catalog.root_of(root)[0]
        info = AudioInfo(1.5, 48000, 2, 24, "wav", 72000, True)
        texts = synthetic_texts(n)
        for start in range(catalog.count(), n, 50_000):
            with catalog.transaction():
                for i in range(start, min(n, start + 50_000)):
                    catalog.write_file(None, root_id, f"/synthetic-library/f{i // 1000}/s{i}.wav".encode(),
                                       1000, 0, f"h{i}", info, None, Metadata(text=texts[i]))
        print(f"(synthetic catalog of {n:,} rows built in {time.perf_counter() - t:.0f} s)")
    return catalog


def end_to_end(index: VectorIndex, queries: np.ndarray, n: int, cache: Path, model) -> None:
    """text → query vector → knn (k=50) → BM25 candidates → catalog rows, one query at a time, each
    stage timed in the same loop: wall clock (what a user waits on this shared machine) and this
    thread's CPU time (what the work costs on a free core; torch runs single-threaded in this thread)."""
    catalog = synthetic_catalog(cache / f"catalog-texts-{n}.sqlite3", n)
    same_dim = model.dim == index.dim
    stages: dict[str, list[float]] = {"text encoder": [], "knn k=50": [], "fts5 top-100": [],
                                      "catalog rows": []}
    cpu: dict[str, list[float]] = {k: [] for k in stages}
    for i in range(len(queries)):
        text = f"{QUERIES[i % len(QUERIES)]} {i}"  # distinct texts: no cache effects anywhere
        marks = [(time.perf_counter(), time.thread_time())]
        q = model.embed_query([text])
        marks.append((time.perf_counter(), time.thread_time()))
        ids = index.knn(q if same_dim else queries[i:i + 1], 50)[0][0]
        marks.append((time.perf_counter(), time.thread_time()))
        catalog.lexical(tokenize(text), 100)  # the lexical half of search.py's blend (FTS5)
        marks.append((time.perf_counter(), time.thread_time()))
        hits = catalog.get_many(ids.tolist())
        marks.append((time.perf_counter(), time.thread_time()))
        assert len(hits) == 50
        for j, name in enumerate(stages):
            stages[name].append((marks[j + 1][0] - marks[j][0]) * 1000)
            cpu[name].append((marks[j + 1][1] - marks[j][1]) * 1000)
    stages["end to end"] = list(np.sum([stages[k] for k in cpu], axis=0))
    cpu["end to end"] = list(np.sum([cpu[k] for k in cpu], axis=0))
    note = "" if same_dim else f" (model dim {model.dim} ≠ index dim {index.dim}: knn on a synthetic vector)"
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"end to end, {len(queries)} queries{note}; load average {load}")
    for name in stages:
        print(f"  {name:<14} wall {pct(stages[name])}   CPU {pct(cpu[name])}")


FIRST_QUERY = "heavy wooden door slam"
FIRST_FILTER = "dur:<2 folder:f1 -door"


def bench_start(n: int, cache: Path, engines: str = "old,fts5") -> None:
    """Engine start → first worded result → first filtered result, in a fresh child process each
    (a second run in the same process would find the catalog's pages and Python's caches warm):
    "old" rebuilds what the engine built in memory before issue 15 (every row read as a FileRecord,
    BM25, filter words, facets), "fts5" is today's engine (the catalog's search tables)."""
    import subprocess

    path = cache / f"catalog-texts-{n}.sqlite3"
    t = time.perf_counter()
    synthetic_catalog(path, n).close()
    print(f"\n=== engine start, {n:,} catalog rows (catalog ready in {time.perf_counter() - t:.0f} s) ===",
          flush=True)
    for engine in engines.split(","):
        subprocess.run([sys.executable, __file__, "--start-child", str(path), "--engine", engine], check=True)


class OldEngine:
    """The pre-FTS5 start: the reference BM25 and the facet arrays built from every FileRecord."""

    def __init__(self, catalog) -> None:
        from bm25_reference import BM25

        from soundsearch.library.terms import doc_terms, facet_values, filter_terms

        docs, words, facets, ids = [], {}, [], []
        for rec in catalog.iter_files():
            ids.append(rec.id)
            docs.append((rec.id, doc_terms(rec)))
            facets.append((rec.duration, rec.sample_rate or 0, rec.channels or 0, *facet_values(rec)))
            for term in filter_terms(rec):
                words.setdefault(term, []).append(rec.id)
        self.bm25 = BM25().build(docs)
        self.words = {t: np.asarray(v, np.int64) for t, v in words.items()}
        self.table = LibraryTable(None)
        cols = list(zip(*facets))
        self.table.ids = np.asarray(ids, np.int64)
        names = ("duration", "sample_rate", "channels", "format", "parent", "name", "category", "keywords")
        for name, values in zip(names, cols):
            setattr(self.table, name, np.asarray(values, dtype=np.float64 if name == "duration" else None
                                                 if name in ("sample_rate", "channels") else object))
        self.table.rows_saying = lambda term: self.words.get(term, np.zeros(0, np.int64))

    def lexical(self, terms, n):
        ids, scores = self.bm25.top(terms, n)
        return ids, scores, self.bm25.ideal(terms)

    def named(self, term):
        return self.bm25.rows_with(term)

    def filtered(self, filters):
        return self.table.allowed(filters)


class FtsEngine:
    """Today's engine: nothing read at start; FTS5 per query; the ids and the facets a filter needs
    read on the first filter."""

    def __init__(self, catalog) -> None:
        self.catalog = catalog

    def lexical(self, terms, n):
        return self.catalog.lexical(terms, n)

    def named(self, term):
        return self.catalog.files_with_term(term)

    def filtered(self, filters):
        return LibraryTable.build(self.catalog).allowed(filters)


def start_child(path: Path, engine: str) -> None:
    from soundsearch.library.catalog import Catalog
    from soundsearch.search import LEXICAL_POOL, _query_name_terms, parse_query

    base = rss_mb()
    t0 = time.perf_counter()
    catalog = Catalog(path)
    lex = (OldEngine if engine == "old" else FtsEngine)(catalog)
    started = time.perf_counter()
    rss_start = rss_mb()
    free, _ = parse_query(FIRST_QUERY)
    terms = tokenize(free) + _query_name_terms(free)
    ids, scores, ideal = lex.lexical(terms, LEXICAL_POOL)
    _ = scores / max(ideal, 1e-9)
    exact = [lex.named(t) for t in _query_name_terms(free)]
    rows = catalog.get_many(ids[:50].tolist())
    first = time.perf_counter()
    rss_first = rss_mb()
    allowed = lex.filtered(parse_query(FIRST_FILTER)[1])
    filtered = time.perf_counter()
    times = []
    for i, text in enumerate(QUERIES):  # the lexical part of later queries (common words at 1M)
        t = time.perf_counter()
        lex.lexical(tokenize(f"{text} {i}"), LEXICAL_POOL)
        times.append((time.perf_counter() - t) * 1000)
    print(f"  {engine:<5} start {started - t0:6.2f} s   first query {first - started:6.3f} s "
          f"({len(rows)} rows, "
          f"{len(exact)} name terms)   start → first results {first - t0:6.2f} s   first filter "
          f"{filtered - first:6.3f} s ({len(allowed):,} pass)\n        later lexical top-{LEXICAL_POOL} "
          f"{pct(times)}")
    print(f"        RSS {base:.0f} MiB before, {rss_start:.0f} after start, {rss_first:.0f} after the first "
          f"query, {rss_mb():.0f} after the first filter", flush=True)


def bench_filters(index: VectorIndex, ids: np.ndarray, vn: np.ndarray, queries: np.ndarray, n: int) -> None:
    """Which way to combine a filter with the vector search (decides search.py's strategy)."""
    rng = np.random.default_rng(7)
    for sel in (0.5, 0.1, 0.01, 0.001):
        mask = rng.random(n) < sel
        allowed = ids[mask]
        if len(allowed) < 10:
            continue
        allowed_set = set(allowed.tolist())
        truth = exact_knn(allowed, vn[mask], queries, 10, normalized=True)[0]
        fetch = int(min(n, max(50, 10 / sel * 3)))
        strategies = {
            "product knn(ids)": lambda q, a=allowed: index.knn(q, 10, filter=a)[0][0],
            "hnswlib filter=": lambda q, s=allowed_set: index.knn(q, 10, filter=s.__contains__)[0][0],
            f"over-fetch {fetch:>6}": lambda q, s=allowed_set, f=fetch: np.array(
                [i for i in index.knn(q, f)[0][0] if i in s][:10]),
        }
        if len(allowed) <= 20_000:  # hnswlib's get_items costs ~30 µs per vector
            strategies["exact on subset"] = lambda q, a=allowed: exact_knn(a, index.get(a), q, 10,
                                                                         normalized=True)[0][0]
        for name, fn in strategies.items():
            res, times = timed(fn, queries)
            padded = np.array([np.pad(r, (0, 10 - len(r)), constant_values=-1) for r in res])
            print(f"  filter {sel:>6.1%} ({len(allowed):>7,} allowed) {name:<18} {pct(times)}  "
                  f"recall@10 {recall_at_k(padded, truth):.3f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--dim", type=int, default=384, help="retrieval-space dimension (the default head: 384)")
    p.add_argument("--M", type=int, default=DEFAULT_M)
    p.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--cache", type=Path, default=Path("/tmp/ss-bench-index"))
    p.add_argument("--parts", default="ann,filters,e2e", help="which measurements (comma-separated)")
    p.add_argument("--model", default="default", help='model for the end-to-end part ("none": skip it)')
    p.add_argument("--start-child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--engine", default="fts5", help=argparse.SUPPRESS)
    p.add_argument("--engines", default="old,fts5", help="--parts start: old (in-memory), fts5")
    args = p.parse_args(argv)
    if args.start_child:
        start_child(args.start_child, args.engine)
        return 0
    e2e = None
    if args.model != "none" and args.parts != "start":
        from soundsearch.model import load_model

        model = load_model(args.model, "cpu")
        single_threaded_torch()  # as SearchEngine does
        model.embed_query(["warm up"])
        e2e = model
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, args.dim, args.cache, args.M, args.ef_construction, args.queries, e2e, args.parts,
                   args.engines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
