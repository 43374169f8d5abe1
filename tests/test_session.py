"""The core session both faces use: settings → model, words before the model, the update job."""

from __future__ import annotations

import threading

import pytest
from search_helpers import write_sound

from soundsearch.jobs import run
from soundsearch.session import Session, model_request
from soundsearch.settings import Settings

pytest_plugins = ["search_fixtures"]  # fixtures: library, tiny_model


@pytest.mark.parametrize("device", ["", "auto", " Auto "])
def test_no_device_and_auto_ask_for_the_best_device(device):
    assert model_request(Settings(device=device)) == model_request(Settings(device="auto"))
    assert model_request(Settings(device=device)).device is None


def test_default_and_empty_model_mean_the_shipped_model():
    assert model_request(Settings(model="")).spec is None
    assert model_request(Settings(model="default")).spec is None
    assert model_request(Settings(model="/m", device="cpu")).spec == "/m"
    assert model_request(Settings(model="/m", device="cpu")).device == "cpu"
    assert model_request(Settings(yamnet=True)).yamnet is True
    assert model_request(Settings(yamnet=True, yamnet_model="/y.onnx")).yamnet == "/y.onnx"


def test_words_answer_before_the_model_and_the_model_takes_over(home, library, tiny_model):
    session = Session(Settings(), model_loader=lambda _s: tiny_model)
    update = run(session.update_job(roots=[library], near_copies=False))
    assert update.scan is not None and len(update.scan.added) == 10 and update.index is None
    assert session.engine is None

    hits = session.search("door slam")
    assert hits.by_words and hits[0].path.name == "door_wood_slam.wav"  # both words, in a short name
    assert {h.path.name for h in hits} == {"door_wood_slam.wav", "DOORWood_Heavy Slam_JD_Lib.wav",
                                           "door_metal_creak.wav"}
    assert session.search("DOORWood_Heavy Slam_JD_Lib")[0].path.name == "DOORWood_Heavy Slam_JD_Lib.wav"
    assert session.search("zzz nothing like it") == []
    page = session.search("format:flac")
    assert [h.path.name for h in page] == ["glass_clink.flac"] and page.total == 1
    assert session.similar(1) == []  # by sound: only with the model
    assert session.summary().indexed == 0

    write_sound(library / "doors" / "gate_iron_bang.wav", 0.4, 44100, 1, 150.0)
    run(session.update_job(roots=[library], near_copies=False))  # scanned after the words were read
    assert session.load_model() is tiny_model and session.model is tiny_model
    assert [h.path.name for h in session.search("gate iron bang")] == ["gate_iron_bang.wav"]
    update = run(session.update_job(scan=False, near_copies=False))
    assert update.index.embedded == 11
    assert session.refresh() == 11
    hits = session.search("door slam")
    assert session.engine is not None and len(session.engine) == 11
    assert not getattr(hits, "by_words", False)
    assert "ZOOM0001.wav" in {h.path.name for h in hits}  # ranked by its sound, though it has no words
    assert session.similar(hits[0].file_id)  # now by sound as well


def test_a_new_model_replaces_the_engine_and_readers_see_whole_models(home, library, tiny_model):
    from soundsearch.model import build_tiny_model

    session = Session(Settings())
    session.set_model(tiny_model)
    run(session.update_job(roots=[library], near_copies=False))
    first = session.engine
    other = build_tiny_model(seed=1)
    seen, stop = set(), threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(id(session.model))

    thread = threading.Thread(target=reader)
    thread.start()
    session.set_model(other)
    stop.set()
    thread.join()
    assert seen <= {id(tiny_model), id(other)}
    assert session.engine is not first and session.engine.model is other
