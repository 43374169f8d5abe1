"""The detail pane shows predicted tags on rows of their own, never as the file's metadata."""

from __future__ import annotations

from pathlib import Path

from soundsearch.gui.detail import DetailPane, describe_record
from soundsearch.library.catalog import FileRecord
from soundsearch.library.metadata import Field, Metadata


def record(predicted):
    meta = Metadata(fields=[Field("keywords", "door", "filename")])
    return FileRecord(7, Path("/lib/x/take1.wav"), Path("/lib"), 100, 0, "h", 1.0, 44100, 1, 16, "WAV",
                      meta, "ok", None, predicted=predicted)


def test_predicted_tags_have_their_own_rows_and_source(qtbot):
    rec = record([("aisfx-ucsMixed", "footsteps", 0.62), ("aisfx-ucsMixed", "wood", 0.21)])
    rows = describe_record(rec)
    predicted = [r for r in rows if r[0] == "predicted tag"]
    assert predicted == [("predicted tag", "footsteps (62%)", "predicted: aisfx-ucsMixed"),
                         ("predicted tag", "wood (21%)", "predicted: aisfx-ucsMixed")]
    assert ("keywords", "door", "filename") in rows
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show_record(rec)
    shown = [pane.tree.topLevelItem(i).text(2) for i in range(pane.tree.topLevelItemCount())]
    assert shown.count("predicted: aisfx-ucsMixed") == 2
    assert not [r for r in describe_record(record([])) if r[0] == "predicted tag"]
