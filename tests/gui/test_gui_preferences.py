"""Preferences round-trip, window state across restarts, collections, About."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import names, search
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from soundsearch.collections import FAVOURITES, Collections
from soundsearch.gui.about import CREDITS_HTML
from soundsearch.gui.preferences import DEFAULT_OUTPUT, PreferencesDialog
from soundsearch.settings import Settings, load_settings, save_settings


def test_preferences_dialog_round_trip(qtbot, tmp_path):
    original = Settings(device="cpu", model="default", fusion_weight=1.0, autoplay=True, output_device=None,
                        long_file_seconds=30.0, extra={"keep": 1})
    dialog = PreferencesDialog(original, [tmp_path / "a"], ["Speakers", "USB Interface"])
    qtbot.addWidget(dialog)
    assert dialog.result_settings() == original  # untouched dialog: same settings back
    dialog.device.setCurrentText("cuda")
    dialog.model.setCurrentIndex(1)
    dialog.model_path.setText(str(tmp_path / "my-head"))
    dialog.fusion.setValue(0.6)
    dialog.autoplay.setChecked(False)
    dialog.output.setCurrentText("USB Interface")
    dialog.long_file.setValue(90)
    dialog.roots.addItem(str(tmp_path / "b"))
    edited = dialog.result_settings()
    assert (edited.device, edited.model, edited.fusion_weight, edited.autoplay, edited.output_device,
            edited.long_file_seconds) == ("cuda", str(tmp_path / "my-head"), 0.6, False, "USB Interface",
                                          90.0)
    assert edited.extra == {"keep": 1} and original.device == "cpu"
    assert dialog.selected_roots() == [tmp_path / "a", tmp_path / "b"]
    path = tmp_path / "settings.json"
    save_settings(edited, path)
    assert load_settings(path) == edited
    # and reopening the dialog on the saved settings shows the same values
    again = PreferencesDialog(load_settings(path), [], ["Speakers"])
    qtbot.addWidget(again)
    assert again.result_settings() == edited
    assert again.output.currentText() == "USB Interface"  # unplugged now, still remembered
    again.output.setCurrentText(DEFAULT_OUTPUT)
    assert again.result_settings().output_device is None


def test_preferences_from_the_window_are_applied_and_saved(qtbot, window, settings_file, tmp_path):
    extra = tmp_path / "More Sounds"
    extra.mkdir()
    (extra / "bell_ring.wav").write_bytes((next(Path(window.summary.roots[0]["path"]).rglob("*.wav")))
                                          .read_bytes())
    dialog = window.open_preferences()
    assert isinstance(dialog, QDialog) and dialog.isVisible()
    dialog.autoplay.setChecked(False)
    dialog.fusion.setValue(0.5)
    dialog.roots.addItem(str(extra))
    dialog.accept()
    assert load_settings(settings_file).autoplay is False
    assert load_settings(settings_file).fusion_weight == 0.5
    assert window.transport.autoplay.isChecked() is False
    # the new folder is added, scanned and indexed in the background (re-fused with the new weight)
    qtbot.waitUntil(lambda: window.library.roots.topLevelItemCount() == 2 and not window.jobs.busy,
                    timeout=30000)
    assert "bell_ring.wav" in names(search(qtbot, window, "bell"))


def test_switching_auto_tags_on_reloads_the_model_and_tags_the_library(qtbot, window, settings_file):
    dialog = window.open_preferences()
    assert dialog.yamnet.isChecked() is False  # off by default: its only offline copy has no licence
    dialog.yamnet.setEnabled(True)  # (greyed out where the optional packages are missing)
    dialog.yamnet.setChecked(True)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=30000,
                          check_params_cb=lambda kind, _result: kind == "model"):
        dialog.accept()
    assert load_settings(settings_file).yamnet is True and window.settings.yamnet is True
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30000)  # and the library indexed again


def test_window_state_survives_a_restart(qtbot, make_window, indexed_session, make_session, tiny_model):
    first = make_window(indexed_session)
    first.resize(1111, 777)
    first.main_split.setSizes([420, 340, 340])
    splits = first.main_split.sizes()
    assert splits[0] > 400
    first.view.setColumnWidth(1, 333)
    first.side.setCurrentIndex(2)
    search(qtbot, first, "door")
    first.search_box.set_text("rain heavy", search=True)
    first.close()

    session = make_session()
    session.set_model(tiny_model)
    second = make_window(session)
    assert (second.width(), second.height()) == (1111, 777)
    assert second.main_split.sizes() == splits
    assert second.view.columnWidth(1) == 333
    assert second.side.currentIndex() == 2
    assert second.search_box.text() == "rain heavy"
    assert second.search_box.history[:2] == ["rain heavy", "door"]
    second.search.rerun()  # as when the model has loaded: the last query is searched again
    qtbot.waitUntil(lambda: second.model.rowCount() > 0, timeout=10000)
    assert names(second.model.hits)[0] == "rain_heavy_roof.wav"


def test_collections_by_key_and_by_drop(qtbot, window, home):
    hits = search(qtbot, window, "door")
    window.view.selectRow(0)
    qtbot.keyClick(window.view, Qt.Key.Key_F)  # into the selected collection: Favourites
    stored = Collections(home / "data" / "collections.json")
    assert [m.file_id for m in stored.members(FAVOURITES)] == [hits[0].file_id]
    # a named collection, filled by dropping two rows on it
    window.collections.create("Doors")
    window.collections_panel.reload()
    mime = window.model.mimeData([window.model.index(0, 0), window.model.index(1, 0)])
    paths = [u.toLocalFile() for u in mime.urls()]
    window.collections_panel.filesDropped.emit("Doors", paths)
    stored = Collections(home / "data" / "collections.json")
    assert [m.file_id for m in stored.members("Doors")] == [hits[0].file_id, hits[1].file_id]
    # opening it lists its sounds
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.collections_panel.openRequested.emit("Doors")
    assert [h.file_id for h in window.model.hits] == [hits[0].file_id, hits[1].file_id]
    assert "Doors  (2)" in [window.collections_panel.list.item(i).text()
                            for i in range(window.collections_panel.list.count())]


def test_about_box_credits_the_models(qtbot, window, monkeypatch):
    shown = {}
    monkeypatch.setattr(QMessageBox, "about",
                        lambda _parent, title, text: shown.update(title=title, text=text))
    window.menuBar().actions()[-1].menu().actions()[0].trigger()  # Help → About
    assert shown["title"] == "About soundsearch" and shown["text"] == CREDITS_HTML
    for credit in ("aisfx", "CC BY 4.0", "Lerch", "all-MiniLM-L6-v2", "Apache", "UCS", "CC0", "EfficientAT",
                   "MIT"):
        assert credit in shown["text"]


def test_detail_pane_shows_fields_with_sources_and_copies_the_path(qtbot, window):
    hits = search(qtbot, window, "glass")
    window.view.selectRow(0)
    tree = window.detail.tree
    rows = {tree.topLevelItem(i).text(0): (tree.topLevelItem(i).text(1), tree.topLevelItem(i).text(2))
            for i in range(tree.topLevelItemCount())}
    assert rows["sample rate"] == ("48000 Hz", "file")
    assert rows["channels"] == ("2", "file")
    assert any(source == "filename" for _, source in rows.values())
    window.detail.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(hits[0].path)
