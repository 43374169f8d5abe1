"""Offline by construction: a whole session in the app opens no network connection."""

from __future__ import annotations

import socket
import sys

import pytest
from gui_helpers import names, search
from PySide6.QtCore import QPoint, Qt

from soundsearch import paths

_INET = (socket.AF_INET, socket.AF_INET6)


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to reach the network is recorded and refused (local Unix sockets are not the
    network: PulseAudio and D-Bus use them)."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(what: str):
        attempts.append(what)
        raise OSError(f"soundsearch test: network access attempted: {what}")

    def connect(self, address):
        if self.family in _INET:
            refuse(f"connect {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in _INET:
            refuse(f"connect_ex {address}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(f"create {address}"))
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: refuse(f"resolve {host}"))
    return attempts


def _model_loader(tiny_model):
    """The real default model when it ships in this checkout (it must load offline too), else tiny."""
    if (paths.resources_dir() / "models" / "default").is_dir():
        from soundsearch.session import load_settings_model

        return load_settings_model
    return lambda _settings: tiny_model


def test_a_full_session_never_touches_the_network(qtbot, no_network, make_window, sound_library, tiny_model,
                                                  monkeypatch):
    from soundsearch.session import Session
    from soundsearch.settings import Settings

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the app must not depend on the caller's env
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    import soundsearch.gui.app  # noqa: F401 — sets the offline switches as the real launcher does

    session = Session(Settings(lexical_weight=10.0), model_loader=_model_loader(tiny_model))
    window = make_window(session, start_jobs=True)  # first run: model loads in the background
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty, timeout=10000)
    window.add_folder(sound_library)
    qtbot.waitUntil(lambda: session.model is not None and not window.jobs.busy, timeout=240000)
    qtbot.waitUntil(lambda: window.library.roots.topLevelItemCount() == 1, timeout=10000)

    hits = search(qtbot, window, "glass break")
    assert "glass_break_shatter.wav" in names(hits)
    window.search_box.edit.setFocus()
    qtbot.keyClick(window.search_box.edit, Qt.Key.Key_Down)  # audition
    qtbot.waitUntil(lambda: window.player.playing or window.waveform.peaks is not None, timeout=5000)
    qtbot.keyClick(window.view, Qt.Key.Key_L)  # refine
    qtbot.waitUntil(lambda: not window.search.busy, timeout=10000)
    qtbot.keyClick(window.view, Qt.Key.Key_M)  # more like this
    qtbot.waitUntil(lambda: not window.search.busy, timeout=10000)
    wf = window.waveform
    qtbot.waitUntil(lambda: wf.peaks is not None, timeout=5000)
    y = wf.height() // 2
    qtbot.mousePress(wf, Qt.MouseButton.LeftButton, pos=QPoint(10, y))
    qtbot.mouseMove(wf, QPoint(wf.width() // 2, y))
    qtbot.mouseRelease(wf, Qt.MouseButton.LeftButton, pos=QPoint(wf.width() // 2, y))
    assert wf.region_mime() is not None  # region drag payload written
    window.model.mimeData([window.model.index(0, 0)])  # row drag payload
    dialog = window.open_preferences()
    dialog.reject()
    window.close()

    assert no_network == [], f"network access attempted: {no_network}"
    assert "PySide6.QtNetwork" not in sys.modules
