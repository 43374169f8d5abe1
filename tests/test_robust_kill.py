"""kill -9 at several points of a scan and an index job: no process left behind, no lock left
held, nothing committed lost, no temp file left, and the next run finishes the work.

(Issue: after a kill -9 during a big scan two worker processes stayed blocked forever; .tmp index
files from a kill during a save were never removed; vectors committed before a kill were not
searchable until the next ``index``.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from library_fixtures import wav_bytes
from search_helpers import index, make_library, scan, write_sound

from soundsearch import paths
from soundsearch.library.catalog import Catalog

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _cli(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen([sys.executable, "-m", "soundsearch", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _count(sql: str) -> int:
    try:
        db = sqlite3.connect(f"file:{paths.catalog_path()}?mode=ro", uri=True, timeout=0.2)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _wait(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_kill_during_a_big_scan_leaves_no_worker_and_resumes(home, tmp_path):
    lib = tmp_path / "lib"
    data = wav_bytes(0.05)
    for n in range(1200):
        folder = lib / f"f{n // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"tone_{n:04d}.wav").write_bytes(data[:-2] + n.to_bytes(2, "little"))
    proc = _cli("scan", str(lib), "--processes", "2")
    _wait(lambda: len(_children(proc.pid)) >= 2 and _count("SELECT count(*) FROM files") > 0)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait(lambda: not any(_alive(w) for w in workers), timeout=10)  # they leave by themselves
    with Catalog(paths.catalog_path()) as cat:  # the lock went with the killed process: no wait
        result = scan(cat, lib)
        assert cat.count() == 1200 and len(result.added) + result.unchanged == 1200


def test_kill_during_index_loses_nothing_committed(home, tmp_path, tiny_model, model_dir):
    from soundsearch.search import SearchEngine

    tiny_model.taggers = []  # as the CLI loads the saved head: no tagger that has heard nothing yet
    lib = tmp_path / "lib"
    for n in range(400):
        write_sound(lib / f"g{n // 50}" / f"tone_{n:03d}.wav", 0.25, 16000, 1, 100.0 + 7 * n, seed=n)
    with Catalog(paths.catalog_path()) as cat:
        scan(cat, lib)
    proc = _cli("index", "--no-scan", "--batch", "2", "--model", model_dir)
    _wait(lambda: _count("SELECT count(*) FROM embeddings") >= 20)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = _count("SELECT count(*) FROM embeddings")
    index_dir = paths.index_dir()
    index_dir.mkdir(parents=True, exist_ok=True)
    (index_dir / ".items.hnsw.killed.tmp").write_bytes(b"half a save")  # as a kill mid-save leaves
    with Catalog(paths.catalog_path()) as cat:
        # a reader sees every committed vector at once, without another index run
        assert len(SearchEngine(cat, tiny_model)) >= committed >= 20
        result = index(cat, tiny_model)
        assert result.items == 400 and result.files == 400 - committed
        ids, audio, _, _ = cat.load_embeddings(tiny_model.model_id)
    assert not list(index_dir.glob("*.tmp")) and not list(index_dir.glob(".*.tmp"))
    # the vectors are those a run without a kill computes
    with Catalog(tmp_path / "clean.sqlite3") as clean:
        scan(clean, lib)
        index(clean, tiny_model, index_dir=tmp_path / "clean-index")
        ids2, audio2, _, _ = clean.load_embeddings(tiny_model.model_id)
    by_path = {r.path: r.id for r in Catalog(paths.catalog_path()).iter_files()}
    by_path2 = {r.path: r.id for r in Catalog(tmp_path / "clean.sqlite3").iter_files()}
    row, row2 = dict(zip(ids.tolist(), audio)), dict(zip(ids2.tolist(), audio2))
    assert all(np.allclose(row[by_path[p]], row2[by_path2[p]], atol=1e-5) for p in by_path)


def test_a_suspended_index_job_s_commits_are_searchable(indexed, tiny_model):
    """Between a batch commit and the next save (where a kill would land), search already sees it."""
    from soundsearch.indexer import index_job
    from soundsearch.search import SearchEngine

    catalog, model, lib = indexed
    make_library(lib / "more", {f"extra_{n}.wav": (0.3, 16000, 1, 300.0 + 90 * n) for n in range(6)})
    scan(catalog, lib)
    job = index_job(catalog, model, batch_size=2)
    for progress in job:
        if progress.stage == "index" and progress.done >= 2:
            break  # suspended after committing a batch, before any save
    engine = SearchEngine(catalog, model)
    assert len(engine) >= 12
    job.close()
