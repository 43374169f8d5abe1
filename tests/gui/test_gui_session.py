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
