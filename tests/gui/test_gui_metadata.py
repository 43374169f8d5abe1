"""Metadata editing, undo, write tags, UCS rename, export and drag with conversion, as a user does
them in the window (offscreen): every action goes through the same core calls as the CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gui_helpers import names, search, write_sound
from PySide6.QtCore import QItemSelectionModel

from soundsearch.library.metadata import read_metadata


@pytest.fixture
def sound_library(sound_library):
    """The shared test library plus an Ogg Vorbis file (what Pro Tools cannot take)."""
    path = sound_library / "Ambience" / "creek_water_flow.ogg"
    write_sound(path.with_suffix(".wav"), 0.5, 44100, 1, "PCM_16", 750.0, seed=9)
    data, sr = sf.read(str(path.with_suffix(".wav")))
    sf.write(str(path), data, sr, format="OGG", subtype="VORBIS")
    path.with_suffix(".wav").unlink()
    return sound_library


def catalog_record(file_id: int):
    """The file's row, read on the test's thread (the window's catalog lives on its core thread)."""
    from soundsearch import paths
    from soundsearch.library.catalog import Catalog

    with Catalog(paths.catalog_path()) as catalog:
        return catalog.get(file_id)


def select_rows(window, rows: list[int]) -> None:
    view, sm = window.view, window.view.selectionModel()
    view.selectRow(rows[0])
    for r in rows[1:]:
        sm.select(window.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                  | QItemSelectionModel.SelectionFlag.Rows)


def settle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.core.idle() and not window.jobs.busy and not window.search.busy,
                    timeout=15000)


def test_batch_edit_find_by_new_word_then_undo(qtbot, window):
    hits = search(qtbot, window, "door")
    select_rows(window, [0, 1, 2])
    chosen = {Path(h.path).name for h in window.view.selected_hits()}
    assert len(chosen) == 3
    dialog = window.metadata.edit()
    assert dialog.batch and dialog.windowTitle() == "Edit metadata of 3 sounds"
    dialog.set_op("description", "set", "zorblatt machine hum")
    dialog.set_op("keywords", "append", "zorblatt, prop")
    dialog.accept()
    settle(qtbot, window)
    found = search(qtbot, window, "zorblatt")
    assert set(names(found[:3])) == chosen
    assert all("zorblatt" in " ".join(h.record.metadata.get("description")) for h in found[:3])
    window.metadata.step(True)  # Ctrl+Z
    settle(qtbot, window)
    again = search(qtbot, window, "+zorblatt")
    assert again == [] and hits


def test_single_edit_with_ucs_picker(qtbot, window):
    search(qtbot, window, "rain")
    window.view.selectRow(0)
    target = window.view.current_hit()
    dialog = window.metadata.edit()
    assert not dialog.batch
    dialog.picker.query.setText("bang")  # a synonym, not a category name
    catids = [dialog.picker.list.item(i).data(0x0100) for i in range(dialog.picker.list.count())]
    assert "WOODImpt" in catids and "DOORKnck" in catids
    dialog.picker.list.setCurrentRow(catids.index("WOODImpt"))
    dialog.use_catid()
    assert dialog.values["catid"].text() == "WOODImpt"
    dialog.accept()
    settle(qtbot, window)
    rec = catalog_record(target.file_id)
    assert rec.metadata.get("catid") == ["WOODImpt"] and rec.metadata.get("category") == ["WOOD"]


def test_write_tags_and_ucs_rename(qtbot, window, sound_library):
    search(qtbot, window, "dog bark")
    window.view.selectRow(0)
    hit = window.view.current_hit()
    window.metadata.edit()
    window.metadata.dialog.values["description"].setText("small dog barking twice")
    window.metadata.dialog.values["catid"].setText("ANMLDog")
    window.metadata.dialog.accept()
    settle(qtbot, window)
    search(qtbot, window, "dog bark")
    window.view.selectRow(0)
    window.metadata.write_tags()
    settle(qtbot, window)
    assert "Wrote tags into 1 file (audio verified identical)" in window.status.text()
    got = read_metadata(Path(hit.path))
    assert "small dog barking twice" in got.get("description") and got.get("catid") == ["ANMLDog"]
    dialog = window.metadata.rename()
    qtbot.waitUntil(lambda: bool(dialog.plans), timeout=5000)
    assert dialog.plans[0].new.name == "ANMLDog_Small Dog Barking Twice_USER_SRC.wav"
    assert Path(hit.path).exists()  # the preview renames nothing
    dialog.accept()
    settle(qtbot, window)
    renamed = Path(hit.path).with_name("ANMLDog_Small Dog Barking Twice_USER_SRC.wav")
    assert renamed.exists() and not Path(hit.path).exists()
    assert catalog_record(hit.file_id).path == renamed
    window.metadata.step(True)
    settle(qtbot, window)
    assert Path(hit.path).exists() and not renamed.exists()


def test_drag_mime_with_conversion(qtbot, window, home):
    hits = search(qtbot, window, "creek water")
    ogg = next(h for h in hits if h.path.suffix == ".ogg")
    row = window.model.row_of(ogg.file_id)
    # default: an OGG goes out as WAV
    mime = window.model.mimeData([window.model.index(row, 1)])
    out = Path(mime.urls()[0].toLocalFile())
    assert out.suffix == ".wav" and out.is_relative_to(home / "cache" / "transfer")
    assert sf.info(str(out)).format == "WAV" and stat.S_IMODE(os.stat(out).st_mode) == 0o644
    # a WAV goes out as it is by default
    wav_row = next(r for r in range(window.model.rowCount()) if window.model.hit(r).path.suffix == ".wav")
    wav = window.model.hit(wav_row)
    assert Path(window.model.mimeData([window.model.index(wav_row, 1)]).urls()[0].toLocalFile()) == \
        Path(wav.path).resolve()
    # Preferences: every drag as 48 kHz / 24-bit WAV
    settings = window.settings
    settings.drag_convert, settings.session_rate, settings.session_bits = "always", 48000, "24"
    for r, hit in ((row, ogg), (wav_row, wav)):
        path = Path(window.model.mimeData([window.model.index(r, 1)]).urls()[0].toLocalFile())
        info = sf.info(str(path))
        assert (info.format, info.samplerate, info.subtype) == ("WAV", 48000, "PCM_24")
        assert abs(info.duration - hit.record.duration) < 0.01
    # a region dragged with conversion on: written by the converter thread, at the session format
    window.view.selectRow(wav_row)
    wf = window.waveform
    qtbot.waitUntil(lambda: wf.path == Path(wav.path), timeout=5000)
    wf.set_region((0.1, 0.3))
    region = Path(wf.region_mime().urls()[0].toLocalFile())
    info = sf.info(str(region))
    assert info.samplerate == 48000 and abs(info.duration - 0.2) < 0.002
    assert stat.S_IMODE(os.stat(region).st_mode) == 0o644


def test_export_dialog(qtbot, window, tmp_path):
    search(qtbot, window, "sound")
    select_rows(window, [0, 1])
    dialog = window.metadata.export()
    dialog.folder.setText(str(tmp_path / "session"))
    dialog.rows.format.setCurrentIndex(dialog.rows.format.findData("flac"))
    dialog.rows.rate.setCurrentIndex(dialog.rows.rate.findData(48000))
    dialog.accept()
    settle(qtbot, window)
    files = sorted((tmp_path / "session").iterdir())
    assert len(files) == 2 and all(sf.info(str(f)).samplerate == 48000 and f.suffix == ".flac" for f in files)
    assert "Exported 2 files" in window.status.text()
    assert np.all([stat.S_IMODE(os.stat(f).st_mode) == 0o644 for f in files])


def test_export_a_whole_collection(qtbot, window, tmp_path):
    from soundsearch.collections import Member

    hits = search(qtbot, window, "sound")[:3]
    window.collections.create("Session A")
    window.collections.add("Session A", [Member(h.file_id, h.path) for h in hits])
    window.collections_panel.reload()
    window.search_box.set_text("door", search=True)  # the list shows something else: no matter
    with qtbot.waitSignal(window.metadata.exportDialogOpened, timeout=10000) as opened:
        window.collections_panel.exportRequested.emit("Session A")
    dialog = opened.args[0]
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.accept()
    settle(qtbot, window)
    assert sorted(f.stem for f in (tmp_path / "out").iterdir()) == sorted(Path(h.path).stem for h in hits)
    assert "Exported 3 files" in window.status.text()


def test_drag_copies_are_reused_across_sessions_and_follow_edits(tmp_path, home):
    from types import SimpleNamespace

    from soundsearch.gui.transfer import DragConverter
    from soundsearch.library.metadata import Field, Metadata
    from soundsearch.settings import Settings

    ogg = tmp_path / "creek.ogg"
    sf.write(str(ogg), np.zeros((4410, 1), np.float32), 44100, format="OGG", subtype="VORBIS")
    settings = Settings()
    rec = SimpleNamespace(metadata=Metadata([Field("description", "creek", "user")]), edits={})
    first = DragConverter(settings).files_for_drag([SimpleNamespace(path=ogg, record=rec)])[0]
    again = DragConverter(settings).files_for_drag([SimpleNamespace(path=ogg, record=rec)])[0]
    assert again == first and len(list(first.parent.iterdir())) == 1  # no "creek 2.wav" pile-up
    rec.metadata = Metadata([Field("description", "creek after an edit", "user")])
    edited = DragConverter(settings).files_for_drag([SimpleNamespace(path=ogg, record=rec)])[0]
    assert edited != first and "creek after an edit" in read_metadata(edited).get("description")
