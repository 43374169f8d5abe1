"""The index job: vectors in step with the catalog through adds, changes, moves, deletes, metadata
edits, interruptions, damaged index files and model changes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from search_helpers import by_name, index, scan, write_sound

from soundsearch import paths
from soundsearch.index.exact import exact_knn, normalize
from soundsearch.index.hnsw import VectorIndex
from soundsearch.indexer import index_job
from soundsearch.jobs import Cancelled, CancelToken, run
from soundsearch.model.pipeline import representative_start
from soundsearch.search import SearchEngine
from soundsearch.settings import Settings

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


def vectors(catalog, model):
    ids, audio, meta, has_meta = catalog.load_embeddings(model.model_id)
    return dict(zip(ids.tolist(), audio)), dict(zip(ids.tolist(), meta)), dict(zip(ids.tolist(), has_meta))


def test_index_matches_exact_oracle(indexed):
    catalog, model, _ = indexed
    ids, audio, meta, has_meta = catalog.load_embeddings(model.model_id)
    assert len(ids) == catalog.count()
    engine = SearchEngine(catalog, model)
    items = model.fuse(audio, np.where(has_meta[:, None], meta, 0), 1.0)
    q = model.embed_query(["door slam", "birds", "glass", "rain on a roof"])
    want = exact_knn(ids, items, q, 5)[0]
    got = engine.lib.items.knn(q, 5)[0]
    assert (got == want).all()
    sounds = engine.lib.sounds.knn(q, 5)[0]
    assert (sounds == exact_knn(ids, normalize(audio), q, 5)[0]).all()


def test_incremental_add_change_move_delete(indexed):
    catalog, model, lib = indexed
    n = catalog.count()
    ids = by_name(catalog)
    audio0, _, _ = vectors(catalog, model)

    write_sound(lib / "glass" / "glass_shatter_big.wav", 0.5, 44100, 1, 2500.0, seed=42)  # add
    write_sound(lib / "doors" / "door_wood_slam.wav", 0.6, 44100, 1, 900.0, seed=43)  # change
    (lib / "nature" / "dog_bark_loud.wav").rename(lib / "dog_bark_loud.wav")  # move (same name)
    (lib / "music" / "piano_chord_music.wav").unlink()  # delete
    scan(catalog, lib)
    result = index(catalog, model)
    assert result.embedded == 2 and result.deleted == 1  # the new file and the changed one only
    assert result.refused == 1  # the moved file: new folder words, same audio vector
    assert result.items == n

    audio1, _, _ = vectors(catalog, model)
    new_ids = by_name(catalog)
    assert new_ids["dog_bark_loud.wav"] == ids["dog_bark_loud.wav"]
    assert np.array_equal(audio1[ids["dog_bark_loud.wav"]], audio0[ids["dog_bark_loud.wav"]])  # kept
    assert not np.allclose(audio1[ids["door_wood_slam.wav"]], audio0[ids["door_wood_slam.wav"]])
    engine = SearchEngine(catalog, model)
    assert ids["piano_chord_music.wav"] not in engine.lib.items
    assert new_ids["glass_shatter_big.wav"] in engine.lib.items
    hits = engine.search("", k=50, liked=[ids["dog_bark_loud.wav"]])
    assert hits[0].path == lib / "dog_bark_loud.wav"  # the moved file is found at its new path
    again = index(catalog, model)
    assert again.files == 0 and again.refused == 0 and again.deleted == 0  # nothing left to do


def test_metadata_change_refuses_without_decoding(indexed):
    catalog, model, lib = indexed
    fid = by_name(catalog)["ZOOM0001.wav"]
    audio0, meta0, has0 = vectors(catalog, model)
    before = SearchEngine(catalog, model).lib.items.get([fid])[0]
    (lib / "ZOOM0001.txt").write_text("thunder rumble distant storm")  # a sidecar appears
    scan(catalog, lib)
    assert "thunder" in catalog.get(fid).metadata.text.lower()
    result = index(catalog, model)
    assert result.refused == 1 and result.embedded == 0 and result.audio_seconds == 0
    audio1, meta1, has1 = vectors(catalog, model)
    assert np.array_equal(audio1[fid], audio0[fid]) and has1[fid]
    engine = SearchEngine(catalog, model)
    after = engine.lib.items.get([fid])[0]
    assert not np.allclose(before, after)
    assert np.allclose(after, model.fuse(audio1[fid][None], meta1[fid][None])[0], atol=1e-5)
    assert fid in engine.lib.meta


def test_resume_after_cancel(catalog, tmp_path, tiny_model):
    lib = tmp_path / "many"
    for i in range(24):
        write_sound(lib / f"tone_{i:02d}.wav", 0.3, 22050, 1, 200.0 + 90 * i, seed=i)
    scan(catalog, lib)
    token = CancelToken()

    def stop_after_first_batch(p):
        if p.total and p.done >= 4:
            token.cancel()

    with pytest.raises(Cancelled):
        run(index_job(catalog, tiny_model, Settings(), cancel=token, batch_size=4), stop_after_first_batch,
            cancel=token)
    done_first = len(catalog.load_embeddings(tiny_model.model_id)[0])
    assert 4 <= done_first < 24  # committed batches stay committed
    index_files = VectorIndex(paths.index_dir(), tiny_model.dim, model_id=tiny_model.model_id, name="sounds")
    assert index_files.load() and len(index_files) == done_first  # saved on the way out
    result = index(catalog, tiny_model, batch_size=4)
    assert result.embedded == 24 - done_first and result.items == 24


def test_stale_index_files_are_reconciled(indexed, tmp_path):
    """A kill -9 after a catalog commit but before the index save: the next job adds the missing ids."""
    catalog, model, lib = indexed
    saved = tmp_path / "old-index"
    shutil.copytree(paths.index_dir(), saved)
    write_sound(lib / "new_whoosh.wav", 0.4, 44100, 1, 1500.0, seed=7)
    scan(catalog, lib)
    index(catalog, model)
    shutil.rmtree(paths.index_dir())
    shutil.copytree(saved, paths.index_dir())  # index files from before the last batch
    result = index(catalog, model)
    assert result.files == 0 and result.items == catalog.count()
    assert by_name(catalog)["new_whoosh.wav"] in SearchEngine(catalog, model).lib.items


def test_corrupt_index_is_rebuilt_with_a_message(indexed, caplog):
    catalog, model, _ = indexed
    before = [h.file_id for h in SearchEngine(catalog, model).search("door", k=5)]
    f = paths.index_dir() / "items.hnsw"
    f.write_bytes(b"\0garbage" * 100)
    engine = SearchEngine(catalog, model)
    assert "items" in engine.problems and "damaged" in engine.problems["items"]
    assert "rebuilt from" in caplog.text
    assert [h.file_id for h in engine.search("door", k=5)] == before
    assert VectorIndex(paths.index_dir(), model.dim, model_id=engine.lib.model_id_for("items")).load()


def test_model_change_rebuilds(indexed):
    from soundsearch.model import build_tiny_model

    catalog, model, _ = indexed
    other = build_tiny_model(seed=1)
    assert other.model_id != model.model_id
    result = index(catalog, other)
    assert result.embedded == catalog.count() and set(result.problems) == {"items", "sounds", "meta"}
    meta = json.loads((paths.index_dir() / "sounds.json").read_text())
    assert meta["model_id"] == other.model_id


def test_new_fusion_weight_refuses_from_stored_vectors(indexed):
    catalog, model, _ = indexed
    result = index(catalog, model, Settings(fusion_weight=0.25))
    assert result.files == 0 and result.audio_seconds == 0 and list(result.problems) == ["items"]
    ids, audio, meta, has_meta = catalog.load_embeddings(model.model_id)
    engine = SearchEngine(catalog, model, Settings(fusion_weight=0.25))
    want = model.fuse(audio, np.where(has_meta[:, None], meta, 0), 0.25)
    assert np.allclose(engine.lib.items.get(ids), want, atol=1e-5)


def test_silent_unreadable_and_untagged_files_never_crash(catalog, tmp_path, tiny_model):
    lib = tmp_path / "odd"
    sf.write(str(lib.mkdir() or lib / "quiet_room_tone.wav"), np.zeros(22050, np.float32), 22050)
    sf.write(str(lib / "ZOOM0002.wav"), np.zeros(22050, np.float32), 22050)  # silent and untagged
    broken = write_sound(lib / "gunshot_far.wav", 0.5, 22050, 1, 300.0)
    write_sound(lib / "wind_gust.wav", 0.5, 22050, 1, 400.0)
    scan(catalog, lib)
    broken.write_bytes(b"RIFF\0\0\0\0WAVEjunk" + bytes(200))  # breaks after the scan
    result = index(catalog, tiny_model)
    assert result.embedded == 1 and result.metadata_only == 2 and result.errors == 1
    engine = SearchEngine(catalog, tiny_model)
    ids = by_name(catalog)
    quiet = ids["quiet_room_tone.wav"]
    assert quiet in engine.lib.items and quiet not in engine.lib.sounds
    assert ids["ZOOM0002.wav"] not in engine.lib.items
    # metadata-only entries survive a rebuild from stored vectors
    (paths.index_dir() / "items.hnsw").unlink()
    assert ids["gunshot_far.wav"] in SearchEngine(catalog, tiny_model).lib.items


def test_long_file_embeds_a_bounded_loud_part(catalog, tmp_path, tiny_model):
    sr = 8000
    x = 0.001 * np.random.default_rng(0).standard_normal(120 * sr).astype(np.float32)
    x[80 * sr:86 * sr] += 0.5 * np.sin(2 * np.pi * 300 * np.arange(6 * sr) / sr).astype(np.float32)
    path = tmp_path / "long" / "field_recording_storm.wav"
    path.parent.mkdir()
    sf.write(str(path), x, sr)
    start = representative_start(path, 120.0, 10.0)
    assert start <= 80 <= start + 10 or start <= 86 <= start + 10  # the window covers the loud part
    scan(catalog, path.parent)
    result = index(catalog, tiny_model, Settings(long_file_seconds=10.0))
    assert result.embedded == 1 and result.audio_seconds == pytest.approx(10.0, abs=0.1)


KILL_SCRIPT = """
import time
from soundsearch import paths
from soundsearch.indexer import index_job
from soundsearch.library.catalog import Catalog
from soundsearch.model import build_tiny_model

model = build_tiny_model(seed=0)
embed = model.embed_audio
model.embed_audio = lambda waves, **kw: (time.sleep(0.2), embed(waves, **kw))[1]  # slow enough to be killed
for p in index_job(Catalog(paths.catalog_path()), model, None, batch_size=2):
    print(p.done, p.total, flush=True)
"""


@pytest.mark.slow  # a fresh interpreter imports torch
def test_kill_9_loses_at_most_the_batch_in_flight(catalog, tmp_path, tiny_model):
    import signal
    import subprocess
    import sys

    lib = tmp_path / "many"
    for i in range(30):
        write_sound(lib / f"tone_{i:02d}.wav", 0.2, 22050, 1, 200.0 + 70 * i, seed=i)
    scan(catalog, lib)
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            done, total = line.split()
            if total != "None" and int(done) >= 6:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    committed = len(catalog.load_embeddings(tiny_model.model_id)[0])
    assert 6 <= committed < 30 and committed % 2 == 0  # whole batches only
    result = index(catalog, tiny_model, batch_size=2)
    assert result.embedded == 30 - committed and result.items == 30
