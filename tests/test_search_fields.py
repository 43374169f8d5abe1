"""Best-field scoring: each segment of a file's metadata text (its name, its description, its
folders) is embedded on its own, and a query is scored by the best one beside the whole text."""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest
import torch
from search_helpers import by_name, index, scan, write_sound

import soundsearch.search as search_module
from soundsearch import paths
from soundsearch.library.metadata.text import MAX_FIELDS, text_fields
from soundsearch.search import SearchEngine
from soundsearch.settings import Settings

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


def test_text_fields_are_the_segments_of_a_text():
    assert text_fields("crossbow fire, core wesnoth") == ["crossbow fire", "core wesnoth"]
    assert text_fields("door slam") == []  # one segment: the whole text is the field
    assert text_fields("") == []
    assert text_fields("Rain, roof,, rain , ROOF") == ["Rain", "roof"]
    many = ", ".join(f"word{i}" for i in range(20))
    assert text_fields(many) == [f"word{i}" for i in range(MAX_FIELDS)]


def identity_text_model():
    """A tiny random-init model whose query and metadata projections are the identity (as the
    default head's are): the same words give the same vector on both sides."""
    from soundsearch.model.api import RetrievalModel, build_encoder, tiny_config
    from soundsearch.model.checkpoint import collect_state, compute_model_id
    from soundsearch.model.hybrid import HybridModel

    cfg = tiny_config()
    cfg = dataclasses.replace(cfg, head=dataclasses.replace(cfg.head, dim=32, text_init="identity"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        audio, text = build_encoder("audio", cfg.audio), build_encoder("text", cfg.text)
        head = HybridModel(cfg.head)
    return RetrievalModel(cfg, head, audio, text, compute_model_id(cfg, collect_state(head, audio, text)))


def test_index_stores_field_vectors_and_fills_in_older_rows_without_decoding(catalog, library, tiny_model):
    scan(catalog, library)
    index(catalog, tiny_model)
    ids = by_name(catalog)
    rec = catalog.get(ids["door_wood_slam.wav"])
    fields = text_fields(rec.metadata.text)
    assert len(fields) >= 2  # name words, then the folder's
    got = catalog.candidate_vectors(tiny_model.model_id, [rec.id])[rec.id][0]
    want = tiny_model.embed_metadata(fields)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert got.shape == want.shape and np.allclose(got, want, atol=0.02)  # stored as int8
    assert np.all(np.sum(got * want, axis=1) > 0.999)
    zoom = ids["ZOOM0001.wav"]
    assert catalog.candidate_vectors(tiny_model.model_id, [zoom])[zoom][0] is None  # no words, no fields

    # rows written before field vectors existed: the next index job embeds the text again, and
    # only the text (the audio vectors are kept as they were)
    db = sqlite3.connect(paths.catalog_path())
    before = dict(db.execute("SELECT file_id, audio FROM embeddings"))
    db.execute("UPDATE embeddings SET fields = NULL")
    db.commit()
    tagged = sum(1 for r in catalog.iter_files() if r.metadata.text)
    assert len(catalog.missing_fields(tiny_model.model_id)) == tagged
    assert catalog.count_missing_fields(tiny_model.model_id) == tagged
    result = index(catalog, tiny_model)
    assert result.embedded == 0 and not catalog.missing_fields(tiny_model.model_id)
    assert result.fields_added == sum(1 for r in catalog.iter_files() if r.metadata.text)
    assert dict(db.execute("SELECT file_id, audio FROM embeddings")) == before
    assert np.allclose(catalog.candidate_vectors(tiny_model.model_id, [rec.id])[rec.id][0], want, atol=0.02)
    db.close()


def test_a_file_whose_name_is_the_query_outranks_one_with_the_words_scattered(catalog, tmp_path, monkeypatch):
    # "bell ring, old session exports": the name says it all, the folder dilutes the whole text;
    # "bell tower, ring church": both words, but neither segment is a bell ring
    root = tmp_path / "lib"
    for n, rel in enumerate(("old session exports/bell ring.wav", "ring church/bell tower.wav",
                             "rings/ring tone phone.wav", "doors/door slam.wav", "bells/bell chime.wav")):
        write_sound(root / rel, 0.4, 44100, 1, 300.0 + 100 * n, seed=1 + n)
    model = identity_text_model()
    scan(catalog, root)
    index(catalog, model)
    engine = SearchEngine(catalog, model, Settings(lexical_weight=0.0))

    def scores(mode: str) -> dict[str, float]:  # word order differs from the name's: no exact-name rule
        return {h.path.name: h.score for h in engine.search("ring bell", k=5, mode=mode)}

    weight = search_module.FIELD_WEIGHT
    meta, hybrid = scores("metadata"), scores("hybrid")
    assert max(meta, key=meta.get) == "bell ring.wav"
    monkeypatch.setattr(search_module, "FIELD_WEIGHT", 0.0)
    meta0, hybrid0 = scores("metadata"), scores("hybrid")
    assert max(meta0, key=meta0.get) == "bell tower.wav"  # the whole texts alone: scattered words first
    # the hybrid (the tiny model's audio vectors are random) gets the same field score: the best
    # field of "bell ring.wav" is the query's own words (cosine 1), the other's only half of them
    assert hybrid["bell ring.wav"] - hybrid0["bell ring.wav"] == pytest.approx(weight, abs=0.01)
    assert hybrid["bell tower.wav"] - hybrid0["bell tower.wav"] < 0.9 * weight


def test_hybrid_keeps_a_file_near_what_its_sound_alone_scores(indexed, monkeypatch):
    """Sound floor: a file whose words match the query less than its sound does gets back
    SOUND_FLOOR × the difference; an untagged file (fused vector = audio vector) is unchanged."""
    catalog, model, _ = indexed
    engine = SearchEngine(catalog, model, Settings(lexical_weight=0.0))
    monkeypatch.setattr(search_module, "FIELD_WEIGHT", 0.0)  # the sound floor alone
    query = "a sound in a room"
    q = engine._text_vector(query)
    items, sounds = engine.lib.items, engine.lib.sounds
    floor = search_module.SOUND_FLOOR
    with_floor = {h.file_id: h.score for h in engine.search(query, k=20)}
    monkeypatch.setattr(search_module, "SOUND_FLOOR", 0.0)
    without = {h.file_id: h.score for h in engine.search(query, k=20)}
    assert set(with_floor) == set(without) == set(items.ids().tolist())
    gaps = {}
    for fid in without:
        gap = max(0.0, float(sounds.get([fid])[0] @ q) - float(items.get([fid])[0] @ q))
        gaps[fid] = gap
        assert with_floor[fid] - without[fid] == pytest.approx(floor * gap, abs=1e-4)
    zoom = by_name(catalog)["ZOOM0001.wav"]
    assert gaps[zoom] == pytest.approx(0.0, abs=1e-5)  # untagged: its fused vector is its sound
    assert sum(g > 0.01 for g in gaps.values()) >= 2  # the floor lifted tagged files here
