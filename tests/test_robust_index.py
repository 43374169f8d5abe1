"""Damaged index files never crash a search: any changed byte is caught before hnswlib reads the
graph, and the index is rebuilt from the catalog's stored vectors (issue: a damaged neighbour list
in the middle of items.hnsw passed the sampled checksum and crashed every search with SIGSEGV).

Each damaged index is opened in a child process: a crash there fails the test instead of pytest."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from soundsearch.index.hnsw import VectorIndex

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed

DIM = 32

CHILD = textwrap.dedent("""
    import sys, numpy as np
    from soundsearch.index.hnsw import VectorIndex
    rng = np.random.default_rng(1)
    ids = np.arange(1, 1201, dtype=np.int64)
    vecs = rng.standard_normal((1200, {dim})).astype(np.float32)
    index = VectorIndex.open(sys.argv[1], {dim}, "m", source=lambda: (ids, vecs))
    got, _ = index.knn(vecs[:20], 5)
    assert (got[:, 0] == ids[:20]).all(), got[:, 0]
    print("PROBLEM:", index.problem)
""")


def _build(folder) -> VectorIndex:
    rng = np.random.default_rng(1)
    index = VectorIndex(folder, DIM, model_id="m")
    index.add(np.arange(1, 1201), rng.standard_normal((1200, DIM)).astype(np.float32))
    index.save()
    return index


def _open_in_child(folder) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD.format(dim=DIM), str(folder)], capture_output=True,
                          text=True, timeout=120)


def _bad_links(path) -> None:
    """Link count 32 and neighbour ids far past the end for three elements in the middle of the file."""
    data = bytearray(path.read_bytes())
    per_element = struct.unpack_from("<Q", data, 24)[0]  # size_data_per_element_
    offset_level0 = 96  # hnswlib 0.8: the level-0 block follows the fixed header
    for i in range(600, 603):
        at = offset_level0 + i * per_element
        struct.pack_into("<I", data, at, 32)
        struct.pack_into("<8I", data, at + 4, *([0x7FFFFFF0] * 8))
    path.write_bytes(bytes(data))


def _ff_block(path) -> None:
    data = bytearray(path.read_bytes())
    data[66000:71000] = b"\xff" * 5000
    path.write_bytes(bytes(data))


def _one_bit(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 + 7] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_bad_links, _ff_block, _one_bit], ids=["links", "ff-block", "one-bit"])
def test_damage_anywhere_in_the_index_file_is_rebuilt_not_crashed(tmp_path, damage):
    index = _build(tmp_path)
    assert index.index_path.stat().st_size > 200_000  # the damage lands outside the first 64 KiB
    damage(index.index_path)
    first = _open_in_child(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "PROBLEM: index file items.hnsw damaged" in first.stdout
    # the rebuilt index was saved: the next open finds it whole (the damage did not stay)
    second = _open_in_child(tmp_path)
    assert second.returncode == 0 and "PROBLEM: None" in second.stdout


def test_an_index_from_the_sampled_checksum_era_is_rebuilt_once(tmp_path, caplog):
    index = _build(tmp_path)
    meta = index.meta_path.read_text()
    index.meta_path.write_text(meta.replace('"digest_kind": "sha256"', '"digest_kind": "sampled"'))
    again = VectorIndex(tmp_path, DIM, model_id="m")
    assert not again.load() and again.problem.startswith("saved by an older soundsearch")


def test_a_reader_does_not_save_over_a_working_writer(tmp_path, indexed):
    """search rebuilds a damaged index in memory; it saves it only when no writer holds the lock."""
    from soundsearch import paths
    from soundsearch.library.lock import WriterLock, lock_path
    from soundsearch.search import SearchEngine

    catalog, model, _ = indexed
    items = paths.index_dir() / "items.hnsw"
    _one_bit(items)
    damaged = items.read_bytes()
    taken, done = threading.Event(), threading.Event()

    def writer():  # another thread stands for the other process (the lock is re-entrant per thread)
        lock = WriterLock(lock_path(catalog.path), "index")
        assert lock.try_acquire()
        taken.set()
        done.wait(60)
        lock.release()

    thread = threading.Thread(target=writer)
    thread.start()
    taken.wait(10)
    try:
        engine = SearchEngine(catalog, model)
        assert "items" in engine.problems and len(engine) == catalog.count()
        assert items.read_bytes() == damaged  # left for the writer
    finally:
        done.set()
        thread.join()
    SearchEngine(catalog, model)
    assert items.read_bytes() != damaged  # no writer: the reader saved the rebuilt index
    assert not SearchEngine(catalog, model).problems
