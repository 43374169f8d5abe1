"""Predicted tags: aisfx's classifier heads, the ucsMixed vocabulary, and the label bridge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsearch.index.exact import exact_knn
from soundsearch.model.encoders import aisfx
from soundsearch.model.errors import ModelError
from soundsearch.model.taggers import aisfx_heads

WHEEL_HEADS = {"prosfx": 78, "soundlyTrain": 79, "ucsMixed": 69, "soundstormBalanced": 81,
               "productionelementsBalanced": 10, "cartoonexpressBalanced": 27, "hpxdigitalBalanced": 3,
               "series6000Balanced": 23, "series9000Balanced": 8}


@pytest.fixture(scope="module")
def heads():
    return aisfx_heads.load_heads()


def test_wheel_checkpoint_has_nine_heads_with_their_dataset_map(heads):
    state, datasets = aisfx.read_checkpoint(aisfx.package_weights())
    assert {k: n for k, (_, n) in datasets.items()} == WHEEL_HEADS
    assert sorted(i for i, _ in datasets.values()) == list(range(9))
    for name, (index, n) in datasets.items():  # each head reads its own fc.<index> tensors
        assert torch.equal(heads.heads[name][4].weight, state[f"fc.{index}.4.weight"])
        assert heads.heads[name][4].out_features == n


def test_heads_average_block_probabilities_over_valid_blocks(heads):
    g = torch.Generator().manual_seed(0)
    seq = torch.rand(2, 3, 512, generator=g)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    with torch.inference_mode():
        out = heads(seq, mask)
        one = heads(seq[1:, :1], mask[1:, :1])  # the second clip's padding must not count
        feats = heads.features(seq, mask)
    assert set(out) == set(WHEEL_HEADS)
    for name, n in WHEEL_HEADS.items():
        assert out[name].shape == (2, n)
        assert torch.allclose(out[name].sum(-1), torch.ones(2), atol=1e-5)
        assert torch.allclose(out[name][1], one[name][0], atol=1e-6)
        # by hand: the mean of each block's softmax
        state = heads.heads[name]
        manual = torch.softmax(state(seq[0]), -1).mean(0)
        assert torch.allclose(out[name][0], manual, atol=1e-6)
    assert feats.shape == (2, sum(WHEEL_HEADS.values()))


def test_checkpoint_without_heads_is_a_clear_error(tmp_path):
    path = tmp_path / "bare.pth"
    torch.save({"conv_block1.conv1.weight": torch.zeros(64, 1, 3, 3)}, path)
    with pytest.raises(ModelError, match="no classifier heads"):
        aisfx_heads.load_heads(path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        aisfx_heads.load_heads(junk)


def test_alignment_recovers_a_planted_class_to_category_map():
    """Sounds named by category; a 'classifier' whose class k fires (noisily) on category pi[k]:
    the alignment must name each class by its category, and leave a class that fires at random
    (and one that fires on unnamed sounds only) unnamed."""
    from soundsearch.model.taggers.align import align

    rng = np.random.default_rng(0)
    cats = ["DOORS", "FOOTSTEPS", "GLASS", "RAIN", "BIRDS"]
    pi = [3, 0, 4, 1, 2]  # class k ↔ category cats[pi[k]]
    n = 600
    truth = rng.integers(0, len(cats), n)
    logits = rng.normal(0, 1.0, (n, 7))
    for k, g in enumerate(pi):
        logits[truth == g, k] += 3.0
    unnamed = rng.random(n) < 0.2  # a fifth of the sounds carry no usable name
    logits[unnamed, 6] += 4.0  # class 6 fires on those only; class 5 is noise
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    names = [None if u else cats[t] for t, u in zip(truth, unnamed)]
    got = align(probs, names)
    assert [a.tag for a in got[:5]] == [cats[g].lower() for g in pi]
    assert got[5].tag is None and got[6].tag is None
    assert all(a.purity > 0.5 and a.lift > 2 for a in got[:5])


def test_weak_categories_take_the_nearest_row_above_the_threshold():
    from soundsearch.model.taggers.align import weak_categories

    rows = np.eye(3, dtype=np.float32)
    caps = np.array([[0.9, 0.1, 0], [0.1, 0.2, 0.97], [0.5, 0.5, 0.5]], np.float32)
    caps /= np.linalg.norm(caps, axis=1, keepdims=True)
    assert weak_categories(caps, rows, ["DOORS", "GLASS", "RAIN"], 0.8) == ["DOORS", "RAIN", None]


# --- predicted tags through the index job, the catalog, filters and the search engine -------------
pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


def _direct_predictions(model, record):
    """What the model's tagger hears in a file, computed here without the index job."""
    from soundsearch.model.pipeline import decode_one

    decoded = decode_one(record, model.sample_rate, 30.0)
    preds = [[]]
    model.embed_audio([decoded.wave], predictions=preds)
    return preds[0]


def test_index_job_stores_predicted_tags_apart_from_the_files_metadata(indexed):
    catalog, model, _ = indexed
    tagger = model.taggers[0]
    seen = 0
    for rec in catalog.iter_files():
        want = _direct_predictions(model, rec)[0]
        got = catalog.predicted_tags(rec.id)
        assert [(t, round(s, 3)) for _, t, s in got] == [(t, round(s, 3)) for t, s in want.tags]
        assert all(src == tagger.source for src, _, _ in got)
        ids, scores = catalog.load_predicted_scores(tagger.source)
        assert np.allclose(scores[list(ids).index(rec.id)], want.scores, atol=2e-3)  # float16
        words = rec.metadata.text.lower().split()
        assert not any(t in words for _, t, _ in got if t not in ("bright", "dark"))  # never merged in
        assert "predicted" not in rec.metadata.to_json()
        seen += bool(got)
    assert seen >= 5  # most files get at least one tag above the threshold


def test_tag_filter_matches_predicted_and_own_keywords(indexed):
    from soundsearch.search import SearchEngine, parse_query
    from soundsearch.settings import Settings

    catalog, model, _ = indexed
    engine = SearchEngine(catalog, model, Settings())
    assert parse_query("rumble tag:dark tag:noisy")[1].tags == ("dark", "noisy")
    for tag in model.taggers[0].vocab.tags:
        floor = engine.settings.tag_min_score
        want = {r.id for r in catalog.iter_files()
                if any(t == tag and s >= floor for _, t, s in catalog.predicted_tags(r.id))}
        got = {h.file_id for h in engine.search(f"tag:{tag}", k=100)}
        assert got == want
        if want:  # a hit carries its predicted tags for the detail pane
            hit = engine.search(f"sound tag:{tag}", k=1)[0]
            assert any(t == tag for _, t, _ in hit.record.predicted)
    assert {h.file_id for h in engine.search("tag:nosuchtag", k=100)} == set()


def test_bridge_lifts_the_sounds_tagged_with_the_querys_word(indexed):
    """A query that is a tag's word, with a strong bridge: the file most confidently tagged with
    it ranks first in audio mode; with the bridge off the ranking is the audio cosine's."""
    from soundsearch.search import SearchEngine
    from soundsearch.settings import Settings

    catalog, model, _ = indexed
    tagger = model.taggers[0]
    ids, probs = catalog.load_predicted_scores(tagger.source)
    tags = tagger.vocab.tag_scores(probs)
    weights, gate = model.tag_bridge("dark")[tagger.source]
    assert gate > 0.5 and tagger.vocab.tags[int(np.argmax(weights))] == "dark"
    best = int(ids[np.argmax(tags @ weights)])
    strong = SearchEngine(catalog, model, Settings(bridge_weight=1e4))  # random-init: tiny tag gaps
    assert strong.search("dark", k=3, mode="audio")[0].file_id == best
    off = SearchEngine(catalog, model, Settings(bridge_weight=0.0))
    e_ids, audio, _, _ = catalog.load_embeddings(model.model_id)
    oracle = exact_knn(e_ids, audio, model.embed_query(["dark"]), len(e_ids))[0][0].tolist()
    assert [h.file_id for h in off.search("dark", k=len(e_ids), mode="audio")] == oracle
    assert model.tag_bridge("") == {}


def test_info_shows_predicted_tags_apart_from_metadata(indexed):
    from soundsearch.commands.library_info import file_info, format_info

    catalog, _, _ = indexed
    rec = next(r for r in catalog.iter_files() if catalog.predicted_tags(r.id))
    info = file_info(catalog, rec.path)
    tags = [(p["tag"], p["confidence"]) for p in info["predicted_tags"]]
    assert tags == [(t, round(c, 3)) for _, t, c in catalog.predicted_tags(rec.id)]
    own = {f["value"] for f in info["metadata"]["fields"]}
    assert all(p["tag"] not in own for p in info["predicted_tags"])
    text = format_info(info)
    line = next(x for x in text.splitlines() if x.startswith("predicted from the audio"))
    assert tags[0][0] in line and "tiny-tagger" in line


def test_a_tagger_switched_on_later_hears_the_files_already_indexed(catalog, library, tiny_model):
    """Indexed without a tagger, then with one (YAMNet switched on in Preferences): the next index
    job tags every embedded file, keeps their vectors, and the one after has nothing left to do."""
    from search_helpers import index, scan

    tagger, tiny_model.taggers = tiny_model.taggers[0], []
    scan(catalog, library)
    first = index(catalog, tiny_model)
    ids, audio, _, _ = catalog.load_embeddings(tiny_model.model_id)
    assert first.embedded == catalog.count() and not catalog.predicted_sources()
    tiny_model.taggers = [tagger]
    assert len(catalog.pending_embeddings(tiny_model.model_id, tag_sources=[tagger.source])) == len(ids)
    again = index(catalog, tiny_model)
    assert again.embedded == len(ids)
    tagged, _ = catalog.load_predicted_scores(tagger.source)
    assert sorted(tagged.tolist()) == sorted(ids.tolist())
    ids2, audio2, _, _ = catalog.load_embeddings(tiny_model.model_id)
    assert np.array_equal(ids, ids2) and np.allclose(audio, audio2, atol=1e-5)  # same sounds, same vectors
    assert index(catalog, tiny_model).embedded == 0


def test_every_record_read_by_id_or_path_carries_its_predicted_tags(indexed):
    """Search hits, copies, collections and the detail pane all read records this way."""
    catalog, _, _ = indexed
    heard = {r.id: catalog.predicted_tags(r.id) for r in catalog.iter_files()}
    assert sum(bool(v) for v in heard.values()) >= 5
    for rec in catalog.get_many(list(heard)):
        assert rec.predicted == heard[rec.id]
        assert catalog.get(rec.id).predicted == heard[rec.id]
        assert catalog.get_by_path(rec.path).predicted == heard[rec.id]
