"""Start-up of the desktop app on an indexed library: launch → window → first results → results
ranked by the model, and the memory at each step, with the page cache cold and warm.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_startup.py [--files 100000] [--runs 2]
    nice -n 10 .venv/bin/python tests/benchmarks/bench_startup.py --home ~/.local/share/soundsearch

Without --home it builds a library of --files tiny generated WAVs (bench_scan.py's tree), scans it
and gives every file a random vector for the real default model (timing only: the ranking means
nothing), so that the catalog and the three index files have their real sizes; the first build
takes minutes and is reused. Each run launches ``python -m soundsearch`` offscreen with
SOUNDSEARCH_STARTUP_PROBE set to the query, which prints the times since process start. "Cold" asks
the kernel to drop the cached pages of the catalog, the index files, the model and the Python
environment (posix_fadvise; files in use by other processes may stay cached). Targets: window
≤ 1 s, first results ≤ 2 s at 100,000 files. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import generate_tree  # noqa: E402

from soundsearch import paths  # noqa: E402
from soundsearch.jobs import run  # noqa: E402


def build_home(home: Path, tree: Path, files: int) -> None:
    """Scan the generated tree into ``home`` and store random vectors for the default model."""
    from soundsearch.indexer import index_job
    from soundsearch.library.catalog import Catalog, EmbeddingRow
    from soundsearch.session import Session, load_settings_model
    from soundsearch.settings import Settings

    os.environ["SOUNDSEARCH_HOME"] = str(home)
    if (home / ".complete").exists():
        return
    generate_tree(tree, files)
    started = time.monotonic()
    session = Session(Settings())
    run(session.update_job(roots=[tree], index=False, near_copies=False))
    print(f"  scanned {files:,} files in {time.monotonic() - started:.0f} s", flush=True)
    model = load_settings_model(session.settings)
    rng = np.random.default_rng(0)
    with Catalog(paths.catalog_path()) as catalog:
        pending = catalog.pending_embeddings(model.model_id)
        for start in range(0, len(pending), 5000):
            batch = pending[start:start + 5000]
            vecs = rng.standard_normal((len(batch), 2, model.dim)).astype(np.float32)
            catalog.store_embeddings(model.model_id, [
                EmbeddingRow(r.id, vecs[n, 0], vecs[n, 1], r.content_hash, r.metadata.text)
                for n, r in enumerate(batch)])
        started = time.monotonic()
        result = run(index_job(catalog, model, session.settings))  # builds the index files
    print(f"  {result.items:,} items indexed in {time.monotonic() - started:.0f} s", flush=True)
    (home / ".complete").touch()


def drop_cache(folders: list[Path]) -> int:
    """Ask the kernel to forget the cached pages of every file under ``folders``; returns the count."""
    n = 0
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                try:
                    fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    n += 1
                finally:
                    os.close(fd)
    return n


def launch(home: Path, query: str, timeout: float) -> dict[str, tuple[float, float]]:
    """One start of the app; stage → (seconds since process start, RSS MB)."""
    env = dict(os.environ, SOUNDSEARCH_HOME=str(home), SOUNDSEARCH_STARTUP_PROBE=query,
               QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "soundsearch"], env=env, capture_output=True, text=True,
                         timeout=timeout)
    stages = {}
    for line in out.stderr.splitlines():
        m = re.match(r"startup: (window usable|first results|model-ranked results).*?after ([\d.]+) s, "
                     r"RSS (\d+) MB", line)
        if m:
            stages[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    if "model-ranked results" not in stages:
        print(out.stderr[-2000:], file=sys.stderr)
    return stages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--home", type=Path, help="an indexed SOUNDSEARCH_HOME to start on (default: built)")
    ap.add_argument("--tree", type=Path, default=Path(tempfile.gettempdir()) / "soundsearch-bench-tree")
    ap.add_argument("--query", default="door slam")
    ap.add_argument("--runs", type=int, default=2, help="runs per cache state")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args(argv)
    home = args.home
    if home is None:
        home = Path(tempfile.gettempdir()) / f"soundsearch-bench-startup-{args.files}"
        build_home(home, args.tree / str(args.files), args.files)
    os.environ["SOUNDSEARCH_HOME"] = str(home)
    from soundsearch.model.api import default_model_dir  # the weights the app will read

    env_lib = Path(sysconfig.get_paths()["purelib"])
    cold_folders = [paths.data_dir(), default_model_dir(), env_lib, Path(sys.base_prefix) / "lib"]
    print(f"library: {home} ({args.query!r}); times from process start, RSS in MB")
    for state in ("cold", "warm"):
        for n in range(args.runs):
            if state == "cold":
                drop_cache(cold_folders)
            elif n == 0:
                launch(home, args.query, args.timeout)  # fills the cache
            stages = launch(home, args.query, args.timeout)
            row = "  ".join(f"{stage} {t:5.2f} s ({rss:.0f} MB)" for stage, (t, rss) in stages.items())
            print(f"{state} #{n + 1}: {row}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
