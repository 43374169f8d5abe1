"""The app and the command line share one core session: the same settings give the same model."""

from __future__ import annotations

import argparse
import json

import pytest


@pytest.mark.parametrize("device", ["", "auto", "cpu"])
def test_the_app_and_the_cli_load_the_same_model_from_the_same_settings(qtbot, home, tmp_path, tiny_model,
                                                                        settings_file, device):
    from soundsearch.audio.playback import Player
    from soundsearch.commands.search import open_session
    from soundsearch.gui.app import build_window
    from soundsearch.model.checkpoint import collect_state, save_checkpoint

    folder = tmp_path / "tiny-model"
    save_checkpoint(folder, tiny_model.config,
                    collect_state(tiny_model.head, tiny_model.audio_encoder, tiny_model.text_encoder))
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps({"model": str(folder), "device": device}))

    window = build_window(player=Player(backend="null"), start_jobs=False)
    qtbot.addWidget(window)
    window.jobs.load_model()  # what the app does after its first paint
    qtbot.waitUntil(lambda: window.session.model is not None and not window.jobs.busy, timeout=30000)
    app_model = window.session.model

    cli_model = open_session(argparse.Namespace(model=None, device=None)).model

    assert app_model.model_id == cli_model.model_id == tiny_model.model_id
    assert app_model.device == cli_model.device
    assert [t.source for t in app_model.taggers] == [t.source for t in cli_model.taggers]


def test_a_scanned_library_answers_by_name_while_the_model_loads(qtbot, make_window, make_session,
                                                                  sound_library, tiny_model):
    import threading

    from gui_helpers import names, search

    from soundsearch.jobs import run

    release = threading.Event()

    def slow_loader(_settings):
        release.wait(30)
        return tiny_model

    session = make_session(model_loader=slow_loader)
    run(session.update_job(roots=[sound_library], near_copies=False))  # scanned, nothing embedded
    window = make_window(session, start_jobs=True)

    hits = search(qtbot, window, "door")
    assert session.model is None
    assert sorted(names(hits)) == ["door_metal_creak.wav", "door_wood_slam.wav"]
    assert "by name and tag" in window.status.text()

    release.set()  # the model arrives: the same query is ranked again, now by sound as well
    qtbot.waitUntil(lambda: session.model is not None and not window.jobs.busy, timeout=30000)
    qtbot.waitUntil(lambda: len(window.model.hits) > 2, timeout=10000)
    assert window.search_box.text() == "door"


def test_the_last_query_is_answered_by_name_at_launch_then_the_model_loads(qtbot, home, make_window,
                                                                          make_session, sound_library,
                                                                          tiny_model):
    import threading

    from gui_helpers import names

    from soundsearch.gui.window_state import WindowState
    from soundsearch.jobs import run

    state = WindowState(home / "config" / "window.ini")
    state.save_value("last_query", "rain")
    state.sync()
    answered, release, order = threading.Event(), threading.Event(), []

    def loader(_settings):
        order.append("answered" if answered.is_set() else "not answered")
        release.wait(30)
        return tiny_model

    session = make_session(model_loader=loader)
    run(session.update_job(roots=[sound_library], near_copies=False))
    search = session.search

    def counted(*args, **kw):
        hits = search(*args, **kw)
        answered.set()
        return hits

    session.search = counted
    window = make_window(session, start_jobs=True)
    qtbot.waitUntil(lambda: bool(window.model.hits), timeout=10000)
    assert names(window.model.hits) == ["rain_heavy_roof.wav"] and window.search.last.by_words
    qtbot.waitUntil(lambda: bool(order), timeout=10000)
    assert order == ["answered"]  # torch's import did not compete with the first answer
    release.set()
    qtbot.waitUntil(lambda: session.model is not None and not window.jobs.busy, timeout=30000)
    qtbot.waitUntil(lambda: not window.search.last.by_words, timeout=10000)
    assert window.search_box.text() == "rain"
