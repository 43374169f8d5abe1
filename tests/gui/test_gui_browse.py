"""Browsing without a query: filters or a folder list the library (sorted over every row, a page
at a time, with the total); the folder tree of the Library tab; results past the first page;
saved searches beside the history."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import names, write_sound
from PySide6.QtCore import Qt


def big_backend(make_session, tiny_model, root: Path, n: int = 130):
    from soundsearch import paths
    from soundsearch.jobs import CancelToken, run
    from soundsearch.library.catalog import Catalog

    for i in range(n):
        folder = root / ("Hits" if i % 2 else "Whooshes") / (f"set {i % 3}")
        write_sound(folder / f"hit_{i:03d}.wav", 0.05 + 0.001 * i, 8000, 1, "PCM_16", 200.0 + 10 * i, seed=i)
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(root)
    session = make_session()
    session.set_model(tiny_model)
    run(session.update_job(CancelToken()))
    return session


def test_filters_alone_list_the_library_sorted_a_page_at_a_time(qtbot, make_session, make_window,
                                                                tiny_model, tmp_path):
    window = make_window(big_backend(make_session, tiny_model, tmp_path / "lib"))
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.search_box.set_text("dur:<0.2", search=True)  # no words: every file under 0.2 s
    last = window.search.last
    assert last.browse and last.total == 130 and len(window.model.hits) == 100
    assert "130 sounds match" in window.status.text() and "scroll for more" in window.status.text()
    paths = [str(h.path) for h in window.model.hits]
    assert paths == sorted(paths)  # the library's order, by folder and name
    # scrolling to the end loads the rest
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.view.scrollToBottom()
    assert len(window.model.hits) == 130 and not window.search.more()
    # a header click sorts every row, not only the loaded ones
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert window.search.sort == ("duration", True)
    durations = [h.record.duration for h in window.model.hits]
    assert durations == sorted(durations, reverse=True) and names(window.model.hits)[0] == "hit_129.wav"


def test_ranked_results_go_past_100_as_the_user_scrolls(qtbot, make_session, make_window, tiny_model,
                                                        tmp_path):
    window = make_window(big_backend(make_session, tiny_model, tmp_path / "lib"))
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.search_box.set_text("hit", search=True)
    assert len(window.model.hits) == 100
    window.view.setFocus()
    window.view.selectRow(42)
    chosen = window.view.current_hit().file_id
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.view.scrollToBottom()
    assert len(window.model.hits) == 130
    assert window.view.current_hit().file_id == chosen  # still on the same sound


def test_folder_tree_lists_a_folder_and_saved_searches_stay(qtbot, make_session, make_window, tiny_model,
                                                            tmp_path):
    root = tmp_path / "lib"
    window = make_window(big_backend(make_session, tiny_model, root))
    tree = window.library.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1, timeout=5000)
    top = tree.topLevelItem(0)
    assert top.text(0) == "lib" and top.text(1) == "130"
    hits_folder = next(top.child(i) for i in range(top.childCount()) if top.child(i).text(0) == "Hits")
    assert hits_folder.text(1) == "65" and hits_folder.childCount() == 3
    window.search_box.edit.clear()
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        tree.itemClicked.emit(hits_folder, 0)
    assert window.filters.folder.text() == str(root / "Hits")
    assert window.search.last.total == 65
    assert all(Path(h.path).parent.parent == root / "Hits" for h in window.model.hits)
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        tree.itemClicked.emit(hits_folder, 0)  # again: no folder filter
    assert window.filters.folder.text() == ""

    box = window.search_box
    box.set_text("hit dur:<0.1")
    box._fill_history_menu()
    save = next(a for a in box.history_menu.actions() if a.text() == "Save this search")
    save.trigger()
    assert box.saved == ["hit dur:<0.1"]
    window.save_state()
    again = make_window(window.session)
    assert again.search_box.saved == ["hit dur:<0.1"]
    again.search_box._fill_history_menu()
    assert "hit dur:<0.1" in [a.text() for a in again.search_box.history_menu.actions()]
