"""GUI test fixtures: a tiny real library, a tiny random-init model, and a main window over them.

Everything runs offscreen (QT_QPA_PLATFORM=offscreen) with a silent player (the "null" backend runs
the same callback code at a sound card's pace without a device); background work runs on the real
worker threads and tests wait for its signals with qtbot.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import pytest
from gui_helpers import write_sound


def _offscreen_desktop() -> None:
    """Give the offscreen platform a desktop-sized screen (its default is 800×800, smaller than the
    window, so restored geometry would be clamped). Only before the QApplication exists."""
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if platform != "offscreen":
        return
    config = Path(tempfile.gettempdir()) / "soundsearch-test-screen.json"
    config.write_text(json.dumps({"screens": [{"name": "test", "x": 0, "y": 0, "width": 1920,
                                               "height": 1200, "logicalDpi": 96}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


_offscreen_desktop()

# (file name, seconds, sample rate, channels, subtype, frequency): names carry the words the
# filename reader turns into metadata, so text queries have something to find.
SOUNDS = (
    ("door_wood_slam.wav", 0.40, 44100, 1, "PCM_16", 110.0),
    ("door_metal_creak.wav", 0.60, 44100, 1, "PCM_16", 330.0),
    ("rain_heavy_roof.wav", 0.50, 22050, 1, "PCM_16", 0.0),
    ("dog_bark_small.wav", 0.30, 44100, 1, "PCM_16", 600.0),
    ("glass_break_shatter.wav", 0.35, 48000, 2, "PCM_24", 2500.0),
    ("wind_howl_storm.flac", 0.70, 48000, 2, "PCM_16", 220.0),
    ("footsteps_gravel.wav", 0.45, 48000, 2, "PCM_24", 900.0),
    ("thunder_rumble_far.wav", 0.80, 44100, 1, "FLOAT", 60.0),
)


@pytest.fixture
def sound_library(tmp_path) -> Path:
    root = tmp_path / "Sound Library"
    for n, (name, seconds, sr, ch, subtype, freq) in enumerate(SOUNDS):
        folder = root / ("Foley" if n % 2 else "Ambience")
        write_sound(folder / name, seconds, sr, ch, subtype, freq, seed=n)
    return root


@pytest.fixture(scope="session")
def _tiny_model():
    from soundsearch.model import build_tiny_model

    return build_tiny_model(seed=0)


@pytest.fixture
def tiny_model(_tiny_model):
    return copy.deepcopy(_tiny_model)


@pytest.fixture
def settings_file(home) -> Path:
    return home / "config" / "settings.json"


@pytest.fixture
def make_session(home, tiny_model):
    from soundsearch.session import Session
    from soundsearch.settings import Settings

    def _make(model=None, settings=None, model_loader=None):
        loaded = model or tiny_model
        # The tiny model's vectors are random: let the words decide the ranking, so the tests check
        # the GUI's plumbing and not a random model's taste.
        return Session(settings or Settings(lexical_weight=10.0),
                       model_loader=model_loader or (lambda _s: loaded))

    return _make


@pytest.fixture
def indexed_session(make_session, sound_library, tiny_model):
    """A session whose catalog holds the library, scanned and indexed (synchronously)."""
    from soundsearch import paths
    from soundsearch.jobs import CancelToken, run
    from soundsearch.library.catalog import Catalog

    with Catalog(paths.catalog_path()) as cat:  # this thread's own connection
        cat.add_root(sound_library)
    session = make_session()
    session.set_model(tiny_model)
    run(session.update_job(CancelToken()))
    return session


@pytest.fixture
def make_window(qtbot, home):
    """make_window(session, start_jobs=False) -> a shown MainWindow with a silent player."""
    from soundsearch.audio.playback import Player
    from soundsearch.collections import Collections
    from soundsearch.gui.main_window import MainWindow
    from soundsearch.gui.window_state import WindowState

    def _make(session, start_jobs: bool = False):
        player = Player(backend="null")
        window = MainWindow(session, player, Collections(home / "data" / "collections.json"),
                            settings_path=home / "config" / "settings.json",
                            state=WindowState(home / "config" / "window.ini"), start_jobs=start_jobs)
        qtbot.addWidget(window)
        window.show()
        if session.model is not None and not start_jobs:
            window.core.submit(lambda: session.engine)  # opened now, not inside the first search
        qtbot.waitUntil(lambda: window.core.idle() and window.reader.idle(), timeout=10000)
        return window

    return _make


@pytest.fixture
def window(make_window, indexed_session):
    return make_window(indexed_session)
