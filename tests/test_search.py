"""SearchEngine: modes, filters inside the vector search, exact words on top, refine, similar."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from search_helpers import by_name, index, make_library, scan

from soundsearch.index.exact import exact_knn
from soundsearch.search import Filters, SearchEngine, parse_query
from soundsearch.settings import Settings

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


@pytest.fixture
def engine(indexed):
    catalog, model, _ = indexed
    return SearchEngine(catalog, model, Settings())


def names(hits) -> list[str]:
    return [h.path.name for h in hits]


def test_parse_query():
    free, f = parse_query('heavy "wooden door" -music +slam dur:<2.5 sr:48k ch:stereo format:wav,flac '
                          "folder:foley/doors cat:DOOR")
    assert free == "heavy wooden door"
    assert f.exclude_words == ("music",) and f.require_words == ("slam",)
    assert f.max_duration == pytest.approx(2.5) and f.min_duration is None
    assert f.sample_rates == (48000,) and f.channels == (2,) and f.formats == ("wav", "flac")
    assert f.folder == "foley/doors" and f.ucs_category == "DOOR"
    assert parse_query("dur:0.5-3 boom")[1].min_duration == 0.5
    assert parse_query("gain -6 dB")[0] == "gain -6 dB"  # a negative number is not an excluded word
    assert parse_query("dur:soon")[0] == "dur:soon"  # unparseable filters stay words
    assert not parse_query("door slam")[1].active


def test_hits_carry_records_and_matched_metadata(engine):
    hits = engine.search("door slam", k=3)
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score
    top = hits[0]
    assert top.record.id == top.file_id and top.path.exists()
    for hit in engine.search("door slam", k=10):  # the metadata that shares words with the query
        words = hit.record.metadata.text.lower()
        assert bool(hit.matched) == ("slam" in words or "door" in words)
        assert all("slam" in m.lower() or "door" in m.lower() for m in hit.matched)


@pytest.mark.parametrize("mode", ["hybrid", "audio", "metadata"])
def test_modes_search_their_own_space(engine, mode):
    catalog, model = engine.catalog, engine.model
    ids, audio, meta, has_meta = catalog.load_embeddings(model.model_id)
    vecs = {"hybrid": model.fuse(audio, np.where(has_meta[:, None], meta, 0)), "audio": audio,
            "metadata": meta}[mode]
    keep = has_meta if mode == "metadata" else np.ones(len(ids), bool)
    q = model.embed_query(["birds singing in a forest"])
    want = exact_knn(ids[keep], vecs[keep], q, 5)[0][0].tolist()
    plain = SearchEngine(catalog, model, Settings(lexical_weight=0, bridge_weight=0))
    got = [h.file_id for h in plain.search("birds singing in a forest", k=5, mode=mode)]
    assert got == want
    if mode == "metadata":  # an untagged file has no metadata vector
        assert by_name(catalog)["ZOOM0001.wav"] not in engine.lib.meta
    with pytest.raises(ValueError):
        engine.search("x", mode="telepathy")


def test_audio_mode_ranks_by_the_sound_only(engine, tmp_path):
    """With the lexical blend on, "audio" must not let name words in: with the label bridge off
    it ranks exactly as the audio-vector oracle does, and with it on, giving every file an opaque
    name (a move: same ids, same vectors) leaves every audio ranking as it was."""
    catalog, model = engine.catalog, engine.model
    ids, audio, _, _ = catalog.load_embeddings(model.model_id)
    assert engine.settings.lexical_weight > 0 and engine.settings.bridge_weight > 0
    texts = ("glass_clink.flac", "door wood slam", "dog bark loud", "bright noisy hiss")
    plain = SearchEngine(catalog, model, Settings(bridge_weight=0))
    for text in texts:
        want = exact_knn(ids, audio, model.embed_query([text]), len(ids))[0][0].tolist()
        assert [h.file_id for h in plain.search(text, k=len(ids), mode="audio")] == want
    before = {t: [h.file_id for h in engine.search(t, k=len(ids), mode="audio")] for t in texts}
    assert names(engine.search("glass_clink.flac", k=3))[0] == "glass_clink.flac"  # hybrid: name first
    root = catalog.roots()[0]
    for n, rec in enumerate(sorted(catalog.iter_files(), key=lambda r: r.id)):
        rec.path.rename(root / f"ZX{n:04d}{rec.path.suffix}")
    scan(catalog, root)
    renamed = SearchEngine(catalog, model, Settings())
    assert all(r.path.name.startswith("ZX") for r in catalog.iter_files())
    for text in texts:
        assert [h.file_id for h in renamed.search(text, k=len(ids), mode="audio")] == before[text]


def test_audio_mode_searches_with_the_recalled_query(indexed):
    """A head with a caption memory: audio-only search ranks by the query carried over to the
    memory's sounds (model.audio_query), not by the plain words' vector."""
    import torch

    catalog, model, _ = indexed
    g = torch.Generator().manual_seed(3)
    keys = torch.nn.functional.normalize(torch.randn(6, model.dim, generator=g), dim=-1)
    values = torch.nn.functional.normalize(torch.randn(6, model.dim, generator=g), dim=-1)
    model.head.set_memory(keys, values, k=3)
    ids, audio, _, _ = catalog.load_embeddings(model.model_id)
    engine = SearchEngine(catalog, model, Settings(bridge_weight=0))
    changed = 0
    for text in ("door wood slam", "dog bark loud", "bright noisy hiss", "rain on a roof"):
        plain = model.embed_query([text])
        want = exact_knn(ids, audio, model.audio_query(plain), len(ids))[0][0].tolist()
        assert [h.file_id for h in engine.search(text, k=len(ids), mode="audio")] == want
        changed += want != exact_knn(ids, audio, plain, len(ids))[0][0].tolist()
    assert changed  # the recall moved some ranking (else this test would prove nothing)


def test_filters(engine):
    def only(filters, text="sound"):
        return set(names(engine.search(text, k=20, filters=filters)))

    assert only(Filters(min_duration=1.0)) == {"birds_forest_morning.wav", "rain_roof_heavy.wav",
                                               "piano_chord_music.wav"}
    assert only(Filters(max_duration=0.4)) == {"glass_break_small.wav", "glass_clink.flac"}
    assert only(Filters(sample_rates=(48000,))) == {"door_metal_creak.wav", "glass_clink.flac"}
    assert only(Filters(channels=(2,))) == {"door_metal_creak.wav", "birds_forest_morning.wav",
                                            "rain_roof_heavy.wav", "piano_chord_music.wav"}
    assert only(Filters(formats=("FLAC",))) == {"glass_clink.flac"}
    assert only(Filters(folder="nature")) == {"dog_bark_loud.wav", "birds_forest_morning.wav",
                                              "rain_roof_heavy.wav"}
    doors = str(engine.catalog.roots()[0] / "doors")
    assert len(only(Filters(folder=doors))) == 3
    assert only(Filters(ucs_category="DOOR")) == {"DOORWood_Heavy Slam_JD_Lib.wav"}
    heavy = {"DOORWood_Heavy Slam_JD_Lib.wav", "rain_roof_heavy.wav"}
    assert only(Filters(require_words=("heavy",))) == heavy
    everything = only(None)
    assert "piano_chord_music.wav" not in only(None, "piano -music")
    assert only(None, "sound -music") == everything - {"piano_chord_music.wav"}
    assert only(None, "rain dur:>1.2 ch:2") == {"rain_roof_heavy.wav"}
    assert only(Filters(max_duration=0.01)) == set()


def test_filtered_search_matches_filtered_oracle(engine):
    catalog, model = engine.catalog, engine.model
    ids, audio, meta, has_meta = catalog.load_embeddings(model.model_id)
    items = model.fuse(audio, np.where(has_meta[:, None], meta, 0))
    two_ch = {r.id for r in catalog.iter_files() if r.channels == 2}
    q = model.embed_query(["water"])
    want = exact_knn(ids, items, q, 3, mask=np.isin(ids, list(two_ch)))[0][0].tolist()
    plain = SearchEngine(catalog, model, Settings(lexical_weight=0))
    assert [h.file_id for h in plain.search("water", k=3, filters=Filters(channels=(2,)))] == want


def test_exact_name_and_catid_come_first(engine):
    assert names(engine.search("glass_clink.flac", k=3))[0] == "glass_clink.flac"
    assert names(engine.search("door_metal_creak", k=3))[0] == "door_metal_creak.wav"
    assert names(engine.search("DOORWood", k=3))[0] == "DOORWood_Heavy Slam_JD_Lib.wav"
    assert names(engine.search("ZOOM0001", k=3))[0] == "ZOOM0001.wav"  # a name with no words


def test_refine_moves_the_ranking(engine):
    ids = by_name(engine.catalog)
    text = "a sound"
    first = names(engine.search(text, k=10))
    target = first[-1]  # like the worst of the list …
    liked = engine.search(text, k=10, liked=[ids[target]])
    assert names(liked).index(target) < first.index(target)  # … and it moves up
    disliked_name = first[0]
    again = engine.search(text, k=10, disliked=[ids[disliked_name]])
    assert disliked_name not in names(again)
    # the query itself moves toward the liked sound and away from the disliked one
    items = engine.lib.items
    like, dislike = items.get([ids[target]])[0], items.get([ids[disliked_name]])[0]
    q0 = engine.query_vector(text, items)
    assert engine.query_vector(text, items, liked=[ids[target]]) @ like > q0 @ like
    assert engine.query_vector(text, items, disliked=[ids[disliked_name]]) @ dislike < q0 @ dislike
    # liked alone, with no text, is a search too
    assert names(engine.search("", k=3, liked=[ids[target]]))[0] == target


def test_similar_by_id_path_and_outside_file(engine, tmp_path):
    ids = by_name(engine.catalog)
    rain = ids["rain_roof_heavy.wav"]
    hits = engine.similar(rain, k=4)
    assert rain not in [h.file_id for h in hits] and len(hits) == 4
    by_path = engine.similar(engine.catalog.get(rain).path, k=4)
    assert [h.file_id for h in by_path] == [h.file_id for h in hits]
    outside = shutil.copy(engine.catalog.get(rain).path, tmp_path / "my_recording.wav")
    ext = engine.similar(outside, k=2)
    assert ext[0].file_id == rain and ext[0].score > 0.99  # the same audio, found by example
    assert {h.path.name for h in engine.similar(rain, k=10, filters=Filters(channels=(1,)))}.isdisjoint(
        {"birds_forest_morning.wav", "piano_chord_music.wav"})
    with pytest.raises(KeyError):
        engine.similar(999_999)


def test_similar_by_sound_and_words_or_by_sound_alone(engine, tmp_path):
    ids = by_name(engine.catalog)
    door = ids["door_wood_slam.wav"]
    items, sounds = engine.lib.items, engine.lib.sounds
    others = np.array(sorted(i for i in items.ids().tolist() if i != door))

    def oracle(vecs: np.ndarray, q: np.ndarray) -> list[int]:
        v = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        return others[np.argsort(-(v @ (q / np.linalg.norm(q))), kind="stable")].tolist()

    # by sound and words (the default): the fused item vectors, as the hybrid search ranks
    got = [h.file_id for h in engine.similar(door, k=5)]
    assert got == oracle(items.get(others), items.get([door])[0])[:5]
    # by sound: audio vectors with the library's mean audio vector taken out of every one
    everyone = np.sort(sounds.ids())
    mean = sounds.get(everyone).mean(axis=0)
    got = [h.file_id for h in engine.similar(door, k=5, by="sound")]
    assert got == oracle(sounds.get(others) - mean, sounds.get([door])[0] - mean)[:5]
    assert got != [h.file_id for h in engine.similar(door, k=5)]  # the two differ on this library
    # an outside recording has only its sound: searched by sound whatever was asked
    outside = shutil.copy(engine.catalog.get(door).path, tmp_path / "take.wav")
    for by in ("all", "sound"):
        first = engine.similar(outside, k=1, by=by)[0]
        assert first.file_id == door and first.score > 0.99
    with pytest.raises(ValueError):
        engine.similar(door, by="words")


def test_refresh_sees_a_new_index(indexed, library):
    from search_helpers import index, scan, write_sound

    catalog, model, lib = indexed
    engine = SearchEngine(catalog, model)
    n = len(engine)
    write_sound(lib / "thunder_crack.wav", 0.5, 44100, 1, 60.0)
    scan(catalog, lib)
    index(catalog, model)
    engine.refresh()
    assert len(engine) == n + 1 and names(engine.search("thunder_crack", k=1)) == ["thunder_crack.wav"]


def test_excluded_word_matches_names_and_folders_as_a_required_word_does(catalog, tmp_path, tiny_model):
    """`-music` leaves out the tracks of a library folder called "Music" (a word only its path
    says) and a file named "music"; `+music` finds exactly the same files."""
    music = make_library(tmp_path / "Music", {"track_0421.wav": (0.5, 44100, 1, 300.0)})
    crowd = make_library(tmp_path / "fx", {
        "crowd/crowd_cheer_stadium.wav": (0.5, 44100, 1, 500.0),
        "crowd/crowd_music_festival.wav": (0.5, 44100, 1, 600.0),
    })
    (music / "track_0421.txt").write_text("Description: crowd cheering in a stadium\n")
    scan(catalog, music, crowd)
    index(catalog, tiny_model)
    engine = SearchEngine(catalog, tiny_model, Settings())
    track = next(r for r in catalog.iter_files() if r.path.name == "track_0421.wav")
    assert "music" not in track.metadata.text.lower(), "only the library folder's name says music"
    everything = set(names(engine.search("crowd cheering", k=10)))
    assert "track_0421.wav" in everything
    excluded = set(names(engine.search("crowd cheering -music", k=10)))
    required = set(names(engine.search("crowd cheering +music", k=10)))
    assert required == {"track_0421.wav", "crowd_music_festival.wav"}
    assert excluded == everything - required == {"crowd_cheer_stadium.wav"}
