"""Two soundsearch processes on one library: one writer at a time, readers always served, and no
save that forgets another writer's work (issue: two `index` runs on a new library died on a UNIQUE
constraint; an index job paused while another added files saved its older index over theirs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from search_helpers import make_library, write_sound

from soundsearch import paths
from soundsearch.jobs import run
from soundsearch.library.catalog import Catalog
from soundsearch.library.lock import WriterLock, lock_path

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


def _cli(*args: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen([sys.executable, "-m", "soundsearch", *args], stdout=subprocess.PIPE,
                            stderr=open(log, "w"), text=True, env=env)  # noqa: SIM115


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in log.read_text(errors="replace"):
            return
        assert proc.poll() is None, f"exited early: {log.read_text()}"
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never shown: {log.read_text()}")


def _finish(proc: subprocess.Popen, log: Path) -> str:
    out, _ = proc.communicate(timeout=120)
    err = log.read_text(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err
    return out


def test_a_second_writer_waits_and_says_for_whom(home, tmp_path):
    lib = make_library(tmp_path / "lib")
    holder = WriterLock(lock_path(paths.catalog_path()), "index")
    assert holder.try_acquire()
    log = tmp_path / "scan.err"
    proc = _cli("scan", str(lib), log=log)
    try:
        _wait_for(log, "waiting for another soundsearch to finish (pid", proc)
        assert f"pid {os.getpid()}, index" in log.read_text()
        with Catalog(paths.catalog_path()) as cat:
            assert cat.count() == 0  # nothing written while the other writer holds the library
    finally:
        holder.release()
    out = _finish(proc, log)
    assert "10 new" in out
    with Catalog(paths.catalog_path()) as cat:
        assert cat.count() == 10


def test_two_scans_of_a_new_library_at_once(home, tmp_path):
    lib = tmp_path / "lib"
    for n in range(120):
        write_sound(lib / f"f{n // 30}" / f"tone_{n:03d}.wav", 0.05, 8000, 1, 200.0 + n, seed=n)
    procs = [(_cli("scan", str(lib), log=tmp_path / f"{n}.err"), tmp_path / f"{n}.err") for n in range(2)]
    outs = [_finish(p, log) for p, log in procs]
    assert sorted(o.split(" new")[0].rsplit(" ", 1)[-1] for o in outs) == ["0", "120"]
    with Catalog(paths.catalog_path()) as cat:
        assert cat.count() == 120


def test_search_is_served_while_a_writer_works(indexed, model_dir, tmp_path):
    catalog, _, _ = indexed
    holder = WriterLock(lock_path(catalog.path), "index")
    assert holder.try_acquire()
    try:
        log = tmp_path / "search.err"
        out = _finish(_cli("search", "door", "-k", "3", "--model", model_dir, log=log), log)
    finally:
        holder.release()
    assert out.count("\n") >= 3 and "waiting" not in log.read_text()


def test_a_paused_index_job_does_not_drop_what_another_added(home, tmp_path, tiny_model, model_dir):
    """Index job A has loaded the index and is paused; a second `soundsearch index` adds files.
    A waits for nobody, the second waits for A; at the end every file is searchable."""
    from soundsearch.indexer import index_job
    from soundsearch.library.scanner import scan
    from soundsearch.search import SearchEngine

    lib = make_library(tmp_path / "lib")
    catalog = Catalog(paths.catalog_path())
    run(scan(catalog, [lib]))
    job = index_job(catalog, tiny_model)
    first = next(job)  # A holds the lock and has opened the index files
    assert first.stage == "index"
    for n in range(5):
        write_sound(lib / "new" / f"added_{n}.wav", 0.2, 16000, 1, 300.0 + 50 * n, seed=50 + n)
    log = tmp_path / "index.err"
    proc = _cli("index", "--model", model_dir, log=log)
    _wait_for(log, "waiting for another soundsearch", proc)
    run(job)  # A finishes and saves
    _finish(proc, log)
    engine = SearchEngine(catalog, tiny_model)
    assert catalog.count() == 15 and len(engine) == 15
    catalog.close()
