"""What other apps receive when rows or a waveform region are dragged out of the window."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
from gui_helpers import search
from PySide6.QtCore import QPoint, Qt

from soundsearch.audio.region import region_frames


def test_row_drag_gives_file_urls_and_paths(qtbot, window):
    hits = search(qtbot, window, "door")
    window.view.selectRow(0)
    mime = window.model.mimeData([window.model.index(0, 1)])
    assert mime.hasUrls() and "text/uri-list" in mime.formats()
    urls = mime.urls()
    assert [u.scheme() for u in urls] == ["file"]
    assert Path(urls[0].toLocalFile()) == Path(hits[0].path).resolve()
    assert mime.text() == str(Path(hits[0].path).resolve())
    # the raw uri-list uses CRLF and percent-encodes the space in "Sound Library"
    raw = bytes(mime.data("text/uri-list")).decode()
    assert raw.startswith("file:///") and "Sound%20Library" in raw


def test_several_rows_drag_as_several_files(qtbot, window):
    hits = search(qtbot, window, "sound")
    view = window.view
    view.selectRow(0)
    view.selectionModel().select(window.model.index(2, 0), view.selectionModel().SelectionFlag.Select
                                 | view.selectionModel().SelectionFlag.Rows)
    indexes = view.selectionModel().selectedIndexes()  # every column of both rows
    mime = window.model.mimeData(indexes)
    got = [Path(u.toLocalFile()) for u in mime.urls()]
    assert got == [Path(hits[0].path).resolve(), Path(hits[2].path).resolve()]
    assert mime.text().splitlines() == [str(p) for p in got]
    assert window.model.supportedDragActions() == Qt.DropAction.CopyAction
    assert all(p.exists() for p in got)


def _select_region(qtbot, wf, x1: int, x2: int) -> None:
    y = wf.height() // 2
    qtbot.mousePress(wf, Qt.MouseButton.LeftButton, pos=QPoint(x1, y))
    qtbot.mouseMove(wf, QPoint(x2, y))
    qtbot.mouseRelease(wf, Qt.MouseButton.LeftButton, pos=QPoint(x2, y))


def test_region_drag_writes_exactly_the_selected_samples(qtbot, window, home):
    hits = search(qtbot, window, "footsteps")  # 48 kHz, stereo, 24-bit
    source = Path(hits[0].path)
    window.view.selectRow(0)
    wf = window.waveform
    qtbot.waitUntil(lambda: wf.peaks is not None and wf.path == source, timeout=5000)
    _select_region(qtbot, wf, wf.width() // 5, wf.width() * 3 // 5)
    start, end = wf.region
    with qtbot.waitSignal(wf.regionDragged, timeout=5000) as written:
        mime = wf.region_mime()
    wav = Path(written.args[0])
    assert [Path(u.toLocalFile()) for u in mime.urls()] == [wav.resolve()]
    assert mime.text() == str(wav.resolve())
    assert wav.parent == home / "cache" / "regions"
    info, original = sf.info(str(wav)), sf.info(str(source))
    assert (info.format, info.samplerate, info.channels, info.subtype) == ("WAV", 48000, 2, "PCM_24")
    a, b, _ = region_frames(source, start, end)
    want = sf.read(str(source), dtype="int32")[0][a:b]
    got = sf.read(str(wav), dtype="int32")[0]
    assert got.shape == want.shape == (b - a, 2)
    assert np.array_equal(got, want), "the region WAV must hold the very same samples"
    assert original.frames > info.frames
    assert os.stat(source).st_mtime_ns == hits[0].record.mtime_ns  # the source was only read


def test_no_region_means_no_region_drag(qtbot, window):
    search(qtbot, window, "rain")
    window.view.selectRow(0)
    assert window.waveform.region is None
    assert window.waveform.region_mime() is None
