"""Identical files collapse into one result row with a copy count; C lists every copy; "Hide
duplicates" (on by default) can be turned off."""

from __future__ import annotations

import shutil

from gui_helpers import names, search
from PySide6.QtCore import Qt


def test_identical_copies_collapse_into_one_row_and_c_lists_them(qtbot, make_session, make_window,
                                                                 sound_library, tiny_model):
    from soundsearch import paths
    from soundsearch.jobs import CancelToken, run
    from soundsearch.library.catalog import Catalog

    for n in range(3):  # the same rain file bought with three packs
        folder = sound_library / f"Pack {n}"
        folder.mkdir()
        shutil.copyfile(sound_library / "Ambience" / "rain_heavy_roof.wav", folder / "rain_heavy_roof.wav")
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(sound_library)
    session = make_session()
    session.set_model(tiny_model)
    run(session.update_job(CancelToken()))
    window = make_window(session)
    assert window.filters.hide_duplicates.isChecked()

    hits = search(qtbot, window, "rain")
    assert names(hits).count("rain_heavy_roof.wav") == 1
    top = hits[0]
    assert top.path.name == "rain_heavy_roof.wav" and len(top.copies) == 3
    row = window.model.row_of(top.file_id)
    assert window.model.item(row, 1).text() == "rain_heavy_roof.wav  ×4"
    assert all(str(p) in window.model.item(row, 1).toolTip() for p in top.copies)

    window.view.setFocus()
    window.view.selectRow(row)
    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        qtbot.keyClick(window.view, Qt.Key.Key_C)
    every = window.model.hits
    assert window.search.last.request.kind == "copies"
    assert len(every) == 4 and {h.path.name for h in every} == {"rain_heavy_roof.wav"}
    assert "Copies of rain_heavy_roof.wav" in window.search_box.context.text()

    with qtbot.waitSignal(window.search.resultsReady, timeout=5000):
        window.filters.hide_duplicates.setChecked(False)  # reruns the last list: the copies
    assert window.settings.hide_duplicates is False
    hits = search(qtbot, window, "rain")
    assert names(hits).count("rain_heavy_roof.wav") == 4


def test_the_same_sound_resampled_and_quieter_is_hidden_too(qtbot, make_session, make_window,
                                                            sound_library, tiny_model):
    import numpy as np
    import soundfile as sf
    import soxr

    from soundsearch import paths
    from soundsearch.jobs import CancelToken, run
    from soundsearch.library.catalog import Catalog

    x, sr = sf.read(str(sound_library / "Ambience" / "rain_heavy_roof.wav"), dtype="float32")
    delivered = sound_library / "Delivered" / "rain_heavy_roof_48k.wav"
    delivered.parent.mkdir()
    sf.write(str(delivered), (0.5 * soxr.resample(x, sr, 48000)).astype(np.float32), 48000, subtype="PCM_24")
    with Catalog(paths.catalog_path()) as cat:
        cat.add_root(sound_library)
    session = make_session()
    session.set_model(tiny_model)
    result = run(session.update_job(CancelToken()))
    near = [g for g in result.duplicates if g.reason == "same sound"]
    assert [sorted(c.path.name for c in g.copies) for g in near] == [
        ["rain_heavy_roof.wav", "rain_heavy_roof_48k.wav"]]
    session.set_near_copies(result.duplicates)
    window = make_window(session)
    hits = search(qtbot, window, "rain")
    rains = [h for h in hits if h.path.name.startswith("rain_heavy_roof")]
    assert len(rains) == 1 and len(rains[0].copies) == 1
    window.filters.hide_duplicates.setChecked(False)
    hits = search(qtbot, window, "rain")
    assert len([h for h in hits if h.path.name.startswith("rain_heavy_roof")]) == 2
