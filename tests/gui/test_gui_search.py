"""Search as you type, Enter, filters, like/dislike re-ranking, more like this, history."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import names, search
from PySide6.QtCore import Qt

from soundsearch.search import Filters


def count_calls(session, name: str) -> list:
    """Record the arguments of every call to session.<name> (still calling the real method)."""
    calls: list = []
    real = getattr(session, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    setattr(session, name, spy)
    return calls


def test_search_as_you_type_is_debounced_and_finds_the_sound(qtbot, window):
    calls = count_calls(window.session, "search")
    qtbot.keyClicks(window.search_box.edit, "door slam")  # nine keystrokes, typed without pause
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: not window.search.busy)
    assert len(calls) <= 2, "debounce should collapse the keystrokes into one search"
    assert calls[-1][0] == "door slam"
    assert names(window.model.hits)[0] == "door_wood_slam.wav"  # its name says door + slam
    assert "results in" in window.status.text()


def test_an_emptied_search_box_lists_nothing_and_says_no_count(qtbot, window):
    search(qtbot, window, "door")
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.search_box.set_text("", search=True)
    assert window.model.rowCount() == 0 and "results" not in window.status.text()


def test_enter_searches_at_once_and_goes_into_history(qtbot, window):
    window.search_box.timer.setInterval(60_000)  # only Enter can start this search
    qtbot.keyClicks(window.search_box.edit, "rain")
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.search_box.edit, Qt.Key.Key_Return)
    assert names(window.model.hits)[0] == "rain_heavy_roof.wav"
    assert window.search_box.history[0] == "rain"


def test_typing_while_a_search_runs_shows_only_the_newest_results(qtbot, window):
    window.search.query("dog")
    window.search.query("glass")  # arrives while "dog" runs: replaces it
    window.search.query("thunder")
    qtbot.waitUntil(lambda: not window.search.busy and window.search.last is not None, timeout=10000)
    assert window.search.last.request.text == "thunder"
    assert names(window.model.hits)[0] == "thunder_rumble_far.wav"


def test_filters_panel_narrows_the_results(qtbot, window):
    everything = search(qtbot, window, "sound")
    assert len(everything) == 8
    panel = window.filters
    qtbot.waitUntil(lambda: 2 in panel.channels.boxes)  # choices come from the library's stats
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        panel.channels.boxes[2].setChecked(True)
    stereo = window.model.hits
    assert stereo and all(h.record.channels == 2 for h in stereo)
    assert len(stereo) == 3
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        panel.max_duration.setValue(0.4)
    assert names(window.model.hits) == ["glass_break_shatter.wav"]
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        panel.clear()
    assert len(window.model.hits) == 8
    assert panel.filters() == Filters()


def test_filters_by_format_folder_and_rate(qtbot, window):
    panel = window.filters
    qtbot.waitUntil(lambda: "flac" in panel.formats.boxes)
    window.search.set_filters(Filters(formats=("flac",)))
    qtbot.waitUntil(lambda: not window.search.busy)
    search(qtbot, window, "sound")
    assert names(window.model.hits) == ["wind_howl_storm.flac"]
    window.search.filters = Filters(folder="foley", sample_rates=(48000,))
    hits = search(qtbot, window, "sound")
    assert hits and all(Path(h.path).parent.name == "Foley" and h.record.sample_rate == 48000 for h in hits)


def test_like_and_dislike_rerank_the_results(qtbot, window):
    calls = count_calls(window.session, "search")
    hits = search(qtbot, window, "door")
    last = hits[-1]
    window.view.selectRow(len(hits) - 1)
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_L)  # like the worst-ranked hit
    assert calls[-1][2] == (last.file_id,)  # liked= went to the engine
    reranked = window.model.hits
    assert [h.file_id for h in reranked].index(last.file_id) < len(hits) - 1, "a liked sound moves up"
    assert window.model.feedback[last.file_id] == 1
    assert window.view.current_hit().file_id == last.file_id  # the cursor stays on that sound

    top = reranked[0]
    window.view.selectRow(0)
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.transport.dislike.click()
    assert calls[-1][3] == (top.file_id,)
    assert top.file_id not in [h.file_id for h in window.model.hits], "a disliked sound leaves the list"

    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.run_action("clear-feedback")
    assert not window.search.liked and not window.search.disliked
    assert [h.file_id for h in window.model.hits] == [h.file_id for h in hits]


def test_more_like_this_lists_similar_sounds(qtbot, window):
    hits = search(qtbot, window, "glass")
    target = hits[0]
    window.view.selectRow(0)
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_M)
    similar = window.model.hits
    assert window.search.last.request.kind == "similar"
    assert similar and target.file_id not in [h.file_id for h in similar]
    assert len(similar) == 7
    assert window.search.last.request.by == "all"
    assert window.search_box.context.text().startswith("More like")

    window.view.selectRow(0)  # Shift+M: by the sound alone, the library's mean taken out
    by_sound_target = window.view.current_hit()
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    assert window.search.last.request.by == "sound"
    assert window.search_box.context.text().startswith("Sounds like")
    assert window.model.hits and by_sound_target.file_id not in [h.file_id for h in window.model.hits]


def test_sound_only_ranks_the_query_by_the_sound_alone(qtbot, window):
    calls = count_calls(window.session, "search")
    words = [h.file_id for h in search(qtbot, window, "door slam")]
    assert names(window.model.hits)[0] == "door_wood_slam.wav" and calls[-1][6] == "hybrid"
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.search_box.sound_only.click()  # the list on screen is ranked again
    assert window.search.last.request.sound_only and calls[-1][6] == "audio"
    by_sound = [h.file_id for h in window.model.hits]
    assert by_sound != words and "by sound alone" in window.status.text()
    search(qtbot, window, "rain")  # stays on for the next words
    assert calls[-1][6] == "audio"
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.search_box.edit, Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not window.search_box.sound_only.isChecked() and calls[-1][6] == "hybrid"
    assert names(window.model.hits)[0] == "rain_heavy_roof.wav"


def test_typing_in_the_results_goes_to_the_search_box(qtbot, window):
    search(qtbot, window, "rain")
    window.view.setFocus()
    window.view.selectRow(0)
    qtbot.keyClicks(window.view, "x")
    assert window.search_box.edit.text() == "rainx"
    assert window.search_box.edit.hasFocus() or not window.isActiveWindow()


def test_sorting_by_a_column_keeps_the_selected_sound(qtbot, window):
    hits = search(qtbot, window, "sound")
    window.view.selectRow(3)
    chosen = window.view.current_hit()
    window.view.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # Duration (a header click)
    durations = [h.record.duration for h in window.model.hits]
    assert durations == sorted(durations) and len(durations) == len(hits)
    assert window.view.current_hit().file_id == chosen.file_id
    window.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # Name
    shown = names(window.model.hits)
    assert shown == sorted(shown, key=str.lower, reverse=True)
    # a new search shows the engine's ranking again
    again = search(qtbot, window, "sound")
    assert [h.file_id for h in again] == [h.file_id for h in hits]
