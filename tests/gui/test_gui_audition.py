"""Keyboard audition flow and the waveform view (playhead, click to play from a point, loop)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gui_helpers import search
from PySide6.QtCore import QPoint, Qt


def playing_path(window) -> Path | None:
    p = window.player
    return Path(p.source) if p.playing and p.source is not None else None


def test_keyboard_audition_flow(qtbot, window):
    hits = search(qtbot, window, "door")
    edit = window.search_box.edit
    edit.setFocus()
    # ↓ from the search box: first row selected and heard (auto-play is on by default)
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: playing_path(window) == Path(hits[0].path), timeout=5000)
    assert window.view.currentIndex().row() == 0
    assert window.detail.record.id == hits[0].file_id
    assert window.waveform.path == Path(hits[0].path)
    # ↓ in the list: the next one plays
    qtbot.keyClick(window.view, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: playing_path(window) == Path(hits[1].path), timeout=5000)
    # Space pauses, Space goes on
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert not window.player.playing
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: playing_path(window) == Path(hits[1].path), timeout=5000)
    # Enter plays from the start; the playhead moves while it plays
    window.transport.loop.setChecked(True)  # loop so it is still playing when we look
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    assert window.player.position < 0.05
    qtbot.waitUntil(lambda: (window.waveform.position or 0) > 0.05, timeout=5000)
    assert window.transport.play_button.text() == "Pause"
    # Esc stops from anywhere
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert not window.player.playing
    qtbot.waitUntil(lambda: window.waveform.position is None, timeout=2000)
    assert window.transport.play_button.text() == "Play"


def test_ctrl_l_and_ctrl_f_go_back_to_the_search_box_with_its_text_selected(qtbot, window):
    search(qtbot, window, "door")
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    for key in (Qt.Key.Key_L, Qt.Key.Key_F):
        window.view.setFocus()
        qtbot.keyClick(window.view, key, Qt.KeyboardModifier.ControlModifier)
        edit = window.search_box.edit
        qtbot.waitUntil(edit.hasFocus, timeout=2000)
        assert edit.selectedText() == "door"  # typing now replaces the query


def test_autoplay_off_only_shows_the_sound(qtbot, window):
    hits = search(qtbot, window, "rain")
    window.transport.autoplay.setChecked(False)
    assert window.settings.autoplay is False
    window.search_box.edit.setFocus()
    qtbot.keyClick(window.search_box.edit, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.waveform.path is not None, timeout=5000)
    assert window.waveform.path == Path(hits[0].path)
    qtbot.wait(100)
    assert not window.player.playing


def test_neighbours_are_decoded_ahead(qtbot, window):
    hits = search(qtbot, window, "door")
    window.search_box.edit.setFocus()
    qtbot.keyClick(window.search_box.edit, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.player.is_cached(hits[1].path), timeout=5000)


def test_click_on_the_waveform_plays_from_there(qtbot, window):
    hits = search(qtbot, window, "thunder")  # 0.8 s
    window.view.setFocus()
    window.view.selectRow(0)
    wf = window.waveform
    qtbot.waitUntil(lambda: wf.peaks is not None, timeout=5000)
    window.transport.loop.setChecked(False)
    qtbot.mouseClick(wf, Qt.MouseButton.LeftButton, pos=QPoint(wf.width() // 2, wf.height() // 2))
    qtbot.waitUntil(lambda: window.player.playing, timeout=5000)
    duration = hits[0].record.duration
    assert abs(window.player._start / window.player.samplerate - duration / 2) < 0.02


def test_drag_on_the_waveform_selects_and_loops_a_region(qtbot, window):
    search(qtbot, window, "thunder")
    window.view.selectRow(0)
    wf = window.waveform
    qtbot.waitUntil(lambda: wf.peaks is not None, timeout=5000)
    w, y = wf.width(), wf.height() // 2
    qtbot.mousePress(wf, Qt.MouseButton.LeftButton, pos=QPoint(w // 4, y))
    qtbot.mouseMove(wf, QPoint(w // 2, y))
    qtbot.mouseRelease(wf, Qt.MouseButton.LeftButton, pos=QPoint(w // 2, y))
    a, b = wf.region
    assert abs(a - 0.2) < 0.01 and abs(b - 0.4) < 0.01
    window.transport.loop.setChecked(True)
    window.run_action("play")
    qtbot.waitUntil(lambda: window.player.playing, timeout=5000)
    sr = window.player.samplerate
    assert abs(window.player._start / sr - a) < 0.001 and abs(window.player._end / sr - b) < 0.001
    qtbot.wait(500)  # longer than the region: still playing because it loops
    assert window.player.playing
    assert a - 0.01 <= window.player.position <= b + 0.01
    window.run_action("stop")


def test_volume_slider_sets_player_volume(qtbot, window):
    window.transport.volume.setValue(25)
    assert abs(window.player.volume - 0.25) < 1e-6
    assert abs(window.settings.volume - 0.25) < 1e-6


def played_seconds(qtbot, window) -> float:
    window.run_action("play")
    qtbot.waitUntil(lambda: window.player.playing, timeout=5000)
    qtbot.waitUntil(lambda: not window.player.playing, timeout=5000)
    return window.player.frames_played / window.player.samplerate


def test_varispeed_plus_12_semitones_plays_half_as_long_and_resets(qtbot, window):
    hits = search(qtbot, window, "thunder")  # 0.8 s
    length = hits[0].record.duration
    window.transport.loop.setChecked(False)
    window.transport.autoplay.setChecked(False)
    window.view.setFocus()
    window.view.selectRow(0)
    assert abs(played_seconds(qtbot, window) - length) < 0.01
    for _ in range(13):  # one more than the range: it stops at +12
        qtbot.keyClick(window.view, Qt.Key.Key_BracketRight)
    assert window.transport.speed.value() == 12 and window.player.semitones == 12
    assert abs(played_seconds(qtbot, window) - length / 2) < 0.01
    assert window.transport.position.text().endswith(f"0:0{length:.1f}")  # the sound's own length
    qtbot.keyClick(window.view, Qt.Key.Key_BracketLeft)
    assert window.player.semitones == 11
    qtbot.keyClick(window.view, Qt.Key.Key_Backslash)  # reset
    assert window.transport.speed.value() == 0 and window.player.semitones == 0
    for _ in range(12):
        qtbot.keyClick(window.view, Qt.Key.Key_BracketLeft)
    assert abs(played_seconds(qtbot, window) - 2 * length) < 0.02


def test_reverse_plays_the_sound_backwards_with_the_position_in_its_own_time(qtbot, window):
    search(qtbot, window, "thunder")
    window.transport.loop.setChecked(True)
    window.transport.autoplay.setChecked(False)
    window.view.setFocus()
    window.view.selectRow(0)
    window.run_action("play")
    qtbot.waitUntil(lambda: window.player.playing, timeout=5000)
    forward = np.array(window.player._buf)
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    assert window.transport.reverse.isChecked() and window.player.reverse
    assert np.array_equal(np.array(window.player._buf), forward[::-1])
    window.run_action("play")  # from the start: the sound's end comes first
    assert window.player.position > 0.7
    qtbot.waitUntil(lambda: window.player.position < 0.5, timeout=5000)  # time runs backwards
    qtbot.waitUntil(lambda: window.transport.meter.value() > 0, timeout=5000)  # the level meter moves
    window.run_action("stop")
