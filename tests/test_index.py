"""The HNSW wrapper against the exact oracle, and its persistence (save, load, repair, grow, delete)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from soundsearch.index.exact import ExactIndex, exact_knn, recall_at_k
from soundsearch.index.hnsw import VectorIndex, ef_for

DIM = 32


def clustered(n: int, dim: int = DIM, seed: int = 0, clusters: int = 40) -> np.ndarray:
    """Vectors around a few centres, like embeddings of a sound library (random Gaussians in high
    dimension are a harder, less realistic case)."""
    centres = np.random.default_rng(0).standard_normal((clusters, dim))  # one "library" for all seeds
    rng = np.random.default_rng(seed + 1)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim))
    return x.astype(np.float32)


@pytest.fixture
def data():
    ids = np.arange(1, 4001, dtype=np.int64) * 3  # catalog ids: sparse, not 0..n-1
    return ids, clustered(len(ids))


def test_exact_oracle_matches_numpy(data):
    ids, vecs = data
    q = clustered(5, seed=9)
    got_ids, got_s = ExactIndex(ids, vecs).knn(q, 10)
    vn = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    sims = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ vn.T
    want = ids[np.argsort(-sims, axis=1)[:, :10]]
    assert (got_ids == want).all()
    assert np.allclose(got_s, np.sort(sims, axis=1)[:, ::-1][:, :10], atol=1e-5)
    # blocked scan gives the same answer as one block
    assert (exact_knn(ids, vecs, q, 10, block=333)[0] == want).all()


def test_recall_vs_oracle_at_default_ef(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM, model_id="m")
    index.add(ids, vecs)
    q = clustered(200, seed=5)
    got, scores = index.knn(q, 10)
    want, want_s = ExactIndex(ids, vecs).knn(q, 10)
    assert recall_at_k(got, want, 10) >= 0.98, f"recall at ef={index.query_ef(10)}"
    assert np.allclose(scores[:, 0], want_s[:, 0], atol=1e-4)  # scores are cosine similarities
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


def test_query_ef_grows_with_the_index(tmp_path):
    assert ef_for(1_000) == ef_for(100_000) == 64 and ef_for(1_000_000) == 200
    index = VectorIndex(tmp_path, DIM)
    assert index.query_ef(10) == 64 and index.query_ef(300) == 300 and index.query_ef(10, ef=99) == 99
    assert index.query_ef(10, selectivity=0.01) == 64  # a small index: as without a filter


def test_save_load_round_trip(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM, model_id="m")
    index.add(ids, vecs)
    index.mark_deleted(ids[:10])
    index.save()
    meta = json.loads((tmp_path / "items.json").read_text())
    assert meta["space"] == "cosine" and meta["dim"] == DIM and meta["model_id"] == "m"
    assert {"M", "ef_construction", "ef", "count"} <= meta.keys()

    again = VectorIndex(tmp_path, DIM, model_id="m")
    assert again.load(), again.problem
    assert len(again) == len(ids) - 10 and ids[0] not in again and ids[10] in again
    q = clustered(20, seed=3)
    assert (again.knn(q, 10)[0] == index.knn(q, 10)[0]).all()
    assert not set(again.knn(q, 50)[0].ravel().tolist()) & set(ids[:10].tolist())


@pytest.mark.parametrize("damage", ["garbage", "truncate", "meta", "missing_index", "model"])
def test_damaged_or_stale_index_is_rebuilt_from_source(tmp_path, data, damage, caplog):
    caplog.set_level(logging.INFO)  # a model change is logged at INFO, damage at WARNING
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM, model_id="m")
    index.add(ids, vecs)
    index.save()
    f = tmp_path / "items.hnsw"
    model_id = "m"
    if damage == "garbage":
        raw = bytearray(f.read_bytes())
        raw[:64] = b"\xff" * 64
        f.write_bytes(bytes(raw))
    elif damage == "truncate":
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif damage == "meta":
        (tmp_path / "items.json").write_text("{not json")
    elif damage == "missing_index":
        f.unlink()
    else:
        model_id = "other-model"
    calls = []

    def source():
        calls.append(1)
        return ids, vecs

    again = VectorIndex.open(tmp_path, DIM, model_id, source=source)
    assert calls == [1] and again.problem and len(again) == len(ids)
    assert "rebuilt" in caplog.text
    # and the repaired files now load cleanly
    assert VectorIndex(tmp_path, DIM, model_id=model_id).load()


def test_open_without_files_builds_from_source_quietly(tmp_path, data, caplog):
    ids, vecs = data
    index = VectorIndex.open(tmp_path / "new", DIM, "m", source=lambda: (ids[:5], vecs[:5]))
    assert len(index) == 5 and index.problem == "missing" and "rebuilt" not in caplog.text


def test_grows_past_capacity(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM)
    assert index.capacity < len(ids)
    for start in range(0, len(ids), 700):
        index.add(ids[start:start + 700], vecs[start:start + 700])
    assert len(index) == len(ids) and index.capacity >= len(ids)
    got = index.knn(vecs[:20], 1)[0][:, 0]
    assert (got == ids[:20]).mean() >= 0.95  # an item is its own nearest neighbour


def test_delete_replace_and_revive(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM)
    index.add(ids, vecs)
    assert index.mark_deleted([ids[0], 999_999]) == 1  # unknown ids are ignored
    assert ids[0] not in index.knn(vecs[:1], 20)[0]
    index.add(ids[:1], vecs[1:2])  # re-adding a deleted id revives it with the new vector
    assert ids[0] in index and len(index) == len(ids)
    top = index.knn(vecs[1:2], 2)[0][0]
    assert set(top.tolist()) == {ids[0], ids[1]}


def test_filters_and_small_k(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM)
    index.add(ids, vecs)
    q = clustered(3, seed=4)
    allowed = set(ids[::7].tolist())
    got, _ = index.knn(q, 10, filter=lambda i: i in allowed)
    assert set(got.ravel().tolist()) <= allowed
    want = ExactIndex(ids, vecs).knn(q, 10, mask=np.isin(ids, list(allowed)))[0]
    assert recall_at_k(got, want) >= 0.95
    # a collection filter is exact
    got2, _ = index.knn(q, 10, filter=allowed)
    assert (got2 == want).all()
    # fewer qualifying items than k: a shorter row, not an error
    few = index.knn(q, 10, filter=lambda i: i in {ids[0], ids[1], ids[2]})[0]
    assert 1 <= few.shape[1] <= 3 and set(few.ravel().tolist()) <= set(ids[:3].tolist())
    assert index.knn(q, 10, filter=set())[0].shape == (3, 0)


def test_compaction_drops_deleted_slots(tmp_path, data):
    ids, vecs = data
    index = VectorIndex(tmp_path, DIM)
    index.add(ids, vecs)
    index.mark_deleted(ids[:2000])
    assert index.maybe_compact()
    assert index.deleted_count == 0 and len(index) == 2000
    assert set(index.ids().tolist()) == set(ids[2000:].tolist())
