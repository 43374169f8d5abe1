"""What a sound designer hit in ten minutes at the keyboard: likes leaking into the next query,
history completion changing what Enter searches, "more like this" ignoring the typed filters, Space
restarting from zero, and a silent player that did not say so."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import names, search
from PySide6.QtCore import Qt


def count_calls(session, name: str) -> list:
    calls: list = []
    real = getattr(session, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    setattr(session, name, spy)
    return calls


def test_new_query_text_starts_a_new_refine_round(qtbot, window):
    assert not window.transport.clear_feedback.isEnabled()  # nothing to reset at start either
    search(qtbot, window, "door")
    window.view.setFocus()
    window.view.selectRow(0)
    liked = window.view.current_hit().file_id
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_L)
    # a filter added to the same words narrows the same round: the like stays
    calls = count_calls(window.session, "search")
    search(qtbot, window, "door dur:<1")
    assert calls[-1][2] == (liked,) and window.model.feedback == {liked: 1}
    assert window.transport.feedback_note.text() == "1 liked"
    # new words: a new round, and the window says so
    search(qtbot, window, "rain")
    assert calls[-1][2] == () and calls[-1][3] == (), "likes of the old query steered the new one"
    assert not window.search.liked and window.model.feedback == {}
    assert window.transport.feedback_note.text() == ""
    assert not window.transport.clear_feedback.isEnabled()
    assert "likes and dislikes cleared" in window.status.text()
    assert names(window.model.hits)[0] == "rain_heavy_roof.wav"


def test_enter_runs_what_is_typed_and_history_only_when_picked(qtbot, window):
    box = window.search_box
    box.add_history("door dur:<0.5")
    box.timer.setInterval(60_000)  # only Enter (or a pick) searches
    box.edit.setFocus()
    qtbot.keyClicks(box.edit, "door")
    assert box.edit.text() == "door", "history was filled into the box while typing"
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(box.edit, Qt.Key.Key_Return)
    assert window.search.last.request.text == "door"
    assert "door_metal_creak.wav" in names(window.model.hits)  # 0.6 s: no dur:<0.5 slipped in
    # Ctrl+Space lists past searches; ↓ and Enter pick one, which runs it
    qtbot.keyClick(box.edit, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    menu = box.completions
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    assert [a.text() for a in menu.actions()] == ["door", "door dur:<0.5"]
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(menu, Qt.Key.Key_Down)
        qtbot.keyClick(menu, Qt.Key.Key_Return)
    assert window.search.last.request.text == "door dur:<0.5"
    assert all(h.record.duration < 0.5 for h in window.model.hits)
    assert names(window.model.hits)[0] == "door_wood_slam.wav"


def test_more_like_this_keeps_the_typed_filters_and_the_box_says_what_the_list_is(qtbot, window):
    hits = search(qtbot, window, "sound dur:<0.5")
    assert hits and all(h.record.duration < 0.5 for h in hits)
    window.view.setFocus()
    window.view.selectRow(0)
    target = window.view.current_hit()
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_M)
    similar = window.model.hits
    assert window.search.last.request.kind == "similar"
    assert similar and all(h.record.duration < 0.5 for h in similar), "similar ignored dur:<0.5"
    assert target.file_id not in [h.file_id for h in similar]
    assert window.search_box.edit.text() == "dur:<0.5"  # the words no longer apply; the filter does
    assert window.search_box.context.isVisible()
    assert Path(target.path).name in window.search_box.context.text()
    # typing again: the list is the words' results, the label goes
    window.search_box.edit.setFocus()
    qtbot.keyClicks(window.search_box.edit, " rain")
    assert not window.search_box.context.isVisible()


def test_no_audio_device_is_said_in_the_status_bar_and_preferences(qtbot, window):
    assert window.player.is_null  # the tests' player has no device, like a box without a sound card
    window._warm_player()
    qtbot.waitUntil(lambda: window.audio_state.isVisible(), timeout=5000)
    assert "No audio output device" in window.audio_state.text()
    dialog = window.open_preferences()
    assert "play silently" in dialog.output_note.text()
    dialog.reject()


def test_space_pauses_and_goes_on_from_there_with_position_and_length_shown(qtbot, window):
    from soundsearch.gui.transport import clock

    hits = search(qtbot, window, "thunder")  # 0.8 s
    length = hits[0].record.duration
    window.transport.loop.setChecked(False)
    window.view.setFocus()
    window.view.selectRow(0)  # auto-play
    qtbot.waitUntil(lambda: window.player.playing and window.player.position > 0.25, timeout=5000)
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert not window.player.playing
    paused_at = window.player.position
    assert 0.2 < paused_at < length
    qtbot.wait(150)
    assert window.player.position == paused_at
    assert window.transport.position.text() == f"{clock(paused_at)} / {clock(length)}"
    assert window.transport.play_button.text() == "Play"
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert window.player.playing
    assert window.player.position >= paused_at - 0.01, "Space started again from zero"
    qtbot.waitUntil(lambda: not window.player.playing, timeout=5000)  # plays to the end
    qtbot.keyClick(window.view, Qt.Key.Key_Space)  # after the end: from the start
    assert window.player.playing and window.player.position < 0.1
    window.run_action("stop")


def test_library_roots_are_told_apart_and_hours_say_what_they_count(qtbot, tmp_path):
    from PySide6.QtWidgets import QApplication

    from soundsearch.gui.library_panel import LibraryPanel
    from soundsearch.gui.progress_panel import describe
    from soundsearch.jobs import Progress
    from soundsearch.session import LibrarySummary

    panel = LibraryPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    deep = tmp_path / "very long folder names that go on" / "and on and on"
    roots = [str(deep / "client A" / "Sounds"), str(deep / "client B" / "Sounds")]
    stats = {"files": 20, "hours": 8.0, "roots": [
        {"path": p, "files": 10, "hours": 4.0, "untagged": 0, "errors": 0} for p in roots]}
    panel.show_summary(LibrarySummary(stats=stats, indexed=20))
    items = [panel.roots.topLevelItem(i) for i in range(2)]
    shown = [i.text(0) for i in items]
    assert shown == ["Sounds (client A)", "Sounds (client B)"]
    assert [i.toolTip(0).splitlines()[0] for i in items] == roots
    # drawn elided in the middle: both ends stay visible in a narrow column
    QApplication.processEvents()
    assert panel.roots.textElideMode() == Qt.TextElideMode.ElideMiddle
    width = panel.roots.columnWidth(0)
    metrics = panel.roots.fontMetrics()
    drawn = metrics.elidedText(shown[1], panel.roots.textElideMode(), width - 8)
    assert drawn.endswith("client B)"), drawn
    assert "8.0 hours in total" in panel.totals.text()
    line = describe(Progress("index", 100, 200, "", audio_seconds=2.6 * 3600))
    assert "2.6 h of audio indexed" in line
